//! The table of every operation the emulator serves: name (the spec's `operationId`),
//! method, path and required permission. Stats, faults, rate limiting and auth all key on it.

use crate::auth::DB_ACCESSES;

/// Permission an operation needs. Accesses are service-token accesses, scopes are OAuth
/// scopes; holding any one of the listed is enough (like the real API's tables).
#[derive(Debug, Clone, Copy)]
pub enum Auth {
    /// No credentials needed.
    Public,
    /// Any valid credential.
    Any,
    /// OAuth tokens only; service tokens get 404.
    OAuthOnly(&'static [&'static str]),
    /// An organization-level permission.
    Org(&'static [&'static str], &'static [&'static str]),
    /// A permission on the database in the path (granted organization-wide or per database).
    Db(&'static [&'static str], &'static [&'static str]),
}

/// One served operation.
#[derive(Debug)]
pub struct Operation {
    /// Operation name; the spec's operationId when `in_spec`.
    pub name: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Path pattern with `{param}` segments, including the `/v1` prefix for API operations.
    pub path: &'static str,
    /// Required permission.
    pub auth: Auth,
    /// Whether the operation is in the official OpenAPI spec (else: SDK-only or OAuth server).
    pub in_spec: bool,
}

const READ_BRANCH: &[&str] = &[
    "read_branch",
    "delete_branch",
    "create_branch",
    "connect_production_branch",
    "connect_branch",
];
const CONNECT: &[&str] = &[
    "connect_branch",
    "connect_production_branch",
    "connect_production_read_only_branch",
];
const LIST_PW: &[&str] = &[
    "read_branch",
    "delete_branch",
    "create_branch",
    "connect_branch",
    "connect_production_branch",
    "connect_production_read_only_branch",
];
const DELETE_PW: &[&str] = &[
    "delete_branch_password",
    "delete_production_branch_password",
    "delete_production_read_only_branch_password",
];
const CREATE_ROLE: &[&str] = &[
    "create_production_branch_password",
    "create_production_read_only_branch_password",
    "create_branch_password",
];
const S_READ_BRANCHES: &[&str] = &["read_branches", "read_branch"];
const S_PASSWORDS: &[&str] = &[
    "manage_passwords",
    "manage_production_branch_passwords",
    "manage_read_only_passwords",
    "manage_production_read_only_passwords",
];
const S_READ_DB: &[&str] = &["read_databases", "read_database"];
const S_WRITE_DB: &[&str] = &["write_databases", "write_database"];
const S_READ_ORG: &[&str] = &["read_organizations", "read_organization"];
const S_READ_DR: &[&str] = &["read_deploy_requests"];
const S_WRITE_DR: &[&str] = &["write_deploy_requests"];
const S_DEPLOY_DR: &[&str] = &["deploy_deploy_requests"];
const READ_DR: &[&str] = &["read_deploy_request"];
const CREATE_DR: &[&str] = &["create_deploy_request"];

macro_rules! ops {
    ($( $name:literal $method:literal $path:literal $auth:expr, $in_spec:literal; )*) => {
        /// Every operation the emulator serves.
        pub static OPERATIONS: &[Operation] = &[
            $( Operation { name: $name, method: $method, path: $path, auth: $auth, in_spec: $in_spec }, )*
        ];
    };
}

