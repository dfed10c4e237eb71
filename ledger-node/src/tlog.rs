//! The log for readers who do not need the node: C2SP `tlog-tiles` (checkpoint, hash tiles,
//! entry bundles), served on the HTTP port (`/checkpoint`, `/tile/...`) and, with
//! `--tiles-dir`, kept in a directory that any static web server, CDN or object-storage sync
//! can publish. A reader checks everything it fetches against the checkpoint (`verifier
//! verify --tiles`), so whoever serves the files needs no trust.
//!
//! Hash tiles come from the tile store (`tiles.rs`); entry bundles are cut from the log on
//! request (they would double the disk if stored); the checkpoint is the latest one the
//! witnesses cosigned (the head's while the genesis names no witnesses).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ledger_core::checkpoint::SignedCheckpoint;
use ledger_core::tiles::{self, TileId, TileKind, CHECKPOINT_PATH};

use crate::engine::{EngineError, Shared};

/// The checkpoint readers of the tiles start from: the witnessed one, or the head's when the
/// genesis names no witnesses. `None` while witnesses are named but none has cosigned yet.
pub fn published_checkpoint(shared: &Shared) -> Option<String> {
    let witnessed = shared.witnessed_text();
    if !witnessed.is_empty() {
        return Some(witnessed);
    }
    let named = shared
        .state
        .read()
        .expect("state lock")
        .ledger
        .as_ref()
        .is_some_and(|l| l.witness_quorum > 0);
    (!named).then(|| shared.head().checkpoint.clone())
}

/// The bytes of a tile of the durable log, or `None` when the log does not reach it yet.
pub fn tile_bytes(shared: &Shared, tile: &TileId) -> Result<Option<Vec<u8>>, EngineError> {
    match tile.kind {
        TileKind::Hashes(level) => {
            let (full, width) = tiles::tiles_at_level(shared.store.tree_size(), level);
            let present = tile.index < full || (tile.index == full && tile.width <= width);
            if !present {
                return Ok(None);
            }
            let hashes = shared.store.hash_tile(level, tile.index, tile.width)?;
            Ok(Some(tiles::encode_hash_tile(
                &hashes[..usize::from(tile.width)],
            )))
        }
        TileKind::Entries => {
            let span = tile.span();
            if span.end > shared.head().size {
                return Ok(None);
            }
            let mut bundle = Vec::new();
            for sequence in span {
                let (entry, _) = shared.read_entry(sequence)?;
                tiles::push_bundle_entry(&entry, &mut bundle);
            }
            Ok(Some(bundle))
        }
    }
}

/// How often the tiles directory is brought up to the published checkpoint.
const EXPORT_EVERY: Duration = Duration::from_secs(1);

/// Keeps `dir` a complete tlog-tiles copy of the published checkpoint. Every file is written
/// whole (temporary name, sync, rename) before the checkpoint that needs it, so a static
/// server never offers a checkpoint whose tiles are not there. Partial tiles of a checkpoint
/// are removed two checkpoints later (a reader may still hold the previous one).
pub struct Exporter {
    shared: Arc<Shared>,
    dir: PathBuf,
    exported: Option<SignedCheckpoint>,
    previous_partials: Vec<TileId>,
    current_partials: Vec<TileId>,
}

impl Exporter {
    /// Refuses a directory that holds another ledger's tiles.
    pub fn new(shared: Arc<Shared>, dir: &Path) -> anyhow::Result<Exporter> {
        std::fs::create_dir_all(dir)?;
        let exported = match std::fs::read_to_string(dir.join(CHECKPOINT_PATH)) {
            Ok(text) => match SignedCheckpoint::parse(&text) {
                Ok(cp) if cp.checkpoint.origin == shared.ledger_id
                    && cp.checkpoint.tree_size <= shared.head().size =>
                {
                    Some(cp)
                }
                _ => anyhow::bail!(
                    "瓦片目录 {} 里是另一个账本（或更长的日志）的检查点，节点不会覆盖它；请换一个空目录。\nThe tiles directory {} holds a checkpoint of another ledger (or of a longer log); the node will not write over it. Give an empty directory",
                    dir.display(),
                    dir.display()
                ),
            },
            Err(_) => None,
        };
        Ok(Exporter {
            shared,
            dir: dir.to_path_buf(),
            exported,
            previous_partials: Vec::new(),
            current_partials: Vec::new(),
        })
    }

