//! The fund rules: `apply(&State, &Transaction) -> Result<Effects, Rejection>`, deterministic
//! and pure. Each way a transaction can be refused has its own [`Rejection`] variant with a
//! stable reason code (for machines), a gRPC status class, and a message a person can act on.
//!
//! The node runs these rules before it appends; the verifier runs them again over the whole
//! log. An entry the rules refuse is a failure even if the node signed it.

use std::collections::BTreeSet;

use crate::amount::format_yuan;
use crate::entry::Entry;
use crate::limits::{MAX_CLOCK_SKEW_MS, MAX_TX_AGE_MS};
use crate::signing::KeyId;
use crate::state::*;
use crate::tx::{Envelope, Kind, NewAccountKind, Transaction, TxId};
use crate::Hash;

mod notice;
mod project;
mod rejection;
mod rejection_zh;

pub use rejection::{DecodeError, Rejection, SignatureError, StatusClass, ALL_REASONS};

/// Where in the log a transaction is being applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryContext {
    pub sequence: u64,
    pub timestamp_ms: i64,
}

/// A transaction decoded and validated, with its signatures' shape checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub envelope: Envelope,
    pub tx: Transaction,
    pub body_hash: Hash,
}

/// Stateless checks: decode the envelope and the body and validate every field.
pub fn prepare(envelope_bytes: &[u8]) -> Result<Prepared, Rejection> {
    let envelope = Envelope::decode(envelope_bytes)?;
    prepare_envelope(envelope)
}

pub fn prepare_envelope(envelope: Envelope) -> Result<Prepared, Rejection> {
    let tx = Transaction::decode(&envelope.body)?;
    let body_hash = envelope.body_hash();
    Ok(Prepared {
        envelope,
        tx,
        body_hash,
    })
}

/// Verifies the signatures of a prepared transaction against the keys of `state` (or, for
/// genesis, the keys the genesis names). Returns the signers.
pub fn verify_signatures(state: &State, prepared: &Prepared) -> Result<Vec<KeyId>, Rejection> {
    match &prepared.tx.kind {
        Kind::Genesis { admin_keys, .. } => Ok(prepared.envelope.verify_signatures(|id| {
            admin_keys
                .iter()
                .find(|k| k.key_id == *id)
                .map(|k| k.public_key)
        })?),
        _ if state.ledger.is_none() => Err(Rejection::NoGenesis),
        _ => Ok(prepared
            .envelope
            .verify_signatures(|id| state.signing_key(id))?),
    }
}

/// Everything at once, as the verifier and a replay do it: decode, verify, apply, commit.
/// Returns the effects that were committed.
pub fn apply_entry(state: &mut State, entry: &Entry) -> Result<Effects, Rejection> {
    let prepared = prepare(&entry.envelope)?;
    let signers = verify_signatures(state, &prepared)?;
    let ctx = EntryContext {
        sequence: entry.sequence,
        timestamp_ms: entry.timestamp_ms,
    };
    let effects = apply(state, &ctx, &prepared.tx, &prepared.body_hash, &signers)?;
    state.commit(effects.clone(), entry.timestamp_ms);
    Ok(effects)
}

/// Replays an entry of a log this node itself wrote and synced: every rule is applied again,
/// but signatures, already verified when the entry was accepted, are not checked again. The
/// signers are the key ids the envelope names. For the node's start-up and historical views;
/// the verifier always uses [`apply_entry`].
pub fn apply_entry_unverified(state: &mut State, entry: &Entry) -> Result<Effects, Rejection> {
    let prepared = prepare(&entry.envelope)?;
    if state.ledger.is_none() && !matches!(prepared.tx.kind, Kind::Genesis { .. }) {
        return Err(Rejection::NoGenesis);
    }
    let signers: Vec<KeyId> = prepared
        .envelope
        .signatures
        .iter()
        .map(|(k, _)| *k)
        .collect();
    let ctx = EntryContext {
        sequence: entry.sequence,
        timestamp_ms: entry.timestamp_ms,
    };
    let effects = apply(state, &ctx, &prepared.tx, &prepared.body_hash, &signers)?;
    state.commit(effects.clone(), entry.timestamp_ms);
    Ok(effects)
}

struct Signers<'a> {
    keys: Vec<&'a KeyRecord>,
}

impl<'a> Signers<'a> {
    fn with_role(&self, role: Role) -> Vec<KeyId> {
        self.keys
            .iter()
            .filter(|k| k.role == role)
            .map(|k| k.key_id)
            .collect()
    }

    fn roles(&self) -> String {
        let names: BTreeSet<&str> = self.keys.iter().map(|k| k.role.name()).collect();
        names.into_iter().collect::<Vec<_>>().join(", ")
    }

    /// At least one signer holds `role`.
    fn require(&self, kind: &'static str, role: Role) -> Result<(), Rejection> {
        if self.keys.iter().any(|k| k.role == role) {
            Ok(())
        } else {
            Err(Rejection::RoleNotAllowed {
                kind,
                needed: role.name(),
                held: self.roles(),
            })
        }
    }

