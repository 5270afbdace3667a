//! The pure part of the backup reconcile: from the spec, the last status and the backup as
//! PlanetScale has it (or its absence) to the steps to take.
use std::time::Duration;

use kube::ResourceExt;
use planetscale_api::models::{Backup, BackupState, CreateBackup, RetentionUnit};

use crate::controller::reconciler::Plan;
/// How a backup becomes the resource's in a pass (`Adopt`: `backupId` with `Manage`).
pub use crate::crd::Claim;
use crate::crd::ManagementPolicy;
use crate::crd::backup::{self, PlanetScaleBackup, PlanetScaleBackupStatus};

/// How often a pending or running backup is looked at again.
pub const PENDING_WAIT: Duration = Duration::from_secs(10);

/// One step of the backup reconcile, run in order by `act`.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Take the backup. The intent (`status.createRequestedAt`) is written before.
    Create(CreateBackup),
    /// The backup named by `backupId`, or the one taken earlier, is not in PlanetScale
    /// (`taken`: this resource took it; it expired or was deleted). Never taken again: a
    /// new backup is a new resource.
    Missing { taken: bool },
    /// The backup is ours (`None`), or becomes ours now: record it in status.
    Record(Option<Claim>),
    /// Set the backup's protection.
    Protect(bool),
}

/// The steps for what was seen. Pure.
pub fn plan(obj: &PlanetScaleBackup, backup: Option<&Backup>) -> Plan<Step> {
    let default = PlanetScaleBackupStatus::default();
    let status = obj.status.as_ref().unwrap_or(&default);
    let spec = &obj.spec;
    let observe = spec.management_policy == ManagementPolicy::Observe;
    let Some(b) = backup else {
        let taken = status.id.is_some();
        if taken || spec.backup_id.is_some() {
            return Plan::steps(vec![Step::Missing { taken }]);
        }
        return Plan::steps(vec![Step::Create(create_body(obj))]);
    };
    let claim = match () {
        () if status.id.as_deref() == Some(b.id.as_str()) => None,
        () if observe => Some(Claim::Observe),
        () if spec.backup_id.is_some() => Some(Claim::Adopt),
        () => Some(Claim::Record),
    };
    let mut steps = vec![Step::Record(claim)];
    if let Some(want) = spec.protected
        && !observe
        && b.protected != Some(want)
    {
        steps.push(Step::Protect(want));
    }
    let plan = Plan::steps(steps);
    match &b.state {
        Some(s) if s.is_terminal() => plan,
        _ => plan.requeue(PENDING_WAIT),
    }
}

/// The status to write before a planned create: `createRequestedAt` set, so that a backup
/// found after a crash right after the create call is recognised as ours. Pure but for the
/// clock.
pub fn intent(obj: &PlanetScaleBackup, plan: &Plan<Step>) -> Option<PlanetScaleBackupStatus> {
    let creates = plan.steps.iter().any(|s| matches!(s, Step::Create(_)));
    creates.then(|| PlanetScaleBackupStatus {
        create_requested_at: Some(crate::time::now()),
        ..obj.status.clone().unwrap_or_default()
    })
}

/// The create request.
pub fn create_body(obj: &PlanetScaleBackup) -> CreateBackup {
    let spec = &obj.spec;
    let retention = spec.retention.as_ref();
    CreateBackup {
        name: Some(spec.backup_name.clone().unwrap_or_else(|| obj.name_any())),
        retention_unit: retention.map(|r| retention_unit(r.unit)),
        retention_value: retention.map(|r| i64::from(r.value)),
        emergency: spec.emergency,
    }
}

/// The API's name of a retention unit.
pub fn retention_unit(unit: backup::RetentionUnit) -> RetentionUnit {
    match unit {
        backup::RetentionUnit::Hour => RetentionUnit::Hour,
        backup::RetentionUnit::Day => RetentionUnit::Day,
        backup::RetentionUnit::Week => RetentionUnit::Week,
        backup::RetentionUnit::Month => RetentionUnit::Month,
        backup::RetentionUnit::Year => RetentionUnit::Year,
    }
}

/// Whether a backup in `state` can be restored.
pub fn usable(state: Option<&BackupState>) -> bool {
    state.is_some_and(BackupState::is_restorable)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
