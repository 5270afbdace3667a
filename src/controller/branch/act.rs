//! The apply half of the reconcile: observe PlanetScale, plan, act, report.
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use planetscale_api::models::{Branch, CreateBranch, Database, UpdateBranch};
use planetscale_api::{Client, Error as ApiError};

use super::plan::{Claim, Fix, Observed, Plan, create_body, describe, fixes, plan};
use super::poller::DbKey;
use super::status::{Progress, copy_branch, report, set_ready};
use super::{BranchContext, Target, found};
use crate::controller::apply_status;
use crate::crd::branch::{PlanetScaleBranchStatus, reason as branch_reason};
use crate::crd::conditions::{is_ready_for, reason};
use crate::error::Error;
use crate::time::now;

/// Brings the branch in line with the spec, reports, and schedules the next look.
pub async fn apply(b: &BranchContext, t: &Target<'_>) -> Result<Action, Error> {
    let mut status = t.obj.status.clone().unwrap_or_default();
    let outcome = converge(b, t, &mut status).await;
    set_ready(&mut status, &outcome, &t.name, t.generation());
    let outcome = match report(&b.ctx, t.obj, status).await {
        Ok(()) => outcome,
        Err(e) => outcome.and(Err(e)),
    };
    let delay = next_look(b, t, &outcome);
    b.schedule.set(&t.key, t.trigger, delay);
    outcome.map(|_| Action::requeue(delay))
}

/// Ready: the next resync (counted from the shared list the resync used). Waiting on the
/// branch: the poller wakes the resource; its own look is only a safety net. Waiting on the
/// database: the next poll (2 s … 30 s). Failed: the backoff.
fn next_look(b: &BranchContext, t: &Target<'_>, outcome: &Result<Progress, Error>) -> Duration {
    match outcome {
        Ok(Progress::Ready) => {
            b.schedule.reset_polls(&t.key);
            b.ctx.reset_backoff(&t.key);
            let resync = b.ctx.settings.resync_interval;
            match *t.listed_at.lock().expect("lock") {
                Some(at) => (at + resync)
                    .saturating_duration_since(Instant::now())
                    .max(resync / 2),
                None => resync,
            }
        }
        Ok(Progress::Waiting { .. }) | Err(Error::Waiting { .. }) => {
            b.ctx.reset_backoff(&t.key);
            if t.registered.load(Ordering::Relaxed) {
                return SAFETY_LOOK;
            }
            b.schedule.next_poll(&t.key)
        }
        Err(e) => {
            b.schedule.reset_polls(&t.key);
            b.ctx.backoff_delay_for(&t.key, e)
        }
    }
}

/// How long a branch registered with the poller waits before it looks on its own.
const SAFETY_LOOK: Duration = Duration::from_secs(120);

async fn converge(
    b: &BranchContext,
    t: &Target<'_>,
    status: &mut PlanetScaleBranchStatus,
) -> Result<Progress, Error> {
    let client = t.client(b).await?;
    let key = t.db_key(b)?;
    let remembered = b.schedule.created_id(&t.key);
    let never_created =
        status.id.is_none() && status.create_requested_at.is_none() && remembered.is_none();
    if never_created && !t.obj.spec.adopt {
        // Nothing to look at yet: create at once. A refusal says why (and only then is the
        // database looked at, to tell a missing database from a missing parent).
        let body = create_body(&t.obj.spec, &t.name, None);
        match create(b, t, &key, &client, status, body, false).await {
            Err(e) if e.reason() == branch_reason::ALREADY_EXISTS => {}
            Err(e) if is_not_found(&e) => return Err(diagnose_not_found(&client, t, e).await),
            other => return other,
        }
    }
    if let Some(progress) = still_pending(b, t, &key, &client, status) {
        return Ok(progress);
    }
    let branch = observe(b, t, &key, &client, status).await?;
    let database = match branch {
        None => Some(get_database(&client, t).await?),
        Some(_) => None,
    };
    let planned = plan(&Observed {
        spec: &t.obj.spec,
        name: &t.name,
        status,
        remembered_id: remembered.as_deref(),
        branch: branch.as_ref(),
        database: database.as_ref(),
    });
    match (planned, branch) {
        (Plan::WaitForDatabase, _) => Ok(waiting_for_database(t)),
        (Plan::Refuse { existing_id }, _) => Err(already_exists(t, Some(&existing_id))),
        (Plan::Create { body, recreate }, _) => {
            create(b, t, &key, &client, status, body, recreate).await
        }
        (Plan::Sync { claim, fixes, .. }, Some(branch)) => {
            sync(b, t, &key, &client, status, branch, claim, fixes).await
        }
        (Plan::Sync { .. }, None) => unreachable!("plan syncs only an existing branch"),
    }
}

