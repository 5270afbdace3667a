//! Acting: takes the steps of a [`Plan`] in order, on the status as it stands, and returns
//! what they did. The steps themselves are in [`super::mint`], [`super::upkeep`] and
//! [`super::restart`].
use std::time::Duration;

use super::engine::CredOps;
use super::mint::{self, Mint};
use super::observe::{Located, Look, Observed, db_key};
use super::ownership::Refusal;
use super::pass::Run;
use super::plan::Step;
use super::{adopt, restart, upkeep};
use crate::controller::reconciler::{Acted, Plan};
use crate::controller::target;
use crate::crd::Claim;
use crate::crd::password::PlanetScalePasswordStatus;
use crate::error::Error;

/// What a pass did: the status it leaves (the new password recorded, replaced ones queued
/// or deleted), whether the target branch was resolved (for `BranchReady`), and how it ended
/// (`None`: a step failed).
#[derive(Debug)]
pub struct Outcome {
    pub status: PlanetScalePasswordStatus,
    pub resolved: bool,
    pub ended: Option<Ended>,
}

/// How a pass whose steps all succeeded ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The Secret holds a working password; look again after `next` (a renewal, rotation or
    /// deletion coming due, or at once after a change), at the latest at the database's next
    /// resync (`resync`).
    Ready {
        next: Option<Duration>,
        resync: Duration,
    },
    /// The Secret is not ours to write, for this reason.
    Conflict(Refusal),
    /// The password `spec.passwordId` is observed: reported, no Secret; look again at the
    /// resync.
    Observed { resync: Duration },
    /// The password `spec.passwordId` was adopted now: the next pass replaces it at once.
    Adopted,
}

/// Takes the steps of `plan`, made from `seen`.
pub async fn act(run: &Run<'_>, seen: Observed, plan: Plan<Step>) -> Acted<Outcome> {
    let Observed { located, look } = seen;
    let mut status = run.obj.status.clone().unwrap_or_default();
    let t = &located.target;
    status.organization = Some(t.organization.clone());
    status.database = Some(t.database.clone());
    status.branch = Some(t.branch.clone());
    let resolved = located.branch_waiting.is_none();
    if let Ok(look) = &look {
        status.engine = Some(look.engine.as_str().to_string());
    }
    let result = match &look {
        Ok(look) => steps(run, &located, look, plan, &mut status).await,
        Err(_) => Ok(None),
    };
    let outcome = |ended| Outcome {
        status,
        resolved,
        ended,
    };
    match (look, result, located.branch_waiting) {
        (Err(e), _, _) | (Ok(_), Err(e), _) => Acted::failed(outcome(None), e),
        // Looked after, but the branch is not Ready: that is what the conditions say.
        (Ok(_), Ok(ended), Some(waiting)) => Acted::failed(outcome(ended), waiting),
        (Ok(_), Ok(ended), None) => Acted::done(outcome(ended)),
    }
}

async fn steps(
    run: &Run<'_>,
    at: &Located,
    look: &Look,
    plan: Plan<Step>,
    status: &mut PlanetScalePasswordStatus,
) -> Result<Option<Ended>, Error> {
    let (api, t, desired) = (&look.api, &at.target, &at.desired);
    let mut recorded = None;
    for step in plan.steps {
        tracing::debug!(?step, "password step");
        match step {
            Step::Conflict => {
                let why = look.secret.claim.refusal.clone();
                return Ok(Some(Ended::Conflict(why.unwrap_or(Refusal::NotOurs))));
            }
            Step::WaitForBranch(why, after) => return Err(target::waiting_for(why, after)),
            Step::RefuseTemplate => mint::preflight(run.obj, t, look.engine)?,
            Step::Mint {
                target,
                engine,
                counter,
                cause,
                lookup,
            } => {
                let secret = &look.secret;
                let m = Mint {
                    api,
                    target: &target,
                    creds: CredOps::of(run.obj, engine),
                    desired,
                    secret,
                    counter,
                    cause,
                    lookup,
                };
                mint::mint(run, status, m).await?;
            }
            Step::Renew => upkeep::renew(run, status, api, t).await?,
            Step::UpdateCidrs => upkeep::update_cidrs(run, status, api, t, desired).await?,
            Step::SyncSecret => upkeep::sync(run, status, look, t, desired).await?,
            Step::DeleteDue => upkeep::delete_due(run, status, api, t).await?,
            Step::Restart => restart::converge(run, status).await?,
            Step::Record(claim) => {
                adopt::record(run, status, look, t, claim).await?;
                recorded = Some(claim);
            }
            Step::Missing => return Err(adopt::missing(run.obj)),
        }
    }
    let interval = run.ctx.settings.resync_interval;
    let resync = run.state.snapshots.resync_in(&db_key(run, t), interval);
    Ok(Some(match recorded {
        Some(Some(Claim::Adopt)) => Ended::Adopted,
        Some(_) => Ended::Observed { resync },
        None => Ended::Ready {
            next: plan.requeue,
            resync,
        },
    }))
}

/// When to look again after `ended`: at the next deadline (with a second of slack, as the
/// server clock is known to the second), at the latest at the resync (for a Ready password,
/// the time until its database's next resync, [`crate::controller::snapshot`]).
pub fn requeue_after(ended: &Ended, resync: Duration) -> Duration {
    match ended {
        Ended::Ready {
            next: Some(next),
            resync,
        } => (*next + Duration::from_secs(1)).min(*resync),
        Ended::Ready { next: None, resync } => *resync,
        Ended::Conflict(_) => resync.min(Duration::from_secs(60)),
        Ended::Observed { resync } => *resync,
        Ended::Adopted => Duration::from_secs(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requeue_follows_the_next_deadline_within_the_resync() {
        let resync = Duration::from_secs(600);
        let ready = |next| Ended::Ready { next, resync };
        let soon = ready(Some(Duration::from_secs(30)));
        assert_eq!(requeue_after(&soon, resync), Duration::from_secs(31));
        let late = ready(Some(Duration::from_secs(3600)));
        assert_eq!(requeue_after(&late, resync), resync);
        assert_eq!(requeue_after(&ready(None), resync), resync);
        let conflict = Ended::Conflict(Refusal::NotOurs);
        assert!(requeue_after(&conflict, resync) <= Duration::from_secs(60));
    }
}
