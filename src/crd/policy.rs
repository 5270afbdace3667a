//! `PlanetScaleAccessPolicy`: what a cluster admin lets namespaces do through the operator.
//!
//! Cluster-scoped, so only who may write cluster-scoped objects (a cluster admin, not a
//! namespace user) writes one. Every resource of every kind must be allowed by one rule of
//! one policy before the operator makes any PlanetScale call for it; with no policy nothing
//! is served. A rule names namespaces (by name or label selector, like External Secrets'
//! `ClusterSecretStore` conditions), the credentials they may use (the operator's default
//! credentials and/or `credentialsRef` Secrets by name pattern), the organizations,
//! databases and branches (glob patterns), the password roles, and what may be done to
//! production branches. The decision itself is [`crate::policy`].
use std::collections::BTreeMap;

use kube::CustomResource;
use kube::core::{Expression, Selector};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::PasswordRole;
use super::common::{pattern_rule, spec_rule};
use super::password_secret::LabelValue;

/// Pattern of a rule name (a DNS label: it is shown in conditions and events).
const RULE_NAME_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// Pattern of a glob over PlanetScale names: the name characters plus `*` and `?`.
const PS_GLOB_PATTERN: &str = "^[a-z0-9_*?-]+$";
/// Pattern of a glob over Kubernetes Secret names.
const SECRET_GLOB_PATTERN: &str = "^[a-z0-9.*?-]+$";

/// Which namespaces may use which PlanetScale credentials for what. Cluster-scoped: written
/// by a cluster admin. A resource is served when one rule of one policy allows all of it.
#[derive(CustomResource, kube::KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "planetscale.operator.dev",
    version = "v1alpha1",
    kind = "PlanetScaleAccessPolicy",
    plural = "planetscaleaccesspolicies",
    shortname = "psap",
    category = "planetscale",
    derive = "PartialEq",
    doc = "Which namespaces may use which PlanetScale credentials, for which organizations, databases, branches and roles (cluster-scoped, written by a cluster admin).",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = spec_rule(
    "self.rules.all(r, self.rules.exists_one(o, o.name == r.name))",
    "rule names must be unique within a policy: conditions and events name the rule"
))]
pub struct PlanetScaleAccessPolicySpec {
    /// The rules. A resource is allowed when one rule (of any policy) allows everything it
    /// asks for; otherwise it gets `Ready=False` reason `PolicyDenied`.
    #[schemars(length(min = 1, max = 64))]
    pub rules: Vec<AccessRule>,
}

/// One allowance: these namespaces, these credentials, these targets, these roles.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, kube::KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessRule {
    /// Name of the rule, shown in the conditions and events of the resources it refuses.
    #[schemars(length(min = 1, max = 63))]
    #[x_kube(validation = pattern_rule(
        "name",
        RULE_NAME_PATTERN,
        "a DNS label (lowercase letters, digits and '-')"
    ))]
    pub name: String,

    /// The namespaces this rule serves.
    pub namespaces: NamespaceSelector,

    /// The credentials these namespaces may use.
    pub credentials: CredentialsSelector,

    /// PlanetScale organizations, as glob patterns (`*` any run of characters, `?` one).
    #[schemars(
        length(min = 1, max = 32),
        inner(length(min = 1, max = 63), pattern(PS_GLOB_PATTERN))
    )]
    pub organizations: Vec<String>,

    /// Databases, as glob patterns. Default: every database of those organizations.
    #[serde(default = "any")]
    #[schemars(
        length(min = 1, max = 32),
        inner(length(min = 1, max = 63), pattern(PS_GLOB_PATTERN))
    )]
    pub databases: Vec<String>,

    /// Branches, as glob patterns. Default: every branch of those databases.
    #[serde(default = "any")]
    #[schemars(
        length(min = 1, max = 32),
        inner(length(min = 1, max = 63), pattern(PS_GLOB_PATTERN))
    )]
    pub branches: Vec<String>,

    /// The roles a `PlanetScalePassword` may ask for. Default: `reader`, `writer` and
    /// `readwriter`; `admin` (DDL) must be listed explicitly.
    #[serde(default = "default_roles")]
    #[schemars(length(max = 4))]
    pub password_roles: Vec<PasswordRole>,

    /// What may be done to production branches and databases. Default: nothing (no
    /// adoption, deletion, promotion, passwords, or database deletion).
    #[serde(default)]
    pub production: ProductionAccess,
}

