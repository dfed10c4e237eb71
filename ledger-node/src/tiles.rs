//! The Merkle tree on disk, as C2SP `tlog-tiles` hash tiles under `<data>/tiles/` (the same
//! layout a static web server publishes, see `ledger_core::tiles`).
//!
//! A full tile is written once, as a file of 8,192 bytes, when its 256th hash arrives, and is
//! never changed. The partial tile of each level (the tree's right edge: at most 255 hashes per
//! level) lives in memory in an [`Edge`]. The writer appends to its own copy of the edge and
//! publishes it after the group is durable, so readers never see hashes of entries that are not.
//!
//! Tiles are derived data: the log is the truth. On start the replay passes every leaf through
//! the same code as an append, which checks each full tile already on disk against the log and
//! rewrites one that differs (or is missing, or was cut short by a crash: tile files are not
//! synced, since the log they come from is). A tile that cannot be written stays in memory
//! (`Edge::unwritten`) and is retried on the next append, so proofs never fail for it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use ledger_core::merkle::{self, PerfectSubtrees};
use ledger_core::tiles::{
    decode_hash_tile, encode_hash_tile, TileDataError, TileId, MAX_TILE_LEVEL, TILE_HEIGHT,
    TILE_WIDTH,
};
use ledger_core::Hash;

/// The directory under the data directory that holds the hash tiles.
pub const TILES_DIR: &str = "tiles";

#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("哈希瓦片 {path} 无法读取 / cannot read hash tile {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "哈希瓦片已损坏 / a hash tile is damaged: {0}; restart the node to repair it from the log"
    )]
    Damaged(#[from] TileDataError),
    #[error("tile ({level}, {index}) with {width} hashes is beyond the tree of {size} entries")]
    Beyond {
        level: u8,
        index: u64,
        width: u16,
        size: u64,
    },
}

/// The complete nodes inside one tile: `nodes[r]` holds the roots of its aligned runs of `2^r`
/// hashes (r = 0 is the hashes themselves), so any perfect subtree inside it is one lookup.
type TileNodes = Vec<Vec<Hash>>;

/// Adds `hash` to a tile's nodes, completing the nodes above it it finishes.
fn push_node(nodes: &mut TileNodes, hash: Hash) {
    if nodes.is_empty() {
        nodes.resize(TILE_HEIGHT as usize, Vec::new());
    }
    nodes[0].push(hash);
    for r in 1..TILE_HEIGHT as usize {
        let below = &nodes[r - 1];
        if !below.len().is_multiple_of(2) || below.len() / 2 == nodes[r].len() {
            break;
        }
        let node = merkle::node_hash(&below[below.len() - 2], &below[below.len() - 1]);
        nodes[r].push(node);
    }
}

fn nodes_of(hashes: &[Hash]) -> TileNodes {
    let mut nodes = TileNodes::new();
    for h in hashes {
        push_node(&mut nodes, *h);
    }
    nodes
}

/// The right edge of the tree: per tile level, how many full tiles there are and the nodes of
/// the partial one after them.
#[derive(Clone, Debug, Default)]
pub struct Edge {
    size: u64,
    full: Vec<u64>,
    partial: Vec<TileNodes>,
    /// Full tiles whose file could not be written yet (normally none).
    unwritten: BTreeMap<(u8, u64), Arc<Vec<Hash>>>,
}

impl Edge {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes of the partial tile of `level` (empty when there is none).
    fn partial_hashes(&self, level: u8) -> &[Hash] {
        self.partial
            .get(usize::from(level))
            .and_then(|n| n.first())
            .map_or(&[], |h| h.as_slice())
    }

    fn level(&mut self, level: u8) -> (&mut u64, &mut TileNodes) {
        let l = usize::from(level);
        if self.full.len() <= l {
            self.full.resize(l + 1, 0);
            self.partial.resize(l + 1, TileNodes::new());
        }
        (&mut self.full[l], &mut self.partial[l])
    }

