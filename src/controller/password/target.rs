//! Where the password is created: the `PlanetScaleBranch` named by `branchRef` once it is
//! Ready, or `organization` + `database` + `branch`.
use std::time::Duration;

use kube::{Api, Client, ResourceExt};

use crate::crd::branch::PlanetScaleBranch;
use crate::crd::conditions::{READY, find_condition, reason};
use crate::crd::password::{PlanetScalePassword, PlanetScalePasswordStatus};
use crate::error::Error;

/// How soon a password waiting on its branch looks again (the branch watch usually wakes it
/// sooner).
pub const BRANCH_POLL: Duration = Duration::from_secs(30);

/// The PlanetScale branch a password belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub organization: String,
    pub database: String,
    pub branch: String,
    /// Whether the branch is known to be ready (a Ready `PlanetScaleBranch`); an explicit
    /// target is checked with PlanetScale before the first password is created.
    pub known_ready: bool,
}

/// The target of `obj`, or `Waiting` with `BranchNotReady` while its `PlanetScaleBranch` is
/// missing or not Ready. A password that already works keeps being looked after (renewed,
/// healed) on the target in its status while its existing `PlanetScaleBranch` is not Ready
/// (e.g. a sleeping branch, or a branch controller backing off): the second value is then the
/// `BranchNotReady` to report.
pub async fn resolve(
    client: &Client,
    obj: &PlanetScalePassword,
) -> Result<(Target, Option<Error>), Error> {
    let spec = &obj.spec;
    let Some(r) = &spec.target.branch_ref else {
        return explicit(obj).map(|t| (t, None));
    };
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
    let Some(branch) = api.get_opt(&r.name).await? else {
        return Err(waiting(format!(
            "PlanetScaleBranch {} does not exist in namespace {ns}",
            r.name
        )));
    };
    match from_branch(&branch) {
        Ok(t) => Ok((t, None)),
        Err(e) if branch.metadata.deletion_timestamp.is_none() => {
            let working = obj.status.as_ref().filter(|s| s.password_id.is_some());
            match working.and_then(recorded) {
                Some(t) => Ok((t, Some(e))),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// The target recorded in the status, if complete.
pub fn recorded(s: &PlanetScalePasswordStatus) -> Option<Target> {
    Some(Target {
        organization: s.organization.clone()?,
        database: s.database.clone()?,
        branch: s.branch.clone()?,
        known_ready: true,
    })
}

fn explicit(obj: &PlanetScalePassword) -> Result<Target, Error> {
    let spec = &obj.spec;
    match (
        &spec.target.organization,
        &spec.target.database,
        &spec.target.branch,
    ) {
        (Some(organization), Some(database), Some(branch)) => Ok(Target {
            organization: organization.clone(),
            database: database.clone(),
            branch: branch.clone(),
            known_ready: false,
        }),
        _ => Err(Error::Invalid {
            reason: "InvalidSpec",
            message: "set either branchRef, or organization, database and branch".into(),
        }),
    }
}

/// The target of a `PlanetScaleBranch`, if it is Ready. Pure.
pub fn from_branch(branch: &PlanetScaleBranch) -> Result<Target, Error> {
    let name = branch.name_any();
    let conditions = branch
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let ready = find_condition(conditions, READY);
    if branch.metadata.deletion_timestamp.is_some() {
        return Err(waiting(format!(
            "PlanetScaleBranch {name} is being deleted"
        )));
    }
    match ready {
        Some(c) if c.status == "True" => {}
        Some(c) => {
            return Err(waiting(format!(
                "PlanetScaleBranch {name} is not Ready ({}: {})",
                c.reason, c.message
            )));
        }
        None => {
            return Err(waiting(format!(
                "PlanetScaleBranch {name} is not Ready yet"
            )));
        }
    }
    let status_name = branch.status.as_ref().and_then(|s| s.branch_name.clone());
    Ok(Target {
        organization: branch.spec.organization.clone(),
        database: branch.spec.database.clone(),
        branch: status_name.unwrap_or_else(|| branch.spec.effective_branch_name(&name).to_string()),
        known_ready: true,
    })
}

/// `Waiting` with reason `BranchNotReady`.
pub fn waiting(message: String) -> Error {
    Error::Waiting {
        reason: reason::BRANCH_NOT_READY,
        message,
        retry_after: BRANCH_POLL,
    }
}

/// Checks an explicit target with PlanetScale: the branch exists and is ready.
pub async fn check_ready(api: &planetscale_api::Client, t: &Target) -> Result<(), Error> {
    match api
        .get_branch(&t.organization, &t.database, &t.branch)
        .await
    {
        Ok(b) if b.ready => Ok(()),
        Ok(_) => Err(waiting(format!(
            "branch {} of {}/{} is not ready yet",
            t.branch, t.organization, t.database
        ))),
        Err(planetscale_api::Error::NotFound { .. }) => Err(waiting(format!(
            "branch {} of {}/{} was not found (or the credentials cannot see it)",
            t.branch, t.organization, t.database
        ))),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::branch::{PlanetScaleBranchSpec, PlanetScaleBranchStatus};
    use crate::crd::conditions::new_condition;
    use crate::time::now;

    fn branch(ready: Option<bool>) -> PlanetScaleBranch {
        let spec: PlanetScaleBranchSpec =
            serde_json::from_value(serde_json::json!({"organization": "acme", "database": "shop"}))
                .unwrap();
        let mut b = PlanetScaleBranch::new("pr-1", spec);
        if let Some(ready) = ready {
            b.status = Some(PlanetScaleBranchStatus {
                branch_name: Some("pr-1".into()),
                conditions: vec![new_condition(
                    READY,
                    ready,
                    "Progressing",
                    "creating",
                    now(),
                )],
                ..Default::default()
            });
        }
        b
    }

    #[test]
    fn a_ready_branch_gives_the_target() {
        let t = from_branch(&branch(Some(true))).unwrap();
        assert_eq!(
            (
                t.organization.as_str(),
                t.database.as_str(),
                t.branch.as_str()
            ),
            ("acme", "shop", "pr-1")
        );
        assert!(t.known_ready);
    }

    #[test]
    fn only_a_complete_recorded_target_is_used() {
        let mut s = PlanetScalePasswordStatus {
            organization: Some("acme".into()),
            database: Some("shop".into()),
            ..Default::default()
        };
        assert_eq!(recorded(&s), None);
        s.branch = Some("pr-1".into());
        assert_eq!(recorded(&s).map(|t| t.branch), Some("pr-1".to_string()));
    }

    #[test]
    fn a_branch_that_is_not_ready_waits() {
        for b in [branch(None), branch(Some(false))] {
            let err = from_branch(&b).unwrap_err();
            assert_eq!(err.reason(), "BranchNotReady");
            assert!(err.to_string().contains("pr-1"), "{err}");
        }
    }
}
