//! Log entries and the hash chain.
//!
//! An entry is what the node adds to the log for one accepted transaction: its sequence
//! number, the previous entry's hash, the node's clock, and the signed envelope's bytes. The
//! encoding is fixed-width big-endian with one length prefix, so it has exactly one reading:
//!
//! ```text
//! u64 sequence | 32 bytes prev_hash | i64 timestamp_ms | u32 envelope_len | envelope
//! ```
//!
//! The entry hash is blake3 `derive_key("sunshine-ledger v1 entry", encoding)`. Entry 0's
//! `prev_hash` is 32 zero bytes.

use crate::hashing::{derive, ENTRY_CONTEXT};
use crate::limits::MAX_ENVELOPE_BYTES;
use crate::Hash;

/// `prev_hash` of entry 0.
pub const GENESIS_PREV_HASH: Hash = [0u8; 32];

/// Bytes before the envelope in an encoded entry.
pub const ENTRY_HEADER_BYTES: usize = 8 + 32 + 8 + 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub sequence: u64,
    pub prev_hash: Hash,
    pub timestamp_ms: i64,
    pub envelope: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryDecodeError {
    #[error("the entry is {0} bytes, shorter than its {ENTRY_HEADER_BYTES}-byte header")]
    TooShort(usize),
    #[error("the entry's envelope is {0} bytes, over the limit of {MAX_ENVELOPE_BYTES}")]
    EnvelopeTooLarge(usize),
    #[error("the entry says its envelope is {declared} bytes but {actual} follow")]
    LengthMismatch { declared: usize, actual: usize },
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENTRY_HEADER_BYTES + self.envelope.len());
        self.encode_into(&mut out);
        out
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        assert!(
            self.envelope.len() <= MAX_ENVELOPE_BYTES,
            "envelope over limit reached encoding"
        );
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out.extend_from_slice(&(self.envelope.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.envelope);
    }

    /// Decodes exactly one entry occupying all of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryDecodeError> {
        if bytes.len() < ENTRY_HEADER_BYTES {
            return Err(EntryDecodeError::TooShort(bytes.len()));
        }
        let (header, envelope) = bytes.split_at(ENTRY_HEADER_BYTES);
        let sequence = u64::from_be_bytes(header[0..8].try_into().expect("8 bytes"));
        let prev_hash: Hash = header[8..40].try_into().expect("32 bytes");
        let timestamp_ms = i64::from_be_bytes(header[40..48].try_into().expect("8 bytes"));
        let declared = u32::from_be_bytes(header[48..52].try_into().expect("4 bytes")) as usize;
        if declared > MAX_ENVELOPE_BYTES {
            return Err(EntryDecodeError::EnvelopeTooLarge(declared));
        }
        if declared != envelope.len() {
            return Err(EntryDecodeError::LengthMismatch {
                declared,
                actual: envelope.len(),
            });
        }
        Ok(Entry {
            sequence,
            prev_hash,
            timestamp_ms,
            envelope: envelope.to_vec(),
        })
    }

    pub fn hash(&self) -> Hash {
        let mut hasher = blake3::Hasher::new_derive_key(ENTRY_CONTEXT);
        hasher.update(&self.sequence.to_be_bytes());
        hasher.update(&self.prev_hash);
        hasher.update(&self.timestamp_ms.to_be_bytes());
        hasher.update(&(self.envelope.len() as u32).to_be_bytes());
        hasher.update(&self.envelope);
        *hasher.finalize().as_bytes()
    }
}

/// The ledger fingerprint: what a community prints on its notice board and every `--trust`
/// takes. It is derived from the genesis entry (entry 0: the ledger id, name, admin keys,
/// policy and the node's checkpoint key), so a ledger made anew with another genesis, even
/// with the community's real node key and ledger id, has another fingerprint. Eight groups of
/// four hex digits (128 bits: two geneses with one fingerprint take about 2^64 tries, out of an
/// operator's reach; 96 bits, 2^48, were not), never mistaken for a key fingerprint (five groups).
pub fn ledger_fingerprint(genesis: &Entry) -> String {
    let h = crate::hashing::derive(LEDGER_FINGERPRINT_CONTEXT, &[&genesis.encode()]);
    let hex = hex::encode_upper(&h[..16]);
    (0..8)
        .map(|i| &hex[i * 4..i * 4 + 4])
        .collect::<Vec<_>>()
        .join("-")
}

const LEDGER_FINGERPRINT_CONTEXT: &str = "sunshine-ledger v2 ledger fingerprint";

/// Hash of an already encoded entry (same value as [`Entry::hash`]).
pub fn hash_encoded(encoded: &[u8]) -> Hash {
    derive(ENTRY_CONTEXT, &[encoded])
}

/// What is wrong with a link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("entry has sequence number {found}, expected {expected}")]
    Sequence { expected: u64, found: u64 },
    #[error("entry {sequence} does not link to the entry before it (its prev_hash is {found}, the previous entry hashes to {expected})")]
    PrevHash {
        sequence: u64,
        expected: String,
        found: String,
    },
    #[error(
        "entry {sequence} is timestamped {found} ms, before the entry before it ({previous} ms)"
    )]
    TimeWentBack {
        sequence: u64,
        previous: i64,
        found: i64,
    },
}

