//! The `ledger.v1.Ledger` gRPC service. Status codes carry meaning (see PROTOCOL.md §5.1):
//! a rejection's code comes from the rule that refused it, and its message says what to do.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ledger_core::entry::Entry;
use ledger_core::merkle;
use ledger_core::proto as pb;
use ledger_core::rules::{self, Prepared, Rejection, StatusClass};
use ledger_core::signing::KeyId;
use ledger_core::snapshot;
use ledger_core::state::{AccountKind, FundSource, State};
use ledger_core::tx::{Kind, TxId};
use ledger_core::Hash;
use prost::Message;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::engine::{EngineError, Head, Item, Job, Outcome, Shared};
use crate::ledgers::{Ledgers, OpenLedger, PickError, LEDGER_ID_HEADER};

/// Explicit limits of the service (TigerBeetle style: everything bounded).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request message, checked by the service (RESOURCE_EXHAUSTED).
    pub max_message_bytes: usize,
    pub max_batch: usize,
    pub max_subscribers: usize,
    /// Entries a subscriber may fall behind its consumer before the node waits for it.
    pub subscriber_buffer: usize,
    /// How long a subscriber may refuse to read before the node ends its stream.
    pub subscriber_stall: Duration,
    /// Historical balance queries that replay the log, at once.
    pub max_replays: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 8 << 20,
            max_batch: 1000,
            max_subscribers: 1024,
            subscriber_buffer: 256,
            subscriber_stall: Duration::from_secs(60),
            max_replays: 1,
        }
    }
}

#[derive(Clone)]
pub struct LedgerService {
    ledgers: Arc<Ledgers>,
    limits: Limits,
    subscribers: Arc<AtomicUsize>,
    /// Open ReadEntries streams, bounded like Subscribe streams (same limit, own count).
    readers: Arc<AtomicUsize>,
    replays: Arc<Semaphore>,
    /// Becomes true when the node starts to shut down: Subscribe streams end then (with
    /// UNAVAILABLE and where to resume), or a graceful shutdown would wait for them forever.
    stopping: watch::Receiver<bool>,
}

impl LedgerService {
    /// The live count of Subscribe streams, for metrics.
    pub fn subscriber_count(&self) -> Arc<AtomicUsize> {
        self.subscribers.clone()
    }

    pub fn new(ledgers: Arc<Ledgers>, limits: Limits, stopping: watch::Receiver<bool>) -> Self {
        let replays = Arc::new(Semaphore::new(limits.max_replays.max(1)));
        LedgerService {
            ledgers,
            limits,
            subscribers: Arc::new(AtomicUsize::new(0)),
            readers: Arc::new(AtomicUsize::new(0)),
            replays,
            stopping,
        }
    }

    /// The ledger a request names with its `ledger-id` metadata (none: the node's own).
    async fn ledger<T>(&self, request: &Request<T>) -> Result<Arc<OpenLedger>, Status> {
        if request.metadata().get_all(LEDGER_ID_HEADER).iter().count() > 1 {
            return Err(pick_status(&PickError::Repeated));
        }
        let id = match request.metadata().get(LEDGER_ID_HEADER) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| {
                pick_status(&PickError::Invalid(
                    String::from_utf8_lossy(v.as_bytes()).into(),
                ))
            })?),
        };
        let ledger = self.ledgers.get(id).await.map_err(|e| pick_status(&e))?;
        tracing::Span::current().record("ledger", ledger.shared.ledger_id.as_str());
        Ok(ledger)
    }
}

/// The status of a request whose ledger cannot be given, with its `ledger-reason`.
pub fn pick_status(e: &PickError) -> Status {
    let code = match e {
        PickError::Invalid(_) | PickError::Repeated => tonic::Code::InvalidArgument,
        PickError::Unknown(_) => tonic::Code::NotFound,
        PickError::Busy { .. } => tonic::Code::ResourceExhausted,
        PickError::Unopenable { .. } => tonic::Code::Unavailable,
    };
    let mut status = Status::new(code, format!("{}: {e}", e.reason()));
    status.metadata_mut().insert(
        "ledger-reason",
        tonic::metadata::MetadataValue::from_static(e.reason()),
    );
    status
}

pub fn rejection_status(r: &Rejection) -> Status {
    let code = match r.status() {
        StatusClass::InvalidArgument => tonic::Code::InvalidArgument,
        StatusClass::Unauthenticated => tonic::Code::Unauthenticated,
        StatusClass::PermissionDenied => tonic::Code::PermissionDenied,
        StatusClass::FailedPrecondition => tonic::Code::FailedPrecondition,
        StatusClass::AlreadyExists => tonic::Code::AlreadyExists,
        StatusClass::Unavailable => tonic::Code::Unavailable,
    };
    // Chinese first, then English, on two lines; the reason code stays a stable identifier.
    let mut status = Status::new(code, format!("{}: {}", r.reason(), r.bilingual()));
    if let Ok(v) = r.reason().parse() {
        status.metadata_mut().insert("ledger-reason", v);
    }
    status
}

fn rejection_proto(r: &Rejection) -> pb::Rejection {
    pb::Rejection {
        reason: r.reason().to_string(),
        message: r.bilingual(),
        code: rejection_status(r).code() as i32,
    }
}

fn engine_status(e: EngineError) -> Status {
    tracing::error!(error = %e, "storage read failed");
    Status::unavailable(format!("the node could not read its storage: {e}"))
}

