//! Invalid `DeployRequest` manifests. Base: organization acme, database shop, branch
//! feature-x, intoBranch main.
use serde_json::json;

use crate::case::{Case, Kind::DeployRequest, bad, bad_update};

/// The `branchRef` form of the source instead of the base's explicit one.
fn by_ref_named(name: &str) -> serde_json::Value {
    json!({"organization": null, "database": null, "branch": null, "branchRef": {"name": name}})
}

fn by_ref() -> serde_json::Value {
    by_ref_named("pr-1")
}

pub fn cases() -> Vec<Case> {
    let mut cases = source_cases();
    cases.extend(source_update_cases());
    cases.extend(other_cases());
    cases
}

/// The source branch: its two forms, names and lengths.
fn source_cases() -> Vec<Case> {
    let long = "a".repeat(64);
    vec![
        bad(
            DeployRequest,
            "no spec at all",
            serde_json::Value::Null,
            &["spec: Required value"],
        ),
        bad(
            DeployRequest,
            "no source branch",
            json!({"organization": null, "database": null, "branch": null}),
            &[
                "spec: Invalid value",
                "set the branch: either branchRef, or organization, database and branch together",
            ],
        ),
        bad(
            DeployRequest,
            "branchRef and explicit source",
            json!({"branchRef": {"name": "pr-1"}}),
            &[
                "spec: Invalid value",
                "branchRef cannot be combined with organization, database or branch",
            ],
        ),
        bad(
            DeployRequest,
            "organization with capitals",
            json!({"organization": "Acme"}),
            &[
                "spec.organization",
                "organization must be a PlanetScale name",
            ],
        ),
        bad(
            DeployRequest,
            "database starting with '-'",
            json!({"database": "-shop"}),
            &["spec.database", "database must be a PlanetScale name"],
        ),
        bad(
            DeployRequest,
            "branch with a space",
            json!({"branch": "feat x"}),
            &["spec.branch", "branch must be a PlanetScale name"],
        ),
        bad(
            DeployRequest,
            "organization of 64 characters",
            json!({"organization": long}),
            &["spec.organization", "Too long"],
        ),
        bad(
            DeployRequest,
            "database of 64 characters",
            json!({"database": long}),
            &["spec.database", "Too long"],
        ),
        bad(
            DeployRequest,
            "intoBranch of 64 characters",
            json!({"intoBranch": long}),
            &["spec.intoBranch", "Too long"],
        ),
        bad(
            DeployRequest,
            "branchRef name not an object name",
            by_ref_named("PR_1"),
            &[
                "spec.branchRef.name",
                "name must be a Kubernetes object name",
            ],
        ),
        bad(
            DeployRequest,
            "branchRef without name",
            json!({"organization": null, "database": null, "branch": null, "branchRef": {}}),
            &["spec.branchRef.name: Required value"],
        ),
        bad(
            DeployRequest,
            "branchRef name of 254 characters",
            by_ref_named(&"b".repeat(254)),
            &["spec.branchRef.name", "Too long"],
        ),
    ]
}

/// One resource is one deploy request: the source and the target cannot change.
fn source_update_cases() -> Vec<Case> {
    vec![
        bad_update(
            DeployRequest,
            "database changed",
            json!({}),
            json!({"database": "other"}),
            &["spec.database", "database is immutable"],
        ),
        bad_update(
            DeployRequest,
            "branchRef added to an explicit source",
            json!({}),
            json!({"branchRef": {"name": "pr-1"}}),
            &["spec.branchRef", "branchRef cannot be added or removed"],
        ),
        bad_update(
            DeployRequest,
            "branchRef removed",
            by_ref(),
            json!({"branchRef": null}),
            &["spec.branchRef", "branchRef cannot be added or removed"],
        ),
        bad_update(
            DeployRequest,
            "organization removed",
            json!({}),
            json!({"organization": null}),
            &[
                "spec.organization",
                "organization cannot be added or removed",
            ],
        ),
        bad_update(
            DeployRequest,
            "database removed",
            json!({}),
            json!({"database": null}),
            &["spec.database", "database cannot be added or removed"],
        ),
        bad_update(
            DeployRequest,
            "branch removed",
            json!({}),
            json!({"branch": null}),
            &["spec.branch", "branch cannot be added or removed"],
        ),
    ]
}

/// Flags, approval, credentials and notes, and the remaining immutability rules.
fn other_cases() -> Vec<Case> {
    let long_notes = "n".repeat(10_001);
    vec![
        bad(
            DeployRequest,
            "explicit source without database",
            json!({"database": null}),
            &["set the branch"],
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
            "approval credentialsRef without name",
            json!({"approval": {"credentialsRef": {}}}),
            &["spec.approval.credentialsRef.name: Required value"],
        ),
        bad(
            DeployRequest,
            "approval credentials name of 254 characters",
            json!({"approval": {"credentialsRef": {"name": "a".repeat(254)}}}),
            &["spec.approval.credentialsRef.name", "Too long"],
        ),
        bad(
            DeployRequest,
            "credentialsRef name not a Secret name",
            json!({"credentialsRef": {"name": "Creds!"}}),
            &[
                "spec.credentialsRef.name",
                "name must be a Kubernetes object name",
            ],
        ),
        bad(
            DeployRequest,
            "credentialsRef without name",
            json!({"credentialsRef": {}}),
            &["spec.credentialsRef.name: Required value"],
        ),
        bad(
            DeployRequest,
            "credentialsRef name of 254 characters",
            json!({"credentialsRef": {"name": "c".repeat(254)}}),
            &["spec.credentialsRef.name", "Too long"],
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
            by_ref(),
            json!({"branchRef": {"name": "pr-2"}}),
            &["spec.branchRef", "branchRef is immutable"],
        ),
    ]
}
