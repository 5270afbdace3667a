//! The skeleton's fresh read: a pass works from the object as the API server has it now,
//! also when the object it is handed is stale, and skips the read only for the exact object
//! our own last status write stored.
use kube::ResourceExt;
use planetscale_operator::controller::reconciler;
use serde_json::json;

use crate::branch::{branch, created, get, ps_branch, ready, reconciler};
use crate::harness::with_harness;

#[tokio::test]
async fn a_pass_handed_a_stale_object_sees_the_edit_made_since() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        // As a lagging watch would hand it over: from before our last status write.
        let stale = created(&h, &r, &branch("pr-1", json!({}))).await;
        h.advance("61s").await;
        reconciler::pass(&stale, &r).await.expect("ready pass");
        let ours = get(&h, "pr-1").await;
        assert_eq!(ready(&ours).0, "True", "{:?}", ours.status);
        assert_ne!(stale.resource_version(), ours.resource_version());

        // The user's edit lands after our write; the pass is handed the stale object.
        h.apply(&branch("pr-1", json!({"deletionProtected": true})))
            .await;
        reconciler::pass(&stale, &r).await.expect("pass");
        let b = ps_branch(&h, "pr-1").await.expect("in PlanetScale");
        assert!(b.deletion_protected, "the pass did not see the edit");
        let now = get(&h, "pr-1").await;
        let status = now.status.as_ref().expect("status");
        assert_eq!(status.deletion_protected, Some(true), "{status:?}");
        assert_eq!(status.observed_generation, now.metadata.generation);

        // Handed exactly what our last write stored, a pass changes nothing.
        reconciler::pass(&now, &r).await.expect("pass");
        let again = get(&h, "pr-1").await;
        assert_eq!(again.resource_version(), now.resource_version());
    })
    .await;
}
