use kube::Resource;
use kube::runtime::reflector;

use super::*;
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::password::PlanetScalePassword;
use crate::crd::{DeletionPolicy, SecretRef};
use crate::metrics::Metrics;
use kube::runtime::watcher::Event;

fn id<K: Resource<DynamicType = ()>>(ns: &str) -> CacheId {
    CacheId::of::<K>(Some(ns))
}

#[test]
fn synced_only_once_every_expected_cache_has_listed() {
    let caches = Stores::default();
    assert_eq!(caches.status(), CacheStatus::NotRunning);
    caches.start([id::<PlanetScaleBranch>("a"), id::<PlanetScalePassword>("a")]);
    let (branches, _) = reflector::store::<PlanetScaleBranch>();
    let (passwords, _) = reflector::store::<PlanetScalePassword>();
    let branches_listed = caches.track(Some("a"), &branches);
    let passwords_listed = caches.track(Some("a"), &passwords);
    let both = vec![id::<PlanetScaleBranch>("a"), id::<PlanetScalePassword>("a")];
    assert_eq!(caches.status(), CacheStatus::Waiting(both));

    branches_listed.synced();
    let waiting = vec![id::<PlanetScalePassword>("a")];
    assert_eq!(caches.status(), CacheStatus::Waiting(waiting));
    assert_eq!(
        id::<PlanetScalePassword>("a").to_string(),
        "PlanetScalePassword in a"
    );

    passwords_listed.synced();
    assert_eq!(caches.status(), CacheStatus::Synced);
    drop(StopOnDrop(caches.clone()));
    assert_eq!(caches.status(), CacheStatus::NotRunning);
}

fn branch(name: &str, ready: Option<&str>) -> PlanetScaleBranch {
    let conditions: Vec<serde_json::Value> = ready
        .into_iter()
        .map(|status| {
            serde_json::json!({"type": "Ready", "status": status, "reason": "R", "message": "",
                "lastTransitionTime": "2026-01-01T00:00:00Z"})
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "apiVersion": "planetscale.operator.dev/v1alpha1", "kind": "PlanetScaleBranch",
        "metadata": {"name": name, "namespace": "a"},
        "spec": {"organization": "o", "database": "d"},
        "status": {"conditions": conditions},
    }))
    .unwrap()
}

#[test]
fn the_resources_gauge_counts_the_running_stores_and_drops_to_zero_after() {
    let (caches, metrics) = (Stores::default(), Metrics::new());
    let gauge = |kind: &str, ready: &str| {
        let line = format!("planetscale_operator_resources{{kind=\"{kind}\",ready=\"{ready}\"}} ");
        let text = metrics.encode();
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(&line).map(str::to_owned));
        value.unwrap_or_else(|| panic!("no {line} in\n{text}"))
    };
    caches.start([CacheId::of::<PlanetScaleBranch>(Some("a"))]);
    let (store, mut writer) = reflector::store::<PlanetScaleBranch>();
    caches.track(Some("a"), &store);
    for (name, ready) in [("x", Some("True")), ("y", Some("False")), ("z", None)] {
        writer.apply_watcher_event(&Event::Apply(branch(name, ready)));
    }
    caches.publish_resources(&metrics);
    assert_eq!(gauge("PlanetScaleBranch", "True"), "1");
    assert_eq!(gauge("PlanetScaleBranch", "False"), "1");
    assert_eq!(gauge("PlanetScaleBranch", "Unknown"), "1");
    assert_eq!(gauge("DeployRequest", "True"), "0");
    caches.stop();
    caches.publish_resources(&metrics);
    assert_eq!(gauge("PlanetScaleBranch", "True"), "0");
}

