//! The PostgreSQL half of the backend. One server; every PlanetScale Postgres role connects
//! to database `postgres` on its branch's host, so a branch is a schema of that database
//! (`branch_<id>`) and a role is a real login role whose `search_path` is its branch's schema:
//! `SELECT … FROM customers` reads the branch's table. A role is created, and its password
//! reset, before the roles API answers (only that request knows the plaintext); deletion,
//! expiry (`NOLOGIN`), renewal and deleted branches follow the world in [`RealDb::sync`].

use super::{Applied, RealDb, RealDbError, UserNow, sql};
use crate::app::App;

/// A role made real.
#[derive(Debug, Clone)]
pub(super) struct PgRole {
    username: String,
    branch_id: String,
    locked: bool,
}

/// The role that takes over what a dropped role owns when no successor is named.
const SUPERUSER: &str = "postgres";

/// The schema of branch `branch_id` in the server's `postgres` database.
pub fn pg_schema(branch_id: &str) -> String {
    format!("branch_{branch_id}")
}

impl RealDb {
    async fn pg_ensure_schema(
        &self,
        applied: &mut Applied,
        branch_id: &str,
    ) -> Result<String, RealDbError> {
        let schema = pg_schema(branch_id);
        if !applied.pg_schemas.contains_key(branch_id) {
            self.ctl(&["psql"], &sql::pg_create_schema(&schema), None)
                .await?;
            applied
                .pg_schemas
                .insert(branch_id.to_string(), schema.clone());
        }
        Ok(schema)
    }

    /// Runs `statements` as the superuser in branch `branch_id`'s schema (created when
    /// missing), e.g. the CREATE TABLEs of an application's migration.
    pub async fn pg_branch_execute(
        &self,
        branch_id: &str,
        statements: &str,
    ) -> Result<String, RealDbError> {
        let schema = {
            let mut applied = self.applied.lock().await;
            self.pg_ensure_schema(&mut applied, branch_id).await?
        };
        let sql = format!(
            "SET search_path TO {};\n{statements}",
            sql::pg_ident(&schema)
        );
        self.ctl(&["psql"], &sql, None).await
    }

    /// Makes role `role_id` (just created, or its password just reset to `plaintext`) a real
    /// login role with its inherited roles; returns the server's host, which the API then
    /// reports for the role's branch.
    pub(crate) async fn pg_set_role(
        &self,
        app: &App,
        role_id: &str,
        plaintext: &str,
    ) -> Result<String, RealDbError> {
        let mut applied = self.applied.lock().await;
        let (username, branch_id, inherited) = {
            let ctx = app.lock();
            let r = ctx.world.roles.iter().find(|r| r.id == role_id);
            let r = r.ok_or_else(|| RealDbError(format!("role {role_id} is gone")))?;
            (r.username(), r.branch_id.clone(), r.inherited_roles.clone())
        };
        let schema = self.pg_ensure_schema(&mut applied, &branch_id).await?;
        let statement = sql::pg_create_role(&username, plaintext, &inherited, &schema);
        self.ctl(&["psql"], &statement, Some(plaintext)).await?;
        let role = PgRole {
            username,
            branch_id: branch_id.clone(),
            locked: false,
        };
        applied.pg_roles.insert(role_id.to_string(), role);
        self.set_host(app, &branch_id, Some(self.pg_host.clone()));
        Ok(self.pg_host.clone())
    }

    /// The real name of role `id`, else the superuser (a role never made real, such as a
    /// default role whose password was never reset, owns nothing).
    fn pg_successor(applied: &Applied, id: Option<&str>) -> String {
        id.and_then(|id| applied.pg_roles.get(id))
            .map_or_else(|| SUPERUSER.to_string(), |r| r.username.clone())
    }

    /// Drops role `role_id` (deleted through the API), what it owns going to `successor_id`.
    pub(crate) async fn pg_drop_role(
        &self,
        role_id: &str,
        successor_id: Option<&str>,
    ) -> Result<(), RealDbError> {
        let mut applied = self.applied.lock().await;
        let Some(role) = applied.pg_roles.get(role_id).cloned() else {
            return Ok(());
        };
        let successor = Self::pg_successor(&applied, successor_id);
        let statement = sql::pg_drop_role(&role.username, &successor);
        self.ctl(&["psql"], &statement, None).await?;
        applied.pg_roles.remove(role_id);
        tracing::info!(user = role.username, "role deleted: real role dropped");
        Ok(())
    }

    /// `REASSIGN OWNED` from role `role_id` to `successor_id`.
    pub(crate) async fn pg_reassign(
        &self,
        role_id: &str,
        successor_id: &str,
    ) -> Result<(), RealDbError> {
        let applied = self.applied.lock().await;
        let Some(role) = applied.pg_roles.get(role_id) else {
            return Ok(());
        };
        let successor = Self::pg_successor(&applied, Some(successor_id));
        let statement = sql::pg_reassign(&role.username, &successor);
        self.ctl(&["psql"], &statement, None).await.map(drop)
    }

    /// Roles deleted (or of deleted branches) dropped, expired ones `NOLOGIN`, renewed ones
    /// `LOGIN` again; the schemas of deleted branches dropped.
    pub(super) async fn pg_sync(
        &self,
        applied: &mut Applied,
        app: &App,
    ) -> Result<(), RealDbError> {
        let (states, gone_branches): (Vec<(String, UserNow)>, Vec<String>) = {
            let ctx = app.lock();
            let states = applied
                .pg_roles
                .iter()
                .map(|(id, real)| {
                    let r = ctx.world.roles.iter().find(|r| &r.id == id);
                    let branch = ctx.world.branch_by_id(&real.branch_id);
                    let now = match r {
                        _ if branch.is_none() => UserNow::Gone,
                        None => UserNow::Gone,
                        Some(r) if r.deleted_at.is_some() => UserNow::Gone,
                        Some(r) if r.expired(ctx.now) => UserNow::Expired,
                        Some(_) => UserNow::Live,
                    };
                    (id.clone(), now)
                })
                .collect();
            let gone = applied.pg_schemas.keys();
            let gone = gone.filter(|b| ctx.world.branch_by_id(b).is_none());
            (states, gone.cloned().collect())
        };
        for (id, now) in states {
            let role = applied.pg_roles[&id].clone();
            let user = role.username.clone();
            let statement = match now {
                UserNow::Gone => sql::pg_drop_role(&user, SUPERUSER),
                UserNow::Expired if !role.locked => sql::pg_login(&user, false),
                UserNow::Live if role.locked => sql::pg_login(&user, true),
                _ => continue,
            };
            self.ctl(&["psql"], &statement, None).await?;
            match now {
                UserNow::Gone => {
                    applied.pg_roles.remove(&id);
                    tracing::info!(user, "role deleted: real role dropped");
                }
                UserNow::Expired => {
                    applied.pg_roles.insert(
                        id,
                        PgRole {
                            locked: true,
                            ..role
                        },
                    );
                    tracing::info!(user, "role expired: real role can no longer log in");
                }
                UserNow::Live => {
                    applied.pg_roles.insert(
                        id,
                        PgRole {
                            locked: false,
                            ..role
                        },
                    );
                    tracing::info!(user, "role renewed: real role logs in again");
                }
            }
        }
        for branch_id in gone_branches {
            let schema = pg_schema(&branch_id);
            self.ctl(&["psql"], &sql::pg_drop_schema(&schema), None)
                .await?;
            applied.pg_schemas.remove(&branch_id);
            tracing::info!(branch_id, "branch deleted: its Postgres schema dropped");
        }
        Ok(())
    }
}
