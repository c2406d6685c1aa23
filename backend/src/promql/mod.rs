//! PromQL for `chorus query`.
//!
//! So far only the [`parser`]: text in, a typed and position-annotated expression tree out.
//! The engine that evaluates the tree will live next to it and reach data only through traits
//! of its own; nothing here knows about storage, gRPC or HTTP.

pub mod parser;
