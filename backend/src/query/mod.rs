//! `chorus query`: endpoint health, fan-out, merge and replica deduplication.
//!
//! - [`config`]: the typed configuration built from the flags.
//! - [`endpoints`]: the endpoint set (one store per discovered address, health-checked).
//! - [`proxy`]: the fan-out proxy, a [`crate::storeapi::Store`] over the healthy endpoints.

pub mod config;
pub mod endpoints;
pub mod merge;
pub mod proxy;

#[cfg(test)]
mod memstore;

/// Placeholder until the module lands; replaced by the module's real entry point.
pub async fn run(_args: crate::cli::QueryArgs, _shutdown: tokio_util::sync::CancellationToken) -> Result<(), std::io::Error> {
    Err(std::io::Error::other("not built yet"))
}
