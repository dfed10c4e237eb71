//! The log as C2SP `tlog-tiles` (https://c2sp.org/tlog-tiles): the names, the bytes and the
//! hashes of hash tiles and entry bundles, so that the node that writes them, the verifier
//! that reads them and any static server in between agree on one layout.
//!
//! - A *hash tile* at level `L`, index `N` holds up to 256 consecutive Merkle tree hashes of
//!   subtrees of `256^L` leaves (RFC 6962 `MTH(D[(N·256+i)·256^L : (N·256+i+1)·256^L])`), 32
//!   bytes each; level 0 holds the leaf hashes. It is served at `tile/<L>/<N>[.p/<W>]`.
//! - An *entry bundle* `tile/entries/<N>[.p/<W>]` holds entries `[N·256, N·256+W)`, each as a
//!   big-endian u16 length and the entry's encoding (PROTOCOL.md §2): the leaf data, so that
//!   entry `i` of bundle `N` hashes to hash `i` of level-0 tile `N`.
//! - A tile of width `W < 256` is *partial*: the right edge of a tree whose size is not a
//!   multiple of 256^(L+1). A partial tile is a prefix of the full tile it becomes.
//!
//! Every parse here is total: a path or a bundle from an untrusted server gives an error,
//! never a panic, and nothing is sized by a number the input claims.

use crate::entry::{Entry, EntryDecodeError, ENTRY_HEADER_BYTES};
use crate::limits::MAX_ENVELOPE_BYTES;
use crate::merkle::{self, PerfectSubtrees};
use crate::Hash;

/// Levels of the Merkle tree one tile spans (fixed by the specification).
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile, and entries in a full bundle.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// Bytes of a full hash tile.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * 32;
/// Tile levels a 64-bit tree size can need (256^8 = 2^64).
pub const MAX_TILE_LEVEL: u8 = 7;
/// The largest entry a bundle can carry (its length is a u16); every ledger entry fits, and
/// this is checked at compile time.
pub const MAX_BUNDLED_ENTRY_BYTES: usize = u16::MAX as usize;
const _: () = assert!(ENTRY_HEADER_BYTES + MAX_ENVELOPE_BYTES <= MAX_BUNDLED_ENTRY_BYTES);
/// The checkpoint's path under the tiles prefix.
pub const CHECKPOINT_PATH: &str = "checkpoint";

/// Which tile: a level of hashes, or the entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    Hashes(u8),
    Entries,
}

/// One tile: its kind, index and width (1..=256; 256 is full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    pub kind: TileKind,
    pub index: u64,
    pub width: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    #[error("not a tile path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])")]
    NotATile,
    #[error("the tile level must be 0 to {MAX_TILE_LEVEL} without leading zeros")]
    BadLevel,
    #[error("the tile index must be 3-digit groups, all but the last starting with x")]
    BadIndex,
    #[error("a partial tile's width must be 1 to 255 without leading zeros")]
    BadWidth,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileDataError {
    #[error("tile {path} is {got} bytes; a tile of width {width} is {want}")]
    HashTileLength {
        path: String,
        got: usize,
        want: usize,
        width: u16,
    },
    #[error("entry bundle {path} ends inside entry {position}")]
    BundleTruncated { path: String, position: u16 },
    #[error("entry bundle {path} holds more than its {width} entries")]
    BundleTooLong { path: String, width: u16 },
    #[error("entry {position} of bundle {path} is malformed: {source}")]
    BadEntry {
        path: String,
        position: u16,
        source: EntryDecodeError,
    },
    #[error("entry {position} of bundle {path} says it is entry {claims}, not {expected}")]
    WrongSequence {
        path: String,
        position: u16,
        claims: u64,
        expected: u64,
    },
}

impl TileId {
    pub fn hashes(level: u8, index: u64, width: u16) -> TileId {
        assert!(level <= MAX_TILE_LEVEL && (1..=TILE_WIDTH as u16).contains(&width));
        TileId {
            kind: TileKind::Hashes(level),
            index,
            width,
        }
    }