    /// Every signer holds `role` (approvals: a finance key's signature on an approval would
    /// blur who approved).
    fn require_only(&self, kind: &'static str, role: Role) -> Result<(), Rejection> {
        if !self.keys.is_empty() && self.keys.iter().all(|k| k.role == role) {
            Ok(())
        } else {
            Err(Rejection::RoleNotAllowed {
                kind,
                needed: role.name(),
                held: self.roles(),
            })
        }
    }

    /// Every signer holds one of `roles` (`needed` names them for the message).
    fn require_only_any(
        &self,
        kind: &'static str,
        roles: &[Role],
        needed: &'static str,
    ) -> Result<(), Rejection> {
        if !self.keys.is_empty() && self.keys.iter().all(|k| roles.contains(&k.role)) {
            Ok(())
        } else {
            Err(Rejection::RoleNotAllowed {
                kind,
                needed,
                held: self.roles(),
            })
        }
    }

    /// At least one signer holds one of `roles`.
    fn require_any(
        &self,
        kind: &'static str,
        roles: &[Role],
        needed: &'static str,
    ) -> Result<(), Rejection> {
        if self.keys.iter().any(|k| roles.contains(&k.role)) {
            Ok(())
        } else {
            Err(Rejection::RoleNotAllowed {
                kind,
                needed,
                held: self.roles(),
            })
        }
    }

    fn require_quorum(&self, kind: &'static str, role: Role, needed: u32) -> Result<(), Rejection> {
        self.require(kind, role)?;
        let got = self.with_role(role).len() as u32;
        if got < needed {
            return Err(Rejection::QuorumNotMet {
                kind,
                role: role.name(),
                needed,
                got,
            });
        }
        Ok(())
    }
}

/// The rules. Pure: reads `state`, returns what the transaction does, or why not.
pub fn apply(
    state: &State,
    ctx: &EntryContext,
    tx: &Transaction,
    body_hash: &Hash,
    signer_ids: &[KeyId],
) -> Result<Effects, Rejection> {
    let kind_name = tx.kind.name();
    let record = |reversible| TxRecord {
        sequence: ctx.sequence,
        body_hash: *body_hash,
        kind: kind_name,
        reversible,
        reversed_by: None,
        reversed_at: None,
    };

    if let Some(existing) = state.tx(&tx.tx_id)? {
        let tx_id = tx.tx_id.to_string();
        return Err(if existing.body_hash == *body_hash {
            Rejection::Duplicate {
                tx_id,
                sequence: existing.sequence,
            }
        } else {
            Rejection::TxIdConflict {
                tx_id,
                sequence: existing.sequence,
            }
        });
    }
    if tx.timestamp_ms > ctx.timestamp_ms.saturating_add(MAX_CLOCK_SKEW_MS)
        || tx.timestamp_ms < ctx.timestamp_ms.saturating_sub(MAX_TX_AGE_MS)
    {
        return Err(Rejection::TimestampOutOfRange {
            tx_ms: tx.timestamp_ms,
            entry_ms: ctx.timestamp_ms,
        });
    }

    let ledger = match (&state.ledger, &tx.kind) {
        (None, Kind::Genesis { .. }) => return genesis(state, ctx, tx, signer_ids, record),
        (None, _) => return Err(Rejection::NoGenesis),
        (Some(_), Kind::Genesis { .. }) => return Err(Rejection::GenesisNotFirst),
        (Some(ledger), _) => ledger,
    };
    if tx.ledger_id != ledger.ledger_id {
        return Err(Rejection::WrongLedger {
            expected: ledger.ledger_id.clone(),
            found: tx.ledger_id.clone(),
        });
    }
    let policy = ledger.policy;

    let mut keys = Vec::with_capacity(signer_ids.len());
    for id in signer_ids {
        let key = state.keys.get(id).ok_or(SignatureError::UnknownKey {
            key: id.fingerprint(),
        })?;
        if let Some(revoked_at) = key.revoked_at {
            if ctx.sequence > revoked_at {
                return Err(Rejection::KeyRevoked {
                    key: id.fingerprint(),
                    revoked_at,
                });
            }
        }
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(DecodeError::NoSignature.into());
    }
    let signers = Signers { keys };

    let cx = Op {
        state,
        ctx,
        tx,
        signers: &signers,
        policy,
        kind_name,
        ledger,
        signer_ids,
    };
    let mut changes = Vec::new();
    let reversible = match &tx.kind {
        Kind::Genesis { .. } => unreachable!("handled above"),
        Kind::KeyRegistered(_) => key_registered(&cx, &mut changes)?,
        Kind::CheckpointKeyRotated { .. } => checkpoint_key_rotated(&cx, &mut changes)?,
        Kind::PolicyChanged { .. } => policy_changed(&cx, &mut changes)?,
        Kind::KeyRevoked { .. } => key_revoked(&cx, &mut changes)?,
        Kind::AccountOpened { .. } => account_opened(&cx, &mut changes)?,
        Kind::ProjectCreated { .. } => project_created(&cx, &mut changes)?,
        Kind::FundsReceived { .. } => funds_received(&cx, &mut changes)?,
        Kind::FundsAllocated { .. } => funds_allocated(&cx, &mut changes)?,
        Kind::DisbursementProposed { .. } => disbursement_proposed(&cx, &mut changes)?,
        Kind::DisbursementApproved { .. } => disbursement_approved(&cx, &mut changes)?,
        Kind::DisbursementRejected { .. } => disbursement_rejected(&cx, &mut changes)?,
        Kind::DisbursementExecuted { .. } => disbursement_executed(&cx, &mut changes)?,
        Kind::DisbursementVoided { .. } => disbursement_voided(&cx, &mut changes)?,
        Kind::EntryReversed { .. } => entry_reversed(&cx, &mut changes)?,
        Kind::EntryAnnotated { .. } => entry_annotated(&cx)?,
        Kind::ObjectionFiled { .. } => notice::objection_filed(&cx, &mut changes)?,
        Kind::ObjectionAnswered { .. } => notice::objection_answered(&cx, &mut changes)?,
        Kind::ObjectionResolved { .. } => notice::objection_resolved(&cx, &mut changes)?,
        Kind::ProjectCompleted { .. } => project::project_completed(&cx, &mut changes)?,
        Kind::ProjectEvaluated { .. } => project::project_evaluated(&cx, &mut changes)?,
        Kind::ProjectAccepted { .. } => project::project_accepted(&cx, &mut changes)?,
        Kind::ProjectClosed { .. } => project::project_closed(&cx, &mut changes)?,
    };
    Ok(Effects {
        tx_id: tx.tx_id,
        record: record(reversible),
        changes,
    })
}

