//! One reconcile pass of one `PlanetScalePassword`: the resource as just read, and the
//! handles every step uses (the API clients, events, the controller's caches); the spec
//! parsed for planning.
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};

use super::Passwords;
use super::plan::Desired;
use crate::controller::target::Target;
use crate::controller::{Context, object_key};
use crate::crd::duration::parse_duration;
use crate::crd::password::{PasswordRole, PlanetScalePassword};
use crate::crd::rotate_request;
use crate::error::Error;

/// Label of this controller's API requests (for a fair limiter).
pub const CALLER: &str = "password-controller";

/// What one reconcile of one `PlanetScalePassword` works with. Read-only: every step returns
/// what it found or did.
pub struct Run<'a> {
    pub ctx: &'a Context,
    /// What the controller remembers between reconciles (see [`super::cache`]).
    pub state: &'a Passwords,
    /// The resource as just read from the API server (not the watch cache).
    pub obj: &'a PlanetScalePassword,
    pub api: Api<PlanetScalePassword>,
    pub secrets: Api<Secret>,
    pub uid: String,
}

impl<'a> Run<'a> {
    pub fn new(state: &'a Passwords, obj: &'a PlanetScalePassword) -> Self {
        let ns = obj.namespace().unwrap_or_default();
        let ctx = state.ctx.as_ref();
        Self {
            ctx,
            state,
            obj,
            api: Api::namespaced(ctx.client.clone(), &ns),
            secrets: Api::namespaced(ctx.client.clone(), &ns),
            uid: obj.uid().unwrap_or_default(),
        }
    }

    /// The resource's key in the caches.
    pub fn key(&self) -> String {
        object_key(self.obj)
    }

    /// The credentials Secret (namespace, name) the resource's client is built from: the
    /// clients that share it share database snapshots.
    pub fn credentials(&self) -> (String, String) {
        let ns = self.obj.namespace().unwrap_or_default();
        let creds = self.obj.spec.credentials_ref.as_ref();
        // Without one no client can be built either; the key is never used for a list.
        crate::credentials::locate(self.ctx.credentials.defaults(), &ns, creds)
            .unwrap_or((ns, String::new()))
    }

    /// Remembers `p` (a response of PlanetScale just now) as the current password.
    pub fn remember(&self, target: &Target, p: &planetscale_api::models::Password) {
        let now = std::time::Instant::now();
        self.state.views.remember(&self.key(), target, p, now);
    }

    /// How long a view of the password stays good enough to plan from: half the resync
    /// interval.
    pub fn fresh_for(&self) -> std::time::Duration {
        self.ctx.settings.resync_interval / 2
    }

    /// The resource's name.
    pub fn name(&self) -> String {
        self.obj.name_any()
    }

    /// The resource's generation.
    pub fn generation(&self) -> Option<i64> {
        self.obj.metadata.generation
    }

    /// The PlanetScale client for the resource's credentials.
    pub async fn client(&self) -> Result<planetscale_api::Client, Error> {
        let ns = self.obj.namespace().unwrap_or_default();
        let creds = self.obj.spec.credentials_ref.as_ref();
        let client = self.ctx.credentials.client_for(&ns, creds).await?;
        Ok(client.with_caller(CALLER))
    }

    /// Publishes an event on the resource. `note` must never hold a secret.
    pub async fn event(&self, type_: EventType, reason: &str, note: String) {
        self.event_as(type_, reason, "Reconcile", note).await;
    }

    /// [`Run::event`] with an `action`. Events of the same reason and action within a few
    /// minutes are counted as a series of the first (whose note is kept), so actions tell
    /// apart what deserves its own note.
    pub async fn event_as(&self, type_: EventType, reason: &str, action: &str, note: String) {
        self.ctx.event(self.obj, type_, reason, action, note).await;
    }
}

/// The spec, parsed for planning. Durations were validated at admission; a bad one is still
/// reported rather than trusted.
pub fn desired(obj: &PlanetScalePassword) -> Result<Desired, Error> {
    let spec = &obj.spec;
    let duration = |field: &str, text: &str| {
        parse_duration(text).map_err(|e| Error::Invalid {
            reason: "InvalidSpec",
            message: format!("{field} {text:?} is not a duration: {e}"),
        })
    };
    let ttl = spec
        .ttl
        .as_deref()
        .map(|t| duration("ttl", t))
        .transpose()?;
    let interval = spec
        .rotation
        .interval
        .as_deref()
        .map(|t| duration("rotation.interval", t))
        .transpose()?;
    let grace = duration("rotation.gracePeriod", &spec.rotation.grace_period)?;
    let pg = spec.postgres.as_ref();
    Ok(Desired {
        role: spec.role,
        ttl,
        replica: spec.replica,
        cidrs: normalize_cidrs(spec.cidrs.clone()),
        interval,
        grace,
        rotate_request: rotate_request(&obj.metadata).map(str::to_string),
        secret_name: spec.secret.effective_name(&obj.name_any()).to_string(),
        inherited_roles: pg.and_then(|p| p.inherited_roles.clone()).map(|mut set| {
            set.sort();
            set.dedup();
            set
        }),
        where_on_delete: pg.and_then(|p| p.require_where_on_delete),
        where_on_update: pg.and_then(|p| p.require_where_on_update),
    })
}

/// CIDRs sorted, with an empty list meaning "any address" like no list.
pub fn normalize_cidrs(cidrs: Option<Vec<String>>) -> Option<Vec<String>> {
    let mut cidrs = cidrs.filter(|c| !c.is_empty())?;
    cidrs.sort();
    cidrs.dedup();
    Some(cidrs)
}

/// The API's role for ours.
pub fn api_role(role: PasswordRole) -> planetscale_api::models::PasswordRole {
    use planetscale_api::models::PasswordRole as R;
    match role {
        PasswordRole::Reader => R::Reader,
        PasswordRole::Writer => R::Writer,
        PasswordRole::Readwriter => R::Readwriter,
        PasswordRole::Admin => R::Admin,
    }
}

/// Our role for the API's (`None` for a role this operator does not know).
pub fn crd_role(role: &planetscale_api::models::PasswordRole) -> Option<PasswordRole> {
    use planetscale_api::models::PasswordRole as R;
    match role {
        R::Reader => Some(PasswordRole::Reader),
        R::Writer => Some(PasswordRole::Writer),
        R::Readwriter => Some(PasswordRole::Readwriter),
        R::Admin => Some(PasswordRole::Admin),
        R::Unknown(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_are_compared_as_sets() {
        assert_eq!(normalize_cidrs(Some(vec![])), None);
        assert_eq!(
            normalize_cidrs(Some(vec!["b/8".into(), "a/8".into(), "b/8".into()])),
            Some(vec!["a/8".to_string(), "b/8".to_string()])
        );
    }

    #[test]
    fn roles_map_both_ways() {
        for role in [
            PasswordRole::Reader,
            PasswordRole::Writer,
            PasswordRole::Readwriter,
            PasswordRole::Admin,
        ] {
            assert_eq!(crd_role(&api_role(role)), Some(role));
        }
    }
}
