//! The branch reconciler, pass by pass: create, ready, each mutable setting, drift, adopt,
//! refuse, recreate, pause, delete (Delete, Retain, blocked).
use kube::ResourceExt;
use kube::runtime::controller::Action;
use planetscale_api::models::{Branch, UpdateBranch};
use planetscale_operator::controller::branch::BranchReconciler;
use planetscale_operator::controller::reconciler;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::{Value, json};

use crate::harness::{Harness, with_harness};

/// A `PlanetScaleBranch` in organization `acme`, database `shop`, with `spec` merged in.
pub fn branch(name: &str, spec: Value) -> PlanetScaleBranch {
    crate::harness::object(name, spec)
}

/// The `type` condition's (status, reason, message).
pub fn condition(obj: &PlanetScaleBranch, type_: &str) -> Option<(String, String, String)> {
    let c = obj
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// `Ready`'s (status, reason).
pub fn ready(obj: &PlanetScaleBranch) -> (String, String) {
    let (s, r, _) = condition(obj, "Ready").unwrap_or_default();
    (s, r)
}

/// The object now (it must exist).
pub async fn get(h: &Harness, name: &str) -> PlanetScaleBranch {
    h.get(name)
        .await
        .unwrap_or_else(|| panic!("{name} is gone"))
}

/// The branch in PlanetScale, if it exists.
pub async fn ps_branch(h: &Harness, name: &str) -> Option<Branch> {
    match h.planetscale().get_branch("acme", "shop", name).await {
        Ok(b) => Some(b),
        Err(planetscale_api::Error::NotFound { .. }) => None,
        Err(e) => panic!("get_branch {name}: {e}"),
    }
}

/// A pass that must not fail.
pub async fn pass(h: &Harness, r: &BranchReconciler, name: &str) -> Action {
    h.pass(r, name)
        .await
        .unwrap_or_else(|e| panic!("pass over {name} failed: {e}"))
}

/// Applies `obj` and runs the first two passes: the finalizer, then the create.
pub async fn created(
    h: &Harness,
    r: &BranchReconciler,
    obj: &PlanetScaleBranch,
) -> PlanetScaleBranch {
    let name = obj.name_any();
    h.apply(obj).await;
    pass(h, r, &name).await;
    let o = get(h, &name).await;
    assert_eq!(
        o.finalizers(),
        ["planetscale.operator.dev/branch"],
        "first pass: finalizer"
    );
    pass(h, r, &name).await;
    get(h, &name).await
}

/// [`created`], then the branch becomes ready in PlanetScale and one more pass sees it.
pub async fn ready_branch(
    h: &Harness,
    r: &BranchReconciler,
    obj: &PlanetScaleBranch,
) -> PlanetScaleBranch {
    let name = obj.name_any();
    created(h, r, obj).await;
    h.advance("61s").await;
    pass(h, r, &name).await;
    let o = get(h, &name).await;
    assert_eq!(ready(&o), ("True".into(), "Ready".into()), "{:?}", o.status);
    o
}

/// Deletes `name` (the API server sets the deletion timestamp; the finalizer holds it).
pub async fn delete(h: &Harness, name: &str) {
    h.api::<PlanetScaleBranch>()
        .delete(name, &Default::default())
        .await
        .expect("delete");
}

pub fn reconciler(h: &Harness) -> BranchReconciler {
    BranchReconciler::new(h.ctx.clone())
}

#[tokio::test]
async fn create_records_the_intent_creates_and_waits_for_the_branch() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let o = created(&h, &r, &branch("pr-1", json!({}))).await;
        let ps = ps_branch(&h, "pr-1").await.expect("created in PlanetScale");
        let s = o.status.clone().expect("status");
        assert_eq!(s.id.as_deref(), Some(ps.id.as_str()));
        assert!(
            s.create_requested_at.is_none(),
            "the id replaces the intent"
        );
        assert_eq!(s.adopted, Some(false));
        assert_eq!(ready(&o), ("False".into(), "BranchNotReady".into()));
        assert_eq!(h.event_reasons("pr-1").await, ["Created"]);
        assert_eq!(h.calls(Some("create_branch")).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_ready_branch_shows_every_field_and_later_passes_change_nothing() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let o = ready_branch(&h, &r, &branch("pr-1", json!({}))).await;
        let ps = ps_branch(&h, "pr-1").await.expect("exists");
        let s = o.status.clone().expect("status");
        assert_eq!(s.state.as_deref(), Some("ready"));
        assert_eq!(s.ready, Some(true));
        assert_eq!(s.parent.as_deref(), Some("main"));
        assert_eq!(s.production, Some(ps.production));
        assert!(s.mysql_address.is_some() && s.html_url.is_some() && s.created_at.is_some());
        assert_eq!(s.observed_generation, o.metadata.generation);
        assert_eq!(h.event_reasons("pr-1").await, ["Created", "Ready"]);

        // A second pass finds nothing to change: the status is not written again.
        let rv = o.resource_version();
        pass(&h, &r, "pr-1").await;
        assert_eq!(
            get(&h, "pr-1").await.resource_version(),
            rv,
            "status rewritten"
        );

        // The schedule answers the reconcile our own write triggers without an API call.
        let before = h.calls(None).await;
        let action = reconciler::reconcile(std::sync::Arc::new(o), std::sync::Arc::new(r)).await;
        assert!(action.is_ok());
        assert_eq!(
            h.calls(None).await,
            before,
            "a Ready branch made an API call"
        );
    })
    .await;
}

