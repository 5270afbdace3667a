//! Lenient request extractors whose failures are API-shaped errors.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth::Caller;
use crate::error::ApiError;

/// A JSON body; an empty body counts as `{}` and the content type is not checked.
/// Malformed JSON is a 400 `bad_request`, a wrong or missing field a 422 `invalid_params`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        let text = if bytes.iter().all(u8::is_ascii_whitespace) {
            &b"{}"[..]
        } else {
            &bytes[..]
        };
        match serde_json::from_slice(text) {
            Ok(v) => Ok(Self(v)),
            Err(e) if e.is_syntax() || e.is_eof() => {
                Err(ApiError::bad_request(format!("invalid JSON: {e}")))
            }
            Err(e) => Err(ApiError::invalid_params(e.to_string())),
        }
    }
}

/// Query parameters as strings; parsing is left to the handler.
pub struct ApiQuery(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for ApiQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_parse(query).map(Self)
    }
}

fn serde_urlencoded_parse(query: &str) -> Result<HashMap<String, String>, ApiError> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| ApiError::bad_request("invalid query string"))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::bad_request(e.to_string()))
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("Authentication required"))
    }
}

/// A boolean query parameter (`true`/`false`/`1`/`0`), `None` when absent or unparsable.
pub fn query_bool(q: &HashMap<String, String>, key: &str) -> Option<bool> {
    match q.get(key).map(|v| v.to_ascii_lowercase()) {
        Some(v) if v == "true" || v == "1" => Some(true),
        Some(v) if v == "false" || v == "0" => Some(false),
        _ => None,
    }
}
