//! Types shared by the Chorus backend and its web console.
//!
//! This crate does no I/O and compiles for `wasm32-unknown-unknown` as well as natively:
//! - [`labels`]: labels kept sorted, and label matchers with a compiled, fully anchored regex;
//! - [`series`]: samples and time ranges, in milliseconds since the Unix epoch;
//! - [`histogram`]: Prometheus native histograms (integer and float counts);
//! - [`api`]: the Prometheus HTTP API envelope and the response types Chorus serves;
//! - [`chart`]: the time-series chart, drawn with plotters on any backend;
//! - [`panel`]: the console's graph panels as URL parameters (Thanos's names);
//! - [`timefmt`]: UTC times and durations as the console reads and writes them.
#![warn(missing_docs)]

pub mod api;
pub mod chart;
pub mod histogram;
pub mod labels;
pub mod panel;
pub mod series;
pub mod timefmt;
