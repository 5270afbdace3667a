//! Whose Secret it is, and what this resource may write into it. Pure.
//!
//! A Secret is ours *as a whole* only when this resource created it under `Owner` or `Orphan`
//! (it carries [`CREATED_ANNOTATION`] with the resource's uid, or, written by an older
//! version, our owner reference). Only such a Secret gets an owner reference, the `Opaque`
//! type, and is deleted with the resource. A Secret we wrote into under `Merge` stays
//! someone else's whatever `creationPolicy` says later: we write our keys, and remove them
//! again on deletion, and that is all.
//!
//! `Merge` writes only keys that are ours or absent. It refuses a Secret of a typed kind
//! (anything but `Opaque`: TLS, docker config, service-account tokens have a meaning of
//! their own to other readers) and a Secret where a key we would write belongs to another
//! writer: present before we ever wrote the Secret, or taken over since by another
//! server-side-apply manager (a key changed with `kubectl edit` or a plain update is an edit
//! of our credentials, healed as in any Secret of ours).
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;

use super::secret::PASSWORD_ANNOTATION;
use crate::controller::{FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use crate::crd::password::PlanetScalePassword;
use crate::crd::password::reason::SECRET_CONFLICT;
use crate::crd::password_secret::CreationPolicy;

/// Annotation (the resource's uid) on a Secret this resource created as a whole.
pub const CREATED_ANNOTATION: &str = "planetscale.operator.dev/created-by";

/// The reasons of `Merge`'s refusals (besides `SecretConflict`).
pub mod reason {
    /// `Merge` meets a Secret of a typed kind.
    pub const SECRET_TYPE_REFUSED: &str = "SecretTypeRefused";
    /// `Merge` would overwrite a key another writer owns.
    pub const SECRET_KEY_CONFLICT: &str = "SecretKeyConflict";
}
use reason::{SECRET_KEY_CONFLICT, SECRET_TYPE_REFUSED};

/// Why the controller does not write a Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It holds the credentials of another `PlanetScalePassword` (named).
    Holder(String),
    /// It exists, was not written by this resource, and the policy is not `Merge`.
    NotOurs,
    /// `Merge` into a Secret of this type (not `Opaque`).
    Typed(String),
    /// `Merge` would overwrite these keys, each with the writers that own it.
    ForeignKeys(BTreeMap<String, Vec<String>>),
}

impl Refusal {
    /// The reason of the conditions and events.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Holder(_) | Refusal::NotOurs => SECRET_CONFLICT,
            Refusal::Typed(_) => SECRET_TYPE_REFUSED,
            Refusal::ForeignKeys(_) => SECRET_KEY_CONFLICT,
        }
    }

    /// What a user reads: what is wrong and what to do.
    pub fn message(&self, secret: &str) -> String {
        match self {
            Refusal::Holder(holder) => format!(
                "Secret {secret} holds the credentials of PlanetScalePassword {holder}: two \
                 resources cannot share a Secret. Choose another secret.name"
            ),
            Refusal::NotOurs => format!(
                "Secret {secret} exists and was not written by this PlanetScalePassword: it is \
                 left untouched. Choose another secret.name, delete that Secret, or set \
                 secret.creationPolicy: {:?} to write the credentials into it",
                CreationPolicy::Merge
            ),
            Refusal::Typed(type_) => format!(
                "Secret {secret} is of type {type_}: creationPolicy Merge writes only into \
                 Opaque Secrets, it is left untouched. Choose another secret.name"
            ),
            Refusal::ForeignKeys(keys) => {
                let keys: Vec<String> = keys
                    .iter()
                    .map(|(k, by)| format!("{k} (written by {})", by.join(", ")))
                    .collect();
                format!(
                    "Secret {secret} already has keys another writer owns: {}. \
                     creationPolicy Merge writes only keys that are ours or absent, so it is \
                     left untouched. Remove those keys, or choose other keys \
                     (secret.formats, secret.template) or another secret.name",
                    keys.join(", ")
                )
            }
        }
    }
}

