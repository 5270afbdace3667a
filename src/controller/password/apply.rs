//! One reconcile of a live resource: resolve the target, then observe → plan → act until the
//! plan says there is nothing left to do (a few steps at most), then the housekeeping of a
//! working password.
use std::time::Duration;

use super::mint::{self, Mint};
use super::observe::observe;
use super::plan::{Cause, Desired, Observed, Step, next_deadline, plan};
use super::restart;
use super::run::{Run, desired};
use super::status::Outcome;
use super::target::{self, Target};
use super::upkeep;
use crate::error::Error;
use crate::time::until;

/// Steps one reconcile takes at most (a heal is mint + sync; a refused renewal adds one).
const MAX_STEPS: usize = 5;

/// Brings the password, the Secret and the restart targets in line with the spec.
pub async fn apply(run: &mut Run<'_>) -> Result<Outcome, Error> {
    let desired = desired(run.obj)?;
    let (target, branch_waiting) = target::resolve(&run.ctx.client, run.obj).await?;
    run.target_resolved = branch_waiting.is_none();
    let outcome = converge(run, &desired, &target).await?;
    match branch_waiting {
        // Looked after, but the branch is not Ready: that is what the conditions say.
        Some(waiting) => Err(waiting),
        None => Ok(outcome),
    }
}

/// Observe → plan → act until idle, on `target`.
async fn converge(run: &mut Run<'_>, desired: &Desired, target: &Target) -> Result<Outcome, Error> {
    run.status.organization = Some(target.organization.clone());
    run.status.database = Some(target.database.clone());
    run.status.branch = Some(target.branch.clone());
    let api = run.client().await?;
    let (mut renew_refused, mut cidrs_patched) = (false, false);
    for _ in 0..MAX_STEPS {
        let seen = observe(run, &api, target, &desired.secret_name).await?;
        let o = Observed {
            now: api.server_now(),
            uid: &run.uid,
            status: &run.status,
            desired,
            secret: seen.secret.state(&run.status),
            live: seen.live.clone(),
            renew_refused,
            cidrs_patched,
        };
        let step = plan(&o);
        let (now, next) = (o.now, next_deadline(&o));
        tracing::debug!(?step, "password step");
        match step {
            Step::Conflict => {
                let holder = seen.secret.holder.clone();
                return Ok(Outcome::Conflict { holder });
            }
            Step::Mint { counter, cause } => {
                mint_step(run, &api, target, desired, &seen.secret, counter, cause).await?;
                // The refusal was about the password just replaced.
                renew_refused = false;
            }
            Step::Renew => renew_refused = !upkeep::renew(run, &api, target).await?,
            Step::UpdateCidrs => {
                upkeep::update_cidrs(run, &api, target, desired).await?;
                cidrs_patched = true;
            }
            Step::Idle => {
                upkeep::sync(run, &seen, target, desired).await?;
                upkeep::delete_due(run, &api, target, now).await?;
                restart::converge(run).await?;
                let (creds, interval) = (run.credentials_key(), run.ctx.settings.resync_interval);
                let (org, db) = (&target.organization, &target.database);
                run.resync_in = Some(run.caches.resync_in(&creds, org, db, interval));
                let next = next.map(|at| until(api.server_now(), at));
                return Ok(Outcome::Ready { next });
            }
        }
    }
    Ok(Outcome::Converging)
}

async fn mint_step(
    run: &mut Run<'_>,
    api: &planetscale_api::Client,
    target: &Target,
    desired: &Desired,
    secret: &super::secret::SecretView,
    counter: i64,
    cause: Cause,
) -> Result<(), Error> {
    if cause == Cause::Initial && !target.known_ready {
        target::check_ready(api, target).await?;
    }
    let m = Mint {
        api,
        target,
        desired,
        secret,
        counter,
        cause,
    };
    mint::mint(run, m).await
}

/// When to look again after `outcome`: at the next deadline (with a second of slack, as the
/// server clock is known to the second), at the latest after `resync` (for a Ready password,
/// the time until its database's next resync, [`super::cache::Caches::resync_in`]).
pub fn requeue_after(outcome: &Outcome, resync: Duration) -> Duration {
    match outcome {
        Outcome::Ready { next: Some(next) } => (*next + Duration::from_secs(1)).min(resync),
        Outcome::Ready { next: None } => resync,
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
        let soon = Outcome::Ready {
            next: Some(Duration::from_secs(30)),
        };
        assert_eq!(requeue_after(&soon, resync), Duration::from_secs(31));
        let late = Outcome::Ready {
            next: Some(Duration::from_secs(3600)),
        };
        assert_eq!(requeue_after(&late, resync), resync);
        assert_eq!(
            requeue_after(&Outcome::Ready { next: None }, resync),
            resync
        );
        let conflict = Outcome::Conflict { holder: None };
        assert!(requeue_after(&conflict, resync) <= Duration::from_secs(60));
    }
}
