//! Backups (restored into new branches with `CreateBranch::backup_id`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de::or_default;
use super::{Actor, ResourceRef};

string_enum! {
    /// Lifecycle state of a backup.
    BackupState {
        /// Scheduled.
        Pending = "pending",
        /// Being taken.
        Running = "running",
        /// Finished; can be restored.
        Success = "success",
        /// Failed.
        Failed = "failed",
        /// Cancelled.
        Canceled = "canceled",
        /// Skipped.
        Ignored = "ignored",
    }
}

impl BackupState {
    /// Whether the backup can be restored into a branch.
    pub fn is_restorable(&self) -> bool {
        matches!(self, BackupState::Success)
    }

    /// Whether the backup will not change state any more.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            BackupState::Success
                | BackupState::Failed
                | BackupState::Canceled
                | BackupState::Ignored
        )
    }
}

/// A branch backup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Backup {
    /// Backup id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Backup name.
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// Lifecycle state.
    #[serde(default)]
    pub state: Option<BackupState>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Whether the backup is protected from deletion.
    #[serde(default)]
    pub protected: Option<bool>,
    /// Whether the backup is required by a policy.
    #[serde(default)]
    pub required: Option<bool>,
    /// The branch it was taken from.
    #[serde(default)]
    pub database_branch: Option<ResourceRef>,
    /// Who took it.
    #[serde(default)]
    pub actor: Option<Actor>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Start time.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// Completion time.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// Expiry time.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

string_enum! {
    /// Unit of a backup's retention period.
    RetentionUnit {
        /// Hours.
        Hour = "hour",
        /// Days.
        Day = "day",
        /// Weeks.
        Week = "week",
        /// Months.
        Month = "month",
        /// Years.
        Year = "year",
    }
}

/// Body of `POST …/branches/{branch}/backups` (`create_backup`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateBackup {
    /// Backup name (server default: derived from the branch and the time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unit of the retention period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_unit: Option<RetentionUnit>,
    /// 1 to 1000 `retention_unit`s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_value: Option<i64>,
    /// An immediate backup that may affect performance (PostgreSQL only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergency: Option<bool>,
}

/// Body of `PATCH …/backups/{id}` (`update_backup`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateBackup {
    /// Protect the backup from deletion.
    pub protected: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_with_policy_and_nulls() {
        let json = r#"{"id":"bk1","name":"2023-10-25","state":"success","size":1024,
            "uncompressed_size":4096,"estimated_storage_cost":"0.01","protected":false,
            "required":true,"restored_branches":[],"actor":null,"backup_policy":{"id":"p"},
            "database_branch":{"id":"b1","name":"main","created_at":"2023-10-25T16:54:12.879Z",
            "updated_at":"2023-10-25T16:54:12.879Z","deleted_at":null},"started_at":null,
            "completed_at":"2023-10-25T17:00:00.000Z"}"#;
        let backup: Backup = serde_json::from_str(json).unwrap();
        assert!(backup.state.as_ref().unwrap().is_restorable());
        assert_eq!(backup.database_branch.unwrap().name, "main");
    }

    #[test]
    fn a_backup_with_an_unknown_state_keeps_it() {
        let backup: Backup =
            serde_json::from_str(r#"{"id":"b","name":"n","state":"archived"}"#).unwrap();
        assert_eq!(backup.state, Some(BackupState::Unknown("archived".into())));
        let state = backup.state.unwrap();
        assert!(!state.is_terminal() && !state.is_restorable());
        assert_eq!(serde_json::to_value(&state).unwrap(), "archived");
    }

    #[test]
    fn backup_state_helpers() {
        assert!(!BackupState::Running.is_terminal());
        assert!(BackupState::Failed.is_terminal());
        assert!(!BackupState::Failed.is_restorable());
        assert!(!BackupState::Unknown("archived".into()).is_terminal());
    }
}
