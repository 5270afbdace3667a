//! Organizations, users, databases, branches, passwords, backups, schema and lint.

use serde_json::{Value, json};

use super::{V, actor, html_escape, region};
use crate::ids::{ts, ts_opt};
use crate::model::{Backup, Branch, Database, Org, Password, User};
use crate::schema::Lint;

impl V<'_> {
    fn db_path(&self, db: &Database) -> String {
        format!(
            "/v1/organizations/{}/databases/{}",
            self.w.org_of(db).name,
            db.name
        )
    }

    /// Organization object.
    pub fn org(&self, org: &Org) -> Value {
        let count = self
            .w
            .databases
            .iter()
            .filter(|d| d.org_id == org.id)
            .count();
        json!({
            "id": org.id, "type": "Organization", "name": org.name, "billing_email": org.billing_email,
            "created_at": ts(org.created_at), "updated_at": ts(org.updated_at), "plan": org.plan,
            "valid_billing_info": true, "sso": false, "sso_directory": false, "single_tenancy": false,
            "managed_tenancy": false, "has_past_due_invoices": false, "database_count": count,
            "sso_portal_url": null, "features": {}, "idp_managed_roles": false,
            "invoice_budget_amount": "0.0", "keyspace_shard_limit": 32, "has_card": true,
            "payment_info_required": false,
        })
    }

    /// Current-user object.
    pub fn user(&self, user: &User) -> Value {
        let org = user.org_ids.first().and_then(|id| self.w.org_by_id(id));
        json!({
            "id": user.id, "type": "User", "display_name": user.name, "name": user.name,
            "email": user.email, "avatar_url": format!("https://avatars.planetscale.com/{}", user.id),
            "created_at": ts(user.created_at), "updated_at": ts(user.created_at),
            "two_factor_auth_configured": false,
            "default_organization": org.map(|o| json!({
                "id": o.id, "name": o.name, "created_at": ts(o.created_at),
                "updated_at": ts(o.updated_at), "deleted_at": null,
            })),
            "sso": false, "managed": false, "directory_managed": false, "email_verified": true,
        })
    }

    /// Database object.
    pub fn database(&self, db: &Database) -> Value {
        let ready = db.ready_at <= self.now;
        let branches: Vec<&Branch> = self
            .w
            .branches
            .iter()
            .filter(|b| b.db_id == db.id)
            .collect();
        let dev = branches.iter().filter(|b| !b.production).count();
        let tables = branches
            .iter()
            .find(|b| b.name == db.default_branch)
            .map_or(0, |b| b.schema.len());
        let path = self.db_path(db);
        let s = &db.settings;
        json!({
            "id": db.id, "type": "Database", "name": db.name, "kind": db.kind,
            "url": format!("{}{path}", self.base), "branches_url": format!("{}{path}/branches", self.base),
            "html_url": format!("https://app.planetscale.com/{}/{}", self.w.org_of(db).name, db.name),
            "region": region(&db.region), "state": if ready { "ready" } else { "pending" }, "ready": ready,
            "default_branch": db.default_branch, "plan": self.w.org_of(db).plan, "sharded": false,
            "default_branch_shard_count": 1, "default_branch_read_only_regions_count": 0,
            "default_branch_table_count": tables, "branches_count": branches.len(),
            "development_branches_count": dev, "production_branches_count": branches.len() - dev,
            "open_schema_recommendations_count": 0, "issues_count": 0,
            "multiple_admins_required_for_deletion": false, "at_backup_restore_branches_limit": false,
            "at_development_branch_usage_limit": dev >= self.settings.development_branch_limit,
            "data_import": null, "require_approval_for_deploy": s.require_approval_for_deploy,
            "deletion_protected": s.deletion_protected, "resizing": false, "resize_queued": false,
            "config_changing": false, "config_change_queued": false,
            "allow_data_branching": s.allow_data_branching, "foreign_keys_enabled": s.foreign_keys_enabled,
            "automatic_migrations": s.automatic_migrations, "restrict_branch_region": s.restrict_branch_region,
            "insights_raw_queries": s.insights_raw_queries, "insights_enabled": true,
            "production_branch_web_console": s.production_branch_web_console,
            "migration_table_name": s.migration_table_name, "migration_framework": s.migration_framework,
            "created_at": ts(db.created_at), "updated_at": ts(db.updated_at),
            "schema_last_updated_at": ts_opt(db.schema_last_updated_at),
        })
    }

    /// Branch object.
    pub fn branch(&self, b: &Branch) -> Value {
        let db = self.w.db_by_id(&b.db_id).expect("branch has a database");
        let org = &self.w.org_of(db).name;
        let ready = b.ready_at <= self.now;
        let restored = b.restored_from.as_ref().map(|(id, name)| {
            json!({"id": id, "name": name, "created_at": ts(b.created_at), "updated_at": ts(b.created_at), "deleted_at": null})
        });
        let mut v = json!({
            "id": b.id, "type": "Branch", "name": b.name, "created_at": ts(b.created_at),
            "updated_at": ts(b.updated_at), "deleted_at": null, "restore_checklist_completed_at": null,
            "schema_last_updated_at": ts_opt(b.schema_last_updated_at), "kind": db.kind,
            "mysql_address": b.mysql_host.clone().unwrap_or_else(|| format!("{}.connect.psdb.cloud", b.region)),
            "mysql_edge_address": "aws.connect.psdb.cloud",
            "state": if ready { "ready" } else { "pending" }, "ready": ready, "schema_ready": ready,
            "direct_vtgate": false, "vtgate_size": "vtg-1", "vtgate_name": null, "vtgate_count": 1,
            "vtgate_autoscaling": false, "vtgate_max_count": null, "vtgate_target_cpu_utilization": null,
            "cluster_name": b.cluster_name, "cluster_iops": null, "metal": false,
            "production": b.production, "safe_migrations": b.safe_migrations,
            "deletion_protected": b.deletion_protected, "sharded": false, "shard_count": 1,
            "keyspace_count": 1, "stale_schema": false, "actor": actor(b.actor.as_ref()),
            "restored_from_branch": restored, "private_edge_connectivity": false,
            "has_replicas": b.production, "has_read_only_replicas": false,
            "html_url": format!("https://app.planetscale.com/{org}/{}/{}", db.name, b.name),
            "url": format!("{}{}/branches/{}", self.base, self.db_path(db), b.name),
            "region": region(&b.region), "parent_branch": b.parent, "vtgate_options": {},
        });
        self.postgres_branch_fields(db, b, &mut v);
        v
    }

    /// Password object; `plain_text` only in the create response.
    pub fn password(&self, p: &Password, plain_text: Option<&str>) -> Value {
        let b = self.w.branch_by_id(&p.branch_id);
        let (bname, production, region_slug) = b.map_or(("", false, "us-east"), |b| {
            (b.name.as_str(), b.production, b.region.as_str())
        });
        let real_host = b.and_then(|b| b.mysql_host.clone());
        let ttl = p.ttl_seconds.filter(|t| *t > 0);
        let expired = p.expires_at.is_some_and(|e| e <= self.now);
        let host = real_host.unwrap_or_else(|| format!("{region_slug}.connect.psdb.cloud"));
        json!({
            "id": p.id, "type": "Password", "name": p.name, "role": p.role, "cidrs": p.cidrs,
            "created_at": ts(p.created_at), "deleted_at": ts_opt(p.deleted_at),
            "expires_at": ts_opt(p.expires_at), "last_used_at": null, "expired": expired,
            "direct_vtgate": p.direct_vtgate, "direct_vtgate_addresses": [], "ttl_seconds": ttl,
            "access_host_url": host, "access_host_regional_url": host,
            "access_host_regional_urls": [host], "actor": actor(p.actor.as_ref()),
            "region": region(region_slug), "username": p.username, "plain_text": plain_text,
            "replica": p.replica, "renewable": ttl.is_some() && !expired,
            "database_branch": {
                "name": bname, "id": p.branch_id, "production": production,
                "mysql_edge_address": "aws.connect.psdb.cloud", "private_edge_connectivity": false,
            },
        })
    }

    /// Backup state derived from its timestamps.
    pub fn backup_state(&self, b: &Backup) -> &'static str {
        if self.now >= b.completed_at {
            "success"
        } else if self.now >= b.started_at {
            "running"
        } else {
            "pending"
        }
    }

    /// Backup object.
    pub fn backup(&self, b: &Backup) -> Value {
        let branch = self.w.branch_by_id(&b.branch_id);
        let done = self.now >= b.completed_at;
        json!({
            "id": b.id, "type": "Backup", "name": b.name, "state": self.backup_state(b),
            "size": if done { 1_048_576 } else { 0 }, "estimated_storage_cost": 0.0,
            "created_at": ts(b.created_at), "updated_at": ts(b.created_at),
            "started_at": (self.now >= b.started_at).then(|| ts(b.started_at)),
            "expires_at": ts_opt(b.expires_at), "completed_at": done.then(|| ts(b.completed_at)),
            "deleted_at": null, "pvc_size": 0, "uncompressed_size": 0, "protected": b.protected,
            "required": false, "restored_branches": [], "actor": actor(b.actor.as_ref()),
            "backup_policy": null, "schema_snapshot": null,
            "database_branch": branch.map(|br| json!({
                "id": br.id, "name": br.name, "created_at": ts(br.created_at),
                "updated_at": ts(br.updated_at), "deleted_at": null,
            })),
        })
    }
}

