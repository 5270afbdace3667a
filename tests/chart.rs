//! The Helm chart: `helm lint`, `helm template` with the default values and every `ci/` value
//! set, each applied with a server-side dry run against the local control plane; and the
//! security promises a platform team checks: non-root with a read-only root filesystem, and
//! RBAC without wildcards that grants only the verbs the operator uses.
//!
//! Needs helm and kubectl from `make testenv-build`; the dry-run test needs the control plane.
mod support;

#[path = "chart/rbac.rs"]
mod rbac;
#[path = "chart/render.rs"]
mod render;

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use render::{ValueSet, of_kind, one, run, strings, text, value_sets};
use serde_json::{Value, json};

#[test]
fn helm_lint_passes_for_every_value_set() {
    for set in value_sets() {
        let mut args = vec![
            "lint".to_string(),
            render::chart().display().to_string(),
            "--strict".into(),
        ];
        if let Some(file) = set.file {
            args.extend([
                "-f".into(),
                render::chart().join("ci").join(file).display().to_string(),
            ]);
        }
        let out = run("helm", &args, None);
        assert!(
            out.status.success(),
            "helm lint ({}) failed\n{}",
            set.name,
            text(&out)
        );
    }
}

#[tokio::test]
async fn every_value_set_applies_with_a_server_side_dry_run() {
    ensure_service_monitor_crd().await;
    support::with_temp_ns(|client, ns| async move {
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let restricted = json!({"metadata": {"labels": {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted"}}});
        namespaces
            .patch(&ns, &PatchParams::default(), &Patch::Merge(&restricted))
            .await
            .expect("label ns");
        let other = format!("{ns}-b");
        let meta = json!({"metadata": {"name": other, "labels": {"pso-test": "true"}}});
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(meta).unwrap(),
            )
            .await
            .expect("second ns");

        for mut set in value_sets() {
            if set.name == "namespaced" {
                set.flags.extend([
                    "--set-json".into(),
                    format!(r#"watchNamespaces=["{ns}","{other}"]"#),
                ]);
            }
            let yaml = set
                .render(&ns, &["--include-crds"])
                .unwrap_or_else(|e| panic!("{}: {e}", set.name));
            let args = [
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=pso-chart-test",
                "--dry-run=server",
                "-f",
                "-",
            ];
            let out = run("kubectl", &args.map(String::from), Some(&yaml));
            assert!(
                out.status.success(),
                "{}: dry-run apply refused\n{}",
                set.name,
                text(&out)
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !stderr.contains("PodSecurity"),
                "{}: Pod Security warnings\n{stderr}",
                set.name
            );
            println!(
                "{}: {} objects accepted",
                set.name,
                render::parse(&yaml).len()
            );

            // The pod itself, in a namespace that enforces the `restricted` Pod Security level.
            let deployment = one(&render::parse(&yaml), "Deployment").clone();
            let pod: Pod = serde_json::from_value(json!({
                "metadata": {"name": "pso-restricted-check"},
                "spec": deployment["spec"]["template"]["spec"],
            }))
            .expect("pod spec");
            let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
            let dry = PostParams {
                dry_run: true,
                ..PostParams::default()
            };
            if let Err(e) = pods.create(&dry, &pod).await {
                panic!(
                    "{}: the operator pod violates Pod Security `restricted`: {e}",
                    set.name
                );
            }
        }
        let _ = namespaces.delete(&other, &DeleteParams::default()).await;
    })
    .await;
}

#[test]
fn the_operator_runs_as_non_root_with_a_read_only_root_filesystem() {
    for set in value_sets() {
        let objects = set.objects("ops");
        let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let sc = &container["securityContext"];
        let who = set.name;
        assert_eq!(
            pod["securityContext"]["runAsNonRoot"], true,
            "{who}: pod runAsNonRoot"
        );
        assert_eq!(sc["runAsNonRoot"], true, "{who}: container runAsNonRoot");
        assert!(
            sc["runAsUser"].as_u64().is_some_and(|uid| uid > 0),
            "{who}: runAsUser {}",
            sc["runAsUser"]
        );
        assert_eq!(
            sc["readOnlyRootFilesystem"], true,
            "{who}: readOnlyRootFilesystem"
        );
        assert_eq!(
            sc["allowPrivilegeEscalation"], false,
            "{who}: allowPrivilegeEscalation"
        );
        assert_eq!(
            strings(&sc["capabilities"]["drop"]),
            ["ALL"],
            "{who}: capabilities"
        );
        assert_eq!(
            sc["seccompProfile"]["type"], "RuntimeDefault",
            "{who}: seccomp"
        );
        for kind in ["requests", "limits"] {
            for res in ["cpu", "memory"] {
                assert!(
                    container["resources"][kind][res].is_string(),
                    "{who}: resources.{kind}.{res}"
                );
            }
        }
        assert_eq!(
            container["livenessProbe"]["httpGet"]["path"], "/healthz",
            "{who}"
        );
        assert_eq!(
            container["readinessProbe"]["httpGet"]["path"], "/readyz",
            "{who}"
        );
    }
}

#[test]
fn rbac_has_no_wildcards_and_grants_only_the_verbs_the_operator_uses() {
    for set in value_sets() {
        let objects = set.objects("ops");
        let rules = rbac::rules(&objects);
        assert!(!rules.is_empty(), "{}: no RBAC rules", set.name);
        for rule in &rules {
            println!("{}: {rule}", set.name);
            rule.assert_allowed(set.name);
        }
    }
    // The default install grants everything the operator needs.
    let granted = rbac::grants(&rbac::rules(&ValueSet::default_set().objects("ops")));
    for need in rbac::needed() {
        assert!(granted.contains(&need), "default install lacks {need:?}");
    }
}

#[test]
fn namespaced_mode_grants_nothing_outside_the_watched_namespaces() {
    let set = value_sets()
        .into_iter()
        .find(|s| s.name == "namespaced")
        .unwrap();
    let rules = rbac::rules(&set.objects("ops"));
    let cluster: Vec<_> = rules.iter().filter(|r| r.namespace.is_none()).collect();
    for rule in &cluster {
        assert_eq!(
            rule.resources,
            ["customresourcedefinitions"],
            "cluster-wide rule: {rule}"
        );
        assert_eq!(rule.verbs, ["get"], "cluster-wide rule: {rule}");
        assert_eq!(
            rule.resource_names.len(),
            3,
            "CRD read must be limited to our CRDs: {rule}"
        );
    }
    let namespaces: BTreeSet<_> = rules
        .iter()
        .filter_map(|r| r.namespace.as_deref())
        .collect();
    assert_eq!(namespaces, BTreeSet::from(["ops", "team-a", "team-b"]));
    let own: Vec<_> = rules
        .iter()
        .filter(|r| r.namespace.as_deref() == Some("ops"))
        .collect();
    let secrets = own
        .iter()
        .find(|r| r.resources == ["secrets"])
        .expect("default credentials access");
    assert_eq!(
        secrets.resource_names,
        ["planetscale-token"],
        "only the default credentials Secret"
    );
    assert_eq!(secrets.verbs, ["get", "patch"]);
}

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

/// Installs a minimal ServiceMonitor CRD (schema-less) unless one exists, so that the chart's
/// ServiceMonitor can be dry-run applied without the Prometheus Operator.
async fn ensure_service_monitor_crd() {
    let crds: Api<CustomResourceDefinition> = Api::all(support::client().await);
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {"kind": "ServiceMonitor", "plural": "servicemonitors", "singular": "servicemonitor", "listKind": "ServiceMonitorList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    }))
    .expect("CRD");
    match crds.create(&PostParams::default(), &crd).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("create ServiceMonitor CRD: {e}"),
    }
    support::wait_for(
        &crds,
        "servicemonitors.monitoring.coreos.com",
        Duration::from_secs(30),
        "Established",
        |c| {
            c.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                })
        },
    )
    .await;
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