/// Entry 0: the ledger, its admin keys (signed by at least `admin_quorum` of them, each
/// verified against the genesis's own keys), and the reserve account.
fn genesis(
    state: &State,
    ctx: &EntryContext,
    tx: &Transaction,
    signer_ids: &[KeyId],
    record: impl Fn(Reversible) -> TxRecord,
) -> Result<Effects, Rejection> {
    let kind_name = tx.kind.name();
    let Kind::Genesis {
        ledger_name,
        currency,
        admin_keys,
        policy,
        checkpoint_key,
        witnesses,
        witness_quorum,
    } = &tx.kind
    else {
        unreachable!("dispatched by kind")
    };
    assert_eq!(ctx.sequence, state.next_sequence);
    if ctx.sequence != 0 {
        return Err(Rejection::GenesisNotFirst);
    }
    // Genesis signers were verified against the genesis keys themselves.
    let admins = signer_ids
        .iter()
        .filter(|id| admin_keys.iter().any(|k| k.key_id == **id))
        .count() as u32;
    if admins < policy.admin_quorum {
        return Err(Rejection::QuorumNotMet {
            kind: kind_name,
            role: "admin",
            needed: policy.admin_quorum,
            got: admins,
        });
    }
    let mut changes = vec![Change::LedgerCreated(LedgerInfo {
        ledger_id: tx.ledger_id.clone(),
        name: ledger_name.clone(),
        currency: currency.clone(),
        policy: *policy,
        created_ms: ctx.timestamp_ms,
        checkpoint_key: *checkpoint_key,
        checkpoint_keys: vec![(0, *checkpoint_key)],
        witnesses: witnesses.clone(),
        witness_quorum: *witness_quorum,
    })];
    for k in admin_keys {
        changes.push(Change::KeyRegistered(KeyRecord {
            key_id: k.key_id,
            public_key: k.public_key,
            role: k.role,
            name: k.name.clone(),
            registered_at: 0,
            revoked_at: None,
        }));
    }
    changes.push(Change::AccountOpened(Account {
        id: RESERVE_ACCOUNT.to_string(),
        kind: AccountKind::Reserve,
        name: "风险准备金 risk reserve".to_string(),
        balance: Amounts::ZERO,
        held: Amounts::ZERO,
    }));
    Ok(Effects {
        tx_id: tx.tx_id,
        record: record(Reversible::NotReversible),
        changes,
    })
}

/// What every operation reads: the state before the entry, where the entry is, the transaction,
/// its signers and the ledger's policy. One function per kind below, each returning what can
/// undo it, and pushing its changes.
#[derive(Clone, Copy)]
struct Op<'a> {
    state: &'a State,
    ctx: &'a EntryContext,
    tx: &'a Transaction,
    signers: &'a Signers<'a>,
    policy: Policy,
    kind_name: &'static str,
    ledger: &'a LedgerInfo,
    signer_ids: &'a [KeyId],
}

