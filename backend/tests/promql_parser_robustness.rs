//! Robustness of the PromQL parser through its public API: no input makes it panic or
//! overflow the stack, whatever parses prints back to PromQL that parses again, and the
//! experimental features can be switched off as Prometheus's feature flags do.

use chorus::promql::parser::{ParseOptions, parse, parse_with};
use proptest::prelude::*;

#[test]
fn options_gate_experimental_features() {
    let stable = ParseOptions::stable_only();
    let err = |s: &str| parse_with(s, stable).expect_err(s).message;
    assert_eq!(
        err("sort_by_label(x, \"a\")"),
        "function \"sort_by_label\" is not enabled"
    );
    assert_eq!(
        err("limitk(1, x)"),
        "limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions"
    );
    assert_eq!(
        err("x[5m+1m]"),
        "experimental duration expression is not enabled"
    );
    assert_eq!(
        err("x[1m] anchored"),
        "anchored modifier is experimental and not enabled"
    );
    assert_eq!(
        err("a + fill(0) b"),
        "binop fill modifiers are experimental and not enabled"
    );
    assert!(parse_with("rate(x[5m] offset 1m) > bool 1", stable).is_ok());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let nested = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(100)).is_ok());
    let chain = |n: usize, op: &str| vec!["x"; n].join(op);
    // Long operator chains are common in generated queries; they print and check fine.
    let long = parse(&chain(450, " or ")).unwrap();
    assert_eq!(
        parse(&long.to_string()).unwrap().to_string(),
        long.to_string()
    );
    let too_deep = [
        nested(100_000),
        chain(100_000, " + "),
        chain(100_000, "^"),
        format!("{}x", "-".repeat(100_000)),
        format!("x{}", "[1m:]".repeat(100_000)),
        format!("x[{}1m{}]", "(".repeat(100_000), ")".repeat(100_000)),
        format!("x[{}]", vec!["1m"; 100_000].join("+")),
    ];
    for input in too_deep {
        let err = parse(&input).expect_err("too deep");
        assert!(
            err.message.starts_with("expression nested too deeply"),
            "{}",
            err.message
        );
    }
}

/// Pieces of valid PromQL, glued at random, exercise the error paths.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "sum",
        "by",
        "(",
        ")",
        "job",
        "rate",
        "x",
        "{",
        "}",
        "a=\"b\"",
        ",",
        "[",
        "]",
        "5m",
        ":",
        "1m",
        "offset",
        "@",
        "start()",
        "-",
        "+",
        "*",
        "^",
        "/",
        "and",
        "on",
        "group_left",
        "bool",
        ">",
        "1",
        "\"s\"",
        "anchored",
        "step()",
        "min_of",
        "fill",
        "topk",
        "#c\n",
        " ",
        "=~",
        "'.*'",
        "0x1f",
        "</",
        "ignoring",
        "without",
        "NaN",
        "`r`",
        "count_values",
        "info",
        "end()",
        "smoothed",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(input in "\\PC{0,40}") {
        let _ = parse(&input);
    }

    #[test]
    fn never_panics_on_fragments(parts in prop::collection::vec(fragment(), 0..14)) {
        let input = parts.join("");
        if let Ok(expr) = parse(&input) {
            // What parses also prints back to something that parses to the same printout.
            let printed = expr.to_string();
            let again = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
            prop_assert_eq!(again.to_string(), printed);
        } else {
            let err = parse(&input).expect_err("failed above");
            prop_assert!(err.span.start <= input.len());
            prop_assert!(err.line >= 1 && err.column >= 1);
        }
    }
}
