//! Conformance of the PromQL engine against Prometheus 3.14's own test scripts.
//!
//! Runs every `../shared/promql-testdata/*.test` script (format: that directory's FORMAT.md)
//! through `promqltest::run` and prints `file: passed/total` per file plus the failing evals
//! (`file:line: expr: why`) when `CHORUS_PROMQL_VERBOSE` is set. Asserts only a floor on the
//! total number of passing evals, a little below what the engine reaches, so that regressions
//! show while the engine grows. When the directory is absent the test prints a note and
//! passes; set `CHORUS_PROMQL_TESTDATA` to point elsewhere.

mod common;

use chorus::promql::Engine;
use chorus::promqltest::run::run_file;

/// Passing evals over all scripts must not drop below this.
const FLOOR: usize = 1250;

#[test]
fn engine_passes_prometheus_test_scripts() {
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
    let verbose = std::env::var_os("CHORUS_PROMQL_VERBOSE").is_some();
    let engine = Engine::default();
    let (mut passed, mut total) = (0, 0);
    for file in &files {
        let report = run_file(&engine, file).unwrap_or_else(|e| panic!("{e}"));
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        println!(
            "{}: {}/{}",
            name.unwrap_or_default(),
            report.passed(),
            report.total
        );
        if verbose {
            for failure in &report.failures {
                println!("  {failure}");
            }
        }
        passed += report.passed();
        total += report.total;
    }
    println!("total: {passed}/{total}");
    assert!(
        passed >= FLOOR,
        "only {passed}/{total} evals pass, floor {FLOOR}"
    );
}
