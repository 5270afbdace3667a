//! The password reconciler on a shared cluster: nothing a reader of the resource sees depends
//! on the password's value; Secrets we do not own stay not ours; a password PlanetScale
//! answers 404 for is not forgotten while it may still exist.
use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{ObjectMeta, PostParams};
use planetscale_operator::connection::PLACEHOLDER_PASSWORD;
use planetscale_operator::controller::password::Passwords;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::{Value, json};

use crate::harness::{Harness, with_harness};
use crate::password::{
    applied, condition, created, creds, delete, get, live, one_working, pass, password, ready,
    reconciler, secret, value,
};

/// What a reader of the resource (not of its Secret) can observe, with the resource's own
/// name, uid and password identity taken out: conditions, status, events, the Secret's keys.
async fn observables(h: &Harness, name: &str) -> Value {
    let o = get(h, name).await;
    let uid = o.uid().unwrap();
    let normalize = |s: &str| s.replace(&uid, "UID").replace(name, "NAME");
    let mut status = serde_json::to_value(o.status.clone().unwrap()).unwrap();
    let map = status.as_object_mut().unwrap();
    for identity in [
        "passwordId",
        "passwordName",
        "username",
        "credentialsHash",
        "lastRotatedAt",
        "nextRotationAt",
        "expiresAt",
    ] {
        map.remove(identity);
    }
    let conditions: Vec<Value> = o
        .status
        .unwrap()
        .conditions
        .iter()
        .map(|c| json!([c.type_, c.status, c.reason, normalize(&c.message)]))
        .collect();
    map.remove("conditions");
    let events: Vec<Value> = h
        .events(name)
        .await
        .into_iter()
        .map(|(r, m)| json!([r, normalize(&m)]))
        .collect();
    let s = secret(h, name).await.expect("Secret");
    let keys: Vec<String> = s.data.unwrap_or_default().into_keys().collect();
    let status: Value = serde_json::from_str(&normalize(&status.to_string())).unwrap();
    json!({"status": status, "conditions": conditions, "events": events, "keys": keys})
}

fn with_template(template: &str) -> Value {
    json!({"secret": {"template": {"data": {"PROBE": template}}}})
}

/// A position and character where the first password differs from the second and from the
/// placeholder templates are judged against.
fn distinguishing(a: &str, b: &str) -> (usize, char) {
    let placeholder: Vec<char> = PLACEHOLDER_PASSWORD.chars().collect();
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    (10..a.len().min(b.len()).min(placeholder.len()))
        .find(|&i| a[i] != b[i] && a[i] != placeholder[i])
        .map(|i| (i, a[i]))
        .expect("two random passwords differ somewhere")
}

#[tokio::test]
async fn template_edits_look_the_same_whatever_the_password() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let names = ["first-pw", "second-pw"];
        for name in names {
            created(&h, &r, &password(name, json!({}))).await;
        }
        let (pa, pb) = (creds(&h, names[0]).await.1, creds(&h, names[1]).await.1);
        let (i, c) = distinguishing(&pa, &pb);
        let long = "0123456789".repeat(10);
        let edits = [
            // Fails only for the first password (an undefined name in its branch).
            format!("{{% if password[{i}] == \"{c}\" %}}{{{{ nope }}}}{{% else %}}ok{{% endif %}}"),
            // Renders differently for each.
            format!("{{% if password[{i}] == \"{c}\" %}}yes{{% else %}}no{{% endif %}}"),
            // A filter that fails for the first password only (its output would be too long).
            format!(
                "{{% if password[{i}] == \"{c}\" %}}{{{{ password | replace(\"\", \"{long}\") }}}}{{% endif %}}"
            ),
            // Fails for every password: reported.
            "{{ nope }}".to_string(),
            // Back to the branch that renders differently.
            format!("{{% if password[{i}] == \"{c}\" %}}yes{{% else %}}no{{% endif %}}"),
        ];
        let mut seen = Vec::new();
        for (n, t) in edits.iter().enumerate() {
            for name in names {
                h.apply(&password(name, with_template(t))).await;
                // A failing pass is part of what is observed.
                let _ = h.pass(&r, name).await;
                let _ = h.pass(&r, name).await;
            }
            let (a, b) = (
                observables(&h, names[0]).await,
                observables(&h, names[1]).await,
            );
            assert_eq!(a, b, "edit {n} ({t}) is observed the same way for both");
            seen.push(a);
            let (sa, sb) = (
                secret(&h, names[0]).await.unwrap(),
                secret(&h, names[1]).await.unwrap(),
            );
            match n {
                0 => {
                    assert_eq!(value(&sa, "PROBE").as_deref(), Some(""), "not rendered");
                    assert_eq!(value(&sb, "PROBE").as_deref(), Some("ok"));
                }
                1 | 4 => {
                    assert_eq!(value(&sa, "PROBE").as_deref(), Some("yes"));
                    assert_eq!(value(&sb, "PROBE").as_deref(), Some("no"));
                }
                2 => {
                    assert_eq!(value(&sa, "PROBE").as_deref(), Some(""), "not rendered");
                    assert_eq!(value(&sb, "PROBE").as_deref(), Some(""));
                }
                _ => {}
            }
        }
        let last = &seen[3]["conditions"];
        assert!(
            last.to_string().contains("TemplateFailed"),
            "a template that fails for every password is reported: {last}"
        );
        let ok = &seen[1]["conditions"];
        assert!(!ok.to_string().contains("TemplateFailed"), "{ok}");
        for name in names {
            one_working(&h, name).await;
        }
    })
    .await;
}