/// A pending branch the poller is watching needs no look of its own: it is woken when the
/// branch changes (the registration is renewed). `None` when the reconcile must look.
fn still_pending(
    b: &BranchContext,
    t: &Target<'_>,
    key: &DbKey,
    client: &Client,
    status: &PlanetScaleBranchStatus,
) -> Option<Progress> {
    let same_spec = status.observed_generation == t.generation();
    if !same_spec || !b.poller.is_waiting(key, &t.name) {
        return None;
    }
    register(b, t, key, client, status.state.clone());
    Some(Progress::Waiting {
        reason: reason::BRANCH_NOT_READY,
        message: status
            .conditions
            .iter()
            .find(|c| c.type_ == crate::crd::conditions::READY)
            .map(|c| c.message.clone())
            .unwrap_or_else(|| format!("waiting for branch {} to be ready", t.name)),
    })
}

/// What PlanetScale says about the branch, at the lowest cost: what the poller saw when it
/// woke the resource, the shared list for the resync of a Ready branch, else one GET.
async fn observe(
    b: &BranchContext,
    t: &Target<'_>,
    key: &DbKey,
    client: &Client,
    status: &PlanetScaleBranchStatus,
) -> Result<Option<Branch>, Error> {
    if let Some(Some(seen)) = b.poller.take_seen(key, &t.name) {
        return Ok(Some(seen));
    }
    let resync = status.id.is_some() && is_ready_for(&status.conditions, t.generation());
    if resync {
        let max_age = b.ctx.settings.resync_interval / 2;
        let snapshot = b.poller.snapshot(key, client, max_age).await?;
        if let Some(branch) = snapshot.branches.get(&t.name) {
            *t.listed_at.lock().expect("lock") = Some(snapshot.taken);
            return Ok(Some(branch.clone()));
        }
        // Not in the list: confirm with a GET before treating it as deleted.
    }
    found(client.get_branch(t.org(), t.db(), &t.name).await)
}

/// Lets the poller wake the resource once its pending branch changes.
fn register(
    b: &BranchContext,
    t: &Target<'_>,
    key: &DbKey,
    client: &Client,
    state: Option<String>,
) {
    let Some(wake) = b.wake_for(&t.namespace) else {
        return;
    };
    let obj = ObjectRef::from_obj(t.obj);
    b.poller
        .wait_for(key, &t.name, obj, wake, client.clone(), state);
    t.registered.store(true, Ordering::Relaxed);
}

fn is_not_found(e: &Error) -> bool {
    let r = e.reason();
    r == branch_reason::PARENT_NOT_FOUND || r == branch_reason::BACKUP_NOT_FOUND
}

/// A 404 on create: a missing database explains it better than a missing parent.
async fn diagnose_not_found(client: &Client, t: &Target<'_>, e: Error) -> Error {
    match get_database(client, t).await {
        Err(missing @ Error::Invalid { .. }) => missing,
        _ => e,
    }
}

async fn get_database(client: &Client, t: &Target<'_>) -> Result<Database, Error> {
    client
        .get_database(t.org(), t.db())
        .await
        .map_err(|e| match e {
            ApiError::NotFound { .. } => Error::Invalid {
                reason: reason::DATABASE_NOT_FOUND,
                message: format!(
                    "database {} does not exist in organization {}, or the credentials have no \
                     access to it: check spec.organization and spec.database",
                    t.db(),
                    t.org()
                ),
            },
            e => e.into(),
        })
}

fn waiting_for_database(t: &Target<'_>) -> Progress {
    Progress::Waiting {
        reason: branch_reason::DATABASE_NOT_READY,
        message: format!(
            "database {} is still initializing; branch {} is created once it is ready",
            t.db(),
            t.name
        ),
    }
}

fn waiting_for_branch(t: &Target<'_>, branch: &Branch) -> Progress {
    let state = branch.state.as_ref().map_or("unknown", |s| s.as_str());
    Progress::Waiting {
        reason: reason::BRANCH_NOT_READY,
        message: format!("waiting for branch {} to be ready (state {state})", t.name),
    }
}

