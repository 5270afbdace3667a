//! The one error type of the client, and how HTTP responses are classified into it.

use std::time::Duration;

use serde_json::Value;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when calling the PlanetScale API.
///
/// API variants keep the server's `code` (e.g. `not_found`, `unprocessable`, `invalid_token`) and
/// `message`. When the server sent none, `code` is derived from the status (e.g. `not_found`) and
/// `message` is the HTTP reason phrase. Error texts never contain credentials or response bodies
/// that are not error documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 404. Also what a service token without the needed access receives.
    #[error("not found ({code}): {message}")]
    NotFound {
        /// API error code, e.g. `not_found` (derived from the status when absent).
        code: String,
        /// API error message (the HTTP reason phrase when absent).
        message: String,
    },
    /// 401: missing, invalid or expired credentials (incl. OAuth `{"error": ...}` bodies and a
    /// refused token refresh).
    #[error("unauthorized ({code}): {message}")]
    Unauthorized {
        /// API error code, e.g. `not_found` (derived from the status when absent).
        code: String,
        /// API error message (the HTTP reason phrase when absent).
        message: String,
    },
    /// 403.
    #[error("forbidden ({code}): {message}")]
    Forbidden {
        /// API error code, e.g. `not_found` (derived from the status when absent).
        code: String,
        /// API error message (the HTTP reason phrase when absent).
        message: String,
    },
    /// 400, e.g. "Database is still initializing and cannot create branches."
    #[error("bad request ({code}): {message}")]
    BadRequest {
        /// API error code, e.g. `not_found` (derived from the status when absent).
        code: String,
        /// API error message (the HTTP reason phrase when absent).
        message: String,
    },
    /// 409 (not documented, but a plausible answer to duplicate names).
    #[error("conflict ({code}): {message}")]
    Conflict {
        /// API error code, e.g. `not_found` (derived from the status when absent).
        code: String,
        /// API error message (the HTTP reason phrase when absent).
        message: String,
    },
    /// 422: validation or state errors, e.g. renewing a password that cannot be renewed.
    #[error("unprocessable ({code}): {message}")]
    Unprocessable {
        /// API error code, e.g. `not_found` (derived from the status when absent).
        code: String,
        /// API error message (the HTTP reason phrase when absent).
        message: String,
    },
    /// 429. `retry_after` is the server's `Retry-After` when it sent one.
    #[error("rate limited ({code}): {message}")]
    RateLimited {
        /// The server's `Retry-After`, if sent.
        retry_after: Option<Duration>,
        /// API error code, e.g. `not_found` (derived from the status when absent).
        code: String,
        /// API error message (the HTTP reason phrase when absent).
        message: String,
    },
    /// 5xx. The body may be `{}` or not JSON at all.
    #[error("server error {status} ({code}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's `Retry-After`, if sent.
        retry_after: Option<Duration>,
        /// API error code, e.g. `not_found` (derived from the status when absent).
        code: String,
        /// API error message (the HTTP reason phrase when absent).
        message: String,
    },
    /// Any other status (3xx, 405, 410, ...).
    #[error("unexpected HTTP status {status} ({code}): {message}")]
    UnexpectedStatus {
        /// HTTP status.
        status: u16,
        /// API error code, e.g. `not_found` (derived from the status when absent).
        code: String,
        /// API error message (the HTTP reason phrase when absent).
        message: String,
    },
    /// No complete response within the request timeout (or a 408).
    #[error("request timed out")]
    Timeout,
    /// The connection failed. `connect` is true when it failed before the request was sent,
    /// so the server certainly did not see it.
    #[error("transport error: {message}")]
    Transport {
        /// What failed (no secrets: URLs carry only names).
        message: String,
        /// Whether it failed while connecting, before anything was sent.
        connect: bool,
    },
    /// A success response whose body did not match the expected shape.
    #[error("could not decode the response: {message}")]
    Decode {
        /// The decoder's complaint, with quoted values redacted.
        message: String,
    },
    /// The client was built with an invalid setting (e.g. a malformed base URL).
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether retrying later may succeed without anything else changing (429, 5xx, timeouts,
    /// transport errors).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. }
                | Error::Server { .. }
                | Error::Timeout
                | Error::Transport { .. }
        )
    }

    /// A stable CamelCase name for the variant, for condition reasons and metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "NotFound",
            Error::Unauthorized { .. } => "Unauthorized",
            Error::Forbidden { .. } => "Forbidden",
            Error::BadRequest { .. } => "BadRequest",
            Error::Conflict { .. } => "Conflict",
            Error::Unprocessable { .. } => "Unprocessable",
            Error::RateLimited { .. } => "RateLimited",
            Error::Server { .. } => "ServerError",
            Error::UnexpectedStatus { .. } => "UnexpectedStatus",
            Error::Timeout => "Timeout",
            Error::Transport { .. } => "TransportError",
            Error::Decode { .. } => "DecodeError",
            Error::Config(_) => "InvalidConfig",
        }
    }

    /// The HTTP status the error came from, if it came from a response.
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            Error::NotFound { .. } => 404,
            Error::Unauthorized { .. } => 401,
            Error::Forbidden { .. } => 403,
            Error::BadRequest { .. } => 400,
            Error::Conflict { .. } => 409,
            Error::Unprocessable { .. } => 422,
            Error::RateLimited { .. } => 429,
            Error::Server { status, .. } | Error::UnexpectedStatus { status, .. } => *status,
            _ => return None,
        })
    }

    /// The API error code (`not_found`, `unprocessable`, `invalid_token`, ...), if any.
    pub fn code(&self) -> Option<&str> {
        self.api_parts().map(|(code, _)| code)
    }

    /// The API error message, if the error came from a response.
    pub fn message(&self) -> Option<&str> {
        self.api_parts().map(|(_, message)| message)
    }

    /// The server-requested delay before retrying (`Retry-After`), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Whether the server certainly never saw the request (so even a create may be resent).
    pub fn is_before_send(&self) -> bool {
        matches!(self, Error::Transport { connect: true, .. })
    }

    fn api_parts(&self) -> Option<(&str, &str)> {
        match self {
            Error::NotFound { code, message }
            | Error::Unauthorized { code, message }
            | Error::Forbidden { code, message }
            | Error::BadRequest { code, message }
            | Error::Conflict { code, message }
            | Error::Unprocessable { code, message }
            | Error::RateLimited { code, message, .. }
            | Error::Server { code, message, .. }
            | Error::UnexpectedStatus { code, message, .. } => Some((code, message)),
            _ => None,
        }
    }

    /// Classifies an error response from its status, `Retry-After` and body.
    pub fn from_response(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Error {
        let (code, message) = error_document(status, body);
        match status {
            400 => Error::BadRequest { code, message },
            401 => Error::Unauthorized { code, message },
            403 => Error::Forbidden { code, message },
            404 => Error::NotFound { code, message },
            408 => Error::Timeout,
            409 => Error::Conflict { code, message },
            422 => Error::Unprocessable { code, message },
            429 => Error::RateLimited {
                retry_after,
                code,
                message,
            },
            500..=599 => Error::Server {
                status,
                retry_after,
                code,
                message,
            },
            _ => Error::UnexpectedStatus {
                status,
                code,
                message,
            },
        }
    }

    /// Builds a [`Error::Decode`] from a serde error, with quoted values removed so that a
    /// secret in the body can never reach the message.
    pub(crate) fn decode(err: &serde_json::Error) -> Error {
        Error::Decode {
            message: redact_quoted(&err.to_string()),
        }
    }

    /// Classifies a reqwest failure (no response received).
    pub(crate) fn from_reqwest(err: &reqwest::Error) -> Error {
        if err.is_connect() {
            Error::Transport {
                message: describe(err),
                connect: true,
            }
        } else if err.is_timeout() {
            Error::Timeout
        } else if err.is_decode() {
            Error::Decode {
                message: "could not read the response body".into(),
            }
        } else {
            Error::Transport {
                message: describe(err),
                connect: false,
            }
        }
    }
}

