//! Deploy requests and their reviews.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de::or_default;
use super::{Actor, Deployment, DeploymentState};

string_enum! {
    /// Whether a deploy request is open.
    DeployRequestState {
        /// Open.
        Open = "open",
        /// Closed (by a user, or after a completed or reverted deploy).
        Closed = "closed",
    }
}

string_enum! {
    /// Kind of review.
    ReviewState {
        /// A comment.
        Commented = "commented",
        /// An approval.
        Approved = "approved",
    }
}

/// A deploy request. Paths use its `number`, not its `id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployRequest {
    /// Deploy request id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Per-database number (used in paths).
    #[serde(default, deserialize_with = "or_default")]
    pub number: u64,
    /// Open or closed.
    #[serde(default)]
    pub state: Option<DeployRequestState>,
    /// Deployment state (see [`DeploymentState`]).
    #[serde(default)]
    pub deployment_state: Option<DeploymentState>,
    /// The deployment.
    #[serde(default)]
    pub deployment: Option<Deployment>,
    /// Whether it is approved (reset when the branch schema changes).
    #[serde(default, deserialize_with = "or_default")]
    pub approved: bool,
    /// Source branch.
    #[serde(default, deserialize_with = "or_default")]
    pub branch: String,
    /// Target branch.
    #[serde(default, deserialize_with = "or_default")]
    pub into_branch: String,
    /// Whether the source branch was deleted.
    #[serde(default)]
    pub branch_deleted: Option<bool>,
    /// Notes (`""` if none).
    #[serde(default)]
    pub notes: Option<String>,
    /// Number of comments.
    #[serde(default)]
    pub num_comments: Option<u64>,
    /// Who opened it.
    #[serde(default)]
    pub actor: Option<Actor>,
    /// Who closed it.
    #[serde(default)]
    pub closed_by: Option<Actor>,
    /// Dashboard URL.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// When it was deployed.
    #[serde(default)]
    pub deployed_at: Option<DateTime<Utc>>,
}

/// Body of `POST …/deploy-requests`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateDeployRequest {
    /// Source branch.
    pub branch: String,
    /// Target branch (server default: the database's default branch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub into_branch: Option<String>,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Auto-apply (cut over without `apply-deploy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_cutover: Option<bool>,
    /// Delete the source branch after deploying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_delete_branch: Option<bool>,
}

impl CreateDeployRequest {
    /// A body with only the source branch set.
    pub fn new(branch: impl Into<String>) -> Self {
        Self {
            branch: branch.into(),
            ..Self::default()
        }
    }
}

/// Filters for `GET …/deploy-requests`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListDeployRequests {
    /// `open`, `closed` or `deployed`.
    pub state: Option<String>,
    /// Source branch.
    pub branch: Option<String>,
    /// Target branch.
    pub into_branch: Option<String>,
}

impl ListDeployRequests {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let pairs = [
            ("state", &self.state),
            ("branch", &self.branch),
            ("into_branch", &self.into_branch),
        ];
        pairs
            .into_iter()
            .filter_map(|(key, value)| value.clone().map(|v| (key, v)))
            .collect()
    }
}

/// A review (approval or comment) of a deploy request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// Review id.
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    /// Approved or commented.
    #[serde(default)]
    pub state: Option<ReviewState>,
    /// Comment text.
    #[serde(default)]
    pub body: Option<String>,
    /// Who reviewed.
    #[serde(default)]
    pub actor: Option<Actor>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opened_deploy_request_decodes() {
        let json = r#"{"id":"dr1","type":"DeployRequest","number":42,"state":"open",
            "deployment_state":"pending","approved":false,"branch":"pr-1234","branch_id":"b1",
            "branch_deleted":false,"branch_deleted_by":null,"into_branch":"main",
            "into_branch_sharded":false,"notes":"","html_body":"","num_comments":0,
            "html_url":"https://app.planetscale.com/acme/shop/deploy-requests/42",
            "actor":{"id":"u1","type":"User","display_name":"Ada"},"closed_by":null,
            "created_at":"2023-10-25T16:54:12.879Z","closed_at":null,"deployed_at":null,
            "deployment":{"id":"dep1","state":"pending","deployable":false,"auto_cutover":true}}"#;
        let dr: DeployRequest = serde_json::from_str(json).unwrap();
        assert_eq!(dr.number, 42);
        assert_eq!(dr.state, Some(DeployRequestState::Open));
        assert_eq!(dr.deployment_state, Some(DeploymentState::Pending));
        assert!(dr.deployment.unwrap().auto_cutover);
    }

    #[test]
    fn closed_reverted_with_unknown_values() {
        let json = r#"{"id":"dr1","number":7,"state":"archived","deployment_state":"complete_revert",
            "approved":null,"deployment":null}"#;
        let dr: DeployRequest = serde_json::from_str(json).unwrap();
        assert_eq!(
            dr.state,
            Some(DeployRequestState::Unknown("archived".into()))
        );
        assert!(dr.deployment_state.unwrap().is_terminal());
        assert!(!dr.approved);
    }

    #[test]
    fn review_decodes_and_list_filters_render() {
        let json = r#"{"id":"rv1","body":"lgtm","html_body":"<p>lgtm</p>","state":"approved",
            "created_at":"2023-10-25T16:54:12.879Z","updated_at":null,"actor":null}"#;
        let review: Review = serde_json::from_str(json).unwrap();
        assert_eq!(review.state, Some(ReviewState::Approved));
        let filters = ListDeployRequests {
            state: Some("open".into()),
            ..Default::default()
        };
        assert_eq!(filters.query(), vec![("state", "open".to_string())]);
    }
}
