//! Deletion: every password the resource created or adopted is deleted (unless
//! `deletionPolicy: Retain`; an observed one never is), then the Secret follows its creation
//! policy.
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::engine::CredOps;
use super::pass::Run;
use super::secret;
use crate::controller::planetscale::PlanetScale;
use crate::controller::target::Target;
use crate::crd::common::{DeletionPolicy, ManagementPolicy};
use crate::crd::password::PlanetScalePasswordStatus;
use crate::error::Error;

/// Prefix of the names of every password the resource with `uid` creates.
pub fn name_prefix(uid: &str) -> String {
    let name = crate::crd::password_name(uid, 0);
    name.trim_end_matches('0').to_string()
}

/// Deletes the passwords and lets go of the Secret. Errors keep the finalizer (retried).
pub async fn cleanup(run: &Run<'_>) -> Result<Action, Error> {
    let status = run.obj.status.clone().unwrap_or_default();
    let spec = &run.obj.spec;
    let observed =
        spec.management_policy == ManagementPolicy::Observe || status.observed_only == Some(true);
    if spec.deletion_policy == DeletionPolicy::Delete && !observed {
        delete_passwords(run, &status).await?;
    }
    let desired_name = run.obj.spec.secret.effective_name(&run.name()).to_string();
    let mut names = vec![desired_name];
    names.extend(status.secret_name.clone());
    names.dedup();
    for name in names {
        secret::release(&run.secrets, run.obj, &name).await?;
    }
    Ok(Action::await_change())
}

async fn delete_passwords(run: &Run<'_>, status: &PlanetScalePasswordStatus) -> Result<(), Error> {
    // The branch the passwords were created on, from the status (the `PlanetScaleBranch` may
    // be gone already).
    let Some(t) = super::observe::recorded(status) else {
        // No target was ever resolved, so no password was created.
        return Ok(());
    };
    if status.rotation == 0 && status.password_id.is_none() {
        // No create was ever attempted (the counter is raised before each one): e.g. a spec
        // refused before anything was made, whose engine was never recorded.
        return Ok(());
    }
    let api = run.client().await?;
    delete_on(run, &api, &t, status).await
}

/// Deletes every password of the resource on `t`: those named with its prefix, the current
/// one and those pending deletion.
async fn delete_on(
    run: &Run<'_>,
    api: &impl PlanetScale,
    t: &Target,
    status: &PlanetScalePasswordStatus,
) -> Result<(), Error> {
    let prefix = name_prefix(&run.uid);
    let creds = CredOps::recorded(run.obj, status);
    let listed = creds.list_named(api, t, &prefix).await;
    let listed = match listed {
        Ok(list) => list,
        // The branch (and every password on it) is gone, unless access to it was lost.
        Err(planetscale_api::Error::NotFound { .. }) => {
            let what = format!("the passwords of branch {}", t.branch);
            return super::mint::confirm_gone(api, t, &what).await;
        }
        Err(e) => return Err(e.into()),
    };
    let mut ids: Vec<String> = listed
        .into_iter()
        .filter(|p| p.name.starts_with(&prefix))
        .map(|p| p.id)
        .collect();
    ids.extend(status.password_id.clone());
    ids.extend(
        status
            .pending_deletions
            .iter()
            .map(|p| p.password_id.clone()),
    );
    ids.sort();
    ids.dedup();
    for id in &ids {
        creds.delete(api, t, id).await?;
    }
    if !ids.is_empty() {
        let note = format!(
            "deleted {} {}(s) of branch {} in {}/{}",
            ids.len(),
            creds.noun(),
            t.branch,
            t.organization,
            t.database
        );
        run.event(EventType::Normal, "PasswordsDeleted", note).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_matches_every_counter_and_no_other_uid() {
        let uid = "0b9e0f3a-6a55-4f4e-9b0e-2d2f1d6f2c10";
        let prefix = name_prefix(uid);
        for n in [0, 1, 10, 12345] {
            assert!(crate::crd::password_name(uid, n).starts_with(&prefix));
        }
        let other = "0b9e0f3a-6a55-4f4e-9b0e-2d2f1d6f2c1";
        assert!(!crate::crd::password_name(other, 0).starts_with(&prefix));
        assert!(prefix.ends_with('-'), "{prefix}");
    }
}
