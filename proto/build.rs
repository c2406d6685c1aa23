//! Generates the Rust code for the `.proto` files under `proto/`.
//!
//! The files are compiled by `protox` (a protobuf compiler written in Rust), so no `protoc`
//! binary is needed or downloaded.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from("proto");
    let files = [
        "thanos/labels.proto",
        "thanos/types.proto",
        "thanos/hints.proto",
        "thanos/rpc.proto",
        "thanos/info.proto",
        "thanos/metadata.proto",
        "prometheus/remote.proto",
    ];
    for file in &files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let descriptors = protox::compile(files, [&root])?;
    tonic_prost_build::configure()
        .bytes(".thanos.Chunk.data")
        .bytes(".prometheus.Chunk.data")
        .compile_fds(descriptors)?;
    Ok(())
}
