//! The deploy queue of `main`: an errored deploy blocks it, two requests are served in order.
use serde_json::json;

use crate::helpers::{condition, number, run, table};

#[tokio::test]
async fn errored_deploy_blocks_the_queue_until_its_resource_is_deleted() {
    run(|env| async move {
        env.branch_with("a", &[&table("alpha")]).await;
        env.branch_with("b", &[&table("beta")]).await;
        let a = env.create("a", "a", json!({})).await;
        let a = env
            .wait_state(&a.metadata.name.clone().unwrap(), "ready")
            .await;
        let path = format!(
            "/_emulator/organizations/acme/databases/shop/deploy-requests/{}/error",
            number(&a)
        );
        env.emulator
            .admin_post(&path, json!({"message": "disk quota exceeded"}))
            .await;
        env.patch_spec("a", json!({"deploy": true})).await;
        let a = env.wait_cond("a", "Failed", "True", "DeployFailed").await;
        let failed = condition(&a, "Failed").unwrap().message;
        assert!(
            failed.contains("disk quota exceeded")
                && failed.contains("blocks the deploy queue of main"),
            "{failed}"
        );
        assert_eq!(condition(&a, "Ready").unwrap().reason, "DeployFailed");

        env.create("b", "b", json!({"deploy": true})).await;
        let b = env.wait_cond("b", "Queued", "True", "QueueBlocked").await;
        let blocked = condition(&b, "Queued").unwrap().message;
        assert!(
            blocked.contains(&format!("deploy request #{}", number(&a))),
            "{blocked}"
        );
        assert_eq!(condition(&b, "Ready").unwrap().reason, "QueueBlocked");

        env.delete("a").await;
        assert_eq!(env.ps_dr(number(&a)).await["state"], "closed");
        env.poke("b").await;
        env.wait_cond("b", "Ready", "True", "Deployed").await;
        assert!(env.tables("main").await.contains(&"beta".to_string()));
    })
    .await;
}

#[tokio::test]
async fn two_requests_to_the_same_target_are_served_in_order() {
    run(|env| async move {
        env.branch_with("a", &[&table("alpha")]).await;
        env.branch_with("b", &[&table("beta")]).await;
        env.create("a", "a", json!({})).await;
        env.create("b", "b", json!({})).await;
        env.wait_state("a", "ready").await;
        env.wait_state("b", "ready").await;
        env.emulator_settings(json!({"deploy_step_duration": "10m"}))
            .await;
        env.patch_spec("a", json!({"deploy": true})).await;
        env.wait("a", "deploying", |d| {
            condition(d, "Deploying").is_some_and(|c| c.status == "True")
        })
        .await;
        env.patch_spec("b", json!({"deploy": true})).await;
        let b = env.wait_cond("b", "Queued", "True", "Queued").await;
        assert_eq!(
            b.status.as_ref().unwrap().queue_position,
            Some(2),
            "behind the running deploy"
        );
        env.emulator.advance("2h").await;
        env.poke("a").await;
        env.poke("b").await;
        let a = env.wait_cond("a", "Ready", "True", "Deployed").await;
        let b = env.wait_cond("b", "Ready", "True", "Deployed").await;
        let a_done = a.status.unwrap().finished_at.unwrap().0;
        let b_started = b.status.unwrap().started_at.unwrap().0;
        assert!(
            b_started >= a_done,
            "b started {b_started} before a finished {a_done}"
        );
        let tables = env.tables("main").await;
        assert!(tables.contains(&"alpha".to_string()) && tables.contains(&"beta".to_string()));
    })
    .await;
}
