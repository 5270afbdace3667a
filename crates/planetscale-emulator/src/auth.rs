//! Credentials: service tokens (`Authorization: ID:TOKEN`) with per-organization and
//! per-database accesses, and OAuth Bearer tokens with scopes.

use chrono::{DateTime, Utc};

use crate::error::{ApiError, ApiResult};
use crate::ids::hash_secret;
use crate::model::{Actor, Grant, World};

/// Organization-level service-token accesses.
pub const ORG_ACCESSES: &[&str] = &[
    "read_organization",
    "write_organization",
    "read_invoices",
    "read_audit_logs",
    "read_databases",
    "create_databases",
    "delete_databases",
    "read_oauth_applications",
    "read_oauth_tokens",
    "write_oauth_tokens",
    "delete_oauth_tokens",
    "read_service_tokens",
    "write_service_tokens",
    "delete_service_tokens",
    "write_teams",
    "read_metrics_endpoints",
];

/// Database-level service-token accesses.
pub const DB_ACCESSES: &[&str] = &[
    "read_database",
    "write_database",
    "delete_database",
    "create_branch",
    "read_branch",
    "delete_branch",
    "delete_production_branch",
    "promote_branches",
    "demote_branches",
    "connect_branch",
    "connect_production_branch",
    "connect_production_read_only_branch",
    "create_branch_password",
    "create_production_branch_password",
    "create_production_read_only_branch_password",
    "delete_branch_password",
    "delete_production_branch_password",
    "delete_production_read_only_branch_password",
    "create_deploy_request",
    "read_deploy_request",
    "approve_deploy_request",
    "review_deploy_request",
    "create_comment",
    "read_comment",
    "read_backups",
    "write_backups",
    "delete_backups",
    "delete_production_branch_backups",
    "restore_backup",
    "restore_production_branch_backup",
    "write_branch_vschema",
    "write_production_branch_vschema",
];

/// Every OAuth scope the emulator knows (bare names; `organization:`-style prefixes are accepted too).
pub const ALL_OAUTH_SCOPES: &[&str] = &[
    "read_user",
    "write_user",
    "read_organizations",
    "read_organization",
    "write_organization",
    "read_databases",
    "create_databases",
    "write_databases",
    "delete_databases",
    "read_database",
    "write_database",
    "delete_database",
    "read_branches",
    "write_branches",
    "delete_branches",
    "promote_branches",
    "demote_branches",
    "delete_production_branches",
    "read_branch",
    "write_branch",
    "delete_branch",
    "manage_passwords",
    "manage_production_branch_passwords",
    "manage_read_only_passwords",
    "manage_production_read_only_passwords",
    "read_deploy_requests",
    "write_deploy_requests",
    "deploy_deploy_requests",
    "approve_deploy_requests",
    "read_comments",
    "write_comments",
    "read_backups",
    "write_backups",
    "delete_backups",
    "delete_production_branch_backups",
    "restore_backups",
    "restore_production_branch_backups",
];

/// Expand access names from a seed or admin request (`all` → every access), rejecting unknown names.
pub fn expand_accesses(names: &[String], org_level: bool) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for name in names {
        if name == "all" {
            let all = if org_level {
                [ORG_ACCESSES, DB_ACCESSES].concat()
            } else {
                DB_ACCESSES.to_vec()
            };
            out.extend(all.iter().map(std::string::ToString::to_string));
        } else if DB_ACCESSES.contains(&name.as_str())
            || (org_level && ORG_ACCESSES.contains(&name.as_str()))
        {
            out.push(name.clone());
        } else {
            return Err(format!("unknown access {name:?}"));
        }
    }
    out.dedup();
    Ok(out)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Identity recorded on created objects and reviews.
    pub actor: Actor,
    /// Credential kind and its permissions.
    pub kind: CallerKind,
}

/// Credential kind.
#[derive(Debug, Clone)]
pub enum CallerKind {
    /// A service token with its grants.
    ServiceToken {
        /// Token id.
        id: String,
        /// Grants at authentication time.
        grants: Vec<Grant>,
    },
    /// An OAuth access token.
    OAuth {
        /// User id.
        user_id: String,
        /// Organizations of the user.
        org_ids: Vec<String>,
        /// Scopes, with resource prefixes stripped.
        scopes: Vec<String>,
    },
}

impl Caller {
    /// Whether the caller can see the organization at all.
    pub fn can_reach_org(&self, org_id: &str) -> bool {
        match &self.kind {
            CallerKind::ServiceToken { grants, .. } => grants.iter().any(|g| g.org_id == org_id),
            CallerKind::OAuth { org_ids, .. } => org_ids.iter().any(|o| o == org_id),
        }
    }

