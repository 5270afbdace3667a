//! Minting a password so that no crash and no lost response leaves a stray password or a
//! Secret without a working one:
//!
//! 1. the rotation counter `n` is written to the status first;
//! 2. the password named `k8s-<uid>-<n>` is looked up: one that exists but whose username is
//!    not in the Secret (its create response was lost) is deleted. The lookup is skipped when
//!    this attempt is the one that raised the counter to `n` in step 1: no earlier attempt
//!    created anything of that name, since every attempt writes `n` before it creates
//!    ([`lookup_needed`]). A first password whose Secret already holds credentials is looked
//!    up all the same (the status may have been lost, e.g. by a restore);
//! 3. it is created, and the Secret is written at once with the plaintext;
//! 4. only then is the password id recorded, and the replaced one queued for deletion (in the
//!    status the pass writes at its end).
//!
//! A restart at any point repeats the steps for the same `n` (the status then already holds
//! `n`, so step 2 looks, and adopts the password whose credentials the Secret holds) and ends
//! in the same state.
use kube::runtime::events::EventType;
use planetscale_api::models::Password;

use super::deadline::{delete_after, next_rotation_at};
use super::engine::CredOps;
use super::pass::Run;
use super::plan::{Cause, Desired};
use super::secret::{self, SecretView};
use crate::connection::{Engine, credentials_hash};
use crate::controller::planetscale::PlanetScale;
use crate::controller::target::Target;
use crate::crd::password::{
    MAX_PENDING_DELETIONS, PendingDeletion, PlanetScalePassword, PlanetScalePasswordStatus, reason,
};
use crate::crd::password_name;
use crate::error::Error;
use crate::time::to_time;
use planetscale_api::Secret;

/// What [`mint`] starts from.
pub struct Mint<'a, P> {
    pub api: &'a P,
    pub target: &'a Target,
    /// A password (Vitess) or a role (PostgreSQL), with the role's successor.
    pub creds: CredOps<'a>,
    pub desired: &'a Desired,
    pub secret: &'a SecretView,
    pub counter: i64,
    pub cause: Cause,
    /// Whether an earlier attempt may have created password `counter` ([`lookup_needed`]).
    pub lookup: bool,
}

/// Mints password `m.counter`, writes the Secret and records it in `status` (steps 2 to 4 of
/// the module docs; step 1 is the skeleton's intent write).
pub async fn mint(
    run: &Run<'_>,
    status: &mut PlanetScalePasswordStatus,
    m: Mint<'_, impl PlanetScale>,
) -> Result<(), Error> {
    let name = password_name(&run.uid, m.counter);
    let (password, plaintext, stale) = find_or_create(&m, &name, m.lookup).await?;
    write_secret(run, &m, &password, &plaintext).await?;
    let old = record(run, status, &m, &password, &plaintext, &name);
    // The next step plans from this answer, not from another GET.
    run.remember(m.target, &password);
    if let Some(old_secret) = old.secret.filter(|s| *s != m.desired.secret_name) {
        secret::release(&run.secrets, run.obj, &old_secret).await?;
    }
    announce(run, &m, &name, old.replaced, stale).await;
    Ok(())
}

/// Whether password `counter` must be looked up before it is created: when the status
/// already held `counter` before this attempt (`recorded`), i.e. an earlier attempt may have
/// created it (and crashed or lost the response), or when a first password's Secret already
/// holds credentials the status does not explain (`unexplained`: a status that was lost, or a
/// merged Secret with keys of its own). When this attempt raises the counter, no password of
/// that name can exist yet. Pure.
pub fn lookup_needed(recorded: i64, counter: i64, unexplained: bool) -> bool {
    recorded >= counter || unexplained
}

/// Renders the Secret with placeholder credentials, so a template that cannot render stops
/// us before a password is created that could not be stored.
pub fn preflight(obj: &PlanetScalePassword, target: &Target, engine: Engine) -> Result<(), Error> {
    let placeholder = Password {
        access_host_url: Some("placeholder.connect.psdb.cloud".into()),
        username: Some("placeholder".into()),
        ..Password::default()
    };
    let plaintext = Secret::new("pscale_pw_placeholder");
    let info = secret::connection_info(obj, target, &placeholder, &plaintext, engine);
    secret::render(obj, &info).map(drop)
}

