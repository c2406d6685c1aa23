//! The materialize/stream rules, over a set that counts how far it was pulled, and through the
//! evaluator over the lazy memory storage.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::promql::EngineConfig;
use crate::promql::eval::{Evaluator, QueryBounds};
use crate::promql::parser::{self, Expr, VectorSelector};
use crate::promql::storage::SampleValue;
use crate::promql::storage::memory::MemoryStorage;

fn labels(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "m".to_owned()), ("i", i.to_string())])
}

fn point(t_ms: i64, v: f64) -> Point {
    Point {
        t_ms,
        value: SampleValue::Float(v),
    }
}

/// `count` series of two samples each, then `error` if given; counts the series pulled.
fn counted_set(count: usize, error: Option<&str>, pulled: &Arc<AtomicUsize>) -> SeriesSet {
    let pulled = Arc::clone(pulled);
    let series = (0..count).map(move |i| {
        pulled.fetch_add(1, Ordering::SeqCst);
        Ok(StorageSeries {
            labels: labels(i),
            samples: Box::new([point(10, i as f64), point(20, i as f64)].into_iter()),
        })
    });
    let error = error.map(|e| Err(StorageError::Source(e.to_owned())));
    Box::new(series.chain(error))
}

fn is_internal(error: &EngineError) -> bool {
    matches!(error, EngineError::Runtime(m) if m.starts_with("internal error"))
}

#[test]
fn nothing_is_pulled_before_the_first_read_and_a_materialized_selector_reads_again() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let s = SelectorSeries::new(counted_set(3, None, &pulled), Reading::MayStream);
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "selecting reads nothing");
    let first = s.series().expect("reads");
    assert_eq!(first.len(), 3);
    assert_eq!(pulled.load(Ordering::SeqCst), 3);
    let again = s.series().expect("reads again");
    assert!(std::ptr::eq(first, again), "the same materialized series");
    let mut seen = Vec::new();
    s.each(|x| {
        seen.push(x.labels.clone());
        Ok(())
    })
    .expect("a materialized selector is iterated, not streamed");
    assert_eq!(seen, [labels(0), labels(1), labels(2)]);
    assert_eq!(pulled.load(Ordering::SeqCst), 3, "pulled once");
}

#[test]
fn streaming_pulls_one_series_at_a_time_and_forbids_a_second_read() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let s = SelectorSeries::new(counted_set(4, None, &pulled), Reading::MayStream);
    let mut at_each = Vec::new();
    s.each(|x| {
        at_each.push((x.labels.clone(), pulled.load(Ordering::SeqCst)));
        Ok(())
    })
    .expect("streams");
    let expected: Vec<(Labels, usize)> = (0..4).map(|i| (labels(i), i + 1)).collect();
    assert_eq!(
        at_each, expected,
        "each series pulled just before it is read"
    );
    let error = s.series().map(<[Selected]>::len).expect_err("streamed");
    assert!(is_internal(&error), "{error}");
    let error = s.each(|_| Ok(())).expect_err("streamed");
    assert!(is_internal(&error), "{error}");
}

#[test]
fn a_selector_under_a_subquery_is_materialized_by_a_once_only_reader() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let s = SelectorSeries::new(counted_set(2, None, &pulled), Reading::Materialize);
    let mut count = 0;
    s.each(|_| {
        count += 1;
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            2,
            "all pulled before the first"
        );
        Ok(())
    })
    .expect("reads");
    assert_eq!(count, 2);
    assert_eq!(s.series().expect("materialized").len(), 2);
    s.each(|_| Ok(())).expect("and again");
}

#[test]
fn a_storage_error_ends_the_read_and_is_returned_again() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let s = SelectorSeries::new(
        counted_set(2, Some("store down"), &pulled),
        Reading::MayStream,
    );
    let mut read = 0;
    let error = s
        .each(|_| {
            read += 1;
            Ok(())
        })
        .expect_err("fails");
    assert_eq!(read, 2, "the series before the error were read");
    assert_eq!(error.to_string(), "store down");
    assert!(matches!(error, EngineError::Storage(_)));
    let again = s.series().map(<[Selected]>::len).expect_err("fails again");
    assert_eq!(again.to_string(), "store down");

    let s = SelectorSeries::new(counted_set(1, Some("limit"), &pulled), Reading::MayStream);
    let error = s.series().map(<[Selected]>::len).expect_err("fails");
    assert_eq!(error.to_string(), "limit");
    let again = s.each(|_| Ok(())).expect_err("fails again");
    assert_eq!(again.to_string(), "limit");
}

#[test]
fn an_error_from_the_reader_stops_the_stream() {
    let pulled = Arc::new(AtomicUsize::new(0));
    let s = SelectorSeries::new(counted_set(5, None, &pulled), Reading::MayStream);
    let error = s
        .each(|x| {
            if x.labels == labels(1) {
                return Err(EngineError::Runtime("stop".into()));
            }
            Ok(())
        })
        .expect_err("stops");
    assert_eq!(error.to_string(), "stop");
    assert_eq!(
        pulled.load(Ordering::SeqCst),
        2,
        "nothing pulled after the error"
    );
}

