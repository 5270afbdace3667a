//! The backup reconciler, pass by pass: take a backup with its retention, wait for it,
//! protect it, adopt and observe one by id (no write reaches PlanetScale), a crash between
//! the create and the status, an expired backup, failures of each call, and deletion with
//! each policy.
use kube::ResourceExt;
use planetscale_api::models::{Backup, CreateBackup, UpdateBackup};
use planetscale_operator::controller::backup::BackupReconciler;
use planetscale_operator::crd::backup::PlanetScaleBackup;
use serde_json::{Value, json};

use crate::harness::{Harness, with_harness};

/// The PlanetScale operations that write a backup.
const BACKUP_WRITES: [&str; 3] = ["create_backup", "update_backup", "delete_backup"];

/// A `PlanetScaleBackup` of acme/shop/main, with `spec` merged in.
pub fn backup(name: &str, spec: Value) -> PlanetScaleBackup {
    crate::harness::object_on(
        name,
        json!({"organization": "acme", "database": "shop", "branch": "main"}),
        spec,
    )
}

/// `Ready`'s (status, reason, message).
pub fn ready(obj: &PlanetScaleBackup) -> (String, String, String) {
    let c = obj
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
    c.map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
        .unwrap_or_default()
}

pub async fn get(h: &Harness, name: &str) -> PlanetScaleBackup {
    h.get(name)
        .await
        .unwrap_or_else(|| panic!("{name} is gone"))
}

pub async fn pass(h: &Harness, r: &BackupReconciler, name: &str) {
    h.pass(r, name)
        .await
        .unwrap_or_else(|e| panic!("pass over {name} failed: {e}"));
}

pub fn reconciler(h: &Harness) -> BackupReconciler {
    BackupReconciler::new(h.ctx.clone())
}

/// The backups of acme/shop/main in PlanetScale.
pub async fn ps_backups(h: &Harness) -> Vec<Backup> {
    h.planetscale()
        .list_backups_all("acme", "shop", "main")
        .await
        .expect("list backups")
}

async fn writes(h: &Harness) -> u64 {
    let mut n = 0;
    for op in BACKUP_WRITES {
        n += h.calls(Some(op)).await;
    }
    n
}

/// Applies `obj`, runs the finalizer pass and the create pass.
pub async fn taken(
    h: &Harness,
    r: &BackupReconciler,
    obj: &PlanetScaleBackup,
) -> PlanetScaleBackup {
    let name = obj.name_any();
    h.apply(obj).await;
    pass(h, r, &name).await;
    assert_eq!(
        get(h, &name).await.finalizers(),
        ["planetscale.operator.dev/backup"]
    );
    pass(h, r, &name).await;
    get(h, &name).await
}

/// [`taken`], then the backup completes and a pass sees it.
pub async fn succeeded(
    h: &Harness,
    r: &BackupReconciler,
    obj: &PlanetScaleBackup,
) -> PlanetScaleBackup {
    let name = obj.name_any();
    taken(h, r, obj).await;
    h.advance("11s").await;
    pass(h, r, &name).await;
    let o = get(h, &name).await;
    assert_eq!(ready(&o).0, "True", "{:?}", o.status);
    o
}

async fn delete(h: &Harness, name: &str) {
    h.api::<PlanetScaleBackup>()
        .delete(name, &Default::default())
        .await
        .expect("delete");
}

/// A backup taken outside Kubernetes; its id.
async fn outside(h: &Harness) -> String {
    let body = CreateBackup {
        name: Some("manual".into()),
        ..CreateBackup::default()
    };
    let b = h
        .planetscale()
        .create_backup("acme", "shop", "main", &body)
        .await
        .unwrap();
    h.advance("11s").await;
    b.id
}

#[tokio::test]
async fn a_backup_is_taken_with_its_retention_and_becomes_ready() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"retention": {"value": 7, "unit": "day"}});
        let o = taken(&h, &r, &backup("nightly", spec)).await;
        let s = o.status.clone().unwrap();
        let ps = ps_backups(&h).await;
        assert_eq!(ps.len(), 1);
        assert_eq!(s.id.as_deref(), Some(ps[0].id.as_str()));
        assert_eq!(s.backup_name.as_deref(), Some("nightly"));
        assert_eq!(s.branch.as_deref(), Some("main"));
        assert!(s.create_requested_at.is_none());
        let (status, reason, _) = ready(&o);
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "BackupNotReady")
        );
        let created = s.created_at.clone().unwrap();
        let expires = s.expires_at.clone().unwrap();
        let days = (planetscale_operator::time::from_time(&expires)
            - planetscale_operator::time::from_time(&created))
        .num_days();
        assert_eq!(days, 7, "retention");

        h.advance("11s").await;
        pass(&h, &r, "nightly").await;
        let o = get(&h, "nightly").await;
        let s = o.status.clone().unwrap();
        assert_eq!(ready(&o).0, "True");
        assert_eq!(s.state.as_deref(), Some("success"));
        assert!(s.completed_at.is_some() && s.size.is_some());
        assert_eq!(h.event_reasons("nightly").await, ["Created", "Ready"]);
        pass(&h, &r, "nightly").await;
        assert_eq!(h.calls(Some("create_backup")).await, 1, "taken once");
    })
    .await;
}

