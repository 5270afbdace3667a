//! Build a world from a [`Seed`] (config file, admin seed, or the built-in default).

use chrono::{DateTime, Utc};

use crate::app::DefaultToken;
use crate::auth::expand_accesses;
use crate::config::{Seed, SeedBranch, SeedDatabase, SeedOAuthApp, SeedOrg, SeedToken, SeedUser};
use crate::ids::{hash_secret, new_id, new_secret};
use crate::model::{Branch, DbSettings, Grant, OAuthApp, Org, ServiceToken, User, World};
use crate::routes::databases::{NewDatabase, insert_database};
use crate::schema::parse_tables;

/// Why a seed was rejected.
#[derive(Debug, thiserror::Error)]
#[error("invalid seed: {0}")]
pub struct SeedError(pub String);

fn err(text: impl Into<String>) -> SeedError {
    SeedError(text.into())
}

/// Build a fresh world (clock offset 0) from a seed.
pub fn build_world(seed: &Seed, now: DateTime<Utc>) -> Result<World, SeedError> {
    let mut w = World::default();
    for o in &seed.organizations {
        add_org(&mut w, o, now)?;
    }
    for u in &seed.users {
        add_user(&mut w, u, now)?;
    }
    for t in &seed.service_tokens {
        let token = seed_token(&w, t, now)?;
        w.service_tokens.push(token);
    }
    for a in &seed.oauth_applications {
        let app = seed_app(&w, a, now)?;
        w.oauth_apps.push(app);
    }
    Ok(w)
}

fn add_org(w: &mut World, o: &SeedOrg, now: DateTime<Utc>) -> Result<(), SeedError> {
    if w.orgs.iter().any(|x| x.name == o.name) || !crate::ids::valid_name(&o.name) {
        return Err(err(format!(
            "organization name {:?} is invalid or repeated",
            o.name
        )));
    }
    let org_id = o.id.clone().unwrap_or_else(new_id);
    w.orgs.push(Org {
        id: org_id.clone(),
        name: o.name.clone(),
        plan: o.plan.clone().unwrap_or_else(|| "scaler_pro".into()),
        billing_email: format!("billing@{}.example.com", o.name),
        created_at: now,
        updated_at: now,
    });
    o.databases
        .iter()
        .try_for_each(|d| add_database(w, &org_id, d, now))
}

fn add_user(w: &mut World, u: &SeedUser, now: DateTime<Utc>) -> Result<(), SeedError> {
    let org_id = |name: &String| {
        w.org_idx(name)
            .map(|i| w.orgs[i].id.clone())
            .map_err(|_| err(format!("user {}: unknown organization {name}", u.name)))
    };
    let org_ids = u
        .organizations
        .iter()
        .map(org_id)
        .collect::<Result<Vec<_>, _>>()?;
    let default_email = || format!("{}@example.com", u.name.to_lowercase().replace(' ', "."));
    let email = u.email.clone().unwrap_or_else(default_email);
    let id = u.id.clone().unwrap_or_else(new_id);
    w.users.push(User {
        id,
        name: u.name.clone(),
        email,
        org_ids,
        created_at: now,
    });
    Ok(())
}

fn add_database(
    w: &mut World,
    org_id: &str,
    d: &SeedDatabase,
    now: DateTime<Utc>,
) -> Result<(), SeedError> {
    if !crate::ids::valid_name(&d.name)
        || w.databases
            .iter()
            .any(|x| x.org_id == org_id && x.name == d.name)
    {
        return Err(err(format!(
            "database name {:?} is invalid or repeated",
            d.name
        )));
    }
    let region = d
        .region
        .clone()
        .unwrap_or_else(|| crate::views::DEFAULT_REGION.into());
    if !crate::views::region_exists(&region) {
        return Err(err(format!("database {}: unknown region {region}", d.name)));
    }
    let cluster = d.cluster_size.clone().unwrap_or_else(|| "PS_10".into());
    let kind = seed_kind(d)?;
    let new = NewDatabase {
        id: d.id.clone(),
        org_id,
        name: &d.name,
        region: &region,
        cluster: &cluster,
        kind,
        ready_at: now,
    };
    let i = insert_database(w, new, now);
    let db = &mut w.databases[i];
    db.default_branch = d.default_branch.clone();
    db.settings = DbSettings {
        require_approval_for_deploy: d.require_approval_for_deploy,
        allow_data_branching: d.allow_data_branching,
        deletion_protected: d.deletion_protected,
        restrict_branch_region: d.restrict_branch_region,
        foreign_keys_enabled: d.foreign_keys_enabled,
        ..DbSettings::default()
    };
    let db_id = db.id.clone();
    configure_default_branch(w, &db_id, d)?;
    for b in &d.branches {
        add_branch(w, &db_id, &d.default_branch, b, now)?;
    }
    Ok(())
}

/// The engine of a seeded database; PostgreSQL databases take neither a MySQL schema nor
/// safe migrations.
fn seed_kind(d: &SeedDatabase) -> Result<&'static str, SeedError> {
    match d.kind.as_deref() {
        None | Some("mysql") => Ok("mysql"),
        Some("postgresql") if d.safe_migrations || !d.schema.is_empty() => Err(err(format!(
            "database {}: PostgreSQL databases take no schema and no safe migrations (Vitess only)",
            d.name
        ))),
        Some("postgresql") => Ok(crate::model::POSTGRESQL),
        Some(other) => Err(err(format!(
            "database {}: kind {other:?} must be mysql or postgresql",
            d.name
        ))),
    }
}

