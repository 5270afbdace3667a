//! Custom resource definitions: the API users write YAML against. One file per kind, shared
//! types in [`common`], condition helpers in [`conditions`], durations in [`duration`].
//! [`all`] lists every CRD for `crdgen`.
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub mod backup;
pub mod backup_policy;
pub mod branch;
pub mod branch_status;
pub mod branch_target;
pub mod common;
pub mod conditions;
pub mod database;
pub mod deploy_request;
pub mod deploy_request_status;
pub mod duration;
pub mod kstatus;
pub mod managed;
pub mod password;
pub mod password_postgres;
pub mod password_secret;
pub mod policy;

#[cfg(test)]
mod schema_tests;
mod tidy;

pub use backup::{PlanetScaleBackup, PlanetScaleBackupSpec, PlanetScaleBackupStatus};
pub use branch::{
    PlanetScaleBranch, PlanetScaleBranchSpec, PlanetScaleBranchStatus, RestoreFrom, SeedData,
};
pub use branch_target::{BranchTarget, ExplicitBranch};
pub use common::{
    BackupRef, BranchRef, DatabaseRef, DeletionPolicy, ManagementPolicy, PAUSED_ANNOTATION,
    ROTATE_ANNOTATION, SecretRef, is_paused, rotate_request,
};
pub use conditions::{ConditionStatus, new_condition, set_condition};
pub use database::{PlanetScaleDatabase, PlanetScaleDatabaseSpec, PlanetScaleDatabaseStatus};
pub use deploy_request::{Approval, DeployRequest, DeployRequestSpec};
pub use deploy_request_status::{DeployRequestStatus, LintError, TableDiff, TableOperation};
pub use duration::{DurationError, parse_duration};
pub use managed::{Claim, Foreign, ManagedResource, Recorded};
pub use password::{
    PasswordRole, PendingDeletion, PlanetScalePassword, PlanetScalePasswordSpec,
    PlanetScalePasswordStatus, RestartKind, RestartTarget, password_name,
};
pub use password_secret::{
    CreationPolicy, PasswordRotation, PasswordSecret, SecretFormat, SecretTemplate,
};
pub use policy::PlanetScaleAccessPolicy;

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
        PlanetScaleDatabase::crd(),
        PlanetScaleBackup::crd(),
        PlanetScaleAccessPolicy::crd(),
    ]
    .into_iter()
    .map(|crd| tidy::tidy_crd(&crd))
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
