//! Real calls answered by a stub server with any status, body, `Date` and `Retry-After`: the
//! client returns `Ok` or a classified `Err` (no panic, no hang), and a secret in a body that
//! fails to decode never reaches the error.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use planetscale_api::models::{CreatePassword, ListBranches};
use planetscale_api::{Client, Credentials, Error, RateLimit, RetryPolicy};
use proptest::prelude::*;

use super::{SECRET, any_json, cases, shaped_json};

/// What the stub answers to every request.
#[derive(Clone, Debug, Default)]
struct Answer {
    status: u16,
    body: Vec<u8>,
    date: Option<String>,
    retry_after: Option<String>,
}

type Shared = Arc<Mutex<Answer>>;

async fn answer(State(shared): State<Shared>) -> Response {
    let a = shared.lock().unwrap().clone();
    let mut r = Response::new(Body::from(a.body));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in [(header::DATE, a.date), (header::RETRY_AFTER, a.retry_after)] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    }
    r
}

/// A stub on a free port and the runtime it runs on (one for all cases of a property).
struct Stub {
    rt: tokio::runtime::Runtime,
    url: String,
    shared: Shared,
}

impl Stub {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let shared: Shared = Arc::default();
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
        rt.spawn(async move { axum::serve(listener, app).await.expect("serve") });
        Self { rt, url, shared }
    }

    /// Every call of the round trip, on a fresh client (no retries, 5 s timeout, a budget that
    /// never waits long), answered with `a`. Returns the errors.
    fn round_trip(&self, a: Answer) -> Vec<Error> {
        *self.shared.lock().unwrap() = a;
        let client = Client::builder(Credentials::service_token(
            "fuzz0tokenid",
            "pscale_tkn_fuzz",
        ))
        .base_url(self.url.clone())
        .retry_policy(RetryPolicy::none())
        // A paused budget (after a 429) fails the next calls at once instead of waiting.
        .rate_limit(RateLimit::per_minute(60_000, 100).with_max_wait(Duration::from_millis(100)))
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
        self.rt.block_on(async move {
            let calls = async {
                let mut errors = Vec::new();
                let mut keep = |r: Result<String, Error>| {
                    if let Err(e) = r {
                        errors.push(e);
                    }
                };
                keep(
                    client
                        .get_branch("o", "d", "b")
                        .await
                        .map(|b| format!("{b:?}")),
                );
                let all = client
                    .list_branches_all("o", "d", &ListBranches::default())
                    .await;
                keep(all.map(|b| format!("{b:?}")));
                let body = CreatePassword::default();
                let pw = client.create_password("o", "d", "b", &body).await;
                keep(pw.map(|p| format!("{p:?}")));
                let schema = client.get_branch_schema("o", "d", "b", None).await;
                keep(schema.map(|s| format!("{s:?}")));
                keep(
                    client
                        .get_deploy_request("o", "d", 1)
                        .await
                        .map(|d| format!("{d:?}")),
                );
                let _ = client.server_now();
                errors
            };
            tokio::time::timeout(Duration::from_secs(30), calls)
                .await
                .expect("a round trip ends (no hang)")
        })
    }
}

fn statuses() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(200u16),
        Just(201),
        Just(204),
        Just(404),
        Just(422),
        Just(429),
        Just(503),
        200u16..600
    ]
}

fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        shaped_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        shaped_json().prop_map(|v| serde_json::to_vec(&serde_json::json!({"data": [v]})).unwrap()),
    ]
}

fn header_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        "[ -~]{0,40}",
        any::<u64>().prop_map(|n| n.to_string()),
        Just("1e30".to_string()),
        Just("18446744073709551616".to_string()),
        Just("Thu, 01 Jan 1970 00:00:00 GMT".to_string()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_string()),
    ])
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn any_server_answer_ends_in_ok_or_a_classified_error(
        status in statuses(),
        body in bodies(),
        date in header_text(),
        retry_after in header_text(),
    ) {
        thread_local!(static STUB: Stub = Stub::start());
        let decodes = (200..300).contains(&status);
        let json_body = serde_json::from_slice::<serde_json::Value>(&body).is_ok();
        let errors = STUB.with(|s| s.round_trip(Answer { status, body, date, retry_after }));
        for e in errors {
            prop_assert!(!e.reason().is_empty());
            let text = format!("{e} {e:?}");
            if decodes || !json_body {
                prop_assert!(!text.contains(SECRET), "a secret in the body reached the error: {text}");
            }
        }
    }
}
