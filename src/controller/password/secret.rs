//! The Secret applications mount: whose it is, whether it holds the current credentials, what
//! it should contain, and writing it (server-side apply, so `Merge` only touches our keys).
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};

use super::ownership::{self, CREATED_ANNOTATION, Claim};
use super::plan::{Creds, SecretState};
use planetscale_api::models::Password;

use crate::connection::{
    ConnectionInfo, Engine, PLACEHOLDER_PASSWORD, Preset, Rendered, credentials_hash, parse_back,
    to_secret_data,
};
use crate::controller::target::Target;
use crate::controller::{FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use crate::crd::password::{PlanetScalePassword, PlanetScalePasswordStatus};
use crate::crd::password_secret::{CreationPolicy, SecretFormat};
use crate::error::Error;

/// Annotation naming the `PlanetScalePassword` whose credentials a Secret holds.
pub const PASSWORD_ANNOTATION: &str = "planetscale.operator.dev/password";

/// Annotation with a hash of the spec the Secret's data was rendered from (`secret.formats`
/// and `secret.template`): a spec change rewrites the Secret (with an event) whatever the
/// rendered values, so that whether it is rewritten never depends on the password.
pub const TEMPLATE_ANNOTATION: &str = "planetscale.operator.dev/template-hash";

/// Annotation listing the template keys that render for the placeholder password but not for
/// the real one (left empty). Only readers of the Secret see it, and they can read the
/// password anyway; nothing on the resource says so (see [`crate::connection`]).
pub const UNRENDERED_ANNOTATION: &str = "planetscale.operator.dev/unrendered-keys";

/// What the controller knows about the Secret. Holds the plaintext: never log it.
#[derive(Default)]
pub struct SecretView {
    pub exists: bool,
    /// Whether it may be written, and whether it is ours as a whole ([`ownership`]).
    pub claim: Claim,
    /// It names this resource in its annotation: we wrote into it.
    pub written: bool,
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
        let claim = ownership::claim(&secret, obj, &keys(obj));
        let written = secret.annotations().get(PASSWORD_ANNOTATION) == Some(&obj.name_any());
        let uid = obj.uid().unwrap_or_default();
        let data = secret.data.clone().unwrap_or_default();
        Self {
            exists: true,
            claim,
            written,
            creds: parse_back(&data),
            owned: secret.owner_references().iter().any(|o| o.uid == uid),
            our_keys: managed_data_keys(&secret),
            labels: secret.labels().clone(),
            annotations: secret.annotations().clone(),
            data,
        }
    }

    /// Whether the controller may write the Secret.
    pub fn writable(&self) -> bool {
        self.claim.refusal.is_none()
    }

    /// Whether the Secret is (or, once written, will be) ours as a whole: one this resource
    /// creates under `Owner` or `Orphan`, or created so before.
    pub fn whole(&self, policy: CreationPolicy) -> bool {
        self.claim.whole || (!self.exists && policy != CreationPolicy::Merge)
    }

    /// The Secret's state for planning: does it hold the current password of `status`?
    pub fn state(&self, status: &PlanetScalePasswordStatus) -> SecretState {
        if !self.exists {
            return SecretState::Missing;
        }
        if !self.writable() {
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

/// Renders the Secret's data for `info` with the spec's presets and template. An error
/// depends on the spec alone, never on the password ([`crate::connection::render`]).
pub fn render(obj: &PlanetScalePassword, info: &ConnectionInfo) -> Result<Rendered, Error> {
    crate::connection::render(info, &presets(obj), template(obj).as_ref())
        .map_err(|e| render_error(&e))
}

fn template(obj: &PlanetScalePassword) -> Option<BTreeMap<String, String>> {
    obj.spec.secret.template.as_ref().map(|t| {
        t.data
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect()
    })
}

/// The data keys the spec makes the controller write (none when it does not render).
pub fn keys(obj: &PlanetScalePassword) -> BTreeSet<String> {
    let info = ConnectionInfo {
        host: "placeholder.connect.psdb.cloud".into(),
        username: "placeholder".into(),
        password: planetscale_api::Secret::new(PLACEHOLDER_PASSWORD),
        engine: Engine::from_kind(obj.status.as_ref().and_then(|s| s.engine.as_deref())),
        ..ConnectionInfo::default()
    };
    render(obj, &info).map_or_else(|_| BTreeSet::new(), |r| r.data.into_keys().collect())
}

/// Hash of what the Secret's data is rendered from ([`TEMPLATE_ANNOTATION`]).
fn template_hash(obj: &PlanetScalePassword) -> String {
    use sha2::{Digest, Sha256};
    let spec = serde_json::json!([obj.spec.secret.formats, template(obj)]);
    let digest = Sha256::digest(spec.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A render error as the `Invalid` error the user must fix, with the render error's own
/// reason (`TemplateFailed`, `FormatConflict`, …). It never quotes values.
pub fn render_error(e: &crate::connection::RenderError) -> Error {
    Error::Invalid {
        reason: e.reason(),
        message: format!("the Secret cannot be rendered: {e}"),
    }
}

/// The Secret as the operator applies it: our label and annotations, the spec's labels and
/// annotations, and `data`; for a Secret ours as a whole (`whole`, [`SecretView::whole`]) the
/// `Opaque` type, the created-by annotation and, with `Owner`, an owner reference.
pub fn desired(obj: &PlanetScalePassword, name: &str, data: &Rendered, whole: bool) -> Secret {
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
    annotations.insert(TEMPLATE_ANNOTATION.into(), template_hash(obj));
    if whole {
        annotations.insert(CREATED_ANNOTATION.into(), obj.uid().unwrap_or_default());
    }
    if !data.unrendered.is_empty() {
        let keys: Vec<&str> = data.unrendered.iter().map(String::as_str).collect();
        annotations.insert(UNRENDERED_ANNOTATION.into(), keys.join(","));
    }
    let owner = (whole && s.creation_policy == CreationPolicy::Owner)
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
        type_: whole.then(|| "Opaque".to_string()),
        data: Some(to_secret_data(&data.data)),
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

/// Lets go of a Secret this resource wrote, as its creation policy says: `Owner` deletes a
/// Secret ours as a whole, `Orphan` leaves it, `Merge` (and `Owner` for a Secret we only
/// merged into) removes our keys, label and annotations. A Secret this resource never wrote
/// is left alone.
pub async fn release(
    api: &Api<Secret>,
    obj: &PlanetScalePassword,
    name: &str,
) -> Result<(), Error> {
    let Some(secret) = api.get_opt(name).await? else {
        return Ok(());
    };
    let view = SecretView::new(Some(secret), obj);
    let policy = obj.spec.secret.creation_policy;
    // Refused now (a typed Secret, a key taken over since) but written before: our own keys
    // still go; the apply below removes only the fields our manager owns.
    if !view.written || policy == CreationPolicy::Orphan {
        return Ok(());
    }
    if policy == CreationPolicy::Owner && view.claim.whole {
        return match api.delete(name, &DeleteParams::default()).await {
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(()),
        };
    }
    let empty = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": obj.namespace()},
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(name, &params, &Patch::Apply(&empty)).await?;
    Ok(())
}
