//! The password reconciler on a PostgreSQL branch (`acme/ledger/main`): a role instead of a
//! password, with the same guarantees — create, the Secret's Postgres forms, renewal,
//! rotation with its grace period, a lost Secret healed, a crash between the create and the
//! Secret write, deletion with a successor, and every Vitess-only field refused by name.
use kube::ResourceExt;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::{Value, json};

use crate::harness::{Harness, with_harness};
use crate::password::{
    admin, all_of, applied, condition, creds, delete, get, is_ready, pass, ready, reconciler,
    secret, value,
};

/// A `PlanetScalePassword` on `acme/ledger/main` (PostgreSQL), `spec` merged in.
pub fn pg_password(name: &str, spec: Value) -> PlanetScalePassword {
    let mut s = json!({"database": "ledger"});
    let Value::Object(spec) = spec else {
        panic!("spec object: {spec}")
    };
    s.as_object_mut().unwrap().extend(spec);
    crate::password::password(name, s)
}

/// Every role of the resource in the emulator, deleted ones too.
pub async fn all_roles(h: &Harness, obj: &PlanetScalePassword) -> Vec<Value> {
    all_of(h, obj, "roles").await
}

/// The resource's roles that PlanetScale has not deleted.
pub async fn live_roles(h: &Harness, obj: &PlanetScalePassword) -> Vec<Value> {
    let all = all_roles(h, obj).await;
    all.into_iter()
        .filter(|r| r["deleted"] == json!(false))
        .collect()
}

/// Whether the credentials log in to `acme/ledger/main` now (roles are ready 2 s after
/// their create: the clock is moved past that first).
pub async fn valid_pg(h: &Harness, (user, pass): &(String, String)) -> bool {
    h.advance("3s").await;
    let body = json!({"organization": "acme", "database": "ledger", "branch": "main",
        "username": user, "password": pass});
    let v = admin(h, "/_emulator/verify-password", Some(body)).await;
    v["valid"].as_bool().unwrap_or(false)
}

/// `n` live roles, and the Secret holds the current one's working credentials.
pub async fn working_roles(h: &Harness, name: &str, n: usize) -> (String, String) {
    let o = get(h, name).await;
    let live = live_roles(h, &o).await;
    assert_eq!(live.len(), n, "live roles: {live:?}");
    let c = creds(h, name).await;
    let current: Vec<_> = live
        .iter()
        .filter(|r| r["username"].as_str() == Some(c.0.as_str()))
        .collect();
    assert_eq!(current.len(), 1, "the Secret holds a live role: {live:?}");
    assert!(valid_pg(h, &c).await, "the Secret's credentials log in");
    let s = o.status.expect("status");
    assert_eq!(s.password_id.as_deref(), current[0]["id"].as_str());
    assert_eq!(s.engine.as_deref(), Some("postgresql"));
    c
}

/// Applied, then the create pass and the one after it: Ready.
pub async fn pg_created(
    h: &Harness,
    r: &planetscale_operator::controller::password::Passwords,
    obj: &PlanetScalePassword,
) {
    let name = obj.name_any();
    applied(h, r, obj).await;
    pass(h, r, &name).await;
    pass(h, r, &name).await;
    let o = get(h, &name).await;
    assert!(is_ready(&o), "{:?}", o.status);
}

