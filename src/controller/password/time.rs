//! Conversions between the API's chrono times and the status's Kubernetes `Time`.
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// A chrono time as a Kubernetes `Time` (the epoch for times out of range).
pub fn to_time(t: DateTime<Utc>) -> Time {
    crate::controller::k8s_time(t)
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

    #[test]
    fn round_trips_through_kubernetes_time() {
        let t = DateTime::parse_from_rfc3339("2030-01-02T03:04:05.678Z")
            .unwrap()
            .with_timezone(&Utc);
        let whole = DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            from_time(&to_time(t)),
            whole,
            "whole seconds, as Kubernetes stores them"
        );
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
