//! The operator's events as `kubectl get events` shows them: a repeat within six minutes
//! counts on the same Event (its series), another reason is another Event, and a repeat
//! of an Event that expired starts a new one.
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use kube::{Api, Resource};
use planetscale_operator::events::Recorder;

async fn ours(api: &Api<K8sEvent>, object: &str) -> Vec<K8sEvent> {
    let lp = ListParams::default().fields(&format!("regarding.name={object}"));
    let mut list = api.list(&lp).await.expect("list events").items;
    list.sort_by_key(|e| e.event_time.clone());
    list
}

fn warning(reason: &str) -> Event {
    Event {
        type_: EventType::Warning,
        reason: reason.into(),
        note: Some(format!("{reason}: fix the credentials Secret")),
        action: "Reconcile".into(),
        secondary: None,
    }
}

#[tokio::test]
async fn a_repeated_event_is_one_event_with_a_count() {
    crate::support::with_temp_ns(|client, ns| async move {
        // Any object will do as the one the events regard.
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some("app".into());
        let cm = cms
            .create(&PostParams::default(), &cm)
            .await
            .expect("configmap");
        let regarding = cm.object_ref(&());
        let reporter = Reporter {
            controller: "planetscale-operator".into(),
            instance: Some("pod-1".into()),
        };
        let recorder = Recorder::new(client.clone(), reporter);
        let events: Api<K8sEvent> = Api::namespaced(client.clone(), &ns);

        for _ in 0..3 {
            recorder
                .publish(&warning("Unauthorized"), &regarding)
                .await
                .expect("publish");
        }
        let list = ours(&events, "app").await;
        assert_eq!(list.len(), 1, "three repeats, one Event: {list:#?}");
        let e = &list[0];
        assert_eq!(e.series.as_ref().map(|s| s.count), Some(3), "{e:#?}");
        assert_eq!(e.reason.as_deref(), Some("Unauthorized"));
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert_eq!(
            e.reporting_controller.as_deref(),
            Some("planetscale-operator")
        );
        assert_eq!(e.reporting_instance.as_deref(), Some("pod-1"));
        assert_eq!(
            e.regarding.as_ref().and_then(|r| r.name.as_deref()),
            Some("app")
        );

        recorder
            .publish(&warning("RateLimited"), &regarding)
            .await
            .expect("publish");
        let list = ours(&events, "app").await;
        assert_eq!(list.len(), 2, "another reason, another Event: {list:#?}");
        assert_eq!(recorder.remembered(), 2);

        // The Event expired (the API server deletes events after an hour): the next repeat
        // starts a new one instead of failing.
        let name = list[0].metadata.name.clone().expect("name");
        events
            .delete(&name, &DeleteParams::default())
            .await
            .expect("delete");
        recorder
            .publish(&warning("Unauthorized"), &regarding)
            .await
            .expect("publish after expiry");
        let list = ours(&events, "app").await;
        let unauthorized: Vec<_> = list
            .iter()
            .filter(|e| e.reason.as_deref() == Some("Unauthorized"))
            .collect();
        assert_eq!(unauthorized.len(), 1, "{list:#?}");
        assert_ne!(
            unauthorized[0].metadata.name.as_deref(),
            Some(name.as_str())
        );
        assert!(
            unauthorized[0].series.is_none(),
            "a new Event, counted from one"
        );
    })
    .await;
}
