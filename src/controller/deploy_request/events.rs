//! Events: one when the deploy request is opened or adopted, one per deployment state change,
//! and one when the summary `Ready` changes its reason (a warning when it needs a human).
use kube::runtime::events::EventType;
use planetscale_api::models::DeployRequest as ApiDeployRequest;

use crate::controller::Context;
use crate::crd::conditions::{READY, find_condition, reason as common};
use crate::crd::deploy_request::reason as r;
use crate::crd::{DeployRequest, DeployRequestStatus};

/// Reasons of a `Ready=False` that only say "in progress" (a Normal event, not a Warning).
const PROGRESS: &[&str] = &[
    r::CHECKS_RUNNING,
    r::QUEUED,
    r::DEPLOYING,
    r::AWAITING_CUTOVER,
    r::AWAITING_APPROVAL,
    r::REVERTING,
    common::BRANCH_NOT_READY,
    common::PAUSED,
];

/// The deploy request was opened (or an open one adopted).
pub async fn opened(ctx: &Context, obj: &DeployRequest, dr: &ApiDeployRequest, adopted: bool) {
    let (reason, verb) = if adopted {
        ("Adopted", "adopted the open")
    } else {
        ("Created", "opened")
    };
    let note = format!(
        "{verb} deploy request #{} from {} into {}",
        dr.number, dr.branch, dr.into_branch
    );
    ctx.event(obj, EventType::Normal, reason, "Create", note)
        .await;
}

/// Events for what changed between two statuses.
pub async fn changed(
    ctx: &Context,
    obj: &DeployRequest,
    old: &DeployRequestStatus,
    new: &DeployRequestStatus,
) {
    if let (Some(from), Some(to)) = (&old.deployment_state, &new.deployment_state)
        && from != to
    {
        let n = new.number.unwrap_or_default();
        let note = format!("deploy request #{n}: deployment state {from} → {to}");
        ctx.event(obj, EventType::Normal, "DeploymentState", "Track", note)
            .await;
    }
    let before = find_condition(&old.conditions, READY);
    let Some(after) = find_condition(&new.conditions, READY) else {
        return;
    };
    if before.is_some_and(|b| b.reason == after.reason && b.status == after.status) {
        return;
    }
    let warning = after.status == "False" && !PROGRESS.contains(&after.reason.as_str());
    let type_ = if warning {
        EventType::Warning
    } else {
        EventType::Normal
    };
    ctx.event(
        obj,
        type_,
        &after.reason,
        "Reconcile",
        after.message.clone(),
    )
    .await;
}