    /// Whether the caller holds an organization-level permission.
    pub fn org_allows(&self, org_id: &str, accesses: &[&str], scopes: &[&str]) -> bool {
        match &self.kind {
            CallerKind::ServiceToken { grants, .. } => grants.iter().any(|g| {
                g.org_id == org_id && g.db_id.is_none() && accesses.contains(&g.access.as_str())
            }),
            CallerKind::OAuth { .. } => self.can_reach_org(org_id) && self.has_scope(scopes),
        }
    }

    /// Whether the caller holds a permission on a database (organization-wide or database grant).
    pub fn db_allows(&self, org_id: &str, db_id: &str, accesses: &[&str], scopes: &[&str]) -> bool {
        match &self.kind {
            CallerKind::ServiceToken { grants, .. } => grants.iter().any(|g| {
                g.org_id == org_id
                    && g.db_id.as_deref().is_none_or(|d| d == db_id)
                    && accesses.contains(&g.access.as_str())
            }),
            CallerKind::OAuth { .. } => self.can_reach_org(org_id) && self.has_scope(scopes),
        }
    }

    /// Whether an OAuth caller holds any of the scopes (always false for service tokens).
    pub fn has_scope(&self, wanted: &[&str]) -> bool {
        match &self.kind {
            CallerKind::OAuth { scopes, .. } => scopes.iter().any(|s| wanted.contains(&s.as_str())),
            CallerKind::ServiceToken { .. } => false,
        }
    }

    /// Service token id, if the caller is one.
    pub fn service_token_id(&self) -> Option<&str> {
        match &self.kind {
            CallerKind::ServiceToken { id, .. } => Some(id),
            CallerKind::OAuth { .. } => None,
        }
    }
}

/// Strip a resource prefix such as `organization:` from a scope.
pub fn bare_scope(scope: &str) -> &str {
    scope.rsplit(':').next().unwrap_or(scope)
}

/// Authenticate an `Authorization` header value against the world.
pub fn authenticate(
    world: &mut World,
    header: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<Caller> {
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let Some(header) = header else {
        return Err(ApiError::unauthorized(
            "Authentication required: send an Authorization header",
        ));
    };
    if let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
    {
        return authenticate_oauth(world, token.trim(), now);
    }
    let Some((id, secret)) = header.split_once(':') else {
        return Err(ApiError::unauthorized(
            "Malformed Authorization header: expected ID:TOKEN or Bearer TOKEN",
        ));
    };
    let hash = hash_secret(secret.trim());
    let token = world
        .service_tokens
        .iter_mut()
        .find(|t| t.id == id.trim() && t.secret_hash == hash)
        .ok_or_else(|| ApiError::unauthorized("The service token is invalid"))?;
    if token.expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::unauthorized("The service token has expired"));
    }
    token.last_used_at = Some(now);
    let display_name = token.name.clone().unwrap_or_else(|| token.id.clone());
    Ok(Caller {
        actor: Actor {
            id: token.id.clone(),
            display_name,
        },
        kind: CallerKind::ServiceToken {
            id: token.id.clone(),
            grants: token.grants.clone(),
        },
    })
}

fn authenticate_oauth(world: &mut World, token: &str, now: DateTime<Utc>) -> ApiResult<Caller> {
    let hash = hash_secret(token);
    let record = world
        .oauth_tokens
        .iter_mut()
        .find(|t| t.access_hash == hash)
        .ok_or_else(|| ApiError::invalid_token("The access token is invalid"))?;
    if record.access_revoked {
        return Err(ApiError::invalid_token("The access token was revoked"));
    }
    if record.expires_at <= now {
        return Err(ApiError::invalid_token("The access token expired"));
    }
    record.last_used_at = Some(now);
    let (user_id, scopes) = (record.user_id.clone(), record.scopes.clone());
    let user = world
        .users
        .iter()
        .find(|u| u.id == user_id)
        .ok_or_else(|| ApiError::invalid_token("The token's user no longer exists"))?;
    Ok(Caller {
        actor: Actor {
            id: user.id.clone(),
            display_name: user.name.clone(),
        },
        kind: CallerKind::OAuth {
            user_id: user.id.clone(),
            org_ids: user.org_ids.clone(),
            scopes: scopes.iter().map(|s| bare_scope(s).to_string()).collect(),
        },
    })
}
