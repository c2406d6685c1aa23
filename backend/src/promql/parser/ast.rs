//! The PromQL expression tree.
//!
//! Every node carries the [`Span`] of the text it was parsed from, so errors and annotations can
//! point into the query. The shapes follow Prometheus's `promql/parser/ast.go`, with enums where
//! Go uses loose fields (an `@` modifier is one [`AtModifier`], not a timestamp plus a token).
//! This module only describes trees: parsing, checking and printing live in sibling modules.

use std::fmt;

use shared::labels::Matcher;

use super::functions::Function;
pub use super::operators::{AggregateOp, BinaryOp, UnaryOp};

/// A byte range `[start, end)` in the query text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The range `[start, end)`.
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// The type an expression evaluates to (Prometheus's `ValueType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// A single float.
    Scalar,
    /// One sample per series.
    InstantVector,
    /// A range of samples per series.
    RangeVector,
    /// A string.
    String,
}

impl fmt::Display for ValueType {
    /// The documented names used in error messages (`DocumentedType` upstream).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::Scalar => "scalar",
            ValueType::InstantVector => "instant vector",
            ValueType::RangeVector => "range vector",
            ValueType::String => "string",
        })
    }
}

/// A PromQL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `1`, `0x1f`, `Inf`, `5m` (a duration as seconds).
    Number(NumberLiteral),
    /// `"text"`.
    String(StringLiteral),
    /// `metric{label="value"}`.
    VectorSelector(VectorSelector),
    /// `metric[5m]`.
    MatrixSelector(MatrixSelector),
    /// `expr[30m:1m]`.
    Subquery(SubqueryExpr),
    /// `rate(x[5m])`.
    Call(Call),
    /// `sum by (job) (x)`.
    Aggregate(AggregateExpr),
    /// `a + on (job) b`.
    Binary(BinaryExpr),
    /// `-x`.
    Unary(UnaryExpr),
    /// `(x)`.
    Paren(ParenExpr),
}

impl Expr {
    /// The text range this expression was parsed from.
    pub fn span(&self) -> Span {
        match self {
            Expr::Number(n) => n.span,
            Expr::String(s) => s.span,
            Expr::VectorSelector(v) => v.span,
            Expr::MatrixSelector(m) => m.span,
            Expr::Subquery(s) => s.span,
            Expr::Call(c) => c.span,
            Expr::Aggregate(a) => a.span,
            Expr::Binary(b) => b.span,
            Expr::Unary(u) => u.span,
            Expr::Paren(p) => p.span,
        }
    }

    /// What the expression evaluates to (`Expr.Type()` upstream).
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) => ValueType::String,
            Expr::VectorSelector(_) | Expr::Aggregate(_) => ValueType::InstantVector,
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::RangeVector,
            Expr::Call(c) => c.function.return_type,
            Expr::Binary(b) => match (b.lhs.value_type(), b.rhs.value_type()) {
                (ValueType::Scalar, ValueType::Scalar) => ValueType::Scalar,
                _ => ValueType::InstantVector,
            },
            Expr::Unary(u) => u.expr.value_type(),
            Expr::Paren(p) => p.expr.value_type(),
        }
    }

    pub(crate) fn span_mut(&mut self) -> &mut Span {
        match self {
            Expr::Number(n) => &mut n.span,
            Expr::String(s) => &mut s.span,
            Expr::VectorSelector(v) => &mut v.span,
            Expr::MatrixSelector(m) => &mut m.span,
            Expr::Subquery(s) => &mut s.span,
            Expr::Call(c) => &mut c.span,
            Expr::Aggregate(a) => &mut a.span,
            Expr::Binary(b) => &mut b.span,
            Expr::Unary(u) => &mut u.span,
            Expr::Paren(p) => &mut p.span,
        }
    }
}

/// A number; durations in expressions are numbers of seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberLiteral {
    /// The value (seconds for a duration).
    pub value: f64,
    /// Written as a duration (`5m`), so printed as one.
    pub duration: bool,
    /// Where it was written.
    pub span: Span,
}

/// A string literal, unquoted.
#[derive(Debug, Clone, PartialEq)]
pub struct StringLiteral {
    /// The value after escape processing (lossily decoded when `bytes` is set).
    pub value: String,
    /// The bytes after escape processing when they are not valid UTF-8 (`"a\xc5z"`): PromQL
    /// strings, like Go's, may hold any bytes; where a label name or value is needed they fail.
    pub bytes: Option<Vec<u8>>,
    /// Where it was written, quotes included.
    pub span: Span,
}

