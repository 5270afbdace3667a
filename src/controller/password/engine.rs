//! The branch's engine decides what a `PlanetScalePassword` creates: a password (`/passwords`)
//! on a Vitess (MySQL) branch, a role (`/roles`) on a PostgreSQL branch. Everything else —
//! the Secret, presets, templates, rotation, renewal, healing, crash safety — is the same
//! code for both, because the steps see a role as the [`Password`] it converts to
//! ([`as_password`]) and make their calls through [`CredOps`].
//!
//! The engine is read from the branch once (its `kind`) and recorded in the status
//! (`status.engine`) with the first credentials; a resource from before engines were told
//! apart has none recorded and is Vitess. Fields that do not apply to the engine are refused
//! before any call that creates something ([`refused_field`]).
use std::time::Duration;

use planetscale_api::models::{
    CreatePassword, CreateRole, InheritedRole, ListPasswords, ListRoles, Password, Role,
    WhereClauseRule,
};

use super::pass::api_role;
use super::plan::Desired;
use crate::connection::Engine;
use crate::controller::planetscale::PlanetScale;
use crate::controller::target::{self, Target};
use crate::crd::password::{PasswordRole, PlanetScalePassword, PlanetScalePasswordStatus};
use crate::crd::password_postgres::{self, InheritedRole as CrdInherited};
use crate::error::Error;

/// Reason of the condition and event when a field does not apply to the branch's engine.
pub const FIELD_NOT_FOR_ENGINE: &str = "FieldNotForEngine";

/// The engine recorded in `status` for `t` (`None`: not recorded for that branch, look it up).
pub fn recorded(status: &PlanetScalePasswordStatus, t: &Target) -> Option<Engine> {
    let same = status.organization.as_deref() == Some(t.organization.as_str())
        && status.database.as_deref() == Some(t.database.as_str())
        && status.branch.as_deref() == Some(t.branch.as_str());
    let working = status.password_id.is_some() || status.rotation > 0;
    match status.engine.as_deref() {
        Some(kind) if same => Some(Engine::from_kind(Some(kind))),
        // Credentials made before engines were told apart: Vitess.
        None if same && working => Some(Engine::Mysql),
        _ => None,
    }
}

