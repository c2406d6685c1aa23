//! `chorus promql-test`: runs script files through the default [`Engine`], prints each failing
//! eval, a summary per file and a final `N passed, M failed` line, and judges the failures
//! against an optional baseline of expected ones.
//!
//! A baseline lists known failures as `file:line` (the script's basename and the `eval`'s
//! line), one per line, with `#` comments and blank lines ignored. With a baseline only
//! failures missing from it (regressions) fail the run; entries that now pass are reported so
//! they can be removed. [`run_command`] says whether the run succeeded; the binary maps that to an
//! exit code.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::FileError;
use super::run::{FileReport, run_file};
use crate::promql::Engine;

/// Errors of a conformance run.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// A script file is missing, unreadable or does not parse.
    #[error(transparent)]
    Script(#[from] FileError),
    /// The baseline file cannot be read.
    #[error("baseline {}: {source}", path.display())]
    BaselineRead {
        /// The baseline file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A baseline line is not `file:line`.
    #[error("baseline {}:{line}: expected `file:line`, got {text:?}", path.display())]
    BaselineSyntax {
        /// The baseline file.
        path: PathBuf,
        /// 1-based line in the baseline.
        line: usize,
        /// The offending text.
        text: String,
    },
    /// Writing the report or the baseline failed.
    #[error("cannot write {what}: {source}")]
    Write {
        /// What was being written.
        what: String,
        /// Why.
        source: io::Error,
    },
}

/// Identifies one eval: the script's basename and the 1-based line of its `eval`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvalId {
    /// The script's file name, without directories.
    pub file: String,
    /// 1-based line of the `eval`.
    pub line: usize,
}

impl fmt::Display for EvalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The set of evals expected to fail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// The expected failures.
    pub entries: BTreeSet<EvalId>,
}

impl Baseline {
    /// Parses baseline text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConformanceError> {
        let mut entries = BTreeSet::new();
        for (index, raw) in text.lines().enumerate() {
            let content = raw.split('#').next().unwrap_or_default().trim();
            if content.is_empty() {
                continue;
            }
            let id = content
                .rsplit_once(':')
                .and_then(|(file, line)| {
                    let line = line.parse::<usize>().ok().filter(|&l| l > 0)?;
                    (!file.is_empty() && !file.contains('/')).then(|| EvalId {
                        file: file.to_owned(),
                        line,
                    })
                })
                .ok_or_else(|| ConformanceError::BaselineSyntax {
                    path: path.to_owned(),
                    line: index + 1,
                    text: content.to_owned(),
                })?;
            entries.insert(id);
        }
        Ok(Self { entries })
    }

    /// Reads and parses a baseline file.
    pub fn read(path: &Path) -> Result<Self, ConformanceError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConformanceError::BaselineRead {
                path: path.to_owned(),
                source,
            })?;
        Self::parse(&text, path)
    }

    /// The baseline text for these failures, after a header explaining how to regenerate it.
    pub fn render(&self, header: &str) -> String {
        let mut text = String::new();
        for line in header.lines() {
            text.push('#');
            if !line.is_empty() {
                text.push(' ');
                text.push_str(line);
            }
            text.push('\n');
        }
        for id in &self.entries {
            text.push_str(&format!("{id}\n"));
        }
        text
    }
}

/// The reports of all scripts of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// One report per script, in the order given.
    pub reports: Vec<FileReport>,
}

impl Outcome {
    /// Evals that passed, over all scripts.
    pub fn passed(&self) -> usize {
        self.reports.iter().map(FileReport::passed).sum()
    }

    /// Evals that failed, over all scripts.
    pub fn failed(&self) -> usize {
        self.reports.iter().map(|r| r.failures.len()).sum()
    }

    /// The failing evals as baseline entries.
    pub fn failures(&self) -> Baseline {
        let entries = self
            .reports
            .iter()
            .flat_map(|r| {
                let file = basename(&r.file);
                r.failures.iter().map(move |f| EvalId {
                    file: file.clone(),
                    line: f.line,
                })
            })
            .collect();
        Baseline { entries }
    }

    /// The `N passed, M failed` summary line (without a newline).
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }
}

/// The file name of `path`, as baselines name scripts.
fn basename(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// How the failures compare with a baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Failures not in the baseline.
    pub regressions: Vec<EvalId>,
    /// Entries of the baseline, for the scripts run, that passed (or are no evals).
    pub fixed: Vec<EvalId>,
}

