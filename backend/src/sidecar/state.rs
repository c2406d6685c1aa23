//! What the sidecar knows about its Prometheus (external labels, oldest timestamp, whether it
//! answers) and the loop that keeps it fresh.
//!
//! Like the Thanos sidecar (cmd/thanos/sidecar.go: `validatePrometheus`, the external-labels
//! refresh loop), it retries with capped exponential backoff until Prometheus answers, then
//! re-reads every `--prometheus.refresh-interval`. The sidecar is ready only while Prometheus
//! answers and its external labels are non-empty. Store calls and the HTTP probes read a
//! [`Snapshot`]; only [`refresh_loop`] writes it.
//!
//! Min time: Thanos announces its TSDB's min time. Chorus reads the same value from Prometheus's
//! own gauge `prometheus_tsdb_lowest_timestamp` on `/metrics` (prometheus tsdb/db.go: the oldest
//! block's min time, else the head's), which covers backfilled and compacted blocks, where
//! `/api/v1/status/tsdb`'s `headStats.minTime` covers the head only. Max time is always
//! `i64::MAX`: Prometheus keeps ingesting.

use std::fmt;
use std::sync::RwLock;
use std::time::Duration;

use shared::labels::Labels;
use tokio_util::sync::CancellationToken;

use super::prometheus::{PrometheusClient, PrometheusError};

/// Thanos's message when Prometheus has no external labels (cmd/thanos/sidecar.go).
pub const NO_EXTERNAL_LABELS: &str = "no external labels configured on Prometheus server, uniquely identifying external labels must be configured";

/// Why the sidecar does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// Prometheus has not answered yet, or stopped answering.
    Unreachable(String),
    /// Prometheus answers but has no external labels.
    NoExternalLabels,
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReady::Unreachable(reason) => {
                write!(f, "cannot read Prometheus's configuration: {reason}")
            }
            NotReady::NoExternalLabels => f.write_str(NO_EXTERNAL_LABELS),
        }
    }
}

/// The sidecar's latest view of Prometheus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// External labels from the last successful read; `None` before the first.
    pub external_labels: Option<Labels>,
    /// Oldest timestamp in the TSDB, ms; `None` while unknown or while the TSDB is empty.
    pub min_time_ms: Option<i64>,
    /// The last refresh's error, `None` when it succeeded.
    pub last_error: Option<String>,
}

impl Snapshot {
    /// The external labels, if the sidecar may serve with them. The labels from the last
    /// successful read stay in use while Prometheus is briefly unreachable (as in Thanos).
    pub fn serving_labels(&self) -> Result<&Labels, NotReady> {
        match &self.external_labels {
            None => Err(NotReady::Unreachable(
                self.last_error
                    .clone()
                    .unwrap_or_else(|| "not read yet".into()),
            )),
            Some(labels) if labels.is_empty() => Err(NotReady::NoExternalLabels),
            Some(labels) => Ok(labels),
        }
    }

    /// Readiness for `/-/ready`: Prometheus answered the last refresh and has external labels.
    pub fn readiness(&self) -> Result<(), NotReady> {
        if let Some(error) = &self.last_error {
            return Err(NotReady::Unreachable(error.clone()));
        }
        self.serving_labels().map(|_| ())
    }
}

/// The shared, refreshed [`Snapshot`].
#[derive(Debug)]
pub struct PrometheusState {
    // A std lock: it is never held across an await.
    snapshot: RwLock<Snapshot>,
}

impl Default for PrometheusState {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusState {
    /// Nothing known yet.
    pub fn new() -> Self {
        Self {
            snapshot: RwLock::new(Snapshot {
                external_labels: None,
                min_time_ms: None,
                last_error: None,
            }),
        }
    }

    /// A copy of the current view.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn update(&self, change: impl FnOnce(&mut Snapshot)) {
        change(
            &mut self
                .snapshot
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
    }

    /// Reads external labels and the oldest timestamp once and records the outcome.
    ///
    /// Only the external labels decide success: the oldest timestamp is best effort (a
    /// Prometheus whose `/metrics` cannot be read still serves, announcing an open min time).
    pub async fn refresh(&self, client: &PrometheusClient) -> Result<(), PrometheusError> {
        let labels = match client.external_labels().await {
            Ok(labels) => labels,
            Err(error) => {
                self.update(|s| s.last_error = Some(error.to_string()));
                return Err(error);
            }
        };
        let min_time_ms = match client.lowest_timestamp_ms().await {
            Ok(min_time_ms) => min_time_ms,
            Err(error) => {
                tracing::debug!(%error, "cannot read Prometheus's oldest timestamp; announcing an open min time");
                None
            }
        };
        let previous = self.snapshot().external_labels;
        if previous.as_ref() != Some(&labels) {
            if labels.is_empty() {
                tracing::warn!(prometheus = %client.url(), "{NO_EXTERNAL_LABELS}");
            } else if let Some(previous) = previous.filter(|p| !p.is_empty()) {
                tracing::info!(prometheus = %client.url(), %previous, external_labels = %labels, "external labels changed");
            } else {
                tracing::info!(prometheus = %client.url(), external_labels = %labels, "external labels loaded");
            }
        }
        self.update(|s| {
            s.external_labels = Some(labels);
            s.min_time_ms = min_time_ms;
            s.last_error = None;
        });
        Ok(())
    }
}

/// Capped exponential backoff between failed refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// Delay after `failures` consecutive failures (1 = the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1));
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// Refreshes `state` until `shutdown`: every `interval` after a success, with `backoff` after
/// failures (each logged as a warning).
pub async fn refresh_loop(
    state: &PrometheusState,
    client: &PrometheusClient,
    interval: Duration,
    backoff: Backoff,
    shutdown: CancellationToken,
) {
    let mut failures: u32 = 0;
    loop {
        let delay = match state.refresh(client).await {
            Ok(()) => {
                if failures > 0 {
                    tracing::info!(prometheus = %client.url(), "Prometheus answers again");
                }
                failures = 0;
                interval
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                let delay = backoff.delay(failures);
                tracing::warn!(%error, retry_in = ?delay, failures, "Prometheus unreachable");
                delay
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(b.delay(1), Duration::from_millis(100));
        assert_eq!(b.delay(2), Duration::from_millis(200));
        assert_eq!(b.delay(4), Duration::from_millis(800));
        assert_eq!(b.delay(5), Duration::from_secs(1));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn readiness_needs_an_answer_and_external_labels() {
        let mut s = Snapshot {
            external_labels: None,
            min_time_ms: None,
            last_error: Some("refused".into()),
        };
        assert_eq!(s.readiness(), Err(NotReady::Unreachable("refused".into())));
        s = Snapshot {
            external_labels: Some(Labels::empty()),
            min_time_ms: None,
            last_error: None,
        };
        assert_eq!(s.readiness(), Err(NotReady::NoExternalLabels));
        assert!(
            s.serving_labels()
                .expect_err("empty labels are refused")
                .to_string()
                .contains("uniquely identifying external labels")
        );
        s.external_labels = Some(Labels::from_pairs([("replica", "a")]));
        assert_eq!(s.readiness(), Ok(()));
        s.last_error = Some("refused".into());
        assert!(s.readiness().is_err());
        assert!(s.serving_labels().is_ok(), "last known labels keep serving");
    }
}
