//! Admin API: clock, settings, faults, stats, rate limit, reset and seed, state listing.

use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use crate::common::{DB, H, send};

#[tokio::test]
async fn clock_advances_and_reports_the_offset() {
    let h = H::new().await;
    let before = h.admin(Method::GET, "/clock", None).await.expect(200);
    let after = h
        .admin(
            Method::POST,
            "/clock/advance",
            Some(json!({"by": "1h 30m"})),
        )
        .await
        .expect(200);
    assert_eq!(
        after["offset_seconds"].as_f64().unwrap() - before["offset_seconds"].as_f64().unwrap(),
        5400.0
    );
    h.admin(Method::POST, "/clock/advance", Some(json!({"by": "soon"})))
        .await
        .expect_error(400, "bad_request");
    let ops = h.admin(Method::GET, "/operations", None).await.expect(200);
    assert!(
        ops["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "create_password")
    );
    assert_eq!(
        h.admin(Method::GET, "/health", None).await.expect(200)["status"],
        "ok"
    );
}

#[tokio::test]
async fn faults_answer_errors_for_the_next_n_matching_requests() {
    let h = H::new().await;
    let rule = json!({"operation": "get_branch", "status": 503, "count": 2});
    h.admin(Method::POST, "/faults", Some(rule))
        .await
        .expect(201);
    let path = format!("{DB}/branches/main");
    h.get(&path).await.expect_error(503, "service_unavailable");
    h.get(&path).await.expect_error(503, "service_unavailable");
    h.get(&path).await.expect(200);
    let stats = h.admin(Method::GET, "/stats", None).await.expect(200);
    assert_eq!(
        stats["operations"]["get_branch"]["by_status"],
        json!({"200": 1, "503": 2})
    );
    assert_eq!(
        h.admin(Method::GET, "/faults", None).await.expect(200)["data"],
        json!([]),
        "spent rules disappear"
    );
    assert_eq!(h.admin(Method::DELETE, "/stats", None).await.status, 204);
    assert_eq!(
        h.admin(Method::GET, "/stats", None).await.expect(200)["total"],
        0
    );
}

#[tokio::test]
async fn faults_match_paths_methods_and_probability() {
    let h = H::new().await;
    let rule = json!({"path": "/v1/organizations/*/databases/*/branches", "method": "POST", "status": 500, "code": "boom"});
    let id = h
        .admin(Method::POST, "/faults", Some(rule))
        .await
        .expect(201)["id"]
        .as_u64()
        .unwrap();
    h.post(&format!("{DB}/branches"), json!({"name": "x"}))
        .await
        .expect_error(500, "boom");
    h.get(&format!("{DB}/branches")).await.expect(200);
    assert_eq!(
        h.admin(Method::DELETE, &format!("/faults/{id}"), None)
            .await
            .status,
        204
    );
    h.post(&format!("{DB}/branches"), json!({"name": "x"}))
        .await
        .expect(201);
    h.admin(
        Method::POST,
        "/faults",
        Some(json!({"path": "/v1/**", "status": 500, "probability": 0.0})),
    )
    .await
    .expect(201);
    h.get(DB).await.expect(200);
    h.admin(Method::POST, "/faults", Some(json!({"status": 500})))
        .await
        .expect_error(422, "invalid_params");
    h.admin(
        Method::POST,
        "/faults",
        Some(json!({"path": "/v1/**", "probability": 2.0})),
    )
    .await
    .expect_error(422, "invalid_params");
    assert_eq!(h.admin(Method::DELETE, "/faults", None).await.status, 204);
}

#[tokio::test]
async fn injected_429_carries_retry_after() {
    let h = H::new().await;
    h.admin(
        Method::POST,
        "/faults",
        Some(json!({"operation": "list_branches", "status": 429, "retry_after": 7, "count": 1})),
    )
    .await
    .expect(201);
    let r = h.get(&format!("{DB}/branches")).await;
    assert_eq!(r.headers["retry-after"], "7");
    r.expect_error(429, "too_many_requests");
}

#[tokio::test]
async fn latency_is_added() {
    let h = H::new().await;
    h.admin(
        Method::POST,
        "/faults",
        Some(json!({"operation": "get_database", "latency": "300ms", "count": 1})),
    )
    .await
    .expect(201);
    let started = Instant::now();
    h.get(DB).await.expect(200);
    assert!(
        started.elapsed().as_millis() >= 300,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn dropped_connections_still_process_the_request() {
    let h = H::new().await;
    h.admin(
        Method::POST,
        "/faults",
        Some(json!({"operation": "create_branch", "drop_connection": true, "count": 1})),
    )
    .await
    .expect(201);
    // No response to check: the connection closes without one.
    let err = reqwest::Client::new()
        .post(format!("{}{DB}/branches", h.url))
        .header("Authorization", &h.auth)
        .json(&json!({"name": "ghost"}))
        .send()
        .await
        .expect_err("the connection is closed without a response");
    assert!(!err.is_status(), "{err}");
    h.get(&format!("{DB}/branches/ghost")).await.expect(200);
    let stats = h.admin(Method::GET, "/stats", None).await.expect(200);
    assert_eq!(
        stats["operations"]["create_branch"]["by_status"]["201"], 1,
        "counted as processed"
    );
}

#[tokio::test]
async fn rate_limit_answers_429_until_the_window_refills() {
    let h = H::new().await;
    h.admin(Method::PATCH, "/settings", Some(json!({"rate_limit": 3})))
        .await
        .expect(200);
    for _ in 0..3 {
        h.get(DB).await.expect(200);
    }
    let r = h.get(DB).await;
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "Retry-After {wait}");
    r.expect_error(429, "too_many_requests");
    let other = h.token(json!([{"accesses": ["all"]}])).await;
    h.req_as(Some(&other), Method::GET, DB, None)
        .await
        .expect(200);
    h.advance(20).await;
    h.get(DB).await.expect(200);
    h.admin(
        Method::PATCH,
        "/settings",
        Some(json!({"retry_after": false, "rate_limit": 1})),
    )
    .await
    .expect(200);
    h.get(DB).await.expect(200);
    let r = h.get(DB).await;
    assert!(r.headers.get("retry-after").is_none());
    r.expect_error(429, "too_many_requests");
    h.admin(
        Method::PATCH,
        "/settings",
        Some(json!({"rate_limit": "many"})),
    )
    .await
    .expect_error(422, "invalid_params");
    let settings = h.admin(Method::GET, "/settings", None).await.expect(200);
    assert_eq!(
        (
            settings["rate_limit"].as_u64(),
            settings["revert_window"].as_str()
        ),
        (Some(1), Some("30m"))
    );
}

#[tokio::test]
async fn reset_and_seed_replace_the_world() {
    let h = H::new().await;
    h.post(&format!("{DB}/branches"), json!({"name": "temp"}))
        .await
        .expect(201);
    h.admin(
        Method::POST,
        "/faults",
        Some(json!({"path": "/v1/**", "status": 500, "count": 100})),
    )
    .await
    .expect(201);
    assert_eq!(h.admin(Method::POST, "/reset", None).await.status, 204);
    let branches = h.get(&format!("{DB}/branches")).await.expect(200);
    assert_eq!(
        branches["total_count"], 1,
        "reset restores the startup world and clears faults"
    );
    let yaml = "organizations:\n  - name: beta\n    databases:\n      - name: app\n        safe_migrations: true\n        schema:\n          - CREATE TABLE `t` (`id` int, PRIMARY KEY (`id`))\n        branches:\n          - name: dev\nservice_tokens:\n  - id: tokentoken01\n    token: pscale_tkn_seeded\n    organization: beta\n    accesses:\n      - database: app\n        accesses: [read_branch]\n";
    let seed = reqwest::Client::new()
        .post(format!("{}/_emulator/seed", h.url))
        .body(yaml);
    assert_eq!(send(seed).await.status, 204);
    let seeded = "tokentoken01:pscale_tkn_seeded";
    let list = h
        .req_as(
            Some(seeded),
            Method::GET,
            "/v1/organizations/beta/databases/app/branches",
            None,
        )
        .await
        .expect(200);
    assert_eq!(list["total_count"], 2);
    h.req_as(
        Some(seeded),
        Method::GET,
        "/v1/organizations/beta/databases/app",
        None,
    )
    .await
    .expect(200);
    h.get("/v1/organizations/beta/databases/app/branches/dev/schema")
        .await
        .expect(200);
    h.get(DB).await.expect_error(404, "not_found");
    let bad = reqwest::Client::new()
        .post(format!("{}/_emulator/seed", h.url))
        .body("organizations: [{name: Bad}]");
    assert_eq!(send(bad).await.status, 422);
}

#[tokio::test]
async fn state_lists_everything_without_secrets() {
    let h = H::new().await;
    h.ready_branch("dev").await;
    h.post(&format!("{DB}/branches/dev/passwords"), json!({}))
        .await
        .expect(201);
    let state = h.admin(Method::GET, "/state", None).await.expect(200);
    for key in [
        "organizations",
        "databases",
        "branches",
        "passwords",
        "roles",
        "deploy_requests",
        "service_tokens",
        "oauth_tokens",
        "users",
    ] {
        assert!(state[key].is_array(), "{key} is listed");
    }
    assert_eq!(
        state["branches"].as_array().unwrap().len(),
        3,
        "shop/main, shop/dev, ledger/main"
    );
    assert_eq!(state["service_tokens"][0]["default"], true);
    assert!(
        !state.to_string().contains("pscale_tkn_"),
        "no token secrets in the state listing"
    );
}
