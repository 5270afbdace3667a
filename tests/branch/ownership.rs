//! Who owns a branch: a foreign branch is refused until adopted, and a branch this resource
//! created just before the operator stopped is recognised as its own.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use kube::api::{Patch, PatchParams};
use planetscale_api::models::CreateBranch;
use planetscale_operator::crd::branch::{PlanetScaleBranch, PlanetScaleBranchStatus};
use serde_json::json;

use super::EMULATOR;
use super::common::*;
use crate::support::with_operator;

#[tokio::test]
async fn an_existing_branch_is_refused_then_adopted_with_adopt() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let ps = planetscale(&emu);
        let theirs = ps
            .create_branch("acme", "shop", &CreateBranch::new("legacy"))
            .await
            .unwrap();

        apply(&api, &branch("legacy", json!({}))).await;
        let o = wait_reason(&api, "legacy", "AlreadyExists").await;
        assert!(
            condition(&o, "Ready")
                .unwrap()
                .2
                .contains("spec.adopt: true"),
            "{o:?}"
        );
        wait_event(&client, &ns, "legacy", "AlreadyExists").await;
        // Deleting the refused resource leaves the other owner's branch alone.
        delete_and_wait(&api, "legacy").await;
        let still = ps_branch(&emu, "legacy")
            .await
            .expect("foreign branch kept");
        assert_eq!(still.id, theirs.id);

        apply(&api, &branch("legacy", json!({"adopt": true}))).await;
        let o = wait_ready(&api, "legacy").await;
        let s = o.status.unwrap();
        assert_eq!(
            (s.id.as_deref(), s.adopted),
            (Some(theirs.id.as_str()), Some(true))
        );
        wait_event(&client, &ns, "legacy", "Adopted").await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn a_branch_created_just_before_the_operator_stopped_is_its_own() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        // The state a crash leaves: the intent recorded, the branch created, no id recorded.
        apply(&api, &paused_branch("crashy")).await;
        let intent = PlanetScaleBranchStatus {
            create_requested_at: Some(Time(k8s_openapi::jiff::Timestamp::now())),
            ..Default::default()
        };
        let patch = json!({"apiVersion": "planetscale.operator.dev/v1alpha1",
            "kind": "PlanetScaleBranch", "status": intent});
        let pp = PatchParams::apply("planetscale-operator").force();
        api.patch_status("crashy", &pp, &Patch::Apply(&patch))
            .await
            .unwrap();
        let ps = planetscale(&emu);
        let created = ps
            .create_branch("acme", "shop", &CreateBranch::new("crashy"))
            .await
            .unwrap();

        set_paused(&api, "crashy", false).await;
        let o = wait_ready(&api, "crashy").await;
        let s = o.status.unwrap();
        assert_eq!(s.id.as_deref(), Some(created.id.as_str()));
        assert_eq!(s.adopted, Some(false), "its own branch, not an adopted one");
        assert!(
            s.create_requested_at.is_none(),
            "the intent is cleared once the id is recorded"
        );
        let reasons: Vec<String> = events(&client, &ns, "crashy")
            .await
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert!(!reasons.iter().any(|r| r == "AlreadyExists"), "{reasons:?}");
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn a_refused_create_leaves_no_claim_on_a_branch_made_later() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(&api, &branch("later", json!({"region": "mars-north-1"}))).await;
        wait_reason(&api, "later", "Rejected").await;
        // A second attempt with the same outcome (pausing and resuming retries at once).
        let unpaused_and_rejected = |o: &PlanetScaleBranch| {
            condition(o, "Paused").is_none() && not_ready_because(o, "Rejected")
        };
        set_paused(&api, "later", true).await;
        let paused = |o: &PlanetScaleBranch| condition(o, "Paused").is_some();
        crate::support::wait_for(&api, "later", READY, "Paused", paused).await;
        set_paused(&api, "later", false).await;
        let what = "rejected again";
        let o = crate::support::wait_for(&api, "later", READY, what, unpaused_and_rejected).await;
        assert!(o.status.unwrap().create_requested_at.is_none());

        // Someone else creates a branch of that name: it is not this resource's.
        let ps = planetscale(&emu);
        ps.create_branch("acme", "shop", &CreateBranch::new("later"))
            .await
            .unwrap();
        set_paused(&api, "later", true).await;
        crate::support::wait_for(&api, "later", READY, "Paused", paused).await;
        set_paused(&api, "later", false).await;
        wait_reason(&api, "later", "AlreadyExists").await;
        teardown(&api).await;
    })
    .await;
}
