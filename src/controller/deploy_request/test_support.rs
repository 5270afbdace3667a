//! Builders shared by the unit tests of the deploy request controller.
use planetscale_api::models::DeploymentState;

use super::observe::Facts;
use crate::crd::{Approval, BranchTarget, DeployRequestSpec, ManagementPolicy, SecretRef};

/// Spec from flags: deploy, autoApply, cutover, revert, skipRevert, approval, observe.
pub fn spec(flags: &str) -> DeployRequestSpec {
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    DeployRequestSpec {
        target: BranchTarget {
            branch_ref: None,
            database_ref: None,
            organization: Some("acme".into()),
            database: Some("shop".into()),
            branch: Some("feature".into()),
        },
        into_branch: None,
        notes: None,
        auto_apply: !has("gated"),
        auto_delete_branch: false,
        deploy: has("deploy"),
        cutover: has("cutover"),
        revert: has("revert"),
        skip_revert: has("skip"),
        approval: has("approver").then(|| Approval {
            credentials_ref: SecretRef {
                name: "approver".into(),
            },
        }),
        number: None,
        adopt: false,
        management_policy: if has("observe") {
            ManagementPolicy::Observe
        } else {
            ManagementPolicy::Manage
        },
        credentials_ref: None,
    }
}

pub fn facts(state: &str) -> Facts {
    let state = DeploymentState::from(state);
    Facts {
        number: 7,
        branch: "feature".into(),
        into: "main".into(),
        deployable: state == DeploymentState::Ready,
        state,
        open: true,
        approved: false,
        approval_required: false,
        approval_reset: false,
        auto_cutover: true,
        instant: false,
        check_errors: None,
        deploy_errors: None,
        lint_count: 0,
        table_count: 1,
        tables_done: 0,
        queue_position: None,
        queue_blocked: None,
        deployed_at: None,
        html_url: None,
    }
}
