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
/// Signed-note signature type of C2SP tlog-cosignature/v1 Ed25519 cosignatures.
const COSIGNATURE_TYPE: u8 = 0x04;
/// The first line of the message a cosignature signs (domain separation).
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";
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

/// A C2SP tlog-cosignature/v1 line: key hash, the time it was made (seconds since the epoch)
/// and an Ed25519 signature over `cosignature/v1\ntime <t>\n` and the note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    pub key_name: String,
    pub key_hash: [u8; 4],
    pub timestamp: u64,
    pub signature: [u8; 64],
}

/// A witness as a genesis names it: its key name and Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WitnessKey {
    pub name: String,
    pub key: VerifyingKey,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub signatures: Vec<NoteSignature>,
    /// Lines of the cosignature size (76 bytes). A line of another type that happens to have
    /// that size is kept too; it matches no witness's key hash and is ignored.
    pub cosignatures: Vec<Cosignature>,
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
    #[error("the checkpoint has {valid} valid cosignatures of the ledger's witnesses, it needs {needed} (witnesses named by the ledger: {named})")]
    WitnessQuorumNotMet {
        valid: usize,
        needed: usize,
        named: String,
    },
    #[error("the checkpoint has no valid cosignature by witness {name:?}, which you required with --witness")]
    RequiredWitnessMissing { name: String },
}

/// First four bytes of `SHA-256(name || "\n" || type || public key)`: signed-note's key hash.
fn typed_key_hash(key_name: &str, signature_type: u8, key: &VerifyingKey) -> [u8; 4] {
    let mut sha = Sha256::new();
    sha.update(key_name.as_bytes());
    sha.update(b"\n");
    sha.update([signature_type]);
    sha.update(key.as_bytes());
    sha.finalize()[..4].try_into().expect("4 bytes")
}

/// First four bytes of `SHA-256(name || "\n" || 0x01 || public key)`.
pub fn key_hash(key_name: &str, key: &VerifyingKey) -> [u8; 4] {
    typed_key_hash(key_name, ED25519_TYPE, key)
}

/// First four bytes of `SHA-256(name || "\n" || 0x04 || public key)`: a cosigner's key hash.
pub fn cosignature_key_hash(key_name: &str, key: &VerifyingKey) -> [u8; 4] {
    typed_key_hash(key_name, COSIGNATURE_TYPE, key)
}

/// A signed-note key name: 1 to `MAX_ID_BYTES` bytes, no whitespace, no `+`, no control
/// characters (signed-note's rule, so the name can sit in a signature line and a vkey).
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ID_BYTES
        && !name.contains('+')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The message a tlog-cosignature/v1 signs: header line, time line, then the note text.
fn cosigned_message(note_text: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_HEADER}time {timestamp}\n{note_text}")
}

/// A witness's cosignature on `note_text` (the note without its signature lines) at `timestamp`.
pub fn cosign(note_text: &str, key_name: &str, key: &SigningKey, timestamp: u64) -> Cosignature {
    assert!(is_valid_key_name(key_name));
    assert!(
        timestamp <= i64::MAX as u64,
        "C2SP: a timestamp is below 2^63"
    );
    let signature = sign_raw(key, cosigned_message(note_text, timestamp).as_bytes());
    Cosignature {
        key_name: key_name.to_string(),
        key_hash: cosignature_key_hash(key_name, &key.verifying_key()),
        timestamp,
        signature,
    }
}

/// The C2SP vkey of a witness: `<name>+<hex key hash>+<base64(0x04 || key)>`, what a resident
/// passes to `verifier --witness` and what a witness prints when it is set up.
pub fn witness_vkey(witness: &WitnessKey) -> String {
    let mut raw = vec![COSIGNATURE_TYPE];
    raw.extend_from_slice(witness.key.as_bytes());
    format!(
        "{}+{}+{}",
        witness.name,
        hex::encode(cosignature_key_hash(&witness.name, &witness.key)),
        BASE64.encode(raw)
    )
}

/// Parses a witness vkey (see [`witness_vkey`]); the key hash must match the name and key.
pub fn parse_witness_vkey(vkey: &str) -> Option<WitnessKey> {
    let mut parts = vkey.trim().splitn(3, '+');
    let (name, hash, key) = (parts.next()?, parts.next()?, parts.next()?);
    if !is_valid_key_name(name) {
        return None;
    }
    let raw = BASE64.decode(key).ok()?;
    if raw.len() != 33 || raw[0] != COSIGNATURE_TYPE {
        return None;
    }
    let key = crate::signing::parse_public_key(&raw[1..]).ok()?;
    let witness = WitnessKey {
        name: name.to_string(),
        key,
    };
    (hash == hex::encode(cosignature_key_hash(name, &witness.key))).then_some(witness)
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
            cosignatures: Vec::new(),
            text: full,
        }
    }
}

