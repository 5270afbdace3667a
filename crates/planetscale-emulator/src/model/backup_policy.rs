//! Backup policies: the schedule on which a database's production or development branches
//! are backed up, and how long those backups are kept.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// A backup policy: which branches of a database are backed up how often, kept how long.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupPolicy {
    /// Public id.
    pub id: String,
    /// Database id.
    pub db_id: String,
    /// Name.
    pub name: String,
    /// `production` or `development` branches.
    pub target: String,
    /// Retention: number of `retention_unit`s.
    pub retention_value: i64,
    /// Retention unit: hour, day, week, month, year.
    pub retention_unit: String,
    /// Frequency: number of `frequency_unit`s.
    pub frequency_value: i64,
    /// Frequency unit: hour, day, week, month.
    pub frequency_unit: String,
    /// Time of day, `HH:MM` (UTC).
    pub schedule_time: String,
    /// Day of the week (0 = Sunday), for weekly and monthly policies.
    pub schedule_day: Option<i64>,
    /// Week of the month (0 to 3), for monthly policies.
    pub schedule_week: Option<i64>,
    /// A required system policy: cannot be deleted.
    pub required: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Last run.
    pub last_ran_at: Option<DateTime<Utc>>,
    /// Next run.
    pub next_run_at: DateTime<Utc>,
}

/// Length of one `unit` (hour, day, week, month = 30 days, year = 365 days).
pub fn unit_length(unit: &str) -> Option<Duration> {
    Some(match unit {
        "hour" => Duration::hours(1),
        "day" => Duration::days(1),
        "week" => Duration::weeks(1),
        "month" => Duration::days(30),
        "year" => Duration::days(365),
        _ => return None,
    })
}

impl BackupPolicy {
    /// Time between two runs.
    pub fn interval(&self) -> Duration {
        unit_length(&self.frequency_unit).unwrap_or(Duration::days(1))
            * i32::try_from(self.frequency_value.clamp(1, 1000)).unwrap_or(1)
    }

    /// How long a backup it takes is kept.
    pub fn retention(&self) -> Duration {
        unit_length(&self.retention_unit).unwrap_or(Duration::days(1))
            * i32::try_from(self.retention_value.clamp(1, 1000)).unwrap_or(1)
    }

    /// Whether a branch (`production` or not) is one this policy backs up.
    pub fn covers(&self, production: bool) -> bool {
        (self.target == "production") == production
    }

    /// The first run after `from`: hourly policies at the next `MM` minute, daily ones at the
    /// next `HH:MM`, weekly and monthly ones at `HH:MM` of the next `schedule_day`.
    pub fn first_run_after(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        let time = NaiveTime::parse_from_str(&self.schedule_time, "%H:%M").unwrap_or_default();
        if self.frequency_unit == "hour" {
            let start = from
                .with_minute(time.minute())
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(from);
            return if start > from {
                start
            } else {
                start + Duration::hours(1)
            };
        }
        let mut day = from.date_naive().and_time(time).and_utc();
        if day <= from {
            day += Duration::days(1);
        }
        if let Some(want) = self.schedule_day.filter(|_| self.frequency_unit != "day") {
            while i64::from(day.weekday().num_days_from_sunday()) != want.rem_euclid(7) {
                day += Duration::days(1);
            }
        }
        day
    }
}

/// Runs every policy due by `now` (a backup of each branch it covers per run, on the run's
/// time), then drops the unprotected backups whose retention ran out.
pub fn advance(w: &mut super::World, backup_duration: std::time::Duration, now: DateTime<Utc>) {
    let duration = Duration::from_std(backup_duration).unwrap_or_default();
    for i in 0..w.backup_policies.len() {
        while w.backup_policies[i].next_run_at <= now {
            let at = w.backup_policies[i].next_run_at;
            run(w, i, at, duration);
            let p = &mut w.backup_policies[i];
            p.last_ran_at = Some(at);
            p.next_run_at = at + p.interval();
        }
    }
    w.backups
        .retain(|b| b.protected || b.expires_at.is_none_or(|e| e > now));
}

/// One run of policy `i` at `at`.
fn run(w: &mut super::World, i: usize, at: DateTime<Utc>, duration: Duration) {
    let p = &w.backup_policies[i];
    let expires_at = at + p.retention();
    let new: Vec<super::Backup> = w
        .branches
        .iter()
        .filter(|b| b.db_id == p.db_id && p.covers(b.production))
        .map(|b| super::Backup {
            id: crate::ids::new_id(),
            branch_id: b.id.clone(),
            db_id: b.db_id.clone(),
            name: format!("{}-{}-{}", p.name, b.name, at.format("%Y-%m-%d-%H%M")),
            created_at: at,
            started_at: at + duration / 2,
            completed_at: at + duration,
            expires_at: Some(expires_at),
            protected: false,
            schema: b.schema.clone(),
            actor: None,
            policy_id: Some(p.id.clone()),
        })
        .collect();
    w.backups.extend(new);
}
