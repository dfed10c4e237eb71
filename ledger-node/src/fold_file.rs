//! The node's fold (the ledger's state after its first `size` entries) saved in
//! `<data>/fold`, so a start replays only the entries after it instead of the whole history.
//!
//! ```text
//! "SUNSHINE-LEDGER-FOLD-V1\n"       24 bytes
//! u64 size | root[32] (Merkle, SHA-256) | last entry hash[32] (blake3)
//! | signature[64] | u64 len
//! postcard(State)                     len bytes
//! blake3(everything before)[32]
//! ```
//!
//! The signature is the node key's (Ed25519) over `"sunshine-ledger fold v1\n" || size || root
//! || last hash || blake3(postcard(State))`, a message no checkpoint note can be (a note starts
//! with its origin line). So whoever can write the data directory but holds no node key cannot
//! make a start skip the signature checks of entries it appended (every entry after the signed
//! mark is replayed with them), nor feed the rules a state of their own.
//!
//! The file is derived data: the log is the truth. It is written whole (temporary name, sync,
//! rename, directory sync) by the writer after a durable group, so it only ever names a point
//! the log reached. A file that is missing, damaged, of another version, or whose point the
//! log and tiles do not confirm (`store::FileStore::open`) is ignored and the whole log is
//! replayed; `ledger-node rebuild` always replays it all.

use std::io::Write;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use ledger_core::state::State;
use ledger_core::Hash;

pub const FOLD_FILE: &str = "fold";
const MAGIC: &[u8; 24] = b"SUNSHINE-LEDGER-FOLD-V1\n";
const HEADER_BYTES: usize = 24 + 8 + 32 + 32 + 64 + 8;
const SIGNING_CONTEXT: &[u8] = b"sunshine-ledger fold v1\n";
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

fn signed_message(size: u64, root: &Hash, last_hash: &Hash, body: &[u8]) -> Vec<u8> {
    let mut message = SIGNING_CONTEXT.to_vec();
    message.extend_from_slice(&size.to_be_bytes());
    message.extend_from_slice(root);
    message.extend_from_slice(last_hash);
    message.extend_from_slice(blake3::hash(body).as_bytes());
    message
}

/// Writes the fold of the first `size` entries, signed with the node key.
pub fn save(
    data_dir: &Path,
    key: &SigningKey,
    size: u64,
    root: &Hash,
    last_hash: &Hash,
    state: &State,
) -> anyhow::Result<()> {
    assert_eq!(
        state.next_sequence, size,
        "the fold covers exactly `size` entries"
    );
    write(data_dir, key, size, root, last_hash, &encode(state)?)
}

/// The state's bytes as saved (taken under the state's read lock; the rest needs no lock).
pub fn encode(state: &State) -> anyhow::Result<Vec<u8>> {
    Ok(postcard::to_allocvec(state)?)
}

/// Writes an [`encode`]d state of the first `size` entries, signed with the node key.
pub fn write(
    data_dir: &Path,
    key: &SigningKey,
    size: u64,
    root: &Hash,
    last_hash: &Hash,
    body: &[u8],
) -> anyhow::Result<()> {
    let signature = key.sign(&signed_message(size, root, last_hash, body));
    let mut bytes = Vec::with_capacity(HEADER_BYTES + body.len() + 32);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&size.to_be_bytes());
    bytes.extend_from_slice(root);
    bytes.extend_from_slice(last_hash);
    bytes.extend_from_slice(&signature.to_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_be_bytes());
    bytes.extend_from_slice(body);
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

/// Reads the saved fold: `Ok(None)` when there is none, `Err(why)` when it is unusable or
/// not signed by one of `keys` (the node's keys, past ones included).
pub fn load(data_dir: &Path, keys: &[VerifyingKey]) -> Result<Option<SavedFold>, String> {
    let bytes = match std::fs::read(data_dir.join(FOLD_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    decode(&bytes, keys).map(Some)
}

/// Decodes the bytes of a saved fold (for tools and tests).
pub fn load_bytes(bytes: &[u8], keys: &[VerifyingKey]) -> Result<SavedFold, String> {
    decode(bytes, keys)
}

fn decode(bytes: &[u8], keys: &[VerifyingKey]) -> Result<SavedFold, String> {
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
    let (root, last_hash) = (hash_at(32), hash_at(64));
    let signature = Signature::from_bytes(content[96..160].try_into().expect("64 bytes"));
    let len = u64_at(160);
    if len != (content.len() - HEADER_BYTES) as u64 {
        return Err("its length field does not match the file".into());
    }
    let body = &content[HEADER_BYTES..];
    let message = signed_message(size, &root, &last_hash, body);
    if !keys
        .iter()
        .any(|k| k.verify_strict(&message, &signature).is_ok())
    {
        return Err("it is not signed by this node's key".into());
    }
    let state: State = postcard::from_bytes(body).map_err(|e| e.to_string())?;
    if state.next_sequence != size {
        return Err("its state does not cover the size it names".into());
    }
    Ok(SavedFold {
        size,
        root,
        last_hash,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_fold_loads_and_any_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_bytes(&[5; 32]);
        let keys = [key.verifying_key()];
        assert!(load(dir.path(), &keys).unwrap().is_none());
        let state = State {
            next_sequence: 7,
            last_timestamp_ms: 42,
            ..State::new()
        };
        save(dir.path(), &key, 7, &[1; 32], &[2; 32], &state).unwrap();
        let loaded = load(dir.path(), &keys).unwrap().unwrap();
        assert_eq!(
            (loaded.size, loaded.root, loaded.last_hash),
            (7, [1; 32], [2; 32])
        );
        assert_eq!(loaded.state, state);
        let bytes = std::fs::read(dir.path().join(FOLD_FILE)).unwrap();
        for i in (0..bytes.len()).step_by(3) {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            assert!(
                decode(&damaged, &keys).is_err(),
                "a flip at {i} was not noticed"
            );
        }
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], &keys).is_err());
        }
        // Someone without the node key cannot make one, even with a correct checksum.
        let stranger = SigningKey::from_bytes(&[6; 32]);
        save(dir.path(), &stranger, 7, &[1; 32], &[2; 32], &state).unwrap();
        let why = load(dir.path(), &keys).err().unwrap();
        assert!(why.contains("not signed"), "{why}");
    }
}
