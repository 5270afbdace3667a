//! PlanetScale webhooks end to end: the operator binary registers a webhook for the database
//! its resources use, the emulator delivers the deploy request's state changes to it, and the
//! deploy request follows them with polling backed off; when the emulator drops deliveries,
//! polling comes back by itself and the next deploy still completes. The receiver refuses
//! unsigned, forged, oversized, malformed, stale, replayed and unknown deliveries (answered,
//! counted, waking nothing); a `branch.ready` wakes only the resource of its branch; the
//! webhook goes when no resource uses its database; a rotation loses no delivery.
//!
//! Needs the local control plane and the binaries (`cargo build --workspace --bins`).
mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use planetscale_api::models::CreateBranch;
use planetscale_api::{Client, Credentials};
use planetscale_operator::crd::DeployRequest;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::conditions::{READY, is_condition_true};
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

/// A PlanetScale API client of the emulator's default token.
fn planetscale(emulator: &Emulator) -> Client {
    Client::builder(Credentials::service_token(TOKEN_ID, TOKEN))
        .base_url(emulator.api_url())
        .build()
        .expect("client")
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

/// Deploys `name` from `branch` (see [`deploy`]) and counts the reads of deploy requests
/// meanwhile: `(all, own)`, every `get_deploy_request` of the emulator and those of this one
/// (number `previous + 1`, the next of the database: counted by a fault rule that changes
/// nothing, and checked against the number the resource records). The others (earlier deploy
/// requests in their revert window) poll slowly in either mode.
async fn deploy_counting(
    emulator: &Emulator,
    api: &Api<DeployRequest>,
    name: &str,
    branch: &str,
    previous: i64,
) -> (DeployRequest, u64, u64) {
    let number = previous + 1;
    let path = format!("/v1/organizations/acme/databases/shop/deploy-requests/{number}");
    let rule = emulator
        .admin_post("/_emulator/faults", json!({"path": path, "method": "GET"}))
        .await;
    let rule = rule["id"].as_u64().expect("fault rule id");
    let before = calls(emulator, "get_deploy_request").await;
    let deployed = deploy(api, name, branch).await;
    let all = calls(emulator, "get_deploy_request").await - before;
    let own = gets(emulator, rule).await;
    assert_eq!(number_of(&deployed), number, "the number counted");
    (deployed, all, own)
}

fn number_of(d: &DeployRequest) -> i64 {
    d.status
        .as_ref()
        .and_then(|s| s.number)
        .expect("status.number")
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
    support::with_operator(
        &emulator_args,
        &env,
        |kube, ns, emulator, operator| async move {
            emulator_settings(&emulator, json!({"webhook_test_interval": "1s"})).await;
            let ps = planetscale(&emulator);
            let api: Api<DeployRequest> = Api::namespaced(kube, &ns);
            branch_with_table(&ps, &emulator, "first", "invoices").await;
            branch_with_table(&ps, &emulator, "second", "refunds").await;

            // The first deploy request makes the operator register a webhook for acme/shop; once
            // a delivery arrived the database is in webhook mode.
            let first = deploy(&api, "first", "first").await;
            let hooks = ps
                .list_webhooks_all("acme", "shop")
                .await
                .expect("webhooks");
            assert_eq!(hooks.len(), 1, "one webhook per database: {hooks:?}");
            assert_eq!(hooks[0].url, url);
            assert!(
                hooks[0]
                    .events
                    .iter()
                    .any(|e| e == "deploy_request.in_progress")
            );
            support::eventually(WAIT, "webhook mode", || async {
                let webhooks = metric(&operator, MODES, &[("mode", "webhooks")]).await;
                if webhooks == 1.0 {
                    Ok(())
                } else {
                    Err(webhooks)
                }
            })
            .await;
            assert!(metric(&operator, RECEIVED, &[("result", "accepted")]).await >= 1.0);

            // A deploy in webhook mode: its state changes arrive as deliveries; reads of the
            // deploy request follow them instead of the 3-second poll.
            let accepted_before = metric(&operator, RECEIVED, &[("result", "accepted")]).await;
            let started = std::time::Instant::now();
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let states = watch_states(api.clone(), "with-webhooks", stop.clone());
            let (hooked, all_hooked, with_hooks) = deploy_counting(
                &emulator,
                &api,
                "with-webhooks",
                "second",
                number_of(&first),
            )
            .await;
            let took = started.elapsed();
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let states = states.await.expect("watcher");
            let delays = delays(&emulator, &states).await;
            eprintln!("delivery → status delays (ms): {delays:?}; states seen: {states:?}");
            assert!(
                delays.len() == 2 && delays.iter().all(|d| *d < 5_000),
                "each announced state shows within seconds of its delivery: {delays:?}"
            );
            let accepted =
                metric(&operator, RECEIVED, &[("result", "accepted")]).await - accepted_before;
            assert!(
                accepted >= 3.0,
                "queued/in_progress/schema_applied deliveries accepted: {accepted}"
            );

            // Deliveries stop: after the healthy window the database is polled again, and a
            // deploy still completes, now by polling.
            emulator_settings(&emulator, json!({"webhook_drop": true})).await;
            support::eventually(WAIT, "polling mode", || async {
                let polling = metric(&operator, MODES, &[("mode", "polling")]).await;
                if polling == 1.0 { Ok(()) } else { Err(polling) }
            })
            .await;
            branch_with_table(&ps, &emulator, "third", "payouts").await;
            let started = std::time::Instant::now();
            let (_, all_polled, polled) =
                deploy_counting(&emulator, &api, "polled", "third", number_of(&hooked)).await;
            eprintln!(
                "get_deploy_request of the deploy request: {with_hooks} with webhooks ({took:?}), \
             {polled} polled ({:?}); of every deploy request meanwhile: {all_hooked} and \
             {all_polled}",
                started.elapsed()
            );
            // With webhooks: one read once the checks are done (no event announces that) and one
            // per announced state the status shows (in_progress, schema_applied); polled: one every
            // 3 s. For this 34-second deploy that is 3 against 11, so issue 21's 1/5 is out of
            // reach while every announced state is read from the API (docs/performance.md).
            assert!(
                with_hooks <= 3 && with_hooks * 3 <= polled,
                "with webhooks at most 3 reads and 1/3 of polling: {with_hooks} with webhooks, \
             {polled} polled"
            );
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// The receiver's refusals, the resources a delivery wakes, cleanup and rotation.
// ---------------------------------------------------------------------------------------------

/// The Secret (in the operator's namespace) where the operator keeps the webhooks' secrets:
/// the default of `--webhook-secret`.
const SECRETS: &str = "planetscale-operator-webhooks";
/// Path of a branch in the emulator's API (for the `GET` counters).
const BRANCHES: &str = "/v1/organizations/acme/databases/shop/branches";
/// How long the woken resource may take (the safety look is a minute away: well within).
const PROMPT: Duration = Duration::from_secs(20);

/// The receiver's address and the URL the emulator delivers to.
fn receiver() -> (String, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let public = format!("http://{addr}/webhooks/planetscale");
    (addr, public)
}

/// The operator's variables for webhooks on `addr`/`public`, then `extra`.
fn webhook_env(addr: &str, public: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![
        ("PSO_WEBHOOK_ADDR", addr),
        ("PSO_WEBHOOK_PUBLIC_URL", public),
        ("PSO_WEBHOOK_SYNC_INTERVAL", "1s"),
        ("PSO_WEBHOOK_TEST_INTERVAL", "2s"),
    ];
    env.extend_from_slice(extra);
    env.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The webhook id and signing secret the operator keeps for acme/shop in its Secret. The
/// secret is never printed: failure messages show the id only.
async fn kept(kube: &kube::Client, ns: &str) -> Option<(String, String)> {
    let api: Api<Secret> = Api::namespaced(kube.clone(), ns);
    let secret = api.get_opt(SECRETS).await.ok()??;
    let raw = secret.data?.remove("acme.shop")?;
    let v: Value = serde_json::from_slice(&raw.0).ok()?;
    Some((
        v["id"].as_str()?.to_string(),
        v["secret"].as_str()?.to_string(),
    ))
}

/// Waits until the operator keeps a secret for acme/shop whose webhook is not `old`.
async fn kept_other_than(kube: &kube::Client, ns: &str, old: Option<&str>) -> (String, String) {
    support::eventually(WAIT, "the operator keeps the webhook's secret", || async {
        match kept(kube, ns).await {
            Some((id, secret)) if Some(id.as_str()) != old => Ok((id, secret)),
            Some((id, _)) => Err(format!("still webhook {id}")),
            None => Err(format!("no key acme.shop in Secret {SECRETS}")),
        }
    })
    .await
}

/// A delivery body as PlanetScale sends it.
fn delivery(timestamp: i64, event: &str, database: &str, resource: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "timestamp": timestamp,
        "event": event,
        "organization": "acme",
        "database": database,
        "resource": resource,
    }))
    .expect("JSON")
}

/// A `branch.ready` body for branch `name` of acme/shop.
fn branch_ready(timestamp: i64, name: &str) -> Vec<u8> {
    let resource = json!({"type": "Branch", "name": name, "ready": true, "state": "ready"});
    delivery(timestamp, "branch.ready", "shop", &resource)
}

/// Posts `body` to the receiver at `addr` with `signature` (none: unsigned); the status and
/// the answer's text.
async fn post(addr: &str, body: Vec<u8>, signature: Option<String>) -> (u16, String) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client");
    let mut request = http
        .post(format!("http://{addr}/webhooks/planetscale"))
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(s) = signature {
        request = request.header(planetscale_api::signature::HEADER, s);
    }
    let r = request.send().await.expect("the receiver answers");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

/// Posts `body` signed with `secret`.
async fn post_signed(addr: &str, secret: &str, body: Vec<u8>) -> (u16, String) {
    let signature = planetscale_api::signature::sign(secret, &body);
    post(addr, body, Some(signature)).await
}

/// The emulator's clock (Unix seconds): PlanetScale's time, which deliveries are timed by.
async fn emulator_now(emulator: &Emulator) -> i64 {
    let clock = emulator.admin_get("/_emulator/clock").await;
    let now = clock["now"].as_str().expect("clock.now");
    chrono::DateTime::parse_from_rfc3339(now)
        .expect("RFC 3339")
        .timestamp()
}

/// Starts counting the `GET`s of branch `name` (a fault rule of the emulator that changes
/// nothing; its hits are the count). Returns the rule's id.
async fn count_gets(emulator: &Emulator, name: &str) -> u64 {
    let rule = json!({"path": format!("{BRANCHES}/{name}"), "method": "GET"});
    let r = emulator.admin_post("/_emulator/faults", rule).await;
    r["id"].as_u64().expect("fault rule id")
}

/// The `GET`s counted by rule `id`.
async fn gets(emulator: &Emulator, id: u64) -> u64 {
    let faults = emulator.admin_get("/_emulator/faults").await;
    faults["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["id"] == id)
        .and_then(|f| f["hits"].as_u64())
        .expect("the counting rule")
}

/// A `PlanetScaleBranch` of acme/shop from `main`, created and waited for until PlanetScale has
/// the branch (`status.id`); it is pending there for the emulator's branch ready delay.
async fn create_branch(api: &Api<PlanetScaleBranch>, name: &str) -> PlanetScaleBranch {
    let obj: PlanetScaleBranch = serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
        "metadata": {"name": name},
        "spec": {"organization": "acme", "database": "shop", "parentBranch": "main"},
    }))
    .expect("valid PlanetScaleBranch");
    api.create(&PostParams::default(), &obj)
        .await
        .expect("create");
    support::wait_for(api, name, WAIT, "created in PlanetScale", |b| {
        b.status.as_ref().is_some_and(|s| s.id.is_some())
    })
    .await
}

