//! Lookups by name or id; misses are the real API's 404 `not_found`.

use super::{Branch, Database, Org, World};
use crate::error::{ApiError, ApiResult};

impl World {
    /// Index of the organization named `name`.
    pub fn org_idx(&self, name: &str) -> ApiResult<usize> {
        self.orgs
            .iter()
            .position(|o| o.name == name)
            .ok_or_else(ApiError::not_found)
    }

    /// Organization by id.
    pub fn org_by_id(&self, id: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.id == id)
    }

    /// Index of database `db` in organization `org` (both names).
    pub fn db_idx(&self, org: &str, db: &str) -> ApiResult<usize> {
        let org_id = &self.orgs[self.org_idx(org)?].id;
        self.databases
            .iter()
            .position(|d| &d.org_id == org_id && d.name == db)
            .ok_or_else(ApiError::not_found)
    }

    /// Database by id.
    pub fn db_by_id(&self, id: &str) -> Option<&Database> {
        self.databases.iter().find(|d| d.id == id)
    }

    /// Index of branch `name` of database `db_id`.
    pub fn branch_idx(&self, db_id: &str, name: &str) -> ApiResult<usize> {
        self.branches
            .iter()
            .position(|b| b.db_id == db_id && b.name == name)
            .ok_or_else(ApiError::not_found)
    }

    /// Resolve `org/db/branch` names to (database index, branch index).
    pub fn branch_path(&self, org: &str, db: &str, branch: &str) -> ApiResult<(usize, usize)> {
        let d = self.db_idx(org, db)?;
        let b = self.branch_idx(&self.databases[d].id, branch)?;
        Ok((d, b))
    }

    /// The id of branch `org/db/branch`, for the admin credential checks (which answer with
    /// a reason, not an API error).
    pub fn verified_branch_id(
        &self,
        org: &str,
        db: &str,
        branch: &str,
    ) -> Result<&str, &'static str> {
        let (_, b) = self
            .branch_path(org, db, branch)
            .map_err(|_| "branch not found")?;
        Ok(&self.branches[b].id)
    }

    /// Branch by id.
    pub fn branch_by_id(&self, id: &str) -> Option<&Branch> {
        self.branches.iter().find(|b| b.id == id)
    }

    /// Index of the live (not deleted) password `id` of branch `branch_id`.
    pub fn password_idx(&self, branch_id: &str, id: &str) -> ApiResult<usize> {
        self.passwords
            .iter()
            .position(|p| p.branch_id == branch_id && p.id == id && p.deleted_at.is_none())
            .ok_or_else(ApiError::not_found)
    }

    /// Index of deploy request `number` of database `db_id`.
    pub fn dr_idx(&self, db_id: &str, number: u64) -> ApiResult<usize> {
        self.deploy_requests
            .iter()
            .position(|r| r.db_id == db_id && r.number == number)
            .ok_or_else(ApiError::not_found)
    }

    /// Organization owning database `db`.
    pub fn org_of(&self, db: &Database) -> &Org {
        self.org_by_id(&db.org_id)
            .expect("every database has an organization")
    }

    /// Number of development branches of a database.
    pub fn development_branch_count(&self, db_id: &str) -> usize {
        self.branches
            .iter()
            .filter(|b| b.db_id == db_id && !b.production)
            .count()
    }
}
