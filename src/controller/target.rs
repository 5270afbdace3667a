//! The branch a password, a deploy request or a backup acts on, from its [`BranchTarget`]: the
//! `PlanetScaleBranch` named by `branchRef` once it is Ready, `organization` + `database` +
//! `branch` as written, or `branch` of the `PlanetScaleDatabase` named by `databaseRef` once
//! that is Ready. Every kind resolves it here, with the same waits; what each does with
//! the target recorded in its status differs on purpose and stays with the kind:
//! - a password that already works keeps being looked after on its recorded target while its
//!   `PlanetScaleBranch` is not Ready (a sleeping branch must not stop renewals);
//! - a deploy request, once opened, always uses its recorded branch (`autoDeleteBranch` may
//!   delete the branch and its `PlanetScaleBranch` after the deploy).
use std::sync::Arc;
use std::time::Duration;

use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};

use crate::controller::planetscale::PlanetScale;
use crate::controller::reconciler::Reconciler;
use crate::crd::BranchTarget;
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::common::DatabaseRef;
use crate::crd::conditions::{READY, find_condition, reason};
use crate::crd::database::PlanetScaleDatabase;
use crate::error::Error;

/// Wait before looking at a missing or not-Ready `PlanetScaleBranch` (or `PlanetScaleDatabase`)
/// again; the watch wakes the resource sooner. It doubles with each consecutive wait, up to
/// 5 minutes ([`super::context::watched_wait`]).
pub const BRANCH_RESOURCE_WAIT: Duration = Duration::from_secs(15);
/// Wait before asking PlanetScale again about a named branch that is not ready: a branch being
/// created is ready within seconds, and nothing else wakes the resource.
pub const BRANCH_NOT_READY_WAIT: Duration = Duration::from_secs(5);
/// Wait before asking PlanetScale again about a named branch it does not know: a typo or a
/// missing access, which a user fixes in minutes; slower polling keeps a forgotten resource
/// within the bad-input call budget (docs/reliability.md).
pub const BRANCH_NOT_FOUND_WAIT: Duration = Duration::from_secs(60);

/// A PlanetScale branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub organization: String,
    pub database: String,
    pub branch: String,
    /// Whether the branch is known to be ready (a Ready `PlanetScaleBranch`); a branch named
    /// directly is checked with PlanetScale ([`check_ready`]) before it is used.
    pub known_ready: bool,
    /// The database's engine (`mysql`, `postgresql`) when known without asking PlanetScale:
    /// from the `PlanetScaleBranch`'s status.
    pub kind: Option<String>,
}

/// The target named by `spec` for a resource in `ns`: `Waiting` with `BranchNotReady` while
/// its `PlanetScaleBranch` is missing, being deleted or not Ready.
pub async fn resolve(kube: &kube::Client, ns: &str, spec: &BranchTarget) -> Result<Target, Error> {
    resolve_or(kube, ns, spec, None).await.map(|(t, _)| t)
}

/// Like [`resolve`], but while the `PlanetScaleBranch` exists, is not being deleted and is not
/// Ready, `recorded` (when given) is used instead, with the `BranchNotReady` to report as the
/// second value. A missing or deleted branch is never papered over.
pub async fn resolve_or(
    kube: &kube::Client,
    ns: &str,
    spec: &BranchTarget,
    recorded: Option<Target>,
) -> Result<(Target, Option<Error>), Error> {
    if let Some(e) = spec.explicit() {
        let t = Target {
            organization: e.organization.to_string(),
            database: e.database.to_string(),
            branch: e.branch.to_string(),
            known_ready: false,
            kind: None,
        };
        return Ok((t, None));
    }
    if let (Some(d), Some(branch)) = (&spec.database_ref, &spec.branch) {
        let found = database_named(kube, ns, &d.name, branch).await?;
        return keep_recorded(found, recorded);
    }
    let Some(r) = &spec.branch_ref else {
        // Admission refuses this; an object stored before the rule existed says what to fix.
        return Err(Error::Invalid {
            reason: "InvalidSpec",
            message: "set either branchRef, or organization, database and branch".into(),
        });
    };
    let api: Api<PlanetScaleBranch> = Api::namespaced(kube.clone(), ns);
    let Some(branch) = api.get_opt(&r.name).await? else {
        return Err(waiting(format!(
            "PlanetScaleBranch {} does not exist in namespace {ns}",
            r.name
        )));
    };
    choose(&branch, recorded)
}