    /// Appends a leaf hash; returns the tiles it completed, lowest level first.
    fn push_leaf(&mut self, leaf: Hash) -> Vec<(u8, u64, Vec<Hash>)> {
        let mut completed = Vec::new();
        let mut carry = leaf;
        for level in 0..=MAX_TILE_LEVEL {
            let (full, partial) = self.level(level);
            push_node(partial, carry);
            if partial[0].len() as u64 != TILE_WIDTH {
                break;
            }
            let nodes = std::mem::take(partial);
            carry = merkle::node_hash(
                &nodes[TILE_HEIGHT as usize - 1][0],
                &nodes[TILE_HEIGHT as usize - 1][1],
            );
            completed.push((level, *full, nodes.into_iter().next().expect("level 0")));
            *full += 1;
        }
        self.size += 1;
        completed
    }
}

/// Level-0 tiles' nodes kept after a read (proofs for recent entries read the same few tiles
/// again and again). Bounded: at most `TILE_CACHE` of them (16 KiB each), oldest out first.
/// Tiles of level 1 and up are kept for good: one per 65,536 entries (256 KiB at a million).
const TILE_CACHE: usize = 256;

#[derive(Default)]
struct TileCache {
    tiles: std::collections::HashMap<(u8, u64), Arc<TileNodes>>,
    level0_order: std::collections::VecDeque<u64>,
}

impl TileCache {
    fn get(&self, key: (u8, u64)) -> Option<Arc<TileNodes>> {
        self.tiles.get(&key).cloned()
    }

    fn put(&mut self, key: (u8, u64), nodes: Arc<TileNodes>) {
        if self.tiles.insert(key, nodes).is_none() && key.0 == 0 {
            self.level0_order.push_back(key.1);
        }
        while self.level0_order.len() > TILE_CACHE {
            if let Some(old) = self.level0_order.pop_front() {
                self.tiles.remove(&(0, old));
            }
        }
    }
}

/// The hash tiles of one ledger: files for full tiles, the published edge for the rest.
pub struct TileStore {
    dir: PathBuf,
    published: RwLock<Arc<Edge>>,
    cache: RwLock<TileCache>,
}

