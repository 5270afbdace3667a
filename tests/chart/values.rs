//! The chart's value sets render what they promise, bad values are refused, every operator
//! flag can be set, and the README documents every value.
use std::collections::BTreeSet;

use serde_json::Value;

use super::render::{self, ValueSet, of_kind, one, strings, value_sets};
use super::support;

#[test]
fn value_sets_render_what_they_promise() {
    let render = |name: &str| {
        value_sets()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap()
            .objects("ops")
    };
    let default = render("default");
    for kind in [
        "PodDisruptionBudget",
        "ServiceMonitor",
        "NetworkPolicy",
        "Secret",
    ] {
        assert!(
            of_kind(&default, kind).is_empty(),
            "default renders a {kind}"
        );
    }
    assert_eq!(env(&default, "PSO_LEADER_ELECT"), "true");
    assert_eq!(env(&default, "PSO_WATCH_NAMESPACES"), "");
    assert_eq!(
        env(&default, "PSO_DEFAULT_CREDENTIALS_SECRET"),
        "planetscale-credentials"
    );

    let ha = render("ha");
    assert_eq!(one(&ha, "Deployment")["spec"]["replicas"], 2);
    assert_eq!(one(&ha, "PodDisruptionBudget")["spec"]["minAvailable"], 1);
    assert_eq!(env(&ha, "PSO_LEASE_DURATION"), "20s");

    let token = render("token-credentials");
    let secret = one(&token, "Secret");
    assert_eq!(decoded(secret, "serviceTokenId"), "example-token-id");
    assert_eq!(
        env(&token, "PSO_DEFAULT_CREDENTIALS_SECRET"),
        secret["metadata"]["name"].as_str().unwrap()
    );

    let oauth = render("oauth-credentials");
    let secret = one(&oauth, "Secret");
    for key in [
        "oauthClientId",
        "oauthClientSecret",
        "accessToken",
        "refreshToken",
        "expiresAt",
    ] {
        assert!(!decoded(secret, key).is_empty(), "OAuth Secret lacks {key}");
    }
    assert_eq!(
        env(&oauth, "PSO_DEFAULT_CREDENTIALS_SECRET"),
        "planetscale-oauth"
    );
    assert_eq!(
        one(&oauth, "Deployment")["spec"]["strategy"]["type"],
        "Recreate",
        "no overlap without a leader"
    );
    assert!(
        of_kind(&oauth, "Role").is_empty(),
        "no Lease access without leader election"
    );

    let monitoring = render("monitoring");
    assert_eq!(
        one(&monitoring, "ServiceMonitor")["spec"]["endpoints"][0]["port"],
        "metrics"
    );
    assert_eq!(
        strings(&one(&monitoring, "NetworkPolicy")["spec"]["policyTypes"]),
        ["Ingress", "Egress"]
    );
    assert_eq!(env(&monitoring, "PSO_NO_DEFAULT_CREDENTIALS"), "true");

    let namespaced = render("namespaced");
    assert_eq!(env(&namespaced, "PSO_WATCH_NAMESPACES"), "team-a,team-b");
    assert_eq!(
        env(&namespaced, "PSO_DEFAULT_CREDENTIALS_NAMESPACES"),
        "team-a"
    );
}

#[test]
fn bad_values_are_refused_with_a_message_that_says_what_to_do() {
    let default = ValueSet::default_set();
    for (flags, want) in [
        (
            vec![
                "--set",
                "replicaCount=2",
                "--set",
                "leaderElection.enabled=false",
            ],
            "needs leaderElection.enabled=true",
        ),
        (
            vec!["--set", "defaultCredentials.create=true"],
            "needs serviceTokenId and serviceToken",
        ),
        (
            vec![
                "--set",
                "defaultCredentials.create=true",
                "--set",
                "defaultCredentials.existingSecret=x",
            ],
            "not both",
        ),
        (vec!["--set", "operator.logFormat=xml"], "logFormat"),
        (
            vec!["--set", "leaderElection.leaseDuration=soon"],
            "leaseDuration",
        ),
        (
            vec!["--set", "watchNamespaces[0]=Not_A_Namespace"],
            "watchNamespaces",
        ),
        (
            vec![
                "--set",
                "metrics.serviceMonitor.enabled=true",
                "--set",
                "metrics.service.enabled=false",
            ],
            "needs metrics.service.enabled",
        ),
        (vec!["--set", "unknownKey=1"], "unknownKey"),
    ] {
        let err = default
            .render("ops", &flags)
            .expect_err(&format!("{flags:?} was accepted"));
        assert!(err.contains(want), "{flags:?}: expected {want:?} in\n{err}");
    }
}

#[test]
fn every_operator_flag_can_be_set_through_the_chart() {
    let help = std::process::Command::new(support::bin_path("planetscale-operator"))
        .args(["run", "--help"])
        .output()
        .expect("run --help");
    let help = String::from_utf8_lossy(&help.stdout);
    let flags: BTreeSet<&str> = help
        .split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next())
        .collect();
    assert!(
        flags.len() >= 20,
        "too few env variables in --help: {flags:?}"
    );
    let mut set_by_chart = BTreeSet::new();
    for set in value_sets() {
        for var in one(&set.objects("ops"), "Deployment")["spec"]["template"]["spec"]["containers"]
            [0]["env"]
            .as_array()
            .expect("env")
        {
            set_by_chart.insert(var["name"].as_str().unwrap().to_owned());
        }
    }
    // The identity is derived from POD_NAME, which the chart sets.
    let missing: Vec<_> = flags
        .iter()
        .filter(|f| **f != "PSO_LEADER_IDENTITY" && !set_by_chart.contains(**f))
        .collect();
    assert!(
        missing.is_empty(),
        "operator flags the chart never sets: {missing:?}"
    );
    assert!(set_by_chart.contains("POD_NAME"));
}

/// The value of environment variable `name` of the operator container.
fn env(objects: &[Value], name: &str) -> String {
    let container = &one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0];
    let vars = container["env"].as_array().expect("env");
    let var = vars
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no env {name}"));
    var["value"]
        .as_str()
        .unwrap_or_else(|| panic!("env {name} has no literal value"))
        .to_owned()
}

/// A Secret's `data[key]`, base64-decoded.
fn decoded(secret: &Value, key: &str) -> String {
    let bytes: k8s_openapi::ByteString = serde_json::from_value(secret["data"][key].clone())
        .unwrap_or_else(|e| panic!("Secret data {key}: {e}"));
    String::from_utf8(bytes.0).expect("utf-8")
}

#[test]
fn the_readme_documents_every_value() {
    let values: Value = serde_norway::from_str(
        &std::fs::read_to_string(render::chart().join("values.yaml")).unwrap(),
    )
    .unwrap();
    let readme = std::fs::read_to_string(render::chart().join("README.md")).unwrap();
    let mut keys = vec![];
    leaf_keys(&values, String::new(), &mut keys);
    assert!(keys.len() > 40, "{keys:?}");
    let missing: Vec<_> = keys
        .iter()
        .filter(|k| !readme.contains(&format!("| `{k}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "values missing from the README table: {missing:?}"
    );
}

/// Dotted paths of every value; non-empty maps are descended into, except `resources`.
fn leaf_keys(v: &Value, prefix: String, out: &mut Vec<String>) {
    match v.as_object() {
        Some(map) if !map.is_empty() && prefix != "resources" => {
            for (k, child) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_keys(child, path, out);
            }
        }
        _ => out.push(prefix),
    }
}
