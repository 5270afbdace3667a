//! Sending one API request: rate limit, authorization, retries, metrics, decoding.

use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderMap, RETRY_AFTER};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{Instrument, debug, debug_span};

use crate::auth::{Authorization, RefreshContext};
use crate::client::Client;
use crate::limiter::AcquireContext;
use crate::metrics::{STATUS_TIMEOUT, STATUS_TRANSPORT};
use crate::retry::Idempotency;
use crate::{Error, Result};

/// A response body.
type Bytes = Vec<u8>;

/// A request before it is sent: operation name, method, path, query, body and idempotency.
pub(crate) struct Request {
    pub(crate) operation: &'static str,
    pub(crate) method: Method,
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<serde_json::Value>,
    pub(crate) idempotency: Idempotency,
}

impl Request {
    /// A request for `segments` under the base URL; GET/PUT/PATCH/DELETE are idempotent.
    pub(crate) fn new<S: ToString>(
        operation: &'static str,
        method: Method,
        segments: &[S],
    ) -> Self {
        Self {
            operation,
            method,
            segments: segments.iter().map(ToString::to_string).collect(),
            query: Vec::new(),
            body: None,
            idempotency: Idempotency::Idempotent,
        }
    }

    /// Marks a request that mints an object (see [`Idempotency::Create`]).
    pub(crate) fn create(mut self) -> Self {
        self.idempotency = Idempotency::Create;
        self
    }

