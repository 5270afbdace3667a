//! Backups (read-only here: enough to restore one into a new branch).

use reqwest::Method;

use super::branch_path;
use crate::models::Backup;
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
}
