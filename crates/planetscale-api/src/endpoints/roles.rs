//! Postgres roles (the credentials of PostgreSQL branches).

use reqwest::Method;
use serde_json::json;

use super::branch_path;
use crate::models::{CreateRole, ListRoles, Role, UpdateRole};
use crate::pagination::{ListRequest, Paged};
use crate::request::Request;
use crate::{Client, Result};

impl Client {
    /// `POST …/branches/{branch}/roles` (200). The response is the only one carrying the
    /// `password` (besides [`Client::reset_role`]); the role is usable once `ready`. A create:
    /// never resent after the request may have reached the server (that could mint a second
    /// role); on a timeout or 5xx, list roles by name.
    pub async fn create_role(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        body: &CreateRole,
    ) -> Result<Role> {
        let path = branch_path(org, db, branch, &["roles"]);
        self.send(
            Request::new("create_role", Method::POST, &path)
                .create()
                .json(body)?,
        )
        .await
    }

    /// `GET …/roles/{id}` (`password` is `None`).
    pub async fn get_role(&self, org: &str, db: &str, branch: &str, id: &str) -> Result<Role> {
        let path = branch_path(org, db, branch, &["roles", id]);
        self.send(Request::new("get_role", Method::GET, &path))
            .await
    }

    /// `GET …/branches/{branch}/roles` with optional filters.
    pub fn list_roles(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        filters: &ListRoles,
    ) -> Paged<Role> {
        self.paginate(roles_list(org, db, branch, filters))
    }

    /// Every role of the branch matching `filters`.
    pub async fn list_roles_all(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        filters: &ListRoles,
    ) -> Result<Vec<Role>> {
        self.collect_all(roles_list(org, db, branch, filters)).await
    }

    /// `PATCH …/roles/{id}`: rename, or change the `WHERE` clause rules.
    pub async fn update_role(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
        body: &UpdateRole,
    ) -> Result<Role> {
        let path = branch_path(org, db, branch, &["roles", id]);
        self.send(Request::new("update_role", Method::PATCH, &path).json(body)?)
            .await
    }

    /// `DELETE …/roles/{id}` (204), with `successor` (a role id, or a username such as
    /// `postgres`) taking over the objects the role owns. Without a successor, deleting a
    /// role that owns objects is refused (`Unprocessable`). A retry after a lost response may
    /// report `NotFound`: treat it as deleted.
    pub async fn delete_role(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
        successor: Option<&str>,
    ) -> Result<()> {
        let path = branch_path(org, db, branch, &["roles", id]);
        let query = successor.map(|s| vec![("successor", s.to_owned())]);
        self.send_empty(
            Request::new("delete_role", Method::DELETE, &path).query(query.unwrap_or_default()),
        )
        .await
    }

    /// `POST …/roles/{id}/renew`: extend the expiry by the TTL. Retried on transient errors
    /// (a second renew only extends again). `NotFound`/`Unprocessable` mean the role cannot be
    /// renewed.
    pub async fn renew_role(&self, org: &str, db: &str, branch: &str, id: &str) -> Result<Role> {
        let path = branch_path(org, db, branch, &["roles", id, "renew"]);
        self.send(Request::new("renew_role", Method::POST, &path))
            .await
    }

    /// `POST …/roles/{id}/reset`: a new password for the same role (same id and username);
    /// the old password stops working. The response carries the new `password`. Retried on
    /// transient errors: each reset supersedes the previous one, so the last response received
    /// holds the password that works.
    pub async fn reset_role(&self, org: &str, db: &str, branch: &str, id: &str) -> Result<Role> {
        let path = branch_path(org, db, branch, &["roles", id, "reset"]);
        self.send(Request::new("reset_role", Method::POST, &path))
            .await
    }

    /// `POST …/roles/{id}/reassign` (204): give the objects the role owns to `successor`
    /// (a role id, or a username with or without the branch suffix).
    pub async fn reassign_role_objects(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
        successor: &str,
    ) -> Result<()> {
        let path = branch_path(org, db, branch, &["roles", id, "reassign"]);
        self.send_empty(
            Request::new("reassign_role_objects", Method::POST, &path)
                .json(&json!({ "successor": successor }))?,
        )
        .await
    }

    /// `GET …/roles/default`: the branch's default `postgres` role (`password` is `None`).
    pub async fn get_default_role(&self, org: &str, db: &str, branch: &str) -> Result<Role> {
        let path = branch_path(org, db, branch, &["roles", "default"]);
        self.send(Request::new("get_default_role", Method::GET, &path))
            .await
    }

    /// `POST …/roles/reset-default`: a new password for the default `postgres` role, in the
    /// response. Retried like [`Client::reset_role`].
    pub async fn reset_default_role(&self, org: &str, db: &str, branch: &str) -> Result<Role> {
        let path = branch_path(org, db, branch, &["roles", "reset-default"]);
        self.send(Request::new("reset_default_role", Method::POST, &path))
            .await
    }
}

fn roles_list(org: &str, db: &str, branch: &str, filters: &ListRoles) -> ListRequest {
    ListRequest::new("list_roles", &branch_path(org, db, branch, &["roles"])).query(filters.query())
}
