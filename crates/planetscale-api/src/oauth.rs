//! The OAuth token endpoint: its token response, read here once for both grants, and the
//! authorization-code exchange (`client_secret_post`, as PlanetScale documents). The refresh,
//! which reuses the response reading, lives with the client's authentication in `auth.rs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use reqwest::header::ACCEPT;
use serde::Deserialize;

use crate::{Error, OAuthTokens, Result, Secret};

/// Access-token lifetime assumed when the token response has none (the documented 30 days).
const DEFAULT_EXPIRES_IN: u64 = 2_592_000;
/// How long the authorization-code exchange may take.
const CODE_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A successful answer of the token endpoint, before it becomes [`OAuthTokens`].
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    access_token: Secret,
    #[serde(default)]
    refresh_token: Option<Secret>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

impl TokenResponse {
    /// Reads a 2xx body. A decode error never quotes a value of the body.
    pub(crate) fn parse(body: &[u8]) -> Result<Self> {
        serde_json::from_slice(body).map_err(|e| Error::decode(&e))
    }

    /// The token set as of `now`. Without a refresh token in the answer, `previous` is kept
    /// (a refresh need not rotate it); with neither, the set is refused, since nobody could
    /// renew the access token.
    pub(crate) fn into_tokens(
        self,
        now: DateTime<Utc>,
        previous: Option<&Secret>,
    ) -> Result<OAuthTokens> {
        if self.access_token.is_empty() {
            return Err(decode("the token endpoint issued an empty access token"));
        }
        let refresh_token = self
            .refresh_token
            .filter(|t| !t.is_empty())
            .or_else(|| previous.cloned())
            .ok_or_else(|| decode("the token endpoint issued no refresh token"))?;
        let expires_in = self.expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
        let expires_at = i64::try_from(expires_in)
            .ok()
            .and_then(chrono::Duration::try_seconds)
            .and_then(|d| now.checked_add_signed(d))
            .ok_or_else(|| decode("the token endpoint's expires_in is out of range"))?;
        Ok(OAuthTokens {
            access_token: self.access_token,
            refresh_token,
            expires_at,
            scope: self.scope.filter(|s| !s.is_empty()),
        })
    }
}

fn decode(message: &str) -> Error {
    Error::Decode {
        message: message.into(),
    }
}

/// The authorization-code grant: what the login sends to the token endpoint after the browser
/// came back with a code.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationCode<'a> {
    /// The token endpoint, e.g. [`crate::DEFAULT_TOKEN_URL`].
    pub token_url: &'a Url,
    /// The OAuth application's client id.
    pub client_id: &'a str,
    /// The OAuth application's client secret.
    pub client_secret: &'a Secret,
    /// The code the authorization endpoint sent to the redirect URI.
    pub code: &'a str,
    /// The redirect URI the code was issued for.
    pub redirect_uri: &'a str,
}

impl AuthorizationCode<'_> {
    /// Exchanges the code for tokens (sent once: a code can be used only once). An answer
    /// without a refresh token is an error, since the operator could not renew the access
    /// token. Refusals keep the token endpoint's code, so [`Error::kind`] tells an
    /// `invalid_grant` from an `invalid_client`.
    pub async fn exchange(&self) -> Result<OAuthTokens> {
        let http = reqwest::Client::builder()
            .timeout(CODE_EXCHANGE_TIMEOUT)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", self.code),
            ("redirect_uri", self.redirect_uri),
            ("client_id", self.client_id),
            ("client_secret", self.client_secret.expose()),
        ];
        let response = http
            .post(self.token_url.clone())
            .header(ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| Error::from_reqwest(&e))?;
        let status = response.status().as_u16();
        let retry_after = crate::request::retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(&e))?;
        if !(200..300).contains(&status) {
            return Err(Error::from_response(status, retry_after, &body));
        }
        TokenResponse::parse(&body)?.into_tokens(Utc::now(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn at() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn tokens(body: &str, previous: Option<&Secret>) -> Result<OAuthTokens> {
        TokenResponse::parse(body.as_bytes())?.into_tokens(at(), previous)
    }

    #[test]
    fn a_token_response_becomes_tokens() {
        let body = r#"{"access_token":"pscale_oauth_a","token_type":"Bearer","expires_in":2592000,
            "refresh_token":"pscale_oauth_refresh_b","scope":"read_databases read_branches"}"#;
        let t = tokens(body, None).unwrap();
        assert_eq!(t.access_token.expose(), "pscale_oauth_a");
        assert_eq!(t.refresh_token.expose(), "pscale_oauth_refresh_b");
        assert_eq!(
            t.expires_at,
            "2026-01-31T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(t.scope.as_deref(), Some("read_databases read_branches"));
        // Without expires_in: the documented 30 days.
        let t = tokens(r#"{"access_token":"a","refresh_token":"b"}"#, None).unwrap();
        assert_eq!(
            t.expires_at,
            "2026-01-31T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
        let old = Secret::new("pscale_oauth_old");
        let t = tokens(r#"{"access_token":"a","refresh_token":""}"#, Some(&old)).unwrap();
        assert_eq!(t.refresh_token, old);
    }

    #[test]
    fn unusable_answers_are_errors_that_never_quote_the_body() {
        let cases = [
            (r#"{"access_token":"pscale_oauth_a"}"#, "no refresh token"),
            (
                r#"{"access_token":"","refresh_token":"pscale_oauth_b"}"#,
                "empty access token",
            ),
            (
                r#"{"access_token":"pscale_oauth_a","expires_in":"x"}"#,
                "invalid type",
            ),
            (r#"{"refresh_token":"pscale_oauth_b"}"#, "access_token"),
            ("pscale_oauth_a", "expected"),
        ];
        for (body, says) in cases {
            let err = tokens(body, None).unwrap_err();
            let text = err.to_string();
            assert_eq!(err.kind(), ErrorKind::Decode, "{body}");
            assert!(text.contains(says), "{body}: {text}");
            assert!(!text.contains("pscale_oauth"), "{body}: {text}");
        }
        // An absurd lifetime is an error, not a panic.
        let huge = format!(
            r#"{{"access_token":"a","refresh_token":"b","expires_in":{}}}"#,
            u64::MAX
        );
        assert!(tokens(&huge, None).is_err());
    }
}