#[tokio::test]
async fn production_true_promotes_and_false_demotes() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_branch(&h, &r, &branch("pr-1", json!({"production": true}))).await;
        assert!(ps_branch(&h, "pr-1").await.unwrap().production);
        assert!(
            h.event_reasons("pr-1")
                .await
                .contains(&"Promoted".to_string())
        );

        h.apply(&branch("pr-1", json!({"production": false}))).await;
        pass(&h, &r, "pr-1").await;
        assert!(!ps_branch(&h, "pr-1").await.unwrap().production);
        let o = get(&h, "pr-1").await;
        assert_eq!(o.status.as_ref().unwrap().production, Some(false));
        assert_eq!(ready(&o).0, "True");
        assert!(
            h.event_reasons("pr-1")
                .await
                .contains(&"Demoted".to_string())
        );
    })
    .await;
}

#[tokio::test]
async fn safe_migrations_follow_the_spec() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"production": true, "safeMigrations": true});
        let o = ready_branch(&h, &r, &branch("pr-1", spec)).await;
        assert!(ps_branch(&h, "pr-1").await.unwrap().safe_migrations);
        assert_eq!(o.status.as_ref().unwrap().safe_migrations, Some(true));

        let spec = json!({"production": true, "safeMigrations": false});
        h.apply(&branch("pr-1", spec)).await;
        pass(&h, &r, "pr-1").await;
        assert!(!ps_branch(&h, "pr-1").await.unwrap().safe_migrations);
        let o = get(&h, "pr-1").await;
        assert_eq!(o.status.as_ref().unwrap().safe_migrations, Some(false));
        assert!(
            h.event_reasons("pr-1")
                .await
                .contains(&"Updated".to_string())
        );
    })
    .await;
}

#[tokio::test]
async fn deletion_protection_follows_the_spec() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_branch(&h, &r, &branch("pr-1", json!({}))).await;
        assert!(!ps_branch(&h, "pr-1").await.unwrap().deletion_protected);
        h.apply(&branch("pr-1", json!({"deletionProtected": true})))
            .await;
        pass(&h, &r, "pr-1").await;
        assert!(ps_branch(&h, "pr-1").await.unwrap().deletion_protected);
        let o = get(&h, "pr-1").await;
        assert_eq!(o.status.as_ref().unwrap().deletion_protected, Some(true));
        assert_eq!(ready(&o).0, "True");
    })
    .await;
}

