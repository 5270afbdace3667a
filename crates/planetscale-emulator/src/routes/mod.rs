//! HTTP routes: `/v1/...` (the API), `/oauth/...` (the OAuth server), `/_emulator/...` (admin).

mod admin;
mod admin_world;
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
mod service_tokens;

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

/// The whole application router.
pub fn router(app: App) -> Router {
    let db = "/v1/organizations/{organization}/databases/{database}";
    let br = "/v1/organizations/{organization}/databases/{database}/branches/{branch}";
    let dr = "/v1/organizations/{organization}/databases/{database}/deploy-requests/{number}";
    let org = "/v1/organizations/{organization}";
    Router::new()
        .route("/v1/regions", get(orgs::list_public_regions))
        .route("/v1/user", get(orgs::get_current_user))
        .route("/v1/organizations", get(orgs::list_organizations))
        .route(
            org,
            get(orgs::get_organization).patch(orgs::update_organization),
        )
        .route(
            &format!("{org}/regions"),
            get(orgs::list_regions_for_organization),
        )
        .route(
            &format!("{org}/cluster-size-skus"),
            get(orgs::list_cluster_size_skus),
        )
        .route(
            &format!("{org}/databases"),
            get(databases::list).post(databases::create),
        )
        .route(
            db,
            get(databases::get)
                .patch(databases::update)
                .delete(databases::delete),
        )
        .route(&format!("{db}/regions"), get(databases::list_regions))
        .route(
            &format!("{db}/read-only-regions"),
            get(databases::list_read_only_regions),
        )
        .route(
            &format!("{db}/branches"),
            get(branches::list).post(branch_create::create),
        )
        .route(
            br,
            get(branches::get)
                .patch(branches::update)
                .delete(branches::delete),
        )
        .route(&format!("{br}/promote"), post(branches::promote))
        .route(&format!("{br}/demote"), post(branches::demote))
        .route(
            &format!("{br}/safe-migrations"),
            post(branches::enable_safe_migrations)
                .put(branches::update_safe_migrations)
                .delete(branches::disable_safe_migrations),
        )
        .route(&format!("{br}/schema"), get(branches::schema))
        .route(&format!("{br}/schema/lint"), get(branches::lint))
        .route(
            &format!("{br}/passwords"),
            get(passwords::list).post(passwords::create),
        )
        .route(
            &format!("{br}/passwords/{{id}}"),
            get(passwords::get)
                .patch(passwords::update)
                .delete(passwords::delete),
        )
        .route(
            &format!("{br}/passwords/{{id}}/renew"),
            post(passwords::renew),
        )
        .route(
            &format!("{br}/backups"),
            get(backups::list).post(backups::create),
        )
        .route(
            &format!("{br}/backups/{{id}}"),
            get(backups::get)
                .patch(backups::update)
                .delete(backups::delete),
        )
        .route(
            &format!("{db}/deploy-queue"),
            get(deploy_requests::queue_list),
        )
        .route(
            &format!("{db}/deploy-requests"),
            get(deploy_requests::list).post(deploy_requests::create),
        )
        .route(dr, get(deploy_requests::get).patch(deploy_requests::close))
        .route(
            &format!("{dr}/deployment"),
            get(deploy_requests::deployment),
        )
        .route(
            &format!("{dr}/operations"),
            get(deploy_requests::operations),
        )
        .route(&format!("{dr}/diff"), get(deploy_requests::diff))
        .route(
            &format!("{dr}/reviews"),
            get(deploy_requests::reviews).post(deploy_requests::review),
        )
        .route(&format!("{dr}/deploy"), post(deploy_actions::deploy))
        .route(&format!("{dr}/cancel"), post(deploy_actions::cancel))
        .route(&format!("{dr}/apply-deploy"), post(deploy_actions::apply))
        .route(
            &format!("{dr}/complete-deploy"),
            post(deploy_actions::complete),
        )
        .route(&format!("{dr}/revert"), post(deploy_actions::revert))
        .route(
            &format!("{dr}/skip-revert"),
            post(deploy_actions::skip_revert),
        )
        .route(
            &format!("{dr}/force-cutover"),
            post(deploy_actions::force_cutover),
        )
        .route(&format!("{dr}/auto-apply"), put(deploy_actions::auto_apply))
        .route(
            &format!("{dr}/auto-delete-branch"),
            put(deploy_actions::auto_delete_branch),
        )
        .merge(service_tokens::routes())
        .merge(oauth_apps::routes())
        .merge(oauth::routes())
        .merge(admin::routes())
        .fallback(fallback)
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
