//! The `Authorization` header, and the OAuth refresh (single flight, before expiry and after a
//! 401).

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::HeaderValue;
use reqwest::{Client as Http, Url};
use tokio::sync::Mutex;
use tracing::{debug, warn};

use crate::credentials::{Credentials, OAuthTokens, RefreshCallback};
use crate::metrics::{Events, STATUS_TIMEOUT, STATUS_TRANSPORT};
use crate::oauth::TokenResponse;
use crate::retry::{Idempotency, RetryPolicy};
use crate::{Error, Result, Secret};

/// Operation name of the token refresh in metrics.
const REFRESH_OPERATION: &str = "oauth_refresh_token";

/// What a refresh needs from the client.
pub(crate) struct RefreshContext<'a> {
    pub(crate) http: &'a Http,
    pub(crate) events: &'a Events,
    pub(crate) retry: &'a RetryPolicy,
}

/// The header to send, and for OAuth which token generation it carries.
pub(crate) struct Authorization {
    pub(crate) header: HeaderValue,
    pub(crate) generation: Option<u64>,
}

pub(crate) enum Auth {
    ServiceToken(HeaderValue),
    OAuth(Box<OAuth>),
}

pub(crate) struct OAuth {
    client_id: String,
    client_secret: Secret,
    token_url: Url,
    margin: Duration,
    on_refresh: Option<RefreshCallback>,
    state: Mutex<TokenState>,
}

struct TokenState {
    tokens: OAuthTokens,
    generation: u64,
}

impl Auth {
    pub(crate) fn new(
        credentials: Credentials,
        token_url: Url,
        margin: Duration,
        on_refresh: Option<RefreshCallback>,
    ) -> Result<Auth> {
        Ok(match credentials {
            Credentials::ServiceToken { id, token } => {
                Auth::ServiceToken(sensitive_header(&format!("{id}:{}", token.expose()))?)
            }
            Credentials::OAuth {
                client_id,
                client_secret,
                access_token,
                refresh_token,
                expires_at,
            } => {
                let tokens = OAuthTokens {
                    access_token,
                    refresh_token,
                    expires_at,
                    scope: None,
                };
                Auth::OAuth(Box::new(OAuth {
                    client_id,
                    client_secret,
                    token_url,
                    margin,
                    on_refresh,
                    state: Mutex::new(TokenState {
                        tokens,
                        generation: 0,
                    }),
                }))
            }
        })
    }

    /// The header for the next request, refreshing an OAuth token that is about to expire.
    pub(crate) async fn authorization(&self, cx: &RefreshContext<'_>) -> Result<Authorization> {
        match self {
            Auth::ServiceToken(header) => Ok(Authorization {
                header: header.clone(),
                generation: None,
            }),
            Auth::OAuth(oauth) => oauth.authorization(cx).await,
        }
    }

    /// After a 401 with token `generation`: refresh unless another caller already did.
    pub(crate) async fn refresh_after_401(
        &self,
        generation: u64,
        cx: &RefreshContext<'_>,
    ) -> Result<()> {
        match self {
            Auth::ServiceToken(_) => Ok(()),
            Auth::OAuth(oauth) => {
                let mut state = oauth.state.lock().await;
                if state.generation == generation {
                    oauth.refresh(&mut state, cx).await?;
                }
                Ok(())
            }
        }
    }
}

impl OAuth {
    async fn authorization(&self, cx: &RefreshContext<'_>) -> Result<Authorization> {
        let mut state = self.state.lock().await;
        let now = Utc::now();
        let expires_at = state.tokens.expires_at;
        let margin = chrono::Duration::from_std(self.margin).unwrap_or(chrono::Duration::zero());
        if expires_at - margin <= now
            && let Err(err) = self.refresh(&mut state, cx).await
        {
            if expires_at <= now {
                return Err(err);
            }
            warn!(
                reason = err.reason(),
                "OAuth refresh failed; using the current token until it expires"
            );
        }
        let header = bearer(&state.tokens.access_token)?;
        Ok(Authorization {
            header,
            generation: Some(state.generation),
        })
    }

