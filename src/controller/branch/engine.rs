//! The database's engine (Vitess/MySQL or PostgreSQL), the spec fields only one of them has,
//! and the create request each takes. Pure.
//!
//! PlanetScale decides the engine per database (`kind`); a branch inherits it. The operator
//! reads it from the branch (or the database, before the branch exists) rather than asking
//! the user to repeat it, and refuses a field the engine does not have before any call that
//! changes something: PlanetScale would refuse some of them (promote, safe migrations on
//! PostgreSQL; `restore_point` on Vitess) and might ignore others, which a user would not see.
use planetscale_api::models::{Branch, CreateBranch, CreatePostgresBranch, Database, DatabaseKind};

use crate::crd::branch::{PlanetScaleBranchSpec, PlanetScaleBranchStatus, reason};
use crate::error::Error;
use crate::time::from_time;

/// A database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Vitess (MySQL).
    Vitess,
    /// PostgreSQL.
    Postgres,
}

impl Engine {
    /// The engine of an API `kind`; `None` for one the operator does not know.
    pub fn of(kind: &DatabaseKind) -> Option<Self> {
        match kind {
            DatabaseKind::Mysql => Some(Self::Vitess),
            DatabaseKind::Postgresql => Some(Self::Postgres),
            DatabaseKind::Unknown(_) => None,
        }
    }

    /// The engine as far as this pass knows it: the branch's `kind`, else the database's,
    /// else the one recorded in status.
    pub fn known(
        branch: Option<&Branch>,
        database: Option<&Database>,
        status: &PlanetScaleBranchStatus,
    ) -> Option<Self> {
        let kind = branch.and_then(|b| b.kind.clone());
        let kind = kind.or_else(|| database.and_then(|d| d.kind.clone()));
        let kind = kind.or_else(|| status.kind.as_deref().map(DatabaseKind::from));
        kind.as_ref().and_then(Self::of)
    }

    /// How messages name it.
    fn describe(self) -> &'static str {
        match self {
            Self::Vitess => "a Vitess (MySQL) database",
            Self::Postgres => "a PostgreSQL database",
        }
    }
}

/// The spec fields that are set and that `engine` does not have, as `spec.<field>`.
pub fn unsupported_fields(spec: &PlanetScaleBranchSpec, engine: Engine) -> Vec<&'static str> {
    let set = match engine {
        Engine::Postgres => [
            ("spec.seedData", spec.seed_data.is_some()),
            ("spec.safeMigrations", spec.safe_migrations.is_some()),
            ("spec.production", spec.production.is_some()),
        ]
        .to_vec(),
        Engine::Vitess => [
            ("spec.restoreFrom", spec.restore_from.is_some()),
            ("spec.majorVersion", spec.major_version.is_some()),
        ]
        .to_vec(),
    };
    set.into_iter()
        .filter_map(|(field, is_set)| is_set.then_some(field))
        .collect()
}

/// The refusal of `fields` (not empty) on a database of `engine`: what to remove and why.
pub fn unsupported(fields: &[&str], engine: Engine, database: &str) -> Error {
    let (only, what) = match engine {
        Engine::Postgres => ("Vitess (MySQL)", "PostgreSQL branches"),
        Engine::Vitess => ("PostgreSQL", "Vitess branches"),
    };
    let list = fields.join(", ");
    let verb = if fields.len() == 1 {
        "applies"
    } else {
        "apply"
    };
    Error::Invalid {
        reason: reason::FIELD_NOT_FOR_ENGINE,
        message: format!(
            "{list} {verb} only to {only} databases, and database {database} is {}: remove \
             {list} ({what} have no such setting); nothing was changed in PlanetScale",
            engine.describe()
        ),
    }
}

/// A create request, as the engine takes it.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateBody {
    /// `create_branch`.
    Vitess(CreateBranch),
    /// `create_branch` with the PostgreSQL fields (point in time, major version).
    Postgres(CreatePostgresBranch),
}

impl CreateBody {
    /// The fields both engines take (name, parent, backup, …).
    pub fn branch(&self) -> &CreateBranch {
        match self {
            Self::Vitess(b) => b,
            Self::Postgres(p) => &p.branch,
        }
    }

    /// `common` as `engine` takes it: on PostgreSQL (or an unknown engine with PostgreSQL
    /// fields set) with the point in time and the major version.
    pub fn new(spec: &PlanetScaleBranchSpec, engine: Option<Engine>, common: CreateBranch) -> Self {
        let postgres_fields = spec.restore_from.is_some() || spec.major_version.is_some();
        match engine {
            Some(Engine::Postgres) => Self::Postgres(postgres(spec, common)),
            None if postgres_fields => Self::Postgres(postgres(spec, common)),
            _ => Self::Vitess(common),
        }
    }
}

fn postgres(spec: &PlanetScaleBranchSpec, branch: CreateBranch) -> CreatePostgresBranch {
    CreatePostgresBranch {
        branch,
        restore_point: spec
            .restore_from
            .as_ref()
            .map(|r| from_time(&r.point_in_time)),
        major_version: spec.major_version.clone(),
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
