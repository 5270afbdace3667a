//! `planetscale-operator oauth login` end to end: the real binary against the emulator's OAuth
//! endpoints (its built-in application `emulator-client`, redirect URI
//! `http://127.0.0.1/callback`, any loopback port), with the test acting as the browser, and
//! the Secret it writes used by a running operator.
//!
//! Needs `make testenv-up` and `cargo build --workspace --bins`.
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::credentials::parse_secret;
use reqwest::{StatusCode, Url};
use serde_json::json;
use support::{Emulator, bin_path, with_operator};

/// The emulator's built-in OAuth application.
const CLIENT_ID: &str = "emulator-client";
const CLIENT_SECRET: &str = "emulator-client-secret";
/// The OAuth keys of a credentials Secret (docs/credentials.md).
const OAUTH_KEYS: [&str; 5] = [
    "accessToken",
    "expiresAt",
    "oauthClientId",
    "oauthClientSecret",
    "refreshToken",
];
/// How long a login may take to print its address, or to exit once the browser is done.
const PROMPT: Duration = Duration::from_secs(30);
/// How long a branch may take to become Ready (the emulator's branch ready delay is 2 s).
const READY: Duration = Duration::from_secs(45);

/// A running `planetscale-operator oauth login`; stdout (which may hold tokens with `--print`)
/// goes to a temporary directory, stderr to `target/test-logs/`. Killed when dropped.
struct Login {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Login {
    /// Starts a login against `emu` on a free port; `extra` adds flags (`--print`,
    /// `--namespace`, …). The client secret comes from `PSO_OAUTH_CLIENT_SECRET`; the kubeconfig
    /// is the harness's (or none at all with `kubeconfig: false`).
    fn start(emu: &Emulator, extra: &[&str], client_secret: &str, kubeconfig: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-logs");
        std::fs::create_dir_all(&logs).expect("log dir");
        let stdout = dir.path().join("stdout");
        let stderr = logs.join(format!("oauth-login-{}.log", rand::random::<u32>()));
        let (authorize, token) = (
            format!("{}/oauth/authorize", emu.url),
            format!("{}/oauth/token", emu.url),
        );
        let mut args = vec![
            "oauth",
            "login",
            "--client-id",
            CLIENT_ID,
            "--authorize-url",
            &authorize,
            "--token-url",
            &token,
            "--listen",
            "127.0.0.1:0",
            "--no-browser",
        ];
        if !extra.contains(&"--timeout") {
            args.extend(["--timeout", "60s"]);
        }
        args.extend_from_slice(extra);
        let kubeconfig = match kubeconfig {
            true => support::kubeconfig_path(),
            false => dir.path().join("no-kubeconfig"),
        };
        let child = Command::new(bin_path("planetscale-operator"))
            .args(&args)
            .env("PSO_OAUTH_CLIENT_SECRET", client_secret)
            .env("KUBECONFIG", kubeconfig)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn planetscale-operator oauth login");
        Self {
            child,
            stdout,
            stderr,
            _dir: dir,
        }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The authorize address the login printed for the user to open.
    async fn authorize_url(&self) -> Url {
        let text = support::eventually(PROMPT, "the authorize address on stderr", || async {
            let text = self.stderr();
            match text.lines().find(|l| l.contains("/oauth/authorize?")) {
                Some(line) => Ok(line.trim().to_string()),
                None => Err(text),
            }
        })
        .await;
        Url::parse(&text).expect("the printed address is a URL")
    }

    /// Waits for the process to exit; panics with its stderr after `timeout`.
    async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "oauth login still running after {timeout:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for a failed exit (status 1) and returns stderr.
    async fn wait_failure(&mut self) -> String {
        let status = self.wait_exit(PROMPT).await;
        let stderr = self.stderr();
        assert_eq!(
            status.code(),
            Some(1),
            "exit status {status}; stderr:\n{stderr}"
        );
        stderr
    }
}

impl Drop for Login {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test's browser: follows nothing by itself, so each hop is visible.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// Opens the authorize address; the emulator approves at once and redirects to the login's
/// listener. Returns that redirect.
async fn approve(url: &Url) -> Url {
    let r = browser()
        .get(url.clone())
        .send()
        .await
        .expect("emulator reachable");
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = r.text().await.unwrap_or_default();
    assert_eq!(
        status,
        StatusCode::FOUND,
        "authorize answered {status}: {body}"
    );
    Url::parse(&location.expect("a Location header")).expect("Location is a URL")
}

/// Follows a redirect to the login's listener; returns the page it shows.
async fn visit(url: &Url) -> (StatusCode, String) {
    let r = browser()
        .get(url.clone())
        .send()
        .await
        .expect("the login's listener is reachable");
    (r.status(), r.text().await.unwrap_or_default())
}

/// `url` with query parameter `key` set to `value` (the others kept).
fn with_param(url: &Url, key: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != key)
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(key, value);
    out
}

fn param(url: &Url, key: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map_or_else(|| panic!("no {key} in {url}"), |(_, v)| v.into_owned())
}

/// A Secret's data as text.
fn text_data(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).expect("UTF-8 value")))
        .collect()
}

