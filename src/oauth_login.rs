//! `planetscale-operator oauth login`: the OAuth authorization-code flow for a PlanetScale OAuth
//! application, with a local redirect listener, ending in the credentials Secret that resources
//! reference (written with the current kubeconfig, or printed with `--print`).
//!
//! The flow: bind the listener, print the authorize address (and open a browser when one is at
//! hand), wait for the redirect with `code` and the random `state`, exchange the code at the
//! token endpoint (`client_secret_post`, as PlanetScale documents), then server-side apply the
//! Secret. PlanetScale documents no PKCE, so `state` alone binds the redirect to this login.
//! Nothing secret is logged: tokens reach only the Secret, or stdout when `--print` asks.
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ObjectMeta, Patch, PatchParams};
use kube::{Api, Client};
use planetscale_api::{OAuthTokens, Secret as Sensitive};
use reqwest::Url;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::config::parse_duration;
use crate::controller::FIELD_MANAGER;
use crate::credentials::{
    KEY_ACCESS_TOKEN, KEY_EXPIRES_AT, KEY_OAUTH_CLIENT_ID, KEY_OAUTH_CLIENT_SECRET,
    KEY_REFRESH_TOKEN, KEY_SERVICE_TOKEN, KEY_SERVICE_TOKEN_ID,
};

/// Environment variable with the application's client secret (when no file is given).
pub const CLIENT_SECRET_ENV: &str = "PSO_OAUTH_CLIENT_SECRET";
/// Path of the redirect URI derived from `--listen`.
pub const CALLBACK_PATH: &str = "/callback";
/// Labels of the Secret `oauth login` writes: what it is and what made it.
pub const SECRET_LABELS: [(&str, &str); 3] = [
    ("app.kubernetes.io/part-of", "planetscale-operator"),
    ("app.kubernetes.io/component", "credentials"),
    ("planetscale.operator.dev/credentials", "oauth"),
];
/// Access-token lifetime assumed when the token response has none (PlanetScale documents 30 days).
const DEFAULT_EXPIRES_IN: u64 = 2_592_000;
/// How long the token request may take.
const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `oauth` subcommands.
#[derive(Subcommand, Debug)]
pub enum OAuthCommand {
    /// Authorize a PlanetScale OAuth application in the browser and write its tokens into a
    /// credentials Secret (or print the Secret with --print).
    Login(LoginArgs),
}

/// Flags of `oauth login`.
#[derive(Args, Debug, Clone)]
pub struct LoginArgs {
    /// The OAuth application's client id.
    #[arg(long, env = "PSO_OAUTH_CLIENT_ID")]
    pub client_id: String,

    /// File holding the application's client secret. Without it the secret is read from the
    /// environment variable PSO_OAUTH_CLIENT_SECRET (there is no flag for the value itself, so
    /// it never lands in the shell history).
    #[arg(long, env = "PSO_OAUTH_CLIENT_SECRET_FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// Authorization endpoint the browser is sent to.
    #[arg(
        long,
        env = "PSO_OAUTH_AUTHORIZE_URL",
        default_value = "https://auth.planetscale.com/oauth/authorize"
    )]
    pub authorize_url: String,

    /// Token endpoint the authorization code is exchanged at.
    #[arg(
        long,
        env = "PSO_OAUTH_TOKEN_URL",
        default_value = "https://auth.planetscale.com/oauth/token"
    )]
    pub token_url: String,

    /// Address of the local listener the browser is redirected to; port 0 picks a free port.
    #[arg(long, env = "PSO_OAUTH_LISTEN", default_value = "127.0.0.1:8976")]
    pub listen: SocketAddr,

    /// Redirect URI registered for the application (default: http://<listen address>/callback).
    #[arg(long, env = "PSO_OAUTH_REDIRECT_URI")]
    pub redirect_uri: Option<String>,

    /// Namespace of the Secret (default: the kubeconfig context's namespace).
    #[arg(long, short = 'n', env = "PSO_OAUTH_SECRET_NAMESPACE")]
    pub namespace: Option<String>,

    /// Name of the Secret.
    #[arg(
        long,
        env = "PSO_OAUTH_SECRET_NAME",
        default_value = "planetscale-credentials"
    )]
    pub secret_name: String,

    /// Print the Secret manifest (with the tokens) to stdout instead of writing it to the cluster.
    #[arg(long)]
    pub print: bool,

    /// Do not try to open a browser; only print the address to open.
    #[arg(long)]
    pub no_browser: bool,

    /// How long to wait for the browser's redirect.
    #[arg(long, env = "PSO_OAUTH_TIMEOUT", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// Runs `oauth login`; the error explains what went wrong and what to do.
pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let client_secret = read_client_secret(&args)?;
    let authorize = Url::parse(&args.authorize_url)
        .with_context(|| format!("--authorize-url {:?} is not a URL", args.authorize_url))?;
    let token_url = Url::parse(&args.token_url)
        .with_context(|| format!("--token-url {:?} is not a URL", args.token_url))?;
    // Check the cluster before the browser: a login whose tokens cannot be stored is wasted.
    let target = match args.print {
        true => None,
        false => Some(Target::connect(&args).await?),
    };

    let listener = TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {} for the redirect (is another login running? --listen picks \
             another address, and the redirect URI registered for the application must match it)",
            args.listen
        )
    })?;
    let bound = listener.local_addr().context("listener address")?;
    let redirect_uri = args
        .redirect_uri
        .clone()
        .unwrap_or_else(|| default_redirect_uri(bound));
    let redirect = check_redirect_uri(&redirect_uri, bound)?;
    let state = new_state();
    let url = authorize_url(&authorize, &args.client_id, &redirect_uri, &state);

    eprintln!(
        "Open this address in a browser and approve the application:\n\n  {url}\n\n\
         Waiting up to {} for the redirect to {redirect_uri} ...",
        humantime::format_duration(args.timeout)
    );
    if !args.no_browser {
        open_browser(url.as_str());
    }

    let (tx, mut rx) = mpsc::channel(4);
    let server = CallbackServer::start(listener, redirect.path().to_string(), tx);
    let outcome = async {
        let received = tokio::time::timeout(args.timeout, rx.recv()).await;
        let Ok(Some((query, reply))) = received else {
            bail!(
                "no redirect arrived at {redirect_uri} within {}: open the address above in a \
                 browser, and check that {redirect_uri} is the redirect URI registered for the \
                 application (--redirect-uri, --listen)",
                humantime::format_duration(args.timeout)
            );
        };
        let reply = Reply(Some(reply));
        let code = match parse_callback(query.as_deref(), &state) {
            Ok(code) => code,
            Err(e) => return reply.fail(anyhow!(e)),
        };
        eprintln!("Authorization received; exchanging the code for tokens ...");
        let done = async {
            let tokens = exchange_code(
                &token_url,
                &args.client_id,
                &client_secret,
                &code,
                &redirect_uri,
            )
            .await?;
            let secret = credentials_secret(
                &args.secret_name,
                args.namespace.as_deref(),
                &args.client_id,
                &client_secret,
                &tokens,
            );
            match &target {
                Some(t) => t.write(secret).await?,
                None => print_secret(secret)?,
            }
            anyhow::Ok(tokens)
        }
        .await;
        match done {
            Ok(tokens) => {
                let page = "The tokens were stored. You can close this tab.";
                reply.send(StatusCode::OK, page);
                Ok(tokens)
            }
            Err(e) => reply.fail(e),
        }
    }
    .await;
    drop(rx);
    server.stop().await;
    let tokens = outcome?;

    let expires = tokens.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let scopes = tokens.scope.as_deref().unwrap_or("not stated");
    match &target {
        Some(t) => eprintln!(
            "Wrote Secret {}/{} (OAuth application {}; access token valid until {expires}; \
             scopes: {scopes}).\nReference it with `spec.credentialsRef: {{name: {}}}` in \
             namespace {}; the operator refreshes the tokens and writes them back.",
            t.namespace, args.secret_name, args.client_id, args.secret_name, t.namespace
        ),
        None => eprintln!(
            "Printed Secret {} to stdout (access token valid until {expires}; scopes: {scopes}). \
             It holds the tokens: apply it (kubectl apply -f -) and do not commit it.",
            args.secret_name
        ),
    }
    Ok(())
}