/// [`resolve_or`] once the `PlanetScaleBranch` is read. Pure.
pub fn choose(
    branch: &PlanetScaleBranch,
    recorded: Option<Target>,
) -> Result<(Target, Option<Error>), Error> {
    match (from_branch(branch), recorded) {
        (Ok(t), _) => Ok((t, None)),
        (Err(e), Some(t)) if branch.metadata.deletion_timestamp.is_none() => Ok((t, Some(e))),
        (Err(e), _) => Err(e),
    }
}

/// `Ok` for a resource (`what`, e.g. `PlanetScaleBranch pr-1`) that is Ready and not being
/// deleted; otherwise why not, for the caller's wait. Pure.
fn usable(
    what: &str,
    deleting: bool,
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
) -> Result<(), String> {
    if deleting {
        return Err(format!("{what} is being deleted"));
    }
    match find_condition(conditions, READY) {
        Some(c) if c.status == "True" => Ok(()),
        Some(c) => Err(format!("{what} is not Ready ({}: {})", c.reason, c.message)),
        None => Err(format!("{what} is not Ready yet")),
    }
}

/// The target of a `PlanetScaleBranch`, if it is Ready and not being deleted. Pure.
pub fn from_branch(branch: &PlanetScaleBranch) -> Result<Target, Error> {
    let name = branch.name_any();
    let status = branch.status.as_ref();
    let conditions = status.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let deleting = branch.metadata.deletion_timestamp.is_some();
    usable(&format!("PlanetScaleBranch {name}"), deleting, conditions).map_err(waiting)?;
    let status_name = status.and_then(|s| s.branch_name.clone());
    let Some((organization, database)) = branch.location() else {
        return Err(waiting(format!(
            "PlanetScaleBranch {name} has not resolved its databaseRef yet"
        )));
    };
    Ok(Target {
        organization: organization.to_string(),
        database: database.to_string(),
        branch: status_name.unwrap_or_else(|| branch.spec.effective_branch_name(&name).to_string()),
        known_ready: true,
        kind: status.and_then(|s| s.kind.clone()),
    })
}

/// A resolved target, or while it cannot be resolved, `recorded` (when given) with the reason
/// to report. Pure.
fn keep_recorded(
    found: Result<Target, Error>,
    recorded: Option<Target>,
) -> Result<(Target, Option<Error>), Error> {
    match (found, recorded) {
        (Ok(t), _) => Ok((t, None)),
        (Err(e), Some(t)) => Ok((t, Some(e))),
        (Err(e), None) => Err(e),
    }
}

/// `branch` of the database the `PlanetScaleDatabase` `name` (in `ns`) stands for: the outer
/// `Err` for a failed read, the inner one (`DatabaseNotReady`) while it is missing, not Ready
/// or being deleted.
pub async fn database_named(
    kube: &kube::Client,
    ns: &str,
    name: &str,
    branch: &str,
) -> Result<Result<Target, Error>, Error> {
    let api: Api<PlanetScaleDatabase> = Api::namespaced(kube.clone(), ns);
    Ok(match api.get_opt(name).await? {
        Some(db) => from_database(&db, branch),
        None => Err(database_waiting(format!(
            "PlanetScaleDatabase {name} does not exist in namespace {ns}"
        ))),
    })
}

/// `branch` of the database a `PlanetScaleDatabase` stands for, if it is Ready and not being
/// deleted. Pure.
pub fn from_database(db: &PlanetScaleDatabase, branch: &str) -> Result<Target, Error> {
    let name = db.name_any();
    let status = db.status.as_ref();
    let conditions = status.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let deleting = db.metadata.deletion_timestamp.is_some();
    usable(&format!("PlanetScaleDatabase {name}"), deleting, conditions)
        .map_err(database_waiting)?;
    let database = status.and_then(|s| s.database_name.clone());
    Ok(Target {
        organization: db.spec.organization.clone(),
        database: database.unwrap_or_else(|| db.spec.effective_name(&name).to_string()),
        branch: branch.to_string(),
        known_ready: false,
        kind: None,
    })
}

