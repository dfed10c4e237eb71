//! The verifier for the page, built for `wasm32-unknown-unknown` by `scripts/build-wasm.sh`
//! into `web/gen/verifier.wasm`.
//!
//! The ABI is four functions and two buffers that Rust owns, so no `unsafe` reads memory here
//! and no generated glue (wasm-bindgen) stands between the page and the code the node runs:
//! 1. `input_buffer(len)` sizes the input buffer and returns where it starts; the page writes
//!    what the resident trusts (UTF-8: the ledger fingerprint on the first line, then any
//!    witness keys the resident requires, one per line, as `verifier --witness` takes them)
//!    followed by the snapshot's bytes there.
//! 2. `verify(trust_len)` verifies, on one thread, and writes the report (the same JSON as
//!    `verifier verify --json`) to the output buffer; it returns the report's length.
//! 3. `output_buffer()` returns where the report starts, for the page to read.
//! 4. `exit_code()` is the verdict as `verifier` exits: 0 verified, 1 not, 2 unusable input.
//!
//! While `verify` runs, the module calls the page's `ledger.progress(done, total)` (an import:
//! two numbers, no memory shared) after each chunk of entries, so a long check shows how far it
//! has got.
//!
//! The page's live checks use three more functions on the same buffers, so the page has no
//! cryptography of its own: `derive_key(context_len)` (BLAKE3 derive_key of the input after
//! the context, as `ledger_core::hashing::derive`), `sha256()` (of the whole input: the RFC 6962
//! tree and C2SP key hashes) and `ed25519_verify()` (input: public key, signature, message;
//! the node's acceptance rule, `verify_strict`). Each leaves its 32-byte result, or 1/0, in the
//! output buffer or its return value.
//!
//! A hostile snapshot cannot make this misbehave beyond what it can make `verifier` do: every
//! parse is the library's, total, and bounded by its limits.

// The exports need unmangled names, which the unsafe_code lint counts; nothing else here is
// unsafe, and the attribute is allowed on exactly those functions.
#![deny(unsafe_code)]

use std::cell::RefCell;

use ledger_core::checkpoint::{parse_witness_vkey, WitnessKey};
use ledger_verifier::check::verify_snapshot;
use ledger_verifier::report::Report;
use ledger_verifier::trust::Trust;

thread_local! {
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static EXIT: RefCell<u32> = const { RefCell::new(2) };
}

/// Most witness keys a resident may require; more is a typing accident, not a trust decision.
const MAX_REQUIRED_WITNESSES: usize = 16;

