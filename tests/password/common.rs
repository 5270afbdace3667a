//! Helpers of the password controller tests: manifests, waiting, reading the Secret, checking
//! credentials with the emulator, the live passwords in the emulator's world, and the search
//! for leaked plaintext.
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::{Value, json};

use crate::support::{self, Emulator, Operator};

/// How long a password may take to become Ready.
pub const READY: Duration = Duration::from_secs(45);

/// Operator settings for tests that move the emulator clock: resync every second, so a
/// deadline passed by `advance` is noticed at once.
pub const FAST_RESYNC: &[(&str, &str)] = &[("PSO_RESYNC_INTERVAL", "1s")];

/// A `PlanetScalePassword` on `acme/shop/main` (explicit target), with `spec` merged in (a
/// `null` removes a key).
pub fn password(name: &str, spec: Value) -> PlanetScalePassword {
    let mut s = json!({"organization": "acme", "database": "shop", "branch": "main"});
    let Value::Object(spec) = spec else {
        panic!("spec object: {spec}")
    };
    for (k, v) in spec {
        if v.is_null() {
            s.as_object_mut().unwrap().remove(&k);
        } else {
            s[k.as_str()] = v;
        }
    }
    serde_json::from_value(json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1",
        "kind": "PlanetScalePassword",
        "metadata": {"name": name},
        "spec": s,
    }))
    .expect("valid PlanetScalePassword")
}

/// Server-side applies `obj` as the test's field manager.
pub async fn apply(api: &Api<PlanetScalePassword>, obj: &PlanetScalePassword) {
    let pp = PatchParams::apply("pso-test").force();
    api.patch(&obj.name_any(), &pp, &Patch::Apply(obj))
        .await
        .unwrap_or_else(|e| panic!("apply {}: {e}", obj.name_any()));
}

/// Merge-patches `patch` into the object.
pub async fn merge(api: &Api<PlanetScalePassword>, name: &str, patch: Value) {
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap_or_else(|e| panic!("patch {name}: {e}"));
}

/// The `type` condition's (status, reason, message), if present.
pub fn condition(obj: &PlanetScalePassword, type_: &str) -> Option<(String, String, String)> {
    let s = obj.status.as_ref()?;
    let c = s.conditions.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// `Ready=True` for the current generation.
pub fn is_ready(obj: &PlanetScalePassword) -> bool {
    let observed = obj.status.as_ref().and_then(|s| s.observed_generation);
    observed == obj.metadata.generation && condition(obj, "Ready").is_some_and(|c| c.0 == "True")
}

/// Waits until the object is Ready and returns it.
pub async fn wait_ready(api: &Api<PlanetScalePassword>, name: &str) -> PlanetScalePassword {
    support::wait_for(api, name, READY, "Ready", is_ready).await
}

/// Waits until `type_` has `status` and `reason`.
pub async fn wait_condition(
    api: &Api<PlanetScalePassword>,
    name: &str,
    type_: &str,
    status: &str,
    reason: &str,
) -> PlanetScalePassword {
    let what = format!("{type_}={status} reason {reason}");
    support::wait_for(api, name, READY, &what, |o| {
        condition(o, type_).is_some_and(|c| c.0 == status && c.1 == reason)
    })
    .await
}

/// Waits until `cond` holds for the object, with `what` in the failure message.
pub async fn wait_until(
    api: &Api<PlanetScalePassword>,
    name: &str,
    what: &str,
    cond: impl Fn(&PlanetScalePassword) -> bool,
) -> PlanetScalePassword {
    support::wait_for(api, name, READY, what, cond).await
}

/// The status's current password name (`k8s-<uid>-<n>`).
pub fn password_name(obj: &PlanetScalePassword) -> String {
    let s = obj.status.as_ref().expect("status");
    s.password_name.clone().unwrap_or_default()
}

/// The PlanetScale id of the resource's current password (`status.passwordId`).
pub fn password_id(obj: &PlanetScalePassword) -> String {
    let s = obj.status.as_ref().expect("status");
    s.password_id.clone().expect("status.passwordId")
}

/// The Secret `name`, if it exists.
pub async fn secret(client: &Client, ns: &str, name: &str) -> Option<Secret> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    api.get_opt(name).await.expect("get Secret")
}

/// A Secret's value for `key` as text.
pub fn value(secret: &Secret, key: &str) -> Option<String> {
    let data = secret.data.as_ref()?;
    String::from_utf8(data.get(key)?.0.clone()).ok()
}

/// The `username` and `password` of a Secret.
pub fn creds(secret: &Secret) -> Option<(String, String)> {
    Some((value(secret, "username")?, value(secret, "password")?))
}

/// Every plaintext password a test saw, to search the operator's log and the events for.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<BTreeSet<String>>>);

impl Seen {
    /// Remembers the password in `secret`, if any, and returns its credentials.
    pub fn note(&self, secret: &Secret) -> Option<(String, String)> {
        let c = creds(secret)?;
        self.0.lock().unwrap().insert(c.1.clone());
        Some(c)
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().cloned().collect()
    }
}

