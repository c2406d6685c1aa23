# Chorus build entry points. `make help` lists the targets.
#
# Set-up installs only what is missing, from the package registries (crates.io, npm, Debian):
# trunk and wasm-bindgen-cli into the cargo bin directory, wasm-opt (npm binaryen) under .tools/,
# the wasm32 target through rustup, Prometheus, dnsmasq, Chromium and ChromeDriver
# (browser tests) through apt-get. A second run only checks.
# README.md ("Development") says what each piece is for and how long it takes.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
TRUNK_VERSION := 0.21.14
BINARYEN_VERSION := 132
# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
APT_PACKAGES := prometheus dnsmasq-base chromium chromium-driver

TOOLS_DIR := $(CURDIR)/.tools
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
export PATH := $(TOOLS_DIR)/node_modules/.bin:$(CARGO_BIN):$(PATH)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

DIST := frontend/dist
DEMO_ADDRESS ?= 127.0.0.1:10902

.PHONY: help setup setup-build setup-rust setup-trunk setup-wasm-bindgen setup-wasm-opt setup-apt \
        frontend build demo test bench bench-query lint clean local-up local-down local-status

help:
	@echo "make demo    build everything and run 'chorus demo' on http://$(DEMO_ADDRESS)"
	@echo "make test    set up, build the console, run every test of the default workspace members"
	@echo "make build   console (trunk, wasm-release) + release binary target/release/chorus"
	@echo "make setup   install the toolchain pieces that are missing (idempotent)"
	@echo "make bench   benchmarks: criterion (merge, dedup, codecs, fan-out, PromQL evaluator) and bench-query"
	@echo "make bench-query   heavy range queries: chorus query over 2 sidecars vs one Prometheus 2.42"
	@echo "make lint    rustfmt --check and clippy -D warnings"
	@echo "make local-up / local-down   local HA stack (2 Prometheus, 2 sidecars, 1 querier)"
	@echo "make clean   remove build outputs (target/, $(DIST)); keeps .tools/"

# Everything `make test` needs; `setup-build` is the subset `make build` needs (no apt packages).
setup: setup-build setup-apt
	@echo "setup: done"

setup-build: setup-rust setup-trunk setup-wasm-bindgen setup-wasm-opt

setup-rust:
	@if rustup target list --installed | grep -qx wasm32-unknown-unknown; then \
	  echo "setup: wasm32-unknown-unknown target present"; \
	else \
	  rustup target add wasm32-unknown-unknown; \
	fi

setup-trunk:
	@if [ "$$(trunk --version 2>/dev/null || true)" = "trunk $(TRUNK_VERSION)" ]; then \
	  echo "setup: trunk $(TRUNK_VERSION) present"; \
	else \
	  echo "setup: installing trunk $(TRUNK_VERSION) (about 8 minutes on 2 cores)"; \
	  $(CARGO) install trunk --version $(TRUNK_VERSION) --locked; \
	fi

