//! What PlanetScale says about the database: one `GET`, and the list of its backup policies
//! when the resource manages any. Decides nothing.
use planetscale_api::models::{BackupPolicy, Database};
use planetscale_api::{Client, ErrorKind};

use super::{DatabaseReconciler, Target};
use crate::controller::planetscale::PlanetScale;
use crate::error::Error;

/// What a pass read.
pub struct Observed {
    /// The client for the resource's credentials.
    pub client: Client,
    /// The database (`None`: PlanetScale answered 404).
    pub database: Option<Database>,
    /// Its backup policies, read only for a ready database whose resource manages some.
    pub policies: Option<Vec<BackupPolicy>>,
}

/// Reads what the plan needs.
pub async fn observe(r: &DatabaseReconciler, t: &Target) -> Result<Observed, Error> {
    let client = r.client(t).await?;
    let database = get_database(&client, t).await?;
    let policies = match &database {
        Some(d) if d.ready && t.manages_policies => {
            Some(client.list_backup_policies_all(&t.org, &t.name).await?)
        }
        _ => None,
    };
    Ok(Observed {
        client,
        database,
        policies,
    })
}

/// The database, `None` for a 404.
pub async fn get_database(ps: &impl PlanetScale, t: &Target) -> Result<Option<Database>, Error> {
    match ps.get_database(&t.org, &t.name).await {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}
