//! Runs the planned steps against PlanetScale, in order, until one fails; returns what was
//! done ([`Outcome`]) for `status` to record and announce.
use std::time::Instant;

use kube::runtime::reflector::ObjectRef;
use planetscale_api::models::{Branch, CreateBranch, UpdateBranch};

use super::engine::{self, CreateBody};
use planetscale_api::{Error as ApiError, ErrorKind};

use super::observe::{Look, Observed, get_branch, get_database};
use super::plan::{Claim, Fix, Step, describe, fixes};
use super::status::Progress;
use super::{BranchReconciler, Target};
use crate::controller::planetscale::PlanetScale;
use crate::controller::reconciler::{Acted, Plan};
use crate::crd::branch::{PlanetScaleBranch, reason as branch_reason};
use crate::crd::conditions::{READY, find_condition, is_ready_for, reason};
use crate::error::Error;

/// What a pass did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The organization and database the pass acted in (recorded in status).
    pub at: (String, String),
    /// The branch as last seen or changed, once it is ours (copied into status).
    pub branch: Option<Branch>,
    /// Where the pass got to.
    pub progress: Progress,
    /// How the branch became ours in this pass, if it did.
    pub claim: Option<Claim>,
    /// The branch created in this pass, if any.
    pub created: Option<Created>,
    /// A create was refused: nothing was created, the intent is void.
    pub create_refused: bool,
    /// The settings corrected, in order.
    pub fixed: Vec<Fix>,
    /// Whether the fixes correct a change made outside Kubernetes to a Ready branch.
    pub drift: bool,
    /// Whether the poller wakes the resource when its pending branch changes.
    pub registered: bool,
    /// When the shared list the branch was seen in was taken (the resync counts from it).
    pub listed_at: Option<Instant>,
}

/// A branch created in this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// It existed before and was deleted outside Kubernetes.
    pub recreate: bool,
    /// The parent it was created from.
    pub parent: String,
}

/// Runs `plan`'s steps.
pub async fn act(
    r: &BranchReconciler,
    t: &Target,
    obj: &PlanetScaleBranch,
    observed: Observed,
    plan: Plan<Step>,
) -> Acted<Outcome> {
    let (seen, listed_at) = match &observed.look {
        Look::Seen {
            branch, listed_at, ..
        } => (branch.clone(), *listed_at),
        _ => (None, None),
    };
    let claims = plan
        .steps
        .iter()
        .any(|s| matches!(s, Step::Record(Some(_))));
    let ready_before = obj
        .status
        .as_ref()
        .is_some_and(|s| is_ready_for(&s.conditions, t.generation));
    let mut out = Outcome {
        at: (t.org.clone(), t.db.clone()),
        branch: None,
        progress: Progress::Ready,
        claim: None,
        created: None,
        create_refused: false,
        fixed: Vec::new(),
        drift: ready_before && !claims,
        registered: false,
        listed_at,
    };
    let mut ctx = StepCtx {
        r,
        t,
        obj,
        observed: &observed,
        seen,
    };
    for step in plan.steps {
        if let Err(e) = ctx.run(step, &mut out).await {
            return Acted::failed(out, e);
        }
    }
    Acted::done(out)
}

/// What every step reads.
struct StepCtx<'a> {
    r: &'a BranchReconciler,
    t: &'a Target,
    obj: &'a PlanetScaleBranch,
    observed: &'a Observed,
    /// The branch as observed.
    seen: Option<Branch>,
}

