//! The password reconciler, pass by pass: create, Ready, updates (Secret keys and template,
//! role, Secret name), renewal, rotation with its grace period, healing, adoption, pause and
//! deletion (Delete, Retain).
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use planetscale_operator::controller::password::Passwords;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::{Value, json};

use crate::harness::{Harness, with_harness};

pub const FINALIZER: &str = "planetscale.operator.dev/password";

/// A `PlanetScalePassword` on `acme/shop/main` with the test's credentials, `spec` merged in.
pub fn password(name: &str, mut spec: Value) -> PlanetScalePassword {
    let with_branch = spec.as_object_mut().expect("spec object");
    with_branch.entry("branch").or_insert_with(|| json!("main"));
    crate::harness::object(name, spec)
}

/// A fresh controller: nothing remembered (as after an operator restart).
pub fn reconciler(h: &Harness) -> Passwords {
    Passwords::new(h.ctx.clone())
}

/// The object now (it must exist).
pub async fn get(h: &Harness, name: &str) -> PlanetScalePassword {
    h.get(name)
        .await
        .unwrap_or_else(|| panic!("{name} is gone"))
}

/// A pass that must not fail.
pub async fn pass(h: &Harness, r: &Passwords, name: &str) -> Action {
    h.pass(r, name)
        .await
        .unwrap_or_else(|e| panic!("pass over {name} failed: {e}"))
}

/// `type`'s (status, reason).
pub fn condition(obj: &PlanetScalePassword, type_: &str) -> (String, String) {
    let conditions = obj.status.as_ref().map(|s| s.conditions.clone());
    let c = conditions.unwrap_or_default();
    let c = c.iter().find(|c| c.type_ == type_);
    c.map(|c| (c.status.clone(), c.reason.clone()))
        .unwrap_or_default()
}

/// `Ready`'s (status, reason).
pub fn ready(obj: &PlanetScalePassword) -> (String, String) {
    condition(obj, "Ready")
}

pub fn is_ready(obj: &PlanetScalePassword) -> bool {
    ready(obj) == ("True".into(), "Ready".into())
}

/// Applies `obj` and runs the first pass, which only adds the finalizer.
pub async fn applied(h: &Harness, r: &Passwords, obj: &PlanetScalePassword) {
    let name = obj.name_any();
    h.apply(obj).await;
    pass(h, r, &name).await;
    assert_eq!(
        get(h, &name).await.finalizers(),
        [FINALIZER],
        "first pass: finalizer"
    );
}

/// [`applied`], then the pass that creates the password and the one after it; Ready.
pub async fn created(h: &Harness, r: &Passwords, obj: &PlanetScalePassword) -> PlanetScalePassword {
    let name = obj.name_any();
    applied(h, r, obj).await;
    pass(h, r, &name).await;
    pass(h, r, &name).await;
    let o = get(h, &name).await;
    assert!(is_ready(&o), "{:?}", o.status);
    o
}

/// The Secret `name`, if it exists.
pub async fn secret(h: &Harness, name: &str) -> Option<Secret> {
    h.api::<Secret>().get_opt(name).await.expect("get Secret")
}

/// A data key of a Secret, as text.
pub fn value(s: &Secret, key: &str) -> Option<String> {
    let bytes = s.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone()).ok()
}

/// The `username` and `password` of the Secret `name`.
pub async fn creds(h: &Harness, name: &str) -> (String, String) {
    let s = secret(h, name)
        .await
        .unwrap_or_else(|| panic!("no Secret {name}"));
    let c = (value(&s, "username"), value(&s, "password"));
    match c {
        (Some(u), Some(p)) => (u, p),
        _ => panic!(
            "Secret {name} has no credentials: {:?}",
            s.data.map(|d| d.into_keys().collect::<Vec<_>>())
        ),
    }
}

