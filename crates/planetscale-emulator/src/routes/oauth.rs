//! The OAuth server (`auth.planetscale.com` in production): authorize (auto-approved for the
//! application's configured user), token (authorization_code and rotating refresh_token
//! grants), revoke and token info.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::ids::{hash_secret, new_id, new_secret};
use crate::model::{AuthCode, OAuthToken, World};

/// OAuth server routes.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/token/info", get(token_info))
}

fn is_loopback(host: Option<&url::Host<&str>>) -> bool {
    match host {
        Some(url::Host::Domain(d)) => *d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether `given` matches the registered redirect URI: the same scheme, host, path and query,
/// no userinfo and no fragment; only the port of a loopback URI may differ (RFC 8252 §7.3).
/// Parsed as URLs, so `http://127.0.0.1:1@evil.example/cb` is a URI of `evil.example`.
pub fn redirect_matches(registered: &str, given: &str) -> bool {
    let (Ok(r), Ok(g)) = (url::Url::parse(registered), url::Url::parse(given)) else {
        return false;
    };
    let plain =
        |u: &url::Url| u.username().is_empty() && u.password().is_none() && u.fragment().is_none();
    if !plain(&g) || !plain(&r) {
        return false;
    }
    let same = r.scheme() == g.scheme()
        && r.host() == g.host()
        && r.path() == g.path()
        && r.query() == g.query();
    same && (r.port_or_known_default() == g.port_or_known_default()
        || is_loopback(g.host().as_ref()))
}

async fn authorize(State(app): State<App>, ApiQuery(q): ApiQuery) -> ApiResult<Response> {
    let mut ctx = app.lock();
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    let oauth_app = ctx
        .world
        .oauth_apps
        .iter()
        .find(|a| a.client_id == client_id)
        .ok_or_else(|| {
            ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                "Unknown client_id",
            )
        })?;
    let redirect = q
        .get("redirect_uri")
        .cloned()
        .unwrap_or_else(|| oauth_app.redirect_uri.clone());
    if !redirect_matches(&oauth_app.redirect_uri, &redirect) {
        return Err(ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri does not match the application",
        ));
    }
    let code = new_secret("");
    let record = AuthCode {
        code_hash: hash_secret(&code),
        app_id: oauth_app.id.clone(),
        user_id: oauth_app.user_id.clone(),
        redirect_uri: redirect.clone(),
        expires_at: crate::clock::after(ctx.now, ctx.settings.authorization_code_lifetime),
        used: false,
    };
    ctx.world.auth_codes.push(record);
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let mut location = format!("{redirect}{sep}code={code}");
    if let Some(state) = q.get("state") {
        location.push_str(&format!("&state={}", crate::ids::percent_encode(state)));
    }
    Ok((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
}

/// Issue a new access/refresh token pair; returns (index, access token, refresh token).
pub fn issue(
    w: &mut World,
    app_id: &str,
    user_id: &str,
    scopes: Vec<String>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (usize, String, String) {
    let (access, refresh) = (
        new_secret("pscale_oauth_"),
        new_secret("pscale_oauth_refresh_"),
    );
    w.oauth_tokens.push(OAuthToken {
        id: new_id(),
        app_id: app_id.into(),
        user_id: user_id.into(),
        access_hash: hash_secret(&access),
        refresh_hash: hash_secret(&refresh),
        scopes,
        created_at: now,
        expires_at,
        access_revoked: false,
        refresh_spent: false,
        last_used_at: None,
    });
    (w.oauth_tokens.len() - 1, access, refresh)
}

fn invalid_grant(text: &str) -> ApiError {
    ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_grant", text)
}

/// The OAuth request body: form-encoded as the spec says, JSON tolerated.
fn parse_form(body: &[u8]) -> ApiResult<HashMap<String, String>> {
    let bad = |e: String| ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_request", e);
    let text = std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8".into()))?;
    if text.trim_start().starts_with('{') {
        let map: HashMap<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let as_text =
            |v: serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        return Ok(map.into_iter().map(|(k, v)| (k, as_text(v))).collect());
    }
    let uri: axum::http::Uri = format!("/?{}", text.trim())
        .parse()
        .map_err(|_| bad("malformed form body".into()))?;
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| bad(e.to_string()))
}

/// Client credentials from the form or an HTTP Basic header.
fn client_credentials(headers: &HeaderMap, form: &HashMap<String, String>) -> (String, String) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    basic.unwrap_or_else(|| {
        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
        (get("client_id"), get("client_secret"))
    })
}

/// Authenticate the client; returns the app index.
pub fn client_app(w: &World, client_id: &str, secret: &str) -> ApiResult<usize> {
    w.oauth_apps
        .iter()
        .position(|a| a.client_id == client_id && a.client_secret_hash == hash_secret(secret))
        .ok_or_else(|| {
            ApiError::oauth(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed",
            )
        })
}

fn redeem_code(
    w: &mut World,
    app_id: &str,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let hash = hash_secret(form.get("code").map_or("", String::as_str));
    let code = w
        .auth_codes
        .iter_mut()
        .find(|c| c.code_hash == hash && c.app_id == app_id);
    let code = code.ok_or_else(|| invalid_grant("The authorization code is invalid"))?;
    if code.used || code.expires_at <= now {
        return Err(invalid_grant(
            "The authorization code was already used or has expired",
        ));
    }
    if form
        .get("redirect_uri")
        .is_some_and(|r| r != &code.redirect_uri)
    {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    code.used = true;
    Ok(code.user_id.clone())
}

fn redeem_refresh(
    w: &mut World,
    app_id: &str,
    form: &HashMap<String, String>,
) -> ApiResult<String> {
    let hash = hash_secret(form.get("refresh_token").map_or("", String::as_str));
    let old = w
        .oauth_tokens
        .iter_mut()
        .find(|t| t.refresh_hash == hash && t.app_id == app_id);
    let old = old.ok_or_else(|| invalid_grant("The refresh token is invalid"))?;
    if old.refresh_spent {
        return Err(invalid_grant(
            "The refresh token was already used or revoked",
        ));
    }
    old.refresh_spent = true;
    Ok(old.user_id.clone())
}

/// Run a grant for the app at `a`; returns (token index, access, refresh).
pub fn exchange(
    w: &mut World,
    a: usize,
    form: &HashMap<String, String>,
    lifetime: std::time::Duration,
    now: DateTime<Utc>,
) -> ApiResult<(usize, String, String)> {
    let app_id = w.oauth_apps[a].id.clone();
    let user_id = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => redeem_code(w, &app_id, form, now)?,
        Some("refresh_token") => redeem_refresh(w, &app_id, form)?,
        Some(_) => {
            let text = "Unsupported grant_type";
            return Err(ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                text,
            ));
        }
        None => {
            let text = "grant_type is required";
            return Err(ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                text,
            ));
        }
    };
    let scopes = w.oauth_apps[a].scopes.clone();
    let expires_at = crate::clock::after(now, lifetime);
    Ok(issue(w, &app_id, &user_id, scopes, expires_at, now))
}

