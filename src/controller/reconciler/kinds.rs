//! The custom resources as [`Kind`]s of the skeleton: their status and its conditions,
//! where every pass sets the kstatus conditions ([`crate::crd::kstatus`]).
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::{Kind, Note, Report};
use crate::controller::context::Context;
use crate::crd::conditions::{find_condition, new_condition, set_condition};
use crate::error::Error;

/// The condition that shows a failed OAuth token write-back to the resource's credentials.
pub const CREDENTIALS_WRITE_BACK: &str = "CredentialsWriteBack";

/// Sets `CredentialsWriteBack` in the new status of `obj`: `False` (and a Warning event when
/// it turns so) while the last write-back of refreshed OAuth tokens to its credentials Secret
/// failed, `True` again once a later one succeeded; absent when none ever failed.
pub(super) fn set_write_back<K: Kind>(ctx: &Context, obj: &K, report: &mut Report<K::Status>) {
    let req = obj.request();
    let store = &ctx.credentials;
    let failure = store.write_backs().failure_for(
        store.defaults(),
        &req.namespace,
        req.credentials.as_deref(),
    );
    let before = find_condition(obj.conditions(), CREDENTIALS_WRITE_BACK);
    let was_failing = before.is_some_and(|c| c.status == "False");
    let (condition, event) = match failure {
        Some(message) => {
            let c = new_condition(
                CREDENTIALS_WRITE_BACK,
                false,
                "WriteBackFailed",
                message.clone(),
                crate::time::now(),
            );
            (
                c,
                (!was_failing).then(|| Note::warning("WriteBackFailed", "WriteBack", message)),
            )
        }
        None if before.is_some() => {
            let message = "refreshed OAuth tokens are written back to the credentials Secret";
            let c = new_condition(
                CREDENTIALS_WRITE_BACK,
                true,
                "WriteBackSucceeded",
                message,
                crate::time::now(),
            );
            (
                c,
                was_failing
                    .then(|| Note::normal("WriteBackSucceeded", "WriteBack", message.into())),
            )
        }
        None => return,
    };
    let generation = obj.meta().generation;
    set_condition(K::conditions_mut(&mut report.status), condition, generation);
    report.events.extend(event);
}

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
