//! The deploy request's schedule: the reconcile our own status write triggers, and a webhook
//! delivery of the state the last pass read, make no PlanetScale call; a delivery of a new
//! state, a spec change or the time coming does.
use std::sync::Arc;

use planetscale_operator::controller::deploy_request::DeployRequests;
use planetscale_operator::controller::object_key;
use planetscale_operator::controller::reconciler::{self, Reconciler};
use serde_json::json;

use crate::deploy_request::{controller, get, opened, patch_spec, state};
use crate::harness::{Harness, with_harness};

/// Runs the reconcile the controller would run now for `name` (handed the object as stored:
/// our own last write); returns the PlanetScale calls it made.
async fn reconcile(h: &Harness, r: &Arc<DeployRequests>, name: &str) -> u64 {
    let before = h.calls(None).await;
    let obj = get(h, name).await;
    reconciler::reconcile(Arc::new(obj), r.clone())
        .await
        .expect("reconcile");
    h.calls(None).await - before
}

#[tokio::test]
async fn only_news_lets_a_deploy_request_pass_call_planetscale() {
    with_harness(|h| async move {
        opened(&h, "ship", json!({"deploy": true})).await;
        let r = Arc::new(controller(&h));
        h.pass(r.as_ref(), "ship").await.expect("opens");
        assert_eq!(state(&h, "ship").await, "pending");
        let key = object_key(&get(&h, "ship").await);
        let schedule = r.schedule().expect("a schedule");

        assert_eq!(reconcile(&h, &r, "ship").await, 0, "our own status write");
        schedule.hint(&key, Some("open/pending"));
        assert_eq!(reconcile(&h, &r, "ship").await, 0, "the state just read");

        h.advance("2s").await; // the checks pass: no event for that
        schedule.hint(&key, Some("open/ready"));
        assert!(reconcile(&h, &r, "ship").await > 0, "a new state");
        assert_eq!(state(&h, "ship").await, "submitting", "queued at once");
        assert_eq!(reconcile(&h, &r, "ship").await, 0, "our own status write");
        schedule.hint(&key, Some("open/submitting"));
        assert_eq!(
            reconcile(&h, &r, "ship").await,
            0,
            "what the queue call answered"
        );

        let generation = get(&h, "ship").await.metadata.generation;
        patch_spec(&h, "ship", json!({"notes": "changed"})).await;
        assert_ne!(get(&h, "ship").await.metadata.generation, generation);
        assert!(reconcile(&h, &r, "ship").await > 0, "a spec change");
    })
    .await;
}