#[tokio::test]
async fn a_change_made_outside_kubernetes_is_corrected() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_branch(&h, &r, &branch("pr-1", json!({"deletionProtected": true}))).await;
        let body = UpdateBranch {
            deletion_protected: Some(false),
            ..Default::default()
        };
        h.planetscale()
            .update_branch("acme", "shop", "pr-1", &body)
            .await
            .expect("a user turns protection off");
        pass(&h, &r, "pr-1").await;
        assert!(ps_branch(&h, "pr-1").await.unwrap().deletion_protected);
        let events = h.events("pr-1").await;
        let drift = events.iter().find(|(r, _)| r == "DriftCorrected");
        assert!(
            drift.is_some_and(|(_, m)| m.contains("deletion protection")),
            "{events:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn adopt_takes_over_an_existing_branch() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let existing = h
            .planetscale()
            .create_branch("acme", "shop", &create("legacy"))
            .await
            .expect("created outside");
        h.advance("61s").await;
        let obj = branch("legacy", json!({"adopt": true}));
        h.apply(&obj).await;
        pass(&h, &r, "legacy").await;
        pass(&h, &r, "legacy").await;
        let o = get(&h, "legacy").await;
        let s = o.status.as_ref().unwrap();
        assert_eq!(s.id.as_deref(), Some(existing.id.as_str()));
        assert_eq!(s.adopted, Some(true));
        assert_eq!(ready(&o).0, "True");
        assert_eq!(h.event_reasons("legacy").await, ["Adopted", "Ready"]);
        assert_eq!(
            h.calls(Some("create_branch")).await,
            1,
            "only the user's create"
        );
    })
    .await;
}

#[tokio::test]
async fn an_existing_branch_is_refused_without_adopt() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let existing = h
            .planetscale()
            .create_branch("acme", "shop", &create("taken"))
            .await
            .expect("created outside");
        h.apply(&branch("taken", json!({}))).await;
        pass(&h, &r, "taken").await;
        let err = h.pass(&r, "taken").await.expect_err("refused");
        assert_eq!(err.reason(), "AlreadyExists");
        let o = get(&h, "taken").await;
        let (status, reason, message) = condition(&o, "Ready").unwrap();
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "AlreadyExists")
        );
        assert!(
            message.contains(&existing.id) && message.contains("spec.adopt"),
            "{message}"
        );
        let s = o.status.as_ref().unwrap();
        assert!(s.id.is_none() && s.create_requested_at.is_none(), "{s:?}");

        // Deleting it leaves the foreign branch alone.
        delete(&h, "taken").await;
        pass(&h, &r, "taken").await;
        assert!(h.get::<PlanetScaleBranch>("taken").await.is_none());
        assert!(
            ps_branch(&h, "taken").await.is_some(),
            "someone else's branch was deleted"
        );
    })
    .await;
}

#[tokio::test]
async fn a_branch_deleted_outside_kubernetes_is_created_again() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let first = ready_branch(&h, &r, &branch("pr-1", json!({}))).await;
        h.planetscale()
            .delete_branch("acme", "shop", "pr-1")
            .await
            .expect("deleted outside");
        pass(&h, &r, "pr-1").await;
        let again = ps_branch(&h, "pr-1").await.expect("created again");
        let o = get(&h, "pr-1").await;
        assert_ne!(
            Some(again.id.as_str()),
            first.status.as_ref().unwrap().id.as_deref()
        );
        assert_eq!(
            o.status.as_ref().unwrap().id.as_deref(),
            Some(again.id.as_str())
        );
        assert!(
            h.event_reasons("pr-1")
                .await
                .contains(&"Recreated".to_string())
        );
    })
    .await;
}

#[tokio::test]
async fn a_paused_branch_is_left_alone() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let mut obj = branch("pr-1", json!({}));
        obj.metadata.annotations = Some(
            [(
                "planetscale.operator.dev/paused".to_string(),
                "true".to_string(),
            )]
            .into(),
        );
        h.apply(&obj).await;
        pass(&h, &r, "pr-1").await;
        pass(&h, &r, "pr-1").await;
        let o = get(&h, "pr-1").await;
        assert_eq!(condition(&o, "Paused").map(|c| c.0), Some("True".into()));
        assert!(o.finalizers().is_empty(), "paused: no finalizer either");
        assert_eq!(h.calls(None).await, 0, "paused: no API call");

        h.merge::<PlanetScaleBranch>(
            "pr-1",
            json!({"metadata": {"annotations": {"planetscale.operator.dev/paused": null}}}),
        )
        .await;
        pass(&h, &r, "pr-1").await;
        pass(&h, &r, "pr-1").await;
        let o = get(&h, "pr-1").await;
        assert!(condition(&o, "Paused").is_none(), "unpaused");
        assert!(ps_branch(&h, "pr-1").await.is_some());
    })
    .await;
}

