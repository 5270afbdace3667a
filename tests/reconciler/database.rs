//! The database reconciler, pass by pass: create (MySQL, PostgreSQL), ready, each mutable
//! setting, drift, refuse, adopt, observe-only (no write reaches PlanetScale), a crash
//! between the create and the status, pause, and deletion with each policy, refused without
//! the confirmation or with deletion protection on.
use kube::ResourceExt;
use kube::runtime::controller::Action;
use planetscale_api::models::{CreateBranch, Database, UpdateDatabase};
use planetscale_operator::controller::database::DatabaseReconciler;
use planetscale_operator::crd::database::PlanetScaleDatabase;
use serde_json::{Value, json};

use crate::harness::{Harness, with_harness};

/// The kind, for `Harness::get`.
pub type Db = PlanetScaleDatabase;

/// The PlanetScale operations that write a database.
pub const DATABASE_WRITES: [&str; 3] = [
    "create_database",
    "update_database_settings",
    "delete_database",
];

/// A `PlanetScaleDatabase` in organization `acme` (size PS_10), with `spec` merged in.
pub fn database(name: &str, spec: Value) -> PlanetScaleDatabase {
    crate::harness::object_on(
        name,
        json!({"organization": "acme", "clusterSize": "PS_10"}),
        spec,
    )
}

/// The `type` condition's (status, reason, message).
pub fn condition(obj: &PlanetScaleDatabase, type_: &str) -> Option<(String, String, String)> {
    let c = obj
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// `Ready`'s (status, reason).
pub fn ready(obj: &PlanetScaleDatabase) -> (String, String) {
    let (s, r, _) = condition(obj, "Ready").unwrap_or_default();
    (s, r)
}

pub async fn get(h: &Harness, name: &str) -> PlanetScaleDatabase {
    h.get(name)
        .await
        .unwrap_or_else(|| panic!("{name} is gone"))
}

/// The database in PlanetScale, if it exists.
pub async fn ps_database(h: &Harness, name: &str) -> Option<Database> {
    match h.planetscale().get_database("acme", name).await {
        Ok(d) => Some(d),
        Err(planetscale_api::Error::NotFound { .. }) => None,
        Err(e) => panic!("get_database {name}: {e}"),
    }
}

pub async fn pass(h: &Harness, r: &DatabaseReconciler, name: &str) -> Action {
    h.pass(r, name)
        .await
        .unwrap_or_else(|e| panic!("pass over {name} failed: {e}"))
}

pub fn reconciler(h: &Harness) -> DatabaseReconciler {
    DatabaseReconciler::new(h.ctx.clone())
}

/// Every write request PlanetScale answered for databases.
pub async fn writes(h: &Harness) -> u64 {
    let mut n = 0;
    for op in DATABASE_WRITES {
        n += h.calls(Some(op)).await;
    }
    n
}

/// Applies `obj` and runs the first two passes: the finalizer, then the create (or look).
pub async fn applied(
    h: &Harness,
    r: &DatabaseReconciler,
    obj: &PlanetScaleDatabase,
) -> PlanetScaleDatabase {
    let name = obj.name_any();
    h.apply(obj).await;
    pass(h, r, &name).await;
    let o = get(h, &name).await;
    assert_eq!(o.finalizers(), ["planetscale.operator.dev/database"]);
    pass(h, r, &name).await;
    get(h, &name).await
}

/// [`applied`], then the database becomes ready and one more pass sees it.
pub async fn ready_database(
    h: &Harness,
    r: &DatabaseReconciler,
    obj: &PlanetScaleDatabase,
) -> PlanetScaleDatabase {
    let name = obj.name_any();
    applied(h, r, obj).await;
    h.advance("11s").await;
    pass(h, r, &name).await;
    let o = get(h, &name).await;
    assert_eq!(ready(&o), ("True".into(), "Ready".into()), "{:?}", o.status);
    o
}

pub async fn delete(h: &Harness, name: &str) {
    h.api::<PlanetScaleDatabase>()
        .delete(name, &Default::default())
        .await
        .expect("delete");
}

#[tokio::test]
async fn create_waits_for_the_database_then_shows_it() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let o = applied(&h, &r, &database("orders", json!({"region": "us-east"}))).await;
        let ps = ps_database(&h, "orders").await.expect("created");
        let s = o.status.clone().expect("status");
        assert_eq!(s.id.as_deref(), Some(ps.id.as_str()));
        assert!(
            s.create_requested_at.is_none(),
            "the id replaces the intent"
        );
        assert_eq!(s.adopted, Some(false));
        assert_eq!(ready(&o), ("False".into(), "DatabaseNotReady".into()));
        assert_eq!(h.event_reasons("orders").await, ["Created"]);

        h.advance("11s").await;
        pass(&h, &r, "orders").await;
        let o = get(&h, "orders").await;
        let s = o.status.clone().expect("status");
        assert_eq!(ready(&o), ("True".into(), "Ready".into()));
        assert_eq!(s.state.as_deref(), Some("ready"));
        assert_eq!(s.engine.as_deref(), Some("mysql"));
        assert_eq!(s.region.as_deref(), Some("us-east"));
        assert_eq!(s.default_branch.as_deref(), Some("main"));
        assert!(s.html_url.is_some() && s.created_at.is_some());
        assert_eq!(s.observed_generation, o.metadata.generation);
        assert_eq!(h.event_reasons("orders").await, ["Created", "Ready"]);
        assert_eq!(h.calls(Some("create_database")).await, 1);

        // Nothing to change: no write, and the status is not rewritten.
        let rv = o.resource_version();
        pass(&h, &r, "orders").await;
        assert_eq!(get(&h, "orders").await.resource_version(), rv);
        assert_eq!(writes(&h).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_postgres_database_gets_its_engine_and_major_version() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"engine": "postgresql", "postgresMajorVersion": "17"});
        let o = ready_database(&h, &r, &database("ledger2", spec)).await;
        assert_eq!(o.status.unwrap().engine.as_deref(), Some("postgresql"));
        let ps = ps_database(&h, "ledger2").await.unwrap();
        assert_eq!(ps.kind.unwrap().as_str(), "postgresql");
    })
    .await;
}