/// Asserts the five OAuth keys with plausible values.
fn assert_oauth_keys(data: &BTreeMap<String, String>) {
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    assert_eq!(keys, OAUTH_KEYS, "exactly the OAuth keys");
    assert_eq!(data["oauthClientId"], CLIENT_ID);
    assert_eq!(data["oauthClientSecret"], CLIENT_SECRET);
    assert!(data["accessToken"].starts_with("pscale_oauth_"));
    assert!(data["refreshToken"].starts_with("pscale_oauth_refresh_"));
    let expires: DateTime<Utc> = data["expiresAt"].parse().expect("expiresAt is RFC 3339");
    let days = (expires - Utc::now()).num_days();
    assert!(
        (29..=30).contains(&days),
        "the emulator issues 30-day tokens: {expires}"
    );
}

/// Asserts that no secret value of `data` appears in `text` (the login's stderr).
fn assert_no_secret_in(text: &str, data: &BTreeMap<String, String>) {
    for key in ["accessToken", "refreshToken", "oauthClientSecret"] {
        assert!(
            !text.contains(&data[key]),
            "{key} appears on stderr:\n{text}"
        );
    }
}

fn branch(name: &str, credentials: &str) -> PlanetScaleBranch {
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScaleBranch",
        "metadata": {"name": name},
        "spec": {
            "organization": "acme",
            "database": "shop",
            "credentialsRef": {"name": credentials},
        },
    }))
    .expect("valid PlanetScaleBranch")
}

