//! A ledger read from C2SP `tlog-tiles` (the node's `/checkpoint` and `/tile/...`, or a copy on
//! any static server or in a directory), as an [`EntrySource`]: the checkpoint first, then the
//! entry bundles in order, only as many as the checkpoint covers. The fetching is the caller's
//! (files, HTTP, a browser's fetch), behind [`Fetch`]; everything fetched is checked here and
//! by the fold exactly as a snapshot's bytes are, so the server needs no trust.
//!
//! The same tiles answer a receipt's question "is my entry in the ledger everyone sees?":
//! [`inclusion_in_tiles`] computes the proof from hash tiles against the published checkpoint.

use ledger_core::checkpoint::SignedCheckpoint;
use ledger_core::entry::Entry;
use ledger_core::limits::MAX_CHECKPOINT_BYTES;
use ledger_core::merkle::{self, entry_leaf_hash};
use ledger_core::snapshot::Header;
use ledger_core::tiles::{self, TileId, TileSubtrees, CHECKPOINT_PATH, TILE_WIDTH};

use crate::check::{EntrySource, Failure};
use crate::report::UNUSABLE;

/// Fetches a file under the tiles prefix: `Ok(None)` when it is not there (404).
pub trait Fetch {
    fn fetch(&mut self, path: &str) -> Result<Option<Vec<u8>>, String>;
}

/// The largest file fetched: a bundle of 256 entries of the largest size the rules allow.
pub const MAX_TILE_BYTES: usize = TILE_WIDTH as usize * (2 + tiles::MAX_BUNDLED_ENTRY_BYTES);

fn unusable(message: String) -> Failure {
    Failure::new(UNUSABLE, None, message)
}

fn fetch_required<F: Fetch>(fetch: &mut F, path: &str) -> Result<Vec<u8>, Failure> {
    match fetch.fetch(path) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(unusable(format!(
            "瓦片服务器上没有 {path}，无法核验（不说明账本有问题）。/ {path} is not on the tiles server: nothing could be checked (this says nothing about the ledger)"
        ))),
        Err(e) => Err(unusable(format!(
            "无法获取 {path}：{e}。/ could not fetch {path}: {e}"
        ))),
    }
}