pub fn entry_proto(entry: &Entry, hash: &Hash) -> pb::Entry {
    pb::Entry {
        sequence: entry.sequence,
        prev_hash: entry.prev_hash.to_vec(),
        timestamp_ms: entry.timestamp_ms,
        envelope: entry.envelope.clone(),
        entry_hash: hash.to_vec(),
    }
}

/// Decodes and checks an envelope on the request task, and verifies its signatures when every
/// signer's key is already known.
fn prepare_item(shared: &Shared, envelope: pb::SignedEnvelope) -> Item {
    let bytes = envelope.encode_to_vec();
    if bytes.len() > ledger_core::limits::MAX_ENVELOPE_BYTES {
        let r = Rejection::from(ledger_core::rules::DecodeError::TooLarge {
            what: "envelope",
            size: bytes.len(),
            limit: ledger_core::limits::MAX_ENVELOPE_BYTES,
        });
        return Item {
            prepared: Err(r),
            verified: None,
            envelope: bytes,
        };
    }
    // A serving node always has its genesis: refused here, before its keys are even parsed, so
    // a flood of genesis envelopes costs little and the writer nothing.
    if is_genesis(&envelope) {
        return Item {
            prepared: Err(Rejection::GenesisNotFirst),
            verified: None,
            envelope: bytes,
        };
    }
    let prepared = ledger_core::tx::Envelope::from_proto(envelope)
        .map_err(Rejection::from)
        .and_then(rules::prepare_envelope)
        .and_then(|p| {
            // On a node with many ledgers, a clerk may send to the wrong one: say so, before
            // anything about keys this ledger never registered.
            if p.tx.ledger_id == shared.ledger_id {
                Ok(p)
            } else {
                Err(Rejection::WrongLedger {
                    expected: shared.ledger_id.clone(),
                    found: p.tx.ledger_id.clone(),
                })
            }
        });
    let verified = match &prepared {
        Ok(p) => pre_verify(shared, p),
        _ => None,
    };
    match verified {
        Some(Err(r)) => Item {
            prepared: Err(r),
            verified: None,
            envelope: bytes,
        },
        Some(Ok(signers)) => Item {
            prepared,
            verified: Some(signers),
            envelope: bytes,
        },
        None => Item {
            prepared,
            verified: None,
            envelope: bytes,
        },
    }
}

/// Whether the envelope's body is a genesis (a body that does not decode is not: it is refused
/// by the full check with its own reason).
fn is_genesis(envelope: &pb::SignedEnvelope) -> bool {
    pb::TransactionBody::decode(envelope.body.as_slice())
        .map(|b| matches!(b.kind, Some(pb::transaction_body::Kind::Genesis(_))))
        .unwrap_or(false)
}

fn pre_verify(shared: &Shared, p: &Prepared) -> Option<Result<Vec<KeyId>, Rejection>> {
    let keys = shared.keys.read().expect("keys lock");
    let lookup: Vec<_> = p
        .envelope
        .signatures
        .iter()
        .map(|(id, _)| keys.get(id).copied())
        .collect();
    drop(keys);
    if lookup.iter().any(Option::is_none) {
        return None; // a key the writer may register in this very group
    }
    let mut it = lookup.into_iter();
    Some(
        p.envelope
            .verify_signatures(|_| it.next().flatten())
            .map_err(Rejection::from),
    )
}

async fn submit_items(
    ledger: &OpenLedger,
    items: Vec<Item>,
) -> Result<(Vec<Outcome>, Arc<Head>), Status> {
    let (reply, answer) = oneshot::channel();
    let Some(queue) = ledger.queue() else {
        return Err(Status::unavailable(
            "账本正在关闭，请重试 / the ledger is closing; submit again (it is idempotent)",
        ));
    };
    match queue.try_send(Job { items, reply }) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            return Err(Status::resource_exhausted(
                "the node's write queue is full; retry after a moment (limit: --queue-depth)",
            ))
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            return Err(Status::unavailable(
                "the node is shutting down; retry against it once it is back",
            ))
        }
    }
    match answer.await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(unwritten)) => {
            let mut status = Status::unavailable(unwritten.message);
            if let Some(reason) = unwritten.reason {
                status.metadata_mut().insert(
                    "ledger-reason",
                    tonic::metadata::MetadataValue::from_static(reason),
                );
            }
            Err(status)
        }
        Err(_) => Err(Status::unavailable("the node stopped before answering; the transaction was not acknowledged, so submit it again (it is idempotent)")),
    }
}

/// Where transaction `id` is in the log up to `head`, or NOT_FOUND.
fn sequence_of_tx(shared: &Shared, id: [u8; 16], head: &Head) -> Result<u64, Status> {
    shared
        .sequence_of(&TxId(id))
        .map_err(engine_status)?
        .filter(|s| *s < head.size)
        .ok_or_else(|| {
            Status::not_found(format!(
                "账本中没有交易 no transaction {} in this ledger",
                hex::encode(id)
            ))
        })
}

/// Receipts against one checkpoint. The genesis entry and its proof are the same in every one,
/// so the receipts of a batch compute them once (measured: no change in batch ingest, where the
/// genesis proof's tiles are always cached; it saves the work, not the time).
struct Receipts<'a> {
    shared: &'a Shared,
    size: u64,
    checkpoint: &'a str,
    genesis: pb::Entry,
    genesis_proof: Vec<Vec<u8>>,
}

