//! 阳光公示: an approved disbursement at or above the threshold waits out a public-notice period
//! before its money may move, and during it representatives, auditors and households can object
//! (异议). An objection blocks execution until the finance office answers it and the
//! representatives' quorum decides it: upheld voids the disbursement, dismissed lets it go on.
//!
//! All times are node times (entry timestamps), which the verifier replays.

use super::{pending_disbursement, DecodeError, Op, Rejection};
use crate::limits::MAX_UNRESOLVED_OBJECTIONS;
use crate::state::*;
use crate::tx::{Kind, TxId};

/// The roles that may object: everyone who watches spending, never the office that spends.
const OBJECTORS: [Role; 3] = [Role::Approver, Role::Auditor, Role::Resident];

/// Refuses execution while `d` is on notice at `now_ms` or has an objection not yet decided.
pub(super) fn check_notice_over(
    state: &State,
    d: &Disbursement,
    now_ms: i64,
) -> Result<(), Rejection> {
    if let Some(ends) = d.notice_ends_ms {
        if now_ms < ends {
            return Err(Rejection::InNotice {
                tx_id: d.proposal.to_string(),
                left_ms: ends - now_ms,
                what: "it can be executed only after the notice ends",
            });
        }
    }
    if let Some(open) = d
        .objections
        .iter()
        .map(|id| &state.objections[id])
        .find(|o| o.state().is_unresolved())
    {
        return Err(Rejection::ObjectionUnresolved {
            tx_id: d.proposal.to_string(),
            objection: open.id.to_string(),
            state: open.state().name(),
        });
    }
    Ok(())
}

pub(super) fn objection_filed(
    cx: &Op<'_>,
    changes: &mut Vec<Change>,
) -> Result<Reversible, Rejection> {
    let Op {
        state,
        ctx,
        tx,
        signers,
        policy,
        kind_name,
        ..
    } = *cx;
    let Kind::ObjectionFiled {
        proposal,
        text,
        document_hash,
    } = &tx.kind
    else {
        unreachable!("dispatched by kind")
    };
    signers.require_only_any(kind_name, &OBJECTORS, "approver, auditor or resident")?;
    if signers.keys.len() != 1 {
        // One objector per objection: who objected, and who must be answered, is one key.
        return Err(Rejection::invalid(
            "signatures",
            "an objection is filed by one key; each objector files their own",
        ));
    }
    let objector = signers.keys[0];
    let mut d = pending_disbursement(state, proposal)?.clone();
    let on_notice = d.notice_ends_ms.is_some_and(|ends| ctx.timestamp_ms < ends);
    if !on_notice {
        return Err(Rejection::NotInNotice {
            tx_id: proposal.to_string(),
        });
    }
    if let Some(open) = d
        .objections
        .iter()
        .map(|id| &state.objections[id])
        .find(|o| o.filed_by == objector.key_id && o.state().is_unresolved())
    {
        return Err(Rejection::AlreadyObjected {
            key: objector.key_id.fingerprint(),
            tx_id: proposal.to_string(),
            objection: open.id.to_string(),
        });
    }
    let unresolved = d
        .objections
        .iter()
        .filter(|id| state.objections[*id].state().is_unresolved())
        .count();
    if unresolved >= MAX_UNRESOLVED_OBJECTIONS {
        return Err(DecodeError::TooMany {
            what: "undecided objections to this disbursement (decide some first)",
            count: unresolved + 1,
            limit: MAX_UNRESOLVED_OBJECTIONS,
        }
        .into());
    }
    d.objections.push(tx.tx_id);
    changes.push(Change::ObjectionSet(Objection {
        id: tx.tx_id,
        proposal: *proposal,
        filed_by: objector.key_id,
        filed_role: objector.role,
        filed_at: ctx.sequence,
        filed_ms: ctx.timestamp_ms,
        text: text.clone(),
        document_hash: *document_hash,
        response_due_ms: ctx
            .timestamp_ms
            .saturating_add(policy.objection_response_ms()),
        answer: None,
        resolution: None,
    }));
    changes.push(Change::DisbursementSet(d));
    Ok(Reversible::NotReversible)
}