fn key_registered(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        ctx,
        signers,
        policy,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::KeyRegistered(k) = &tx.kind else {
        unreachable!("dispatched by kind")
    };
    key_change_signers(state, signers, kind_name, &policy, k.role, false)?;
    if state.keys.contains_key(&k.key_id) {
        return Err(Rejection::KeyExists {
            key: k.key_id.fingerprint(),
        });
    }
    changes.push(Change::KeyRegistered(KeyRecord {
        key_id: k.key_id,
        public_key: k.public_key,
        role: k.role,
        name: k.name.clone(),
        registered_at: ctx.sequence,
        revoked_at: None,
    }));
    Ok(Reversible::NotReversible)
}

fn checkpoint_key_rotated(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        ctx,
        signers,
        policy,
        kind_name,
        ledger,
        tx,
        ..
    } = *cx;
    let Kind::CheckpointKeyRotated { new_key, .. } = &tx.kind else {
        unreachable!("dispatched by kind")
    };
    signers.require_quorum(kind_name, Role::Admin, policy.admin_quorum)?;
    if ledger.checkpoint_keys.iter().any(|(_, k)| k == new_key) {
        return Err(Rejection::CheckpointKeyReused {
            key: KeyId::of(new_key).fingerprint(),
        });
    }
    changes.push(Change::CheckpointKeyRotated {
        key: *new_key,
        from_size: ctx.sequence + 1,
    });
    Ok(Reversible::NotReversible)
}

/// Co-managed: the admin quorum and the approver quorum of the policy in force, and an admin
/// quorum the active admins can still reach.
fn policy_changed(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        signers,
        policy,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::PolicyChanged { policy: new, .. } = &tx.kind else {
        unreachable!("dispatched by kind")
    };
    signers.require_quorum(kind_name, Role::Admin, policy.admin_quorum)?;
    signers.require_quorum(kind_name, Role::Approver, policy.approver_quorum)?;
    if new.admin_quorum as usize > state.active_admins() {
        return Err(Rejection::invalid(
            "policy.admin_quorum",
            "more than the active admin keys: nobody could sign as admins any more",
        ));
    }
    if new.approver_quorum as usize > state.active_with_role(Role::Approver) {
        // Above the representatives there are, their co-signature on approver keys would
        // lapse and admins alone could replace them.
        return Err(Rejection::invalid(
            "policy.approver_quorum",
            "more than the active approver keys: register the representatives first",
        ));
    }
    changes.push(Change::PolicyChanged(*new));
    notice::apply_policy_to_pending(state, cx.ctx, new, changes);
    Ok(Reversible::NotReversible)
}

fn key_revoked(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        ctx,
        signers,
        policy,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::KeyRevoked { key_id, .. } = &tx.kind else {
        unreachable!("dispatched by kind")
    };
    let key = state.keys.get(key_id).ok_or(Rejection::NoSuchKey {
        key: key_id.fingerprint(),
    })?;
    key_change_signers(state, signers, kind_name, &policy, key.role, true)?;
    if key.revoked_at.is_some() {
        return Err(Rejection::AlreadyRevoked {
            key: key_id.fingerprint(),
        });
    }
    let quorum = match key.role {
        Role::Admin => Some(policy.admin_quorum),
        // Never below their quorum: they would stop co-signing changes of their own keys.
        Role::Approver => Some(policy.approver_quorum),
        _ => None,
    };
    if let Some(quorum) = quorum {
        if state.active_with_role(key.role) <= quorum as usize {
            return Err(Rejection::WouldLockOut {
                key: key_id.fingerprint(),
                role: key.role.name(),
                quorum,
            });
        }
    }
    changes.push(Change::KeyRevoked {
        key_id: *key_id,
        at: ctx.sequence,
    });
    Ok(Reversible::NotReversible)
}

fn account_opened(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        signers,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::AccountOpened {
        account_id,
        kind,
        name,
    } = &tx.kind
    else {
        unreachable!("dispatched by kind")
    };
    if signers.require(kind_name, Role::Admin).is_err() {
        signers.require(kind_name, Role::Finance)?;
    }
    check_new_account_id(state, account_id)?;
    // A payee gets its own unapproved-payment window only when the representatives' quorum
    // co-signs its opening; admins are not co-managers, so their signature does not count.
    let confirmed = signers.with_role(Role::Approver).len() >= cx.policy.approver_quorum as usize;
    if *kind == NewAccountKind::Payee && !confirmed {
        changes.push(Change::PayeeUnconfirmed(account_id.clone()));
    }
    let kind = match kind {
        NewAccountKind::FundPool(s) => AccountKind::FundPool(*s),
        NewAccountKind::Payee => AccountKind::Payee,
    };
    changes.push(Change::AccountOpened(Account {
        id: account_id.clone(),
        kind,
        name: name.clone(),
        balance: Amounts::ZERO,
        held: Amounts::ZERO,
    }));
    Ok(Reversible::NotReversible)
}