/// Namespaces by name and/or by labels; a namespace matching either is served.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, kube::KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = spec_rule(
    "size(self.names) > 0 || has(self.selector)",
    "list namespaces in names or select them with selector (an empty selector {} selects every namespace)"
))]
pub struct NamespaceSelector {
    /// Namespace names (exact).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(min = 1, max = 63)))]
    pub names: Vec<String>,

    /// Namespaces whose labels match this selector (`{}` selects every namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// A label selector, as in every Kubernetes API: all of `matchLabels` and all of
/// `matchExpressions` must hold.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels the namespace must carry with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 16))]
    pub match_labels: BTreeMap<String, LabelValue>,

    /// Requirements on the namespace's labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub match_expressions: Vec<LabelRequirement>,
}

/// One requirement on a label.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelRequirement {
    /// The label key.
    #[schemars(length(min = 1, max = 317))]
    pub key: String,
    /// How the label relates to `values`.
    pub operator: LabelOperator,
    /// The values for `In` and `NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(max = 63)))]
    pub values: Vec<String>,
}

/// The operator of a [`LabelRequirement`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum LabelOperator {
    /// The label has one of `values`.
    In,
    /// The label is absent or has none of `values`.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

impl LabelSelector {
    /// Whether it selects every namespace (`{}`), whatever its labels.
    pub fn selects_all(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// The selector as kube matches it.
    pub fn to_selector(&self) -> Selector {
        let labels = self
            .match_labels
            .iter()
            .map(|(k, v)| Expression::Equal(k.clone(), v.0.clone()));
        let requirements = self.match_expressions.iter().map(|r| {
            let values = r.values.iter().cloned().collect();
            let key = r.key.clone();
            match r.operator {
                LabelOperator::In => Expression::In(key, values),
                LabelOperator::NotIn => Expression::NotIn(key, values),
                LabelOperator::Exists => Expression::Exists(key),
                LabelOperator::DoesNotExist => Expression::DoesNotExist(key),
            }
        });
        let mut selector = Selector::default();
        selector.extend(labels.chain(requirements));
        selector
    }
}

/// Credentials: the operator's default ones, and/or Secrets named in `spec.credentialsRef`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, kube::KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = spec_rule(
    "self.default || size(self.secrets) > 0",
    "allow the default credentials (default: true) or some credentialsRef Secrets (secrets)"
))]
pub struct CredentialsSelector {
    /// Whether the operator's default credentials may be used (resources without
    /// `spec.credentialsRef`).
    #[serde(default)]
    pub default: bool,

    /// Names (glob patterns) of the Secrets, in the resource's own namespace, that
    /// `spec.credentialsRef` may name. `["*"]`: any Secret of the namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 32),
        inner(length(min = 1, max = 253), pattern(SECRET_GLOB_PATTERN))
    )]
    pub secrets: Vec<String>,
}

/// What may be done to production branches, and to whole databases; everything defaults to
/// `false`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductionAccess {
    /// Take over (`adopt: true`) a branch that is a production branch in PlanetScale.
    #[serde(default)]
    pub adopt: bool,
    /// Delete a production branch in PlanetScale when its `PlanetScaleBranch` is deleted.
    #[serde(default)]
    pub delete: bool,
    /// Promote a branch to production (`production: true`).
    #[serde(default)]
    pub promote: bool,
    /// Create passwords on a production branch.
    #[serde(default)]
    pub passwords: bool,
    /// Delete a whole database (a `PlanetScaleDatabase` with `deletionPolicy: Delete` and
    /// its confirmation), production branches and all. Without it such a deletion is
    /// blocked and the database stays.
    #[serde(default)]
    pub delete_databases: bool,
}

fn any() -> Vec<String> {
    vec!["*".into()]
}

fn default_roles() -> Vec<PasswordRole> {
    vec![
        PasswordRole::Reader,
        PasswordRole::Writer,
        PasswordRole::Readwriter,
    ]
}