/// Name, safe migrations and schema of a seeded database's default branch.
fn configure_default_branch(w: &mut World, db_id: &str, d: &SeedDatabase) -> Result<(), SeedError> {
    let schema = parse_tables(&d.schema).map_err(|e| err(format!("database {}: {e}", d.name)))?;
    let main = w
        .branches
        .iter_mut()
        .rev()
        .find(|b| b.db_id == db_id)
        .expect("insert_database adds the default branch");
    main.name = d.default_branch.clone();
    main.safe_migrations = d.safe_migrations;
    main.base_schema = schema.clone();
    main.schema = schema;
    Ok(())
}

fn add_branch(
    w: &mut World,
    db_id: &str,
    default: &str,
    b: &SeedBranch,
    now: DateTime<Utc>,
) -> Result<(), SeedError> {
    if !crate::ids::valid_name(&b.name) || w.branch_idx(db_id, &b.name).is_ok() {
        return Err(err(format!(
            "branch name {:?} is invalid or repeated",
            b.name
        )));
    }
    let parent_name = b.parent.clone().unwrap_or_else(|| default.to_string());
    let parent = w
        .branch_idx(db_id, &parent_name)
        .map_err(|_| err(format!("branch {}: unknown parent {parent_name}", b.name)))?;
    let parent = w.branches[parent].clone();
    let schema = match &b.schema {
        Some(stmts) => parse_tables(stmts).map_err(|e| err(format!("branch {}: {e}", b.name)))?,
        None => parent.schema.clone(),
    };
    let cluster = if b.production {
        parent.cluster_name.clone()
    } else {
        "PS_DEV".into()
    };
    w.branches.push(Branch {
        id: new_id(),
        db_id: db_id.into(),
        name: b.name.clone(),
        parent: Some(parent_name),
        production: b.production,
        safe_migrations: b.safe_migrations && b.production,
        deletion_protected: b.deletion_protected,
        region: parent.region.clone(),
        cluster_name: cluster,
        ready_at: now,
        created_at: now,
        updated_at: now,
        schema_last_updated_at: None,
        base_schema: parent.schema.clone(),
        schema,
        actor: None,
        restored_from: None,
        mysql_host: None,
    });
    Ok(())
}

fn grants_for(
    w: &World,
    org: &str,
    db: Option<&str>,
    accesses: &[String],
) -> Result<Vec<Grant>, SeedError> {
    let org_id = w.orgs[w
        .org_idx(org)
        .map_err(|_| err(format!("unknown organization {org}")))?]
    .id
    .clone();
    let db_id = match db {
        Some(db) => Some(
            w.databases[w
                .db_idx(org, db)
                .map_err(|_| err(format!("unknown database {org}/{db}")))?]
            .id
            .clone(),
        ),
        None => None,
    };
    let names = expand_accesses(accesses, db_id.is_none()).map_err(err)?;
    Ok(names
        .into_iter()
        .map(|access| Grant {
            id: new_id(),
            org_id: org_id.clone(),
            db_id: db_id.clone(),
            access,
        })
        .collect())
}

pub(crate) fn seed_token(
    w: &World,
    t: &SeedToken,
    now: DateTime<Utc>,
) -> Result<ServiceToken, SeedError> {
    let mut grants = Vec::new();
    for a in &t.accesses {
        grants.extend(grants_for(
            w,
            &t.organization,
            a.database.as_deref(),
            &a.accesses,
        )?);
    }
    let org_id = w.orgs[w
        .org_idx(&t.organization)
        .map_err(|_| err(format!("unknown organization {}", t.organization)))?]
    .id
    .clone();
    let secret = t
        .token
        .as_ref()
        .map_or_else(|| new_secret("pscale_tkn_"), |t| t.expose().to_string());
    Ok(ServiceToken {
        id: t.id.clone().unwrap_or_else(new_id),
        org_id,
        name: t.name.clone(),
        secret_hash: hash_secret(&secret),
        created_at: now,
        expires_at: None,
        last_used_at: None,
        grants,
        is_default: false,
    })
}

fn seed_app(w: &World, a: &SeedOAuthApp, now: DateTime<Utc>) -> Result<OAuthApp, SeedError> {
    let org_id = w.orgs[w
        .org_idx(&a.organization)
        .map_err(|_| err(format!("unknown organization {}", a.organization)))?]
    .id
    .clone();
    let user = match &a.user {
        Some(u) => w.users.iter().find(|x| &x.name == u || &x.id == u),
        None => w.users.first(),
    };
    let user = user.ok_or_else(|| {
        err(format!(
            "OAuth application {}: no user to authorize as",
            a.name
        ))
    })?;
    Ok(OAuthApp {
        id: a.id.clone().unwrap_or_else(new_id),
        org_id,
        name: a.name.clone(),
        client_id: a.client_id.clone(),
        client_secret_hash: hash_secret(a.client_secret.expose()),
        redirect_uri: a.redirect_uri.clone(),
        scopes: a.scopes.clone(),
        user_id: user.id.clone(),
        created_at: now,
    })
}

/// Replace the default token: full organization-wide access on every organization.
pub fn install_default_token(w: &mut World, token: &DefaultToken, now: DateTime<Utc>) {
    w.service_tokens
        .retain(|t| !t.is_default && t.id != token.id);
    let Some(owner) = w.orgs.first().map(|o| o.id.clone()) else {
        return;
    };
    let all = vec!["all".to_string()];
    let grants = w
        .orgs
        .iter()
        .flat_map(|o| grants_for(w, &o.name, None, &all).unwrap_or_default())
        .collect();
    w.service_tokens.push(ServiceToken {
        id: token.id.clone(),
        org_id: owner,
        name: Some("emulator-default".into()),
        secret_hash: hash_secret(&token.secret),
        created_at: now,
        expires_at: None,
        last_used_at: None,
        grants,
        is_default: true,
    });
}
