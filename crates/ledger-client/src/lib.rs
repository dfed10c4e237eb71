//! A typed, async client of the Sunshine Ledger node, for the `ledger` command-line program and
//! for any Rust dashboard. It hides gRPC: connect with a URL (TLS when it is `https://`),
//! submit signed envelopes, read balances and projects, follow the live stream.
//!
//! Rejections come back as [`ClientError::Rejected`] with the ledger's stable reason code, so a
//! program can act on `INSUFFICIENT_FUNDS` without parsing messages.

#![forbid(unsafe_code)]

pub mod describe;

pub use tonic::Code;

use std::path::Path;
use std::time::Duration;

use ledger_core::proto as pb;
use pb::ledger_client::LedgerClient as Raw;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// Largest message the client accepts (a batch answer with receipts can be large).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("连不上节点 {url}（{detail}）：节点在运行吗？用 --node 或 LEDGER_NODE 指定地址。/ cannot reach the node at {url}: {detail}. Is it running? Set the address with --node or LEDGER_NODE")]
    Connect { url: String, detail: String },
    #[error("the ledger refused the transaction ({reason}): {message}")]
    Rejected {
        code: tonic::Code,
        reason: String,
        message: String,
    },
    #[error("the node is unavailable: {0}")]
    Unavailable(String),
    #[error("the node answered {}: {}", .0.code(), .0.message())]
    Status(tonic::Status),
    #[error("{0}")]
    Local(String),
}

impl ClientError {
    /// Whether another node of the same ledger may do what this one could not: it is not the
    /// writer, it is down or stopping, or it cannot reach the database. A refusal by the rules
    /// would be the same everywhere.
    pub fn may_succeed_elsewhere(&self) -> bool {
        match self {
            ClientError::Connect { .. } | ClientError::Unavailable(_) => true,
            ClientError::Rejected { code, reason, .. } => {
                *code == tonic::Code::Unavailable
                    && matches!(
                        reason.as_str(),
                        ledger_proto::ledger_reasons::NOT_THE_WRITER
                            | ledger_proto::ledger_reasons::STORE_DIVERGED
                    )
            }
            ClientError::Status(s) => matches!(
                s.code(),
                tonic::Code::Unavailable
                    | tonic::Code::Unknown
                    | tonic::Code::Cancelled
                    | tonic::Code::DeadlineExceeded
            ),
            ClientError::Local(_) => false,
        }
    }

    fn from_status(status: tonic::Status) -> ClientError {
        if let Some(reason) = status
            .metadata()
            .get("ledger-reason")
            .and_then(|v| v.to_str().ok())
        {
            let message = status
                .message()
                .split_once(": ")
                .map(|(_, m)| m.to_string())
                .unwrap_or_else(|| status.message().to_string());
            return ClientError::Rejected {
                code: status.code(),
                reason: reason.to_string(),
                message,
            };
        }
        match status.code() {
            tonic::Code::Unavailable => ClientError::Unavailable(status.message().to_string()),
            _ => ClientError::Status(status),
        }
    }
}

/// The outcome of one item of a batch.
pub type ItemResult = Result<pb::TxReceipt, pb::Rejection>;

/// The channel every call goes through: it names the ledger (`ledger-id` metadata) when the
/// client was given one.
pub type Transport = tonic::codegen::InterceptedService<Channel, NameLedger>;

/// Adds `ledger-id` to every request (a node serving many ledgers picks the ledger by it; a
/// request without it is for the node's own ledger).
#[derive(Clone, Default)]
pub struct NameLedger(Option<tonic::metadata::AsciiMetadataValue>);

impl tonic::service::Interceptor for NameLedger {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(id) = &self.0 {
            request.metadata_mut().insert("ledger-id", id.clone());
        }
        Ok(request)
    }
}

#[derive(Clone)]
pub struct LedgerClient {
    raw: Raw<Transport>,
    channel: Channel,
    /// The nodes to go on to when this one cannot write (several nodes of a ledger kept in
    /// PostgreSQL), or `None` for one node.
    nodes: Option<std::sync::Arc<Nodes>>,
    name: NameLedger,
}

/// The nodes of one ledger, in the order given, and which answered last.
struct Nodes {
    urls: Vec<String>,
    ca: Option<std::path::PathBuf>,
    current: std::sync::atomic::AtomicUsize,
}

/// How long a submission keeps going from node to node before it gives up: longer than a
/// takeover (the lease, 5 s by default, plus a follower's try).
pub const FAILOVER_LIMIT: Duration = Duration::from_secs(30);

/// How long one node may take to answer a submission, or a read, before the next is tried (a
/// frozen node accepts connections and answers nothing). Only with several nodes: one node is
/// waited for.
const SUBMIT_ATTEMPT: Duration = Duration::from_secs(10);
const READ_ATTEMPT: Duration = Duration::from_secs(5);

