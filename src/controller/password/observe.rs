//! Observing: the Secret, and the current password in PlanetScale.
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
    let t = target;
    let got = match api
        .get_password(&t.organization, &t.database, &t.branch, id)
        .await
    {
        Ok(p) => Some(p),
        Err(planetscale_api::Error::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
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
