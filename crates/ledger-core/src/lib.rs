//! The pure Sunshine Ledger (阳光账本) domain, shared by the node and the verifier so that both
//! judge the log by exactly the same rules.
//!
//! Nothing here does I/O: no files, no network, no clock, no randomness. Every parse is total
//! (it returns an error instead of panicking) and every amount is integer fen with checked
//! arithmetic. The exact bytes of every hash and signature are written in `docs/PROTOCOL.md`,
//! and `tests/vectors.json` pins them.
//!
//! - [`hashing`]: domain-separated blake3 for entries, key ids and contributor commitments.
//! - [`signing`]: DSSE pre-authentication encoding, Ed25519 `verify_strict`, key fingerprints.
//! - [`entry`]: log entries, their encoding and the hash chain.
//! - [`merkle`]: the RFC 6962 / RFC 9162 Merkle tree with SHA-256, over the entries' encodings.
//! - [`checkpoint`]: C2SP `tlog-checkpoint` signed tree heads in `signed-note` form.
//! - [`types`]: fund sources, amounts per source, roles, the policy.
//! - [`tx`]: decoding a signed envelope and its body into a checked [`tx::Transaction`], with
//!   [`decode_error`]s apart from the rules' refusals.
//! - [`rules`] and [`state`]: the fund rules, as a pure fold of entries.
//! - [`snapshot`]: the published snapshot file format.
//! - [`tiles`]: the log as C2SP `tlog-tiles` (hash tiles and entry bundles).
//! - [`amount`]: yuan and fen, exactly.

#![forbid(unsafe_code)]

pub mod amount;
pub mod build;
pub mod checkpoint;
pub mod decode_error;
pub mod entry;
pub mod hashing;
pub mod limits;
pub mod merkle;
pub mod rules;
pub mod signing;
pub mod snapshot;
pub mod state;
pub mod tiles;
pub mod tx;
pub mod types;

/// The `ledger-reason` codes of a request whose ledger a node cannot give.
pub use ledger_proto::ledger_reasons;
pub use ledger_proto::v1 as proto;

/// A 32-byte hash (blake3 for entries and keys, SHA-256 in the Merkle tree).
pub type Hash = [u8; 32];
