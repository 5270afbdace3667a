//! Which deploy request this is: the source branch (resolved by [`crate::controller::target`]
//! until the request exists, then from the status), the branch it goes into, and the deploy
//! request itself — read by number (the status's, or the spec's to adopt or observe),
//! adopted when an open one already exists for the same pair, or opened.
use crate::controller::planetscale::PlanetScale;
use kube::ResourceExt;
use planetscale_api::models::{
    CreateDeployRequest, Database, DatabaseKind, DeployRequest, ListDeployRequests,
};

use super::status::Location;
use crate::controller::target::{self, Target};
use crate::crd::DeployRequest as DeployRequestResource;
use crate::crd::conditions::reason as common;
use crate::crd::deploy_request::reason as r;
use crate::error::{Error, Result};

/// The source branch of a deploy request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// Organization and database.
    pub at: Location,
    /// Source branch name.
    pub branch: String,
    /// Its `PlanetScaleBranch` is Ready (PlanetScale said so to the branch controller): the
    /// open need not read the branch first.
    pub known_ready: bool,
}

/// The source branch: from the status once the deploy request exists (`autoDeleteBranch` may
/// have deleted the branch and its `PlanetScaleBranch` since), from the spec otherwise.
pub async fn source(kube: &kube::Client, obj: &DeployRequestResource) -> Result<Source> {
    let status = obj.status.clone().unwrap_or_default();
    if let (Some(_), Some(org), Some(db), Some(branch)) = (
        status.number,
        status.organization,
        status.database,
        status.branch,
    ) {
        return Ok(Source {
            at: Location { org, db },
            branch,
            known_ready: false,
        });
    }
    let ns = obj.namespace().unwrap_or_default();
    target::resolve(kube, &ns, &obj.spec.target)
        .await
        .map(Source::from)
}

impl From<Target> for Source {
    fn from(t: Target) -> Self {
        Source {
            at: Location {
                org: t.organization,
                db: t.database,
            },
            branch: t.branch,
            known_ready: t.known_ready,
        }
    }
}

/// The deploy request with its number, or `None` when none exists yet for the pair.
pub async fn existing(
    client: &impl PlanetScale,
    src: &Source,
    number: Option<i64>,
    into: Option<&str>,
) -> Result<Option<DeployRequest>> {
    if let Some(n) = number.and_then(|n| u64::try_from(n).ok()) {
        return Ok(Some(
            client
                .get_deploy_request(&src.at.org, &src.at.db, n)
                .await?,
        ));
    }
    let filters = ListDeployRequests {
        state: Some("open".into()),
        branch: Some(src.branch.clone()),
        into_branch: into.map(str::to_string),
    };
    let open = client
        .list_deploy_requests_all(&src.at.org, &src.at.db, &filters)
        .await?;
    Ok(open
        .into_iter()
        .filter(|d| d.branch == src.branch && into.is_none_or(|i| d.into_branch == i))
        .min_by_key(|d| d.number))
}

/// Deploy request `number`, which the spec names to adopt or observe: it must exist and merge
/// the spec's branch (a number typed for the wrong branch is refused, not taken over).
pub async fn numbered(
    client: &impl PlanetScale,
    src: &Source,
    number: i64,
    observe: bool,
) -> Result<DeployRequest> {
    let (org, db) = (&src.at.org, &src.at.db);
    let reason = if observe {
        common::OBSERVED_NOT_FOUND
    } else {
        "NotFound"
    };
    let missing = || Error::Invalid {
        reason,
        message: format!(
            "deploy request #{number} does not exist in {org}/{db} (or the credentials cannot \
             see it): check spec.number"
        ),
    };
    let n = u64::try_from(number).map_err(|_| missing())?;
    let dr = client
        .get_deploy_request(org, db, n)
        .await
        .map_err(|e| not_found(e, missing()))?;
    if dr.branch != src.branch {
        return Err(Error::Invalid {
            reason: r::BRANCH_MISMATCH,
            message: format!(
                "deploy request #{number} merges branch {} into {}, not branch {}: check \
                 spec.number and spec.branch",
                dr.branch, dr.into_branch, src.branch
            ),
        });
    }
    Ok(dr)
}

/// The source branch's database (a 404 says what to check).
pub async fn database(client: &impl PlanetScale, at: &Location) -> Result<Database> {
    client
        .get_database(&at.org, &at.db)
        .await
        .map_err(|e| not_found(e, database_missing(at)))
}