ops! {
    "list_public_regions" "GET" "/v1/regions" Auth::Public, true;
    "get_current_user" "GET" "/v1/user" Auth::OAuthOnly(&["read_user"]), true;
    "list_organizations" "GET" "/v1/organizations" Auth::Any, true;
    "get_organization" "GET" "/v1/organizations/{organization}" Auth::Org(&["read_organization"], S_READ_ORG), true;
    "update_organization" "PATCH" "/v1/organizations/{organization}" Auth::OAuthOnly(&["write_organization"]), true;
    "list_regions_for_organization" "GET" "/v1/organizations/{organization}/regions" Auth::Org(&["read_organization"], S_READ_ORG), true;
    "list_cluster_size_skus" "GET" "/v1/organizations/{organization}/cluster-size-skus" Auth::Org(&["read_organization"], S_READ_ORG), true;
    "list_databases" "GET" "/v1/organizations/{organization}/databases" Auth::Any, true;
    "create_database" "POST" "/v1/organizations/{organization}/databases" Auth::Org(&["create_databases"], &["create_databases"]), true;
    "get_database" "GET" "/v1/organizations/{organization}/databases/{database}" Auth::Db(DB_ACCESSES, S_READ_DB), true;
    "update_database_settings" "PATCH" "/v1/organizations/{organization}/databases/{database}" Auth::Db(&["write_database"], &["write_databases", "write_database"]), true;
    "delete_database" "DELETE" "/v1/organizations/{organization}/databases/{database}" Auth::Db(&["delete_database"], &["delete_databases", "delete_database"]), true;
    "list_database_regions" "GET" "/v1/organizations/{organization}/databases/{database}/regions" Auth::Db(DB_ACCESSES, S_READ_DB), true;
    "list_read_only_regions" "GET" "/v1/organizations/{organization}/databases/{database}/read-only-regions" Auth::Db(DB_ACCESSES, S_READ_BRANCHES), true;
    "list_branches" "GET" "/v1/organizations/{organization}/databases/{database}/branches" Auth::Db(READ_BRANCH, S_READ_BRANCHES), true;
    "create_branch" "POST" "/v1/organizations/{organization}/databases/{database}/branches" Auth::Db(&["create_branch", "restore_backup", "restore_production_branch_backup"], &["write_branches", "restore_backups", "restore_production_branch_backups"]), true;
    "get_branch" "GET" "/v1/organizations/{organization}/databases/{database}/branches/{branch}" Auth::Db(READ_BRANCH, S_READ_BRANCHES), true;
    "update_branch" "PATCH" "/v1/organizations/{organization}/databases/{database}/branches/{branch}" Auth::Db(&["write_database"], &["write_branches", "write_databases", "write_database", "write_branch"]), true;
    "delete_branch" "DELETE" "/v1/organizations/{organization}/databases/{database}/branches/{branch}" Auth::Db(&["delete_branch", "delete_production_branch"], &["delete_branches", "delete_production_branches", "delete_branch"]), true;
    "promote_branch" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/promote" Auth::Db(&["connect_production_branch", "promote_branches"], &["promote_branches"]), true;
    "demote_branch" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/demote" Auth::Db(&["connect_production_branch", "demote_branches"], &["demote_branches"]), true;
    "enable_safe_migrations" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/safe-migrations" Auth::Db(DB_ACCESSES, &["write_branches", "write_branch", "write_databases", "write_database"]), true;
    "update_safe_migrations" "PUT" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/safe-migrations" Auth::Db(DB_ACCESSES, &["write_branches", "write_branch", "write_databases", "write_database"]), true;
    "disable_safe_migrations" "DELETE" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/safe-migrations" Auth::Db(DB_ACCESSES, &["write_branches", "write_branch", "write_databases", "write_database"]), true;
    "get_branch_schema" "GET" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/schema" Auth::Db(READ_BRANCH, S_READ_BRANCHES), true;
    "lint_branch_schema" "GET" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/schema/lint" Auth::Db(READ_BRANCH, S_READ_BRANCHES), true;
    "list_passwords" "GET" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/passwords" Auth::Db(LIST_PW, S_PASSWORDS), true;
    "list_database_passwords" "GET" "/v1/organizations/{organization}/databases/{database}/passwords" Auth::Db(LIST_PW, S_PASSWORDS), false;
    "create_password" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/passwords" Auth::Db(CONNECT, S_PASSWORDS), true;
    "get_password" "GET" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/passwords/{id}" Auth::Db(LIST_PW, S_PASSWORDS), true;
    "update_password" "PATCH" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/passwords/{id}" Auth::Db(CONNECT, S_PASSWORDS), true;
    "delete_password" "DELETE" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/passwords/{id}" Auth::Db(DELETE_PW, S_PASSWORDS), true;
    "renew_password" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/passwords/{id}/renew" Auth::Db(CONNECT, S_PASSWORDS), true;
    "list_roles" "GET" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles" Auth::Db(LIST_PW, S_PASSWORDS), true;
    "create_role" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles" Auth::Db(CREATE_ROLE, S_PASSWORDS), true;
    "get_default_role" "GET" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/default" Auth::Db(LIST_PW, S_PASSWORDS), true;
    "reset_default_role" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/reset-default" Auth::Db(DELETE_PW, S_PASSWORDS), true;
    "get_role" "GET" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}" Auth::Db(LIST_PW, S_PASSWORDS), true;
    "update_role" "PATCH" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}" Auth::Db(CREATE_ROLE, S_PASSWORDS), true;
    "delete_role" "DELETE" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}" Auth::Db(DELETE_PW, S_PASSWORDS), true;
    "reassign_role_objects" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}/reassign" Auth::Db(DELETE_PW, S_PASSWORDS), true;
    "renew_role" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}/renew" Auth::Db(CREATE_ROLE, S_PASSWORDS), true;
    "reset_role" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}/reset" Auth::Db(DELETE_PW, S_PASSWORDS), true;
    "list_backups" "GET" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/backups" Auth::Db(&["read_backups"], &["read_backups"]), true;
    "create_backup" "POST" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/backups" Auth::Db(&["write_backups"], &["write_backups"]), true;
    "get_backup" "GET" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/backups/{id}" Auth::Db(&["read_backups"], &["read_backups"]), true;
    "update_backup" "PATCH" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/backups/{id}" Auth::Db(&["write_backups"], &["write_backups"]), true;
    "delete_backup" "DELETE" "/v1/organizations/{organization}/databases/{database}/branches/{branch}/backups/{id}" Auth::Db(&["delete_backups", "delete_production_branch_backups"], &["delete_backups", "delete_production_branch_backups"]), true;
    "list_backup_policies" "GET" "/v1/organizations/{organization}/databases/{database}/backup-policies" Auth::Db(&["read_backups"], &["read_backups"]), true;
    "create_backup_policy" "POST" "/v1/organizations/{organization}/databases/{database}/backup-policies" Auth::Db(&["write_backups"], &["write_backups"]), true;
    "get_backup_policy" "GET" "/v1/organizations/{organization}/databases/{database}/backup-policies/{id}" Auth::Db(&["read_backups"], &["read_backups"]), true;
    "update_backup_policy" "PATCH" "/v1/organizations/{organization}/databases/{database}/backup-policies/{id}" Auth::Db(&["write_backups"], &["write_backups"]), true;
    "delete_backup_policy" "DELETE" "/v1/organizations/{organization}/databases/{database}/backup-policies/{id}" Auth::Db(&["write_backups"], &["write_backups"]), true;
    "get_deploy_queue" "GET" "/v1/organizations/{organization}/databases/{database}/deploy-queue" Auth::Db(READ_DR, S_READ_DR), true;
    "list_deploy_requests" "GET" "/v1/organizations/{organization}/databases/{database}/deploy-requests" Auth::Db(READ_DR, S_READ_DR), true;
    "create_deploy_request" "POST" "/v1/organizations/{organization}/databases/{database}/deploy-requests" Auth::Db(CREATE_DR, S_WRITE_DR), true;
    "get_deploy_request" "GET" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}" Auth::Db(READ_DR, S_READ_DR), true;
    "close_deploy_request" "PATCH" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}" Auth::Db(CREATE_DR, S_WRITE_DR), true;
    "complete_gated_deploy_request" "POST" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/apply-deploy" Auth::Db(CREATE_DR, S_DEPLOY_DR), true;
    "update_auto_apply" "PUT" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/auto-apply" Auth::Db(CREATE_DR, S_DEPLOY_DR), true;
    "update_auto_delete_branch" "PUT" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/auto-delete-branch" Auth::Db(CREATE_DR, S_DEPLOY_DR), true;
    "cancel_deploy_request" "POST" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/cancel" Auth::Db(CREATE_DR, S_DEPLOY_DR), true;
    "complete_errored_deploy" "POST" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/complete-deploy" Auth::Db(CREATE_DR, S_DEPLOY_DR), true;
    "queue_deploy_request" "POST" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/deploy" Auth::Db(CREATE_DR, S_DEPLOY_DR), true;
    "get_deployment" "GET" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/deployment" Auth::Db(READ_DR, S_READ_DR), true;
    "force_cutover_deploy_request" "POST" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/force-cutover" Auth::Db(CREATE_DR, S_DEPLOY_DR), true;
    "list_deploy_operations" "GET" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/operations" Auth::Db(READ_DR, S_READ_DR), true;
    "complete_revert" "POST" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/revert" Auth::Db(CREATE_DR, S_DEPLOY_DR), true;
    "list_deploy_request_reviews" "GET" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/reviews" Auth::Db(READ_DR, S_READ_DR), true;
    "review_deploy_request" "POST" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/reviews" Auth::Db(&["approve_deploy_request", "review_deploy_request"], &["approve_deploy_requests"]), true;
    "skip_revert_period" "POST" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/skip-revert" Auth::Db(CREATE_DR, S_DEPLOY_DR), true;
    "get_deploy_request_diff" "GET" "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}/diff" Auth::Db(READ_DR, S_READ_DR), false;
    "list_webhooks" "GET" "/v1/organizations/{organization}/databases/{database}/webhooks" Auth::Db(&["read_database"], S_READ_DB), true;
    "create_webhook" "POST" "/v1/organizations/{organization}/databases/{database}/webhooks" Auth::Db(&["write_database"], S_WRITE_DB), true;
    "get_webhook" "GET" "/v1/organizations/{organization}/databases/{database}/webhooks/{id}" Auth::Db(&["read_database"], S_READ_DB), true;
    "update_webhook" "PATCH" "/v1/organizations/{organization}/databases/{database}/webhooks/{id}" Auth::Db(&["write_database"], S_WRITE_DB), true;
    "delete_webhook" "DELETE" "/v1/organizations/{organization}/databases/{database}/webhooks/{id}" Auth::Db(&["write_database"], S_WRITE_DB), true;
    "test_webhook" "POST" "/v1/organizations/{organization}/databases/{database}/webhooks/{id}/test" Auth::Db(&["write_database"], S_WRITE_DB), true;
    "list_service_tokens" "GET" "/v1/organizations/{organization}/service-tokens" Auth::Org(&["read_service_tokens"], &[]), true;
    "create_service_token" "POST" "/v1/organizations/{organization}/service-tokens" Auth::Org(&["write_service_tokens"], &[]), true;
    "get_service_token" "GET" "/v1/organizations/{organization}/service-tokens/{id}" Auth::Org(&["read_service_tokens"], &[]), true;
    "delete_service_token" "DELETE" "/v1/organizations/{organization}/service-tokens/{id}" Auth::Org(&["delete_service_tokens"], &[]), true;
    "list_service_token_accesses" "GET" "/v1/organizations/{organization}/service-tokens/{id}/access" Auth::Org(&["read_service_tokens"], &[]), false;
    "add_service_token_accesses" "POST" "/v1/organizations/{organization}/service-tokens/{id}/access" Auth::Org(&["write_service_tokens"], &[]), false;
    "remove_service_token_accesses" "DELETE" "/v1/organizations/{organization}/service-tokens/{id}/access" Auth::Org(&["write_service_tokens"], &[]), false;
    "list_service_token_grants" "GET" "/v1/organizations/{organization}/service-tokens/{id}/grants" Auth::Org(&["read_service_tokens"], &[]), false;
    "list_oauth_applications" "GET" "/v1/organizations/{organization}/oauth-applications" Auth::Org(&["read_oauth_applications"], &[]), true;
    "get_oauth_application" "GET" "/v1/organizations/{organization}/oauth-applications/{application_id}" Auth::Org(&["read_oauth_applications"], &[]), true;
    "list_oauth_tokens" "GET" "/v1/organizations/{organization}/oauth-applications/{application_id}/tokens" Auth::Org(&["read_oauth_tokens"], &[]), true;
    "get_oauth_token" "GET" "/v1/organizations/{organization}/oauth-applications/{application_id}/tokens/{token_id}" Auth::Org(&["read_oauth_tokens"], &[]), true;
    "delete_oauth_token" "DELETE" "/v1/organizations/{organization}/oauth-applications/{application_id}/tokens/{token_id}" Auth::Org(&["delete_oauth_tokens"], &[]), true;
    "create_oauth_token" "POST" "/v1/organizations/{organization}/oauth-applications/{id}/token" Auth::Org(&["write_oauth_tokens"], &[]), true;
    "oauth_authorize" "GET" "/oauth/authorize" Auth::Public, false;
    "oauth_token" "POST" "/oauth/token" Auth::Public, false;
    "oauth_revoke" "POST" "/oauth/revoke" Auth::Public, false;
    "oauth_token_info" "GET" "/oauth/token/info" Auth::Public, false;
}

