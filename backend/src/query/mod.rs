//! (being written)

/// K-way merge of label-sorted Series streams, collapsing replicas' equal series.
pub mod merge;

/// Replica labels and sample-level replica deduplication.
pub mod dedup;