async fn user_secret(h: &Harness, name: &str, type_: Option<&str>, data: &[(&str, &str)]) {
    let s = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        type_: type_.map(str::to_string),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Default::default()
    };
    h.api::<Secret>()
        .create(&PostParams::default(), &s)
        .await
        .expect("create Secret");
}

fn merge_into(secret: &str) -> Value {
    json!({"secret": {"name": secret, "creationPolicy": "Merge"}})
}

#[tokio::test]
async fn a_merged_secret_is_not_taken_over_when_the_policy_becomes_owner() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        user_secret(&h, "shared", None, &[("keep", "me")]).await;
        created(&h, &r, &password("app", merge_into("shared"))).await;
        let owner = json!({"secret": {"name": "shared", "creationPolicy": "Owner"}});
        h.apply(&password("app", owner)).await;
        pass(&h, &r, "app").await;
        pass(&h, &r, "app").await;
        let s = secret(&h, "shared").await.unwrap();
        assert!(
            s.owner_references().is_empty(),
            "no owner reference: {:?}",
            s.owner_references()
        );
        assert_eq!(value(&s, "keep").as_deref(), Some("me"));
        assert!(crate::password::is_ready(&get(&h, "app").await));
        let o = get(&h, "app").await;
        delete(&h, "app").await;
        pass(&h, &r, "app").await;
        assert!(h.get::<PlanetScalePassword>("app").await.is_none());
        let s = secret(&h, "shared")
            .await
            .expect("a Secret merged into is never deleted as a whole");
        let keys: Vec<String> = s.data.unwrap_or_default().into_keys().collect();
        assert_eq!(keys, ["keep"], "only our keys went");
        assert!(live(&h, &o).await.is_empty());
    })
    .await;
}

async fn refused(h: &Harness, r: &Passwords, name: &str, reason: &str) -> String {
    applied(h, r, &password(name, merge_into(name))).await;
    pass(h, r, name).await;
    let o = get(h, name).await;
    assert_eq!(ready(&o), ("False".into(), reason.into()), "{:?}", o.status);
    assert_eq!(condition(&o, "SecretSynced").1, reason);
    assert!(
        h.event_reasons(name).await.iter().any(|e| e == reason),
        "an event {reason}: {:?}",
        h.events(name).await
    );
    assert!(live(h, &o).await.is_empty(), "no password is created");
    let c = o.status.unwrap().conditions;
    c.iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .message
        .clone()
}

#[tokio::test]
async fn merge_refuses_a_tls_secret() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let tls = [("tls.crt", "cert"), ("tls.key", "key")];
        user_secret(&h, "cert", Some("kubernetes.io/tls"), &tls).await;
        let message = refused(&h, &r, "cert", "SecretTypeRefused").await;
        assert!(message.contains("kubernetes.io/tls"), "{message}");
        let s = secret(&h, "cert").await.unwrap();
        let keys: Vec<String> = s.data.clone().unwrap_or_default().into_keys().collect();
        assert_eq!(keys, ["tls.crt", "tls.key"], "untouched");
        assert!(
            s.annotations().is_empty(),
            "untouched: {:?}",
            s.annotations()
        );
    })
    .await;
}

#[tokio::test]
async fn merge_refuses_a_key_another_writer_owns() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        user_secret(&h, "app", None, &[("password", "theirs"), ("other", "x")]).await;
        let message = refused(&h, &r, "app", "SecretKeyConflict").await;
        assert!(message.contains("password (written by"), "{message}");
        let s = secret(&h, "app").await.unwrap();
        assert_eq!(
            value(&s, "password").as_deref(),
            Some("theirs"),
            "untouched"
        );
    })
    .await;
}

#[tokio::test]
async fn a_password_deleted_in_planetscale_is_replaced_and_confirmed_gone() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let o = created(&h, &r, &password("app", json!({}))).await;
        let id = o.status.clone().unwrap().password_id.unwrap();
        h.planetscale()
            .delete_password("acme", "shop", "main", &id)
            .await
            .expect("delete in PlanetScale");
        let fresh = reconciler(&h);
        pass(&h, &fresh, "app").await;
        pass(&h, &fresh, "app").await;
        one_working(&h, "app").await;
        let s = get(&h, "app").await.status.unwrap();
        assert_ne!(s.password_id.as_deref(), Some(id.as_str()));
        assert!(s.pending_deletions.is_empty(), "{:?}", s.pending_deletions);
    })
    .await;
}

#[tokio::test]
async fn passwords_out_of_reach_are_not_forgotten_on_deletion() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let o = created(&h, &r, &password("app", json!({}))).await;
        // The credentials lose access: PlanetScale answers 404 for everything of the database.
        for op in [
            "list_passwords",
            "delete_password",
            "get_branch",
            "get_database",
        ] {
            h.fault(json!({"operation": op, "status": 404})).await;
        }
        delete(&h, "app").await;
        assert!(h.pass(&r, "app").await.is_err(), "deletion is retried");
        let stuck = get(&h, "app").await;
        assert_eq!(ready(&stuck).1, "PasswordUnreachable", "{:?}", stuck.status);
        assert_eq!(live(&h, &o).await.len(), 1, "it still exists");
        h.clear_faults().await;
        pass(&h, &r, "app").await;
        assert!(h.get::<PlanetScalePassword>("app").await.is_none());
        assert!(live(&h, &o).await.is_empty(), "deleted once reachable");
    })
    .await;
}