/// A request matched to an operation, with its path parameters.
#[derive(Debug, Clone)]
pub struct Matched {
    /// The operation.
    pub op: &'static Operation,
    /// Path parameters by name.
    pub params: Vec<(&'static str, String)>,
}

impl Matched {
    /// A path parameter by name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Find the operation serving `method path` (path without query).
pub fn lookup(method: &str, path: &str) -> Option<Matched> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    OPERATIONS
        .iter()
        .filter(|op| op.method.eq_ignore_ascii_case(method))
        .find_map(|op| {
            let pattern: Vec<&'static str> = op.path.split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut params = Vec::new();
            for (p, s) in pattern.iter().zip(&segments) {
                if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    if s.is_empty() {
                        return None;
                    }
                    params.push((name, s.to_string()));
                } else if p != s {
                    return None;
                }
            }
            Some(Matched { op, params })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_extracts_parameters_and_prefers_literal_segments() {
        let m = lookup(
            "POST",
            "/v1/organizations/acme/databases/shop/branches/dev/passwords",
        )
        .unwrap();
        assert_eq!(m.op.name, "create_password");
        assert_eq!(m.param("branch"), Some("dev"));
        let m = lookup(
            "GET",
            "/v1/organizations/acme/databases/shop/branches/dev/schema/lint",
        )
        .unwrap();
        assert_eq!(m.op.name, "lint_branch_schema");
        assert!(lookup("GET", "/v1/nothing").is_none());
    }

    #[test]
    fn operation_names_are_unique() {
        let mut names: Vec<_> = OPERATIONS.iter().map(|o| o.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), OPERATIONS.len());
    }
}
