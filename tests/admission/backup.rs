//! Invalid `PlanetScaleBackup` manifests. Base: organization acme, database shop, branch
//! main.
use serde_json::json;

use crate::case::{Case, Kind, Kind::Backup, bad, bad_update};

pub fn cases() -> Vec<Case> {
    let by_ref = json!({"organization": null, "database": null, "branch": null, "branchRef": {"name": "main"}});
    let adopt = json!({"backupId": "bk123"});
    vec![
        bad(
            Backup,
            "no spec at all",
            serde_json::Value::Null,
            &["spec: Required value"],
        ),
        bad(
            Backup,
            "no branch",
            json!({"branch": null}),
            &[
                "spec",
                "set the branch: either branchRef, or organization, database and branch",
            ],
        ),
        bad(
            Backup,
            "both forms",
            json!({"branchRef": {"name": "main"}}),
            &[
                "spec",
                "branchRef cannot be combined with organization, database or branch",
            ],
        ),
        bad(
            Backup,
            "databaseRef without branch",
            json!({"organization": null, "database": null, "branch": null, "databaseRef": {"name": "storefront"}}),
            &["spec", "or databaseRef and branch"],
        ),
        bad(
            Backup,
            "databaseRef with branchRef",
            json!({"organization": null, "database": null, "branch": null,
                   "databaseRef": {"name": "storefront"}, "branchRef": {"name": "main"}}),
            &[
                "spec",
                "branchRef cannot be combined with organization, database or branch",
            ],
        ),
        bad(
            Backup,
            "organization with capitals",
            json!({"organization": "Acme"}),
            &[
                "spec.organization",
                "organization must be a PlanetScale name",
            ],
        ),
        bad(
            Backup,
            "organization too long",
            json!({"organization": "a".repeat(64)}),
            &["spec.organization", "Too long"],
        ),
        bad(
            Backup,
            "database with '!'",
            json!({"database": "shop!"}),
            &["spec.database", "database must be a PlanetScale name"],
        ),
        bad(
            Backup,
            "database too long",
            json!({"database": "a".repeat(64)}),
            &["spec.database", "Too long"],
        ),
        bad(
            Backup,
            "branch with a space",
            json!({"branch": "my branch"}),
            &["spec.branch", "branch must be a PlanetScale name"],
        ),
        bad(
            Backup,
            "branch too long",
            json!({"branch": "a".repeat(64)}),
            &["spec.branch", "Too long"],
        ),
        bad(
            Backup,
            "branchRef without a name",
            json!({"organization": null, "database": null, "branch": null, "branchRef": {}}),
            &["spec.branchRef.name: Required value"],
        ),
        bad(
            Backup,
            "branchRef.name not an object name",
            json!({"organization": null, "database": null, "branch": null, "branchRef": {"name": "Main_"}}),
            &[
                "spec.branchRef.name",
                "name must be a Kubernetes object name",
            ],
        ),
        bad(
            Backup,
            "branchRef.name too long",
            json!({"organization": null, "database": null, "branch": null, "branchRef": {"name": "b".repeat(254)}}),
            &["spec.branchRef.name", "Too long"],
        ),
        bad(
            Backup,
            "backupName too long",
            json!({"backupName": "n".repeat(256)}),
            &["spec.backupName", "Too long"],
        ),
        bad(
            Backup,
            "retention without a unit",
            json!({"retention": {"value": 7}}),
            &["spec.retention.unit: Required value"],
        ),
        bad(
            Backup,
            "retention without a value",
            json!({"retention": {"unit": "day"}}),
            &["spec.retention.value: Required value"],
        ),
        bad(
            Backup,
            "retention unit unknown",
            json!({"retention": {"value": 7, "unit": "fortnight"}}),
            &["spec.retention.unit", "Unsupported value"],
        ),
        bad(
            Backup,
            "retention of 0",
            json!({"retention": {"value": 0, "unit": "day"}}),
            &["spec.retention.value", "should be greater than or equal to"],
        ),
        bad(
            Backup,
            "retention over 1000",
            json!({"retention": {"value": 1001, "unit": "day"}}),
            &["spec.retention.value", "should be less than or equal to"],
        ),
        bad(
            Backup,
            "backupId with a space",
            json!({"backupId": "bk 1"}),
            &["spec.backupId", "backupId must be a PlanetScale backup id"],
        ),
        bad(
            Backup,
            "backupId too long",
            json!({"backupId": "b".repeat(65)}),
            &["spec.backupId", "Too long"],
        ),
        bad(
            Backup,
            "backupId with a retention",
            json!({"backupId": "bk1", "retention": {"value": 1, "unit": "day"}}),
            &[
                "spec.backupId",
                "retention, backupName and emergency describe a new backup",
            ],
        ),
        bad(
            Backup,
            "Observe without backupId",
            json!({"managementPolicy": "Observe"}),
            &["spec.backupId", "managementPolicy: Observe needs backupId"],
        ),
        bad(
            Backup,
            "Observe with protected",
            json!({"managementPolicy": "Observe", "backupId": "bk1", "protected": true}),
            &[
                "spec.managementPolicy",
                "protected and deletionPolicy: Delete change the backup",
            ],
        ),
        bad(
            Backup,
            "managementPolicy unknown",
            json!({"managementPolicy": "Watch"}),
            &["spec.managementPolicy", "Unsupported value"],
        ),
        bad(
            Backup,
            "deletionPolicy unknown",
            json!({"deletionPolicy": "Keep"}),
            &["spec.deletionPolicy", "Unsupported value"],
        ),
        bad(
            Backup,
            "credentialsRef without a name",
            json!({"credentialsRef": {}}),
            &["spec.credentialsRef.name: Required value"],
        ),
        bad(
            Backup,
            "credentialsRef.name not an object name",
            json!({"credentialsRef": {"name": "Team_Token"}}),
            &[
                "spec.credentialsRef.name",
                "name must be a Kubernetes object name",
            ],
        ),
        bad(
            Backup,
            "credentialsRef.name too long",
            json!({"credentialsRef": {"name": "c".repeat(254)}}),
            &["spec.credentialsRef.name", "Too long"],
        ),
        bad_update(
            Backup,
            "organization changed",
            json!({}),
            json!({"organization": "other"}),
            &["spec.organization", "organization is immutable"],
        ),
        bad_update(
            Backup,
            "database changed",
            json!({}),
            json!({"database": "other"}),
            &["spec.database", "database is immutable"],
        ),
        bad_update(
            Backup,
            "branch changed",
            json!({}),
            json!({"branch": "dev"}),
            &["spec.branch", "branch is immutable"],
        ),
        bad_update(
            Backup,
            "branchRef changed",
            by_ref.clone(),
            json!({"branchRef": {"name": "dev"}}),
            &["spec.branchRef", "branchRef is immutable"],
        ),
        bad_update(
            Backup,
            "target switched to branchRef",
            json!({}),
            by_ref.clone(),
            &["spec.branchRef", "branchRef cannot be added or removed"],
        ),
        bad_update(
            Backup,
            "target switched to the explicit form (organization)",
            by_ref.clone(),
            json!({"branchRef": null, "organization": "acme", "database": "shop", "branch": "main"}),
            &[
                "spec.organization",
                "organization cannot be added or removed",
            ],
        ),
        bad_update(
            Backup,
            "target switched to the explicit form (database)",
            by_ref.clone(),
            json!({"branchRef": null, "organization": "acme", "database": "shop", "branch": "main"}),
            &["spec.database", "database cannot be added or removed"],
        ),
        bad_update(
            Backup,
            "target switched to the explicit form (branch)",
            by_ref,
            json!({"branchRef": null, "organization": "acme", "database": "shop", "branch": "main"}),
            &["spec.branch", "branch cannot be added or removed"],
        ),
        bad_update(
            Backup,
            "backupId changed",
            adopt.clone(),
            json!({"backupId": "bk2"}),
            &["spec.backupId", "backupId is immutable"],
        ),
        bad_update(
            Backup,
            "backupId added",
            json!({}),
            adopt,
            &["spec.backupId", "backupId cannot be added or removed"],
        ),
        bad_update(
            Backup,
            "backupName changed",
            json!({"backupName": "a"}),
            json!({"backupName": "b"}),
            &["spec.backupName", "backupName is immutable"],
        ),
        bad_update(
            Backup,
            "backupName added",
            json!({}),
            json!({"backupName": "b"}),
            &["spec.backupName", "backupName cannot be added or removed"],
        ),
        bad_update(
            Backup,
            "retention changed",
            json!({"retention": {"value": 1, "unit": "day"}}),
            json!({"retention": {"value": 2}}),
            &["spec.retention", "retention is immutable"],
        ),
        bad_update(
            Backup,
            "retention added",
            json!({}),
            json!({"retention": {"value": 2, "unit": "day"}}),
            &["spec.retention", "retention cannot be added or removed"],
        ),
        bad_update(
            Backup,
            "emergency changed",
            json!({"emergency": false}),
            json!({"emergency": true}),
            &["spec.emergency", "emergency is immutable"],
        ),
        bad_update(
            Backup,
            "emergency added",
            json!({}),
            json!({"emergency": true}),
            &["spec.emergency", "emergency cannot be added or removed"],
        ),
    ]
}

