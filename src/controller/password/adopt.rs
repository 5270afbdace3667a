//! A password made outside the resource, named by `spec.passwordId`: observed or adopted.
//!
//! - **Observed** (`managementPolicy: Observe`): every pass reads the password (or role) by id
//!   and reports its name, role, username, host and expiry. Nothing is written, to PlanetScale
//!   or to a Secret: PlanetScale never shows a plaintext again, so there is none to deliver.
//! - **Adopted** (`adopt: true`): the first pass records the password as the resource's
//!   current one (on a production branch only when the access policy allows
//!   `production.adopt`); the next replaces it at once ([`Cause::Adopted`](super::plan::Cause)),
//!   like a rotation: a password of the spec that the operator creates and writes to the
//!   Secret, the adopted one deleted after `rotation.gracePeriod`. From then on the resource
//!   renews, rotates and deletes as if it had created it.
//!
//! Which of the two, or neither, is [`crate::crd::managed::claim`], as for every kind.
use std::time::Duration;

use planetscale_api::models::Password;

use super::observe::Look;
use super::pass::{Run, crd_role};
use super::plan::Step;
use crate::controller::reconciler::Plan;
use crate::controller::target::Target;
use crate::crd::ManagementPolicy;
use crate::crd::conditions::reason;
use crate::crd::managed::{self, Claim, Recorded};
use crate::crd::password::reason as password_reason;
use crate::crd::password::{PlanetScalePassword, PlanetScalePasswordStatus};
use crate::error::Error;
use crate::time::to_time;

/// The id to look at instead of `status.passwordId`: `spec.passwordId` while it is observed,
/// or to be adopted (not recorded yet, or recorded while observed). Pure.
pub fn claimed_id<'a>(
    obj: &'a PlanetScalePassword,
    status: &PlanetScalePasswordStatus,
) -> Option<&'a str> {
    let spec = &obj.spec;
    let observe = spec.management_policy == ManagementPolicy::Observe;
    let unclaimed = status.password_id.is_none() || status.observed_only == Some(true);
    let adopting = spec.adopt && unclaimed && status.rotation == 0;
    spec.password_id.as_deref().filter(|_| observe || adopting)
}

/// The plan of a pass over a password named by `spec.passwordId`, while it is observed or
/// to be adopted; `None`: the ordinary plan. Pure.
pub fn plan(
    obj: &PlanetScalePassword,
    status: &PlanetScalePasswordStatus,
    look: &Look,
) -> Option<Plan<Step>> {
    claimed_id(obj, status)?;
    let Some(p) = &look.password else {
        return Some(Plan::steps(vec![Step::Missing]));
    };
    let recorded = Recorded {
        id: status.password_id.as_deref(),
        create_requested: false,
        observed_only: status.observed_only == Some(true),
    };
    let spec = &obj.spec;
    // Admission requires `adopt` for a `passwordId` that is managed: never foreign here.
    let claim = managed::claim(recorded, &p.id, spec.management_policy, spec.adopt).ok()?;
    let plan = Plan::steps(vec![Step::Record(claim)]);
    // Adopted: replaced by the next pass, at once.
    Some(match claim {
        Some(Claim::Adopt) => plan.requeue(Duration::ZERO),
        _ => plan,
    })
}

/// Records the password seen as the resource's (`claim`: how it becomes so now). Adopting
/// one of a production branch asks the access policy first.
pub async fn record(
    run: &Run<'_>,
    status: &mut PlanetScalePasswordStatus,
    look: &Look,
    t: &Target,
    claim: Option<Claim>,
) -> Result<(), Error> {
    let Some(p) = &look.password else {
        return Err(missing(run.obj));
    };
    if claim == Some(Claim::Adopt) {
        let branch = look
            .api
            .get_branch(&t.organization, &t.database, &t.branch)
            .await?;
        if branch.production {
            let adopt = crate::policy::Production::Adopt;
            let policies = &run.ctx.policies;
            policies
                .admit_production(&run.ctx.client, run.obj, adopt)
                .await?;
        }
    }
    copy(status, p);
    if let Some(observed) = managed::observed_only_after(claim) {
        status.observed_only = observed;
    }
    Ok(())
}

/// What PlanetScale says about `p` (never a plaintext), into `status`.
fn copy(status: &mut PlanetScalePasswordStatus, p: &Password) {
    status.password_id = Some(p.id.clone());
    status.password_name = Some(p.name.clone());
    status.username.clone_from(&p.username);
    status.host.clone_from(&p.access_host_url);
    status.role = p.role.as_ref().and_then(crd_role);
    status.expires_at = p.expires_at.map(to_time);
    status.last_rotated_at = p.created_at.map(to_time);
}

/// The password `spec.passwordId` does not exist (or the credentials cannot see it).
pub fn missing(obj: &PlanetScalePassword) -> Error {
    let id = obj.spec.password_id.as_deref().unwrap_or_default();
    let observe = obj.spec.management_policy == ManagementPolicy::Observe;
    let reason = if observe {
        reason::OBSERVED_NOT_FOUND
    } else {
        password_reason::PASSWORD_NOT_FOUND
    };
    Error::Invalid {
        reason,
        message: format!(
            "password {id} does not exist on the branch (or the credentials cannot see it): \
             check spec.passwordId and the branch"
        ),
    }
}

#[cfg(test)]
#[path = "adopt_tests.rs"]
mod tests;
