//! The Secret applications mount: whose it is, whether it holds the current credentials, what
//! it should contain, and writing it (server-side apply, so `Merge` only touches our keys).
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};

use super::plan::{Creds, SecretState};
use planetscale_api::models::Password;

use crate::connection::{
    ConnectionInfo, Engine, Preset, SecretData, credentials_hash, parse_back, to_secret_data,
};
use crate::controller::target::Target;
use crate::controller::{FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use crate::crd::password::{PlanetScalePassword, PlanetScalePasswordStatus};
use crate::crd::password_secret::{CreationPolicy, SecretFormat};
use crate::error::Error;

/// Annotation naming the `PlanetScalePassword` whose credentials a Secret holds.
pub const PASSWORD_ANNOTATION: &str = "planetscale.operator.dev/password";

/// What the controller knows about the Secret. Holds the plaintext: never log it.
#[derive(Default)]
pub struct SecretView {
    pub exists: bool,
    /// Written by this resource (our label and annotation), or the policy is `Merge`.
    pub writable: bool,
    /// Another `PlanetScalePassword` whose credentials the Secret holds (its annotation).
    pub holder: Option<String>,
    /// The `username` and `password` keys, when both are usable.
    pub creds: Option<(String, planetscale_api::Secret)>,
    data: BTreeMap<String, ByteString>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    owned: bool,
    /// The data keys our field manager owns (from `managedFields`).
    our_keys: BTreeSet<String>,
}

impl SecretView {
    /// Reads a Secret (or its absence) for `obj`.
    pub fn new(secret: Option<Secret>, obj: &PlanetScalePassword) -> Self {
        let Some(secret) = secret else {
            return Self::default();
        };
        let policy = obj.spec.secret.creation_policy;
        let holder = secret.annotations().get(PASSWORD_ANNOTATION).cloned();
        let labelled =
            secret.labels().get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY_VALUE);
        let ours = holder.as_deref() == Some(obj.name_any().as_str());
        // Merge may write into any Secret, except one that holds another resource's password.
        let writable =
            (ours && labelled) || (policy == CreationPolicy::Merge && (ours || holder.is_none()));
        let uid = obj.uid().unwrap_or_default();
        let data = secret.data.clone().unwrap_or_default();
        Self {
            exists: true,
            writable,
            holder: holder.filter(|h| *h != obj.name_any()),
            creds: parse_back(&data),
            owned: secret.owner_references().iter().any(|o| o.uid == uid),
            our_keys: managed_data_keys(&secret),
            labels: secret.labels().clone(),
            annotations: secret.annotations().clone(),
            data,
        }
    }

    /// The Secret's state for planning: does it hold the current password of `status`?
    pub fn state(&self, status: &PlanetScalePasswordStatus) -> SecretState {
        if !self.exists {
            return SecretState::Missing;
        }
        if !self.writable {
            return SecretState::Foreign;
        }
        let Some((username, password)) = &self.creds else {
            return SecretState::Ours(Creds::Absent);
        };
        let info = ConnectionInfo {
            host: status.host.clone().unwrap_or_default(),
            username: username.clone(),
            password: password.clone(),
            ..ConnectionInfo::default()
        };
        let matches = status.username.as_ref() == Some(username)
            && status.credentials_hash.as_deref() == Some(credentials_hash(&info).as_str());
        SecretState::Ours(if matches {
            Creds::Match
        } else {
            Creds::Mismatch
        })
    }

    /// The username in the Secret, if it has usable credentials.
    pub fn username(&self) -> Option<&str> {
        self.creds.as_ref().map(|(u, _)| u.as_str())
    }

    /// Whether applying `desired` would change anything.
    pub fn differs(&self, desired: &Secret) -> bool {
        let want = desired.data.clone().unwrap_or_default();
        let data_differs = want.iter().any(|(k, v)| self.data.get(k) != Some(v))
            || self.our_keys.iter().any(|k| !want.contains_key(k));
        let subset = |want: &BTreeMap<String, String>, have: &BTreeMap<String, String>| {
            want.iter().all(|(k, v)| have.get(k) == Some(v))
        };
        let owner_wanted = desired.metadata.owner_references.is_some();
        !self.exists
            || data_differs
            || !subset(desired.labels(), &self.labels)
            || !subset(desired.annotations(), &self.annotations)
            || owner_wanted != self.owned
    }
}

/// The data keys the operator's field manager owns in `secret`.
fn managed_data_keys(secret: &Secret) -> BTreeSet<String> {
    let entries = secret.metadata.managed_fields.iter().flatten();
    entries
        .filter(|m| m.manager.as_deref() == Some(FIELD_MANAGER))
        .filter_map(|m| m.fields_v1.as_ref())
        .filter_map(|f| f.0.get("f:data")?.as_object().cloned())
        .flat_map(|data| data.into_iter().map(|(k, _)| k))
        .filter_map(|k| k.strip_prefix("f:").map(str::to_string))
        .collect()
}