fn already_exists(t: &Target<'_>, id: Option<&str>) -> Error {
    let id = id.map(|i| format!(" (id {i})")).unwrap_or_default();
    Error::Invalid {
        reason: branch_reason::ALREADY_EXISTS,
        message: format!(
            "a branch named {}{id} already exists in {}/{} and was not created by this resource: \
             set spec.adopt: true to manage it, or choose another spec.branchName",
            t.name,
            t.org(),
            t.db()
        ),
    }
}

async fn create(
    b: &BranchContext,
    t: &Target<'_>,
    key: &DbKey,
    client: &Client,
    status: &mut PlanetScaleBranchStatus,
    body: CreateBranch,
    recreate: bool,
) -> Result<Progress, Error> {
    // Record the intent first: a branch found after a crash right after the create call is
    // then recognised as ours (see `Ownership::OursUnrecorded`).
    status.create_requested_at = Some(now());
    apply_status(&t.api, &t.obj_name(), &*status).await?;
    let created = match client.create_branch(t.org(), t.db(), &body).await {
        Ok(created) => created,
        Err(e) => {
            let not_created = definitely_not_created(&e);
            let outcome = create_failed(t, &body, e);
            if not_created {
                // Clear the intent on the server now, with the outcome: the final report
                // skips writes that change nothing compared to the (older) cached status.
                status.create_requested_at = None;
                set_ready(status, &outcome, &t.name, t.generation());
                apply_status(&t.api, &t.obj_name(), &*status).await?;
            }
            return outcome;
        }
    };
    b.schedule.remember_created(&t.key, &created.id, t.trigger);
    b.schedule.reset_polls(&t.key);
    copy_branch(status, &created);
    status.adopted = Some(false);
    let parent = body
        .parent_branch
        .as_deref()
        .unwrap_or("the default branch");
    let (r, note) = if recreate {
        let note = format!(
            "branch {} was deleted outside Kubernetes; created it again from {parent}",
            t.name
        );
        (branch_reason::RECREATED, note)
    } else {
        let note = format!("created branch {} from {parent}", t.name);
        ("Created", note)
    };
    b.ctx
        .event(t.obj, EventType::Normal, r, "Create", note)
        .await;
    if created.ready {
        // Ready at once (e.g. a restore of a small backup): no need to wait for a look.
        let fixes = fixes(&t.obj.spec, &created);
        return sync(b, t, key, client, status, created, None, fixes).await;
    }
    register(
        b,
        t,
        key,
        client,
        created.state.as_ref().map(|s| s.as_str().to_string()),
    );
    Ok(waiting_for_branch(t, &created))
}

/// Whether the API's answer proves that nothing was created (unlike a timeout or a 5xx).
fn definitely_not_created(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::NotFound { .. }
            | ApiError::BadRequest { .. }
            | ApiError::Unprocessable { .. }
            | ApiError::Conflict { .. }
            | ApiError::Unauthorized { .. }
            | ApiError::Forbidden { .. }
    )
}

/// What a refused create means for the user.
fn create_failed(t: &Target<'_>, body: &CreateBranch, e: ApiError) -> Result<Progress, Error> {
    let message = e.message().unwrap_or("no details").to_string();
    match &e {
        ApiError::BadRequest { .. } if message.contains("initializing") => {
            return Ok(waiting_for_database(t));
        }
        ApiError::Unprocessable { .. } if message.contains("not ready") => {
            return Ok(Progress::Waiting {
                reason: reason::BRANCH_NOT_READY,
                message: format!("cannot create branch {} yet: {message}", t.name),
            });
        }
        ApiError::Unprocessable { .. } | ApiError::Conflict { .. }
            if message.contains("already") =>
        {
            return Err(already_exists(t, None));
        }
        _ => {}
    }
    let parent = body.parent_branch.as_deref().unwrap_or("(default)");
    Err(match (&e, &body.backup_id) {
        (ApiError::NotFound { .. }, None) => Error::Invalid {
            reason: branch_reason::PARENT_NOT_FOUND,
            message: format!(
                "cannot create branch {}: PlanetScale answered 404 — parent branch {parent} does \
                 not exist in {}/{}, or the credentials lack the create_branch access (PlanetScale \
                 answers 404 for both): check spec.parentBranch and the token's accesses",
                t.name,
                t.org(),
                t.db()
            ),
        },
        (ApiError::NotFound { .. }, Some(backup)) => Error::Invalid {
            reason: branch_reason::BACKUP_NOT_FOUND,
            message: format!(
                "cannot create branch {}: PlanetScale answered 404 — backup {backup} (or parent \
                 branch {parent}) does not exist in {}/{}, or the credentials lack the \
                 restore_backup access: check spec.backupId and the token's accesses",
                t.name,
                t.org(),
                t.db()
            ),
        },
        (ApiError::Unprocessable { .. } | ApiError::BadRequest { .. }, _) => Error::Invalid {
            reason: Error::from(e).reason(),
            message: format!("PlanetScale refused to create branch {}: {message}", t.name),
        },
        _ => e.into(),
    })
}