    pub fn entries(index: u64, width: u16) -> TileId {
        assert!((1..=TILE_WIDTH as u16).contains(&width));
        TileId {
            kind: TileKind::Entries,
            index,
            width,
        }
    }

    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The same tile, full.
    pub fn full(&self) -> TileId {
        TileId {
            width: TILE_WIDTH as u16,
            ..*self
        }
    }

    /// The path under the tiles prefix, e.g. `tile/0/x001/x234/067.p/8`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes(l) => l.to_string(),
            TileKind::Entries => "entries".into(),
        };
        let mut path = format!("tile/{level}/{}", index_path(self.index));
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses a path made by [`TileId::path`], and only such a path (one tile, one name).
    pub fn parse(path: &str) -> Result<TileId, TilePathError> {
        let rest = path.strip_prefix("tile/").ok_or(TilePathError::NotATile)?;
        let (level, rest) = rest.split_once('/').ok_or(TilePathError::NotATile)?;
        let kind = match level {
            "entries" => TileKind::Entries,
            l => TileKind::Hashes(
                parse_small(l, MAX_TILE_LEVEL as u64).ok_or(TilePathError::BadLevel)? as u8,
            ),
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, w)) => {
                let w = parse_small(w, TILE_WIDTH - 1).ok_or(TilePathError::BadWidth)?;
                if w == 0 {
                    return Err(TilePathError::BadWidth);
                }
                (index, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        Ok(TileId {
            kind,
            index: parse_index(index).ok_or(TilePathError::BadIndex)?,
            width,
        })
    }

    /// The entries (for a bundle) or the level-`8L` Merkle nodes (for a hash tile) it holds.
    pub fn span(&self) -> std::ops::Range<u64> {
        let start = self.index.saturating_mul(TILE_WIDTH);
        start..start.saturating_add(u64::from(self.width))
    }
}

/// A decimal number with no leading zeros, at most `max`.
fn parse_small(text: &str, max: u64) -> Option<u64> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok().filter(|n| *n <= max)
}

fn index_path(index: u64) -> String {
    let mut groups = Vec::new();
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn parse_index(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    // u64::MAX has 20 digits: 7 groups.
    if groups.len() > 7 {
        return None;
    }
    let last = groups.len() - 1;
    let mut n: u64 = 0;
    for (i, g) in groups.iter().enumerate() {
        let digits = if i == last { *g } else { g.strip_prefix('x')? };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u64 = digits.parse().ok()?;
        n = n.checked_mul(1000)?.checked_add(value)?;
    }
    // One name per tile: "x000/001" would be tile 1 under a second name.
    (index_path(n) == text).then_some(n)
}

/// `256^level` leaves under each hash of a level-`level` tile, or `None` past 2^64.
fn leaves_per_hash(level: u8) -> Option<u64> {
    1u64.checked_shl(TILE_HEIGHT * u32::from(level))
}

/// The tiles of level `level` in a tree of `size` leaves: how many are full, and the width of
/// the partial one after them (0: none).
pub fn tiles_at_level(size: u64, level: u8) -> (u64, u16) {
    let Some(per) = leaves_per_hash(level) else {
        return (0, 0);
    };
    let hashes = size / per;
    (hashes / TILE_WIDTH, (hashes % TILE_WIDTH) as u16)
}

/// Every tile of a tree of `size` leaves that is partial (what a server must have for a
/// checkpoint of that size besides full tiles), hash tiles level by level, then the bundle.
pub fn partial_tiles(size: u64) -> Vec<TileId> {
    let mut tiles = Vec::new();
    for level in 0..=MAX_TILE_LEVEL {
        let (full, width) = tiles_at_level(size, level);
        if width > 0 {
            tiles.push(TileId::hashes(level, full, width));
        }
    }
    let (full, width) = tiles_at_level(size, 0);
    if width > 0 {
        tiles.push(TileId::entries(full, width));
    }
    tiles
}

/// The hash tiles of a tree of `size` leaves that a client needs for the roots, inclusion and
/// consistency proofs at that size, most of them full: all of them, tile level by level.
/// Listing them is for a mirror; a client fetches only those its proof touches.
pub fn hash_tiles(size: u64) -> impl Iterator<Item = TileId> {
    (0..=MAX_TILE_LEVEL).flat_map(move |level| {
        let (full, width) = tiles_at_level(size, level);
        (0..full)
            .map(move |i| TileId::hashes(level, i, TILE_WIDTH as u16))
            .chain((width > 0).then(|| TileId::hashes(level, full, width)))
    })
}

/// The bytes of a hash tile.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    assert!(!hashes.is_empty() && hashes.len() as u64 <= TILE_WIDTH);
    hashes.concat()
}