/// The client secret from `--client-secret-file` or `PSO_OAUTH_CLIENT_SECRET`.
fn read_client_secret(args: &LoginArgs) -> anyhow::Result<Sensitive> {
    let value = match &args.client_secret_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the client secret from {}", path.display()))?,
        None => std::env::var(CLIENT_SECRET_ENV).map_err(|_| {
            anyhow!(
                "no client secret: pass --client-secret-file FILE or set {CLIENT_SECRET_ENV} \
                 (there is no flag for the value, so that it stays out of the shell history)"
            )
        })?,
    };
    let value = value.trim();
    if value.is_empty() {
        bail!("the client secret is empty");
    }
    Ok(Sensitive::new(value))
}

/// Where the Secret goes: checked before the browser flow starts.
struct Target {
    api: Api<Secret>,
    namespace: String,
    name: String,
}

impl Target {
    async fn connect(args: &LoginArgs) -> anyhow::Result<Self> {
        let client = Client::try_default().await.context(
            "cannot build a Kubernetes client from the kubeconfig (the Secret is written with \
             it; --print writes the Secret to stdout instead)",
        )?;
        let namespace = args
            .namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_string());
        let name = args.secret_name.clone();
        let api: Api<Secret> = Api::namespaced(client, &namespace);
        let existing = api.get_opt(&name).await.with_context(|| {
            format!("cannot read Secret {namespace}/{name}, where the tokens would be written")
        })?;
        if let Some(data) = existing.as_ref().and_then(|s| s.data.as_ref())
            && (data.contains_key(KEY_SERVICE_TOKEN_ID) || data.contains_key(KEY_SERVICE_TOKEN))
        {
            bail!(
                "Secret {namespace}/{name} holds a service token ({KEY_SERVICE_TOKEN_ID}, \
                 {KEY_SERVICE_TOKEN}); a credentials Secret holds one kind of credentials: \
                 choose another --secret-name or delete that Secret first"
            );
        }
        Ok(Self {
            api,
            namespace,
            name,
        })
    }

    /// Creates or updates the Secret (server-side apply; the OAuth keys become ours).
    async fn write(&self, secret: Secret) -> anyhow::Result<()> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        self.api
            .patch(&self.name, &params, &Patch::Apply(&secret))
            .await
            .with_context(|| {
                format!(
                    "cannot write Secret {}/{} (the authorization is spent: run the login again, \
                     or use --print)",
                    self.namespace, self.name
                )
            })?;
        Ok(())
    }
}

/// Prints the manifest with `stringData`, readable and ready for `kubectl apply -f -`.
fn print_secret(mut secret: Secret) -> anyhow::Result<()> {
    let data = secret.data.take().unwrap_or_default();
    secret.string_data = Some(
        data.into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
            .collect(),
    );
    print!("{}", secret_yaml(&secret)?);
    Ok(())
}

/// The manifest as YAML, with `expiresAt` quoted: YAML 1.1 readers would take the bare time
/// for a timestamp rather than a string.
pub fn secret_yaml(secret: &Secret) -> anyhow::Result<String> {
    let yaml = serde_norway::to_string(secret).context("serialize the Secret")?;
    let quoted = yaml
        .lines()
        .map(
            |line| match line.split_once(&format!("{KEY_EXPIRES_AT}: ")) {
                Some((indent, time))
                    if indent.trim().is_empty() && !time.starts_with(['"', '\'']) =>
                {
                    format!("{indent}{KEY_EXPIRES_AT}: \"{time}\"\n")
                }
                _ => format!("{line}\n"),
            },
        )
        .collect();
    Ok(quoted)
}

