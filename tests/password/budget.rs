//! The API budget: a Ready password costs no API call between resyncs, however often it is
//! reconciled; at a resync the passwords of a database share one list; a password deleted in
//! PlanetScale is noticed at the resync through that list (confirmed with one GET) and
//! replaced; and where the database list is missing (404) the operator falls back to GETs.
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::{Value, json};

use crate::common::*;
use crate::support::{self, Emulator, with_operator};

/// Resync every 2 seconds: a view of a password is fresh for 1 second.
const RESYNC_2S: &[(&str, &str)] = &[("PSO_RESYNC_INTERVAL", "2s")];

/// Requests the emulator answered for `operation` (every operation when `None`).
async fn calls(emu: &Emulator, operation: Option<&str>) -> u64 {
    let stats = emu.stats().await;
    let ops = stats["operations"].as_object().cloned().unwrap_or_default();
    ops.iter()
        .filter(|(name, _)| operation.is_none_or(|o| o == name.as_str()))
        .map(|(_, v)| v["total"].as_u64().unwrap_or(0))
        .sum()
}

async fn reset_calls(emu: &Emulator) {
    let r = reqwest::Client::new()
        .delete(format!("{}/_emulator/stats", emu.url))
        .send()
        .await
        .expect("emulator reachable");
    assert!(r.status().is_success(), "reset stats: {}", r.status());
}

/// The resourceVersions of the namespace's `PlanetScalePassword`s and Secrets, by kind and name.
async fn versions(client: &kube::Client, ns: &str) -> Vec<(String, String)> {
    let lp = kube::api::ListParams::default();
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut out = Vec::new();
    for p in passwords.list(&lp).await.expect("list passwords") {
        out.push((
            format!("password/{}", p.name_any()),
            p.resource_version().unwrap_or_default(),
        ));
    }
    for s in secrets.list(&lp).await.expect("list Secrets") {
        out.push((
            format!("secret/{}", s.name_any()),
            s.resource_version().unwrap_or_default(),
        ));
    }
    out.sort();
    out
}

async fn patch_secret(client: &kube::Client, ns: &str, patch: Value) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    secrets
        .patch("app", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch Secret");
}

