//! Reporting: the status copied from PlanetScale, the conditions, and the events that go with
//! a change of the `Ready` condition.
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use planetscale_api::models::Branch;

use crate::controller::{Context, apply_status};
use crate::crd::branch::{PlanetScaleBranch, PlanetScaleBranchStatus};
use crate::crd::conditions::{self, find_condition, new_condition, reason, set_condition};
use crate::error::Error;
use crate::metrics::ReadyCounts;
use crate::time::{now, to_time};

/// Condition that is `True` while deletion cannot complete.
pub const DELETION_BLOCKED: &str = "DeletionBlocked";
/// Condition that is `True` while the paused annotation is set.
pub const PAUSED: &str = "Paused";

/// Where a reconcile got to when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The branch is ready and as the spec says.
    Ready,
    /// Waiting on PlanetScale (database or branch not ready yet).
    Waiting {
        reason: &'static str,
        message: String,
    },
}

/// Copies what PlanetScale says about `b` into `status`.
pub fn copy_branch(status: &mut PlanetScaleBranchStatus, b: &Branch) {
    status.id = Some(b.id.clone());
    status.branch_name = Some(b.name.clone());
    status.state = b.state.as_ref().map(|s| s.as_str().to_string());
    status.ready = Some(b.ready);
    status.production = Some(b.production);
    status.safe_migrations = Some(b.safe_migrations);
    status.deletion_protected = Some(b.deletion_protected);
    status.region = b.region.as_ref().map(|r| r.slug.clone());
    status.parent = b.parent_branch.clone();
    status.mysql_address = b.mysql_address.clone();
    status.mysql_edge_address = b.mysql_edge_address.clone();
    status.html_url = b.html_url.clone();
    status.created_at = b.created_at.map(to_time);
    status.create_requested_at = None;
}

/// Sets the summary `Ready` condition for the outcome of a reconcile. Pure.
pub fn set_ready(
    status: &mut PlanetScaleBranchStatus,
    outcome: &Result<Progress, Error>,
    branch_name: &str,
    generation: Option<i64>,
) {
    let cond = match outcome {
        Ok(Progress::Ready) => new_condition(
            conditions::READY,
            true,
            reason::READY,
            format!("branch {branch_name} is ready"),
            now(),
        ),
        Ok(Progress::Waiting { reason, message }) => {
            new_condition(conditions::READY, false, reason, message.clone(), now())
        }
        Err(e) => new_condition(conditions::READY, false, e.reason(), e.to_string(), now()),
    };
    set_condition(&mut status.conditions, cond, generation);
    status.conditions.retain(|c| c.type_ != PAUSED);
    status.observed_generation = generation;
}

/// Writes `status` when it differs from the object's, and publishes the events a change of
/// the `Ready` condition deserves: `Ready` when it turns true, the reason of a new failure.
pub async fn report(
    ctx: &Context,
    obj: &PlanetScaleBranch,
    status: PlanetScaleBranchStatus,
) -> Result<(), Error> {
    let old = obj.status.clone().unwrap_or_default();
    if old == status {
        return Ok(());
    }
    let api: Api<PlanetScaleBranch> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    apply_status(&api, &obj.name_any(), &status).await?;
    let (before, after) = (
        find_condition(&old.conditions, conditions::READY),
        find_condition(&status.conditions, conditions::READY),
    );
    let Some(after) = after else { return Ok(()) };
    let same = before.is_some_and(|b| b.status == after.status && b.reason == after.reason);
    if same {
        return Ok(());
    }
    if after.status == "True" {
        let note = after.message.clone();
        ctx.event(obj, EventType::Normal, reason::READY, "Reconcile", note)
            .await;
    } else if after.reason != reason::PROGRESSING && !is_waiting(&after.reason) {
        let note = after.message.clone();
        ctx.event(obj, EventType::Warning, &after.reason, "Reconcile", note)
            .await;
    }
    Ok(())
}

fn is_waiting(r: &str) -> bool {
    r == reason::BRANCH_NOT_READY || r == crate::crd::branch::reason::DATABASE_NOT_READY
}