/// How long connecting to one of several nodes may take (TCP and HTTP/2 handshake).
const CONNECT_ATTEMPT: Duration = Duration::from_secs(5);

impl LedgerClient {
    /// Connects to `url` (`http://host:port`, or `https://…` for TLS). `ca` adds a trusted CA
    /// certificate (PEM) for a node with a self-signed or private certificate.
    ///
    /// Several nodes of one ledger (kept in PostgreSQL, README: high availability) are given
    /// as one comma-separated list, `A,B`: the client reads from the first that answers, and a
    /// submission that a node cannot write (it is not the writer, is down, or cannot reach the
    /// database) goes to the next with the same bytes, so it is written once (the transaction
    /// id makes a repeat return the original receipt).
    pub async fn connect(url: &str, ca: Option<&Path>) -> Result<LedgerClient, ClientError> {
        let urls: Vec<String> = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(node_url)
            .collect();
        if urls.len() <= 1 {
            let channel = connect_one(urls.first().map_or(url, String::as_str), ca).await?;
            return Ok(LedgerClient::over(channel, NameLedger::default(), None));
        }
        let nodes = std::sync::Arc::new(Nodes {
            urls,
            ca: ca.map(Path::to_path_buf),
            current: std::sync::atomic::AtomicUsize::new(0),
        });
        let channel = nodes.connect_from(0).await?;
        Ok(LedgerClient::over(
            channel,
            NameLedger::default(),
            Some(nodes),
        ))
    }

    fn over(
        channel: Channel,
        name: NameLedger,
        nodes: Option<std::sync::Arc<Nodes>>,
    ) -> LedgerClient {
        LedgerClient {
            raw: Raw::with_interceptor(channel.clone(), name.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            channel,
            nodes,
            name,
        }
    }

    /// A unary read, failing over like a submission (any node serves reads).
    async fn read<T, F, Fut>(&mut self, mut call: F) -> Result<T, ClientError>
    where
        F: FnMut(Raw<Transport>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        self.failing_over(READ_ATTEMPT, move |raw| {
            let answer = call(raw);
            async move {
                answer
                    .await
                    .map(|r| r.into_inner())
                    .map_err(ClientError::from_status)
            }
        })
        .await
    }

    /// Runs `call` on the current node; when it fails in a way another node may not (see
    /// [`ClientError::may_succeed_elsewhere`]) and there are other nodes, goes on to the next,
    /// until one answers or [`FAILOVER_LIMIT`] passes.
    async fn failing_over<T, F, Fut>(
        &mut self,
        attempt: Duration,
        mut call: F,
    ) -> Result<T, ClientError>
    where
        F: FnMut(Raw<Transport>) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let Some(nodes) = self.nodes.clone() else {
            return call(self.raw.clone()).await;
        };
        let started = std::time::Instant::now();
        loop {
            let answered = match tokio::time::timeout(attempt, call(self.raw.clone())).await {
                Ok(answered) => answered,
                Err(_) => Err(ClientError::Unavailable(format!(
                    "no answer within {attempt:?}"
                ))),
            };
            match answered {
                Err(e) if e.may_succeed_elsewhere() && started.elapsed() < FAILOVER_LIMIT => {
                    let next = nodes.current.load(std::sync::atomic::Ordering::Relaxed) + 1;
                    if next % nodes.urls.len() == 0 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    if let Ok(channel) = nodes.connect_from(next).await {
                        *self = LedgerClient::over(channel, self.name.clone(), Some(nodes.clone()));
                    }
                }
                answered => return answered,
            }
        }
    }
}

/// Connects to one node.
async fn connect_one(url: &str, ca: Option<&Path>) -> Result<Channel, ClientError> {
    let url = &node_url(url);
    let connect_err = |detail: String| ClientError::Connect {
        url: url.to_string(),
        detail,
    };
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| connect_err(e.to_string()))?
        .connect_timeout(Duration::from_secs(10));
    if url.starts_with("https://") {
        let mut tls = ClientTlsConfig::new().with_native_roots();
        if let Some(path) = ca {
            let pem = std::fs::read(path).map_err(|e| {
                ClientError::Local(format!(
                    "cannot read CA certificate {}: {e}",
                    path.display()
                ))
            })?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| connect_err(e.to_string()))?;
    }
    endpoint
        .connect()
        .await
        .map_err(|e| connect_err(error_chain(&e)))
}