/// The credentials Secret for `tokens`, with exactly the keys `credentials::parse_secret` reads.
pub fn credentials_secret(
    name: &str,
    namespace: Option<&str>,
    client_id: &str,
    client_secret: &Sensitive,
    tokens: &OAuthTokens,
) -> Secret {
    let expires = tokens.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let data = [
        (KEY_OAUTH_CLIENT_ID, client_id),
        (KEY_OAUTH_CLIENT_SECRET, client_secret.expose()),
        (KEY_ACCESS_TOKEN, tokens.access_token.expose()),
        (KEY_REFRESH_TOKEN, tokens.refresh_token.expose()),
        (KEY_EXPIRES_AT, expires.as_str()),
    ];
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: namespace.map(str::to_string),
            labels: Some(
                SECRET_LABELS
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Secret::default()
    }
}

/// A random `state` (256 bits, hex).
pub fn new_state() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `http://<bound address>/callback`.
pub fn default_redirect_uri(bound: SocketAddr) -> String {
    format!("http://{bound}{CALLBACK_PATH}")
}

/// Parses the redirect URI and refuses one the browser could not bring back to this listener:
/// not `http`, or a loopback address with another port than the listener's.
pub fn check_redirect_uri(redirect_uri: &str, bound: SocketAddr) -> anyhow::Result<Url> {
    let url = Url::parse(redirect_uri)
        .with_context(|| format!("--redirect-uri {redirect_uri:?} is not a URL"))?;
    if url.scheme() != "http" {
        bail!(
            "--redirect-uri {redirect_uri} must be an http:// address of this listener (the \
             browser brings the code back to it)"
        );
    }
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let port = url.port_or_known_default();
    if loopback && port != Some(bound.port()) {
        bail!(
            "--redirect-uri {redirect_uri} points at port {} but the listener is on {bound}: \
             pass --listen 127.0.0.1:{} (the redirect URI must be the one registered for the \
             application)",
            port.unwrap_or_default(),
            port.unwrap_or_default()
        );
    }
    Ok(url)
}

/// The address the user opens: `response_type=code`, the client, the redirect URI and `state`.
/// Scopes are not sent: PlanetScale takes them from the application's settings.
pub fn authorize_url(base: &Url, client_id: &str, redirect_uri: &str, state: &str) -> Url {
    let mut url = base.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state);
    url
}

/// Why a redirect does not carry a usable code.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error(
        "the redirect's state does not match this login (a stale browser tab, or a request \
         that did not come from this login's authorization); nothing was stored"
    )]
    StateMismatch,
    #[error("{}", denied_message(.error, .description.as_deref()))]
    Denied {
        error: String,
        description: Option<String>,
    },
    #[error("the redirect carries neither a code nor an error")]
    NoCode,
}

fn denied_message(error: &str, description: Option<&str>) -> String {
    let detail = description.map(|d| format!(": {d}")).unwrap_or_default();
    if error == "access_denied" {
        format!(
            "the authorization was denied in the browser (access_denied{detail}); nothing was \
             stored. Run the login again and approve the application."
        )
    } else {
        format!("the authorization server refused the authorization ({error}{detail})")
    }
}

