//! `DeployRequest`: a PlanetScale deploy request from a development branch into its base,
//! taken as far as the spec allows. The status types are in [`super::deploy_request_status`].
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::branch_target::BranchTarget;
use super::common::{
    ManagementPolicy, SecretRef, default_false, default_true, immutable_rule, plain_enum,
    presence_immutable_rule, ps_name_rule, spec_rule,
};
use super::deploy_request_status::DeployRequestStatus;

/// Condition types of a `DeployRequest`, besides the summary `Ready`.
///
/// `Ready` means "the request has gone as far as the spec asks" (docs/deploy-request.md):
/// - `deploy: false`: the checks passed (`ready`), or found nothing to deploy (`no_changes`);
/// - `deploy: true`: the schema change is applied (`complete_pending_revert` or `complete`).
///   With `autoApply: false` that needs `cutover: true`: until then `Ready` is `False` with
///   reason `AwaitingCutover`;
/// - `revert: true`: the revert completed (`complete_revert`).
///
/// A spec action that is not possible in the current state (`ActionNotAllowed`), a failure, a
/// missing approval or a blocked queue make `Ready` `False` with that reason.
pub mod condition {
    /// Deploy checks (diff and lint) passed.
    pub const CHECKS_PASSED: &str = "ChecksPassed";
    /// The request is approved (or the database does not require approval).
    pub const APPROVED: &str = "Approved";
    /// The deploy is in the deploy queue.
    pub const QUEUED: &str = "Queued";
    /// The deploy is running.
    pub const DEPLOYING: &str = "Deploying";
    /// A gated deploy waits for `cutover: true`.
    pub const AWAITING_CUTOVER: &str = "AwaitingCutover";
    /// The schema change is applied.
    pub const DEPLOYED: &str = "Deployed";
    /// The change can still be reverted (`revert: true`) until `status.revertWindowEndsAt`.
    pub const REVERT_WINDOW_OPEN: &str = "RevertWindowOpen";
    /// The deploy request or its deploy failed; the message says what unblocks it.
    pub const FAILED: &str = "Failed";
}

/// Reasons specific to `DeployRequest` conditions.
pub mod reason {
    /// Lint or deploy check errors; see `status.lintErrors` / `status.deployCheckErrors`.
    pub const CHECKS_FAILED: &str = "ChecksFailed";
    /// The branch has no schema changes against `intoBranch`.
    pub const NO_CHANGES: &str = "NoChanges";
    /// The database requires an approval that is missing (or was reset by a schema change).
    pub const AWAITING_APPROVAL: &str = "AwaitingApproval";
    /// An errored deploy blocks the database's deploy queue.
    pub const QUEUE_BLOCKED: &str = "QueueBlocked";
    /// A gated deploy waits for `cutover: true`.
    pub const AWAITING_CUTOVER: &str = "AwaitingCutover";
    /// The revert window is open.
    pub const REVERT_WINDOW_OPEN: &str = "RevertWindowOpen";
    /// `intoBranch` does not have safe migrations enabled.
    pub const SAFE_MIGRATIONS_REQUIRED: &str = "SafeMigrationsRequired";
    /// `intoBranch` does not exist.
    pub const BRANCH_NOT_FOUND: &str = "BranchNotFound";
    /// The deploy request `spec.number` names merges another branch than the spec's.
    pub const BRANCH_MISMATCH: &str = "BranchMismatch";
    /// The database is a PostgreSQL database: deploy requests are a Vitess (MySQL) feature.
    pub const NOT_SUPPORTED_FOR_ENGINE: &str = "NotSupportedForEngine";
    /// The action asked in the spec (cutover, revert, skipRevert) is not valid in the current
    /// deployment state.
    pub const ACTION_NOT_ALLOWED: &str = "ActionNotAllowed";
    /// An approval was dismissed because the branch schema changed after it.
    pub const APPROVAL_RESET: &str = "ApprovalReset";
    /// The identity of `approval.credentialsRef` could not approve the request.
    pub const APPROVAL_FAILED: &str = "ApprovalFailed";
    /// The database does not require an approval.
    pub const APPROVAL_NOT_REQUIRED: &str = "ApprovalNotRequired";
    /// The request is approved.
    pub const APPROVED: &str = "Approved";
    /// Deploy checks (diff, lint) are running.
    pub const CHECKS_RUNNING: &str = "ChecksRunning";
    /// Deploy checks passed.
    pub const CHECKS_PASSED: &str = "ChecksPassed";
    /// The deploy waits in the deploy queue.
    pub const QUEUED: &str = "Queued";
    /// Not in the deploy queue (not asked to deploy yet, or already past it).
    pub const NOT_QUEUED: &str = "NotQueued";
    /// Schema changes are running (including the cutover).
    pub const DEPLOYING: &str = "Deploying";
    /// A deploy or revert is being cancelled.
    pub const CANCELLING: &str = "Cancelling";
    /// The change is being reverted.
    pub const REVERTING: &str = "Reverting";
    /// Nothing is running.
    pub const IDLE: &str = "Idle";
    /// The schema change is applied to `intoBranch`.
    pub const DEPLOYED: &str = "Deployed";
    /// The schema change is not applied (yet).
    pub const NOT_DEPLOYED: &str = "NotDeployed";
    /// The schema change was reverted.
    pub const REVERTED: &str = "Reverted";
    /// The revert window is closed (or never opened).
    pub const REVERT_WINDOW_CLOSED: &str = "RevertWindowClosed";
    /// The deploy failed; it blocks the deploy queue until completed.
    pub const DEPLOY_FAILED: &str = "DeployFailed";
    /// The revert failed; it blocks the deploy queue until completed.
    pub const REVERT_FAILED: &str = "RevertFailed";
    /// Nothing failed.
    pub const NO_FAILURE: &str = "NoFailure";
    /// The deploy was cancelled (in PlanetScale, or by deleting a gated deploy).
    pub const CANCELLED: &str = "Cancelled";
    /// The deploy request was closed in PlanetScale without being deployed.
    pub const CLOSED: &str = "Closed";
    /// PlanetScale reported a deployment state this operator does not know.
    pub const UNKNOWN_STATE: &str = "UnknownState";
}

