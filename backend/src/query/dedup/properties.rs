//! Property tests of the dedup iterators over arbitrary replicas (STYLE.md §3 "Property tests").

use std::collections::BTreeSet;
use std::convert::Infallible;

use proptest::prelude::*;

use super::iter::{VecIterator, collect_samples};
use super::{DedupAlgorithm, ValueKind, deduplicate};

type Samples = Vec<(i64, f64)>;

fn run(replicas: &[Samples], algorithm: DedupAlgorithm, kind: ValueKind) -> Samples {
    let iters = replicas
        .iter()
        .map(|r| VecIterator::floats(r).expect("strategies give increasing timestamps"));
    let mut it = deduplicate(
        iters.collect::<Vec<VecIterator<Infallible>>>(),
        algorithm,
        kind,
    );
    let samples = collect_samples(&mut it).unwrap_or_else(|never| match never {});
    samples
        .into_iter()
        .map(|(t, v)| (t, v.as_float().expect("float input gives float output")))
        .collect()
}

/// One replica: strictly increasing timestamps, values from a small set (so equal values occur).
fn replica() -> impl Strategy<Value = Samples> {
    prop::collection::btree_map(0i64..300_000, (0u8..8).prop_map(f64::from), 0..40)
        .prop_map(|samples| samples.into_iter().collect())
}

/// One counter replica: strictly increasing timestamps, non-decreasing values.
fn counter_replica() -> impl Strategy<Value = Samples> {
    prop::collection::btree_map(0i64..300_000, 0u8..5, 0..40).prop_map(|increments| {
        let mut total = 0.0;
        increments
            .into_iter()
            .map(|(t, inc)| {
                total += f64::from(inc);
                (t, total)
            })
            .collect()
    })
}

fn algorithm() -> impl Strategy<Value = DedupAlgorithm> {
    prop_oneof![Just(DedupAlgorithm::Penalty), Just(DedupAlgorithm::Chain)]
}

fn kind() -> impl Strategy<Value = ValueKind> {
    prop_oneof![Just(ValueKind::Gauge), Just(ValueKind::Counter)]
}

proptest! {
    #[test]
    fn output_timestamps_strictly_increase(
        replicas in prop::collection::vec(replica(), 0..5),
        algorithm in algorithm(),
        kind in kind(),
    ) {
        let out = run(&replicas, algorithm, kind);
        prop_assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "{:?}", out);
    }

    #[test]
    fn every_output_sample_comes_from_an_input(
        replicas in prop::collection::vec(replica(), 0..5),
        algorithm in algorithm(),
    ) {
        let inputs: BTreeSet<(i64, u64)> =
            replicas.iter().flatten().map(|&(t, v)| (t, v.to_bits())).collect();
        for (t, v) in run(&replicas, algorithm, ValueKind::Gauge) {
            prop_assert!(inputs.contains(&(t, v.to_bits())), "({}, {}) is in no replica", t, v);
        }
        // Counter adjustment changes values, never timestamps.
        let times: BTreeSet<i64> = replicas.iter().flatten().map(|s| s.0).collect();
        for (t, _) in run(&replicas, algorithm, ValueKind::Counter) {
            prop_assert!(times.contains(&t));
        }
    }

    #[test]
    fn single_replica_passes_through_unchanged(
        replica in replica(),
        algorithm in algorithm(),
        kind in kind(),
    ) {
        prop_assert_eq!(run(std::slice::from_ref(&replica), algorithm, kind), replica);
    }

    #[test]
    fn identical_replicas_give_the_replica_in_any_order(
        replica in replica(),
        copies in 2usize..5,
        algorithm in algorithm(),
        kind in kind(),
    ) {
        let replicas = vec![replica.clone(); copies];
        prop_assert_eq!(run(&replicas, algorithm, kind), replica);
    }

    #[test]
    fn two_replicas_keep_the_same_timestamps_when_swapped_if_equal_in_time(
        times in prop::collection::btree_set(0i64..300_000, 0..40),
        algorithm in algorithm(),
    ) {
        // Same timestamps, different values: output times do not depend on the order.
        let a: Samples = times.iter().map(|&t| (t, 1.0)).collect();
        let b: Samples = times.iter().map(|&t| (t, 2.0)).collect();
        let ab: Vec<i64> = run(&[a.clone(), b.clone()], algorithm, ValueKind::Gauge).iter().map(|s| s.0).collect();
        let ba: Vec<i64> = run(&[b, a], algorithm, ValueKind::Gauge).iter().map(|s| s.0).collect();
        prop_assert_eq!(ab, ba);
    }

    #[test]
    fn counters_never_drop(
        replicas in prop::collection::vec(counter_replica(), 1..5),
    ) {
        let out = run(&replicas, DedupAlgorithm::Penalty, ValueKind::Counter);
        prop_assert!(out.windows(2).all(|w| w[0].1 <= w[1].1), "{:?}", out);
    }

    #[test]
    fn chain_keeps_every_timestamp(
        replicas in prop::collection::vec(replica(), 0..5),
    ) {
        let times: Vec<i64> = replicas.iter().flatten().map(|s| s.0).collect::<BTreeSet<_>>().into_iter().collect();
        let out: Vec<i64> = run(&replicas, DedupAlgorithm::Chain, ValueKind::Gauge).iter().map(|s| s.0).collect();
        prop_assert_eq!(out, times);
    }
}