/// Deploy requests exist only on Vitess (MySQL) databases: on a PostgreSQL one, the refusal
/// that says so (nothing is asked of PlanetScale, which would answer 422 to every call).
pub fn check_engine(db: &Database, src: &Source) -> Result<()> {
    if db.kind != Some(DatabaseKind::Postgresql) {
        return Ok(());
    }
    Err(Error::Invalid {
        reason: r::NOT_SUPPORTED_FOR_ENGINE,
        message: format!(
            "deploy requests are a Vitess (MySQL) feature and database {}/{} is a PostgreSQL \
             database: apply schema changes to branch {} with your migration tool instead, and \
             delete this DeployRequest",
            src.at.org, src.at.db, src.branch
        ),
    })
}

/// The target branch: `spec.intoBranch`, or the database's default branch.
pub fn into_branch(db: &Database, spec_into: Option<&str>) -> String {
    spec_into
        .map(str::to_string)
        .or_else(|| db.default_branch.clone())
        .unwrap_or_else(|| "main".into())
}

/// Opens the deploy request after checking what PlanetScale would refuse less clearly.
pub async fn open(
    client: &impl PlanetScale,
    src: &Source,
    into: &str,
    obj: &DeployRequestResource,
) -> Result<DeployRequest> {
    let (org, db) = (&src.at.org, &src.at.db);
    let base = client.get_branch(org, db, into).await.map_err(|e| {
        not_found(
            e,
            Error::Invalid {
                reason: r::BRANCH_NOT_FOUND,
                message: format!("intoBranch {into} does not exist in {org}/{db}"),
            },
        )
    })?;
    if !base.safe_migrations {
        return Err(safe_migrations_missing(src, into));
    }
    let source = Target {
        organization: org.clone(),
        database: db.clone(),
        branch: src.branch.clone(),
        known_ready: src.known_ready,
        kind: None,
    };
    // A Ready PlanetScaleBranch vouches for the source: no read of it first.
    if !src.known_ready {
        target::check_ready(client, &source).await?;
    }
    let body = CreateDeployRequest {
        branch: src.branch.clone(),
        into_branch: Some(into.to_string()),
        notes: obj.spec.notes.clone(),
        auto_cutover: Some(obj.spec.auto_apply),
        auto_delete_branch: Some(obj.spec.auto_delete_branch),
    };
    client
        .create_deploy_request(org, db, &body)
        .await
        .map_err(|e| create_refused(e, src, into))
}

/// Whether the database requires an approval before a deploy.
pub async fn approval_required(client: &impl PlanetScale, at: &Location) -> Result<bool> {
    Ok(requires_approval(&database(client, at).await?))
}

/// Whether `db` requires an approval before a deploy (unset: no).
pub fn requires_approval(db: &Database) -> bool {
    db.require_approval_for_deploy.unwrap_or(false)
}

fn database_missing(at: &Location) -> Error {
    Error::Invalid {
        reason: common::DATABASE_NOT_FOUND,
        message: format!(
            "database {}/{} not found (or the credentials lack access to it)",
            at.org, at.db
        ),
    }
}

fn safe_migrations_missing(src: &Source, into: &str) -> Error {
    Error::Invalid {
        reason: r::SAFE_MIGRATIONS_REQUIRED,
        message: format!(
            "branch {into} of {}/{} does not have safe migrations enabled, which deploy requests need: enable them (PlanetScaleBranch spec.safeMigrations: true, the dashboard, or `pscale branch safe-migrations enable`)",
            src.at.org, src.at.db
        ),
    }
}

/// `instead` for a 404, the API error otherwise.
fn not_found(e: planetscale_api::Error, instead: Error) -> Error {
    match e {
        planetscale_api::Error::NotFound { .. } => instead,
        other => other.into(),
    }
}

fn create_refused(e: planetscale_api::Error, src: &Source, into: &str) -> Error {
    match &e {
        planetscale_api::Error::Unprocessable { message, .. } => {
            if e.kind() == planetscale_api::ErrorKind::SafeMigrationsRequired {
                return safe_migrations_missing(src, into);
            }
            Error::Invalid {
                reason: "Rejected",
                message: format!(
                    "PlanetScale refused to open a deploy request from {} into {into}: {message}",
                    src.branch
                ),
            }
        }
        _ => e.into(),
    }
}