/// A hash tile's hashes, when `bytes` is exactly a tile of `tile.width`.
pub fn decode_hash_tile(tile: &TileId, bytes: &[u8]) -> Result<Vec<Hash>, TileDataError> {
    let want = usize::from(tile.width) * 32;
    if bytes.len() != want {
        return Err(TileDataError::HashTileLength {
            path: tile.path(),
            got: bytes.len(),
            want,
            width: tile.width,
        });
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32-byte chunks"))
        .collect())
}

/// Appends one entry to a bundle being built.
pub fn push_bundle_entry(entry: &Entry, bundle: &mut Vec<u8>) {
    let start = bundle.len();
    bundle.extend_from_slice(&[0, 0]);
    entry.encode_into(bundle);
    let len = bundle.len() - start - 2;
    assert!(len <= MAX_BUNDLED_ENTRY_BYTES, "checked at compile time");
    bundle[start..start + 2].copy_from_slice(&(len as u16).to_be_bytes());
}

/// The entries of bundle `tile`: exactly `tile.width` of them, each the entry its position
/// names. A full bundle may stand in for a partial one (the specification lets a client fall
/// back to it); then only its first `width` entries are read.
pub fn decode_bundle(
    tile: &TileId,
    bytes: &[u8],
    may_be_longer: bool,
) -> Result<Vec<Entry>, TileDataError> {
    let path = tile.path();
    let mut entries = Vec::new();
    let mut rest = bytes;
    for position in 0..tile.width {
        let (len, body) = match rest {
            [a, b, body @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), body),
            _ => return Err(TileDataError::BundleTruncated { path, position }),
        };
        if body.len() < len {
            return Err(TileDataError::BundleTruncated { path, position });
        }
        let entry = Entry::decode(&body[..len]).map_err(|source| TileDataError::BadEntry {
            path: path.clone(),
            position,
            source,
        })?;
        let expected = tile.span().start + u64::from(position);
        if entry.sequence != expected {
            return Err(TileDataError::WrongSequence {
                path,
                position,
                claims: entry.sequence,
                expected,
            });
        }
        entries.push(entry);
        rest = &body[len..];
    }
    if !rest.is_empty() && !may_be_longer {
        return Err(TileDataError::BundleTooLong {
            path,
            width: tile.width,
        });
    }
    Ok(entries)
}

/// Where a perfect subtree's hash is found in the tiles: `perfect(level, index)` is the root of
/// `2^(level mod 8)` consecutive hashes of tile level `level / 8`, starting at `start`.
pub fn locate_perfect(level: u32, index: u64) -> Option<(u8, u64, u64, u64)> {
    let tile_level = level / TILE_HEIGHT;
    let below = level % TILE_HEIGHT;
    let first = index.checked_shl(below)?;
    let count = 1u64 << below;
    Some((
        u8::try_from(tile_level).ok()?,
        first / TILE_WIDTH,
        first % TILE_WIDTH,
        count,
    ))
}

/// Perfect subtrees read from hash tiles through `read(level, index, min_width)`, which returns
/// a tile of that level and index with at least `min_width` hashes (a longer one is fine).
/// Proofs and roots then cost O(log n) tile reads, and at most 255 hashes per read.
pub struct TileSubtrees<F>(pub F);

