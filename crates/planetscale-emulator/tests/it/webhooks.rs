//! Webhooks: the management endpoints, and deliveries signed, retried, dropped or delayed as
//! the admin API says, to a receiver on loopback that records what it got.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{DB, H};
use crate::deploy::{CHECK, act, branch_with_table, open_dr};

/// What the receiver got: (signature header, body).
type Got = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A receiver on 127.0.0.1 that answers `fail_first` deliveries with 500, then 204.
struct Receiver {
    url: String,
    got: Got,
}

impl Receiver {
    async fn start(fail_first: usize) -> Self {
        let got: Got = Arc::default();
        let state = (got.clone(), Arc::new(Mutex::new(fail_first)));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, got }
    }

    /// Waits until `n` deliveries arrived; returns their bodies.
    async fn wait_for(&self, n: usize) -> Vec<(String, Value)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n {
                return got
                    .into_iter()
                    .map(|(s, b)| (s, serde_json::from_slice(&b).unwrap()))
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} deliveries, got {}: {:?}",
                got.len(),
                got.iter()
                    .map(|(_, b)| String::from_utf8_lossy(b).to_string())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn events(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_slice::<Value>(b).unwrap()["event"].to_string())
            .map(|e| e.trim_matches('"').to_string())
            .collect()
    }
}

