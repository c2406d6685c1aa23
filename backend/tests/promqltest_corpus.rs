//! Conformance of the test-script parser against Prometheus 3.14's own scripts.
//!
//! Parses every `../shared/promql-testdata/*.test` file completely with
//! [`chorus::promqltest::parse_file`] (set `CHORUS_PROMQL_TESTDATA` to point elsewhere; when the
//! directory is absent the tests print a note and pass). Each file must parse, and its command
//! counts must agree with a plain count of the lines that start a command. Prints per-file
//! counts of loads, loaded series, evals and expected series. A second test mutates the
//! scripts line by line and checks that parsing never panics.

mod common;

use std::path::PathBuf;

use chorus::promqltest::{Command, Expected, Query, SequenceValue, parse_file, parse_script};

fn test_files() -> Option<Vec<PathBuf>> {
    let dir = common::promql_testdata_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!(
            "note: {} is absent; skipping the promqltest corpus test",
            dir.display()
        );
        return None;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    Some(files)
}

/// Per-file figures.
#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    loads: usize,
    series: usize,
    samples: usize,
    clears: usize,
    instant: usize,
    range: usize,
    expect_lines: usize,
    expected_series: usize,
    histograms: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.loads += o.loads;
        self.series += o.series;
        self.samples += o.samples;
        self.clears += o.clears;
        self.instant += o.instant;
        self.range += o.range;
        self.expect_lines += o.expect_lines;
        self.expected_series += o.expected_series;
        self.histograms += o.histograms;
    }
}

fn count(commands: &[Command]) -> Counts {
    let mut c = Counts::default();
    for command in commands {
        match command {
            Command::Load(load) => {
                c.loads += 1;
                c.series += load.series.len();
                for series in &load.series {
                    for sample in series.samples(load.interval_ms) {
                        c.samples += 1;
                        c.histograms +=
                            usize::from(matches!(sample.value, SequenceValue::Histogram(_)));
                    }
                }
            }
            Command::Clear { .. } => c.clears += 1,
            Command::Eval(eval) => {
                match eval.query {
                    Query::Instant { .. } => c.instant += 1,
                    Query::Range { .. } => c.range += 1,
                }
                c.expect_lines += eval.expectations.len();
                if let Expected::Series(series) = &eval.expected {
                    c.expected_series += series.len();
                }
            }
        }
    }
    c
}

/// Commands counted from the raw text: lines whose first word starts a command.
fn naive_counts(text: &str) -> (usize, usize, usize) {
    let (mut loads, mut evals, mut clears) = (0, 0, 0);
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        loads += usize::from(first.starts_with("load"));
        evals += usize::from(first.starts_with("eval"));
        clears += usize::from(first == "clear");
    }
    (loads, evals, clears)
}

#[test]
fn parses_every_prometheus_test_script() {
    let Some(files) = test_files() else { return };
    let mut total = Counts::default();
    let mut failures = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let script = match parse_file(path) {
            Ok(script) => script,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        let text = std::fs::read_to_string(path).expect("readable script");
        let c = count(&script.commands);
        assert_eq!(
            naive_counts(&text),
            (c.loads, c.instant + c.range, c.clears),
            "{name}: command counts differ from the line scan"
        );
        for command in &script.commands {
            if let Command::Eval(eval) = command {
                let line = text.lines().nth(eval.line - 1).expect("eval line exists");
                assert_eq!(
                    &line[eval.expr_column - 1..].trim_end(),
                    &eval.expr,
                    "{name}:{}",
                    eval.line
                );
            }
        }
        println!(
            "{name}: {} loads ({} series, {} samples, {} histograms), {} clears, {} evals ({} instant, {} range), {} expectations, {} expected series",
            c.loads,
            c.series,
            c.samples,
            c.histograms,
            c.clears,
            c.instant + c.range,
            c.instant,
            c.range,
            c.expect_lines,
            c.expected_series
        );
        total += c;
    }
    println!("total over {} files: {total:?}", files.len());
    assert!(
        failures.is_empty(),
        "scripts that do not parse:\n{}",
        failures.join("\n")
    );
    assert!(total.loads > 0 && total.instant > 0 && total.range > 0 && total.histograms > 0);
}

/// Each script with lines deleted, duplicated, swapped or cut short: parsing must not panic,
/// and a parse error must name a line of the mutated script.
#[test]
fn mutated_scripts_never_panic() {
    let Some(files) = test_files() else { return };
    // xorshift64: deterministic, so a failure reproduces.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut random = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound.max(1) as u64) as usize
    };
    let (mut mutants, mut parsed) = (0usize, 0usize);
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable script");
        let original: Vec<&str> = text.lines().collect();
        for _ in 0..40 {
            let mut lines: Vec<String> = original.iter().map(|l| (*l).to_owned()).collect();
            for _ in 0..=random(4) {
                let (i, j) = (random(lines.len()), random(lines.len()));
                match random(4) {
                    0 => {
                        lines.remove(i);
                    }
                    1 => lines.insert(i, lines[j].clone()),
                    2 => lines.swap(i, j),
                    _ => {
                        let line = &mut lines[i];
                        let mut cut = random(line.len() + 1);
                        while !line.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        line.truncate(cut);
                    }
                }
                if lines.is_empty() {
                    break;
                }
            }
            let mutated = lines.join("\n");
            mutants += 1;
            match parse_script(&mutated) {
                Ok(_) => parsed += 1,
                Err(e) => assert!((1..=lines.len().max(1)).contains(&e.line), "{e}"),
            }
        }
    }
    println!("mutated scripts: {mutants}, still parsing: {parsed}");
    assert!(parsed < mutants, "no mutation was rejected");
}
