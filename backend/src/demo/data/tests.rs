//! Tests of the demo's synthetic data: determinism, scrape timing, replica gaps and the scripted events.

use super::*;

const NOW_MS: i64 = 1_800_000_007_123;

fn scenario() -> (Scenario, TimeRange) {
    Scenario::ending_at(
        NOW_MS,
        Duration::from_secs(6 * 3600),
        Duration::from_secs(15),
    )
    .expect("fits")
}

/// The replicas and what each scraped over the six hours.
fn history() -> ([ReplicaSpec; 2], [Vec<GeneratedSeries>; 2]) {
    let (sc, range) = scenario();
    let [a, b] = demo_replicas(&sc);
    let (sa, sb) = (generate(&sc, &a, range), generate(&sc, &b, range));
    ([a, b], [sa, sb])
}

fn series<'a>(
    all: &'a [GeneratedSeries],
    name: &str,
    instance: &str,
    extra: (&str, &str),
) -> &'a GeneratedSeries {
    all.iter()
        .find(|s| {
            s.labels.get(METRIC_NAME) == Some(name)
                && s.labels.get("instance") == Some(instance)
                && (extra.0.is_empty() || s.labels.get(extra.0) == Some(extra.1))
        })
        .unwrap_or_else(|| panic!("no {name} for {instance}"))
}

#[test]
fn history_starts_aligned_and_ends_now() {
    let (sc, range) = scenario();
    assert_eq!(range.min_ms() % 15_000, 0);
    assert_eq!(range.max_ms(), NOW_MS);
    assert_eq!(NOW_MS - range.min_ms(), 6 * 3600 * 1000 + NOW_MS % 15_000);
    assert_eq!(sc.origin_ms(), range.min_ms());
    assert!(Scenario::ending_at(NOW_MS, Duration::from_secs(1), Duration::ZERO).is_none());
}

#[test]
fn generation_is_deterministic_and_splits_at_any_time() {
    let (sc, range) = scenario();
    let [_, b] = demo_replicas(&sc);
    let whole = generate(&sc, &b, range);
    assert_eq!(whole, generate(&sc, &b, range));
    // Two adjacent ranges give the samples of their union: the demo's live scrapes.
    let cut = range.min_ms() + 3 * 3600 * 1000 + 4_321;
    let first = generate(
        &sc,
        &b,
        TimeRange::new(range.min_ms(), cut).expect("ordered"),
    );
    let second = generate(
        &sc,
        &b,
        TimeRange::new(cut + 1, range.max_ms()).expect("ordered"),
    );
    for ((w, f), s) in whole.iter().zip(&first).zip(&second) {
        assert_eq!((&w.labels, &w.labels), (&f.labels, &s.labels));
        let joined: Vec<Sample> = f.samples.iter().chain(&s.samples).copied().collect();
        assert_eq!(w.samples, joined, "{}", w.labels);
    }
}

#[test]
fn replica_b_scrapes_later_and_misses_its_gap() {
    let ([_, b], [sa, sb]) = history();
    assert_eq!(sa.len(), sb.len());
    let (ua, ub) = (
        series(&sa, "up", "api-0:8080", ("", "")),
        series(&sb, "up", "api-0:8080", ("", "")),
    );
    assert!(
        (6 * 240 - 1..=6 * 240 + 1).contains(&ua.samples.len()),
        "{}",
        ua.samples.len()
    );
    let gap = b.gap.expect("b has a gap");
    assert!(ub.samples.iter().all(|s| !gap.contains(s.t_ms)));
    assert!(ua.samples.iter().any(|s| gap.contains(s.t_ms)));
    let missing = ua.samples.len() - ub.samples.len();
    assert!(
        (79..=82).contains(&missing),
        "twenty minutes of 15 s scrapes, not {missing}"
    );
    // Every scrape of b follows one of a by about seven seconds.
    for y in ub.samples.iter().skip(1) {
        let paired = ua
            .samples
            .iter()
            .any(|x| (7_000 - 410..=7_000 + 410).contains(&(y.t_ms - x.t_ms)));
        assert!(paired, "no scrape of a about 7 s before {}", y.t_ms);
    }
    for s in sa.iter().chain(sb.iter()) {
        assert!(
            s.samples.windows(2).all(|p| p[0].t_ms < p[1].t_ms),
            "{}",
            s.labels
        );
    }
}

#[test]
fn counters_only_reset_on_the_restarted_instance() {
    let (_, [all, _]) = history();
    let resets = |s: &GeneratedSeries| s.samples.windows(2).filter(|p| p[1].v < p[0].v).count();
    for s in all.iter().filter(|s| {
        s.labels
            .get(METRIC_NAME)
            .is_some_and(|n| n.ends_with("_total"))
    }) {
        let expected = usize::from(s.labels.get("instance") == Some("api-2:8080"));
        assert_eq!(resets(s), expected, "{}", s.labels);
        assert!(s.samples.iter().all(|x| x.v >= 0.0 && x.v.is_finite()));
    }
}

#[test]
fn histogram_buckets_are_cumulative_and_end_at_the_count() {
    let (_, [all, _]) = history();
    for instance in ["api-0:8080", "api-1:8080", "api-2:8080"] {
        let bucket = |le: &str| {
            series(
                &all,
                "http_request_duration_seconds_bucket",
                instance,
                ("le", le),
            )
        };
        let mut les: Vec<String> = LATENCY_BUCKETS.iter().map(|le| format_le(*le)).collect();
        les.push("+Inf".into());
        for pair in les.windows(2) {
            let (lo, hi) = (bucket(&pair[0]), bucket(&pair[1]));
            assert!(
                lo.samples.iter().zip(&hi.samples).all(|(x, y)| x.v <= y.v),
                "{instance} le {}",
                pair[0]
            );
        }
        let count = series(
            &all,
            "http_request_duration_seconds_count",
            instance,
            ("", ""),
        );
        assert_eq!(bucket("+Inf").samples, count.samples);
    }
    // The incident on api-1 shows as a higher share of slow requests.
    let slow_share = |instance: &str| {
        let fast = series(
            &all,
            "http_request_duration_seconds_bucket",
            instance,
            ("le", "0.25"),
        );
        let count = series(
            &all,
            "http_request_duration_seconds_count",
            instance,
            ("", ""),
        );
        let (f, c) = (
            fast.samples.last().map(|s| s.v),
            count.samples.last().map(|s| s.v),
        );
        1.0 - f.unwrap_or_default() / c.unwrap_or(1.0)
    };
    assert!(slow_share("api-1:8080") > slow_share("api-0:8080"));
}

#[test]
fn le_labels_use_prometheus_float_formatting() {
    assert_eq!(format_le(0.005), "0.005");
    assert_eq!(format_le(1.0), "1");
    assert_eq!(format_le(2.5), "2.5");
}