impl StepCtx<'_> {
    async fn run(&mut self, step: Step, out: &mut Outcome) -> Result<(), Error> {
        let t = self.t;
        match step {
            Step::Create { body, recreate, .. } => self.create(body, recreate, out).await?,
            Step::Refuse { existing_id } => return Err(already_exists(t, Some(&existing_id))),
            Step::Unsupported { fields, engine } => {
                return Err(engine::unsupported(&fields, engine, &t.db));
            }
            Step::WaitForDatabase => out.progress = waiting_for_database(t),
            Step::Missing => return Err(missing_observed(t)),
            Step::Record(claim) => {
                self.may_adopt(claim).await?;
                out.branch = self.seen.clone();
                out.claim = claim;
            }
            Step::AwaitBranch => self.await_branch(out),
            Step::Fix(fix) => {
                let updated = apply_fix(&self.observed.client, t, fix).await?;
                out.branch = Some(updated);
                out.fixed.push(fix);
            }
        }
        Ok(())
    }

    /// Adopting a production branch needs the policy's explicit allowance.
    async fn may_adopt(&self, claim: Option<Claim>) -> Result<(), Error> {
        let production = self.seen.as_ref().is_some_and(|b| b.production);
        if claim != Some(Claim::Adopt) || !production {
            return Ok(());
        }
        let ctx = &self.r.ctx;
        let adopt = crate::policy::Production::Adopt;
        ctx.policies
            .admit_production(&ctx.client, self.obj, adopt)
            .await
    }

    /// The branch is pending: the poller wakes the resource once it changes.
    fn await_branch(&self, out: &mut Outcome) {
        let state = match &out.branch {
            Some(b) => b.state.as_ref().map(|s| s.as_str().to_string()),
            None => self.obj.status.as_ref().and_then(|s| s.state.clone()),
        };
        out.registered = self.register(state);
        out.progress = match &out.branch {
            Some(b) => waiting_for_branch(self.t, b),
            // Still pending as the poller saw it: keep what the status says.
            None => Progress::Waiting {
                reason: reason::BRANCH_NOT_READY,
                message: self.waiting_message(),
            },
        };
    }

    fn waiting_message(&self) -> String {
        let status = self.obj.status.as_ref();
        let ready = status.and_then(|s| find_condition(&s.conditions, READY));
        ready.map_or_else(
            || format!("waiting for branch {} to be ready", self.t.name),
            |c| c.message.clone(),
        )
    }

    /// Lets the poller wake the resource once its pending branch changes; false when no
    /// controller runs to be woken.
    fn register(&self, state: Option<String>) -> bool {
        let Some(wake) = self.r.wake_for(&self.t.namespace) else {
            return false;
        };
        let obj = ObjectRef::from_obj(self.obj);
        let client = self.observed.client.clone();
        let db = &self.observed.db;
        self.r
            .poller
            .wait_for(db, &self.t.name, obj, wake, client, state);
        true
    }

    async fn create(
        &mut self,
        body: CreateBody,
        recreate: bool,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        let (t, ps) = (self.t, &self.observed.client);
        let result = match &body {
            CreateBody::Vitess(b) => ps.create_branch(&t.org, &t.db, b).await,
            CreateBody::Postgres(b) => ps.create_postgres_branch(&t.org, &t.db, b).await,
        };
        let body = body.branch();
        let created = match result {
            Ok(created) => created,
            Err(e) => {
                out.create_refused = definitely_not_created(&e);
                let progress = create_failed(ps, t, body, e).await?;
                out.progress = progress;
                return Ok(());
            }
        };
        self.r.schedule.reset_polls(&t.key);
        let parent = body
            .parent_branch
            .as_deref()
            .unwrap_or("the default branch");
        out.created = Some(Created {
            recreate,
            parent: parent.to_string(),
        });
        out.branch = Some(created.clone());
        self.seen = Some(created.clone());
        if !created.ready {
            self.await_branch(out);
            return Ok(());
        }
        // Ready at once (e.g. a restore of a small backup): correct its settings now.
        for fix in fixes(&self.obj.spec, &created) {
            let updated = apply_fix(ps, t, fix).await?;
            out.branch = Some(updated);
            out.fixed.push(fix);
        }
        Ok(())
    }
}

/// Whether the API's answer proves that nothing was created (unlike a timeout or a 5xx).
fn definitely_not_created(e: &ApiError) -> bool {
    matches!(e.status(), Some(400 | 401 | 403 | 404 | 409 | 422))
}

