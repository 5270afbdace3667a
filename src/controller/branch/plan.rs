//! The pure part of the branch reconcile: from what was observed (spec, last status, the
//! branch and, when the branch is missing, its database) to the steps to take.
use kube::ResourceExt;
use planetscale_api::models::{Branch, CreateBranch, Database};

use super::engine::{self, CreateBody, Engine};
use super::observe::Look;
use crate::controller::reconciler::Plan;
pub use crate::crd::Claim;
use crate::crd::ManagementPolicy;
use crate::crd::branch::{
    PlanetScaleBranch, PlanetScaleBranchSpec, PlanetScaleBranchStatus, SeedData,
};
use crate::crd::managed::{self, Recorded};

/// One step of the branch reconcile, run in order by `act`.
// A few per reconcile, moved once, never stored in bulk: their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Create the branch (`recreate`: it existed and was deleted outside Kubernetes) in the
    /// database `at` (organization, database; set by [`located`]). The intent
    /// (`status.createRequestedAt`, and where) is written before, see [`intent`].
    Create {
        body: CreateBody,
        recreate: bool,
        at: Option<(String, String)>,
    },
    /// A branch of that name exists that this resource did not create, and `adopt` is off.
    Refuse { existing_id: String },
    /// The spec sets `fields`, which the database's engine does not have: nothing is called.
    Unsupported {
        fields: Vec<&'static str>,
        engine: Engine,
    },
    /// The branch is missing and the database is still initializing: wait.
    WaitForDatabase,
    /// The branch is missing and only observed: nothing is created, the user is told.
    Missing,
    /// The branch is ours (`None`), or becomes ours now: record it in status.
    Record(Option<Claim>),
    /// The branch is not ready yet: let the poller wake the resource when it changes.
    AwaitBranch,
    /// Correct a setting of the ready branch.
    Fix(Fix),
}

/// The steps for what was seen. Pure.
pub fn plan(obj: &PlanetScaleBranch, look: &Look) -> Plan<Step> {
    let obj_name = obj.name_any();
    let name = obj.spec.effective_branch_name(&obj_name);
    match look {
        // Never created: create at once (a refusal says why), unless a field does not apply.
        Look::New { engine } => {
            let decision = refusal(&obj.spec, *engine).unwrap_or_else(|| Decision::Create {
                body: CreateBody::new(&obj.spec, *engine, create_body(&obj.spec, name, None)),
                recreate: false,
            });
            Plan::steps(steps(decision))
        }
        Look::Pending => Plan::steps(vec![Step::AwaitBranch]),
        Look::Seen {
            branch, database, ..
        } => {
            let default = PlanetScaleBranchStatus::default();
            let facts = Facts {
                spec: &obj.spec,
                name,
                status: obj.status.as_ref().unwrap_or(&default),
                branch: branch.as_ref(),
                database: database.as_ref(),
            };
            Plan::steps(steps(decide(&facts)))
        }
    }
}

/// The steps that carry out a decision.
fn steps(decision: Decision) -> Vec<Step> {
    match decision {
        Decision::WaitForDatabase => vec![Step::WaitForDatabase],
        Decision::Missing => vec![Step::Missing],
        Decision::Create { body, recreate } => vec![Step::Create {
            body,
            recreate,
            at: None,
        }],
        Decision::Refuse { existing_id } => vec![Step::Refuse { existing_id }],
        Decision::Unsupported { fields, engine } => vec![Step::Unsupported { fields, engine }],
        Decision::Sync {
            claim,
            ready,
            fixes,
        } => {
            let mut out = vec![Step::Record(claim)];
            if !ready {
                out.push(Step::AwaitBranch);
            }
            out.extend(fixes.into_iter().map(Step::Fix));
            out
        }
    }
}

