//! Rotation without downtime, by interval and by annotation: a poller reads the Secret all
//! along and checks every value it sees with the emulator; restart targets get the new hash.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::{Api, Client};
use planetscale_operator::controller::password::restart::annotation_key;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::json;

use crate::common::*;
use crate::support::with_operator;

/// Reads the Secret `app` until stopped and checks each value at once; returns every
/// (username, valid) it saw.
fn poll_secret(
    client: Client,
    ns: String,
    emulator_url: String,
    seen: Seen,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(String, bool)>> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut observed = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            if let Some(c) = secret(&client, &ns, "app")
                .await
                .and_then(|s| seen.note(&s))
            {
                let body = json!({"organization": "acme", "database": "shop", "branch": "main",
                    "username": c.0, "password": c.1});
                let r = http
                    .post(format!("{emulator_url}/_emulator/verify-password"))
                    .json(&body)
                    .send()
                    .await
                    .expect("emulator reachable");
                let v: serde_json::Value = r.json().await.expect("json");
                observed.push((c.0, v["valid"] == json!(true)));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        observed
    })
}

#[tokio::test]
async fn rotation_by_interval_and_by_annotation_never_leaves_an_invalid_secret() {
    with_operator(&[], FAST_RESYNC, |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        let spec = json!({"rotation": {"interval": "2h", "gracePeriod": "5m"}});
        apply(&api, &password("app", spec)).await;
        let obj = wait_ready(&api, "app").await;
        let n1 = password_name(&obj);
        let c1 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        let rotated_at = |o: &PlanetScalePassword| {
            let s = o.status.as_ref().expect("status");
            let last = s.last_rotated_at.as_ref().expect("lastRotatedAt").0;
            let next = s.next_rotation_at.as_ref().expect("nextRotationAt").0;
            (last.as_second(), next.as_second())
        };
        let (last1, next1) = rotated_at(&obj);
        assert_eq!(
            next1,
            last1 + 7200,
            "nextRotationAt = lastRotatedAt + interval"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let poller = poll_secret(
            client.clone(),
            ns.clone(),
            emu.url.clone(),
            seen.clone(),
            stop.clone(),
        );

        emu.advance("2h").await;
        let obj = wait_until(&api, "app", "rotated", |o| password_name(o) != n1).await;
        let n2 = password_name(&obj);
        let c2 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c1.0).await;
        let s = obj.status.clone().unwrap();
        assert_eq!(s.pending_deletions.len(), 1, "{s:?}");
        assert_eq!(
            s.pending_deletions[0].password_name.as_deref(),
            Some(n1.as_str())
        );
        assert!(
            valid(&emu, "main", &c1).await,
            "the old password works during the grace period"
        );
        let note = wait_event(&client, &ns, "app", "Rotated").await;
        assert!(note.contains("interval"), "{note}");
        // lastRotatedAt moved to the rotation (emulator time, 2 h on), and the next one follows.
        let (last2, next2) = rotated_at(&obj);
        let clock = emu.admin_get("/_emulator/clock").await;
        let now = chrono::DateTime::parse_from_rfc3339(clock["now"].as_str().expect("now"))
            .expect("RFC 3339")
            .timestamp();
        assert!(
            last2 >= last1 + 7200 && last2 <= now,
            "lastRotatedAt {last2}: not between {} and the emulator's now {now}",
            last1 + 7200
        );
        assert_eq!(
            next2,
            last2 + 7200,
            "nextRotationAt = lastRotatedAt + interval"
        );

        emu.advance("6m").await;
        wait_until(&api, "app", "old password deleted", |o| {
            o.status
                .as_ref()
                .is_some_and(|s| s.pending_deletions.is_empty())
        })
        .await;
        assert!(!valid(&emu, "main", &c1).await);

        let rotate =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": "r1"}}});
        merge(&api, "app", rotate).await;
        let obj = wait_until(&api, "app", "rotated on request", |o| {
            password_name(o) != n2 && is_ready(o)
        })
        .await;
        assert_eq!(
            obj.status.as_ref().unwrap().last_rotate_request.as_deref(),
            Some("r1")
        );
        wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c2.0).await;
        assert!(valid(&emu, "main", &c2).await, "grace period again");

        stop.store(true, Ordering::Relaxed);
        let observed = poller.await.expect("poller");
        let invalid: Vec<_> = observed.iter().filter(|(_, ok)| !ok).collect();
        assert!(
            invalid.is_empty(),
            "the Secret held an invalid password: {invalid:?}"
        );
        let users: std::collections::BTreeSet<_> = observed.iter().map(|(u, _)| u).collect();
        assert!(users.len() >= 2, "the poller saw the rotations: {users:?}");
        assert_eq!(
            live_passwords(&emu, &obj).await.len(),
            2,
            "current and one in grace"
        );
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}