pub(super) fn objection_answered(
    cx: &Op<'_>,
    changes: &mut Vec<Change>,
) -> Result<Reversible, Rejection> {
    let Op {
        state,
        ctx,
        tx,
        signers,
        kind_name,
        ..
    } = *cx;
    let Kind::ObjectionAnswered {
        objection,
        text,
        document_hashes,
    } = &tx.kind
    else {
        unreachable!("dispatched by kind")
    };
    signers.require(kind_name, Role::Finance)?;
    let mut o = find_objection(state, objection)?.clone();
    if o.state() != ObjectionState::Open {
        return Err(Rejection::WrongObjectionState {
            objection: objection.to_string(),
            state: o.state().name(),
            needed: "only an open objection is answered, once",
        });
    }
    o.answer = Some(ObjectionAnswer {
        at: ctx.sequence,
        at_ms: ctx.timestamp_ms,
        text: text.clone(),
        document_hashes: document_hashes.clone(),
    });
    changes.push(Change::ObjectionSet(o));
    Ok(Reversible::NotReversible)
}

pub(super) fn objection_resolved(
    cx: &Op<'_>,
    changes: &mut Vec<Change>,
) -> Result<Reversible, Rejection> {
    let Op {
        state,
        ctx,
        tx,
        signers,
        policy,
        kind_name,
        ..
    } = *cx;
    let Kind::ObjectionResolved {
        objection,
        upheld,
        reason,
    } = &tx.kind
    else {
        unreachable!("dispatched by kind")
    };
    signers.require_only(kind_name, Role::Approver)?;
    signers.require_quorum(kind_name, Role::Approver, policy.approver_quorum)?;
    let mut o = find_objection(state, objection)?.clone();
    // Answered, or left unanswered past its deadline: an office that never answers cannot hold
    // the decision (and the disbursement) hostage.
    let decidable = match o.state() {
        ObjectionState::Answered => true,
        ObjectionState::Open => ctx.timestamp_ms > o.response_due_ms,
        ObjectionState::Upheld | ObjectionState::Dismissed => false,
    };
    if !decidable {
        return Err(Rejection::WrongObjectionState {
            objection: objection.to_string(),
            state: o.state().name(),
            needed: "the representatives decide an objection once, after the finance office has answered it or its answer is overdue",
        });
    }
    o.resolution = Some(ObjectionResolution {
        at: ctx.sequence,
        at_ms: ctx.timestamp_ms,
        upheld: *upheld,
        reason: reason.clone(),
        by: signers.keys.iter().map(|k| k.key_id).collect(),
    });
    let d = &state.disbursements[&o.proposal];
    if *upheld && d.state == DisbursementState::Pending {
        super::close_unpaid(d.clone(), DisbursementState::Voided, ctx.sequence, changes);
    }
    changes.push(Change::ObjectionSet(o));
    Ok(Reversible::NotReversible)
}

/// A policy change applies to disbursements still pending: one now at or above the threshold
/// needs the quorum, and one the new quorum has approved goes on the new notice. A lower quorum
/// or threshold never lets money skip the notice.
pub(super) fn apply_policy_to_pending(
    state: &State,
    ctx: &super::EntryContext,
    new: &Policy,
    changes: &mut Vec<Change>,
) {
    let mut pending: Vec<&Disbursement> = state
        .disbursements
        .values()
        .filter(|d| d.state == DisbursementState::Pending)
        .collect();
    pending.sort_by_key(|d| d.proposed_at);
    for d in pending {
        let needs_quorum = d.needs_quorum || d.total >= new.approval_threshold_fen;
        let goes_on_notice = needs_quorum
            && new.notice_days > 0
            && d.notice_ends_ms.is_none()
            && d.approvals.len() >= new.approver_quorum as usize;
        if needs_quorum == d.needs_quorum && !goes_on_notice {
            continue;
        }
        let mut d = d.clone();
        d.needs_quorum = needs_quorum;
        if goes_on_notice {
            d.notice_ends_ms = Some(ctx.timestamp_ms.saturating_add(new.notice_ms()));
        }
        changes.push(Change::DisbursementSet(d));
    }
}

fn find_objection<'a>(state: &'a State, id: &TxId) -> Result<&'a Objection, Rejection> {
    if let Some(objection) = state.objections.get(id) {
        return Ok(objection);
    }
    let tx_id = id.to_string();
    Err(if state.knows_tx(id)? {
        Rejection::UnknownObjection { tx_id }
    } else {
        Rejection::UnknownTransaction { tx_id }
    })
}