impl Nodes {
    /// Connects to the first node that answers, from the `from`-th on (round the list once).
    async fn connect_from(&self, from: usize) -> Result<Channel, ClientError> {
        let mut failed = Vec::new();
        for i in 0..self.urls.len() {
            let at = (from + i) % self.urls.len();
            let connected = tokio::time::timeout(
                CONNECT_ATTEMPT,
                connect_one(&self.urls[at], self.ca.as_deref()),
            )
            .await
            .unwrap_or_else(|_| {
                Err(ClientError::Connect {
                    url: self.urls[at].clone(),
                    detail: format!("no answer within {CONNECT_ATTEMPT:?}"),
                })
            });
            match connected {
                Ok(channel) => {
                    self.current.store(at, std::sync::atomic::Ordering::Relaxed);
                    return Ok(channel);
                }
                Err(e) => failed.push(e.to_string()),
            }
        }
        Err(ClientError::Connect {
            url: self.urls.join(","),
            detail: failed.join("; "),
        })
    }
}

impl LedgerClient {
    /// The same connection, for ledger `ledger_id` of a node serving several (`None`: the
    /// node's own). An id that is not ASCII is refused here.
    pub fn for_ledger(&self, ledger_id: Option<&str>) -> Result<LedgerClient, ClientError> {
        let name = match ledger_id {
            None => NameLedger(None),
            Some(id) => NameLedger(Some(id.parse().map_err(|_| {
                ClientError::Local(format!(
                    "账本标识 {id:?} 不是 ASCII / the ledger id {id:?} is not ASCII"
                ))
            })?)),
        };
        Ok(LedgerClient::over(
            self.channel.clone(),
            name,
            self.nodes.clone(),
        ))
    }

    /// The generated gRPC client, for calls this wrapper does not cover.
    pub fn raw(&mut self) -> &mut Raw<Transport> {
        &mut self.raw
    }

    pub async fn checkpoint(&mut self) -> Result<pb::Checkpoint, ClientError> {
        self.read(
            move |mut raw| async move { raw.get_checkpoint(pb::GetCheckpointRequest {}).await },
        )
        .await
    }

    /// The ledger id: the origin line of the node's checkpoint.
    pub async fn ledger_id(&mut self) -> Result<String, ClientError> {
        let cp = self.checkpoint().await?;
        cp.text
            .lines()
            .next()
            .map(str::to_string)
            .ok_or_else(|| ClientError::Local("the node's checkpoint is empty".into()))
    }

    pub async fn submit(
        &mut self,
        envelope: pb::SignedEnvelope,
    ) -> Result<pb::TxReceipt, ClientError> {
        let request = pb::SubmitRequest {
            envelope: Some(envelope),
        };
        let response = self
            .failing_over(SUBMIT_ATTEMPT, |mut raw| {
                let request = request.clone();
                async move { raw.submit(request).await.map_err(ClientError::from_status) }
            })
            .await?;
        response
            .into_inner()
            .receipt
            .ok_or_else(|| ClientError::Local("the node answered without a receipt".into()))
    }

    pub async fn submit_batch(
        &mut self,
        envelopes: Vec<pb::SignedEnvelope>,
    ) -> Result<Vec<ItemResult>, ClientError> {
        let request = pb::SubmitBatchRequest { envelopes };
        let response = self
            .failing_over(SUBMIT_ATTEMPT, |mut raw| {
                let request = request.clone();
                async move {
                    raw.submit_batch(request)
                        .await
                        .map_err(ClientError::from_status)
                }
            })
            .await?;
        Ok(response
            .into_inner()
            .results
            .into_iter()
            .map(|r| match r.outcome {
                Some(pb::submit_result::Outcome::Receipt(receipt)) => Ok(receipt),
                Some(pb::submit_result::Outcome::Rejection(rejection)) => Err(rejection),
                None => Err(pb::Rejection {
                    reason: "NO_OUTCOME".into(),
                    message: "the node gave no outcome for this item".into(),
                    code: tonic::Code::Internal as i32,
                }),
            })
            .collect())
    }

    pub async fn balances(&mut self, as_of_tree_size: u64) -> Result<pb::Balances, ClientError> {
        self.read(move |mut raw| async move {
            raw.get_balances(pb::GetBalancesRequest { as_of_tree_size })
                .await
        })
        .await
    }

    pub async fn projects(&mut self) -> Result<pb::Projects, ClientError> {
        self.read(move |mut raw| async move { raw.list_projects(pb::ListProjectsRequest {}).await })
            .await
    }

    pub async fn keys(&mut self) -> Result<pb::Keys, ClientError> {
        self.read(move |mut raw| async move { raw.list_keys(pb::ListKeysRequest {}).await })
            .await
    }

    pub async fn disbursements(&mut self) -> Result<pb::Disbursements, ClientError> {
        self.read(move |mut raw| async move {
            raw.list_disbursements(pb::ListDisbursementsRequest {})
                .await
        })
        .await
    }

