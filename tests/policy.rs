//! The access policy end to end: the real operator binary against the local control plane
//! and the emulator (organization `acme`, database `shop`, production branch `main`). Each
//! test has a namespace that the tests' own open policy does not serve (`pso-test: policy`)
//! and writes the `PlanetScaleAccessPolicy` it needs, named after the namespace.
//!
//! Also the kstatus conditions: each terminal failure shows `Stalled`, a Ready resource is
//! `Current`, read with kstatus' rules.
//!
//! Needs `make testenv-up` and `cargo build --workspace --bins`.
mod support;

#[path = "policy/admission.rs"]
mod admission;
#[path = "branch/common.rs"]
#[allow(dead_code)] // the branch tests' helpers, not all used here
mod common;
#[path = "policy/kstatus.rs"]
mod kstatus;

use std::future::Future;

use common::*;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::{PlanetScaleAccessPolicy, PlanetScalePassword};
use serde_json::{Value, json};
use support::env::{self, Emulator, Operator};

/// Emulator flags of every test: new branches stay pending for 1 s.
pub const EMULATOR: &[&str] = &["--branch-ready-delay", "1s"];

/// A namespace no policy serves, its credentials Secret, an emulator and an operator; the
/// policy named after the namespace is deleted afterwards.
async fn with_policed_operator<F, Fut>(f: F)
where
    F: FnOnce(Client, String, Emulator, Operator) -> Fut,
    Fut: Future<Output = ()>,
{
    support::install_crds().await;
    let emulator = Emulator::start(EMULATOR).await;
    support::with_temp_ns_labelled("policy", |client, ns| async move {
        let secret = env::CREDENTIALS_SECRET;
        env::create_credentials_secret(client.clone(), &ns, secret, env::TOKEN_ID, env::TOKEN)
            .await;
        let operator = Operator::start(&ns, &emulator, &[]);
        let policies: Api<PlanetScaleAccessPolicy> = Api::all(client.clone());
        let out = std::panic::AssertUnwindSafe(f(client, ns.clone(), emulator, operator));
        let out = futures::FutureExt::catch_unwind(out).await;
        let _ = policies.delete(&ns, &DeleteParams::default()).await;
        if let Err(panic) = out {
            std::panic::resume_unwind(panic);
        }
    })
    .await;
}

/// Writes the policy named `ns` with one rule `r` serving `ns` with the default credentials
/// in organization `acme`, with `extra` merged into the rule.
async fn allow(client: &Client, ns: &str, extra: Value) {
    let mut rule = json!({
        "name": "r",
        "namespaces": {"names": [ns]},
        "credentials": {"default": true},
        "organizations": ["acme"],
    });
    for (k, v) in extra.as_object().expect("object") {
        rule[k] = v.clone();
    }
    let policy: PlanetScaleAccessPolicy = serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScaleAccessPolicy",
        "metadata": {"name": ns},
        "spec": {"rules": [rule]},
    }))
    .expect("policy");
    Api::<PlanetScaleAccessPolicy>::all(client.clone())
        .patch(
            ns,
            &PatchParams::apply("pso-test").force(),
            &Patch::Apply(&policy),
        )
        .await
        .expect("apply the policy");
}

/// The `Ready` message of a branch refused with `PolicyDenied`.
async fn denied(api: &Api<PlanetScaleBranch>, name: &str) -> String {
    let o = wait_reason(api, name, "PolicyDenied").await;
    let (_, _, message) = condition(&o, "Ready").expect("Ready");
    let (stalled, reason, _) = condition(&o, "Stalled").expect("Stalled");
    assert_eq!(
        (stalled.as_str(), reason.as_str()),
        ("True", "PolicyDenied")
    );
    message
}

/// Creates the `PlanetScalePassword` `name` with `spec` (server-side apply).
async fn apply_password(api: &Api<PlanetScalePassword>, name: &str, spec: Value) {
    let password: PlanetScalePassword = serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScalePassword",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("password");
    let pp = PatchParams::apply("pso-test").force();
    api.patch(name, &pp, &Patch::Apply(&password))
        .await
        .expect("create the password");
}

/// The `Ready` message of a password refused with `PolicyDenied`.
async fn password_denied(api: &Api<PlanetScalePassword>, name: &str) -> String {
    let what = "Ready=False reason PolicyDenied";
    let ready = |p: &PlanetScalePassword| {
        let s = p.status.as_ref()?;
        s.conditions.iter().find(|c| c.type_ == "Ready").cloned()
    };
    let o = support::wait_for(api, name, READY, what, |p| {
        ready(p).is_some_and(|c| c.status == "False" && c.reason == "PolicyDenied")
    })
    .await;
    ready(&o).expect("Ready").message
}

#[tokio::test]
async fn a_namespace_no_policy_serves_gets_nothing_until_a_policy_lists_it() {
    with_policed_operator(|client, ns, emu, op| async move {
        let _operator = op;
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(&api, &branch("dev-1", json!({}))).await;
        let message = denied(&api, "dev-1").await;
        assert!(
            message.contains(&format!("no PlanetScaleAccessPolicy allows namespace {ns}")),
            "{message}"
        );
        let note = wait_event(&client, &ns, "dev-1", "PolicyDenied").await;
        assert!(note.contains("no PlanetScaleAccessPolicy"), "{note}");
        assert_eq!(calls(&emu, None, None).await, 0, "{}", emu.stats().await);
        assert!(ps_branch(&emu, "dev-1").await.is_none());

        // The slow retry is 5 minutes: only the policy watch can bring it back this soon.
        allow(&client, &ns, json!({})).await;
        let o = wait_ready(&api, "dev-1").await;
        assert_eq!(condition(&o, "Stalled").unwrap().0, "False");
        assert!(ps_branch(&emu, "dev-1").await.is_some());
        delete_and_wait(&api, "dev-1").await;
    })
    .await;
}

