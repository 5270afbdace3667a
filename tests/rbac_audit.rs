//! The chart's RBAC is the minimum, proven on a real run rather than on a hand-written list:
//! a control plane of its own (`hack/testenv/up` in a folder under /tmp, stopped at the end)
//! logs every request to its audit log (`TESTENV_AUDIT=all`) and enforces owner-reference
//! permissions (`OwnerReferencesPermissionEnforcement`, as many production clusters do). The
//! chart is installed there and the operator runs as its ServiceAccount, with the Deployment's
//! environment and no overrides, through every flow: a branch, a password and a deploy request
//! (every kind, statuses and finalizers), a password with restart targets rotated twice (the
//! workloads, repeated events), leader election, and the deletion of everything (the Owner
//! Secrets). Then the (API group, resource, verb) triples the ServiceAccount was allowed by
//! the chart's bindings must be exactly what the installed roles grant: a granted verb that the
//! run never used fails the test, and so does a request refused.
//!
//! One use does not show as a request of its own in the audit log, so it is derived from what
//! it does show: a server-side apply that created an object (a `patch` answered `201`) was also
//! authorized as `create`. Owner references are checked by the admission plugin, not by a
//! request: the operator's Secrets are owned by their password without blocking its deletion,
//! which needs no `update` on `planetscalepasswords/finalizers`; the test shows the plugin
//! refuses the ServiceAccount a reference that would block it.
//!
//! Needs the binaries of the control plane (`make testenv-build`) and the built operator; it
//! does not use the shared control plane.
mod support;

#[path = "runtime/flows.rs"]
mod flows;
#[path = "runtime/installed.rs"]
mod installed;
#[allow(dead_code)]
#[path = "chart/rbac.rs"]
mod rbac;
#[allow(dead_code, unused_imports)]
#[path = "chart/render.rs"]
mod render;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use installed::{Installed, values};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use planetscale_operator::crd::PlanetScalePassword;
use serde_json::{Value, json};
use support::helm::TempNamespace;
use support::{Emulator, bin_path};

/// (API group, resource[/subresource], verb).
type Use = (String, String, String);

/// A control plane of this test; stopped when dropped (logs kept when the test failed).
struct OwnControlPlane {
    dir: PathBuf,
}

impl OwnControlPlane {
    fn up() -> Self {
        let dir =
            std::env::temp_dir().join(format!("pso-rbac-audit-{:08x}", rand::random::<u32>()));
        let crds = dir.with_extension("crds");
        std::fs::create_dir_all(&crds).expect("CRD folder");
        let out = Command::new(bin_path("crdgen"))
            .arg("--out-dir")
            .arg(&crds)
            .output()
            .expect("run crdgen");
        assert!(out.status.success(), "crdgen: {out:?}");
        let plane = Self { dir };
        let out = Command::new(support::helm::repo().join("hack/testenv/up"))
            .env("TESTENV_DIR", &plane.dir)
            .env("TESTENV_AUDIT", "all")
            .env(
                "TESTENV_APISERVER_ARGS",
                "--enable-admission-plugins=OwnerReferencesPermissionEnforcement",
            )
            .env("TESTENV_CRDS", &crds)
            .stdin(Stdio::null())
            .output()
            .expect("run hack/testenv/up");
        let _ = std::fs::remove_dir_all(&crds);
        assert!(
            out.status.success(),
            "hack/testenv/up failed\n{}",
            support::helm::text(&out)
        );
        println!("{}", String::from_utf8_lossy(&out.stdout).trim());
        plane
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    fn audit_log(&self) -> PathBuf {
        self.dir.join("logs/audit.log")
    }
}

impl Drop for OwnControlPlane {
    fn drop(&mut self) {
        let mut down = Command::new(support::helm::repo().join("hack/testenv/down"));
        if std::thread::panicking() {
            down.arg("--keep-logs");
            eprintln!("control plane logs kept in {}", self.dir.display());
        }
        let _ = down
            .env("TESTENV_DIR", &self.dir)
            .stdout(Stdio::null())
            .status();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// What the audit log says `user` did: the uses each allowed by one of `bindings` (with the
/// creates implied by server-side applies that created), everything else it was allowed
/// (system defaults such as access reviews), and every refusal.
#[derive(Debug, Default)]
struct Audited {
    by_chart: BTreeSet<Use>,
    other: BTreeMap<Use, String>,
    refused: Vec<String>,
}

fn audited(log: &Path, user: &str, bindings: &[String]) -> Audited {
    let text = std::fs::read_to_string(log).expect("audit log");
    let mut out = Audited::default();
    for line in text.lines() {
        let Ok(ev) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if ev["user"]["username"].as_str() != Some(user) {
            continue;
        }
        let verb = ev["verb"].as_str().unwrap_or("?").to_string();
        let obj = &ev["objectRef"];
        let Some(resource) = obj["resource"].as_str() else {
            continue; // discovery and other non-resource requests
        };
        let resource = match obj["subresource"].as_str() {
            Some(sub) => format!("{resource}/{sub}"),
            None => resource.to_string(),
        };
        let group = obj["apiGroup"].as_str().unwrap_or_default().to_string();
        let annotations = &ev["annotations"];
        let decision = annotations["authorization.k8s.io/decision"].as_str();
        let reason = annotations["authorization.k8s.io/reason"]
            .as_str()
            .unwrap_or_default();
        // Refused by RBAC, or allowed by RBAC and then forbidden (by an admission plugin).
        if decision != Some("allow") || ev["responseStatus"]["code"] == 403 {
            out.refused.push(format!(
                "{verb} {group}/{resource} {}: {reason}",
                ev["requestURI"].as_str().unwrap_or_default()
            ));
            continue;
        }
        let created = verb == "patch" && ev["responseStatus"]["code"] == 201;
        let mut uses = vec![(group.clone(), resource.clone(), verb)];
        if created {
            uses.push((group, resource, "create".into()));
        }
        let chart = bindings
            .iter()
            .any(|b| reason.contains(&format!("\"{b}\"")));
        for u in uses {
            if chart {
                out.by_chart.insert(u);
            } else {
                out.other.insert(u, reason.to_string());
            }
        }
    }
    out
}

fn deployment(name: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "example.invalid/app"}]}}},
    }))
    .unwrap()
}

