//! Invalid `PlanetScaleBranch` manifests. Base: organization acme, database shop,
//! parentBranch main, region aws-us-east-2.
use serde_json::json;

use crate::case::{Case, Kind::Branch, bad, bad_update};

/// A restore from a backup: no region, with a cluster size.
fn restore() -> serde_json::Value {
    json!({"region": null, "backupId": "bk123", "clusterSize": "PS_10"})
}

/// A PostgreSQL branch from a point in time.
fn pitr() -> serde_json::Value {
    json!({"restoreFrom": {"pointInTime": "2026-01-01T09:30:00Z"}})
}

pub fn cases() -> Vec<Case> {
    let mut all = base_cases();
    all.extend(postgres_cases());
    all
}

/// The PostgreSQL fields: a point in time and a major version, each from one source only.
fn postgres_cases() -> Vec<Case> {
    vec![
        bad(
            Branch,
            "restoreFrom with backupId",
            json!({"region": null, "backupId": "bk1", "clusterSize": "PS_10",
                "restoreFrom": {"pointInTime": "2026-01-01T09:30:00Z"}}),
            &[
                "spec.restoreFrom",
                "restoreFrom cannot be combined with backupId or seedData",
            ],
        ),
        bad(
            Branch,
            "restoreFrom with seedData",
            json!({"seedData": "LastSuccessfulBackup",
                "restoreFrom": {"pointInTime": "2026-01-01T09:30:00Z"}}),
            &[
                "spec.restoreFrom",
                "restoreFrom cannot be combined with backupId or seedData",
            ],
        ),
        bad(
            Branch,
            "restoreFrom without pointInTime",
            json!({"restoreFrom": {}}),
            &["spec.restoreFrom.pointInTime: Required value"],
        ),
        bad(
            Branch,
            "restoreFrom.pointInTime not a time",
            json!({"restoreFrom": {"pointInTime": "yesterday"}}),
            &["spec.restoreFrom.pointInTime", "must be of type date-time"],
        ),
        bad(
            Branch,
            "restoreFrom.pointInTime of 65 characters",
            json!({"restoreFrom": {"pointInTime": format!("2026-01-01T09:30:00.{}Z", "0".repeat(44))}}),
            &["spec.restoreFrom.pointInTime", "Too long"],
        ),
        bad(
            Branch,
            "majorVersion with backupId",
            json!({"region": null, "backupId": "bk1", "clusterSize": "PS_10", "majorVersion": "17"}),
            &[
                "spec.majorVersion",
                "majorVersion cannot be set with backupId",
            ],
        ),
        bad(
            Branch,
            "majorVersion not a number",
            json!({"majorVersion": "v17"}),
            &[
                "spec.majorVersion",
                "majorVersion must be a PostgreSQL major version number",
            ],
        ),
        bad(
            Branch,
            "majorVersion of 9 characters",
            json!({"majorVersion": "1".repeat(9)}),
            &["spec.majorVersion", "Too long"],
        ),
        bad_update(
            Branch,
            "restoreFrom changed",
            pitr(),
            json!({"restoreFrom": {"pointInTime": "2026-01-02T09:30:00Z"}}),
            &["spec.restoreFrom", "restoreFrom is immutable"],
        ),
        bad_update(
            Branch,
            "restoreFrom added",
            json!({}),
            pitr(),
            &["spec.restoreFrom", "restoreFrom cannot be added or removed"],
        ),
        bad_update(
            Branch,
            "majorVersion changed",
            json!({"majorVersion": "17"}),
            json!({"majorVersion": "18"}),
            &["spec.majorVersion", "majorVersion is immutable"],
        ),
        bad_update(
            Branch,
            "majorVersion removed",
            json!({"majorVersion": "17"}),
            json!({"majorVersion": null}),
            &[
                "spec.majorVersion",
                "majorVersion cannot be added or removed",
            ],
        ),
    ]
}

