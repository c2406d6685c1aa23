//! (being written)

pub mod dedup;
pub mod merge;

/// Placeholder until the module lands; replaced by the module's real entry point.
pub async fn run(_args: crate::cli::QueryArgs, _shutdown: tokio_util::sync::CancellationToken) -> Result<(), std::io::Error> {
    Err(std::io::Error::other("not built yet"))
}
