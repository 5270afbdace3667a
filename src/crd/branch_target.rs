//! The branch a `PlanetScalePassword` or a `DeployRequest` acts on, in either form: a
//! `PlanetScaleBranch` of the same namespace (`branchRef`), or `organization` + `database` +
//! `branch`. Its fields and CEL rules are defined here once; each kind flattens it into its
//! spec, so the fields sit directly under `spec` and the rules become spec-level rules.
use serde::{Deserialize, Serialize};

use super::common::{BranchRef, immutable_rule, presence_immutable_rule, ps_name_rule, spec_rule};

/// Why the target cannot change: a resource acts on one branch for its whole life.
const FIXED: &str = "the branch is fixed at creation; create another resource for another branch";

/// A PlanetScale branch, named through a `PlanetScaleBranch` or directly.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, kube::KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = spec_rule(
        "has(self.branchRef) || (has(self.organization) && has(self.database) && has(self.branch))",
        "set the branch: either branchRef, or organization, database and branch together"),
    validation = spec_rule(
        "!has(self.branchRef) || !(has(self.organization) || has(self.database) || has(self.branch))",
        "branchRef cannot be combined with organization, database or branch: use one form"),
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

    /// Branch name in PlanetScale (with `organization` and `database`, instead of
    /// `branchRef`). Immutable.
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