#[tokio::test]
async fn protected_follows_the_spec() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        succeeded(&h, &r, &backup("nightly", json!({"protected": true}))).await;
        assert_eq!(ps_backups(&h).await[0].protected, Some(true));
        h.apply(&backup("nightly", json!({"protected": false})))
            .await;
        pass(&h, &r, "nightly").await;
        assert_eq!(ps_backups(&h).await[0].protected, Some(false));
        assert_eq!(
            get(&h, "nightly").await.status.unwrap().protected,
            Some(false)
        );
    })
    .await;
}

#[tokio::test]
async fn an_existing_backup_is_adopted_by_id() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let id = outside(&h).await;
        h.apply(&backup(
            "manual",
            json!({"backupId": id, "protected": true}),
        ))
        .await;
        pass(&h, &r, "manual").await;
        pass(&h, &r, "manual").await;
        let o = get(&h, "manual").await;
        assert_eq!(ready(&o).0, "True");
        let s = o.status.unwrap();
        assert_eq!(s.id.as_deref(), Some(id.as_str()));
        assert_eq!(s.adopted, Some(true));
        assert_eq!(
            h.calls(Some("create_backup")).await,
            1,
            "only the test's own"
        );
        assert_eq!(ps_backups(&h).await[0].protected, Some(true));
        assert!(h.event_reasons("manual").await.contains(&"Adopted".into()));
    })
    .await;
}

#[tokio::test]
async fn observe_only_reports_and_never_writes() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let id = outside(&h).await;
        let before = writes(&h).await;
        let spec = json!({"backupId": id, "managementPolicy": "Observe"});
        h.apply(&backup("manual", spec)).await;
        pass(&h, &r, "manual").await;
        pass(&h, &r, "manual").await;
        let o = get(&h, "manual").await;
        let (status, _, message) = ready(&o);
        assert_eq!(status, "True");
        assert!(message.contains("observed only"), "{message}");
        assert_eq!(o.status.unwrap().adopted, Some(true));
        // Protected outside Kubernetes: reported, not changed.
        let body = UpdateBackup { protected: true };
        h.planetscale()
            .update_backup("acme", "shop", "main", &id, &body)
            .await
            .unwrap();
        pass(&h, &r, "manual").await;
        assert_eq!(
            get(&h, "manual").await.status.unwrap().protected,
            Some(true)
        );
        delete(&h, "manual").await;
        pass(&h, &r, "manual").await;
        assert!(h.get::<PlanetScaleBackup>("manual").await.is_none());
        assert_eq!(ps_backups(&h).await.len(), 1, "left in PlanetScale");
        assert_eq!(writes(&h).await, before + 1, "only the test's own update");
    })
    .await;
}

#[tokio::test]
async fn an_unknown_backup_id_says_so() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        h.apply(&backup("manual", json!({"backupId": "nope"})))
            .await;
        pass(&h, &r, "manual").await;
        let err = h.pass(&r, "manual").await.expect_err("not found");
        assert_eq!(err.reason(), "BackupNotFound");
        assert!(!err.is_transient());
        assert_eq!(writes(&h).await, 0);
    })
    .await;
}

#[tokio::test]
async fn an_expired_backup_is_reported_not_taken_again() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"retention": {"value": 1, "unit": "hour"}});
        let o = succeeded(&h, &r, &backup("hourly", spec)).await;
        let id = o.status.unwrap().id.unwrap();
        h.planetscale()
            .delete_backup("acme", "shop", "main", &id)
            .await
            .unwrap();
        let err = h.pass(&r, "hourly").await.expect_err("gone");
        assert_eq!(err.reason(), "BackupNotFound");
        assert!(err.to_string().contains("not taken again"), "{err}");
        assert_eq!(h.calls(Some("create_backup")).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_crash_after_the_create_records_the_backup_instead_of_taking_another() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        h.apply(&backup("nightly", json!({}))).await;
        pass(&h, &r, "nightly").await;
        h.fault(json!({"operation": "create_backup", "drop_connection": true, "count": 1}))
            .await;
        let err = h.pass(&r, "nightly").await.expect_err("no answer");
        assert!(err.is_transient());
        let s = get(&h, "nightly").await.status.unwrap();
        assert!(s.create_requested_at.is_some() && s.id.is_none());
        let r = reconciler(&h);
        pass(&h, &r, "nightly").await;
        let s = get(&h, "nightly").await.status.unwrap();
        assert_eq!(s.id, Some(ps_backups(&h).await[0].id.clone()));
        assert_eq!(s.adopted, Some(false));
        assert_eq!(ps_backups(&h).await.len(), 1, "taken once");
    })
    .await;
}