/// Second identity that approves the deploy request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, kube::KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// Secret (in this namespace) with the credentials of the approving identity. PlanetScale
    /// refuses self-approval, so it must differ from the identity that opens the request.
    pub credentials_ref: SecretRef,
}

/// A PlanetScale deploy request, opened from a branch into its base.
// The kube attributes repeat `type_`/`priority` per printer column by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, kube::KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "planetscale.operator.dev",
    version = "v1alpha1",
    kind = "DeployRequest",
    plural = "deployrequests",
    namespaced,
    status = "DeployRequestStatus",
    shortname = "psdr",
    category = "planetscale",
    derive = "PartialEq",
    doc = "A PlanetScale deploy request: a schema change from a branch into its base, taken as far as the spec allows.",
    printcolumn(name = "Number", type_ = "integer", json_path = ".status.number"),
    printcolumn(name = "Branch", type_ = "string", json_path = ".status.branch"),
    printcolumn(name = "Into", type_ = "string", json_path = ".status.intoBranch"),
    printcolumn(
        name = "Deployment",
        type_ = "string",
        json_path = ".status.deploymentState"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Database",
        type_ = "string",
        json_path = ".status.database",
        priority = 1
    ),
    printcolumn(
        name = "Policy",
        type_ = "string",
        json_path = ".spec.managementPolicy",
        priority = 1
    ),
    printcolumn(
        name = "URL",
        type_ = "string",
        json_path = ".status.htmlUrl",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = spec_rule(
        "!has(self.branch) || !has(self.intoBranch) || self.branch != self.intoBranch",
        "intoBranch must differ from branch: a deploy request merges a branch into another one")
        .field_path(".intoBranch"),
    validation = spec_rule("!(self.revert && self.skipRevert)",
        "revert and skipRevert cannot both be true: choose whether to undo the change or close the revert window")
        .field_path(".skipRevert"),
    validation = spec_rule("!self.cutover || !self.autoApply",
        "cutover applies a gated deploy: it needs autoApply: false (with autoApply: true the cutover is automatic)")
        .field_path(".cutover"),
    validation = spec_rule(
        "!has(self.approval) || !has(self.credentialsRef) || self.approval.credentialsRef.name != self.credentialsRef.name",
        "approval.credentialsRef must name a different Secret than credentialsRef: PlanetScale refuses self-approval")
        .field_path(".approval.credentialsRef"),
    validation = presence_immutable_rule("intoBranch", "one resource is one deploy request"),
    validation = spec_rule("self.managementPolicy != 'Observe' || has(self.number)",
        "managementPolicy: Observe needs number: the operator only reports an existing deploy request")
        .field_path(".number"),
    validation = spec_rule("!has(self.number) || self.managementPolicy == 'Observe' || self.adopt",
        "number names an existing deploy request: set adopt: true to take it over, or managementPolicy: Observe to only report it")
        .field_path(".adopt"),
    validation = spec_rule("self.managementPolicy != 'Observe' || !(self.deploy || self.cutover || self.revert || self.skipRevert || has(self.approval))",
        "deploy, cutover, revert, skipRevert and approval act on the deploy request: not allowed with managementPolicy: Observe, which never writes to PlanetScale")
        .field_path(".managementPolicy"),
)]
pub struct DeployRequestSpec {
    /// The branch with the schema change.
    #[serde(flatten)]
    pub target: BranchTarget,

