//! Which password a pass looks at when the spec names one (`passwordId`).
use serde_json::json;

use super::*;

// Takes `json!(..)` literals by value so that call sites stay one line each.
#[allow(clippy::needless_pass_by_value)]
fn password(spec: serde_json::Value) -> PlanetScalePassword {
    let mut s = json!({"organization": "acme", "database": "shop", "branch": "main"});
    s.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScalePassword",
        "metadata": {"name": "app", "namespace": "ns", "uid": "u1"},
        "spec": s,
    }))
    .unwrap()
}

fn status(id: Option<&str>, observed_only: bool, rotation: i64) -> PlanetScalePasswordStatus {
    PlanetScalePasswordStatus {
        password_id: id.map(str::to_string),
        observed_only: observed_only.then_some(true),
        rotation,
        ..Default::default()
    }
}

#[test]
fn the_named_password_is_looked_at_while_observed_or_to_be_adopted() {
    let observed = password(json!({"passwordId": "pw1", "managementPolicy": "Observe"}));
    let adopt = password(json!({"passwordId": "pw1", "adopt": true}));
    let plain = password(json!({}));
    let cases = [
        (
            "observed, first pass",
            &observed,
            status(None, false, 0),
            Some("pw1"),
        ),
        (
            "observed, later",
            &observed,
            status(Some("pw1"), true, 0),
            Some("pw1"),
        ),
        ("to adopt", &adopt, status(None, false, 0), Some("pw1")),
        (
            "observed, now adopted",
            &adopt,
            status(Some("pw1"), true, 0),
            Some("pw1"),
        ),
        // Recorded as adopted: the ordinary flow replaces it (rotation 0).
        ("adopted", &adopt, status(Some("pw1"), false, 0), None),
        // Replaced already: the resource's own password from then on.
        ("replaced", &adopt, status(Some("k8s-u1-1"), false, 1), None),
        ("no passwordId", &plain, status(None, false, 0), None),
    ];
    for (name, obj, s, want) in cases {
        assert_eq!(claimed_id(obj, &s), want, "{name}");
    }
}
