//! The demo's synthetic data: what two Prometheus replicas scraping the same small fleet would
//! have stored, for any stretch of time.
//!
//! Every metric is a function of time shared by both replicas (the targets are the same), so the
//! replicas differ only where real HA pairs differ: each scrapes at its own moments (replica `b`
//! about seven seconds after `a`, with jitter) and one of them can miss a stretch of time (a
//! restart). The fleet: three `api` servers with request counters, a latency histogram (one of
//! them has a slow half hour and, later, restarts, resetting its counters), two `worker`s with job
//! counters, two `node`s with temperature sensors, and memory gauges and `up` for all. Events
//! sit at fixed offsets from the [`Scenario`]'s origin.
//!
//! Generation is deterministic and stateless: the jitter of a scrape and the value noise are
//! hashes (SplitMix64) of the replica, the target and the time, so generating two adjacent time
//! ranges gives exactly the samples of generating their union. That is what lets the demo keep
//! scraping after it starts. This module produces plain samples; it knows nothing of chunks or
//! stores.

use std::f64::consts::TAU;
use std::time::Duration;

use shared::labels::{Labels, METRIC_NAME};
use shared::series::{Sample, TimeRange};

const MINUTE_MS: i64 = 60_000;

/// How one replica scrapes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSpec {
    /// Value of the replica label (`prometheus_replica`).
    pub name: String,
    /// How long after the nominal scrape time this replica scrapes.
    pub offset: Duration,
    /// Each scrape lands up to this far before or after `offset` (capped below half an interval).
    pub jitter: Duration,
    /// A stretch with no samples (the replica was down), if any.
    pub gap: Option<TimeRange>,
    /// Seed of the jitter.
    pub seed: u64,
}

/// When the scenario starts and how often the replicas scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    origin_ms: i64,
    interval_ms: i64,
}

impl Scenario {
    /// A scenario whose history runs from `length` before `now_ms` (rounded down to a multiple
    /// of `interval`) to `now_ms`; returns it with that history's time range. `None` when the
    /// interval is not a positive number of milliseconds or the times do not fit in i64 ms.
    pub fn ending_at(
        now_ms: i64,
        length: Duration,
        interval: Duration,
    ) -> Option<(Self, TimeRange)> {
        let interval_ms = i64::try_from(interval.as_millis())
            .ok()
            .filter(|ms| *ms > 0)?;
        let length_ms = i64::try_from(length.as_millis()).ok()?;
        let aligned_ms = now_ms.checked_sub(now_ms.rem_euclid(interval_ms))?;
        let origin_ms = aligned_ms.checked_sub(length_ms)?;
        Some((
            Self {
                origin_ms,
                interval_ms,
            },
            TimeRange::new(origin_ms, now_ms)?,
        ))
    }

    /// Start of the scenario, ms: the events of the fleet are placed relative to it.
    pub fn origin_ms(&self) -> i64 {
        self.origin_ms
    }

    /// Scrape interval, ms (positive).
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }
}

/// The two replicas of `chorus demo`: `a` on time, `b` seven seconds later with jitter, and
/// `b` missing twenty minutes from 3 h 30 min to 3 h 50 min after the origin (with the demo's
/// six hours of history: ending 2 h 10 min before the demo started).
pub fn demo_replicas(scenario: &Scenario) -> [ReplicaSpec; 2] {
    let gap_start = scenario.origin_ms.saturating_add(210 * MINUTE_MS);
    [
        ReplicaSpec {
            name: "a".into(),
            offset: Duration::ZERO,
            jitter: Duration::from_millis(10),
            gap: None,
            seed: 0x5eed_000a,
        },
        ReplicaSpec {
            name: "b".into(),
            offset: Duration::from_secs(7),
            jitter: Duration::from_millis(400),
            gap: TimeRange::new(gap_start, gap_start.saturating_add(20 * MINUTE_MS)),
            seed: 0x5eed_000b,
        },
    ]
}

/// One generated series: labels without external labels, samples in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedSeries {
    /// The series' own labels, `__name__` included.
    pub labels: Labels,
    /// Strictly increasing timestamps, all inside the requested range.
    pub samples: Vec<Sample>,
}