/// An admin request to the emulator: POST `body`, or GET without one.
pub async fn admin(h: &Harness, path: &str, body: Option<Value>) -> Value {
    let http = reqwest::Client::builder().no_proxy().build().expect("http");
    let url = format!("{}{path}", h.emulator.url());
    let req = match body {
        Some(b) => http.post(url).json(&b),
        None => http.get(url),
    };
    let r = req.send().await.expect("emulator reachable");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("admin JSON")
}

/// Every password of the resource in the emulator, deleted ones too.
pub async fn all_passwords(h: &Harness, obj: &PlanetScalePassword) -> Vec<Value> {
    all_of(h, obj, "passwords").await
}

/// Every object of `kind` (`passwords`, `roles`) of the emulator's state that the resource
/// made (named `k8s-<uid>-…`), deleted ones too.
pub async fn all_of(h: &Harness, obj: &PlanetScalePassword, kind: &str) -> Vec<Value> {
    let prefix = format!("k8s-{}-", obj.uid().expect("uid"));
    let world = admin(h, "/_emulator/state", None).await;
    let all = world[kind].as_array().cloned().unwrap_or_default();
    all.into_iter()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with(&prefix)))
        .collect()
}

/// The resource's passwords that PlanetScale has not deleted.
pub async fn live(h: &Harness, obj: &PlanetScalePassword) -> Vec<Value> {
    let all = all_passwords(h, obj).await;
    all.into_iter()
        .filter(|p| p["deleted"] == json!(false))
        .collect()
}

/// Whether the credentials work on `acme/shop/main` now.
pub async fn valid(h: &Harness, (user, pass): &(String, String)) -> bool {
    let body = json!({"organization": "acme", "database": "shop", "branch": "main",
        "username": user, "password": pass});
    let v = admin(h, "/_emulator/verify-password", Some(body)).await;
    v["valid"].as_bool().unwrap_or(false)
}

/// Exactly one live password, and the Secret holds its working credentials.
pub async fn one_working(h: &Harness, name: &str) -> (String, String) {
    working(h, name, name, 1).await
}

/// `live` passwords of resource `name` (the current one, and replaced ones in their grace
/// period), and Secret `secret` holds the current one's working credentials.
pub async fn working(h: &Harness, name: &str, secret: &str, live_n: usize) -> (String, String) {
    let o = get(h, name).await;
    let live = live(h, &o).await;
    assert_eq!(live.len(), live_n, "live passwords: {live:?}");
    let c = creds(h, secret).await;
    let s = o.status.expect("status");
    let current: Vec<_> = live
        .iter()
        .filter(|p| p["username"].as_str() == Some(c.0.as_str()))
        .collect();
    assert_eq!(
        current.len(),
        1,
        "the Secret holds a live password: {live:?}"
    );
    assert!(valid(h, &c).await, "the Secret's credentials work");
    assert_eq!(
        s.password_id.as_deref(),
        current[0]["id"].as_str(),
        "recorded"
    );
    assert_eq!(
        s.pending_deletions.len(),
        live_n - 1,
        "the others are pending deletion"
    );
    c
}

pub async fn delete(h: &Harness, name: &str) {
    h.api::<PlanetScalePassword>()
        .delete(name, &Default::default())
        .await
        .expect("delete");
}

/// Merge-patches the status subresource (what a restore or a lost write leaves).
pub async fn patch_status(h: &Harness, name: &str, status: Value) {
    let patch = json!({"status": status});
    h.api::<PlanetScalePassword>()
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch status");
}

async fn has_event(h: &Harness, name: &str, reason: &str) -> bool {
    h.event_reasons(name).await.iter().any(|r| r == reason)
}

#[tokio::test]
async fn create_writes_the_secret_and_exactly_one_password() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        applied(&h, &r, &password("app", json!({}))).await;
        let o = get(&h, "app").await;
        assert!(
            live(&h, &o).await.is_empty(),
            "the finalizer pass creates nothing"
        );
        pass(&h, &r, "app").await;
        let o = get(&h, "app").await;
        assert!(is_ready(&o), "{:?}", o.status);
        for c in ["BranchReady", "SecretSynced"] {
            assert_eq!(condition(&o, c).0, "True", "{c}");
        }
        one_working(&h, "app").await;
        let s = o.status.unwrap();
        assert_eq!(s.rotation, 1);
        assert_eq!(s.secret_name.as_deref(), Some("app"));
        assert_eq!(h.calls(Some("create_password")).await, 1);
        assert!(has_event(&h, "app", "Created").await);
        assert!(has_event(&h, "app", "Ready").await);
    })
    .await;
}