impl<F, E> PerfectSubtrees for TileSubtrees<F>
where
    F: Fn(u8, u64, u16) -> Result<Vec<Hash>, E>,
    E: From<TileDataError>,
{
    type Error = E;
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, E> {
        let (tile_level, tile, start, count) =
            locate_perfect(level, index).expect("a subtree of a 64-bit tree");
        let end = (start + count) as usize;
        let hashes = (self.0)(tile_level, tile, end as u16)?;
        if hashes.len() < end {
            let id = TileId::hashes(tile_level, tile, end as u16);
            return Err(E::from(TileDataError::HashTileLength {
                path: id.path(),
                got: hashes.len() * 32,
                want: end * 32,
                width: end as u16,
            }));
        }
        Ok(merkle::root_of_leaves(&hashes[start as usize..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, CompactTree};
    use std::collections::HashMap;

    #[test]
    fn paths_are_the_specifications() {
        assert_eq!(
            TileId::hashes(0, 1_234_067, 256).path(),
            "tile/0/x001/x234/067"
        );
        assert_eq!(
            TileId::hashes(3, 1_234_067, 8).path(),
            "tile/3/x001/x234/067.p/8"
        );
        assert_eq!(TileId::entries(0, 256).path(), "tile/entries/000");
        assert_eq!(TileId::entries(1000, 1).path(), "tile/entries/x001/000.p/1");
        for id in [
            TileId::hashes(0, 0, 1),
            TileId::hashes(7, u64::MAX, 255),
            TileId::entries(999, 256),
            TileId::entries(1_000_000, 17),
        ] {
            assert_eq!(TileId::parse(&id.path()), Ok(id), "{}", id.path());
        }
    }

    #[test]
    fn every_other_name_for_a_tile_is_refused() {
        for bad in [
            "tile/0/1",
            "tile/0/0001",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/00/000",
            "tile/8/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/08",
            "tile/0/000.p/",
            "tile/-1/000",
            "tile/entries/",
            "tile/entries/x1/000",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/x999/x999/x999/x999/x999/x999/999",
            "tile/0/000/../../etc",
            "checkpoint",
            "tile/0/+00",
        ] {
            assert!(TileId::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn widths_follow_the_specifications_example() {
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
        // level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
        // 17, and one partial level 2 tile of width 1."
        assert_eq!(tiles_at_level(70_000, 0), (273, 112));
        assert_eq!(tiles_at_level(70_000, 1), (1, 17));
        assert_eq!(tiles_at_level(70_000, 2), (0, 1));
        assert_eq!(tiles_at_level(70_000, 3), (0, 0));
        // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
        // tile of width 1."
        assert_eq!(
            partial_tiles(256),
            vec![TileId::hashes(1, 0, 1)],
            "no partial level 0 tile and no partial bundle at 256"
        );
        assert_eq!(tiles_at_level(u64::MAX, 7), (0, 255));
    }

    fn tiles_of(leaves: &[Hash]) -> HashMap<(u8, u64), Vec<Hash>> {
        let mut tiles: HashMap<(u8, u64), Vec<Hash>> = HashMap::new();
        let mut level_hashes = leaves.to_vec();
        for level in 0..=MAX_TILE_LEVEL {
            if level_hashes.is_empty() {
                break;
            }
            for (i, chunk) in level_hashes.chunks(TILE_WIDTH as usize).enumerate() {
                tiles.insert((level, i as u64), chunk.to_vec());
            }
            level_hashes = level_hashes
                .chunks_exact(TILE_WIDTH as usize)
                .map(merkle::root_of_leaves)
                .collect();
        }
        tiles
    }

    #[test]
    fn proofs_from_tiles_equal_proofs_from_leaves() {
        let leaves: Vec<Hash> = (0..70_000u64)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        let tiles = tiles_of(&leaves);
        let src = TileSubtrees(|level: u8, index: u64, width: u16| {
            let t = tiles.get(&(level, index)).cloned().unwrap_or_default();
            if t.len() < width as usize {
                return Err(TileDataError::BundleTooLong {
                    path: "x".into(),
                    width,
                });
            }
            Ok::<_, TileDataError>(t)
        });
        for size in [1u64, 255, 256, 257, 65_535, 65_536, 65_537, 70_000] {
            let mut tree = CompactTree::new();
            for l in &leaves[..size as usize] {
                tree.append(*l, |_, _, _| {});
            }
            assert_eq!(
                merkle::root(&src, size).unwrap(),
                tree.root(),
                "root at {size}"
            );
            for index in [0, size / 2, size - 1] {
                assert_eq!(
                    merkle::inclusion_proof(&src, index, size).unwrap(),
                    merkle::inclusion_proof(&leaves[..], index, size).unwrap()
                );
            }
            assert_eq!(
                merkle::consistency_proof(&src, size / 3, size).unwrap(),
                merkle::consistency_proof(&leaves[..], size / 3, size).unwrap()
            );
        }
    }

    fn entry(sequence: u64, envelope_len: usize) -> Entry {
        Entry {
            sequence,
            prev_hash: [sequence as u8; 32],
            timestamp_ms: 1_700_000_000_000 + sequence as i64,
            envelope: vec![7; envelope_len],
        }
    }

    #[test]
    fn bundles_round_trip_and_hash_to_level_zero() {
        let entries: Vec<Entry> = (256..260).map(|s| entry(s, (s as usize) * 3)).collect();
        let mut bundle = Vec::new();
        for e in &entries {
            push_bundle_entry(e, &mut bundle);
        }
        let id = TileId::entries(1, 4);
        let decoded = decode_bundle(&id, &bundle, false).unwrap();
        assert_eq!(decoded, entries);
        for e in &decoded {
            assert_eq!(merkle::leaf_hash(&e.encode()), merkle::entry_leaf_hash(e));
        }
        // A longer (full) bundle stands in for the partial one only when the caller allows.
        let shorter = TileId::entries(1, 3);
        assert_eq!(
            decode_bundle(&shorter, &bundle, true).unwrap(),
            entries[..3]
        );
        assert!(matches!(
            decode_bundle(&shorter, &bundle, false),
            Err(TileDataError::BundleTooLong { .. })
        ));
        // The largest entry the rules allow fits.
        let mut big = Vec::new();
        push_bundle_entry(&entry(0, MAX_ENVELOPE_BYTES), &mut big);
        assert_eq!(
            decode_bundle(&TileId::entries(0, 1), &big, false)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_damaged_bundle_is_an_error_never_a_panic() {
        let mut bundle = Vec::new();
        for s in 0..3 {
            push_bundle_entry(&entry(s, 40), &mut bundle);
        }
        let id = TileId::entries(0, 3);
        for cut in 0..bundle.len() {
            assert!(
                decode_bundle(&id, &bundle[..cut], false).is_err(),
                "cut at {cut}"
            );
        }
        // Each entry must be the one its position names: bundles cannot be reordered.
        let mut swapped = Vec::new();
        for s in [1, 0, 2] {
            push_bundle_entry(&entry(s, 40), &mut swapped);
        }
        assert!(matches!(
            decode_bundle(&id, &swapped, false),
            Err(TileDataError::WrongSequence {
                position: 0,
                claims: 1,
                ..
            })
        ));
        for byte in [0u8, 0xff] {
            let mut flipped = bundle.clone();
            flipped[1] = byte;
            assert!(decode_bundle(&id, &flipped, false).is_err());
        }
    }

    #[test]
    fn hash_tiles_must_be_exactly_their_width() {
        let id = TileId::hashes(0, 0, 2);
        assert!(decode_hash_tile(&id, &[0; 64]).is_ok());
        assert!(decode_hash_tile(&id, &[0; 63]).is_err());
        assert!(decode_hash_tile(&id, &[0; 96]).is_err());
    }
}
