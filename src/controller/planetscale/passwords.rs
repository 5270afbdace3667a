//! Passwords: the operations of the password controller.
use std::future::Future;

use planetscale_api::models::{CreatePassword, ListPasswords, Password, UpdatePassword};
use planetscale_api::{Client, Result};

/// The password operations of the reconciles.
pub trait PasswordOps: Send + Sync {
    /// Every password of the database, on every branch (all pages).
    fn list_database_passwords_all(
        &self,
        org: &str,
        db: &str,
    ) -> impl Future<Output = Result<Vec<Password>>> + Send;
    /// Every password of the branch that matches `filters` (all pages).
    fn list_passwords_all(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        filters: &ListPasswords,
    ) -> impl Future<Output = Result<Vec<Password>>> + Send;
    /// `GET …/branches/{branch}/passwords/{id}`.
    fn get_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
    ) -> impl Future<Output = Result<Password>> + Send;
    /// `POST …/branches/{branch}/passwords` (the response holds the plaintext).
    fn create_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        body: &CreatePassword,
    ) -> impl Future<Output = Result<Password>> + Send;
    /// `PATCH …/branches/{branch}/passwords/{id}`.
    fn update_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
        body: &UpdatePassword,
    ) -> impl Future<Output = Result<Password>> + Send;
    /// `POST …/branches/{branch}/passwords/{id}/renew`.
    fn renew_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
    ) -> impl Future<Output = Result<Password>> + Send;
    /// `DELETE …/branches/{branch}/passwords/{id}`.
    fn delete_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

impl PasswordOps for Client {
    async fn list_database_passwords_all(&self, org: &str, db: &str) -> Result<Vec<Password>> {
        Client::list_database_passwords_all(self, org, db, &ListPasswords::default()).await
    }
    async fn list_passwords_all(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        filters: &ListPasswords,
    ) -> Result<Vec<Password>> {
        Client::list_passwords_all(self, org, db, branch, filters).await
    }
    async fn get_password(&self, org: &str, db: &str, branch: &str, id: &str) -> Result<Password> {
        Client::get_password(self, org, db, branch, id).await
    }
    async fn create_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        body: &CreatePassword,
    ) -> Result<Password> {
        Client::create_password(self, org, db, branch, body).await
    }
    async fn update_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
        body: &UpdatePassword,
    ) -> Result<Password> {
        Client::update_password(self, org, db, branch, id, body).await
    }
    async fn renew_password(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
    ) -> Result<Password> {
        Client::renew_password(self, org, db, branch, id).await
    }
    async fn delete_password(&self, org: &str, db: &str, branch: &str, id: &str) -> Result<()> {
        Client::delete_password(self, org, db, branch, id).await
    }
}
