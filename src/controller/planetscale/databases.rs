//! Databases themselves: the writes of the database controller (its reads are
//! [`super::BranchOps::get_database`]).
use std::future::Future;

use planetscale_api::models::{CreateDatabase, Database, UpdateDatabase};
use planetscale_api::{Client, Result};

/// The database writes of the reconciles.
pub trait DatabaseOps: Send + Sync {
    /// `POST …/databases`.
    fn create_database(
        &self,
        org: &str,
        body: &CreateDatabase,
    ) -> impl Future<Output = Result<Database>> + Send;
    /// `PATCH …/databases/{db}`.
    fn update_database_settings(
        &self,
        org: &str,
        db: &str,
        body: &UpdateDatabase,
    ) -> impl Future<Output = Result<Database>> + Send;
    /// `DELETE …/databases/{db}`.
    fn delete_database(&self, org: &str, db: &str) -> impl Future<Output = Result<()>> + Send;
}

impl DatabaseOps for Client {
    async fn create_database(&self, org: &str, body: &CreateDatabase) -> Result<Database> {
        Client::create_database(self, org, body).await
    }
    async fn update_database_settings(
        &self,
        org: &str,
        db: &str,
        body: &UpdateDatabase,
    ) -> Result<Database> {
        Client::update_database_settings(self, org, db, body).await
    }
    async fn delete_database(&self, org: &str, db: &str) -> Result<()> {
        Client::delete_database(self, org, db).await
    }
}
