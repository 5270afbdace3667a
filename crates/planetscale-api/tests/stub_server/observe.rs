use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use planetscale_api::models::CreatePassword;
use planetscale_api::{ApiMetrics, Observer};

use crate::support::{BRANCH_PATH, PASSWORDS_PATH, branch_json, builder, password_json, start};

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Observer for Recorder {
    fn request(&self, operation: &'static str, status: &str, _elapsed: Duration) {
        self.0.lock().unwrap().push(format!("{operation} {status}"));
    }
}

#[tokio::test]
async fn observers_and_shared_counters_see_every_attempt() {
    let router = Router::new().route(
        BRANCH_PATH,
        get(|| async { axum::Json(branch_json("dev")) }),
    );
    let stub = start(router).await;
    let metrics = Arc::new(ApiMetrics::new());
    let recorder = Arc::new(Recorder::default());
    let a = builder(&stub)
        .metrics(metrics.clone())
        .observer(recorder.clone())
        .build()
        .unwrap();
    let b = builder(&stub).metrics(metrics.clone()).build().unwrap();
    a.get_branch("acme", "shop", "dev").await.unwrap();
    b.get_branch("acme", "shop", "dev").await.unwrap();
    assert_eq!(metrics.snapshot().count("get_branch", "200"), 2);
    assert_eq!(*recorder.0.lock().unwrap(), ["get_branch 200"]);
}

/// Collects everything tracing writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_logs_never_contain_tokens_or_passwords() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let created = || async { (StatusCode::CREATED, axum::Json(password_json("app"))) };
    let stub = start(Router::new().route(PASSWORDS_PATH, post(created))).await;
    let client = builder(&stub).build().unwrap();
    let password = client
        .create_password("acme", "shop", "dev", &CreatePassword::default())
        .await
        .unwrap();
    assert_eq!(password.plain_text.unwrap().expose(), "pscale_pw_stub");
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("create_password"),
        "the span was not logged:\n{logs}"
    );
    for secret in ["stubtoken", "pscale_pw_stub"] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}
