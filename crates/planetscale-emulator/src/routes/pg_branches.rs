//! The PostgreSQL side of database and branch creation: `major_version` and `restore_point`
//! (point-in-time recovery), refused on MySQL databases.

use chrono::{DateTime, Utc};

use crate::app::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::model::{MAJOR_VERSIONS, POSTGRESQL, PgBranch, World};

fn check_version(version: &str) -> ApiResult<()> {
    if MAJOR_VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(format!(
            "major_version {version} is not available: use one of {}",
            MAJOR_VERSIONS.join(", ")
        )))
    }
}

/// The major version a new database asks for: `None` for MySQL (refused when set) or when
/// unset (the default applies).
pub fn database_major_version(kind: &str, requested: Option<&str>) -> ApiResult<Option<String>> {
    match requested {
        None => Ok(None),
        Some(_) if kind != POSTGRESQL => Err(ApiError::unprocessable(
            "major_version is only available for PostgreSQL databases",
        )),
        Some(v) => check_version(v).map(|()| Some(v.to_string())),
    }
}

/// Record the Postgres attributes of a branch.
pub fn record(w: &mut World, branch_id: &str, major_version: String, point: Option<DateTime<Utc>>) {
    w.pg_branches.retain(|p| p.branch_id != branch_id);
    w.pg_branches.push(PgBranch {
        branch_id: branch_id.to_string(),
        major_version,
        restore_point: point,
    });
}

/// What a branch create request asks of Postgres.
pub struct PgRequest<'a> {
    /// Parent branch name (default: the database's default branch).
    pub parent: Option<&'a str>,
    /// `restore_point`, unparsed.
    pub restore_point: Option<&'a str>,
    /// `major_version`.
    pub major_version: Option<&'a str>,
    /// Whether the request restores a backup or seeds data (`restore_point` cannot be combined).
    pub from_backup: bool,
}

/// The Postgres attributes of a new branch of database `d`: `None` for MySQL databases
/// (where `restore_point` and `major_version` are refused). A restore point must parse as
/// RFC 3339, be in the past and not before the parent branch existed.
pub fn plan_branch(
    ctx: &Ctx<'_>,
    d: usize,
    req: &PgRequest<'_>,
) -> ApiResult<Option<(String, Option<DateTime<Utc>>)>> {
    let db = &ctx.world.databases[d];
    if db.kind != POSTGRESQL {
        return match (req.restore_point, req.major_version) {
            (Some(_), _) => Err(ApiError::unprocessable(
                "restore_point is only available for PostgreSQL databases",
            )),
            (None, Some(_)) => Err(ApiError::unprocessable(
                "major_version is only available for PostgreSQL databases",
            )),
            (None, None) => Ok(None),
        };
    }
    let parent_name = req
        .parent
        .filter(|p| !p.is_empty())
        .unwrap_or(&db.default_branch);
    let parent = &ctx.world.branches[ctx.world.branch_idx(&db.id, parent_name)?];
    let point = match req.restore_point {
        None => None,
        Some(_) if req.from_backup => {
            return Err(ApiError::unprocessable(
                "restore_point cannot be combined with backup_id or seed_data",
            ));
        }
        Some(text) => Some(check_point(ctx, parent, text)?),
    };
    let version = match req.major_version {
        Some(v) => check_version(v).map(|()| v.to_string())?,
        None => ctx.world.major_version(&parent.id),
    };
    Ok(Some((version, point)))
}

fn check_point(
    ctx: &Ctx<'_>,
    parent: &crate::model::Branch,
    text: &str,
) -> ApiResult<DateTime<Utc>> {
    let point = DateTime::parse_from_rfc3339(text)
        .map_err(|_| {
            ApiError::unprocessable(format!(
                "restore_point {text:?} is not a timestamp like 2025-01-01T00:00:00Z"
            ))
        })?
        .with_timezone(&Utc);
    if point > ctx.now {
        return Err(ApiError::unprocessable(
            "restore_point cannot be in the future",
        ));
    }
    if point < parent.created_at {
        return Err(ApiError::unprocessable(format!(
            "restore_point is before branch {} existed: no data to restore",
            parent.name
        )));
    }
    Ok(point)
}
