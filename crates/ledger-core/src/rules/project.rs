//! 效果共评: a project is completed by the finance office, evaluated by an auditor (an
//! inspection report) and by the residents' representatives (satisfied or not), accepted (验收)
//! once both say so, and closed: what is left of each source goes back to the accounts it came
//! from, and nothing can be allocated to or spent from it again.

use super::{require_available, Op, Rejection};
use crate::state::*;
use crate::tx::Kind;

/// Refuses when `project_id` is closed (`what` says what a closed project refuses).
pub(super) fn require_open(
    state: &State,
    project_id: &str,
    what: &'static str,
) -> Result<(), Rejection> {
    match state.projects.get(project_id) {
        Some(p) if p.stage == ProjectStage::Closed => Err(Rejection::WrongProjectStage {
            project: project_id.to_string(),
            stage: p.stage.name(),
            needed: what,
        }),
        _ => Ok(()),
    }
}

/// Refuses when `project_id` is accepted or closed: new allocations and proposals are made
/// before acceptance (a final payment is proposed before 验收), not after.
pub(super) fn require_spendable(
    state: &State,
    project_id: &str,
    what: &'static str,
) -> Result<(), Rejection> {
    match state.projects.get(project_id) {
        Some(p) if matches!(p.stage, ProjectStage::Accepted | ProjectStage::Closed) => {
            Err(Rejection::WrongProjectStage {
                project: project_id.to_string(),
                stage: p.stage.name(),
                needed: what,
            })
        }
        _ => Ok(()),
    }
}

fn project_in<'a>(
    state: &'a State,
    project_id: &str,
    stage: ProjectStage,
    needed: &'static str,
) -> Result<&'a Project, Rejection> {
    let p = state
        .projects
        .get(project_id)
        .ok_or_else(|| Rejection::UnknownProject {
            id: project_id.to_string(),
        })?;
    if p.stage != stage {
        return Err(Rejection::WrongProjectStage {
            project: project_id.to_string(),
            stage: p.stage.name(),
            needed,
        });
    }
    Ok(p)
}

fn staged(project_id: &str, stage: ProjectStage) -> Change {
    Change::ProjectStageSet {
        project_id: project_id.to_string(),
        stage,
    }
}

pub(super) fn project_completed(
    cx: &Op<'_>,
    changes: &mut Vec<Change>,
) -> Result<Reversible, Rejection> {
    let Kind::ProjectCompleted { project_id, .. } = &cx.tx.kind else {
        unreachable!("dispatched by kind")
    };
    cx.signers.require(cx.kind_name, Role::Finance)?;
    project_in(
        cx.state,
        project_id,
        ProjectStage::InProgress,
        "only a project in progress is completed",
    )?;
    changes.push(staged(project_id, ProjectStage::Completed));
    Ok(Reversible::NotReversible)
}

/// Each signer's evaluation replaces that key's earlier one: a project fixed after a failed
/// inspection is evaluated again.
pub(super) fn project_evaluated(
    cx: &Op<'_>,
    changes: &mut Vec<Change>,
) -> Result<Reversible, Rejection> {
    let Kind::ProjectEvaluated {
        project_id,
        satisfied,
        comment,
        report_hash,
    } = &cx.tx.kind
    else {
        unreachable!("dispatched by kind")
    };
    cx.signers.require_only_any(
        cx.kind_name,
        &[Role::Auditor, Role::Approver],
        "auditor or approver",
    )?;
    project_in(
        cx.state,
        project_id,
        ProjectStage::Completed,
        "a project is evaluated once completed and before it is accepted",
    )?;
    let by_auditor = cx.signers.keys.iter().any(|k| k.role == Role::Auditor);
    if by_auditor && report_hash.is_none() {
        return Err(Rejection::invalid(
            "project_evaluated.report_hash",
            "an auditor's evaluation names the hash of its inspection report",
        ));
    }
    for key in &cx.signers.keys {
        changes.push(Change::ProjectEvaluated {
            project_id: project_id.clone(),
            evaluation: Evaluation {
                key_id: key.key_id,
                role: key.role,
                satisfied: *satisfied,
                comment: comment.clone(),
                report_hash: *report_hash,
                at: cx.ctx.sequence,
            },
        });
    }
    Ok(Reversible::NotReversible)
}

