//! HTTP routes: `/v1/...` (the API), `/oauth/...` (the OAuth server), `/_emulator/...` (admin).

mod admin;
mod admin_world;
mod backup_policies;
mod backups;
mod branch_create;
pub(crate) mod branches;
pub(crate) mod databases;
mod deploy_actions;
mod deploy_requests;
mod middleware;
mod oauth;
mod oauth_apps;
mod orgs;
pub(crate) mod passwords;
mod pg_branches;
mod role_rules;
mod roles;
mod service_tokens;
mod webhooks;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::Value;

use crate::app::{App, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::views::V;

pub use middleware::ConnHandle;

impl Ctx<'_> {
    /// A renderer over this locked world.
    pub fn view<'a>(&'a self, base: &'a str) -> V<'a> {
        V {
            w: &self.world,
            base,
            now: self.now,
            settings: &self.settings,
        }
    }
}

/// 200 with a JSON body.
pub(crate) fn ok(v: Value) -> ApiResult<Response> {
    Ok(Json(v).into_response())
}

/// 201 with a JSON body.
pub(crate) fn created(v: Value) -> ApiResult<Response> {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// 204 with no body.
pub(crate) fn no_content() -> ApiResult<Response> {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// 404 unless the caller holds the permission (the real API hides what you cannot access).
pub(crate) fn require(allowed: bool) -> ApiResult<()> {
    if allowed {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

async fn fallback() -> ApiError {
    ApiError::not_found()
}

const ORG: &str = "/v1/organizations/{organization}";
const DB: &str = "/v1/organizations/{organization}/databases/{database}";
const BR: &str = "/v1/organizations/{organization}/databases/{database}/branches/{branch}";
const DR: &str = "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}";

fn org_routes() -> Router<App> {
    Router::new()
        .route("/v1/regions", get(orgs::list_public_regions))
        .route("/v1/user", get(orgs::get_current_user))
        .route("/v1/organizations", get(orgs::list_organizations))
        .route(
            ORG,
            get(orgs::get_organization).patch(orgs::update_organization),
        )
        .route(
            &format!("{ORG}/regions"),
            get(orgs::list_regions_for_organization),
        )
        .route(
            &format!("{ORG}/cluster-size-skus"),
            get(orgs::list_cluster_size_skus),
        )
        .route(
            &format!("{ORG}/databases"),
            get(databases::list).post(databases::create),
        )
        .route(
            DB,
            get(databases::get)
                .patch(databases::update)
                .delete(databases::delete),
        )
        .route(&format!("{DB}/regions"), get(databases::list_regions))
        .route(
            &format!("{DB}/backup-policies"),
            get(backup_policies::list).post(backup_policies::create),
        )
        .route(
            &format!("{DB}/backup-policies/{{id}}"),
            get(backup_policies::get)
                .patch(backup_policies::update)
                .delete(backup_policies::delete),
        )
        .route(
            &format!("{DB}/webhooks"),
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            &format!("{DB}/webhooks/{{id}}"),
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route(&format!("{DB}/webhooks/{{id}}/test"), post(webhooks::test))
        .route(&format!("{DB}/passwords"), get(passwords::list_database))
        .route(
            &format!("{DB}/read-only-regions"),
            get(databases::list_read_only_regions),
        )
}

fn branch_routes() -> Router<App> {
    let safe = post(branches::enable_safe_migrations)
        .put(branches::update_safe_migrations)
        .delete(branches::disable_safe_migrations);
    Router::new()
        .route(
            &format!("{DB}/branches"),
            get(branches::list).post(branch_create::create),
        )
        .route(
            BR,
            get(branches::get)
                .patch(branches::update)
                .delete(branches::delete),
        )
        .route(&format!("{BR}/promote"), post(branches::promote))
        .route(&format!("{BR}/demote"), post(branches::demote))
        .route(&format!("{BR}/safe-migrations"), safe)
        .route(&format!("{BR}/schema"), get(branches::schema))
        .route(&format!("{BR}/schema/lint"), get(branches::lint))
        .route(
            &format!("{BR}/passwords"),
            get(passwords::list).post(passwords::create),
        )
        .route(
            &format!("{BR}/passwords/{{id}}"),
            get(passwords::get)
                .patch(passwords::update)
                .delete(passwords::delete),
        )
        .route(
            &format!("{BR}/passwords/{{id}}/renew"),
            post(passwords::renew),
        )
        .merge(role_routes())
        .route(
            &format!("{BR}/backups"),
            get(backups::list).post(backups::create),
        )
        .route(
            &format!("{BR}/backups/{{id}}"),
            get(backups::get)
                .patch(backups::update)
                .delete(backups::delete),
        )
}

fn role_routes() -> Router<App> {
    Router::new()
        .route(&format!("{BR}/roles"), get(roles::list).post(roles::create))
        .route(&format!("{BR}/roles/default"), get(roles::get_default))
        .route(
            &format!("{BR}/roles/reset-default"),
            post(roles::reset_default),
        )
        .route(
            &format!("{BR}/roles/{{id}}"),
            get(roles::get).patch(roles::update).delete(roles::delete),
        )
        .route(&format!("{BR}/roles/{{id}}/renew"), post(roles::renew))
        .route(&format!("{BR}/roles/{{id}}/reset"), post(roles::reset))
        .route(
            &format!("{BR}/roles/{{id}}/reassign"),
            post(roles::reassign),
        )
}

fn deploy_routes() -> Router<App> {
    use deploy_actions as a;
    use deploy_requests as r;
    Router::new()
        .route(&format!("{DB}/deploy-queue"), get(r::queue_list))
        .route(
            &format!("{DB}/deploy-requests"),
            get(r::list).post(r::create),
        )
        .route(DR, get(r::get).patch(r::close))
        .route(&format!("{DR}/deployment"), get(r::deployment))
        .route(&format!("{DR}/operations"), get(r::operations))
        .route(&format!("{DR}/diff"), get(r::diff))
        .route(&format!("{DR}/reviews"), get(r::reviews).post(r::review))
        .route(&format!("{DR}/deploy"), post(a::deploy))
        .route(&format!("{DR}/cancel"), post(a::cancel))
        .route(&format!("{DR}/apply-deploy"), post(a::apply))
        .route(&format!("{DR}/complete-deploy"), post(a::complete))
        .route(&format!("{DR}/revert"), post(a::revert))
        .route(&format!("{DR}/skip-revert"), post(a::skip_revert))
        .route(&format!("{DR}/force-cutover"), post(a::force_cutover))
        .route(&format!("{DR}/auto-apply"), put(a::auto_apply))
        .route(
            &format!("{DR}/auto-delete-branch"),
            put(a::auto_delete_branch),
        )
}

/// The whole application router.
pub fn router(app: App) -> Router {
    Router::new()
        .merge(org_routes())
        .merge(branch_routes())
        .merge(deploy_routes())
        .merge(service_tokens::routes())
        .merge(oauth_apps::routes())
        .merge(oauth::routes())
        .merge(admin::routes())
        .merge(role_rules::admin_routes())
        .fallback(fallback)
        .method_not_allowed_fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::faults,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::observe,
        ))
        .with_state(app)
}
