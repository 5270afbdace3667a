//! Which deploy request: safe migrations on the target, adopting an open request, waiting for
//! a PlanetScaleBranch.
use kube::Api;
use planetscale_api::models::CreateDeployRequest;
use planetscale_operator::crd::PlanetScaleBranch;
use serde_json::json;

use crate::helpers::{condition, number, run, table};

#[tokio::test]
async fn refused_while_the_target_lacks_safe_migrations() {
    run(|env| async move {
        env.ps
            .disable_safe_migrations("acme", "shop", "main")
            .await
            .unwrap();
        env.branch_with("feat", &[&table("invoices")]).await;
        env.create("ship", "feat", json!({})).await;
        let dr = env
            .wait_cond("ship", "Ready", "False", "SafeMigrationsRequired")
            .await;
        let message = condition(&dr, "Ready").unwrap().message;
        assert!(
            message.contains("branch main of acme/shop does not have safe migrations"),
            "{message}"
        );
        assert_eq!(env.calls("create_deploy_request").await, 0);
        env.ps
            .enable_safe_migrations("acme", "shop", "main")
            .await
            .unwrap();
        env.poke("ship").await;
        env.wait_cond("ship", "Ready", "True", "ChecksPassed").await;
    })
    .await;
}

#[tokio::test]
async fn an_open_request_for_the_same_branches_is_adopted() {
    run(|env| async move {
        env.branch_with("feat", &[&table("invoices")]).await;
        let body = CreateDeployRequest::new("feat");
        let existing = env
            .ps
            .create_deploy_request("acme", "shop", &body)
            .await
            .unwrap();
        env.create("ship", "feat", json!({"intoBranch": "main"}))
            .await;
        let dr = env.wait_cond("ship", "Ready", "True", "ChecksPassed").await;
        assert_eq!(number(&dr), existing.number as i64);
        assert_eq!(
            env.calls("create_deploy_request").await,
            1,
            "only the one made by the test"
        );
        assert!(
            env.event_reasons("ship")
                .await
                .contains(&"Adopted".to_string())
        );
    })
    .await;
}

#[tokio::test]
async fn branch_ref_waits_for_the_branch_resource_to_be_ready() {
    run(|env| async move {
        let obj = json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "DeployRequest",
            "metadata": {"name": "pr-1"}, "spec": {"branchRef": {"name": "pr-1"}},
        });
        let obj = serde_json::from_value(obj).unwrap();
        env.api.create(&Default::default(), &obj).await.unwrap();
        let dr = env
            .wait_cond("pr-1", "Ready", "False", "BranchNotReady")
            .await;
        assert!(
            condition(&dr, "Ready")
                .unwrap()
                .message
                .contains("PlanetScaleBranch pr-1")
        );
        assert_eq!(env.calls("create_deploy_request").await, 0);

        let branches: Api<PlanetScaleBranch> = Api::namespaced(env.kube.clone(), &env.ns);
        let branch = json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
            "metadata": {"name": "pr-1"}, "spec": {"organization": "acme", "database": "shop"},
        });
        let branch = serde_json::from_value(branch).unwrap();
        branches.create(&Default::default(), &branch).await.unwrap();
        let dr = env
            .wait("pr-1", "opened", |d| {
                d.status.as_ref().is_some_and(|s| s.number.is_some())
            })
            .await;
        assert_eq!(dr.status.as_ref().unwrap().branch.as_deref(), Some("pr-1"));
        env.add_tables("pr-1", &[&table("invoices")]).await;
        let dr = env.wait_cond("pr-1", "Ready", "True", "ChecksPassed").await;
        assert_eq!(dr.status.unwrap().schema_diff[0].table, "invoices");
        env.delete("pr-1").await;
        branches.delete("pr-1", &Default::default()).await.unwrap();
        crate::support::wait_gone(&branches, "pr-1", crate::helpers::WAIT).await;
    })
    .await;
}

#[tokio::test]
async fn a_request_tracked_by_two_resources_survives_the_deletion_of_one() {
    run(|env| async move {
        // The preview copy opens the request and shows the checks …
        env.branch_with("pr-7", &[&table("invoices")]).await;
        env.create("preview", "pr-7", json!({})).await;
        let preview = env
            .wait_cond("preview", "Ready", "True", "ChecksPassed")
            .await;
        // … the production copy (synced after the merge) adopts it and deploys it …
        env.create(
            "production",
            "pr-7",
            json!({"deploy": true, "autoApply": false}),
        )
        .await;
        let prod = env
            .wait_cond("production", "AwaitingCutover", "True", "AwaitingCutover")
            .await;
        assert_eq!(number(&prod), number(&preview));
        // … and the preview environment going away leaves it alone.
        env.delete("preview").await;
        assert_eq!(env.calls("cancel_deploy_request").await, 0);
        assert_eq!(env.calls("close_deploy_request").await, 0);
        env.patch_spec("production", json!({"cutover": true})).await;
        env.wait_cond("production", "Ready", "True", "Deployed")
            .await;
    })
    .await;
}
