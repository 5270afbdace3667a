//! Acting: takes the steps of a [`Plan`] in order and says how the pass ended. The steps
//! themselves are in [`super::mint`], [`super::upkeep`] and [`super::restart`].
use std::time::Duration;

use super::mint::{self, Mint};
use super::observe::{Located, Observed, Pass, db_key};
use super::pass::{Progress, Run};
use super::plan::{Plan, Step};
use super::status::Outcome;
use super::{restart, target, upkeep};
use crate::error::Error;

/// How a plan's steps ended.
#[derive(Debug)]
pub enum Next {
    /// PlanetScale or the Secret changed: look again before deciding anything else.
    Again(Pass),
    /// Nothing left to do in this pass.
    Done(Outcome),
}

/// Takes the steps of `plan`, made from `seen`, on `at`'s target; the status they change is
/// `progress`.
pub async fn act(
    run: &Run<'_>,
    api: &planetscale_api::Client,
    at: &Located,
    seen: &Observed,
    plan: Plan,
    progress: &mut Progress,
) -> Result<Next, Error> {
    let (t, desired) = (&at.target, &at.desired);
    let mut pass = seen.pass;
    let mut changed = false;
    for step in plan.steps {
        tracing::debug!(?step, "password step");
        match step {
            Step::Conflict => {
                let holder = seen.secret.holder.clone();
                return Ok(Next::Done(Outcome::Conflict { holder }));
            }
            Step::CheckBranch => target::check_ready(api, t).await?,
            Step::CheckTemplate => mint::preflight(run, t)?,
            Step::SaveCounter { counter } => {
                progress.status.rotation = counter;
                progress.save(run).await?;
            }
            Step::Mint {
                counter,
                cause,
                lookup,
            } => {
                let m = Mint {
                    api,
                    target: t,
                    desired,
                    secret: &seen.secret,
                    counter,
                    cause,
                    lookup,
                };
                mint::mint(run, &mut progress.status, m).await?;
                // The refusal was about the password just replaced.
                (pass.renew_refused, changed) = (false, true);
            }
            Step::Renew => {
                pass.renew_refused = !upkeep::renew(run, &mut progress.status, api, t).await?;
                changed = true;
            }
            Step::UpdateCidrs => {
                upkeep::update_cidrs(run, &progress.status, api, t, desired).await?;
                (pass.cidrs_patched, changed) = (true, true);
            }
            Step::SyncSecret => upkeep::sync(run, &mut progress.status, seen, t, desired).await?,
            Step::DeleteReplaced(due) => {
                upkeep::delete_replaced(run, &mut progress.status, api, t, due).await?;
            }
            Step::Restart => restart::converge(run, &progress.status).await?,
        }
    }
    if changed {
        return Ok(Next::Again(pass));
    }
    let interval = run.ctx.settings.resync_interval;
    let resync = run.state.snapshots.resync_in(&db_key(run, t), interval);
    Ok(Next::Done(Outcome::Ready {
        next: plan.requeue,
        resync,
    }))
}

/// When to look again after `outcome`: at the next deadline (with a second of slack, as the
/// server clock is known to the second), at the latest at the resync (for a Ready password,
/// the time until its database's next resync, [`crate::controller::snapshot`]).
pub fn requeue_after(outcome: &Outcome, resync: Duration) -> Duration {
    match outcome {
        Outcome::Ready {
            next: Some(next),
            resync,
        } => (*next + Duration::from_secs(1)).min(*resync),
        Outcome::Ready { next: None, resync } => *resync,
        Outcome::Conflict { .. } => resync.min(Duration::from_secs(60)),
        Outcome::Converging => Duration::from_secs(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requeue_follows_the_next_deadline_within_the_resync() {
        let resync = Duration::from_secs(600);
        let ready = |next| Outcome::Ready { next, resync };
        let soon = ready(Some(Duration::from_secs(30)));
        assert_eq!(requeue_after(&soon, resync), Duration::from_secs(31));
        let late = ready(Some(Duration::from_secs(3600)));
        assert_eq!(requeue_after(&late, resync), resync);
        assert_eq!(requeue_after(&ready(None), resync), resync);
        let conflict = Outcome::Conflict { holder: None };
        assert!(requeue_after(&conflict, resync) <= Duration::from_secs(60));
    }
}
