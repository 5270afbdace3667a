//! Plan: the pure decision of a pass. A resource without a deploy request opens one; one
//! adopted or observed is recorded first; an observed one gets no step; a tracked one gets at most one PlanetScale action that moves it
//! towards its spec ([`decide`]), and the time to look again.
use std::time::Duration;

use chrono::{DateTime, Utc};
use planetscale_api::models::DeploymentState;

use super::observe::{Facts, Observed, Request};
use crate::controller::reconciler::Plan;
use crate::crd::{DeployRequestSpec, ManagementPolicy};

/// Poll interval while PlanetScale works (checks, queue, deploy, cutover, revert).
pub const QUICK_POLL: Duration = Duration::from_secs(3);
/// Poll interval while waiting on a human (approval, cutover, schema fix, revert window).
pub const SLOW_POLL: Duration = Duration::from_secs(30);
/// Poll interval during the revert window while the webhooks are healthy: a revert is
/// announced (`deploy_request.reverted`); a skip in the dashboard is not, and shows within
/// this long. The window's end gets a look of its own ([`next_look`]).
pub const WINDOW_POLL: Duration = Duration::from_secs(5 * 60);
/// How long after the revert window's computed end its look comes, so that PlanetScale has
/// closed it by then.
const WINDOW_END_MARGIN: Duration = Duration::from_secs(2);

/// One PlanetScale action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Open the deploy request into `into` (after checking both branches).
    Open {
        /// Target branch.
        into: String,
    },
    /// Post an approving review with the `approval.credentialsRef` identity.
    Approve,
    /// `POST …/deploy`.
    Queue,
    /// `PUT …/auto-apply` to match `spec.autoApply`.
    SetAutoApply(bool),
    /// `POST …/apply-deploy`.
    Cutover,
    /// `POST …/revert`.
    Revert,
    /// `POST …/skip-revert`.
    SkipRevert,
}

impl Step {
    /// Verb for events and messages.
    pub fn verb(&self) -> &'static str {
        match self {
            Step::Open { .. } => "open",
            Step::Approve => "approve",
            Step::Queue => "queue the deploy of",
            Step::SetAutoApply(true) => "turn on auto-apply for",
            Step::SetAutoApply(false) => "turn off auto-apply for",
            Step::Cutover => "cut over",
            Step::Revert => "revert",
            Step::SkipRevert => "skip the revert window of",
        }
    }
}

/// When to reconcile again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// Soon: PlanetScale is working on it.
    Quick,
    /// Now and then: waiting on a human or a clock.
    Slow,
    /// Only when the resource changes: nothing more will happen by itself.
    Never,
}

impl Poll {
    /// The interval, `None` for [`Poll::Never`].
    pub fn interval(self) -> Option<Duration> {
        match self {
            Poll::Quick => Some(QUICK_POLL),
            Poll::Slow => Some(SLOW_POLL),
            Poll::Never => None,
        }
    }
}

/// The plan of a pass over `observed`: the steps in order (at most one) and when to look
/// again if they change nothing.
pub fn plan(spec: &DeployRequestSpec, observed: &Observed) -> Plan<Step> {
    match &observed.request {
        Request::Missing { into } => Plan {
            steps: vec![Step::Open { into: into.clone() }],
            requeue: Some(QUICK_POLL),
        },
        // The number is recorded before anything else is done with it.
        Request::Adopted(_) => Plan {
            steps: Vec::new(),
            requeue: Some(QUICK_POLL),
        },
        Request::Tracked(dr) => {
            let facts = observed.facts_of(dr);
            let d = decide(spec, &facts);
            // Observed only: reported, never acted on.
            let manage = spec.management_policy == ManagementPolicy::Manage;
            Plan {
                steps: d.step.into_iter().filter(|_| manage).collect(),
                requeue: next_look(d.poll, &facts, observed.webhooks, Utc::now()),
            }
        }
    }
}

/// When to look again after a step that left the deploy request with `facts`: soon when
/// another step is due (a second pass takes it), else as its state says (slowly, with
/// healthy webhooks, when PlanetScale announces the end of that state).
pub fn after_step(spec: &DeployRequestSpec, facts: &Facts, webhooks: bool) -> Option<Duration> {
    let d = decide(spec, facts);
    let manage = spec.management_policy == ManagementPolicy::Manage;
    if d.step.is_some() && manage {
        return Some(QUICK_POLL);
    }
    next_look(d.poll, facts, webhooks, Utc::now())
}