/// What a refused create means: a wait (database or parent not ready yet), or an error that
/// says what to fix.
async fn create_failed(
    ps: &impl PlanetScale,
    t: &Target,
    body: &CreateBranch,
    e: ApiError,
) -> Result<Progress, Error> {
    let message = e.message().unwrap_or("no details").to_string();
    let parent = body.parent_branch.as_deref().unwrap_or("(default)");
    Err(match e.kind() {
        ErrorKind::DatabaseInitializing => return Ok(waiting_for_database(t)),
        ErrorKind::NotReady => {
            return Ok(Progress::Waiting {
                reason: reason::BRANCH_NOT_READY,
                message: format!("cannot create branch {} yet: {message}", t.name),
            });
        }
        ErrorKind::AlreadyExists => {
            let existing = get_branch(ps, t).await.ok().flatten();
            already_exists(t, existing.as_ref().map(|b| b.id.as_str()))
        }
        ErrorKind::NotFound => {
            // A missing database explains a 404 better than a missing parent.
            if let Err(missing @ Error::Invalid { .. }) = get_database(ps, t).await {
                return Err(missing);
            }
            parent_not_found(t, parent, body.backup_id.as_deref())
        }
        _ if matches!(e.status(), Some(400 | 422)) => Error::Invalid {
            reason: Error::from(e).reason(),
            message: format!("PlanetScale refused to create branch {}: {message}", t.name),
        },
        _ => e.into(),
    })
}

fn parent_not_found(t: &Target, parent: &str, backup: Option<&str>) -> Error {
    match backup {
        None => Error::Invalid {
            reason: branch_reason::PARENT_NOT_FOUND,
            message: format!(
                "cannot create branch {}: PlanetScale answered 404 — parent branch {parent} does \
                 not exist in {}/{}, or the credentials lack the create_branch access (PlanetScale \
                 answers 404 for both): check spec.parentBranch and the token's accesses",
                t.name, t.org, t.db
            ),
        },
        Some(backup) => Error::Invalid {
            reason: branch_reason::BACKUP_NOT_FOUND,
            message: format!(
                "cannot create branch {}: PlanetScale answered 404 — backup {backup} (or parent \
                 branch {parent}) does not exist in {}/{}, or the credentials lack the \
                 restore_backup access: check spec.backupId and the token's accesses",
                t.name, t.org, t.db
            ),
        },
    }
}

fn waiting_for_database(t: &Target) -> Progress {
    Progress::Waiting {
        reason: branch_reason::DATABASE_NOT_READY,
        message: format!(
            "database {} is still initializing; branch {} is created once it is ready",
            t.db, t.name
        ),
    }
}

fn waiting_for_branch(t: &Target, branch: &Branch) -> Progress {
    let state = branch.state.as_ref().map_or("unknown", |s| s.as_str());
    Progress::Waiting {
        reason: reason::BRANCH_NOT_READY,
        message: format!("waiting for branch {} to be ready (state {state})", t.name),
    }
}

fn already_exists(t: &Target, id: Option<&str>) -> Error {
    let id = id.map(|i| format!(" (id {i})")).unwrap_or_default();
    Error::Invalid {
        reason: branch_reason::ALREADY_EXISTS,
        message: format!(
            "a branch named {}{id} already exists in {}/{} and was not created by this resource: \
             set spec.adopt: true to manage it, or choose another spec.branchName",
            t.name, t.org, t.db
        ),
    }
}

fn missing_observed(t: &Target) -> Error {
    Error::Invalid {
        reason: reason::OBSERVED_NOT_FOUND,
        message: format!(
            "branch {} does not exist in {}/{} (or the credentials cannot see it), and \
             managementPolicy: Observe never creates it: check spec.branchName and \
             spec.database, or set managementPolicy: Manage to create it",
            t.name, t.org, t.db
        ),
    }
}

async fn apply_fix(ps: &impl PlanetScale, t: &Target, fix: Fix) -> Result<Branch, Error> {
    let (org, db, name) = (t.org.as_str(), t.db.as_str(), t.name.as_str());
    let result = match fix {
        Fix::Promote => ps.promote_branch(org, db, name).await,
        Fix::Demote => ps.demote_branch(org, db, name).await,
        Fix::EnableSafeMigrations => ps.enable_safe_migrations(org, db, name).await,
        Fix::DisableSafeMigrations => ps.disable_safe_migrations(org, db, name).await,
        Fix::DeletionProtection(on) => {
            let body = UpdateBranch {
                deletion_protected: Some(on),
                ..UpdateBranch::default()
            };
            ps.update_branch(org, db, name, &body).await
        }
    };
    result.map_err(|e| match e {
        ApiError::Unprocessable { .. } | ApiError::BadRequest { .. } => {
            let message = format!(
                "PlanetScale refused to change branch {name} ({}): {}",
                describe(fix),
                e.message().unwrap_or("no details")
            );
            Error::Invalid {
                reason: Error::from(e).reason(),
                message,
            }
        }
        e => e.into(),
    })
}