/// The `databaseRef` form of the branch target, for each kind that has it.
pub fn database_ref_cases(kind: Kind) -> Vec<Case> {
    let by_db = |name: &str| {
        json!({"organization": null, "database": null, "branchRef": null, "branch": "feature",
               "databaseRef": {"name": name}})
    };
    vec![
        bad(
            kind,
            "databaseRef name too long",
            by_db(&"a".repeat(254)),
            &["spec.databaseRef.name", "Too long"],
        ),
        bad(
            kind,
            "databaseRef name not an object name",
            by_db("Store_Front"),
            &[
                "spec.databaseRef.name",
                "name must be a Kubernetes object name: lowercase letters",
            ],
        ),
        bad(
            kind,
            "databaseRef without a name",
            json!({"organization": null, "database": null, "branchRef": null, "branch": "main",
                   "databaseRef": {}}),
            &["spec.databaseRef.name", "Required value"],
        ),
        bad(
            kind,
            "databaseRef with organization and database",
            json!({"branchRef": null, "organization": "acme", "database": "shop",
                   "branch": "main", "databaseRef": {"name": "storefront"}}),
            &[
                "spec",
                "databaseRef cannot be combined with organization or database",
            ],
        ),
        bad_update(
            kind,
            "databaseRef changed",
            by_db("storefront"),
            json!({"databaseRef": {"name": "other"}}),
            &["spec.databaseRef", "databaseRef is immutable"],
        ),
        bad_update(
            kind,
            "databaseRef switched to organization and database",
            by_db("storefront"),
            json!({"databaseRef": null, "organization": "acme", "database": "shop"}),
            &["spec.databaseRef", "databaseRef cannot be added or removed"],
        ),
    ]
}
