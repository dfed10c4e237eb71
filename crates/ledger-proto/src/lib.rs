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

/// The `ledger-reason` codes of a request whose ledger the node cannot give (a node serving
/// several ledgers picks one by the `ledger-id` metadata). Part of the wire contract, like the
/// rules' codes of a refused transaction, and apart from them: nothing was judged.
pub mod ledger_reasons {
    /// The `ledger-id` value is not a ledger id (INVALID_ARGUMENT).
    pub const INVALID_LEDGER_ID: &str = "invalid_ledger_id";
    /// The node serves no such ledger (NOT_FOUND).
    pub const UNKNOWN_LEDGER: &str = "unknown_ledger";
    /// Every ledger the node keeps open is in use (RESOURCE_EXHAUSTED; retry).
    pub const LEDGERS_BUSY: &str = "ledgers_busy";
    /// The ledger's directory cannot be opened, or holds another ledger (UNAVAILABLE).
    pub const LEDGER_UNOPENABLE: &str = "ledger_unopenable";
    /// A Subscribe stream ended because the node closed its ledger to open others (resume).
    pub const LEDGER_CLOSED_FOR_ROOM: &str = "ledger_closed_for_room";
    /// This node does not hold the write lease of a ledger kept in PostgreSQL: another node
    /// writes (UNAVAILABLE; submit to another node, or again once this one takes over).
    pub const NOT_THE_WRITER: &str = "not_the_writer";
    /// The ledger's database and this node's copy disagree; the node writes nothing until a
    /// person looks (UNAVAILABLE).
    pub const STORE_DIVERGED: &str = "store_diverged";
    /// Every code above, for matching.
    pub const ALL: &[&str] = &[
        INVALID_LEDGER_ID,
        UNKNOWN_LEDGER,
        LEDGERS_BUSY,
        LEDGER_UNOPENABLE,
        LEDGER_CLOSED_FOR_ROOM,
        NOT_THE_WRITER,
        STORE_DIVERGED,
    ];
}