/// Waits for the Secret to hold credentials that `accept` and the emulator says are valid on
/// `branch`; returns them (and notes the plaintext in `seen`).
pub async fn wait_secret(
    client: &Client,
    emu: &Emulator,
    ns: &str,
    name: &str,
    branch: &str,
    seen: &Seen,
    accept: impl Fn(&(String, String)) -> bool,
) -> (String, String) {
    support::eventually(
        READY,
        &format!("Secret {name} with valid credentials"),
        || async {
            let Some(s) = secret(client, ns, name).await else {
                return Err("no Secret".to_string());
            };
            let Some(c) = seen.note(&s) else {
                return Err("no credentials".to_string());
            };
            if !accept(&c) {
                return Err(format!("not the expected credentials (username {})", c.0));
            }
            if !valid(emu, branch, &c).await {
                return Err(format!("username {} does not work", c.0));
            }
            Ok(c)
        },
    )
    .await
}

/// Whether the credentials work on `acme/shop/<branch>` right now.
pub async fn valid(emu: &Emulator, branch: &str, (user, pass): &(String, String)) -> bool {
    emu.password_valid("acme", "shop", branch, user, pass).await
}

/// The emulator's passwords (not deleted) whose name starts with `k8s-<uid>-`.
pub async fn live_passwords(emu: &Emulator, obj: &PlanetScalePassword) -> Vec<Value> {
    let prefix = format!("k8s-{}-", obj.uid().expect("uid"));
    let world = emu.world().await;
    let all = world["passwords"].as_array().cloned().unwrap_or_default();
    all.into_iter()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with(&prefix)))
        .filter(|p| p["deleted"] == json!(false))
        .collect()
}

/// A PlanetScale client with the emulator's full-access token: a user acting outside
/// Kubernetes.
pub fn planetscale(emu: &Emulator) -> planetscale_api::Client {
    let token =
        planetscale_api::Credentials::service_token(support::env::TOKEN_ID, support::env::TOKEN);
    planetscale_api::Client::builder(token)
        .base_url(emu.api_url())
        .build()
        .expect("PlanetScale client")
}

/// Whether PlanetScale has password `id` (on `acme/shop/main`) as a replica password.
pub async fn is_replica(emu: &Emulator, id: &str) -> bool {
    let p = planetscale(emu)
        .get_password("acme", "shop", "main", id)
        .await;
    p.unwrap_or_else(|e| panic!("get password {id}: {e}"))
        .replica
}

/// The (reason, message) of every event in `ns`.
pub async fn all_events(client: &Client, ns: &str) -> Vec<(String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let list = api.list(&ListParams::default()).await.expect("list events");
    list.items
        .into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

/// Waits until an event with `reason` about `name` exists; returns its message.
pub async fn wait_event(client: &Client, ns: &str, name: &str, reason: &str) -> String {
    support::eventually(READY, &format!("a {reason} event on {name}"), || async {
        let api: Api<Event> = Api::namespaced(client.clone(), ns);
        let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
        let list = api.list(&lp).await.expect("list events");
        let found = list
            .items
            .iter()
            .find(|e| e.reason.as_deref() == Some(reason));
        match found {
            Some(e) => Ok(e.message.clone().unwrap_or_default()),
            None => Err(list
                .items
                .iter()
                .map(|e| e.reason.clone().unwrap_or_default())
                .collect::<Vec<_>>()),
        }
    })
    .await
}

/// Waits until an event in `ns` has `reason` and a message containing `text`.
pub async fn wait_event_with(client: &Client, ns: &str, reason: &str, text: &str) {
    support::eventually(
        READY,
        &format!("a {reason} event saying {text:?}"),
        || async {
            let all = all_events(client, ns).await;
            if all.iter().any(|(r, m)| r == reason && m.contains(text)) {
                Ok(())
            } else {
                Err(all)
            }
        },
    )
    .await;
}

/// No plaintext the test saw appears in the operator's log, the namespace's events or the
/// status of any `PlanetScalePassword`.
pub async fn assert_no_leaks(client: &Client, ns: &str, operators: &[&Operator], seen: &Seen) {
    let plaintexts = seen.all();
    assert!(!plaintexts.is_empty(), "the test saw no password");
    let events = all_events(client, ns).await;
    let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    let statuses = serde_json::to_string(&api.list(&ListParams::default()).await.unwrap().items)
        .expect("json");
    for p in &plaintexts {
        for op in operators {
            assert!(
                !op.log().contains(p.as_str()),
                "a password is in the operator log"
            );
        }
        for (reason, message) in &events {
            assert!(
                !message.contains(p.as_str()),
                "a password is in a {reason} event"
            );
        }
        assert!(
            !statuses.contains(p.as_str()),
            "a password is in a resource"
        );
    }
    assert!(!events.is_empty(), "no events to search");
}

/// Deletes every `PlanetScalePassword` of the namespace (keeping their passwords: Retain) and
/// waits until they are gone, so the namespace can go while the operator still runs.
pub async fn teardown(api: &Api<PlanetScalePassword>) {
    let list = api.list(&ListParams::default()).await.expect("list");
    for o in &list.items {
        let retain = json!({
            "metadata": {"annotations": {"planetscale.operator.dev/paused": null}},
            "spec": {"deletionPolicy": "Retain"},
        });
        let _ = api
            .patch(
                &o.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&retain),
            )
            .await;
        let _ = api.delete(&o.name_any(), &DeleteParams::default()).await;
    }
    for o in &list.items {
        support::wait_gone(api, &o.name_any(), READY).await;
    }
}