/// The password named `name`: adopted when the Secret already holds it, else created after
/// deleting any of that name (their plaintext is lost); with `lookup` false nothing is looked
/// up (see [`lookup_needed`]). Returns it, its plaintext and how many strays were deleted.
async fn find_or_create(
    m: &Mint<'_, impl PlanetScale>,
    name: &str,
    lookup: bool,
) -> Result<(Password, Secret, usize), Error> {
    let t = m.target;
    let found = if lookup {
        m.creds.list_named(m.api, t, name).await?
    } else {
        Vec::new()
    };
    let mut adopted = None;
    let mut stale = 0;
    for p in found.into_iter().filter(|p| p.name == name) {
        let in_secret = p.username.is_some() && p.username.as_deref() == m.secret.username();
        match (&m.secret.creds, in_secret && adopted.is_none()) {
            (Some((_, plaintext)), true) => adopted = Some((p, plaintext.clone())),
            _ => {
                delete(m, &p.id).await?;
                stale += 1;
            }
        }
    }
    if let Some((p, plaintext)) = adopted {
        return Ok((p, plaintext, stale));
    }
    let p = m.creds.create(m.api, t, name, m.desired).await?;
    let Some(plaintext) = p.plain_text.clone() else {
        delete(m, &p.id).await.ok();
        return Err(Error::Invalid {
            reason: "NoPlaintext",
            message: format!("PlanetScale returned password {name} without its plaintext"),
        });
    };
    Ok((p, plaintext, stale))
}

/// Reason while a password PlanetScale answers 404 for may still exist.
pub const PASSWORD_UNREACHABLE: &str = "PasswordUnreachable";