/// How many of `objs` are Ready (for the current generation), not Ready, or not reported yet.
pub fn ready_counts<'a>(objs: impl Iterator<Item = &'a PlanetScaleBranch>) -> ReadyCounts {
    let mut c = ReadyCounts::default();
    for o in objs {
        let conds = o
            .status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default();
        match find_condition(conds, conditions::READY).map(|r| r.status.as_str()) {
            Some("True") => c.ready += 1,
            Some("False") => c.not_ready += 1,
            _ => c.unknown += 1,
        }
    }
    c
}

/// Marks the object paused (no change is made while the annotation is set). Leaves `Ready`
/// and `observedGeneration` as they were, so a spec change shows as not yet observed.
pub fn set_paused(status: &mut PlanetScaleBranchStatus, generation: Option<i64>) {
    let cond = new_condition(
        PAUSED,
        true,
        reason::PAUSED,
        format!(
            "the annotation {}: \"true\" is set: the operator makes no change to this branch \
             until it is removed",
            crate::crd::common::PAUSED_ANNOTATION
        ),
        now(),
    );
    set_condition(&mut status.conditions, cond, generation);
}

/// Marks deletion as blocked: the `DeletionBlocked` condition carries the cause (e.g.
/// `Rejected`, `CredentialsNotFound`), `Ready` the reason `DeletionBlocked`; both carry the
/// message that says how to release the resource.
pub fn set_deletion_blocked(
    status: &mut PlanetScaleBranchStatus,
    cause: &str,
    message: &str,
    generation: Option<i64>,
) {
    let blocked = new_condition(DELETION_BLOCKED, true, cause, message, now());
    set_condition(&mut status.conditions, blocked, generation);
    let ready = new_condition(
        conditions::READY,
        false,
        reason::DELETION_BLOCKED,
        message,
        now(),
    );
    set_condition(&mut status.conditions, ready, generation);
}

#[cfg(test)]
mod tests {
    use super::*;
    use planetscale_api::models::{BranchState, Region};

    #[test]
    fn every_branch_field_is_copied() {
        let b = Branch {
            id: "b1".into(),
            name: "pr-1".into(),
            state: Some(BranchState::Ready),
            ready: true,
            production: true,
            safe_migrations: true,
            deletion_protected: true,
            region: Some(Region {
                slug: "us-east".into(),
                ..Default::default()
            }),
            parent_branch: Some("main".into()),
            mysql_address: Some("us-east.connect.psdb.cloud".into()),
            mysql_edge_address: Some("aws.connect.psdb.cloud".into()),
            html_url: Some("https://app.planetscale.com/acme/shop/pr-1".into()),
            created_at: Some(chrono::DateTime::from_timestamp(1_700_000_000, 5).unwrap()),
            ..Default::default()
        };
        let mut s = PlanetScaleBranchStatus {
            create_requested_at: Some(now()),
            ..Default::default()
        };
        copy_branch(&mut s, &b);
        assert_eq!(s.id.as_deref(), Some("b1"));
        assert_eq!(s.state.as_deref(), Some("ready"));
        assert_eq!(s.region.as_deref(), Some("us-east"));
        assert_eq!(s.parent.as_deref(), Some("main"));
        assert_eq!(
            (
                s.ready,
                s.production,
                s.safe_migrations,
                s.deletion_protected
            ),
            (Some(true), Some(true), Some(true), Some(true))
        );
        assert_eq!(
            s.created_at.unwrap().0,
            k8s_openapi::jiff::Timestamp::new(1_700_000_000, 0).unwrap(),
            "whole seconds, as Kubernetes stores them"
        );
        assert!(s.create_requested_at.is_none(), "the id is recorded now");
    }

    #[test]
    fn ready_condition_follows_the_outcome_and_unpauses() {
        let mut s = PlanetScaleBranchStatus::default();
        set_paused(&mut s, Some(1));
        set_ready(&mut s, &Ok(Progress::Ready), "pr-1", Some(2));
        assert!(conditions::is_ready_for(&s.conditions, Some(2)));
        assert!(find_condition(&s.conditions, PAUSED).is_none());
        assert_eq!(s.observed_generation, Some(2));
        let err = Error::CredentialsNotFound("credentials Secret ns/x does not exist".into());
        set_ready(&mut s, &Err(err), "pr-1", Some(2));
        let c = find_condition(&s.conditions, conditions::READY).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "CredentialsNotFound")
        );
    }
}
