//! The residents' verifier: check a published snapshot, a receipt, two checkpoints, or a live
//! node, trusting nothing but the node's public key (or its fingerprint from the notice board).
//! Every rule comes from `ledger-core`, the crate the node itself uses, so the verifier judges
//! the log exactly as the node must have.

#![forbid(unsafe_code)]

pub mod check;
pub mod ledger_trust;
pub mod report;
pub mod tiles;
pub mod trust;
