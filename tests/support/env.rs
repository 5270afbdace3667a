//! The emulator and the operator as child processes, for end-to-end tests.
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use serde_json::{Value, json};

use super::process::{ChildProcess, bin_path};

/// The default service token every emulator in the tests starts with (full access).
pub const TOKEN_ID: &str = "pso0test0tok";
pub const TOKEN: &str = "pscale_tkn_integrationtestsecret0000000000";
/// Name of the credentials Secret `with_operator` creates in the test namespace.
pub const CREDENTIALS_SECRET: &str = "planetscale-credentials";

/// A running `planetscale-emulator` (organization `acme`, ready database `shop` with a
/// production `main` branch, unless its config says otherwise).
pub struct Emulator {
    pub process: ChildProcess,
    /// Base URL, e.g. `http://127.0.0.1:41234` (the API is under `/v1`).
    pub url: String,
    http: reqwest::Client,
}

impl Emulator {
    /// Starts the emulator with extra flags (e.g. `["--branch-ready-delay", "2s"]`).
    pub async fn start(extra: &[&str]) -> Self {
        let mut args = vec![
            "--listen",
            "127.0.0.1:0",
            "--default-token-id",
            TOKEN_ID,
            "--default-token",
            TOKEN,
        ];
        args.extend_from_slice(extra);
        let process =
            ChildProcess::spawn("emulator", &bin_path("planetscale-emulator"), &args, &[]);
        let line = process
            .wait_for_log("http://127.0.0.1:", Duration::from_secs(30))
            .await;
        let url = line.trim().to_string();
        Self {
            process,
            url,
            http: reqwest::Client::new(),
        }
    }

    /// The API base URL the operator is configured with.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    /// GET an admin path (e.g. `/_emulator/state`).
    pub async fn admin_get(&self, path: &str) -> Value {
        expect_json(self.http.get(format!("{}{path}", self.url)), path).await
    }

    /// POST JSON to an admin path.
    pub async fn admin_post(&self, path: &str, body: Value) -> Value {
        expect_json(
            self.http.post(format!("{}{path}", self.url)).json(&body),
            path,
        )
        .await
    }

    /// Moves the emulator clock forward (e.g. `"30s"`, `"2h"`).
    pub async fn advance(&self, by: &str) {
        self.admin_post("/_emulator/clock/advance", json!({ "by": by }))
            .await;
    }

    /// Per-operation request counts by status.
    pub async fn stats(&self) -> Value {
        self.admin_get("/_emulator/stats").await
    }

    /// Everything the emulator holds (organizations, databases, branches, passwords, …).
    pub async fn world(&self) -> Value {
        self.admin_get("/_emulator/state").await
    }

    /// Whether `username`/`password` currently work on `org/db/branch`.
    pub async fn password_valid(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        username: &str,
        password: &str,
    ) -> bool {
        let v = self
            .admin_post(
                "/_emulator/verify-password",
                json!({"organization": org, "database": db, "branch": branch, "username": username, "password": password}),
            )
            .await;
        v["valid"].as_bool().unwrap_or(false)
    }
}

/// A running operator process watching one namespace, with its default credentials in that
/// namespace (so tests are isolated from each other).
pub struct Operator {
    pub process: ChildProcess,
}

impl Operator {
    /// Starts the operator for `namespace` against `emulator`; `env` adds or overrides
    /// `PSO_*` variables (e.g. `("PSO_RESYNC_INTERVAL", "5s")`).
    pub fn start(namespace: &str, emulator: &Emulator, env: &[(&str, &str)]) -> Self {
        let kubeconfig = super::kubeconfig_path();
        let api_url = emulator.api_url();
        let token_url = format!("{}/oauth/token", emulator.url);
        let mut vars: Vec<(&str, &str)> = vec![
            ("PSO_WATCH_NAMESPACES", namespace),
            ("PSO_OPERATOR_NAMESPACE", namespace),
            ("PSO_DEFAULT_CREDENTIALS_SECRET", CREDENTIALS_SECRET),
            ("PSO_API_URL", &api_url),
            ("PSO_OAUTH_TOKEN_URL", &token_url),
            ("PSO_METRICS_ADDR", "127.0.0.1:0"),
            ("PSO_HEALTH_ADDR", "127.0.0.1:0"),
            ("PSO_LOG_FORMAT", "json"),
            (
                "PSO_LOG_LEVEL",
                "info,planetscale_operator=debug,planetscale_api=debug",
            ),
            ("RUST_BACKTRACE", "1"),
        ];
        for (k, v) in env {
            vars.retain(|(key, _)| key != k);
            vars.push((k, v));
        }
        Self::start_with(&kubeconfig, &vars)
    }

