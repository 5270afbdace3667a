//! The client-side request budget: a token bucket shared by every client using the same
//! credentials, behind a small [`Limiter`] trait so that fair queuing or priorities can be
//! layered in front of it later.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use rand::Rng;
use tokio::time::Instant;

use crate::{Error, Result};

/// How long every sharer pauses after a 429 that came without `Retry-After`.
const DEFAULT_429_PAUSE: Duration = Duration::from_secs(1);
/// The `code` of the error returned when a request would wait longer than `max_wait`.
pub const CLIENT_THROTTLED: &str = "client_throttled";

/// What a caller is about to send; passed to [`Limiter::acquire`].
///
/// Non-exhaustive: a priority may be added for fair sharing.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AcquireContext {
    /// The operation name, e.g. `get_branch`.
    pub operation: &'static str,
    /// Who is asking, as set with [`crate::Client::with_caller`] (e.g. a controller name).
    pub caller: Option<&'static str>,
}

impl AcquireContext {
    /// A context for one operation.
    pub fn new(operation: &'static str) -> Self {
        Self {
            operation,
            caller: None,
        }
    }

    /// The same context on behalf of `caller`.
    pub fn with_caller(self, caller: Option<&'static str>) -> Self {
        Self { caller, ..self }
    }
}

/// Admission control in front of every API request.
///
/// [`RateLimiter`] is the default implementation. A wrapper (e.g. a fair scheduler across
/// controllers) implements this trait, decides *who* goes next, and delegates to the inner
/// [`RateLimiter`] for *when*.
pub trait Limiter: Send + Sync + fmt::Debug {
    /// Resolves when one request may be sent, or fails (typically with
    /// [`Error::RateLimited`]) when the request should not wait any longer; the caller then
    /// gets that error and can requeue instead of blocking.
    fn acquire<'a>(&'a self, ctx: &'a AcquireContext) -> BoxFuture<'a, Result<()>>;

    /// Called when the server answered 429, so every sharer slows down.
    fn on_rate_limited(&self, _retry_after: Option<Duration>) {}
}

/// Budget settings: a steady rate per minute, a burst, and how long a request may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per minute (PlanetScale documents 600).
    pub per_minute: NonZeroU32,
    /// Requests that may be sent back to back after an idle period.
    pub burst: NonZeroU32,
    /// Longest time one request waits for the budget (including a pause after a 429) before
    /// it fails with [`Error::RateLimited`] (code [`CLIENT_THROTTLED`]).
    pub max_wait: Duration,
}

impl Default for RateLimit {
    /// 600 requests per minute with a burst of 10; wait at most 30 s.
    fn default() -> Self {
        Self::per_minute(600, 10)
    }
}

impl RateLimit {
    /// A budget of `per_minute` with a burst of `burst` (0 is treated as 1), waiting at most
    /// 30 s.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        let one = NonZeroU32::MIN;
        Self {
            per_minute: NonZeroU32::new(per_minute).unwrap_or(one),
            burst: NonZeroU32::new(burst).unwrap_or(one),
            max_wait: Duration::from_secs(30),
        }
    }

    /// The same budget with another `max_wait`.
    pub fn with_max_wait(self, max_wait: Duration) -> Self {
        Self { max_wait, ..self }
    }
}

/// A GCRA token bucket (governor) plus a shared pause after 429 responses.
///
/// Share one `Arc<RateLimiter>` between all clients that use the same credentials.
pub struct RateLimiter {
    config: RateLimit,
    bucket: DefaultDirectRateLimiter,
    paused_until: Mutex<Option<Instant>>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A new shared limiter.
    pub fn new(config: RateLimit) -> Arc<Self> {
        let quota = Quota::per_minute(config.per_minute).allow_burst(config.burst);
        Arc::new(Self {
            config,
            bucket: DefaultDirectRateLimiter::direct(quota),
            paused_until: Mutex::new(None),
        })
    }

    /// The configured budget.
    pub fn config(&self) -> RateLimit {
        self.config
    }

    /// Takes one token if available now; otherwise returns how long to wait.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        if let Some(wait) = self.pause_remaining() {
            return Err(wait);
        }
        self.bucket
            .check()
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Waits for one token (and for any pause after a 429), at most `max_wait` in total.
    pub async fn acquire(&self) -> Result<()> {
        let deadline = Instant::now() + self.config.max_wait;
        loop {
            let wait = match self.try_acquire() {
                Ok(()) => return Ok(()),
                Err(wait) => wait + jitter(wait),
            };
            if Instant::now() + wait > deadline {
                return Err(Error::RateLimited {
                    retry_after: Some(wait),
                    code: CLIENT_THROTTLED.into(),
                    message: "the shared request budget is exhausted; try again later".into(),
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Makes every sharer wait `duration` before the next request.
    pub fn pause_for(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    fn pause_remaining(&self) -> Option<Duration> {
        let paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        let remaining = (*paused)?.saturating_duration_since(Instant::now());
        (!remaining.is_zero()).then_some(remaining)
    }
}

impl Limiter for RateLimiter {
    fn acquire<'a>(&'a self, _ctx: &'a AcquireContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(RateLimiter::acquire(self))
    }

    fn on_rate_limited(&self, retry_after: Option<Duration>) {
        self.pause_for(retry_after.unwrap_or(DEFAULT_429_PAUSE));
    }
}

/// Up to 10% extra (at most 20 ms) so that waiters do not all wake at the same instant.
fn jitter(wait: Duration) -> Duration {
    let cap = (wait / 10).min(Duration::from_millis(20));
    if cap.is_zero() {
        return Duration::ZERO;
    }
    rand::rng().random_range(Duration::ZERO..=cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_available_at_once_then_the_bucket_is_empty() {
        let limiter = RateLimiter::new(RateLimit::per_minute(60, 3));
        for _ in 0..3 {
            assert!(limiter.try_acquire().is_ok());
        }
        let wait = limiter.try_acquire().unwrap_err();
        assert!(
            wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
    }

    #[tokio::test]
    async fn a_429_pauses_every_sharer() {
        let limiter = RateLimiter::new(RateLimit::per_minute(6000, 100));
        Limiter::on_rate_limited(&*limiter, Some(Duration::from_secs(30)));
        let wait = limiter.try_acquire().unwrap_err();
        assert!(wait > Duration::from_secs(29), "{wait:?}");
        // A shorter pause never shortens a longer one.
        limiter.pause_for(Duration::from_secs(1));
        assert!(limiter.try_acquire().unwrap_err() > Duration::from_secs(29));
    }

    #[tokio::test]
    async fn a_wait_longer_than_max_wait_fails_fast() {
        let limit = RateLimit::per_minute(6000, 100).with_max_wait(Duration::from_secs(5));
        let limiter = RateLimiter::new(limit);
        limiter.pause_for(Duration::from_secs(60));
        let started = std::time::Instant::now();
        let err = limiter.acquire().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(err.code(), Some(CLIENT_THROTTLED));
        assert!(err.retry_after().unwrap() > Duration::from_secs(59));
    }

    #[test]
    fn zero_settings_are_clamped() {
        let limit = RateLimit::per_minute(0, 0);
        assert_eq!((limit.per_minute.get(), limit.burst.get()), (1, 1));
        assert_eq!(RateLimit::default(), RateLimit::per_minute(600, 10));
    }
}