    /// Adds query parameters.
    pub(crate) fn query(mut self, pairs: Vec<(&'static str, String)>) -> Self {
        self.query.extend(pairs);
        self
    }

    /// Sets a JSON body.
    pub(crate) fn json<T: Serialize>(mut self, body: &T) -> Result<Self> {
        let value =
            serde_json::to_value(body).map_err(|e| Error::Config(format!("request body: {e}")))?;
        self.body = Some(value);
        Ok(self)
    }

    fn url(&self, base: &Url) -> Result<Url> {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config("base URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(&self.segments);
        if !self.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }
}

impl Client {
    /// Sends `request` and decodes the JSON response.
    pub(crate) async fn send<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        let body = self.execute(&request).await?;
        serde_json::from_slice(&body).map_err(|e| Error::decode(&e))
    }

    /// Sends `request` and ignores the response body (e.g. 204 deletes).
    pub(crate) async fn send_empty(&self, request: Request) -> Result<()> {
        self.execute(&request).await.map(drop)
    }

    async fn execute(&self, request: &Request) -> Result<Bytes> {
        let url = request.url(&self.inner.base_url)?;
        let span = debug_span!("planetscale_api", operation = request.operation, method = %request.method, status = tracing::field::Empty);
        self.retry_loop(request, &url).instrument(span).await
    }

    async fn retry_loop(&self, request: &Request, url: &Url) -> Result<Bytes> {
        let started = Instant::now();
        let mut attempt = 1;
        let mut refreshed = false;
        loop {
            // A limiter refusal is final: retrying would only wait again.
            self.acquire(request.operation).await?;
            let (result, generation) = self.attempt(request, url).await;
            let err = match result {
                Ok(body) => return Ok(body),
                Err(err) => err,
            };
            if let (Error::Unauthorized { .. }, Some(generation), false) =
                (&err, generation, refreshed)
            {
                // The server refused it, so even a create may be resent once with a new token.
                refreshed = true;
                self.inner
                    .auth
                    .refresh_after_401(generation, &self.refresh_context())
                    .await?;
                continue;
            }
            if let Error::RateLimited { retry_after, .. } = &err {
                self.inner.limiter.on_rate_limited(*retry_after);
            }
            let delay =
                self.inner
                    .retry
                    .delay(request.idempotency, attempt, &err, started.elapsed());
            let Some(delay) = delay else { return Err(err) };
            debug!(
                attempt,
                reason = err.reason(),
                delay_ms = delay.as_millis() as u64,
                "retrying"
            );
            self.inner
                .events
                .emit(|o| o.retry(request.operation, err.reason()));
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One attempt; also returns the OAuth token generation used, for the 401 refresh.
    async fn attempt(&self, request: &Request, url: &Url) -> (Result<Bytes>, Option<u64>) {
        let authorization = match self.inner.auth.authorization(&self.refresh_context()).await {
            Ok(authorization) => authorization,
            Err(err) => return (Err(err), None),
        };
        let generation = authorization.generation;
        (
            self.send_once(request, url, authorization).await,
            generation,
        )
    }

    async fn send_once(&self, request: &Request, url: &Url, auth: Authorization) -> Result<Bytes> {
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url.clone())
            .header(AUTHORIZATION, auth.header)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let started = Instant::now();
        let response = match builder.send().await {
            Ok(response) => response,
            Err(err) => return Err(self.record_failure(request.operation, &err, started)),
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        self.inner.server_clock.observe(response.headers());
        let body = response.bytes().await;
        self.inner
            .events
            .emit(|o| o.request(request.operation, &status.to_string(), started.elapsed()));
        tracing::Span::current().record("status", status);
        debug!(
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "response"
        );
        let body = body.map_err(|e| Error::from_reqwest(&e))?;
        if (200..300).contains(&status) {
            Ok(body.to_vec())
        } else {
            Err(Error::from_response(status, retry_after, &body))
        }
    }

    fn record_failure(
        &self,
        operation: &'static str,
        err: &reqwest::Error,
        started: Instant,
    ) -> Error {
        let err = Error::from_reqwest(err);
        let label = if matches!(err, Error::Timeout) {
            STATUS_TIMEOUT
        } else {
            STATUS_TRANSPORT
        };
        self.inner
            .events
            .emit(|o| o.request(operation, label, started.elapsed()));
        tracing::Span::current().record("status", label);
        debug!(
            status = label,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "no response"
        );
        err
    }

    /// Waits for the limiter, counting the wait as throttled when it was noticeable.
    async fn acquire(&self, operation: &'static str) -> Result<()> {
        let started = Instant::now();
        let admitted = self
            .inner
            .limiter
            .acquire(&AcquireContext::new(operation).with_caller(self.caller))
            .await;
        let waited = started.elapsed();
        if waited >= Duration::from_millis(1) || admitted.is_err() {
            debug!(
                waited_ms = waited.as_millis() as u64,
                "throttled by the client rate limiter"
            );
            self.inner.events.emit(|o| o.throttled(operation, waited));
        }
        admitted
    }

    fn refresh_context(&self) -> RefreshContext<'_> {
        RefreshContext {
            http: &self.inner.http,
            events: &self.inner.events,
            retry: &self.inner.retry,
        }
    }
}

/// Longest `Retry-After` taken from a server: a longer one (or one too large for a `Duration`)
/// counts as this long, so that no server answer can overflow a deadline.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Parses `Retry-After` as delta-seconds or an HTTP date, at most [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        let wait = Duration::try_from_secs_f64(seconds).unwrap_or(MAX_RETRY_AFTER);
        return (seconds.is_finite() && seconds >= 0.0).then(|| wait.min(MAX_RETRY_AFTER));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(
        delta
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(retry_after(&headers("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after(&headers("0.5")),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        let future = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let parsed = retry_after(&headers(&future)).unwrap();
        assert!(
            parsed > Duration::from_secs(25) && parsed <= Duration::from_secs(30),
            "{parsed:?}"
        );
        for huge in [
            "9223372036854770177",
            "1e30",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(retry_after(&headers(huge)), Some(MAX_RETRY_AFTER), "{huge}");
        }
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&headers("-1")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn urls_encode_segments_and_query() {
        let base = Url::parse("http://127.0.0.1:1/v1/").unwrap();
        let request = Request::new(
            "get_branch",
            Method::GET,
            &["organizations", "acme", "a b/c"],
        )
        .query(vec![("page", "2".into())]);
        assert_eq!(
            request.url(&base).unwrap().as_str(),
            "http://127.0.0.1:1/v1/organizations/acme/a%20b%2Fc?page=2"
        );
    }
}
