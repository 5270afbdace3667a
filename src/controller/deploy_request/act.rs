//! Carries out one planned step against PlanetScale, and turns a refusal into something a user
//! can act on instead of an error loop.
use kube::ResourceExt;
use kube::runtime::events::EventType;
use planetscale_api::Client;

use super::conditions::StepError;
use super::plan::Step;
use super::status::Location;
use crate::controller::Context;
use crate::crd::DeployRequest as DeployRequestResource;
use crate::crd::deploy_request::reason as r;
use crate::error::{Error, Result};

/// Performs `step` on deploy request `number`, with an event when it is done.
pub async fn perform(
    ctx: &Context,
    client: &Client,
    obj: &DeployRequestResource,
    at: &Location,
    number: u64,
    step: Step,
) -> Result<()> {
    let (org, db) = (at.org.as_str(), at.db.as_str());
    match step {
        Step::Approve => approve(ctx, obj, at, number).await?,
        Step::Queue => drop(client.queue_deploy_request(org, db, number, false).await?),
        Step::SetAutoApply(on) => drop(client.set_auto_apply(org, db, number, on).await?),
        Step::Cutover => drop(client.apply_deploy_request(org, db, number).await?),
        Step::Revert => drop(client.revert_deploy_request(org, db, number).await?),
        Step::SkipRevert => drop(client.skip_revert_deploy_request(org, db, number).await?),
    }
    let (reason, note) = done(step, number);
    ctx.event(obj, EventType::Normal, reason, step_action(step), note)
        .await;
    Ok(())
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
    approver
        .approve_deploy_request(&at.org, &at.db, number, Some(&comment))
        .await?;
    Ok(())
}

fn done(step: Step, n: u64) -> (&'static str, String) {
    match step {
        Step::Approve => (
            "Approved",
            format!("approved deploy request #{n} with approval.credentialsRef"),
        ),
        Step::Queue => (
            "DeployQueued",
            format!("queued the deploy of deploy request #{n}"),
        ),
        Step::SetAutoApply(on) => (
            "AutoApplySet",
            format!("set auto-apply of deploy request #{n} to {on}"),
        ),
        Step::Cutover => (
            "CutOver",
            format!("applied the gated deploy of deploy request #{n} (cutover: true)"),
        ),
        Step::Revert => (
            "Reverting",
            format!("started reverting deploy request #{n} (revert: true)"),
        ),
        Step::SkipRevert => (
            "RevertSkipped",
            format!("closed the revert window of deploy request #{n} (skipRevert: true)"),
        ),
    }
}

fn step_action(step: Step) -> &'static str {
    match step {
        Step::Approve => "Approve",
        Step::Queue => "Deploy",
        Step::SetAutoApply(_) => "SetAutoApply",
        Step::Cutover => "ApplyDeploy",
        Step::Revert => "Revert",
        Step::SkipRevert => "SkipRevert",
    }
}

/// A failed step: transient errors stay errors (retried with backoff); anything a user must
/// look at becomes a [`StepError`] shown in the conditions (pure).
pub fn classify(step: Step, number: u64, err: Error) -> Result<StepError, Error> {
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
        step,
        reason,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(e: planetscale_api::Error) -> Error {
        Error::from(e)
    }

    fn unprocessable(message: &str) -> planetscale_api::Error {
        planetscale_api::Error::Unprocessable {
            code: "unprocessable".into(),
            message: message.into(),
        }
    }

    #[test]
    fn self_approval_is_shown_not_retried_fast() {
        let e = classify(
            Step::Approve,
            7,
            api(unprocessable("You cannot approve your own deploy request")),
        )
        .unwrap();
        assert_eq!(e.reason, r::APPROVAL_FAILED);
        assert!(e.message.contains("your own"), "{}", e.message);
    }

    #[test]
    fn missing_access_names_the_access() {
        let nf = planetscale_api::Error::NotFound {
            code: "not_found".into(),
            message: "Not Found".into(),
        };
        let e = classify(Step::Approve, 7, api(nf)).unwrap();
        assert!(e.message.contains("approve_deploy_request"));
    }

    #[test]
    fn refused_actions_say_what_was_refused() {
        let e = classify(Step::Queue, 7, api(unprocessable("must be approved"))).unwrap();
        assert_eq!(e.reason, r::ACTION_NOT_ALLOWED);
        assert!(
            e.message
                .contains("queue the deploy of deploy request #7: must be approved")
        );
        let e = classify(
            Step::Approve,
            7,
            Error::CredentialsNotFound("Secret x missing".into()),
        )
        .unwrap();
        assert_eq!(e.reason, "CredentialsNotFound");
    }

    #[test]
    fn transient_errors_stay_errors() {
        let e = Error::Api(planetscale_api::Error::Server {
            status: 503,
            retry_after: None,
            code: "unavailable".into(),
            message: "down".into(),
        });
        assert!(classify(Step::Queue, 7, e).is_err());
    }
}
