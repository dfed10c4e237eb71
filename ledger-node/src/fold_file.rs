//! The node's fold (the ledger's state after its first `size` entries) saved in
//! `<data>/fold`, so a start replays only the entries after it instead of the whole history.
//!
//! ```text
//! "SUNSHINE-LEDGER-FOLD-V1\n"       24 bytes
//! u64 size | root[32] (Merkle, SHA-256) | last entry hash[32] (blake3) | u64 len
//! postcard(State)                     len bytes
//! blake3(everything before)[32]
//! ```
//!
//! The file is derived data: the log is the truth. It is written whole (temporary name, sync,
//! rename, directory sync) by the writer after a durable group, so it only ever names a point
//! the log reached. A file that is missing, damaged, of another version, or whose point the
//! log and tiles do not confirm (`store::FileStore::open`) is ignored and the whole log is
//! replayed; `ledger-node rebuild` always replays it all.

use std::io::Write;
use std::path::Path;

use ledger_core::state::State;
use ledger_core::Hash;

pub const FOLD_FILE: &str = "fold";
const MAGIC: &[u8; 24] = b"SUNSHINE-LEDGER-FOLD-V1\n";
const HEADER_BYTES: usize = 24 + 8 + 32 + 32 + 8;
/// The writer saves the fold again after this many entries: a crash then replays at most
/// about this many (a clean stop saves it at the end, and replays none).
pub const SAVE_EVERY: u64 = 65_536;

/// A fold and the point of the log it covers.
pub struct SavedFold {
    pub size: u64,
    pub root: Hash,
    pub last_hash: Hash,
    pub state: State,
}

/// Writes the fold of the first `size` entries.
pub fn save(
    data_dir: &Path,
    size: u64,
    root: &Hash,
    last_hash: &Hash,
    state: &State,
) -> anyhow::Result<()> {
    assert_eq!(
        state.next_sequence, size,
        "the fold covers exactly `size` entries"
    );
    let body = postcard::to_allocvec(state)?;
    let mut bytes = Vec::with_capacity(HEADER_BYTES + body.len() + 32);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&size.to_be_bytes());
    bytes.extend_from_slice(root);
    bytes.extend_from_slice(last_hash);
    bytes.extend_from_slice(&(body.len() as u64).to_be_bytes());
    bytes.extend_from_slice(&body);
    let check = blake3::hash(&bytes);
    bytes.extend_from_slice(check.as_bytes());
    let path = data_dir.join(FOLD_FILE);
    let tmp = data_dir.join(format!("{FOLD_FILE}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, &path)?;
    crate::log::sync_parent_dir(&path)?;
    Ok(())
}

/// Reads the saved fold: `Ok(None)` when there is none, `Err(why)` when it is unusable.
pub fn load(data_dir: &Path) -> Result<Option<SavedFold>, String> {
    let bytes = match std::fs::read(data_dir.join(FOLD_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    decode(&bytes).map(Some)
}

/// Decodes the bytes of a saved fold (for tools and tests).
pub fn load_bytes(bytes: &[u8]) -> Result<SavedFold, String> {
    decode(bytes)
}

fn decode(bytes: &[u8]) -> Result<SavedFold, String> {
    if bytes.len() < HEADER_BYTES + 32 || &bytes[..24] != MAGIC {
        return Err("not a saved fold of this version".into());
    }
    let (content, check) = bytes.split_at(bytes.len() - 32);
    if blake3::hash(content).as_bytes() != check {
        return Err("its checksum does not match (damaged or cut short)".into());
    }
    let u64_at = |at: usize| u64::from_be_bytes(content[at..at + 8].try_into().expect("8 bytes"));
    let hash_at = |at: usize| -> Hash { content[at..at + 32].try_into().expect("32 bytes") };
    let size = u64_at(24);
    let len = u64_at(96);
    if len != (content.len() - HEADER_BYTES) as u64 {
        return Err("its length field does not match the file".into());
    }
    let state: State = postcard::from_bytes(&content[HEADER_BYTES..]).map_err(|e| e.to_string())?;
    if state.next_sequence != size {
        return Err("its state does not cover the size it names".into());
    }
    Ok(SavedFold {
        size,
        root: hash_at(32),
        last_hash: hash_at(64),
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_fold_loads_and_any_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        let state = State {
            next_sequence: 7,
            last_timestamp_ms: 42,
            ..State::new()
        };
        save(dir.path(), 7, &[1; 32], &[2; 32], &state).unwrap();
        let loaded = load(dir.path()).unwrap().unwrap();
        assert_eq!(
            (loaded.size, loaded.root, loaded.last_hash),
            (7, [1; 32], [2; 32])
        );
        assert_eq!(loaded.state, state);
        let bytes = std::fs::read(dir.path().join(FOLD_FILE)).unwrap();
        for i in (0..bytes.len()).step_by(3) {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            assert!(decode(&damaged).is_err(), "a flip at {i} was not noticed");
        }
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err());
        }
    }
}
