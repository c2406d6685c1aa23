//! Formats a tree as multi-line PromQL for people, as Prometheus's `promql/parser/prettier.go`
//! (`Prettify`) does for `/api/v1/format_query` and the console's "format" button.
//!
//! The rules, node by node (a node "fits" when its one-line printout is at most the line
//! length, [`MAX_LINE_LENGTH`] unless told otherwise):
//! - A node that fits prints on one line, indented two spaces per level.
//! - An aggregation or call that does not fit prints its head and `(` on the first line, its
//!   arguments one level deeper separated by `,` and a line break, and `)` on a line of its own.
//! - A parenthesised expression likewise puts its inner expression on the lines between `(`
//!   and `)`.
//! - A binary expression puts its operands one level deeper than the operator (with its
//!   `bool`, matching and fill modifiers), which sits alone on the line between them.
//! - A unary expression prints its operator, then its operand at the same level.
//! - A subquery prints its inner expression, then its `[range:step]` and modifiers on the
//!   inner expression's last line. Like upstream, a subquery that fits is not indented.
//! - Selectors and literals always print on one line.
//!
//! This module only lays out text; the one-line forms come from the printer.

use super::ast::Expr;
use super::printer::{AggregateHead, BinaryOperator, SubquerySuffix};

/// The longest line Prometheus's prettifier leaves unsplit (`maxCharactersPerLine`).
pub const MAX_LINE_LENGTH: usize = 100;

const INDENT: &str = "  ";

/// `expr` as multi-line PromQL with lines of at most [`MAX_LINE_LENGTH`] bytes where the rules
/// can split them (upstream `parser.Prettify`).
pub fn prettify(expr: &Expr) -> String {
    prettify_with(expr, MAX_LINE_LENGTH)
}

/// [`prettify`] with another line length, in bytes.
pub fn prettify_with(expr: &Expr, max_line_length: usize) -> String {
    let mut out = String::new();
    Prettifier { max_line_length }.write(&mut out, expr, 0);
    out
}

struct Prettifier {
    max_line_length: usize,
}

impl Prettifier {
    /// Appends `expr` at nesting `level` to `out`; `level` > 0 means the parent has started a
    /// new line for it, so it indents itself.
    fn write(&self, out: &mut String, expr: &Expr, level: usize) {
        let one_line = expr.to_string();
        let fits = one_line.len() <= self.max_line_length;
        match expr {
            Expr::Subquery(sq) => {
                if fits {
                    out.push_str(&one_line);
                } else {
                    self.write(out, &sq.expr, level);
                    out.push_str(&SubquerySuffix(sq).to_string());
                }
            }
            Expr::Unary(u) => {
                let mut operand = String::new();
                self.write(&mut operand, &u.expr, level);
                push_indent(out, level);
                out.push_str(u.op.as_str());
                out.push_str(operand.trim());
            }
            _ if fits => {
                push_indent(out, level);
                out.push_str(&one_line);
            }
            Expr::Aggregate(agg) => {
                push_indent(out, level);
                out.push_str(&AggregateHead(agg).to_string());
                out.push_str("(\n");
                if let Some(param) = &agg.param {
                    self.write(out, param, level + 1);
                    out.push_str(",\n");
                }
                self.write(out, &agg.expr, level + 1);
                close(out, level);
            }
            Expr::Call(call) => {
                push_indent(out, level);
                out.push_str(call.function.name);
                out.push_str("(\n");
                for (i, arg) in call.args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    self.write(out, arg, level + 1);
                }
                close(out, level);
            }
            Expr::Paren(p) => {
                push_indent(out, level);
                out.push_str("(\n");
                self.write(out, &p.expr, level + 1);
                close(out, level);
            }
            Expr::Binary(bin) => {
                self.write(out, &bin.lhs, level + 1);
                out.push('\n');
                push_indent(out, level);
                out.push_str(&BinaryOperator(bin).to_string());
                out.push('\n');
                self.write(out, &bin.rhs, level + 1);
            }
            Expr::Number(_)
            | Expr::String(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_) => {
                push_indent(out, level);
                out.push_str(&one_line);
            }
        }
    }
}

/// A line break and the closing parenthesis at `level`.
fn close(out: &mut String, level: usize) {
    out.push('\n');
    push_indent(out, level);
    out.push(')');
}

