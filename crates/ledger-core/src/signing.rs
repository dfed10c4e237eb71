//! Who signed what: DSSE pre-authentication encoding, Ed25519 with `verify_strict`, key ids
//! and the fingerprints people compare on a notice board.
//!
//! Signatures cover the transaction body's bytes exactly as sent, wrapped in DSSE's PAE with a
//! payload type naming this protocol and version. Nothing is re-encoded before verifying, so
//! there is no canonicalisation to get wrong, and a signature made for another protocol (or
//! another version of this one) can never verify here.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::hashing::{derive, KEY_ID_CONTEXT};
use crate::Hash;

/// The DSSE payload type of a v1 transaction body.
pub const PAYLOAD_TYPE: &str = "application/vnd.sunshine-ledger.transaction.v1+protobuf";

/// DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + payload_type.len() + body.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(body);
    out
}

/// Identifies a public key: blake3 `derive_key("sunshine-ledger v1 key id", public key)`.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct KeyId(pub Hash);

impl KeyId {
    pub fn of(public_key: &VerifyingKey) -> KeyId {
        KeyId(derive(KEY_ID_CONTEXT, &[public_key.as_bytes()]))
    }

    /// Parses a 32-byte key id; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<KeyId> {
        bytes.try_into().ok().map(KeyId)
    }

    /// Short form for people: the first 10 bytes in five groups of four hex digits, e.g.
    /// `3F2A-9C01-77B4-E0D2-5A18`. Eighty bits: enough that nobody can make a second key with
    /// the same fingerprint, short enough to read aloud.
    pub fn fingerprint(&self) -> String {
        let hex = hex::encode_upper(&self.0[..10]);
        let groups: Vec<&str> = (0..5).map(|i| &hex[i * 4..i * 4 + 4]).collect();
        groups.join("-")
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.fingerprint())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

/// Parses a 32-byte Ed25519 public key, refusing non-canonical encodings and weak (small-order)
/// keys, for which signatures prove nothing.
pub fn parse_public_key(bytes: &[u8]) -> Result<VerifyingKey, KeyError> {
    let raw: [u8; 32] = bytes
        .try_into()
        .map_err(|_| KeyError::Length(bytes.len()))?;
    let key = VerifyingKey::from_bytes(&raw).map_err(|_| KeyError::NotOnCurve)?;
    // ed25519-dalek accepts y >= p (and x = 0 with the sign bit set); RFC 8032 and libsodium
    // refuse them, so one such key would make every RFC-conformant verifier reject the ledger.
    if key.to_edwards().compress().to_bytes() != raw {
        return Err(KeyError::NonCanonical);
    }
    if key.is_weak() {
        return Err(KeyError::Weak);
    }
    Ok(key)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("an Ed25519 public key is 32 bytes, this one is {0}")]
    Length(usize),
    #[error("the public key is not a valid Ed25519 point")]
    NotOnCurve,
    #[error("the public key is not in its canonical encoding (RFC 8032 §5.1.3)")]
    NonCanonical,
    #[error("the public key is a weak (small-order) point; signatures by it prove nothing")]
    Weak,
}

/// Signs a transaction body: Ed25519 over `PAE(PAYLOAD_TYPE, body)`.
pub fn sign_body(key: &SigningKey, body: &[u8]) -> [u8; 64] {
    key.sign(&pae(PAYLOAD_TYPE, body)).to_bytes()
}

/// The acceptance rule for a transaction signature: `verify_strict` over the PAE of the body.
/// `verify_strict` refuses non-canonical `s`, small-order `R` and weak keys, so one signature
/// has exactly one verdict on every implementation that follows it.
pub fn verify_body(key: &VerifyingKey, body: &[u8], signature: &[u8; 64]) -> bool {
    let signature = Signature::from_bytes(signature);
    key.verify_strict(&pae(PAYLOAD_TYPE, body), &signature)
        .is_ok()
}

/// Signs arbitrary bytes with no PAE: used only for checkpoint notes, whose format (C2SP
/// signed-note) fixes what is signed.
pub fn sign_raw(key: &SigningKey, message: &[u8]) -> [u8; 64] {
    key.sign(message).to_bytes()
}

/// `verify_strict` over raw bytes (checkpoint notes).
pub fn verify_raw(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
    key.verify_strict(message, &Signature::from_bytes(signature))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // The example from the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn signature_verifies_only_for_the_exact_body_and_key() {
        let signer = key(1);
        let body = b"body bytes";
        let sig = sign_body(&signer, body);
        assert!(verify_body(&signer.verifying_key(), body, &sig));
        assert!(!verify_body(&signer.verifying_key(), b"body byteS", &sig));
        assert!(!verify_body(&key(2).verifying_key(), body, &sig));
        // A signature over the raw body (without PAE) is not a transaction signature.
        let raw = sign_raw(&signer, body);
        assert!(!verify_body(&signer.verifying_key(), body, &raw));
    }

    #[test]
    fn non_canonical_s_is_refused() {
        let signer = key(3);
        let body = b"x";
        let mut sig = sign_body(&signer, body);
        // s + L is the same scalar mod L but not canonical: verify_strict must refuse it.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = sig[32 + i] as u16 + L[i] as u16 + carry;
            sig[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        assert!(!verify_body(&signer.verifying_key(), body, &sig));
    }

    #[test]
    fn small_order_keys_are_refused() {
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(parse_public_key(&identity), Err(KeyError::Weak));
        // A point of order 8 from the ed25519 small-order list.
        let order8 =
            hex::decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
                .unwrap();
        assert_eq!(parse_public_key(&order8), Err(KeyError::Weak));
        assert_eq!(parse_public_key(&[0u8; 31]), Err(KeyError::Length(31)));
        assert!(parse_public_key(key(9).verifying_key().as_bytes()).is_ok());
    }

    #[test]
    fn fingerprint_is_five_groups_of_four_hex_digits() {
        let fp = KeyId::of(&key(4).verifying_key()).fingerprint();
        assert_eq!(fp.len(), 24);
        assert!(fp.split('-').all(|g| g.len() == 4
            && g.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())));
    }
}
