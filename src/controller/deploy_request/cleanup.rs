//! Deletion: leave PlanetScale tidy without ever hanging on a deploy in progress. An open
//! request that has not started is closed; a queued one is cancelled then closed; an errored
//! one is completed (unblocking the queue) and closed; a gated one waiting for cutover is
//! cancelled (it would hold the queue forever); a running one is left to finish. An observed
//! one is left as it is.
use kube::ResourceExt;
use kube::api::ListParams;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use planetscale_api::Client;
use planetscale_api::models::{DeployRequest, DeployRequestState, DeploymentState};

use super::request;
use super::status::Location;
use crate::controller::planetscale::PlanetScale;
use crate::controller::{Context, watched_apis};
use crate::crd::{DeployRequest as DeployRequestResource, ManagementPolicy, is_paused};
use crate::error::{Error, Result};

/// What deletion does in PlanetScale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cleanup {
    /// Nothing to do (closed, deployed, or gone).
    Nothing,
    /// Close the open request.
    Close,
    /// Cancel the queued deploy, then close.
    CancelThenClose,
    /// Complete the errored deploy (unblocking the queue), then close if open.
    CompleteThenClose,
    /// Cancel the gated deploy waiting for cutover (it holds the queue).
    CancelGated,
    /// A deploy is running: leave it to finish.
    LeaveRunning,
}

/// The cleanup for a deploy request in `state` (pure).
pub fn plan(state: &DeploymentState, open: bool) -> Cleanup {
    use DeploymentState::*;
    match state {
        Queued => Cleanup::CancelThenClose,
        CompleteError | CompleteRevertError => Cleanup::CompleteThenClose,
        PendingCutover => Cleanup::CancelGated,
        Submitting
        | InProgress
        | InProgressVschema
        | InProgressCutover
        | InProgressCancel
        | InProgressRevert
        | InProgressRevertVschema => Cleanup::LeaveRunning,
        _ if open => Cleanup::Close,
        _ => Cleanup::Nothing,
    }
}

/// Runs the cleanup of `obj`. Errors only for transient failures (retried); anything else is
/// reported in an event and the resource is released.
pub async fn run(obj: &DeployRequestResource, ctx: &Context) -> Result<Action> {
    if is_paused(&obj.metadata) {
        let note = "paused: the deploy request was left as it is in PlanetScale".to_string();
        ctx.event(obj, EventType::Normal, "Released", "Delete", note)
            .await;
        return Ok(Action::await_change());
    }
    let observed = obj.spec.management_policy == ManagementPolicy::Observe
        || obj.status.as_ref().and_then(|s| s.observed_only) == Some(true);
    if observed {
        let note = "the deploy request was only observed: left as it is in PlanetScale".to_string();
        ctx.event(obj, EventType::Normal, "Released", "Delete", note)
            .await;
        return Ok(Action::await_change());
    }
    let found = match find(obj, ctx).await {
        Ok(found) => found,
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            let note = format!(
                "could not look at the deploy request ({e}); close it in PlanetScale if it is still open"
            );
            ctx.event(obj, EventType::Warning, e.reason(), "Delete", note)
                .await;
            return Ok(Action::await_change());
        }
    };
    if let Some((client, at, dr)) = found {
        clean(obj, ctx, &client, &at, &dr).await?;
    }
    Ok(Action::await_change())
}