/// The status to write before a planned create: `createRequestedAt` set, so that a branch
/// found after a crash right after the create call is recognised as ours
/// ([`Ownership::OursUnrecorded`]). Pure but for the clock.
pub fn intent(obj: &PlanetScaleBranch, plan: &Plan<Step>) -> Option<PlanetScaleBranchStatus> {
    let at = plan.steps.iter().find_map(|s| match s {
        Step::Create { at, .. } => Some(at),
        _ => None,
    })?;
    let mut status = obj.status.clone().unwrap_or_default();
    status.create_requested_at = Some(crate::time::now());
    // Where it is created, for a deletion after a crash that finds the `databaseRef` gone.
    if let Some((organization, database)) = at {
        status.organization = Some(organization.clone());
        status.database = Some(database.clone());
    }
    Some(status)
}

/// The planned create happens in `organization`/`database`. Pure.
pub fn located(mut plan: Plan<Step>, organization: &str, database: &str) -> Plan<Step> {
    for step in &mut plan.steps {
        if let Step::Create { at, .. } = step {
            *at = Some((organization.to_string(), database.to_string()));
        }
    }
    plan
}

/// What a reconcile saw, as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The resource's spec.
    pub spec: &'a PlanetScaleBranchSpec,
    /// The branch name in PlanetScale.
    pub name: &'a str,
    /// The status written by the previous reconcile.
    pub status: &'a PlanetScaleBranchStatus,
    /// The branch, if it exists.
    pub branch: Option<&'a Branch>,
    /// The database, looked up only when the branch is missing.
    pub database: Option<&'a Database>,
}

/// The refusal of the spec's fields that `engine` (when known) does not have, if any.
fn refusal(spec: &PlanetScaleBranchSpec, engine: Option<Engine>) -> Option<Decision> {
    let engine = engine?;
    let fields = engine::unsupported_fields(spec, engine);
    (!fields.is_empty()).then_some(Decision::Unsupported { fields, engine })
}

/// Whether an existing branch belongs to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Created (or adopted earlier) by this resource.
    Ours,
    /// Created by this resource, but the id was not recorded (the operator stopped between
    /// the create call and the status write): record it now.
    OursUnrecorded,
    /// Someone else's branch.
    Foreign,
}

/// A change to bring an existing, ready branch in line with the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// Make it a production branch.
    Promote,
    /// Make it a development branch.
    Demote,
    /// Turn safe migrations on.
    EnableSafeMigrations,
    /// Turn safe migrations off.
    DisableSafeMigrations,
    /// Turn deletion protection on (`true`) or off.
    DeletionProtection(bool),
}

/// What the reconcile decides.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The branch is missing and the database is still initializing.
    WaitForDatabase,
    /// The branch is missing and only observed (`managementPolicy: Observe`).
    Missing,
    /// Create the branch (`recreate`: it existed before and was deleted outside Kubernetes).
    Create { body: CreateBody, recreate: bool },
    /// A branch of that name exists that this resource did not create, and `adopt` is off.
    Refuse { existing_id: String },
    /// The spec sets `fields`, which the database's engine does not have.
    Unsupported {
        fields: Vec<&'static str>,
        engine: Engine,
    },
    /// The branch is ours (or adopted now): record it, and once ready apply `fixes`.
    Sync {
        /// How the branch became ours in this reconcile, if it did.
        claim: Option<Claim>,
        /// Whether the branch is ready (no fixes are planned before).
        ready: bool,
        /// Settings to correct, in order.
        fixes: Vec<Fix>,
    },
}

/// Decides what to do. Pure: unit-tested without a cluster or an API.
pub fn decide(o: &Facts<'_>) -> Decision {
    let engine = Engine::known(o.branch, o.database, o.status);
    if let Some(refused) = refusal(o.spec, engine) {
        return refused;
    }
    let Some(branch) = o.branch else {
        return plan_missing(o);
    };
    let policy = o.spec.management_policy;
    let Ok(claim) = managed::claim(recorded(o.status), &branch.id, policy, o.spec.adopt) else {
        return Decision::Refuse {
            existing_id: branch.id.clone(),
        };
    };
    let ready = branch.ready;
    let fixes = if ready && policy == ManagementPolicy::Manage {
        fixes(o.spec, branch)
    } else {
        Vec::new()
    };
    Decision::Sync {
        claim,
        ready,
        fixes,
    }
}