async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let form = parse_form(&body)?;
    let mut ctx = app.lock();
    let (client_id, secret) = client_credentials(&headers, &form);
    let a = client_app(&ctx.world, &client_id, &secret)?;
    let (now, lifetime) = (ctx.now, ctx.settings.access_token_lifetime);
    let (i, access, refresh) = exchange(&mut ctx.world, a, &form, lifetime, now)?;
    let t = &ctx.world.oauth_tokens[i];
    Ok(Json(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": (t.expires_at - now).num_seconds(),
        "refresh_token": refresh, "scope": t.scopes.join(" "), "created_at": now.timestamp(),
    }))
    .into_response())
}

async fn revoke(State(app): State<App>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let form = parse_form(&body)?;
    let mut ctx = app.lock();
    let (client_id, secret) = client_credentials(&headers, &form);
    let a = client_app(&ctx.world, &client_id, &secret)?;
    let app_id = ctx.world.oauth_apps[a].id.clone();
    let hash = hash_secret(form.get("token").map_or("", String::as_str));
    for t in ctx
        .world
        .oauth_tokens
        .iter_mut()
        .filter(|t| t.app_id == app_id)
    {
        if t.access_hash == hash {
            t.access_revoked = true;
        }
        if t.refresh_hash == hash {
            t.refresh_spent = true;
        }
    }
    Ok(Json(json!({})).into_response())
}

async fn token_info(State(app): State<App>, headers: HeaderMap) -> ApiResult<Response> {
    let ctx = app.lock();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let hash = hash_secret(bearer.unwrap_or_default().trim());
    let live = ctx
        .world
        .oauth_tokens
        .iter()
        .find(|t| t.access_hash == hash && !t.access_revoked && t.expires_at > ctx.now);
    let Some(t) = live else {
        return Ok(Json(json!({"active": false})).into_response());
    };
    let client_id = ctx
        .world
        .oauth_apps
        .iter()
        .find(|a| a.id == t.app_id)
        .map(|a| a.client_id.clone());
    Ok(Json(json!({
        "active": true, "scope": t.scopes.join(" "), "client_id": client_id, "token_type": "Bearer",
        "exp": t.expires_at.timestamp(), "iat": t.created_at.timestamp(), "sub": t.user_id,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::redirect_matches;

    #[test]
    fn a_redirect_uri_matches_only_its_registration_with_any_loopback_port() {
        let registered = "http://127.0.0.1/callback";
        let cases = [
            ("http://127.0.0.1/callback", true),
            ("http://127.0.0.1:53682/callback", true),
            // Userinfo hides the real host: this URI's host is evil.example.
            ("http://127.0.0.1:1@evil.example/callback", false),
            ("http://user@127.0.0.1/callback", false),
            ("http://127.0.0.1/callback#frag", false),
            ("http://127.0.0.1/callback?x=1", false),
            ("http://127.0.0.1/other", false),
            ("https://127.0.0.1/callback", false),
            ("http://localhost/callback", false),
            ("http://127.0.0.2/callback", false),
            ("http://127.0.0.1.evil.example/callback", false),
            ("not a url", false),
        ];
        for (given, ok) in cases {
            assert_eq!(redirect_matches(registered, given), ok, "{given}");
        }
        let public = "https://app.example.com/cb";
        assert!(redirect_matches(public, "https://app.example.com/cb"));
        assert!(redirect_matches(public, "https://app.example.com:443/cb"));
        assert!(!redirect_matches(public, "https://app.example.com:8443/cb"));
        assert!(!redirect_matches(
            public,
            "https://app.example.com@evil.example/cb"
        ));
    }
}
