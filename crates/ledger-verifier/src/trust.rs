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

/// The hex digits of a fingerprint however it was typed or scanned: in lower case, without
/// dashes, with spaces, or in full-width characters from a Chinese input method (０-９, Ａ-Ｆ,
/// －); `None` when anything else is in it.
fn fingerprint_digits(text: &str) -> Option<String> {
    let mut digits = String::new();
    for c in text.chars() {
        let c = match c {
            '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF26}' | '\u{FF41}'..='\u{FF46}' => {
                char::from_u32(c as u32 - 0xFEE0)?
            }
            c => c,
        };
        match c {
            c if c.is_ascii_hexdigit() => digits.push(c.to_ascii_uppercase()),
            '-' | '\u{FF0D}' | '\u{2010}'..='\u{2015}' | '\u{2212}' => {}
            c if c.is_whitespace() => {}
            _ => return None,
        }
    }
    Some(digits)
}

/// `digits` in groups of four joined by dashes.
fn grouped(digits: &str) -> String {
    digits
        .as_bytes()
        .chunks(4)
        .map(|g| std::str::from_utf8(g).expect("ASCII hex"))
        .collect::<Vec<_>>()
        .join("-")
}

impl Trust {
    pub fn parse(text: &str) -> Result<Trust, String> {
        let t = text.trim();
        match fingerprint_digits(t) {
            Some(d) if d.len() == 32 => return Ok(Trust::Ledger(grouped(&d))),
            Some(d) if d.len() == 20 => return Ok(Trust::Fingerprint(grouped(&d))),
            _ => {}
        }
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
        // Eight groups: a ledger fingerprint, however a person types or scans it.
        for typed in [
            " 3f2a-9c01-77b4-e0d2-5a18-0b6c-d4e1-7f03 ",
            "3F2A9C0177B4E0D25A180B6CD4E17F03",
            "3F2A 9C01 77B4 E0D2 5A18 0B6C D4E1 7F03",
            "３Ｆ２Ａ－９Ｃ０１－77B4－E0D2 5A18—0B6C–D4E1-7F03",
        ] {
            assert_eq!(
                Trust::parse(typed).unwrap(),
                Trust::Ledger("3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F03".into()),
                "{typed}"
            );
        }
        // One digit short is no fingerprint at all, and says what one looks like.
        assert!(Trust::parse("3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F0")
            .unwrap_err()
            .contains("八组"));
    }
}
