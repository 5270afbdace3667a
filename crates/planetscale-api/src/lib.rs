#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod auth;
mod client;
mod credentials;
mod endpoints;
pub mod error;
mod error_kind;
pub mod limiter;
pub mod metrics;
pub mod models;
mod oauth;
mod pagination;
mod request;
pub mod retry;
mod secret;
mod server_clock;
pub mod signature;

pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_TOKEN_URL, MAX_PAGE_SIZE, USER_AGENT,
};
pub use credentials::{
    Credentials, OAuthTokens, RefreshCallback, refresh_callback, refresh_callback_sync,
};
pub use error::{Error, Result};
pub use error_kind::ErrorKind;
pub use limiter::{
    AcquireContext, CLIENT_THROTTLED, DEFAULT_HIGH_PRIORITY_CALLERS, Limiter, Priority, RateLimit,
    RateLimiter,
};
pub use metrics::{ApiMetrics, MetricsSnapshot, Observer, RequestCount};
pub use oauth::AuthorizationCode;
pub use pagination::Paged;
pub use retry::{Idempotency, RetryPolicy};
pub use secret::{REDACTED, Secret};
