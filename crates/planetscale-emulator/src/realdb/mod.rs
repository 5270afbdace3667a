//! Optional backend of real database servers (`--realdb DIR`, off by default): a branch is a
//! real MariaDB database with the branch's schema, a password is a real user with the grants
//! of its role, and the hosts the API reports lead to those servers over verified TLS.
//!
//! The servers are run by `hack/realdb` (its `up` writes `DIR/env`); this module only drives
//! its `ctl` script. Because every branch of a PlanetScale database has the same database
//! name in its connection strings, each branch gets its own MariaDB on its own loopback
//! address (port 3306), started when the branch's first password is created.
//!
//! The world stays the source of truth: after every request `RealDb::sync` brings the
//! servers in line with it (schema changes and deploys become DDL, deleted passwords are
//! dropped, expired ones locked, renewed ones unlocked, deleted branches stopped). Passwords
//! are the exception, because only the create request knows the plaintext: their users are
//! created before the create response is sent. Postgres (module `pg`): one server; a branch is
//! a schema in its `postgres` database and a role a real login role whose `search_path` is
//! that schema, created (and its password reset) before the roles API answers.

mod pg;
mod sql;

pub use pg::pg_schema;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::app::App;
use crate::schema::Schema;

/// A failed command against a real server.
#[derive(Debug, thiserror::Error)]
#[error("real database backend: {0}")]
pub struct RealDbError(String);

/// The real servers behind the emulator.
pub struct RealDb {
    dir: PathBuf,
    ctl: PathBuf,
    /// PostgreSQL's address (port 5432, which the operator writes into every Postgres URL).
    pg_host: String,
    applied: Mutex<Applied>,
}

impl std::fmt::Debug for RealDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealDb").field("dir", &self.dir).finish()
    }
}

/// What the servers hold, as last applied.
#[derive(Default)]
struct Applied {
    /// Branch id → its MariaDB.
    servers: HashMap<String, Server>,
    /// Username → (branch id, locked).
    users: HashMap<String, (String, bool)>,
    /// Postgres: branch id → its schema, created.
    pg_schemas: HashMap<String, String>,
    /// Postgres: role id → its real role.
    pg_roles: HashMap<String, pg::PgRole>,
}

struct Server {
    host: String,
    database: String,
    schema: Schema,
}

/// A user as the world has it now.
enum UserNow {
    Gone,
    Expired,
    Live,
}

fn env_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
}