async fn receive(
    State((got, fail)): State<(Got, Arc<Mutex<usize>>)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut fail = fail.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let sig = headers
        .get("x-planetscale-signature")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    got.lock().unwrap().push((sig, body.to_vec()));
    StatusCode::NO_CONTENT
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn create(h: &H, url: &str, events: &[&str]) -> Value {
    h.post(
        &format!("{DB}/webhooks"),
        json!({"url": url, "events": events}),
    )
    .await
    .expect(201)
}

#[tokio::test]
async fn webhooks_are_managed_per_database_with_the_documented_limits() {
    let h = H::new().await;
    let path = format!("{DB}/webhooks");
    let hook = create(&h, "http://127.0.0.1:9/hook", &["branch.ready"]).await;
    assert!(hook["secret"].as_str().is_some_and(|s| s.len() > 20));
    assert_eq!(hook["enabled"], true);
    let id = hook["id"].as_str().unwrap();
    let one = format!("{path}/{id}");
    assert_eq!(
        h.get(&one).await.expect(200)["events"],
        json!(["branch.ready"])
    );
    let updated = h
        .patch(&one, json!({"enabled": false, "events": ["webhook.test"]}))
        .await
        .expect(200);
    assert_eq!(
        (updated["enabled"].clone(), updated["events"].clone()),
        (json!(false), json!(["webhook.test"]))
    );
    assert_eq!(
        h.get(&path).await.expect(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Loopback only, known events only, at most five per database.
    h.post(&path, json!({"url": "https://hooks.example.com/x"}))
        .await
        .expect_error(422, "unprocessable");
    h.post(
        &path,
        json!({"url": "http://127.0.0.1:9/x", "events": ["branch.exploded"]}),
    )
    .await
    .expect_error(422, "unprocessable");
    for _ in 0..4 {
        create(&h, "http://127.0.0.1:9/hook", &[]).await;
    }
    h.post(&path, json!({"url": "http://127.0.0.1:9/hook"}))
        .await
        .expect_error(422, "unprocessable");
    h.delete(&one).await.expect(204);
    h.get(&one).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn a_test_is_delivered_signed_with_the_webhook_secret_and_limited_to_one_per_interval() {
    let h = H::new().await;
    let rx = Receiver::start(0).await;
    let hook = create(&h, &rx.url, &[]).await;
    let (id, secret) = (
        hook["id"].as_str().unwrap(),
        hook["secret"].as_str().unwrap(),
    );
    let test = format!("{DB}/webhooks/{id}/test");
    h.post(&test, json!({})).await.expect(204);
    h.post(&test, json!({}))
        .await
        .expect_error(429, "too_many_requests");
    let got = rx.wait_for(1).await;
    let (sig, body) = &got[0];
    let raw = rx.got.lock().unwrap()[0].1.clone();
    assert_eq!(
        sig,
        &hmac_hex(secret, &raw),
        "hex HMAC-SHA256 of the exact body"
    );
    assert_eq!(body["event"], "webhook.test");
    assert_eq!(
        (body["organization"].as_str(), body["database"].as_str()),
        (Some("acme"), Some("shop"))
    );
    assert!(body["timestamp"].as_i64().is_some());
    let after = h.get(&format!("{DB}/webhooks/{id}")).await.expect(200);
    assert_eq!(after["last_sent_success"], true);
}

#[tokio::test]
async fn state_machine_transitions_are_delivered_as_their_events() {
    let h = H::new().await;
    let rx = Receiver::start(0).await;
    branch_with_table(&h, "add-items", "items").await;
    create(
        &h,
        &rx.url,
        &[
            "branch.ready",
            "deploy_request.opened",
            "deploy_request.queued",
            "deploy_request.in_progress",
            "deploy_request.schema_applied",
            "deploy_request.closed",
        ],
    )
    .await;
    h.post(&format!("{DB}/branches"), json!({"name": "feature"}))
        .await
        .expect(201);
    h.advance(60).await;
    let got = rx.wait_for(1).await;
    assert_eq!(
        (
            got[0].1["event"].as_str(),
            got[0].1["resource"]["name"].as_str()
        ),
        (Some("branch.ready"), Some("feature"))
    );
    assert_eq!(
        got[0].1["resource"]["ready"], true,
        "the resource is the API's branch"
    );
    let n = open_dr(&h, "add-items", json!({})).await;
    rx.wait_for(2).await;
    h.advance(CHECK).await;
    act(&h, n, "deploy").await.expect(200);
    rx.wait_for(3).await;
    for _ in 0..10 {
        h.advance(5).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let got = rx.wait_for(5).await;
    let last = &got.last().unwrap().1;
    assert_eq!(last["resource"]["number"].as_u64(), Some(n));
    let events = rx.events();
    assert_eq!(
        &events[1..4],
        [
            "deploy_request.opened",
            "deploy_request.queued",
            "deploy_request.in_progress"
        ],
        "{events:?}"
    );
    assert!(
        events.contains(&"deploy_request.schema_applied".to_string()),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_backoff() {
    let h = H::new().await;
    h.admin(
        Method::PATCH,
        "/settings",
        Some(json!({"webhook_retry_backoff": "100ms"})),
    )
    .await
    .expect(200);
    let rx = Receiver::start(2).await;
    let hook = create(&h, &rx.url, &[]).await;
    let id = hook["id"].as_str().unwrap();
    h.post(&format!("{DB}/webhooks/{id}/test"), json!({}))
        .await
        .expect(204);
    rx.wait_for(1).await;
    let log = h
        .admin(Method::GET, "/webhook-deliveries", None)
        .await
        .expect(200);
    let attempts: Vec<(u64, bool)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["success"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(attempts, [(1, false), (2, false), (3, true)]);
}

#[tokio::test]
async fn the_admin_api_drops_or_delays_deliveries() {
    let h = H::new().await;
    let rx = Receiver::start(0).await;
    let hook = create(&h, &rx.url, &[]).await;
    let test = format!("{DB}/webhooks/{}/test", hook["id"].as_str().unwrap());
    h.admin(
        Method::PATCH,
        "/settings",
        Some(json!({"webhook_drop": true, "webhook_test_interval": "0s"})),
    )
    .await
    .expect(200);
    h.post(&test, json!({})).await.expect(204);
    let deadline = Instant::now() + Duration::from_secs(10);
    while h
        .admin(Method::GET, "/webhook-deliveries", None)
        .await
        .expect(200)["data"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "the dropped delivery is never logged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = h
        .admin(Method::GET, "/webhook-deliveries", None)
        .await
        .expect(200);
    assert_eq!(log["data"][0]["result"], "dropped");
    assert!(
        rx.got.lock().unwrap().is_empty(),
        "a dropped delivery never arrives"
    );
    h.admin(
        Method::PATCH,
        "/settings",
        Some(json!({"webhook_drop": false, "webhook_delay": "700ms"})),
    )
    .await
    .expect(200);
    let sent = Instant::now();
    h.post(&test, json!({})).await.expect(204);
    rx.wait_for(1).await;
    assert!(
        sent.elapsed() >= Duration::from_millis(700),
        "delivered after {:?}",
        sent.elapsed()
    );
}
