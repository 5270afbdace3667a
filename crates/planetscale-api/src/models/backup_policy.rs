//! Backup policies: the schedules on which PlanetScale backs up a database's production or
//! development branches, and how long it keeps those backups.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::RetentionUnit;
use super::de::or_default;

string_enum! {
    /// Which branches of the database a policy backs up.
    PolicyTarget {
        /// Production branches.
        Production = "production",
        /// Development branches.
        Development = "development",
    }
}

string_enum! {
    /// Unit of a policy's frequency.
    FrequencyUnit {
        /// Hours.
        Hour = "hour",
        /// Days.
        Day = "day",
        /// Weeks.
        Week = "week",
        /// Months.
        Month = "month",
    }
}

/// A backup policy of a database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupPolicy {
    /// Policy id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Policy name.
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// Name shown in the dashboard.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Which branches it backs up.
    #[serde(default)]
    pub target: Option<PolicyTarget>,
    /// Number of `retention_unit`s a backup is kept.
    #[serde(default)]
    pub retention_value: Option<i64>,
    /// Unit of the retention (the API answers a plain string).
    #[serde(default)]
    pub retention_unit: Option<RetentionUnit>,
    /// Number of `frequency_unit`s between two backups.
    #[serde(default)]
    pub frequency_value: Option<i64>,
    /// Unit of the frequency.
    #[serde(default)]
    pub frequency_unit: Option<FrequencyUnit>,
    /// Time of day, `HH:MM`.
    #[serde(default)]
    pub schedule_time: Option<String>,
    /// Day of the week, 0 (Sunday) to 6.
    #[serde(default)]
    pub schedule_day: Option<i64>,
    /// Week of the month, 0 to 3.
    #[serde(default)]
    pub schedule_week: Option<i64>,
    /// When it last ran.
    #[serde(default)]
    pub last_ran_at: Option<DateTime<Utc>>,
    /// When it runs next.
    #[serde(default)]
    pub next_run_at: Option<DateTime<Utc>>,
    /// A required system policy (cannot be deleted).
    #[serde(default)]
    pub required: Option<bool>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Body of `create_backup_policy` and `update_backup_policy` (an update sends only what
/// changes).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BackupPolicyBody {
    /// Policy name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Which branches it backs up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<PolicyTarget>,
    /// Number of `retention_unit`s a backup is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_value: Option<i64>,
    /// Unit of the retention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_unit: Option<RetentionUnit>,
    /// Number of `frequency_unit`s between two backups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_value: Option<i64>,
    /// Unit of the frequency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_unit: Option<FrequencyUnit>,
    /// Time of day, `HH:MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_time: Option<String>,
    /// Day of the week, 0 (Sunday) to 6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_day: Option<i64>,
    /// Week of the month, 0 to 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_week: Option<i64>,
}

impl BackupPolicyBody {
    /// Whether the body changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_with_nulls_decodes() {
        let json = r#"{"id":"p1","display_name":"Nightly","name":"nightly","target":"production",
            "retention_value":7,"retention_unit":"day","frequency_value":1,"frequency_unit":"day",
            "schedule_time":"02:00","schedule_day":null,"schedule_week":null,
            "created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z",
            "last_ran_at":null,"next_run_at":"2025-01-02T02:00:00Z","required":false}"#;
        let p: BackupPolicy = serde_json::from_str(json).unwrap();
        assert_eq!(p.target, Some(PolicyTarget::Production));
        assert_eq!(p.frequency_unit, Some(FrequencyUnit::Day));
        assert!(p.last_ran_at.is_none() && p.next_run_at.is_some());
    }

    #[test]
    fn an_update_sends_only_what_changes() {
        let body = BackupPolicyBody {
            retention_value: Some(14),
            ..BackupPolicyBody::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"retention_value": 14})
        );
        assert!(BackupPolicyBody::default().is_empty());
    }
}
