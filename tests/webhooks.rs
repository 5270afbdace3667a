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
        "6s",
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
        deploy(&api, "with-webhooks", "second").await;
        let with_hooks = calls(&emulator, "get_deploy_request").await - before;
        let took = started.elapsed();
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
