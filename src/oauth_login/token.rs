//! The authorization-code exchange at the token endpoint (`client_secret_post`, as PlanetScale
//! documents) and what its answers mean. Errors never quote a response body.
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use axum::http::header;
use chrono::{DateTime, Utc};
use planetscale_api::{OAuthTokens, Secret as Sensitive};
use reqwest::Url;
use serde::Deserialize;

/// Access-token lifetime assumed when the token response has none (PlanetScale documents 30 days).
const DEFAULT_EXPIRES_IN: u64 = 2_592_000;
/// How long the token request may take.
const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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
pub(super) async fn exchange_code(
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
    let expires_at = i64::try_from(expires_in)
        .ok()
        .and_then(chrono::Duration::try_seconds)
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| anyhow!("the token endpoint's expires_in {expires_in} is out of range"))?;
    Ok(OAuthTokens {
        access_token: response.access_token,
        refresh_token,
        expires_at,
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // An absurd lifetime is an error, not a panic.
        let huge = format!(
            r#"{{"access_token":"a","refresh_token":"b","expires_in":{}}}"#,
            u64::MAX
        );
        assert!(parse_token_response(huge.as_bytes(), now).is_err());
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
}
