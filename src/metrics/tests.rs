//! Unit tests of the metrics registry: encode it and check the series a scraper sees.
use super::*;

fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
}

#[test]
fn reconciles_failures_and_durations_are_counted_by_controller() {
    let m = Metrics::new();
    {
        let _t = m.reconcile_started("branch");
        m.reconcile_failed("branch", "Unauthorized");
    }
    drop(m.reconcile_started("branch"));
    let text = m.encode();
    assert_eq!(
        line(&text, "planetscale_operator_reconciles_total{"),
        r#"planetscale_operator_reconciles_total{controller="branch"} 2"#
    );
    assert_eq!(
        line(&text, "planetscale_operator_reconcile_failures_total{"),
        r#"planetscale_operator_reconcile_failures_total{controller="branch",reason="Unauthorized"} 1"#
    );
    assert_eq!(
        line(
            &text,
            "planetscale_operator_reconcile_duration_seconds_count{"
        ),
        r#"planetscale_operator_reconcile_duration_seconds_count{controller="branch"} 2"#
    );
    assert!(text.contains(r#"planetscale_operator_reconcile_duration_seconds_bucket{le="+Inf",controller="branch"} 2"#), "{text}");
}

#[test]
fn api_requests_retries_and_waits_are_counted() {
    let m = Metrics::new();
    m.observe_api_request("create_password", "201", Duration::from_millis(30));
    m.observe_api_request("create_password", "429", Duration::from_millis(5));
    m.observe_api_request("create_password", "429", Duration::from_millis(5));
    m.observe_api_retry("create_password", "RateLimited");
    m.observe_rate_limit_wait(Duration::from_millis(250));
    m.observe_token_refresh(false);
    let text = m.encode();
    for want in [
        r#"planetscale_operator_api_requests_total{operation="create_password",status="201"} 1"#,
        r#"planetscale_operator_api_requests_total{operation="create_password",status="429"} 2"#,
        r#"planetscale_operator_api_request_duration_seconds_count{operation="create_password"} 3"#,
        r#"planetscale_operator_api_retries_total{operation="create_password",reason="RateLimited"} 1"#,
        "planetscale_operator_api_rate_limit_wait_seconds_count 1",
        "planetscale_operator_api_rate_limit_wait_seconds_sum 0.25",
        r#"planetscale_operator_api_token_refreshes_total{result="failure"} 1"#,
    ] {
        assert!(
            text.lines().any(|l| l == want),
            "missing {want:?} in:\n{text}"
        );
    }
}

#[test]
fn resources_by_ready_status_and_leader_are_gauges() {
    let m = Metrics::new();
    m.set_resources(
        "PlanetScalePassword",
        ReadyCounts {
            ready: 3,
            not_ready: 1,
            unknown: 0,
        },
    );
    m.set_leader(true);
    let text = m.encode();
    assert!(
        text.contains("# TYPE planetscale_operator_resources gauge"),
        "{text}"
    );
    for want in [
        r#"planetscale_operator_resources{kind="PlanetScalePassword",ready="True"} 3"#,
        r#"planetscale_operator_resources{kind="PlanetScalePassword",ready="False"} 1"#,
        r#"planetscale_operator_resources{kind="PlanetScalePassword",ready="Unknown"} 0"#,
        "planetscale_operator_leader 1",
    ] {
        assert!(
            text.lines().any(|l| l == want),
            "missing {want:?} in:\n{text}"
        );
    }
    m.set_leader(false);
    assert!(
        m.encode()
            .lines()
            .any(|l| l == "planetscale_operator_leader 0")
    );
}

#[test]
fn every_family_has_its_type_once_used() {
    let m = Metrics::new();
    drop(m.reconcile_started("password"));
    m.reconcile_failed("password", "SecretConflict");
    m.observe_api_request("get_branch", "200", Duration::ZERO);
    m.observe_api_retry("get_branch", "Timeout");
    m.observe_token_refresh(true);
    m.set_resources("PlanetScaleBranch", ReadyCounts::default());
    let text = m.encode();
    for family in [
        "reconciles counter",
        "reconcile_failures counter",
        "reconcile_duration_seconds histogram",
        "api_requests counter",
        "api_request_duration_seconds histogram",
        "api_retries counter",
        "api_rate_limit_wait_seconds histogram",
        "api_token_refreshes counter",
        "resources gauge",
        "leader gauge",
    ] {
        let want = format!("# TYPE {PREFIX}_{family}");
        assert!(
            text.lines().any(|l| l == want),
            "missing {want:?} in:\n{text}"
        );
    }
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics output must end with # EOF:\n{text}"
    );
}

#[test]
fn the_api_client_observer_feeds_the_same_series() {
    let m = std::sync::Arc::new(Metrics::new());
    let observer: std::sync::Arc<dyn planetscale_api::Observer> = m.clone();
    observer.request("list_branches", "503", Duration::from_millis(3));
    observer.throttled("list_branches", Duration::from_secs(2));
    observer.retry("list_branches", "ServerError");
    observer.token_refresh(true);
    let text = m.encode();
    for want in [
        r#"planetscale_operator_api_requests_total{operation="list_branches",status="503"} 1"#,
        "planetscale_operator_api_rate_limit_wait_seconds_sum 2.0",
        r#"planetscale_operator_api_retries_total{operation="list_branches",reason="ServerError"} 1"#,
        r#"planetscale_operator_api_token_refreshes_total{result="success"} 1"#,
    ] {
        assert!(
            text.lines().any(|l| l == want),
            "missing {want:?} in:\n{text}"
        );
    }
}
