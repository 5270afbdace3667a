//! Invalid Secret, rotation and restart settings of a `PlanetScalePassword`. Base: branchRef
//! pr-1, role readwriter.
use serde_json::json;

use crate::case::{Case, Kind::Password, bad};

pub fn cases() -> Vec<Case> {
    let entries = |n: usize| {
        (0..n)
            .map(|i| (format!("k{i}"), json!("v")))
            .collect::<serde_json::Map<_, _>>()
    };
    let too_long_duration = "1m".repeat(17);
    vec![
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
                "secret.annotations keys must be Kubernetes label keys",
            ],
        ),
        bad(
            Password,
            "label key too long",
            json!({"secret": {"labels": {"l".repeat(317): "x"}}}),
            &[
                "spec.secret.labels",
                "secret.labels keys must be Kubernetes label keys",
            ],
        ),
        bad(
            Password,
            "label key with a space",
            json!({"secret": {"labels": {"team name": "x"}}}),
            &[
                "spec.secret.labels",
                "secret.labels keys must be Kubernetes label keys",
            ],
        ),
        bad(
            Password,
            "label key of two slashes",
            json!({"secret": {"labels": {"example.com/a/b": "x"}}}),
            &[
                "spec.secret.labels",
                "secret.labels keys must be Kubernetes label keys",
            ],
        ),
        bad(
            Password,
            "label key name of 64 characters",
            json!({"secret": {"labels": {"n".repeat(64): "x"}}}),
            &[
                "spec.secret.labels",
                "secret.labels keys must be Kubernetes label keys",
            ],
        ),
        bad(
            Password,
            "label key prefix of 254 characters",
            json!({"secret": {"labels": {format!("{}/x", "p".repeat(254)): "x"}}}),
            &[
                "spec.secret.labels",
                "secret.labels keys must be Kubernetes label keys",
            ],
        ),
        bad(
            Password,
            "label key prefix not a DNS name",
            json!({"secret": {"labels": {"Example.com/team": "x"}}}),
            &[
                "spec.secret.labels",
                "secret.labels keys must be Kubernetes label keys",
            ],
        ),
        bad(
            Password,
            "label key ending in a dot",
            json!({"secret": {"labels": {"team.": "x"}}}),
            &[
                "spec.secret.labels",
                "secret.labels keys must be Kubernetes label keys",
            ],
        ),
        bad(
            Password,
            "empty label key",
            json!({"secret": {"labels": {"": "x"}}}),
            &[
                "spec.secret.labels",
                "secret.labels keys must be Kubernetes label keys",
            ],
        ),
        bad(
            Password,
            "annotation key with a colon",
            json!({"secret": {"annotations": {"example.com:team": "x"}}}),
            &[
                "spec.secret.annotations",
                "secret.annotations keys must be Kubernetes label keys",
            ],
        ),
        bad(
            Password,
            "annotation key with an empty name",
            json!({"secret": {"annotations": {"example.com/": "x"}}}),
            &[
                "spec.secret.annotations",
                "secret.annotations keys must be Kubernetes label keys",
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
            "secret name of 254 characters",
            json!({"secret": {"name": "s".repeat(254)}}),
            &["spec.secret.name", "Too long"],
        ),
        bad(
            Password,
            "33 labels",
            json!({"secret": {"labels": entries(33)}}),
            &["spec.secret.labels", "Too many"],
        ),
        bad(
            Password,
            "33 annotations",
            json!({"secret": {"annotations": entries(33)}}),
            &["spec.secret.annotations", "Too many"],
        ),
        bad(
            Password,
            "label value of 64 characters",
            json!({"secret": {"labels": {"team": "t".repeat(64)}}}),
            &["spec.secret.labels.team", "Too long"],
        ),
        bad(
            Password,
            "annotation value of 4097 characters",
            json!({"secret": {"annotations": {"note": "n".repeat(4097)}}}),
            &["spec.secret.annotations.note", "Too long"],
        ),
        bad(
            Password,
            "nine formats (one twice)",
            json!({"secret": {"formats": ["mysql-url", "postgresql-url", "prisma", "go-sql-driver", "jdbc", "rails", "laravel", "env", "env"]}}),
            &["spec.secret.formats", "Too many"],
        ),
        bad(
            Password,
            "rotation interval of 34 characters",
            json!({"rotation": {"interval": too_long_duration}}),
            &["spec.rotation.interval", "Too long"],
        ),
        bad(
            Password,
            "grace period of 34 characters",
            json!({"rotation": {"gracePeriod": too_long_duration}}),
            &["spec.rotation.gracePeriod", "Too long"],
        ),
        bad(
            Password,
            "restart target without kind",
            json!({"restartOnRotation": [{"name": "app"}]}),
            &["spec.restartOnRotation[0].kind: Required value"],
        ),
        bad(
            Password,
            "restart target name of 254 characters",
            json!({"restartOnRotation": [{"kind": "Deployment", "name": "a".repeat(254)}]}),
            &["spec.restartOnRotation[0].name", "Too long"],
        ),
    ]
}
