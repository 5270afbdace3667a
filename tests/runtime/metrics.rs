//! `/metrics` after real reconciles: every series of docs/metrics.md, with sensible values.
use std::collections::BTreeMap;

use kube::Api;
use planetscale_operator::crd::PlanetScaleBranch;
use serde_json::json;

use crate::flows;
use crate::support::scrape::{Sample, Scrape};
use crate::support::{self, with_operator};

const P: &str = "planetscale_operator";
const CONTROLLERS: [&str; 3] = ["branch", "password", "deploy_request"];

#[tokio::test]
async fn metrics_after_a_branch_a_password_and_a_deploy_request() {
    // A small API budget (2 requests/s, a burst of 2), so that requests wait for it.
    let env = [("PSO_API_RATE_LIMIT", "120")];
    with_operator(
        flows::EMULATOR_ARGS,
        &env,
        |client, ns, emu, op| async move {
            // PlanetScale throttles the first branch create (429): the client retries it.
            let once =
                json!({"operation": "create_branch", "status": 429, "retry_after": 1, "count": 1});
            emu.admin_post("/_emulator/faults", once).await;
            flows::run_all(&client, &ns, &emu, "m").await;
            // One resource that fails: its credentials Secret does not exist.
            let mut broken = flows::branch("m-broken");
            broken.spec.credentials_ref =
                Some(serde_json::from_value(json!({"name": "no-such-secret"})).unwrap());
            flows::apply(&client, &ns, &broken).await;
            let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
            let failed =
                support::wait_for(&branches, "m-broken", flows::WAIT, "Ready=False", |b| {
                    b.status
                        .iter()
                        .flat_map(|s| &s.conditions)
                        .any(|c| c.type_ == "Ready" && c.status == "False")
                })
                .await;
            let status = failed.status.unwrap();
            let reason = status
                .conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .unwrap()
                .reason
                .clone();

            let m = op.metrics().await;
            reconciles_and_failures(&m, &reason);
            for c in CONTROLLERS {
                let name = format!("{P}_reconcile_duration_seconds");
                let (count, sum) = histogram(&m, &name, &[("controller", c)]);
                assert!(
                    count >= 1.0 && sum > 0.0,
                    "{c}: {count} reconciles took {sum}s"
                );
            }
            api_requests_match_the_emulator(&m, &emu.stats().await);
            let retries = m.find(
                &format!("{P}_api_retries_total"),
                &[("operation", "create_branch")],
            );
            assert_eq!(retries.len(), 1, "the retried create: {retries:?}");
            assert_eq!(retries[0].labels["reason"], "RateLimited", "{retries:?}");
            assert_eq!(retries[0].value, 1.0, "{retries:?}");
            for result in ["success", "failure"] {
                let refreshes = m.value(
                    &format!("{P}_api_token_refreshes_total"),
                    &[("result", result)],
                );
                assert_eq!(refreshes, Some(0.0), "a service token is never refreshed");
            }
            let wait = histogram(&m, &format!("{P}_api_rate_limit_wait_seconds"), &[]);
            assert!(
                wait.0 >= 1.0 && wait.1 > 0.0,
                "no request waited for a 2/s budget: {wait:?}"
            );
            for (kind, ready, want) in [
                ("PlanetScaleBranch", "True", 1.0),
                ("PlanetScaleBranch", "False", 1.0),
                ("PlanetScaleBranch", "Unknown", 0.0),
                ("PlanetScalePassword", "True", 1.0),
                ("DeployRequest", "True", 1.0),
                ("DeployRequest", "False", 0.0),
            ] {
                let got = m.value(
                    &format!("{P}_resources"),
                    &[("kind", kind), ("ready", ready)],
                );
                assert_eq!(got, Some(want), "resources{{kind={kind},ready={ready}}}");
            }
            assert_eq!(
                m.value(&format!("{P}_leader"), &[]),
                Some(1.0),
                "leader election is off"
            );
            for (family, kind) in [
                ("reconciles", "counter"),
                ("reconcile_failures", "counter"),
                ("reconcile_duration_seconds", "histogram"),
                ("api_requests", "counter"),
                ("api_request_duration_seconds", "histogram"),
                ("api_retries", "counter"),
                ("api_rate_limit_wait_seconds", "histogram"),
                ("api_token_refreshes", "counter"),
                ("resources", "gauge"),
                ("leader", "gauge"),
            ] {
                let family = format!("{P}_{family}");
                assert_eq!(
                    m.types.get(&family).map(String::as_str),
                    Some(kind),
                    "# TYPE of {family}"
                );
            }
            println!(
                "{} samples; failures by reason: {:?}",
                m.samples.len(),
                m.label_values(&format!("{P}_reconcile_failures_total"), "reason")
            );
            flows::delete_all(&client, &ns).await;
        },
    )
    .await;
}