impl<'a> Receipts<'a> {
    /// Receipts against `head`.
    fn against(shared: &'a Shared, head: &'a Head) -> Result<Receipts<'a>, Status> {
        Receipts::at(shared, head.size, &head.checkpoint)
    }

    /// Receipts against the checkpoint `checkpoint` of `size` entries.
    fn at(shared: &'a Shared, size: u64, checkpoint: &'a str) -> Result<Receipts<'a>, Status> {
        let (genesis, genesis_hash) = shared.genesis().map_err(engine_status)?;
        let genesis_proof = prove(shared, 0, size)?;
        Ok(Receipts {
            shared,
            size,
            checkpoint,
            genesis: entry_proto(&genesis, &genesis_hash),
            genesis_proof: genesis_proof.iter().map(|h| h.to_vec()).collect(),
        })
    }

    /// The receipt of durable entry `sequence`, with its proof.
    fn of(&self, sequence: u64, duplicate: bool) -> Result<pb::TxReceipt, Status> {
        assert!(sequence < self.size);
        let (entry, hash) = self.shared.read_entry(sequence).map_err(engine_status)?;
        let proof = prove(self.shared, sequence, self.size)?;
        Ok(pb::TxReceipt {
            sequence,
            entry_hash: hash.to_vec(),
            checkpoint: self.checkpoint.to_string(),
            inclusion_proof: proof.iter().map(|h| h.to_vec()).collect(),
            entry: Some(entry_proto(&entry, &hash)),
            duplicate,
            genesis: Some(self.genesis.clone()),
            genesis_inclusion_proof: self.genesis_proof.clone(),
        })
    }
}

fn prove(shared: &Shared, index: u64, size: u64) -> Result<Vec<Hash>, Status> {
    shared
        .inclusion_proof(index, size)
        .map_err(engine_status)?
        .map_err(|e| Status::internal(e.to_string()))
}

