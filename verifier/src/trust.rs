//! What the resident trusts: the ledger fingerprint from the notice board (eight groups of four
//! hex digits, derived from the ledger's genesis: it identifies the ledger whatever key signs
//! it), or, where a command cannot yet check a genesis, the node's public key (in full, as a
//! signed-note verifier key `name+hash+base64`, or as its five-group fingerprint).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use ledger_core::signing::{parse_public_key, KeyId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The ledger fingerprint (`ledger_core::entry::ledger_fingerprint` of entry 0).
    Ledger(String),
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
        let hex_groups = groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_hexdigit()));
        if groups.len() == 8 && hex_groups {
            return Ok(Trust::Ledger(fp));
        }
        if groups.len() == 5
            && groups
                .iter()
                .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Ok(Trust::Fingerprint(fp));
        }
        Err(format!(
            "{text:?} 不是账本指纹：请填写公示栏上的账本指纹（八组，例如 3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F03） / {text:?} is not a ledger fingerprint: give the one from the notice board (eight groups, like 3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F03)"
        ))
    }

    /// Whether `key` may sign: the trusted key; or, when the ledger is trusted by its
    /// fingerprint, any key so far (the genesis then says which one it must be).
    pub fn accepts(&self, key: &VerifyingKey) -> bool {
        match self {
            Trust::Ledger(_) => true,
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
        // Six groups: a ledger fingerprint, whatever the case or spaces around it.
        assert_eq!(
            Trust::parse(" 3f2a-9c01-77b4-e0d2-5a18-0b6c-d4e1-7f03 ").unwrap(),
            Trust::Ledger("3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F03".into())
        );
    }
}
