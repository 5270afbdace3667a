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
#[path = "chart/values.rs"]
mod values;

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use render::{ValueSet, one, run, strings, text, value_sets};
use serde_json::json;

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
    // Cluster-wide: reading our CRDs (start-up check), watching the access policies
    // (cluster-scoped) and reading a namespace's labels (policy rules select on them).
    for rule in &cluster {
        match rule.resources.as_slice() {
            [r] if r == "customresourcedefinitions" => {
                assert_eq!(rule.verbs, ["get"], "cluster-wide rule: {rule}");
                assert_eq!(
                    rule.resource_names.len(),
                    planetscale_operator::crd::all().len(),
                    "CRD read must be limited to our CRDs: {rule}"
                );
            }
            [r] if r == "planetscaleaccesspolicies" => {
                assert_eq!(rule.verbs, ["list", "watch"], "cluster-wide rule: {rule}");
            }
            [r] if r == "namespaces" => {
                assert_eq!(rule.verbs, ["get"], "cluster-wide rule: {rule}");
            }
            _ => panic!("unexpected cluster-wide rule: {rule}"),
        }
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
    assert_eq!(secrets.verbs, ["get", "list", "watch", "patch"]);
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
    support::wait_established(
        &crds,
        "servicemonitors.monitoring.coreos.com",
        Duration::from_secs(30),
    )
    .await;
}
