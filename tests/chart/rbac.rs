//! The chart's RBAC rules, flattened, and the verbs the operator actually uses.
use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::render::{of_kind, strings};

/// The kinds the operator reconciles (plural resource names).
const KINDS: [&str; 5] = [
    "planetscalebranches",
    "planetscalepasswords",
    "deployrequests",
    "planetscaledatabases",
    "planetscalebackups",
];

/// What the operator calls, as (API group, resource, verb). Anything else is refused, and
/// `tests/rbac_audit.rs` checks this list against the API server's audit log of a real run.
pub fn needed() -> Vec<(String, String, String)> {
    let mut out = vec![];
    let mut add = |group: &str, resources: &[String], verbs: &[&str]| {
        for r in resources {
            for v in verbs {
                out.push((group.to_owned(), r.clone(), (*v).to_owned()));
            }
        }
    };
    let kinds = |suffix: &str| KINDS.map(|k| format!("{k}{suffix}")).to_vec();
    let one = |r: &str| vec![r.to_owned()];
    // Finalizers go on and off by JSON patch; status by server-side apply.
    add(
        "planetscale.operator.dev",
        &kinds(""),
        &["get", "list", "watch", "patch"],
    );
    add("planetscale.operator.dev", &kinds("/status"), &["patch"]);
    // Written by server-side apply; an apply that creates the Secret also needs `create`. The
    // password Secrets' owner reference does not block the owner's deletion, so no
    // `/finalizers` grant.
    add(
        "",
        &one("secrets"),
        &["get", "list", "watch", "create", "patch", "delete"],
    );
    add("events.k8s.io", &one("events"), &["create", "patch"]);
    add(
        "apps",
        &["deployments".into(), "statefulsets".into()],
        &["get", "patch"],
    );
    add(
        "apiextensions.k8s.io",
        &one("customresourcedefinitions"),
        &["get"],
    );
    // The access policies (a cluster-wide watch) and a namespace's labels (rules that select
    // namespaces by label).
    add(
        "planetscale.operator.dev",
        &one("planetscaleaccesspolicies"),
        &["list", "watch"],
    );
    add("", &one("namespaces"), &["get"]);
    add(
        "coordination.k8s.io",
        &one("leases"),
        &["get", "create", "update"],
    );
    out
}

/// One rule of a Role or ClusterRole.
#[derive(Debug)]
pub struct Rule {
    /// `None` for a ClusterRole.
    pub namespace: Option<String>,
    pub role: String,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = self.namespace.as_deref().unwrap_or("<cluster>");
        write!(
            f,
            "{scope}/{}: groups={:?} resources={:?} names={:?} verbs={:?}",
            self.role, self.api_groups, self.resources, self.resource_names, self.verbs
        )
    }
}

impl Rule {
    /// Fails on a wildcard, a non-resource URL, or any (group, resource, verb) not in [`needed`].
    pub fn assert_allowed(&self, who: &str) {
        let all = [
            &self.api_groups,
            &self.resources,
            &self.verbs,
            &self.resource_names,
        ];
        assert!(
            !all.iter().any(|v| v.iter().any(|s| s.contains('*'))),
            "{who}: wildcard in {self}"
        );
        assert!(
            self.non_resource_urls.is_empty(),
            "{who}: non-resource URLs in {self}"
        );
        assert!(
            !self.verbs.is_empty() && !self.resources.is_empty(),
            "{who}: empty rule {self}"
        );
        let needed = needed();
        for (group, resource, verb) in self.grants() {
            assert!(
                needed.contains(&(group.clone(), resource.clone(), verb.clone())),
                "{who}: grants {verb} on {group}/{resource}, which the operator never uses ({self})"
            );
        }
    }

    fn grants(&self) -> Vec<(String, String, String)> {
        let mut out = vec![];
        for g in &self.api_groups {
            for r in &self.resources {
                for v in &self.verbs {
                    out.push((g.clone(), r.clone(), v.clone()));
                }
            }
        }
        out
    }
}

/// Every rule of every Role and ClusterRole in `objects`.
pub fn rules(objects: &[Value]) -> Vec<Rule> {
    let roles = of_kind(objects, "Role")
        .into_iter()
        .chain(of_kind(objects, "ClusterRole"));
    let owned = |v: &Value| {
        strings(v)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let mut out = vec![];
    for role in roles {
        let rules = role["rules"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for rule in rules {
            out.push(Rule {
                namespace: role["metadata"]["namespace"].as_str().map(str::to_owned),
                role: role["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                api_groups: owned(&rule["apiGroups"]),
                resources: owned(&rule["resources"]),
                verbs: owned(&rule["verbs"]),
                resource_names: owned(&rule["resourceNames"]),
                non_resource_urls: owned(&rule["nonResourceURLs"]),
            });
        }
    }
    out
}

/// Every (group, resource, verb) the rules grant.
pub fn grants(rules: &[Rule]) -> BTreeSet<(String, String, String)> {
    rules.iter().flat_map(Rule::grants).collect()
}
