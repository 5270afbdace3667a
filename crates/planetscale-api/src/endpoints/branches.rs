//! Branches: CRUD, promote/demote, safe migrations, schema and lint.

use reqwest::Method;

use super::{branch_path, db_path};
use crate::models::{
    Branch, CreateBranch, CreatePostgresBranch, LintError, ListBranches, Page, TableSchema,
    UpdateBranch,
};
use crate::pagination::{ListRequest, Paged};
use crate::request::Request;
use crate::{Client, Result};

impl Client {
    /// `GET …/branches/{branch}`.
    pub async fn get_branch(&self, org: &str, db: &str, branch: &str) -> Result<Branch> {
        let path = branch_path(org, db, branch, &[]);
        self.send(Request::new("get_branch", Method::GET, &path))
            .await
    }

    /// `GET …/branches` with optional filters.
    pub fn list_branches(&self, org: &str, db: &str, filters: &ListBranches) -> Paged<Branch> {
        self.paginate(branches_list(org, db, filters))
    }

    /// Every branch matching `filters`.
    pub async fn list_branches_all(
        &self,
        org: &str,
        db: &str,
        filters: &ListBranches,
    ) -> Result<Vec<Branch>> {
        self.collect_all(branches_list(org, db, filters)).await
    }

    /// `POST …/branches` (201). A create: not resent after a timeout or 5xx; on such an
    /// error, look the branch up by name before trying again.
    pub async fn create_branch(&self, org: &str, db: &str, body: &CreateBranch) -> Result<Branch> {
        let path = db_path(org, db, &["branches"]);
        self.send(
            Request::new("create_branch", Method::POST, &path)
                .create()
                .json(body)?,
        )
        .await
    }

    /// `POST …/branches` on a PostgreSQL database, with `restore_point` (point-in-time
    /// recovery) and `major_version`. Same retry rule as [`Client::create_branch`].
    pub async fn create_postgres_branch(
        &self,
        org: &str,
        db: &str,
        body: &CreatePostgresBranch,
    ) -> Result<Branch> {
        let path = db_path(org, db, &["branches"]);
        self.send(
            Request::new("create_branch", Method::POST, &path)
                .create()
                .json(body)?,
        )
        .await
    }

    /// `PATCH …/branches/{branch}`: rename or change deletion protection.
    pub async fn update_branch(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        body: &UpdateBranch,
    ) -> Result<Branch> {
        let path = branch_path(org, db, branch, &[]);
        self.send(Request::new("update_branch", Method::PATCH, &path).json(body)?)
            .await
    }

    /// `DELETE …/branches/{branch}` (204). Retried on transient errors, so a retry after a
    /// lost response may report [`crate::Error::NotFound`]: treat it as deleted.
    pub async fn delete_branch(&self, org: &str, db: &str, branch: &str) -> Result<()> {
        let path = branch_path(org, db, branch, &[]);
        self.send_empty(Request::new("delete_branch", Method::DELETE, &path))
            .await
    }

    /// `POST …/branches/{branch}/promote`: make it a production branch.
    pub async fn promote_branch(&self, org: &str, db: &str, branch: &str) -> Result<Branch> {
        self.branch_action("promote_branch", Method::POST, org, db, branch, "promote")
            .await
    }

    /// `POST …/branches/{branch}/demote`: make it a development branch.
    pub async fn demote_branch(&self, org: &str, db: &str, branch: &str) -> Result<Branch> {
        self.branch_action("demote_branch", Method::POST, org, db, branch, "demote")
            .await
    }

    /// `POST …/branches/{branch}/safe-migrations`.
    pub async fn enable_safe_migrations(
        &self,
        org: &str,
        db: &str,
        branch: &str,
    ) -> Result<Branch> {
        self.branch_action(
            "enable_safe_migrations",
            Method::POST,
            org,
            db,
            branch,
            "safe-migrations",
        )
        .await
    }

    /// `DELETE …/branches/{branch}/safe-migrations`.
    pub async fn disable_safe_migrations(
        &self,
        org: &str,
        db: &str,
        branch: &str,
    ) -> Result<Branch> {
        self.branch_action(
            "disable_safe_migrations",
            Method::DELETE,
            org,
            db,
            branch,
            "safe-migrations",
        )
        .await
    }

    /// `GET …/branches/{branch}/schema`: one entry per table (optionally one keyspace).
    pub async fn get_branch_schema(
        &self,
        org: &str,
        db: &str,
        branch: &str,
        keyspace: Option<&str>,
    ) -> Result<Vec<TableSchema>> {
        let path = branch_path(org, db, branch, &["schema"]);
        let query = keyspace
            .map(|k| vec![("keyspace", k.to_owned())])
            .unwrap_or_default();
        let page: Page<TableSchema> = self
            .send(Request::new("get_branch_schema", Method::GET, &path).query(query))
            .await?;
        Ok(page.data)
    }

    /// `GET …/branches/{branch}/schema/lint`.
    pub fn lint_branch_schema(&self, org: &str, db: &str, branch: &str) -> Paged<LintError> {
        self.paginate(lint_list(org, db, branch))
    }

    /// Every lint finding of the branch schema.
    pub async fn lint_branch_schema_all(
        &self,
        org: &str,
        db: &str,
        branch: &str,
    ) -> Result<Vec<LintError>> {
        self.collect_all(lint_list(org, db, branch)).await
    }

    async fn branch_action(
        &self,
        operation: &'static str,
        method: Method,
        org: &str,
        db: &str,
        branch: &str,
        action: &str,
    ) -> Result<Branch> {
        let path = branch_path(org, db, branch, &[action]);
        self.send(Request::new(operation, method, &path)).await
    }
}

fn branches_list(org: &str, db: &str, filters: &ListBranches) -> ListRequest {
    ListRequest::new("list_branches", &db_path(org, db, &["branches"])).query(filters.query())
}

fn lint_list(org: &str, db: &str, branch: &str) -> ListRequest {
    ListRequest::new(
        "lint_branch_schema",
        &branch_path(org, db, branch, &["schema", "lint"]),
    )
}
