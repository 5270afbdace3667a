//! Observing: the Secret (from Kubernetes, every time), and the current password in
//! PlanetScale — from the caches when they are fresh enough ([`super::cache`]), else from the
//! database's shared snapshot, else with one GET.
use std::time::Instant;

use planetscale_api::models::Password;

use super::plan::{Live, LiveView};
use super::run::{Run, crd_role, normalize_cidrs};
use super::secret::SecretView;
use super::target::Target;
use crate::error::Error;

/// What one look at the world found.
pub struct Seen {
    pub secret: SecretView,
    pub live: Live,
    /// The current password as PlanetScale returned it (no plaintext).
    pub password: Option<Password>,
}

/// Reads the Secret named `secret_name` and the current password.
pub async fn observe(
    run: &Run<'_>,
    api: &planetscale_api::Client,
    target: &Target,
    secret_name: &str,
) -> Result<Seen, Error> {
    let secret = run.secrets.get_opt(secret_name).await?;
    let secret = SecretView::new(secret, run.obj);
    let Some(id) = run.status.password_id.as_deref() else {
        return Ok(Seen {
            secret,
            live: Live::None,
            password: None,
        });
    };
    let got = current(run, api, target, id).await?;
    let live = match &got {
        Some(p) => Live::Found(live_view(p)),
        None => Live::Gone,
    };
    Ok(Seen {
        secret,
        live,
        password: got,
    })
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
    if let Some(p) = run.caches.remembered(&key, id, t, fresh) {
        return Ok(Some(p));
    }
    let creds = run.credentials_key();
    let snapshot = run
        .caches
        .snapshot(&creds, api, &t.organization, &t.database, fresh)
        .await?;
    if let Some(p) = snapshot.as_ref().and_then(|s| s.find(id, &t.branch)) {
        let at = snapshot.as_ref().map_or_else(Instant::now, |s| s.at);
        run.caches.remember(&key, t, p, at);
        return Ok(Some(p.clone()));
    }
    match api
        .get_password(&t.organization, &t.database, &t.branch, id)
        .await
    {
        Ok(p) => {
            run.remember(t, &p);
            Ok(Some(p))
        }
        Err(planetscale_api::Error::NotFound { .. }) => {
            run.caches.forget(&key);
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
