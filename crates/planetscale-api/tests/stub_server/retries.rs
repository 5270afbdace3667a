use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use planetscale_api::models::CreatePassword;
use planetscale_api::{Client, Credentials, Error, RetryPolicy};
use serde_json::json;

use crate::support::{
    BRANCH_PATH, PASSWORDS_PATH, branch_json, builder, fast_retries, password_json, start,
};

/// Answers `failures` times with `fail()`, then with `ok()`.
fn flaky<F, G>(failures: usize, fail: F, ok: G) -> impl Fn() -> std::future::Ready<Response> + Clone
where
    F: Fn() -> Response + Clone,
    G: Fn() -> Response + Clone,
{
    let calls = Arc::new(AtomicUsize::new(0));
    move || {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(if n < failures { fail() } else { ok() })
    }
}

fn branch_ok() -> Response {
    axum::Json(branch_json("dev")).into_response()
}

#[tokio::test]
async fn get_is_retried_on_5xx_until_it_succeeds() {
    let handler = flaky(
        2,
        || (StatusCode::SERVICE_UNAVAILABLE, "{}").into_response(),
        branch_ok,
    );
    let stub = start(Router::new().route(BRANCH_PATH, get(handler))).await;
    let client = builder(&stub).build().unwrap();
    let branch = client.get_branch("acme", "shop", "dev").await.unwrap();
    assert_eq!(branch.name, "dev");
    assert_eq!(stub.log.count("GET", "/branches/dev"), 3);
    let snap = client.metrics().snapshot();
    assert_eq!(snap.count("get_branch", "503"), 2);
    assert_eq!(snap.count("get_branch", "200"), 1);
    assert_eq!(snap.retries, 2);
}

#[tokio::test]
async fn get_gives_up_after_max_attempts_with_the_last_error() {
    let handler = flaky(
        usize::MAX,
        || (StatusCode::BAD_GATEWAY, "<html>oops</html>").into_response(),
        branch_ok,
    );
    let stub = start(Router::new().route(BRANCH_PATH, get(handler))).await;
    let client = builder(&stub).build().unwrap();
    let err = client.get_branch("acme", "shop", "dev").await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert!(err.is_transient());
    assert_eq!(
        stub.log.count("GET", "/branches/dev"),
        fast_retries().max_attempts as usize
    );
}

fn too_many(retry_after: &'static str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", retry_after.parse().unwrap());
    let body = r#"{"code":"too_many_requests","message":"slow down"}"#;
    (StatusCode::TOO_MANY_REQUESTS, headers, body).into_response()
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_even_for_a_create() {
    let handler = flaky(
        1,
        || too_many("1"),
        || (StatusCode::CREATED, axum::Json(password_json("app"))).into_response(),
    );
    let stub = start(Router::new().route(PASSWORDS_PATH, post(handler))).await;
    let client = builder(&stub).build().unwrap();
    let started = Instant::now();
    let password = client
        .create_password("acme", "shop", "dev", &CreatePassword::default())
        .await
        .unwrap();
    assert_eq!(password.plain_text.unwrap().expose(), "pscale_pw_stub");
    let seen = stub.log.all();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let gap = seen[1].at - seen[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "second attempt came after {gap:?}, before Retry-After"
    );
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_is_returned_to_the_caller() {
    let handler = flaky(usize::MAX, || too_many("120"), branch_ok);
    let stub = start(Router::new().route(BRANCH_PATH, get(handler))).await;
    let client = builder(&stub).build().unwrap();
    let err = client.get_branch("acme", "shop", "dev").await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(err.reason(), "RateLimited");
    assert_eq!(err.message(), Some("slow down"));
    assert_eq!(stub.log.all().len(), 1);
}

async fn slow_create() -> Response {
    tokio::time::sleep(Duration::from_secs(3)).await;
    (StatusCode::CREATED, axum::Json(password_json("late"))).into_response()
}

#[tokio::test]
async fn a_create_is_not_resent_after_a_timeout() {
    let stub = start(Router::new().route(PASSWORDS_PATH, post(slow_create))).await;
    let client = builder(&stub)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client
        .create_password("acme", "shop", "dev", &CreatePassword::default())
        .await
        .unwrap_err();
    assert_eq!(err, Error::Timeout);
    assert_eq!(
        stub.log.count("POST", "/passwords"),
        1,
        "the stub saw: {:?}",
        stub.log.all()
    );
    assert_eq!(
        client
            .metrics()
            .snapshot()
            .count("create_password", "timeout"),
        1
    );
}

#[tokio::test]
async fn a_create_is_not_resent_after_a_5xx() {
    let handler = flaky(
        usize::MAX,
        || (StatusCode::INTERNAL_SERVER_ERROR, "{}").into_response(),
        branch_ok,
    );
    let stub = start(Router::new().route(PASSWORDS_PATH, post(handler))).await;
    let client = builder(&stub).build().unwrap();
    let err = client
        .create_password("acme", "shop", "dev", &CreatePassword::default())
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "ServerError");
    assert_eq!(stub.log.count("POST", "/passwords"), 1);
}

#[tokio::test]
async fn an_idempotent_get_is_resent_after_a_timeout() {
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        axum::Json(json!({}))
    };
    let stub = start(Router::new().route(BRANCH_PATH, get(slow))).await;
    let policy = RetryPolicy {
        max_attempts: 2,
        ..fast_retries()
    };
    let client = builder(&stub)
        .timeout(Duration::from_millis(200))
        .retry_policy(policy)
        .build()
        .unwrap();
    let err = client.get_branch("acme", "shop", "dev").await.unwrap_err();
    assert_eq!(err, Error::Timeout);
    assert_eq!(stub.log.count("GET", "/branches/dev"), 2);
}

#[tokio::test]
async fn a_create_is_resent_when_the_connection_was_refused() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(Credentials::service_token("id", "tok"))
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .retry_policy(RetryPolicy {
            max_attempts: 3,
            ..fast_retries()
        })
        .build()
        .unwrap();
    let err = client
        .create_password("acme", "shop", "dev", &CreatePassword::default())
        .await
        .unwrap_err();
    assert!(err.is_before_send(), "{err:?}");
    assert_eq!(
        client
            .metrics()
            .snapshot()
            .count("create_password", "transport"),
        3
    );
}

#[tokio::test]
async fn the_connect_timeout_ends_a_connect_that_never_completes() {
    // A listener with a backlog of 0 that never accepts: once its accept queue is full the
    // kernel drops further SYNs, so a connect hangs. Fill it until a probe connect times out.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    while let Ok(stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        queued.push(stream);
        assert!(
            queued.len() < 16,
            "the listener keeps taking connections, a connect cannot be made to hang"
        );
    }
    let client = Client::builder(Credentials::service_token("stubid", "stubtoken"))
        .base_url(format!("http://{addr}/v1"))
        .connect_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(20))
        .retry_policy(RetryPolicy {
            max_attempts: 1,
            ..fast_retries()
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.get_branch("acme", "shop", "main").await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, Error::Transport { connect: true, .. }) && err.is_before_send(),
        "a connect timeout means the server never saw the request: {err:?}"
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(5),
        "ended by the 300 ms connect timeout, not the 20 s request timeout: {took:?}"
    );
    drop((queued, listener));
}
