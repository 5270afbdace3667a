//! From opening to deployed, gated, reverted: one deploy request through the states.
use serde_json::json;

use crate::helpers::{condition, number, run, table};

#[tokio::test]
async fn open_only_reports_checks_and_the_diff() {
    run(|env| async move {
        env.branch_with("feat", &[&table("invoices")]).await;
        env.create("add-invoices", "feat", json!({"notes": "Add invoices"}))
            .await;
        let dr = env
            .wait_cond("add-invoices", "Ready", "True", "ChecksPassed")
            .await;
        let s = dr.status.clone().unwrap();
        assert_eq!(s.deployment_state.as_deref(), Some("ready"));
        assert_eq!(
            s.into_branch.as_deref(),
            Some("main"),
            "intoBranch defaults to the default branch"
        );
        assert_eq!((s.deployable, s.approved), (Some(true), Some(false)));
        let n = number(&dr);
        assert!(
            s.html_url
                .unwrap()
                .ends_with(&format!("/acme/shop/deploy-requests/{n}"))
        );
        assert_eq!(s.schema_diff.len(), 1, "{:?}", s.schema_diff);
        assert_eq!(
            (
                s.schema_diff[0].table.as_str(),
                s.schema_diff[0].operation.as_str()
            ),
            ("invoices", "CREATE")
        );
        assert!(s.schema_diff[0].ddl.contains("CREATE TABLE"));
        assert_eq!(condition(&dr, "ChecksPassed").unwrap().status, "True");
        assert_eq!(condition(&dr, "Queued").unwrap().reason, "NotQueued");
        assert_eq!(condition(&dr, "Deployed").unwrap().status, "False");
        assert_eq!(
            env.ps_dr(n).await["deployment_state"],
            "ready",
            "deploy: false does not queue"
        );
        assert!(!env.tables("main").await.contains(&"invoices".to_string()));
        assert_eq!(
            env.calls("create_deploy_request").await,
            1,
            "opened exactly once"
        );
        assert!(
            env.event_reasons("add-invoices")
                .await
                .contains(&"Created".to_string())
        );
    })
    .await;
}

#[tokio::test]
async fn lint_errors_fail_the_checks_until_the_schema_is_fixed() {
    run(|env| async move {
        let no_pk =
            "CREATE TABLE `events` (`id` bigint NOT NULL, `kind` varchar(32)) ENGINE=InnoDB";
        env.branch_with("feat", &[no_pk]).await;
        env.create("events", "feat", json!({})).await;
        let dr = env
            .wait_cond("events", "ChecksPassed", "False", "ChecksFailed")
            .await;
        let s = dr.status.clone().unwrap();
        assert_eq!(s.deployment_state.as_deref(), Some("error"));
        assert_eq!(s.lint_errors[0].code, "NO_PRIMARY_KEY");
        assert_eq!(s.lint_errors[0].table.as_deref(), Some("events"));
        let ready = condition(&dr, "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "ChecksFailed")
        );
        assert!(
            ready.message.contains("Fix the schema on branch feat"),
            "{}",
            ready.message
        );
        assert_eq!(condition(&dr, "Failed").unwrap().status, "True");
        // kstatus (Flux, Argo CD, kubectl wait): failed, not in progress, until fixed.
        let stalled = condition(&dr, "Stalled").unwrap();
        assert_eq!(
            (stalled.status.as_str(), stalled.reason.as_str()),
            ("True", "ChecksFailed")
        );
        assert_eq!(condition(&dr, "Reconciling").unwrap().status, "False");
        env.replace_table("feat", "events", &table("events")).await;
        let fixed = env
            .wait_cond("events", "Ready", "True", "ChecksPassed")
            .await;
        assert_eq!(condition(&fixed, "Stalled").unwrap().status, "False");
    })
    .await;
}

#[tokio::test]
async fn no_changes_is_ready_with_nothing_to_deploy() {
    run(|env| async move {
        env.branch_with("same", &[]).await;
        env.create("nothing", "same", json!({"deploy": true})).await;
        let dr = env.wait_cond("nothing", "Ready", "True", "NoChanges").await;
        assert_eq!(
            dr.status.as_ref().unwrap().deployment_state.as_deref(),
            Some("no_changes")
        );
        assert_eq!(condition(&dr, "Deployed").unwrap().reason, "NoChanges");
        assert!(
            condition(&dr, "ChecksPassed")
                .unwrap()
                .message
                .contains("no schema changes against main")
        );
    })
    .await;
}

