//! Crash safety: a create whose response is lost, and an operator killed after PlanetScale
//! created the password but before the Secret was written, both end with exactly one live
//! password whose credentials are in the Secret.
use std::time::{Duration, Instant};

use kube::{Api, ResourceExt};
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::{Value, json};

use crate::common::*;
use crate::support::{Emulator, Operator, with_operator};

/// Every password of the resource in the emulator, deleted or not.
async fn all_passwords(emu: &Emulator, obj: &PlanetScalePassword) -> Vec<Value> {
    let prefix = format!("k8s-{}-", obj.uid().expect("uid"));
    let world = emu.world().await;
    let all = world["passwords"].as_array().cloned().unwrap_or_default();
    all.into_iter()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with(&prefix)))
        .collect()
}

async fn clear_faults(emu: &Emulator) {
    let r = reqwest::Client::new()
        .delete(format!("{}/_emulator/faults", emu.url))
        .send()
        .await
        .expect("emulator reachable");
    assert!(r.status().is_success(), "clear faults: {}", r.status());
}

#[tokio::test]
async fn a_lost_create_response_leaves_exactly_one_password() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let drop = json!({"operation": "create_password", "drop_connection": true, "count": 1});
        emu.admin_post("/_emulator/faults", drop).await;
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        apply(&api, &password("app", json!({}))).await;
        let obj = wait_ready(&api, "app").await;
        let seen = Seen::default();
        let c = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        let all = all_passwords(&emu, &obj).await;
        assert_eq!(all.len(), 2, "the lost one and its replacement: {all:?}");
        let live = live_passwords(&emu, &obj).await;
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(live[0]["username"].as_str(), Some(c.0.as_str()));
        let s = obj.status.unwrap();
        assert_eq!(live[0]["id"].as_str(), s.password_id.as_deref());
        assert_eq!(s.rotation, 1, "the retry reused the counter");
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn an_operator_killed_between_create_and_secret_write_recovers_on_restart() {
    with_operator(&[], &[], |client, ns, emu, mut op| async move {
        // The create is processed but its response never arrives; lookups are slowed down,
        // so the operator is still before its retry when it is killed.
        let drop = json!({"operation": "create_password", "drop_connection": true, "count": 1});
        emu.admin_post("/_emulator/faults", drop).await;
        let slow = json!({"operation": "list_passwords", "latency": "3s"});
        emu.admin_post("/_emulator/faults", slow).await;
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        apply(&api, &password("app", json!({}))).await;
        let obj = api.get("app").await.expect("get");
        let deadline = Instant::now() + Duration::from_secs(30);
        let orphan = loop {
            if let Some(p) = all_passwords(&emu, &obj).await.first() {
                break p.clone();
            }
            assert!(
                Instant::now() < deadline,
                "the operator never created the password"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        op.process.kill_hard();
        assert!(
            secret(&client, &ns, "app").await.is_none(),
            "killed before the Secret was written"
        );
        let recorded = api.get("app").await.unwrap().status.unwrap_or_default();
        assert_eq!(
            recorded.rotation, 1,
            "the counter was recorded before the create"
        );
        assert_eq!(recorded.password_id, None);
        clear_faults(&emu).await;

        let restarted = Operator::start(&ns, &emu, &[]);
        let obj = wait_ready(&api, "app").await;
        let seen = Seen::default();
        let c = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        let live = live_passwords(&emu, &obj).await;
        assert_eq!(live.len(), 1, "{live:?}");
        assert_ne!(
            live[0]["id"], orphan["id"],
            "the orphan's plaintext is lost: replaced"
        );
        assert_eq!(live[0]["username"].as_str(), Some(c.0.as_str()));
        assert_eq!(live[0]["name"], orphan["name"], "same name: same counter");
        let all = all_passwords(&emu, &obj).await;
        let gone = all
            .iter()
            .find(|p| p["id"] == orphan["id"])
            .expect("orphan");
        assert_eq!(gone["deleted"], json!(true));
        assert_no_leaks(&client, &ns, &[&op, &restarted], &seen).await;
        teardown(&api).await;
    })
    .await;
}

/// The state an operator killed after writing the Secret, but before recording the password,
/// leaves behind; and the state of one killed after recording the counter, before creating.
#[tokio::test]
async fn a_restart_adopts_a_written_password_and_finishes_a_recorded_rotation() {
    with_operator(&[], &[], |client, ns, emu, mut op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        apply(&api, &password("app", json!({}))).await;
        let first = wait_ready(&api, "app").await;
        let seen = Seen::default();
        let c1 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        let id1 = first.status.clone().unwrap().password_id;
        op.process.kill_hard();
        let unrecorded = json!({"status": {"passwordId": null, "passwordName": null}});
        api.patch_status(
            "app",
            &Default::default(),
            &kube::api::Patch::Merge(&unrecorded),
        )
        .await
        .expect("patch status");

        let mut second = Operator::start(&ns, &emu, &[]);
        let obj = wait_until(&api, "app", "a recorded password", |o| {
            o.status.as_ref().is_some_and(|s| s.password_id.is_some())
        })
        .await;
        let s = obj.status.clone().unwrap();
        assert_eq!(s.password_id, id1, "the password in the Secret was adopted");
        assert_eq!((s.rotation, s.pending_deletions.len()), (1, 0));
        let sec = secret(&client, &ns, "app").await.unwrap();
        assert_eq!(creds(&sec), Some(c1.clone()));
        assert_eq!(
            all_passwords(&emu, &obj).await.len(),
            1,
            "nothing created or deleted"
        );

        second.process.kill_hard();
        let counted = json!({"status": {"rotation": 2}});
        api.patch_status(
            "app",
            &Default::default(),
            &kube::api::Patch::Merge(&counted),
        )
        .await
        .expect("patch status");
        let third = Operator::start(&ns, &emu, &[]);
        let name2 = format!("k8s-{}-2", obj.uid().unwrap());
        let obj = wait_until(&api, "app", "password 2 recorded", |o| {
            is_ready(o) && password_name(o) == name2
        })
        .await;
        let c2 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c1.0).await;
        assert!(
            valid(&emu, "main", &c1).await,
            "the replaced one is in its grace period"
        );
        assert_eq!(obj.status.unwrap().pending_deletions.len(), 1);
        assert_eq!(
            live_passwords(&emu, &api.get("app").await.unwrap())
                .await
                .len(),
            2
        );
        assert!(valid(&emu, "main", &c2).await);
        assert_no_leaks(&client, &ns, &[&op, &second, &third], &seen).await;
        teardown(&api).await;
    })
    .await;
}
