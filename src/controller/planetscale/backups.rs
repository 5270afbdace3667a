//! Backups of a branch (the operations of the backup controller) and the backup policies of
//! a database (those of the database controller).
use std::future::Future;

use planetscale_api::models::{Backup, BackupPolicy, BackupPolicyBody, CreateBackup, UpdateBackup};
use planetscale_api::{Client, Result};

/// A branch: organization, database, branch name.
pub type BranchPath<'a> = (&'a str, &'a str, &'a str);

/// The backup operations of the reconciles.
pub trait BackupOps: Send + Sync {
    /// `GET …/backups/{id}`.
    fn get_backup(
        &self,
        b: BranchPath<'_>,
        id: &str,
    ) -> impl Future<Output = Result<Backup>> + Send;
    /// Every backup of the branch (all pages).
    fn list_backups_all(
        &self,
        b: BranchPath<'_>,
    ) -> impl Future<Output = Result<Vec<Backup>>> + Send;
    /// `POST …/backups`.
    fn create_backup(
        &self,
        b: BranchPath<'_>,
        body: &CreateBackup,
    ) -> impl Future<Output = Result<Backup>> + Send;
    /// `PATCH …/backups/{id}`.
    fn update_backup(
        &self,
        b: BranchPath<'_>,
        id: &str,
        body: &UpdateBackup,
    ) -> impl Future<Output = Result<Backup>> + Send;
    /// `DELETE …/backups/{id}`.
    fn delete_backup(&self, b: BranchPath<'_>, id: &str)
    -> impl Future<Output = Result<()>> + Send;
    /// Every backup policy of database `db` (all pages).
    fn list_backup_policies_all(
        &self,
        org: &str,
        db: &str,
    ) -> impl Future<Output = Result<Vec<BackupPolicy>>> + Send;
    /// `POST …/backup-policies`.
    fn create_backup_policy(
        &self,
        org: &str,
        db: &str,
        body: &BackupPolicyBody,
    ) -> impl Future<Output = Result<BackupPolicy>> + Send;
    /// `PATCH …/backup-policies/{id}`.
    fn update_backup_policy(
        &self,
        org: &str,
        db: &str,
        id: &str,
        body: &BackupPolicyBody,
    ) -> impl Future<Output = Result<BackupPolicy>> + Send;
    /// `DELETE …/backup-policies/{id}`.
    fn delete_backup_policy(
        &self,
        org: &str,
        db: &str,
        id: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

impl BackupOps for Client {
    async fn get_backup(&self, (o, d, b): BranchPath<'_>, id: &str) -> Result<Backup> {
        Client::get_backup(self, o, d, b, id).await
    }
    async fn list_backups_all(&self, (o, d, b): BranchPath<'_>) -> Result<Vec<Backup>> {
        Client::list_backups_all(self, o, d, b).await
    }
    async fn create_backup(
        &self,
        (o, d, b): BranchPath<'_>,
        body: &CreateBackup,
    ) -> Result<Backup> {
        Client::create_backup(self, o, d, b, body).await
    }
    async fn update_backup(
        &self,
        (o, d, b): BranchPath<'_>,
        id: &str,
        body: &UpdateBackup,
    ) -> Result<Backup> {
        Client::update_backup(self, o, d, b, id, body).await
    }
    async fn delete_backup(&self, (o, d, b): BranchPath<'_>, id: &str) -> Result<()> {
        Client::delete_backup(self, o, d, b, id).await
    }
    async fn list_backup_policies_all(&self, org: &str, db: &str) -> Result<Vec<BackupPolicy>> {
        Client::list_backup_policies_all(self, org, db).await
    }
    async fn create_backup_policy(
        &self,
        org: &str,
        db: &str,
        body: &BackupPolicyBody,
    ) -> Result<BackupPolicy> {
        Client::create_backup_policy(self, org, db, body).await
    }
    async fn update_backup_policy(
        &self,
        org: &str,
        db: &str,
        id: &str,
        body: &BackupPolicyBody,
    ) -> Result<BackupPolicy> {
        Client::update_backup_policy(self, org, db, id, body).await
    }
    async fn delete_backup_policy(&self, org: &str, db: &str, id: &str) -> Result<()> {
        Client::delete_backup_policy(self, org, db, id).await
    }
}