fn project_created(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        signers,
        policy,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::ProjectCreated {
        project_id,
        name,
        description,
        budget,
    } = &tx.kind
    else {
        unreachable!("dispatched by kind")
    };
    signers.require_quorum(kind_name, Role::Admin, policy.admin_quorum)?;
    check_new_account_id(state, project_id)?;
    budget.checked_total().ok_or(Rejection::AmountOverflow)?;
    changes.push(Change::ProjectCreated(Project {
        id: project_id.clone(),
        name: name.clone(),
        description: description.clone(),
        budget: *budget,
        allocated: Amounts::ZERO,
        spent: Amounts::ZERO,
        stage: ProjectStage::InProgress,
        funded_by: Default::default(),
        returned: Amounts::ZERO,
        evaluations: Default::default(),
    }));
    changes.push(Change::AccountOpened(Account {
        id: project_id.clone(),
        kind: AccountKind::Project,
        name: name.clone(),
        balance: Amounts::ZERO,
        held: Amounts::ZERO,
    }));
    Ok(Reversible::NotReversible)
}

fn funds_received(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        signers,
        policy,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::FundsReceived {
        source,
        to_account,
        amount,
        ..
    } = &tx.kind
    else {
        unreachable!("dispatched by kind")
    };
    signers.require(kind_name, Role::Finance)?;
    let pool = state
        .accounts
        .get(to_account)
        .ok_or_else(|| Rejection::UnknownAccount {
            id: to_account.clone(),
        })?;
    if pool.kind != AccountKind::FundPool(*source) {
        return Err(Rejection::WrongAccount {
            id: to_account.clone(),
            found: pool.kind.name(),
            needed: format!("the fund pool of source {}", source.slug()),
        });
    }
    let to_reserve = ((*amount as u128 * policy.reserve_ratio_bp as u128) / 10_000) as u64;
    let to_pool = amount - to_reserve;
    state
        .received
        .checked_add(&Amounts::single(*source, *amount))
        .ok_or(Rejection::AmountOverflow)?;
    let external = external_account(*source);
    if to_pool > 0 {
        changes.push(Change::Moved(Movement {
            from: external.clone(),
            to: to_account.clone(),
            source: *source,
            amount: to_pool,
        }));
    }
    if to_reserve > 0 {
        changes.push(Change::Moved(Movement {
            from: external,
            to: RESERVE_ACCOUNT.to_string(),
            source: *source,
            amount: to_reserve,
        }));
    }
    Ok(Reversible::Receipt {
        source: *source,
        pool: to_account.clone(),
        to_pool,
        to_reserve,
    })
}

fn funds_allocated(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        signers,
        policy,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::FundsAllocated {
        from_account,
        project_id,
        amounts,
        ..
    } = &tx.kind
    else {
        unreachable!("dispatched by kind")
    };
    signers.require(kind_name, Role::Finance)?;
    let from = state
        .accounts
        .get(from_account)
        .ok_or_else(|| Rejection::UnknownAccount {
            id: from_account.clone(),
        })?;
    match from.kind {
        AccountKind::FundPool(source) => {
            if let Some((other, _)) = amounts.iter().find(|(s, _)| *s != source) {
                return Err(Rejection::WrongAccount {
                    id: from_account.clone(),
                    found: "fund_pool",
                    needed: format!(
                        "a fund pool of source {} (this pool holds {})",
                        other.slug(),
                        source.slug()
                    ),
                });
            }
        }
        AccountKind::Reserve => {
            // The risk reserve is for emergencies: residents' representatives co-sign.
            signers.require_quorum(kind_name, Role::Approver, policy.approver_quorum)?;
        }
        other => {
            return Err(Rejection::WrongAccount {
                id: from_account.clone(),
                found: other.name(),
                needed: "a fund pool or the reserve".to_string(),
            })
        }
    }
    let project = state
        .projects
        .get(project_id)
        .ok_or_else(|| Rejection::UnknownProject {
            id: project_id.clone(),
        })?;
    project::require_spendable(
        state,
        project_id,
        "nothing more is allocated to an accepted or closed project",
    )?;
    let after = project
        .allocated
        .checked_add(amounts)
        .ok_or(Rejection::AmountOverflow)?;
    for (source, requested) in amounts.iter() {
        if after.get(source) > project.budget.get(source) {
            return Err(Rejection::OverBudget {
                project: project_id.clone(),
                source_name: source.slug(),
                budget: format_yuan(project.budget.get(source)),
                allocated: format_yuan(project.allocated.get(source)),
                requested: format_yuan(requested),
            });
        }
    }
    require_available(from, amounts)?;
    for (source, amount) in amounts.iter() {
        changes.push(Change::Moved(Movement {
            from: from_account.clone(),
            to: project_id.clone(),
            source,
            amount,
        }));
    }
    Ok(Reversible::Allocation {
        from_account: from_account.clone(),
        project_id: project_id.clone(),
        amounts: *amounts,
    })
}