# Without --locked: with it, a locked dependency newer than the registry has fails to resolve.
setup-wasm-bindgen:
	@test -n "$(WASM_BINDGEN_VERSION)" || { echo "setup: no wasm-bindgen in Cargo.lock" >&2; exit 1; }
	@grep -qx 'wasm_bindgen = "$(WASM_BINDGEN_VERSION)"' Trunk.toml || { \
	  echo "setup: Cargo.lock has wasm-bindgen $(WASM_BINDGEN_VERSION) but Trunk.toml pins another version:" \
	       "set wasm_bindgen = \"$(WASM_BINDGEN_VERSION)\" in Trunk.toml [tools]" >&2; exit 1; }
	@if [ "$$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "setup: wasm-bindgen $(WASM_BINDGEN_VERSION) present"; \
	else \
	  echo "setup: installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (about 4 minutes on 2 cores)"; \
	  $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; \
	fi

# binaryen from npm, never Debian's binaryen 108 (its wasm-opt breaks the app at start-up).
setup-wasm-opt:
	@if $(TOOLS_DIR)/node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q "(version_$(BINARYEN_VERSION))"; then \
	  echo "setup: wasm-opt version_$(BINARYEN_VERSION) present"; \
	else \
	  if ! command -v npm >/dev/null; then \
	    $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; \
	  fi; \
	  mkdir -p $(TOOLS_DIR); \
	  npm install --prefix $(TOOLS_DIR) --no-save --no-audit --no-fund --loglevel=error binaryen@$(BINARYEN_VERSION); \
	  $(TOOLS_DIR)/node_modules/.bin/wasm-opt --version; \
	fi

setup-apt:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then \
	  echo "setup: apt packages present ($(APT_PACKAGES))"; \
	else \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# The console, built for wasm32 with the wasm-release profile (see frontend/index.html), into $(DIST).
frontend: setup-build
	trunk build --release

build: frontend
	$(CARGO) build --release -p chorus
	@ls -l target/release/chorus

demo: build
	target/release/chorus demo --http-address=$(DEMO_ADDRESS)

# Tests use the dev/test profile (faster to build than release). The console is built first
# because the binary serves it and browser tests load it. --no-fail-fast runs every test binary
# so the summary is complete; the full output stays in target/test.log.
test: setup frontend
	@mkdir -p target
	@start=$$(date +%s); status=0; \
	$(CARGO) test --no-fail-fast 2>&1 | tee target/test.log || status=$$?; \
	echo "==== chorus promql-test (Chorus's own scripts, then Prometheus's with the baseline)"; \
	target/debug/chorus promql-test backend/tests/promql/*.test || status=1; \
	if [ -d ../shared/promql-testdata ]; then \
	  report=$$(target/debug/chorus promql-test --baseline backend/tests/promql-baseline.txt \
	    ../shared/promql-testdata/*.test) || status=1; \
	  printf '%s\n' "$$report" | grep -E 'passed|regress|fixed' || true; fi; \
	awk -v secs=$$(( $$(date +%s) - start )) -v status=$$status ' \
	  /^test result:/ { binaries++; for (i = 2; i < NF; i++) { n = $$i + 0; \
	    if ($$(i + 1) ~ /^passed/) passed += n; else if ($$(i + 1) ~ /^failed/) failed += n; \
	    else if ($$(i + 1) ~ /^ignored/) ignored += n } } \
	  / \.\.\. FAILED$$/ { sub(/^test /, ""); sub(/ \.\.\. FAILED$$/, ""); failures[++nf] = $$0 } \
	  /^error(\[|:)/ { errors[++ne] = $$0 } \
	  END { printf "\n==== make test: %d test binaries in %d s\n", binaries, secs; \
	        for (i = 1; i <= nf; i++) print "==== FAILED: " failures[i]; \
	        for (i = 1; i <= ne; i++) print "==== " errors[i]; \
	        print (status == 0 ? "==== OK" : "==== FAILED (cargo test exit status " status "; log: target/test.log)"); \
	        printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' \
	  target/test.log; \
	exit $$status

# A local HA stack: two Prometheus servers, two sidecars, one querier (deploy/local/ha-stack.sh).
local-up: build
	deploy/local/ha-stack.sh start

local-down:
	deploy/local/ha-stack.sh stop

local-status:
	deploy/local/ha-stack.sh status

# Every bench target of the backend, query_vs_prometheus (bench-query) included.
bench: setup-apt
	$(CARGO) bench -p chorus

# Backfills ~7M samples with promtool into three Prometheus servers (one queried directly, two
# replicas behind chorus sidecars + chorus query) and compares query latencies; several minutes.
bench-query: setup-apt
	$(CARGO) bench -p chorus --bench query_vs_prometheus

# The frontend is linted for the target it is built for (it is not a default member).
lint: setup-rust
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy -p chorus-frontend --target wasm32-unknown-unknown -- -D warnings

clean:
	$(CARGO) clean
	rm -rf $(DIST)
