//! Invalid `PlanetScalePassword` manifests: the target and the password's own settings. Base:
//! branchRef pr-1, role readwriter. The Secret, rotation and restart settings are in
//! password_secret.rs.
use serde_json::json;

use crate::case::{Case, Kind::Password, bad, bad_update};

fn explicit() -> serde_json::Value {
    json!({"branchRef": null, "organization": "acme", "database": "shop", "branch": "main"})
}

pub fn cases() -> Vec<Case> {
    let mut cases = target_cases();
    cases.extend(settings_cases());
    cases.extend(postgres_cases());
    cases
}

/// Where the password is made: the two forms of target, their names and their immutability.
fn target_cases() -> Vec<Case> {
    let long = "a".repeat(64);
    let explicit_with = |field: &str, value: &str| {
        let mut spec = explicit();
        spec[field] = json!(value);
        spec
    };
    vec![
        bad(
            Password,
            "explicit target without branch",
            json!({"branchRef": null, "organization": "acme", "database": "shop"}),
            &["set the branch: either branchRef, or organization, database and branch together"],
        ),
        bad(
            Password,
            "branchRef name not an object name",
            json!({"branchRef": {"name": "PR_1"}}),
            &[
                "spec.branchRef.name",
                "name must be a Kubernetes object name",
            ],
        ),
        bad(
            Password,
            "organization with a dot",
            json!({"branchRef": null, "organization": "acme.io", "database": "shop", "branch": "main"}),
            &[
                "spec.organization",
                "organization must be a PlanetScale name",
            ],
        ),
        bad(
            Password,
            "database with capitals",
            json!({"branchRef": null, "organization": "acme", "database": "Shop", "branch": "main"}),
            &["spec.database", "database must be a PlanetScale name"],
        ),
        bad(
            Password,
            "branch name too long",
            json!({"branchRef": null, "organization": "acme", "database": "shop", "branch": "b".repeat(64)}),
            &["spec.branch", "Too long"],
        ),
        bad(
            Password,
            "credentialsRef name not an object name",
            json!({"credentialsRef": {"name": "Creds!"}}),
            &[
                "spec.credentialsRef.name",
                "name must be a Kubernetes object name",
            ],
        ),
        bad(
            Password,
            "no spec at all",
            serde_json::Value::Null,
            &["spec: Required value"],
        ),
        bad(
            Password,
            "no target",
            json!({"branchRef": null}),
            &[
                "spec: Invalid value",
                "set the branch: either branchRef, or organization, database and branch together",
            ],
        ),
        bad(
            Password,
            "branchRef and explicit target",
            json!({"organization": "acme", "database": "shop", "branch": "main"}),
            &[
                "spec: Invalid value",
                "branchRef cannot be combined with organization, database or branch",
            ],
        ),
        bad(
            Password,
            "branch with '!'",
            explicit_with("branch", "main!"),
            &["spec.branch", "branch must be a PlanetScale name"],
        ),
        bad(
            Password,
            "organization of 64 characters",
            explicit_with("organization", &long),
            &["spec.organization", "Too long"],
        ),
        bad(
            Password,
            "database of 64 characters",
            explicit_with("database", &long),
            &["spec.database", "Too long"],
        ),
        bad(
            Password,
            "branchRef without name",
            json!({"branchRef": {"name": null}}),
            &["spec.branchRef.name: Required value"],
        ),
        bad(
            Password,
            "branchRef name of 254 characters",
            json!({"branchRef": {"name": "b".repeat(254)}}),
            &["spec.branchRef.name", "Too long"],
        ),
        bad(
            Password,
            "credentialsRef without name",
            json!({"credentialsRef": {}}),
            &["spec.credentialsRef.name: Required value"],
        ),
        bad(
            Password,
            "credentialsRef name of 254 characters",
            json!({"credentialsRef": {"name": "c".repeat(254)}}),
            &["spec.credentialsRef.name", "Too long"],
        ),
        bad_update(
            Password,
            "organization changed",
            explicit(),
            json!({"organization": "other"}),
            &["spec.organization", "organization is immutable"],
        ),
        bad_update(
            Password,
            "branchRef changed",
            json!({}),
            json!({"branchRef": {"name": "pr-2"}}),
            &["spec.branchRef", "branchRef is immutable"],
        ),
        bad_update(
            Password,
            "target switched to the explicit form",
            json!({}),
            explicit(),
            &["spec.branchRef", "branchRef cannot be added or removed"],
        ),
        bad_update(
            Password,
            "branch changed",
            explicit(),
            json!({"branch": "dev"}),
            &["spec.branch", "branch is immutable"],
        ),
        bad_update(
            Password,
            "database changed",
            explicit(),
            json!({"database": "other"}),
            &["spec.database", "database is immutable"],
        ),
        bad_update(
            Password,
            "organization removed",
            explicit(),
            json!({"organization": null}),
            &[
                "spec.organization",
                "organization cannot be added or removed",
            ],
        ),
        bad_update(
            Password,
            "database added to a branchRef target",
            json!({}),
            json!({"database": "shop"}),
            &["spec.database", "database cannot be added or removed"],
        ),
        bad_update(
            Password,
            "branch removed",
            explicit(),
            json!({"branch": null}),
            &["spec.branch", "branch cannot be added or removed"],
        ),
    ]
}

