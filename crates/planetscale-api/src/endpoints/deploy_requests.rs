//! Deploy requests: create, read, the deploy actions, reviews, operations and the queue.
//!
//! The actions (`deploy`, `cancel`, `apply-deploy`, `complete-deploy`, `revert`,
//! `skip-revert`) are POSTs that change state without minting anything, so they are retried on
//! transient errors; a retry after a lost response may then fail with `Unprocessable` because
//! the first one already took effect: re-read the deploy request. Creating a deploy request
//! and posting a review are creates and are never resent after reaching the server.

use reqwest::Method;
use serde_json::json;

use super::db_path;
use crate::models::{
    CreateDeployRequest, DeployOperation, DeployRequest, Deployment, ListDeployRequests, Review,
    ReviewState,
};
use crate::pagination::{ListRequest, Paged};
use crate::request::Request;
use crate::{Client, Result};

fn dr_path(org: &str, db: &str, number: u64, rest: &[&str]) -> Vec<String> {
    let number = number.to_string();
    let mut parts = vec!["deploy-requests", number.as_str()];
    parts.extend_from_slice(rest);
    db_path(org, db, &parts)
}

impl Client {
    /// `POST …/deploy-requests` (201). Needs safe migrations on the target branch.
    pub async fn create_deploy_request(
        &self,
        org: &str,
        db: &str,
        body: &CreateDeployRequest,
    ) -> Result<DeployRequest> {
        let path = db_path(org, db, &["deploy-requests"]);
        self.send(
            Request::new("create_deploy_request", Method::POST, &path)
                .create()
                .json(body)?,
        )
        .await
    }

