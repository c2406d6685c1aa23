//! Tells cargo when to rebuild the binary because the embedded web console changed.
//!
//! `ui.rs` embeds `frontend/dist` with rust-embed. In release builds the files are compiled in
//! (`include_bytes!`), which tracks files that existed at the last build but not files that
//! appear later; so this script asks cargo to rerun (and recompile the crate) whenever anything
//! under `frontend/dist` changes. When `dist` does not exist yet, it watches `frontend/` instead,
//! so the crate is rebuilt once `make build` creates it: a path that does not exist would make
//! cargo rebuild on every invocation. Debug builds (and `cargo test`) read the files from disk at
//! run time, so they watch nothing and never rebuild because of the console.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Set by cargo for the profile being built; rust-embed embeds only without debug assertions.
    if env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_some() {
        return;
    }
    let watched = if Path::new("../frontend/dist").is_dir() {
        "../frontend/dist"
    } else {
        "../frontend"
    };
    println!("cargo:rerun-if-changed={watched}");
}