#[tokio::test]
async fn a_ready_password_costs_no_api_call_between_resyncs() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let before = created(&h, &r, &password("app", json!({}))).await;
        let calls = h.calls(None).await;
        for _ in 0..3 {
            let action = pass(&h, &r, "app").await;
            assert_ne!(
                action,
                Action::await_change(),
                "a Ready password is looked at again"
            );
        }
        assert_eq!(h.calls(None).await, calls, "planned from memory");
        let after = get(&h, "app").await;
        assert_eq!(
            after.resource_version(),
            before.resource_version(),
            "no status rewrite"
        );
    })
    .await;
}

#[tokio::test]
async fn a_restarted_controller_reads_the_database_list_once() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("a", json!({}))).await;
        created(&h, &r, &password("b", json!({}))).await;
        let lists = h.calls(Some("list_database_passwords")).await;
        let gets = h.calls(Some("get_password")).await;
        let fresh = reconciler(&h);
        pass(&h, &fresh, "a").await;
        pass(&h, &fresh, "b").await;
        assert_eq!(
            h.calls(Some("list_database_passwords")).await,
            lists + 1,
            "one shared list"
        );
        assert_eq!(
            h.calls(Some("get_password")).await,
            gets,
            "no GET per password"
        );
        assert!(is_ready(&get(&h, "b").await));
    })
    .await;
}

#[tokio::test]
async fn a_template_change_rewrites_the_secret_with_the_same_credentials() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        let c = creds(&h, "app").await;
        let spec = json!({"secret": {"formats": ["mysql-url"], "labels": {"team": "web"},
            "template": {"data": {"CUSTOM_DSN": "{{ username }}@{{ host }}"}}}});
        h.apply(&password("app", spec)).await;
        pass(&h, &r, "app").await;
        let s = secret(&h, "app").await.unwrap();
        let dsn = value(&s, "CUSTOM_DSN").expect("templated key");
        assert!(dsn.starts_with(&format!("{}@", c.0)), "{dsn}");
        let url = value(&s, "DATABASE_URL").expect("the preset's key");
        assert!(url.starts_with("mysql://"), "a mysql URL");
        assert_eq!(s.labels().get("team").map(String::as_str), Some("web"));
        assert_eq!(one_working(&h, "app").await, c, "same password");
        assert!(has_event(&h, "app", "SecretUpdated").await);
        // Removing the template removes its key.
        h.apply(&password("app", json!({}))).await;
        pass(&h, &r, "app").await;
        assert!(value(&secret(&h, "app").await.unwrap(), "CUSTOM_DSN").is_none());
    })
    .await;
}

#[tokio::test]
async fn a_role_change_mints_a_new_password_and_retires_the_old_after_the_grace_period() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({"role": "reader"}))).await;
        let old = creds(&h, "app").await;
        h.apply(&password("app", json!({"role": "admin"}))).await;
        pass(&h, &r, "app").await;
        let new = creds(&h, "app").await;
        assert_ne!(new.0, old.0, "a new password");
        let o = get(&h, "app").await;
        assert!(is_ready(&o));
        let s = o.status.clone().unwrap();
        assert_eq!((s.rotation, s.pending_deletions.len()), (2, 1));
        assert!(
            valid(&h, &old).await,
            "the old one works during the grace period"
        );
        assert!(has_event(&h, "app", "PasswordReplaced").await);
        h.advance("11m").await;
        pass(&h, &reconciler(&h), "app").await;
        assert!(!valid(&h, &old).await, "deleted after the grace period");
        assert!(
            get(&h, "app")
                .await
                .status
                .unwrap()
                .pending_deletions
                .is_empty()
        );
        assert_eq!(one_working(&h, "app").await, new);
        assert!(has_event(&h, "app", "PasswordDeleted").await);
    })
    .await;
}

