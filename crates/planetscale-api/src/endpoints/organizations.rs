//! Organizations, regions, the current user and databases.

use reqwest::Method;

use super::db_path;
use crate::models::{CreateDatabase, Database, Organization, Region, UpdateDatabase, User};
use crate::pagination::{ListRequest, Paged};
use crate::request::Request;
use crate::{Client, Result};

impl Client {
    /// `GET /organizations`: the organizations the credentials can reach.
    pub fn list_organizations(&self) -> Paged<Organization> {
        self.paginate(ListRequest::new("list_organizations", &["organizations"]))
    }

    /// Every organization the credentials can reach.
    pub async fn list_organizations_all(&self) -> Result<Vec<Organization>> {
        self.collect_all(ListRequest::new("list_organizations", &["organizations"]))
            .await
    }

    /// `GET /organizations/{org}`.
    pub async fn get_organization(&self, org: &str) -> Result<Organization> {
        self.send(Request::new(
            "get_organization",
            Method::GET,
            &["organizations", org],
        ))
        .await
    }

    /// `GET /organizations/{org}/regions`: regions available to the organization.
    pub fn list_regions(&self, org: &str) -> Paged<Region> {
        self.paginate(ListRequest::new(
            "list_regions",
            &["organizations", org, "regions"],
        ))
    }

    /// `GET /user`: the user the credentials belong to (OAuth).
    pub async fn get_current_user(&self) -> Result<User> {
        self.send(Request::new("get_current_user", Method::GET, &["user"]))
            .await
    }

    /// `GET /organizations/{org}/databases/{db}`.
    pub async fn get_database(&self, org: &str, db: &str) -> Result<Database> {
        self.send(Request::new(
            "get_database",
            Method::GET,
            &db_path(org, db, &[]),
        ))
        .await
    }

    /// `GET /organizations/{org}/databases`.
    pub fn list_databases(&self, org: &str) -> Paged<Database> {
        self.paginate(ListRequest::new(
            "list_databases",
            &["organizations", org, "databases"],
        ))
    }

    /// Every database of the organization that the credentials can see.
    pub async fn list_databases_all(&self, org: &str) -> Result<Vec<Database>> {
        self.collect_all(ListRequest::new(
            "list_databases",
            &["organizations", org, "databases"],
        ))
        .await
    }

    /// `POST …/databases` (201, `pending` until ready). A create: not resent after a timeout
    /// or 5xx; on such an error, look the database up by name before trying again.
    pub async fn create_database(&self, org: &str, body: &CreateDatabase) -> Result<Database> {
        self.send(
            Request::new(
                "create_database",
                Method::POST,
                &["organizations", org, "databases"],
            )
            .create()
            .json(body)?,
        )
        .await
    }

    /// `PATCH …/databases/{db}` (`update_database_settings`).
    pub async fn update_database_settings(
        &self,
        org: &str,
        db: &str,
        body: &UpdateDatabase,
    ) -> Result<Database> {
        let path = db_path(org, db, &[]);
        self.send(Request::new("update_database_settings", Method::PATCH, &path).json(body)?)
            .await
    }

    /// `DELETE …/databases/{db}` (204). Retried on transient errors, so a retry after a lost
    /// response may report [`crate::Error::NotFound`]: treat it as deleted.
    pub async fn delete_database(&self, org: &str, db: &str) -> Result<()> {
        let path = db_path(org, db, &[]);
        self.send_empty(Request::new("delete_database", Method::DELETE, &path))
            .await
    }
}
