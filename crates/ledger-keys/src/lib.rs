//! Key files. A secret key file is two lines of text:
//!
//! ```text
//! sunshine-ledger secret key v1
//! <64 hex digits: the Ed25519 seed>
//! ```
//!
//! It is created with mode 0600, and a key file that anyone but its owner can read is refused
//! with an explanation: a finance office's key lets its holder move public money.

#![forbid(unsafe_code)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ledger_core::signing::KeyId;

const HEADER: &str = "sunshine-ledger secret key v1";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path} already exists; refusing to overwrite a key (move it away first)")]
    Exists { path: PathBuf },
    #[error("key file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}` and make sure nobody copied it")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{path} is not a Sunshine Ledger secret key file")]
    Format { path: PathBuf },
}

/// A new random key from the operating system's generator.
pub fn generate() -> SigningKey {
    SigningKey::generate(&mut rand_core::OsRng)
}

/// Writes a new key file readable only by its owner. Never overwrites.
pub fn write_new(path: &Path, key: &SigningKey) -> Result<(), KeyFileError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            KeyFileError::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let text = format!("{HEADER}\n{}\n", hex::encode(key.to_bytes()));
    // The key's directory entry is made durable too: a ledger signed with a key whose file a
    // power loss took away could not be served again.
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .and_then(|_| sync_parent_dir(path))
        .map_err(|source| KeyFileError::Write {
            path: path.to_path_buf(),
            source,
        })
}

fn sync_parent_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => std::fs::File::open(".")?.sync_all(),
    }
}

/// Reads a key file, refusing one that others can read.
pub fn read(path: &Path) -> Result<SigningKey, KeyFileError> {
    let metadata = fs::metadata(path).map_err(|source| KeyFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::TooOpen {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    let _ = metadata;
    let text = fs::read_to_string(path).map_err(|source| KeyFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lines = text.lines();
    let format = || KeyFileError::Format {
        path: path.to_path_buf(),
    };
    if lines.next() != Some(HEADER) {
        return Err(format());
    }
    let seed: [u8; 32] = lines
        .next()
        .and_then(|l| hex::decode(l.trim()).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(format)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// How a key is shown to people: its fingerprint.
pub fn fingerprint(key: &SigningKey) -> String {
    KeyId::of(&key.verifying_key()).fingerprint()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_key_reads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = generate();
        write_new(&path, &key).unwrap();
        assert_eq!(read(&path).unwrap().to_bytes(), key.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(matches!(
            write_new(&path, &key),
            Err(KeyFileError::Exists { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        write_new(&path, &generate()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, KeyFileError::TooOpen { mode: 0o644, .. }));
        assert!(err.to_string().contains("chmod 600"));
    }

    #[test]
    fn garbage_is_not_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(&path).unwrap().write_all(b"hello\n").unwrap();
        assert!(matches!(read(&path), Err(KeyFileError::Format { .. })));
    }
}
