//! PlanetScale webhooks end to end: the operator binary registers a webhook for the database
//! its resources use, the emulator delivers the deploy request's state changes to it, and the
//! deploy request follows them with polling backed off; when the emulator drops deliveries,
//! polling comes back by itself and the next deploy still completes.
//!
//! Needs the local control plane and the binaries (`cargo build --workspace --bins`).
mod support;

use std::time::Duration;

use kube::Api;
use kube::api::PostParams;
use planetscale_api::models::CreateBranch;
use planetscale_api::{Client, Credentials};
use planetscale_operator::crd::DeployRequest;
use serde_json::{Value, json};

use support::env::{TOKEN, TOKEN_ID};
use support::{Emulator, Operator};

const WAIT: Duration = Duration::from_secs(60);
const RECEIVED: &str = "planetscale_operator_webhook_deliveries_total";
const MODES: &str = "planetscale_operator_webhook_databases";

/// A free port on loopback for the receiver (the emulator must know its URL up front).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

async fn emulator_settings(emulator: &Emulator, settings: Value) {
    let r = reqwest::Client::new()
        .patch(format!("{}/_emulator/settings", emulator.url))
        .json(&settings)
        .send()
        .await
        .expect("emulator");
    assert!(r.status().is_success(), "patch settings: {}", r.status());
}

async fn calls(emulator: &Emulator, op: &str) -> u64 {
    emulator.stats().await["operations"][op]["total"]
        .as_u64()
        .unwrap_or(0)
}

async fn metric(operator: &Operator, name: &str, labels: &[(&str, &str)]) -> f64 {
    operator.metrics().await.value(name, labels).unwrap_or(0.0)
}

async fn branch_with_table(ps: &Client, emulator: &Emulator, name: &str, table: &str) {
    let body = CreateBranch {
        name: name.into(),
        parent_branch: Some("main".into()),
        ..Default::default()
    };
    ps.create_branch("acme", "shop", &body)
        .await
        .expect("branch");
    let mut tables: Vec<String> = ps
        .get_branch_schema("acme", "shop", name, None)
        .await
        .expect("schema")
        .into_iter()
        .map(|t| t.raw)
        .collect();
    tables.push(format!(
        "CREATE TABLE `{table}` (`id` bigint NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB"
    ));
    let path = format!("/_emulator/organizations/acme/databases/shop/branches/{name}/schema");
    let r = reqwest::Client::new()
        .put(format!("{}{path}", emulator.url))
        .json(&json!({"tables": tables}))
        .send()
        .await
        .expect("emulator");
    assert!(r.status().is_success(), "set schema: {}", r.status());
}

async fn deploy(api: &Api<DeployRequest>, name: &str, branch: &str) -> DeployRequest {
    let obj: DeployRequest = serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "DeployRequest",
        "metadata": {"name": name},
        "spec": {"organization": "acme", "database": "shop", "branch": branch, "deploy": true},
    }))
    .expect("valid DeployRequest");
    api.create(&PostParams::default(), &obj)
        .await
        .expect("create");
    support::wait_for(api, name, WAIT, "deployed", |d| {
        d.status
            .as_ref()
            .and_then(|s| s.deployment_state.as_deref())
            == Some("complete_pending_revert")
    })
    .await
}