#[tokio::test]
async fn a_ready_password_costs_no_api_call_when_reconciled_between_resyncs() {
    // The default resync (10 minutes): every reconcile below is triggered by a change.
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        apply(
            &api,
            &password("app", json!({"secret": {"formats": ["env"]}})),
        )
        .await;
        wait_ready(&api, "app").await;
        let c = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        let created = emu.stats().await;
        assert_eq!(calls(&emu, Some("create_password")).await, 1, "{created}");
        assert_eq!(
            calls(&emu, Some("list_passwords")).await,
            0,
            "no lookup before the first create: {created}"
        );
        assert_eq!(
            calls(&emu, Some("get_password")).await,
            0,
            "the create response is the first view: {created}"
        );
        reset_calls(&emu).await;

        // An unrelated annotation, a spec change that PlanetScale does not care about (the
        // Secret's labels), and an edit of a Secret key that is not a credential.
        merge(
            &api,
            "app",
            json!({"metadata": {"annotations": {"example.com/touched": "1"}}}),
        )
        .await;
        merge(
            &api,
            "app",
            json!({"spec": {"secret": {"labels": {"team": "shop"}}}}),
        )
        .await;
        support::eventually(READY, "the Secret gets the new label", || async {
            let s = secret(&client, &ns, "app").await.expect("Secret");
            let label = s.metadata.labels.unwrap_or_default().get("team").cloned();
            if label.as_deref() == Some("shop") {
                Ok(())
            } else {
                Err(label)
            }
        })
        .await;
        wait_ready(&api, "app").await;
        patch_secret(
            &client,
            &ns,
            json!({"stringData": {"HOST": "evil.example.com"}}),
        )
        .await;
        support::eventually(READY, "HOST restored", || async {
            let s = secret(&client, &ns, "app").await.expect("Secret");
            match value(&s, "HOST") {
                Some(h) if h.ends_with(".connect.psdb.cloud") => Ok(()),
                other => Err(other),
            }
        })
        .await;
        // The reconciles our own writes trigger run in the next moments.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(calls(&emu, None).await, 0, "{}", emu.stats().await);
        let s = secret(&client, &ns, "app").await.unwrap();
        assert_eq!(creds(&s), Some(c.clone()), "the same password throughout");

        // An edited credential is still healed at once (the Secret is read every time).
        patch_secret(&client, &ns, json!({"stringData": {"password": "guess"}})).await;
        wait_secret(&client, &emu, &ns, "app", "main", &seen, |n| n.0 != c.0).await;
        wait_event(&client, &ns, "app", "SecretHealed").await;
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn ready_passwords_share_one_list_per_resync_and_a_deleted_one_is_replaced() {
    with_operator(&[], RESYNC_2S, |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        for name in ["app", "worker", "cron"] {
            let spec = json!({"secret": {"name": name}});
            apply(&api, &password(name, spec)).await;
        }
        for name in ["app", "worker", "cron"] {
            wait_ready(&api, name).await;
            wait_secret(&client, &emu, &ns, name, "main", &seen, |_| true).await;
        }

        // Idle: only database lists, about one per resync interval, shared by all three, and
        // no write to the resources or their Secrets.
        let before = versions(&client, &ns).await;
        reset_calls(&emu).await;
        tokio::time::sleep(Duration::from_secs(8)).await;
        // One snapshot: counted one after the other, a list could land in between.
        let stats = emu.stats().await;
        let lists = stats["operations"]["list_database_passwords"]["total"]
            .as_u64()
            .unwrap_or(0);
        assert_eq!(
            stats["total"].as_u64(),
            Some(lists),
            "nothing but lists: {stats}"
        );
        assert!(
            (2..=6).contains(&lists),
            "{lists} lists in 4 intervals: {stats}"
        );
        assert_eq!(
            versions(&client, &ns).await,
            before,
            "no kube writes while idle"
        );

        // Deleted outside Kubernetes: noticed at the resync and replaced.
        let obj = api.get("app").await.unwrap();
        let id = obj.status.clone().unwrap().password_id.unwrap();
        let old = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        planetscale(&emu)
            .delete_password("acme", "shop", "main", &id)
            .await
            .expect("delete in PlanetScale");
        reset_calls(&emu).await;
        wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != old.0).await;
        let note = wait_event(&client, &ns, "app", "PasswordReplaced").await;
        assert!(note.contains("deleted in PlanetScale"), "{note}");
        let stats = emu.stats().await;
        assert!(
            calls(&emu, Some("list_database_passwords")).await >= 1,
            "{stats}"
        );
        assert_eq!(
            calls(&emu, Some("get_password")).await,
            1,
            "one GET confirms what the list says: {stats}"
        );
        assert_eq!(calls(&emu, Some("create_password")).await, 1, "{stats}");
        assert_eq!(calls(&emu, Some("list_passwords")).await, 0, "{stats}");
        let obj = wait_ready(&api, "app").await;
        assert_eq!(live_passwords(&emu, &obj).await.len(), 1);
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn without_the_database_list_each_password_is_read_on_its_own() {
    with_operator(&[], RESYNC_2S, |client, ns, emu, op| async move {
        let missing =
            json!({"operation": "list_database_passwords", "status": 404, "code": "not_found"});
        emu.admin_post("/_emulator/faults", missing).await;
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        apply(&api, &password("app", json!({}))).await;
        wait_ready(&api, "app").await;
        let old = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        support::eventually(READY, "a resync by GET", || async {
            match calls(&emu, Some("get_password")).await {
                0 => Err(emu.stats().await),
                _ => Ok(()),
            }
        })
        .await;
        assert_eq!(
            calls(&emu, Some("list_database_passwords")).await,
            1,
            "a 404 is remembered: {}",
            emu.stats().await
        );

        let id = api
            .get("app")
            .await
            .unwrap()
            .status
            .unwrap()
            .password_id
            .unwrap();
        planetscale(&emu)
            .delete_password("acme", "shop", "main", &id)
            .await
            .expect("delete in PlanetScale");
        wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != old.0).await;
        wait_event(&client, &ns, "app", "PasswordReplaced").await;
        assert_eq!(calls(&emu, Some("list_database_passwords")).await, 1);
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn a_lost_status_adopts_the_password_in_the_secret_instead_of_creating_another() {
    // The first create skips the lookup by name; a Secret with credentials that the status
    // does not explain (here: a status wiped while the operator was down) brings it back.
    with_operator(&[], &[], |client, ns, emu, mut op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        apply(&api, &password("app", json!({}))).await;
        let first = wait_ready(&api, "app").await;
        let seen = Seen::default();
        let c = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        let id = first.status.clone().unwrap().password_id;
        op.process.kill_hard();
        api.patch_status(
            "app",
            &Default::default(),
            &Patch::Merge(&json!({"status": null})),
        )
        .await
        .expect("wipe the status");
        reset_calls(&emu).await;

        let second = support::Operator::start(&ns, &emu, &[]);
        let obj = wait_until(&api, "app", "a recorded password", |o| {
            is_ready(o) && o.status.as_ref().is_some_and(|s| s.password_id.is_some())
        })
        .await;
        let s = obj.status.clone().unwrap();
        assert_eq!(s.password_id, id, "the password in the Secret was adopted");
        assert_eq!(s.rotation, 1);
        let sec = secret(&client, &ns, "app").await.unwrap();
        assert_eq!(creds(&sec), Some(c));
        let stats = emu.stats().await;
        assert_eq!(calls(&emu, Some("list_passwords")).await, 1, "{stats}");
        assert_eq!(calls(&emu, Some("create_password")).await, 0, "{stats}");
        assert_eq!(live_passwords(&emu, &obj).await.len(), 1);
        assert_no_leaks(&client, &ns, &[&op, &second], &seen).await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn two_credentials_secrets_with_the_same_token_share_one_rate_budget() {
    // A budget of 60 requests a minute: one a second, a burst of one.
    let env = [("PSO_API_RATE_LIMIT", "60")];
    with_operator(&[], &env, |client, ns, emu, op| async move {
        for name in ["team-a", "team-b"] {
            let (id, token) = (support::env::TOKEN_ID, support::env::TOKEN);
            support::env::create_credentials_secret(client.clone(), &ns, name, id, token).await;
        }
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        reset_calls(&emu).await;
        let started = std::time::Instant::now();
        let names: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            let secret = if i % 2 == 0 { "team-a" } else { "team-b" };
            let spec = json!({"credentialsRef": {"name": secret}});
            apply(&api, &password(name, spec)).await;
        }
        for name in &names {
            wait_ready(&api, name).await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let n = calls(&emu, None).await;
        // Two budgets would serve two requests a second; one serves at most one (plus the burst).
        let bound = elapsed.ceil() as u64 + 2;
        println!("{n} API requests through both Secrets in {elapsed:.1} s (bound {bound})");
        assert!(n >= names.len() as u64, "one create per password: {n}");
        assert!(
            n <= bound,
            "{n} requests in {elapsed:.1} s: more than one budget of 1/s, so the two Secrets did not share it"
        );
        let m = op.metrics().await;
        let waited = m.value("planetscale_operator_api_rate_limit_wait_seconds_count", &[]);
        assert!(
            waited.unwrap_or(0.0) >= 1.0,
            "the budget never made a request wait: {waited:?}"
        );
        teardown(&api).await;
    })
    .await;
}