/// `— <name> <base64 of the parts>` with its newline: a signed-note signature line.
fn signature_line(key_name: &str, parts: &[&[u8]]) -> String {
    format!(
        "{SIGNATURE_PREFIX}{key_name} {}\n",
        BASE64.encode(parts.concat())
    )
}

impl Cosignature {
    /// `— <name> base64(key hash || timestamp || signature)` with its newline.
    pub fn line(&self) -> String {
        signature_line(
            &self.key_name,
            &[
                &self.key_hash,
                &self.timestamp.to_be_bytes(),
                &self.signature,
            ],
        )
    }
}

impl NoteSignature {
    fn line(&self) -> String {
        signature_line(&self.key_name, &[&self.key_hash, &self.signature])
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
        let mut cosignatures = Vec::new();
        for (i, line) in rest[..rest.len() - 1].split('\n').enumerate() {
            if i == MAX_CHECKPOINT_SIGNATURES {
                return Err(CheckpointError::TooManySignatures);
            }
            match parse_signature_line(line).ok_or(CheckpointError::BadSignatureLine(i + 1))? {
                SignatureLine::Ed25519(sig) => signatures.push(sig),
                SignatureLine::Cosignature(cosig) => cosignatures.push(cosig),
                // Another type: skipped, as C2SP signed-note says.
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
            cosignatures,
            text: text.to_string(),
        })
    }

    /// The same checkpoint with `lines` (signature lines, each ending in a newline, such as a
    /// witness's add-checkpoint response) appended.
    pub fn with_lines(&self, lines: &str) -> Result<SignedCheckpoint, CheckpointError> {
        SignedCheckpoint::parse(&format!("{}{}", self.text, lines))
    }

    /// The time of `witness`'s valid cosignature, or why there is none.
    pub fn verify_cosignature(&self, witness: &WitnessKey) -> Result<u64, CheckpointError> {
        let expected = cosignature_key_hash(&witness.name, &witness.key);
        let mut found = false;
        for cosig in self
            .cosignatures
            .iter()
            .filter(|c| c.key_name == witness.name && c.key_hash == expected)
        {
            found = true;
            let message = cosigned_message(self.note_text(), cosig.timestamp);
            if cosig.timestamp <= i64::MAX as u64
                && verify_raw(&witness.key, message.as_bytes(), &cosig.signature)
            {
                return Ok(cosig.timestamp);
            }
        }
        Err(if found {
            CheckpointError::BadSignature {
                key_name: witness.name.clone(),
            }
        } else {
            CheckpointError::NotSignedBy {
                key_name: witness.name.clone(),
            }
        })
    }

    /// The witnesses (of `witnesses`) with a valid cosignature, when they are at least
    /// `quorum`; every witness of `required` must be among the valid ones too (a resident's own
    /// choice, on top of the ledger's).
    pub fn check_witnesses(
        &self,
        witnesses: &[WitnessKey],
        quorum: u32,
        required: &[WitnessKey],
    ) -> Result<Vec<String>, CheckpointError> {
        let valid: Vec<String> = witnesses
            .iter()
            .filter(|w| self.verify_cosignature(w).is_ok())
            .map(|w| w.name.clone())
            .collect();
        if valid.len() < quorum as usize {
            return Err(CheckpointError::WitnessQuorumNotMet {
                valid: valid.len(),
                needed: quorum as usize,
                named: witnesses
                    .iter()
                    .map(|w| w.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if let Some(missing) = required
            .iter()
            .find(|w| self.verify_cosignature(w).is_err())
        {
            return Err(CheckpointError::RequiredWitnessMissing {
                name: missing.name.clone(),
            });
        }
        Ok(valid)
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
    Cosignature(Cosignature),
    Other,
}

/// `— <name> <base64(key hash[4] || signature)>`; `None` when the line is not well-formed.
fn parse_signature_line(line: &str) -> Option<SignatureLine> {
    let rest = line.strip_prefix(SIGNATURE_PREFIX)?;
    let (name, blob) = rest.split_once(' ')?;
    // Any signed-note name parses (an unknown witness's long name must not make the checkpoint
    // unreadable); `is_valid_key_name` bounds the names this ledger itself names.
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
        76 => Some(SignatureLine::Cosignature(Cosignature {
            key_name: name.to_string(),
            key_hash: blob[..4].try_into().ok()?,
            timestamp: u64::from_be_bytes(blob[4..12].try_into().ok()?),
            signature: blob[12..].try_into().ok()?,
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
