//! Postgres roles: the credentials the password controller creates on PostgreSQL branches.
use std::future::Future;

use planetscale_api::models::{CreateRole, ListRoles, Role};
use planetscale_api::{Client, Result};

/// The role operations of the reconciles.
pub trait RoleOps: Send + Sync {
    /// Every role of the branch that matches `filters` (all pages).
    fn list_roles_all(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        filters: &ListRoles,
    ) -> impl Future<Output = Result<Vec<Role>>> + Send;
    /// `GET …/branches/{branch}/roles/{id}`.
    fn get_role(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
    ) -> impl Future<Output = Result<Role>> + Send;
    /// `POST …/branches/{branch}/roles` (the response holds the password).
    fn create_role(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        body: &CreateRole,
    ) -> impl Future<Output = Result<Role>> + Send;
    /// `POST …/roles/{id}/renew`.
    fn renew_role(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
    ) -> impl Future<Output = Result<Role>> + Send;
    /// `DELETE …/roles/{id}`, with `successor` taking over the objects it owns.
    fn delete_role(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
        successor: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
}

impl RoleOps for Client {
    async fn list_roles_all(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        filters: &ListRoles,
    ) -> Result<Vec<Role>> {
        Client::list_roles_all(self, org, db, branch, filters).await
    }
    async fn get_role(&self, org: &str, db: &str, branch: &str, id: &str) -> Result<Role> {
        Client::get_role(self, org, db, branch, id).await
    }
    async fn create_role(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        body: &CreateRole,
    ) -> Result<Role> {
        Client::create_role(self, org, db, branch, body).await
    }
    async fn renew_role(&self, org: &str, db: &str, branch: &str, id: &str) -> Result<Role> {
        Client::renew_role(self, org, db, branch, id).await
    }
    async fn delete_role(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
        successor: Option<&str>,
    ) -> Result<()> {
        Client::delete_role(self, org, db, branch, id, successor).await
    }
}
