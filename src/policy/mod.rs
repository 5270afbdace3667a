//! The access policy: whether a resource may use its credentials for what it asks, decided
//! from the cluster's `PlanetScaleAccessPolicy` objects before any PlanetScale call.
//!
//! [`decide`] is pure: the policies, the namespace's labels and the [`Request`] in, a
//! [`Verdict`] out (the allowing rule, or a message naming the rule that refused, or saying
//! that no policy serves the namespace). [`Policies`] keeps the policies (a watch), answers
//! for an object ([`Policies::admit`], called once per pass by the reconcile skeleton) and,
//! when a policy changes, wakes the resources whose verdict changed ([`wake`]).
//!
//! Every credential is governed, the operator's default credentials and the Secrets a
//! namespace names in `credentialsRef` alike: a namespace user who may create our resources
//! is not necessarily allowed to read the token Secret a platform team put in the namespace,
//! and production branches must be guarded whatever token reaches them.
use std::collections::BTreeMap;

use kube::core::SelectorExt;
use kube::{Resource, ResourceExt};

use crate::crd::PasswordRole;
use crate::crd::policy::{AccessRule, PlanetScaleAccessPolicy};

mod facts;
mod requests;
mod store;
mod wake;

pub use store::Policies;

/// The condition and event reason of a resource the policy refuses.
pub use crate::crd::conditions::reason::POLICY_DENIED;

/// Something done to a production branch that a rule must allow explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Production {
    /// Take over an existing production branch.
    Adopt,
    /// Delete a production branch.
    Delete,
    /// Promote a branch to production.
    Promote,
    /// Create a password on a production branch.
    Passwords,
    /// Delete a whole database.
    DeleteDatabase,
}

impl Production {
    fn describe(self) -> &'static str {
        match self {
            Self::Adopt => "adopting a production branch",
            Self::Delete => "deleting a production branch",
            Self::Promote => "promoting a branch to production",
            Self::Passwords => "passwords on a production branch",
            Self::DeleteDatabase => "deleting a database (production.deleteDatabases)",
        }
    }
}

/// The branch a resource acts on, as far as it is known without PlanetScale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// Organization, database, branch.
    Branch {
        organization: String,
        database: String,
        branch: String,
    },
    /// The `PlanetScaleBranch` of that name in the resource's namespace (read by
    /// [`Policies::admit`]; that branch resource is checked on its own too).
    BranchRef(String),
    /// Branch `branch` of the `PlanetScaleDatabase` named first, in the resource's namespace
    /// (read by [`Policies::admit`]).
    DatabaseRef { database: String, branch: String },
    /// A whole database (a `PlanetScaleDatabase`): judged by organization and database.
    Database {
        organization: String,
        database: String,
    },
}

/// What one resource asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub namespace: String,
    /// The `credentialsRef` Secret; `None`: the operator's default credentials.
    pub credentials: Option<String>,
    /// Where it acts (`None` for a `branchRef` whose branch resource does not exist yet: the
    /// kind waits for it without calling PlanetScale).
    pub target: Option<Where>,
    /// The password role asked for.
    pub role: Option<PasswordRole>,
    /// What it does to a production branch.
    pub production: Vec<Production>,
}

/// What a custom resource asks of the policy; each kind implements it next to its type.
pub trait Governed: Resource<DynamicType = ()> + Send + Sync {
    /// The request of this object (its namespace, credentials, target, role …).
    fn request(&self) -> Request;

    /// What this object's passes may also ask of a production branch, once PlanetScale says
    /// the branch is one ([`Policies::admit_production`]); a policy change that changes one
    /// of these verdicts wakes the object.
    fn may_ask(&self) -> Vec<Production> {
        Vec::new()
    }
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed by `rule` of `policy`.
    Allowed { policy: String, rule: String },
    /// Refused; the message names the policy and rule that came closest, or says that no
    /// policy serves the namespace with those credentials.
    Denied(String),
}

/// Whether one of `policies` allows `req`, for a namespace labelled `ns_labels`. Pure.
pub fn decide(
    policies: &[PlanetScaleAccessPolicy],
    ns_labels: &BTreeMap<String, String>,
    req: &Request,
) -> Verdict {
    let mut refusals = Vec::new();
    let mut serves_namespace = false;
    for p in policies {
        for rule in &p.spec.rules {
            if !serves(rule, &req.namespace, ns_labels) {
                continue;
            }
            serves_namespace = true;
            match refusal(rule, req) {
                None => {
                    return Verdict::Allowed {
                        policy: p.name_any(),
                        rule: rule.name.clone(),
                    };
                }
                Some(why) => refusals.push(format!(
                    "PlanetScaleAccessPolicy {} rule {}: {why}",
                    p.name_any(),
                    rule.name
                )),
            }
        }
    }
    Verdict::Denied(denial(req, serves_namespace, refusals))
}

