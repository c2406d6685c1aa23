#!/usr/bin/env bash
# A local Prometheus HA stack on loopback: two real Prometheus servers scraping themselves with
# external labels prometheus_replica="a" and "b", one `chorus sidecar` in front of each, and one
# `chorus query` deduplicating them.
#
#   deploy/local/ha-stack.sh start     # or: make local-up
#   deploy/local/ha-stack.sh status
#   deploy/local/ha-stack.sh stop      # or: make local-down
#
# Ports (127.0.0.1):  prometheus a 19090, b 19091 | sidecar a gRPC 19191 HTTP 19192,
#                     b gRPC 19291 HTTP 19292    | query HTTP 19902 (console + API), gRPC 19901
# State (data, configs, logs, pids) lives in $CHORUS_LOCAL_DIR (default /tmp/chorus-local-stack).
# Needs: prometheus on PATH (Debian package `prometheus`) and a built chorus binary
# ($CHORUS, default target/release/chorus; `make build`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHORUS=${CHORUS:-$ROOT/target/release/chorus}
PROMETHEUS=${PROMETHEUS:-prometheus}
STATE=${CHORUS_LOCAL_DIR:-${TMPDIR:-/tmp}/chorus-local-stack}
HOST=127.0.0.1

prometheus_port() { case $1 in a) echo 19090 ;; b) echo 19091 ;; esac; }
sidecar_grpc_port() { case $1 in a) echo 19191 ;; b) echo 19291 ;; esac; }
sidecar_http_port() { case $1 in a) echo 19192 ;; b) echo 19292 ;; esac; }
QUERY_HTTP=19902
QUERY_GRPC=19901

log() { printf 'ha-stack: %s\n' "$*"; }

# start_process NAME COMMAND...: runs it in the background, logs to $STATE/NAME.log.
start_process() {
  local name=$1
  shift
  if is_running "$name"; then
    log "$name already running (pid $(cat "$STATE/$name.pid"))"
    return
  fi
  "$@" >"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
  log "$name started (pid $!, log $STATE/$name.log)"
}

is_running() {
  local pidfile=$STATE/$1.pid
  [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# wait_http NAME URL: waits up to 30 s for URL to answer 200, failing if NAME exits.
wait_http() {
  local name=$1 url=$2
  for _ in $(seq 1 60); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then
      log "$name ready: $url"
      return 0
    fi
    if ! is_running "$name"; then
      log "$name exited; last log lines:"
      tail -n 20 "$STATE/$name.log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  log "$name not ready after 30 s ($url); see $STATE/$name.log"
  return 1
}

write_prometheus_config() {
  local replica=$1
  cat >"$STATE/prometheus-$replica.yml" <<EOF
global:
  scrape_interval: 5s
  evaluation_interval: 5s
  external_labels:
    cluster: local
    prometheus_replica: "$replica"
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["$HOST:$(prometheus_port a)", "$HOST:$(prometheus_port b)"]
  - job_name: chorus
    static_configs:
      - targets: ["$HOST:$(sidecar_http_port a)", "$HOST:$(sidecar_http_port b)", "$HOST:$QUERY_HTTP"]
EOF
}

start() {
  command -v "$PROMETHEUS" >/dev/null || { log "prometheus not found (apt-get install prometheus, or make setup)"; exit 1; }
  [[ -x $CHORUS ]] || { log "$CHORUS not found: run make build"; exit 1; }
  mkdir -p "$STATE"
  for r in a b; do
    write_prometheus_config "$r"
    mkdir -p "$STATE/data-$r"
    start_process "prometheus-$r" "$PROMETHEUS" \
      --config.file="$STATE/prometheus-$r.yml" \
      --storage.tsdb.path="$STATE/data-$r" \
      --web.listen-address="$HOST:$(prometheus_port "$r")"
  done
  for r in a b; do
    wait_http "prometheus-$r" "http://$HOST:$(prometheus_port "$r")/-/ready" || return 1
  done
  for r in a b; do
    start_process "sidecar-$r" "$CHORUS" sidecar \
      --prometheus.url="http://$HOST:$(prometheus_port "$r")" \
      --grpc-address="$HOST:$(sidecar_grpc_port "$r")" \
      --http-address="$HOST:$(sidecar_http_port "$r")"
  done
  for r in a b; do
    wait_http "sidecar-$r" "http://$HOST:$(sidecar_http_port "$r")/-/ready" || return 1
  done
  start_process query "$CHORUS" query \
    --http-address="$HOST:$QUERY_HTTP" \
    --grpc-address="$HOST:$QUERY_GRPC" \
    --query.replica-label=prometheus_replica \
    --endpoint="$HOST:$(sidecar_grpc_port a)" \
    --endpoint="$HOST:$(sidecar_grpc_port b)"
  wait_http query "http://$HOST:$QUERY_HTTP/-/ready" || return 1
  log "up: console and API on http://$HOST:$QUERY_HTTP (stop with: $0 stop)"
}

stop() {
  local name pid
  for name in query sidecar-a sidecar-b prometheus-a prometheus-b; do
    [[ -f $STATE/$name.pid ]] || continue
    pid=$(cat "$STATE/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      log "$name stopped (pid $pid)"
    fi
    rm -f "$STATE/$name.pid"
  done
}

status() {
  local name
  for name in prometheus-a prometheus-b sidecar-a sidecar-b query; do
    if is_running "$name"; then
      log "$name running (pid $(cat "$STATE/$name.pid"))"
    else
      log "$name not running"
    fi
  done
}

case ${1:-} in
  start) start || { log "start failed: stopping what was started"; stop; exit 1; } ;;
  stop) stop ;;
  status) status ;;
  clean) stop; rm -rf "$STATE"; log "removed $STATE" ;;
  *) echo "usage: $0 start|stop|status|clean" >&2; exit 2 ;;
esac