/// The `@` modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtModifier {
    /// `@ 1700000000.123`: a fixed time, in milliseconds since the epoch.
    Timestamp(i64),
    /// `@ start()`: the query's start time.
    Start,
    /// `@ end()`: the query's end time.
    End,
}

/// Prometheus 3 extended range selectors (`anchored`, `smoothed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeExtension {
    /// `anchored`: the range is anchored to samples at its boundaries.
    Anchored,
    /// `smoothed`: values at the boundaries are interpolated.
    Smoothed,
}

/// `metric{matchers} @ t offset d`.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSelector {
    /// The metric name written before the braces, if any.
    pub name: Option<String>,
    /// All matchers; a name written before the braces is the last one, `__name__="name"`.
    pub matchers: Vec<Matcher>,
    /// The `offset` modifier.
    pub offset: Option<DurationExpr>,
    /// The `@` modifier.
    pub at: Option<AtModifier>,
    /// `anchored` or `smoothed`.
    pub extension: Option<RangeExtension>,
    /// Where it was written, modifiers included.
    pub span: Span,
}

/// `selector[range]`; the selector holds the `offset`, `@` and extension modifiers.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSelector {
    /// The selector the range applies to.
    pub selector: VectorSelector,
    /// The range, in seconds once evaluated.
    pub range: DurationExpr,
    /// Where it was written, modifiers included.
    pub span: Span,
}

/// `expr[range:step]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubqueryExpr {
    /// The inner expression (an instant vector).
    pub expr: Box<Expr>,
    /// The range.
    pub range: DurationExpr,
    /// The resolution; `None` means the engine's default evaluation interval.
    pub step: Option<DurationExpr>,
    /// The `offset` modifier.
    pub offset: Option<DurationExpr>,
    /// The `@` modifier.
    pub at: Option<AtModifier>,
    /// Where it was written, modifiers included.
    pub span: Span,
}

/// A function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function's signature from the table in [`super::functions`].
    pub function: &'static Function,
    /// The arguments.
    pub args: Vec<Expr>,
    /// From the name to the closing parenthesis.
    pub span: Span,
}

/// `by (...)` or `without (...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// Keep only these labels; empty means aggregate everything into one series.
    By(Vec<String>),
    /// Drop these labels.
    Without(Vec<String>),
}

/// `op by (labels) (param, expr)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateExpr {
    /// The operator.
    pub op: AggregateOp,
    /// The vector being aggregated.
    pub expr: Box<Expr>,
    /// The parameter, for `topk`, `quantile`, `count_values`, ...
    pub param: Option<Box<Expr>>,
    /// The grouping.
    pub grouping: Grouping,
    /// From the operator to the closing parenthesis.
    pub span: Span,
}

/// How series on the two sides of a binary operator pair up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cardinality {
    /// Each side has at most one series per matching label set.
    OneToOne,
    /// `group_left`: many on the left per one on the right.
    ManyToOne,
    /// `group_right`: one on the left per many on the right.
    OneToMany,
    /// Set operators.
    ManyToMany,
}

/// Vector matching of a binary expression between two instant vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorMatching {
    /// The cardinality.
    pub card: Cardinality,
    /// `on (...)` (true) or `ignoring (...)` (false).
    pub on: bool,
    /// The labels listed in `on`/`ignoring`.
    pub labels: Vec<String>,
    /// The labels listed in `group_left`/`group_right`, copied from the "one" side.
    pub include: Vec<String>,
    /// `fill`, `fill_left`, `fill_right`: values for series missing on one side.
    pub fill: FillValues,
}

/// Values that stand in for series missing on one side of a binary operation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FillValues {
    /// Used when the left side lacks a match.
    pub lhs: Option<f64>,
    /// Used when the right side lacks a match.
    pub rhs: Option<f64>,
}

/// `lhs op bool on (...) group_left (...) rhs`.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryExpr {
    /// The operator.
    pub op: BinaryOp,
    /// The left operand.
    pub lhs: Box<Expr>,
    /// The right operand.
    pub rhs: Box<Expr>,
    /// `bool`: comparisons return 0/1 instead of filtering.
    pub return_bool: bool,
    /// Present only when both sides are instant vectors.
    pub matching: Option<VectorMatching>,
    /// From the left operand to the right one.
    pub span: Span,
}

