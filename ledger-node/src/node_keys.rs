//! The node's checkpoint key files and their rotation.
//!
//! ```text
//! <data>/node.key              the key checkpoints are signed with now
//! <data>/node.key.next         a new key, placed by the operator before the admins sign a
//!                              checkpoint_key_rotated entry naming it
//! <data>/node.key.retired-<n>  a key replaced at tree size n (kept: old marks are signed by it)
//! ```
//!
//! The writer takes the new key in when the rotation entry is durable, before it signs the
//! checkpoint that contains it: first a copy of the old key is kept, then `node.key.next` is
//! renamed over `node.key`. A crash between the two leaves the old `node.key` and the
//! `node.key.next` the ledger now names; opening finishes the rotation (`finish_rotation`).

use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};

pub const NODE_KEY_FILE: &str = "node.key";
pub const NEXT_KEY_FILE: &str = "node.key.next";
const RETIRED_PREFIX: &str = "node.key.retired-";

pub fn next_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(NEXT_KEY_FILE)
}

/// The prepared next key, if there is one.
pub fn read_next(data_dir: &Path) -> Option<SigningKey> {
    let path = next_key_path(data_dir);
    path.exists()
        .then(|| ledger_keys::read(&path).ok())
        .flatten()
}

/// Every key this node may have signed a checkpoint with: the current, the next and the
/// retired ones (a high-water mark written just before or after a rotation is signed by one).
pub fn all_public_keys(data_dir: &Path) -> Vec<VerifyingKey> {
    let mut keys = Vec::new();
    let Ok(items) = std::fs::read_dir(data_dir) else {
        return keys;
    };
    for item in items.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        if name == NODE_KEY_FILE || name == NEXT_KEY_FILE || name.starts_with(RETIRED_PREFIX) {
            if let Ok(key) = ledger_keys::read(&item.path()) {
                keys.push(key.verifying_key());
            }
        }
    }
    keys
}

/// Makes `next` the node key, keeping the old one as retired at `tree_size`. Durable.
pub fn adopt(data_dir: &Path, old: &SigningKey, tree_size: u64) -> std::io::Result<()> {
    let retired = data_dir.join(format!("{RETIRED_PREFIX}{tree_size}"));
    match ledger_keys::write_new(&retired, old) {
        Ok(()) => {}
        Err(ledger_keys::KeyFileError::Exists { .. }) => {}
        Err(e) => return Err(std::io::Error::other(e.to_string())),
    }
    std::fs::rename(next_key_path(data_dir), data_dir.join(NODE_KEY_FILE))?;
    std::fs::File::open(data_dir)?.sync_all()
}

/// When the ledger names `named` as its checkpoint key and `have` is another key: the next key
/// file holding `named` means a rotation was cut short by a crash; finish it.
pub fn finish_rotation(
    data_dir: &Path,
    have: &SigningKey,
    named: &VerifyingKey,
    tree_size: u64,
) -> Option<SigningKey> {
    let next = read_next(data_dir)?;
    if &next.verifying_key() != named {
        return None;
    }
    tracing::warn!("完成中断的节点密钥更换 finishing a node key rotation a crash cut short");
    adopt(data_dir, have, tree_size).ok()?;
    Some(next)
}
