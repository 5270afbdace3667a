//! Where the deploy request lives and which one it is: the source branch (from `branchRef` or
//! `organization`/`database`/`branch`), the target branch, and the deploy request itself —
//! read by number, adopted when an open one already exists for the same pair, or opened.
use std::time::Duration;

use kube::{Api, ResourceExt};
use planetscale_api::Client;
use planetscale_api::models::{CreateDeployRequest, DeployRequest, ListDeployRequests};

use super::status::Location;
use crate::crd::conditions::{is_condition_true, reason as common};
use crate::crd::deploy_request::reason as r;
use crate::crd::{DeployRequest as DeployRequestResource, PlanetScaleBranch};
use crate::error::{Error, Result};

/// The source branch of a deploy request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// Organization and database.
    pub at: Location,
    /// Source branch name.
    pub branch: String,
}

/// Wait before looking at a branch that is not ready again (its watch usually comes first).
const BRANCH_WAIT: Duration = Duration::from_secs(15);

/// The source branch: from the status once the deploy request exists, from the spec otherwise.
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
        });
    }
    let spec = &obj.spec;
    if let (Some(org), Some(db), Some(branch)) = (
        &spec.target.organization,
        &spec.target.database,
        &spec.target.branch,
    ) {
        return Ok(Source {
            at: Location {
                org: org.clone(),
                db: db.clone(),
            },
            branch: branch.clone(),
        });
    }
    let name = spec
        .target
        .branch_ref
        .as_ref()
        .map(|b| b.name.clone())
        .unwrap_or_default();
    let api: Api<PlanetScaleBranch> =
        Api::namespaced(kube.clone(), &obj.namespace().unwrap_or_default());
    from_branch_resource(&name, api.get_opt(&name).await?.as_ref())
}

/// The source branch of a `PlanetScaleBranch`, once it is Ready (pure).
pub fn from_branch_resource(name: &str, branch: Option<&PlanetScaleBranch>) -> Result<Source> {
    let waiting = |message: String| Error::Waiting {
        reason: common::BRANCH_NOT_READY,
        message,
        retry_after: BRANCH_WAIT,
    };
    let branch = branch.ok_or_else(|| {
        waiting(format!(
            "PlanetScaleBranch {name} does not exist in this namespace (spec.branchRef)"
        ))
    })?;
    let status = branch.status.clone().unwrap_or_default();
    if !is_condition_true(&status.conditions, common::READY) {
        return Err(waiting(format!(
            "waiting for PlanetScaleBranch {name} to be Ready"
        )));
    }
    let branch_name = status
        .branch_name
        .or(branch.spec.branch_name.clone())
        .unwrap_or_else(|| branch.name_any());
    Ok(Source {
        at: Location {
            org: branch.spec.organization.clone(),
            db: branch.spec.database.clone(),
        },
        branch: branch_name,
    })
}

/// The deploy request with its number, or `None` when none exists yet for the pair.
pub async fn existing(
    client: &Client,
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

/// The target branch: `spec.intoBranch`, or the database's default branch.
pub async fn into_branch(client: &Client, src: &Source, spec_into: Option<&str>) -> Result<String> {
    if let Some(into) = spec_into {
        return Ok(into.to_string());
    }
    let db = client
        .get_database(&src.at.org, &src.at.db)
        .await
        .map_err(|e| not_found(e, database_missing(&src.at)))?;
    Ok(db.default_branch.unwrap_or_else(|| "main".into()))
}

/// Opens the deploy request after checking what PlanetScale would refuse less clearly.
pub async fn open(
    client: &Client,
    src: &Source,
    into: &str,
    obj: &DeployRequestResource,
) -> Result<DeployRequest> {
    let (org, db) = (&src.at.org, &src.at.db);
    let target = client.get_branch(org, db, into).await.map_err(|e| {
        not_found(
            e,
            Error::Invalid {
                reason: r::BRANCH_NOT_FOUND,
                message: format!("intoBranch {into} does not exist in {org}/{db}"),
            },
        )
    })?;
    if !target.safe_migrations {
        return Err(safe_migrations_missing(src, into));
    }
    let source = client.get_branch(org, db, &src.branch).await.map_err(|e| {
        not_found(
            e,
            Error::Waiting {
                reason: common::BRANCH_NOT_READY,
                message: format!("branch {} does not exist in {org}/{db}", src.branch),
                retry_after: Duration::from_secs(60),
            },
        )
    })?;
    if !source.ready {
        return Err(Error::Waiting {
            reason: common::BRANCH_NOT_READY,
            message: format!("waiting for branch {} to be ready", src.branch),
            retry_after: Duration::from_secs(5),
        });
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
pub async fn approval_required(client: &Client, at: &Location) -> Result<bool> {
    let db = client
        .get_database(&at.org, &at.db)
        .await
        .map_err(|e| not_found(e, database_missing(at)))?;
    Ok(db.require_approval_for_deploy.unwrap_or(false))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::conditions::new_condition;
    use crate::crd::{PlanetScaleBranchSpec, PlanetScaleBranchStatus};

    fn branch(ready: bool) -> PlanetScaleBranch {
        let spec: PlanetScaleBranchSpec =
            serde_json::from_value(serde_json::json!({"organization": "acme", "database": "shop"}))
                .unwrap();
        let mut b = PlanetScaleBranch::new("pr-1", spec);
        let ready = new_condition(common::READY, ready, "Ready", "", crate::time::now());
        b.status = Some(PlanetScaleBranchStatus {
            conditions: vec![ready],
            ..Default::default()
        });
        b
    }

    #[test]
    fn a_ready_branch_resource_gives_the_source() {
        let src = from_branch_resource("pr-1", Some(&branch(true))).unwrap();
        assert_eq!(
            src.branch, "pr-1",
            "branchName defaults to the resource name"
        );
        assert_eq!((src.at.org.as_str(), src.at.db.as_str()), ("acme", "shop"));
    }

    #[test]
    fn a_missing_or_unready_branch_resource_waits() {
        for b in [None, Some(branch(false))] {
            let err = from_branch_resource("pr-1", b.as_ref()).unwrap_err();
            assert_eq!(err.reason(), "BranchNotReady");
            assert!(err.to_string().contains("pr-1"));
        }
    }
}
