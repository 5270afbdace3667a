//! A stub API server that records every request it sees.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use planetscale_api::{Client, ClientBuilder, Credentials, RetryPolicy};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
    pub at: Instant,
}

/// Every request the stub received, in arrival order.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    fn push(&self, request: &Request) {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let seen = Seen {
            method: request.method().to_string(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().unwrap_or("").to_owned(),
            authorization: header("authorization"),
            user_agent: header("user-agent"),
            at: Instant::now(),
        };
        self.0.lock().unwrap().push(seen);
    }

    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    /// Requests with this method whose path ends with `suffix`.
    pub fn count(&self, method: &str, suffix: &str) -> usize {
        self.all()
            .iter()
            .filter(|s| s.method == method && s.path.ends_with(suffix))
            .count()
    }
}

/// A running stub; stops when dropped.
pub struct Stub {
    /// API base URL (`http://127.0.0.1:<port>/v1`).
    pub url: String,
    /// Server root, for the OAuth token URL.
    pub root: String,
    pub log: Log,
    task: JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start(router: Router) -> Stub {
    let log = Log::default();
    let recorder = log.clone();
    let app = router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let recorder = recorder.clone();
        async move {
            recorder.push(&request);
            next.run(request).await
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Stub {
        url: format!("http://{addr}/v1"),
        root: format!("http://{addr}"),
        log,
        task,
    }
}

/// Quick retries so the tests stay fast.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(10),
    }
}

/// A service-token client for `stub` with fast retries.
pub fn builder(stub: &Stub) -> ClientBuilder {
    Client::builder(Credentials::service_token("stubid", "stubtoken"))
        .base_url(&stub.url)
        .retry_policy(fast_retries())
}

pub fn branch_json(name: &str) -> Value {
    json!({"id": format!("id-{name}"), "type": "Branch", "name": name, "state": "ready",
           "ready": true, "production": false, "parent_branch": "main",
           "created_at": "2023-10-25T16:54:12.879Z"})
}

pub fn password_json(name: &str) -> Value {
    json!({"id": "pw1", "name": name, "role": "admin", "username": "u1",
           "plain_text": "pscale_pw_stub", "renewable": true, "expired": false})
}

pub const BRANCH_PATH: &str = "/v1/organizations/{org}/databases/{db}/branches/{branch}";
pub const PASSWORDS_PATH: &str =
    "/v1/organizations/{org}/databases/{db}/branches/{branch}/passwords";
