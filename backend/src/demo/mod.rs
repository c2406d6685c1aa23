//! `chorus demo`: the querier and web console over two synthetic Prometheus replicas, with no
//! external services. [`data`] generates the replicas' samples and [`store`] serves chunks from
//! memory; the wiring (encoding the samples into XOR chunks and serving the stores) follows once
//! the chunk encoder is merged.

pub mod data;
pub mod store;

/// Placeholder until the module lands; replaced by the module's real entry point.
pub async fn run(
    _args: crate::cli::DemoArgs,
    _shutdown: tokio_util::sync::CancellationToken,
) -> Result<(), std::io::Error> {
    Err(std::io::Error::other("not built yet"))
}