impl TileStore {
    pub fn new(data_dir: &Path) -> TileStore {
        TileStore {
            dir: data_dir.join(TILES_DIR),
            published: RwLock::new(Arc::new(Edge::default())),
            cache: RwLock::new(TileCache::default()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, level: u8, index: u64) -> PathBuf {
        self.dir
            .join(TileId::hashes(level, index, TILE_WIDTH as u16).path())
    }

    /// The writer's step: appends `leaf` to `edge` (the writer's own copy), writing every tile
    /// it completes and retrying any that could not be written before.
    pub fn append(&self, edge: &mut Edge, leaf: Hash) {
        for (level, index, hashes) in edge.push_leaf(leaf) {
            edge.unwritten.insert((level, index), Arc::new(hashes));
        }
        if edge.unwritten.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut edge.unwritten);
        for ((level, index), hashes) in pending {
            if let Err(e) = self.put(level, index, &hashes) {
                tracing::error!(level, index, error = %e, "cannot write a hash tile; kept in memory and retried");
                edge.unwritten.insert((level, index), hashes);
            }
        }
    }

    /// Writes a full tile unless the file already holds exactly it (a restart passes every
    /// tile through here: this is where a damaged or stale tile is found and replaced).
    fn put(&self, level: u8, index: u64, hashes: &[Hash]) -> std::io::Result<()> {
        let path = self.file(level, index);
        let bytes = encode_hash_tile(hashes);
        match std::fs::read(&path) {
            Ok(existing) if existing == bytes => return Ok(()),
            Ok(_) => {
                tracing::warn!(path = %path.display(), "哈希瓦片与日志不符，已按日志重写 / a hash tile did not match the log; rewritten from it")
            }
            Err(_) => {}
        }
        std::fs::create_dir_all(path.parent().expect("a tile path has a parent"))?;
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        drop(file);
        std::fs::rename(&tmp, &path)
    }

    /// The edge of the tree of `size` leaves from the tile files, without reading the log
    /// except for the leaves of the partial level-0 tile (`leaf(sequence)`). `None` when a tile
    /// it needs is missing or has the wrong length (the caller then rebuilds from the log).
    pub fn edge_at<E>(
        &self,
        size: u64,
        mut leaf: impl FnMut(u64) -> Result<Hash, E>,
    ) -> Result<Option<Edge>, E> {
        let mut edge = Edge {
            size,
            ..Edge::default()
        };
        for level in 0..=MAX_TILE_LEVEL {
            let (full, width) = ledger_core::tiles::tiles_at_level(size, level);
            if full == 0 && width == 0 {
                break;
            }
            let whole = |index: u64| {
                std::fs::metadata(self.file(level, index))
                    .is_ok_and(|m| m.len() == ledger_core::tiles::FULL_TILE_BYTES as u64)
            };
            if !(0..full).all(whole) {
                return Ok(None);
            }
            let mut partial = TileNodes::new();
            for i in 0..u64::from(width) {
                let below = full * TILE_WIDTH + i;
                let hash = if level == 0 {
                    leaf(below)?
                } else {
                    let path = self.file(level - 1, below);
                    let Ok(bytes) = std::fs::read(&path) else {
                        return Ok(None);
                    };
                    let id = TileId::hashes(level - 1, below, TILE_WIDTH as u16);
                    let Ok(hashes) = decode_hash_tile(&id, &bytes) else {
                        return Ok(None);
                    };
                    merkle::root_of_leaves(&hashes)
                };
                push_node(&mut partial, hash);
            }
            let (f, p) = edge.level(level);
            *f = full;
            *p = partial;
        }
        Ok(Some(edge))
    }

    /// Makes `edge` what readers see. Call only once every leaf in it is durable in the log.
    pub fn publish(&self, edge: &Edge) {
        let mut published = self.published.write().expect("tiles lock");
        assert!(edge.size >= published.size, "the tree never shrinks");
        *published = Arc::new(edge.clone());
    }

    /// The published edge (what a reader's proofs are computed against).
    pub fn edge(&self) -> Arc<Edge> {
        self.published.read().expect("tiles lock").clone()
    }

    /// Hashes of tile (`level`, `index`) with at least `min_width` of them, as of `edge`.
    pub fn read(
        &self,
        edge: &Edge,
        level: u8,
        index: u64,
        min_width: u16,
    ) -> Result<Vec<Hash>, TileError> {
        let l = usize::from(level);
        let full = edge.full.get(l).copied().unwrap_or(0);
        if index < full {
            if let Some(hashes) = edge.unwritten.get(&(level, index)) {
                return Ok(hashes.to_vec());
            }
            let path = self.file(level, index);
            let bytes = std::fs::read(&path).map_err(|source| TileError::Read { path, source })?;
            let hashes =
                decode_hash_tile(&TileId::hashes(level, index, TILE_WIDTH as u16), &bytes)?;
            self.check_against_parent(edge, level, index, &hashes)?;
            return Ok(hashes);
        }
        let partial = edge.partial_hashes(level);
        if index == full && partial.len() >= usize::from(min_width) && min_width > 0 {
            return Ok(partial.to_vec());
        }
        Err(TileError::Beyond {
            level,
            index,
            width: min_width,
            size: edge.size,
        })
    }

    /// A full tile read from its file must hash to its place in the tile above (or in the edge,
    /// which was built from the log or confirmed against a signed root): a file changed on disk
    /// after it was written is refused, never served or used in a proof (adversary review).
    fn check_against_parent(
        &self,
        edge: &Edge,
        level: u8,
        index: u64,
        hashes: &[Hash],
    ) -> Result<(), TileError> {
        let root = merkle::root_of_leaves(hashes);
        let parent = level + 1;
        let (parent_index, position) = (index / TILE_WIDTH, (index % TILE_WIDTH) as usize);
        let parent_full = edge.full.get(usize::from(parent)).copied().unwrap_or(0);
        let expected = if parent_index < parent_full {
            self.full_nodes(edge, parent, parent_index)?[0][position]
        } else {
            match edge.partial_hashes(parent).get(position) {
                Some(h) => *h,
                None => return Ok(()),
            }
        };
        if root != expected {
            let path = self.file(level, index);
            tracing::error!(path = %path.display(), "哈希瓦片与日志不符 / a hash tile does not match the tree; restart with `ledger-node rebuild` to rewrite it from the log");
            return Err(TileError::Damaged(TileDataError::HashTileLength {
                path: path.display().to_string(),
                got: hashes.len() * 32,
                want: hashes.len() * 32,
                width: hashes.len() as u16,
            }));
        }
        Ok(())
    }

    /// The nodes of full tile (`level`, `index`) of `edge`'s tree, from the cache or its file.
    fn full_nodes(&self, edge: &Edge, level: u8, index: u64) -> Result<Arc<TileNodes>, TileError> {
        if let Some(nodes) = self.cache.read().expect("tile cache").get((level, index)) {
            return Ok(nodes);
        }
        let hashes = self.read(edge, level, index, TILE_WIDTH as u16)?;
        let nodes = Arc::new(nodes_of(&hashes));
        self.cache
            .write()
            .expect("tile cache")
            .put((level, index), nodes.clone());
        Ok(nodes)
    }

    /// The root of perfect subtree (`level`, `index`) of `edge`'s tree (leaves
    /// `[index << level, (index + 1) << level)`): one lookup in a tile's nodes.
    pub fn perfect(&self, edge: &Edge, level: u32, index: u64) -> Result<Hash, TileError> {
        let beyond = || TileError::Beyond {
            level: (level / TILE_HEIGHT) as u8,
            index,
            width: 0,
            size: edge.size,
        };
        let tile_level = u8::try_from(level / TILE_HEIGHT).map_err(|_| beyond())?;
        if tile_level > MAX_TILE_LEVEL {
            return Err(beyond());
        }
        let r = level % TILE_HEIGHT;
        let per_tile = TILE_WIDTH >> r;
        let (tile, k) = (index / per_tile, (index % per_tile) as usize);
        let full = edge.full.get(usize::from(tile_level)).copied().unwrap_or(0);
        if tile < full {
            let nodes = self.full_nodes(edge, tile_level, tile)?;
            return Ok(nodes[r as usize][k]);
        }
        edge.partial
            .get(usize::from(tile_level))
            .filter(|_| tile == full)
            .and_then(|nodes| nodes.get(r as usize))
            .and_then(|n| n.get(k))
            .copied()
            .ok_or_else(beyond)
    }

    /// Perfect subtrees of the published tree, read from tiles: one view of the tree (the
    /// edge is taken once), for the many lookups of one proof.
    pub fn subtrees(&self) -> EdgeSubtrees<'_> {
        let edge = self.edge();
        EdgeSubtrees { store: self, edge }
    }
}

