//! What the resident trusts: the node's public key, given in full (64 hex digits, or a
//! signed-note verifier key `name+hash+base64`) or as the fingerprint from the notice board.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use ledger_core::signing::{parse_public_key, KeyId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    Key(VerifyingKey),
    Fingerprint(String),
}

impl Trust {
    pub fn parse(text: &str) -> Result<Trust, String> {
        let t = text.trim();
        if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes = hex::decode(t).expect("hex checked");
            return parse_public_key(&bytes)
                .map(Trust::Key)
                .map_err(|e| e.to_string());
        }
        if let Some((_, rest)) = t.split_once('+') {
            let b64 = rest
                .split_once('+')
                .map(|(_, b)| b)
                .ok_or("a verifier key is name+hash+base64")?;
            let raw = BASE64
                .decode(b64)
                .map_err(|_| "the verifier key's last part is not base64")?;
            if raw.len() != 33 || raw[0] != 1 {
                return Err("the verifier key is not an Ed25519 key".into());
            }
            return parse_public_key(&raw[1..])
                .map(Trust::Key)
                .map_err(|e| e.to_string());
        }
        let fp = t.to_ascii_uppercase();
        let groups: Vec<&str> = fp.split('-').collect();
        if groups.len() == 5
            && groups
                .iter()
                .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Ok(Trust::Fingerprint(fp));
        }
        Err(format!(
            "{text:?} is not a node key: give the fingerprint from the notice board (like 3F2A-9C01-77B4-E0D2-5A18) or the full public key (64 hex digits)"
        ))
    }

    /// Whether `key` is the trusted key.
    pub fn accepts(&self, key: &VerifyingKey) -> bool {
        match self {
            Trust::Key(k) => k == key,
            Trust::Fingerprint(fp) => &KeyId::of(key).fingerprint() == fp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn every_form_of_the_node_key_is_understood() {
        let key = SigningKey::from_bytes(&[3; 32]).verifying_key();
        let fp = KeyId::of(&key).fingerprint();
        assert!(Trust::parse(&hex::encode(key.as_bytes()))
            .unwrap()
            .accepts(&key));
        assert!(Trust::parse(&fp.to_lowercase()).unwrap().accepts(&key));
        let vkey = ledger_core::checkpoint::verifier_key_string("x.example/log", &key);
        assert!(Trust::parse(&vkey).unwrap().accepts(&key));
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key();
        assert!(!Trust::parse(&fp).unwrap().accepts(&other));
        assert!(Trust::parse("hello").unwrap_err().contains("fingerprint"));
    }
}