#[tokio::test]
async fn faults_on_each_call() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        h.apply(&backup("nightly", json!({}))).await;
        pass(&h, &r, "nightly").await;
        // create: 401 voids the intent, 503 keeps it.
        h.fault(json!({"operation": "create_backup", "status": 401, "count": 1}))
            .await;
        let err = h.pass(&r, "nightly").await.expect_err("401");
        assert_eq!(err.reason(), "Unauthorized");
        assert!(
            get(&h, "nightly")
                .await
                .status
                .unwrap()
                .create_requested_at
                .is_none()
        );
        h.fault(json!({"operation": "create_backup", "status": 503, "count": 1}))
            .await;
        assert!(h.pass(&r, "nightly").await.expect_err("503").is_transient());
        assert!(
            get(&h, "nightly")
                .await
                .status
                .unwrap()
                .create_requested_at
                .is_some()
        );
        pass(&h, &r, "nightly").await;
        // get: 429 is transient and shown.
        h.fault(json!({"operation": "get_backup", "status": 429}))
            .await;
        let err = h.pass(&r, "nightly").await.expect_err("429");
        assert_eq!(err.reason(), "RateLimited");
        assert_eq!(ready(&get(&h, "nightly").await).1, "RateLimited");
        h.clear_faults().await;
        // update: 500 is transient; the next pass protects it.
        h.apply(&backup("nightly", json!({"protected": true})))
            .await;
        h.fault(json!({"operation": "update_backup", "status": 500}))
            .await;
        assert!(h.pass(&r, "nightly").await.expect_err("500").is_transient());
        h.clear_faults().await;
        pass(&h, &r, "nightly").await;
        assert_eq!(ps_backups(&h).await[0].protected, Some(true));
    })
    .await;
}

#[tokio::test]
async fn a_missing_branch_is_named() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        h.apply(&backup("nightly", json!({"branch": "nope"}))).await;
        pass(&h, &r, "nightly").await;
        let err = h.pass(&r, "nightly").await.expect_err("404");
        assert_eq!(err.reason(), "BranchNotFound");
        assert!(
            get(&h, "nightly")
                .await
                .status
                .unwrap()
                .create_requested_at
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn deletion_retains_by_default_and_deletes_with_delete() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        succeeded(&h, &r, &backup("kept", json!({}))).await;
        delete(&h, "kept").await;
        pass(&h, &r, "kept").await;
        assert!(h.get::<PlanetScaleBackup>("kept").await.is_none());
        assert_eq!(ps_backups(&h).await.len(), 1);
        assert!(h.event_reasons("kept").await.contains(&"Retained".into()));

        let spec = json!({"deletionPolicy": "Delete", "protected": true});
        succeeded(&h, &r, &backup("gone", spec)).await;
        delete(&h, "gone").await;
        let err = h.pass(&r, "gone").await.expect_err("protected");
        assert_eq!(err.reason(), "BackupProtected");
        assert!(err.to_string().contains("spec.protected: false"), "{err}");
        h.merge::<PlanetScaleBackup>("gone", json!({"spec": {"protected": false}}))
            .await;
        pass(&h, &r, "gone").await;
        assert!(h.get::<PlanetScaleBackup>("gone").await.is_none());
        assert_eq!(
            ps_backups(&h).await.len(),
            1,
            "only the retained one is left"
        );
    })
    .await;
}

#[tokio::test]
async fn a_branch_is_restored_from_a_backup_by_reference() {
    use planetscale_operator::controller::branch::BranchReconciler;
    with_harness(|h| async move {
        let r = reconciler(&h);
        let branches = BranchReconciler::new(h.ctx.clone());
        h.apply(&backup("nightly", json!({}))).await;
        let spec = json!({"backupRef": {"name": "nightly"}, "clusterSize": "PS_10"});
        h.apply(&crate::branch::branch("restored", spec)).await;
        crate::branch::pass(&h, &branches, "restored").await;

        // The backup resource exists but has not succeeded: the branch waits for it.
        let err = h.pass(&branches, "restored").await.expect_err("waits");
        assert_eq!(err.reason(), "BackupNotReady");
        assert!(err.is_transient());
        let b = crate::branch::get(&h, "restored").await;
        assert_eq!(
            crate::branch::ready(&b),
            ("False".into(), "BackupNotReady".into())
        );
        assert!(crate::branch::ps_branch(&h, "restored").await.is_none());

        succeeded(&h, &r, &backup("nightly", json!({}))).await;
        crate::branch::pass(&h, &branches, "restored").await;
        let ps = crate::branch::ps_branch(&h, "restored")
            .await
            .expect("created");
        assert_eq!(
            ps.parent_branch.as_deref(),
            Some("main"),
            "the backed-up branch"
        );
        // PlanetScale names the branch a restore came from only for a restore.
        let from = ps.restored_from_branch.expect("restored from a backup");
        assert_eq!(from.name, "main");
    })
    .await;
}