#[tokio::test]
async fn every_setting_is_kept_in_line_and_drift_is_corrected() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_database(&h, &r, &database("orders", json!({}))).await;
        // A second production branch, to move the default branch to.
        let ps = h.planetscale();
        ps.create_branch("acme", "orders", &CreateBranch::new("live"))
            .await
            .expect("branch");
        h.advance("61s").await;
        ps.promote_branch("acme", "orders", "live")
            .await
            .expect("promote");

        let settings = json!({
            "requireApprovalForDeploy": true, "allowDataBranching": true,
            "restrictBranchRegion": true, "automaticMigrations": true,
            "migrationFramework": "rails", "migrationTableName": "schema_migrations",
            "allowForeignKeyConstraints": true, "insightsRawQueries": true,
            "deletionProtected": true, "productionBranchWebConsole": true,
            "defaultBranch": "live"
        });
        h.apply(&database("orders", json!({"settings": settings})))
            .await;
        pass(&h, &r, "orders").await;
        let d = ps_database(&h, "orders").await.unwrap();
        assert_eq!(d.require_approval_for_deploy, Some(true));
        assert_eq!(d.allow_data_branching, Some(true));
        assert_eq!(d.restrict_branch_region, Some(true));
        assert_eq!(d.automatic_migrations, Some(true));
        assert_eq!(d.migration_framework.as_deref(), Some("rails"));
        assert_eq!(d.migration_table_name.as_deref(), Some("schema_migrations"));
        assert_eq!(d.foreign_keys_enabled, Some(true));
        assert_eq!(d.insights_raw_queries, Some(true));
        assert_eq!(d.deletion_protected, Some(true));
        assert_eq!(d.production_branch_web_console, Some(true));
        assert_eq!(d.default_branch.as_deref(), Some("live"));
        let o = get(&h, "orders").await;
        assert_eq!(ready(&o).0, "True");
        let s = o.status.unwrap();
        assert_eq!(s.default_branch.as_deref(), Some("live"));
        assert_eq!(s.require_approval_for_deploy, Some(true));
        let events = h.events("orders").await;
        let updated = events
            .iter()
            .find(|(r, _)| r == "Updated")
            .expect("Updated");
        assert!(updated.1.contains("defaultBranch"), "{updated:?}");
        assert_eq!(h.calls(Some("update_database_settings")).await, 1);

        // In line: no second update.
        pass(&h, &r, "orders").await;
        assert_eq!(h.calls(Some("update_database_settings")).await, 1);

        // Changed outside Kubernetes: corrected on the next pass.
        let body = UpdateDatabase {
            require_approval_for_deploy: Some(false),
            ..UpdateDatabase::default()
        };
        ps.update_database_settings("acme", "orders", &body)
            .await
            .unwrap();
        pass(&h, &r, "orders").await;
        let d = ps_database(&h, "orders").await.unwrap();
        assert_eq!(d.require_approval_for_deploy, Some(true));
    })
    .await;
}