/// Reconciles of every controller; the broken branch's failures under its condition's reason;
/// every reason a stable CamelCase word (never an error text).
fn reconciles_and_failures(m: &Scrape, reason: &str) {
    for c in CONTROLLERS {
        let n = m.value(&format!("{P}_reconciles_total"), &[("controller", c)]);
        assert!(
            n.is_some_and(|n| n >= 1.0),
            "reconciles_total{{controller={c}}}: {n:?}"
        );
    }
    let failures = format!("{P}_reconcile_failures_total");
    let n = m.value(&failures, &[("controller", "branch"), ("reason", reason)]);
    assert!(
        n.is_some_and(|n| n >= 1.0),
        "no branch failure with reason {reason}: {:?}",
        m.find(&failures, &[])
    );
    for s in m.find(&failures, &[]) {
        let r = &s.labels["reason"];
        let camel = r.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && r.chars().all(|c| c.is_ascii_alphanumeric());
        assert!(camel, "reason label {r:?} is not a stable reason");
        assert!(
            CONTROLLERS.contains(&s.labels["controller"].as_str()),
            "{s:?}"
        );
    }
}

/// A histogram's (count, sum), after checking its buckets: non-decreasing, `+Inf` = count.
fn histogram(m: &Scrape, name: &str, labels: &[(&str, &str)]) -> (f64, f64) {
    let count = m
        .value(&format!("{name}_count"), labels)
        .unwrap_or_else(|| panic!("no {name}_count{labels:?}"));
    let sum = m
        .value(&format!("{name}_sum"), labels)
        .unwrap_or_else(|| panic!("no {name}_sum{labels:?}"));
    let mut buckets: Vec<&Sample> = m.find(&format!("{name}_bucket"), labels);
    buckets.sort_by(|a, b| le(a).total_cmp(&le(b)));
    assert!(buckets.len() >= 2, "{name}: buckets {buckets:?}");
    assert!(
        buckets.windows(2).all(|w| w[0].value <= w[1].value),
        "{name}: buckets decrease: {buckets:?}"
    );
    assert_eq!(le(buckets.last().unwrap()), f64::INFINITY);
    assert_eq!(
        buckets.last().unwrap().value,
        count,
        "{name}: +Inf bucket != count"
    );
    assert!(sum >= 0.0, "{name}{labels:?}: sum {sum}");
    (count, sum)
}

fn le(s: &Sample) -> f64 {
    match s.labels["le"].as_str() {
        "+Inf" => f64::INFINITY,
        v => v.parse().unwrap(),
    }
}

/// The creates the operator counted, by status, equal what the emulator answered; every
/// request has a duration observation.
fn api_requests_match_the_emulator(m: &Scrape, stats: &serde_json::Value) {
    let requests = format!("{P}_api_requests_total");
    for op in ["create_branch", "create_password", "create_deploy_request"] {
        let ours: BTreeMap<String, f64> = m
            .find(&requests, &[("operation", op)])
            .iter()
            .map(|s| (s.labels["status"].clone(), s.value))
            .collect();
        let theirs: BTreeMap<String, f64> = stats["operations"][op]["by_status"]
            .as_object()
            .unwrap_or_else(|| panic!("the emulator saw no {op}: {stats}"))
            .iter()
            .map(|(s, n)| (s.clone(), n.as_f64().unwrap()))
            .collect();
        assert_eq!(
            ours, theirs,
            "{op}: operator's count by status vs the emulator's"
        );
        let total: f64 = ours.values().sum();
        let (count, _) = histogram(
            m,
            &format!("{P}_api_request_duration_seconds"),
            &[("operation", op)],
        );
        assert_eq!(count, total, "{op}: one duration per request");
    }
    for s in m.find(&requests, &[]) {
        let status = &s.labels["status"];
        let known = status.parse::<u16>().is_ok() || status == "timeout" || status == "transport";
        assert!(known, "status label {status:?}");
    }
}

#[test]
fn the_metrics_parser_reads_labels_escapes_and_special_values() {
    let s = Scrape::parse(
        "# HELP x_total Things.\n# TYPE x counter\nx_total{a=\"1\",b=\"q\\\"uo\\\\te\"} 3\n\
         h_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nup 1\n# EOF\n",
    );
    assert_eq!(s.types["x"], "counter");
    assert_eq!(
        s.value("x_total", &[("a", "1"), ("b", "q\"uo\\te")]),
        Some(3.0)
    );
    assert_eq!(s.value("h_bucket", &[("le", "+Inf")]), Some(2.0));
    assert_eq!(s.value("h_sum", &[]), Some(0.5));
    assert_eq!(s.sum("up", &[]), 1.0);
}
