//! Deleting a DeployRequest in each state: PlanetScale is left tidy and deletion never waits
//! on a deploy in progress.
use serde_json::json;

use crate::helpers::{number, run, table};

#[tokio::test]
async fn deletion_in_each_state() {
    run(|env| async move {
        for name in ["open", "gated", "queued", "done", "running"] {
            env.branch_with(name, &[&table(&format!("t_{name}"))]).await;
        }
        // Open, not started: closed.
        let open = env.create("open", "open", json!({})).await;
        let open = env
            .wait_state(&open.metadata.name.clone().unwrap(), "ready")
            .await;
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
        assert_eq!(
            (ps["state"].as_str(), ps["deployment_state"].as_str()),
            (Some("closed"), Some("cancelled"))
        );
        env.delete("gated").await;
        let ps = env.ps_dr(number(&gated)).await;
        assert!(
            ps["deployment_state"].as_str().unwrap().contains("cancel"),
            "gated deploy cancelled: {ps}"
        );

        // Deployed (revert window open): left as it is.
        env.create("done", "done", json!({"deploy": true})).await;
        let done = env.wait_state("done", "complete_pending_revert").await;
        env.delete("done").await;
        assert_eq!(
            env.ps_dr(number(&done)).await["deployment_state"],
            "complete_pending_revert"
        );

        // Running: left to finish, deletion does not wait for it.
        env.emulator_settings(json!({"deploy_step_duration": "1h"}))
            .await;
        env.create("running", "running", json!({"deploy": true}))
            .await;
        let running = env
            .wait("running", "deploying", |d| {
                crate::helpers::condition(d, "Deploying").is_some_and(|c| c.status == "True")
            })
            .await;
        env.delete("running").await;
        let ps = env.ps_dr(number(&running)).await;
        assert_eq!(
            ps["deployment_state"], "submitting",
            "still running in PlanetScale: {ps}"
        );
    })
    .await
}
