//! Checks a query's warnings and infos against an eval's `expect warn|info|no_warn|no_info`
//! lines (promqltest FORMAT.md "expect Syntax"; upstream promql/promqltest/test.go).
//!
//! Rules: without any line of a severity its annotations are not checked; `no_warn`/`no_info`
//! require none; each `warn`/`info` line must match at least one annotation of its severity
//! and, once such lines exist, every annotation of that severity must match one of them.

use super::{Eval, ExpectKind};

/// `Err` says which expectation the annotations break.
pub(super) fn check(eval: &Eval, warnings: &[String], infos: &[String]) -> Result<(), String> {
    severity(
        eval,
        ExpectKind::Warn,
        ExpectKind::NoWarn,
        "warning",
        warnings,
    )?;
    severity(eval, ExpectKind::Info, ExpectKind::NoInfo, "info", infos)
}

fn severity(
    eval: &Eval,
    some: ExpectKind,
    none: ExpectKind,
    name: &str,
    got: &[String],
) -> Result<(), String> {
    if eval.expectations.iter().any(|e| e.kind == none) && !got.is_empty() {
        return Err(format!("expected no {name} annotation, got {got:?}"));
    }
    let lines: Vec<_> = eval
        .expectations
        .iter()
        .filter(|e| e.kind == some)
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    if got.is_empty() {
        return Err(format!("expected a {name} annotation, got none"));
    }
    if let Some(line) = lines
        .iter()
        .find(|l| !got.iter().any(|a| l.message.matches(a)))
    {
        return Err(format!(
            "no {name} annotation matches the expectation on line {}; got {got:?}",
            line.line
        ));
    }
    if let Some(extra) = got
        .iter()
        .find(|a| !lines.iter().any(|l| l.message.matches(a)))
    {
        return Err(format!("unexpected {name} annotation {extra:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promqltest::{Command, parse_script};

    fn eval(expect: &str) -> Eval {
        let script =
            parse_script(&format!("eval instant at 0m 1\n{expect}  1\n")).expect("script parses");
        match script.commands.into_iter().next() {
            Some(Command::Eval(e)) => e,
            other => panic!("expected an eval, got {other:?}"),
        }
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn unchecked_without_lines_and_no_warn_forbids_any() {
        let w = strings(&["PromQL warning: x (1:1)"]);
        assert!(check(&eval(""), &w, &w).is_ok());
        assert!(check(&eval("  expect no_warn\n"), &w, &[]).is_err());
        assert!(check(&eval("  expect no_warn\n"), &[], &w).is_ok());
        assert!(check(&eval("  expect no_info\n"), &[], &w).is_err());
    }

    #[test]
    fn each_line_needs_an_annotation_and_each_annotation_a_line() {
        let w = strings(&["PromQL warning: a (1:1)", "PromQL warning: b (1:3)"]);
        assert!(check(&eval("  expect warn\n"), &w, &[]).is_ok());
        assert!(check(&eval("  expect warn\n"), &[], &[]).is_err());
        let exact_a = "  expect warn msg: PromQL warning: a (1:1)\n";
        assert!(check(&eval(exact_a), &w, &[]).is_err(), "b matches no line");
        let both = format!("{exact_a}  expect warn regex: b \\(1:3\\)\n");
        assert!(check(&eval(&both), &w, &[]).is_ok());
        let wrong = "  expect info msg: PromQL info: c (1:1)\n";
        assert!(check(&eval(wrong), &[], &strings(&["PromQL info: d (1:1)"])).is_err());
    }
}
