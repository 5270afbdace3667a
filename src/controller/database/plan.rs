//! The pure part of the database reconcile: from the spec, the last status and the database
//! as PlanetScale has it (or its absence) to the steps to take.
use std::time::Duration;

use kube::ResourceExt;
use planetscale_api::models::{
    BackupPolicy, CreateDatabase, Database, DatabaseKind, UpdateDatabase,
};

use super::policies::{self, PolicyStep};
use crate::controller::reconciler::Plan;
use crate::crd::database::{
    DatabaseSettings, Engine, PlanetScaleDatabase, PlanetScaleDatabaseSpec,
    PlanetScaleDatabaseStatus,
};
use crate::crd::{ManagementPolicy, managed};

/// How often a database being created (or woken) is looked at again.
pub const PENDING_WAIT: Duration = Duration::from_secs(10);

/// One step of the database reconcile, run in order by `act`.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Create the database (`recreate`: it existed and was deleted outside Kubernetes). The
    /// intent (`status.createRequestedAt`) is written before, see [`intent`].
    Create {
        body: CreateDatabase,
        recreate: bool,
    },
    /// A database of that name exists that this resource did not create, and `adopt` is off.
    Refuse { existing_id: String },
    /// The database does not exist and cannot be created: observed only, or no
    /// `clusterSize` to create it with.
    Missing { observe: bool },
    /// The database is ours (`None`), or becomes ours now: record it in status.
    Record(Option<Claim>),
    /// The database is not ready yet: look again after [`PENDING_WAIT`].
    AwaitDatabase,
    /// Bring the settings in line with the spec.
    Update(UpdateDatabase),
    /// Create, change, delete or let go of one backup policy.
    Policy(PolicyStep),
}

/// How a database becomes the resource's in this pass: the rule every kind shares.
pub use crate::crd::managed::Claim;

/// The steps for what was seen (`policies`: the database's backup policies, when read).
/// Pure.
pub fn plan(
    obj: &PlanetScaleDatabase,
    database: Option<&Database>,
    policies: Option<&[BackupPolicy]>,
) -> Plan<Step> {
    let default = PlanetScaleDatabaseStatus::default();
    let status = obj.status.as_ref().unwrap_or(&default);
    let spec = &obj.spec;
    let observe = spec.management_policy == ManagementPolicy::Observe;
    let Some(db) = database else {
        return Plan::steps(vec![missing(obj, status, observe)]);
    };
    let recorded = managed::Recorded {
        id: status.id.as_deref(),
        create_requested: status.create_requested_at.is_some(),
        observed_only: status.observed_only == Some(true),
    };
    let Ok(claim) = managed::claim(recorded, &db.id, spec.management_policy, spec.adopt) else {
        let existing_id = db.id.clone();
        return Plan::steps(vec![Step::Refuse { existing_id }]);
    };
    let mut steps = vec![Step::Record(claim)];
    if !db.ready {
        steps.push(Step::AwaitDatabase);
        return Plan::steps(steps).requeue(PENDING_WAIT);
    }
    if !observe && let Some(settings) = &spec.settings {
        let update = settings_update(settings, db);
        if !update.is_empty() {
            steps.push(Step::Update(update));
        }
    }
    if !observe && let Some(have) = policies {
        let wanted = policies::steps(&spec.backup_policies, &status.backup_policies, have);
        steps.extend(wanted.into_iter().map(Step::Policy));
    }
    Plan::steps(steps)
}

/// A missing database: created, unless observed only or there is nothing to create it with.
fn missing(obj: &PlanetScaleDatabase, status: &PlanetScaleDatabaseStatus, observe: bool) -> Step {
    match &obj.spec.cluster_size {
        Some(size) if !observe => Step::Create {
            body: create_body(&obj.spec, &obj.name_any(), size),
            recreate: status.id.is_some(),
        },
        _ => Step::Missing { observe },
    }
}

