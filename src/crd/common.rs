//! Types and validation rules shared by every custom resource: references, the deletion
//! policy, the annotations users set, and the CEL rule builders the kinds use.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{Message, Rule};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Annotation that pauses an object: with the value `"true"` the operator makes no change to
/// it, in Kubernetes or in PlanetScale, until the annotation is removed or set to anything else.
pub const PAUSED_ANNOTATION: &str = "planetscale.operator.dev/paused";

/// Annotation on a `PlanetScalePassword`: setting it to a new value (any value that differs
/// from `status.lastRotateRequest`) rotates the password now.
pub const ROTATE_ANNOTATION: &str = "planetscale.operator.dev/rotate";

/// Whether the object carries `planetscale.operator.dev/paused: "true"`.
pub fn is_paused(meta: &ObjectMeta) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(PAUSED_ANNOTATION))
        .is_some_and(|v| v == "true")
}

/// The value of the rotate annotation, when set and not empty.
pub fn rotate_request(meta: &ObjectMeta) -> Option<&str> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(ROTATE_ANNOTATION))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// Pattern of PlanetScale organization, database and branch names.
pub const PS_NAME_PATTERN: &str = "^[a-z0-9][a-z0-9_-]*$";
/// Longest PlanetScale organization, database or branch name accepted.
pub const PS_NAME_MAX: usize = 63;
/// Pattern of a Kubernetes object name (RFC 1123 subdomain).
pub const K8S_NAME_PATTERN: &str =
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// Longest Kubernetes object name.
pub const K8S_NAME_MAX: usize = 253;

/// A reference to a Secret in the same namespace as the resource that names it.
///
/// There is no namespace field: a resource can only ever use a Secret of its own namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, kube::KubeSchema)]
pub struct SecretRef {
    /// Name of the Secret, in the same namespace as this resource.
    #[schemars(length(max = 253))]
    #[x_kube(validation = k8s_name_rule("name"))]
    pub name: String,
}

/// A reference to a `PlanetScaleBranch` in the same namespace as the resource that names it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, kube::KubeSchema)]
pub struct BranchRef {
    /// Name of the `PlanetScaleBranch` resource, in the same namespace as this resource.
    #[schemars(length(max = 253))]
    #[x_kube(validation = k8s_name_rule("name"))]
    pub name: String,
}

/// A reference to a `PlanetScaleDatabase` in the same namespace as the resource that names it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, kube::KubeSchema)]
pub struct DatabaseRef {
    /// Name of the `PlanetScaleDatabase` resource, in the same namespace as this resource.
    #[schemars(length(max = 253))]
    #[x_kube(validation = k8s_name_rule("name"))]
    pub name: String,
}

/// A reference to a `PlanetScaleBackup` in the same namespace as the resource that names it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, kube::KubeSchema)]
pub struct BackupRef {
    /// Name of the `PlanetScaleBackup` resource, in the same namespace as this resource.
    #[schemars(length(max = 253))]
    #[x_kube(validation = k8s_name_rule("name"))]
    pub name: String,
}

/// What happens in PlanetScale when the Kubernetes resource is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the PlanetScale object together with the resource.
    #[default]
    Delete,
    /// Leave the PlanetScale object in place when the resource is deleted.
    Retain,
}

/// Whether the operator changes the PlanetScale object or only reports on it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, update and (per `deletionPolicy`) delete the PlanetScale object.
    #[default]
    Manage,
    /// Only read the existing PlanetScale object and report it in status: never create,
    /// change or delete anything in PlanetScale.
    Observe,
}

/// `#[serde(default)]` helper for `false` flags (keeps the intent visible at the field).
pub(crate) fn default_false() -> bool {
    false
}

/// `#[serde(default)]` helper for `true` flags.
pub(crate) fn default_true() -> bool {
    true
}

/// Schema of an optional enum field: the enum's values without the enum type's description,
/// so that the field's own doc comment is what `kubectl explain` shows.
pub(crate) fn plain_enum<T: JsonSchema>(
    generator: &mut schemars::SchemaGenerator,
) -> schemars::Schema {
    let mut schema = T::json_schema(generator);
    schema.remove("description");
    schema
}

fn rule(expr: impl Into<String>, message: String) -> Rule {
    Rule::new(expr).message(Message::Message(message))
}

/// `field` must be a PlanetScale organization/database/branch name.
pub(crate) fn ps_name_rule(field: &str) -> Rule {
    rule(
        format!("self.matches('{PS_NAME_PATTERN}')"),
        format!(
            "{field} must be a PlanetScale name: lowercase letters, digits, '-' and '_', \
             starting with a letter or digit"
        ),
    )
}

/// `field` must be a Kubernetes object name.
pub(crate) fn k8s_name_rule(field: &str) -> Rule {
    rule(
        format!("self.matches('{K8S_NAME_PATTERN}')"),
        format!(
            "{field} must be a Kubernetes object name: lowercase letters, digits, '-' and '.', \
             starting and ending with a letter or digit"
        ),
    )
}

/// `field` must match `pattern`; `what` describes the accepted form to the user.
pub(crate) fn pattern_rule(field: &str, pattern: &str, what: &str) -> Rule {
    rule(
        format!("self.matches('{pattern}')"),
        format!("{field} must be {what}"),
    )
}

/// The field's value cannot change once set. `why` tells the user what to do instead.
pub(crate) fn immutable_rule(field: &str, why: &str) -> Rule {
    rule("self == oldSelf", format!("{field} is immutable: {why}"))
}

/// Spec-level rule: the optional `field` can be neither added nor removed after creation.
pub(crate) fn presence_immutable_rule(field: &str, why: &str) -> Rule {
    rule(
        format!("has(self.{field}) == has(oldSelf.{field})"),
        format!("{field} cannot be added or removed after creation: {why}"),
    )
    .field_path(format!(".{field}"))
}

/// A spec-level rule with its message.
pub(crate) fn spec_rule(expr: &str, message: &str) -> Rule {
    rule(expr, message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(annotations: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            annotations: Some(
                annotations
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn paused_only_with_true() {
        assert!(is_paused(&meta(&[(PAUSED_ANNOTATION, "true")])));
        assert!(!is_paused(&meta(&[(PAUSED_ANNOTATION, "false")])));
        assert!(!is_paused(&meta(&[(PAUSED_ANNOTATION, "yes")])));
        assert!(!is_paused(&meta(&[])));
        assert!(!is_paused(&ObjectMeta::default()));
    }

    #[test]
    fn rotate_request_ignores_empty() {
        assert_eq!(
            rotate_request(&meta(&[(ROTATE_ANNOTATION, "2024-01-01")])),
            Some("2024-01-01")
        );
        assert_eq!(rotate_request(&meta(&[(ROTATE_ANNOTATION, "")])), None);
        assert_eq!(rotate_request(&ObjectMeta::default()), None);
    }

    #[test]
    fn deletion_policy_defaults_to_delete() {
        assert_eq!(DeletionPolicy::default(), DeletionPolicy::Delete);
        assert_eq!(
            serde_json::to_string(&DeletionPolicy::Retain).unwrap(),
            "\"Retain\""
        );
    }
}