/// The engine of branch `t`: from the status when recorded there, else from the
/// `PlanetScaleBranch` of a `branchRef`, else from the branch; with whether the branch is a
/// production branch when it was read.
pub async fn engine_of(
    api: &impl PlanetScale,
    status: &PlanetScalePasswordStatus,
    t: &Target,
) -> Result<(Engine, Option<bool>), Error> {
    if let Some(engine) = recorded(status, t) {
        return Ok((engine, None));
    }
    // A `branchRef`'s `PlanetScaleBranch` reports its engine: no read needed.
    if let Some(kind) = &t.kind {
        return Ok((Engine::from_kind(Some(kind)), None));
    }
    match api
        .get_branch(&t.organization, &t.database, &t.branch)
        .await
    {
        Ok(branch) => {
            let kind = branch.kind.as_ref();
            let kind = kind.map(planetscale_api::models::DatabaseKind::as_str);
            Ok((Engine::from_kind(kind), Some(branch.production)))
        }
        // No such branch (yet): the same wait as for any branch that is not there.
        Err(planetscale_api::Error::NotFound { .. }) => {
            Err(match target::check_ready(api, t).await {
                Err(waiting) => waiting,
                Ok(()) => target::waiting_for(
                    format!("branch {} appeared just now", t.branch),
                    Duration::from_secs(1),
                ),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The first field of the spec that does not apply to `engine`, as the error to report
/// (condition and event `FieldNotForEngine`, no call to PlanetScale). Pure.
pub fn refused_field(obj: &PlanetScalePassword, engine: Engine) -> Option<Error> {
    let spec = &obj.spec;
    let field = match engine {
        Engine::Postgres if spec.replica => "replica",
        Engine::Postgres if spec.cidrs.as_ref().is_some_and(|c| !c.is_empty()) => "cidrs",
        Engine::Mysql if spec.postgres.is_some() => "postgres",
        _ => return None,
    };
    let other = match engine {
        Engine::Mysql => Engine::Postgres,
        Engine::Postgres => Engine::Mysql,
    };
    Some(Error::Invalid {
        reason: FIELD_NOT_FOR_ENGINE,
        message: format!(
            "spec.{field} applies only to {other} branches, and branch {} of {}/{} is {engine}: remove spec.{field}",
            spec_branch(obj),
            obj.spec.target.organization.as_deref().unwrap_or("-"),
            obj.spec.target.database.as_deref().unwrap_or("-"),
        ),
    })
}

fn spec_branch(obj: &PlanetScalePassword) -> String {
    let t = &obj.spec.target;
    t.branch
        .clone()
        .or_else(|| t.branch_ref.as_ref().map(|r| r.name.clone()))
        .unwrap_or_default()
}

/// How the resource's credentials are made on its branch: the engine, and for roles the
/// successor that takes over what a deleted role owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredOps<'a> {
    pub engine: Engine,
    pub successor: Option<&'a str>,
}

impl<'a> CredOps<'a> {
    /// The credentials of `obj` on a branch of `engine`.
    pub fn of(obj: &'a PlanetScalePassword, engine: Engine) -> Self {
        let pg = obj.spec.postgres.as_ref();
        Self {
            engine,
            successor: pg.and_then(|p| p.successor.as_deref()),
        }
    }

    /// What the credentials are called in events: `password` or `role`.
    pub fn noun(self) -> &'static str {
        match self.engine {
            Engine::Mysql => "password",
            Engine::Postgres => "role",
        }
    }

    /// The credentials of `obj` on the engine recorded in `status` (Vitess when none is).
    pub fn recorded(obj: &'a PlanetScalePassword, status: &PlanetScalePasswordStatus) -> Self {
        let engine = Engine::from_kind(status.engine.as_deref());
        Self::of(obj, engine)
    }

    /// The credentials named `name` exactly (a search, then an exact match).
    pub async fn list_named(
        self,
        api: &impl PlanetScale,
        t: &Target,
        name: &str,
    ) -> planetscale_api::Result<Vec<Password>> {
        let (org, db, branch) = (&t.organization, &t.database, &t.branch);
        let found = match self.engine {
            Engine::Mysql => {
                let q = ListPasswords {
                    q: Some(name.to_string()),
                    status: None,
                };
                api.list_passwords_all(org, db, branch, &q).await?
            }
            Engine::Postgres => {
                let q = ListRoles {
                    q: Some(name.to_string()),
                    status: None,
                };
                let roles = api.list_roles_all(org, db, branch, &q).await?;
                roles.into_iter().map(as_password).collect()
            }
        };
        Ok(found)
    }

    /// `GET` of credentials `id`.
    pub async fn get(
        self,
        api: &impl PlanetScale,
        t: &Target,
        id: &str,
    ) -> planetscale_api::Result<Password> {
        let (org, db, branch) = (&t.organization, &t.database, &t.branch);
        match self.engine {
            Engine::Mysql => api.get_password(org, db, branch, id).await,
            Engine::Postgres => api.get_role(org, db, branch, id).await.map(as_password),
        }
    }

    /// Creates credentials `name` as `d` asks; the answer holds the plaintext.
    pub async fn create(
        self,
        api: &impl PlanetScale,
        t: &Target,
        name: &str,
        d: &Desired,
    ) -> planetscale_api::Result<Password> {
        let (org, db, branch) = (&t.organization, &t.database, &t.branch);
        match self.engine {
            Engine::Mysql => {
                let body = CreatePassword {
                    name: Some(name.to_string()),
                    role: Some(api_role(d.role)),
                    ttl: d.ttl.map(|t| t.as_secs()),
                    cidrs: d.cidrs.clone(),
                    replica: Some(d.replica),
                };
                api.create_password(org, db, branch, &body).await
            }
            Engine::Postgres => {
                let body = create_role(name, d);
                api.create_role(org, db, branch, &body)
                    .await
                    .map(as_password)
            }
        }
    }

    /// Extends the expiry of credentials `id`.
    pub async fn renew(
        self,
        api: &impl PlanetScale,
        t: &Target,
        id: &str,
    ) -> planetscale_api::Result<Password> {
        let (org, db, branch) = (&t.organization, &t.database, &t.branch);
        match self.engine {
            Engine::Mysql => api.renew_password(org, db, branch, id).await,
            Engine::Postgres => api.renew_role(org, db, branch, id).await.map(as_password),
        }
    }

    /// Deletes credentials `id` (a role with the successor, if any); 404 counts as done once
    /// [`super::mint::confirm_gone`] says it is not a lost access.
    pub async fn delete(self, api: &impl PlanetScale, t: &Target, id: &str) -> Result<(), Error> {
        let (org, db, branch) = (&t.organization, &t.database, &t.branch);
        let deleted = match self.engine {
            Engine::Mysql => api.delete_password(org, db, branch, id).await,
            Engine::Postgres => api.delete_role(org, db, branch, id, self.successor).await,
        };
        match deleted {
            Ok(()) => Ok(()),
            Err(planetscale_api::Error::NotFound { .. }) => {
                let what = match self.engine {
                    Engine::Mysql => format!("password {id}"),
                    Engine::Postgres => format!("role {id}"),
                };
                super::mint::confirm_gone(api, t, &what).await
            }
            Err(planetscale_api::Error::Unprocessable { message, .. })
                if self.engine == Engine::Postgres && self.successor.is_none() =>
            {
                Err(Error::Invalid {
                    reason: "RoleOwnsObjects",
                    message: format!(
                        "PlanetScale refused to delete role {id}: {message}; set spec.postgres.successor to a role that takes over its objects"
                    ),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Desired {
    /// The `role` the live credentials report when they are what the spec asks: `role` for
    /// a password; for a role, the `role` its inherited roles map to (`None` for a set of
    /// its own, whose changes then wait for the next rotation).
    pub fn live_role(&self) -> Option<PasswordRole> {
        match &self.inherited_roles {
            None => Some(self.role),
            Some(set) => role_of(set),
        }
    }

    /// PostgreSQL: the roles the role inherits, sorted.
    pub fn inherited(&self) -> Vec<CrdInherited> {
        let pg = password_postgres::PasswordPostgres {
            inherited_roles: self.inherited_roles.clone(),
            ..Default::default()
        };
        password_postgres::inherited_roles(self.role, Some(&pg))
    }
}

/// The body creating role `name` as `d` asks.
fn create_role(name: &str, d: &Desired) -> CreateRole {
    let rule = |r: Option<password_postgres::WhereClauseRule>| {
        r.map(|r| WhereClauseRule::from(r.as_str()))
    };
    CreateRole {
        name: Some(name.to_string()),
        ttl: d.ttl.map(|t| t.as_secs()),
        inherited_roles: d
            .inherited()
            .iter()
            .map(|r| InheritedRole::from(r.as_str()))
            .collect(),
        with_replication: None,
        require_where_on_delete: rule(d.where_on_delete),
        require_where_on_update: rule(d.where_on_update),
    }
}

/// A role as the password the steps work with: same id, name, user name, host, plaintext
/// (create responses only), TTL and expiry; `role` is the `role` its inherited roles map
/// to (`None` for another set). No replica, no CIDRs: roles have neither.
pub fn as_password(r: Role) -> Password {
    let renewable = r.renewable();
    let inherited: Vec<CrdInherited> = r
        .inherited_roles
        .iter()
        .filter_map(|i| serde_json::from_value(serde_json::json!(i.as_str())).ok())
        .collect();
    Password {
        id: r.id,
        name: r.name,
        username: r.username,
        plain_text: r.password,
        role: role_of(&inherited).map(api_role),
        access_host_url: r.access_host_url,
        ttl_seconds: r.ttl,
        expires_at: r.expires_at,
        expired: r.expired,
        renewable,
        created_at: r.created_at,
        deleted_at: r.deleted_at,
        ..Password::default()
    }
}

/// The `role` whose mapping is exactly `inherited` (`None`: a set of its own).
pub fn role_of(inherited: &[CrdInherited]) -> Option<PasswordRole> {
    let mut sorted = inherited.to_vec();
    sorted.sort();
    sorted.dedup();
    [
        PasswordRole::Reader,
        PasswordRole::Writer,
        PasswordRole::Readwriter,
        PasswordRole::Admin,
    ]
    .into_iter()
    .find(|r| password_postgres::inherited_roles(*r, None) == sorted)
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