#[test]
fn stale_markers_are_left_out_of_windows_as_each_series_arrives() {
    let stale = Point {
        t_ms: 20,
        value: SampleValue::Float(shared::series::stale_nan()),
    };
    let set: SeriesSet = Box::new(std::iter::once(Ok(StorageSeries {
        labels: labels(0),
        samples: Box::new([point(10, 1.0), stale, point(30, 3.0)].into_iter()),
    })));
    let s = SelectorSeries::new(set, Reading::MayStream);
    let mut windows = Vec::new();
    s.each(|x| {
        windows.push(x.window(0, 100));
        Ok(())
    })
    .expect("streams");
    assert_eq!(windows, [vec![point(10, 1.0), point(30, 3.0)]]);
}

/// The selectors of `expr` in the order written (through parentheses, subqueries, calls,
/// aggregations and binary operators only).
fn selectors(expr: &Expr) -> Vec<&VectorSelector> {
    match expr {
        Expr::VectorSelector(s) => vec![s],
        Expr::MatrixSelector(m) => vec![&m.selector],
        Expr::Subquery(sq) => selectors(&sq.expr),
        Expr::Paren(p) => selectors(&p.expr),
        Expr::Call(c) => c.args.iter().flat_map(selectors).collect(),
        Expr::Aggregate(a) => selectors(&a.expr),
        Expr::Binary(b) => {
            let mut all = selectors(&b.lhs);
            all.extend(selectors(&b.rhs));
            all
        }
        _ => Vec::new(),
    }
}

#[test]
fn the_evaluator_streams_plain_selectors_and_materializes_those_under_subqueries() {
    let mut storage = MemoryStorage::new();
    for i in 0..3 {
        for t in 0..10 {
            storage.append(&labels(i), point(t * 60_000, (i * 100) as f64 + t as f64));
        }
    }
    let expr = parser::parse("m + max_over_time(m[5m:1m])").expect("parses");
    let bounds = QueryBounds {
        start_ms: 0,
        end_ms: 540_000,
        step_ms: 60_000,
    };
    let ev = Evaluator::new(&EngineConfig::default(), &storage, &expr, bounds).expect("selects");
    let [plain, under_subquery] = selectors(&expr)[..] else {
        panic!("two selectors")
    };
    // A tiny series-wise range evaluation of the plain selector: the last value of each series.
    let mut last = Vec::new();
    ev.each_series(plain, |s| {
        last.push((s.labels.clone(), s.points.last().map(|p| p.value.clone())));
        Ok(())
    })
    .expect("streams");
    let expected: Vec<(Labels, Option<SampleValue>)> = (0..3)
        .map(|i| (labels(i), Some(SampleValue::Float((i * 100 + 9) as f64))))
        .collect();
    assert_eq!(last, expected);
    let error = ev
        .series(plain)
        .map(<[Selected]>::len)
        .expect_err("streamed");
    assert!(is_internal(&error), "{error}");
    let mut count = 0;
    ev.each_series(under_subquery, |_| {
        count += 1;
        Ok(())
    })
    .expect("materializes");
    assert_eq!(count, 3);
    assert_eq!(ev.series(under_subquery).expect("materialized").len(), 3);
}

/// Instant and range queries read plain selectors through the range evaluation, which streams
/// them: afterwards the selector's series are gone (a second read is the internal error), so
/// they were never all held at once. Nodes evaluated step by step (`topk` at one step, `sort`)
/// get their operands range-evaluated, so those stream too; a smoothed selector is read step by
/// step and materializes.
#[test]
fn instant_and_range_queries_stream_their_selectors() {
    let mut storage = MemoryStorage::new();
    for i in 0..3 {
        for t in 0..10 {
            storage.append(&labels(i), point(t * 60_000, (i * 100) as f64 + t as f64));
        }
    }
    let instant = QueryBounds {
        start_ms: 540_000,
        end_ms: 540_000,
        step_ms: 0,
    };
    let range = QueryBounds {
        start_ms: 0,
        end_ms: 540_000,
        step_ms: 60_000,
    };
    let cases = [
        ("m", instant, true),
        ("sum by (i) (rate(m[5m]))", instant, true),
        ("m * 2 > 300", instant, true),
        ("topk(2, m)", instant, true),
        ("sort(m)", instant, true),
        ("histogram_quantile(0.9, rate(m[5m]))", range, true),
        ("timestamp(m)", range, true),
        ("m smoothed", range, false),
        ("sum by (i) (rate(m[5m]))", range, true),
        ("max_over_time(m[3m])", range, true),
    ];
    for (query, bounds, streams) in cases {
        let expr = parser::parse(query).expect("parses");
        let ev =
            Evaluator::new(&EngineConfig::default(), &storage, &expr, bounds).expect("selects");
        if bounds.step_ms == 0 {
            ev.instant_result(&expr, bounds.start_ms)
                .expect("evaluates");
        } else {
            ev.range_result(&expr).expect("evaluates");
        }
        let selector = selectors(&expr)[0];
        match ev.series(selector) {
            Err(error) => assert!(streams && is_internal(&error), "{query}: {error}"),
            Ok(series) => assert!(!streams && series.len() == 3, "{query}: materialized"),
        }
    }
}