/// The connection info of password `p` with its `plaintext`, on `target`.
pub fn connection_info(
    obj: &PlanetScalePassword,
    target: &Target,
    p: &Password,
    plaintext: &planetscale_api::Secret,
    engine: Engine,
) -> ConnectionInfo {
    ConnectionInfo {
        host: p.access_host_url.clone().unwrap_or_default(),
        port: engine.port(),
        username: p.username.clone().unwrap_or_default(),
        password: plaintext.clone(),
        database: connect_database(engine, target),
        branch: target.branch.clone(),
        organization: target.organization.clone(),
        region: p
            .region
            .as_ref()
            .map(|r| r.slug.clone())
            .unwrap_or_default(),
        role: obj.spec.role.as_str().to_string(),
        engine,
    }
}

/// The database name in connection strings: the PlanetScale database's name on Vitess; on
/// PostgreSQL the one database every branch serves, `postgres` (the roles' `database_name`).
fn connect_database(engine: Engine, target: &Target) -> String {
    match engine {
        Engine::Mysql => target.database.clone(),
        Engine::Postgres => POSTGRES_DATABASE.to_string(),
    }
}

/// The database PostgreSQL roles connect to on every branch.
pub const POSTGRES_DATABASE: &str = "postgres";

/// The presets the spec selects.
pub fn presets(obj: &PlanetScalePassword) -> Vec<Preset> {
    obj.spec
        .secret
        .formats
        .iter()
        .map(|f| match f {
            SecretFormat::MysqlUrl => Preset::MysqlUrl,
            SecretFormat::Prisma => Preset::Prisma,
            SecretFormat::GoSqlDriver => Preset::GoSqlDriver,
            SecretFormat::Jdbc => Preset::Jdbc,
            SecretFormat::Rails => Preset::Rails,
            SecretFormat::Laravel => Preset::Laravel,
            SecretFormat::Env => Preset::Env,
            SecretFormat::PostgresqlUrl => Preset::PostgresqlUrl,
        })
        .collect()
}

/// Renders the Secret's data for `info` with the spec's presets and template.
pub fn render(obj: &PlanetScalePassword, info: &ConnectionInfo) -> Result<SecretData, Error> {
    let template: Option<BTreeMap<String, String>> = obj.spec.secret.template.as_ref().map(|t| {
        t.data
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect()
    });
    crate::connection::render(info, &presets(obj), template.as_ref()).map_err(|e| render_error(&e))
}

/// A render error as the `Invalid` error the user must fix, with the render error's own
/// reason (`TemplateFailed`, `FormatConflict`, …). It never quotes values.
pub fn render_error(e: &crate::connection::RenderError) -> Error {
    Error::Invalid {
        reason: e.reason(),
        message: format!("the Secret cannot be rendered: {e}"),
    }
}

/// The Secret as the operator applies it: our label and annotation, the spec's labels and
/// annotations, an owner reference with `Owner`, and `data`.
pub fn desired(obj: &PlanetScalePassword, name: &str, data: &SecretData) -> Secret {
    let s = &obj.spec.secret;
    let mut labels: BTreeMap<String, String> = s
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY_VALUE.into());
    let mut annotations: BTreeMap<String, String> = s
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    annotations.insert(PASSWORD_ANNOTATION.into(), obj.name_any());
    let owner = (s.creation_policy == CreationPolicy::Owner)
        .then(|| obj.controller_owner_ref(&()))
        .flatten();
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: obj.namespace(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: owner.map(|o| vec![o]),
            ..Default::default()
        },
        type_: (s.creation_policy != CreationPolicy::Merge).then(|| "Opaque".to_string()),
        data: Some(to_secret_data(data)),
        ..Default::default()
    }
}

/// Applies `secret` (server-side apply, forced: only our fields are affected).
pub async fn write(api: &Api<Secret>, secret: &Secret) -> Result<(), Error> {
    let name = secret.name_any();
    let mut body = serde_json::to_value(secret).map_err(|e| Error::Invalid {
        reason: "SecretEncoding",
        message: format!("cannot encode Secret {name}: {e}"),
    })?;
    body["apiVersion"] = "v1".into();
    body["kind"] = "Secret".into();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(&body)).await?;
    Ok(())
}

/// Lets go of a Secret this resource wrote, as its creation policy says: `Owner` deletes it,
/// `Orphan` leaves it, `Merge` removes our keys, label and annotation. A Secret that is not
/// ours is left alone.
pub async fn release(
    api: &Api<Secret>,
    obj: &PlanetScalePassword,
    name: &str,
) -> Result<(), Error> {
    let Some(secret) = api.get_opt(name).await? else {
        return Ok(());
    };
    let view = SecretView::new(Some(secret), obj);
    match obj.spec.secret.creation_policy {
        CreationPolicy::Orphan => Ok(()),
        CreationPolicy::Owner if view.writable => {
            match api.delete(name, &DeleteParams::default()).await {
                Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
                Err(e) => Err(e.into()),
                Ok(_) => Ok(()),
            }
        }
        CreationPolicy::Owner => Ok(()),
        CreationPolicy::Merge if view.writable => {
            let empty = serde_json::json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": obj.namespace()},
            });
            let params = PatchParams::apply(FIELD_MANAGER).force();
            api.patch(name, &params, &Patch::Apply(&empty)).await?;
            Ok(())
        }
        CreationPolicy::Merge => Ok(()),
    }
}
