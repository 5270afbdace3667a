//! The summary `Ready` condition (pure): has the request gone as far as the spec asks?
//!
//! - `deploy: false`: Ready once the checks passed (`ready`) or found nothing (`no_changes`).
//! - `deploy: true`: Ready once the change is applied (`complete_pending_revert`, `complete`);
//!   a gated deploy (`autoApply: false`) is `AwaitingCutover` until `cutover: true`.
//! - `revert: true`: Ready once reverted (`complete_revert`).
//!
//! Failures, a closed request, a missing approval or a blocked queue are `Ready=False` with
//! their reason in every mode.
use planetscale_api::models::DeploymentState;

use super::conditions::{
    Cond, approved, awaiting_cutover, checks_failed, cond, deploying, failed, no_changes, queued,
    unknown,
};
use super::observe::Facts;
use crate::crd::ConditionStatus::{False, True};
use crate::crd::DeployRequestSpec;
use crate::crd::conditions::READY;
use crate::crd::deploy_request::reason as r;

/// The summary: has the request gone as far as the spec asks? (see docs/deploy-request.md)
pub fn ready(spec: &DeployRequestSpec, f: &Facts) -> Cond {
    use DeploymentState::*;
    let name = f.name();
    let not = |reason, msg: String| cond(READY, False, reason, msg);
    match f.state {
        Pending | Ready | NoChanges | Error | Cancelled | CompleteCancel if !f.open => not(
            r::CLOSED,
            format!(
                "{name} was closed in PlanetScale without being deployed; delete this resource and create a new one to open another"
            ),
        ),
        Pending => not(
            r::CHECKS_RUNNING,
            format!("deploy checks of {name} are running"),
        ),
        Error => not(r::CHECKS_FAILED, checks_failed(f)),
        NoChanges => cond(READY, True, r::NO_CHANGES, no_changes(f)),
        CompleteError => not(r::DEPLOY_FAILED, failed(f).message),
        CompleteRevertError => not(r::REVERT_FAILED, failed(f).message),
        Unknown(_) => not(r::UNKNOWN_STATE, unknown(f)),
        _ if spec.revert => ready_revert(f),
        Ready if !spec.deploy => cond(
            READY,
            True,
            r::CHECKS_PASSED,
            format!("deploy checks of {name} passed; set deploy: true to deploy it"),
        ),
        _ if !spec.deploy => cond(
            READY,
            True,
            r::CHECKS_PASSED,
            format!(
                "deploy checks of {name} passed; it is {} (deployed from elsewhere: this resource has deploy: false)",
                f.state.as_str()
            ),
        ),
        _ => ready_deploy(spec, f),
    }
}

fn ready_revert(f: &Facts) -> Cond {
    use DeploymentState::*;
    match f.state {
        CompleteRevert => cond(
            READY,
            True,
            r::REVERTED,
            format!("{} was reverted", f.name()),
        ),
        _ => cond(
            READY,
            False,
            r::REVERTING,
            format!(
                "reverting {} (deployment state {})",
                f.name(),
                f.state.as_str()
            ),
        ),
    }
}

fn ready_deploy(spec: &DeployRequestSpec, f: &Facts) -> Cond {
    use DeploymentState::*;
    let not = |reason, msg: String| cond(READY, False, reason, msg);
    match f.state {
        Ready if !f.approved && f.approval_required => not(approved(f).reason, approved(f).message),
        Ready => not(r::QUEUED, format!("queueing the deploy of {}", f.name())),
        Queued => {
            let q = queued(spec, f);
            not(q.reason, q.message)
        }
        Submitting | InProgress | InProgressVschema | InProgressCutover => {
            not(r::DEPLOYING, deploying(f).message)
        }
        PendingCutover => not(r::AWAITING_CUTOVER, awaiting_cutover(spec, f).message),
        Complete | CompletePendingRevert => cond(
            READY,
            True,
            r::DEPLOYED,
            format!("{} is deployed to {}", f.name(), f.into),
        ),
        InProgressCancel | CompleteCancel | Cancelled => not(
            r::CANCELLED,
            format!(
                "the deploy of {} was cancelled (deployment state {}); delete this resource and create a new one to deploy again",
                f.name(),
                f.state.as_str()
            ),
        ),
        _ => not(
            r::REVERTED,
            format!(
                "{} was reverted in PlanetScale (deployment state {})",
                f.name(),
                f.state.as_str()
            ),
        ),
    }
}
