use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::Utc;
use planetscale_api::{Client, Credentials, OAuthTokens, refresh_callback_sync};
use serde_json::json;

use crate::support::{BRANCH_PATH, Stub, branch_json, fast_retries, start};

/// Token endpoint state: the refresh token it accepts and the forms it received.
#[derive(Clone, Default)]
struct Auth {
    forms: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

async fn token(State(auth): State<Auth>, Form(form): Form<HashMap<String, String>>) -> Response {
    auth.forms.lock().unwrap().push(form.clone());
    // Slow enough that concurrent callers pile up behind the one refresh.
    tokio::time::sleep(Duration::from_millis(100)).await;
    if form.get("refresh_token").map(String::as_str) != Some("old-refresh") {
        let body = json!({"error": "invalid_grant", "error_description": "refresh token used"});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    Json(
        json!({"access_token": "new-access", "token_type": "Bearer", "expires_in": 2592000,
                "refresh_token": "new-refresh", "scope": "read_branches"}),
    )
    .into_response()
}

/// Accepts only the new access token; anything else gets an OAuth-style 401.
async fn branch(headers: HeaderMap) -> Response {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some("Bearer new-access") => Json(branch_json("dev")).into_response(),
        _ => {
            // Late enough that concurrent callers all send the old token first.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let body = json!({"error": "invalid_token", "error_description": "expired"});
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
    }
}

async fn stub(auth: Auth) -> Stub {
    let router = Router::new()
        .route("/oauth/token", post(token))
        .route(BRANCH_PATH, get(branch))
        .with_state(auth);
    start(router).await
}

fn client(stub: &Stub, expires_in: chrono::Duration, seen: Arc<Mutex<Vec<OAuthTokens>>>) -> Client {
    let credentials = Credentials::OAuth {
        client_id: "cid".into(),
        client_secret: "csecret".into(),
        access_token: "old-access".into(),
        refresh_token: "old-refresh".into(),
        expires_at: Utc::now() + expires_in,
    };
    Client::builder(credentials)
        .base_url(&stub.url)
        .oauth_token_url(format!("{}/oauth/token", stub.root))
        .retry_policy(fast_retries())
        .refresh_callback(refresh_callback_sync(move |tokens| {
            seen.lock().unwrap().push(tokens);
        }))
        .build()
        .unwrap()
}

async fn get_concurrently(client: &Client, n: usize) {
    let calls = (0..n).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.get_branch("acme", "shop", "dev").await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
}

fn assert_one_refresh(auth: &Auth, seen: &Mutex<Vec<OAuthTokens>>) {
    let forms = auth.forms.lock().unwrap();
    assert_eq!(forms.len(), 1, "token endpoint calls: {}", forms.len());
    let form = &forms[0];
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(
        (form["client_id"].as_str(), form["client_secret"].as_str()),
        ("cid", "csecret")
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].access_token.expose(), "new-access");
    assert_eq!(seen[0].refresh_token.expose(), "new-refresh");
    assert!(seen[0].expires_at > Utc::now() + chrono::Duration::days(29));
}

#[tokio::test]
async fn tokens_close_to_expiry_are_refreshed_once_before_use() {
    let auth = Auth::default();
    let stub = stub(auth.clone()).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = client(&stub, chrono::Duration::seconds(30), seen.clone());
    get_concurrently(&client, 5).await;
    assert_one_refresh(&auth, &seen);
    let bearers: Vec<_> = stub
        .log
        .all()
        .into_iter()
        .filter_map(|s| s.authorization)
        .collect();
    assert!(
        bearers.iter().all(|b| b == "Bearer new-access"),
        "{bearers:?}"
    );
    assert_eq!(client.metrics().snapshot().token_refreshes, 1);
}

#[tokio::test]
async fn a_401_triggers_one_refresh_and_one_resend() {
    let auth = Auth::default();
    let stub = stub(auth.clone()).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = client(&stub, chrono::Duration::hours(1), seen.clone());
    get_concurrently(&client, 4).await;
    assert_one_refresh(&auth, &seen);
    let snapshot = client.metrics().snapshot();
    let unauthorized = snapshot.count("get_branch", "401");
    assert!((1..=4).contains(&unauthorized), "{unauthorized} 401s");
    assert_eq!(snapshot.count("get_branch", "200"), 4);
}

#[tokio::test]
async fn a_second_401_after_a_refresh_is_returned() {
    let auth = Auth::default();
    let always_401 = Router::new()
        .route("/oauth/token", post(token))
        .route(
            BRANCH_PATH,
            get(|| async { (StatusCode::UNAUTHORIZED, "{}") }),
        )
        .with_state(auth.clone());
    let stub = start(always_401).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = client(&stub, chrono::Duration::hours(1), seen.clone());
    let err = client.get_branch("acme", "shop", "dev").await.unwrap_err();
    assert_eq!(err.reason(), "Unauthorized");
    assert_eq!(stub.log.count("GET", "/branches/dev"), 2);
    assert_eq!(auth.forms.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_expired_token_with_a_rejected_refresh_is_unauthorized() {
    let auth = Auth::default();
    let stub = stub(auth.clone()).await;
    let credentials = Credentials::OAuth {
        client_id: "cid".into(),
        client_secret: "csecret".into(),
        access_token: "old-access".into(),
        refresh_token: "revoked-refresh".into(),
        expires_at: Utc::now() - chrono::Duration::minutes(1),
    };
    let client = Client::builder(credentials)
        .base_url(&stub.url)
        .oauth_token_url(format!("{}/oauth/token", stub.root))
        .build()
        .unwrap();
    let err = client.get_branch("acme", "shop", "dev").await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_grant"));
    assert_eq!(err.reason(), "Unauthorized");
    assert!(!err.to_string().contains("revoked-refresh") && !err.to_string().contains("csecret"));
    assert_eq!(
        stub.log.count("GET", "/branches/dev"),
        0,
        "no API call with an expired token"
    );
    assert_eq!(client.metrics().snapshot().token_refresh_failures, 1);
}
