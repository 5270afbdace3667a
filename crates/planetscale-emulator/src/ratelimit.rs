//! Per-credential rate limit: a token bucket of `rate_limit` requests per minute,
//! refilled on the emulator clock (so advancing the clock refills it).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Buckets keyed by a hash of the credential.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

impl RateLimiter {
    /// Take one token for `key`. `Err(seconds)` says how long until one is available.
    pub fn check(&self, key: &str, per_minute: u32, now: DateTime<Utc>) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = (now - bucket.at).num_milliseconds().max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_second).ceil().max(1.0) as u64)
        }
    }

    /// Forget every bucket (after the limit changes).
    pub fn reset(&self) {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_then_refills_with_the_clock() {
        let limiter = RateLimiter::default();
        let t0 = Utc::now();
        assert!((0..3).all(|_| limiter.check("k", 3, t0).is_ok()));
        assert_eq!(limiter.check("k", 3, t0), Err(20));
        assert!(limiter.check("other", 3, t0).is_ok());
        assert!(
            limiter
                .check("k", 3, t0 + chrono::Duration::seconds(20))
                .is_ok()
        );
        assert!(limiter.check("k", 0, t0).is_ok());
    }
}
