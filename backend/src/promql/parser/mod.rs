//! The PromQL parser: text to a typed expression tree with byte spans on every node.
//!
//! ```
//! use chorus::promql::parser::{parse, Expr, ValueType};
//!
//! let expr = parse("sum by (job) (rate(http_requests_total[5m]))").unwrap();
//! assert_eq!(expr.value_type(), ValueType::InstantVector);
//! assert!(matches!(expr, Expr::Aggregate(_)));
//! assert_eq!(expr.to_string(), "sum by (job) (rate(http_requests_total[5m]))");
//!
//! let err = parse("sum(x) by").unwrap_err();
//! assert_eq!(err.to_string(), "1:10: parse error: unexpected end of input in grouping opts, expected \"(\"");
//! assert_eq!((err.span.start, err.line, err.column), (9, 1, 10));
//! ```
//!
//! # Why not the `promql-parser` crate
//! Measured against Prometheus 3.14's own test expressions (`../shared/promql-testdata`), the
//! crate rejects 14% of them (the `anchored`/`smoothed` modifiers, the histogram trim operators
//! `</` and `>/`, duration arithmetic, `info()` with label selectors) and its errors carry no
//! positions, which the query console needs to underline mistakes. This parser follows
//! Prometheus 3.14 `promql/parser` (lex.go, generated_parser.y, parse.go, ast.go, functions.go,
//! printer.go) for syntax, operator precedence, type checks and error wording, and reports
//! errors as `line:col: parse error: message`.
//!
//! # Layout
//! - [`lexer`]: tokens ([`token`]) with byte spans, literal shapes scanned in `scan`;
//!   [`literals`]: values of number, duration and string tokens.
//! - [`mod@parse`]: the Pratt expression parser and the entry points; `calls`, `selectors`,
//!   `modifiers` and `durations` extend it with function calls and aggregations, vector
//!   selectors, postfix and binary modifiers, and duration expressions.
//! - [`check`]: type checking (upstream's `checkAST`).
//! - [`ast`]: the tree, with [`operators`]; [`functions`]: the function signatures;
//!   `printer`: `Display` for the tree; [`prettier`]: the multi-line layout of
//!   `/api/v1/format_query` ([`prettify`]).
//!
//! # Conformance
//! `backend/tests/promql_parse_corpus.rs` parses every `eval` expression of the test scripts
//! (all 2179 that Prometheus expects to succeed) and checks that each prints back to
//! PromQL that reparses to the same printout. Known difference: Go strings may hold invalid
//! UTF-8 (`"\xff"`); ours cannot, so such a literal is a parse error here.
//!
//! The parser knows nothing about storage, evaluation, gRPC or HTTP.

pub mod ast;
mod calls;
pub mod check;
mod durations;
pub mod error;
pub mod functions;
pub mod lexer;
pub mod literals;
mod modifiers;
pub mod operators;
pub mod parse;
pub mod prettier;
mod printer;
mod scan;
mod selectors;
pub mod token;

pub use ast::{
    AggregateExpr, AggregateOp, AtModifier, BinaryExpr, BinaryOp, Call, Cardinality, DurationExpr,
    Expr, FillValues, Grouping, MatrixSelector, NumberLiteral, ParenExpr, RangeExtension, Span,
    StringLiteral, SubqueryExpr, UnaryExpr, UnaryOp, ValueType, VectorMatching, VectorSelector,
};
pub use error::ParseError;
pub use functions::{Arity, Function};
pub use parse::{
    MAX_NESTING, MAX_TREE_DEPTH, ParseOptions, parse, parse_metric_selector, parse_with,
};
pub use prettier::prettify;
