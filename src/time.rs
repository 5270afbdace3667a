//! Time in one place: the current time, PlanetScale's times (chrono) as Kubernetes `Time` and
//! back, and the saturating arithmetic the controllers do on them.
//!
//! A Kubernetes `Time` serialises with whole seconds, so every conversion here truncates to
//! whole seconds: a sub-second value would never compare equal to what the API server stores,
//! and every resync would rewrite an unchanged status.
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;

/// The current time as a Kubernetes `Time` (whole seconds).
pub fn now() -> Time {
    to_time(Utc::now())
}

/// The current time with microseconds, for a Lease's `acquireTime` and `renewTime`.
pub fn micro_now() -> MicroTime {
    MicroTime(Timestamp::now())
}

/// A PlanetScale time as a Kubernetes `Time`, truncated to whole seconds (the epoch for a time
/// Kubernetes cannot represent).
pub fn to_time(t: DateTime<Utc>) -> Time {
    Time(Timestamp::from_second(t.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// A Kubernetes `Time` as a chrono time.
pub fn from_time(t: &Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

/// `t + d`, saturating.
pub fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// How long from `now` until `t` (zero when it is past).
pub fn until(now: DateTime<Utc>, t: DateTime<Utc>) -> Duration {
    (t - now).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_time_survives_a_round_trip_through_the_api_server() {
        let time = to_time(utc("2026-11-28T12:34:56.789Z"));
        let json = serde_json::to_value(&time).unwrap();
        assert_eq!(json, "2026-11-28T12:34:56Z");
        let back: Time = serde_json::from_value(json).unwrap();
        assert_eq!(
            back, time,
            "an unchanged status must compare equal after a round trip"
        );
        assert_eq!(
            from_time(&back),
            utc("2026-11-28T12:34:56Z"),
            "whole seconds, as Kubernetes stores them"
        );
    }

    #[test]
    fn now_is_whole_seconds() {
        assert_eq!(now().0.subsec_nanosecond(), 0);
    }

    #[test]
    fn after_and_until() {
        let t = DateTime::from_timestamp(1_000, 0).unwrap();
        let later = after(t, Duration::from_secs(90));
        assert_eq!(until(t, later), Duration::from_secs(90));
        assert_eq!(until(later, t), Duration::ZERO);
        assert_eq!(after(t, Duration::MAX), DateTime::<Utc>::MAX_UTC);
    }
}
