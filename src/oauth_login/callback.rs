//! The browser's side of the flow: the authorize address, the random `state`, the local
//! listener the browser is redirected to, and what a redirect says.
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use reqwest::Url;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// Path of the redirect URI derived from `--listen`.
pub const CALLBACK_PATH: &str = "/callback";

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

/// A redirect's query and where to send the page the browser shows.
type Callback = (Option<String>, oneshot::Sender<(StatusCode, String)>);

/// The page the browser shows once the login has ended, sent once.
pub(super) struct Reply(Option<oneshot::Sender<(StatusCode, String)>>);

impl Reply {
    /// Tells the browser how the login ended, and passes the result on.
    pub(super) fn finish<T>(mut self, result: anyhow::Result<T>) -> anyhow::Result<T> {
        let (status, text) = match &result {
            Ok(_) => (
                StatusCode::OK,
                "Authorized: planetscale-operator has the tokens. You can close this tab.".into(),
            ),
            Err(e) => (StatusCode::BAD_REQUEST, format!("The login failed: {e:#}")),
        };
        if let Some(tx) = self.0.take() {
            let _ = tx.send((status, text));
        }
        result
    }
}

/// The local listener: the callback path hands its query to the login and answers with the
/// page the login sends back; every other path is 404.
pub(super) struct CallbackServer {
    rx: mpsc::Receiver<Callback>,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ServerState {
    path: String,
    tx: mpsc::Sender<Callback>,
}

impl CallbackServer {
    /// Serves `listener`, with the redirect URI's `path` as the callback.
    pub(super) fn start(listener: TcpListener, path: &str) -> Self {
        let path = if path.is_empty() { "/" } else { path }.to_string();
        let (tx, rx) = mpsc::channel(4);
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
        Self { rx, shutdown, task }
    }

    /// Waits up to `timeout` for the first redirect; returns its code and the reply through
    /// which the browser learns how the login ended. A redirect without a usable code (another
    /// state, a denial) ends the login.
    pub(super) async fn wait_for_code(
        &mut self,
        state: &str,
        timeout: Duration,
        redirect_uri: &str,
    ) -> anyhow::Result<(String, Reply)> {
        let Ok(Some((query, reply))) = tokio::time::timeout(timeout, self.rx.recv()).await else {
            bail!(
                "no redirect arrived at {redirect_uri} within {}: open the address above in a \
                 browser, and check that {redirect_uri} is the redirect URI registered for the \
                 application (--redirect-uri, --listen)",
                humantime::format_duration(timeout)
            );
        };
        let reply = Reply(Some(reply));
        match parse_callback(query.as_deref(), state) {
            Ok(code) => Ok((code, reply)),
            Err(e) => reply.finish(Err(anyhow!(e))),
        }
    }

    /// Stops accepting and lets the last page reach the browser (bounded).
    pub(super) async fn stop(self) {
        drop(self.rx);
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
    fn pages_escape_what_the_server_said() {
        assert_eq!(html_escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
