//! Proves the local control plane is a real Kubernetes: CRDs get Established, the garbage
//! collector and namespace controller run, and RBAC refuses what it must.
mod support;

use std::time::Duration;

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, ObjectReference, Secret, ServiceAccount,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, ObjectMeta, PostParams};
use kube::{Api, Client, ResourceExt};
use support::{wait_for, wait_gone, with_temp_ns};

const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn crds_printed_by_crdgen_become_established() {
    let crds = support::install_crds().await;
    let names: Vec<String> = crds.iter().map(kube::ResourceExt::name_any).collect();
    assert!(names.len() >= 3, "crdgen printed too few CRDs: {names:?}");
    let api: Api<CustomResourceDefinition> = Api::all(support::client().await);
    for name in &names {
        let crd = api.get(name).await.expect("CRD exists after install");
        let established = crd.status.and_then(|s| s.conditions).unwrap_or_default();
        assert!(
            established
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn owned_secret_is_garbage_collected_with_its_owner() {
    with_temp_ns(|client, ns| async move {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        let owner = cms
            .create(
                &PostParams::default(),
                &ConfigMap {
                    metadata: meta("owner"),
                    ..Default::default()
                },
            )
            .await
            .expect("create owner");
        let secrets: Api<Secret> = Api::namespaced(client, &ns);
        let mut dependent = Secret {
            metadata: meta("dependent"),
            ..Default::default()
        };
        dependent.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: owner.name_any(),
            uid: owner.uid().expect("uid"),
            ..Default::default()
        }]);
        secrets
            .create(&PostParams::default(), &dependent)
            .await
            .expect("create dependent");
        cms.delete("owner", &DeleteParams::default())
            .await
            .expect("delete owner");
        wait_gone(&secrets, "dependent", T).await;
    })
    .await;
}

#[tokio::test]
async fn deleted_namespace_goes_away_with_its_contents() {
    let client = support::client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let name = format!("t-del-{:06x}", rand::random::<u32>() & 0xffffff);
    namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: meta(&name),
                ..Default::default()
            },
        )
        .await
        .expect("create namespace");
    let cms: Api<ConfigMap> = Api::namespaced(client, &name);
    cms.create(
        &PostParams::default(),
        &ConfigMap {
            metadata: meta("content"),
            ..Default::default()
        },
    )
    .await
    .expect("create content");
    namespaces
        .delete(&name, &DeleteParams::default())
        .await
        .expect("delete namespace");
    wait_gone(&namespaces, &name, T).await;
}

#[tokio::test]
async fn service_account_without_rbac_is_forbidden() {
    with_temp_ns(|client, ns| async move {
        let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
        sas.create(
            &PostParams::default(),
            &ServiceAccount {
                metadata: meta("nobody"),
                ..Default::default()
            },
        )
        .await
        .expect("create service account");
        let token = sas
            .create_token_request("nobody", &PostParams::default(), &TokenRequest::default())
            .await
            .expect("TokenRequest API works")
            .status
            .expect("token status")
            .token;
        let mut cfg = support::config().await;
        cfg.auth_info = kube::config::AuthInfo {
            token: Some(token.into()),
            ..Default::default()
        };
        let as_sa = Client::try_from(cfg).expect("client with token");
        let err = Api::<Secret>::namespaced(as_sa, &ns)
            .list(&Default::default())
            .await
            .expect_err("a ServiceAccount without RBAC must not list Secrets");
        match err {
            kube::Error::Api(status) => assert_eq!(status.code, 403, "{status:?}"),
            other => panic!("expected 403 Forbidden, got {other}"),
        }
    })
    .await;
}

/// A `wait_for` that runs out of time says what it waited for and shows the object and its
/// events; when the object never appeared, the events come from the namespace it was asked
/// to look in.
#[tokio::test]
async fn wait_for_timeout_shows_the_object_and_its_events() {
    with_temp_ns(|client, ns| async move {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        cms.create(
            &PostParams::default(),
            &ConfigMap {
                metadata: meta("watched"),
                data: Some([("colour".to_string(), "blue".to_string())].into()),
                ..Default::default()
            },
        )
        .await
        .expect("create ConfigMap");
        let events: Api<Event> = Api::namespaced(client, &ns);
        for (name, reason) in [("watched", "ColourChosen"), ("ghost", "GhostSighted")] {
            let event = Event {
                metadata: meta(&format!("{name}.event")),
                involved_object: ObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("ConfigMap".into()),
                    name: Some(name.into()),
                    namespace: Some(ns.clone()),
                    ..Default::default()
                },
                reason: Some(reason.into()),
                message: Some(format!("a test event about {name}")),
                type_: Some("Normal".into()),
                ..Default::default()
            };
            events
                .create(&PostParams::default(), &event)
                .await
                .expect("create Event");
        }

        let msg = wait_for_panic(cms.clone(), "watched").await;
        for part in [
            "waiting for watched to be never true",
            "--- object ---",
            "name: watched",
            "colour: blue",
            "--- events ---",
            "Normal ColourChosen a test event about watched",
        ] {
            assert!(msg.contains(part), "{part:?} missing from:\n{msg}");
        }
        assert!(!msg.contains("GhostSighted"), "only its own events:\n{msg}");

        let msg = wait_for_panic(cms, "ghost").await;
        for part in [
            "waiting for ghost to be never true",
            "<absent>",
            "Normal GhostSighted a test event about ghost",
        ] {
            assert!(msg.contains(part), "{part:?} missing from:\n{msg}");
        }
    })
    .await;
}

/// Runs `wait_for(name)` with a condition that never holds and a 1 s deadline; returns its
/// panic message.
async fn wait_for_panic(api: Api<ConfigMap>, name: &'static str) -> String {
    let joined = tokio::spawn(async move {
        wait_for(&api, name, Duration::from_secs(1), "never true", |_| false).await;
    })
    .await;
    let err = joined.expect_err("wait_for panics when its deadline passes");
    panic_message(err.into_panic())
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    match panic.downcast::<String>() {
        Ok(s) => *s,
        Err(panic) => panic
            .downcast_ref::<&str>()
            .map(std::string::ToString::to_string)
            .expect("a panic with a message"),
    }
}

/// A test body that panics still gets its namespace deleted, and the panic reaches the test.
#[tokio::test]
async fn with_temp_ns_deletes_the_namespace_when_the_body_panics() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let body_saw = seen.clone();
    let joined = tokio::spawn(async move {
        let _: () = with_temp_ns(|_, ns| async move {
            *body_saw.lock().unwrap() = Some(ns);
            panic!("the test body failed");
        })
        .await;
    })
    .await;
    let err = joined.expect_err("the body's panic reaches the caller");
    assert_eq!(panic_message(err.into_panic()), "the test body failed");
    let ns = seen.lock().unwrap().clone().expect("the body ran");
    let namespaces: Api<Namespace> = Api::all(support::client().await);
    wait_gone(&namespaces, &ns, T).await;
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    }
}
