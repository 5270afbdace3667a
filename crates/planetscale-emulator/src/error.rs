//! Errors as the real API returns them: `{code, message}` bodies, or OAuth-style
//! `{error, error_description}` bodies for OAuth endpoints and bad Bearer tokens.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error response of the emulated API.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The usual `{code, message}` body.
    #[error("{status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: StatusCode,
        /// Stable snake_case code such as `not_found`.
        code: &'static str,
        /// Human-readable message.
        message: String,
    },
    /// OAuth-style `{error, error_description}` body.
    #[error("{status} {error}: {description}")]
    OAuth {
        /// HTTP status.
        status: StatusCode,
        /// OAuth error code such as `invalid_grant`.
        error: &'static str,
        /// Human-readable description.
        description: String,
    },
    /// 429 with an optional `Retry-After` (seconds).
    #[error("429 too_many_requests")]
    RateLimited {
        /// Seconds until a request would be admitted, when the header is enabled.
        retry_after: Option<u64>,
    },
}

impl ApiError {
    fn api(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Api {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404 `not_found` with the real, segment-agnostic message.
    pub fn not_found() -> Self {
        Self::api(StatusCode::NOT_FOUND, "not_found", "Not Found")
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::api(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::api(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422 `unprocessable`.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::api(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message)
    }

    /// 422 `invalid_params` (a body field has the wrong type or is missing).
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::api(StatusCode::UNPROCESSABLE_ENTITY, "invalid_params", message)
    }

    /// 409 `conflict` (used only by the admin API).
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(StatusCode::CONFLICT, code, message)
    }

    /// Any status with a code, for injected faults.
    pub fn custom(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::api(status, code, message)
    }

    /// OAuth-style 401 `invalid_token`, for expired, revoked or unknown Bearer tokens.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::OAuth {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: description.into(),
        }
    }

    /// OAuth-style error with any status.
    pub fn oauth(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self::OAuth {
            status,
            error,
            description: description.into(),
        }
    }

    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Api { status, .. } | Self::OAuth { status, .. } => *status,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Api {
                status,
                code,
                message,
            } => (
                status,
                axum::Json(json!({"code": code, "message": message})),
            )
                .into_response(),
            Self::OAuth {
                status,
                error,
                description,
            } => {
                let body = json!({"error": error, "error_description": description});
                (status, axum::Json(body)).into_response()
            }
            Self::RateLimited { retry_after } => {
                let body = json!({
                    "code": "too_many_requests",
                    "message": "Rate limit exceeded, please slow down your requests."
                });
                let mut response =
                    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                if let Some(secs) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                response
            }
        }
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
