//! The querier of the Kubernetes manifest Chorus replaces: `chorus query` with exactly that
//! manifest's arguments must start and keep retrying discovery while the SRV name does not
//! resolve (here, or before the headless Service exists).
//!
//! The process runs in a new, empty network namespace (`unshare --map-root-user --net`, from
//! util-linux; unprivileged users can create one where user namespaces are enabled), so its DNS
//! lookups fail at once and never leave the machine; it only needs its own loopback listeners.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHORUS: &str = env!("CARGO_BIN_EXE_chorus");
const SRV: &str = "_grpc._tcp.thanos-store-api.prometheus.svc.cluster.local";

/// The arguments of the seed manifest's querier container.
fn seed_arguments() -> Vec<String> {
    [
        "query",
        "--log.level=debug",
        "--query.replica-label=prometheus_replica",
        "--store.sd-dns-resolver=miekgdns",
        &format!("--store=dnssrv+{SRV}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Starts `chorus` in a new network namespace with `args` plus loopback listen addresses.
fn start_isolated(args: &[String], log: &tempfile::NamedTempFile) -> Child {
    Command::new("unshare")
        .args(["--map-root-user", "--net", "--", CHORUS])
        .args(args)
        // The manifest's defaults listen on 0.0.0.0; tests listen on loopback only.
        .args(["--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log.reopen().expect("reopen the log file"))
        .spawn()
        .expect("start chorus under unshare (util-linux)")
}

/// Kills the child on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until the log shows `wanted` failed lookups of the SRV name, checking the process stays up.
fn wait_for_failed_lookups(
    child: &mut Child,
    log: &tempfile::NamedTempFile,
    wanted: usize,
    timeout: Duration,
) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(log.path()).unwrap_or_default();
        if let Ok(Some(status)) = child.try_wait() {
            panic!("chorus query exited with {status}:\n{text}");
        }
        let failures = text
            .lines()
            .filter(|l| l.contains("DNS lookup failed") && l.contains(SRV))
            .count();
        if failures >= wanted {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "saw {failures} of {wanted} failed lookups:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn seed_manifest_querier_starts_and_keeps_retrying_discovery() {
    let log = tempfile::NamedTempFile::new().expect("temporary log file");
    let mut child = Killed(start_isolated(&seed_arguments(), &log));
    let text = wait_for_failed_lookups(&mut child.0, &log, 1, Duration::from_secs(20));
    assert!(text.contains("starting the querier"), "{text}");
    // Still serving a while later: a failed lookup is not fatal.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.0.try_wait().expect("process status").is_none(),
        "chorus query stopped:\n{text}"
    );
}

#[test]
fn failed_lookups_are_retried_every_interval() {
    let log = tempfile::NamedTempFile::new().expect("temporary log file");
    let mut args = seed_arguments();
    args.push("--store.sd-dns-interval=200ms".into());
    let mut child = Killed(start_isolated(&args, &log));
    wait_for_failed_lookups(&mut child.0, &log, 4, Duration::from_secs(20));
}
