//! Generated protobuf code: the Thanos StoreAPI and metric metadata API (`thanos`, `thanos.info`,
//! `hintspb`) and the part of Prometheus's remote-read protocol the sidecar speaks (`prometheus`).
//!
//! The `.proto` files in `proto/` are written from the wire facts in `shared/THANOS.md` §1, with
//! the same package names, service names, field numbers and enum values as Thanos, so real
//! Thanos components and Chorus talk to each other. This crate holds generated code only;
//! conversions to Chorus's own types live in `backend::storeapi::convert`.
#![allow(missing_docs, clippy::all)] // generated code

/// Package `thanos`: the Store and Metadata services and their messages.
pub mod thanos {
    include!(concat!(env!("OUT_DIR"), "/thanos.rs"));

    /// Package `thanos.info`: the Info service.
    pub mod info {
        include!(concat!(env!("OUT_DIR"), "/thanos.info.rs"));
    }
}

/// Package `hintspb`: hint payloads carried in `google.protobuf.Any`.
pub mod hintspb {
    include!(concat!(env!("OUT_DIR"), "/hintspb.rs"));
}

/// Package `prometheus`: Prometheus's remote-read request and streamed response.
pub mod prometheus {
    include!(concat!(env!("OUT_DIR"), "/prometheus.rs"));
}
