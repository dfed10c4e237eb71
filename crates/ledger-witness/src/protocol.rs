//! The C2SP `tlog-witness` add-checkpoint request body, both ways.
//!
//! ```text
//! old <size>\n
//! <base64 consistency proof hash>\n      (0 to 63 lines; none when old is 0)
//! \n
//! <checkpoint note and its signature lines>
//! ```
//!
//! Parsing is total: any bytes give a request or a [`RequestError`] (answered with 400).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ledger_core::checkpoint::{CheckpointError, SignedCheckpoint};
use ledger_core::limits::MAX_CHECKPOINT_BYTES;
use ledger_core::Hash;

/// C2SP: a client must not send more than 63 consistency proof lines.
pub const MAX_PROOF_LINES: usize = 63;
/// The largest request body: the old size line, 63 proof lines and a checkpoint.
pub const MAX_REQUEST_BYTES: usize = 32 + MAX_PROOF_LINES * 46 + MAX_CHECKPOINT_BYTES;
/// Content type of a 409 answer's body (the size the witness holds).
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

#[derive(Debug)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: SignedCheckpoint,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("the request is {0} bytes, over the limit of {MAX_REQUEST_BYTES}")]
    TooLarge(usize),
    #[error("the request is not UTF-8 text")]
    NotText,
    #[error("the request does not start with an `old <size>` line")]
    BadOldSize,
    #[error("consistency proof line {0} is not base64 of 32 bytes")]
    BadProofLine(usize),
    #[error("the request has more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    #[error("the request has no blank line before the checkpoint")]
    NoBlankLine,
    #[error("the checkpoint is malformed: {0}")]
    BadCheckpoint(CheckpointError),
}

/// The decimal form C2SP uses: no sign, no leading zeros (but "0").
pub fn parse_size(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

impl AddCheckpoint {
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, RequestError> {
        if body.len() > MAX_REQUEST_BYTES {
            return Err(RequestError::TooLarge(body.len()));
        }
        let text = std::str::from_utf8(body).map_err(|_| RequestError::NotText)?;
        let (first, mut rest) = text.split_once('\n').ok_or(RequestError::BadOldSize)?;
        let old_size = first
            .strip_prefix("old ")
            .and_then(parse_size)
            .ok_or(RequestError::BadOldSize)?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(RequestError::NoBlankLine)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            let hash: Hash = BASE64
                .decode(line)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or(RequestError::BadProofLine(proof.len() + 1))?;
            proof.push(hash);
        }
        let checkpoint = SignedCheckpoint::parse(rest).map_err(RequestError::BadCheckpoint)?;
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint,
        })
    }

    /// The request body for `checkpoint_text` extending a tree of `old_size` with `proof`.
    pub fn encode(old_size: u64, proof: &[Hash], checkpoint_text: &str) -> String {
        let mut out = format!("old {old_size}\n");
        for hash in proof {
            out.push_str(&BASE64.encode(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(checkpoint_text);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use ledger_core::checkpoint::Checkpoint;

    fn checkpoint_text() -> String {
        Checkpoint {
            origin: "sunshine.example/a".into(),
            tree_size: 5,
            root: [3; 32],
        }
        .sign(&SigningKey::from_bytes(&[1; 32]))
        .text
    }

    #[test]
    fn a_request_round_trips() {
        let text = AddCheckpoint::encode(3, &[[1; 32], [2; 32]], &checkpoint_text());
        let parsed = AddCheckpoint::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.old_size, 3);
        assert_eq!(parsed.proof, vec![[1; 32], [2; 32]]);
        assert_eq!(parsed.checkpoint.checkpoint.tree_size, 5);
    }

    #[test]
    fn each_kind_of_bad_request_has_its_error() {
        let cp = checkpoint_text();
        let cases: Vec<(String, RequestError)> = vec![
            (format!("old 03\n\n{cp}"), RequestError::BadOldSize),
            (format!("old -1\n\n{cp}"), RequestError::BadOldSize),
            (format!("new 3\n\n{cp}"), RequestError::BadOldSize),
            (
                format!("old 3\nAAAA\n\n{cp}"),
                RequestError::BadProofLine(1),
            ),
            (format!("old 3\n{cp}"), RequestError::BadProofLine(1)),
            ("old 3\n".to_string(), RequestError::NoBlankLine),
            (
                format!(
                    "old 3\n{}\n{cp}",
                    format!("{}\n", BASE64.encode([0u8; 32])).repeat(64)
                ),
                RequestError::TooManyProofLines,
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                AddCheckpoint::parse(body.as_bytes()).unwrap_err(),
                expected,
                "{body:?}"
            );
        }
        assert_eq!(
            AddCheckpoint::parse(&[0xff, b'\n']).unwrap_err(),
            RequestError::NotText
        );
        let huge = vec![b'a'; MAX_REQUEST_BYTES + 1];
        assert!(matches!(
            AddCheckpoint::parse(&huge),
            Err(RequestError::TooLarge(_))
        ));
        assert!(matches!(
            AddCheckpoint::parse(b"old 3\n\nnot a checkpoint"),
            Err(RequestError::BadCheckpoint(_))
        ));
    }

    #[test]
    fn parse_is_total_on_any_cut_of_a_valid_request() {
        let text = AddCheckpoint::encode(3, &[[1; 32]], &checkpoint_text());
        for cut in 0..text.len() {
            let _ = AddCheckpoint::parse(&text.as_bytes()[..cut]);
        }
    }
}
