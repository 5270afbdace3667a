//! The server's clock as seen in `Date` response headers: deadlines the server enforces (such
//! as a password's `expires_at`) are compared with the server's time, not the local one.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};
use reqwest::header::{DATE, HeaderMap};

/// The last `Date` header received and when it arrived.
#[derive(Debug, Default)]
pub(crate) struct ServerClock {
    sample: Mutex<Option<(DateTime<Utc>, Instant)>>,
}

impl ServerClock {
    /// Records the `Date` header of a response, if it has a valid one.
    pub(crate) fn observe(&self, headers: &HeaderMap) {
        let Some(date) = parse_date(headers) else {
            return;
        };
        *self
            .sample
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((date, Instant::now()));
    }

    /// The server's current time: the last `Date` plus the time since it arrived, or the
    /// local time before any response carried a `Date`.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let sample = *self
            .sample
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match sample {
            Some((date, at)) => chrono::Duration::from_std(at.elapsed())
                .ok()
                .and_then(|elapsed| date.checked_add_signed(elapsed))
                .unwrap_or(date),
            None => Utc::now(),
        }
    }
}

fn parse_date(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let value = headers.get(DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(date: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(DATE, HeaderValue::from_str(date).unwrap());
        map
    }

    #[test]
    fn follows_the_last_date_header() {
        let clock = ServerClock::default();
        let local = clock.now();
        assert!(
            (Utc::now() - local).num_seconds().abs() < 5,
            "local time first"
        );
        clock.observe(&headers("Sun, 06 Nov 2044 08:49:37 GMT"));
        let now = clock.now();
        assert_eq!(now.format("%Y-%m-%d %H:%M").to_string(), "2044-11-06 08:49");
        assert!(clock.now() >= now, "the estimate moves forward");
    }

    #[test]
    fn ignores_missing_or_malformed_dates() {
        let clock = ServerClock::default();
        clock.observe(&headers("Sun, 06 Nov 2044 08:49:37 GMT"));
        clock.observe(&HeaderMap::new());
        clock.observe(&headers("yesterday"));
        assert_eq!(clock.now().format("%Y").to_string(), "2044");
    }
}