#[tokio::test]
async fn delete_policy_delete_deletes_the_branch() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_branch(&h, &r, &branch("pr-1", json!({}))).await;
        delete(&h, "pr-1").await;
        pass(&h, &r, "pr-1").await;
        assert!(
            h.get::<PlanetScaleBranch>("pr-1").await.is_none(),
            "finalizer removed"
        );
        assert!(
            ps_branch(&h, "pr-1").await.is_none(),
            "deleted in PlanetScale"
        );
        assert!(
            h.event_reasons("pr-1")
                .await
                .contains(&"Deleted".to_string())
        );
    })
    .await;
}

#[tokio::test]
async fn delete_policy_retain_keeps_the_branch() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_branch(&h, &r, &branch("pr-1", json!({"deletionPolicy": "Retain"}))).await;
        delete(&h, "pr-1").await;
        pass(&h, &r, "pr-1").await;
        assert!(
            h.get::<PlanetScaleBranch>("pr-1").await.is_none(),
            "finalizer removed"
        );
        assert!(
            ps_branch(&h, "pr-1").await.is_some(),
            "retained in PlanetScale"
        );
        assert!(
            h.event_reasons("pr-1")
                .await
                .contains(&"Retained".to_string())
        );
    })
    .await;
}

#[tokio::test]
async fn deletion_protection_blocks_deletion_until_the_spec_allows_it() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_branch(&h, &r, &branch("pr-1", json!({"deletionProtected": true}))).await;
        delete(&h, "pr-1").await;
        let err = h.pass(&r, "pr-1").await.expect_err("blocked");
        assert!(!err.is_transient(), "retried slowly, not in a loop");
        let o = get(&h, "pr-1").await;
        let (status, cause, message) = condition(&o, "DeletionBlocked").expect("blocked");
        assert_eq!(
            (status.as_str(), cause.as_str()),
            ("True", "DeletionProtected")
        );
        assert!(
            message.contains("deletionPolicy: Retain")
                && message.contains("deletionProtected: false")
        );
        assert!(
            h.event_reasons("pr-1")
                .await
                .contains(&"DeletionBlocked".to_string())
        );

        h.merge::<PlanetScaleBranch>("pr-1", json!({"spec": {"deletionProtected": false}}))
            .await;
        pass(&h, &r, "pr-1").await;
        assert!(h.get::<PlanetScaleBranch>("pr-1").await.is_none());
        assert!(ps_branch(&h, "pr-1").await.is_none());
    })
    .await;
}

#[tokio::test]
async fn a_missing_database_or_parent_says_what_to_fix() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        h.apply(&branch("pr-1", json!({"database": "nope"}))).await;
        pass(&h, &r, "pr-1").await;
        let err = h.pass(&r, "pr-1").await.expect_err("no database");
        assert_eq!(err.reason(), "DatabaseNotFound");
        let o = get(&h, "pr-1").await;
        assert_eq!(ready(&o), ("False".into(), "DatabaseNotFound".into()));
        assert!(
            o.status.as_ref().unwrap().create_requested_at.is_none(),
            "nothing created"
        );

        h.apply(&branch("pr-2", json!({"parentBranch": "nope"})))
            .await;
        pass(&h, &r, "pr-2").await;
        let err = h.pass(&r, "pr-2").await.expect_err("no parent");
        assert_eq!(err.reason(), "ParentNotFound");
        let (_, _, message) = condition(&get(&h, "pr-2").await, "Ready").unwrap();
        assert!(message.contains("spec.parentBranch"), "{message}");
    })
    .await;
}

/// A create request for `name` from `main`.
pub fn create(name: &str) -> planetscale_api::models::CreateBranch {
    planetscale_api::models::CreateBranch {
        name: name.into(),
        parent_branch: Some("main".into()),
        ..Default::default()
    }
}