/// What the controller may do with an existing Secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    /// Why it must not be written, if it must not.
    pub refusal: Option<Refusal>,
    /// Created by this resource as a whole (see the module docs).
    pub whole: bool,
}

/// The claim `obj` has on `secret`, when it would write the data keys `keys`.
pub fn claim(secret: &Secret, obj: &PlanetScalePassword, keys: &BTreeSet<String>) -> Claim {
    let name = obj.name_any();
    let uid = obj.uid().unwrap_or_default();
    let holder = secret.annotations().get(PASSWORD_ANNOTATION);
    let labelled =
        secret.labels().get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY_VALUE);
    let ours = holder == Some(&name);
    let whole = ours
        && labelled
        && (secret.annotations().get(CREATED_ANNOTATION) == Some(&uid)
            || secret.owner_references().iter().any(|o| o.uid == uid));
    let refusal = match holder {
        Some(h) if *h != name => Some(Refusal::Holder(h.clone())),
        _ if whole => None,
        _ if !(ours && labelled) && obj.spec.secret.creation_policy != CreationPolicy::Merge => {
            Some(Refusal::NotOurs)
        }
        _ => merge_refusal(secret, keys, ours),
    };
    Claim { refusal, whole }
}

/// Why `Merge` may not write `keys` into `secret` (`written`: we wrote it before).
fn merge_refusal(secret: &Secret, keys: &BTreeSet<String>, written: bool) -> Option<Refusal> {
    let type_ = secret.type_.as_deref().unwrap_or("Opaque");
    if !type_.is_empty() && type_ != "Opaque" {
        return Some(Refusal::Typed(type_.to_string()));
    }
    let present = secret.data.as_ref();
    let owners = key_owners(secret);
    let foreign: BTreeMap<String, Vec<String>> = keys
        .iter()
        .filter(|k| present.is_some_and(|d| d.contains_key(*k)))
        .filter_map(|k| {
            let by = owners.get(k).cloned().unwrap_or_default();
            let ours = by.iter().any(|(m, _)| m == FIELD_MANAGER);
            let applied = by.iter().any(|(m, op)| m != FIELD_MANAGER && op == "Apply");
            let theirs = !ours && (!written || applied);
            let names = by
                .into_iter()
                .map(|(m, _)| m)
                .filter(|m| m != FIELD_MANAGER);
            let mut names: Vec<String> = names.collect();
            if names.is_empty() {
                names.push("an unknown writer".into());
            }
            theirs.then(|| (k.clone(), names))
        })
        .collect();
    (!foreign.is_empty()).then_some(Refusal::ForeignKeys(foreign))
}

