//! Invalid `PlanetScaleDatabase` manifests. Base: organization acme, clusterSize PS_10.
use serde_json::json;

use crate::case::{Case, Kind::Database, bad, bad_update};

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
