//! The access policy's `production.passwords` for a password that names its branch directly
//! (`organization`/`database`/`branch`): whether that branch is a production branch is known
//! only from PlanetScale. A password on a `branchRef` is judged by the reconcile skeleton's
//! check, from its `PlanetScaleBranch`'s status.
//!
//! The flag comes, without a call of its own where possible, from the current password as the
//! pass saw it (its `database_branch`, in the database's snapshot or the last view), else from
//! the branch read this pass for the engine, else from what the controller remembers of the
//! branch ([`Kinds`], good for half the resync interval), else from one read of the branch.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use planetscale_api::models::Password;

use super::pass::Run;
use crate::controller::planetscale::PlanetScale;
use crate::controller::target::Target;
use crate::error::Error;
use crate::policy::Production;

/// Credentials Secret (namespace, name), organization, database, branch.
type BranchKey = ((String, String), String, String, String);

/// Whether branches are production branches, as PlanetScale last said (one per process).
#[derive(Default)]
pub struct Kinds {
    known: Mutex<HashMap<BranchKey, (bool, Instant)>>,
}

impl Kinds {
    fn get(&self, key: &BranchKey, max_age: Duration) -> Option<bool> {
        let known = self.known.lock().expect("lock");
        let (production, at) = known.get(key)?;
        (at.elapsed() < max_age).then_some(*production)
    }

    fn remember(&self, key: BranchKey, production: bool) {
        let mut known = self.known.lock().expect("lock");
        known.insert(key, (production, Instant::now()));
    }
}

/// `PolicyDenied` when the password names a production branch directly and no rule allows
/// passwords on production branches (`production.passwords`).
pub async fn admit(
    run: &Run<'_>,
    api: &impl PlanetScale,
    t: &Target,
    password: Option<&Password>,
    read: Option<bool>,
) -> Result<(), Error> {
    if run.obj.spec.target.explicit().is_none() {
        return Ok(());
    }
    if !is_production(run, api, t, password, read).await? {
        return Ok(());
    }
    let ctx = run.ctx;
    let passwords = Production::Passwords;
    ctx.policies
        .admit_production(&ctx.client, run.obj, passwords)
        .await
}

async fn is_production(
    run: &Run<'_>,
    api: &impl PlanetScale,
    t: &Target,
    password: Option<&Password>,
    read: Option<bool>,
) -> Result<bool, Error> {
    let key = (
        run.credentials(),
        t.organization.clone(),
        t.database.clone(),
        t.branch.clone(),
    );
    let kinds = &run.state.production;
    let seen = password.and_then(|p| p.database_branch.as_ref()?.production);
    if let Some(production) = seen.or(read) {
        kinds.remember(key, production);
        return Ok(production);
    }
    if let Some(production) = kinds.get(&key, run.fresh_for()) {
        return Ok(production);
    }
    match api
        .get_branch(&t.organization, &t.database, &t.branch)
        .await
    {
        Ok(b) => {
            kinds.remember(key, b.production);
            Ok(b.production)
        }
        // No such branch: no password can be made on it either (the create says so).
        Err(planetscale_api::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