#[tokio::test]
async fn deploy_with_auto_apply_changes_the_target_and_stops_polling() {
    run(|env| async move {
        env.branch_with("feat", &[&table("invoices")]).await;
        env.create("ship", "feat", json!({"deploy": true})).await;
        let dr = env.wait_cond("ship", "Ready", "True", "Deployed").await;
        let s = dr.status.clone().unwrap();
        assert_eq!(
            s.deployment_state.as_deref(),
            Some("complete_pending_revert")
        );
        assert!(
            env.tables("main").await.contains(&"invoices".to_string()),
            "schema applied"
        );
        assert_eq!(condition(&dr, "RevertWindowOpen").unwrap().status, "True");
        let (deployed, ends) = (s.deployed_at.unwrap().0, s.revert_window_ends_at.unwrap().0);
        assert_eq!(ends.duration_since(deployed).as_secs(), 30 * 60);
        assert!(s.queued_at.is_some() && s.started_at.is_some() && s.finished_at.is_some());
        assert_eq!(s.operations[0].state, "complete");
        env.emulator.advance("31m").await;
        env.poke("ship").await;
        let dr = env
            .wait_cond("ship", "RevertWindowOpen", "False", "RevertWindowClosed")
            .await;
        assert_eq!(
            dr.status.as_ref().unwrap().deployment_state.as_deref(),
            Some("complete")
        );
        assert_eq!(condition(&dr, "Ready").unwrap().status, "True");
        // The status write above wakes one more pass (one read); once that is done nothing
        // may read the deploy request again: a poll every 3 s would show within the 7 s.
        let before = env.settled("get_deploy_request").await;
        tokio::time::sleep(std::time::Duration::from_secs(7)).await;
        assert_eq!(
            env.calls("get_deploy_request").await,
            before,
            "no polling once terminal"
        );
    })
    .await;
}

#[tokio::test]
async fn gated_deploy_waits_for_cutover() {
    run(|env| async move {
        env.branch_with("feat", &[&table("invoices")]).await;
        env.create("gated", "feat", json!({"deploy": true, "autoApply": false}))
            .await;
        let dr = env
            .wait_cond("gated", "AwaitingCutover", "True", "AwaitingCutover")
            .await;
        let ready = condition(&dr, "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "AwaitingCutover")
        );
        assert!(ready.message.contains("set cutover: true"));
        assert!(dr.status.as_ref().unwrap().ready_to_cutover_at.is_some());
        assert!(
            !env.tables("main").await.contains(&"invoices".to_string()),
            "not applied yet"
        );
        env.patch_spec("gated", json!({"cutover": true})).await;
        env.wait_cond("gated", "Ready", "True", "Deployed").await;
        assert!(env.tables("main").await.contains(&"invoices".to_string()));
    })
    .await;
}

#[tokio::test]
async fn revert_inside_the_window_restores_the_schema() {
    run(|env| async move {
        env.branch_with("feat", &[&table("invoices")]).await;
        env.create("ship", "feat", json!({"deploy": true})).await;
        env.wait_cond("ship", "Ready", "True", "Deployed").await;
        env.patch_spec("ship", json!({"revert": true})).await;
        let dr = env.wait_cond("ship", "Ready", "True", "Reverted").await;
        assert_eq!(
            dr.status.as_ref().unwrap().deployment_state.as_deref(),
            Some("complete_revert")
        );
        assert_eq!(condition(&dr, "Deployed").unwrap().reason, "Reverted");
        assert!(
            !env.tables("main").await.contains(&"invoices".to_string()),
            "schema restored"
        );
    })
    .await;
}

#[tokio::test]
async fn revert_outside_the_window_is_refused_without_retrying() {
    run(|env| async move {
        env.branch_with("feat", &[&table("invoices")]).await;
        env.create("ship", "feat", json!({"deploy": true})).await;
        env.wait_cond("ship", "Ready", "True", "Deployed").await;
        env.emulator.advance("31m").await;
        env.poke("ship").await;
        env.wait_state("ship", "complete").await;
        env.patch_spec("ship", json!({"revert": true})).await;
        let dr = env
            .wait_cond("ship", "Ready", "False", "ActionNotAllowed")
            .await;
        let message = condition(&dr, "Ready").unwrap().message;
        assert!(
            message.contains("revert window") && message.contains("Set revert: false"),
            "{message}"
        );
        assert_eq!(condition(&dr, "Deployed").unwrap().status, "True");
        assert_eq!(
            env.calls("complete_revert").await,
            0,
            "no revert call outside the window"
        );
        assert!(env.tables("main").await.contains(&"invoices".to_string()));
    })
    .await;
}

#[tokio::test]
async fn skip_revert_closes_the_window() {
    run(|env| async move {
        env.branch_with("feat", &[&table("invoices")]).await;
        env.create("ship", "feat", json!({"deploy": true, "skipRevert": true}))
            .await;
        let dr = env.wait_state("ship", "complete").await;
        assert_eq!(condition(&dr, "RevertWindowOpen").unwrap().status, "False");
        assert_eq!(condition(&dr, "Ready").unwrap().reason, "Deployed");
        assert_eq!(env.calls("skip_revert_period").await, 1);
        assert!(
            env.event_reasons("ship")
                .await
                .contains(&"RevertSkipped".to_string())
        );
    })
    .await;
}
