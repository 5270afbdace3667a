//! Databases and branches: the operations of the branch controller, and the branch and
//! database lookups of the deploy-request and password controllers.
use std::future::Future;

use planetscale_api::models::{
    Branch, CreateBranch, CreatePostgresBranch, Database, ListBranches, UpdateBranch,
};
use planetscale_api::{Client, Result};

/// The database and branch operations of the reconciles.
pub trait BranchOps: Send + Sync {
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
    /// `POST …/branches` on a PostgreSQL database (point in time, major version).
    fn create_postgres_branch(
        &self,
        org: &str,
        db: &str,
        body: &CreatePostgresBranch,
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

impl BranchOps for Client {
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
    async fn create_postgres_branch(
        &self,
        org: &str,
        db: &str,
        body: &CreatePostgresBranch,
    ) -> Result<Branch> {
        Client::create_postgres_branch(self, org, db, body).await
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