#[tokio::test]
async fn an_existing_database_is_refused_without_adopt_and_adopted_with_it() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        h.apply(&database("shop", json!({}))).await;
        pass(&h, &r, "shop").await;
        let err = h.pass(&r, "shop").await.expect_err("refused");
        assert_eq!(err.reason(), "AlreadyExists");
        let o = get(&h, "shop").await;
        let (status, reason, message) = condition(&o, "Ready").unwrap();
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "AlreadyExists")
        );
        assert!(message.contains("spec.adopt: true"), "{message}");
        assert!(o.status.unwrap().id.is_none(), "not recorded as ours");
        assert_eq!(writes(&h).await, 0);

        h.apply(&database("shop", json!({"adopt": true}))).await;
        pass(&h, &r, "shop").await;
        let o = get(&h, "shop").await;
        assert_eq!(ready(&o), ("True".into(), "Ready".into()));
        let s = o.status.unwrap();
        assert_eq!(s.adopted, Some(true));
        assert_eq!(s.id, Some(ps_database(&h, "shop").await.unwrap().id));
        assert!(h.event_reasons("shop").await.contains(&"Adopted".into()));
        assert_eq!(writes(&h).await, 0);
    })
    .await;
}

#[tokio::test]
async fn observe_only_reports_and_never_writes() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"managementPolicy": "Observe", "clusterSize": null});
        h.apply(&database("shop", spec)).await;
        pass(&h, &r, "shop").await;
        pass(&h, &r, "shop").await;
        let o = get(&h, "shop").await;
        let (status, _, message) = condition(&o, "Ready").unwrap();
        assert_eq!(status, "True");
        assert!(message.contains("observed only"), "{message}");
        let s = o.status.unwrap();
        assert_eq!(s.adopted, Some(true));
        assert_eq!(s.engine.as_deref(), Some("mysql"));
        assert!(h.event_reasons("shop").await.contains(&"Observed".into()));

        // A change outside Kubernetes is reported, not corrected.
        let body = UpdateDatabase {
            require_approval_for_deploy: Some(true),
            ..UpdateDatabase::default()
        };
        h.planetscale()
            .update_database_settings("acme", "shop", &body)
            .await
            .unwrap();
        pass(&h, &r, "shop").await;
        let s = get(&h, "shop").await.status.unwrap();
        assert_eq!(s.require_approval_for_deploy, Some(true));

        // Deleting the resource leaves the database.
        delete(&h, "shop").await;
        pass(&h, &r, "shop").await;
        assert!(h.get::<PlanetScaleDatabase>("shop").await.is_none());
        assert!(ps_database(&h, "shop").await.is_some());
        assert!(h.event_reasons("shop").await.contains(&"Released".into()));
        // The one write above was the test's own.
        assert_eq!(h.calls(Some("update_database_settings")).await, 1);
        assert_eq!(h.calls(Some("create_database")).await, 0);
        assert_eq!(h.calls(Some("delete_database")).await, 0);
    })
    .await;
}

#[tokio::test]
async fn observing_a_missing_database_says_so_and_creates_nothing() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"managementPolicy": "Observe", "clusterSize": null});
        h.apply(&database("nowhere", spec)).await;
        pass(&h, &r, "nowhere").await;
        let err = h.pass(&r, "nowhere").await.expect_err("missing");
        assert_eq!(err.reason(), "DatabaseNotFound");
        assert!(!err.is_transient());
        let o = get(&h, "nowhere").await;
        assert_eq!(ready(&o), ("False".into(), "DatabaseNotFound".into()));
        assert_eq!(writes(&h).await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_crash_after_the_create_records_the_database_instead_of_creating_another() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        h.apply(&database("orders", json!({}))).await;
        pass(&h, &r, "orders").await;
        // PlanetScale creates the database, but the answer never arrives: as if the operator
        // died between the create call and the status write.
        h.fault(json!({"operation": "create_database", "drop_connection": true, "count": 1}))
            .await;
        let err = h.pass(&r, "orders").await.expect_err("no answer");
        assert!(err.is_transient());
        let s = get(&h, "orders").await.status.unwrap();
        assert!(
            s.create_requested_at.is_some() && s.id.is_none(),
            "intent kept"
        );

        // A new process (nothing in memory) finds it and records it as ours.
        let r = reconciler(&h);
        pass(&h, &r, "orders").await;
        let s = get(&h, "orders").await.status.unwrap();
        assert_eq!(s.id, Some(ps_database(&h, "orders").await.unwrap().id));
        assert_eq!(s.adopted, Some(false));
        assert!(s.create_requested_at.is_none(), "{s:?}");
        assert_eq!(h.calls(Some("create_database")).await, 1, "created once");
    })
    .await;
}

