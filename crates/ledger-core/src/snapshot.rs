//! The published snapshot file: everything a resident needs to check the ledger offline.
//!
//! ```text
//! magic      "SUNSHINE-LEDGER-SNAPSHOT-V1\n"            (28 bytes)
//! header     u16 len | ledger_id | 32-byte node public key | u64 entry_count
//!            | u32 len | witnessed checkpoint text (len 0: none yet)
//! entries    entry_count × (u32 len | entry encoding)      (see crate::entry)
//! trailer    u32 len | signed checkpoint text for tree size entry_count
//! ```
//!
//! The witnessed checkpoint is the latest one with the witnesses' quorum when the snapshot was
//! made (its size is at most entry_count). It comes first so a verifier knows, while it folds
//! the entries, at which size to take the root it must match.
//!
//! All integers big-endian. Nothing may follow the trailer. The reader streams: memory does not
//! grow with the number of entries. Reading works on any `std::io::Read`; opening files is the
//! caller's business.

use std::io::{self, Read};

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::entry::{Entry, EntryDecodeError, ENTRY_HEADER_BYTES};
use crate::limits::{MAX_CHECKPOINT_BYTES, MAX_ENVELOPE_BYTES, MAX_ID_BYTES};

pub const MAGIC: &[u8; 28] = b"SUNSHINE-LEDGER-SNAPSHOT-V2\n";
const MAX_ENTRY_FRAME: usize = ENTRY_HEADER_BYTES + MAX_ENVELOPE_BYTES;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub ledger_id: String,
    pub node_public_key: [u8; 32],
    pub entry_count: u64,
    /// The witnessed checkpoint's text, "" when there is none.
    pub witnessed: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("this is not a Sunshine Ledger snapshot (or not version 2): the file does not start with the snapshot signature")]
    BadMagic,
    #[error("the snapshot ends early, in {0}: the file is truncated")]
    Truncated(&'static str),
    #[error("the snapshot header is invalid: {0}")]
    BadHeader(&'static str),
    #[error("entry {index} of the snapshot is {len} bytes, over the limit of {MAX_ENTRY_FRAME}")]
    EntryTooLarge { index: u64, len: usize },
    #[error("entry {index} of the snapshot is malformed: {source}")]
    BadEntry {
        index: u64,
        source: EntryDecodeError,
    },
    #[error("the snapshot's checkpoint is {0} bytes, over the limit of {MAX_CHECKPOINT_BYTES}")]
    CheckpointTooLarge(usize),
    #[error("the snapshot's checkpoint is not UTF-8 text")]
    CheckpointNotText,
    #[error("the snapshot's checkpoint is malformed: {0}")]
    BadCheckpoint(CheckpointError),
    #[error("there are bytes after the snapshot's checkpoint")]
    TrailingBytes,
    #[error("reading the snapshot failed: {0}")]
    Io(#[from] io::Error),
}

pub fn encode_header(header: &Header) -> Vec<u8> {
    assert!(header.ledger_id.len() <= MAX_ID_BYTES);
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(header.ledger_id.len() as u16).to_be_bytes());
    out.extend_from_slice(header.ledger_id.as_bytes());
    out.extend_from_slice(&header.node_public_key);
    out.extend_from_slice(&header.entry_count.to_be_bytes());
    assert!(header.witnessed.len() <= MAX_CHECKPOINT_BYTES);
    out.extend_from_slice(&(header.witnessed.len() as u32).to_be_bytes());
    out.extend_from_slice(header.witnessed.as_bytes());
    out
}

pub fn encode_entry_frame(entry: &Entry, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    entry.encode_into(out);
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

pub fn encode_trailer(checkpoint_text: &str) -> Vec<u8> {
    let mut out = (checkpoint_text.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(checkpoint_text.as_bytes());
    out
}

/// Reads a snapshot as a stream: header, then entries one at a time, then the checkpoint.
pub struct SnapshotReader<R: Read> {
    input: R,
    header: Header,
    read: u64,
    buffer: Vec<u8>,
}

fn read_exact_or<R: Read>(
    input: &mut R,
    buf: &mut [u8],
    part: &'static str,
) -> Result<(), SnapshotError> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => SnapshotError::Truncated(part),
        _ => SnapshotError::Io(e),
    })
}

