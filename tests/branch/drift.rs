//! Resync: settings changed outside Kubernetes are put back, a branch deleted outside is
//! created again.
use kube::Api;
use planetscale_api::models::UpdateBranch;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::json;

use super::EMULATOR;
use super::common::*;
use crate::support::{self, with_operator};

/// Resync every 3 s so that drift shows within a test.
const FAST_RESYNC: &[(&str, &str)] = &[("PSO_RESYNC_INTERVAL", "3s")];

#[tokio::test]
async fn settings_changed_outside_are_corrected_on_resync() {
    with_operator(EMULATOR, FAST_RESYNC, |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let spec = json!({"production": true, "safeMigrations": true, "deletionProtected": true});
        apply(&api, &branch("prod-2", spec)).await;
        let o = wait_ready(&api, "prod-2").await;
        let s = o.status.unwrap();
        assert_eq!(
            (s.production, s.safe_migrations, s.deletion_protected),
            (Some(true), Some(true), Some(true))
        );
        wait_event(&client, &ns, "prod-2", "Promoted").await;

        // Someone demotes the branch (which drops safe migrations) and unprotects it.
        let ps = planetscale(&emu);
        ps.demote_branch("acme", "shop", "prod-2").await.unwrap();
        let body = UpdateBranch {
            deletion_protected: Some(false),
            ..Default::default()
        };
        ps.update_branch("acme", "shop", "prod-2", &body)
            .await
            .unwrap();

        support::eventually(READY, "prod-2 back to the spec in PlanetScale", || async {
            let b = ps_branch(&emu, "prod-2").await.unwrap();
            let back = b.production && b.safe_migrations && b.deletion_protected;
            if back { Ok(()) } else { Err(b) }
        })
        .await;
        let note = wait_event(&client, &ns, "prod-2", "DriftCorrected").await;
        assert!(note.contains("outside Kubernetes"), "{note}");

        // A spec change is not drift: demoting on request says Demoted.
        merge(
            &api,
            "prod-2",
            json!({"spec": {"production": false, "safeMigrations": false}}),
        )
        .await;
        wait_event(&client, &ns, "prod-2", "Demoted").await;
        let o = wait_ready(&api, "prod-2").await;
        assert_eq!(o.status.unwrap().production, Some(false));
        assert!(!ps_branch(&emu, "prod-2").await.unwrap().production);
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn a_branch_deleted_outside_kubernetes_is_created_again() {
    with_operator(EMULATOR, FAST_RESYNC, |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(&api, &branch("phoenix", json!({}))).await;
        let first = wait_ready(&api, "phoenix")
            .await
            .status
            .unwrap()
            .id
            .unwrap();

        planetscale(&emu)
            .delete_branch("acme", "shop", "phoenix")
            .await
            .unwrap();
        let note = wait_event(&client, &ns, "phoenix", "Recreated").await;
        assert!(note.contains("deleted outside Kubernetes"), "{note}");
        let what = "Ready with the new branch's id";
        let o = support::wait_for(&api, "phoenix", READY, what, |o| {
            is_ready(o) && o.status.as_ref().and_then(|s| s.id.as_deref()) != Some(first.as_str())
        })
        .await;
        let ps = ps_branch(&emu, "phoenix").await.expect("recreated");
        assert_eq!(o.status.unwrap().id, Some(ps.id));
        teardown(&api).await;
    })
    .await;
}
