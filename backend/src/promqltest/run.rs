//! The runner: executes a parsed script against the [`Engine`] over an in-memory store and
//! reports every eval that does not behave as the script expects (upstream
//! promql/promqltest/test.go `execEval`).
//!
//! `expect fail` passes when parsing or evaluation fails with a matching message, except that
//! "not implemented yet" errors always fail. Warnings and infos are checked against the
//! `expect warn|info|no_warn|no_info` lines ([`annotations`]). Start timestamps from `@st`
//! lines are loaded with their samples. `load_with_nhcb` also loads the classic histograms as
//! native histograms with custom buckets (see [`super::nhcb`]); when that conversion fails
//! (upstream fails the load), the evals until the next `clear` fail.

use std::fmt;
use std::path::{Path, PathBuf};

use super::annotations;
use super::compare::compare;
use super::nhcb;
use super::{Command, Eval, ExpectKind, FileError, Load, Query, Script, SequenceValue, parse_file};
use shared::histogram::{CounterResetHint, FloatHistogram};

use crate::promql::histogram::detect_reset;
use crate::promql::storage::memory::MemoryStorage;
use crate::promql::storage::{Point, SampleValue};
use crate::promql::value::Value;
use crate::promql::{Engine, EngineError};

/// Why one eval failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalFailureKind {
    /// The engine lacks something the eval needs.
    #[error("not implemented yet: {0}")]
    NotImplemented(String),
    /// The query failed but was not expected to.
    #[error("unexpected error: {0}")]
    UnexpectedError(String),
    /// The query succeeded but was expected to fail.
    #[error("expected the query to fail, got {0}")]
    ExpectedFailure(String),
    /// The query failed with a message no `expect fail` line accepts.
    #[error("error message {got:?} does not match the expected one")]
    WrongError {
        /// The error.
        got: String,
    },
    /// The result differs from the expected one.
    #[error("{0}")]
    Mismatch(String),
    /// The warnings or infos differ from the `expect` lines.
    #[error("annotations: {0}")]
    Annotations(String),
}

/// One eval that did not behave as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalFailure {
    /// The script file.
    pub file: PathBuf,
    /// 1-based line of the `eval`.
    pub line: usize,
    /// The expression.
    pub expr: String,
    /// What went wrong.
    pub kind: EvalFailureKind,
}

impl fmt::Display for EvalFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.expr,
            self.kind
        )
    }
}

/// The outcome of one script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The script file.
    pub file: PathBuf,
    /// How many evals it has.
    pub total: usize,
    /// The evals that failed, in file order.
    pub failures: Vec<EvalFailure>,
}

impl FileReport {
    /// How many evals passed.
    pub fn passed(&self) -> usize {
        self.total - self.failures.len()
    }
}

/// Parses and runs a script file.
pub fn run_file(engine: &Engine, path: &Path) -> Result<FileReport, FileError> {
    Ok(run_script(engine, &parse_file(path)?, path))
}

/// Runs a parsed script; `file` names it in the report.
pub fn run_script(engine: &Engine, script: &Script, file: &Path) -> FileReport {
    let mut storage = MemoryStorage::new();
    // A loaded feature the engine does not support yet: evals fail until the next `clear`.
    let mut unsupported: Option<&'static str> = None;
    // A load that failed: evals fail until the next `clear`.
    let mut load_error: Option<String> = None;
    let mut report = FileReport {
        file: file.to_owned(),
        total: 0,
        failures: Vec::new(),
    };
    for command in &script.commands {
        match command {
            Command::Load(load) => {
                append(&mut storage, load);
                if load.with_nhcb {
                    match nhcb::convert(load) {
                        Ok(series) => append_nhcb(&mut storage, series),
                        Err(e) => load_error = Some(format!("load_with_nhcb: {e}")),
                    }
                }
            }
            Command::Clear { .. } => {
                storage.clear();
                unsupported = None;
                load_error = None;
            }
            Command::Eval(eval) => {
                report.total += 1;
                let outcome = if let Some(feature) = unsupported {
                    Err(EvalFailureKind::NotImplemented(feature.into()))
                } else if let Some(e) = &load_error {
                    Err(EvalFailureKind::UnexpectedError(e.clone()))
                } else {
                    run_eval(engine, &storage, eval)
                };
                if let Err(kind) = outcome {
                    report.failures.push(EvalFailure {
                        file: file.to_owned(),
                        line: eval.line,
                        expr: eval.expr.clone(),
                        kind,
                    });
                }
            }
        }
    }
    report
}