#[tokio::test]
async fn a_postgres_branch_gets_a_role_and_postgres_connection_strings() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec =
            json!({"role": "readwriter", "secret": {"formats": ["env", "jdbc", "go-sql-driver"]}});
        pg_created(&h, &r, &pg_password("app", spec)).await;
        assert_eq!(h.calls(Some("create_role")).await, 1);
        assert_eq!(h.calls(Some("create_password")).await, 0, "no password");
        let (user, pw) = working_roles(&h, "app", 1).await;
        let s = secret(&h, "app").await.unwrap();
        let url = value(&s, "DATABASE_URL").unwrap();
        assert!(url.starts_with("postgresql://"), "{url}");
        assert!(url.ends_with(":5432/postgres?sslmode=verify-full"), "{url}");
        assert_eq!(value(&s, "PGUSER").as_deref(), Some(user.as_str()));
        assert_eq!(value(&s, "PGPASSWORD").as_deref(), Some(pw.as_str()));
        assert_eq!(value(&s, "PGSSLMODE").as_deref(), Some("verify-full"));
        let jdbc = value(&s, "JDBC_URL").unwrap();
        assert!(jdbc.starts_with("jdbc:postgresql://"), "{jdbc}");
        assert!(value(&s, "DSN").unwrap().contains("sslmode=verify-full"));
        let o = get(&h, "app").await;
        let st = o.status.unwrap();
        assert!(st.host.unwrap().ends_with(".pg.psdb.cloud"));
        let role = h
            .planetscale()
            .get_role("acme", "ledger", "main", st.password_id.as_deref().unwrap())
            .await
            .unwrap();
        let inherited: Vec<_> = role
            .inherited_roles
            .iter()
            .map(|i| i.as_str().to_string())
            .collect();
        assert_eq!(inherited, ["pg_read_all_data", "pg_write_all_data"]);
        let notes = h.events("app").await;
        assert!(
            notes.iter().any(|(_, n)| n.contains("role k8s-")),
            "{notes:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_role_is_renewed_at_half_its_ttl() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        pg_created(&h, &r, &pg_password("app", json!({"ttl": "1h"}))).await;
        let c = creds(&h, "app").await;
        let before = get(&h, "app").await.status.unwrap().expires_at.unwrap();
        h.advance("31m").await;
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        assert_eq!(h.calls(Some("renew_role")).await, 1);
        let after = get(&h, "app").await.status.unwrap().expires_at.unwrap();
        assert!(after.0 > before.0, "{before:?} → {after:?}");
        assert_eq!(working_roles(&h, "app", 1).await, c, "same role, renewed");
        assert!(
            h.event_reasons("app")
                .await
                .contains(&"Renewed".to_string())
        );
    })
    .await;
}

#[tokio::test]
async fn rotation_keeps_the_old_role_through_the_grace_period() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"rotation": {"gracePeriod": "10m"}});
        pg_created(&h, &r, &pg_password("app", spec)).await;
        let old = creds(&h, "app").await;
        let annotate =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": "r1"}}});
        h.merge::<PlanetScalePassword>("app", annotate).await;
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        let new = working_roles(&h, "app", 2).await;
        assert_ne!(new.0, old.0, "a new role");
        assert!(
            valid_pg(&h, &old).await,
            "the old role works in the grace period"
        );
        h.advance("11m").await;
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        assert_eq!(working_roles(&h, "app", 1).await, new);
        assert!(
            !valid_pg(&h, &old).await,
            "the old role is deleted after the grace"
        );
    })
    .await;
}

#[tokio::test]
async fn a_lost_secret_gets_a_new_role_and_the_lost_one_is_deleted() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"rotation": {"gracePeriod": "1m"}});
        pg_created(&h, &r, &pg_password("app", spec)).await;
        let lost = creds(&h, "app").await;
        h.api::<k8s_openapi::api::core::v1::Secret>()
            .delete("app", &Default::default())
            .await
            .unwrap();
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        let healed = working_roles(&h, "app", 2).await;
        assert_ne!(healed.0, lost.0);
        assert!(
            h.event_reasons("app")
                .await
                .contains(&"SecretHealed".to_string())
        );
        h.advance("2m").await;
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        working_roles(&h, "app", 1).await;
        assert!(!valid_pg(&h, &lost).await);
    })
    .await;
}

#[tokio::test]
async fn a_crash_between_the_role_create_and_the_secret_write_leaves_one_role() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, &pg_password("app", json!({}))).await;
        // The role is created, but its password never arrives (the operator crashed).
        let drop = json!({"operation": "create_role", "drop_connection": true, "count": 1});
        h.fault(drop).await;
        h.pass(&r, "app").await.expect_err("the response is lost");
        let o = get(&h, "app").await;
        assert_eq!(all_roles(&h, &o).await.len(), 1, "created in PlanetScale");
        assert!(secret(&h, "app").await.is_none(), "not written");
        let s = o.status.clone().unwrap();
        assert_eq!(s.rotation, 1, "the counter was written first");
        assert_eq!(s.engine.as_deref(), Some("postgresql"), "with the engine");
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        working_roles(&h, "app", 1).await;
        let all = all_roles(&h, &o).await;
        assert_eq!(
            all.len(),
            2,
            "the stray (deleted) and its replacement: {all:?}"
        );
        assert_eq!(live_roles(&h, &o).await.len(), 1, "no duplicate left");
    })
    .await;
}

#[tokio::test]
async fn a_crash_between_the_secret_write_and_the_status_write_adopts_the_role() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        pg_created(&h, &r, &pg_password("app", json!({}))).await;
        let annotate =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": "r1"}}});
        h.merge::<PlanetScalePassword>("app", annotate).await;
        pass(&h, &r, "app").await;
        let rotated = creds(&h, "app").await;
        let lost = json!({"rotation": 2, "passwordId": null, "passwordName": null});
        crate::password::patch_status(&h, "app", lost).await;
        let creates = h.calls(Some("create_role")).await;
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        assert_eq!(h.calls(Some("create_role")).await, creates, "no duplicate");
        assert_eq!(creds(&h, "app").await, rotated, "the Secret's role adopted");
        assert!(valid_pg(&h, &rotated).await, "plaintext not lost");
    })
    .await;
}