fn disbursement_proposed(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        ctx,
        tx,
        signers,
        policy,
        kind_name,
        signer_ids,
        ..
    } = *cx;
    let Kind::DisbursementProposed {
        project_id,
        payee_account,
        amounts,
        contract_hash,
        invoice_hash,
        memo,
    } = &tx.kind
    else {
        unreachable!("dispatched by kind")
    };
    signers.require(kind_name, Role::Finance)?;
    let project = state
        .accounts
        .get(project_id)
        .filter(|a| a.kind == AccountKind::Project)
        .ok_or_else(|| Rejection::UnknownProject {
            id: project_id.clone(),
        })?;
    project::require_spendable(
        state,
        project_id,
        "nothing more is proposed from an accepted or closed project",
    )?;
    let payee = state
        .accounts
        .get(payee_account)
        .ok_or_else(|| Rejection::UnknownAccount {
            id: payee_account.clone(),
        })?;
    if payee.kind != AccountKind::Payee {
        return Err(Rejection::WrongAccount {
            id: payee_account.clone(),
            found: payee.kind.name(),
            needed: "a payee".to_string(),
        });
    }
    let total = amounts.checked_total().ok_or(Rejection::AmountOverflow)?;
    payee
        .balance
        .checked_add(amounts)
        .ok_or(Rejection::AmountOverflow)?;
    require_available(project, amounts)?;
    changes.push(Change::Held {
        account: project_id.clone(),
        amounts: *amounts,
    });
    changes.push(Change::DisbursementSet(Disbursement {
        proposal: tx.tx_id,
        proposed_at: ctx.sequence,
        proposer: signer_ids.iter().copied().collect(),
        project_id: project_id.clone(),
        payee_account: payee_account.clone(),
        amounts: *amounts,
        total,
        contract_hash: *contract_hash,
        invoice_hash: *invoice_hash,
        memo: memo.clone(),
        approvals: BTreeSet::new(),
        state: DisbursementState::Pending,
        needs_quorum: total >= policy.approval_threshold_fen,
        notice_ends_ms: None,
        objections: Vec::new(),
        ended_at: None,
    }));
    Ok(Reversible::Disbursement)
}

fn disbursement_approved(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        signers,
        policy,
        kind_name,
        tx,
        ..
    } = *cx;
    let ctx = cx.ctx;
    let Kind::DisbursementApproved { proposal } = &tx.kind else {
        unreachable!("dispatched by kind")
    };
    signers.require_only(kind_name, Role::Approver)?;
    let mut d = pending_disbursement(state, proposal)?.clone();
    for key in &signers.keys {
        if d.proposer.contains(&key.key_id) {
            return Err(Rejection::SelfApproval {
                key: key.key_id.fingerprint(),
            });
        }
        if !d.approvals.insert(key.key_id) {
            return Err(Rejection::AlreadyApproved {
                key: key.key_id.fingerprint(),
                tx_id: proposal.to_string(),
            });
        }
    }
    if d.approvals.len() as u32 >= policy.approver_quorum && d.notice_ends_ms.is_none() {
        if d.needs_quorum && policy.notice_days > 0 {
            // 公示: the money moves only after the notice, by a separate execution.
            d.notice_ends_ms = Some(ctx.timestamp_ms.saturating_add(policy.notice_ms()));
        } else {
            execute(&mut d, ctx.sequence, changes);
        }
    }
    changes.push(Change::DisbursementSet(d));
    Ok(Reversible::NotReversible)
}

fn disbursement_rejected(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        signers,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::DisbursementRejected { proposal, .. } = &tx.kind else {
        unreachable!("dispatched by kind")
    };
    signers.require_only(kind_name, Role::Approver)?;
    let d = pending_disbursement(state, proposal)?.clone();
    if let Some(ends) = d.notice_ends_ms {
        // Once the quorum approved, one representative alone cannot undo it: an objection,
        // decided by the quorum, is the way.
        return Err(Rejection::InNotice {
            tx_id: proposal.to_string(),
            left_ms: ends.saturating_sub(cx.ctx.timestamp_ms),
            what: "one representative cannot reject what the quorum approved: file an objection, which the representatives decide",
        });
    }
    if let Some(key) = signers.keys.iter().find(|k| d.proposer.contains(&k.key_id)) {
        return Err(Rejection::SelfApproval {
            key: key.key_id.fingerprint(),
        });
    }
    close_unpaid(d, DisbursementState::Rejected, cx.ctx.sequence, changes);
    Ok(Reversible::NotReversible)
}

fn disbursement_executed(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        ctx,
        signers,
        policy,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::DisbursementExecuted { proposal } = &tx.kind else {
        unreachable!("dispatched by kind")
    };
    signers.require(kind_name, Role::Finance)?;
    let mut d = pending_disbursement(state, proposal)?.clone();
    let have = d.approvals.len() as u32;
    let approved = have >= policy.approver_quorum;
    if d.needs_quorum && !approved {
        return Err(Rejection::NeedsApproval {
            tx_id: proposal.to_string(),
            have,
            needed: policy.approver_quorum,
        });
    }
    notice::check_notice_over(state, &d, ctx.timestamp_ms)?;
    if !approved {
        changes.push(unapproved_payment(state, &policy, &d, ctx.timestamp_ms)?);
    }
    execute(&mut d, ctx.sequence, changes);
    changes.push(Change::DisbursementSet(d));
    Ok(Reversible::NotReversible)
}

