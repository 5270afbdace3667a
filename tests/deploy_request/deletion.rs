//! Deleting a DeployRequest in each state: PlanetScale is left tidy and deletion never waits
//! on a deploy in progress.
use std::time::Duration;

use serde_json::json;

use crate::helpers::{condition, number, run, table};

#[tokio::test]
async fn deleting_open_queued_and_gated_requests_closes_or_cancels_them() {
    run(|env| async move {
        for name in ["open", "gated", "queued"] {
            env.branch_with(name, &[&table(&format!("t_{name}"))]).await;
        }
        // Open, not started: closed.
        env.create("open", "open", json!({})).await;
        let open = env.wait_state("open", "ready").await;
        env.delete("open").await;
        assert_eq!(env.ps_dr(number(&open)).await["state"], "closed");

        // A gated deploy holds the queue; a second one waits queued behind it.
        env.create(
            "gated",
            "gated",
            json!({"deploy": true, "autoApply": false}),
        )
        .await;
        let gated = env.wait_state("gated", "pending_cutover").await;
        env.create("queued", "queued", json!({"deploy": true}))
            .await;
        let queued = env.wait_state("queued", "queued").await;
        env.delete("queued").await;
        let ps = env.ps_dr(number(&queued)).await;
        let states = (ps["state"].as_str(), ps["deployment_state"].as_str());
        assert_eq!(states, (Some("closed"), Some("cancelled")), "{ps}");
        env.delete("gated").await;
        let ps = env.ps_dr(number(&gated)).await;
        let state = ps["deployment_state"].as_str().unwrap();
        assert!(state.contains("cancel"), "gated deploy cancelled: {ps}");
    })
    .await;
}

#[tokio::test]
async fn deleting_deployed_or_running_requests_leaves_them_and_does_not_wait() {
    run(|env| async move {
        for name in ["done", "running"] {
            env.branch_with(name, &[&table(&format!("t_{name}"))]).await;
        }
        // Deployed (revert window open): left as it is.
        env.create("done", "done", json!({"deploy": true})).await;
        let done = env.wait_state("done", "complete_pending_revert").await;
        env.delete("done").await;
        let ps = env.ps_dr(number(&done)).await;
        assert_eq!(ps["deployment_state"], "complete_pending_revert");

        // Running: left to finish, deletion does not wait for it.
        env.emulator_settings(json!({"deploy_step_duration": "1h"}))
            .await;
        env.create("running", "running", json!({"deploy": true}))
            .await;
        let running = env
            .wait("running", "deploying", |d| {
                condition(d, "Deploying").is_some_and(|c| c.status == "True")
            })
            .await;
        env.delete("running").await;
        let ps = env.ps_dr(number(&running)).await;
        assert_eq!(ps["deployment_state"], "submitting", "still running: {ps}");
        // `kubectl get events` tells the user it was left to finish (events outlive the object).
        let want = format!(
            "deploy request #{} is deploying; it is left to finish",
            number(&running)
        );
        crate::support::eventually(Duration::from_secs(10), "a Cleanup event", || async {
            let seen = env.events("running").await;
            let found = seen
                .iter()
                .any(|(r, m)| r == "Cleanup" && m.contains(&want));
            if found { Ok(()) } else { Err(seen) }
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn deletion_does_not_hang_when_the_credentials_are_gone() {
    run(|env| async move {
        env.branch_with("feat", &[&table("invoices")]).await;
        let dr = env.create("orphan", "feat", json!({})).await;
        let dr = env
            .wait_state(&dr.metadata.name.clone().unwrap(), "ready")
            .await;
        let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
            kube::Api::namespaced(env.kube.clone(), &env.ns);
        secrets
            .delete("planetscale-credentials", &Default::default())
            .await
            .unwrap();
        env.delete("orphan").await;
        assert_eq!(
            env.ps_dr(number(&dr)).await["state"],
            "open",
            "could not be closed"
        );
        assert!(
            env.event_reasons("orphan")
                .await
                .contains(&"CredentialsNotFound".to_string())
        );
    })
    .await;
}

#[tokio::test]
async fn a_paused_request_is_left_alone_until_resumed() {
    run(|env| async move {
        env.branch_with("feat", &[&table("invoices")]).await;
        let obj = json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "DeployRequest",
            "metadata": {"name": "held", "annotations": {"planetscale.operator.dev/paused": "true"}},
            "spec": {"organization": "acme", "database": "shop", "branch": "feat", "deploy": true},
        });
        env.api.create(&Default::default(), &serde_json::from_value(obj).unwrap()).await.unwrap();
        env.wait_cond("held", "Paused", "True", "Paused").await;
        assert_eq!(env.calls("create_deploy_request").await, 0);
        let resume = json!({"metadata": {"annotations": {"planetscale.operator.dev/paused": null}}});
        env.api.patch("held", &Default::default(), &kube::api::Patch::Merge(&resume)).await.unwrap();
        let dr = env.wait_cond("held", "Ready", "True", "Deployed").await;
        assert!(condition(&dr, "Paused").is_none(), "Paused goes on resume");
    })
    .await;
}
