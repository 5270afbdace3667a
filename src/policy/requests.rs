//! What each kind asks of the policy ([`Governed`]), read from its spec.
use kube::ResourceExt;

use super::{Governed, Production, Request, Where};
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::password_postgres::InheritedRole;
use crate::crd::{BranchTarget, DeployRequest, PasswordRole, PlanetScalePassword, SecretRef};

impl Governed for PlanetScaleBranch {
    fn request(&self) -> Request {
        let spec = &self.spec;
        let branch = spec.effective_branch_name(&self.name_any()).to_string();
        let target = match (self.location(), &spec.database_ref) {
            (Some((organization, database)), _) => Some(Where::Branch {
                organization: organization.to_string(),
                database: database.to_string(),
                branch,
            }),
            (None, Some(d)) => Some(Where::DatabaseRef {
                database: d.name.clone(),
                branch,
            }),
            (None, None) => None,
        };
        Request {
            production: [Production::Promote]
                .into_iter()
                .filter(|_| spec.production == Some(true))
                .collect(),
            ..plain(self, spec.credentials_ref.as_ref(), target)
        }
    }

    /// Adopting (`adopt`) and, once deleted, deleting the branch, when it is a production
    /// branch.
    fn may_ask(&self) -> Vec<Production> {
        let adopt = self.spec.adopt.then_some(Production::Adopt);
        let deleting = self.metadata.deletion_timestamp.is_some();
        let delete = deleting.then_some(Production::Delete);
        adopt.into_iter().chain(delete).collect()
    }
}

impl Governed for PlanetScalePassword {
    fn request(&self) -> Request {
        let spec = &self.spec;
        Request {
            role: Some(role(self)),
            ..plain(self, spec.credentials_ref.as_ref(), target(&spec.target))
        }
    }

    /// Passwords on a production branch (a named branch is known to be one only from
    /// PlanetScale; a `branchRef`'s from its `PlanetScaleBranch`).
    fn may_ask(&self) -> Vec<Production> {
        vec![Production::Passwords]
    }
}

impl Governed for DeployRequest {
    fn request(&self) -> Request {
        plain(
            self,
            self.spec.credentials_ref.as_ref(),
            target(&self.spec.target),
        )
    }
}

impl Governed for crate::crd::PlanetScaleDatabase {
    fn request(&self) -> Request {
        let spec = &self.spec;
        let target = Where::Database {
            organization: spec.organization.clone(),
            database: spec.effective_name(&self.name_any()).to_string(),
        };
        plain(self, spec.credentials_ref.as_ref(), Some(target))
    }
}

impl Governed for crate::crd::PlanetScaleBackup {
    fn request(&self) -> Request {
        plain(
            self,
            self.spec.credentials_ref.as_ref(),
            target(&self.spec.target),
        )
    }
}

/// The role as the policy judges it: a PostgreSQL role inheriting `postgres` (the
/// administrator) is `admin`, whatever `role` says.
fn role(p: &PlanetScalePassword) -> PasswordRole {
    let inherited = p.spec.postgres.as_ref();
    let inherited = inherited.and_then(|pg| pg.inherited_roles.as_deref());
    match inherited {
        Some(roles) if roles.contains(&InheritedRole::Postgres) => PasswordRole::Admin,
        _ => p.spec.role,
    }
}

/// The request of `obj` acting on `target` with the credentials `credentials_ref`: no
/// password role, nothing done to a production branch.
fn plain(
    obj: &impl ResourceExt,
    credentials_ref: Option<&SecretRef>,
    target: Option<Where>,
) -> Request {
    Request {
        namespace: obj.namespace().unwrap_or_default(),
        credentials: credentials_ref.map(|r| r.name.clone()),
        target,
        role: None,
        production: Vec::new(),
    }
}

/// `None` only for a target admission refuses: the kind reports it (`InvalidSpec`) without
/// calling PlanetScale.
fn target(t: &BranchTarget) -> Option<Where> {
    match (t.explicit(), &t.branch_ref) {
        (Some(e), _) => Some(Where::Branch {
            organization: e.organization.to_string(),
            database: e.database.to_string(),
            branch: e.branch.to_string(),
        }),
        (None, Some(r)) => Some(Where::BranchRef(r.name.clone())),
        (None, None) => match (&t.database_ref, &t.branch) {
            (Some(d), Some(b)) => Some(Where::DatabaseRef {
                database: d.name.clone(),
                branch: b.clone(),
            }),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Takes `json!(..)` literals by value so that call sites stay one line each.
    #[allow(clippy::needless_pass_by_value)]
    fn password(postgres: serde_json::Value) -> PlanetScalePassword {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1",
            "kind": "PlanetScalePassword",
            "metadata": {"name": "p", "namespace": "team-a"},
            "spec": {"organization": "acme", "database": "ledger", "branch": "main",
                     "role": "reader", "postgres": postgres},
        }))
        .expect("password")
    }

    #[test]
    fn inheriting_the_postgres_administrator_asks_for_admin() {
        let plain = password(serde_json::json!({"inheritedRoles": ["pg_read_all_data"]}));
        assert_eq!(plain.request().role, Some(PasswordRole::Reader));
        let admin = password(serde_json::json!({"inheritedRoles": ["postgres"]}));
        assert_eq!(admin.request().role, Some(PasswordRole::Admin));
        assert_eq!(admin.request().namespace, "team-a");
    }
}