#[tokio::test]
async fn a_rotation_request_rotates_once_with_a_grace_period() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"rotation": {"gracePeriod": "2m"}});
        created(&h, &r, &password("app", spec)).await;
        let old = creds(&h, "app").await;
        let annotate =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": "r1"}}});
        h.merge::<PlanetScalePassword>("app", annotate).await;
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        let new = creds(&h, "app").await;
        assert_ne!(new, old);
        let s = get(&h, "app").await.status.unwrap();
        assert_eq!(s.rotation, 2, "rotated once for one request");
        assert_eq!(s.last_rotate_request.as_deref(), Some("r1"));
        assert!(
            valid(&h, &old).await && valid(&h, &new).await,
            "both work within the grace period"
        );
        assert!(has_event(&h, "app", "Rotated").await);
        h.advance("3m").await;
        pass(&h, &reconciler(&h), "app").await;
        assert!(!valid(&h, &old).await);
        assert_eq!(one_working(&h, "app").await, new);
    })
    .await;
}

#[tokio::test]
async fn a_password_with_a_ttl_is_renewed_at_half_life() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({"ttl": "1h"}))).await;
        let c = creds(&h, "app").await;
        let first = get(&h, "app")
            .await
            .status
            .unwrap()
            .expires_at
            .expect("expiresAt");
        h.advance("29m").await;
        pass(&h, &reconciler(&h), "app").await;
        assert_eq!(
            h.calls(Some("renew_password")).await,
            0,
            "not before half-life"
        );
        h.advance("2m").await;
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        assert_eq!(h.calls(Some("renew_password")).await, 1);
        pass(&h, &r, "app").await;
        let o = get(&h, "app").await;
        assert!(o.status.clone().unwrap().expires_at.expect("expiresAt") > first);
        assert!(is_ready(&o));
        assert_eq!(one_working(&h, "app").await, c, "renewed, not replaced");
        assert!(has_event(&h, "app", "Renewed").await);
    })
    .await;
}

#[tokio::test]
async fn a_deleted_secret_is_healed_with_a_new_password() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        let old = creds(&h, "app").await;
        h.api::<Secret>()
            .delete("app", &Default::default())
            .await
            .expect("delete Secret");
        pass(&h, &r, "app").await;
        let new = working(&h, "app", "app", 2).await;
        assert_ne!(
            new.0, old.0,
            "its plaintext was lost with the Secret: a new password"
        );
        assert!(
            valid(&h, &old).await,
            "running clients keep the old one for the grace period"
        );
        assert!(has_event(&h, "app", "SecretHealed").await);
        assert_eq!(get(&h, "app").await.status.unwrap().rotation, 2);
    })
    .await;
}

#[tokio::test]
async fn an_edited_secret_is_healed() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        let patch = json!({"stringData": {"password": "pscale_pw_typo"}});
        h.api::<Secret>()
            .patch("app", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("edit Secret");
        pass(&h, &r, "app").await;
        let c = working(&h, "app", "app", 2).await;
        assert_ne!(c.1, "pscale_pw_typo");
        assert!(has_event(&h, "app", "SecretHealed").await);
    })
    .await;
}

#[tokio::test]
async fn a_renamed_secret_moves_and_the_old_one_goes() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        h.apply(&password("app", json!({"secret": {"name": "app-db"}})))
            .await;
        pass(&h, &r, "app").await;
        assert!(
            secret(&h, "app").await.is_none(),
            "the old Secret (Owner) is deleted"
        );
        working(&h, "app", "app-db", 2).await;
        let s = get(&h, "app").await.status.unwrap();
        assert_eq!(s.secret_name.as_deref(), Some("app-db"));
    })
    .await;
}

