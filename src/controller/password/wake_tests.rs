//! Which passwords a change of a `PlanetScaleBranch` wakes: those of its namespace that name
//! it in `branchRef` and are not Ready.
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher;
use serde_json::json;

use super::*;

fn password(ns: &str, name: &str, branch_ref: Option<&str>, ready: bool) -> PlanetScalePassword {
    let target = match branch_ref {
        Some(b) => json!({"branchRef": {"name": b}}),
        None => json!({"organization": "acme", "database": "shop", "branch": "main"}),
    };
    let status = if ready { "True" } else { "False" };
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScalePassword",
        "metadata": {"name": name, "namespace": ns},
        "spec": target,
        "status": {"conditions": [{"type": "Ready", "status": status, "reason": "R",
            "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
    }))
    .unwrap()
}

fn branch(ns: &str, name: &str) -> PlanetScaleBranch {
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScaleBranch",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"organization": "acme", "database": "shop", "parentBranch": "main"},
    }))
    .unwrap()
}

#[test]
fn a_branch_wakes_the_waiting_passwords_that_name_it_in_its_namespace() {
    let (store, mut writer) = reflector::store::<PlanetScalePassword>();
    for p in [
        password("a", "waits", Some("feature"), false),
        password("a", "ready", Some("feature"), true),
        password("a", "other-branch", Some("other"), false),
        password("b", "other-namespace", Some("feature"), false),
        password("a", "explicit", None, false),
    ] {
        writer.apply_watcher_event(&watcher::Event::Apply(p));
    }
    let woken = waiting_on(&store, &branch("a", "feature"));
    assert_eq!(woken, vec![ObjectRef::new("waits").within("a")]);
    assert!(waiting_on(&store, &branch("c", "feature")).is_empty());
}