fn is_ready(b: &PlanetScaleBranch) -> bool {
    let status = b.status.as_ref();
    status.and_then(|s| s.observed_generation) == b.metadata.generation
        && status.is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

#[tokio::test]
async fn login_writes_a_credentials_secret_that_the_operator_uses() {
    // Default credentials off: the branch can only become Ready through the login's Secret.
    let env = [("PSO_NO_DEFAULT_CREDENTIALS", "true")];
    let emulator_args = ["--branch-ready-delay", "2s"];
    with_operator(&emulator_args, &env, |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let flags = ["--namespace", ns.as_str(), "--secret-name", "oauth-login"];
        let mut login = Login::start(&emu, &flags, CLIENT_SECRET, true);
        let url = login.authorize_url().await;
        assert_eq!(url.path(), "/oauth/authorize");
        assert_eq!(param(&url, "client_id"), CLIENT_ID);
        assert_eq!(param(&url, "response_type"), "code");
        assert!(param(&url, "redirect_uri").ends_with("/callback"), "{url}");
        assert_eq!(param(&url, "state").len(), 64, "{url}");

        let started = Instant::now();
        let (status, page) = visit(&approve(&url).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("You can close this tab"), "{page}");
        let exit = login.wait_exit(PROMPT).await;
        let stderr = login.stderr();
        assert!(exit.success(), "exit {exit}; stderr:\n{stderr}");
        eprintln!("browser redirect to exit 0: {:?}", started.elapsed());
        assert!(
            login.stdout().is_empty(),
            "nothing on stdout without --print"
        );

        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let secret = secrets.get("oauth-login").await.expect("the Secret exists");
        let data = text_data(&secret);
        assert_oauth_keys(&data);
        assert_no_secret_in(&stderr, &data);
        assert!(
            stderr.contains(&format!("Wrote Secret {ns}/oauth-login")),
            "{stderr}"
        );
        assert_eq!(
            secret.labels().get("planetscale.operator.dev/credentials"),
            Some(&"oauth".to_string())
        );
        let managers: Vec<_> = secret
            .managed_fields()
            .iter()
            .filter_map(|m| m.manager.clone())
            .collect();
        assert_eq!(managers, ["planetscale-operator"], "server-side applied");

        // The operator works with it: a branch that names it becomes Ready.
        let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        branches
            .patch(
                "via-login",
                &PatchParams::apply("pso-test").force(),
                &Patch::Apply(&branch("via-login", "oauth-login")),
            )
            .await
            .expect("apply branch");
        support::wait_for(&branches, "via-login", READY, "Ready", is_ready).await;

        // Logging in again updates the same Secret with a new pair.
        let mut again = Login::start(&emu, &flags, CLIENT_SECRET, true);
        let (status, page) = visit(&approve(&again.authorize_url().await).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let exit = again.wait_exit(PROMPT).await;
        assert!(exit.success(), "exit {exit}; stderr:\n{}", again.stderr());
        let updated = text_data(&secrets.get("oauth-login").await.expect("Secret"));
        assert_oauth_keys(&updated);
        assert_ne!(updated["accessToken"], data["accessToken"]);
        assert_ne!(updated["refreshToken"], data["refreshToken"]);

        branches
            .delete("via-login", &DeleteParams::default())
            .await
            .expect("delete branch");
        support::wait_gone(&branches, "via-login", READY).await;
    })
    .await;
}

#[tokio::test]
async fn a_redirect_with_another_state_is_refused_and_nothing_is_stored() {
    let emu = Emulator::start(&[]).await;
    support::with_temp_ns(|client, ns| async move {
        let flags = ["--namespace", ns.as_str(), "--secret-name", "oauth-login"];
        let mut login = Login::start(&emu, &flags, CLIENT_SECRET, true);
        let url = login.authorize_url().await;
        // A redirect with a real code but a state this login did not make (a forged link, or
        // a stale tab of an earlier login).
        let forged = with_param(&approve(&url).await, "state", "0123456789abcdef");
        let (status, page) = visit(&forged).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
        assert!(page.contains("state does not match"), "{page}");
        let stderr = login.wait_failure().await;
        assert!(stderr.contains("state does not match"), "{stderr}");
        assert!(stderr.contains("nothing was stored"), "{stderr}");

        let secrets: Api<Secret> = Api::namespaced(client, &ns);
        assert!(secrets.get_opt("oauth-login").await.expect("get").is_none());
        let world = emu.world().await;
        let issued = world["oauth_tokens"].as_array().map_or(0, Vec::len);
        assert_eq!(issued, 0, "the code was never exchanged: {world}");
    })
    .await;
}

#[tokio::test]
async fn print_writes_a_working_secret_manifest_to_stdout_without_a_cluster() {
    let emu = Emulator::start(&[]).await;
    let flags = [
        "--print",
        "--namespace",
        "team-a",
        "--secret-name",
        "printed",
    ];
    // No kubeconfig at all: --print never talks to Kubernetes.
    let mut login = Login::start(&emu, &flags, CLIENT_SECRET, false);
    let (status, page) = visit(&approve(&login.authorize_url().await).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let exit = login.wait_exit(PROMPT).await;
    let stderr = login.stderr();
    assert!(exit.success(), "exit {exit}; stderr:\n{stderr}");

    let stdout = login.stdout();
    let secret: Secret = serde_norway::from_str(&stdout).expect("stdout is a Secret manifest");
    assert_eq!(secret.metadata.name.as_deref(), Some("printed"));
    assert_eq!(secret.metadata.namespace.as_deref(), Some("team-a"));
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    assert!(
        stdout.contains("expiresAt: \""),
        "expiresAt quoted:\n{stdout}"
    );
    let data: BTreeMap<String, String> = secret.string_data.clone().expect("stringData");
    assert_oauth_keys(&data);
    assert_no_secret_in(&stderr, &data);

    // The operator reads it as OAuth credentials, and they work against the API.
    let bytes: BTreeMap<String, ByteString> = data
        .iter()
        .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
        .collect();
    let creds = parse_secret("team-a/printed", Some(&bytes)).expect("valid credentials");
    let api = planetscale_api::Client::builder(creds)
        .base_url(emu.api_url())
        .oauth_token_url(format!("{}/oauth/token", emu.url))
        .build()
        .expect("client");
    let db = api
        .get_database("acme", "shop")
        .await
        .expect("the tokens work");
    assert_eq!(db.name, "shop");
}

#[tokio::test]
async fn a_denied_authorization_fails_with_a_clear_message() {
    let emu = Emulator::start(&[]).await;
    let mut login = Login::start(&emu, &["--print"], CLIENT_SECRET, false);
    let url = login.authorize_url().await;
    // The emulator approves every request, so the test sends the redirect PlanetScale sends
    // when the user clicks "deny": `error=access_denied` with this login's state.
    let mut denied = Url::parse(&param(&url, "redirect_uri")).expect("redirect_uri");
    denied
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair(
            "error_description",
            "The resource owner denied the request.",
        )
        .append_pair("state", &param(&url, "state"));
    let (status, page) = visit(&denied).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("denied"), "{page}");
    let stderr = login.wait_failure().await;
    assert!(
        stderr.contains("the authorization was denied in the browser (access_denied: The resource owner denied the request.)"),
        "{stderr}"
    );
    assert!(stderr.contains("approve the application"), "{stderr}");
    assert!(login.stdout().is_empty(), "no manifest printed");
}

#[tokio::test]
async fn a_wrong_client_secret_fails_at_the_token_endpoint_with_a_hint() {
    let emu = Emulator::start(&[]).await;
    let mut login = Login::start(&emu, &["--print"], "not-the-secret", false);
    let (status, page) = visit(&approve(&login.authorize_url().await).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    let stderr = login.wait_failure().await;
    assert!(stderr.contains("(401 invalid_client"), "{stderr}");
    assert!(
        stderr.contains("check --client-id and the client secret"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-secret"), "{stderr}");
    assert!(login.stdout().is_empty(), "no manifest printed");
}

#[tokio::test]
async fn no_redirect_within_the_timeout_fails_and_says_what_to_check() {
    let emu = Emulator::start(&[]).await;
    let flags = ["--print", "--timeout", "1s"];
    let mut login = Login::start(&emu, &flags, CLIENT_SECRET, false);
    let stderr = login.wait_failure().await;
    assert!(
        stderr.contains("no redirect arrived at http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("redirect URI registered for the application"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_secret_holding_a_service_token_is_refused_before_the_browser_opens() {
    let emu = Emulator::start(&[]).await;
    support::with_temp_ns(|client, ns| async move {
        let (id, token) = (support::env::TOKEN_ID, support::env::TOKEN);
        support::env::create_credentials_secret(client.clone(), &ns, "shared", id, token).await;
        let flags = ["--namespace", ns.as_str(), "--secret-name", "shared"];
        let mut login = Login::start(&emu, &flags, CLIENT_SECRET, true);
        let stderr = login.wait_failure().await;
        assert!(
            stderr.contains(&format!("Secret {ns}/shared holds a service token")),
            "{stderr}"
        );
        assert!(
            !stderr.contains("/oauth/authorize?"),
            "no browser step:\n{stderr}"
        );
        let secrets: Api<Secret> = Api::namespaced(client, &ns);
        let kept = text_data(&secrets.get("shared").await.expect("Secret"));
        let keys: Vec<&str> = kept.keys().map(String::as_str).collect();
        assert_eq!(keys, ["serviceToken", "serviceTokenId"], "left as it was");
    })
    .await;
}
