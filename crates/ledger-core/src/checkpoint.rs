//! Signed tree heads as C2SP `tlog-checkpoint` notes with C2SP `signed-note` signatures, so
//! existing signed-note tools can check them.
//!
//! ```text
//! <origin>\n
//! <tree size, decimal>\n
//! <root hash, standard base64>\n
//! \n
//! — <key name> <base64(key hash[4] || Ed25519 signature[64])>\n
//! ```
//!
//! The signature covers the note text: the three lines above the blank line, each with its
//! newline. The key hash is the first four bytes of `SHA-256(key name || "\n" || 0x01 ||
//! public key)` (0x01 = Ed25519). A note may carry several signature lines (key rotation,
//! witnesses); a verifier ignores the ones it has no key for.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::limits::{MAX_CHECKPOINT_BYTES, MAX_CHECKPOINT_SIGNATURES, MAX_ID_BYTES};
use crate::signing::{sign_raw, verify_raw};
use crate::Hash;

/// Signed-note signature type of Ed25519 keys.
const ED25519_TYPE: u8 = 0x01;
/// Every signature line starts with an em dash and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub tree_size: u64,
    pub root: Hash,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub key_name: String,
    pub key_hash: [u8; 4],
    pub signature: [u8; 64],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub signatures: Vec<NoteSignature>,
    /// The exact note text that was parsed, and signed.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("the checkpoint is {0} bytes, over the limit of {MAX_CHECKPOINT_BYTES}")]
    TooLarge(usize),
    #[error("the checkpoint has no blank line between the note and its signatures")]
    NoSignatureSeparator,
    #[error("the checkpoint note must have an origin, a tree size and a root hash line")]
    MissingLines,
    #[error("the checkpoint origin is empty or over {MAX_ID_BYTES} bytes")]
    BadOrigin,
    #[error("the tree size {0:?} is not a decimal number without leading zeros")]
    BadTreeSize(String),
    #[error("the root hash {0:?} is not base64 of 32 bytes")]
    BadRoot(String),
    #[error("signature line {0} is malformed")]
    BadSignatureLine(usize),
    #[error("the checkpoint has more than {MAX_CHECKPOINT_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("the checkpoint has no signature by key {key_name:?}")]
    NotSignedBy { key_name: String },
    #[error("the signature by key {key_name:?} does not verify")]
    BadSignature { key_name: String },
}

/// First four bytes of `SHA-256(name || "\n" || 0x01 || public key)`.
pub fn key_hash(key_name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut sha = Sha256::new();
    sha.update(key_name.as_bytes());
    sha.update(b"\n");
    sha.update([ED25519_TYPE]);
    sha.update(key.as_bytes());
    sha.finalize()[..4].try_into().expect("4 bytes")
}

/// The signed-note verifier key string: `<name>+<hex key hash>+<base64(0x01 || key)>`, the
/// form signed-note tools take.
pub fn verifier_key_string(key_name: &str, key: &VerifyingKey) -> String {
    let mut raw = vec![ED25519_TYPE];
    raw.extend_from_slice(key.as_bytes());
    format!(
        "{}+{}+{}",
        key_name,
        hex::encode(key_hash(key_name, key)),
        BASE64.encode(raw)
    )
}

impl Checkpoint {
    /// The note text: what the signatures cover.
    pub fn note_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            BASE64.encode(self.root)
        )
    }

    /// Signs the checkpoint; the key name is the origin (the ledger id).
    pub fn sign(&self, key: &SigningKey) -> SignedCheckpoint {
        let text = self.note_text();
        let key_name = self.origin.clone();
        let signature = sign_raw(key, text.as_bytes());
        let key_hash = key_hash(&key_name, &key.verifying_key());
        let sig = NoteSignature {
            key_name,
            key_hash,
            signature,
        };
        let full = format!("{}\n{}", text, sig.line());
        SignedCheckpoint {
            checkpoint: self.clone(),
            signatures: vec![sig],
            text: full,
        }
    }
}

