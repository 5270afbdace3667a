//! Invalid `DeployRequest` manifests. Base: organization acme, database shop, branch
//! feature-x, intoBranch main.
use serde_json::json;

use crate::case::{Case, Kind::DeployRequest, bad, bad_update};

pub fn cases() -> Vec<Case> {
    let long_notes = "n".repeat(10_001);
    vec![
        bad(
            DeployRequest,
            "no source branch",
            json!({"organization": null, "database": null, "branch": null}),
            &[
                "set the source branch: either branchRef, or organization, database and branch together",
            ],
        ),
        bad(
            DeployRequest,
            "branchRef and explicit source",
            json!({"branchRef": {"name": "pr-1"}}),
            &["branchRef cannot be combined with organization, database or branch"],
        ),
        bad(
            DeployRequest,
            "explicit source without database",
            json!({"database": null}),
            &["set the source branch"],
        ),
        bad(
            DeployRequest,
            "intoBranch equal to branch",
            json!({"intoBranch": "feature-x"}),
            &["spec.intoBranch", "intoBranch must differ from branch"],
        ),
        bad(
            DeployRequest,
            "intoBranch with a space",
            json!({"intoBranch": "Main Branch"}),
            &["spec.intoBranch", "intoBranch must be a PlanetScale name"],
        ),
        bad(
            DeployRequest,
            "branch of 64 characters",
            json!({"branch": "b".repeat(64)}),
            &["spec.branch", "Too long"],
        ),
        bad(
            DeployRequest,
            "revert and skipRevert together",
            json!({"revert": true, "skipRevert": true}),
            &[
                "spec.skipRevert",
                "revert and skipRevert cannot both be true",
            ],
        ),
        bad(
            DeployRequest,
            "cutover with autoApply (default true)",
            json!({"cutover": true}),
            &[
                "spec.cutover",
                "cutover applies a gated deploy: it needs autoApply: false",
            ],
        ),
        bad(
            DeployRequest,
            "approval with the same credentials",
            json!({"credentialsRef": {"name": "ps-token"}, "approval": {"credentialsRef": {"name": "ps-token"}}}),
            &[
                "spec.approval.credentialsRef",
                "approval.credentialsRef must name a different Secret than credentialsRef",
            ],
        ),
        bad(
            DeployRequest,
            "approval without credentialsRef",
            json!({"approval": {}}),
            &["spec.approval.credentialsRef: Required value"],
        ),
        bad(
            DeployRequest,
            "approval credentials name not a Secret name",
            json!({"approval": {"credentialsRef": {"name": "-approver"}}}),
            &[
                "spec.approval.credentialsRef.name",
                "name must be a Kubernetes object name",
            ],
        ),
        bad(
            DeployRequest,
            "notes over 10000 characters",
            json!({"notes": long_notes}),
            &["spec.notes", "Too long"],
        ),
        bad(
            DeployRequest,
            "deploy as a string",
            json!({"deploy": "yes"}),
            &["spec.deploy", "must be of type boolean"],
        ),
        bad(
            DeployRequest,
            "autoApply as a number",
            json!({"autoApply": 1}),
            &["spec.autoApply", "must be of type boolean"],
        ),
        bad_update(
            DeployRequest,
            "intoBranch changed",
            json!({}),
            json!({"intoBranch": "dev"}),
            &["spec.intoBranch", "intoBranch is immutable"],
        ),
        bad_update(
            DeployRequest,
            "branch changed",
            json!({}),
            json!({"branch": "feature-y"}),
            &["spec.branch", "branch is immutable"],
        ),
        bad_update(
            DeployRequest,
            "organization changed",
            json!({}),
            json!({"organization": "other"}),
            &["spec.organization", "organization is immutable"],
        ),
        bad_update(
            DeployRequest,
            "intoBranch removed",
            json!({}),
            json!({"intoBranch": null}),
            &["spec.intoBranch", "intoBranch cannot be added or removed"],
        ),
        bad_update(
            DeployRequest,
            "branchRef changed",
            json!({"organization": null, "database": null, "branch": null, "branchRef": {"name": "pr-1"}}),
            json!({"branchRef": {"name": "pr-2"}}),
            &["spec.branchRef", "branchRef is immutable"],
        ),
    ]
}
