//! Databases that require an approval: a second identity approves, a schema change dismisses
//! the approval.
use serde_json::json;

use crate::helpers::{condition, number, run, table};

const APPROVER: &[&str] = &["approve_deploy_request", "read_deploy_request"];

#[tokio::test]
async fn approval_required_and_given_through_credentials_ref() {
    run(|env| async move {
        env.database_settings(json!({"require_approval_for_deploy": true}))
            .await;
        env.identity("approver", APPROVER).await;
        env.branch_with("feat", &[&table("invoices")]).await;
        env.create("ship", "feat", json!({"deploy": true})).await;
        let dr = env
            .wait_cond("ship", "Ready", "False", "AwaitingApproval")
            .await;
        assert_eq!(
            condition(&dr, "Approved").unwrap().reason,
            "AwaitingApproval"
        );
        assert_eq!(
            env.ps_dr(number(&dr)).await["deployment_state"],
            "ready",
            "not queued unapproved"
        );

        // The operator's own identity cannot approve its own request: shown, not looped.
        let own = json!({"approval": {"credentialsRef": {"name": "planetscale-credentials"}}});
        env.patch_spec("ship", own).await;
        let dr = env
            .wait_cond("ship", "Approved", "False", "ApprovalFailed")
            .await;
        let message = condition(&dr, "Approved").unwrap().message;
        assert!(message.contains("own deploy request"), "{message}");

        env.patch_spec(
            "ship",
            json!({"approval": {"credentialsRef": {"name": "approver"}}}),
        )
        .await;
        let dr = env.wait_cond("ship", "Ready", "True", "Deployed").await;
        assert_eq!(condition(&dr, "Approved").unwrap().reason, "Approved");
        assert!(env.tables("main").await.contains(&"invoices".to_string()));
        let reviews = env
            .ps
            .list_reviews_all("acme", "shop", number(&dr) as u64)
            .await
            .unwrap();
        assert!(
            reviews
                .iter()
                .any(|r| r.state.as_ref().is_some_and(|s| s.as_str() == "approved"))
        );
        assert!(
            env.calls("review_deploy_request").await <= 3,
            "no approval loop"
        );
    })
    .await;
}

#[tokio::test]
async fn approval_reset_by_a_schema_change() {
    run(|env| async move {
        env.database_settings(json!({"require_approval_for_deploy": true}))
            .await;
        let approver = env.identity("approver", APPROVER).await;
        env.branch_with("feat", &[&table("invoices")]).await;
        env.create("review-me", "feat", json!({})).await;
        let dr = env
            .wait_cond("review-me", "Ready", "True", "ChecksPassed")
            .await;
        assert_eq!(
            condition(&dr, "Approved").unwrap().reason,
            "AwaitingApproval"
        );
        let n = number(&dr) as u64;
        approver
            .approve_deploy_request("acme", "shop", n, None)
            .await
            .unwrap();
        env.poke("review-me").await;
        env.wait_cond("review-me", "Approved", "True", "Approved")
            .await;

        env.add_tables("feat", &[&table("refunds")]).await;
        let dr = env
            .wait_cond("review-me", "Approved", "False", "ApprovalReset")
            .await;
        assert!(
            condition(&dr, "Approved")
                .unwrap()
                .message
                .contains("schema of branch feat changed")
        );
        let dr = env.wait_state("review-me", "ready").await;
        assert_eq!(
            condition(&dr, "Approved").unwrap().reason,
            "ApprovalReset",
            "stays until approved again"
        );
        assert_eq!(
            dr.status.as_ref().unwrap().schema_diff.len(),
            2,
            "the checks saw the new table"
        );

        approver
            .approve_deploy_request("acme", "shop", n, None)
            .await
            .unwrap();
        env.poke("review-me").await;
        env.wait_cond("review-me", "Approved", "True", "Approved")
            .await;
    })
    .await;
}
