//! The verifier for the page, built for `wasm32-unknown-unknown` by `scripts/build-wasm.sh`
//! into `web/gen/verifier.wasm`.
//!
//! The ABI is four functions and two buffers that Rust owns, so no `unsafe` reads memory here
//! and no generated glue (wasm-bindgen) stands between the page and the code the node runs:
//! 1. `input_buffer(len)` sizes the input buffer and returns where it starts; the page writes
//!    the trusted fingerprint (UTF-8) followed by the snapshot's bytes there.
//! 2. `verify(trust_len)` verifies, on one thread, and writes the report (the same JSON as
//!    `verifier verify --json`) to the output buffer; it returns the report's length.
//! 3. `output_buffer()` returns where the report starts, for the page to read.
//! 4. `exit_code()` is the verdict as `verifier` exits: 0 verified, 1 not, 2 unusable input.
//!
//! A hostile snapshot cannot make this misbehave beyond what it can make `verifier` do: every
//! parse is the library's, total, and bounded by its limits.

// The exports need unmangled names, which the unsafe_code lint counts; nothing else here is
// unsafe, and the attribute is allowed on exactly those functions.
#![deny(unsafe_code)]

use std::cell::RefCell;

use ledger_verifier::check::verify_snapshot;
use ledger_verifier::report::Report;
use ledger_verifier::trust::Trust;

thread_local! {
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static EXIT: RefCell<u32> = const { RefCell::new(2) };
}

/// Verifies `snapshot` against the fingerprint `trust`, as `verifier verify --json` would:
/// the report and the exit code.
pub fn verify_bytes(trust: &str, snapshot: &[u8]) -> (String, u32) {
    let trust = match Trust::parse(trust) {
        Ok(t) => t,
        Err(message) => {
            let v = serde_json::json!({"passed": false, "usage_error": message});
            return (v.to_string(), 2);
        }
    };
    let outcome = verify_snapshot(snapshot, &trust, &[], 1, |_| {}, |_, _| {});
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

/// Verifies the input buffer: its first `trust_len` bytes are the fingerprint, the rest the
/// snapshot. Returns the length of the report in the output buffer.
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