fn check_size(shared: &Shared, tree_size: u64) -> Result<u64, Status> {
    let head = shared.head();
    match tree_size {
        0 => Ok(head.size),
        n if n > head.size => Err(Status::out_of_range(format!(
            "tree size {n} is beyond the log, which has {} entries",
            head.size
        ))),
        n => Ok(n),
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl pb::ledger_server::Ledger for LedgerService {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let ledger = self.ledger(&request).await?;
        let envelope = request
            .into_inner()
            .envelope
            .ok_or_else(|| Status::invalid_argument("the request has no envelope"))?;
        let item = prepare_item(&ledger.shared, envelope);
        let (outcomes, head) = submit_items(&ledger, vec![item]).await?;
        let outcome = outcomes.into_iter().next().expect("one outcome per item");
        let receipt = match outcome {
            Outcome::Appended(seq) => Receipts::against(&ledger.shared, &head)?.of(seq, false)?,
            Outcome::Duplicate(seq) => Receipts::against(&ledger.shared, &head)?.of(seq, true)?,
            Outcome::Rejected(r) => {
                tracing::info!(reason = r.reason(), "transaction rejected");
                return Err(rejection_status(&r));
            }
        };
        tracing::info!(
            sequence = receipt.sequence,
            duplicate = receipt.duplicate,
            "transaction acknowledged"
        );
        Ok(Response::new(pb::SubmitResponse {
            receipt: Some(receipt),
        }))
    }

    async fn submit_batch(
        &self,
        request: Request<pb::SubmitBatchRequest>,
    ) -> Result<Response<pb::SubmitBatchResponse>, Status> {
        let ledger = self.ledger(&request).await?;
        let request = request.into_inner();
        if request.encoded_len() > self.limits.max_message_bytes {
            return Err(Status::resource_exhausted(format!(
                "the request is {} bytes, over the limit of {} (--max-message-bytes); send smaller batches",
                request.encoded_len(),
                self.limits.max_message_bytes
            )));
        }
        let envelopes = request.envelopes;
        if envelopes.is_empty() {
            return Err(Status::invalid_argument("the batch is empty"));
        }
        if envelopes.len() > self.limits.max_batch {
            return Err(Status::resource_exhausted(format!(
                "the batch has {} transactions, the limit is {}; split it",
                envelopes.len(),
                self.limits.max_batch
            )));
        }
        // Verify signatures on all cores before the writer sees the batch.
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(envelopes.len());
        let chunk = envelopes.len().div_ceil(workers);
        let mut tasks = Vec::new();
        let mut rest = envelopes;
        while !rest.is_empty() {
            let tail = rest.split_off(chunk.min(rest.len()));
            let part = std::mem::replace(&mut rest, tail);
            let shared = ledger.shared.clone();
            tasks.push(tokio::task::spawn_blocking(move || {
                part.into_iter()
                    .map(|e| prepare_item(&shared, e))
                    .collect::<Vec<_>>()
            }));
        }
        let mut items = Vec::new();
        for t in tasks {
            items.extend(t.await.map_err(|e| Status::internal(e.to_string()))?);
        }
        let (outcomes, head) = submit_items(&ledger, items).await?;
        let receipts = Receipts::against(&ledger.shared, &head)?;
        let mut results = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            let result = match outcome {
                Outcome::Appended(seq) => {
                    pb::submit_result::Outcome::Receipt(receipts.of(seq, false)?)
                }
                Outcome::Duplicate(seq) => {
                    pb::submit_result::Outcome::Receipt(receipts.of(seq, true)?)
                }
                Outcome::Rejected(r) => pb::submit_result::Outcome::Rejection(rejection_proto(&r)),
            };
            results.push(pb::SubmitResult {
                outcome: Some(result),
            });
        }
        Ok(Response::new(pb::SubmitBatchResponse { results }))
    }

    async fn get_receipt(
        &self,
        request: Request<pb::GetReceiptRequest>,
    ) -> Result<Response<pb::TxReceipt>, Status> {
        let ledger = self.ledger(&request).await?;
        let id: [u8; 16] = request
            .into_inner()
            .tx_id
            .as_slice()
            .try_into()
            .map_err(|_| {
                Status::invalid_argument("a transaction id is 16 bytes (32 hex digits)")
            })?;
        // The witnessed checkpoint first: the head read after it is never smaller.
        let witnessed = ledger
            .shared
            .witnessed
            .read()
            .expect("witnessed lock")
            .clone();
        let head = ledger.shared.head();
        let sequence = sequence_of_tx(&ledger.shared, id, &head)?;
        let receipt = match witnessed {
            Some(w) if sequence < w.checkpoint.tree_size => {
                Receipts::at(&ledger.shared, w.checkpoint.tree_size, &w.text)?
                    .of(sequence, false)?
            }
            _ => Receipts::against(&ledger.shared, &head)?.of(sequence, false)?,
        };
        Ok(Response::new(receipt))
    }

    async fn get_entry(
        &self,
        request: Request<pb::GetEntryRequest>,
    ) -> Result<Response<pb::Entry>, Status> {
        let ledger = self.ledger(&request).await?;
        let head = ledger.shared.head();
        let sequence = match request.into_inner().by {
            Some(pb::get_entry_request::By::Sequence(s)) => s,
            Some(pb::get_entry_request::By::TxId(id)) => {
                let id: [u8; 16] = id
                    .as_slice()
                    .try_into()
                    .map_err(|_| Status::invalid_argument("a transaction id is 16 bytes"))?;
                sequence_of_tx(&ledger.shared, id, &head)?
            }
            None => {
                return Err(Status::invalid_argument(
                    "say which entry: by sequence or by tx_id",
                ))
            }
        };
        if sequence >= head.size {
            return Err(Status::not_found(format!(
                "there is no entry {sequence}; the log has {} entries",
                head.size
            )));
        }
        let (entry, hash) = ledger.shared.read_entry(sequence).map_err(engine_status)?;
        Ok(Response::new(entry_proto(&entry, &hash)))
    }

    type ReadEntriesStream = BoxStream<pb::Entry>;

    async fn read_entries(
        &self,
        request: Request<pb::ReadEntriesRequest>,
    ) -> Result<Response<Self::ReadEntriesStream>, Status> {
        let ledger = self.ledger(&request).await?;
        let req = request.into_inner();
        let head = ledger.shared.head();
        if req.from_sequence > head.size {
            return Err(Status::out_of_range(format!(
                "the log has {} entries",
                head.size
            )));
        }
        let end = if req.limit == 0 {
            head.size
        } else {
            head.size.min(req.from_sequence.saturating_add(req.limit))
        };
        let count = self.readers.fetch_add(1, Ordering::SeqCst) + 1;
        let guard = SubscriberGuard(self.readers.clone());
        if count > self.limits.max_subscribers {
            return Err(Status::resource_exhausted(format!(
                "the node serves at most {} ReadEntries streams at once; try again later",
                self.limits.max_subscribers
            )));
        }
        let (tx, stream) = FedStream::new(self.limits.subscriber_buffer);
        let stall = self.limits.subscriber_stall;
        let ending = stream.ending.clone();
        tokio::spawn(async move {
            let _guard = guard;
            // The stream holds its ledger open (an idle ledger is closed only when no one does),
            // unless the node needs the room for another ledger.
            let _streaming = ledger.stream_guard();
            let mut evicted = ledger.evicted();
            let shared = &ledger.shared;
            for seq in req.from_sequence..end {
                let item = shared
                    .read_entry(seq)
                    .map(|(e, h)| entry_proto(&e, &h))
                    .map_err(engine_status);
                let failed = item.is_err();
                match send_unless_evicted(&tx, item, stall, &mut evicted).await {
                    Ok(()) if !failed => {}
                    Ok(()) => return,
                    Err(Unsent::Gone) => return,
                    Err(Unsent::Evicted) => {
                        *ending.lock().expect("ending lock") = Some(made_room(seq));
                        return;
                    }
                    Err(Unsent::Stalled) => {
                        // The reader took nothing for `stall`: end its stream with where to
                        // resume, as Subscribe does, and free its slot. The error comes after
                        // what is already queued, so a cut stream never looks complete.
                        *ending.lock().expect("ending lock") = Some(Status::resource_exhausted(format!(
                            "the stream was ended because the reader took nothing for {} s; resume from sequence {seq}",
                            stall.as_secs()
                        )));
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::Checkpoint>, Status> {
        let ledger = self.ledger(&request).await?;
        Ok(Response::new(checkpoint_proto(
            &ledger.shared,
            &ledger.shared.head(),
        )))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::GetInclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        let ledger = self.ledger(&request).await?;
        let req = request.into_inner();
        let size = check_size(&ledger.shared, req.tree_size)?;
        if req.sequence >= size {
            return Err(Status::out_of_range(format!(
                "entry {} is not in a tree of {size} entries",
                req.sequence
            )));
        }
        let (entry, _) = ledger
            .shared
            .read_entry(req.sequence)
            .map_err(engine_status)?;
        let proof = ledger
            .shared
            .inclusion_proof(req.sequence, size)
            .map_err(engine_status)?
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        Ok(Response::new(pb::InclusionProof {
            sequence: req.sequence,
            tree_size: size,
            leaf_hash: merkle::entry_leaf_hash(&entry).to_vec(),
            hashes: proof.iter().map(|h| h.to_vec()).collect(),
        }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::GetConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        let ledger = self.ledger(&request).await?;
        let req = request.into_inner();
        let new_size = check_size(&ledger.shared, req.new_size)?;
        if req.old_size > new_size {
            return Err(Status::invalid_argument(format!(
                "old size {} is larger than new size {new_size}",
                req.old_size
            )));
        }
        let proof = ledger
            .shared
            .consistency_proof(req.old_size, new_size)
            .map_err(engine_status)?
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        Ok(Response::new(pb::ConsistencyProof {
            old_size: req.old_size,
            new_size,
            hashes: proof.iter().map(|h| h.to_vec()).collect(),
        }))
    }

    async fn get_balances(
        &self,
        request: Request<pb::GetBalancesRequest>,
    ) -> Result<Response<pb::Balances>, Status> {
        let ledger = self.ledger(&request).await?;
        let as_of = request.into_inner().as_of_tree_size;
        if as_of == 0 {
            let head = ledger.shared.head();
            let state = ledger.shared.state.read().expect("state lock");
            return Ok(Response::new(balances_proto(&state, head.size)));
        }
        let size = check_size(&ledger.shared, as_of)?;
        let _permit = self.replays.try_acquire().map_err(|_| {
            Status::resource_exhausted(
                "another historical balance query is running; retry in a moment",
            )
        })?;
        let shared = ledger.shared.clone();
        let state = tokio::task::spawn_blocking(move || -> Result<State, Status> {
            let mut state = State::new();
            // With the index holding every record, the replay keeps none of them in memory.
            let forget = shared
                .records_indexed
                .load(std::sync::atomic::Ordering::Relaxed);
            if forget {
                state.history = ledger_core::state::History::new(shared.store.history());
            }
            for seq in 0..size {
                let (entry, _) = shared.read_entry(seq).map_err(engine_status)?;
                rules::apply_entry_unverified(&mut state, &entry)
                    .map_err(|r| Status::internal(format!("entry {seq} does not replay: {r}")))?;
                if forget && (seq + 1) % 4096 == 0 {
                    state.forget_indexed(seq + 1);
                }
            }
            Ok(state)
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))??;
        Ok(Response::new(balances_proto(&state, size)))
    }

    async fn list_projects(
        &self,
        request: Request<pb::ListProjectsRequest>,
    ) -> Result<Response<pb::Projects>, Status> {
        let ledger = self.ledger(&request).await?;
        let head = ledger.shared.head();
        let state = ledger.shared.state.read().expect("state lock");
        let projects = state
            .projects
            .values()
            .map(|p| {
                let figures = state
                    .project_figures(p)
                    .into_iter()
                    .map(|f| pb::ProjectSourceFigures {
                        source: f.source.to_proto() as i32,
                        budget_fen: f.budget,
                        allocated_fen: f.allocated,
                        spent_fen: f.spent,
                        held_fen: f.held,
                        remaining_fen: f.remaining,
                    })
                    .collect();
                pb::Project {
                    project_id: p.id.clone(),
                    name: p.name.clone(),
                    description: p.description.clone(),
                    figures,
                    stage: p.stage.name().to_string(),
                    evaluations: p
                        .evaluations
                        .values()
                        .map(|e| pb::Evaluation {
                            key: e.key_id.fingerprint(),
                            role: e.role.to_proto() as i32,
                            satisfied: e.satisfied,
                            comment: e.comment.clone(),
                            report_hash: e.report_hash.map(|h| h.to_vec()).unwrap_or_default(),
                            at: e.at,
                        })
                        .collect(),
                    returned: p.returned.to_proto(),
                }
            })
            .collect();
        Ok(Response::new(pb::Projects {
            tree_size: head.size,
            projects,
        }))
    }

    async fn list_keys(
        &self,
        request: Request<pb::ListKeysRequest>,
    ) -> Result<Response<pb::Keys>, Status> {
        let ledger = self.ledger(&request).await?;
        let state = ledger.shared.state.read().expect("state lock");
        let keys = state
            .keys
            .values()
            .map(|k| pb::KeyInfo {
                key_id: k.key_id.0.to_vec(),
                fingerprint: k.key_id.fingerprint(),
                public_key: k.public_key.to_bytes().to_vec(),
                role: k.role.to_proto() as i32,
                name: k.name.clone(),
                registered_at: k.registered_at,
                revoked: k.revoked_at.is_some(),
                revoked_at: k.revoked_at.unwrap_or(0),
            })
            .collect();
        Ok(Response::new(pb::Keys { keys }))
    }

    async fn list_disbursements(
        &self,
        request: Request<pb::ListDisbursementsRequest>,
    ) -> Result<Response<pb::Disbursements>, Status> {
        let ledger = self.ledger(&request).await?;
        let state = ledger.shared.state.read().expect("state lock");
        let quorum = state.policy().map(|p| p.approver_quorum).unwrap_or(0);
        let mut list: Vec<_> = state.disbursements.values().collect();
        list.sort_by_key(|d| d.proposed_at);
        let disbursements = list
            .into_iter()
            .map(|d| pb::DisbursementInfo {
                proposal_tx_id: d.proposal.0.to_vec(),
                project_id: d.project_id.clone(),
                payee_account: d.payee_account.clone(),
                amounts: d.amounts.to_proto(),
                state: d.state.name().to_string(),
                approvals: d.approvals.iter().map(|k| k.fingerprint()).collect(),
                approvals_needed: if d.needs_quorum { quorum } else { 0 },
                proposed_at: d.proposed_at,
                memo: d.memo.clone(),
                notice_ends_ms: d.notice_ends_ms.unwrap_or(0),
                ended_at: d.ended_at.unwrap_or(0),
                objections: d
                    .objections
                    .iter()
                    .map(|id| objection_info(&state.objections[id]))
                    .collect(),
            })
            .collect();
        Ok(Response::new(pb::Disbursements { disbursements }))
    }

    type SubscribeStream = BoxStream<pb::SubscribeEvent>;

    async fn subscribe(
        &self,
        request: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let ledger = self.ledger(&request).await?;
        let req = request.into_inner();
        let filter = Filter::new(&req)?;
        let head = ledger.shared.head();
        let start = pb::subscribe_request::Start::try_from(req.start)
            .unwrap_or(pb::subscribe_request::Start::Unspecified);
        let cursor = match start {
            pb::subscribe_request::Start::FromBeginning => 0,
            pb::subscribe_request::Start::OnlyNew => head.size,
            _ => req.from_sequence,
        };
        if cursor > head.size {
            return Err(Status::out_of_range(format!(
                "cannot start at {cursor}: the log has {} entries",
                head.size
            )));
        }
        let count = self.subscribers.fetch_add(1, Ordering::SeqCst) + 1;
        let guard = SubscriberGuard(self.subscribers.clone());
        if count > self.limits.max_subscribers {
            return Err(Status::resource_exhausted(format!(
                "the node serves at most {} subscribers; try again later",
                self.limits.max_subscribers
            )));
        }
        let (tx, rx) = mpsc::channel(self.limits.subscriber_buffer);
        let stall = self.limits.subscriber_stall;
        let stopping = self.stopping.clone();
        tokio::spawn(async move {
            let _guard = guard;
            // The stream holds its ledger open (an idle ledger is closed only when no one does),
            // unless the node needs the room for another ledger: then it ends (`ledgers.rs`).
            let _streaming = ledger.stream_guard();
            let ends = (stopping, ledger.evicted());
            follow(ledger.shared.clone(), cursor, filter, tx, stall, ends).await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    type ExportSnapshotStream = BoxStream<pb::SnapshotChunk>;

    async fn export_snapshot(
        &self,
        request: Request<pb::ExportSnapshotRequest>,
    ) -> Result<Response<Self::ExportSnapshotStream>, Status> {
        let ledger = self.ledger(&request).await?;
        let chunks = snapshot_chunks(ledger, self.limits.subscriber_stall, None);
        let stream = tokio_stream::StreamExt::map(chunks, |chunk| {
            chunk
                .map(|data| pb::SnapshotChunk { data })
                .map_err(engine_status)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

/// Streams a snapshot of the log as it is now (its head is captured first), in chunks of about
/// 64 KiB; for gRPC's ExportSnapshot and the HTTP download alike. A reader that takes nothing
/// for `stall` loses its download (and `slot`, if it holds one), and a snapshot that could not
/// be completed ends with an error, never quietly, so no client takes a cut-short snapshot for
/// a whole one.
pub fn snapshot_chunks(
    ledger: Arc<OpenLedger>,
    stall: Duration,
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
) -> FedStream<Vec<u8>, EngineError> {
    let (size, checkpoint, witnessed, key) = ledger.shared.snapshot_point();
    let (tx, stream) = FedStream::new(16);
    // Cut short unless the last chunk is handed over.
    stream.end_with(EngineError::SnapshotCutShort);
    let ending = stream.ending.clone();
    tokio::spawn(async move {
        let _slot = slot;
        // The download holds its ledger open until it ends, unless the node needs the room
        // for another ledger (it then ends cut short, never looking complete).
        let _streaming = ledger.stream_guard();
        let mut evicted = ledger.evicted();
        let shared = &ledger.shared;
        let mut chunk = snapshot::encode_header(&snapshot::Header {
            ledger_id: shared.ledger_id.clone(),
            node_public_key: key.to_bytes(),
            entry_count: size,
            witnessed,
        });
        for seq in 0..size {
            match shared.read_entry(seq) {
                Ok((entry, _)) => snapshot::encode_entry_frame(&entry, &mut chunk),
                Err(e) => {
                    *ending.lock().expect("ending lock") = Some(e);
                    return;
                }
            }
            if chunk.len() >= 64 * 1024
                && send_unless_evicted(&tx, Ok(std::mem::take(&mut chunk)), stall, &mut evicted)
                    .await
                    .is_err()
            {
                tracing::info!(sequence = seq, "snapshot download stalled or gone; ended");
                return;
            }
        }
        chunk.extend_from_slice(&snapshot::encode_trailer(&checkpoint));
        if send_unless_evicted(&tx, Ok(chunk), stall, &mut evicted)
            .await
            .is_ok()
        {
            ending.lock().expect("ending lock").take();
        }
    });
    stream
}

/// A stream fed by a task that can say how it ended even when the reader left no room in the
/// channel for one more message: the ending (if any) is yielded after everything queued, so a
/// stream the node cut never looks complete.
pub struct FedStream<T, E> {
    rx: mpsc::Receiver<Result<T, E>>,
    ending: Arc<std::sync::Mutex<Option<E>>>,
    done: bool,
}

impl<T, E> FedStream<T, E> {
    /// The sender its task feeds, and the stream.
    fn new(capacity: usize) -> (mpsc::Sender<Result<T, E>>, FedStream<T, E>) {
        let (tx, rx) = mpsc::channel(capacity);
        let stream = FedStream {
            rx,
            ending: Arc::new(std::sync::Mutex::new(None)),
            done: false,
        };
        (tx, stream)
    }

    /// Sets the error the stream ends with once the task is gone.
    fn end_with(&self, error: E) {
        *self.ending.lock().expect("ending lock") = Some(error);
    }
}

impl<T, E> Stream for FedStream<T, E> {
    type Item = Result<T, E>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(self.ending.lock().expect("ending lock").take().map(Err))
            }
            other => other,
        }
    }
}

struct SubscriberGuard(Arc<AtomicUsize>);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub fn checkpoint_proto(shared: &Shared, head: &Head) -> pb::Checkpoint {
    pb::Checkpoint {
        text: head.checkpoint.clone(),
        tree_size: head.size,
        root_hash: head.root.to_vec(),
        node_public_key: shared.node_key().to_bytes().to_vec(),
        node_key_fingerprint: shared.node_key_fingerprint(),
        witnessed_text: shared.witnessed_text(),
        witness_quorum: shared
            .state
            .read()
            .expect("state lock")
            .ledger
            .as_ref()
            .map_or(0, |l| l.witness_quorum),
    }
}

fn balances_proto(state: &State, tree_size: u64) -> pb::Balances {
    let mut accounts: Vec<pb::AccountBalance> = state
        .accounts
        .values()
        .map(|a| pb::AccountBalance {
            account_id: a.id.clone(),
            kind: a.kind.name().to_string(),
            name: a.name.clone(),
            balance: a.balance.to_proto(),
            held: a.held.to_proto(),
        })
        .collect();
    // Money that came from outside, as seen from the external accounts.
    for s in FundSource::ALL {
        if state.received.get(s) > 0 {
            accounts.push(pb::AccountBalance {
                account_id: ledger_core::state::external_account(s),
                kind: AccountKind::External(s).name().to_string(),
                name: format!("{} 来源", s.chinese_name()),
                balance: vec![],
                held: vec![],
            });
        }
    }
    pb::Balances {
        tree_size,
        accounts,
        received: state.received.to_proto(),
    }
}

/// Which entries a subscriber wants.
struct Filter {
    kinds: Vec<String>,
    accounts: Vec<String>,
}

impl Filter {
    fn new(req: &pb::SubscribeRequest) -> Result<Filter, Status> {
        for k in &req.kinds {
            if !Kind::NAMES.contains(&k.as_str()) {
                return Err(Status::invalid_argument(format!(
                    "unknown kind {k:?}; kinds are: {}",
                    Kind::NAMES.join(", ")
                )));
            }
        }
        if req.kinds.len() > 64 || req.accounts.len() + req.projects.len() > 256 {
            return Err(Status::invalid_argument(
                "at most 64 kinds and 256 accounts and projects in a filter",
            ));
        }
        let mut accounts = req.accounts.clone();
        accounts.extend(req.projects.iter().cloned());
        Ok(Filter {
            kinds: req.kinds.clone(),
            accounts,
        })
    }

    fn is_all(&self) -> bool {
        self.kinds.is_empty() && self.accounts.is_empty()
    }

    fn matches(&self, shared: &Shared, entry: &Entry) -> bool {
        if self.is_all() {
            return true;
        }
        let Ok(prepared) = rules::prepare(&entry.envelope) else {
            return false;
        };
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == prepared.tx.kind.name()) {
            return false;
        }
        if self.accounts.is_empty() {
            return true;
        }
        let state = shared.state.read().expect("state lock");
        state
            .accounts_touched_by(&prepared.tx)
            .iter()
            .any(|a| self.accounts.contains(a))
    }
}

/// A subscriber's loop: read from storage by cursor up to the durable head, then wait for the
/// head to move. The writer never waits for a subscriber; a subscriber that stops reading for
/// longer than `stall` is told so and dropped, and can resume from its cursor.
async fn follow(
    shared: Arc<Shared>,
    mut cursor: u64,
    filter: Filter,
    tx: mpsc::Sender<Result<pb::SubscribeEvent, Status>>,
    stall: Duration,
    (mut stopping, mut evicted): (watch::Receiver<bool>, watch::Receiver<bool>),
) {
    use pb::subscribe_event::Event;
    let mut watch = shared.head_watch.subscribe();
    let shutting_down = |cursor: u64| {
        Status::unavailable(format!(
            "the node is shutting down; resubscribe from sequence {cursor} when it is back"
        ))
    };
    let evicted_for_send = evicted.clone();
    let send = |event: Result<pb::SubscribeEvent, Status>| {
        let (tx, mut evicted) = (tx.clone(), evicted_for_send.clone());
        async move { send_unless_evicted(&tx, event, stall, &mut evicted).await }
    };
    loop {
        let head = shared.head();
        while cursor < head.size {
            if *stopping.borrow() {
                let _ = tx.try_send(Err(shutting_down(cursor)));
                return;
            }
            if *evicted.borrow() {
                let _ = tx.try_send(Err(made_room(cursor)));
                return;
            }
            let (entry, hash) = match shared.read_entry(cursor) {
                Ok(item) => item,
                Err(e) => {
                    let _ = send(Err(engine_status(e))).await;
                    return;
                }
            };
            if filter.matches(&shared, &entry) {
                match send(Ok(pb::SubscribeEvent {
                    event: Some(Event::Entry(entry_proto(&entry, &hash))),
                }))
                .await
                {
                    Ok(()) => {}
                    Err(Unsent::Gone) => return, // the subscriber went away
                    Err(Unsent::Evicted) => {
                        let _ = tx.try_send(Err(made_room(cursor)));
                        return;
                    }
                    Err(Unsent::Stalled) => {
                        let _ = tx.try_send(Err(Status::resource_exhausted(format!(
                            "this subscriber read nothing for {}s and was dropped; resubscribe from sequence {cursor}",
                            stall.as_secs()
                        ))));
                        return;
                    }
                }
            }
            cursor += 1;
        }
        let checkpoint = pb::SubscribeEvent {
            event: Some(Event::Checkpoint(checkpoint_proto(&shared, &head))),
        };
        let caught_up = pb::SubscribeEvent {
            event: Some(Event::CaughtUp(pb::CaughtUp {
                tree_size: head.size,
            })),
        };
        for event in [checkpoint, caught_up] {
            if send(Ok(event)).await.is_err() {
                return;
            }
        }
        loop {
            let heartbeat = tokio::select! {
                changed = watch.changed() => {
                    if changed.is_err() {
                        return; // the node is shutting down
                    }
                    false
                }
                // The subscriber went away while nothing was happening: free its slot now.
                _ = tx.closed() => return,
                _ = tokio::time::sleep(stall / 3) => true,
                _ = stopping.wait_for(|s| *s) => {
                    let _ = tx.try_send(Err(shutting_down(cursor)));
                    return;
                }
                _ = evicted.wait_for(|s| *s) => {
                    let _ = tx.try_send(Err(made_room(cursor)));
                    return;
                }
            };
            if heartbeat {
                // A quiet ledger: the latest checkpoint again, so a live stream is never taken
                // for an idle connection (the ports close those). Entries first, though: a
                // checkpoint never covers what was not sent.
                let head = shared.head();
                if head.size > cursor {
                    break;
                }
                let again = pb::SubscribeEvent {
                    event: Some(Event::Checkpoint(checkpoint_proto(&shared, &head))),
                };
                if send(Ok(again)).await.is_err() {
                    return;
                }
                continue;
            }
            if *watch.borrow_and_update() > cursor {
                break;
            }
        }
    }
}

fn objection_info(o: &ledger_core::state::Objection) -> pb::ObjectionInfo {
    pb::ObjectionInfo {
        objection_tx_id: o.id.0.to_vec(),
        filed_by: o.filed_by.fingerprint(),
        filed_role: o.filed_role.to_proto() as i32,
        filed_ms: o.filed_ms,
        text: o.text.clone(),
        state: o.state().name().to_string(),
        response_due_ms: o.response_due_ms,
        answer: o
            .answer
            .as_ref()
            .map(|a| a.text.clone())
            .unwrap_or_default(),
        answered_ms: o.answer.as_ref().map(|a| a.at_ms).unwrap_or(0),
        resolution_reason: o
            .resolution
            .as_ref()
            .map(|r| r.reason.clone())
            .unwrap_or_default(),
    }
}

/// Why an item of a stream was not sent.
enum Unsent {
    /// The reader went away.
    Gone,
    /// The reader took nothing for the stall time.
    Stalled,
    /// The node closed the stream's ledger to open others (`ledgers.rs`).
    Evicted,
}

/// Sends `item` unless the reader takes nothing for `stall` or the node closes the ledger to
/// make room: a stream that is not read must not keep its ledger's place for the stall time.
async fn send_unless_evicted<T>(
    tx: &mpsc::Sender<T>,
    item: T,
    stall: Duration,
    evicted: &mut watch::Receiver<bool>,
) -> Result<(), Unsent> {
    tokio::select! {
        sent = tx.send_timeout(item, stall) => match sent {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendTimeoutError::Closed(_)) => Err(Unsent::Gone),
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => Err(Unsent::Stalled),
        },
        closing = evicted.wait_for(|e| *e) => {
            drop(closing);
            Err(Unsent::Evicted)
        }
    }
}

/// How a stream ends when the node closes its ledger to open others.
fn made_room(cursor: u64) -> Status {
    let mut status = Status::unavailable(format!(
        "节点为打开其他账本关闭了本账本；请从序号 {cursor} 重新订阅\n\
         the node closed this ledger to open others (every open ledger was held by streams); \
         resubscribe from sequence {cursor}"
    ));
    status.metadata_mut().insert(
        "ledger-reason",
        tonic::metadata::MetadataValue::from_static(
            ledger_proto::ledger_reasons::LEDGER_CLOSED_FOR_ROOM,
        ),
    );
    status
}