    /// Starts `planetscale-operator run` with exactly `vars` (nothing defaulted) and the
    /// kubeconfig at `kubeconfig` (e.g. a ServiceAccount's).
    pub fn start_with(kubeconfig: &Path, vars: &[(&str, &str)]) -> Self {
        let mut all: Vec<(&str, &str)> =
            vec![("KUBECONFIG", kubeconfig.to_str().expect("utf-8 path"))];
        all.extend(vars.iter().filter(|(k, _)| *k != "KUBECONFIG"));
        let process = ChildProcess::spawn(
            "operator",
            &bin_path("planetscale-operator"),
            &["run"],
            &all,
        );
        Self { process }
    }

    /// The operator's log so far (JSON lines).
    pub fn log(&self) -> String {
        self.process.log_text()
    }

    /// The operator's log lines that mention `name` (the last 80), for a failure message.
    pub fn log_about(&self, name: &str) -> String {
        let log = self.log();
        let quoted = format!("\"{name}\"");
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(&quoted)).collect();
        lines[lines.len().saturating_sub(80)..].join("\n")
    }

    /// The addresses it serves `/metrics` and `/healthz` + `/readyz` on (from its start-up log
    /// line, so that port 0 works).
    pub async fn addresses(&self) -> (SocketAddr, SocketAddr) {
        let line = self
            .process
            .wait_for_log("serving /metrics", Duration::from_secs(30))
            .await;
        let v: Value = serde_json::from_str(&line).expect("JSON log line");
        let addr = |k: &str| {
            v["fields"][k]
                .as_str()
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no {k} address in {line}"))
        };
        (addr("metrics"), addr("health"))
    }

    /// `GET /readyz`: the status code and the body.
    pub async fn readyz(&self) -> (u16, String) {
        let (_, health) = self.addresses().await;
        let r = local_http()
            .get(format!("http://{health}/readyz"))
            .send()
            .await
            .expect("/readyz answers");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    /// `GET /metrics`, parsed.
    pub async fn metrics(&self) -> super::scrape::Scrape {
        let (metrics, _) = self.addresses().await;
        let r = local_http()
            .get(format!("http://{metrics}/metrics"))
            .send()
            .await
            .expect("/metrics answers");
        assert!(r.status().is_success(), "/metrics: {}", r.status());
        super::scrape::Scrape::parse(&r.text().await.expect("body"))
    }
}

/// Sends `request` (to `path`, for the failure message), which must succeed, and returns its
/// JSON body (`null` when there is none).
pub async fn expect_json(request: reqwest::RequestBuilder, path: &str) -> Value {
    let r = request.send().await.expect("emulator reachable");
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn local_http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client")
}

/// Creates a service-token credentials Secret for the emulator's default token.
pub async fn create_credentials_secret(
    client: kube::Client,
    ns: &str,
    name: &str,
    id: &str,
    token: &str,
) {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        string_data: Some(
            [
                ("serviceTokenId".to_string(), id.to_string()),
                ("serviceToken".to_string(), token.to_string()),
            ]
            .into(),
        ),
        ..Default::default()
    };
    Api::<Secret>::namespaced(client, ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create credentials Secret");
}

/// A test namespace with a credentials Secret, an emulator (with `emulator_args`) and an
/// operator watching that namespace. The closure gets the client, the namespace, the emulator
/// and the operator; everything stops afterwards.
pub async fn with_operator<F, Fut, T>(
    emulator_args: &[&str],
    operator_env: &[(&str, &str)],
    f: F,
) -> T
where
    F: FnOnce(kube::Client, String, Emulator, Operator) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    super::install_crds().await;
    let emulator = Emulator::start(emulator_args).await;
    let env: Vec<(String, String)> = operator_env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    super::with_temp_ns(|client, ns| async move {
        create_credentials_secret(client.clone(), &ns, CREDENTIALS_SECRET, TOKEN_ID, TOKEN).await;
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let operator = Operator::start(&ns, &emulator, &env);
        f(client, ns, emulator, operator).await
    })
    .await
}
