//! Backups: on-demand backups of a branch, their protection, deletion, and the lookups
//! a restore into a new branch needs.

use reqwest::Method;

use super::branch_path;
use crate::models::{Backup, CreateBackup, UpdateBackup};
use crate::pagination::{ListRequest, Paged};
use crate::request::Request;
use crate::{Client, Result};

impl Client {
    /// `GET …/branches/{branch}/backups/{id}`.
    pub async fn get_backup(&self, org: &str, db: &str, branch: &str, id: &str) -> Result<Backup> {
        let path = branch_path(org, db, branch, &["backups", id]);
        self.send(Request::new("get_backup", Method::GET, &path))
            .await
    }

    /// `GET …/branches/{branch}/backups`.
    pub fn list_backups(&self, org: &str, db: &str, branch: &str) -> Paged<Backup> {
        self.paginate(ListRequest::new(
            "list_backups",
            &branch_path(org, db, branch, &["backups"]),
        ))
    }

    /// Every backup of the branch.
    pub async fn list_backups_all(&self, org: &str, db: &str, branch: &str) -> Result<Vec<Backup>> {
        self.collect_all(ListRequest::new(
            "list_backups",
            &branch_path(org, db, branch, &["backups"]),
        ))
        .await
    }

    /// `POST …/branches/{branch}/backups` (201, `pending`). A create: not resent after a
    /// timeout or 5xx; on such an error, look for the backup by name before trying again.
    pub async fn create_backup(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        body: &CreateBackup,
    ) -> Result<Backup> {
        let path = branch_path(org, db, branch, &["backups"]);
        self.send(
            Request::new("create_backup", Method::POST, &path)
                .create()
                .json(body)?,
        )
        .await
    }

    /// `PATCH …/backups/{id}`: protect the backup from deletion, or not.
    pub async fn update_backup(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        id: &str,
        body: &UpdateBackup,
    ) -> Result<Backup> {
        let path = branch_path(org, db, branch, &["backups", id]);
        self.send(Request::new("update_backup", Method::PATCH, &path).json(body)?)
            .await
    }

    /// `DELETE …/backups/{id}` (204); a protected backup is refused (422). A retry after a
    /// lost response may report [`crate::Error::NotFound`]: treat it as deleted.
    pub async fn delete_backup(&self, org: &str, db: &str, branch: &str, id: &str) -> Result<()> {
        let path = branch_path(org, db, branch, &["backups", id]);
        self.send_empty(Request::new("delete_backup", Method::DELETE, &path))
            .await
    }
}