fn denial(req: &Request, serves_namespace: bool, refusals: Vec<String>) -> String {
    if !serves_namespace {
        return format!(
            "no PlanetScaleAccessPolicy allows namespace {}: a cluster admin must list it in a policy rule",
            req.namespace
        );
    }
    let more = refusals.len().saturating_sub(1);
    let first = refusals.into_iter().next().unwrap_or_default();
    match more {
        0 => first,
        n => format!("{first} (and {n} more rules refuse it)"),
    }
}

/// Whether `rule` serves the namespace (by name or by its labels).
fn serves(rule: &AccessRule, ns: &str, labels: &BTreeMap<String, String>) -> bool {
    let by_name = rule.namespaces.names.iter().any(|n| n == ns);
    let by_labels = rule
        .namespaces
        .selector
        .as_ref()
        .is_some_and(|s| s.to_selector().matches(labels));
    by_name || by_labels
}

/// Why `rule` (which serves the namespace) does not allow `req`; `None`: it does.
fn refusal(rule: &AccessRule, req: &Request) -> Option<String> {
    credentials_refusal(rule, req)
        .or_else(|| target_refusal(rule, req.target.as_ref()))
        .or_else(|| role_refusal(rule, req.role))
        .or_else(|| {
            req.production
                .iter()
                .find(|p| !production_allowed(rule, **p))
                .map(|p| format!("{} is not allowed", p.describe()))
        })
}

fn credentials_refusal(rule: &AccessRule, req: &Request) -> Option<String> {
    match &req.credentials {
        None if rule.credentials.default => None,
        None => Some("the operator's default credentials are not allowed".into()),
        Some(s) if rule.credentials.secrets.iter().any(|g| glob(g, s)) => None,
        Some(s) => Some(format!(
            "credentials Secret {s} is not allowed (allowed: {})",
            list(&rule.credentials.secrets)
        )),
    }
}

fn target_refusal(rule: &AccessRule, target: Option<&Where>) -> Option<String> {
    let check = |what: &str, value: &str, globs: &[String]| {
        (!globs.iter().any(|g| glob(g, value)))
            .then(|| format!("{what} {value} is not allowed (allowed: {})", list(globs)))
    };
    let (organization, database, branch) = match target? {
        Where::Branch {
            organization,
            database,
            branch,
        } => (organization, database, Some(branch)),
        Where::Database {
            organization,
            database,
        } => (organization, database, None),
        Where::BranchRef(_) | Where::DatabaseRef { .. } => return None,
    };
    check("organization", organization, &rule.organizations)
        .or_else(|| check("database", database, &rule.databases))
        .or_else(|| branch.and_then(|b| check("branch", b, &rule.branches)))
}

fn role_refusal(rule: &AccessRule, role: Option<PasswordRole>) -> Option<String> {
    let role = role?;
    if rule.password_roles.contains(&role) {
        return None;
    }
    let allowed: Vec<&str> = rule.password_roles.iter().map(|r| r.as_str()).collect();
    Some(format!(
        "role {} is not allowed (allowed: {})",
        role.as_str(),
        if allowed.is_empty() {
            "none".to_string()
        } else {
            allowed.join(", ")
        }
    ))
}

fn production_allowed(rule: &AccessRule, p: Production) -> bool {
    let a = &rule.production;
    match p {
        Production::Adopt => a.adopt,
        Production::Delete => a.delete,
        Production::Promote => a.promote,
        Production::Passwords => a.passwords,
        Production::DeleteDatabase => a.delete_databases,
    }
}

fn list(globs: &[String]) -> String {
    if globs.is_empty() {
        "none".into()
    } else {
        globs.join(", ")
    }
}

/// Deletion of a resource the policy no longer allows (`denied` from [`Policies::admit`]):
/// nothing is deleted in PlanetScale, the finalizer goes, and a warning event says what was
/// left behind. Any other error (policies not loaded, Kubernetes unreachable) is returned
/// as it is, so that the deletion is retried rather than released.
pub async fn release<K: Governed>(
    ctx: &crate::controller::Context,
    obj: &K,
    denied: crate::error::Error,
) -> Result<kube::runtime::controller::Action, crate::error::Error> {
    if denied.reason() != POLICY_DENIED {
        return Err(denied);
    }
    let note = format!(
        "left in PlanetScale, not deleted: {denied}; a cluster admin can allow it and delete it there"
    );
    ctx.event(
        obj,
        kube::runtime::events::EventType::Warning,
        POLICY_DENIED,
        "Delete",
        note,
    )
    .await;
    Ok(kube::runtime::controller::Action::await_change())
}

/// Whether `name` matches `pattern`: `*` any run of characters (also none), `?` exactly one.
pub fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative matching with one backtrack point (the last `*`): linear in practice.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod decide_tests;