    pub async fn inclusion_proof(
        &mut self,
        sequence: u64,
        tree_size: u64,
    ) -> Result<pb::InclusionProof, ClientError> {
        self.read(move |mut raw| async move {
            raw.get_inclusion_proof(pb::GetInclusionProofRequest {
                sequence,
                tree_size,
            })
            .await
        })
        .await
    }

    /// The receipt of a transaction in the log, proven against the witnessed checkpoint when
    /// the witnesses have cosigned it.
    pub async fn receipt(&mut self, tx_id: [u8; 16]) -> Result<pb::TxReceipt, ClientError> {
        self.read(move |mut raw| async move {
            raw.get_receipt(pb::GetReceiptRequest {
                tx_id: tx_id.to_vec(),
            })
            .await
        })
        .await
    }

    pub async fn entry(&mut self, sequence: u64) -> Result<pb::Entry, ClientError> {
        self.read(move |mut raw| async move {
            let by = Some(pb::get_entry_request::By::Sequence(sequence));
            raw.get_entry(pb::GetEntryRequest { by }).await
        })
        .await
    }

    /// Entries from `from`, at most `limit` (0: to the end of the log as it is now).
    pub async fn entries(
        &mut self,
        from: u64,
        limit: u64,
    ) -> Result<impl Stream<Item = Result<pb::Entry, ClientError>>, ClientError> {
        let stream = self
            .raw
            .read_entries(pb::ReadEntriesRequest {
                from_sequence: from,
                limit,
            })
            .await
            .map_err(ClientError::from_status)?
            .into_inner();
        Ok(stream.map(|r| r.map_err(ClientError::from_status)))
    }

    /// Follows the log live: entries, checkpoints and caught-up markers.
    pub async fn subscribe(
        &mut self,
        request: pb::SubscribeRequest,
    ) -> Result<impl Stream<Item = Result<pb::subscribe_event::Event, ClientError>>, ClientError>
    {
        let stream = self
            .raw
            .subscribe(request)
            .await
            .map_err(ClientError::from_status)?
            .into_inner();
        Ok(stream.filter_map(|r| match r {
            Ok(event) => event.event.map(Ok),
            Err(status) => Some(Err(ClientError::from_status(status))),
        }))
    }

    /// Streams a snapshot into `out`; returns the bytes written.
    /// Waits until the witnesses have cosigned the log as it is now (a snapshot covers only
    /// what they cosigned), at most `timeout`. Returns (witnessed size, log size); immediately
    /// when the ledger names no witnesses.
    pub async fn wait_witnessed(&mut self, timeout: Duration) -> Result<(u64, u64), ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let target = self.checkpoint().await?.tree_size;
        loop {
            let cp = self.checkpoint().await?;
            if cp.witness_quorum == 0 {
                return Ok((cp.tree_size, cp.tree_size));
            }
            let witnessed = ledger_core::checkpoint::SignedCheckpoint::parse(&cp.witnessed_text)
                .map(|w| w.checkpoint.tree_size)
                .unwrap_or(0);
            if witnessed >= target || tokio::time::Instant::now() >= deadline {
                return Ok((witnessed, cp.tree_size));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn export_snapshot(
        &mut self,
        out: &mut (impl std::io::Write + Send),
    ) -> Result<u64, ClientError> {
        let mut stream = self
            .raw
            .export_snapshot(pb::ExportSnapshotRequest {})
            .await
            .map_err(ClientError::from_status)?
            .into_inner();
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(ClientError::from_status)?;
            out.write_all(&chunk.data)
                .map_err(|e| ClientError::Local(format!("cannot write the snapshot: {e}")))?;
            written += chunk.data.len() as u64;
        }
        Ok(written)
    }
}

/// A node address as people write it: `host:port` means `http://host:port`.
pub fn node_url(address: &str) -> String {
    let address = address.trim();
    if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    }
}

/// An error and its causes, each said once: transport errors wrap causes that repeat their own
/// text ("tcp connect error: tcp connect error"), and the root cause is what helps.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn each_cause_is_said_once_and_the_root_cause_is_kept() {
        let e = E(
            "transport error",
            Some(Box::new(E(
                "tcp connect error",
                Some(Box::new(E(
                    "tcp connect error",
                    Some(Box::new(E("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        assert_eq!(
            error_chain(&e),
            "transport error: tcp connect error: Connection refused (os error 111)"
        );
    }

    #[test]
    fn an_address_without_a_scheme_is_http() {
        assert_eq!(node_url("127.0.0.1:50051"), "http://127.0.0.1:50051");
        assert_eq!(node_url(" https://n.example:443 "), "https://n.example:443");
    }
}