impl RealDb {
    /// Opens the servers of `dir` (written by `hack/realdb/up`).
    pub fn open(dir: &Path) -> Result<Self, RealDbError> {
        let file = dir.join("env");
        let text = std::fs::read_to_string(&file).map_err(|e| {
            RealDbError(format!(
                "cannot read {} ({e}): start the servers with hack/realdb/up",
                file.display()
            ))
        })?;
        let get = |key| {
            env_value(&text, key)
                .ok_or_else(|| RealDbError(format!("{} has no {key}", file.display())))
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            ctl: PathBuf::from(get("REALDB_CTL")?),
            pg_host: get("REALDB_PG_HOST")?,
            applied: Mutex::default(),
        })
    }

    /// Runs `ctl ARGS` with `sql` on stdin; `secret` is blanked out of error messages.
    async fn ctl(
        &self,
        args: &[&str],
        sql: &str,
        secret: Option<&str>,
    ) -> Result<String, RealDbError> {
        let redact = |text: String| match secret {
            Some(s) if !s.is_empty() => text.replace(s, "[REDACTED]"),
            _ => text,
        };
        let mut child = tokio::process::Command::new(&self.ctl)
            .args(args)
            .env("REALDB_DIR", &self.dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| RealDbError(format!("cannot run {}: {e}", self.ctl.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql.as_bytes())
                .await
                .map_err(|e| RealDbError(format!("ctl {}: {e}", args.join(" "))))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| RealDbError(format!("ctl {}: {e}", args.join(" "))))?;
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if !out.status.success() {
            return Err(RealDbError(redact(format!(
                "ctl {} failed: {stderr}",
                args.join(" ")
            ))));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The host of branch `branch_id`'s server, starting it (with the branch's schema) when
    /// it is not running yet.
    async fn ensure_server(
        &self,
        applied: &mut Applied,
        app: &App,
        branch_id: &str,
    ) -> Result<String, RealDbError> {
        if let Some(s) = applied.servers.get(branch_id) {
            return Ok(s.host.clone());
        }
        let (database, schema) = {
            let ctx = app.lock();
            let b = ctx
                .world
                .branch_by_id(branch_id)
                .ok_or_else(|| RealDbError(format!("branch {branch_id} is gone")))?;
            let db = ctx
                .world
                .db_by_id(&b.db_id)
                .ok_or_else(|| RealDbError(format!("database of branch {branch_id} is gone")))?;
            (db.name.clone(), b.schema.clone())
        };
        let owner = std::process::id().to_string();
        let host = self
            .ctl(&["mysql-start", branch_id, &owner], "", None)
            .await?;
        self.ctl(
            &["mysql", branch_id],
            &sql::migrate(&database, &Schema::new(), &schema),
            None,
        )
        .await?;
        tracing::info!(
            branch_id,
            host,
            database,
            "real database server started for branch"
        );
        applied.servers.insert(
            branch_id.to_string(),
            Server {
                host: host.clone(),
                database,
                schema,
            },
        );
        self.set_host(app, branch_id, Some(host.clone()));
        Ok(host)
    }

    fn set_host(&self, app: &App, branch_id: &str, host: Option<String>) {
        let mut ctx = app.lock();
        if let Some(b) = ctx.world.branches.iter_mut().find(|b| b.id == branch_id) {
            b.mysql_host = host;
        }
        drop(ctx);
        app.persist();
    }

    /// Makes password `password_id` (just created, with `plaintext`) a real user; returns the
    /// host of its branch's server.
    pub(crate) async fn create_user(
        &self,
        app: &App,
        password_id: &str,
        plaintext: &str,
    ) -> Result<String, RealDbError> {
        let mut applied = self.applied.lock().await;
        let (branch_id, username, role) = {
            let ctx = app.lock();
            let p = ctx
                .world
                .passwords
                .iter()
                .find(|p| p.id == password_id)
                .ok_or_else(|| RealDbError(format!("password {password_id} is gone")))?;
            (p.branch_id.clone(), p.username.clone(), p.role.clone())
        };
        let host = self.ensure_server(&mut applied, app, &branch_id).await?;
        let database = applied.servers[&branch_id].database.clone();
        let statement = sql::create_user(&username, plaintext, &role, &database);
        self.ctl(&["mysql", &branch_id], &statement, Some(plaintext))
            .await?;
        applied.users.insert(username, (branch_id, false));
        Ok(host)
    }

    /// Brings the servers in line with the world; failures are logged and retried next time.
    pub(crate) async fn sync(&self, app: &App) {
        let mut applied = self.applied.lock().await;
        if let Err(error) = self.sync_branches(&mut applied, app).await {
            tracing::warn!(%error, "real database schema sync failed");
        }
        if let Err(error) = self.sync_users(&mut applied, app).await {
            tracing::warn!(%error, "real database user sync failed");
        }
        if let Err(error) = self.pg_sync(&mut applied, app).await {
            tracing::warn!(%error, "real Postgres role sync failed");
        }
    }

    async fn sync_branches(&self, applied: &mut Applied, app: &App) -> Result<(), RealDbError> {
        let wanted: Vec<(String, Option<Schema>)> = {
            let ctx = app.lock();
            applied
                .servers
                .keys()
                .map(|id| {
                    (
                        id.clone(),
                        ctx.world.branch_by_id(id).map(|b| b.schema.clone()),
                    )
                })
                .collect()
        };
        for (id, schema) in wanted {
            let server = applied.servers.get_mut(&id).expect("listed above");
            match schema {
                None => {
                    self.ctl(&["mysql-stop", &id], "", None).await?;
                    applied.servers.remove(&id);
                    applied.users.retain(|_, (b, _)| *b != id);
                    tracing::info!(
                        branch_id = id,
                        "branch deleted: real database server stopped"
                    );
                }
                Some(schema) if schema != server.schema => {
                    let ddl = sql::migrate(&server.database, &server.schema, &schema);
                    self.ctl(&["mysql", &id], &ddl, None).await?;
                    server.schema = schema;
                    tracing::info!(branch_id = id, "branch schema applied to its real database");
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    async fn sync_users(&self, applied: &mut Applied, app: &App) -> Result<(), RealDbError> {
        let states: Vec<(String, UserNow)> = {
            let ctx = app.lock();
            applied
                .users
                .keys()
                .map(|user| {
                    let p = ctx.world.passwords.iter().find(|p| &p.username == user);
                    let now = match p {
                        None => UserNow::Gone,
                        Some(p) if p.deleted_at.is_some() => UserNow::Gone,
                        Some(p) if p.expires_at.is_some_and(|e| e <= ctx.now) => UserNow::Expired,
                        Some(_) => UserNow::Live,
                    };
                    (user.clone(), now)
                })
                .collect()
        };
        for (user, now) in states {
            let (branch, locked) = applied.users[&user].clone();
            match now {
                UserNow::Gone => {
                    self.ctl(&["mysql", &branch], &sql::drop_user(&user), None)
                        .await?;
                    applied.users.remove(&user);
                    tracing::info!(user, "password deleted: real user dropped");
                }
                UserNow::Expired if !locked => {
                    self.ctl(&["mysql", &branch], &sql::lock_user(&user, true), None)
                        .await?;
                    applied.users.insert(user.clone(), (branch, true));
                    tracing::info!(user, "password expired: real user locked");
                }
                UserNow::Live if locked => {
                    self.ctl(&["mysql", &branch], &sql::lock_user(&user, false), None)
                        .await?;
                    applied.users.insert(user.clone(), (branch, false));
                    tracing::info!(user, "password renewed: real user unlocked");
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_values_are_read() {
        let text = "# c\nexport REALDB_CTL=/x/ctl\nexport REALDB_PG_HOST=127.0.83.100\n";
        assert_eq!(env_value(text, "REALDB_CTL").as_deref(), Some("/x/ctl"));
        assert_eq!(env_value(text, "REALDB_PG").as_deref(), None);
    }

    #[test]
    fn a_missing_env_file_says_how_to_start_the_servers() {
        let err = RealDb::open(Path::new("/nonexistent")).unwrap_err();
        assert!(err.to_string().contains("hack/realdb/up"), "{err}");
    }
}