/// `Waiting` with reason `DatabaseNotReady`, for a `PlanetScaleDatabase` that is not usable
/// yet; the database watch ([`waiting_on_database`]) usually wakes the resource sooner.
pub fn database_waiting(message: String) -> Error {
    Error::Waiting {
        reason: crate::crd::database::reason::DATABASE_NOT_READY,
        message,
        retry_after: BRANCH_RESOURCE_WAIT,
    }
}

/// The objects in `store` of `db`'s namespace that name `db` by `databaseRef` and that are
/// `waiting` (e.g. not Ready): a database becoming Ready wakes them at once.
pub fn waiting_on_database<K>(
    store: &Store<K>,
    db: &PlanetScaleDatabase,
    database_ref: impl Fn(&K) -> Option<&DatabaseRef>,
    waiting: impl Fn(&K) -> bool,
) -> Vec<ObjectRef<K>>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    store
        .state()
        .iter()
        .filter(|o| o.namespace() == db.namespace())
        .filter(|o| database_ref(o).is_some_and(|r| r.name == db.name_any()))
        .filter(|o| waiting(o))
        .map(|o| ObjectRef::from_obj(&**o))
        .collect()
}

/// `controller` with a watch of the `PlanetScaleDatabase`s (of `namespace`, or all) that
/// wakes the objects of `r`'s kind waiting on one through `databaseRef`
/// ([`waiting_on_database`]), through the kind's schedule when it keeps one.
pub fn watch_databases<R: Reconciler>(
    r: &Arc<R>,
    controller: kube::runtime::Controller<R::Kind>,
    namespace: Option<&str>,
    database_ref: fn(&R::Kind) -> Option<&DatabaseRef>,
    waiting: fn(&R::Kind) -> bool,
) -> kube::runtime::Controller<R::Kind> {
    let client = r.context().client.clone();
    let api: Api<PlanetScaleDatabase> = match namespace {
        None => Api::all(client),
        Some(ns) => Api::namespaced(client, ns),
    };
    let store = controller.store();
    let config = crate::stores::watch_config();
    let r = r.clone();
    controller.watches(api, config, move |db| {
        let woken = waiting_on_database(&store, &db, database_ref, waiting);
        match r.schedule() {
            Some(schedule) => schedule.woken(woken),
            None => woken,
        }
    })
}

/// `Waiting` with reason `BranchNotReady`, for a `PlanetScaleBranch` that is not usable yet.
pub fn waiting(message: String) -> Error {
    waiting_for(message, BRANCH_RESOURCE_WAIT)
}

/// `Waiting` with reason `BranchNotReady`, looking again after `retry_after`.
pub fn waiting_for(message: String, retry_after: Duration) -> Error {
    Error::Waiting {
        reason: reason::BRANCH_NOT_READY,
        message,
        retry_after,
    }
}

/// Checks a branch with PlanetScale: it exists and is ready (`Waiting` otherwise).
pub async fn check_ready(client: &impl PlanetScale, t: &Target) -> Result<(), Error> {
    match client
        .get_branch(&t.organization, &t.database, &t.branch)
        .await
    {
        Ok(b) => ready_or_wait(b.ready, t),
        Err(e) => Err(not_found_or(e, t)),
    }
}

/// `Ok` for a ready branch, a short wait otherwise. Pure.
fn ready_or_wait(ready: bool, t: &Target) -> Result<(), Error> {
    if ready {
        return Ok(());
    }
    Err(waiting_for(
        format!(
            "branch {} of {}/{} is not ready yet",
            t.branch, t.organization, t.database
        ),
        BRANCH_NOT_READY_WAIT,
    ))
}

/// A longer wait for a 404, the API error otherwise. Pure.
fn not_found_or(e: planetscale_api::Error, t: &Target) -> Error {
    match e {
        planetscale_api::Error::NotFound { .. } => waiting_for(
            format!(
                "branch {} of {}/{} was not found (or the credentials cannot see it)",
                t.branch, t.organization, t.database
            ),
            BRANCH_NOT_FOUND_WAIT,
        ),
        other => other.into(),
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