fn deployment(name: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "example.invalid/app"}]}}},
    }))
    .unwrap()
}

fn statefulset(name: &str) -> StatefulSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
        "spec": {"serviceName": name, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "db", "image": "example.invalid/db"}]}}},
    }))
    .unwrap()
}

fn template_annotation(value: &serde_json::Value, key: &str) -> Option<String> {
    let a = value.pointer("/spec/template/metadata/annotations")?;
    a.get(key)?.as_str().map(str::to_string)
}

#[tokio::test]
async fn restart_targets_get_the_credentials_hash_and_roll_on_rotation() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
        let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
        deployments
            .create(&Default::default(), &deployment("web"))
            .await
            .expect("deployment");
        statefulsets
            .create(&Default::default(), &statefulset("worker"))
            .await
            .expect("sts");
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let spec = json!({"restartOnRotation": [{"kind": "Deployment", "name": "web"},
            {"kind": "StatefulSet", "name": "worker"}, {"kind": "Deployment", "name": "absent"}]});
        apply(&api, &password("app", spec)).await;
        let obj = wait_ready(&api, "app").await;
        let key = annotation_key("app");
        let hash1 = obj.status.unwrap().credentials_hash.expect("hash");
        let annotations = || async {
            let d = serde_json::to_value(deployments.get("web").await.unwrap()).unwrap();
            let s = serde_json::to_value(statefulsets.get("worker").await.unwrap()).unwrap();
            (template_annotation(&d, &key), template_annotation(&s, &key))
        };
        assert_eq!(
            annotations().await,
            (Some(hash1.clone()), Some(hash1.clone()))
        );

        merge(
            &api,
            "app",
            json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": "1"}}}),
        )
        .await;
        let obj = wait_until(&api, "app", "a new credentials hash", |o| {
            is_ready(o)
                && o.status.as_ref().and_then(|s| s.credentials_hash.clone()) != Some(hash1.clone())
        })
        .await;
        let hash2 = obj.status.unwrap().credentials_hash.unwrap();
        crate::support::eventually(
            READY,
            "both workloads annotated with the new hash",
            || async {
                let seen = annotations().await;
                if seen == (Some(hash2.clone()), Some(hash2.clone())) {
                    Ok(())
                } else {
                    Err(seen)
                }
            },
        )
        .await;
        wait_event(&client, &ns, "app", "RestartTriggered").await;
        let seen = Seen::default();
        wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn a_replica_password_works_and_turning_replica_off_replaces_it() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        apply(
            &api,
            &password("app", json!({"role": "reader", "replica": true})),
        )
        .await;
        let first = wait_ready(&api, "app").await;
        let c1 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        let live = live_passwords(&emu, &first).await;
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(live[0]["username"].as_str(), Some(c1.0.as_str()));
        let id1 = password_id(&first);
        assert!(
            is_replica(&emu, &id1).await,
            "a replica password in PlanetScale"
        );

        merge(&api, "app", json!({"spec": {"replica": false}})).await;
        let obj = wait_until(&api, "app", "a new primary password", |o| {
            is_ready(o) && password_name(o) != password_name(&first)
        })
        .await;
        wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c1.0).await;
        let id2 = password_id(&obj);
        assert!(!is_replica(&emu, &id2).await, "a primary password now");
        assert_eq!(
            live_passwords(&emu, &obj).await.len(),
            2,
            "the replica one in its grace period"
        );
        wait_event_with(&client, &ns, "PasswordReplaced", "replica").await;
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn a_role_change_mints_a_new_password_and_retires_the_old_one() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        apply(&api, &password("app", json!({"role": "reader"}))).await;
        let first = wait_ready(&api, "app").await;
        let c1 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        merge(&api, "app", json!({"spec": {"role": "admin"}})).await;
        let obj = wait_until(&api, "app", "a new admin password", |o| {
            is_ready(o) && password_name(o) != password_name(&first)
        })
        .await;
        wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c1.0).await;
        let live = live_passwords(&emu, &obj).await;
        let roles: Vec<_> = live.iter().map(|p| p["role"].as_str().unwrap()).collect();
        assert_eq!(
            live.len(),
            2,
            "the reader one is in its grace period: {roles:?}"
        );
        assert!(
            roles.contains(&"admin") && roles.contains(&"reader"),
            "{roles:?}"
        );
        assert_eq!(
            obj.status
                .unwrap()
                .role
                .map(planetscale_operator::crd::PasswordRole::as_str),
            Some("admin")
        );
        wait_event_with(&client, &ns, "PasswordReplaced", "role").await;
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}
