//! PromQL's operators: aggregations, binary and unary operators, with the facts the parser and
//! the engine need about them (precedence, associativity, parameter types).
//!
//! Precedence follows the `%left`/`%right` list of Prometheus 3.14
//! `promql/parser/generated_parser.y`; parameter types follow `checkAST` in `parse.go`.

use super::ast::ValueType;

/// An aggregation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The variants are the PromQL keywords.
pub enum AggregateOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Quantile,
    CountValues,
    Limitk,
    LimitRatio,
}

impl AggregateOp {
    /// Every operator, for lookups.
    pub const ALL: [AggregateOp; 14] = [
        AggregateOp::Sum,
        AggregateOp::Avg,
        AggregateOp::Count,
        AggregateOp::Min,
        AggregateOp::Max,
        AggregateOp::Group,
        AggregateOp::Stddev,
        AggregateOp::Stdvar,
        AggregateOp::Topk,
        AggregateOp::Bottomk,
        AggregateOp::Quantile,
        AggregateOp::CountValues,
        AggregateOp::Limitk,
        AggregateOp::LimitRatio,
    ];

    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateOp::Sum => "sum",
            AggregateOp::Avg => "avg",
            AggregateOp::Count => "count",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Group => "group",
            AggregateOp::Stddev => "stddev",
            AggregateOp::Stdvar => "stdvar",
            AggregateOp::Topk => "topk",
            AggregateOp::Bottomk => "bottomk",
            AggregateOp::Quantile => "quantile",
            AggregateOp::CountValues => "count_values",
            AggregateOp::Limitk => "limitk",
            AggregateOp::LimitRatio => "limit_ratio",
        }
    }

    /// The type of the parameter before the vector argument, for those that take one.
    pub fn param_type(self) -> Option<ValueType> {
        match self {
            AggregateOp::Topk
            | AggregateOp::Bottomk
            | AggregateOp::Quantile
            | AggregateOp::Limitk
            | AggregateOp::LimitRatio => Some(ValueType::Scalar),
            AggregateOp::CountValues => Some(ValueType::String),
            _ => None,
        }
    }

    /// Behind `--enable-feature=promql-experimental-functions` upstream.
    pub fn is_experimental(self) -> bool {
        matches!(self, AggregateOp::Limitk | AggregateOp::LimitRatio)
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The variants are the PromQL operators.
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eql,
    Neq,
    Gtr,
    Lss,
    Gte,
    Lte,
    /// `</`: trims the upper part of native histograms.
    TrimUpper,
    /// `>/`: trims the lower part of native histograms.
    TrimLower,
    And,
    Or,
    Unless,
}

impl BinaryOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::Eql => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::Gtr => ">",
            BinaryOp::Lss => "<",
            BinaryOp::Gte => ">=",
            BinaryOp::Lte => "<=",
            BinaryOp::TrimUpper => "</",
            BinaryOp::TrimLower => ">/",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Unless => "unless",
        }
    }

    /// Binding strength, higher binds tighter (the `%left`/`%right` list of
    /// `generated_parser.y`).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And | BinaryOp::Unless => 2,
            BinaryOp::Eql
            | BinaryOp::Neq
            | BinaryOp::Gtr
            | BinaryOp::Lss
            | BinaryOp::Gte
            | BinaryOp::Lte
            | BinaryOp::TrimUpper
            | BinaryOp::TrimLower => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Atan2 => 5,
            BinaryOp::Pow => 6,
        }
    }

    /// Only `^` groups to the right.
    pub fn is_right_associative(self) -> bool {
        self == BinaryOp::Pow
    }

    /// `==`, `!=`, `>`, `<`, `>=`, `<=`: the operators that take `bool`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eql
                | BinaryOp::Neq
                | BinaryOp::Gtr
                | BinaryOp::Lss
                | BinaryOp::Gte
                | BinaryOp::Lte
        )
    }

    /// `and`, `or`, `unless`.
    pub fn is_set_operator(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `+`
    Pos,
}

impl UnaryOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            UnaryOp::Neg => "-",
            UnaryOp::Pos => "+",
        }
    }
}