/// Fetches and parses the published checkpoint.
pub fn fetch_checkpoint<F: Fetch>(fetch: &mut F) -> Result<SignedCheckpoint, Failure> {
    let bytes = fetch_required(fetch, CHECKPOINT_PATH)?;
    if bytes.len() > MAX_CHECKPOINT_BYTES {
        return Err(Failure::new(
            "TILES_MALFORMED",
            None,
            format!(
                "the published checkpoint is {} bytes, over the limit of {MAX_CHECKPOINT_BYTES}",
                bytes.len()
            ),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Failure::new(
            "TILES_MALFORMED",
            None,
            "the published checkpoint is not UTF-8 text",
        )
    })?;
    SignedCheckpoint::parse(&text).map_err(|e| {
        Failure::new(
            "TILES_MALFORMED",
            None,
            format!("the published checkpoint is malformed: {e}"),
        )
    })
}

/// The entries of a tiled log, bundle by bundle, up to its published checkpoint.
pub struct TilesSource<F: Fetch> {
    fetch: F,
    header: Header,
    checkpoint: SignedCheckpoint,
    next: u64,
    buffered: std::vec::IntoIter<Entry>,
}

impl<F: Fetch> TilesSource<F> {
    pub fn open(mut fetch: F) -> Result<Self, Failure> {
        let checkpoint = fetch_checkpoint(&mut fetch)?;
        // A checkpoint with cosignatures is the witnessed one; the verifier checks that it
        // covers every entry (it is the tree's own checkpoint too).
        let witnessed = if checkpoint.cosignatures.is_empty() {
            String::new()
        } else {
            checkpoint.text.clone()
        };
        let header = Header {
            ledger_id: checkpoint.checkpoint.origin.clone(),
            node_public_key: [0; 32],
            entry_count: checkpoint.checkpoint.tree_size,
            witnessed,
        };
        Ok(TilesSource {
            fetch,
            header,
            checkpoint,
            next: 0,
            buffered: Vec::new().into_iter(),
        })
    }

    fn fetch_bundle(&mut self) -> Result<Vec<Entry>, Failure> {
        let size = self.checkpoint.checkpoint.tree_size;
        let index = self.next / TILE_WIDTH;
        let width = (size - index * TILE_WIDTH).min(TILE_WIDTH) as u16;
        let tile = TileId::entries(index, width);
        // The specification lets a reader fall back to the full bundle when the partial one
        // has been removed because the full one exists.
        let (bytes, longer) = match self.fetch.fetch(&tile.path()) {
            Ok(Some(bytes)) => (bytes, false),
            Ok(None) if !tile.is_full() => {
                (fetch_required(&mut self.fetch, &tile.full().path())?, true)
            }
            _ => (fetch_required(&mut self.fetch, &tile.path())?, false),
        };
        if bytes.len() > MAX_TILE_BYTES {
            return Err(Failure::new(
                "TILES_MALFORMED",
                Some(self.next),
                format!(
                    "{} is {} bytes, more than any bundle can be",
                    tile.path(),
                    bytes.len()
                ),
            ));
        }
        tiles::decode_bundle(&tile, &bytes, longer)
            .map_err(|e| Failure::new("TILES_MALFORMED", Some(self.next), e.to_string()))
    }
}

impl<F: Fetch> EntrySource for TilesSource<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn names_node_key(&self) -> bool {
        false
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, Failure> {
        if let Some(e) = self.buffered.next() {
            self.next += 1;
            return Ok(Some(e));
        }
        if self.next >= self.checkpoint.checkpoint.tree_size {
            return Ok(None);
        }
        self.buffered = self.fetch_bundle()?.into_iter();
        self.next_entry()
    }

    fn finish(self) -> Result<SignedCheckpoint, Failure> {
        Ok(self.checkpoint)
    }
}

/// The audit path of entry `index` in the tree of `checkpoint`, computed from the hash tiles
/// it needs (about one per 8 levels of the tree), fetched on the way. Not checked here.
pub fn inclusion_proof_from_tiles<F: Fetch>(
    fetch: &mut F,
    checkpoint: &SignedCheckpoint,
    index: u64,
) -> Result<Vec<ledger_core::Hash>, Failure> {
    let size = checkpoint.checkpoint.tree_size;
    let fetch = std::cell::RefCell::new(fetch);
    let subtrees = TileSubtrees(|level: u8, index: u64, min_width: u16| {
        let (full, partial) = tiles::tiles_at_level(size, level);
        let width = if index < full {
            TILE_WIDTH as u16
        } else {
            partial
        };
        if index > full || width < min_width {
            return Err(Failure::new(
                "TILES_MALFORMED",
                None,
                format!(
                    "the proof needs tile ({level}, {index}), which a tree of {size} does not have"
                ),
            ));
        }
        let tile = TileId::hashes(level, index, width);
        let bytes = fetch_required(*fetch.borrow_mut(), &tile.path())?;
        tiles::decode_hash_tile(&tile, &bytes)
            .map_err(|e| Failure::new("TILES_MALFORMED", None, e.to_string()))
    });
    merkle::inclusion_proof(&subtrees, index, size)?
        .map_err(|e| Failure::new("TILES_MALFORMED", None, e.to_string()))
}

/// Whether `entry` is in the tree of the published checkpoint `checkpoint` (verified by the
/// caller against the key in force at its size): its audit path from the hash tiles, checked
/// against the signed root. A server whose tiles disagree with the root proves nothing.
pub fn inclusion_in_tiles<F: Fetch>(
    fetch: &mut F,
    checkpoint: &SignedCheckpoint,
    entry: &Entry,
) -> Result<bool, Failure> {
    let size = checkpoint.checkpoint.tree_size;
    if entry.sequence >= size {
        return Ok(false);
    }
    let proof = inclusion_proof_from_tiles(fetch, checkpoint, entry.sequence)?;
    Ok(merkle::verify_inclusion(
        &entry_leaf_hash(entry),
        entry.sequence,
        size,
        &proof,
        &checkpoint.checkpoint.root,
    )
    .is_ok())
}

impl From<ledger_core::tiles::TileDataError> for Failure {
    fn from(e: ledger_core::tiles::TileDataError) -> Self {
        Failure::new("TILES_MALFORMED", None, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Files(HashMap<String, Vec<u8>>);
    impl Fetch for Files {
        fn fetch(&mut self, path: &str) -> Result<Option<Vec<u8>>, String> {
            Ok(self.0.get(path).cloned())
        }
    }

    #[test]
    fn a_server_without_a_checkpoint_is_unusable_not_a_verdict() {
        let failure = TilesSource::open(Files(HashMap::new())).err().unwrap();
        assert_eq!(failure.code, UNUSABLE);
        let failure = TilesSource::open(Files(HashMap::from([(
            "checkpoint".to_string(),
            b"not a checkpoint".to_vec(),
        )])))
        .err()
        .unwrap();
        assert_eq!(failure.code, "TILES_MALFORMED");
    }
}