/// Appends the loaded samples. Histograms get the counter-reset hint they have when
/// Prometheus's TSDB reads them back (see [`stored_hint`]).
fn append(storage: &mut MemoryStorage, load: &Load) {
    for series in &load.series {
        let mut previous: Option<FloatHistogram> = None;
        for sample in series.samples(load.interval_ms) {
            let value = match sample.value {
                SequenceValue::Float(f) => SampleValue::Float(*f),
                SequenceValue::Stale => SampleValue::Float(shared::series::stale_nan()),
                SequenceValue::Histogram(h) => {
                    let mut histogram = h.histogram.clone();
                    if !h.counter_reset_hint_set {
                        histogram.counter_reset_hint = CounterResetHint::Unknown;
                    }
                    histogram.counter_reset_hint = stored_hint(previous.as_ref(), &histogram);
                    SampleValue::Histogram(histogram)
                }
                SequenceValue::Missing => continue,
            };
            previous = match &value {
                SampleValue::Histogram(h) if !h.is_stale() => Some((**h).clone()),
                _ => None,
            };
            let point = Point {
                t_ms: sample.t_ms,
                value,
            };
            match sample.start_ms {
                Some(start_ms) => storage.append_with_start(&series.labels, point, start_ms),
                None => storage.append(&series.labels, point),
            }
        }
    }
}

/// The counter-reset hint a histogram (with the hint written for it, or unknown) has when read
/// back from Prometheus's TSDB after `previous` (upstream tsdb/chunkenc `appendable`,
/// `counterResetHint`): gauges stay gauges; a histogram that starts a chunk (the series' first,
/// one after a gauge or a stale marker, one written as a reset, one with another schema, zero
/// threshold or custom bounds, or one that went down) reads as unknown; any other reads as
/// "not reset".
fn stored_hint(previous: Option<&FloatHistogram>, h: &FloatHistogram) -> CounterResetHint {
    use CounterResetHint::{CounterReset, Gauge, NotCounterReset, Unknown};
    if h.counter_reset_hint == Gauge {
        return Gauge;
    }
    let Some(prev) = previous else {
        return Unknown;
    };
    let new_layout = h.schema != prev.schema
        || h.zero_threshold != prev.zero_threshold
        || h.custom_values != prev.custom_values;
    if prev.counter_reset_hint == Gauge || h.counter_reset_hint == CounterReset || new_layout {
        return Unknown;
    }
    let unknown = FloatHistogram {
        counter_reset_hint: Unknown,
        ..h.clone()
    };
    if detect_reset(prev, &unknown) {
        Unknown
    } else {
        NotCounterReset
    }
}

/// Appends converted classic histograms, with counter-reset hints as [`append`] gives them.
fn append_nhcb(storage: &mut MemoryStorage, series: Vec<nhcb::NhcbSeries>) {
    for s in series {
        let mut previous: Option<FloatHistogram> = None;
        for (t_ms, mut h) in s.samples {
            h.counter_reset_hint = stored_hint(previous.as_ref(), &h);
            previous = (!h.is_stale()).then(|| h.clone());
            let value = SampleValue::Histogram(Box::new(h));
            storage.append(&s.labels, Point { t_ms, value });
        }
    }
}