/// Does what deletion needs for `dr` and tells the user in an event.
async fn clean(
    obj: &DeployRequestResource,
    ctx: &Context,
    client: &impl PlanetScale,
    at: &Location,
    dr: &DeployRequest,
) -> Result<()> {
    if let Some(other) = shared_with(ctx, obj, at, dr.number).await? {
        let note = format!(
            "deploy request #{} is also tracked by DeployRequest {other}; left as it is",
            dr.number
        );
        ctx.event(obj, EventType::Normal, "Shared", "Delete", note)
            .await;
        return Ok(());
    }
    let open = dr.state.as_ref() != Some(&DeployRequestState::Closed);
    let state = dr
        .deployment_state
        .clone()
        .unwrap_or(DeploymentState::Unknown(String::new()));
    match carry_out(client, at, dr.number, plan(&state, open), open).await {
        Ok(Some(note)) => {
            ctx.event(obj, EventType::Normal, "Cleanup", "Delete", note)
                .await;
        }
        Ok(None) => {}
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => {
            let note = format!(
                "could not clean up deploy request #{} ({e}); finish it in PlanetScale",
                dr.number
            );
            ctx.event(obj, EventType::Warning, e.reason(), "Delete", note)
                .await;
        }
    }
    Ok(())
}

/// Another `DeployRequest` (not being deleted) that tracks the same deploy request, e.g. the
/// production copy that adopted the request a preview environment opened.
async fn shared_with(
    ctx: &Context,
    obj: &DeployRequestResource,
    at: &Location,
    number: u64,
) -> Result<Option<String>> {
    for api in watched_apis::<DeployRequestResource>(&ctx.client, &ctx.settings.namespaces) {
        let list = api.list(&ListParams::default()).await?;
        if let Some(other) = list.items.iter().find(|d| tracks_same(obj, d, at, number)) {
            return Ok(Some(format!(
                "{}/{}",
                other.namespace().unwrap_or_default(),
                other.name_any()
            )));
        }
    }
    Ok(None)
}

/// Whether `other` (a different, live resource) tracks deploy request `number` of `at` (pure).
fn tracks_same(
    obj: &DeployRequestResource,
    other: &DeployRequestResource,
    at: &Location,
    number: u64,
) -> bool {
    let status = other.status.clone().unwrap_or_default();
    other.uid() != obj.uid()
        && other.metadata.deletion_timestamp.is_none()
        && status.number == i64::try_from(number).ok()
        && status.organization.as_deref() == Some(at.org.as_str())
        && status.database.as_deref() == Some(at.db.as_str())
}

