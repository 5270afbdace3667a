//! Invalid `PlanetScalePassword` manifests. Base: branchRef pr-1, role readwriter.
use serde_json::json;

use crate::case::{Case, Kind::Password, bad, bad_update};

fn explicit() -> serde_json::Value {
    json!({"branchRef": null, "organization": "acme", "database": "shop", "branch": "main"})
}

pub fn cases() -> Vec<Case> {
    let many_cidrs: Vec<String> = (0..33).map(|i| format!("10.0.{i}.0/24")).collect();
    vec![
        bad(
            Password,
            "no target",
            json!({"branchRef": null}),
            &["set the target: either branchRef, or organization, database and branch together"],
        ),
        bad(
            Password,
            "branchRef and explicit target",
            json!({"organization": "acme", "database": "shop", "branch": "main"}),
            &["branchRef cannot be combined with organization, database or branch"],
        ),
        bad(
            Password,
            "explicit target without branch",
            json!({"branchRef": null, "organization": "acme", "database": "shop"}),
            &["set the target: either branchRef, or organization, database and branch together"],
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
            "secret creationPolicy not an enum value",
            json!({"secret": {"creationPolicy": "Adopt"}}),
            &["spec.secret.creationPolicy", "Unsupported value", "Merge"],
        ),
        bad(
            Password,
            "unknown secret format",
            json!({"secret": {"formats": ["yaml"]}}),
            &[
                "spec.secret.formats[0]",
                "Unsupported value",
                "go-sql-driver",
            ],
        ),
        bad(
            Password,
            "secret format twice",
            json!({"secret": {"formats": ["prisma", "prisma"]}}),
            &["spec.secret.formats[1]", "Duplicate value"],
        ),
        bad(
            Password,
            "secret name with capitals",
            json!({"secret": {"name": "App_DB"}}),
            &[
                "spec.secret.name",
                "secret.name must be a Kubernetes object name",
            ],
        ),
        bad(
            Password,
            "template key with a space",
            json!({"secret": {"template": {"data": {"bad key": "{{ host }}"}}}}),
            &[
                "spec.secret.template.data",
                "template.data keys must be valid Secret keys",
            ],
        ),
        bad(
            Password,
            "label value with a space",
            json!({"secret": {"labels": {"team": "data platform"}}}),
            &["spec.secret.labels.team", "should match"],
        ),
        bad(
            Password,
            "rotation interval in words",
            json!({"rotation": {"interval": "monthly"}}),
            &[
                "spec.rotation.interval",
                "rotation.interval must be a duration such as",
            ],
        ),
        bad(
            Password,
            "grace period over a week",
            json!({"rotation": {"gracePeriod": "200h"}}),
            &[
                "spec.rotation.gracePeriod",
                "rotation.gracePeriod must be between 0s and 168h",
            ],
        ),
        bad(
            Password,
            "interval shorter than grace period",
            json!({"rotation": {"interval": "5m", "gracePeriod": "10m"}}),
            &[
                "spec.rotation",
                "rotation.interval must be longer than rotation.gracePeriod",
            ],
        ),
        bad(
            Password,
            "restart target kind DaemonSet",
            json!({"restartOnRotation": [{"kind": "DaemonSet", "name": "app"}]}),
            &[
                "spec.restartOnRotation[0].kind",
                "Unsupported value",
                "StatefulSet",
            ],
        ),
        bad(
            Password,
            "restart target listed twice",
            json!({"restartOnRotation": [{"kind": "Deployment", "name": "app"}, {"kind": "Deployment", "name": "app"}]}),
            &["spec.restartOnRotation[1]", "Duplicate value"],
        ),
        bad(
            Password,
            "restart target without name",
            json!({"restartOnRotation": [{"kind": "Deployment"}]}),
            &["spec.restartOnRotation[0].name: Required value"],
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
            "cidr longer than any address",
            json!({"cidrs": [format!("{}/64", "1".repeat(44))]}),
            &["spec.cidrs[0]", "Too long"],
        ),
        bad(
            Password,
            "rotation interval under a minute",
            json!({"rotation": {"interval": "30s", "gracePeriod": "0s"}}),
            &[
                "spec.rotation.interval",
                "rotation.interval must be between 1m and 8760h",
            ],
        ),
        bad(
            Password,
            "grace period in words",
            json!({"rotation": {"gracePeriod": "ten minutes"}}),
            &[
                "spec.rotation.gracePeriod",
                "rotation.gracePeriod must be a duration such as",
            ],
        ),
        bad(
            Password,
            "annotation key too long",
            json!({"secret": {"annotations": {"a".repeat(317): "x"}}}),
            &[
                "spec.secret.annotations",
                "secret.annotations keys must be at most 316 characters",
            ],
        ),
        bad(
            Password,
            "label key too long",
            json!({"secret": {"labels": {"l".repeat(317): "x"}}}),
            &[
                "spec.secret.labels",
                "secret.labels keys must be at most 316 characters",
            ],
        ),
        bad(
            Password,
            "template value too long",
            json!({"secret": {"template": {"data": {"big": "x".repeat(8193)}}}}),
            &["spec.secret.template.data.big", "Too long"],
        ),
        bad(
            Password,
            "33 template entries",
            json!({"secret": {"template": {"data": (0..33).map(|i| (format!("k{i}"), json!("{{ host }}"))).collect::<serde_json::Map<_, _>>()}}}),
            &["spec.secret.template.data", "Too many"],
        ),
        bad(
            Password,
            "restart target name not an object name",
            json!({"restartOnRotation": [{"kind": "Deployment", "name": "My_App"}]}),
            &[
                "spec.restartOnRotation[0].name",
                "restartOnRotation name must be a Kubernetes object name",
            ],
        ),
        bad(
            Password,
            "17 restart targets",
            json!({"restartOnRotation": (0..17).map(|i| json!({"kind": "Deployment", "name": format!("app-{i}")})).collect::<Vec<_>>()}),
            &["spec.restartOnRotation", "Too many"],
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
    ]
}
