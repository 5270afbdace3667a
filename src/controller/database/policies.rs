//! The pure part of keeping a database's backup policies: from `spec.backupPolicies`, the
//! policies recorded in status and PlanetScale's list to the calls to make. Policies are
//! matched by name; only the ones the spec names or the status records (created or taken
//! over by this resource) are ever changed, and a required system policy is never deleted.
use planetscale_api::models::{
    BackupPolicy, BackupPolicyBody, FrequencyUnit as ApiFrequency, PolicyTarget as ApiTarget,
};

use crate::controller::backup::plan::retention_unit;
use crate::crd::backup_policy::{
    BackupPolicySpec, BackupPolicyStatus, FrequencyUnit, PolicyTarget,
};

/// One backup-policy call.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyStep {
    /// Create the policy (the body carries its name).
    Create(BackupPolicyBody),
    /// Bring policy `id` (named `name`) in line with the spec.
    Update {
        id: String,
        name: String,
        body: BackupPolicyBody,
    },
    /// The policy left the spec: delete it.
    Delete { id: String, name: String },
    /// A required policy left the spec: PlanetScale keeps it, the resource stops managing it.
    Release { name: String },
}

/// The calls that bring PlanetScale's policies (`have`) in line with `want`. Pure.
pub fn steps(
    want: &[BackupPolicySpec],
    recorded: &[BackupPolicyStatus],
    have: &[BackupPolicy],
) -> Vec<PolicyStep> {
    let mut out: Vec<PolicyStep> = want
        .iter()
        .filter_map(|w| match have.iter().find(|h| h.name == w.name) {
            None => Some(PolicyStep::Create(body(w))),
            Some(h) => {
                let body = update(w, h);
                (!body.is_empty()).then(|| PolicyStep::Update {
                    id: h.id.clone(),
                    name: h.name.clone(),
                    body,
                })
            }
        })
        .collect();
    for r in recorded
        .iter()
        .filter(|r| !want.iter().any(|w| w.name == r.name))
    {
        let found = have
            .iter()
            .find(|h| r.id.as_deref().map_or(h.name == r.name, |id| h.id == id));
        match found {
            Some(h) if h.required == Some(true) => out.push(PolicyStep::Release {
                name: r.name.clone(),
            }),
            Some(h) => out.push(PolicyStep::Delete {
                id: h.id.clone(),
                name: r.name.clone(),
            }),
            None => {}
        }
    }
    out
}

/// The create body of a policy.
pub fn body(w: &BackupPolicySpec) -> BackupPolicyBody {
    BackupPolicyBody {
        name: Some(w.name.clone()),
        target: Some(target(w.target)),
        retention_value: Some(i64::from(w.retention.value)),
        retention_unit: Some(retention_unit(w.retention.unit)),
        frequency_value: Some(i64::from(w.frequency.value)),
        frequency_unit: Some(frequency(w.frequency.unit)),
        schedule_time: w.schedule_time.clone(),
        schedule_day: w.schedule_day.map(i64::from),
        schedule_week: w.schedule_week.map(i64::from),
    }
}

/// What differs between the spec and PlanetScale's policy (fields the spec leaves unset are
/// left as they are).
pub fn update(w: &BackupPolicySpec, h: &BackupPolicy) -> BackupPolicyBody {
    fn differ<T: PartialEq>(want: Option<T>, have: Option<&T>) -> Option<T> {
        want.filter(|w| have != Some(w))
    }
    let all = body(w);
    BackupPolicyBody {
        name: None,
        target: differ(all.target, h.target.as_ref()),
        retention_value: differ(all.retention_value, h.retention_value.as_ref()),
        retention_unit: differ(all.retention_unit, h.retention_unit.as_ref()),
        frequency_value: differ(all.frequency_value, h.frequency_value.as_ref()),
        frequency_unit: differ(all.frequency_unit, h.frequency_unit.as_ref()),
        schedule_time: differ(all.schedule_time, h.schedule_time.as_ref()),
        schedule_day: differ(all.schedule_day, h.schedule_day.as_ref()),
        schedule_week: differ(all.schedule_week, h.schedule_week.as_ref()),
    }
}

fn target(t: PolicyTarget) -> ApiTarget {
    match t {
        PolicyTarget::Production => ApiTarget::Production,
        PolicyTarget::Development => ApiTarget::Development,
    }
}

fn frequency(u: FrequencyUnit) -> ApiFrequency {
    match u {
        FrequencyUnit::Hour => ApiFrequency::Hour,
        FrequencyUnit::Day => ApiFrequency::Day,
        FrequencyUnit::Week => ApiFrequency::Week,
        FrequencyUnit::Month => ApiFrequency::Month,
    }
}

/// The status of the policies the resource manages, from PlanetScale's list after the pass:
/// those the spec names, and those recorded that left the spec but are not deleted yet (a
/// deletion that failed is tried again). `created`: names created in this pass; a policy
/// neither recorded nor created was taken over. Pure.
pub fn status(
    want: &[BackupPolicySpec],
    recorded: &[BackupPolicyStatus],
    have: &[BackupPolicy],
    created: &[String],
) -> Vec<BackupPolicyStatus> {
    let named = want.iter().filter_map(|w| {
        let h = have.iter().find(|h| h.name == w.name)?;
        let before = recorded.iter().find(|r| r.name == w.name);
        let adopted = before
            .and_then(|r| r.adopted)
            .unwrap_or(!created.contains(&w.name));
        Some(entry(h, adopted))
    });
    let leaving = recorded
        .iter()
        .filter(|r| !want.iter().any(|w| w.name == r.name))
        .filter_map(|r| {
            let h = have.iter().find(|h| Some(&h.id) == r.id.as_ref())?;
            (h.required != Some(true)).then(|| entry(h, r.adopted.unwrap_or(false)))
        });
    named.chain(leaving).collect()
}

fn entry(h: &BackupPolicy, adopted: bool) -> BackupPolicyStatus {
    BackupPolicyStatus {
        name: h.name.clone(),
        id: Some(h.id.clone()),
        adopted: Some(adopted),
        required: h.required,
        last_ran_at: h.last_ran_at.map(crate::time::to_time),
        next_run_at: h.next_run_at.map(crate::time::to_time),
    }
}

#[cfg(test)]
#[path = "policies_tests.rs"]
mod tests;