/// What the status records of the branch, for [`managed::claim`].
fn recorded(status: &PlanetScaleBranchStatus) -> Recorded<'_> {
    Recorded {
        id: status.id.as_deref(),
        create_requested: status.create_requested_at.is_some(),
        observed_only: status.observed_only == Some(true),
    }
}

/// Whether `branch` (which exists) belongs to the resource (as managed: an observed branch
/// is not the resource's to delete).
pub fn ownership(o: &Facts<'_>, branch: &Branch) -> Ownership {
    let manage = ManagementPolicy::Manage;
    match managed::claim(recorded(o.status), &branch.id, manage, false) {
        Ok(None) => Ownership::Ours,
        Ok(Some(_)) => Ownership::OursUnrecorded,
        Err(managed::Foreign) => Ownership::Foreign,
    }
}

fn plan_missing(o: &Facts<'_>) -> Decision {
    if o.spec.management_policy == ManagementPolicy::Observe {
        return Decision::Missing;
    }
    let db = o.database;
    if db.is_some_and(|d| !d.ready) {
        return Decision::WaitForDatabase;
    }
    let default_parent = db.and_then(|d| d.default_branch.clone());
    let engine = Engine::known(None, db, o.status);
    let common = create_body(o.spec, o.name, default_parent);
    Decision::Create {
        body: CreateBody::new(o.spec, engine, common),
        recreate: o.status.id.is_some(),
    }
}

/// The fields of the create request both engines take: the parent defaults to the database's
/// default branch.
pub fn create_body(
    spec: &PlanetScaleBranchSpec,
    name: &str,
    default_parent: Option<String>,
) -> CreateBranch {
    CreateBranch {
        name: name.to_string(),
        parent_branch: spec.parent_branch.clone().or(default_parent),
        region: spec.region.clone(),
        backup_id: spec.backup_id.clone(),
        seed_data: spec.seed_data.map(|s| match s {
            SeedData::LastSuccessfulBackup => "last_successful_backup".to_string(),
        }),
        cluster_size: spec.cluster_size.clone(),
        deletion_protected: spec.deletion_protected,
    }
}

/// The settings of a ready branch that differ from the spec, in an order PlanetScale
/// accepts: promote before enabling safe migrations (which needs a production branch),
/// disable safe migrations before demoting.
pub fn fixes(spec: &PlanetScaleBranchSpec, b: &Branch) -> Vec<Fix> {
    let mut out = Vec::new();
    let production = spec.production.unwrap_or(b.production);
    if spec.safe_migrations == Some(false) && b.safe_migrations {
        out.push(Fix::DisableSafeMigrations);
    }
    if production != b.production {
        out.push(if production {
            Fix::Promote
        } else {
            Fix::Demote
        });
    }
    // Demoting turns safe migrations off in PlanetScale.
    let safe_after = b.safe_migrations && production == b.production;
    if spec.safe_migrations == Some(true) && !safe_after {
        out.push(Fix::EnableSafeMigrations);
    }
    if let Some(p) = spec.deletion_protected
        && p != b.deletion_protected
    {
        out.push(Fix::DeletionProtection(p));
    }
    out
}

/// How a fix is described in events (`what was found` → `what was done`).
pub fn describe(fix: Fix) -> &'static str {
    match fix {
        Fix::Promote => "promoted to a production branch",
        Fix::Demote => "demoted to a development branch",
        Fix::EnableSafeMigrations => "safe migrations turned on",
        Fix::DisableSafeMigrations => "safe migrations turned off",
        Fix::DeletionProtection(true) => "deletion protection turned on",
        Fix::DeletionProtection(false) => "deletion protection turned off",
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;
