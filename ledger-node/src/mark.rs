//! The signed high-water mark: the node's latest checkpoint, kept durably beside the log.
//!
//! sled's record of how far the index got is not durable (and may be deleted with the index),
//! so it cannot prove on its own that a shorter log lost acknowledged entries. This file can: it
//! holds a checkpoint the node signed (size and root), replaced atomically (write, fsync,
//! rename, fsync the directory) by a keeper thread about once a second and at shutdown. On
//! open the log must hold at least that many entries, and its first `size` entries must have
//! that root; entries after it are replayed with their signatures checked, so nobody who can
//! write the log file but does not hold the node key gets an entry checkpointed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use ledger_core::checkpoint::SignedCheckpoint;

use crate::engine::Shared;

/// The mark's file name in the data directory.
pub const MARK_FILE: &str = "checkpoint";
/// How often the keeper saves a new checkpoint: acknowledged entries lost from the disk within
/// this long before a crash are the only ones the mark cannot vouch for.
pub const KEEP_EVERY: Duration = Duration::from_secs(1);

/// The checkpoint the mark holds, checked against the node's key; `None` without a mark.
pub fn load(
    data_dir: &Path,
    ledger_id_hint: Option<&str>,
    node_keys: &[VerifyingKey],
) -> Result<Option<SignedCheckpoint>, String> {
    let path = data_dir.join(MARK_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let signed = SignedCheckpoint::parse(&text)
        .map_err(|e| format!("{} is not a checkpoint: {e}", path.display()))?;
    let origin = &signed.checkpoint.origin;
    if ledger_id_hint.is_some_and(|id| id != origin) {
        return Err(format!(
            "{} is a checkpoint of another ledger ({origin})",
            path.display()
        ));
    }
    if !node_keys.iter().any(|k| signed.verify(origin, k).is_ok()) {
        return Err(format!(
            "{} is not signed by this node's key (nor a retired or next one)",
            path.display()
        ));
    }
    Ok(Some(signed))
}

/// Replaces the mark with `text` durably.
pub fn save(data_dir: &Path, text: &str) -> std::io::Result<()> {
    save_as(data_dir, MARK_FILE, text)
}

/// Replaces `<data_dir>/<name>` with `text` durably: a temporary file, fsync, rename over,
/// fsync of the directory.
pub fn save_as(data_dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let path = data_dir.join(name);
    let tmp = data_dir.join(format!("{name}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    crate::log::sync_parent_dir(&path)
}

/// Saves the head's checkpoint whenever it moved, about once a second, until stopped; then
/// once more. Returns the thread and the flag that stops it.
pub fn keep(
    shared: Arc<Shared>,
    data_dir: PathBuf,
) -> (std::thread::JoinHandle<()>, Arc<AtomicBool>) {
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    let thread = std::thread::Builder::new()
        .name("ledger-mark".into())
        .spawn(move || {
            let mut saved = 0u64;
            loop {
                let last = stopping.load(Ordering::SeqCst);
                let head = shared.head();
                if head.size != saved {
                    match save(&data_dir, &head.checkpoint) {
                        Ok(()) => saved = head.size,
                        Err(e) => tracing::error!(error = %e, "cannot save the checkpoint mark"),
                    }
                }
                if last {
                    return;
                }
                // Woken early by the stop (the closer unparks this thread).
                if !stopping.load(Ordering::SeqCst) {
                    std::thread::park_timeout(KEEP_EVERY);
                }
            }
        })
        .expect("spawn the mark keeper");
    (thread, stop)
}