/// Role, lifetime, address ranges, replica and deletion policy.
fn settings_cases() -> Vec<Case> {
    let many_cidrs: Vec<String> = (0..33).map(|i| format!("10.0.{i}.0/24")).collect();
    let too_long_duration = "1m".repeat(17);
    vec![
        bad(
            Password,
            "role not an enum value",
            json!({"role": "owner"}),
            &["spec.role", "Unsupported value", "readwriter"],
        ),
        bad(
            Password,
            "ttl in days",
            json!({"ttl": "7d"}),
            &["spec.ttl", "ttl must be a duration such as"],
        ),
        bad(
            Password,
            "ttl negative",
            json!({"ttl": "-1h"}),
            &["spec.ttl", "ttl must be a duration such as"],
        ),
        bad(
            Password,
            "ttl too short",
            json!({"ttl": "10s"}),
            &["spec.ttl", "ttl must be between 1m and 8760h"],
        ),
        bad(
            Password,
            "ttl absurdly long",
            json!({"ttl": "100000h"}),
            &["spec.ttl", "ttl must be between 1m and 8760h"],
        ),
        bad(
            Password,
            "cidr with prefix 33",
            json!({"cidrs": ["10.0.0.0/33"]}),
            &["spec.cidrs", "cidrs must be IP ranges in CIDR notation"],
        ),
        bad(
            Password,
            "cidr not an address",
            json!({"cidrs": ["office"]}),
            &["spec.cidrs", "cidrs must be IP ranges in CIDR notation"],
        ),
        bad(
            Password,
            "33 cidrs",
            json!({"cidrs": many_cidrs}),
            &["spec.cidrs", "Too many"],
        ),
        bad(
            Password,
            "replica as a string",
            json!({"replica": "no"}),
            &["spec.replica", "must be of type boolean"],
        ),
        bad(
            Password,
            "deletionPolicy lowercase",
            json!({"deletionPolicy": "retain"}),
            &["spec.deletionPolicy", "Unsupported value"],
        ),
        bad(
            Password,
            "cidr longer than any address",
            json!({"cidrs": [format!("{}/64", "1".repeat(44))]}),
            &["spec.cidrs[0]", "Too long"],
        ),
        bad(
            Password,
            "ttl of 34 characters",
            json!({"ttl": too_long_duration}),
            &["spec.ttl", "Too long"],
        ),
    ]
}

/// The `postgres` block: inherited roles, successor, `WHERE` rules.
fn postgres_cases() -> Vec<Case> {
    let pg = |block: serde_json::Value| json!({"postgres": block});
    let thirteen: Vec<String> = (0..13).map(|_| "pg_monitor".to_string()).collect();
    vec![
        bad(
            Password,
            "inherited role not a Postgres predefined role",
            pg(json!({"inheritedRoles": ["pg_owner"]})),
            &[
                "spec.postgres.inheritedRoles[0]",
                "Unsupported value",
                "pg_read_all_data",
            ],
        ),
        bad(
            Password,
            "thirteen inherited roles",
            pg(json!({"inheritedRoles": thirteen})),
            &["spec.postgres.inheritedRoles", "Too many"],
        ),
        bad(
            Password,
            "no inherited roles",
            pg(json!({"inheritedRoles": []})),
            &["spec.postgres.inheritedRoles", "should have at least"],
        ),
        bad(
            Password,
            "an inherited role twice",
            pg(json!({"inheritedRoles": ["pg_monitor", "pg_monitor"]})),
            &["spec.postgres.inheritedRoles[1]", "Duplicate value"],
        ),
        bad(
            Password,
            "requireWhereOnDelete not off, warn or on",
            pg(json!({"requireWhereOnDelete": "yes"})),
            &["spec.postgres.requireWhereOnDelete", "Unsupported value"],
        ),
        bad(
            Password,
            "requireWhereOnUpdate not off, warn or on",
            pg(json!({"requireWhereOnUpdate": true})),
            &["spec.postgres.requireWhereOnUpdate", "Unsupported value"],
        ),
        bad(
            Password,
            "successor of 254 characters",
            pg(json!({"successor": "r".repeat(254)})),
            &["spec.postgres.successor", "Too long"],
        ),
        bad(
            Password,
            "empty successor",
            pg(json!({"successor": ""})),
            &["spec.postgres.successor", "should be at least"],
        ),
    ]
}