#[tokio::test]
async fn a_database_deleted_outside_is_created_again() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_database(&h, &r, &database("orders", json!({}))).await;
        h.planetscale()
            .delete_database("acme", "orders")
            .await
            .unwrap();
        pass(&h, &r, "orders").await;
        assert!(ps_database(&h, "orders").await.is_some());
        assert!(
            h.event_reasons("orders")
                .await
                .contains(&"Recreated".into())
        );
    })
    .await;
}

#[tokio::test]
async fn deletion_retains_by_default() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let o = ready_database(&h, &r, &database("orders", json!({}))).await;
        assert_eq!(
            serde_json::to_value(o.spec.deletion_policy).unwrap(),
            "Retain"
        );
        delete(&h, "orders").await;
        pass(&h, &r, "orders").await;
        assert!(h.get::<PlanetScaleDatabase>("orders").await.is_none());
        assert!(ps_database(&h, "orders").await.is_some());
        assert!(h.event_reasons("orders").await.contains(&"Retained".into()));
        assert_eq!(h.calls(Some("delete_database")).await, 0);
    })
    .await;
}

#[tokio::test]
async fn deletion_without_the_confirmation_is_refused_until_it_is_given() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"deletionPolicy": "Delete"});
        ready_database(&h, &r, &database("orders", spec)).await;
        delete(&h, "orders").await;
        let err = h.pass(&r, "orders").await.expect_err("refused");
        assert_eq!(err.reason(), "DeletionNotConfirmed");
        let o = get(&h, "orders").await;
        let (status, cause, message) = condition(&o, "DeletionBlocked").expect("blocked");
        assert_eq!(
            (status.as_str(), cause.as_str()),
            ("True", "DeletionNotConfirmed")
        );
        assert!(
            message.contains("deletionConfirmation: orders"),
            "{message}"
        );
        assert!(message.contains("deletionPolicy: Retain"), "{message}");
        assert_eq!(ready(&o), ("False".into(), "DeletionBlocked".into()));
        assert!(ps_database(&h, "orders").await.is_some());
        assert_eq!(h.calls(Some("delete_database")).await, 0);

        h.merge::<PlanetScaleDatabase>(
            "orders",
            json!({"spec": {"deletionConfirmation": "orders"}}),
        )
        .await;
        pass(&h, &r, "orders").await;
        assert!(h.get::<PlanetScaleDatabase>("orders").await.is_none());
        assert!(ps_database(&h, "orders").await.is_none());
        assert!(h.event_reasons("orders").await.contains(&"Deleted".into()));
    })
    .await;
}

#[tokio::test]
async fn deletion_with_the_confirmation_deletes_the_database() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"deletionPolicy": "Delete", "deletionConfirmation": "orders"});
        ready_database(&h, &r, &database("orders", spec)).await;
        delete(&h, "orders").await;
        pass(&h, &r, "orders").await;
        assert!(h.get::<PlanetScaleDatabase>("orders").await.is_none());
        assert!(ps_database(&h, "orders").await.is_none());
        assert_eq!(h.calls(Some("delete_database")).await, 1);
    })
    .await;
}

#[tokio::test]
async fn deletion_protection_blocks_until_the_spec_turns_it_off() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"deletionPolicy": "Delete", "deletionConfirmation": "orders",
            "settings": {"deletionProtected": true}});
        ready_database(&h, &r, &database("orders", spec)).await;
        assert_eq!(
            ps_database(&h, "orders").await.unwrap().deletion_protected,
            Some(true)
        );
        delete(&h, "orders").await;
        let err = h.pass(&r, "orders").await.expect_err("protected");
        assert_eq!(err.reason(), "DeletionProtected");
        let o = get(&h, "orders").await;
        let (_, cause, message) = condition(&o, "DeletionBlocked").expect("blocked");
        assert_eq!(cause, "DeletionProtected");
        assert!(message.contains("deletionProtected: false"), "{message}");

        h.merge::<PlanetScaleDatabase>(
            "orders",
            json!({"spec": {"settings": {"deletionProtected": false}}}),
        )
        .await;
        pass(&h, &r, "orders").await;
        assert!(ps_database(&h, "orders").await.is_none());
    })
    .await;
}

#[tokio::test]
async fn a_paused_database_is_left_alone() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let mut obj = database("orders", json!({}));
        obj.metadata.annotations = Some(
            [(
                "planetscale.operator.dev/paused".to_string(),
                "true".to_string(),
            )]
            .into(),
        );
        h.apply(&obj).await;
        pass(&h, &r, "orders").await;
        let o = get(&h, "orders").await;
        assert_eq!(condition(&o, "Paused").unwrap().0, "True");
        assert_eq!(h.calls(None).await, 0, "no PlanetScale call while paused");
        assert!(ps_database(&h, "orders").await.is_none());
    })
    .await;
}
