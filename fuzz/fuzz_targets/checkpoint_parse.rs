//! The checkpoint / signed-note parser and verifier on arbitrary text: never a panic.
#![no_main]

use ed25519_dalek::SigningKey;
use ledger_core::checkpoint::SignedCheckpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cp) = SignedCheckpoint::parse(text) {
        let key = SigningKey::from_bytes(&[3; 32]).verifying_key();
        let _ = cp.verify(&cp.checkpoint.origin, &key);
        let _ = cp.note_text();
    }
});