fn base_cases() -> Vec<Case> {
    let long = "a".repeat(64);
    let absurd = "a".repeat(300);
    vec![
        bad(
            Branch,
            "no spec at all",
            serde_json::Value::Null,
            &["spec: Required value"],
        ),
        bad(
            Branch,
            "organization missing",
            json!({"organization": null}),
            &[
                "spec",
                "set the database: either organization and database together, or databaseRef",
            ],
        ),
        bad(
            Branch,
            "database missing",
            json!({"database": null}),
            &[
                "spec",
                "set the database: either organization and database together, or databaseRef",
            ],
        ),
        bad(
            Branch,
            "databaseRef with organization and database",
            json!({"databaseRef": {"name": "storefront"}}),
            &[
                "spec.databaseRef",
                "databaseRef cannot be combined with organization or database",
            ],
        ),
        bad(
            Branch,
            "databaseRef name not an object name",
            json!({"organization": null, "database": null, "databaseRef": {"name": "Store_Front"}}),
            &[
                "spec.databaseRef.name",
                "name must be a Kubernetes object name: lowercase letters",
            ],
        ),
        bad(
            Branch,
            "databaseRef name too long",
            json!({"organization": null, "database": null, "databaseRef": {"name": "a".repeat(254)}}),
            &["spec.databaseRef.name", "Too long"],
        ),
        bad(
            Branch,
            "databaseRef without a name",
            json!({"organization": null, "database": null, "databaseRef": {}}),
            &["spec.databaseRef.name", "Required value"],
        ),
        bad_update(
            Branch,
            "organization removed",
            json!({}),
            json!({"organization": null}),
            &[
                "spec.organization",
                "organization cannot be added or removed",
            ],
        ),
        bad_update(
            Branch,
            "database removed",
            json!({}),
            json!({"database": null}),
            &["spec.database", "database cannot be added or removed"],
        ),
        bad_update(
            Branch,
            "databaseRef changed",
            json!({"organization": null, "database": null, "databaseRef": {"name": "storefront"}}),
            json!({"organization": null, "database": null, "databaseRef": {"name": "other"}}),
            &["spec.databaseRef", "databaseRef is immutable"],
        ),
        bad_update(
            Branch,
            "databaseRef instead of organization and database",
            json!({}),
            json!({"organization": null, "database": null, "databaseRef": {"name": "storefront"}}),
            &["spec.databaseRef", "databaseRef cannot be added or removed"],
        ),
        bad(
            Branch,
            "organization with capitals",
            json!({"organization": "Acme"}),
            &[
                "spec.organization",
                "organization must be a PlanetScale name",
            ],
        ),
        bad(
            Branch,
            "database starting with '-'",
            json!({"database": "-shop"}),
            &["spec.database", "database must be a PlanetScale name"],
        ),
        bad(
            Branch,
            "branchName with a space",
            json!({"branchName": "my branch"}),
            &["spec.branchName", "branchName must be a PlanetScale name"],
        ),
        bad(
            Branch,
            "branchName of 64 characters",
            json!({"branchName": long}),
            &["spec.branchName", "Too long"],
        ),
        bad(
            Branch,
            "organization of 300 characters",
            json!({"organization": absurd}),
            &["spec.organization", "Too long"],
        ),
        bad(
            Branch,
            "parentBranch with '!'",
            json!({"parentBranch": "main!"}),
            &[
                "spec.parentBranch",
                "parentBranch must be a PlanetScale name",
            ],
        ),
        bad(
            Branch,
            "region not a slug",
            json!({"region": "US East"}),
            &["spec.region", "region must be a PlanetScale region slug"],
        ),
        bad(
            Branch,
            "deletionPolicy not an enum value",
            json!({"deletionPolicy": "Destroy"}),
            &["spec.deletionPolicy", "Unsupported value", "Retain"],
        ),
        bad(
            Branch,
            "seedData not an enum value",
            json!({"seedData": "Yesterday"}),
            &["spec.seedData", "Unsupported value", "LastSuccessfulBackup"],
        ),
        bad(
            Branch,
            "backupId and seedData together",
            json!({"region": null, "backupId": "bk123", "clusterSize": "PS_10", "seedData": "LastSuccessfulBackup"}),
            &[
                "spec.seedData",
                "backupId and seedData are mutually exclusive",
            ],
        ),
        bad(
            Branch,
            "backupId without clusterSize",
            json!({"region": null, "backupId": "bk123"}),
            &["spec.clusterSize", "clusterSize is required with backupId"],
        ),
        bad(
            Branch,
            "backupId with region",
            json!({"backupId": "bk123", "clusterSize": "PS_10"}),
            &["spec.region", "region cannot be set with backupId"],
        ),
        bad(
            Branch,
            "backupId with a slash",
            json!({"region": null, "backupId": "bk/1", "clusterSize": "PS_10"}),
            &["spec.backupId", "backupId must be a PlanetScale backup id"],
        ),
        bad(
            Branch,
            "clusterSize with a space",
            json!({"region": null, "backupId": "bk1", "clusterSize": "PS 10"}),
            &["spec.clusterSize", "clusterSize must be a cluster size SKU"],
        ),
        bad(
            Branch,
            "adopt as a string",
            json!({"adopt": "yes"}),
            &["spec.adopt", "must be of type boolean"],
        ),
        bad(
            Branch,
            "safeMigrations as a string",
            json!({"safeMigrations": "true"}),
            &["spec.safeMigrations", "must be of type boolean"],
        ),
        bad(
            Branch,
            "metadata.name not a branch name and no branchName",
            json!({}),
            &[
                "spec.branchName: Invalid value",
                "metadata.name is used as the PlanetScale branch name",
                "set spec.branchName",
            ],
        )
        .named("feature.one"),
        bad(
            Branch,
            "credentialsRef name not a Secret name",
            json!({"credentialsRef": {"name": "Bad_Name"}}),
            &[
                "spec.credentialsRef.name",
                "name must be a Kubernetes object name",
            ],
        ),
        bad(
            Branch,
            "credentialsRef without name",
            json!({"credentialsRef": {}}),
            &["spec.credentialsRef.name: Required value"],
        ),
        bad(
            Branch,
            "credentialsRef name of 254 characters",
            json!({"credentialsRef": {"name": "c".repeat(254)}}),
            &["spec.credentialsRef.name", "Too long"],
        ),
        bad(
            Branch,
            "database of 64 characters",
            json!({"database": long}),
            &["spec.database", "Too long"],
        ),
        bad(
            Branch,
            "parentBranch of 64 characters",
            json!({"parentBranch": long}),
            &["spec.parentBranch", "Too long"],
        ),
        bad(
            Branch,
            "region of 64 characters",
            json!({"region": long}),
            &["spec.region", "Too long"],
        ),
        bad(
            Branch,
            "backupId of 65 characters",
            json!({"region": null, "backupId": "b".repeat(65), "clusterSize": "PS_10"}),
            &["spec.backupId", "Too long"],
        ),
        bad(
            Branch,
            "clusterSize of 65 characters",
            json!({"region": null, "backupId": "bk1", "clusterSize": "P".repeat(65)}),
            &["spec.clusterSize", "Too long"],
        ),
        bad_update(
            Branch,
            "organization changed",
            json!({}),
            json!({"organization": "other"}),
            &["spec.organization", "organization is immutable"],
        ),
        bad_update(
            Branch,
            "database changed",
            json!({}),
            json!({"database": "other"}),
            &["spec.database", "database is immutable"],
        ),
        bad_update(
            Branch,
            "branchName changed",
            json!({"branchName": "one"}),
            json!({"branchName": "two"}),
            &["spec.branchName", "branchName is immutable"],
        ),
        bad_update(
            Branch,
            "branchName added",
            json!({}),
            json!({"branchName": "two"}),
            &["spec.branchName", "branchName cannot be added or removed"],
        ),
        bad_update(
            Branch,
            "parentBranch changed",
            json!({}),
            json!({"parentBranch": "dev"}),
            &["spec.parentBranch", "parentBranch is immutable"],
        ),
        bad_update(
            Branch,
            "parentBranch removed",
            json!({}),
            json!({"parentBranch": null}),
            &[
                "spec.parentBranch",
                "parentBranch cannot be added or removed",
            ],
        ),
        bad_update(
            Branch,
            "region changed",
            json!({}),
            json!({"region": "aws-eu-west-2"}),
            &["spec.region", "region is immutable"],
        ),
        bad_update(
            Branch,
            "region removed",
            json!({}),
            json!({"region": null}),
            &["spec.region", "region cannot be added or removed"],
        ),
        bad_update(
            Branch,
            "backupId added (restoring an existing branch)",
            json!({}),
            restore(),
            &["spec.backupId", "backupId cannot be added or removed"],
        ),
        bad_update(
            Branch,
            "backupId changed",
            restore(),
            json!({"backupId": "bk456"}),
            &["spec.backupId", "backupId is immutable"],
        ),
        bad_update(
            Branch,
            "seedData added",
            json!({}),
            json!({"seedData": "LastSuccessfulBackup"}),
            &["spec.seedData", "seedData cannot be added or removed"],
        ),
        bad_update(
            Branch,
            "clusterSize changed",
            restore(),
            json!({"clusterSize": "PS_20"}),
            &["spec.clusterSize", "clusterSize is immutable"],
        ),
        bad_update(
            Branch,
            "clusterSize removed",
            restore(),
            json!({"clusterSize": null}),
            &["spec.clusterSize", "clusterSize cannot be added or removed"],
        ),
        bad(
            Branch,
            "backupRef with backupId",
            json!({"region": null, "clusterSize": "PS_10", "backupId": "bk1", "backupRef": {"name": "nightly"}}),
            &[
                "spec.backupRef",
                "backupRef cannot be combined with backupId, seedData or restoreFrom",
            ],
        ),
        bad(
            Branch,
            "backupRef without clusterSize",
            json!({"region": null, "backupRef": {"name": "nightly"}}),
            &["spec.clusterSize", "clusterSize is required with backupRef"],
        ),
        bad(
            Branch,
            "backupRef with region",
            json!({"clusterSize": "PS_10", "backupRef": {"name": "nightly"}}),
            &["spec.region", "region cannot be set with backupRef"],
        ),
        bad(
            Branch,
            "backupRef without a name",
            json!({"region": null, "clusterSize": "PS_10", "backupRef": {}}),
            &["spec.backupRef.name: Required value"],
        ),
        bad(
            Branch,
            "backupRef.name not an object name",
            json!({"region": null, "clusterSize": "PS_10", "backupRef": {"name": "Nightly_"}}),
            &[
                "spec.backupRef.name",
                "name must be a Kubernetes object name",
            ],
        ),
        bad(
            Branch,
            "backupRef.name too long",
            json!({"region": null, "clusterSize": "PS_10", "backupRef": {"name": "n".repeat(254)}}),
            &["spec.backupRef.name", "Too long"],
        ),
        bad_update(
            Branch,
            "backupRef changed",
            json!({"region": null, "clusterSize": "PS_10", "backupRef": {"name": "nightly"}}),
            json!({"backupRef": {"name": "weekly"}}),
            &["spec.backupRef", "backupRef is immutable"],
        ),
        bad_update(
            Branch,
            "backupRef added",
            json!({"region": null, "clusterSize": "PS_10"}),
            json!({"backupRef": {"name": "weekly"}}),
            &["spec.backupRef", "backupRef cannot be added or removed"],
        ),
    ]
}