/// What the resident typed: the fingerprint (first line) and the witness keys (the other
/// non-empty lines), or the message that says what is wrong with it.
fn parse_trust(text: &str) -> Result<(Trust, Vec<WitnessKey>), String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let trust = Trust::parse(lines.next().unwrap_or(""))?;
    let witnesses: Vec<&str> = lines.collect();
    if witnesses.len() > MAX_REQUIRED_WITNESSES {
        return Err(format!(
            "见证方公钥最多 {MAX_REQUIRED_WITNESSES} 个 / at most {MAX_REQUIRED_WITNESSES} witness keys"
        ));
    }
    let witnesses = witnesses
        .into_iter()
        .map(|v| {
            parse_witness_vkey(v).ok_or_else(|| {
                format!(
                    "{v:?} 不是见证方公钥：请按见证方公布的样子填写（名称+哈希+base64） / {v:?} is not a witness key: give it as the witness publishes it (name+hash+base64)"
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((trust, witnesses))
}

/// Tells the page how many entries are checked (a no-op outside WebAssembly).
fn report_progress(done: u64, total: u64) {
    #[cfg(target_arch = "wasm32")]
    {
        #[link(wasm_import_module = "ledger")]
        extern "C" {
            fn progress(done: f64, total: f64);
        }
        // The import takes two numbers and returns nothing: it cannot reach this module's
        // memory, so calling it cannot break what Rust assumes.
        #[allow(unsafe_code)]
        unsafe {
            progress(done as f64, total as f64)
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (done, total);
}

/// Verifies `snapshot` against what the resident trusts (`trust`: see [`parse_trust`]), as
/// `verifier verify --json --trust … --witness …` would: the report and the exit code.
pub fn verify_bytes(trust: &str, snapshot: &[u8]) -> (String, u32) {
    let (trust, witnesses) = match parse_trust(trust) {
        Ok(t) => t,
        Err(message) => {
            let v = serde_json::json!({"passed": false, "usage_error": message});
            return (v.to_string(), 2);
        }
    };
    let outcome = verify_snapshot(snapshot, &trust, &witnesses, 1, |_| {}, report_progress);
    let report = Report::from_outcome(&outcome);
    let json = serde_json::to_string(&report).expect("a report serializes");
    (json, u32::from(report.exit_code()))
}

/// Sizes the input buffer to `len` bytes (zeroed) and returns where it starts.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn input_buffer(len: usize) -> *mut u8 {
    INPUT.with(|b| {
        let mut b = b.borrow_mut();
        b.clear();
        b.resize(len, 0);
        b.as_mut_ptr()
    })
}

/// Verifies the input buffer: its first `trust_len` bytes are what the resident trusts, the
/// rest the snapshot. Returns the length of the report in the output buffer.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn verify(trust_len: usize) -> usize {
    let (json, code) = INPUT.with(|b| {
        let input = b.borrow();
        let split = trust_len.min(input.len());
        let trust = String::from_utf8_lossy(&input[..split]);
        verify_bytes(&trust, &input[split..])
    });
    EXIT.with(|e| *e.borrow_mut() = code);
    OUTPUT.with(|o| {
        let mut o = o.borrow_mut();
        *o = json.into_bytes();
        o.len()
    })
}

/// Sets the output buffer to `bytes` and returns its length.
fn set_output(bytes: &[u8]) -> usize {
    OUTPUT.with(|o| {
        let mut o = o.borrow_mut();
        o.clear();
        o.extend_from_slice(bytes);
        o.len()
    })
}

/// BLAKE3 `derive_key`: the input's first `context_len` bytes are the context (UTF-8), the rest
/// what is hashed. Returns 32 (the hash is in the output buffer), or 0 for a context that is
/// not UTF-8.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn derive_key(context_len: usize) -> usize {
    let hash = INPUT.with(|b| {
        let input = b.borrow();
        let split = context_len.min(input.len());
        std::str::from_utf8(&input[..split])
            .ok()
            .map(|context| ledger_core::hashing::derive(context, &[&input[split..]]))
    });
    hash.map_or(0, |h| set_output(&h))
}

/// SHA-256 of the whole input; returns 32 (the hash is in the output buffer).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn sha256() -> usize {
    use sha2::Digest;
    let hash = INPUT.with(|b| sha2::Sha256::digest(b.borrow().as_slice()));
    set_output(&hash)
}

/// Ed25519 by the node's rule (`verify_strict`): the input is the 32-byte public key, the
/// 64-byte signature, then the message. 1 when it verifies, 0 otherwise (a short input too).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn ed25519_verify() -> u32 {
    INPUT.with(|b| {
        let input = b.borrow();
        if input.len() < 96 {
            return 0;
        }
        let key: [u8; 32] = input[..32].try_into().expect("32 bytes");
        let signature: [u8; 64] = input[32..96].try_into().expect("64 bytes");
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key) else {
            return 0;
        };
        u32::from(ledger_core::signing::verify_raw(
            &key,
            &input[96..],
            &signature,
        ))
    })
}

/// Where the report starts.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn output_buffer() -> *const u8 {
    OUTPUT.with(|o| o.borrow().as_ptr())
}

/// The verdict of the last `verify`: 0 verified, 1 not verified, 2 unusable input.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn exit_code() -> u32 {
    EXIT.with(|e| *e.borrow())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_input(bytes: &[u8]) {
        INPUT.with(|b| *b.borrow_mut() = bytes.to_vec());
    }

    fn output() -> Vec<u8> {
        OUTPUT.with(|o| o.borrow().clone())
    }

    #[test]
    fn the_pages_primitives_are_ledger_cores() {
        let context = ledger_core::hashing::ENTRY_CONTEXT;
        with_input(&[context.as_bytes(), b"entry bytes"].concat());
        assert_eq!(derive_key(context.len()), 32);
        assert_eq!(
            output(),
            ledger_core::hashing::derive(context, &[b"entry bytes"])
        );
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let signature = ledger_core::signing::sign_raw(&key, b"note");
        let mut input = key.verifying_key().to_bytes().to_vec();
        input.extend_from_slice(&signature);
        input.extend_from_slice(b"note");
        with_input(&input);
        assert_eq!(ed25519_verify(), 1);
        input[0] ^= 1;
        with_input(&input);
        assert_eq!(ed25519_verify(), 0);
        with_input(&input[..95]);
        assert_eq!(ed25519_verify(), 0);
    }

    #[test]
    fn unusable_input_and_a_bad_fingerprint_are_told_apart() {
        let (json, code) = verify_bytes("3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F03", b"<html>");
        assert_eq!(code, 2, "{json}");
        assert!(json.contains("SNAPSHOT_UNUSABLE"), "{json}");
        let (json, code) = verify_bytes("not a fingerprint", b"");
        assert_eq!(code, 2);
        assert!(json.contains("usage_error"), "{json}");
    }
}
