//! Branch passwords.

use reqwest::Method;

use super::{branch_path, db_path};
use crate::models::{CreatePassword, ListPasswords, Password, UpdatePassword};
use crate::pagination::{ListRequest, Paged};
use crate::request::Request;
use crate::{Client, Result};

impl Client {
    /// `POST …/branches/{branch}/passwords` (201). The response is the only one carrying
    /// `plain_text`. A create: never resent after the request may have reached the server
    /// (that could mint a second password); on a timeout or 5xx, list passwords by name.
    pub async fn create_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        body: &CreatePassword,
    ) -> Result<Password> {
        let path = branch_path(org, db, branch, &["passwords"]);
        self.send(
            Request::new("create_password", Method::POST, &path)
                .create()
                .json(body)?,
        )
        .await
    }

    /// `GET …/passwords/{id}` (`plain_text` is `None`).
    pub async fn get_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
    ) -> Result<Password> {
        let path = branch_path(org, db, branch, &["passwords", id]);
        self.send(Request::new("get_password", Method::GET, &path))
            .await
    }

    /// `GET …/branches/{branch}/passwords` with optional filters.
    pub fn list_passwords(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        filters: &ListPasswords,
    ) -> Paged<Password> {
        self.paginate(passwords_list(org, db, branch, filters))
    }

    /// Every password of the branch matching `filters`.
    pub async fn list_passwords_all(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        filters: &ListPasswords,
    ) -> Result<Vec<Password>> {
        self.collect_all(passwords_list(org, db, branch, filters))
            .await
    }

    /// `GET /organizations/{org}/databases/{db}/passwords`: the passwords of every branch of
    /// the database (each with its `database_branch`). Not in the OpenAPI spec; the Go SDK
    /// uses it. An API without it answers 404 (as does a database the credentials cannot see).
    pub fn list_database_passwords(
        &self,
        org: &str,
        db: &str,
        filters: &ListPasswords,
    ) -> Paged<Password> {
        self.paginate(database_passwords_list(org, db, filters))
    }

    /// Every password of the database matching `filters`, a page (of the client's page size,
    /// 100 by default) per request.
    pub async fn list_database_passwords_all(
        &self,
        org: &str,
        db: &str,
        filters: &ListPasswords,
    ) -> Result<Vec<Password>> {
        self.collect_all(database_passwords_list(org, db, filters))
            .await
    }

    /// `PATCH …/passwords/{id}`: rename or change CIDRs.
    pub async fn update_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
        body: &UpdatePassword,
    ) -> Result<Password> {
        let path = branch_path(org, db, branch, &["passwords", id]);
        self.send(Request::new("update_password", Method::PATCH, &path).json(body)?)
            .await
    }

    /// `POST …/passwords/{id}/renew`: extend the expiry by the TTL. Retried on transient
    /// errors (a second renew only extends again). `NotFound`/`Unprocessable` mean the
    /// password cannot be renewed.
    pub async fn renew_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
    ) -> Result<Password> {
        let path = branch_path(org, db, branch, &["passwords", id, "renew"]);
        self.send(Request::new("renew_password", Method::POST, &path))
            .await
    }

    /// `DELETE …/passwords/{id}` (204); connections using it are cut. A retry after a lost
    /// response may report `NotFound`: treat it as deleted.
    pub async fn delete_password(&self, org: &str, db: &str, branch: &str, id: &str) -> Result<()> {
        let path = branch_path(org, db, branch, &["passwords", id]);
        self.send_empty(Request::new("delete_password", Method::DELETE, &path))
            .await
    }
}

fn passwords_list(org: &str, db: &str, branch: &str, filters: &ListPasswords) -> ListRequest {
    ListRequest::new(
        "list_passwords",
        &branch_path(org, db, branch, &["passwords"]),
    )
    .query(filters.query())
}

fn database_passwords_list(org: &str, db: &str, filters: &ListPasswords) -> ListRequest {
    ListRequest::new("list_database_passwords", &db_path(org, db, &["passwords"]))
        .query(filters.query())
}