/// Schema table object for `get_branch_schema`.
pub fn schema_table(name: &str, raw: &str) -> Value {
    json!({"name": name, "raw": raw, "html": format!("<pre>{}</pre>", html_escape(raw))})
}

/// Lint object for `lint_branch_schema` and deployment `lint_errors`.
pub fn lint(l: &Lint) -> Value {
    let slug = l.code.to_ascii_lowercase().replace('_', "-");
    json!({
        "lint_error": l.code, "subject_type": "table", "keyspace_name": "", "table_name": l.table,
        "error_description": l.description,
        "docs_url": format!("https://planetscale.com/docs/reference/schema-lint/{slug}"),
        "column_name": "", "foreign_key_column_names": [], "auto_increment_column_names": [],
        "charset_name": l.charset, "engine_name": l.engine, "vindex_name": "", "json_path": "",
        "check_constraint_name": "", "enum_value": "", "partitioning_type": "", "partition_name": "",
    })
}

impl V<'_> {
    /// Backup policy object.
    pub fn backup_policy(&self, p: &crate::model::BackupPolicy) -> Value {
        json!({
            "id": p.id, "type": "BackupPolicy", "display_name": p.name, "name": p.name,
            "target": p.target, "retention_value": p.retention_value,
            "retention_unit": p.retention_unit, "frequency_value": p.frequency_value,
            "frequency_unit": p.frequency_unit, "schedule_time": p.schedule_time,
            "schedule_day": p.schedule_day, "schedule_week": p.schedule_week,
            "created_at": ts(p.created_at), "updated_at": ts(p.updated_at),
            "last_ran_at": ts_opt(p.last_ran_at), "next_run_at": ts(p.next_run_at),
            "required": p.required,
        })
    }
}