/// Every series of the fleet with the samples `replica` scraped during `range`, always in the
/// same order (possibly with no samples).
pub fn generate(
    scenario: &Scenario,
    replica: &ReplicaSpec,
    range: TimeRange,
) -> Vec<GeneratedSeries> {
    let origin_s = scenario.origin_ms as f64 / 1000.0;
    let mut out = Vec::new();
    for target in fleet(origin_s) {
        let times = scrape_times(scenario, replica, &target.instance, range);
        let mut metrics: Vec<Metric<'_>> = Vec::new();
        target.metrics(&mut metrics);
        for (labels, value) in metrics {
            let samples = times
                .iter()
                .map(|&t_ms| Sample {
                    t_ms,
                    v: value(t_ms as f64 / 1000.0),
                })
                .collect();
            out.push(GeneratedSeries { labels, samples });
        }
    }
    out
}

/// The timestamps in `range` at which `replica` scraped `instance`: one per interval, shifted by
/// a per-target phase (as Prometheus spreads targets over the interval), the replica's offset
/// and a jitter hashed from the scrape, and none inside the replica's gap.
fn scrape_times(
    scenario: &Scenario,
    replica: &ReplicaSpec,
    instance: &str,
    range: TimeRange,
) -> Vec<i64> {
    let interval_ms = scenario.interval_ms;
    let target_seed = replica.seed ^ hash_str(instance);
    let phase_ms = (hash_str(instance) % interval_ms.unsigned_abs()) as i64;
    let offset_ms = i64::try_from(replica.offset.as_millis()).unwrap_or(i64::MAX / 4);
    // Below half an interval, so timestamps keep increasing.
    let jitter_ms = i64::try_from(replica.jitter.as_millis())
        .unwrap_or(i64::MAX)
        .min((interval_ms - 1) / 2);
    let shift_max = phase_ms.saturating_add(offset_ms).saturating_add(jitter_ms);
    // Nominal scrape times are multiples of the interval since the epoch, so any two ranges
    // agree on them; start early enough that shifted scrapes landing in the range are seen.
    let first = range.min_ms().saturating_sub(shift_max);
    let mut nominal = first.saturating_sub(first.rem_euclid(interval_ms));
    let mut times = Vec::new();
    while nominal <= range.max_ms().saturating_add(jitter_ms) {
        let jitter = jitter_between(splitmix(target_seed ^ nominal as u64), jitter_ms);
        let t_ms = nominal
            .saturating_add(phase_ms)
            .saturating_add(offset_ms)
            .saturating_add(jitter);
        let missing = replica.gap.is_some_and(|gap| gap.contains(t_ms));
        if !missing && range.contains(t_ms) {
            times.push(t_ms);
        }
        nominal = nominal.saturating_add(interval_ms);
        if nominal == i64::MAX {
            break;
        }
    }
    times
}

/// Maps a hash to `[-max, max]` (slightly biased; fine for jitter).
fn jitter_between(hash: u64, max: i64) -> i64 {
    let span = max.unsigned_abs().saturating_mul(2).saturating_add(1);
    (hash % span) as i64 - max.abs()
}

/// A series' labels and its value as a function of time (seconds since the epoch).
type Metric<'a> = (Labels, Box<dyn Fn(f64) -> f64 + 'a>);

/// A scraped target and what it exposes.
struct Target {
    job: &'static str,
    instance: String,
    /// Request load, for targets that serve requests or process jobs.
    load: Option<Load>,
    /// Base resident memory, bytes.
    memory_bytes: f64,
}

