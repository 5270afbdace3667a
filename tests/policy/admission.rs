//! What the API server refuses in a `PlanetScaleAccessPolicy` (dry-run creates: nothing is
//! stored), and that a minimal policy gets the secure defaults.
use kube::Api;
use kube::api::{DynamicObject, PostParams};
use kube::core::ApiResource;
use planetscale_operator::crd::PasswordRole;
use planetscale_operator::crd::PlanetScaleAccessPolicy;
use serde_json::{Value, json};

use crate::support;

// Takes `json!(..)` literals by value so that call sites stay one line each.
#[allow(clippy::needless_pass_by_value)]
fn policy(rules: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScaleAccessPolicy",
        "metadata": {"name": format!("adm-{:08x}", rand::random::<u32>())},
        "spec": {"rules": rules},
    }))
    .expect("deserializes")
}

// Takes `json!(..)` literals by value so that call sites stay one line each.
#[allow(clippy::needless_pass_by_value)]
fn rule(extra: Value) -> Value {
    let mut r = json!({
        "name": "r",
        "namespaces": {"names": ["team-a"]},
        "credentials": {"default": true},
        "organizations": ["acme"],
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            r.as_object_mut().unwrap().remove(k);
        } else {
            r[k] = v.clone();
        }
    }
    r
}

#[tokio::test]
async fn the_api_server_refuses_policies_that_say_nothing_or_too_much() {
    support::install_crds().await;
    let resource = ApiResource::erase::<PlanetScaleAccessPolicy>(&());
    let api: Api<DynamicObject> = Api::all_with(support::client().await, &resource);
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let cases = [
        ("no rules", json!([]), "should have at least 1 items"),
        (
            "no namespaces",
            json!([rule(json!({"namespaces": {}}))]),
            "list namespaces in names or select them",
        ),
        (
            "no credentials",
            json!([rule(json!({"credentials": {}}))]),
            "allow the default credentials",
        ),
        (
            "no organizations",
            json!([rule(json!({"organizations": []}))]),
            "should have at least 1 items",
        ),
        (
            "bad glob",
            json!([rule(json!({"databases": ["Shop/*"]}))]),
            "should match",
        ),
        (
            "bad role",
            json!([rule(json!({"passwordRoles": ["root"]}))]),
            "Unsupported value",
        ),
        (
            "bad rule name",
            json!([rule(json!({"name": "Rule 1"}))]),
            "name must be a DNS label",
        ),
        (
            "same rule name twice",
            json!([rule(json!({})), rule(json!({}))]),
            "rule names must be unique",
        ),
        (
            "bad selector operator",
            json!([rule(
                json!({"namespaces": {"selector": {"matchExpressions": [{"key": "a", "operator": "Like"}]}}})
            )]),
            "Unsupported value",
        ),
    ];
    for (case, rules, expected) in cases {
        let err = api
            .create(&dry, &policy(rules))
            .await
            .err()
            .unwrap_or_else(|| panic!("{case}: accepted"));
        assert!(err.to_string().contains(expected), "{case}: {err}");
    }
    let stored = api
        .create(&dry, &policy(json!([rule(json!({}))])))
        .await
        .expect("a minimal policy is accepted");
    let stored: PlanetScaleAccessPolicy =
        serde_json::from_value(serde_json::to_value(stored).unwrap()).expect("typed");
    let r = &stored.spec.rules[0];
    assert_eq!(r.databases, ["*"]);
    assert_eq!(r.branches, ["*"]);
    assert!(
        !r.password_roles.contains(&PasswordRole::Admin),
        "admin needs listing"
    );
    assert_eq!(
        r.production,
        Default::default(),
        "nothing on production by default"
    );
}
