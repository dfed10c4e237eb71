//! The whole verifier on arbitrary snapshot bytes: a verdict, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ledger_verifier::check::verify_snapshot;
use ledger_verifier::trust::Trust;

fuzz_target!(|data: &[u8]| {
    // Trust whatever key the header names, so the fuzzer reaches the entries and the rules.
    let key = data.get(30..).and_then(|rest| {
        let id_len = u16::from_be_bytes(data.get(28..30)?.try_into().ok()?) as usize;
        rest.get(id_len..id_len + 32)?.try_into().ok()
    });
    let trust = match key.and_then(|k: [u8; 32]| ed25519_dalek::VerifyingKey::from_bytes(&k).ok()) {
        Some(k) => Trust::Key(k),
        None => Trust::Fingerprint("0000-0000-0000-0000-0000".into()),
    };
    let _ = verify_snapshot(data, &trust, &[], 1, |_| {}, |_, _| {});
});
