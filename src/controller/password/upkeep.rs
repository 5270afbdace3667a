//! Looking after a password that works: renewal, CIDRs, deleting replaced passwords once their
//! grace period is over, and keeping the Secret's other keys and the status in line.
use kube::runtime::events::EventType;
use planetscale_api::models::UpdatePassword;

use super::deadline::{due_deletions, next_rotation_at};
use super::engine::CredOps;
use super::observe::Look;
use super::pass::Run;
use super::plan::Desired;
use super::secret;
use crate::connection::credentials_hash;
use crate::controller::planetscale::PlanetScale;
use crate::controller::target::Target;
use crate::crd::password::PlanetScalePasswordStatus;
use crate::error::Error;
use crate::time::to_time;

/// Renews the current password. When PlanetScale refuses (the password is gone or cannot be
/// renewed) the refusal is remembered, and the next pass replaces it.
pub async fn renew(
    run: &Run<'_>,
    status: &mut PlanetScalePasswordStatus,
    api: &impl PlanetScale,
    t: &Target,
) -> Result<(), Error> {
    let Some(id) = status.password_id.clone() else {
        return Ok(());
    };
    let renewed = CredOps::recorded(run.obj, status).renew(api, t, &id).await;
    let p = match renewed {
        Ok(p) => p,
        Err(
            planetscale_api::Error::NotFound { .. } | planetscale_api::Error::Unprocessable { .. },
        ) => {
            run.state.views.renew_refused(&run.key(), &id);
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    status.expires_at = p.expires_at.map(to_time);
    run.remember(t, &p);
    let until = p
        .expires_at
        .map(|e| format!(" until {}", e.to_rfc3339()))
        .unwrap_or_default();
    let name = status.password_name.clone().unwrap_or(id);
    run.event(
        EventType::Normal,
        "Renewed",
        format!("renewed password {name}{until}"),
    )
    .await;
    Ok(())
}

/// Sets the current password's CIDRs to the spec's (an empty list: any address).
pub async fn update_cidrs(
    run: &Run<'_>,
    status: &PlanetScalePasswordStatus,
    api: &impl PlanetScale,
    t: &Target,
    desired: &Desired,
) -> Result<(), Error> {
    let Some(id) = status.password_id.as_deref() else {
        return Ok(());
    };
    let body = UpdatePassword {
        name: None,
        cidrs: Some(desired.cidrs.clone().unwrap_or_default()),
    };
    let updated = api
        .update_password(&t.organization, &t.database, &t.branch, id, &body)
        .await?;
    run.remember(t, &updated);
    let views = &run.state.views;
    views.cidrs_set(&run.key(), id, desired.cidrs.clone());
    let shown = desired
        .cidrs
        .as_ref()
        .map_or("any address".to_string(), |c| c.join(", "));
    run.event(
        EventType::Normal,
        "CidrsUpdated",
        format!("allowed CIDRs set to {shown}"),
    )
    .await;
    Ok(())
}

/// Deletes the replaced passwords whose grace period is over (404 counts as deleted).
pub async fn delete_due(
    run: &Run<'_>,
    status: &mut PlanetScalePasswordStatus,
    api: &impl PlanetScale,
    t: &Target,
) -> Result<(), Error> {
    let creds = CredOps::recorded(run.obj, status);
    for due in due_deletions(&status.pending_deletions, api.server_now()) {
        creds.delete(api, t, &due.password_id).await?;
        status
            .pending_deletions
            .retain(|p| p.password_id != due.password_id);
        let name = due.password_name.unwrap_or(due.password_id);
        let noun = creds.noun();
        let note = format!("deleted replaced {noun} {name}: its grace period is over");
        run.event(EventType::Normal, "PasswordDeleted", note).await;
    }
    Ok(())
}

/// With a working password and a Secret that holds it: rewrites the Secret when its other keys,
/// labels, annotations or owner differ from the spec, and refreshes the status.
pub async fn sync(
    run: &Run<'_>,
    s: &mut PlanetScalePasswordStatus,
    seen: &Look,
    t: &Target,
    desired: &Desired,
) -> Result<(), Error> {
    let (Some(p), Some((_, plaintext))) = (&seen.password, &seen.secret.creds) else {
        return Ok(());
    };
    let info = secret::connection_info(run.obj, t, p, plaintext, seen.engine);
    let data = secret::render(run.obj, &info)?;
    let want = secret::desired(run.obj, &desired.secret_name, &data);
    if seen.secret.differs(&want) {
        secret::write(&run.secrets, &want).await?;
        let note = format!(
            "Secret {} updated to match the spec (same credentials)",
            desired.secret_name
        );
        run.event(EventType::Normal, "SecretUpdated", note).await;
    }
    let created = p
        .created_at
        .or(s.last_rotated_at.as_ref().map(crate::time::from_time));
    s.host = p.access_host_url.clone();
    s.username = p.username.clone();
    s.expires_at = p.expires_at.map(to_time);
    s.last_rotated_at = created.map(to_time);
    s.next_rotation_at = next_rotation_at(created, desired.interval).map(to_time);
    s.credentials_hash = Some(credentials_hash(&info));
    s.secret_name = Some(desired.secret_name.clone());
    s.engine = Some(seen.engine.as_str().to_string());
    s.role = Some(desired.role);
    Ok(())
}
