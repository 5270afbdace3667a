//! The API operations, as methods on [`crate::Client`], one module per resource.
//!
//! Each method's name is also its `operation` label in metrics and tracing. Paths use names
//! (organization, database, branch), password and backup ids, and deploy request numbers.

mod backup_policies;
mod backups;
mod branches;
mod deploy_requests;
mod organizations;
mod passwords;
mod roles;
mod webhooks;

/// `organizations/{org}/databases/{db}` plus `rest`.
pub(crate) fn db_path(org: &str, db: &str, rest: &[&str]) -> Vec<String> {
    let mut path = vec![
        "organizations".to_owned(),
        org.to_owned(),
        "databases".to_owned(),
        db.to_owned(),
    ];
    path.extend(rest.iter().map(|s| (*s).to_owned()));
    path
}

/// `organizations/{org}/databases/{db}/branches/{branch}` plus `rest`.
pub(crate) fn branch_path(org: &str, db: &str, branch: &str, rest: &[&str]) -> Vec<String> {
    let mut path = db_path(org, db, &["branches", branch]);
    path.extend(rest.iter().map(|s| (*s).to_owned()));
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_nest() {
        assert_eq!(
            db_path("o", "d", &["deploy-queue"]).join("/"),
            "organizations/o/databases/d/deploy-queue"
        );
        assert_eq!(
            branch_path("o", "d", "b", &["passwords", "p1", "renew"]).join("/"),
            "organizations/o/databases/d/branches/b/passwords/p1/renew"
        );
    }
}