/// `-expr` (a sign on a number literal is folded into the literal instead).
#[derive(Debug, Clone, PartialEq)]
pub struct UnaryExpr {
    /// The operator.
    pub op: UnaryOp,
    /// The operand.
    pub expr: Box<Expr>,
    /// From the operator to the end of the operand.
    pub span: Span,
}

/// `(expr)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParenExpr {
    /// The inner expression.
    pub expr: Box<Expr>,
    /// Parentheses included.
    pub span: Span,
}

/// A duration in a range, a subquery step or an `offset`: a literal, or (Prometheus 3's
/// experimental duration expressions) arithmetic over literals, `step()` and `range()`.
#[derive(Debug, Clone, PartialEq)]
pub enum DurationExpr {
    /// A number of seconds, written as a number or a duration.
    Literal(NumberLiteral),
    /// `step()`: the query's evaluation step.
    Step(Span),
    /// `range()`: the range query's end minus its start.
    Range(Span),
    /// `-d` or `+d`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<DurationExpr>,
        /// Operator included.
        span: Span,
    },
    /// `a + b`, `a * b`, ... (`+ - * / % ^`).
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        lhs: Box<DurationExpr>,
        /// The right operand.
        rhs: Box<DurationExpr>,
        /// Both operands.
        span: Span,
    },
    /// `min_of(a, b)` (`max: false`) or `max_of(a, b)` (`max: true`).
    Extremum {
        /// `max_of` rather than `min_of`.
        max: bool,
        /// First argument.
        lhs: Box<DurationExpr>,
        /// Second argument.
        rhs: Box<DurationExpr>,
        /// From the name to the closing parenthesis.
        span: Span,
    },
    /// `(d)`.
    Paren {
        /// The inner expression.
        expr: Box<DurationExpr>,
        /// Parentheses included.
        span: Span,
    },
}

impl DurationExpr {
    /// Where it was written.
    pub fn span(&self) -> Span {
        match self {
            DurationExpr::Literal(n) => n.span,
            DurationExpr::Step(s) | DurationExpr::Range(s) => *s,
            DurationExpr::Unary { span, .. }
            | DurationExpr::Binary { span, .. }
            | DurationExpr::Extremum { span, .. }
            | DurationExpr::Paren { span, .. } => *span,
        }
    }

    /// The value in seconds when it does not depend on the query (no `step()`/`range()`).
    pub fn constant_seconds(&self) -> Option<f64> {
        (!self.depends_on_query()).then(|| self.evaluate_seconds(0.0, 0.0))
    }

    /// Whether `step()` or `range()` occurs in it.
    pub fn depends_on_query(&self) -> bool {
        match self {
            DurationExpr::Literal(_) => false,
            DurationExpr::Step(_) | DurationExpr::Range(_) => true,
            DurationExpr::Unary { expr, .. } | DurationExpr::Paren { expr, .. } => {
                expr.depends_on_query()
            }
            DurationExpr::Binary { lhs, rhs, .. } | DurationExpr::Extremum { lhs, rhs, .. } => {
                lhs.depends_on_query() || rhs.depends_on_query()
            }
        }
    }

    /// The value in seconds, given the query's step and range in seconds (as Prometheus's
    /// `promql/durations.go` computes it: float arithmetic, `%` as `math.Mod`).
    pub fn evaluate_seconds(&self, step_seconds: f64, range_seconds: f64) -> f64 {
        let eval = |e: &DurationExpr| e.evaluate_seconds(step_seconds, range_seconds);
        match self {
            DurationExpr::Literal(n) => n.value,
            DurationExpr::Step(_) => step_seconds,
            DurationExpr::Range(_) => range_seconds,
            DurationExpr::Unary {
                op: UnaryOp::Neg,
                expr,
                ..
            } => -eval(expr),
            DurationExpr::Unary {
                op: UnaryOp::Pos,
                expr,
                ..
            }
            | DurationExpr::Paren { expr, .. } => eval(expr),
            DurationExpr::Extremum { max, lhs, rhs, .. } => {
                let (a, b) = (eval(lhs), eval(rhs));
                if *max { a.max(b) } else { a.min(b) }
            }
            DurationExpr::Binary { op, lhs, rhs, .. } => {
                let (a, b) = (eval(lhs), eval(rhs));
                match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    BinaryOp::Div => a / b,
                    BinaryOp::Mod => a % b,
                    BinaryOp::Pow => a.powf(b),
                    // The parser builds duration expressions from these six only.
                    _ => f64::NAN,
                }
            }
        }
    }
}