fn disbursement_voided(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        signers,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::DisbursementVoided { proposal, .. } = &tx.kind else {
        unreachable!("dispatched by kind")
    };
    signers.require(kind_name, Role::Finance)?;
    let d = pending_disbursement(state, proposal)?.clone();
    close_unpaid(d, DisbursementState::Voided, cx.ctx.sequence, changes);
    Ok(Reversible::NotReversible)
}

fn entry_reversed(cx: &Op<'_>, changes: &mut Vec<Change>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        tx,
        signers,
        kind_name,
        ..
    } = *cx;
    let Kind::EntryReversed { target, .. } = &tx.kind else {
        unreachable!("dispatched by kind")
    };
    signers.require(kind_name, Role::Finance)?;
    let original = state
        .tx(target)?
        .ok_or_else(|| Rejection::UnknownTransaction {
            tx_id: target.to_string(),
        })?;
    if let Some(by) = original.reversed_by {
        return Err(Rejection::AlreadyReversed {
            tx_id: target.to_string(),
            by: by.to_string(),
        });
    }
    match &original.reversible {
        Reversible::Receipt {
            source,
            pool,
            to_pool,
            to_reserve,
        } => {
            let external = external_account(*source);
            for (account, amount) in [
                (pool, *to_pool),
                (&RESERVE_ACCOUNT.to_string(), *to_reserve),
            ] {
                if amount > 0 {
                    require_available(&state.accounts[account], &Amounts::single(*source, amount))?;
                    changes.push(Change::Moved(Movement {
                        from: account.clone(),
                        to: external.clone(),
                        source: *source,
                        amount,
                    }));
                }
            }
        }
        Reversible::Allocation {
            from_account,
            project_id,
            amounts,
        } => {
            require_available(&state.accounts[project_id], amounts)?;
            for (source, amount) in amounts.iter() {
                changes.push(Change::Moved(Movement {
                    from: project_id.clone(),
                    to: from_account.clone(),
                    source,
                    amount,
                }));
            }
        }
        Reversible::Disbursement => {
            let mut d = state.disbursements[target].clone();
            if d.state != DisbursementState::Executed {
                return Err(Rejection::NotReversible {
                    kind: "disbursement_proposed",
                    hint: " until it is executed; void a pending disbursement instead",
                });
            }
            project::require_open(
                state,
                &d.project_id,
                "a payment back would land in a closed project; receive it as new money instead",
            )?;
            require_available(&state.accounts[&d.payee_account], &d.amounts)?;
            for (source, amount) in d.amounts.iter() {
                changes.push(Change::Moved(Movement {
                    from: d.payee_account.clone(),
                    to: d.project_id.clone(),
                    source,
                    amount,
                }));
            }
            d.state = DisbursementState::Reversed;
            d.ended_at = Some(cx.ctx.sequence);
            changes.push(Change::DisbursementSet(d));
        }
        Reversible::NotReversible => {
            return Err(Rejection::NotReversible {
                kind: original.kind,
                hint: ": only receipts, allocations and executed disbursements can be reversed",
            });
        }
    }
    changes.push(Change::Reversed {
        target: *target,
        record: TxRecord {
            reversed_by: Some(tx.tx_id),
            reversed_at: Some(cx.ctx.sequence),
            ..original
        },
    });
    Ok(Reversible::NotReversible)
}

fn entry_annotated(cx: &Op<'_>) -> Result<Reversible, Rejection> {
    let Op {
        state,
        signers,
        kind_name,
        tx,
        ..
    } = *cx;
    let Kind::EntryAnnotated { target, .. } = &tx.kind else {
        unreachable!("dispatched by kind")
    };
    signers.require_only_any(
        kind_name,
        &[Role::Auditor, Role::Approver, Role::Resident],
        "auditor, approver or resident",
    )?;
    if !state.knows_tx(target)? {
        return Err(Rejection::UnknownTransaction {
            tx_id: target.to_string(),
        });
    }
    Ok(Reversible::NotReversible)
}