impl Verdict {
    /// Judges `outcome`: without a baseline every failure is a regression.
    pub fn new(outcome: &Outcome, baseline: Option<&Baseline>) -> Self {
        let failures = outcome.failures().entries;
        let Some(baseline) = baseline else {
            return Self {
                regressions: failures.into_iter().collect(),
                fixed: Vec::new(),
            };
        };
        // Entries of scripts not run say nothing.
        let run: BTreeSet<String> = outcome.reports.iter().map(|r| basename(&r.file)).collect();
        Self {
            regressions: failures.difference(&baseline.entries).cloned().collect(),
            fixed: baseline
                .entries
                .difference(&failures)
                .filter(|id| run.contains(id.file.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// Whether the run succeeds: no regressions.
    pub fn ok(&self) -> bool {
        self.regressions.is_empty()
    }
}

/// Runs `files` in order, writing one line per failing eval (`file:line: expr: why`) and a
/// `file: P passed, F failed` line per script to `out`. The final summary is left to the caller,
/// which may have baseline notes to print first.
pub fn run_files(
    engine: &Engine,
    files: &[PathBuf],
    out: &mut dyn Write,
) -> Result<Outcome, ConformanceError> {
    let mut outcome = Outcome::default();
    for file in files {
        let report = run_file(engine, file)?;
        let write = |out: &mut dyn Write| -> io::Result<()> {
            for failure in &report.failures {
                writeln!(out, "{failure}")?;
            }
            writeln!(
                out,
                "{}: {} passed, {} failed",
                file.display(),
                report.passed(),
                report.failures.len()
            )
        };
        write(out).map_err(|source| ConformanceError::Write {
            what: "the report".to_owned(),
            source,
        })?;
        outcome.reports.push(report);
    }
    Ok(outcome)
}

/// Writes the verdict's notes (fixed baseline entries, regressions when a baseline is used) and,
/// last, the `N passed, M failed` summary.
pub fn write_verdict(
    outcome: &Outcome,
    verdict: &Verdict,
    with_baseline: bool,
    out: &mut dyn Write,
) -> Result<(), ConformanceError> {
    let write = |out: &mut dyn Write| -> io::Result<()> {
        for id in &verdict.fixed {
            writeln!(out, "fixed, remove from baseline: {id}")?;
        }
        if with_baseline {
            for id in &verdict.regressions {
                writeln!(out, "regression (not in baseline): {id}")?;
            }
        }
        writeln!(out, "{}", outcome.summary())
    };
    write(out).map_err(|source| ConformanceError::Write {
        what: "the report".to_owned(),
        source,
    })
}

/// The header of a generated baseline: what it is and how to regenerate it.
pub const BASELINE_HEADER: &str = "\
Evals of Prometheus's PromQL test scripts that Chorus is known to fail, as `file:line`
(the script's basename, the line of its `eval`). Regressions fail `chorus promql-test
--baseline` and the promql_conformance test; entries that pass are reported for removal.
Regenerate from the workspace root after `cargo build -p chorus`:

  target/debug/chorus promql-test --write-baseline backend/tests/promql-baseline.txt \\
    ../shared/promql-testdata/*.test";

/// Runs `chorus promql-test`: the scripts of `args`, judged against its baseline if any, and
/// writes a new baseline if asked. Returns whether the run succeeded: no failure outside the
/// baseline (always, when a baseline is written).
pub fn run_command(
    args: &crate::cli::PromqlTestArgs,
    out: &mut dyn Write,
) -> Result<bool, ConformanceError> {
    let baseline = args.baseline.as_deref().map(Baseline::read).transpose()?;
    let outcome = run_files(&Engine::default(), &args.files, out)?;
    let verdict = Verdict::new(&outcome, baseline.as_ref());
    if let Some(path) = &args.write_baseline {
        let text = outcome.failures().render(BASELINE_HEADER);
        std::fs::write(path, text).map_err(|source| ConformanceError::Write {
            what: path.display().to_string(),
            source,
        })?;
    }
    write_verdict(&outcome, &verdict, baseline.is_some(), out)?;
    Ok(args.write_baseline.is_some() || verdict.ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "load 1m\n  m{a=\"b\"} 1 2 3\n\neval instant at 2m m\n  m{a=\"b\"} 3\n\neval instant at 2m m\n  m{a=\"b\"} 4\n";

    fn temp_script(name: &str) -> (PathBuf, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("chorus-conformance-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("small.test");
        std::fs::write(&path, SCRIPT).expect("write temp script");
        (dir, path)
    }

    #[test]
    fn run_reports_failures_and_summary_and_judges_baseline() {
        let (dir, path) = temp_script("run");
        let mut out = Vec::new();
        let outcome =
            run_files(&Engine::default(), std::slice::from_ref(&path), &mut out).expect("runs");
        assert_eq!((outcome.passed(), outcome.failed()), (1, 1));
        let no_baseline = Verdict::new(&outcome, None);
        assert!(!no_baseline.ok());
        write_verdict(&outcome, &no_baseline, false, &mut out).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with(&format!("{}:7: m: ", path.display())),
            "{text}"
        );
        assert_eq!(lines[1], format!("{}: 1 passed, 1 failed", path.display()));
        assert_eq!(lines[2], "1 passed, 1 failed");

        let id = |line| EvalId {
            file: "small.test".to_owned(),
            line,
        };
        let other = EvalId {
            file: "other.test".to_owned(),
            line: 3,
        };
        let covered = Baseline {
            entries: [id(7), id(4), other].into(),
        };
        let verdict = Verdict::new(&outcome, Some(&covered));
        assert!(verdict.ok());
        assert_eq!(verdict.fixed, [id(4)]);
        let mut out = Vec::new();
        write_verdict(&outcome, &verdict, true, &mut out).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "fixed, remove from baseline: small.test:4\n1 passed, 1 failed\n"
        );
        let stale = Baseline {
            entries: [id(4)].into(),
        };
        let verdict = Verdict::new(&outcome, Some(&stale));
        assert!(!verdict.ok());
        assert_eq!(verdict.regressions, [id(7)]);
        std::fs::remove_dir_all(&dir).expect("remove temp dir");
    }

    #[test]
    fn command_writes_and_honours_a_baseline() {
        let (dir, path) = temp_script("command");
        let baseline = dir.join("baseline.txt");
        let mut args = crate::cli::PromqlTestArgs {
            files: vec![path.clone()],
            baseline: None,
            write_baseline: None,
        };
        assert!(!run_command(&args, &mut Vec::new()).expect("runs"));
        args.write_baseline = Some(baseline.clone());
        assert!(run_command(&args, &mut Vec::new()).expect("runs"));
        let written = Baseline::read(&baseline).expect("written baseline parses");
        assert_eq!(
            written
                .entries
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["small.test:7"]
        );
        args.write_baseline = None;
        args.baseline = Some(baseline);
        let mut out = Vec::new();
        assert!(run_command(&args, &mut out).expect("runs"));
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text.lines().last(), Some("1 passed, 1 failed"));
        args.baseline = Some(dir.join("absent.txt"));
        let e = run_command(&args, &mut Vec::new()).expect_err("absent baseline");
        assert!(matches!(e, ConformanceError::BaselineRead { .. }), "{e}");
        std::fs::remove_dir_all(&dir).expect("remove temp dir");
    }

    #[test]
    fn missing_script_is_an_error() {
        let missing = std::env::temp_dir().join("chorus-conformance-absent/none.test");
        let e = run_files(&Engine::default(), &[missing], &mut Vec::new()).expect_err("missing");
        assert!(e.to_string().contains("none.test"), "{e}");
    }

    #[test]
    fn baseline_parses_comments_and_rejects_garbage() {
        let path = Path::new("b.txt");
        let b = Baseline::parse("# header\n\na.test:3\n b.test:10 # why\na.test:3\n", path)
            .expect("valid");
        let ids: Vec<String> = b.entries.iter().map(ToString::to_string).collect();
        assert_eq!(ids, ["a.test:3", "b.test:10"]);
        assert_eq!(
            Baseline::parse(&b.render("regenerate:\n\n  cmd"), path).expect("round trip"),
            b
        );
        assert!(b.render("x").starts_with("# x\na.test:3\n"));
        for bad in ["a.test", "a.test:x", ":3", "a.test:0", "dir/a.test:3"] {
            let e = Baseline::parse(&format!("# ok\n{bad}\n"), path).expect_err(bad);
            assert!(e.to_string().starts_with("baseline b.txt:2:"), "{e}");
        }
    }
}
