//! When a failed request is sent again, and after how long.

use std::time::Duration;

use rand::Rng;

use crate::Error;

/// Whether sending a request twice is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it has no extra effect (GET, PATCH, PUT, DELETE and state-changing POST
    /// actions such as promote, renew, deploy, cancel, revert). Retried on every transient
    /// error.
    Idempotent,
    /// It mints an object (branch, password, deploy request, review, token refresh). Retried
    /// only when the server certainly did not act on it: a connection that failed before the
    /// request was sent, or a 429.
    Create,
}

impl Idempotency {
    /// Whether `error` may be answered by sending the request again.
    pub fn may_retry(self, error: &Error) -> bool {
        match self {
            Idempotency::Idempotent => error.is_transient(),
            Idempotency::Create => {
                error.is_before_send() || matches!(error, Error::RateLimited { .. })
            }
        }
    }
}

/// Exponential backoff with full jitter, capped in attempts and total time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (1 disables retries).
    pub max_attempts: u32,
    /// Backoff ceiling before the first retry; it doubles on each retry.
    pub initial_backoff: Duration,
    /// Largest backoff ceiling.
    pub max_backoff: Duration,
    /// No retry starts after this much time since the first attempt; a `Retry-After` that
    /// ends later is returned to the caller as [`Error::RateLimited`] instead.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 250 ms doubling up to 10 s, within 60 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// How long to wait before attempt `attempt + 1`, or `None` to give up.
    ///
    /// `attempt` counts from 1; `elapsed` is the time since the first attempt started.
    pub fn delay(
        &self,
        kind: Idempotency,
        attempt: u32,
        error: &Error,
        elapsed: Duration,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts || !kind.may_retry(error) {
            return None;
        }
        let delay = error.retry_after().unwrap_or_else(|| self.backoff(attempt));
        (elapsed + delay <= self.max_elapsed).then_some(delay)
    }

    /// Full jitter: uniform in `0..=min(max_backoff, initial_backoff * 2^(attempt-1))`.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .initial_backoff
            .saturating_mul(1 << exp)
            .min(self.max_backoff);
        rand::rng().random_range(Duration::ZERO..=ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Error {
        Error::from_response(503, None, b"{}")
    }

    fn timeout() -> Error {
        Error::Timeout
    }

    #[test]
    fn idempotent_requests_retry_every_transient_error() {
        let kind = Idempotency::Idempotent;
        assert!(kind.may_retry(&server()));
        assert!(kind.may_retry(&timeout()));
        assert!(kind.may_retry(&Error::from_response(429, None, b"")));
        assert!(!kind.may_retry(&Error::from_response(404, None, b"")));
        assert!(!kind.may_retry(&Error::from_response(422, None, b"")));
    }

    #[test]
    fn creates_retry_only_when_the_server_did_not_act() {
        let kind = Idempotency::Create;
        assert!(kind.may_retry(&Error::Transport {
            message: "refused".into(),
            connect: true
        }));
        assert!(kind.may_retry(&Error::from_response(429, None, b"")));
        assert!(!kind.may_retry(&timeout()));
        assert!(!kind.may_retry(&server()));
        assert!(!kind.may_retry(&Error::Transport {
            message: "reset".into(),
            connect: false
        }));
    }

    #[test]
    fn backoff_grows_and_stays_within_its_ceiling() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
            max_elapsed: Duration::from_secs(60),
        };
        for attempt in 1..10 {
            let ceiling = Duration::from_millis(100 * (1 << (attempt - 1).min(2)));
            for _ in 0..50 {
                let d = policy.delay(Idempotency::Idempotent, attempt, &server(), Duration::ZERO);
                assert!(
                    d.unwrap() <= ceiling,
                    "attempt {attempt}: {d:?} > {ceiling:?}"
                );
            }
        }
    }

    #[test]
    fn attempts_and_total_time_are_capped() {
        let policy = RetryPolicy::default();
        let idem = Idempotency::Idempotent;
        assert!(policy.delay(idem, 3, &server(), Duration::ZERO).is_some());
        assert!(policy.delay(idem, 4, &server(), Duration::ZERO).is_none());
        assert!(
            policy
                .delay(idem, 1, &server(), Duration::from_secs(61))
                .is_none()
        );
        assert!(
            RetryPolicy::none()
                .delay(idem, 1, &server(), Duration::ZERO)
                .is_none()
        );
    }

    #[test]
    fn retry_after_is_honoured_unless_it_exceeds_the_budget() {
        let policy = RetryPolicy::default();
        let limited = Error::from_response(429, Some(Duration::from_secs(7)), b"");
        let d = policy.delay(Idempotency::Create, 1, &limited, Duration::ZERO);
        assert_eq!(d, Some(Duration::from_secs(7)));
        let long = Error::from_response(429, Some(Duration::from_secs(120)), b"");
        assert_eq!(
            policy.delay(Idempotency::Create, 1, &long, Duration::ZERO),
            None
        );
    }
}
