//! `restartOnRotation`: the pod template of each listed Deployment or StatefulSet carries an
//! annotation with the credentials' hash, so a change of credentials rolls its pods.
use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::{Patch, PatchParams};
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::pass::Run;
use crate::controller::FIELD_MANAGER;
use crate::crd::password::{PlanetScalePasswordStatus, RestartKind, RestartTarget};
use crate::error::Error;

/// Prefix of the pod-template annotation; the name part is the `PlanetScalePassword`'s name,
/// so several passwords can restart the same workload without overwriting each other.
pub const ANNOTATION_PREFIX: &str = "password.planetscale.operator.dev";

/// The pod-template annotation key for the password `name`: `<prefix>/<name>`, with long
/// names shortened to 54 characters and a hash (an annotation name has at most 63).
pub fn annotation_key(name: &str) -> String {
    if name.len() <= 63 {
        return format!("{ANNOTATION_PREFIX}/{name}");
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let head = name[..54].trim_end_matches(['-', '.']);
    format!("{ANNOTATION_PREFIX}/{head}-{hash}")
}

/// Sets the annotation to the current credentials hash on every listed workload where it
/// differs. A workload that does not exist (yet) is skipped; it is annotated once it exists
/// and the password is reconciled again.
pub async fn converge(run: &Run<'_>, status: &PlanetScalePasswordStatus) -> Result<(), Error> {
    let Some(hash) = status.credentials_hash.clone() else {
        return Ok(());
    };
    let key = annotation_key(&run.name());
    let ns = run.obj.namespace().unwrap_or_default();
    let client = run.ctx.client.clone();
    let mut restarted = Vec::new();
    for target in &run.obj.spec.restart_on_rotation {
        let outcome = match target.kind {
            RestartKind::Deployment => {
                annotate::<Deployment>(Api::namespaced(client.clone(), &ns), target, &key, &hash)
                    .await?
            }
            RestartKind::StatefulSet => {
                annotate::<StatefulSet>(Api::namespaced(client.clone(), &ns), target, &key, &hash)
                    .await?
            }
        };
        let what = format!("{:?}/{}", target.kind, target.name);
        match outcome {
            Outcome::Unchanged => {}
            Outcome::Restarted => restarted.push(what),
            Outcome::Missing => {
                tracing::debug!(target = %what, "restartOnRotation target not found");
            }
        }
    }
    if !restarted.is_empty() {
        let note = format!("{} restart with the new credentials", restarted.join(", "));
        run.event(EventType::Normal, "RestartTriggered", note).await;
    }
    Ok(())
}

/// What [`annotate`] did.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Unchanged,
    Restarted,
    Missing,
}

async fn annotate<K>(
    api: Api<K>,
    t: &RestartTarget,
    key: &str,
    hash: &str,
) -> Result<Outcome, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    let Some(obj) = api.get_opt(&t.name).await? else {
        return Ok(Outcome::Missing);
    };
    let value = serde_json::to_value(&obj).unwrap_or_default();
    let current = value
        .pointer("/spec/template/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(|v| v.as_str());
    if current == Some(hash) {
        return Ok(Outcome::Unchanged);
    }
    let patch = serde_json::json!({
        "spec": {"template": {"metadata": {"annotations": {key: hash}}}}
    });
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch(&t.name, &params, &Patch::Merge(&patch)).await?;
    Ok(Outcome::Restarted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_keys_are_valid_and_distinct() {
        assert_eq!(
            annotation_key("app"),
            "password.planetscale.operator.dev/app"
        );
        let long_a = format!("{}a", "x".repeat(70));
        let long_b = format!("{}b", "x".repeat(70));
        let (a, b) = (annotation_key(&long_a), annotation_key(&long_b));
        assert_ne!(a, b);
        for key in [a, b] {
            let name = key.split_once('/').unwrap().1;
            assert!(name.len() <= 63, "{key}");
            assert!(name.chars().last().unwrap().is_ascii_alphanumeric());
        }
    }
}