/// Runs one eval; `Err` says how it failed.
fn run_eval(engine: &Engine, storage: &MemoryStorage, eval: &Eval) -> Result<(), EvalFailureKind> {
    let result = match eval.query {
        Query::Instant { at_ms } => {
            let at_ms = eval.range_vector.map_or(at_ms, |r| r.end_ms);
            engine.instant(storage, &eval.expr, at_ms)
        }
        Query::Range {
            start_ms,
            end_ms,
            step_ms,
        } => engine
            .range(storage, &eval.expr, start_ms, end_ms, step_ms)
            .map(|r| r.map(Value::Matrix)),
    };
    match result {
        Err(EngineError::NotImplemented(what)) => Err(EvalFailureKind::NotImplemented(what)),
        Err(e) if eval.expects_failure() => {
            let message = e.to_string();
            let accepted = eval
                .expectations
                .iter()
                .filter(|x| x.kind == ExpectKind::Fail)
                .all(|x| x.message.matches(&message));
            if accepted {
                Ok(())
            } else {
                Err(EvalFailureKind::WrongError { got: message })
            }
        }
        Err(e) => Err(EvalFailureKind::UnexpectedError(e.to_string())),
        Ok(result) if eval.expects_failure() => Err(EvalFailureKind::ExpectedFailure(
            result.value.type_name().into(),
        )),
        Ok(result) => {
            compare(eval, &result.value).map_err(EvalFailureKind::Mismatch)?;
            annotations::check(eval, &result.warnings, &result.infos)
                .map_err(EvalFailureKind::Annotations)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promqltest::parse_script;

    fn run(text: &str) -> FileReport {
        let script = parse_script(text).expect("test script parses");
        run_script(&Engine::default(), &script, Path::new("inline.test"))
    }

    #[test]
    fn stored_hints_are_unknown_where_a_chunk_starts() {
        use CounterResetHint::{CounterReset, Gauge, NotCounterReset, Unknown};
        let h = |count: f64, hint| FloatHistogram {
            count,
            counter_reset_hint: hint,
            ..FloatHistogram::default()
        };
        assert_eq!(stored_hint(None, &h(1.0, Unknown)), Unknown);
        assert_eq!(
            stored_hint(Some(&h(1.0, Unknown)), &h(2.0, Unknown)),
            NotCounterReset
        );
        assert_eq!(
            stored_hint(Some(&h(2.0, Unknown)), &h(1.0, Unknown)),
            Unknown
        );
        assert_eq!(
            stored_hint(Some(&h(1.0, Unknown)), &h(2.0, CounterReset)),
            Unknown
        );
        assert_eq!(stored_hint(Some(&h(1.0, Gauge)), &h(2.0, Unknown)), Unknown);
        assert_eq!(stored_hint(Some(&h(1.0, Unknown)), &h(0.0, Gauge)), Gauge);
        let mut wider = h(2.0, Unknown);
        wider.zero_threshold = 1.0;
        assert_eq!(stored_hint(Some(&h(1.0, Unknown)), &wider), Unknown);
    }

    #[test]
    fn passing_and_failing_evals_are_counted_with_their_lines() {
        let report = run(concat!(
            "load 1m\n  m{a=\"x\"} 1 2 3\n\n",
            "eval instant at 2m m\n  m{a=\"x\"} 3\n\n",
            "eval instant at 2m m\n  m{a=\"x\"} 4\n\n",
            "eval range from 0 to 2m step 1m m * 2\n  {a=\"x\"} 2 4 6\n\n",
            "eval range from 0 to 2m step 1m m\n  m{a=\"x\"} 1 _ 3\n",
        ));
        assert_eq!((report.total, report.passed()), (4, 2));
        let lines: Vec<usize> = report.failures.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![7, 13]);
        assert!(matches!(
            report.failures[0].kind,
            EvalFailureKind::Mismatch(_)
        ));
        assert!(
            report.failures[0]
                .to_string()
                .starts_with("inline.test:7: m: expected")
        );
    }

    #[test]
    fn expected_failures_need_a_matching_message() {
        let report = run(concat!(
            "load 1m\n  m 1\n  n 1\n\n",
            "eval instant at 0 m{\n  expect fail\n\n",
            "eval instant at 0 1 + m\n  expect fail\n\n",
            "eval instant at 0 -{__name__=~\"m|n\"}\n",
            "  expect fail msg: vector cannot contain metrics with the same labelset\n\n",
            "eval instant at 0 m{\n  expect fail msg: something else\n\n",
            "eval instant at 0 m\n  expect warn\n  m 1\n",
        ));
        assert_eq!(report.total, 5);
        let kinds: Vec<&EvalFailureKind> = report.failures.iter().map(|f| &f.kind).collect();
        assert!(
            matches!(
                kinds[..],
                [
                    EvalFailureKind::ExpectedFailure(_),
                    EvalFailureKind::WrongError { .. },
                    EvalFailureKind::Annotations(_),
                ]
            ),
            "{kinds:?}"
        );
    }

    #[test]
    fn order_is_checked_only_when_expected() {
        let script = concat!(
            "load 1m\n  m{a=\"1\"} 2\n  m{a=\"2\"} 1\n\n",
            "eval instant at 0 topk(2, m)\n  EXPECT\n  m{a=\"2\"} 1\n  m{a=\"1\"} 2\n",
        );
        assert_eq!(run(&script.replace("  EXPECT\n", "")).passed(), 1);
        let ordered = run(&script.replace("EXPECT", "expect ordered"));
        assert_eq!(ordered.passed(), 0, "topk returns the largest first");
    }

    #[test]
    fn nhcb_loads_add_native_histograms_and_bad_ones_fail_evals_until_clear() {
        let report = run(concat!(
            "load_with_nhcb 1m\n  m_bucket{le=\"1\"} 1\n  m_bucket{le=\"+Inf\"} 3\n\n",
            "eval instant at 0 histogram_count(m)\n  {} 3\n\n",
            "eval instant at 0 m_bucket{le=\"1\"}\n  m_bucket{le=\"1\"} 1\n\n",
            "clear\n\nload_with_nhcb 1m\n  m_bucket{le=\"1\"} 4\n  m_bucket{le=\"+Inf\"} 3\n\n",
            "eval instant at 0 m_bucket\n  m_bucket{le=\"1\"} 4\n  m_bucket{le=\"+Inf\"} 3\n\n",
            "clear\n\nload 1m\n  m 1\n\n",
            "eval instant at 0 m\n  m 1\n",
        ));
        assert_eq!(report.total, 4);
        let kinds: Vec<&EvalFailureKind> = report.failures.iter().map(|f| &f.kind).collect();
        assert!(
            matches!(kinds[..], [EvalFailureKind::UnexpectedError(e)] if e.contains("not cumulative")),
            "{kinds:?}"
        );
    }
}