#[test]
fn a_cache_of_an_earlier_run_does_not_count() {
    let caches = Stores::default();
    caches.start([CacheId::of::<PlanetScaleBranch>(None)]);
    let (old, _) = reflector::store::<PlanetScaleBranch>();
    let old_listed = caches.track(None, &old);
    caches.stop();
    caches.start([CacheId::of::<PlanetScaleBranch>(None)]);
    old_listed.synced();
    let all = CacheId::of::<PlanetScaleBranch>(None);
    assert_eq!(all.to_string(), "PlanetScaleBranch in all namespaces");
    assert_eq!(caches.status(), CacheStatus::Waiting(vec![all]));
}

#[test]
fn a_credentials_secret_is_in_use_while_a_user_that_created_something_lives_or_cleans_up() {
    let caches = Stores::default();
    caches.start([CacheId::of::<PlanetScaleBranch>(Some("a"))]);
    let (store, mut writer) = reflector::store::<PlanetScaleBranch>();
    caches.track(Some("a"), &store);
    let with_ref = |name: &str, deleting: bool, finalizers: &[&str]| {
        let mut b = branch(name, None);
        b.spec.credentials_ref = Some(SecretRef {
            name: "creds".into(),
        });
        b.spec.deletion_policy = DeletionPolicy::Delete;
        b.status.as_mut().unwrap().id = Some(format!("id-{name}"));
        let when = k8s_openapi::jiff::Timestamp::UNIX_EPOCH;
        let when = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(when);
        b.metadata.deletion_timestamp = deleting.then_some(when);
        b.metadata.finalizers = Some(
            finalizers
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
        );
        b
    };
    let mut never_created = with_ref("never-created", false, &[]);
    never_created.status.as_mut().unwrap().id = None;
    let mut retained = with_ref("retained", false, &[]);
    retained.spec.deletion_policy = DeletionPolicy::Retain;
    let objects = [
        with_ref("live", false, &[]),
        with_ref("cleaning-up", true, &[crate::crd::branch::FINALIZER]),
        with_ref("cleaned-up", true, &["example.com/other"]),
        never_created,
        retained,
        branch("defaults", None),
    ];
    for o in objects {
        writer.apply_watcher_event(&Event::Apply(o));
    }
    let users = vec![
        "PlanetScaleBranch/cleaning-up".to_string(),
        "PlanetScaleBranch/live".to_string(),
    ];
    let mut used = caches.credentials_in_use("a");
    used.values_mut().for_each(|u| u.sort());
    assert_eq!(used, [("creds".to_string(), users)].into());
    assert!(caches.credentials_in_use("b").is_empty(), "other namespace");
}

#[test]
fn subscribers_hear_of_changes_and_of_the_sync_of_the_last_cache_only_during_the_run() {
    let caches = Stores::default();
    caches.start([id::<PlanetScaleBranch>("a"), id::<PlanetScalePassword>("a")]);
    let mut changes = caches.subscribe();
    let (branches, _) = reflector::store::<PlanetScaleBranch>();
    let (passwords, _) = reflector::store::<PlanetScalePassword>();
    let (b, p) = (
        caches.track(Some("a"), &branches),
        caches.track(Some("a"), &passwords),
    );
    b.changed("a".into());
    b.synced();
    p.synced();
    let objects = Change::Objects {
        namespace: "a".into(),
    };
    assert_eq!(changes.try_recv().ok(), Some(objects));
    assert_eq!(changes.try_recv().ok(), Some(Change::Synced));
    caches.stop();
    b.changed("a".into());
    assert_eq!(changes.try_recv().ok(), None, "closed with the run");
}

#[test]
fn cached_objects_keep_no_managed_fields_or_last_applied_annotation() {
    use k8s_openapi::api::core::v1::ConfigMap;
    let mut cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": "x",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "keep": "me"
            },
            "managedFields": [{"manager": "kubectl", "operation": "Apply"}]
        }
    }))
    .expect("configmap");
    trim_metadata(&mut cm);
    assert!(cm.metadata.managed_fields.is_none());
    let annotations = cm.metadata.annotations.expect("annotations");
    assert_eq!(annotations.keys().collect::<Vec<_>>(), ["keep"]);
}
