//! Runs the planned steps against PlanetScale, in order, until one fails; returns what was
//! done ([`Outcome`]) for `status` to record and announce.
use planetscale_api::models::{BackupPolicy, CreateDatabase, Database, UpdateDatabase};
use planetscale_api::{Error as ApiError, ErrorKind};

use super::Target;
use super::observe::Observed;
use super::plan::{Claim, Step, changed};
use super::policies::PolicyStep;
use crate::controller::planetscale::PlanetScale;
use crate::controller::readiness::Progress;
use crate::controller::reconciler::{Acted, Plan};
use crate::crd::database::reason;
use crate::error::Error;

/// What a pass did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The database as last seen or changed, once it is ours (copied into status).
    pub database: Option<Database>,
    /// Where the pass got to.
    pub progress: Progress,
    /// How the database became ours in this pass, if it did.
    pub claim: Option<Claim>,
    /// Created in this pass: `Some(recreate)`.
    pub created: Option<bool>,
    /// A create was refused: nothing was created, the intent is void.
    pub create_refused: bool,
    /// The settings changed (their names under `spec.settings`).
    pub updated: Vec<&'static str>,
    /// The database's backup policies as PlanetScale has them after the pass (`None`: not
    /// read).
    pub policies: Option<Vec<BackupPolicy>>,
    /// The backup-policy calls that succeeded, in order.
    pub policy_changes: Vec<PolicyStep>,
}

/// Runs `plan`'s steps.
pub async fn act(t: &Target, observed: Observed, plan: Plan<Step>) -> Acted<Outcome> {
    let mut out = Outcome {
        database: None,
        progress: Progress::Ready(format!("database {} is ready", t.name)),
        claim: None,
        created: None,
        create_refused: false,
        updated: Vec::new(),
        policies: observed.policies.clone(),
        policy_changes: Vec::new(),
    };
    let ps = &observed.client;
    for step in plan.steps {
        let done = match step {
            Step::Create { body, recreate } => create(ps, t, &body, recreate, &mut out).await,
            Step::Refuse { existing_id } => Err(already_exists(t, &existing_id)),
            Step::Missing { observe } => Err(missing(t, observe)),
            Step::Record(claim) => {
                out.database.clone_from(&observed.database);
                out.claim = claim;
                if t.observe {
                    out.progress = observed_progress(t);
                }
                Ok(())
            }
            Step::AwaitDatabase => {
                out.progress = waiting(t, out.database.as_ref());
                Ok(())
            }
            Step::Update(body) => update(ps, t, &body, &mut out).await,
            Step::Policy(step) => policy(ps, t, step, &mut out).await,
        };
        if let Err(e) = done {
            return Acted::failed(out, e);
        }
    }
    Acted::done(out)
}

fn observed_progress(t: &Target) -> Progress {
    Progress::Ready(format!(
        "database {} is ready (observed only: the operator never changes it)",
        t.name
    ))
}

async fn create(
    ps: &impl PlanetScale,
    t: &Target,
    body: &CreateDatabase,
    recreate: bool,
    out: &mut Outcome,
) -> Result<(), Error> {
    let created = ps.create_database(&t.org, body).await.map_err(|e| {
        out.create_refused = matches!(e.status(), Some(400 | 401 | 403 | 404 | 409 | 422));
        create_failed(t, e)
    })?;
    out.created = Some(recreate);
    if !created.ready {
        out.progress = waiting(t, Some(&created));
    }
    out.database = Some(created);
    Ok(())
}

async fn update(
    ps: &impl PlanetScale,
    t: &Target,
    body: &UpdateDatabase,
    out: &mut Outcome,
) -> Result<(), Error> {
    let updated = ps
        .update_database_settings(&t.org, &t.name, body)
        .await
        .map_err(|e| refused(t, "change the settings of", e))?;
    out.database = Some(updated);
    out.updated = changed(body);
    Ok(())
}

/// One backup-policy call; PlanetScale's answer replaces the policy in `out.policies`.
async fn policy(
    ps: &impl PlanetScale,
    t: &Target,
    step: PolicyStep,
    out: &mut Outcome,
) -> Result<(), Error> {
    let (org, db) = (t.org.as_str(), t.name.as_str());
    let list = out.policies.get_or_insert_with(Vec::new);
    match &step {
        PolicyStep::Create(body) => {
            let p = ps.create_backup_policy(org, db, body).await;
            list.push(p.map_err(|e| policy_refused(t, "create", body.name.as_deref(), e))?);
        }
        PolicyStep::Update { id, name, body } => {
            let p = ps.update_backup_policy(org, db, id, body).await;
            let p = p.map_err(|e| policy_refused(t, "change", Some(name), e))?;
            list.retain(|h| h.id != p.id);
            list.push(p);
        }
        PolicyStep::Delete { id, name } => match ps.delete_backup_policy(org, db, id).await {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(policy_refused(t, "delete", Some(name), e));
            }
            _ => list.retain(|h| &h.id != id),
        },
        PolicyStep::Release { .. } => {}
    }
    out.policy_changes.push(step);
    Ok(())
}

fn policy_refused(t: &Target, what: &str, name: Option<&str>, e: ApiError) -> Error {
    let policy = name.unwrap_or_default();
    refused(t, &format!("{what} backup policy {policy} of"), e)
}

/// What a refused create means to the user.
fn create_failed(t: &Target, e: ApiError) -> Error {
    if e.kind() == ErrorKind::AlreadyExists {
        // Taken between our look and the create (or by a database we cannot see).
        return already_exists(t, "unknown");
    }
    refused(t, "create", e)
}

/// A 400/422 as something the user must fix, with PlanetScale's message; anything else as is.
fn refused(t: &Target, what: &str, e: ApiError) -> Error {
    if !matches!(e.status(), Some(400 | 422)) {
        return e.into();
    }
    let message = format!(
        "PlanetScale refused to {what} database {}: {}",
        t.name,
        e.message().unwrap_or("no details")
    );
    Error::Invalid {
        reason: Error::from(e).reason(),
        message,
    }
}

fn waiting(t: &Target, db: Option<&Database>) -> Progress {
    let state = db
        .and_then(|d| d.state.as_ref())
        .map_or("unknown", |s| s.as_str());
    Progress::Waiting {
        reason: reason::DATABASE_NOT_READY,
        message: format!(
            "waiting for database {} to be ready (state {state})",
            t.name
        ),
    }
}

fn already_exists(t: &Target, id: &str) -> Error {
    Error::Invalid {
        reason: reason::ALREADY_EXISTS,
        message: format!(
            "a database named {} (id {id}) already exists in organization {} and was not \
             created by this resource: set spec.adopt: true to manage it, \
             spec.managementPolicy: Observe to only report it, or choose another \
             spec.databaseName",
            t.name, t.org
        ),
    }
}

fn missing(t: &Target, observe: bool) -> Error {
    let fix = if observe {
        "managementPolicy: Observe never creates it: check spec.organization and \
         spec.databaseName, and the token's read_database access"
    } else {
        "set spec.clusterSize to create it, or check spec.databaseName"
    };
    Error::Invalid {
        reason: reason::NOT_FOUND,
        message: format!(
            "database {} does not exist in organization {} (or the credentials cannot see \
             it): {fix}",
            t.name, t.org
        ),
    }
}