/// When to look again at a deploy request with `facts` that `poll`s, at `now`. While the
/// database's `webhooks` are healthy:
/// - a quick poll becomes the slow safety poll when PlanetScale announces the end of the
///   state;
/// - in the revert window (30 minutes, no event when it closes) the look comes at the
///   window's end, and every [`WINDOW_POLL`] before it, instead of every [`SLOW_POLL`]:
///   6 reads a window instead of 60.
pub fn next_look(
    poll: Poll,
    facts: &Facts,
    webhooks: bool,
    now: DateTime<Utc>,
) -> Option<Duration> {
    if !webhooks {
        return poll.interval();
    }
    match poll {
        Poll::Quick if announced(&facts.state) => Some(SLOW_POLL),
        Poll::Slow if facts.state == DeploymentState::CompletePendingRevert => {
            let left = facts
                .revert_window_ends_at()
                .and_then(|end| (end - now).to_std().ok())
                .filter(|left| !left.is_zero());
            // Past its end and not closed yet: PlanetScale is late, look again soon.
            Some(match left {
                None => SLOW_POLL,
                Some(left) if left <= WINDOW_POLL => left + WINDOW_END_MARGIN,
                Some(_) => WINDOW_POLL,
            })
        }
        poll => poll.interval(),
    }
}

/// The decision for a tracked deploy request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The action to take now, if any.
    pub step: Option<Step>,
    /// Why a spec action (revert, skipRevert) cannot be honoured in this state.
    pub refusal: Option<String>,
    /// When to look again.
    pub poll: Poll,
}

/// Decides the next step for `spec` given `facts`.
pub fn decide(spec: &DeployRequestSpec, facts: &Facts) -> Decision {
    Decision {
        step: next_step(spec, facts),
        refusal: refusal(spec, facts),
        poll: poll(facts),
    }
}

/// States before the deploy starts, where auto-apply can still be chosen.
fn before_cutover(state: &DeploymentState) -> bool {
    use DeploymentState::*;
    matches!(
        state,
        Pending | Ready | NoChanges | Error | Queued | Submitting | InProgress | InProgressVschema
    )
}

fn next_step(spec: &DeployRequestSpec, f: &Facts) -> Option<Step> {
    use DeploymentState::*;
    if f.open && before_cutover(&f.state) && f.auto_cutover != spec.auto_apply {
        return Some(Step::SetAutoApply(spec.auto_apply));
    }
    match f.state {
        Ready if f.open && spec.deploy && !spec.revert => {
            if !f.approved && spec.approval.is_some() {
                Some(Step::Approve)
            } else if f.deployable && (f.approved || !f.approval_required) {
                Some(Step::Queue)
            } else {
                None
            }
        }
        PendingCutover if spec.cutover => Some(Step::Cutover),
        PendingCutover if spec.auto_apply && !f.auto_cutover => Some(Step::SetAutoApply(true)),
        CompletePendingRevert if spec.revert => Some(Step::Revert),
        CompletePendingRevert if spec.skip_revert => Some(Step::SkipRevert),
        _ => None,
    }
}

fn refusal(spec: &DeployRequestSpec, f: &Facts) -> Option<String> {
    use DeploymentState::*;
    let state = f.state.as_str();
    if spec.revert {
        return match f.state {
            Complete => Some(format!(
                "revert: true cannot be honoured: the revert window of {} is closed \
                 (deployment state complete), so the change stays deployed. Set revert: false, \
                 and undo the change with a new schema change and deploy request",
                f.name()
            )),
            Pending | Ready | NoChanges | Error | Queued | Submitting | InProgress
            | InProgressVschema | PendingCutover | InProgressCancel | CompleteCancel
            | Cancelled | CompleteError => Some(format!(
                "revert: true cannot be honoured: nothing of {} is deployed (deployment state \
                 {state}); a revert is only possible during the 30-minute revert window after \
                 a deploy. Set revert: false (while it is true the operator does not queue the deploy)",
                f.name()
            )),
            _ => None,
        };
    }
    if spec.skip_revert
        && matches!(
            f.state,
            InProgressRevert | InProgressRevertVschema | CompleteRevert | CompleteRevertError
        )
    {
        return Some(format!(
            "skipRevert: true cannot be honoured: {} was reverted (deployment state {state}); \
             set skipRevert: false",
            f.name()
        ));
    }
    None
}

/// Whether PlanetScale announces the end of `state` with a webhook event (`in_progress`,
/// `pending_cutover`, `schema_applied`, `errored`, `reverted`); checks finishing and a
/// cancel do not.
fn announced(state: &DeploymentState) -> bool {
    use DeploymentState::*;
    matches!(
        state,
        Queued
            | Submitting
            | InProgress
            | InProgressVschema
            | InProgressCutover
            | InProgressRevert
            | InProgressRevertVschema
    )
}

fn poll(f: &Facts) -> Poll {
    use DeploymentState::*;
    match f.state {
        Queued if f.queue_blocked.is_some() => Poll::Slow,
        Pending if !f.open => Poll::Never,
        _ if f.state.is_running() => Poll::Quick,
        Ready | NoChanges | Error if !f.open => Poll::Never,
        Ready | NoChanges | Error | PendingCutover | CompletePendingRevert => Poll::Slow,
        Unknown(_) => Poll::Slow,
        _ => Poll::Never,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
