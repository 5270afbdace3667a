//! Observing, without deciding anything: where the password lives ([`locate`]), then the
//! Secret (from Kubernetes, every time) and the current password in PlanetScale
//! ([`observe`]) — from the last view while it is fresh enough ([`super::cache`]), else from
//! the database's shared snapshot, else with one GET.
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kube::ResourceExt;
use planetscale_api::models::Password;

use super::cache;
use super::engine::{self, CredOps};
use super::pass::{Run, crd_role, desired, normalize_cidrs};
use super::plan::{Desired, Facts, Live, LiveView, SecretState, in_flight};
use super::secret::SecretView;
use crate::connection::Engine;
use crate::controller::planetscale::PlanetScale;
use crate::controller::snapshot::DbKey;
use crate::controller::target::{self, Target};
use crate::crd::password::{PlanetScalePassword, PlanetScalePasswordStatus};
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
    let (target, branch_waiting) = resolve(&run.ctx.client, run.obj).await?;
    Ok(Located {
        desired,
        target,
        branch_waiting,
    })
}

/// What one look found: where (always), and what PlanetScale and the Secret say (`look`,
/// an error when they could not be read: the target is recorded in the status all the same,
/// so that deletion and the credentials finalizer know where passwords may live).
pub struct Observed {
    pub located: Located,
    pub look: Result<Look, Error>,
}

/// The Secret and the current password.
pub struct Look {
    /// The client the look was made with (the steps use it too).
    pub api: planetscale_api::Client,
    /// PlanetScale's current time.
    pub now: DateTime<Utc>,
    /// The branch's engine: a password (Vitess) or a role (PostgreSQL).
    pub engine: Engine,
    pub secret: SecretView,
    pub live: Live,
    /// The current password as PlanetScale returned it (no plaintext).
    pub password: Option<Password>,
    /// PlanetScale refused to renew the current password ([`super::cache::Views::marks`]).
    pub renew_refused: bool,
    /// The current password's CIDRs were already set to the spec's.
    pub cidrs_patched: bool,
    /// Why an explicitly named branch cannot take the first password yet (checked only
    /// before the first create).
    pub branch_not_ready: Option<(String, Duration)>,
}

impl Look {
    /// What planning looks at.
    pub fn facts<'a>(
        &'a self,
        uid: &'a str,
        status: &'a PlanetScalePasswordStatus,
        desired: &'a Desired,
    ) -> Facts<'a> {
        Facts {
            now: self.now,
            uid,
            status,
            desired,
            secret: self.secret.state(status),
            live: self.live.clone(),
            renew_refused: self.renew_refused,
            cidrs_patched: self.cidrs_patched,
        }
    }
}

/// Where the password lives, the Secret, and the current password in PlanetScale.
pub async fn observe(run: &Run<'_>) -> Result<Observed, Error> {
    let located = locate(run).await?;
    let look = look(run, &located).await;
    Ok(Observed { located, look })
}

async fn look(run: &Run<'_>, at: &Located) -> Result<Look, Error> {
    let api = run.client().await?;
    let status = run.obj.status.clone().unwrap_or_default();
    let (engine, production) = engine::engine_of(&api, &status, &at.target).await?;
    if let Some(refused) = engine::refused_field(run.obj, engine) {
        return Err(refused);
    }
    let secret = run.secrets.get_opt(&at.desired.secret_name).await?;
    let secret = SecretView::new(secret, run.obj);
    let claimed = super::adopt::claimed_id(run.obj, &status);
    let id = claimed.or(status.password_id.as_deref());
    let password = match id {
        Some(id) => current(run, &api, &at.target, engine, id).await?,
        None => None,
    };
    super::production::admit(run, &api, &at.target, password.as_ref(), production).await?;
    let live = match (&password, id) {
        (Some(p), _) => Live::Found(live_view(p)),
        (None, Some(_)) => Live::Gone,
        (None, None) => Live::None,
    };
    let (renew_refused, cidrs_patched) = id.map_or((false, false), |id| {
        run.state.views.marks(&run.key(), id, &at.desired.cidrs)
    });
    let first = status.password_id.is_none()
        && in_flight(&status, &run.uid).is_none()
        && secret.state(&status) != SecretState::Foreign;
    let branch_not_ready = if first && !at.target.known_ready {
        explicit_branch(&api, &at.target).await?
    } else {
        None
    };
    Ok(Look {
        now: api.server_now(),
        engine,
        api,
        secret,
        live,
        password,
        renew_refused,
        cidrs_patched,
        branch_not_ready,
    })
}

/// Why an explicitly named branch is not ready, if it is not.
async fn explicit_branch(
    api: &impl PlanetScale,
    t: &Target,
) -> Result<Option<(String, Duration)>, Error> {
    match target::check_ready(api, t).await {
        Ok(()) => Ok(None),
        Err(Error::Waiting {
            message,
            retry_after,
            ..
        }) => Ok(Some((message, retry_after))),
        Err(e) => Err(e),
    }
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
/// may predate the create, or no snapshots for these credentials) one GET. A role (there is
/// no database-wide list of roles): the last view, else one GET.
async fn current(
    run: &Run<'_>,
    api: &impl PlanetScale,
    t: &Target,
    engine: Engine,
    id: &str,
) -> Result<Option<Password>, Error> {
    let (key, fresh) = (run.key(), run.fresh_for());
    let views = &run.state.views;
    if let Some(p) = views.remembered(&key, id, t, fresh) {
        return Ok(Some(p));
    }
    if engine == Engine::Postgres {
        return get_once(run, api, t, engine, id).await;
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
        views.remember_listed(&key, t, p, s.taken);
        return Ok(Some(Password::clone(p)));
    }
    get_once(run, api, t, engine, id).await
}

/// One GET of credentials `id` (`None`: deleted), remembered.
async fn get_once(
    run: &Run<'_>,
    api: &impl PlanetScale,
    t: &Target,
    engine: Engine,
    id: &str,
) -> Result<Option<Password>, Error> {
    let (key, views) = (run.key(), &run.state.views);
    match CredOps::of(run.obj, engine).get(api, t, id).await {
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

/// The target of `obj`, or `Waiting` with `BranchNotReady` while its `PlanetScaleBranch` is
/// missing or not Ready. A password that already works keeps being looked after (renewed,
/// healed) on the target in its status while its existing `PlanetScaleBranch` is not Ready
/// (e.g. a sleeping branch, or a branch controller backing off): the second value is then the
/// `BranchNotReady` to report.
async fn resolve(
    client: &kube::Client,
    obj: &PlanetScalePassword,
) -> Result<(Target, Option<Error>), Error> {
    let working = obj.status.as_ref().filter(|s| s.password_id.is_some());
    let ns = obj.namespace().unwrap_or_default();
    target::resolve_or(client, &ns, &obj.spec.target, working.and_then(recorded)).await
}

/// The target recorded in the status, if complete.
pub fn recorded(s: &PlanetScalePasswordStatus) -> Option<Target> {
    Some(Target {
        organization: s.organization.clone()?,
        database: s.database.clone()?,
        branch: s.branch.clone()?,
        known_ready: true,
        kind: None,
    })
}
