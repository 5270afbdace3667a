//! Unit tests of the configuration checks; the election itself is tested against a real API
//! server in `tests/leader.rs`.
use super::*;

fn config(lease: u64, renew: u64, retry: u64) -> LeaderConfig {
    LeaderConfig {
        namespace: "ns".into(),
        lease_name: "lease".into(),
        identity: "me".into(),
        lease_duration: Duration::from_millis(lease),
        renew_deadline: Duration::from_millis(renew),
        retry_period: Duration::from_millis(retry),
    }
}

#[test]
fn durations_must_nest_retry_renew_lease() {
    assert!(config(15_000, 10_000, 2_000).validate().is_ok());
    for (lease, renew, retry) in [
        (10_000, 10_000, 2_000),
        (15_000, 2_000, 2_000),
        (500, 300, 100),
        (15_000, 10_000, 0),
    ] {
        let err = config(lease, renew, retry).validate().unwrap_err();
        assert_eq!(err.reason(), "InvalidLeaderElectionDurations");
        assert!(err.to_string().contains("renew deadline"), "{err}");
    }
}

#[test]
fn lease_seconds_round_up() {
    assert_eq!(config(15_000, 10_000, 2_000).lease_seconds(), 15);
    assert_eq!(config(2_500, 2_000, 500).lease_seconds(), 3);
}

#[test]
fn identities_differ_per_call_and_start_with_the_host() {
    let (a, b) = (default_identity(), default_identity());
    assert_ne!(a, b, "two processes on one host must not share an identity");
    let host = a.rsplit_once('_').map(|(h, _)| h).unwrap();
    assert!(!host.is_empty() && b.starts_with(host), "{a} {b}");
}