/// A payment without the approver quorum: allowed only while what its payee (all payees opened
/// by finance alone counting as one) received that way within the approval window stays below
/// the threshold, so neither splitting nor rotating payees routes around the representatives.
fn unapproved_payment(
    state: &State,
    policy: &Policy,
    d: &Disbursement,
    now_ms: i64,
) -> Result<Change, Rejection> {
    let bucket = state.unapproved_bucket(&d.payee_account);
    let window_ms = policy.approval_window_ms();
    let paid = state.unapproved_in_window(&bucket, now_ms, window_ms);
    let after = paid.checked_add(d.total).ok_or(Rejection::AmountOverflow)?;
    if after >= policy.approval_threshold_fen {
        return Err(Rejection::UnapprovedLimit {
            payee: if bucket == crate::state::UNCONFIRMED_PAYEES {
                "payees opened without the representatives (together)".to_string()
            } else {
                format!("payee {:?}", d.payee_account)
            },
            days: policy.approval_window_days,
            paid,
            requested: d.total,
            threshold: policy.approval_threshold_fen,
            tx_id: d.proposal.to_string(),
        });
    }
    Ok(Change::UnapprovedPaid {
        bucket,
        at_ms: now_ms,
        total: d.total,
        // Kept for the longest window a policy change could set, not just this one.
        window_ms: i64::from(crate::limits::MAX_APPROVAL_WINDOW_DAYS) * 24 * 60 * 60 * 1000,
    })
}

/// Who registers or revokes a key of `role`: a household's key is registered by one admin or
/// representative (community staff sign households up at the door) and revoked by the
/// representatives' quorum; every other key by the admin quorum, and representatives' keys by
/// their own quorum too ([`approvers_co_sign`]).
fn key_change_signers(
    state: &State,
    signers: &Signers<'_>,
    kind_name: &'static str,
    policy: &Policy,
    role: Role,
    revoking: bool,
) -> Result<(), Rejection> {
    if role == Role::Resident && revoking {
        // Silencing a household that objects is the representatives' decision, not one key's.
        signers.require_only(kind_name, Role::Approver)?;
        return signers.require_quorum(kind_name, Role::Approver, policy.approver_quorum);
    }
    if role == Role::Resident {
        return signers.require_any(
            kind_name,
            &[Role::Admin, Role::Approver],
            "admin or approver",
        );
    }
    signers.require_quorum(kind_name, Role::Admin, policy.admin_quorum)?;
    if role == Role::Approver {
        approvers_co_sign(state, signers, kind_name, policy)?;
    }
    Ok(())
}

/// Residents' representatives are registered and revoked by the admin quorum *and*, once there
/// are enough of them to form their own quorum, by that quorum: admins alone cannot pack or
/// purge the people who approve spending.
fn approvers_co_sign(
    state: &State,
    signers: &Signers<'_>,
    kind_name: &'static str,
    policy: &Policy,
) -> Result<(), Rejection> {
    if state.active_with_role(Role::Approver) >= policy.approver_quorum as usize {
        signers.require_quorum(kind_name, Role::Approver, policy.approver_quorum)?;
    }
    Ok(())
}

fn check_new_account_id(state: &State, id: &str) -> Result<(), Rejection> {
    if state.accounts.contains_key(id) || id.starts_with(EXTERNAL_PREFIX) || id == RESERVE_ACCOUNT {
        return Err(Rejection::AccountExists { id: id.to_string() });
    }
    Ok(())
}

fn require_available(account: &Account, amounts: &Amounts) -> Result<(), Rejection> {
    let available = account.available();
    for (source, requested) in amounts.iter() {
        if available.get(source) < requested {
            return Err(Rejection::InsufficientFunds {
                account: account.id.clone(),
                source_name: source.slug(),
                available: format_yuan(available.get(source)),
                requested: format_yuan(requested),
            });
        }
    }
    Ok(())
}

fn pending_disbursement<'a>(
    state: &'a State,
    proposal: &TxId,
) -> Result<&'a Disbursement, Rejection> {
    let Some(d) = state.disbursements.get(proposal) else {
        let tx_id = proposal.to_string();
        return Err(if state.knows_tx(proposal)? {
            Rejection::UnknownDisbursement { tx_id }
        } else {
            Rejection::UnknownTransaction { tx_id }
        });
    };
    if d.state != DisbursementState::Pending {
        return Err(Rejection::NotPending {
            tx_id: proposal.to_string(),
            state: d.state.name(),
        });
    }
    Ok(d)
}

/// Ends a pending disbursement without paying it (rejected, voided, or voided by an upheld
/// objection): its hold is released.
fn close_unpaid(mut d: Disbursement, end: DisbursementState, at: u64, changes: &mut Vec<Change>) {
    debug_assert_eq!(d.state, DisbursementState::Pending);
    d.ended_at = Some(at);
    changes.push(Change::Released {
        account: d.project_id.clone(),
        amounts: d.amounts,
    });
    d.state = end;
    changes.push(Change::DisbursementSet(d));
}

/// Pays a pending disbursement: the hold is released and the money moves to the payee. The
/// hold guaranteed the funds, and the payee's balance was checked for overflow at proposal.
fn execute(d: &mut Disbursement, at: u64, changes: &mut Vec<Change>) {
    changes.push(Change::Released {
        account: d.project_id.clone(),
        amounts: d.amounts,
    });
    for (source, amount) in d.amounts.iter() {
        changes.push(Change::Moved(Movement {
            from: d.project_id.clone(),
            to: d.payee_account.clone(),
            source,
            amount,
        }));
    }
    d.state = DisbursementState::Executed;
    d.ended_at = Some(at);
}