/// Latency buckets of `http_request_duration_seconds`, seconds (the client libraries' defaults).
const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The fleet, with times relative to `origin_s` (the start of the window, in seconds).
fn fleet(origin_s: f64) -> Vec<Target> {
    let hour = 3600.0;
    let api = |i: usize, rate: f64| Target {
        job: "api",
        instance: format!("api-{i}:8080"),
        load: Some(Load {
            rate_per_s: rate,
            phase: i as f64 * 1.3,
            started_s: origin_s - 3.0 * 86_400.0 - i as f64 * 5_000.0,
            restart_s: (i == 2).then_some(origin_s + 4.0 * hour),
            incident: (i == 1).then_some((origin_s + 2.0 * hour, origin_s + 2.5 * hour)),
        }),
        memory_bytes: 160e6 + i as f64 * 12e6,
    };
    let worker = |i: usize| Target {
        job: "worker",
        instance: format!("worker-{i}:9000"),
        load: Some(Load {
            rate_per_s: 3.0 + i as f64,
            phase: 0.5 + i as f64,
            started_s: origin_s - 86_400.0,
            restart_s: None,
            incident: None,
        }),
        memory_bytes: 420e6 + i as f64 * 30e6,
    };
    let node = |i: usize| Target {
        job: "node",
        instance: format!("node-{i}:9100"),
        load: None,
        memory_bytes: 24e6,
    };
    vec![
        api(0, 40.0),
        api(1, 35.0),
        api(2, 28.0),
        worker(0),
        worker(1),
        node(0),
        node(1),
    ]
}

impl Target {
    fn labels(&self, name: &str, extra: &[(&str, String)]) -> Labels {
        let mut pairs = vec![
            (METRIC_NAME.to_string(), name.to_string()),
            ("job".to_string(), self.job.to_string()),
            ("instance".to_string(), self.instance.clone()),
        ];
        pairs.extend(extra.iter().map(|(n, v)| (n.to_string(), v.clone())));
        Labels::from_pairs(pairs)
    }

    /// Pushes every metric of this target with its value as a function of time (seconds).
    fn metrics<'a>(&'a self, out: &mut Vec<Metric<'a>>) {
        let seed = hash_str(&self.instance);
        out.push((self.labels("up", &[]), Box::new(|_| 1.0)));
        let memory = self.memory_bytes;
        out.push((
            self.labels("process_resident_memory_bytes", &[]),
            Box::new(move |t| {
                // A slow swell, a garbage-collection sawtooth every ten minutes, some noise.
                let v = memory
                    * (1.0 + 0.08 * (TAU * t / 7_200.0).sin() + 0.05 * (t / 600.0).fract())
                    + 2e6 * value_noise(seed, t);
                (v / 4096.0).round() * 4096.0
            }),
        ));
        match (self.job, &self.load) {
            ("api", Some(load)) => self.api_metrics(load, out),
            ("worker", Some(load)) => {
                for (queue, share) in [("default", 0.8), ("email", 0.2)] {
                    let labels = self.labels(
                        "worker_jobs_processed_total",
                        &[("queue", queue.to_string())],
                    );
                    out.push((labels, Box::new(move |t| load.requests(t).total() * share)));
                }
            }
            _ => {
                for (sensor, base) in [("temp1", 46.0), ("temp2", 38.0)] {
                    let labels =
                        self.labels("node_hwmon_temp_celsius", &[("sensor", sensor.to_string())]);
                    let seed = seed ^ hash_str(sensor);
                    out.push((
                        labels,
                        Box::new(move |t| {
                            let v = base
                                + 6.0 * (TAU * t / 10_800.0 + base).sin()
                                + 0.8 * value_noise(seed, t);
                            (v * 8.0).round() / 8.0
                        }),
                    ));
                }
            }
        }
    }

    fn api_metrics<'a>(&'a self, load: &'a Load, out: &mut Vec<Metric<'a>>) {
        // (method, code, share in normal times, share during the incident)
        const MIX: [(&str, &str, f64, f64); 6] = [
            ("GET", "200", 0.760, 0.640),
            ("GET", "404", 0.032, 0.030),
            ("GET", "500", 0.008, 0.130),
            ("POST", "200", 0.190, 0.150),
            ("POST", "404", 0.008, 0.010),
            ("POST", "500", 0.002, 0.040),
        ];
        for (method, code, normal, incident) in MIX {
            let labels = self.labels(
                "http_requests_total",
                &[("method", method.to_string()), ("code", code.to_string())],
            );
            out.push((
                labels,
                Box::new(move |t| load.requests(t).weighted(normal, incident).floor()),
            ));
        }
        // Latency: log-normal, median 40 ms normally and 600 ms during the incident.
        let (normal, slow) = (
            LogNormal {
                median_s: 0.04,
                sigma: 0.9,
            },
            LogNormal {
                median_s: 0.6,
                sigma: 0.8,
            },
        );
        let name = "http_request_duration_seconds";
        for le in LATENCY_BUCKETS {
            let labels = self.labels(&format!("{name}_bucket"), &[("le", format_le(le))]);
            let (fn_, fi) = (normal.cdf(le), slow.cdf(le));
            out.push((
                labels,
                Box::new(move |t| load.requests(t).weighted(fn_, fi).floor()),
            ));
        }
        out.push((
            self.labels(&format!("{name}_bucket"), &[("le", "+Inf".to_string())]),
            Box::new(|t| load.requests(t).total().floor()),
        ));
        out.push((
            self.labels(&format!("{name}_count"), &[]),
            Box::new(|t| load.requests(t).total().floor()),
        ));
        let (mean_n, mean_i) = (normal.mean(), slow.mean());
        out.push((
            self.labels(&format!("{name}_sum"), &[]),
            Box::new(move |t| load.requests(t).weighted(mean_n, mean_i)),
        ));
    }
}