#[tokio::test]
async fn a_wiped_status_adopts_the_password_in_the_secret() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        let c = creds(&h, "app").await;
        let wiped = json!({"passwordId": null, "passwordName": null, "rotation": 0,
            "credentialsHash": null, "username": null, "conditions": null});
        patch_status(&h, "app", wiped).await;
        let creates = h.calls(Some("create_password")).await;
        let r = reconciler(&h);
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        assert_eq!(
            h.calls(Some("create_password")).await,
            creates,
            "adopted, not created"
        );
        assert_eq!(one_working(&h, "app").await, c);
        assert!(is_ready(&get(&h, "app").await));
    })
    .await;
}

#[tokio::test]
async fn a_foreign_secret_is_left_alone_and_reported() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let foreign = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some("app".into()),
                ..Default::default()
            },
            string_data: Some([("username".to_string(), "someone".to_string())].into()),
            ..Default::default()
        };
        h.api::<Secret>()
            .create(&Default::default(), &foreign)
            .await
            .expect("create");
        applied(&h, &r, &password("app", json!({}))).await;
        pass(&h, &r, "app").await;
        let o = get(&h, "app").await;
        assert_eq!(ready(&o), ("False".into(), "SecretConflict".into()));
        assert!(
            live(&h, &o).await.is_empty(),
            "no password for a Secret we cannot write"
        );
        assert_eq!(
            value(&secret(&h, "app").await.unwrap(), "username").as_deref(),
            Some("someone")
        );
    })
    .await;
}

#[tokio::test]
async fn a_paused_password_changes_nothing() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(&h, &r, &password("app", json!({}))).await;
        let pause =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/paused": "true"}}});
        h.merge::<PlanetScalePassword>("app", pause).await;
        h.api::<Secret>()
            .delete("app", &Default::default())
            .await
            .expect("delete Secret");
        let calls = h.calls(None).await;
        pass(&h, &r, "app").await;
        assert!(secret(&h, "app").await.is_none(), "not healed while paused");
        assert_eq!(h.calls(None).await, calls);
        assert_eq!(condition(&get(&h, "app").await, "Paused").0, "True");
        let resume =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/paused": null}}});
        h.merge::<PlanetScalePassword>("app", resume).await;
        pass(&h, &r, "app").await;
        working(&h, "app", "app", 2).await;
    })
    .await;
}

#[tokio::test]
async fn delete_policy_delete_deletes_every_password_and_the_secret() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        created(
            &h,
            &r,
            &password("app", json!({"rotation": {"gracePeriod": "1h"}})),
        )
        .await;
        h.apply(&password(
            "app",
            json!({"role": "admin", "rotation": {"gracePeriod": "1h"}}),
        ))
        .await;
        pass(&h, &r, "app").await;
        let o = get(&h, "app").await;
        assert_eq!(
            live(&h, &o).await.len(),
            2,
            "the replaced one is in its grace period"
        );
        delete(&h, "app").await;
        pass(&h, &r, "app").await;
        assert!(
            h.get::<PlanetScalePassword>("app").await.is_none(),
            "finalizer removed"
        );
        assert!(live(&h, &o).await.is_empty(), "both deleted in PlanetScale");
        assert!(
            secret(&h, "app").await.is_none(),
            "the Secret (Owner) is deleted"
        );
        assert!(has_event(&h, "app", "PasswordsDeleted").await);
    })
    .await;
}

#[tokio::test]
async fn delete_policy_retain_keeps_the_password() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"deletionPolicy": "Retain", "secret": {"creationPolicy": "Orphan"}});
        let o = created(&h, &r, &password("app", spec)).await;
        let c = creds(&h, "app").await;
        delete(&h, "app").await;
        pass(&h, &r, "app").await;
        assert!(
            h.get::<PlanetScalePassword>("app").await.is_none(),
            "finalizer removed"
        );
        assert_eq!(live(&h, &o).await.len(), 1, "retained in PlanetScale");
        assert_eq!(creds(&h, "app").await, c, "the orphaned Secret still works");
        assert!(valid(&h, &c).await);
    })
    .await;
}
