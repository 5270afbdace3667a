//! Deletion behind the finalizer: `Delete` vs `Retain`, and a deletion blocked by deletion
//! protection that says how to release it.
use std::time::Duration;

use kube::Api;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::json;

use super::EMULATOR;
use super::common::*;
use crate::support::{self, with_operator};

#[tokio::test]
async fn delete_policy_deletes_the_branch_and_retain_keeps_it() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(&api, &branch("gone", json!({"deletionPolicy": "Delete"}))).await;
        apply(&api, &branch("kept", json!({"deletionPolicy": "Retain"}))).await;
        wait_ready(&api, "gone").await;
        wait_ready(&api, "kept").await;
        delete_and_wait(&api, "gone").await;
        delete_and_wait(&api, "kept").await;
        assert!(ps_branch(&emu, "gone").await.is_none(), "Delete deletes");
        assert!(ps_branch(&emu, "kept").await.is_some(), "Retain keeps");
        wait_event(&client, &ns, "gone", "Deleted").await;
        wait_event(&client, &ns, "kept", "Retained").await;
    })
    .await;
}

#[tokio::test]
async fn a_branch_already_deleted_in_planetscale_does_not_hold_up_deletion() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(
            &api,
            &branch("outside", json!({"deletionPolicy": "Delete"})),
        )
        .await;
        wait_ready(&api, "outside").await;
        // Someone deletes the branch in PlanetScale, then the resource.
        planetscale(&emu)
            .delete_branch("acme", "shop", "outside")
            .await
            .expect("delete in PlanetScale");
        assert!(ps_branch(&emu, "outside").await.is_none());
        delete_and_wait(&api, "outside").await;
        let note = wait_event(&client, &ns, "outside", "Deleted").await;
        assert!(note.contains("already deleted"), "{note}");
        assert!(ps_branch(&emu, "outside").await.is_none(), "not made again");
    })
    .await;
}

#[tokio::test]
async fn deletion_protection_blocks_deletion_until_released() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        for name in ["guarded", "unguarded"] {
            apply(&api, &branch(name, json!({"deletionProtected": true}))).await;
        }
        for name in ["guarded", "unguarded"] {
            wait_ready(&api, name).await;
            api.delete(name, &Default::default()).await.unwrap();
        }
        for name in ["guarded", "unguarded"] {
            let o = wait_reason(&api, name, "DeletionBlocked").await;
            assert_says_how_to_release(&o);
            wait_event(&client, &ns, name, "DeletionBlocked").await;
        }
        // Blocked deletions are retried slowly, not in a loop.
        reset_calls(&emu).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(calls(&emu, None, None).await, 0, "{}", emu.stats().await);
        assert!(ps_branch(&emu, "guarded").await.is_some());

        // Released by Retain: the resource goes, the branch stays.
        merge(
            &api,
            "guarded",
            json!({"spec": {"deletionPolicy": "Retain"}}),
        )
        .await;
        support::wait_gone(&api, "guarded", READY).await;
        assert!(ps_branch(&emu, "guarded").await.is_some(), "Retain keeps");
        // Released by turning protection off: the branch is deleted.
        merge(
            &api,
            "unguarded",
            json!({"spec": {"deletionProtected": false}}),
        )
        .await;
        support::wait_gone(&api, "unguarded", READY).await;
        assert!(
            ps_branch(&emu, "unguarded").await.is_none(),
            "unprotected, then deleted"
        );
    })
    .await;
}

/// `DeletionBlocked=True` with the cause and both ways out.
fn assert_says_how_to_release(o: &PlanetScaleBranch) {
    let (status, cause, message) = condition(o, "DeletionBlocked").expect("condition");
    assert_eq!(
        (status.as_str(), cause.as_str()),
        ("True", "DeletionProtected")
    );
    assert!(
        message.contains("set spec.deletionPolicy: Retain"),
        "{message}"
    );
    assert!(
        message.contains("spec.deletionProtected: false"),
        "{message}"
    );
}