impl<R: Read> SnapshotReader<R> {
    pub fn open(mut input: R) -> Result<Self, SnapshotError> {
        let mut magic = [0u8; 28];
        input.read_exact(&mut magic).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => SnapshotError::BadMagic,
            _ => SnapshotError::Io(e),
        })?;
        if &magic != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        let mut len = [0u8; 2];
        read_exact_or(&mut input, &mut len, "the header")?;
        let len = u16::from_be_bytes(len) as usize;
        if len == 0 || len > MAX_ID_BYTES {
            return Err(SnapshotError::BadHeader(
                "the ledger id length is out of range",
            ));
        }
        let mut id = vec![0u8; len];
        read_exact_or(&mut input, &mut id, "the header")?;
        let ledger_id = String::from_utf8(id)
            .map_err(|_| SnapshotError::BadHeader("the ledger id is not UTF-8"))?;
        let mut node_public_key = [0u8; 32];
        read_exact_or(&mut input, &mut node_public_key, "the header")?;
        let mut count = [0u8; 8];
        read_exact_or(&mut input, &mut count, "the header")?;
        let mut len = [0u8; 4];
        read_exact_or(&mut input, &mut len, "the header")?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_CHECKPOINT_BYTES {
            return Err(SnapshotError::CheckpointTooLarge(len));
        }
        let mut witnessed = vec![0u8; len];
        read_exact_or(&mut input, &mut witnessed, "the header")?;
        let witnessed =
            String::from_utf8(witnessed).map_err(|_| SnapshotError::CheckpointNotText)?;
        let header = Header {
            ledger_id,
            node_public_key,
            entry_count: u64::from_be_bytes(count),
            witnessed,
        };
        Ok(SnapshotReader {
            input,
            header,
            read: 0,
            buffer: Vec::new(),
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next entry, or `None` once `entry_count` entries have been read.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, SnapshotError> {
        if self.read == self.header.entry_count {
            return Ok(None);
        }
        let index = self.read;
        let mut len = [0u8; 4];
        read_exact_or(&mut self.input, &mut len, "the entries")?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_ENTRY_FRAME {
            return Err(SnapshotError::EntryTooLarge { index, len });
        }
        self.buffer.resize(len, 0);
        read_exact_or(&mut self.input, &mut self.buffer, "the entries")?;
        let entry = Entry::decode(&self.buffer)
            .map_err(|source| SnapshotError::BadEntry { index, source })?;
        self.read += 1;
        Ok(Some(entry))
    }

    /// The final checkpoint; call after the last entry. Refuses trailing bytes.
    pub fn finish(mut self) -> Result<SignedCheckpoint, SnapshotError> {
        while self.next_entry()?.is_some() {}
        let mut len = [0u8; 4];
        read_exact_or(&mut self.input, &mut len, "the checkpoint")?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_CHECKPOINT_BYTES {
            return Err(SnapshotError::CheckpointTooLarge(len));
        }
        let mut text = vec![0u8; len];
        read_exact_or(&mut self.input, &mut text, "the checkpoint")?;
        let text = String::from_utf8(text).map_err(|_| SnapshotError::CheckpointNotText)?;
        let checkpoint = SignedCheckpoint::parse(&text).map_err(SnapshotError::BadCheckpoint)?;
        let mut extra = [0u8; 1];
        match self.input.read(&mut extra)? {
            0 => Ok(checkpoint),
            _ => Err(SnapshotError::TrailingBytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    fn sample() -> Vec<u8> {
        let key = SigningKey::from_bytes(&[5; 32]);
        let header = Header {
            ledger_id: "test/ledger".into(),
            node_public_key: key.verifying_key().to_bytes(),
            entry_count: 2,
            witnessed: String::new(),
        };
        let mut out = encode_header(&header);
        for i in 0..2u64 {
            encode_entry_frame(
                &Entry {
                    sequence: i,
                    prev_hash: [i as u8; 32],
                    timestamp_ms: 1,
                    envelope: vec![1, 2, 3],
                },
                &mut out,
            );
        }
        let cp = Checkpoint {
            origin: "test/ledger".into(),
            tree_size: 2,
            root: [1; 32],
        }
        .sign(&key);
        out.extend_from_slice(&encode_trailer(&cp.text));
        out
    }

    #[test]
    fn reads_what_was_written() {
        let bytes = sample();
        let mut reader = SnapshotReader::open(bytes.as_slice()).unwrap();
        assert_eq!(reader.header().entry_count, 2);
        assert_eq!(reader.next_entry().unwrap().unwrap().sequence, 0);
        assert_eq!(reader.next_entry().unwrap().unwrap().sequence, 1);
        assert!(reader.next_entry().unwrap().is_none());
        assert_eq!(reader.finish().unwrap().checkpoint.tree_size, 2);
    }

    #[test]
    fn truncation_and_trailing_bytes_are_refused() {
        let bytes = sample();
        for cut in [0, 10, 28, 40, 100, bytes.len() - 1] {
            let result = SnapshotReader::open(&bytes[..cut]).and_then(|r| r.finish());
            assert!(result.is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            SnapshotReader::open(longer.as_slice()).unwrap().finish(),
            Err(SnapshotError::TrailingBytes)
        ));
    }

    proptest! {
        #[test]
        fn reading_is_total(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)) {
            let mut bytes = sample();
            for (i, x) in flips {
                let at = i.index(bytes.len());
                bytes[at] ^= x;
            }
            let _ = SnapshotReader::open(bytes.as_slice()).and_then(|r| r.finish());
        }
    }
}