/// The error text of a reqwest error and its sources (URLs carry only names, never secrets).
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Extracts `(code, message)` from `{code,message}`, OAuth `{error,error_description}` or
/// `{errors:[...]}` bodies, falling back to the status.
fn error_document(status: u16, body: &[u8]) -> (String, String) {
    let reason = reason_phrase(status);
    let default_code = default_code(status);
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let message = if body.iter().all(u8::is_ascii_whitespace) {
            reason.to_owned()
        } else {
            format!("{reason} (non-JSON body of {} bytes)", body.len())
        };
        return (default_code, message);
    };
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| value.get(*k).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let code = text(&["code", "error"]).unwrap_or(default_code);
    let message = text(&["message", "error_description"])
        .or_else(|| nested_errors(&value))
        .unwrap_or_else(|| reason.to_owned());
    (code, message)
}

/// Flattens `{"errors":[{"name":..,"errors":[..]}]}` validation bodies into one line.
fn nested_errors(value: &Value) -> Option<String> {
    let items = value.get("errors")?.as_array()?;
    let parts: Vec<String> = items
        .iter()
        .map(|item| match item {
            Value::String(s) => s.clone(),
            other => {
                let name = other.get("name").and_then(Value::as_str).unwrap_or("");
                let errs = other.get("errors").and_then(Value::as_array);
                let texts: Vec<&str> = errs
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                format!("{name}: {}", texts.join(", "))
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn default_code(status: u16) -> String {
    match status {
        400 => "bad_request".into(),
        401 => "unauthorized".into(),
        403 => "forbidden".into(),
        404 => "not_found".into(),
        409 => "conflict".into(),
        422 => "unprocessable".into(),
        429 => "too_many_requests".into(),
        500..=599 => "server_error".into(),
        other => format!("http_{other}"),
    }
}

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown Status")
}

/// Replaces every `"..."` segment with `"[REDACTED]"`.
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut parts = text.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        out.push('"');
        out.push_str(if i % 2 == 0 {
            crate::secret::REDACTED
        } else {
            part
        });
    }
    out
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
