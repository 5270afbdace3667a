//! The branch reconciler on a PostgreSQL database (the emulator's `acme/ledger`): create →
//! Ready with the Postgres address, from a point in time, on a major version; each field of
//! the other engine refused before any change; each failure of the create call.
use chrono::{DateTime, Utc};
use planetscale_api::models::Branch;
use planetscale_operator::controller::branch::BranchReconciler;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::{Value, json};

use crate::branch::{condition, get, pass, ready, reconciler};
use crate::harness::{Harness, with_harness};

/// A `PlanetScaleBranch` of `acme/ledger` (PostgreSQL) with `spec` merged in.
pub fn pg_branch(name: &str, spec: Value) -> PlanetScaleBranch {
    let mut obj = crate::branch::branch(name, spec);
    obj.spec.database = Some("ledger".into());
    obj
}

/// The branch of `acme/ledger` in PlanetScale, if it exists.
pub async fn ps_pg_branch(h: &Harness, name: &str) -> Option<Branch> {
    match h.planetscale().get_branch("acme", "ledger", name).await {
        Ok(b) => Some(b),
        Err(planetscale_api::Error::NotFound { .. }) => None,
        Err(e) => panic!("get_branch {name}: {e}"),
    }
}

/// Applies `obj` and runs the finalizer pass; the next pass acts.
async fn applied(h: &Harness, r: &BranchReconciler, obj: &PlanetScaleBranch) -> String {
    let name = kube::ResourceExt::name_any(obj);
    h.apply(obj).await;
    pass(h, r, &name).await;
    name
}

/// Applies `obj`, creates it, lets it become ready and sees it Ready.
async fn ready_pg(h: &Harness, r: &BranchReconciler, obj: &PlanetScaleBranch) -> PlanetScaleBranch {
    let name = applied(h, r, obj).await;
    pass(h, r, &name).await;
    h.advance("61s").await;
    pass(h, r, &name).await;
    let o = get(h, &name).await;
    assert_eq!(ready(&o), ("True".into(), "Ready".into()), "{:?}", o.status);
    o
}

/// A moment after `ledger/main` was created (whole seconds, as Kubernetes stores them),
/// once the emulator's clock has moved past it.
async fn point_in_time(h: &Harness) -> DateTime<Utc> {
    let main = ps_pg_branch(h, "main").await.expect("ledger/main");
    h.advance("1h").await;
    let created = main.created_at.expect("created_at");
    DateTime::from_timestamp(created.timestamp() + 60, 0).expect("a time")
}

#[tokio::test]
async fn a_postgres_branch_becomes_ready_with_its_postgres_address() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let o = ready_pg(&h, &r, &pg_branch("dev", json!({}))).await;
        let ps = ps_pg_branch(&h, "dev").await.expect("created");
        let s = o.status.expect("status");
        assert_eq!(s.id.as_deref(), Some(ps.id.as_str()));
        assert_eq!(s.kind.as_deref(), Some("postgresql"));
        assert_eq!(s.postgres_address, ps.access_host_url);
        assert!(
            s.postgres_address
                .as_deref()
                .is_some_and(|a| a.contains(".pg.")),
            "{:?}",
            s.postgres_address
        );
        assert_eq!(
            s.major_version.as_deref(),
            Some("18"),
            "the parent's version"
        );
        assert_eq!(s.restore_point, None);
        assert_eq!(
            s.mysql_address, None,
            "no MySQL address on a PostgreSQL branch"
        );
        assert_eq!(s.parent.as_deref(), Some("main"));
        assert_eq!(h.event_reasons("dev").await, ["Created", "Ready"]);
        assert_eq!(h.calls(Some("create_branch")).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_branch_from_a_point_in_time_records_its_restore_point() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let at = point_in_time(&h).await;
        let spec = json!({"restoreFrom": {"pointInTime": at.to_rfc3339()}});
        let o = ready_pg(&h, &r, &pg_branch("pitr", spec)).await;
        let s = o.status.expect("status");
        let restored = s.restore_point.expect("status.restorePoint");
        assert_eq!(
            planetscale_operator::time::from_time(&restored),
            at,
            "the moment asked for"
        );
        let ps = ps_pg_branch(&h, "pitr").await.expect("created");
        assert_eq!(ps.restore_point, Some(at));
        assert_eq!(
            ps.restored_from_branch.map(|b| b.name),
            Some("main".to_string())
        );
        assert!(s.postgres_address.is_some());
    })
    .await;
}

#[tokio::test]
async fn a_branch_on_another_major_version() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let o = ready_pg(&h, &r, &pg_branch("v17", json!({"majorVersion": "17"}))).await;
        assert_eq!(o.status.unwrap().major_version.as_deref(), Some("17"));
        let ps = ps_pg_branch(&h, "v17").await.expect("created");
        assert_eq!(ps.major_version.as_deref(), Some("17"));
    })
    .await;
}

/// One pass over `obj` fails with `FieldNotForEngine` naming `field`, shown in `Ready`
/// and a Warning event, retried slowly, and nothing is created or changed.
async fn refused(h: &Harness, r: &BranchReconciler, obj: &PlanetScaleBranch, field: &str) {
    let name = applied(h, r, obj).await;
    let before = h.calls(None).await;
    let err = h.pass(r, &name).await.expect_err("refused");
    assert_eq!(err.reason(), "FieldNotForEngine", "{field}");
    assert!(
        !err.is_transient(),
        "{field}: the slow retry, not a backoff"
    );
    let o = get(h, &name).await;
    let (status, reason, message) = condition(&o, "Ready").expect("Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "FieldNotForEngine")
    );
    assert!(message.contains(&format!("spec.{field}")), "{message}");
    let events = h.events(&name).await;
    assert!(
        events
            .iter()
            .any(|(r, m)| r == "FieldNotForEngine" && m.contains(field)),
        "{events:?}"
    );
    assert!(
        h.calls(None).await - before <= 1,
        "{field}: at most one read of the database (shared by its branches), nothing else"
    );
    assert!(
        o.status.unwrap().create_requested_at.is_none(),
        "{field}: no create was attempted"
    );
    assert_eq!(h.calls(Some("create_branch")).await, 0, "{field}");
}