#[allow(clippy::too_many_arguments)]
async fn sync(
    b: &BranchContext,
    t: &Target<'_>,
    key: &DbKey,
    client: &Client,
    status: &mut PlanetScaleBranchStatus,
    branch: Branch,
    claim: Option<Claim>,
    fixes: Vec<Fix>,
) -> Result<Progress, Error> {
    let drift = claim.is_none() && is_ready_for(&status.conditions, t.generation());
    copy_branch(status, &branch);
    match claim {
        Some(Claim::Adopt) => {
            status.adopted = Some(true);
            let note = format!("adopted the existing branch {} (spec.adopt)", t.name);
            b.ctx
                .event(t.obj, EventType::Normal, "Adopted", "Adopt", note)
                .await;
        }
        Some(Claim::Record) => status.adopted = Some(false),
        None => {
            status.adopted.get_or_insert(false);
        }
    }
    if !branch.ready {
        register(b, t, key, client, status.state.clone());
        return Ok(waiting_for_branch(t, &branch));
    }
    for fix in fixes {
        let updated = apply_fix(client, t, fix).await?;
        copy_branch(status, &updated);
        announce(b, t, fix, drift).await;
    }
    Ok(Progress::Ready)
}

async fn apply_fix(client: &Client, t: &Target<'_>, fix: Fix) -> Result<Branch, Error> {
    let (org, db, name) = (t.org(), t.db(), t.name.as_str());
    let result = match fix {
        Fix::Promote => client.promote_branch(org, db, name).await,
        Fix::Demote => client.demote_branch(org, db, name).await,
        Fix::EnableSafeMigrations => client.enable_safe_migrations(org, db, name).await,
        Fix::DisableSafeMigrations => client.disable_safe_migrations(org, db, name).await,
        Fix::DeletionProtection(on) => {
            let body = UpdateBranch {
                deletion_protected: Some(on),
                ..UpdateBranch::default()
            };
            client.update_branch(org, db, name, &body).await
        }
    };
    result.map_err(|e| match e {
        ApiError::Unprocessable { .. } | ApiError::BadRequest { .. } => {
            let message = format!(
                "PlanetScale refused to change branch {name} ({}): {}",
                describe(fix),
                e.message().unwrap_or("no details")
            );
            Error::Invalid {
                reason: Error::from(e).reason(),
                message,
            }
        }
        e => e.into(),
    })
}

/// Events for a fix: `Promoted`/`Demoted` for those, `Updated` for a spec change, and
/// `DriftCorrected` when PlanetScale had drifted from a spec that was already in place.
async fn announce(b: &BranchContext, t: &Target<'_>, fix: Fix, drift: bool) {
    let what = describe(fix);
    let r = match fix {
        Fix::Promote => Some("Promoted"),
        Fix::Demote => Some("Demoted"),
        _ => None,
    };
    if let Some(r) = r {
        let note = format!("branch {}: {what}", t.name);
        b.ctx
            .event(t.obj, EventType::Normal, r, "Update", note)
            .await;
    }
    if drift {
        let note = format!(
            "branch {} had been changed outside Kubernetes: {what} to match the spec",
            t.name
        );
        b.ctx
            .event(t.obj, EventType::Normal, "DriftCorrected", "Update", note)
            .await;
    } else if r.is_none() {
        let note = format!("branch {}: {what}", t.name);
        b.ctx
            .event(t.obj, EventType::Normal, "Updated", "Update", note)
            .await;
    }
}
