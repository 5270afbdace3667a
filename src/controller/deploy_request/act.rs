//! Act: carries out the planned steps against PlanetScale and returns what came of them; a
//! refusal becomes something a user can act on instead of an error loop.
use std::time::Duration;

use kube::ResourceExt;
use planetscale_api::models::DeployRequest as ApiDeployRequest;

use super::conditions::StepError;
use super::observe::{Facts, Observed, Request};
use super::plan::{self, QUICK_POLL, SLOW_POLL, Step};
use super::request;
use super::status::Location;
use crate::controller::Context;
use crate::controller::planetscale::PlanetScale;
use crate::controller::reconciler::{Acted, Plan};
use crate::crd::DeployRequest as DeployRequestResource;
use crate::crd::deploy_request::reason as r;
use crate::error::{Error, Result};

/// What a pass did: everything the status needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The deploy request was opened now (or an open one adopted): this pass records its
    /// number and nothing else, so a crash after the open finds it again by number.
    Recorded {
        /// Organization and database.
        at: Location,
        /// The deploy request.
        dr: ApiDeployRequest,
        /// Adopted rather than opened.
        adopted: bool,
        /// Its facts as this pass knows them: the status records its `Approved` condition
        /// with the number, so the next pass knows the database's rule without reading it.
        facts: Box<Facts>,
    },
    /// The tracked deploy request, after the planned step (read again when one was taken).
    Synced {
        /// Organization and database.
        at: Location,
        /// The deploy request now.
        dr: ApiDeployRequest,
        /// Its facts (boxed: the larger variant).
        facts: Box<Facts>,
        /// The step taken, if any.
        step: Option<Step>,
        /// A refusal of that step that a user must look at.
        step_error: Option<StepError>,
        /// After a step that succeeded: when to look again at the deploy request it left
        /// ([`plan::after_step`]).
        then: Option<Duration>,
    },
    /// Stopped by an error before anything could be recorded (the error is shown instead).
    Stopped,
}

impl Outcome {
    /// The deploy request as this pass last read it from PlanetScale (`None`: stopped).
    pub fn read(&self) -> Option<&ApiDeployRequest> {
        match self {
            Outcome::Recorded { dr, .. } | Outcome::Synced { dr, .. } => Some(dr),
            Outcome::Stopped => None,
        }
    }

    /// When to reconcile again: soon after an open or an adoption, after a step as the state
    /// it left says, slowly after a refused one, else as `planned`.
    pub fn requeue(&self, planned: Option<Duration>) -> Option<Duration> {
        match self {
            Outcome::Recorded { .. } => Some(QUICK_POLL),
            Outcome::Synced {
                step: Some(_),
                step_error: Some(_),
                ..
            } => Some(SLOW_POLL),
            Outcome::Synced {
                step: Some(_),
                then,
                ..
            } => *then,
            Outcome::Synced { step: None, .. } | Outcome::Stopped => planned,
        }
    }
}

/// Carries out `plan` for `obj`.
pub async fn act(
    ctx: &Context,
    obj: &DeployRequestResource,
    observed: Observed,
    plan: Plan<Step>,
) -> Acted<Outcome> {
    match steps(ctx, obj, &observed.client, &observed, plan).await {
        Ok(outcome) => Acted::done(outcome),
        Err(e) => Acted::failed(Outcome::Stopped, e),
    }
}

async fn steps(
    ctx: &Context,
    obj: &DeployRequestResource,
    client: &impl PlanetScale,
    observed: &Observed,
    plan: Plan<Step>,
) -> Result<Outcome> {
    let at = observed.src.at.clone();
    let mut dr = match &observed.request {
        Request::Tracked(dr) => dr.clone(),
        Request::Adopted(dr) => {
            let dr = dr.clone();
            return Ok(Outcome::Recorded {
                at,
                facts: Box::new(observed.facts_of(&dr)),
                dr,
                adopted: true,
            });
        }
        Request::Missing { .. } => {
            let Some(Step::Open { into }) = plan.steps.first() else {
                return Err(Error::Invalid {
                    reason: "NotFound",
                    message: "no deploy request to track and none planned to open".into(),
                });
            };
            let dr = request::open(client, &observed.src, into, obj).await?;
            return Ok(Outcome::Recorded {
                at,
                facts: Box::new(observed.facts_of(&dr)),
                dr,
                adopted: false,
            });
        }
    };
    let mut taken = None;
    let mut step_error = None;
    for step in plan.steps {
        match perform(ctx, client, obj, &at, dr.number, &step).await {
            // The action's answer is the deploy request after it.
            Ok(Some(answered)) if answered.number == dr.number => dr = answered,
            // An approval answers with the review: read the request again.
            Ok(_) => {
                dr = client
                    .get_deploy_request(&at.org, &at.db, dr.number)
                    .await?;
            }
            Err(e) => step_error = Some(classify(&step, dr.number, e)?),
        }
        taken = Some(step);
        if step_error.is_some() {
            break;
        }
    }
    let facts = observed.facts_of(&dr);
    Ok(Outcome::Synced {
        then: plan::after_step(&obj.spec, &facts, observed.webhooks),
        facts: Box::new(facts),
        at,
        dr,
        step: taken,
        step_error,
    })
}

