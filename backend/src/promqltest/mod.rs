//! The PromQL test-script language of Prometheus (`promql/promqltest`): text to typed commands.
//!
//! A script is a list of commands: `load <interval>` (and `load_with_nhcb`) with series lines,
//! `clear`, and `eval instant at <time> <expr>` / `eval range from <start> to <end> step <step>
//! <expr>` with `expect` lines and expected results. The language is specified in
//! `../shared/promql-testdata/FORMAT.md` (upstream README.md); the parsing rules mirror
//! Prometheus 3.14 `promql/promqltest/test.go`.
//!
//! ```
//! use chorus::promqltest::{parse_script, Command, Query, SequenceValue};
//!
//! let script = parse_script("load 1m\n  m{a=\"b\"} 1+1x2 _ stale\n\neval instant at 2m m\n  m{a=\"b\"} 3\n").unwrap();
//! let Command::Load(load) = &script.commands[0] else { panic!() };
//! let samples: Vec<_> = load.series[0].samples(load.interval_ms).map(|s| s.t_ms).collect();
//! assert_eq!(samples, vec![0, 60_000, 120_000, 240_000]);
//! let Command::Eval(eval) = &script.commands[1] else { panic!() };
//! assert_eq!((eval.line, eval.expr.as_str(), eval.query), (4, "m", Query::Instant { at_ms: 120_000 }));
//! ```
//!
//! # Layout
//! - [`parse`]: lines to commands and [`ScriptError`]; `load` and `eval` parse the commands'
//!   bodies (series and `@st` lines; headers, `expect` lines and expected results).
//! - [`series`]: series descriptions (`metric{l="v"} 1+2x3 _ stale`) to labels and values;
//!   `histogram`: the `{{...}}` native histograms within them.
//!
//! - [`run`]: runs scripts through the PromQL engine over an in-memory store and reports
//!   failing evals; `compare` checks results as upstream's runner does.
//! - [`conformance`]: `chorus promql-test`: runs files, prints reports, compares failures with a
//!   baseline of expected ones.
//!
//! Expressions are kept as text (with their position) and not parsed here: a script whose
//! `expect fail` is about a parse error must still load. Only the runner knows the engine
//! and storage.

mod annotations;
mod compare;
pub mod conformance;
mod eval;
mod histogram;
mod load;
mod nhcb;
pub mod parse;
pub mod run;
pub mod series;

use std::path::{Path, PathBuf};

use regex::Regex;
use shared::labels::Labels;

pub use parse::{ScriptError, ScriptErrorKind, parse_duration_ms, parse_script};
pub use series::{
    HistogramValue, SequenceValue, SeriesDescription, SeriesError, SeriesErrorKind, parse_series,
};

/// A parsed script.
#[derive(Debug, Clone)]
pub struct Script {
    /// The commands in file order.
    pub commands: Vec<Command>,
}

/// One command of a script.
#[derive(Debug, Clone)]
pub enum Command {
    /// `load`: add series.
    Load(Load),
    /// `clear`: drop everything loaded; the 1-based line of the command.
    Clear {
        /// 1-based line of `clear`.
        line: usize,
    },
    /// `eval`: run a query and check the result.
    Eval(Eval),
}

/// `load <interval>` or `load_with_nhcb <interval>` and its series lines.
#[derive(Debug, Clone)]
pub struct Load {
    /// 1-based line of the command.
    pub line: usize,
    /// Milliseconds between consecutive values of a series; position `i` is at `i * interval_ms`.
    pub interval_ms: i64,
    /// `load_with_nhcb`: also load classic histogram series as native histograms with custom
    /// buckets.
    pub with_nhcb: bool,
    /// The series, in file order.
    pub series: Vec<LoadSeries>,
}