    /// `GET …/deploy-requests/{number}`.
    pub async fn get_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        self.send(Request::new(
            "get_deploy_request",
            Method::GET,
            &dr_path(org, db, number, &[]),
        ))
        .await
    }

    /// `GET …/deploy-requests` with optional filters.
    pub fn list_deploy_requests(
        &self,
        org: &str,
        db: &str,
        filters: &ListDeployRequests,
    ) -> Paged<DeployRequest> {
        self.paginate(dr_list(org, db, filters))
    }

    /// Every deploy request matching `filters`.
    pub async fn list_deploy_requests_all(
        &self,
        org: &str,
        db: &str,
        filters: &ListDeployRequests,
    ) -> Result<Vec<DeployRequest>> {
        self.collect_all(dr_list(org, db, filters)).await
    }

    /// `PATCH …/deploy-requests/{number}` with `{"state":"closed"}`.
    pub async fn close_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        let path = dr_path(org, db, number, &[]);
        let request = Request::new("close_deploy_request", Method::PATCH, &path)
            .json(&json!({"state": "closed"}))?;
        self.send(request).await
    }

    /// `POST …/deploy`: add the deploy request to the deploy queue.
    pub async fn queue_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
        instant_ddl: bool,
    ) -> Result<DeployRequest> {
        let path = dr_path(org, db, number, &["deploy"]);
        let request = Request::new("queue_deploy_request", Method::POST, &path)
            .json(&json!({"instant_ddl": instant_ddl}))?;
        self.send(request).await
    }

    /// `POST …/cancel`: cancel a queued or running deployment.
    pub async fn cancel_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        self.dr_action("cancel_deploy_request", org, db, number, "cancel")
            .await
    }

    /// `POST …/apply-deploy`: cut over a gated deployment (`pending_cutover`).
    pub async fn apply_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        self.dr_action("apply_deploy_request", org, db, number, "apply-deploy")
            .await
    }

    /// `POST …/complete-deploy`: unblock the queue after `complete_error`/`complete_revert_error`.
    pub async fn complete_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        self.dr_action(
            "complete_deploy_request",
            org,
            db,
            number,
            "complete-deploy",
        )
        .await
    }

    /// `POST …/revert`: revert during the revert window (`complete_pending_revert`).
    pub async fn revert_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        self.dr_action("revert_deploy_request", org, db, number, "revert")
            .await
    }

    /// `POST …/skip-revert`: close the revert window now.
    pub async fn skip_revert_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        self.dr_action("skip_revert_deploy_request", org, db, number, "skip-revert")
            .await
    }

    /// `PUT …/auto-apply` with `{"enable": bool}` (sets `deployment.auto_cutover`).
    pub async fn set_auto_apply(
        &self,
        org: &str,
        db: &str,
        number: u64,
        enable: bool,
    ) -> Result<DeployRequest> {
        let path = dr_path(org, db, number, &["auto-apply"]);
        let request =
            Request::new("set_auto_apply", Method::PUT, &path).json(&json!({"enable": enable}))?;
        self.send(request).await
    }

    /// `GET …/deployment`.
    pub async fn get_deployment(&self, org: &str, db: &str, number: u64) -> Result<Deployment> {
        self.send(Request::new(
            "get_deployment",
            Method::GET,
            &dr_path(org, db, number, &["deployment"]),
        ))
        .await
    }

    /// `GET …/operations`: the schema changes of the deployment.
    pub fn list_deploy_operations(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Paged<DeployOperation> {
        self.paginate(ListRequest::new(
            "list_deploy_operations",
            &dr_path(org, db, number, &["operations"]),
        ))
    }

    /// Every deploy operation of the deploy request.
    pub async fn list_deploy_operations_all(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<Vec<DeployOperation>> {
        self.collect_all(ListRequest::new(
            "list_deploy_operations",
            &dr_path(org, db, number, &["operations"]),
        ))
        .await
    }

    /// `GET …/reviews`.
    pub fn list_reviews(&self, org: &str, db: &str, number: u64) -> Paged<Review> {
        self.paginate(ListRequest::new(
            "list_reviews",
            &dr_path(org, db, number, &["reviews"]),
        ))
    }

    /// Every review of the deploy request.
    pub async fn list_reviews_all(&self, org: &str, db: &str, number: u64) -> Result<Vec<Review>> {
        self.collect_all(ListRequest::new(
            "list_reviews",
            &dr_path(org, db, number, &["reviews"]),
        ))
        .await
    }

    /// `POST …/reviews` with `state: approved` and an optional comment (201).
    pub async fn approve_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
        comment: Option<&str>,
    ) -> Result<Review> {
        self.review(
            "approve_deploy_request",
            org,
            db,
            number,
            ReviewState::Approved,
            comment,
        )
        .await
    }

    /// `POST …/reviews` with `state: commented` (201).
    pub async fn comment_on_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
        body: &str,
    ) -> Result<Review> {
        self.review(
            "comment_on_deploy_request",
            org,
            db,
            number,
            ReviewState::Commented,
            Some(body),
        )
        .await
    }

    /// `GET …/databases/{db}/deploy-queue`: deployments in deploy order.
    pub fn list_deploy_queue(&self, org: &str, db: &str) -> Paged<Deployment> {
        self.paginate(ListRequest::new(
            "list_deploy_queue",
            &db_path(org, db, &["deploy-queue"]),
        ))
    }

    /// The whole deploy queue.
    pub async fn list_deploy_queue_all(&self, org: &str, db: &str) -> Result<Vec<Deployment>> {
        self.collect_all(ListRequest::new(
            "list_deploy_queue",
            &db_path(org, db, &["deploy-queue"]),
        ))
        .await
    }

    async fn dr_action(
        &self,
        operation: &'static str,
        org: &str,
        db: &str,
        number: u64,
        action: &str,
    ) -> Result<DeployRequest> {
        self.send(Request::new(
            operation,
            Method::POST,
            &dr_path(org, db, number, &[action]),
        ))
        .await
    }

    async fn review(
        &self,
        operation: &'static str,
        org: &str,
        db: &str,
        number: u64,
        state: ReviewState,
        body: Option<&str>,
    ) -> Result<Review> {
        let mut payload = json!({"state": state});
        if let Some(body) = body {
            payload["body"] = json!(body);
        }
        let path = dr_path(org, db, number, &["reviews"]);
        self.send(
            Request::new(operation, Method::POST, &path)
                .create()
                .json(&payload)?,
        )
        .await
    }
}

fn dr_list(org: &str, db: &str, filters: &ListDeployRequests) -> ListRequest {
    ListRequest::new(
        "list_deploy_requests",
        &db_path(org, db, &["deploy-requests"]),
    )
    .query(filters.query())
}