    /// Runs until the process ends, on its own thread (file writes and syncs block).
    pub fn run(mut self) {
        loop {
            if let Err(e) = self.export_once() {
                tracing::error!(dir = %self.dir.display(), error = %e, "瓦片目录更新失败，稍后重试 / could not update the tiles directory; retrying");
            }
            std::thread::sleep(EXPORT_EVERY);
        }
    }

    /// Brings the directory up to the published checkpoint; returns its size.
    pub fn export_once(&mut self) -> anyhow::Result<u64> {
        let Some(text) = published_checkpoint(&self.shared) else {
            return Ok(0);
        };
        if self.exported.as_ref().is_some_and(|cp| cp.text == text) {
            return Ok(self.exported.as_ref().map_or(0, |c| c.checkpoint.tree_size));
        }
        let cp = SignedCheckpoint::parse(&text)?;
        let old = self.exported.as_ref().map_or(0, |c| c.checkpoint.tree_size);
        let new = cp.checkpoint.tree_size;
        for tile in new_full_tiles(old, new) {
            self.write_tile(&tile)?;
        }
        let partials = tiles::partial_tiles(new);
        for tile in &partials {
            self.write_tile(tile)?;
        }
        write_whole(&self.dir.join(CHECKPOINT_PATH), text.as_bytes())?;
        for stale in std::mem::take(&mut self.previous_partials) {
            if !partials.contains(&stale) {
                let _ = std::fs::remove_file(self.dir.join(stale.path()));
            }
        }
        self.previous_partials = std::mem::replace(&mut self.current_partials, partials);
        self.exported = Some(cp);
        Ok(new)
    }

    fn write_tile(&self, tile: &TileId) -> anyhow::Result<()> {
        let path = self.dir.join(tile.path());
        if tile.is_full() && path.exists() {
            return Ok(());
        }
        let bytes = tile_bytes(&self.shared, tile)?
            .ok_or_else(|| anyhow::anyhow!("tile {} is beyond the log", tile.path()))?;
        write_whole(&path, &bytes)
    }
}

/// The full tiles and bundles a tree of `new` entries has and one of `old` does not.
fn new_full_tiles(old: u64, new: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    for level in 0..=tiles::MAX_TILE_LEVEL {
        let (from, _) = tiles::tiles_at_level(old, level);
        let (to, _) = tiles::tiles_at_level(new, level);
        out.extend((from..to).map(|i| TileId::hashes(level, i, tiles::TILE_WIDTH as u16)));
    }
    let (from, _) = tiles::tiles_at_level(old, 0);
    let (to, _) = tiles::tiles_at_level(new, 0);
    out.extend((from..to).map(|i| TileId::entries(i, tiles::TILE_WIDTH as u16)));
    out
}

/// Writes a file so that it is either absent or whole: temporary name, sync, rename.
fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::create_dir_all(path.parent().expect("a path in the tiles directory"))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().expect("a file name").to_string_lossy()
    ));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_data()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_full_tiles_are_exactly_those_completed_between_two_sizes() {
        assert!(new_full_tiles(0, 255).is_empty());
        assert_eq!(
            new_full_tiles(255, 256),
            vec![TileId::hashes(0, 0, 256), TileId::entries(0, 256)]
        );
        let grown = new_full_tiles(256, 65_536 + 256);
        assert_eq!(
            grown.iter().filter(|t| t.kind == TileKind::Entries).count(),
            256
        );
        assert!(grown.contains(&TileId::hashes(1, 0, 256)));
        assert!(!grown.contains(&TileId::hashes(0, 0, 256)));
    }
}
