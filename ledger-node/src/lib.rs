//! The Sunshine Ledger node: a durable, append-only, signed ledger of community funds, served
//! over gRPC. The rules live in `ledger-core`; this crate adds storage, sequencing and the API.
//!
//! - [`log`]: the append-only log file, the source of truth.
//! - [`index`]: the sled index, rebuilt from the log whenever it lags.
//! - [`engine`]: the single writer and the shared read side.
//! - [`service`]: the `ledger.v1.Ledger` gRPC service.
//! - [`http`], [`reports`]: the public page, metrics, snapshot and disclosure statements.
//! - [`server`], [`config`], [`bootstrap`]: running it.

#![forbid(unsafe_code)]

pub mod bootstrap;
pub mod config;
pub mod engine;
pub mod fold_file;
pub mod genesis_file;
pub mod http;
pub mod index;
pub mod ledgers;
pub mod listen;
pub mod log;
pub mod mark;
pub mod node_keys;
pub mod pg;
pub mod reports;
pub mod server;
pub mod service;
pub mod store;
pub mod tiles;
pub mod tlog;
pub mod witnessing;
