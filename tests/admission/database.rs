//! Invalid `PlanetScaleDatabase` manifests. Base: organization acme, clusterSize PS_10.
use serde_json::json;

use crate::case::{Case, Kind::Database, bad, bad_update};

/// A backup policy named `name` at `time`.
fn policy(name: &str, time: &str) -> serde_json::Value {
    json!({"name": name, "frequency": {"value": 1, "unit": "day"},
           "retention": {"value": 7, "unit": "day"}, "scheduleTime": time})
}

pub fn cases() -> Vec<Case> {
    let long = "a".repeat(64);
    let pg = json!({"engine": "postgresql", "postgresMajorVersion": "17"});
    let mut cases = vec![
        bad(
            Database,
            "no spec at all",
            serde_json::Value::Null,
            &["spec: Required value"],
        ),
        bad(
            Database,
            "organization missing",
            json!({"organization": null}),
            &["spec.organization: Required value"],
        ),
        bad(
            Database,
            "organization with capitals",
            json!({"organization": "Acme"}),
            &[
                "spec.organization",
                "organization must be a PlanetScale name",
            ],
        ),
        bad(
            Database,
            "organization too long",
            json!({"organization": long}),
            &["spec.organization", "Too long"],
        ),
        bad(
            Database,
            "databaseName with a space",
            json!({"databaseName": "my db"}),
            &[
                "spec.databaseName",
                "databaseName must be a PlanetScale name",
            ],
        ),
        bad(
            Database,
            "databaseName too long",
            json!({"databaseName": "a".repeat(64)}),
            &["spec.databaseName", "Too long"],
        ),
        bad(
            Database,
            "metadata.name is no database name",
            json!({}),
            &[
                "spec.databaseName",
                "metadata.name is used as the PlanetScale database name",
            ],
        )
        .named("shop.example"),
        bad(
            Database,
            "engine unknown",
            json!({"engine": "oracle"}),
            &["spec.engine", "Unsupported value"],
        ),
        bad(
            Database,
            "region not a slug",
            json!({"region": "US East"}),
            &["spec.region", "region must be a PlanetScale region slug"],
        ),
        bad(
            Database,
            "region too long",
            json!({"region": "a".repeat(64)}),
            &["spec.region", "Too long"],
        ),
        bad(
            Database,
            "clusterSize not a SKU",
            json!({"clusterSize": "PS 10"}),
            &["spec.clusterSize", "clusterSize must be a cluster size SKU"],
        ),
        bad(
            Database,
            "clusterSize too long",
            json!({"clusterSize": "P".repeat(65)}),
            &["spec.clusterSize", "Too long"],
        ),
        bad(
            Database,
            "clusterSize missing for a new database",
            json!({"clusterSize": null}),
            &[
                "spec.clusterSize",
                "clusterSize is required to create a database",
            ],
        ),
        bad(
            Database,
            "replicas negative",
            json!({"replicas": -1}),
            &["spec.replicas", "should be greater than or equal to"],
        ),
        bad(
            Database,
            "replicas absurd",
            json!({"replicas": 33}),
            &["spec.replicas", "should be less than or equal to"],
        ),
        bad(
            Database,
            "postgresMajorVersion on MySQL",
            json!({"postgresMajorVersion": "17"}),
            &[
                "spec.postgresMajorVersion",
                "postgresMajorVersion is only for engine: postgresql",
            ],
        ),
        bad(
            Database,
            "postgresMajorVersion not a number",
            json!({"engine": "postgresql", "postgresMajorVersion": "v17"}),
            &[
                "spec.postgresMajorVersion",
                "postgresMajorVersion must be a PostgreSQL major version",
            ],
        ),
        bad(
            Database,
            "postgresMajorVersion too long",
            json!({"engine": "postgresql", "postgresMajorVersion": "123456789"}),
            &["spec.postgresMajorVersion", "Too long"],
        ),
        bad(
            Database,
            "managementPolicy unknown",
            json!({"managementPolicy": "Ignore"}),
            &["spec.managementPolicy", "Unsupported value"],
        ),
        bad(
            Database,
            "deletionPolicy unknown",
            json!({"deletionPolicy": "Orphan"}),
            &["spec.deletionPolicy", "Unsupported value"],
        ),
        bad(
            Database,
            "settings with Observe",
            json!({"managementPolicy": "Observe", "settings": {"requireApprovalForDeploy": true}}),
            &[
                "spec.settings",
                "settings cannot be set with managementPolicy: Observe",
            ],
        ),
        bad(
            Database,
            "backupPolicies with Observe",
            json!({"managementPolicy": "Observe", "backupPolicies": [policy("nightly", "02:30")]}),
            &[
                "spec.backupPolicies",
                "backupPolicies cannot be set with managementPolicy: Observe",
            ],
        ),
        bad(
            Database,
            "backupPolicies with the same name twice",
            json!({"backupPolicies": [policy("nightly", "02:30"), policy("nightly", "03:00")]}),
            &["spec.backupPolicies[1]", "Duplicate value"],
        ),
        bad(
            Database,
            "backup policy scheduleTime not HH:MM",
            json!({"backupPolicies": [policy("nightly", "2:30")]}),
            &[
                "spec.backupPolicies[0].scheduleTime",
                "scheduleTime must be a time of day such as 02:30",
            ],
        ),
        bad(
            Database,
            "backup policy frequency over 1000",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1001, "unit": "day"}, "retention": {"value": 7, "unit": "day"}}]}),
            &[
                "spec.backupPolicies[0].frequency.value",
                "should be less than or equal to",
            ],
        ),
        bad(
            Database,
            "backup policy frequency 0",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 0, "unit": "day"}, "retention": {"value": 7, "unit": "day"}}]}),
            &[
                "spec.backupPolicies[0].frequency.value",
                "should be greater than or equal to",
            ],
        ),
        bad(
            Database,
            "backup policy frequency without unit",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1}, "retention": {"value": 7, "unit": "day"}}]}),
            &["spec.backupPolicies[0].frequency.unit", "Required value"],
        ),
        bad(
            Database,
            "backup policy frequency without value",
            json!({"backupPolicies": [{"name": "n", "frequency": {"unit": "day"}, "retention": {"value": 7, "unit": "day"}}]}),
            &["spec.backupPolicies[0].frequency.value", "Required value"],
        ),
        bad(
            Database,
            "backup policy without frequency",
            json!({"backupPolicies": [{"name": "n", "retention": {"value": 7, "unit": "day"}}]}),
            &["spec.backupPolicies[0].frequency", "Required value"],
        ),
        bad(
            Database,
            "backup policy without retention",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}}]}),
            &["spec.backupPolicies[0].retention", "Required value"],
        ),
        bad(
            Database,
            "backup policy without name",
            json!({"backupPolicies": [{"frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}}]}),
            &["spec.backupPolicies[0].name", "Required value"],
        ),
        bad(
            Database,
            "backup policy name too long",
            json!({"backupPolicies": [{"name": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}}]}),
            &["spec.backupPolicies[0].name", "Too long"],
        ),
        bad(
            Database,
            "backup policy name with capitals",
            json!({"backupPolicies": [{"name": "Nightly", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}}]}),
            &[
                "spec.backupPolicies[0].name",
                "name must be a PlanetScale name",
            ],
        ),
        bad(
            Database,
            "backup policy retention in decades",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "decade"}}]}),
            &["spec.backupPolicies[0].retention.unit", "Unsupported value"],
        ),
        bad(
            Database,
            "backup policy retention over 1000",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 1001, "unit": "day"}}]}),
            &[
                "spec.backupPolicies[0].retention.value",
                "should be less than or equal to",
            ],
        ),
        bad(
            Database,
            "backup policy retention 0",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 0, "unit": "day"}}]}),
            &[
                "spec.backupPolicies[0].retention.value",
                "should be greater than or equal to",
            ],
        ),
        bad(
            Database,
            "backup policy retention without unit",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7}}]}),
            &["spec.backupPolicies[0].retention.unit", "Required value"],
        ),
        bad(
            Database,
            "backup policy retention without value",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"unit": "day"}}]}),
            &["spec.backupPolicies[0].retention.value", "Required value"],
        ),
        bad(
            Database,
            "backup policy scheduleDay 7",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}, "scheduleDay": 7}]}),
            &[
                "spec.backupPolicies[0].scheduleDay",
                "should be less than or equal to",
            ],
        ),
        bad(
            Database,
            "backup policy scheduleDay -1",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}, "scheduleDay": -1}]}),
            &[
                "spec.backupPolicies[0].scheduleDay",
                "should be greater than or equal to",
            ],
        ),
        bad(
            Database,
            "backup policy scheduleWeek 4",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}, "scheduleWeek": 4}]}),
            &[
                "spec.backupPolicies[0].scheduleWeek",
                "should be less than or equal to",
            ],
        ),
        bad(
            Database,
            "backup policy scheduleWeek -1",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}, "scheduleWeek": -1}]}),
            &[
                "spec.backupPolicies[0].scheduleWeek",
                "should be greater than or equal to",
            ],
        ),
        bad(
            Database,
            "backup policy scheduleTime with seconds",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}, "scheduleTime": "02:30:00"}]}),
            &["spec.backupPolicies[0].scheduleTime", "Too long"],
        ),
        bad(
            Database,
            "backup policy target staging",
            json!({"backupPolicies": [{"name": "n", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}, "target": "staging"}]}),
            &["spec.backupPolicies[0].target", "Unsupported value"],
        ),
        bad(
            Database,
            "seventeen backup policies",
            json!({"backupPolicies": [{"name": "p0", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p1", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p2", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p3", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p4", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p5", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p6", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p7", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p8", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p9", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p10", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p11", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p12", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p13", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p14", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p15", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}},{"name": "p16", "frequency": {"value": 1, "unit": "day"}, "retention": {"value": 7, "unit": "day"}}]}),
            &["spec.backupPolicies", "Too many"],
        ),
        bad(
            Database,
            "backup policy frequency in years",
            json!({"backupPolicies": [{"name": "yearly", "frequency": {"value": 1, "unit": "year"},
                "retention": {"value": 1, "unit": "year"}}]}),
            &["spec.backupPolicies[0].frequency.unit", "Unsupported value"],
        ),
        bad(
            Database,
            "deletionPolicy Delete with Observe",
            json!({"managementPolicy": "Observe", "deletionPolicy": "Delete"}),
            &[
                "spec.deletionPolicy",
                "deletionPolicy: Delete cannot be set with managementPolicy: Observe",
            ],
        ),
        bad(
            Database,
            "deletionConfirmation naming another database",
            json!({"deletionPolicy": "Delete", "deletionConfirmation": "prod"}),
            &[
                "spec.deletionConfirmation",
                "deletionConfirmation must be the PlanetScale database name",
            ],
        ),
        bad(
            Database,
            "deletionConfirmation too long",
            json!({"deletionConfirmation": "a".repeat(64)}),
            &["spec.deletionConfirmation", "Too long"],
        ),
        bad(
            Database,
            "settings.defaultBranch too long",
            json!({"settings": {"defaultBranch": "a".repeat(64)}}),
            &["spec.settings.defaultBranch", "Too long"],
        ),
        bad(
            Database,
            "settings.migrationFramework too long",
            json!({"settings": {"migrationFramework": "a".repeat(65)}}),
            &["spec.settings.migrationFramework", "Too long"],
        ),
        bad(
            Database,
            "settings.migrationTableName too long",
            json!({"settings": {"migrationTableName": "a".repeat(65)}}),
            &["spec.settings.migrationTableName", "Too long"],
        ),
        bad(
            Database,
            "settings.requireApprovalForDeploy not a bool",
            json!({"settings": {"requireApprovalForDeploy": "yes"}}),
            &[
                "spec.settings.requireApprovalForDeploy",
                "must be of type boolean",
            ],
        ),
        bad(
            Database,
            "credentialsRef without a name",
            json!({"credentialsRef": {}}),
            &["spec.credentialsRef.name: Required value"],
        ),
        bad(
            Database,
            "credentialsRef.name not an object name",
            json!({"credentialsRef": {"name": "Team_Token"}}),
            &[
                "spec.credentialsRef.name",
                "name must be a Kubernetes object name",
            ],
        ),
        bad(
            Database,
            "credentialsRef.name too long",
            json!({"credentialsRef": {"name": "c".repeat(254)}}),
            &["spec.credentialsRef.name", "Too long"],
        ),
    ];
    cases.extend(immutables(&pg));
    cases
}

/// Each creation-only field changed, added or removed.
fn immutables(pg: &serde_json::Value) -> Vec<Case> {
    vec![
        bad_update(
            Database,
            "organization changed",
            json!({}),
            json!({"organization": "other"}),
            &["spec.organization", "organization is immutable"],
        ),
        bad_update(
            Database,
            "databaseName changed",
            json!({"databaseName": "a"}),
            json!({"databaseName": "b"}),
            &["spec.databaseName", "databaseName is immutable"],
        ),
        bad_update(
            Database,
            "databaseName added",
            json!({}),
            json!({"databaseName": "b"}),
            &[
                "spec.databaseName",
                "databaseName cannot be added or removed",
            ],
        ),
        bad_update(
            Database,
            "engine changed",
            json!({"engine": "mysql"}),
            json!({"engine": "postgresql"}),
            &["spec.engine", "engine is immutable"],
        ),
        bad_update(
            Database,
            "engine added",
            json!({}),
            json!({"engine": "mysql"}),
            &["spec.engine", "engine cannot be added or removed"],
        ),
        bad_update(
            Database,
            "region changed",
            json!({"region": "us-east"}),
            json!({"region": "eu-west"}),
            &["spec.region", "region is immutable"],
        ),
        bad_update(
            Database,
            "region added",
            json!({}),
            json!({"region": "eu-west"}),
            &["spec.region", "region cannot be added or removed"],
        ),
        bad_update(
            Database,
            "clusterSize changed",
            json!({}),
            json!({"clusterSize": "PS_20"}),
            &["spec.clusterSize", "clusterSize is immutable"],
        ),
        bad_update(
            Database,
            "clusterSize removed",
            json!({"adopt": true}),
            json!({"clusterSize": null}),
            &["spec.clusterSize", "clusterSize cannot be added or removed"],
        ),
        bad_update(
            Database,
            "replicas changed",
            json!({"replicas": 2}),
            json!({"replicas": 3}),
            &["spec.replicas", "replicas is immutable"],
        ),
        bad_update(
            Database,
            "replicas added",
            json!({}),
            json!({"replicas": 2}),
            &["spec.replicas", "replicas cannot be added or removed"],
        ),
        bad_update(
            Database,
            "postgresMajorVersion changed",
            pg.clone(),
            json!({"postgresMajorVersion": "18"}),
            &[
                "spec.postgresMajorVersion",
                "postgresMajorVersion is immutable",
            ],
        ),
        bad_update(
            Database,
            "postgresMajorVersion removed",
            pg.clone(),
            json!({"postgresMajorVersion": null}),
            &[
                "spec.postgresMajorVersion",
                "postgresMajorVersion cannot be added or removed",
            ],
        ),
    ]
}