fn statefulset(name: &str) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"serviceName": name, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "db", "image": "example.invalid/db"}]}}},
    }))
    .unwrap()
}

/// Whether the pod template of `obj` carries `hash` in an annotation.
fn rolled<K: serde::Serialize>(obj: &K, hash: &str) -> bool {
    let value = serde_json::to_value(obj).unwrap();
    let annotations = value.pointer("/spec/template/metadata/annotations");
    let values = annotations.and_then(Value::as_object);
    values.is_some_and(|m| m.values().any(|v| v == hash))
}

fn credentials_hash(p: &PlanetScalePassword) -> Option<String> {
    p.status.as_ref().and_then(|s| s.credentials_hash.clone())
}

/// Rotates password `name` by annotation (`request`) and waits until both workloads roll.
async fn rotate(client: &kube::Client, ns: &str, name: &str, request: &str) {
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    let before = credentials_hash(&passwords.get(name).await.unwrap());
    let patch = json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": request}}});
    passwords
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate");
    let p = support::wait_for(&passwords, name, flows::WAIT, "rotated", |p| {
        flows::password_ready(p) && credentials_hash(p).is_some() && credentials_hash(p) != before
    })
    .await;
    let hash = credentials_hash(&p).unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    support::wait_for(&deployments, "web", flows::WAIT, "rolled", |d| {
        rolled(d, &hash)
    })
    .await;
    support::wait_for(&statefulsets, "worker", flows::WAIT, "rolled", |s| {
        rolled(s, &hash)
    })
    .await;
}

