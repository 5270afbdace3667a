//! The custom resources as [`Kind`]s of the skeleton: their status and its conditions,
//! where every pass sets the kstatus conditions ([`crate::crd::kstatus`]).
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::Kind;
use crate::error::Error;

/// Sets `Reconciling` and `Stalled` in `status`, the new status of `obj` after a pass that
/// ended with `error` (if any): an error that retrying will not fix is a stall.
pub(super) fn set_kstatus<K: Kind>(obj: &K, status: &mut K::Status, error: Option<&Error>) {
    let terminal = error
        .filter(|e| !e.is_transient())
        .map(|e| (e.reason(), e.to_string()));
    let terminal = terminal.as_ref().map(|(r, m)| (*r, m.as_str()));
    let generation = obj.meta().generation;
    let conditions = K::conditions_mut(status);
    crate::crd::kstatus::set_kstatus(conditions, generation, terminal, crate::time::now());
}

/// `Kind` for a custom resource whose status has `conditions` and `observedGeneration`, as
/// every one of ours does.
macro_rules! kind {
    ($kind:ty, $status:ty) => {
        impl Kind for $kind {
            type Status = $status;
            fn current_status(&self) -> Option<&Self::Status> {
                self.status.as_ref()
            }
            fn conditions_mut(status: &mut Self::Status) -> &mut Vec<Condition> {
                &mut status.conditions
            }
            fn observed_generation_mut(status: &mut Self::Status) -> &mut Option<i64> {
                &mut status.observed_generation
            }
        }
    };
}

kind!(
    crate::crd::PlanetScaleBranch,
    crate::crd::branch::PlanetScaleBranchStatus
);
kind!(
    crate::crd::PlanetScalePassword,
    crate::crd::password::PlanetScalePasswordStatus
);
kind!(crate::crd::DeployRequest, crate::crd::DeployRequestStatus);
kind!(
    crate::crd::PlanetScaleDatabase,
    crate::crd::database::PlanetScaleDatabaseStatus
);
kind!(
    crate::crd::PlanetScaleBackup,
    crate::crd::backup::PlanetScaleBackupStatus
);