/// The status to write before a planned create: `createRequestedAt` set, so that a database
/// found after a crash right after the create call is recognised as ours. Pure but for the
/// clock.
pub fn intent(obj: &PlanetScaleDatabase, plan: &Plan<Step>) -> Option<PlanetScaleDatabaseStatus> {
    let creates = plan.steps.iter().any(|s| matches!(s, Step::Create { .. }));
    creates.then(|| PlanetScaleDatabaseStatus {
        create_requested_at: Some(crate::time::now()),
        ..obj.status.clone().unwrap_or_default()
    })
}

/// The create request.
pub fn create_body(spec: &PlanetScaleDatabaseSpec, resource: &str, size: &str) -> CreateDatabase {
    CreateDatabase {
        name: spec.effective_name(resource).to_string(),
        region: spec.region.clone(),
        cluster_size: size.to_string(),
        replicas: spec.replicas.map(i64::from),
        kind: Some(match spec.engine {
            Some(Engine::Postgresql) => DatabaseKind::Postgresql,
            Some(Engine::Mysql) | None => DatabaseKind::Mysql,
        }),
        major_version: spec.postgres_major_version.clone(),
    }
}

/// The settings the spec names that differ in PlanetScale, as one update body (empty: all
/// in line).
pub fn settings_update(want: &DatabaseSettings, db: &Database) -> UpdateDatabase {
    fn differ<T: PartialEq + Clone>(want: Option<&T>, have: Option<&T>) -> Option<T> {
        want.filter(|w| have != Some(*w)).cloned()
    }
    UpdateDatabase {
        automatic_migrations: differ(
            want.automatic_migrations.as_ref(),
            db.automatic_migrations.as_ref(),
        ),
        migration_framework: differ(
            want.migration_framework.as_ref(),
            db.migration_framework.as_ref(),
        ),
        migration_table_name: differ(
            want.migration_table_name.as_ref(),
            db.migration_table_name.as_ref(),
        ),
        require_approval_for_deploy: differ(
            want.require_approval_for_deploy.as_ref(),
            db.require_approval_for_deploy.as_ref(),
        ),
        restrict_branch_region: differ(
            want.restrict_branch_region.as_ref(),
            db.restrict_branch_region.as_ref(),
        ),
        allow_data_branching: differ(
            want.allow_data_branching.as_ref(),
            db.allow_data_branching.as_ref(),
        ),
        allow_foreign_key_constraints: differ(
            want.allow_foreign_key_constraints.as_ref(),
            db.foreign_keys_enabled.as_ref(),
        ),
        insights_raw_queries: differ(
            want.insights_raw_queries.as_ref(),
            db.insights_raw_queries.as_ref(),
        ),
        deletion_protected: differ(
            want.deletion_protected.as_ref(),
            db.deletion_protected.as_ref(),
        ),
        production_branch_web_console: differ(
            want.production_branch_web_console.as_ref(),
            db.production_branch_web_console.as_ref(),
        ),
        default_branch: differ(want.default_branch.as_ref(), db.default_branch.as_ref()),
    }
}

/// The spec names (under `settings`) of what `u` changes, for events.
pub fn changed(u: &UpdateDatabase) -> Vec<&'static str> {
    let set = [
        (
            "requireApprovalForDeploy",
            u.require_approval_for_deploy.is_some(),
        ),
        ("allowDataBranching", u.allow_data_branching.is_some()),
        ("restrictBranchRegion", u.restrict_branch_region.is_some()),
        ("automaticMigrations", u.automatic_migrations.is_some()),
        ("migrationFramework", u.migration_framework.is_some()),
        ("migrationTableName", u.migration_table_name.is_some()),
        (
            "allowForeignKeyConstraints",
            u.allow_foreign_key_constraints.is_some(),
        ),
        ("insightsRawQueries", u.insights_raw_queries.is_some()),
        ("deletionProtected", u.deletion_protected.is_some()),
        (
            "productionBranchWebConsole",
            u.production_branch_web_console.is_some(),
        ),
        ("defaultBranch", u.default_branch.is_some()),
    ];
    set.into_iter()
        .filter(|(_, s)| *s)
        .map(|(n, _)| n)
        .collect()
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
