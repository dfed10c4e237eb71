//! A witness for Sunshine Ledger (阳光账本) ledgers, run by a township office, a supervision
//! committee (村务监督委员会), an auditor or a journalist: it cosigns a ledger's checkpoint only
//! when the checkpoint is signed by the ledger's checkpoint key and its tree extends the one
//! the witness cosigned before. With a quorum of witnesses required by the ledger's genesis, an
//! operator cannot show one history to one resident and another to the next.
//!
//! The wire formats are the transparency-log ecosystem's: C2SP `tlog-witness` (add-checkpoint)
//! and `tlog-cosignature` (cosignature/v1 lines), so any C2SP witness or client interoperates.
//!
//! - [`protocol`]: the add-checkpoint request body.
//! - [`witness`]: the durable per-ledger state and the cosigning rule.
//! - [`mirror`]: the replaying mode: the whole log kept and its fund rules run before cosigning.
//! - [`server`]: the HTTP interface.
//! - [`client`]: what a log (the node) uses to ask for cosignatures.

#![forbid(unsafe_code)]

pub mod client;
pub mod mirror;
pub mod protocol;
pub mod server;
pub mod witness;

pub use witness::{Reply, Witness};
