//! Conformance of the PromQL engine against Prometheus 3.14's own test scripts.
//!
//! Runs every `../shared/promql-testdata/*.test` script (format: that directory's FORMAT.md)
//! through `promqltest::conformance` exactly as `chorus promql-test --baseline` does, and fails
//! on any failing eval that `tests/promql-baseline.txt` does not list (a regression). Baseline
//! entries that now pass are printed ("fixed, remove from baseline"), without failing. Set
//! `CHORUS_PROMQL_VERBOSE` to print every failing eval. When the directory is absent the test
//! prints a note and passes; set `CHORUS_PROMQL_TESTDATA` to point elsewhere.

mod common;

use std::path::Path;

use chorus::promql::Engine;
use chorus::promqltest::conformance::{Baseline, Verdict, run_files, write_verdict};

#[test]
fn engine_fails_no_eval_outside_the_baseline() {
    let dir = common::promql_testdata_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("no PromQL test data at {}: skipped", dir.display());
        return;
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    let baseline_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promql-baseline.txt");
    let baseline = Baseline::read(&baseline_path).unwrap_or_else(|e| panic!("{e}"));

    // The failing evals (`file:line: expr: why`) and per-file summaries, as the command prints.
    let mut failures = Vec::new();
    let outcome =
        run_files(&Engine::default(), &files, &mut failures).unwrap_or_else(|e| panic!("{e}"));
    if std::env::var_os("CHORUS_PROMQL_VERBOSE").is_some() {
        print!("{}", String::from_utf8_lossy(&failures));
    }
    let verdict = Verdict::new(&outcome, Some(&baseline));
    let mut notes = Vec::new();
    write_verdict(&outcome, &verdict, true, &mut notes).unwrap_or_else(|e| panic!("{e}"));
    print!("{}", String::from_utf8_lossy(&notes));
    assert!(
        verdict.ok(),
        "{} evals fail that {} does not list: {}",
        verdict.regressions.len(),
        baseline_path.display(),
        verdict
            .regressions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Chorus's own scripts (`tests/promql/*.test`) must pass in full: they have no baseline.
#[test]
fn project_scripts_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promql");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    let mut report = Vec::new();
    let outcome =
        run_files(&Engine::default(), &files, &mut report).unwrap_or_else(|e| panic!("{e}"));
    let report = String::from_utf8_lossy(&report);
    print!("{report}");
    assert!(outcome.passed() > 0, "no evals ran");
    assert_eq!(outcome.failed(), 0, "{report}");
}