/// One series line of a `load`.
#[derive(Debug, Clone)]
pub struct LoadSeries {
    /// 1-based line of the series.
    pub line: usize,
    /// Its labels.
    pub labels: Labels,
    /// Its values; the parser has checked that the last timestamp fits an `i64`.
    pub values: Vec<SequenceValue>,
    /// Start timestamps from a preceding `metric@st <offsets>` line, one per value: the offset
    /// in ms from the sample's own timestamp, `None` where omitted (`_`).
    pub start_offsets_ms: Option<Vec<Option<i64>>>,
}

/// A sample to load: a present value (not [`SequenceValue::Missing`]) with its timestamp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadedSample<'a> {
    /// Milliseconds since the epoch (scripts start at 0).
    pub t_ms: i64,
    /// The value: a float, a histogram or a stale marker.
    pub value: &'a SequenceValue,
    /// The start timestamp (absolute ms), when an `@st` line gave one.
    pub start_ms: Option<i64>,
}

impl LoadSeries {
    /// The present samples with timestamps `i * interval_ms`, skipping missing positions.
    pub fn samples(&self, interval_ms: i64) -> impl Iterator<Item = LoadedSample<'_>> + '_ {
        self.values
            .iter()
            .enumerate()
            .filter_map(move |(i, value)| {
                if *value == SequenceValue::Missing {
                    return None;
                }
                let t_ms = i64::try_from(i).ok()?.checked_mul(interval_ms)?;
                let offset = self
                    .start_offsets_ms
                    .as_ref()
                    .and_then(|o| o.get(i).copied().flatten());
                Some(LoadedSample {
                    t_ms,
                    value,
                    start_ms: offset.and_then(|o| t_ms.checked_add(o)),
                })
            })
    }
}

/// `eval ...`: a query, the expectations and the expected result.
#[derive(Debug, Clone)]
pub struct Eval {
    /// 1-based line of the command (the runner reports `file:line`).
    pub line: usize,
    /// The PromQL expression, as written.
    pub expr: String,
    /// 1-based byte column of `expr` within its line, to place expression parse errors.
    pub expr_column: usize,
    /// Instant or range query, and when.
    pub query: Query,
    /// `expect` lines, and the expectations implied by the deprecated `eval_fail`, `eval_warn`,
    /// `eval_info`, `eval_ordered` and `expected_fail_message`/`expected_fail_regexp`.
    pub expectations: Vec<Expectation>,
    /// `expect range vector from <start> to <end> step <step>` of an instant query: the result
    /// is a range vector with these timestamps (upstream then evaluates at `end`).
    pub range_vector: Option<RangeVectorExpectation>,
    /// What the query should return.
    pub expected: Expected,
}

impl Eval {
    /// Whether the query is expected to fail (`expect fail` or `eval_fail`).
    pub fn expects_failure(&self) -> bool {
        self.expectations.iter().any(|e| e.kind == ExpectKind::Fail)
    }

    /// Whether the result order matters (`expect ordered` or `eval_ordered`).
    pub fn expects_order(&self) -> bool {
        self.expectations
            .iter()
            .any(|e| e.kind == ExpectKind::Ordered)
    }
}

/// When a query runs, in ms since the epoch (scripts start at 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// `eval instant at <time>`.
    Instant {
        /// Evaluation time.
        at_ms: i64,
    },
    /// `eval range from <start> to <end> step <step>`; `start_ms <= end_ms`.
    Range {
        /// First step.
        start_ms: i64,
        /// Last step (inclusive).
        end_ms: i64,
        /// Step width.
        step_ms: i64,
    },
}

/// One expectation about errors, annotations or ordering.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// 1-based line it came from (the `eval_*` line for the deprecated variants).
    pub line: usize,
    /// What is expected.
    pub kind: ExpectKind,
    /// Which messages satisfy it.
    pub message: MessageMatch,
}