/// `Ready=True` for the current generation.
fn is_ready(b: &PlanetScaleBranch) -> bool {
    let s = b.status.as_ref();
    s.and_then(|s| s.observed_generation) == b.metadata.generation
        && s.is_some_and(|s| is_condition_true(&s.conditions, READY))
}

/// Waits until deliveries of acme/shop are healthy (one was accepted: the manager's `test`)
/// and the operator's shared look at the pending branches happens after that. A pending
/// branch is then looked at again only after `SAFETY_TICK` (a minute): until then it moves
/// only when a delivery wakes it — which is what the wake-up tests observe.
async fn after_a_shared_look(emulator: &Emulator, operator: &Operator) {
    support::eventually(WAIT, "an accepted delivery (healthy)", || async {
        let accepted = metric(operator, RECEIVED, &[("result", "accepted")]).await;
        if accepted >= 1.0 {
            Ok(())
        } else {
            Err(accepted)
        }
    })
    .await;
    // With two pending branches, the look is one `list_branches` (nothing else lists them:
    // no branch resource is Ready yet).
    let before = calls(emulator, "list_branches").await;
    support::eventually(WAIT, "the operator's shared look", || async {
        let now = calls(emulator, "list_branches").await;
        if now > before { Ok(()) } else { Err(now) }
    })
    .await;
}