/// Follows the chain: the state needed to check that the next entry links to the last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub next_sequence: u64,
    pub last_hash: Hash,
    pub last_timestamp_ms: i64,
}

impl Default for ChainHead {
    fn default() -> Self {
        ChainHead {
            next_sequence: 0,
            last_hash: GENESIS_PREV_HASH,
            last_timestamp_ms: i64::MIN,
        }
    }
}

impl ChainHead {
    /// Checks that `entry` is the next link and returns its hash; the head moves on only when
    /// the link is good.
    pub fn link(&mut self, entry: &Entry) -> Result<Hash, ChainError> {
        let hash = entry.hash();
        self.link_hashed(entry, hash)
    }

    /// [`ChainHead::link`] for a caller that has already computed `hash = entry.hash()` (the
    /// log scan hashes each record once, to check it against the stored hash).
    pub fn link_hashed(&mut self, entry: &Entry, hash: Hash) -> Result<Hash, ChainError> {
        debug_assert_eq!(hash, entry.hash());
        if entry.sequence != self.next_sequence {
            return Err(ChainError::Sequence {
                expected: self.next_sequence,
                found: entry.sequence,
            });
        }
        if entry.prev_hash != self.last_hash {
            return Err(ChainError::PrevHash {
                sequence: entry.sequence,
                expected: hex::encode(self.last_hash),
                found: hex::encode(entry.prev_hash),
            });
        }
        if entry.timestamp_ms < self.last_timestamp_ms {
            return Err(ChainError::TimeWentBack {
                sequence: entry.sequence,
                previous: self.last_timestamp_ms,
                found: entry.timestamp_ms,
            });
        }
        self.next_sequence += 1;
        self.last_hash = hash;
        self.last_timestamp_ms = entry.timestamp_ms;
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn encode_decode_round_trips(sequence: u64, prev in any::<[u8; 32]>(), ts: i64,
                                     envelope in proptest::collection::vec(any::<u8>(), 0..300)) {
            let entry = Entry { sequence, prev_hash: prev, timestamp_ms: ts, envelope };
            let encoded = entry.encode();
            prop_assert_eq!(Entry::decode(&encoded).unwrap(), entry.clone());
            prop_assert_eq!(hash_encoded(&encoded), entry.hash());
        }

        #[test]
        fn decode_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(entry) = Entry::decode(&bytes) {
                prop_assert_eq!(entry.encode(), bytes);
            }
        }

        #[test]
        fn any_changed_byte_changes_the_hash(envelope in proptest::collection::vec(any::<u8>(), 1..100),
                                             index: prop::sample::Index, flip in 1u8..=255) {
            let entry = Entry { sequence: 7, prev_hash: [9; 32], timestamp_ms: 1, envelope };
            let mut encoded = entry.encode();
            let i = index.index(encoded.len());
            encoded[i] ^= flip;
            prop_assert_ne!(hash_encoded(&encoded), entry.hash());
        }
    }

    #[test]
    fn chain_refuses_gaps_bad_links_and_time_going_back() {
        let e0 = Entry {
            sequence: 0,
            prev_hash: GENESIS_PREV_HASH,
            timestamp_ms: 10,
            envelope: vec![1],
        };
        let mut head = ChainHead::default();
        let h0 = head.link(&e0).unwrap();
        let bad_seq = Entry {
            sequence: 2,
            prev_hash: h0,
            timestamp_ms: 10,
            envelope: vec![],
        };
        assert!(matches!(
            head.link(&bad_seq),
            Err(ChainError::Sequence {
                expected: 1,
                found: 2
            })
        ));
        let bad_link = Entry {
            sequence: 1,
            prev_hash: [1; 32],
            timestamp_ms: 10,
            envelope: vec![],
        };
        assert!(matches!(
            head.link(&bad_link),
            Err(ChainError::PrevHash { .. })
        ));
        let back = Entry {
            sequence: 1,
            prev_hash: h0,
            timestamp_ms: 9,
            envelope: vec![],
        };
        assert!(matches!(
            head.link(&back),
            Err(ChainError::TimeWentBack { .. })
        ));
        let good = Entry {
            sequence: 1,
            prev_hash: h0,
            timestamp_ms: 10,
            envelope: vec![],
        };
        assert_eq!(head.link(&good).unwrap(), good.hash());
        assert_eq!(head.next_sequence, 2);
    }

    #[test]
    fn oversized_or_mislengthed_entries_are_refused() {
        assert_eq!(Entry::decode(&[0; 10]), Err(EntryDecodeError::TooShort(10)));
        let mut encoded = Entry {
            sequence: 0,
            prev_hash: [0; 32],
            timestamp_ms: 0,
            envelope: vec![1, 2],
        }
        .encode();
        encoded.push(3);
        assert_eq!(
            Entry::decode(&encoded),
            Err(EntryDecodeError::LengthMismatch {
                declared: 2,
                actual: 3
            })
        );
        encoded[48..52].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Entry::decode(&encoded),
            Err(EntryDecodeError::EnvelopeTooLarge(_))
        ));
    }
}