/// Creates `owner` as the admin unless it exists, then as `sa` a Secret with a controller
/// owner reference to it (`block` its deletion or not).
async fn owned_secret<K>(
    admin: &kube::Client,
    sa: &kube::Client,
    ns: &str,
    owner: &K,
    block: Option<bool>,
) -> Result<(), String>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let owners: Api<K> = Api::namespaced(admin.clone(), ns);
    let owner = match owners.get_opt(&owner.name_any()).await.expect("get") {
        Some(o) => o,
        None => owners
            .create(&PostParams::default(), owner)
            .await
            .expect("create the owner"),
    };
    let mut reference = owner.controller_owner_ref(&()).expect("owner reference");
    reference.block_owner_deletion = block;
    let name = format!("owned-{}", block.is_some());
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name, "ownerReferences": [reference]},
    }))
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(sa.clone(), ns);
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test]
async fn the_service_account_uses_every_verb_the_chart_grants_and_no_other() {
    let plane = OwnControlPlane::up();
    // Every harness helper (clients, helm, kubectl) uses this control plane from now on.
    support::use_kubeconfig(plane.kubeconfig());
    let audit_log = plane.audit_log();
    let emu = Emulator::start(flows::EMULATOR_ARGS).await;
    support::with_temp_ns(|client, ns| async move {
        let team = TempNamespace::create(&client, format!("{ns}-team")).await;
        let installed = Installed::install(&client, &ns, &values(&emu, json!({}))).await;
        let release_deployment = installed.release.deployment(&client).await;
        // The chart names its roles and bindings like its Deployment (`pso.fullname`).
        let full = release_deployment.name_any();
        let sa = release_deployment.spec.unwrap().template.spec.unwrap();
        let user = format!(
            "system:serviceaccount:{ns}:{}",
            sa.service_account_name.expect("ServiceAccount")
        );
        let op = installed.start(&[]);

        // Every kind, end to end.
        flows::run_all(&client, &team.0, &emu, "audit").await;
        flows::database_and_backup(&client, &team.0, "audit", "audit-feature").await;

        // Restart targets, rolled by two rotations (the second repeats the events of the first).
        let t = &team.0;
        Api::<Deployment>::namespaced(client.clone(), t)
            .create(&PostParams::default(), &deployment("web"))
            .await
            .expect("Deployment");
        Api::<StatefulSet>::namespaced(client.clone(), t)
            .create(&PostParams::default(), &statefulset("worker"))
            .await
            .expect("StatefulSet");
        let mut rolling = flows::password("rolling", "audit-feature");
        rolling.spec.restart_on_rotation = serde_json::from_value(json!([
            {"kind": "Deployment", "name": "web"}, {"kind": "StatefulSet", "name": "worker"}
        ]))
        .unwrap();
        flows::apply(&client, t, &rolling).await;
        let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), t);
        support::wait_for(
            &passwords,
            "rolling",
            flows::WAIT,
            "Ready",
            flows::password_ready,
        )
        .await;
        rotate(&client, t, "rolling", "r1").await;
        rotate(&client, t, "rolling", "r2").await;

        // The Owner Secret is owned by its password (garbage collection), without blocking the
        // password's deletion: with the admission plugin on, that needs `delete` on Secrets and
        // no `update` on planetscalepasswords/finalizers (checked below).
        let secret = Api::<Secret>::namespaced(client.clone(), t)
            .get("rolling-db")
            .await
            .expect("Secret");
        let owner = secret.owner_references().first().cloned();
        let owner = owner.expect("the Owner Secret has an owner reference");
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.controller,
                owner.block_owner_deletion
            ),
            ("PlanetScalePassword", Some(true), None),
            "{owner:?}"
        );

        // Deletion of everything: finalizers released, Owner Secrets deleted.
        flows::delete_all(&client, t).await;
        let lease = installed.env("PSO_LEASE_NAME").to_string();
        drop(op);

        // The chart's roles as installed, and its bindings' names.
        let cluster_role = Api::<ClusterRole>::all(client.clone())
            .get(&full)
            .await
            .expect("ClusterRole");
        let own_role = Api::<Role>::namespaced(client.clone(), &ns)
            .get(&format!("{full}-self"))
            .await
            .expect("Role for the Lease");
        let objects = vec![
            json!({"kind": "ClusterRole", "metadata": {"name": full},
                   "rules": serde_json::to_value(&cluster_role.rules).unwrap()}),
            json!({"kind": "Role", "metadata": {"name": own_role.name_any(), "namespace": ns},
                   "rules": serde_json::to_value(&own_role.rules).unwrap()}),
        ];
        let granted = rbac::grants(&rbac::rules(&objects));
        let bindings = [full.clone(), format!("{full}-self")];
        let seen = audited(&audit_log, &user, &bindings);
        println!("lease {lease}; used under the chart's RBAC:");
        for (g, r, v) in &seen.by_chart {
            println!("  {v:<7} {g}/{r}");
        }
        for ((g, r, v), reason) in &seen.other {
            println!("  allowed elsewhere: {v} {g}/{r} ({reason})");
        }
        assert!(
            seen.refused.is_empty(),
            "refused requests:\n{}",
            seen.refused.join("\n")
        );
        let used = seen.by_chart.clone();
        let unused: Vec<&Use> = granted.difference(&used).collect();
        let ungranted: Vec<&Use> = used.difference(&granted).collect();
        assert!(
            unused.is_empty() && ungranted.is_empty(),
            "granted but never used: {unused:?}\nused but not granted: {ungranted:?}"
        );
        let needed: BTreeSet<Use> = rbac::needed().into_iter().collect();
        assert_eq!(
            used, needed,
            "tests/chart/rbac.rs `needed()` differs from what the operator used"
        );

        // The owner-reference check is real here (after the audit was read, so these requests
        // are not counted): the ServiceAccount may own a Secret by a password, as the operator
        // does, but not block the password's deletion, which the chart does not grant.
        let sa_client = support::helm::client_from(&installed.kubeconfig).await;
        let probe = flows::password("probe", "probe");
        let refused = owned_secret(&client, &sa_client, t, &probe, Some(true)).await;
        let refused = refused.expect_err("blockOwnerDeletion is refused");
        assert!(refused.contains("blockOwnerDeletion"), "{refused}");
        owned_secret(&client, &sa_client, t, &probe, None)
            .await
            .expect("an owner reference as the operator writes it");
        drop(installed);
    })
    .await;
    drop(plane);
}