#[tokio::test]
async fn each_vitess_only_field_is_refused_on_a_postgres_database() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        for (name, field, value) in [
            ("seed", "seedData", json!("LastSuccessfulBackup")),
            ("safe", "safeMigrations", json!(true)),
            ("prod", "production", json!(true)),
        ] {
            refused(&h, &r, &pg_branch(name, json!({ field: value })), field).await;
        }
    })
    .await;
}

#[tokio::test]
async fn each_postgres_only_field_is_refused_on_a_vitess_database() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let at = "2026-01-01T00:00:00Z";
        for (name, field, value) in [
            ("pitr", "restoreFrom", json!({"pointInTime": at})),
            ("v17", "majorVersion", json!("17")),
        ] {
            let obj = crate::branch::branch(name, json!({ field: value }));
            refused(&h, &r, &obj, field).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_vitess_only_field_added_to_a_ready_postgres_branch_changes_nothing() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        ready_pg(&h, &r, &pg_branch("dev", json!({}))).await;
        h.merge::<PlanetScaleBranch>("dev", json!({"spec": {"safeMigrations": true}}))
            .await;
        let err = h.pass(&r, "dev").await.expect_err("refused");
        assert_eq!(err.reason(), "FieldNotForEngine");
        assert_eq!(h.calls(Some("enable_safe_migrations")).await, 0);
        let o = get(&h, "dev").await;
        assert_eq!(ready(&o), ("False".into(), "FieldNotForEngine".into()));
        // Removing the field makes it Ready again.
        h.merge::<PlanetScaleBranch>("dev", json!({"spec": {"safeMigrations": null}}))
            .await;
        pass(&h, &r, "dev").await;
        assert_eq!(ready(&get(&h, "dev").await).0, "True");
    })
    .await;
}

#[tokio::test]
async fn a_restore_point_in_the_future_is_shown_with_the_api_message() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"restoreFrom": {"pointInTime": "2999-01-01T00:00:00Z"}});
        let name = applied(&h, &r, &pg_branch("later", spec)).await;
        let err = h.pass(&r, &name).await.expect_err("422");
        assert!(!err.is_transient());
        let o = get(&h, &name).await;
        let (status, reason, message) = condition(&o, "Ready").unwrap();
        assert_eq!((status.as_str(), reason.as_str()), ("False", "Rejected"));
        assert!(
            message.contains("restore_point cannot be in the future"),
            "{message}"
        );
        assert!(
            o.status.unwrap().create_requested_at.is_none(),
            "nothing created"
        );
        assert!(ps_pg_branch(&h, "later").await.is_none());
    })
    .await;
}

#[tokio::test]
async fn each_failure_of_the_postgres_create_is_shown_and_retried_as_it_deserves() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let at = point_in_time(&h).await;
        let spec = json!({"restoreFrom": {"pointInTime": at.to_rfc3339()}, "majorVersion": "17"});
        let name = applied(&h, &r, &pg_branch("pitr", spec)).await;
        for (status, reason, transient) in [
            (404, "ParentNotFound", false),
            (401, "Unauthorized", false),
            (422, "Rejected", false),
            (429, "RateLimited", true),
            (500, "PlanetScaleUnavailable", true),
            (503, "PlanetScaleUnavailable", true),
        ] {
            h.fault(json!({"operation": "create_branch", "status": status, "message": "no"}))
                .await;
            let err = h.pass(&r, &name).await.expect_err("fails");
            assert_eq!(
                (err.reason(), err.is_transient()),
                (reason, transient),
                "{status}"
            );
            let o = get(&h, &name).await;
            assert_eq!(ready(&o), ("False".into(), reason.into()), "{status}");
            let intent = o.status.unwrap().create_requested_at.is_some();
            assert_eq!(
                intent, transient,
                "{status}: the intent stays only when unsure"
            );
            assert!(ps_pg_branch(&h, "pitr").await.is_none(), "{status}");
            h.clear_faults().await;
        }
        pass(&h, &r, &name).await;
        let ps = ps_pg_branch(&h, "pitr")
            .await
            .expect("created once PlanetScale answers");
        assert_eq!(
            (ps.restore_point, ps.major_version.as_deref()),
            (Some(at), Some("17"))
        );
    })
    .await;
}

#[tokio::test]
async fn each_failure_of_the_database_read_before_the_first_create() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let name = applied(&h, &r, &pg_branch("dev", json!({}))).await;
        for (status, reason) in [
            (404, "DatabaseNotFound"),
            (401, "Unauthorized"),
            (429, "RateLimited"),
            (502, "PlanetScaleUnavailable"),
        ] {
            h.fault(json!({"operation": "get_database", "status": status, "message": "no"}))
                .await;
            let err = h.pass(&r, &name).await.expect_err("fails");
            assert_eq!(err.reason(), reason, "{status}");
            assert_eq!(
                ready(&get(&h, &name).await),
                ("False".into(), reason.into())
            );
            assert_eq!(
                h.calls(Some("create_branch")).await,
                0,
                "{status}: not created blind"
            );
            h.clear_faults().await;
        }
        pass(&h, &r, &name).await;
        assert!(ps_pg_branch(&h, "dev").await.is_some());
    })
    .await;
}