    /// Branch to deploy into (it needs safe migrations). Default: the database's default
    /// branch. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(
        validation = ps_name_rule("intoBranch"),
        validation = immutable_rule("intoBranch", "one resource is one deploy request")
    )]
    pub into_branch: Option<String>,

    /// Notes shown on the deploy request (at most 10000 characters); sent when it is opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10000))]
    pub notes: Option<String>,

    /// Cut over automatically once the deploy is ready. Default true; with false the deploy
    /// waits in `pending_cutover` until `cutover: true`.
    #[serde(default = "default_true")]
    pub auto_apply: bool,

    /// Delete the branch in PlanetScale once the deploy completes. Default false.
    #[serde(default = "default_false")]
    pub auto_delete_branch: bool,

    /// false (default): open the deploy request and report its checks only. true: queue the
    /// deploy as soon as it is deployable (and approved, where the database requires it).
    #[serde(default = "default_false")]
    pub deploy: bool,

    /// With `autoApply: false`: true applies the deploy waiting in `pending_cutover`.
    /// Default false.
    #[serde(default = "default_false")]
    pub cutover: bool,

    /// true reverts the deployed change while the revert window is open. Default false.
    #[serde(default = "default_false")]
    pub revert: bool,

    /// true closes the revert window now, keeping the change. Default false.
    #[serde(default = "default_false")]
    pub skip_revert: bool,

    /// A second identity that approves the request (PlanetScale refuses self-approval), so
    /// that merging the GitOps pull request can be the approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,

    /// Number of an existing deploy request of this database (as in its dashboard URL) to
    /// adopt (`adopt: true`) or observe instead of opening one. It must merge the branch the
    /// spec names. Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    #[x_kube(validation = immutable_rule("number", "a resource stands for one deploy request for its whole life"))]
    pub number: Option<i64>,

    /// Take over the deploy request `number`, which this resource did not open (or only
    /// observed). Default false.
    #[serde(default = "default_false")]
    pub adopt: bool,

    /// `Manage` (default) opens (or adopts) the deploy request and takes it as far as the spec
    /// asks; `Observe` only reports deploy request `number` in status and never writes to
    /// PlanetScale (no approval, deploy, cutover, revert or close).
    #[serde(default)]
    #[schemars(schema_with = "plain_enum::<ManagementPolicy>")]
    pub management_policy: ManagementPolicy,

    /// Secret (in this namespace) with the PlanetScale credentials to use. Default: the
    /// operator's default credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretRef>,
}

/// The finalizer the deploy-request controller keeps while the request may need closing.
pub const FINALIZER: &str = "planetscale.operator.dev/deploy-request";

impl super::ManagedResource for DeployRequest {
    const KIND: &'static str = "DeployRequest";
    const FINALIZER: &'static str = FINALIZER;
    fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
        self.status.as_ref().map_or(&[], |s| &s.conditions)
    }
    /// Once a deploy request was opened or adopted, and managed (its deletion closes or
    /// cancels it).
    fn credentials_in_use(&self) -> Option<&str> {
        let s = self.status.as_ref();
        let opened = s.is_some_and(|s| s.number.is_some() || s.id.is_some())
            && self.spec.management_policy == ManagementPolicy::Manage;
        let r = self.spec.credentials_ref.as_ref();
        super::managed::in_use(&self.metadata, FINALIZER, r, opened)
    }
}