/// The client, location and deploy request of `obj`, if one exists.
async fn find(
    obj: &DeployRequestResource,
    ctx: &Context,
) -> Result<Option<(Client, Location, DeployRequest)>> {
    let status = obj.status.clone().unwrap_or_default();
    let client = super::client(ctx, obj).await?;
    let src = match request::source(&ctx.client, obj).await {
        Ok(src) => src,
        Err(_) if status.number.is_none() => return Ok(None),
        Err(e) => return Err(e),
    };
    let into = match (&status.into_branch, status.number) {
        (Some(into), _) => into.clone(),
        (None, Some(_)) => String::new(),
        (None, None) => {
            let db = request::database(&client, &src.at).await?;
            if request::check_engine(&db, &src).is_err() {
                // A PostgreSQL database has no deploy requests: nothing to close.
                return Ok(None);
            }
            request::into_branch(&db, obj.spec.into_branch.as_deref())
        }
    };
    let into = Some(into.as_str()).filter(|i| !i.is_empty());
    match request::existing(&client, &src, status.number, into).await {
        Ok(dr) => Ok(dr.map(|dr| (client, src.at, dr))),
        Err(Error::Api(planetscale_api::Error::NotFound { .. })) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Does `cleanup` for deploy request `n`; returns what to tell the user.
async fn carry_out(
    client: &impl PlanetScale,
    at: &Location,
    n: u64,
    cleanup: Cleanup,
    open: bool,
) -> Result<Option<String>> {
    let (org, db) = (at.org.as_str(), at.db.as_str());
    let note = match cleanup {
        Cleanup::Nothing => return Ok(None),
        Cleanup::Close => {
            client.close_deploy_request(org, db, n).await?;
            format!("closed deploy request #{n}")
        }
        Cleanup::CancelThenClose => {
            client.cancel_deploy_request(org, db, n).await?;
            close_if_open(client, at, n).await?;
            format!("cancelled the queued deploy of deploy request #{n} and closed it")
        }
        Cleanup::CompleteThenClose => {
            client.complete_deploy_request(org, db, n).await?;
            if open {
                close_if_open(client, at, n).await?;
            }
            format!(
                "completed the errored deploy request #{n}, unblocking the deploy queue, and closed it"
            )
        }
        Cleanup::CancelGated => {
            client.cancel_deploy_request(org, db, n).await?;
            format!(
                "cancelled the gated deploy of deploy request #{n} that waited for cutover (it held the deploy queue)"
            )
        }
        Cleanup::LeaveRunning => {
            format!("deploy request #{n} is deploying; it is left to finish in PlanetScale")
        }
    };
    Ok(Some(note))
}

async fn close_if_open(client: &impl PlanetScale, at: &Location, n: u64) -> Result<()> {
    let dr = client.get_deploy_request(&at.org, &at.db, n).await?;
    if dr.state.as_ref() != Some(&DeployRequestState::Closed) {
        client.close_deploy_request(&at.org, &at.db, n).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_a_cleanup_that_never_waits() {
        use Cleanup::*;
        let table = [
            ("pending", Close),
            ("ready", Close),
            ("no_changes", Close),
            ("queued", CancelThenClose),
            ("submitting", LeaveRunning),
            ("in_progress", LeaveRunning),
            ("pending_cutover", CancelGated),
            ("in_progress_vschema", LeaveRunning),
            ("in_progress_cancel", LeaveRunning),
            ("in_progress_cutover", LeaveRunning),
            ("complete", Nothing),
            ("complete_cancel", Close),
            ("complete_error", CompleteThenClose),
            ("complete_pending_revert", Nothing),
            ("in_progress_revert", LeaveRunning),
            ("in_progress_revert_vschema", LeaveRunning),
            ("complete_revert", Nothing),
            ("complete_revert_error", CompleteThenClose),
            ("cancelled", Close),
            ("error", Close),
        ];
        assert_eq!(table.len(), DeploymentState::KNOWN.len());
        let deployed_closed = ["complete", "complete_pending_revert", "complete_revert"];
        for (state, expected) in table {
            let open = !deployed_closed.contains(&state);
            assert_eq!(
                plan(&DeploymentState::from(state), open),
                expected,
                "{state}"
            );
        }
    }

    #[test]
    fn another_live_resource_with_the_same_number_shares_the_request() {
        let spec = crate::controller::deploy_request::test_support::spec("");
        let make = |uid: &str, number: i64| {
            let mut d = DeployRequestResource::new("x", spec.clone());
            d.metadata.uid = Some(uid.into());
            d.status = Some(crate::crd::DeployRequestStatus {
                number: Some(number),
                organization: Some("acme".into()),
                database: Some("shop".into()),
                ..Default::default()
            });
            d
        };
        let at = Location {
            org: "acme".into(),
            db: "shop".into(),
        };
        let (me, other) = (make("a", 7), make("b", 7));
        assert!(tracks_same(&me, &other, &at, 7));
        assert!(!tracks_same(&me, &me, &at, 7), "not itself");
        assert!(!tracks_same(&me, &make("b", 8), &at, 7));
        let mut leaving = other.clone();
        leaving.metadata.deletion_timestamp = Some(crate::time::now());
        assert!(
            !tracks_same(&me, &leaving, &at, 7),
            "not one being deleted too"
        );
    }

    #[test]
    fn closed_requests_need_nothing_unless_they_block_the_queue() {
        assert_eq!(plan(&DeploymentState::Ready, false), Cleanup::Nothing);
        assert_eq!(plan(&DeploymentState::Complete, true), Cleanup::Close);
        assert_eq!(
            plan(&DeploymentState::CompleteError, false),
            Cleanup::CompleteThenClose
        );
    }
}
