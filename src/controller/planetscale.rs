//! The PlanetScale operations the controllers make, as a trait implemented by
//! [`planetscale_api::Client`].
//!
//! Reconcile code takes `&impl PlanetScale` rather than the client, so that its use of the
//! API is one list (this file) and a step can be run against another implementation. The
//! methods return `impl Future + Send` (native async in traits): no allocation per call and
//! no macro crate; the price is that the trait is not object-safe, which nothing needs (every
//! reconcile gets one concrete client from the credentials store).
//!
//! A kind that needs another operation adds it here, with a one-line delegation in the impl.
use std::future::Future;

use planetscale_api::models::{Branch, CreateBranch, Database, ListBranches, UpdateBranch};
use planetscale_api::{Client, Result};

/// The PlanetScale operations of the reconciles.
pub trait PlanetScale: Send + Sync {
    /// `GET …/databases/{db}`.
    fn get_database(&self, org: &str, db: &str) -> impl Future<Output = Result<Database>> + Send;
    /// `GET …/branches/{branch}`.
    fn get_branch(
        &self,
        org: &str,
        db: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Branch>> + Send;
    /// Every branch of the database (all pages).
    fn list_branches_all(
        &self,
        org: &str,
        db: &str,
    ) -> impl Future<Output = Result<Vec<Branch>>> + Send;
    /// `POST …/branches`.
    fn create_branch(
        &self,
        org: &str,
        db: &str,
        body: &CreateBranch,
    ) -> impl Future<Output = Result<Branch>> + Send;
    /// `PATCH …/branches/{branch}`.
    fn update_branch(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        body: &UpdateBranch,
    ) -> impl Future<Output = Result<Branch>> + Send;
    /// `DELETE …/branches/{branch}`.
    fn delete_branch(
        &self,
        org: &str,
        db: &str,
        branch: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// `POST …/branches/{branch}/promote`.
    fn promote_branch(
        &self,
        org: &str,
        db: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Branch>> + Send;
    /// `POST …/branches/{branch}/demote`.
    fn demote_branch(
        &self,
        org: &str,
        db: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Branch>> + Send;
    /// `POST …/branches/{branch}/safe-migrations`.
    fn enable_safe_migrations(
        &self,
        org: &str,
        db: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Branch>> + Send;
    /// `DELETE …/branches/{branch}/safe-migrations`.
    fn disable_safe_migrations(
        &self,
        org: &str,
        db: &str,
        branch: &str,
    ) -> impl Future<Output = Result<Branch>> + Send;
}

impl PlanetScale for Client {
    async fn get_database(&self, org: &str, db: &str) -> Result<Database> {
        Client::get_database(self, org, db).await
    }
    async fn get_branch(&self, org: &str, db: &str, branch: &str) -> Result<Branch> {
        Client::get_branch(self, org, db, branch).await
    }
    async fn list_branches_all(&self, org: &str, db: &str) -> Result<Vec<Branch>> {
        Client::list_branches_all(self, org, db, &ListBranches::default()).await
    }
    async fn create_branch(&self, org: &str, db: &str, body: &CreateBranch) -> Result<Branch> {
        Client::create_branch(self, org, db, body).await
    }
    async fn update_branch(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        body: &UpdateBranch,
    ) -> Result<Branch> {
        Client::update_branch(self, org, db, branch, body).await
    }
    async fn delete_branch(&self, org: &str, db: &str, branch: &str) -> Result<()> {
        Client::delete_branch(self, org, db, branch).await
    }
    async fn promote_branch(&self, org: &str, db: &str, branch: &str) -> Result<Branch> {
        Client::promote_branch(self, org, db, branch).await
    }
    async fn demote_branch(&self, org: &str, db: &str, branch: &str) -> Result<Branch> {
        Client::demote_branch(self, org, db, branch).await
    }
    async fn enable_safe_migrations(&self, org: &str, db: &str, branch: &str) -> Result<Branch> {
        Client::enable_safe_migrations(self, org, db, branch).await
    }
    async fn disable_safe_migrations(&self, org: &str, db: &str, branch: &str) -> Result<Branch> {
        Client::disable_safe_migrations(self, org, db, branch).await
    }
}
