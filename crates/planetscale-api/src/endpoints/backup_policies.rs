//! Backup policies of a database: the schedules PlanetScale backs its branches up on.

use reqwest::Method;

use super::db_path;
use crate::models::{BackupPolicy, BackupPolicyBody};
use crate::pagination::ListRequest;
use crate::request::Request;
use crate::{Client, Result};

impl Client {
    /// Every backup policy of the database (`list_backup_policies`, all pages).
    pub async fn list_backup_policies_all(&self, org: &str, db: &str) -> Result<Vec<BackupPolicy>> {
        self.collect_all(ListRequest::new(
            "list_backup_policies",
            &db_path(org, db, &["backup-policies"]),
        ))
        .await
    }

    /// `GET …/backup-policies/{id}`.
    pub async fn get_backup_policy(&self, org: &str, db: &str, id: &str) -> Result<BackupPolicy> {
        let path = db_path(org, db, &["backup-policies", id]);
        self.send(Request::new("get_backup_policy", Method::GET, &path))
            .await
    }

    /// `POST …/backup-policies` (201). A create: not resent after a timeout or 5xx; on such
    /// an error, look for the policy by name before trying again.
    pub async fn create_backup_policy(
        &self,
        org: &str,
        db: &str,
        body: &BackupPolicyBody,
    ) -> Result<BackupPolicy> {
        let path = db_path(org, db, &["backup-policies"]);
        self.send(
            Request::new("create_backup_policy", Method::POST, &path)
                .create()
                .json(body)?,
        )
        .await
    }

    /// `PATCH …/backup-policies/{id}` with the fields that change.
    pub async fn update_backup_policy(
        &self,
        org: &str,
        db: &str,
        id: &str,
        body: &BackupPolicyBody,
    ) -> Result<BackupPolicy> {
        let path = db_path(org, db, &["backup-policies", id]);
        self.send(Request::new("update_backup_policy", Method::PATCH, &path).json(body)?)
            .await
    }

    /// `DELETE …/backup-policies/{id}` (204). A retry after a lost response may report
    /// [`crate::Error::NotFound`]: treat it as deleted.
    pub async fn delete_backup_policy(&self, org: &str, db: &str, id: &str) -> Result<()> {
        let path = db_path(org, db, &["backup-policies", id]);
        self.send_empty(Request::new("delete_backup_policy", Method::DELETE, &path))
            .await
    }
}
