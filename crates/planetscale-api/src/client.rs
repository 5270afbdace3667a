//! [`Client`] and its builder.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use crate::auth::Auth;
use crate::credentials::{Credentials, OAuthTokens, RefreshCallback, refresh_callback};
use crate::limiter::{Limiter, RateLimit, RateLimiter};
use crate::metrics::{ApiMetrics, Events, Observer};
use crate::retry::RetryPolicy;
use crate::server_clock::ServerClock;
use crate::{Error, Result};

/// The real API.
pub const DEFAULT_BASE_URL: &str = "https://api.planetscale.com/v1";
/// The real OAuth token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://auth.planetscale.com/oauth/token";
/// `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("planetscale-operator/", env!("CARGO_PKG_VERSION"));
/// Largest page size the API accepts.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A PlanetScale API client. Cheap to clone (one `Arc`); clones share the connection pool,
/// credentials (and OAuth refresh state), rate limiter and counters.
///
/// Build it with [`Client::builder`]; the endpoint methods live in the `endpoints` modules.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    pub(crate) caller: Option<&'static str>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: Url,
    pub(crate) auth: Auth,
    pub(crate) limiter: Arc<dyn Limiter>,
    pub(crate) retry: RetryPolicy,
    pub(crate) events: Events,
    pub(crate) page_size: u32,
    pub(crate) server_clock: ServerClock,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("limiter", &self.inner.limiter)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a builder with the given credentials and every default.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder::new(credentials)
    }

    /// A client for the real API with default settings and its own rate limiter.
    pub fn new(credentials: Credentials) -> Result<Client> {
        ClientBuilder::new(credentials).build()
    }

    /// The built-in counters of this client (shared with every client built with the same
    /// [`ClientBuilder::metrics`]).
    pub fn metrics(&self) -> &Arc<ApiMetrics> {
        &self.inner.events.metrics
    }

    /// A clone whose requests are labelled with `caller` (e.g. `"branch-controller"`) in
    /// [`crate::AcquireContext::caller`], so a fair [`Limiter`] can share the budget between
    /// callers. Everything else (limiter, counters, credentials) stays shared.
    pub fn with_caller(&self, caller: &'static str) -> Client {
        Client {
            inner: self.inner.clone(),
            caller: Some(caller),
        }
    }

    /// The server's current time, estimated from the `Date` header of the last response (the
    /// local time before the first one). Compare server-side deadlines such as a password's
    /// `expires_at` with this rather than the local clock, which may be skewed.
    pub fn server_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.server_clock.now()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }
}

/// Builds a [`Client`].
#[must_use]
pub struct ClientBuilder {
    credentials: Credentials,
    base_url: String,
    token_url: String,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    limiter: Option<Arc<dyn Limiter>>,
    rate_limit: RateLimit,
    metrics: Option<Arc<ApiMetrics>>,
    observer: Option<Arc<dyn Observer>>,
    on_refresh: Option<RefreshCallback>,
    refresh_margin: Duration,
    page_size: u32,
}

impl ClientBuilder {
    /// Defaults: real API and token URLs, 10 s connect and 30 s request timeouts,
    /// [`RetryPolicy::default`], a private 600/min limiter, 60 s refresh margin, 100 per page.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            base_url: DEFAULT_BASE_URL.into(),
            token_url: DEFAULT_TOKEN_URL.into(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            limiter: None,
            rate_limit: RateLimit::default(),
            metrics: None,
            observer: None,
            on_refresh: None,
            refresh_margin: Duration::from_secs(60),
            page_size: MAX_PAGE_SIZE,
        }
    }

    /// API base URL, e.g. the emulator's `http://127.0.0.1:8080/v1`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// OAuth token endpoint.
    pub fn oauth_token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = url.into();
        self
    }

    /// Time allowed to establish a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole request (connect, send, response and body).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Share this rate limiter (one per set of credentials).
    pub fn rate_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Use any [`Limiter`], e.g. a fair scheduler wrapping a shared [`RateLimiter`].
    pub fn limiter(mut self, limiter: Arc<dyn Limiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Budget of the private limiter created when none is shared (default 600/min, burst 10).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Count into these counters (e.g. shared by several clients).
    pub fn metrics(mut self, metrics: Arc<ApiMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Also report every event to this observer.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Called with each new OAuth token set (persist it: refresh tokens rotate).
    pub fn on_token_refresh<F, Fut>(self, callback: F) -> Self
    where
        F: Fn(OAuthTokens) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.refresh_callback(refresh_callback(callback))
    }

    /// Like [`ClientBuilder::on_token_refresh`], with a prepared callback (see
    /// [`crate::refresh_callback_sync`] for a plain closure).
    pub fn refresh_callback(mut self, callback: RefreshCallback) -> Self {
        self.on_refresh = Some(callback);
        self
    }

    /// Refresh OAuth tokens this long before they expire.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Items per page for list streams (1..=100).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client> {
        let base_url = parse_url("base URL", &self.base_url)?;
        let token_url = parse_url("OAuth token URL", &self.token_url)?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let auth = Auth::new(
            self.credentials,
            token_url,
            self.refresh_margin,
            self.on_refresh,
        )?;
        let limiter = self
            .limiter
            .unwrap_or_else(|| RateLimiter::new(self.rate_limit));
        let events = Events {
            metrics: self.metrics.unwrap_or_default(),
            observer: self.observer,
        };
        let inner = Inner {
            http,
            base_url,
            auth,
            limiter,
            retry: self.retry,
            events,
            page_size: self.page_size,
            server_clock: ServerClock::default(),
        };
        Ok(Client {
            inner: Arc::new(inner),
            caller: None,
        })
    }
}

fn parse_url(what: &str, url: &str) -> Result<Url> {
    let parsed = Url::parse(url).map_err(|e| Error::Config(format!("invalid {what}: {e}")))?;
    if parsed.cannot_be_a_base() {
        return Err(Error::Config(format!("invalid {what}: not a base URL")));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::service_token("id", "tok")
    }

    #[test]
    fn defaults_point_at_the_real_api() {
        let client = Client::new(creds()).unwrap();
        assert_eq!(client.base_url(), "https://api.planetscale.com/v1");
        assert!(USER_AGENT.starts_with("planetscale-operator/"));
        assert!(!format!("{client:?}").contains("tok\""));
    }

    #[test]
    fn invalid_urls_are_config_errors() {
        let err = Client::builder(creds())
            .base_url("not a url")
            .build()
            .unwrap_err();
        assert_eq!(err.reason(), "InvalidConfig");
        let err = Client::builder(creds())
            .oauth_token_url("mailto:x@y")
            .build()
            .unwrap_err();
        assert_eq!(err.reason(), "InvalidConfig");
    }

    #[test]
    fn clones_share_counters() {
        let client = Client::new(creds()).unwrap();
        let clone = client.clone();
        assert!(Arc::ptr_eq(client.metrics(), clone.metrics()));
    }
}
