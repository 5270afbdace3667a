//! Deploy requests: the operations of the deploy-request controller.
use std::future::Future;

use planetscale_api::models::{CreateDeployRequest, DeployRequest, ListDeployRequests, Review};
use planetscale_api::{Client, Result};

/// The deploy-request operations of the reconciles. Every action answers with the deploy
/// request as it is after it, which the controller takes as the state the step left (an
/// approval answers with the review, so the request is read again after it).
pub trait DeployRequestOps: Send + Sync {
    /// `GET …/deploy-requests/{number}`.
    fn get_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> impl Future<Output = Result<DeployRequest>> + Send;
    /// Every deploy request of the database that matches `filters` (all pages).
    fn list_deploy_requests_all(
        &self,
        org: &str,
        db: &str,
        filters: &ListDeployRequests,
    ) -> impl Future<Output = Result<Vec<DeployRequest>>> + Send;
    /// `POST …/deploy-requests`.
    fn create_deploy_request(
        &self,
        org: &str,
        db: &str,
        body: &CreateDeployRequest,
    ) -> impl Future<Output = Result<DeployRequest>> + Send;
    /// `POST …/deploy-requests/{number}/deploy`.
    fn queue_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
        instant_ddl: bool,
    ) -> impl Future<Output = Result<DeployRequest>> + Send;
    /// `PUT …/deploy-requests/{number}/auto-apply`.
    fn set_auto_apply(
        &self,
        org: &str,
        db: &str,
        number: u64,
        enable: bool,
    ) -> impl Future<Output = Result<DeployRequest>> + Send;
    /// `POST …/deploy-requests/{number}/apply-deploy` (the cutover).
    fn apply_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> impl Future<Output = Result<DeployRequest>> + Send;
    /// `POST …/deploy-requests/{number}/revert`.
    fn revert_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> impl Future<Output = Result<DeployRequest>> + Send;
    /// `POST …/deploy-requests/{number}/skip-revert`.
    fn skip_revert_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> impl Future<Output = Result<DeployRequest>> + Send;
    /// An approving review, `POST …/deploy-requests/{number}/reviews`.
    fn approve_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
        comment: Option<&str>,
    ) -> impl Future<Output = Result<Review>> + Send;
    /// Closes it, `PATCH …/deploy-requests/{number}`.
    fn close_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> impl Future<Output = Result<DeployRequest>> + Send;
    /// `POST …/deploy-requests/{number}/cancel` (a queued deploy).
    fn cancel_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> impl Future<Output = Result<DeployRequest>> + Send;
    /// `POST …/deploy-requests/{number}/complete-deploy` (an errored deploy).
    fn complete_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> impl Future<Output = Result<DeployRequest>> + Send;
}

impl DeployRequestOps for Client {
    async fn get_deploy_request(&self, org: &str, db: &str, number: u64) -> Result<DeployRequest> {
        Client::get_deploy_request(self, org, db, number).await
    }
    async fn list_deploy_requests_all(
        &self,
        org: &str,
        db: &str,
        filters: &ListDeployRequests,
    ) -> Result<Vec<DeployRequest>> {
        Client::list_deploy_requests_all(self, org, db, filters).await
    }
    async fn create_deploy_request(
        &self,
        org: &str,
        db: &str,
        body: &CreateDeployRequest,
    ) -> Result<DeployRequest> {
        Client::create_deploy_request(self, org, db, body).await
    }
    async fn queue_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
        instant_ddl: bool,
    ) -> Result<DeployRequest> {
        Client::queue_deploy_request(self, org, db, number, instant_ddl).await
    }
    async fn set_auto_apply(
        &self,
        org: &str,
        db: &str,
        number: u64,
        enable: bool,
    ) -> Result<DeployRequest> {
        Client::set_auto_apply(self, org, db, number, enable).await
    }
    async fn apply_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        Client::apply_deploy_request(self, org, db, number).await
    }
    async fn revert_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        Client::revert_deploy_request(self, org, db, number).await
    }
    async fn skip_revert_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        Client::skip_revert_deploy_request(self, org, db, number).await
    }
    async fn approve_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
        comment: Option<&str>,
    ) -> Result<Review> {
        Client::approve_deploy_request(self, org, db, number, comment).await
    }
    async fn close_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        Client::close_deploy_request(self, org, db, number).await
    }
    async fn cancel_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        Client::cancel_deploy_request(self, org, db, number).await
    }
    async fn complete_deploy_request(
        &self,
        org: &str,
        db: &str,
        number: u64,
    ) -> Result<DeployRequest> {
        Client::complete_deploy_request(self, org, db, number).await
    }
}
