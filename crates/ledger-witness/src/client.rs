//! The log's side of C2SP tlog-witness: send a checkpoint with a consistency proof, get the
//! witness's cosignature lines or the size it holds. Plain HTTP/1.1 (a witness on the
//! community's network or behind a TLS-terminating proxy); every call has a deadline.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::Request;
use ledger_core::Hash;

use crate::protocol::{parse_size, AddCheckpoint};

/// The largest answer read from a witness.
const MAX_REPLY_BYTES: usize = 16 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum Submitted {
    /// The witness cosigned: its signature lines, to append to the checkpoint.
    Cosigned(String),
    /// The witness holds another size: send again with a proof from that size.
    SizeConflict(u64),
    /// Any other answer.
    Refused { status: u16, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("witness URL {0:?} is not http://host:port[/prefix]")]
    BadUrl(String),
    #[error("cannot reach the witness: {0}")]
    Connect(String),
    #[error("the witness did not answer within {0:?}")]
    Timeout(Duration),
}

/// `POST <prefix>/add-checkpoint`.
pub async fn add_checkpoint(
    prefix: &str,
    old_size: u64,
    proof: &[Hash],
    checkpoint_text: &str,
    timeout: Duration,
) -> Result<Submitted, SubmitError> {
    let body = AddCheckpoint::encode(old_size, proof, checkpoint_text);
    tokio::time::timeout(timeout, post(prefix, body))
        .await
        .map_err(|_| SubmitError::Timeout(timeout))?
}

async fn post(prefix: &str, body: String) -> Result<Submitted, SubmitError> {
    let rest = prefix
        .strip_prefix("http://")
        .ok_or_else(|| SubmitError::BadUrl(prefix.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(SubmitError::BadUrl(prefix.to_string()));
    }
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| SubmitError::Connect(e.to_string()))?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| SubmitError::Connect(e.to_string()))?;
    tokio::spawn(connection);
    let request = Request::post(format!("{path}/add-checkpoint"))
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| SubmitError::BadUrl(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| SubmitError::Connect(e.to_string()))?;
    let status = response.status().as_u16();
    let bytes = Limited::new(response.into_body(), MAX_REPLY_BYTES)
        .collect()
        .await
        .map_err(|e| SubmitError::Connect(e.to_string()))?
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(match status {
        200 => Submitted::Cosigned(text),
        409 => match text.strip_suffix('\n').and_then(parse_size) {
            Some(size) => Submitted::SizeConflict(size),
            None => Submitted::Refused {
                status,
                message: text,
            },
        },
        _ => Submitted::Refused {
            status,
            message: text,
        },
    })
}
