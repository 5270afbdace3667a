//! Observing, without deciding anything: where the password lives ([`locate`], once per
//! pass), then the Secret (from Kubernetes, every time) and the current password in PlanetScale
//! ([`observe`]) — from the last view while it is fresh enough ([`super::cache`]), else from
//! the database's shared snapshot, else with one GET.
use std::time::Instant;

use chrono::{DateTime, Utc};
use planetscale_api::models::Password;

use super::cache;
use super::pass::{Run, crd_role, desired, normalize_cidrs};
use super::plan::{Desired, Facts, Live, LiveView};
use super::secret::SecretView;
use super::target::{self, Target};
use crate::controller::snapshot::DbKey;
use crate::crd::password::PlanetScalePasswordStatus;
use crate::error::Error;

/// What the spec asks for and where: found once per pass.
pub struct Located {
    pub desired: Desired,
    pub target: Target,
    /// The `BranchNotReady` to report while a working password is looked after on the target
    /// recorded in its status (its `PlanetScaleBranch` is not Ready right now).
    pub branch_waiting: Option<Error>,
}

/// Parses the spec and resolves the target branch.
pub async fn locate(run: &Run<'_>) -> Result<Located, Error> {
    let desired = desired(run.obj)?;
    let (target, branch_waiting) = target::resolve(&run.ctx.client, run.obj).await?;
    Ok(Located {
        desired,
        target,
        branch_waiting,
    })
}

/// What this pass has done so far that planning must know (it is not visible in PlanetScale
/// or the status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// A renewal was just refused.
    pub renew_refused: bool,
    /// The CIDRs were already set once, so a server that reports them differently does not
    /// make us set them again and again.
    pub cidrs_patched: bool,
}

/// What one look at the world found.
pub struct Observed {
    /// PlanetScale's current time.
    pub now: DateTime<Utc>,
    /// The status as it stands at this look.
    pub status: PlanetScalePasswordStatus,
    pub secret: SecretView,
    pub live: Live,
    /// The current password as PlanetScale returned it (no plaintext).
    pub password: Option<Password>,
    pub pass: Pass,
}

impl Observed {
    /// What planning looks at.
    pub fn facts<'a>(&'a self, uid: &'a str, desired: &'a Desired) -> Facts<'a> {
        Facts {
            now: self.now,
            uid,
            status: &self.status,
            desired,
            secret: self.secret.state(&self.status),
            live: self.live.clone(),
            renew_refused: self.pass.renew_refused,
            cidrs_patched: self.pass.cidrs_patched,
        }
    }
}

/// Reads the Secret and the current password of `status`.
pub async fn observe(
    run: &Run<'_>,
    api: &planetscale_api::Client,
    at: &Located,
    status: &PlanetScalePasswordStatus,
    pass: Pass,
) -> Result<Observed, Error> {
    let secret = run.secrets.get_opt(&at.desired.secret_name).await?;
    let secret = SecretView::new(secret, run.obj);
    let password = match status.password_id.as_deref() {
        Some(id) => current(run, api, &at.target, id).await?,
        None => None,
    };
    let live = match (&password, &status.password_id) {
        (Some(p), _) => Live::Found(live_view(p)),
        (None, Some(_)) => Live::Gone,
        (None, None) => Live::None,
    };
    Ok(Observed {
        now: api.server_now(),
        status: status.clone(),
        secret,
        live,
        password,
        pass,
    })
}

/// The database snapshot key of `t` for the resource's credentials.
pub fn db_key(run: &Run<'_>, t: &Target) -> DbKey {
    DbKey {
        credentials: run.credentials(),
        organization: t.organization.clone(),
        database: t.database.clone(),
    }
}

/// Password `id` as PlanetScale has it (`None`: deleted): the last view while it is fresh
/// (half the resync interval), else the database's snapshot, else (not in the snapshot, which
/// may predate the create, or no snapshots for these credentials) one GET.
async fn current(
    run: &Run<'_>,
    api: &planetscale_api::Client,
    t: &Target,
    id: &str,
) -> Result<Option<Password>, Error> {
    let (key, fresh) = (run.key(), run.fresh_for());
    let views = &run.state.views;
    if let Some(p) = views.remembered(&key, id, t, fresh) {
        return Ok(Some(p));
    }
    let (org, db) = (&t.organization, &t.database);
    let list = || cache::list(api, org, db);
    let snapshot = run
        .state
        .snapshots
        .get(&db_key(run, t), fresh, list)
        .await?;
    if let Some(s) = &snapshot
        && let Some(p) = cache::find(&s.items, id, &t.branch)
    {
        views.remember(&key, t, p, s.taken);
        return Ok(Some(p.clone()));
    }
    match api.get_password(org, db, &t.branch, id).await {
        Ok(p) => {
            views.remember(&key, t, &p, Instant::now());
            Ok(Some(p))
        }
        Err(planetscale_api::Error::NotFound { .. }) => {
            views.forget(&key);
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The planning view of an API password.
pub fn live_view(p: &Password) -> LiveView {
    LiveView {
        role: p.role.as_ref().and_then(crd_role),
        replica: p.replica,
        cidrs: normalize_cidrs(p.cidrs.clone()),
        ttl_seconds: p.ttl_seconds,
        expires_at: p.expires_at,
        expired: p.expired,
        created_at: p.created_at,
    }
}
