//! Typed, budget-aware client for the PlanetScale HTTP API.
//!
//! - [`Client`] (built with [`Client::builder`]) exposes one method per API operation
//!   (`get_branch`, `create_password`, `queue_deploy_request`, ...). Lists return a [`Paged`]
//!   stream and have a `*_all` variant that collects.
//! - Authentication with a service token or OAuth application tokens ([`Credentials`]),
//!   refreshed before expiry and once after a 401, new tokens handed to a callback.
//! - One [`Error`] type with `is_transient()` and a stable `reason()`.
//! - Retries per [`RetryPolicy`]: idempotent requests on transient errors; creates only when
//!   the server certainly did not act (connect failure, 429).
//! - A shared token bucket ([`RateLimiter`], default 600/min) behind the [`Limiter`] trait.
//! - Counters ([`ApiMetrics`], [`Observer`]) for the operator's metrics.
//! - Secrets ([`Secret`]) print as `[REDACTED]`; nothing here logs headers or bodies.

mod auth;
mod client;
mod credentials;
mod endpoints;
pub mod error;
pub mod limiter;
pub mod metrics;
pub mod models;
mod pagination;
mod request;
pub mod retry;
mod secret;

pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_TOKEN_URL, MAX_PAGE_SIZE, USER_AGENT,
};
pub use credentials::{
    Credentials, OAuthTokens, RefreshCallback, refresh_callback, refresh_callback_sync,
};
pub use error::{Error, Result};
pub use limiter::{AcquireContext, CLIENT_THROTTLED, Limiter, RateLimit, RateLimiter};
pub use metrics::{ApiMetrics, MetricsSnapshot, Observer, RequestCount};
pub use pagination::Paged;
pub use retry::{Idempotency, RetryPolicy};
pub use secret::{REDACTED, Secret};