    /// Exchanges the refresh token; the caller holds the state lock, so only one runs.
    async fn refresh(&self, state: &mut TokenState, cx: &RefreshContext<'_>) -> Result<()> {
        let result = self
            .exchange_with_retries(&state.tokens.refresh_token, cx)
            .await;
        cx.events.emit(|o| o.token_refresh(result.is_ok()));
        let tokens = result?.into_tokens(Utc::now(), Some(&state.tokens.refresh_token))?;
        state.tokens = tokens.clone();
        state.generation += 1;
        debug!(generation = state.generation, "OAuth token refreshed");
        if let Some(callback) = &self.on_refresh {
            callback(tokens).await;
        }
        Ok(())
    }

    /// Refresh tokens may rotate, so a refresh is treated like a create: resent only when the
    /// server certainly did not see it.
    async fn exchange_with_retries(
        &self,
        refresh_token: &Secret,
        cx: &RefreshContext<'_>,
    ) -> Result<TokenResponse> {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let err = match self.exchange(refresh_token, cx).await {
                Ok(response) => return Ok(response),
                Err(err) => err,
            };
            match cx
                .retry
                .delay(Idempotency::Create, attempt, &err, started.elapsed())
            {
                Some(delay) => {
                    cx.events.emit(|o| o.retry(REFRESH_OPERATION, err.reason()));
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => return Err(err),
            }
        }
    }

    async fn exchange(
        &self,
        refresh_token: &Secret,
        cx: &RefreshContext<'_>,
    ) -> Result<TokenResponse> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        let started = Instant::now();
        let sent = cx
            .http
            .post(self.token_url.clone())
            .form(&form)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => {
                let err = Error::from_reqwest(&err);
                let label = if matches!(err, Error::Timeout) {
                    STATUS_TIMEOUT
                } else {
                    STATUS_TRANSPORT
                };
                cx.events
                    .emit(|o| o.request(REFRESH_OPERATION, label, started.elapsed()));
                return Err(err);
            }
        };
        let status = response.status().as_u16();
        cx.events
            .emit(|o| o.request(REFRESH_OPERATION, &status.to_string(), started.elapsed()));
        let retry_after = crate::request::retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(&e))?;
        if !(200..300).contains(&status) {
            return Err(refresh_error(status, retry_after, &body));
        }
        TokenResponse::parse(&body)
    }
}

/// The token endpoint answers 400 `invalid_grant` (bad or used refresh token) or 401 (bad
/// client credentials): both mean the credentials no longer work.
fn refresh_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Error {
    match Error::from_response(status, retry_after, body) {
        Error::BadRequest { code, message } | Error::Unauthorized { code, message } => {
            Error::Unauthorized { code, message }
        }
        other => other,
    }
}

fn bearer(token: &Secret) -> Result<HeaderValue> {
    sensitive_header(&format!("Bearer {}", token.expose()))
}

/// A header value marked sensitive (never logged by hyper, never indexed by HPACK).
fn sensitive_header(value: &str) -> Result<HeaderValue> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        Error::Config("credentials contain characters not allowed in a header".into())
    })?;
    header.set_sensitive(true);
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_token_header_has_no_scheme_and_is_sensitive() {
        let creds = Credentials::service_token("abc123", "pscale_tkn_x");
        let url = Url::parse("https://auth.example/oauth/token").unwrap();
        let Auth::ServiceToken(header) = Auth::new(creds, url, Duration::ZERO, None).unwrap()
        else {
            panic!("expected a service token");
        };
        assert_eq!(header.to_str().unwrap(), "abc123:pscale_tkn_x");
        assert!(header.is_sensitive());
        assert!(!format!("{header:?}").contains("pscale_tkn_x"));
    }

    #[test]
    fn a_refused_refresh_is_unauthorized() {
        let body = br#"{"error":"invalid_grant","error_description":"refresh token used"}"#;
        let err = refresh_error(400, None, body);
        assert_eq!(err.reason(), "Unauthorized");
        assert_eq!(err.code(), Some("invalid_grant"));
        assert_eq!(refresh_error(503, None, b"").reason(), "ServerError");
    }

    #[test]
    fn invalid_header_characters_do_not_echo_the_secret() {
        let err = sensitive_header("bad\nsecret-value").unwrap_err();
        assert!(!err.to_string().contains("secret-value"));
    }
}