/// Prometheus's `le` label: shortest float formatting (`0.005`, `1`, `2.5`).
fn format_le(le: f64) -> String {
    format!("{le}")
}

/// The request rate of a target over time: a base rate with a three-hour swell, optionally a
/// restart (counters start again from zero) and an incident window (a different mix).
struct Load {
    rate_per_s: f64,
    phase: f64,
    /// When the process started, seconds since the epoch.
    started_s: f64,
    restart_s: Option<f64>,
    incident: Option<(f64, f64)>,
}

/// Requests served since the process started, split by whether they fell in the incident.
#[derive(Debug, Clone, Copy)]
struct Served {
    normal: f64,
    incident: f64,
}

impl Served {
    fn total(self) -> f64 {
        self.normal + self.incident
    }

    fn weighted(self, normal: f64, incident: f64) -> f64 {
        self.normal * normal + self.incident * incident
    }
}

impl Load {
    const PERIOD_S: f64 = 10_800.0;
    const SWELL: f64 = 0.4;

    /// Requests from the epoch to `t` (seconds) at rate `r(1 + SWELL·sin(2πt/P + phase))`.
    fn cumulative(&self, t: f64) -> f64 {
        let w = TAU / Self::PERIOD_S;
        self.rate_per_s * (t - Self::SWELL / w * ((w * t + self.phase).cos() - self.phase.cos()))
    }

    /// Requests served by the running process up to `t` (seconds).
    fn requests(&self, t: f64) -> Served {
        let started = match self.restart_s {
            Some(restart) if t >= restart => restart,
            _ => self.started_s,
        };
        let between = |a: f64, b: f64| {
            if b > a {
                self.cumulative(b) - self.cumulative(a)
            } else {
                0.0
            }
        };
        let total = between(started, t);
        let incident = self
            .incident
            .map_or(0.0, |(from, to)| between(from.max(started), to.min(t)));
        Served {
            normal: total - incident,
            incident,
        }
    }
}

/// A log-normal latency distribution.
#[derive(Debug, Clone, Copy)]
struct LogNormal {
    median_s: f64,
    sigma: f64,
}

impl LogNormal {
    fn cdf(&self, x: f64) -> f64 {
        0.5 * (1.0 + erf((x / self.median_s).ln() / (self.sigma * std::f64::consts::SQRT_2)))
    }

    fn mean(&self) -> f64 {
        self.median_s * (self.sigma * self.sigma / 2.0).exp()
    }
}

/// The error function, Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x < 0.0 { -y } else { y }
}

/// Smooth noise in [-1, 1]: hashed values at whole minutes, interpolated linearly between them.
fn value_noise(seed: u64, t_s: f64) -> f64 {
    let minute = (t_s / 60.0).floor();
    let frac = t_s / 60.0 - minute;
    let at = |m: f64| {
        (splitmix(seed ^ (m as i64 as u64)) >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    at(minute) * (1.0 - frac) + at(minute + 1.0) * frac
}

/// SplitMix64's finaliser: a good 64-bit mix for hashing small inputs.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a, for stable per-name seeds and phases.
fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;