/// How many `branch.ready` deliveries the emulator dropped.
async fn dropped_ready(emulator: &Emulator) -> usize {
    let log = emulator.admin_get("/_emulator/webhook-deliveries").await;
    log["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["event"] == "branch.ready" && a["result"] == "dropped")
        .count()
}

/// Moves the emulator's clock forward `by` with deliveries dropped: the branches that turn
/// ready meanwhile (`n`) are ready in PlanetScale, and their `branch.ready` is lost.
async fn ready_with_deliveries_lost(emulator: &Emulator, by: &str, n: usize) {
    let before = dropped_ready(emulator).await;
    emulator_settings(emulator, json!({"webhook_drop": true})).await;
    emulator.advance(by).await;
    support::eventually(WAIT, "the branch.ready deliveries dropped", || async {
        let dropped = dropped_ready(emulator).await - before;
        if dropped >= n { Ok(()) } else { Err(dropped) }
    })
    .await;
    emulator_settings(emulator, json!({"webhook_drop": false})).await;
}

/// Every delivery the receiver refuses is answered with its status, counted under its reason,
/// and wakes nothing: a branch that is ready in PlanetScale (its real `branch.ready` was lost)
/// stays pending through six refused deliveries that name it, while a valid delivery for
/// another branch, posted after them, wakes that one at once.
#[tokio::test]
async fn refused_deliveries_are_answered_counted_and_wake_nothing() {
    let (addr, public) = receiver();
    let env = webhook_env(&addr, &public, &[("PSO_WEBHOOK_HEALTHY_WINDOW", "10m")]);
    let emulator_args = ["--branch-ready-delay", "2m"];
    support::with_operator(
        &emulator_args,
        &as_refs(&env),
        |kube, ns, emulator, operator| async move {
            emulator_settings(&emulator, json!({"webhook_test_interval": "1s"})).await;
            let api: Api<PlanetScaleBranch> = Api::namespaced(kube.clone(), &ns);
            create_branch(&api, "alpha").await;
            create_branch(&api, "beta").await;
            let alpha_gets = count_gets(&emulator, "alpha").await;
            let beta_gets = count_gets(&emulator, "beta").await;
            after_a_shared_look(&emulator, &operator).await;
            let (looks, alpha0, beta0) = (
                calls(&emulator, "list_branches").await,
                gets(&emulator, alpha_gets).await,
                gets(&emulator, beta_gets).await,
            );
            ready_with_deliveries_lost(&emulator, "2m", 2).await;
            let alpha_before = api.get("alpha").await.expect("alpha");
            let (_, secret) = kept_other_than(&kube, &ns, None).await;
            let accepted = metric(&operator, RECEIVED, &[("result", "accepted")]).await;

            // Each refusal, in the receiver's order of checks. All but the malformed one and the
            // other database name branch `alpha`.
            let now = emulator_now(&emulator).await;
            let body = branch_ready(now, "alpha");
            let mut large = json!({"type": "Branch", "name": "alpha", "ready": true});
            large["padding"] = json!("x".repeat(300 * 1024));
            let large = delivery(now, "branch.ready", "shop", &large);
            let other_db = delivery(now, "branch.ready", "ledger", &json!({"name": "alpha"}));
            let refusals = [
                ("too_large", 413, post_signed(&addr, &secret, large).await),
                ("unsigned", 401, post(&addr, body.clone(), None).await),
                (
                    "malformed",
                    400,
                    post_signed(&addr, &secret, b"{\"event\":".to_vec()).await,
                ),
                (
                    "unknown_database",
                    401,
                    post_signed(&addr, &secret, other_db).await,
                ),
                (
                    "bad_signature",
                    401,
                    post_signed(&addr, "whsec_forged0000", body.clone()).await,
                ),
                (
                    "stale",
                    400,
                    post_signed(&addr, &secret, branch_ready(now - 600, "alpha")).await,
                ),
            ];
            for (reason, status, (got, text)) in &refusals {
                assert_eq!((*got, text.as_str()), (*status, *reason), "{reason}");
            }

            // A delivery for `beta`, signed with the real secret: accepted; the very same again is
            // a replay.
            let for_beta = branch_ready(now, "beta");
            assert_eq!(
                post_signed(&addr, &secret, for_beta.clone()).await,
                (204, String::new())
            );
            assert_eq!(
                post_signed(&addr, &secret, for_beta).await,
                (409, "replay".into())
            );

            // `beta` is woken at once; `alpha` — ready in PlanetScale too — was not woken by any of
            // the refusals (they came first, through the same receiver): no read, no change.
            let took = std::time::Instant::now();
            support::wait_for(&api, "beta", PROMPT, "Ready (woken)", is_ready).await;
            eprintln!("beta Ready {:?} after its delivery", took.elapsed());
            let alpha = api.get("alpha").await.expect("alpha");
            assert!(!is_ready(&alpha), "alpha stays pending: {:?}", alpha.status);
            assert_eq!(
                alpha.metadata.resource_version, alpha_before.metadata.resource_version,
                "alpha unchanged"
            );
            assert_eq!(
                gets(&emulator, alpha_gets).await,
                alpha0,
                "no read of alpha"
            );
            assert!(gets(&emulator, beta_gets).await > beta0, "beta was read");
            assert_eq!(
                calls(&emulator, "list_branches").await,
                looks,
                "no shared look meanwhile (else alpha's staying pending would prove nothing)"
            );

            // Counted, each under its reason.
            let scrape = operator.metrics().await;
            for (reason, _, _) in &refusals {
                let n = scrape.value(RECEIVED, &[("result", reason)]).unwrap_or(0.0);
                assert_eq!(n, 1.0, "{RECEIVED}{{result={reason}}}");
            }
            assert_eq!(scrape.value(RECEIVED, &[("result", "replay")]), Some(1.0));
            let accepted_now = scrape
                .value(RECEIVED, &[("result", "accepted")])
                .unwrap_or(0.0);
            assert!(accepted_now > accepted, "the delivery for beta is accepted");
        },
    )
    .await;
}

/// A real `branch.ready` delivery wakes exactly the resource of the branch it names. Two
/// pending branches turn ready in PlanetScale; `beta`'s delivery is lost (the emulator drops
/// it), `alpha`'s arrives. What is observable: `alpha` turns Ready within seconds, while `beta`
/// — just as ready in PlanetScale — is not even read (the emulator counts the `GET`s of each
/// branch) and stays pending until the operator's next shared look, a minute later at most,
/// which is also the fallback for a lost delivery.
#[tokio::test]
async fn a_branch_ready_delivery_wakes_only_the_branch_it_names() {
    let (addr, public) = receiver();
    let env = webhook_env(&addr, &public, &[("PSO_WEBHOOK_HEALTHY_WINDOW", "10m")]);
    // Each branch is pending until the test moves the emulator's clock: `beta` 2 minutes,
    // `alpha` 4 (deliveries are then 4 minutes ahead of the operator's clock at most, within
    // the receiver's 5-minute window).
    let emulator_args = ["--branch-ready-delay", "2m"];
    support::with_operator(
        &emulator_args,
        &as_refs(&env),
        |kube, ns, emulator, operator| async move {
            emulator_settings(&emulator, json!({"webhook_test_interval": "1s"})).await;
            let api: Api<PlanetScaleBranch> = Api::namespaced(kube.clone(), &ns);
            create_branch(&api, "beta").await;
            emulator_settings(&emulator, json!({"branch_ready_delay": "4m"})).await;
            create_branch(&api, "alpha").await;
            let alpha_gets = count_gets(&emulator, "alpha").await;
            let beta_gets = count_gets(&emulator, "beta").await;
            after_a_shared_look(&emulator, &operator).await;
            let (looks, alpha0, beta0) = (
                calls(&emulator, "list_branches").await,
                gets(&emulator, alpha_gets).await,
                gets(&emulator, beta_gets).await,
            );

            // `beta` turns ready; its delivery is lost.
            ready_with_deliveries_lost(&emulator, "2m", 1).await;
            // `alpha` turns ready; its delivery arrives.
            emulator.advance("2m").await;
            let took = std::time::Instant::now();
            support::wait_for(
                &api,
                "alpha",
                PROMPT,
                "Ready (woken by its delivery)",
                is_ready,
            )
            .await;
            let woke = took.elapsed();
            let log = emulator.admin_get("/_emulator/webhook-deliveries").await;
            let delivered = log["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["event"] == "branch.ready" && a["success"] == true)
                .count();
            assert_eq!(delivered, 1, "alpha's branch.ready delivered: {log}");
            eprintln!("alpha Ready {woke:?} after the clock moved");

            let beta = api.get("beta").await.expect("beta");
            assert!(!is_ready(&beta), "beta was not woken: {:?}", beta.status);
            assert_eq!(gets(&emulator, beta_gets).await, beta0, "no read of beta");
            assert!(gets(&emulator, alpha_gets).await > alpha0, "alpha was read");
            assert_eq!(
                calls(&emulator, "list_branches").await,
                looks,
                "no shared look meanwhile (else beta's staying pending would prove nothing)"
            );

            // The lost delivery: the next shared look finds `beta` ready.
            let took = std::time::Instant::now();
            support::wait_for(
                &api,
                "beta",
                Duration::from_secs(90),
                "Ready (by the safety look)",
                is_ready,
            )
            .await;
            eprintln!("beta Ready {:?} later, by the safety look", took.elapsed());
        },
    )
    .await;
}

/// Once no resource uses a database any more, the operator deletes its webhook there (within
/// twice the resync interval, seen at the manager's next sync), forgets its secret, and the
/// receiver refuses the database's deliveries again.
#[tokio::test]
async fn the_webhook_is_deleted_once_no_resource_uses_its_database() {
    let (addr, public) = receiver();
    // A database counts as unused after twice the resync interval without a reconcile.
    let env = webhook_env(&addr, &public, &[("PSO_RESYNC_INTERVAL", "3s")]);
    let emulator_args = ["--branch-ready-delay", "0s"];
    support::with_operator(
        &emulator_args,
        &as_refs(&env),
        |kube, ns, emulator, operator| async move {
            emulator_settings(&emulator, json!({"webhook_test_interval": "1s"})).await;
            let ps = planetscale(&emulator);
            let ours = |hooks: Vec<planetscale_api::models::Webhook>| -> Vec<String> {
                hooks
                    .into_iter()
                    .filter(|h| h.url == public)
                    .map(|h| h.id)
                    .collect()
            };
            let api: Api<PlanetScaleBranch> = Api::namespaced(kube.clone(), &ns);
            create_branch(&api, "gamma").await;
            support::wait_for(&api, "gamma", WAIT, "Ready", is_ready).await;
            let (id, secret) = kept_other_than(&kube, &ns, None).await;
            let hooks = ours(
                ps.list_webhooks_all("acme", "shop")
                    .await
                    .expect("webhooks"),
            );
            assert_eq!(hooks, vec![id.clone()], "the operator's one webhook");
            support::eventually(WAIT, "a delivery accepted", || async {
                let accepted = metric(&operator, RECEIVED, &[("result", "accepted")]).await;
                if accepted >= 1.0 {
                    Ok(())
                } else {
                    Err(accepted)
                }
            })
            .await;

            api.delete("gamma", &Default::default())
                .await
                .expect("delete");
            support::wait_gone(&api, "gamma", WAIT).await;
            let took = std::time::Instant::now();
            support::eventually(Duration::from_secs(30), "the webhook deleted", || async {
                let hooks = ours(
                    ps.list_webhooks_all("acme", "shop")
                        .await
                        .expect("webhooks"),
                );
                if hooks.is_empty() { Ok(()) } else { Err(hooks) }
            })
            .await;
            eprintln!(
                "webhook deleted {:?} after the last resource",
                took.elapsed()
            );
            support::eventually(WAIT, "its secret forgotten", || async {
                match kept(&kube, &ns).await {
                    None => Ok(()),
                    Some((id, _)) => Err(id),
                }
            })
            .await;

            // Its deliveries are no longer accepted, even signed with the secret it had.
            let body = delivery(
                emulator_now(&emulator).await,
                "webhook.test",
                "shop",
                &json!({}),
            );
            let answer = post_signed(&addr, &secret, body).await;
            assert_eq!(answer, (401, "unknown_database".into()));
            support::eventually(WAIT, "no database with a webhook", || async {
                let scrape = operator.metrics().await;
                let modes = (
                    scrape.value(MODES, &[("mode", "webhooks")]),
                    scrape.value(MODES, &[("mode", "polling")]),
                );
                if modes == (Some(0.0), Some(0.0)) {
                    Ok(())
                } else {
                    Err(modes)
                }
            })
            .await;
        },
    )
    .await;
}

/// Rotation: with `--webhook-rotate-after` short, the operator keeps replacing its webhook by
/// one with a new secret and deletes the old one; a delivery signed with the old secret (on
/// its way during the rotation) is still accepted, and a deploy request that runs across
/// rotations loses no delivery: every one the emulator sent was accepted at its first attempt
/// and none was refused for its signature.
#[tokio::test]
async fn a_rotated_secret_loses_no_delivery() {
    let (addr, public) = receiver();
    let env = webhook_env(&addr, &public, &[("PSO_WEBHOOK_ROTATE_AFTER", "6s")]);
    let emulator_args = [
        "--branch-ready-delay",
        "0s",
        "--deploy-check-duration",
        "1s",
        "--deploy-step-duration",
        "4s",
    ];
    support::with_operator(
        &emulator_args,
        &as_refs(&env),
        |kube, ns, emulator, operator| async move {
            emulator_settings(&emulator, json!({"webhook_test_interval": "1s"})).await;
            let ps = planetscale(&emulator);
            let ours = |hooks: Vec<planetscale_api::models::Webhook>| -> Vec<String> {
                hooks
                    .into_iter()
                    .filter(|h| h.url == public)
                    .map(|h| h.id)
                    .collect()
            };
            let api: Api<DeployRequest> = Api::namespaced(kube.clone(), &ns);
            branch_with_table(&ps, &emulator, "first", "invoices").await;
            branch_with_table(&ps, &emulator, "second", "refunds").await;
            deploy(&api, "first", "first").await;

            // A rotation: a new webhook with a new secret, the old one deleted.
            let (old_id, old_secret) = kept_other_than(&kube, &ns, None).await;
            let (new_id, new_secret) = kept_other_than(&kube, &ns, Some(&old_id)).await;
            assert!(new_secret != old_secret, "a new secret");
            support::eventually(WAIT, "the old webhook deleted", || async {
                let hooks = ours(
                    ps.list_webhooks_all("acme", "shop")
                        .await
                        .expect("webhooks"),
                );
                if !hooks.contains(&old_id) && hooks.contains(&new_id) {
                    Ok(())
                } else {
                    Err(hooks)
                }
            })
            .await;
            // A delivery signed with the old secret, on its way during the rotation, is accepted
            // (for 2 minutes, or until the next rotation), as is one with the new secret.
            let now = emulator_now(&emulator).await;
            let test = |n: i64| delivery(now, "webhook.test", "shop", &json!({"n": n}));
            assert_eq!(
                post_signed(&addr, &old_secret, test(1)).await,
                (204, String::new())
            );
            assert_eq!(
                post_signed(&addr, &new_secret, test(2)).await,
                (204, String::new())
            );

            // A deploy across rotations.
            let seen =
                std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let sampler = {
                let (ps, seen, stop, public) =
                    (ps.clone(), seen.clone(), stop.clone(), public.clone());
                tokio::spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        if let Ok(hooks) = ps.list_webhooks_all("acme", "shop").await {
                            let ids = hooks.into_iter().filter(|h| h.url == public).map(|h| h.id);
                            seen.lock().expect("lock").extend(ids);
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                })
            };
            let r = reqwest::Client::new()
                .delete(format!("{}/_emulator/webhook-deliveries", emulator.url))
                .send()
                .await
                .expect("emulator");
            assert!(r.status().is_success(), "clear deliveries: {}", r.status());
            deploy(&api, "second", "second").await;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            sampler.await.expect("sampler");
            let webhooks = seen.lock().expect("lock").len();
            assert!(
                webhooks >= 2,
                "the webhook rotated during the deploy: {webhooks} seen"
            );

            let log = emulator.admin_get("/_emulator/webhook-deliveries").await;
            let attempts = log["data"].as_array().cloned().unwrap_or_default();
            let events: Vec<(&str, &str)> = attempts
                .iter()
                .filter_map(|a| Some((a["event"].as_str()?, a["webhook"].as_str()?)))
                .collect();
            eprintln!(
                "{webhooks} webhooks during the deploy; deliveries (event, webhook): {events:?}"
            );
            assert!(
                events
                    .iter()
                    .any(|(e, _)| *e == "deploy_request.schema_applied"),
                "the deploy's events were delivered: {log}"
            );
            // The deploy's events came through more than one webhook: across a rotation.
            let through: std::collections::BTreeSet<&str> = events
                .iter()
                .filter(|(e, _)| e.starts_with("deploy_request."))
                .map(|(_, w)| *w)
                .collect();
            assert!(
                through.len() >= 2,
                "the deploy's deliveries span a rotation: {events:?}"
            );
            let failed: Vec<&Value> = attempts.iter().filter(|a| a["success"] != true).collect();
            assert!(
                failed.is_empty(),
                "every delivery accepted at its first attempt: {failed:?}"
            );
            // The new webhook is created disabled and enabled only once its secret is
            // accepted, so no delivery can arrive signed with a secret the receiver lacks.
            let scrape = operator.metrics().await;
            for reason in ["bad_signature", "unknown_database", "stale", "replay"] {
                let n = scrape.value(RECEIVED, &[("result", reason)]).unwrap_or(0.0);
                assert_eq!(n, 0.0, "{RECEIVED}{{result={reason}}}");
            }
            // In the end one webhook is left.
            support::eventually(WAIT, "one webhook", || async {
                let hooks = ours(
                    ps.list_webhooks_all("acme", "shop")
                        .await
                        .expect("webhooks"),
                );
                if hooks.len() == 1 { Ok(()) } else { Err(hooks) }
            })
            .await;
        },
    )
    .await;
}
