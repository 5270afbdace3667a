//! The branch a `PlanetScalePassword`, a `DeployRequest` or a `PlanetScaleBackup` acts on, in
//! one of three forms: a `PlanetScaleBranch` of the same namespace (`branchRef`),
//! `organization` + `database` + `branch`, or a `PlanetScaleDatabase` of the same namespace
//! (`databaseRef`) + `branch`. Its fields and CEL rules are defined here once; each kind flattens it into its
//! spec, so the fields sit directly under `spec` and the rules become spec-level rules.
use serde::{Deserialize, Serialize};

use super::common::{
    BranchRef, DatabaseRef, immutable_rule, presence_immutable_rule, ps_name_rule, spec_rule,
};

/// Why the target cannot change: a resource acts on one branch for its whole life.
const FIXED: &str = "the branch is fixed at creation; create another resource for another branch";

/// A PlanetScale branch, named through a `PlanetScaleBranch` or directly.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, kube::KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = spec_rule(
        "has(self.branchRef) || (has(self.organization) && has(self.database) && has(self.branch)) \
         || (has(self.databaseRef) && has(self.branch))",
        "set the branch: either branchRef, or organization, database and branch together, or databaseRef and branch"),
    validation = spec_rule(
        "!has(self.branchRef) || !(has(self.organization) || has(self.database) || has(self.branch) || has(self.databaseRef))",
        "branchRef cannot be combined with organization, database or branch (nor databaseRef): use one form"),
    validation = spec_rule(
        "!has(self.databaseRef) || !(has(self.organization) || has(self.database))",
        "databaseRef cannot be combined with organization or database: the PlanetScaleDatabase names them"),
    validation = presence_immutable_rule("databaseRef", FIXED),
    validation = presence_immutable_rule("branchRef", FIXED),
    validation = presence_immutable_rule("organization", FIXED),
    validation = presence_immutable_rule("database", FIXED),
    validation = presence_immutable_rule("branch", FIXED),
)]
pub struct BranchTarget {
    /// The `PlanetScaleBranch` (in this namespace) to act on; the operator waits until it is
    /// Ready. Either this, or `organization` + `database` + `branch`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = immutable_rule("branchRef", FIXED))]
    pub branch_ref: Option<BranchRef>,

    /// The `PlanetScaleDatabase` (in this namespace) whose organization and database to use,
    /// with `branch`; the operator waits until it is Ready. Instead of `organization` +
    /// `database`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = immutable_rule("databaseRef", FIXED))]
    pub database_ref: Option<DatabaseRef>,

    /// PlanetScale organization (with `database` and `branch`, instead of `branchRef`).
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = ps_name_rule("organization"),
        validation = immutable_rule("organization", FIXED)
    )]
    pub organization: Option<String>,

    /// Database (with `organization` and `branch`, instead of `branchRef`). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = ps_name_rule("database"),
        validation = immutable_rule("database", FIXED)
    )]
    pub database: Option<String>,

    /// Branch name in PlanetScale (with `organization` and `database`, or with
    /// `databaseRef`; instead of `branchRef`). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = ps_name_rule("branch"),
        validation = immutable_rule("branch", FIXED)
    )]
    pub branch: Option<String>,
}

/// A branch named directly: organization, database and branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExplicitBranch<'a> {
    pub organization: &'a str,
    pub database: &'a str,
    pub branch: &'a str,
}

impl BranchTarget {
    /// `organization` + `database` + `branch`, when all three are set (admission guarantees
    /// that they are, unless `branchRef` is).
    pub fn explicit(&self) -> Option<ExplicitBranch<'_>> {
        Some(ExplicitBranch {
            organization: self.organization.as_deref()?,
            database: self.database.as_deref()?,
            branch: self.branch.as_deref()?,
        })
    }
}
