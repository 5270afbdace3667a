//! Deploy requests, deployments, operations and reviews.

use serde_json::{Value, json};

use super::{V, actor, html_escape};
use crate::deploy::is_instant_eligible;
use crate::ids::{ts, ts_opt};
use crate::model::{DeployOp, DeployRequest, DeployState, Review};

/// Operation state derived from the deployment state.
fn op_state(state: DeployState) -> &'static str {
    use DeployState::*;
    match state {
        Pending | Ready | NoChanges | Error => "pending",
        Queued => "queued",
        Submitting | InProgress | InProgressVschema | PendingCutover | InProgressCutover => {
            "in_progress"
        }
        Cancelled | CompleteCancel | InProgressCancel => "cancelled",
        CompleteError | CompleteRevertError => "error",
        Complete
        | CompletePendingRevert
        | InProgressRevert
        | InProgressRevertVschema
        | CompleteRevert => "complete",
    }
}

impl V<'_> {
    /// Deploy operation object.
    pub fn deploy_operation(&self, r: &DeployRequest, op: &DeployOp) -> Value {
        let state = op_state(r.deployment.state);
        let progress = match state {
            "complete" => Some(100.0),
            "in_progress" if r.deployment.state == DeployState::PendingCutover => Some(100.0),
            "in_progress" => Some(50.0),
            _ => None,
        };
        json!({
            "id": op.id, "type": "DeployOperation", "state": state, "keyspace_name": self.keyspace(r),
            "table_name": op.change.table, "operation_name": op.change.kind.name(),
            "eta_seconds": progress.map(|p: f64| if p >= 100.0 { 0.0 } else { 5.0 }),
            "progress_percentage": progress, "deploy_error_docs_url": null,
            "ddl_statement": op.change.ddl, "syntax_highlighted_ddl": html_escape(&op.change.ddl),
            "created_at": ts(r.deployment.created_at), "updated_at": ts(r.deployment.updated_at),
            "throttled_at": null, "can_drop_data": op.change.kind == crate::schema::OpKind::Drop,
            "table_locked": false, "table_recently_used": false, "table_recently_used_at": null,
            "removed_foreign_key_names": [], "deploy_errors": op.deploy_errors,
        })
    }

    fn keyspace(&self, r: &DeployRequest) -> String {
        self.w
            .db_by_id(&r.db_id)
            .map(|d| d.name.clone())
            .unwrap_or_default()
    }

    fn preceding(&self, r: &DeployRequest) -> Vec<Value> {
        if r.deployment.state != DeployState::Queued {
            return Vec::new();
        }
        self.w
            .deploy_requests
            .iter()
            .filter(|o| o.into_branch_id == r.into_branch_id && o.number != r.number)
            .filter(|o| {
                o.deployment.state.holds_queue()
                    || (o.deployment.state == DeployState::Queued && o.deployment.queued_at < r.deployment.queued_at)
            })
            .map(|o| json!({"id": o.deployment.id, "deploy_request_number": o.number, "state": o.deployment.state.as_str()}))
            .collect()
    }

    /// Deployment object.
    pub fn deployment(&self, r: &DeployRequest) -> Value {
        let d = &r.deployment;
        let blocked = self.w.deploy_requests.iter().any(|o| {
            o.into_branch_id == r.into_branch_id
                && matches!(
                    o.deployment.state,
                    DeployState::CompleteError | DeployState::CompleteRevertError
                )
        });
        json!({
            "id": d.id, "type": "Deployment", "state": d.state.as_str(), "auto_cutover": d.auto_cutover,
            "auto_delete_branch": d.auto_delete_branch, "created_at": ts(d.created_at),
            "cutover_at": ts_opt(d.cutover_at), "cutover_expiring": false,
            "deploy_check_errors": d.deploy_check_errors, "finished_at": ts_opt(d.finished_at),
            "force_cutover_requested_at": ts_opt(d.force_cutover_requested_at),
            "queued_at": ts_opt(d.queued_at), "ready_to_cutover_at": ts_opt(d.ready_to_cutover_at),
            "started_at": ts_opt(d.started_at), "submitted_at": ts_opt(d.submitted_at),
            "updated_at": ts(d.updated_at), "into_branch": r.into_branch,
            "deploy_request_number": r.number, "deployable": d.state.deployable() && r.is_open(),
            "preceding_deployments": self.preceding(r),
            "deploy_operations": d.operations.iter().map(|o| self.deploy_operation(r, o)).collect::<Vec<_>>(),
            "deploy_operation_summaries": [],
            "lint_errors": d.lint_errors.iter().map(super::core::lint).collect::<Vec<_>>(),
            "sequential_diff_dependencies": [], "lookup_vindex_operations": [],
            "throttler_configurations": null, "deployment_revert_request": null,
            "actor": actor(d.actor.as_ref()), "cutover_actor": actor(d.cutover_actor.as_ref()),
            "cancelled_actor": actor(d.cancelled_actor.as_ref()),
            "schema_last_updated_at": ts_opt(self.w.branch_by_id(&r.branch_id).and_then(|b| b.schema_last_updated_at)),
            "table_locked": false, "locked_table_name": null, "instant_ddl": d.instant_ddl,
            "instant_ddl_eligible": is_instant_eligible(r), "queue_paused": blocked,
            "queue_pause_reason": blocked.then_some("A deployment in the queue errored; complete it to unblock the queue"),
        })
    }

    /// Deploy request object.
    pub fn deploy_request(&self, r: &DeployRequest) -> Value {
        let db = self
            .w
            .db_by_id(&r.db_id)
            .expect("deploy request has a database");
        let org = &self.w.org_of(db).name;
        let into = self.w.branch_by_id(&r.into_branch_id);
        json!({
            "id": r.id, "type": "DeployRequest", "number": r.number, "actor": actor(Some(&r.actor)),
            "closed_by": actor(r.closed_by.as_ref()), "branch": r.branch, "branch_id": r.branch_id,
            "branch_deleted": r.branch_deleted, "branch_deleted_by": actor(r.branch_deleted_by.as_ref()),
            "branch_deleted_at": ts_opt(r.branch_deleted_at), "into_branch": r.into_branch,
            "into_branch_sharded": false, "into_branch_shard_count": 1,
            "into_branch_keyspace_count": into.map_or(1, |_| 1), "approved": r.approved, "state": r.state,
            "deployment_state": r.deployment.state.as_str(), "deployment": self.deployment(r),
            "num_comments": r.reviews.iter().filter(|v| v.state == "commented").count(),
            "html_url": format!("https://app.planetscale.com/{org}/{}/deploy-requests/{}", db.name, r.number),
            "notes": r.notes, "html_body": format!("<p>{}</p>", html_escape(&r.notes)),
            "created_at": ts(r.created_at), "updated_at": ts(r.updated_at),
            "closed_at": ts_opt(r.closed_at), "deployed_at": ts_opt(r.deployed_at),
        })
    }

    /// Review object.
    pub fn review(&self, r: &Review) -> Value {
        json!({
            "id": r.id, "type": "DeployRequestReview", "body": r.body,
            "html_body": format!("<p>{}</p>", html_escape(&r.body)), "state": r.state,
            "created_at": ts(r.created_at), "updated_at": ts(r.created_at), "actor": actor(Some(&r.actor)),
        })
    }
}