#[tokio::test]
async fn a_role_or_a_database_beyond_the_rule_is_refused_naming_the_rule() {
    with_policed_operator(|client, ns, emu, op| async move {
        let _operator = op;
        allow(&client, &ns, json!({"databases": ["shop"]})).await;
        let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let spec =
            json!({"organization": "acme", "database": "shop", "branch": "main", "role": "admin"});
        apply_password(&passwords, "admin", spec).await;
        let message = password_denied(&passwords, "admin").await;
        let rule = format!("PlanetScaleAccessPolicy {ns} rule r: role admin is not allowed");
        assert!(message.contains(&rule), "{message}");
        let note = wait_event(&client, &ns, "admin", "PolicyDenied").await;
        assert!(note.contains(&rule), "{note}");

        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let other = branch("dev-2", json!({"database": "other"}));
        apply(&api, &other).await;
        let message = denied(&api, "dev-2").await;
        assert!(
            message.contains("database other is not allowed (allowed: shop)"),
            "{message}"
        );
        assert_eq!(calls(&emu, None, None).await, 0, "{}", emu.stats().await);
    })
    .await;
}

#[tokio::test]
async fn production_branch_adoption_and_deletion_need_an_explicit_allowance() {
    with_policed_operator(|client, ns, emu, op| async move {
        let _operator = op;
        allow(&client, &ns, json!({})).await;
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let main = branch("main", json!({"adopt": true}));
        apply(&api, &main).await;
        let message = denied(&api, "main").await;
        assert!(
            message.contains("adopting a production branch is not allowed"),
            "{message}"
        );
        assert_eq!(calls(&emu, Some("update_branch"), None).await, 0);

        allow(&client, &ns, json!({"production": {"adopt": true}})).await;
        let o = wait_ready(&api, "main").await;
        assert_eq!(o.status.and_then(|s| s.adopted), Some(true));

        // Deletion (deletionPolicy Delete) of a production branch is not allowed: blocked.
        api.delete("main", &DeleteParams::default())
            .await
            .expect("delete");
        let what = "DeletionBlocked with PolicyDenied";
        support::wait_for(&api, "main", READY, what, |o| {
            condition(o, "DeletionBlocked").is_some_and(|c| c.0 == "True" && c.1 == "PolicyDenied")
        })
        .await;
        assert!(ps_branch(&emu, "main").await.is_some(), "main still exists");
        assert_eq!(calls(&emu, Some("delete_branch"), None).await, 0);
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn a_tightened_policy_leaves_ready_resources_in_planetscale() {
    with_policed_operator(|client, ns, emu, op| async move {
        let _operator = op;
        allow(&client, &ns, json!({})).await;
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(&api, &branch("dev-3", json!({}))).await;
        wait_ready(&api, "dev-3").await;

        let policies: Api<PlanetScaleAccessPolicy> = Api::all(client.clone());
        policies
            .delete(&ns, &DeleteParams::default())
            .await
            .expect("delete the policy");
        denied(&api, "dev-3").await;
        reset_calls(&emu).await;
        delete_and_wait(&api, "dev-3").await;
        assert!(
            ps_branch(&emu, "dev-3").await.is_some(),
            "left in PlanetScale"
        );
        let events = events(&client, &ns, "dev-3").await;
        let left = events
            .iter()
            .find(|(r, m)| r == "PolicyDenied" && m.contains("left in PlanetScale"));
        assert!(left.is_some(), "{events:?}");
        // Only this test's own look at the branch above: the operator called nothing.
        assert_eq!(calls(&emu, Some("delete_branch"), None).await, 0);
    })
    .await;
}

#[tokio::test]
async fn passwords_on_a_production_branch_need_an_explicit_allowance() {
    with_policed_operator(|client, ns, emu, op| async move {
        let _operator = op;
        allow(&client, &ns, json!({"production": {"adopt": true}})).await;
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let main = branch("main", json!({"adopt": true, "deletionPolicy": "Retain"}));
        apply(&api, &main).await;
        wait_ready(&api, "main").await;

        let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let spec = json!({"branchRef": {"name": "main"}, "role": "reader"});
        apply_password(&passwords, "app", spec).await;
        let message = password_denied(&passwords, "app").await;
        assert!(
            message.contains("passwords on a production branch is not allowed"),
            "{message}"
        );
        assert_eq!(calls(&emu, Some("create_password"), None).await, 0);
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn passwords_naming_a_production_branch_directly_need_the_allowance_too() {
    with_policed_operator(|client, ns, emu, op| async move {
        let _operator = op;
        allow(&client, &ns, json!({})).await;
        let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        // `main` of acme/shop is a production branch: only PlanetScale says so.
        let spec =
            json!({"organization": "acme", "database": "shop", "branch": "main", "role": "reader"});
        apply_password(&passwords, "app", spec).await;
        let message = password_denied(&passwords, "app").await;
        let rule = format!(
            "PlanetScaleAccessPolicy {ns} rule r: passwords on a production branch is not allowed"
        );
        assert!(message.contains(&rule), "{message}");
        assert_eq!(calls(&emu, Some("create_password"), None).await, 0);

        // The allowance wakes the refused password at once (the slow retry is 5 minutes).
        allow(&client, &ns, json!({"production": {"passwords": true}})).await;
        support::wait_for(&passwords, "app", READY, "Ready", |p| {
            p.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
        })
        .await;
        assert_eq!(calls(&emu, Some("create_password"), None).await, 1);
        passwords
            .delete("app", &DeleteParams::default())
            .await
            .expect("delete");
        support::wait_gone(&passwords, "app", READY).await;
    })
    .await;
}