/// After PlanetScale answered 404 for `what` on `t`: `Ok` when it is gone for sure (its branch
/// is visible, or its branch is gone while its database is visible: a branch's passwords go
/// with it). When the database answers 404 as well, these credentials may only have lost
/// access to it, and the passwords may still work: `PasswordUnreachable`, retried, so that
/// nothing is forgotten while it may exist.
pub async fn confirm_gone(api: &impl PlanetScale, t: &Target, what: &str) -> Result<(), Error> {
    use planetscale_api::Error::NotFound;
    match api
        .get_branch(&t.organization, &t.database, &t.branch)
        .await
    {
        Ok(_) => return Ok(()),
        Err(NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    match api.get_database(&t.organization, &t.database).await {
        Ok(_) => Ok(()),
        Err(NotFound { .. }) => Err(Error::Waiting {
            reason: PASSWORD_UNREACHABLE,
            message: format!(
                "PlanetScale answers 404 for {what} and for database {}/{}: it was deleted, or \
                 these credentials lost access to it. It is kept in the status and retried; \
                 with deletionPolicy: Retain it is let go",
                t.organization, t.database
            ),
            retry_after: std::time::Duration::from_secs(300),
        }),
        Err(e) => Err(e.into()),
    }
}

async fn delete(m: &Mint<'_, impl PlanetScale>, id: &str) -> Result<(), Error> {
    m.creds.delete(m.api, m.target, id).await
}

/// Writes the Secret for `p`. A password whose Secret cannot even be rendered is deleted at
/// once (it could never be stored); after a failed write it is left for the next attempt's
/// lookup, which keeps it if the write went through after all.
async fn write_secret(
    run: &Run<'_>,
    m: &Mint<'_, impl PlanetScale>,
    p: &Password,
    plaintext: &Secret,
) -> Result<(), Error> {
    let info = secret::connection_info(run.obj, m.target, p, plaintext, m.creds.engine);
    let data = match secret::render(run.obj, &info) {
        Ok(data) => data,
        Err(e) => {
            if p.plain_text.is_some() {
                // Just created (not adopted from the Secret).
                delete(m, &p.id).await.ok();
            }
            return Err(e);
        }
    };
    let whole = m.secret.whole(run.obj.spec.secret.creation_policy);
    let desired = secret::desired(run.obj, &m.desired.secret_name, &data, whole);
    secret::write(&run.secrets, &desired).await
}

/// What recording the new password replaced.
struct Replaced {
    /// The replaced password's name, and when it is deleted.
    replaced: Option<(String, chrono::DateTime<chrono::Utc>)>,
    /// The Secret the previous password was written to.
    secret: Option<String>,
}

fn record(
    run: &Run<'_>,
    s: &mut PlanetScalePasswordStatus,
    m: &Mint<'_, impl PlanetScale>,
    p: &Password,
    plaintext: &Secret,
    name: &str,
) -> Replaced {
    let now = m.api.server_now();
    let old_id = s.password_id.clone().filter(|id| *id != p.id);
    let mut replaced = None;
    // A password answered with 404 is queued too (due at once): deleting it confirms it is
    // gone rather than out of reach ([`confirm_gone`]).
    if let Some(id) = old_id {
        let when = delete_after(m.cause, now, m.desired.grace);
        let old_name = s.password_name.clone();
        replaced = Some((old_name.clone().unwrap_or_else(|| id.clone()), when));
        s.pending_deletions.push(PendingDeletion {
            password_id: id,
            password_name: old_name,
            delete_after: to_time(when),
        });
    }
    let overflow = s
        .pending_deletions
        .len()
        .saturating_sub(MAX_PENDING_DELETIONS);
    for pending in s.pending_deletions.iter_mut().take(overflow) {
        pending.delete_after = to_time(now);
    }
    let created = p.created_at.unwrap_or(now);
    let info = secret::connection_info(run.obj, m.target, p, plaintext, m.creds.engine);
    let old_secret = s.secret_name.replace(m.desired.secret_name.clone());
    s.password_id = Some(p.id.clone());
    s.password_name = Some(name.to_string());
    s.username = p.username.clone();
    s.host = p.access_host_url.clone();
    s.engine = Some(m.creds.engine.as_str().to_string());
    s.role = Some(m.desired.role);
    s.expires_at = p.expires_at.map(to_time);
    s.last_rotated_at = Some(to_time(created));
    s.next_rotation_at = next_rotation_at(Some(created), m.desired.interval).map(to_time);
    s.last_rotate_request = m.desired.rotate_request.clone();
    s.credentials_hash = Some(credentials_hash(&info));
    Replaced {
        replaced,
        secret: old_secret,
    }
}

async fn announce(
    run: &Run<'_>,
    m: &Mint<'_, impl PlanetScale>,
    name: &str,
    replaced: Option<(String, chrono::DateTime<chrono::Utc>)>,
    stale: usize,
) {
    let secret = &m.desired.secret_name;
    let old = match &replaced {
        Some((old, when)) => format!("; {old} is deleted at {}", when.to_rfc3339()),
        None => String::new(),
    };
    let strays = if stale > 0 {
        format!(" ({stale} password(s) of that name whose create response was lost were deleted)")
    } else {
        String::new()
    };
    let (type_, why, what) = cause_text(m.cause, secret);
    let noun = m.creds.noun();
    let note = format!("{what} {noun} {name} and wrote Secret {secret}{old}{strays}");
    run.event_as(type_, why, action(m.cause), note).await;
}

/// The event type, reason and opening words for a mint of `cause`.
fn cause_text(cause: Cause, secret: &str) -> (EventType, &'static str, String) {
    let (normal, warning) = (EventType::Normal, EventType::Warning);
    let (t, r, what) = match cause {
        Cause::Initial => (normal, "Created", "created"),
        Cause::Resume => (normal, "Created", "finished creating"),
        Cause::Scheduled => (
            normal,
            reason::ROTATED,
            "rotation interval elapsed: created",
        ),
        Cause::Requested => (normal, reason::ROTATED, "rotation requested: created"),
        Cause::SecretRenamed => (normal, reason::ROTATED, "secret.name changed: created"),
        Cause::SecretMissing => {
            let what = format!("Secret {secret} was deleted or lost its credentials: created");
            return (warning, reason::SECRET_HEALED, what);
        }
        Cause::SecretEdited => {
            let what = format!("the credentials in Secret {secret} were changed: created");
            return (warning, reason::SECRET_HEALED, what);
        }
        Cause::Gone => (
            warning,
            reason::PASSWORD_REPLACED,
            "the password was deleted in PlanetScale: created",
        ),
        Cause::Expired => (
            warning,
            reason::PASSWORD_REPLACED,
            "the password expired: created",
        ),
        Cause::RenewRefused => (
            warning,
            reason::PASSWORD_REPLACED,
            "PlanetScale refused to renew the password: created",
        ),
        Cause::SpecChanged => (
            normal,
            reason::PASSWORD_REPLACED,
            "role, replica or ttl changed: created",
        ),
        Cause::Adopted => (
            normal,
            reason::PASSWORD_REPLACED,
            "adopted a password whose plaintext PlanetScale never shows again: created",
        ),
    };
    (t, r, what.to_string())
}

/// The event action of a mint of `cause`.
fn action(cause: Cause) -> &'static str {
    match cause {
        Cause::Initial => "Create",
        Cause::Resume => "ResumeCreate",
        Cause::Scheduled => "RotateOnSchedule",
        Cause::Requested => "RotateOnRequest",
        Cause::SecretRenamed => "MoveSecret",
        Cause::SecretMissing => "HealMissingSecret",
        Cause::SecretEdited => "HealEditedSecret",
        Cause::Gone => "ReplaceDeleted",
        Cause::Expired => "ReplaceExpired",
        Cause::RenewRefused => "ReplaceUnrenewable",
        Cause::SpecChanged => "ReplaceChanged",
        Cause::Adopted => "ReplaceAdopted",
    }
}

#[cfg(test)]
mod tests {
    use super::lookup_needed;

    #[test]
    fn a_counter_this_attempt_raised_needs_no_lookup() {
        // First password, a rotation, a heal: the status held n - 1.
        assert!(!lookup_needed(0, 1, false));
        assert!(!lookup_needed(4, 5, false));
        // A create that was interrupted (crash, lost response): the status already held n.
        assert!(lookup_needed(1, 1, false));
        assert!(lookup_needed(5, 5, false));
        // Never skip on a counter the status is already past.
        assert!(lookup_needed(6, 5, false));
        // A first password whose Secret already holds credentials (a lost status).
        assert!(lookup_needed(0, 1, true));
    }
}
