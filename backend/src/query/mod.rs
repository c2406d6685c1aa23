//! (being written)

pub mod dedup;
pub mod merge;