/// The `<type>` of `expect <type>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectKind {
    /// The query fails.
    Fail,
    /// At least one warning annotation.
    Warn,
    /// No warning annotation.
    NoWarn,
    /// At least one info annotation.
    Info,
    /// No info annotation.
    NoInfo,
    /// The result is in the order given.
    Ordered,
}

/// How an expectation matches a message (`msg:`, `regex:` or neither).
#[derive(Debug, Clone)]
pub enum MessageMatch {
    /// Any message.
    Any,
    /// Exactly this message (`msg:`, `expected_fail_message`).
    Exact(String),
    /// A regex search, unanchored as Go's `MatchString` (`regex:`, `expected_fail_regexp`).
    Regex(Regex),
}

impl MessageMatch {
    /// Whether `message` satisfies this matcher.
    pub fn matches(&self, message: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(expected) => expected == message,
            Self::Regex(regex) => regex.is_match(message),
        }
    }
}

/// `expect range vector from <start> to <end> step <step>`, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeVectorExpectation {
    /// 1-based line.
    pub line: usize,
    /// First timestamp.
    pub start_ms: i64,
    /// Last timestamp; `start_ms <= end_ms`.
    pub end_ms: i64,
    /// Distance between timestamps.
    pub step_ms: i64,
}

/// The expected result of an eval.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Series with values (possibly none: an empty result).
    Series(Vec<ExpectedSeries>),
    /// A bare number line: a scalar result.
    Scalar {
        /// 1-based line.
        line: usize,
        /// The value.
        value: f64,
    },
    /// `expect string "..."`: a string result.
    String {
        /// 1-based line.
        line: usize,
        /// The unquoted string.
        value: String,
    },
}

/// One expected series: labels and values (one per step of a range query).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSeries {
    /// 1-based line.
    pub line: usize,
    /// The labels.
    pub labels: Labels,
    /// The values by step; [`SequenceValue::Missing`] where the step has no value.
    pub values: Vec<SequenceValue>,
}

/// A script file that cannot be read or parsed; displays as `file:line: message`.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not parse.
    #[error("{}:{}: {}", path.display(), source.line, source.kind)]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why, with the line.
        source: ScriptError,
    },
}

/// Reads and parses a script file.
pub fn parse_file(path: &Path) -> Result<Script, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_script(&text).map_err(|source| FileError::Parse {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_name_file_and_line() {
        let dir = std::env::temp_dir().join(format!("chorus-promqltest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("bad.test");
        std::fs::write(&path, "load 1m\n  m 1 ?\n").expect("write temp file");
        let e = parse_file(&path).expect_err("bad script");
        assert!(
            e.to_string()
                .starts_with(&format!("{}:2: invalid series", path.display())),
            "{e}"
        );
        std::fs::write(&path, "clear\n").expect("write temp file");
        assert!(matches!(
            &parse_file(&path).expect("good script").commands[..],
            [Command::Clear { line: 1 }]
        ));
        std::fs::remove_dir_all(&dir).expect("remove temp dir");
        let e = parse_file(&dir.join("absent.test")).expect_err("absent file");
        assert!(matches!(e, FileError::Read { .. }) && e.to_string().contains("absent.test"));
    }

    #[test]
    fn samples_skip_missing_values_and_carry_start_timestamps() {
        let series = LoadSeries {
            line: 2,
            labels: Labels::empty(),
            values: vec![
                SequenceValue::Stale,
                SequenceValue::Missing,
                SequenceValue::Float(1.0),
            ],
            start_offsets_ms: Some(vec![Some(-5), None, Some(-10)]),
        };
        let samples: Vec<LoadedSample<'_>> = series.samples(1000).collect();
        assert_eq!(
            samples,
            vec![
                LoadedSample {
                    t_ms: 0,
                    value: &SequenceValue::Stale,
                    start_ms: Some(-5)
                },
                LoadedSample {
                    t_ms: 2000,
                    value: &SequenceValue::Float(1.0),
                    start_ms: Some(1990)
                },
            ]
        );
    }
}