pub struct EdgeSubtrees<'a> {
    store: &'a TileStore,
    edge: Arc<Edge>,
}

impl PerfectSubtrees for EdgeSubtrees<'_> {
    type Error = TileError;
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, TileError> {
        self.store.perfect(&self.edge, level, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::merkle::{leaf_hash, CompactTree};

    fn leaf(i: u64) -> Hash {
        leaf_hash(&i.to_be_bytes())
    }

    fn filled(store: &TileStore, n: u64) -> (Edge, CompactTree) {
        let mut edge = Edge::default();
        let mut tree = CompactTree::new();
        for i in 0..n {
            store.append(&mut edge, leaf(i));
            tree.append(leaf(i), |_, _, _| {});
        }
        store.publish(&edge);
        (edge, tree)
    }

    #[test]
    fn proofs_come_from_files_and_the_edge() {
        let dir = tempfile::tempdir().unwrap();
        let store = TileStore::new(dir.path());
        let n = 256 * 256 + 300;
        let (_, tree) = filled(&store, n);
        assert!(store.file(0, 0).exists() && store.file(1, 0).exists());
        assert!(!store.file(0, 257).exists(), "only full tiles are files");
        let leaves: Vec<Hash> = (0..n).map(leaf).collect();
        assert_eq!(merkle::root(&store.subtrees(), n).unwrap(), tree.root());
        for (index, size) in [(0, n), (n - 1, n), (65_535, 65_537), (7, 9)] {
            assert_eq!(
                merkle::inclusion_proof(&store.subtrees(), index, size).unwrap(),
                merkle::inclusion_proof(&leaves[..], index, size).unwrap()
            );
        }
    }

    #[test]
    fn a_damaged_or_missing_tile_is_rewritten_from_the_log_on_replay() {
        let dir = tempfile::tempdir().unwrap();
        let n = 256 * 3 + 5;
        let root = filled(&TileStore::new(dir.path()), n).1.root();
        let store = TileStore::new(dir.path());
        std::fs::write(store.file(0, 1), [9u8; 8192]).unwrap();
        std::fs::write(store.file(0, 2), [1u8; 100]).unwrap();
        std::fs::remove_file(store.file(0, 0)).unwrap();
        filled(&store, n);
        assert_eq!(merkle::root(&store.subtrees(), n).unwrap(), root);
        assert_eq!(std::fs::read(store.file(0, 1)).unwrap().len(), 8192);
    }

    #[test]
    fn the_edge_is_rebuilt_from_the_files_and_the_last_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let store = TileStore::new(dir.path());
        for n in [0u64, 1, 255, 256, 257, 65_536, 65_536 + 256 * 3 + 7] {
            let (edge, tree) = filled(&store, n);
            let rebuilt = store
                .edge_at(n, |i| Ok::<_, ()>(leaf(i)))
                .unwrap()
                .expect("every tile is there");
            assert_eq!(rebuilt.full, edge.full[..rebuilt.full.len()], "{n}");
            assert_eq!(
                rebuilt.partial,
                edge.partial[..rebuilt.partial.len()],
                "{n}"
            );
            store.publish(&rebuilt);
            assert_eq!(
                merkle::root(&store.subtrees(), n).unwrap(),
                tree.root(),
                "{n}"
            );
        }
        std::fs::remove_file(store.file(0, 3)).unwrap();
        assert!(store
            .edge_at(65_536 + 256 * 3 + 7, |i| Ok::<_, ()>(leaf(i)))
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_tile_changed_on_disk_after_it_was_written_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = TileStore::new(dir.path());
        let n = 65_536 + 300;
        filled(&store, n);
        let mut bytes = std::fs::read(store.file(0, 0)).unwrap();
        bytes[128] ^= 1;
        std::fs::write(store.file(0, 0), bytes).unwrap();
        let edge = store.edge();
        assert!(matches!(
            store.read(&edge, 0, 0, 256),
            Err(TileError::Damaged(_))
        ));
        assert!(merkle::inclusion_proof(&store.subtrees(), 5, n).is_err());
        // The other tiles still serve.
        assert!(store.read(&edge, 0, 1, 256).is_ok());
    }

    #[test]
    fn readers_see_only_what_was_published() {
        let dir = tempfile::tempdir().unwrap();
        let store = TileStore::new(dir.path());
        let (mut edge, _) = filled(&store, 10);
        store.append(&mut edge, leaf(10));
        let published = store.edge();
        assert_eq!(published.size(), 10);
        assert!(matches!(
            store.read(&published, 0, 0, 11),
            Err(TileError::Beyond { .. })
        ));
        assert_eq!(store.read(&published, 0, 0, 10).unwrap().len(), 10);
    }

    #[test]
    fn a_tile_that_cannot_be_written_is_kept_and_retried() {
        let dir = tempfile::tempdir().unwrap();
        let store = TileStore::new(dir.path());
        // A file where the tiles directory should be: every write fails.
        std::fs::write(store.dir(), b"in the way").unwrap();
        let (mut edge, tree) = filled(&store, 300);
        assert_eq!(merkle::root(&store.subtrees(), 300).unwrap(), tree.root());
        std::fs::remove_file(store.dir()).unwrap();
        store.append(&mut edge, leaf(300));
        assert!(edge.unwritten.is_empty());
        assert!(store.file(0, 0).exists());
    }
}