impl NoteSignature {
    fn line(&self) -> String {
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.key_hash);
        blob.extend_from_slice(&self.signature);
        format!(
            "{}{} {}\n",
            SIGNATURE_PREFIX,
            self.key_name,
            BASE64.encode(blob)
        )
    }
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint. Total: any input gives a value or an error.
    pub fn parse(text: &str) -> Result<SignedCheckpoint, CheckpointError> {
        if text.len() > MAX_CHECKPOINT_BYTES {
            return Err(CheckpointError::TooLarge(text.len()));
        }
        let split = text
            .find("\n\n")
            .ok_or(CheckpointError::NoSignatureSeparator)?;
        let (note, rest) = (&text[..split + 1], &text[split + 2..]);
        let mut lines = note.lines();
        let origin = lines.next().ok_or(CheckpointError::MissingLines)?;
        let size = lines.next().ok_or(CheckpointError::MissingLines)?;
        let root = lines.next().ok_or(CheckpointError::MissingLines)?;
        // Extension lines may follow; they are covered by the signature and otherwise ignored.
        if origin.is_empty() || origin.len() > MAX_ID_BYTES {
            return Err(CheckpointError::BadOrigin);
        }
        let size_ok = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let tree_size = size
            .parse::<u64>()
            .ok()
            .filter(|_| size_ok)
            .ok_or_else(|| CheckpointError::BadTreeSize(size.to_string()))?;
        let root: Hash = BASE64
            .decode(root)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| CheckpointError::BadRoot(root.to_string()))?;
        if rest.is_empty() || !rest.ends_with('\n') {
            return Err(CheckpointError::BadSignatureLine(1));
        }
        let mut signatures = Vec::new();
        for (i, line) in rest[..rest.len() - 1].split('\n').enumerate() {
            if i == MAX_CHECKPOINT_SIGNATURES {
                return Err(CheckpointError::TooManySignatures);
            }
            match parse_signature_line(line).ok_or(CheckpointError::BadSignatureLine(i + 1))? {
                SignatureLine::Ed25519(sig) => signatures.push(sig),
                // Another type (a tlog-cosignature, say): skipped, as C2SP signed-note says.
                SignatureLine::Other => {}
            }
        }
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint {
                origin: origin.to_string(),
                tree_size,
                root,
            },
            signatures,
            text: text.to_string(),
        })
    }

    /// The signed part of the text.
    pub fn note_text(&self) -> &str {
        let split = self
            .text
            .find("\n\n")
            .expect("parsed or built with a separator");
        &self.text[..split + 1]
    }

    /// Checks that `key` under `key_name` signed this note. Other signatures are ignored.
    pub fn verify(&self, key_name: &str, key: &VerifyingKey) -> Result<(), CheckpointError> {
        let expected = key_hash(key_name, key);
        let mut found = false;
        for sig in self
            .signatures
            .iter()
            .filter(|s| s.key_name == key_name && s.key_hash == expected)
        {
            found = true;
            if verify_raw(key, self.note_text().as_bytes(), &sig.signature) {
                return Ok(());
            }
        }
        if found {
            Err(CheckpointError::BadSignature {
                key_name: key_name.to_string(),
            })
        } else {
            Err(CheckpointError::NotSignedBy {
                key_name: key_name.to_string(),
            })
        }
    }
}

/// A well-formed signature line: an Ed25519 signature (4-byte key hash and 64 bytes), or a
/// signature of another type, which signed-note verifiers skip.
enum SignatureLine {
    Ed25519(NoteSignature),
    Other,
}

