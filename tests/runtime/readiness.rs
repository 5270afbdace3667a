//! `/readyz` with leader election, as the chart runs it: ready as a standby while another
//! replica holds the Lease; once this replica leads, not ready — naming the cache — while a
//! cache cannot sync (here: RBAC stops the password watch), and ready once it has synced.
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::rbac::v1::Role;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use crate::installed::{Installed, values};
use crate::support::{self, Emulator, Operator};

const LEASE: &str = "planetscale-operator";

#[tokio::test]
async fn readyz_reports_standby_then_waits_for_every_cache_once_leading() {
    support::install_crds().await;
    let emu = Emulator::start(&[]).await;
    support::with_temp_ns(|client, ns| async move {
        let extra = json!({"watchNamespaces": [ns]});
        let installed = Installed::install(&client, &ns, &values(&emu, extra)).await;
        // Another replica holds the Lease (for an hour): this one stands by.
        let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
        let now = k8s_openapi::jiff::Timestamp::now();
        let held: Lease = serde_json::from_value(json!({
            "metadata": {"name": LEASE},
            "spec": {"holderIdentity": "someone-else", "leaseDurationSeconds": 3600,
                     "acquireTime": now.to_string(), "renewTime": now.to_string()},
        }))
        .unwrap();
        leases
            .create(&PostParams::default(), &held)
            .await
            .expect("create Lease");
        let op = installed.start(&[]);
        let standby = "ready: standby, caches start when this replica leads\n";
        wait_readyz(&op, 200, standby).await;

        // While it stands by, RBAC stops it from listing and watching passwords.
        let role = installed
            .release
            .deployment(&client)
            .await
            .metadata
            .name
            .unwrap();
        let rules = revoke_password_watch(&client, &ns, &role).await;
        let released = Instant::now();
        let release = json!({"spec": {"holderIdentity": null}});
        leases
            .patch(LEASE, &PatchParams::default(), &Patch::Merge(&release))
            .await
            .expect("release the Lease");
        let waiting =
            format!("not ready: leader, waiting for caches to sync: PlanetScalePassword in {ns}\n");
        wait_readyz(&op, 503, &waiting).await;
        println!(
            "leading and waiting for the password cache {:?} after the Lease was released",
            released.elapsed()
        );
        let m = op.metrics().await;
        assert_eq!(m.value("planetscale_operator_leader", &[]), Some(1.0));

        // Access back: the watch retries, the cache syncs, the replica is ready.
        restore(&client, &ns, &role, rules).await;
        let restored = Instant::now();
        wait_readyz(&op, 200, "ready: leader, caches synced\n").await;
        println!("ready {:?} after the access came back", restored.elapsed());
        drop(op);
        drop(installed);
    })
    .await;
}

/// Polls `/readyz` until it answers `code` with `body`; on timeout shows the last answer.
async fn wait_readyz(op: &Operator, code: u16, body: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = vec![];
    loop {
        let got = op.readyz().await;
        if got == (code, body.to_string()) {
            return;
        }
        if seen.last() != Some(&got) {
            seen.push(got);
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never answered {code} {body:?}; answers in order: {seen:#?}\n--- log ---\n{}",
            op.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Takes list and watch of `planetscalepasswords` out of the chart's Role; returns its rules
/// as they were.
async fn revoke_password_watch(client: &Client, ns: &str, role: &str) -> serde_json::Value {
    let roles: Api<Role> = Api::namespaced(client.clone(), ns);
    let original = roles.get(role).await.expect("the chart's Role");
    let before = serde_json::to_value(&original.rules).unwrap();
    // The rule for the three kinds loses the passwords; a rule of their own keeps every other
    // verb.
    let mut rules = before.as_array().unwrap().clone();
    let kinds = rules
        .iter_mut()
        .find(|r| {
            r["resources"]
                .as_array()
                .unwrap()
                .contains(&json!("planetscalepasswords"))
        })
        .expect("a rule for planetscalepasswords");
    let mut passwords = kinds.clone();
    kinds["resources"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r != "planetscalepasswords");
    passwords["resources"] = json!(["planetscalepasswords"]);
    let verbs = passwords["verbs"].as_array_mut().unwrap();
    verbs.retain(|v| v != "list" && v != "watch");
    rules.push(passwords);
    let patch = json!({"rules": rules});
    roles
        .patch(role, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch Role");
    before
}

async fn restore(client: &Client, ns: &str, role: &str, rules: serde_json::Value) {
    let roles: Api<Role> = Api::namespaced(client.clone(), ns);
    let patch = json!({"rules": rules});
    roles
        .patch(role, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("restore Role");
}