/// Accepted by the finance office, but only on the evaluations: at least one auditor passed
/// it and none failed it, and the approver quorum of representatives are satisfied (each
/// counted by their latest evaluation, from keys not revoked since).
pub(super) fn project_accepted(
    cx: &Op<'_>,
    changes: &mut Vec<Change>,
) -> Result<Reversible, Rejection> {
    let Kind::ProjectAccepted { project_id, .. } = &cx.tx.kind else {
        unreachable!("dispatched by kind")
    };
    cx.signers.require(cx.kind_name, Role::Finance)?;
    let p = project_in(
        cx.state,
        project_id,
        ProjectStage::Completed,
        "only a completed project is accepted",
    )?;
    let active = |e: &&Evaluation| {
        cx.state
            .keys
            .get(&e.key_id)
            .is_some_and(|k| k.revoked_at.is_none())
    };
    let count = |role: Role, satisfied: bool| {
        p.evaluations
            .values()
            .filter(active)
            .filter(|e| e.role == role && e.satisfied == satisfied)
            .count() as u32
    };
    let (passed, failed) = (count(Role::Auditor, true), count(Role::Auditor, false));
    let satisfied = count(Role::Approver, true);
    let needed = cx.policy.approver_quorum;
    if passed == 0 || failed > 0 || satisfied < needed {
        return Err(Rejection::EvaluationIncomplete {
            project: project_id.clone(),
            auditors_passed: passed,
            auditors_failed: failed,
            satisfied,
            needed,
        });
    }
    changes.push(staged(project_id, ProjectStage::Accepted));
    Ok(Reversible::NotReversible)
}

/// Returns what remains of each source to the accounts that funded it, the reserve first and
/// then in account-id order, each up to what it gave: deterministic, and every fen goes back
/// where it came from.
pub(super) fn project_closed(
    cx: &Op<'_>,
    changes: &mut Vec<Change>,
) -> Result<Reversible, Rejection> {
    let Kind::ProjectClosed { project_id, .. } = &cx.tx.kind else {
        unreachable!("dispatched by kind")
    };
    cx.signers.require(cx.kind_name, Role::Finance)?;
    let p = project_in(
        cx.state,
        project_id,
        ProjectStage::Accepted,
        "only an accepted project is closed",
    )?;
    let account = &cx.state.accounts[project_id];
    // Every pending disbursement holds a non-zero amount on its project: nothing held is
    // nothing pending. The count is looked up only for the message.
    if !account.held.is_zero() {
        let count = cx
            .state
            .disbursements
            .values()
            .filter(|d| d.project_id == *project_id && d.state == DisbursementState::Pending)
            .count();
        return Err(Rejection::ProjectHasPending {
            project: project_id.clone(),
            count,
        });
    }
    let remainder = account.balance;
    require_available(account, &remainder)?;
    let mut left = remainder;
    // The risk reserve is made whole first: it is the community's buffer, not project money.
    let mut funders: Vec<(&String, &Amounts)> = p.funded_by.iter().collect();
    funders.sort_by_key(|(id, _)| id.as_str() != RESERVE_ACCOUNT);
    for (funder, gave) in funders {
        for (source, given) in gave.iter() {
            let back = left.get(source).min(given);
            if back == 0 {
                continue;
            }
            left.set(source, left.get(source) - back);
            changes.push(Change::Moved(Movement {
                from: project_id.clone(),
                to: funder.clone(),
                source,
                amount: back,
            }));
        }
    }
    assert!(
        left.is_zero(),
        "a project's balance never exceeds what its funders gave it"
    );
    changes.push(Change::ProjectReturned {
        project_id: project_id.clone(),
        returned: remainder,
    });
    changes.push(staged(project_id, ProjectStage::Closed));
    Ok(Reversible::NotReversible)
}
