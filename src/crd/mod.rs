//! Custom resource definitions: the API users write YAML against. One file per kind, shared
//! types in [`common`], condition helpers in [`conditions`], durations in [`duration`].
//! [`all`] lists every CRD for `crdgen`.
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub mod branch;
pub mod common;
pub mod conditions;
pub mod deploy_request;
pub mod deploy_request_status;
pub mod duration;
pub mod password;
pub mod password_secret;

#[cfg(test)]
mod schema_tests;

pub use branch::{PlanetScaleBranch, PlanetScaleBranchSpec, PlanetScaleBranchStatus, SeedData};
pub use common::{
    BranchRef, DeletionPolicy, PAUSED_ANNOTATION, ROTATE_ANNOTATION, SecretRef, is_paused,
    rotate_request,
};
pub use conditions::{ConditionStatus, new_condition, set_condition};
pub use deploy_request::{Approval, DeployRequest, DeployRequestSpec};
pub use deploy_request_status::{DeployRequestStatus, LintError, TableDiff, TableOperation};
pub use duration::{DurationError, parse_duration};
pub use password::{
    PasswordRole, PendingDeletion, PlanetScalePassword, PlanetScalePasswordSpec,
    PlanetScalePasswordStatus, RestartKind, RestartTarget, password_name,
};
pub use password_secret::{
    CreationPolicy, PasswordRotation, PasswordSecret, SecretFormat, SecretTemplate,
};

/// API group of every kind.
pub const GROUP: &str = "planetscale.operator.dev";
/// API version of every kind.
pub const VERSION: &str = "v1alpha1";

/// Every CRD the operator serves, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    [
        PlanetScaleBranch::crd(),
        PlanetScalePassword::crd(),
        DeployRequest::crd(),
    ]
    .into_iter()
    .map(without_nullable)
    .collect()
}

/// The file `crdgen --out-dir` writes a CRD to: `<plural>.<group>.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.{}.yaml", crd.spec.names.plural, crd.spec.group)
}

/// A CRD as one YAML document starting with `---`.
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_norway::Error> {
    Ok(format!("---\n{}", serde_norway::to_string(crd)?))
}

/// Drops `nullable: true` from every schema. The API server then prunes an explicit `null`
/// (e.g. `region: ~`, or an empty Helm value) instead of keeping it, so `null` means "unset"
/// exactly as an omitted field does, and the CEL rules never see a null value.
fn without_nullable(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let mut value = serde_json::to_value(&crd).expect("a CRD serializes to JSON");
    for version in value["spec"]["versions"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        strip_nullable(&mut version["schema"]["openAPIV3Schema"]);
    }
    serde_json::from_value(value).expect("the CRD still deserializes")
}

/// Removes `nullable` from a schema object and the schemas nested in it.
fn strip_nullable(schema: &mut serde_json::Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    obj.remove("nullable");
    if let Some(props) = obj.get_mut("properties").and_then(|p| p.as_object_mut()) {
        props.values_mut().for_each(strip_nullable);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = obj.get_mut(key) {
            strip_nullable(sub);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = obj.get_mut(key).and_then(|l| l.as_array_mut()) {
            list.iter_mut().for_each(strip_nullable);
        }
    }
}
