//! Conformance of the PromQL parser against Prometheus 3.14's own test scripts.
//!
//! Reads every `eval ... <expr>` command of `../shared/promql-testdata/*.test` (the format is
//! described in that directory's FORMAT.md) and parses the expression. Prometheus parses every
//! one of them before evaluating, so each should parse, except those whose command expects a
//! failure (`expect fail`, `eval_fail`): those are counted apart, and a parse error there is fine.
//! Every parsed expression must also print back to PromQL that parses to the same printout, in
//! one line and prettified.
//! Prints `file: parsed/total` per file and fails below a threshold fraction. When the directory
//! is absent (it lives outside the repository) the test prints a note and passes; set
//! `CHORUS_PROMQL_TESTDATA` to point elsewhere.

mod common;

use std::path::PathBuf;

use chorus::promql::parser::prettier::prettify_with;
use chorus::promql::parser::{Expr, parse};

/// Fraction of the expressions that must parse; just below what the parser achieves.
const THRESHOLD: f64 = 0.999;

/// One `eval` command: its expression and whether the script expects it to fail.
struct Eval {
    line: usize,
    expr: String,
    expect_fail: bool,
}

/// The expression of an `eval` line: after `at <time>` or `step <step>`.
fn eval_expression(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let skip = match words.first().copied()? {
        "eval" | "eval_fail" | "eval_warn" | "eval_info" | "eval_ordered" => {
            match words.get(1).copied()? {
                "instant" => 4, // eval instant at <time>
                "range" => 8,   // eval range from <start> to <end> step <step>
                _ => return None,
            }
        }
        _ => return None,
    };
    // Re-find the expression in the original line to keep its spacing.
    let mut rest = line.trim_start();
    for _ in 0..skip {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        rest = &rest[end..];
    }
    Some(rest.trim().to_owned())
}

fn evals(text: &str) -> Vec<Eval> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(expr) = eval_expression(line) else {
            continue;
        };
        let mut expect_fail = line.starts_with("eval_fail");
        for next in &lines[i + 1..] {
            let t = next.trim();
            if t.is_empty()
                || t.starts_with("eval")
                || t.starts_with("load")
                || t.starts_with("clear")
            {
                break;
            }
            expect_fail |= t.starts_with("expect fail");
        }
        out.push(Eval {
            line: i + 1,
            expr,
            expect_fail,
        });
    }
    out
}

#[test]
fn parses_prometheus_test_corpus() {
    let dir = common::promql_testdata_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!(
            "note: {} is absent; skipping the PromQL parser corpus test",
            dir.display()
        );
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());

    let (mut parsed, mut total, mut fail_total, mut fail_rejected) =
        (0usize, 0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    let mut round_trip_failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("test script is readable UTF-8");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (mut file_parsed, mut file_total) = (0, 0);
        for eval in evals(&text) {
            let result = parse(&eval.expr);
            if eval.expect_fail {
                fail_total += 1;
                fail_rejected += usize::from(result.is_err());
                continue;
            }
            file_total += 1;
            match result {
                Ok(expr) => {
                    file_parsed += 1;
                    if let Some(problem) = round_trip_problem(&expr) {
                        round_trip_failures.push(format!(
                            "{name}:{}: {}\n    {problem}",
                            eval.line, eval.expr
                        ));
                    }
                }
                Err(e) => failures.push(format!("{name}:{}: {}\n    {e}", eval.line, eval.expr)),
            }
        }
        println!("{name}: {file_parsed}/{file_total}");
        parsed += file_parsed;
        total += file_total;
    }
    for failure in &failures {
        println!("FAILED {failure}");
    }
    let fraction = parsed as f64 / total.max(1) as f64;
    println!(
        "total: {parsed}/{total} ({:.2}%); expect-fail evals: {fail_total}, of which {fail_rejected} rejected by the parser",
        fraction * 100.0
    );
    assert!(
        fraction >= THRESHOLD,
        "only {parsed}/{total} parsed ({:.2}%)",
        fraction * 100.0
    );
    assert!(
        round_trip_failures.is_empty(),
        "printing does not round-trip:\n{}",
        round_trip_failures.join("\n")
    );
}

/// Printing, reparsing and printing again must give the same text and type; so must the
/// prettifier's multi-line layout (at 20 characters a line, so that most expressions split).
fn round_trip_problem(expr: &Expr) -> Option<String> {
    let printed = expr.to_string();
    match parse(&printed) {
        Ok(again) if again.to_string() == printed && again.value_type() == expr.value_type() => {}
        Ok(again) => return Some(format!("printed {printed}, reprinted {again}")),
        Err(e) => return Some(format!("printed {printed}, which fails: {e}")),
    }
    let pretty = prettify_with(expr, 20);
    match parse(&pretty) {
        Ok(again) if again.to_string() == printed => None,
        Ok(again) => Some(format!("prettified {pretty:?}, reprinted {again}")),
        Err(e) => Some(format!("prettified {pretty:?}, which fails: {e}")),
    }
}

#[test]
fn extracts_expressions_and_expectations() {
    let script = "load 1m\n  m 1\n\neval instant at 1m sum(m)\n  expect fail\n\neval range from 0 to 1m step 30s  rate(m[1m]) \n  {} 0\n";
    let got = evals(script);
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].expr.as_str(), got[0].expect_fail), ("sum(m)", true));
    assert_eq!(
        (got[1].expr.as_str(), got[1].expect_fail),
        ("rate(m[1m])", false)
    );
}

/// Corpus expressions with a few characters deleted, duplicated, swapped or inserted: parsing
/// must not panic, and whatever still parses must round-trip through the printer.
#[test]
fn mutated_corpus_expressions_never_panic() {
    let dir = common::promql_testdata_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("note: {} is absent; skipping", dir.display());
        return;
    };
    let mut exprs = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        if let Ok(text) = std::fs::read_to_string(entry.path()) {
            exprs.extend(evals(&text).into_iter().map(|e| e.expr));
        }
    }
    // xorshift64: deterministic, so a failure reproduces.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound.max(1) as u64) as usize
    };
    const INSERTED: [char; 14] = [
        '(', ')', '[', ']', '{', '}', ':', ',', '@', '-', '+', ' ', '"', '`',
    ];
    let (mut mutants, mut parsed, mut problems) = (0usize, 0usize, Vec::new());
    for expr in &exprs {
        let original: Vec<char> = expr.chars().collect();
        for _ in 0..25 {
            let mut chars = original.clone();
            for _ in 0..=random(3) {
                if chars.is_empty() {
                    break;
                }
                let (i, j) = (random(chars.len()), random(chars.len()));
                match random(4) {
                    0 => {
                        chars.remove(i);
                    }
                    1 => chars.insert(i, chars[j]),
                    2 => chars.swap(i, j),
                    _ => chars.insert(i, INSERTED[random(INSERTED.len())]),
                }
            }
            let input: String = chars.into_iter().collect();
            mutants += 1;
            if let Ok(expr) = parse(&input) {
                parsed += 1;
                if let Some(problem) = round_trip_problem(&expr) {
                    problems.push(format!("{input:?}: {problem}"));
                }
            }
        }
    }
    println!(
        "mutants: {mutants}, still parsing: {parsed}, round-trip problems: {}",
        problems.len()
    );
    assert!(mutants > 0);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
