//! Postgres role objects.

use serde_json::{Value, json};

use super::{V, actor};
use crate::ids::{ts, ts_opt};
use crate::model::{Branch, Database, POSTGRESQL, Role};

impl V<'_> {
    /// Host Postgres clients connect to for a branch in `region`.
    pub fn pg_host(region: &str) -> String {
        format!("{region}.pg.psdb.cloud")
    }

    /// On branches of PostgreSQL databases: `major_version` and, for a branch restored to a
    /// point in time, `restore_point` (neither is in the spec's branch object), and the
    /// Postgres host in `access_host_url`.
    pub fn postgres_branch_fields(&self, db: &Database, b: &Branch, v: &mut Value) {
        if db.kind != POSTGRESQL {
            return;
        }
        v["major_version"] = json!(self.w.major_version(&b.id));
        let host = b.mysql_host.clone();
        v["access_host_url"] = json!(host.unwrap_or_else(|| Self::pg_host(&b.region)));
        let point = self.w.pg_branch(&b.id).and_then(|p| p.restore_point);
        v["restore_point"] = ts_opt(point);
    }

    /// Role object. `password` only in the create and reset responses; elsewhere `""` (the
    /// spec types it as a required, non-nullable string).
    pub fn role(&self, r: &Role, password: Option<&str>) -> Value {
        let branch = self.w.branch_by_id(&r.branch_id);
        let region = branch.map_or("us-east", |b| b.region.as_str());
        let actor = actor(r.actor.as_ref());
        let actor = if actor.is_null() {
            json!({"id": "planetscale", "type": "User", "display_name": "PlanetScale",
                   "avatar_url": "https://avatars.planetscale.com/planetscale"})
        } else {
            actor
        };
        json!({
            "id": r.id, "type": "PostgresRole", "name": r.name,
            "access_host_url": branch.and_then(|b| b.mysql_host.clone())
                .unwrap_or_else(|| Self::pg_host(region)),
            "private_access_host_url": format!("{region}.private-pg.psdb.cloud"),
            "private_connection_service_name": format!("com.amazonaws.vpce.{region}.vpce-svc-emulator"),
            "username": r.username(), "base_username": r.base_username,
            "password": password.unwrap_or(""), "database_name": "postgres",
            "created_at": ts(r.created_at), "updated_at": ts(r.updated_at),
            "deleted_at": ts_opt(r.deleted_at), "expires_at": ts_opt(r.expires_at),
            "dropped_at": ts_opt(r.deleted_at), "disabled_at": null, "drop_failed": "",
            "ready": r.ready_at <= self.now, "expired": r.expired(self.now), "default": r.default,
            "ttl": r.ttl_seconds.unwrap_or(0), "inherited_roles": r.inherited_roles,
            "with_replication": r.with_replication,
            "branch": branch.map(|b| json!({
                "id": b.id, "name": b.name, "created_at": ts(b.created_at),
                "updated_at": ts(b.updated_at), "deleted_at": null,
            })),
            "actor": actor,
            "query_safety_settings": {
                "require_where_on_delete": r.require_where_on_delete,
                "require_where_on_update": r.require_where_on_update,
            },
        })
    }
}