/// Each data key's writers (field manager, operation) from `managedFields`.
fn key_owners(secret: &Secret) -> BTreeMap<String, Vec<(String, String)>> {
    let mut owners: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for m in secret.metadata.managed_fields.iter().flatten() {
        let manager = m.manager.clone().unwrap_or_default();
        let op = m.operation.clone().unwrap_or_default();
        let fields = m.fields_v1.as_ref().and_then(|f| f.0.get("f:data"));
        let Some(data) = fields.and_then(|d| d.as_object()) else {
            continue;
        };
        for key in data.keys().filter_map(|k| k.strip_prefix("f:")) {
            let entry = owners.entry(key.to_string()).or_default();
            entry.push((manager.clone(), op.clone()));
        }
    }
    owners
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
    use serde_json::json;

    fn obj(policy: &str) -> PlanetScalePassword {
        serde_json::from_value(json!({
            "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScalePassword",
            "metadata": {"name": "app", "namespace": "ns", "uid": "u1"},
            "spec": {"organization": "o", "database": "d", "branch": "b",
                     "secret": {"creationPolicy": policy}},
        }))
        .unwrap()
    }

    fn managed(manager: &str, op: &str, keys: &[&str]) -> ManagedFieldsEntry {
        let data: serde_json::Map<String, serde_json::Value> =
            keys.iter().map(|k| (format!("f:{k}"), json!({}))).collect();
        ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some(op.into()),
            fields_v1: Some(FieldsV1(json!({ "f:data": data }))),
            ..Default::default()
        }
    }

    fn secret(type_: Option<&str>, keys: &[&str], managers: Vec<ManagedFieldsEntry>) -> Secret {
        let mut s: Secret = serde_json::from_value(json!({"metadata": {"name": "app"}})).unwrap();
        s.type_ = type_.map(str::to_string);
        s.data = Some(
            keys.iter()
                .map(|k| (k.to_string(), k8s_openapi::ByteString(b"v".to_vec())))
                .collect(),
        );
        s.metadata.managed_fields = Some(managers);
        s
    }

    fn ours(mut s: Secret, created: bool) -> Secret {
        s.metadata.labels = Some([(MANAGED_BY_LABEL.into(), MANAGED_BY_VALUE.into())].into());
        let mut a = BTreeMap::from([(PASSWORD_ANNOTATION.to_string(), "app".to_string())]);
        if created {
            a.insert(CREATED_ANNOTATION.into(), "u1".into());
        }
        s.metadata.annotations = Some(a);
        s
    }

    fn keys(k: &[&str]) -> BTreeSet<String> {
        k.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn merge_refuses_typed_secrets() {
        let k = keys(&["password"]);
        for t in [
            "kubernetes.io/tls",
            "kubernetes.io/dockerconfigjson",
            "kubernetes.io/service-account-token",
        ] {
            let c = claim(&secret(Some(t), &["tls.crt"], vec![]), &obj("Merge"), &k);
            assert_eq!(c.refusal, Some(Refusal::Typed(t.into())), "{t}");
        }
        let opaque = claim(&secret(Some("Opaque"), &["x"], vec![]), &obj("Merge"), &k);
        assert_eq!(opaque, Claim::default());
    }

    #[test]
    fn merge_refuses_keys_another_writer_owns() {
        let k = keys(&["username", "password"]);
        let theirs = secret(
            None,
            &["password"],
            vec![managed("kubectl", "Update", &["password"])],
        );
        let c = claim(&theirs, &obj("Merge"), &k);
        let want = BTreeMap::from([("password".to_string(), vec!["kubectl".to_string()])]);
        assert_eq!(c.refusal, Some(Refusal::ForeignKeys(want)));
        assert_eq!(c.refusal.unwrap().reason(), SECRET_KEY_CONFLICT);
        // Written by us before: an edit by update is healed, an apply by another manager is not.
        let edited = ours(theirs.clone(), false);
        assert_eq!(claim(&edited, &obj("Merge"), &k).refusal, None);
        let applied = ours(
            secret(
                None,
                &["password"],
                vec![managed("argocd", "Apply", &["password"])],
            ),
            false,
        );
        assert!(matches!(
            claim(&applied, &obj("Merge"), &k).refusal,
            Some(Refusal::ForeignKeys(_))
        ));
        let shared = ours(
            secret(
                None,
                &["password"],
                vec![
                    managed("argocd", "Apply", &["password"]),
                    managed(FIELD_MANAGER, "Apply", &["password"]),
                ],
            ),
            false,
        );
        assert_eq!(claim(&shared, &obj("Merge"), &k).refusal, None, "ours too");
    }

    #[test]
    fn a_merged_secret_is_never_ours_as_a_whole() {
        let k = keys(&["password"]);
        let merged = ours(secret(None, &["keep", "password"], vec![]), false);
        for policy in ["Owner", "Orphan", "Merge"] {
            let c = claim(&merged, &obj(policy), &k);
            assert_eq!(c, Claim::default(), "{policy}: writable, not whole");
        }
        let created = ours(secret(Some("Opaque"), &["password"], vec![]), true);
        assert!(claim(&created, &obj("Owner"), &k).whole);
        let other = secret(None, &["x"], vec![]);
        assert_eq!(
            claim(&other, &obj("Owner"), &k).refusal,
            Some(Refusal::NotOurs)
        );
    }
}
