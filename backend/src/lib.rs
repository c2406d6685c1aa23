//! Chorus: a highly-available query layer for Prometheus, doing the job of the Thanos Querier
//! and Thanos Sidecar.
//!
//! # Layout
//! - [`storeapi`]: the Thanos StoreAPI as a Rust trait ([`storeapi::Store`]), its domain types,
//!   the conversions to and from the wire types, and the tonic client and server.
//! - [`chunkenc`]: Prometheus chunk codecs (XOR, histogram, float histogram), bit-exact.
//! - [`sidecar`]: `chorus sidecar`, a [`storeapi::Store`] over Prometheus's remote-read API.
//! - [`promql`]: PromQL: the parser (text to a typed, position-annotated tree) and the engine
//!   that evaluates it over a [`promql::storage::Queryable`].
//! - [`promqltest`]: Prometheus's PromQL test-script language, parsed into typed commands and
//!   run against the engine.
//! - [`query`]: `chorus query`: endpoint health, fan-out, merge and replica deduplication.
//! - [`discovery`]: turns `--endpoint`/`--store` specs and SD files into addresses.
//! - [`api`]: the Prometheus-compatible HTTP API.
//! - [`demo`]: `chorus demo`, the querier over two synthetic replicas.
//! - [`ui`]: serves the embedded web console.
//! - [`telemetry`]: logging set-up and the `/metrics` registry.
//! - [`cli`]: command-line flags, with Thanos's names.
#![warn(missing_docs)]

pub mod api;
pub mod chunkenc;
pub mod cli;
pub mod demo;
pub mod discovery;
pub mod promql;
pub mod promqltest;
pub mod query;
pub mod shutdown;
pub mod sidecar;
pub mod storeapi;
pub mod telemetry;
pub mod ui;
