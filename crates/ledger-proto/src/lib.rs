//! Generated protobuf types for `ledger.v1` (see `proto/ledger/v1`).
//!
//! The `.proto` files are the API contract; this crate only compiles them. The file descriptor
//! set is exported for gRPC server reflection.

#![forbid(unsafe_code)]

pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/ledger.v1.rs"));
}

/// Encoded `FileDescriptorSet` of every `ledger.v1` file, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/ledger_descriptor.bin"));