/// Marks role `id` of `acme/ledger/main` as owning database objects.
async fn owns_objects(h: &Harness, id: &str) {
    let path = format!(
        "/_emulator/organizations/acme/databases/ledger/branches/main/roles/{id}/owns-objects"
    );
    let url = format!("{}{path}", h.emulator.url());
    let http = reqwest::Client::builder().no_proxy().build().expect("http");
    let r = http
        .put(url)
        .json(&json!({"owns_objects": true}))
        .send()
        .await;
    let r = r.expect("emulator reachable");
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

#[tokio::test]
async fn deleting_a_role_that_owns_objects_needs_a_successor() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        pg_created(&h, &r, &pg_password("app", json!({}))).await;
        let o = get(&h, "app").await;
        owns_objects(
            &h,
            o.status.as_ref().unwrap().password_id.as_deref().unwrap(),
        )
        .await;
        delete(&h, "app").await;
        let err = h
            .pass(&r, "app")
            .await
            .expect_err("refused without a successor");
        assert_eq!(err.reason(), "RoleOwnsObjects");
        assert!(err.to_string().contains("spec.postgres.successor"), "{err}");
        assert_eq!(live_roles(&h, &o).await.len(), 1, "kept");
        assert!(
            !get(&h, "app").await.finalizers().is_empty(),
            "finalizer kept"
        );
        let successor = json!({"spec": {"postgres": {"successor": "postgres"}}});
        h.merge::<PlanetScalePassword>("app", successor).await;
        pass(&h, &r, "app").await;
        assert!(
            live_roles(&h, &o).await.is_empty(),
            "deleted with a successor"
        );
        assert!(h.get::<PlanetScalePassword>("app").await.is_none(), "gone");
    })
    .await;
}

/// A pass over `obj` that must be refused with `FieldNotForEngine` naming `field`, having
/// created nothing.
async fn refused(obj: PlanetScalePassword, field: &str) {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, &obj).await;
        let err = h.pass(&r, "app").await.expect_err("refused");
        assert_eq!(err.reason(), "FieldNotForEngine");
        assert!(!err.is_transient(), "waits for a change, no hot loop");
        let o = get(&h, "app").await;
        assert_eq!(ready(&o), ("False".into(), "FieldNotForEngine".into()));
        let all: Vec<_> = o.status.unwrap().conditions;
        let named = all
            .iter()
            .any(|c| c.message.contains(&format!("spec.{field}")));
        assert!(named, "{field}: {all:?}");
        let creates = h.calls(Some("create_role")).await + h.calls(Some("create_password")).await;
        assert_eq!(creates, 0, "{field}: nothing created");
        assert!(secret(&h, "app").await.is_none());
        let notes = h.events("app").await;
        let event = notes
            .iter()
            .any(|(r, n)| r == "FieldNotForEngine" && n.contains(field));
        assert!(event, "{field}: {notes:?}");
        delete(&h, "app").await;
        pass(&h, &r, "app").await;
        let gone = h.get::<PlanetScalePassword>("app").await.is_none();
        assert!(gone, "{field}: deleted without touching PlanetScale");
    })
    .await;
}

#[tokio::test]
async fn replica_is_refused_on_postgres() {
    refused(pg_password("app", json!({"replica": true})), "replica").await;
}

#[tokio::test]
async fn cidrs_are_refused_on_postgres() {
    refused(
        pg_password("app", json!({"cidrs": ["10.0.0.0/8"]})),
        "cidrs",
    )
    .await;
}

#[tokio::test]
async fn the_postgres_block_is_refused_on_vitess() {
    let spec = json!({"postgres": {"successor": "postgres"}});
    refused(crate::password::password("app", spec), "postgres").await;
}

#[tokio::test]
async fn mysql_url_is_refused_on_postgres() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"secret": {"formats": ["mysql-url"]}});
        applied(&h, &r, &pg_password("app", spec)).await;
        h.pass(&r, "app").await.expect_err("refused");
        let o = get(&h, "app").await;
        assert_eq!(ready(&o), ("False".into(), "FieldNotForEngine".into()));
        let synced = condition(&o, "SecretSynced").0;
        assert_ne!(synced, "True", "no Secret");
        assert_eq!(h.calls(Some("create_role")).await, 0, "nothing created");
    })
    .await;
}