/// Performs `step` on deploy request `number`; returns the deploy request as the action
/// answered it (`None` for an approval, which answers with the review).
pub async fn perform(
    ctx: &Context,
    client: &impl PlanetScale,
    obj: &DeployRequestResource,
    at: &Location,
    number: u64,
    step: &Step,
) -> Result<Option<ApiDeployRequest>> {
    let (org, db) = (at.org.as_str(), at.db.as_str());
    let answered = match *step {
        // Opening is not an action on an existing request (see `act`).
        Step::Open { .. } => return Ok(None),
        Step::Approve => {
            approve(ctx, obj, at, number).await?;
            return Ok(None);
        }
        Step::Queue => client.queue_deploy_request(org, db, number, false).await?,
        Step::SetAutoApply(on) => client.set_auto_apply(org, db, number, on).await?,
        Step::Cutover => client.apply_deploy_request(org, db, number).await?,
        Step::Revert => client.revert_deploy_request(org, db, number).await?,
        Step::SkipRevert => client.skip_revert_deploy_request(org, db, number).await?,
    };
    Ok(Some(answered))
}

async fn approve(
    ctx: &Context,
    obj: &DeployRequestResource,
    at: &Location,
    number: u64,
) -> Result<()> {
    let Some(approval) = &obj.spec.approval else {
        return Ok(());
    };
    let ns = obj.namespace().unwrap_or_default();
    let approver = ctx
        .credentials
        .client_from_secret(&ns, &approval.credentials_ref.name)
        .await?;
    let comment = format!(
        "Approved by planetscale-operator for DeployRequest {ns}/{}",
        obj.name_any()
    );
    approve_as(&approver, at, number, &comment).await
}

/// Posts an approving review with the approver's credentials.
async fn approve_as(
    approver: &impl PlanetScale,
    at: &Location,
    number: u64,
    comment: &str,
) -> Result<()> {
    approver
        .approve_deploy_request(&at.org, &at.db, number, Some(comment))
        .await?;
    Ok(())
}

/// A failed step: transient errors stay errors (retried with backoff); anything a user must
/// look at becomes a [`StepError`] shown in the conditions (pure).
pub fn classify(step: &Step, number: u64, err: Error) -> Result<StepError, Error> {
    if err.is_transient() {
        return Err(err);
    }
    let api_message = |e: &Error| match e {
        Error::Api(api) => api.message().unwrap_or("no details").to_string(),
        other => other.to_string(),
    };
    let (reason, message) = match (&err, step) {
        (Error::CredentialsNotFound(_) | Error::CredentialsInvalid(_), Step::Approve) => {
            (err.reason(), format!("approval.credentialsRef: {err}"))
        }
        (Error::Unauthorized(_), Step::Approve) => (
            err.reason(),
            "PlanetScale rejected the credentials of approval.credentialsRef".to_string(),
        ),
        (Error::Api(planetscale_api::Error::NotFound { .. }), Step::Approve) => (
            r::APPROVAL_FAILED,
            format!(
                "the identity of approval.credentialsRef cannot approve deploy request #{number}: it needs the approve_deploy_request access on the database"
            ),
        ),
        (_, Step::Approve) => (
            r::APPROVAL_FAILED,
            format!(
                "PlanetScale refused the approval of deploy request #{number}: {}",
                api_message(&err)
            ),
        ),
        (Error::Api(planetscale_api::Error::Unprocessable { .. }), _) => (
            r::ACTION_NOT_ALLOWED,
            format!(
                "PlanetScale refused to {} deploy request #{number}: {}",
                step.verb(),
                api_message(&err)
            ),
        ),
        _ => (
            err.reason(),
            format!("could not {} deploy request #{number}: {err}", step.verb()),
        ),
    };
    Ok(StepError {
        step: step.clone(),
        reason,
        message,
    })
}

#[cfg(test)]
#[path = "act_tests.rs"]
mod tests;