/// Records each `status.deploymentState` of `name` with the time it was first seen (every
/// 50 ms until `stop`).
fn watch_states(
    api: Api<DeployRequest>,
    name: &str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
    let name = name.to_string();
    tokio::spawn(async move {
        let mut seen: Vec<(String, chrono::DateTime<chrono::Utc>)> = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let state = api
                .get_opt(&name)
                .await
                .ok()
                .flatten()
                .and_then(|d| d.status.and_then(|s| s.deployment_state));
            if let Some(state) = state
                && seen.last().is_none_or(|(s, _)| *s != state)
            {
                seen.push((state, chrono::Utc::now()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        seen
    })
}

/// How long after the emulator sent each event the status showed its state (milliseconds).
async fn delays(
    emulator: &Emulator,
    states: &[(String, chrono::DateTime<chrono::Utc>)],
) -> Vec<i64> {
    let log = emulator.admin_get("/_emulator/webhook-deliveries").await;
    let sent = |event: &str| {
        log["data"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .find(|a| a["event"] == event && a["success"] == true)
            .and_then(|a| a["at"].as_str())
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    let pairs = [
        ("deploy_request.in_progress", "in_progress"),
        ("deploy_request.schema_applied", "complete_pending_revert"),
    ];
    pairs
        .iter()
        .filter_map(|(event, state)| {
            let at = sent(event)?;
            let shown = states.iter().find(|(s, _)| s == state)?.1;
            Some((shown - at.with_timezone(&chrono::Utc)).num_milliseconds())
        })
        .collect()
}

#[tokio::test]
async fn a_deploy_request_follows_webhooks_and_polling_returns_when_deliveries_stop() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let public = format!("http://{addr}/webhooks/planetscale");
    let url = public.clone();
    let emulator_args = [
        "--branch-ready-delay",
        "0s",
        "--deploy-check-duration",
        "1s",
        "--deploy-step-duration",
        "10s",
    ];
    let env = [
        ("PSO_WEBHOOK_ADDR", addr.as_str()),
        ("PSO_WEBHOOK_PUBLIC_URL", public.as_str()),
        ("PSO_WEBHOOK_SYNC_INTERVAL", "1s"),
        ("PSO_WEBHOOK_TEST_INTERVAL", "2s"),
        ("PSO_WEBHOOK_HEALTHY_WINDOW", "8s"),
    ];
    support::with_operator(&emulator_args, &env, |kube, ns, emulator, operator| async move {
        emulator_settings(&emulator, json!({"webhook_test_interval": "1s"})).await;
        let ps = Client::builder(Credentials::service_token(TOKEN_ID, TOKEN))
            .base_url(emulator.api_url())
            .build()
            .expect("client");
        let api: Api<DeployRequest> = Api::namespaced(kube, &ns);
        branch_with_table(&ps, &emulator, "first", "invoices").await;
        branch_with_table(&ps, &emulator, "second", "refunds").await;

        // The first deploy request makes the operator register a webhook for acme/shop; once
        // a delivery arrived the database is in webhook mode.
        let first = deploy(&api, "first", "first").await;
        let hooks = ps.list_webhooks_all("acme", "shop").await.expect("webhooks");
        assert_eq!(hooks.len(), 1, "one webhook per database: {hooks:?}");
        assert_eq!(hooks[0].url, url);
        assert!(hooks[0].events.iter().any(|e| e == "deploy_request.in_progress"));
        support::eventually(WAIT, "webhook mode", || async {
            let webhooks = metric(&operator, MODES, &[("mode", "webhooks")]).await;
            if webhooks == 1.0 { Ok(()) } else { Err(webhooks) }
        })
        .await;
        assert!(metric(&operator, RECEIVED, &[("result", "accepted")]).await >= 1.0);
        drop(first);

        // A deploy in webhook mode: its state changes arrive as deliveries; reads of the
        // deploy request follow them instead of the 3-second poll.
        let before = calls(&emulator, "get_deploy_request").await;
        let accepted_before = metric(&operator, RECEIVED, &[("result", "accepted")]).await;
        let started = std::time::Instant::now();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let states = watch_states(api.clone(), "with-webhooks", stop.clone());
        deploy(&api, "with-webhooks", "second").await;
        let with_hooks = calls(&emulator, "get_deploy_request").await - before;
        let took = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let states = states.await.expect("watcher");
        let delays = delays(&emulator, &states).await;
        eprintln!("delivery → status delays (ms): {delays:?}; states seen: {states:?}");
        assert!(
            delays.len() == 2 && delays.iter().all(|d| *d < 5_000),
            "each announced state shows within seconds of its delivery: {delays:?}"
        );
        let accepted = metric(&operator, RECEIVED, &[("result", "accepted")]).await - accepted_before;
        assert!(accepted >= 3.0, "queued/in_progress/schema_applied deliveries accepted: {accepted}");

        // Deliveries stop: after the healthy window the database is polled again, and a
        // deploy still completes, now by polling.
        emulator_settings(&emulator, json!({"webhook_drop": true})).await;
        support::eventually(WAIT, "polling mode", || async {
            let polling = metric(&operator, MODES, &[("mode", "polling")]).await;
            if polling == 1.0 { Ok(()) } else { Err(polling) }
        })
        .await;
        branch_with_table(&ps, &emulator, "third", "payouts").await;
        let before = calls(&emulator, "get_deploy_request").await;
        let started = std::time::Instant::now();
        deploy(&api, "polled", "third").await;
        let polled = calls(&emulator, "get_deploy_request").await - before;
        eprintln!(
            "get_deploy_request per deploy: {with_hooks} with webhooks ({took:?}), {polled} polled ({:?})",
            started.elapsed()
        );
        assert!(
            with_hooks < polled,
            "webhooks must spare reads: {with_hooks} with webhooks, {polled} polled"
        );
    })
    .await;
}
