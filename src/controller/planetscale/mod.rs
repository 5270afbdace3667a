//! The PlanetScale operations the controllers make, as traits implemented by
//! [`planetscale_api::Client`].
//!
//! Reconcile code takes `&impl PlanetScale` rather than the client, so that its use of the
//! API is one list (this folder) and a step can be run against another implementation. The
//! methods return `impl Future + Send` (native async in traits): no allocation per call and
//! no macro crate; the price is that the traits are not object-safe, which nothing needs
//! (every reconcile gets one concrete client from the credentials store).
//!
//! The operations are split by area, one trait per file, so that each list stays short:
//! [`BranchOps`] (database and branch reads, branch writes), [`DatabaseOps`] (database
//! writes), [`BackupOps`], [`PasswordOps`], [`RoleOps`] (Postgres roles) and
//! [`DeployRequestOps`].
//! [`PlanetScale`] is all of them together plus PlanetScale's clock; it is the one bound
//! reconcile code names. Inside a function generic over `impl PlanetScale` the area traits'
//! methods are callable without importing them.
//!
//! What stays on the client and out of the traits, because it is not an API operation: building
//! it for a resource's credentials (`credentials::client_for`), labelling its requests for the
//! fair limiter (`Client::with_caller`), and its request metrics. [`PlanetScale::server_now`]
//! is in the trait although it makes no request: the password controller measures expiry and
//! grace periods with it, so another implementation must be able to supply the clock.
//!
//! A kind that needs another operation adds it to its area's trait, with a one-line delegation
//! in the impl.
use chrono::{DateTime, Utc};
use planetscale_api::Client;

mod backups;
mod branches;
mod databases;
mod deploy_requests;
mod passwords;
mod roles;

pub use backups::{BackupOps, BranchPath};
pub use branches::BranchOps;
pub use databases::DatabaseOps;
pub use deploy_requests::DeployRequestOps;
pub use passwords::PasswordOps;
pub use roles::RoleOps;

/// Every PlanetScale operation of the reconciles, and PlanetScale's clock.
pub trait PlanetScale:
    BranchOps + PasswordOps + RoleOps + DeployRequestOps + DatabaseOps + BackupOps
{
    /// PlanetScale's current time (the local clock corrected by the server's `Date` header).
    fn server_now(&self) -> DateTime<Utc>;
}

impl PlanetScale for Client {
    fn server_now(&self) -> DateTime<Utc> {
        Client::server_now(self)
    }
}

/// What the caches keep of a region: its slug (the status and the connection details read no
/// more; the display name, provider and public addresses stay with PlanetScale).
pub fn slim_region(r: &planetscale_api::models::Region) -> planetscale_api::models::Region {
    planetscale_api::models::Region {
        slug: r.slug.clone(),
        ..Default::default()
    }
}