fn push_indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str(INDENT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::parser::parse;

    /// Prettified with the 10-byte lines upstream's tests use, so small inputs split.
    fn narrow(input: &str) -> String {
        let expr = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        prettify_with(&expr, 10)
    }

    fn check(cases: &[(&str, &str)]) {
        for (input, want) in cases {
            assert_eq!(narrow(input), *want, "{input}");
        }
    }

    #[test]
    fn short_expressions_stay_on_one_line() {
        check(&[
            ("max(up)", "max(up)"),
            ("x - y", "x - y"),
            ("(abc)", "(abc)"),
            ("-2", "-2"),
            ("-metric_one", "-metric_one"),
            ("up @ 5", "up @ 5.000"),
            ("long_selector_name @ end()", "long_selector_name @ end()"),
        ]);
    }

    #[test]
    fn aggregations_put_their_operands_on_indented_lines() {
        check(&[
            (
                "avg by() (errors_total{a=\"b\"})",
                "avg(\n  errors_total{a=\"b\"}\n)",
            ),
            (
                "max(errors_total{a=\"b\"}) without(x,y)",
                "max without (x, y) (\n  errors_total{a=\"b\"}\n)",
            ),
            (
                "min by(z) (errors_total{a=\"b\"})",
                "min by (z) (\n  errors_total{a=\"b\"}\n)",
            ),
            (
                "bottomk(3, errors_total)",
                "bottomk(\n  3,\n  errors_total\n)",
            ),
            (
                "max by(z) (min by(z) (errors_total))",
                "max by (z) (\n  min by (z) (\n    errors_total\n  )\n)",
            ),
            (
                "count by(z)\n# a comment\n(errors_total)",
                "count by (z) (\n  errors_total\n)",
            ),
        ]);
    }

    #[test]
    fn binary_operators_sit_between_deeper_operands() {
        check(&[
            ("up != bool 0", "  up\n!= bool\n  0"),
            ("x * on(job) y_long", "  x\n* on (job)\n  y_long"),
            ("first_a / second_b", "  first_a\n/\n  second_b"),
            ("aa - bbbb - cccccc", "  aa - bbbb\n-\n  cccccc"),
            (
                "first_a / second_b / third_c",
                "    first_a\n  /\n    second_b\n/\n  third_c",
            ),
            (
                "a_metric - ignoring(x) group_left b_metric",
                "  a_metric\n- ignoring (x) group_left ()\n  b_metric",
            ),
        ]);
    }

    #[test]
    fn calls_put_one_argument_per_line() {
        check(&[
            ("irate(bar[5m])", "irate(\n  bar[5m]\n)"),
            (
                "deriv(a_selector[5m:30s] @ end() offset 2m)",
                "deriv(\n  a_selector[5m:30s] @ end() offset 2m\n)",
            ),
            (
                "histogram_quantile(0.5, delta(bar[5m]))",
                "histogram_quantile(\n  0.5,\n  delta(\n    bar[5m]\n  )\n)",
            ),
            (
                "min_over_time(irate(bar_total[5m])[10m:] offset 1m)",
                "min_over_time(\n  irate(\n    bar_total[5m]\n  )[10m:] offset 1m\n)",
            ),
            (
                "label_join(up{a=\"b\"}, \"dst\", \",\", \"src\")",
                "label_join(\n  up{a=\"b\"},\n  \"dst\",\n  \",\",\n  \"src\"\n)",
            ),
        ]);
    }

    #[test]
    fn parentheses_open_and_close_on_their_own_lines() {
        check(&[
            ("(a_long_one)", "(\n  a_long_one\n)"),
            ("((bb_long))", "(\n  (bb_long)\n)"),
            ("((a_long_one))", "(\n  (\n    a_long_one\n  )\n)"),
            ("(aaa + bbb)", "(\n  aaa + bbb\n)"),
            ("(aaaa + bbbbbb)", "(\n    aaaa\n  +\n    bbbbbb\n)"),
            ("(-a_selector)", "(\n  -a_selector\n)"),
        ]);
    }

    #[test]
    fn unary_operators_stay_in_front_of_a_split_operand() {
        check(&[
            (
                "-histogram_quantile(0.5, delta(bar[5m]))",
                "-histogram_quantile(\n  0.5,\n  delta(\n    bar[5m]\n  )\n)",
            ),
            (
                "(-abs(-delta(bar[5m])))",
                "(\n  -abs(\n    -delta(\n      bar[5m]\n    )\n  )\n)",
            ),
        ]);
    }

    #[test]
    fn a_short_subquery_inside_a_split_call_is_not_indented() {
        // Upstream's SubqueryExpr.Pretty returns the one-line form without indentation.
        check(&[("max_over_time(a[1m:])", "max_over_time(\na[1m:]\n)")]);
    }

    #[test]
    fn duration_arithmetic_prints_inline() {
        check(&[("irate(bar[3*1h])", "irate(\n  bar[3 * 1h]\n)")]);
    }

    #[test]
    fn default_line_length_is_one_hundred() {
        let fits = format!("sum(rate({}[5m]))", "m".repeat(MAX_LINE_LENGTH - 15));
        assert_eq!(fits.len(), MAX_LINE_LENGTH);
        let expr = parse(&fits).expect("valid");
        assert_eq!(prettify(&expr), fits);
        let longer = format!("sum(rate({}[5m]))", "m".repeat(MAX_LINE_LENGTH - 14));
        let expr = parse(&longer).expect("valid");
        let name = "m".repeat(MAX_LINE_LENGTH - 14);
        // Indentation does not count: the inner call's printout is shorter than the limit.
        assert_eq!(prettify(&expr), format!("sum(\n  rate({name}[5m])\n)"));
    }

    #[test]
    fn a_real_alert_splits_like_prometheus() {
        let input = "(sum(rate(errors_total{job=\"api\"}[5m])) / sum(rate(requests_total{job=\"api\"}[5m]))) > 0.05 and on() vector(1)";
        let expr = parse(input).expect("valid");
        let want = [
            "    (",
            "        sum(rate(errors_total{job=\"api\"}[5m]))",
            "      /",
            "        sum(rate(requests_total{job=\"api\"}[5m]))",
            "    )",
            "  >",
            "    0.05",
            "and on ()",
            "  vector(1)",
        ]
        .join("\n");
        // At 60 bytes the division splits, its operands fit.
        assert_eq!(prettify_with(&expr, 60), want);
    }
}