/// The code from the redirect's query, after checking `state` (first, so that a forged
/// redirect is refused whatever else it says).
pub fn parse_callback(query: Option<&str>, expected_state: &str) -> Result<String, CallbackError> {
    let mut url = Url::parse("http://redirect/").expect("static URL");
    url.set_query(query);
    let pairs: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    if pairs.get("state").map(String::as_str) != Some(expected_state) {
        return Err(CallbackError::StateMismatch);
    }
    if let Some(error) = pairs.get("error") {
        return Err(CallbackError::Denied {
            error: error.clone(),
            description: pairs.get("error_description").cloned(),
        });
    }
    match pairs.get("code") {
        Some(code) if !code.is_empty() => Ok(code.clone()),
        _ => Err(CallbackError::NoCode),
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Sensitive,
    #[serde(default)]
    refresh_token: Option<Sensitive>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

/// Exchanges the code (`grant_type=authorization_code`, client credentials in the form body).
async fn exchange_code(
    token_url: &Url,
    client_id: &str,
    client_secret: &Sensitive,
    code: &str,
    redirect_uri: &str,
) -> anyhow::Result<OAuthTokens> {
    let http = reqwest::Client::builder()
        .timeout(TOKEN_REQUEST_TIMEOUT)
        .build()
        .context("HTTP client")?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("client_secret", client_secret.expose()),
    ];
    let response = http
        .post(token_url.clone())
        .header(header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| anyhow!("cannot reach the token endpoint {token_url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| anyhow!("reading the token endpoint's answer: {e}"))?;
    if !(200..300).contains(&status) {
        bail!("{}", token_error(status, &body));
    }
    parse_token_response(&body, Utc::now())
}

/// The tokens from a successful token response; errors never quote the body.
pub fn parse_token_response(body: &[u8], now: DateTime<Utc>) -> anyhow::Result<OAuthTokens> {
    let response: TokenResponse = serde_json::from_slice(body).map_err(|e| {
        // A missing field is safe to name; other decode errors could quote a value.
        let what = e.to_string();
        let what = match what.starts_with("missing field") {
            true => what,
            false => "not a JSON token response".into(),
        };
        anyhow!("the token endpoint's answer is unusable: {what}")
    })?;
    let Some(refresh_token) = response.refresh_token.filter(|t| !t.is_empty()) else {
        bail!(
            "the token endpoint issued no refresh token: the operator could not renew the access \
             token, so no Secret was written"
        );
    };
    if response.access_token.is_empty() {
        bail!("the token endpoint issued an empty access token");
    }
    let expires_in = response.expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
    let expires_in = chrono::Duration::seconds(expires_in.min(i64::MAX as u64 / 1000) as i64);
    Ok(OAuthTokens {
        access_token: response.access_token,
        refresh_token,
        expires_at: now + expires_in,
        scope: response.scope.filter(|s| !s.is_empty()),
    })
}

/// What a refused token request says: the OAuth `error` and `error_description` (or
/// PlanetScale's `code` and `message`), never the raw body, and what to do about it.
pub fn token_error(status: u16, body: &[u8]) -> String {
    #[derive(Deserialize, Default)]
    struct OAuthError {
        error: Option<String>,
        error_description: Option<String>,
        code: Option<String>,
        message: Option<String>,
    }
    let e: OAuthError = serde_json::from_slice(body).unwrap_or_default();
    let error = e.error.or(e.code);
    let detail = match (&error, e.error_description.or(e.message)) {
        (Some(c), Some(d)) => format!(" {c}: {d}"),
        (Some(c), None) => format!(" {c}"),
        (None, Some(d)) => format!(" {d}"),
        (None, None) => String::new(),
    };
    let hint = match (status, error.as_deref()) {
        (401, _) | (_, Some("invalid_client")) => {
            ": check --client-id and the client secret of the OAuth application"
        }
        (_, Some("invalid_grant")) => {
            ": the code expired or was used, or the redirect URI differs from the authorized one; \
             run the login again"
        }
        _ => "",
    };
    format!("the token endpoint refused the authorization code ({status}{detail}){hint}")
}

/// Tries to open `url` in a browser; the address is printed anyway, so failures are ignored.
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(unix) {
        let graphical = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        if !graphical {
            return;
        }
        "xdg-open"
    } else {
        return;
    };
    // tokio reaps the child in the background; its output must not mix with --print's stdout.
    let _ = tokio::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// A redirect's query and where to send the page the browser shows.
type Callback = (Option<String>, oneshot::Sender<(StatusCode, String)>);

/// The answer to the browser, sent once.
struct Reply(Option<oneshot::Sender<(StatusCode, String)>>);

impl Reply {
    fn send(mut self, status: StatusCode, text: &str) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send((status, text.to_string()));
        }
    }

    fn fail<T>(self, error: anyhow::Error) -> anyhow::Result<T> {
        self.send(
            StatusCode::BAD_REQUEST,
            &format!("The login failed: {error:#}"),
        );
        Err(error)
    }
}

/// The local listener: the callback path hands its query to the login and answers with the
/// page the login sends back; every other path is 404.
struct CallbackServer {
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ServerState {
    path: String,
    tx: mpsc::Sender<Callback>,
}

impl CallbackServer {
    fn start(listener: TcpListener, path: String, tx: mpsc::Sender<Callback>) -> Self {
        let path = if path.is_empty() { "/".into() } else { path };
        let app = axum::Router::new()
            .fallback(callback)
            .with_state(ServerState { path, tx });
        let (shutdown, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Self { shutdown, task }
    }

    /// Stops accepting and lets the last page reach the browser (bounded).
    async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

async fn callback(State(s): State<ServerState>, request: Request) -> Response {
    if request.uri().path() != s.path {
        return page(StatusCode::NOT_FOUND, "Not found.");
    }
    let (reply, answer) = oneshot::channel();
    let query = request.uri().query().map(str::to_string);
    if s.tx.send((query, reply)).await.is_err() {
        return page(StatusCode::GONE, "This login has finished.");
    }
    match answer.await {
        Ok((status, text)) => page(status, &text),
        Err(_) => page(StatusCode::GONE, "This login has finished."),
    }
}

/// A small HTML page; `Connection: close` so that shutdown need not wait for keep-alive.
fn page(status: StatusCode, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>planetscale-operator</title>\
         </head><body style=\"font-family: sans-serif; margin: 3em\"><h1>planetscale-operator \
         oauth login</h1><p>{}</p></body></html>",
        html_escape(text)
    );
    (status, [(header::CONNECTION, "close")], Html(body)).into_response()
}

fn html_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::parse_secret;
    use planetscale_api::Credentials;

    fn tokens() -> OAuthTokens {
        OAuthTokens {
            access_token: Sensitive::new("pscale_oauth_access"),
            refresh_token: Sensitive::new("pscale_oauth_refresh_r"),
            expires_at: "2026-03-01T10:00:00Z".parse().unwrap(),
            scope: None,
        }
    }

    #[test]
    fn the_authorize_url_carries_client_redirect_and_state_encoded() {
        let base = Url::parse("https://auth.planetscale.com/oauth/authorize").unwrap();
        let url = authorize_url(&base, "my client", "http://127.0.0.1:8976/callback", "s1");
        assert_eq!(
            url.as_str(),
            "https://auth.planetscale.com/oauth/authorize?response_type=code&client_id=my+client\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A8976%2Fcallback&state=s1"
        );
        let pairs: BTreeMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["redirect_uri"], "http://127.0.0.1:8976/callback");
        // A base that already has a query keeps it.
        let base = Url::parse("http://127.0.0.1:1/oauth/authorize?x=1").unwrap();
        assert!(
            authorize_url(&base, "c", "r", "s")
                .as_str()
                .contains("?x=1&response_type=code")
        );
    }

    #[test]
    fn states_are_random_and_long() {
        let (a, b) = (new_state(), new_state());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_redirect_uri_defaults_to_the_listener_and_must_reach_it() {
        let bound: SocketAddr = "127.0.0.1:8976".parse().unwrap();
        assert_eq!(
            default_redirect_uri(bound),
            "http://127.0.0.1:8976/callback"
        );
        let ok = check_redirect_uri(&default_redirect_uri(bound), bound).unwrap();
        assert_eq!(ok.path(), "/callback");
        assert!(check_redirect_uri("http://localhost:8976/cb", bound).is_ok());
        let v6: SocketAddr = "[::1]:9000".parse().unwrap();
        assert!(check_redirect_uri(&default_redirect_uri(v6), v6).is_ok());
        let other_port = check_redirect_uri("http://127.0.0.1:9999/callback", bound).unwrap_err();
        assert!(
            other_port.to_string().contains("--listen 127.0.0.1:9999"),
            "{other_port}"
        );
        assert!(check_redirect_uri("https://127.0.0.1:8976/callback", bound).is_err());
        assert!(check_redirect_uri("not a url", bound).is_err());
        // A non-loopback host (a port-forward, a tunnel) is the user's call.
        assert!(check_redirect_uri("http://login.example.com/callback", bound).is_ok());
    }

    #[test]
    fn a_redirect_gives_the_code_only_with_the_right_state() {
        assert_eq!(
            parse_callback(Some("code=abc&state=s1"), "s1"),
            Ok("abc".into())
        );
        assert_eq!(
            parse_callback(Some("state=s%201&code=a%2Bb"), "s 1"),
            Ok("a+b".into())
        );
        for query in [
            Some("code=abc&state=s2"),
            Some("code=abc"),
            None,
            Some("state="),
        ] {
            assert_eq!(
                parse_callback(query, "s1"),
                Err(CallbackError::StateMismatch),
                "{query:?}"
            );
        }
        assert_eq!(
            parse_callback(Some("state=s1"), "s1"),
            Err(CallbackError::NoCode)
        );
        assert_eq!(
            parse_callback(Some("state=s1&code="), "s1"),
            Err(CallbackError::NoCode)
        );
    }

    #[test]
    fn a_denial_says_so_and_a_forged_denial_is_a_state_mismatch() {
        let q = "error=access_denied&error_description=The+user+said+no&state=s1";
        let err = parse_callback(Some(q), "s1").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("denied"), "{text}");
        assert!(text.contains("The user said no"), "{text}");
        assert!(text.contains("nothing was stored"), "{text}");
        let other = parse_callback(Some("error=server_error&state=s1"), "s1").unwrap_err();
        assert!(other.to_string().contains("server_error"), "{other}");
        let forged = "error=access_denied&state=other";
        assert_eq!(
            parse_callback(Some(forged), "s1"),
            Err(CallbackError::StateMismatch)
        );
    }

    #[test]
    fn the_secret_holds_exactly_what_the_operator_reads() {
        let secret = credentials_secret(
            "creds",
            Some("team-a"),
            "client-1",
            &Sensitive::new("client-secret"),
            &tokens(),
        );
        assert_eq!(secret.metadata.namespace.as_deref(), Some("team-a"));
        let labels = secret.metadata.labels.clone().unwrap();
        assert_eq!(labels["planetscale.operator.dev/credentials"], "oauth");
        assert!(
            !labels.contains_key(crate::controller::MANAGED_BY_LABEL),
            "not a Secret the password controller manages"
        );
        let data = secret.data.as_ref().unwrap();
        assert_eq!(data.len(), 5);
        assert_eq!(data[KEY_EXPIRES_AT].0, b"2026-03-01T10:00:00Z");
        match parse_secret("team-a/creds", Some(data)).unwrap() {
            Credentials::OAuth {
                client_id,
                client_secret,
                access_token,
                refresh_token,
                expires_at,
            } => {
                assert_eq!(client_id, "client-1");
                assert_eq!(client_secret.expose(), "client-secret");
                assert_eq!(access_token.expose(), "pscale_oauth_access");
                assert_eq!(refresh_token.expose(), "pscale_oauth_refresh_r");
                assert_eq!(expires_at, tokens().expires_at);
            }
            other => panic!("not OAuth: {other:?}"),
        }
    }

    #[test]
    fn the_printed_manifest_quotes_the_expiry_and_parses_back() {
        let secret = credentials_secret("c", None, "id", &Sensitive::new("s"), &tokens());
        let mut printed = secret.clone();
        let data = printed.data.take().unwrap();
        printed.string_data = Some(
            data.into_iter()
                .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
                .collect(),
        );
        let yaml = secret_yaml(&printed).unwrap();
        assert!(
            yaml.contains("  expiresAt: \"2026-03-01T10:00:00Z\"\n"),
            "{yaml}"
        );
        let back: Secret = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(back, printed);
    }

    #[test]
    fn a_token_response_becomes_tokens_and_bad_ones_never_quote_the_body() {
        let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let body = br#"{"access_token":"pscale_oauth_a","token_type":"Bearer","expires_in":2592000,
            "refresh_token":"pscale_oauth_refresh_b","scope":"read_databases read_branches"}"#;
        let t = parse_token_response(body, now).unwrap();
        assert_eq!(t.access_token.expose(), "pscale_oauth_a");
        assert_eq!(t.refresh_token.expose(), "pscale_oauth_refresh_b");
        assert_eq!(
            t.expires_at,
            "2026-01-31T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(t.scope.as_deref(), Some("read_databases read_branches"));
        // Without expires_in: the documented 30 days.
        let t = parse_token_response(br#"{"access_token":"a","refresh_token":"b"}"#, now).unwrap();
        assert_eq!(
            t.expires_at,
            "2026-01-31T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // No refresh token: refused, the operator could not renew.
        let err = parse_token_response(br#"{"access_token":"pscale_oauth_a"}"#, now).unwrap_err();
        assert!(err.to_string().contains("no refresh token"), "{err}");
        assert!(!err.to_string().contains("pscale_oauth_a"), "{err}");
        // Malformed: the message never quotes a value.
        let err = parse_token_response(
            br#"{"access_token":"pscale_oauth_a","expires_in":"x"}"#,
            now,
        )
        .unwrap_err();
        assert!(!format!("{err:#}").contains("pscale_oauth_a"), "{err:#}");
        let err = parse_token_response(br#"{"refresh_token":"pscale_oauth_b"}"#, now).unwrap_err();
        assert!(format!("{err:#}").contains("access_token"), "{err:#}");
        assert!(!format!("{err:#}").contains("pscale_oauth_b"), "{err:#}");
    }

    #[test]
    fn token_errors_name_the_oauth_error_and_what_to_do() {
        let grant = token_error(
            400,
            br#"{"error":"invalid_grant","error_description":"The code was already used"}"#,
        );
        assert!(
            grant.contains("400 invalid_grant: The code was already used"),
            "{grant}"
        );
        assert!(grant.contains("run the login again"), "{grant}");
        let client = token_error(401, br#"{"error":"invalid_client"}"#);
        assert!(
            client.contains("--client-id and the client secret"),
            "{client}"
        );
        let html = token_error(502, b"<html>bad gateway</html>");
        assert_eq!(
            html,
            "the token endpoint refused the authorization code (502)"
        );
        let api = token_error(422, br#"{"code":"unprocessable","message":"nope"}"#);
        assert!(api.contains("422 unprocessable: nope"), "{api}");
    }

    #[test]
    fn pages_escape_what_the_server_said() {
        assert_eq!(html_escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn the_cli_reads_login_flags_and_has_no_flag_for_the_secret_value() {
        use crate::config::{Cli, Command};
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "planetscale-operator",
            "oauth",
            "login",
            "--client-id",
            "c1",
            "--listen",
            "127.0.0.1:0",
            "--print",
        ])
        .unwrap();
        let Command::Oauth(OAuthCommand::Login(args)) = cli.command() else {
            panic!("not oauth login")
        };
        assert_eq!(args.client_id, "c1");
        assert_eq!(args.listen.port(), 0);
        assert!(args.print && !args.no_browser);
        assert_eq!(args.secret_name, "planetscale-credentials");
        assert_eq!(args.timeout, Duration::from_secs(300));
        assert_eq!(args.token_url, "https://auth.planetscale.com/oauth/token");
        let plain = Cli::try_parse_from([
            "planetscale-operator",
            "oauth",
            "login",
            "--client-id",
            "c1",
            "--client-secret",
            "s",
        ]);
        assert!(plain.is_err());
    }
}