/// `— <name> <base64(key hash[4] || signature)>`; `None` when the line is not well-formed.
fn parse_signature_line(line: &str) -> Option<SignatureLine> {
    let rest = line.strip_prefix(SIGNATURE_PREFIX)?;
    let (name, blob) = rest.split_once(' ')?;
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return None;
    }
    let blob = BASE64.decode(blob).ok()?;
    match blob.len() {
        68 => Some(SignatureLine::Ed25519(NoteSignature {
            key_name: name.to_string(),
            key_hash: blob[..4].try_into().ok()?,
            signature: blob[4..].try_into().ok()?,
        })),
        // A key hash and at least one byte of signature.
        n if n > 4 => Some(SignatureLine::Other),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A C2SP tlog-cosignature line (key hash, 8-byte timestamp, signature: 76 bytes) and an
    /// Ed25519 line by an unknown key are skipped; the node's signature still verifies. (Before,
    /// one standard cosignature line made the whole checkpoint unreadable.)
    #[test]
    fn unknown_signature_lines_are_skipped_as_signed_note_says() {
        let node = key(1);
        let signed = sample().sign(&node);
        let cosignature = BASE64.encode([7u8; 76]);
        let stranger = sample().sign(&key(9));
        let stranger_line = stranger.text.lines().last().unwrap();
        let text = format!(
            "{}— witness.example/township {cosignature}\n{stranger_line}\n",
            signed.text
        );
        let parsed = SignedCheckpoint::parse(&text).unwrap();
        assert_eq!(
            parsed.signatures.len(),
            2,
            "the node's and the stranger's Ed25519 lines"
        );
        parsed
            .verify(&sample().origin, &node.verifying_key())
            .unwrap();
        // Malformed lines are still refused.
        for bad in ["— x AAAA", "— x !!!", "-- x AAAAAAAAAAAA", "— x"] {
            let text = format!("{}{bad}\n", signed.text);
            assert!(SignedCheckpoint::parse(&text).is_err(), "{bad}");
        }
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn sample() -> Checkpoint {
        Checkpoint {
            origin: "sunshine.example/xx-community".into(),
            tree_size: 42,
            root: [7; 32],
        }
    }

    #[test]
    fn signed_checkpoint_round_trips_and_verifies() {
        let signed = sample().sign(&key(1));
        let parsed = SignedCheckpoint::parse(&signed.text).unwrap();
        assert_eq!(parsed, signed);
        parsed
            .verify(&sample().origin, &key(1).verifying_key())
            .unwrap();
        assert_eq!(
            parsed.verify(&sample().origin, &key(2).verifying_key()),
            Err(CheckpointError::NotSignedBy {
                key_name: sample().origin
            })
        );
        assert!(signed
            .text
            .starts_with("sunshine.example/xx-community\n42\nBwcH"));
        assert!(signed
            .text
            .contains("\n\n\u{2014} sunshine.example/xx-community "));
    }

    #[test]
    fn extra_and_unknown_signatures_are_ignored() {
        let signed = sample().sign(&key(1));
        let other = Checkpoint {
            origin: "witness.example".into(),
            ..sample()
        };
        let witness_line = other.sign(&key(3)).signatures[0].line();
        let text = format!("{}{}", signed.text, witness_line);
        let parsed = SignedCheckpoint::parse(&text).unwrap();
        assert_eq!(parsed.signatures.len(), 2);
        parsed
            .verify(&sample().origin, &key(1).verifying_key())
            .unwrap();
    }

    #[test]
    fn any_change_to_the_note_breaks_the_signature() {
        let signed = sample().sign(&key(1));
        let tampered = signed.text.replacen("42", "43", 1);
        let parsed = SignedCheckpoint::parse(&tampered).unwrap();
        assert_eq!(
            parsed.verify(&sample().origin, &key(1).verifying_key()),
            Err(CheckpointError::BadSignature {
                key_name: sample().origin
            })
        );
    }

    #[test]
    fn malformed_checkpoints_are_refused() {
        let good = sample().sign(&key(1)).text;
        assert_eq!(
            SignedCheckpoint::parse("abc"),
            Err(CheckpointError::NoSignatureSeparator)
        );
        assert!(matches!(
            SignedCheckpoint::parse(&good.replacen("42", "042", 1)),
            Err(CheckpointError::BadTreeSize(_))
        ));
        assert!(matches!(
            SignedCheckpoint::parse(&good.replacen("42", "-1", 1)),
            Err(CheckpointError::BadTreeSize(_))
        ));
        assert!(matches!(
            SignedCheckpoint::parse(&good.replacen("BwcH", "!!!!", 1)),
            Err(CheckpointError::BadRoot(_))
        ));
        assert!(matches!(
            SignedCheckpoint::parse(&good.replacen('\u{2014}', "-", 1)),
            Err(CheckpointError::BadSignatureLine(1))
        ));
        assert!(matches!(
            SignedCheckpoint::parse(&good[..good.len() - 1]),
            Err(CheckpointError::BadSignatureLine(1))
        ));
        let huge = "x".repeat(MAX_CHECKPOINT_BYTES + 1);
        assert_eq!(
            SignedCheckpoint::parse(&huge),
            Err(CheckpointError::TooLarge(huge.len()))
        );
    }

    #[test]
    fn verifier_key_string_has_the_signed_note_form() {
        let vk = key(1).verifying_key();
        let s = verifier_key_string("example.com/log", &vk);
        let parts: Vec<&str> = s.split('+').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1], hex::encode(key_hash("example.com/log", &vk)));
        assert_eq!(BASE64.decode(parts[2]).unwrap()[0], 1);
    }

    proptest! {
        #[test]
        fn parse_is_total(text in "\\PC{0,300}") {
            let _ = SignedCheckpoint::parse(&text);
        }
        #[test]
        fn parse_is_total_near_valid_text(cut in 0usize..200, insert in "[\n —a-z0-9+/=]{0,4}") {
            let good = sample().sign(&key(1)).text;
            let at = good.char_indices().map(|(i, _)| i).nth(cut % good.chars().count()).unwrap_or(0);
            let text = format!("{}{}{}", &good[..at], insert, &good[at..]);
            let _ = SignedCheckpoint::parse(&text);
        }
    }
}
