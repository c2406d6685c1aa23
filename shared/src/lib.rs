//! Types shared by the Chorus backend and its web console.
//!
//! This crate does no I/O and compiles for `wasm32-unknown-unknown` as well as natively:
//! - [`labels`]: labels kept sorted, and label matchers with a compiled, fully anchored regex;
//! - [`series`]: samples and time ranges, in milliseconds since the Unix epoch;
//! - [`histogram`]: Prometheus native histograms (integer and float counts);
//! - [`api`]: the Prometheus HTTP API envelope and the response types Chorus serves;
//! - [`chart`]: the time-series chart, drawn with plotters on any backend;
//! - [`panel`]: the console's graph panels as URL parameters (Thanos's names);
//! - [`timefmt`]: UTC times and durations as the console reads and writes them;
//! - [`query_result`]: query response data as the console reads it, and its chart series;
//! - [`ui_path`]: the console's path prefix and page, from the page location;
//! - [`completion`]: what the console's PromQL editor completes at the cursor;
//! - [`store_filter`]: which stores a query would reach (time range and external labels).
#![warn(missing_docs)]

pub mod api;
pub mod chart;
pub mod completion;
pub mod histogram;
pub mod labels;
pub mod panel;
pub mod query_result;
pub mod series;
pub mod store_filter;
pub mod timefmt;
pub mod ui_path;
