//! `managementPolicy: Observe` and adoption, for the branch, the password and the deploy
//! request: an observed object is reported and no write request reaches PlanetScale (the
//! emulator's count of every non-read operation does not move), deleting the resource leaves
//! it, and switching to `Manage` takes it over only with `adopt: true`.
use planetscale_api::models::{CreatePassword, PasswordRole};
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::{DeployRequest, PlanetScalePassword};
use serde_json::json;

use crate::branch::{self, ps_branch};
use crate::deploy_request as dr;
use crate::harness::{Harness, with_harness};
use crate::password;

/// A branch made outside Kubernetes, ready.
async fn made_outside(h: &Harness, name: &str) -> String {
    let b = h
        .planetscale()
        .create_branch("acme", "shop", &branch::create(name))
        .await
        .expect("created outside");
    h.advance("61s").await;
    b.id
}

/// A password made outside Kubernetes on `branch` (its plaintext only the user saw).
async fn password_outside(h: &Harness, branch: &str) -> String {
    let body = CreatePassword {
        name: Some("made-by-hand".into()),
        role: Some(PasswordRole::Reader),
        ..CreatePassword::default()
    };
    let p = h
        .planetscale()
        .create_password("acme", "shop", branch, &body)
        .await
        .expect("password made outside");
    p.id
}

#[tokio::test]
async fn an_observed_branch_is_reported_never_written_and_adopted_only_when_asked() {
    with_harness(|h| async move {
        let r = branch::reconciler(&h);
        let id = made_outside(&h, "prod").await;
        let before = h.writes().await;
        let obj = branch::branch("prod", json!({"managementPolicy": "Observe"}));
        h.apply(&obj).await;
        for _ in 0..3 {
            branch::pass(&h, &r, "prod").await;
        }
        let o = branch::get(&h, "prod").await;
        let s = o.status.clone().expect("status");
        assert_eq!(s.id.as_deref(), Some(id.as_str()));
        assert_eq!((s.observed_only, s.adopted), (Some(true), Some(true)));
        assert_eq!(branch::ready(&o).0, "True", "{s:?}");
        assert!(h.event_reasons("prod").await.contains(&"Observed".into()));
        assert_eq!(h.writes().await, before, "an observed branch was written");

        // Manage without adopt: refused, not taken over by flipping the policy.
        h.merge::<PlanetScaleBranch>("prod", json!({"spec": {"managementPolicy": "Manage"}}))
            .await;
        let err = h.pass(&r, "prod").await.expect_err("refused");
        assert_eq!(err.reason(), "AlreadyExists");
        assert_eq!(h.writes().await, before);

        // With adopt: taken over, and from then on managed (a setting is kept).
        let spec = json!({"spec": {"adopt": true, "deletionProtected": true}});
        h.merge::<PlanetScaleBranch>("prod", spec).await;
        branch::pass(&h, &r, "prod").await;
        branch::pass(&h, &r, "prod").await;
        let s = branch::get(&h, "prod").await.status.expect("status");
        assert_eq!((s.observed_only, s.adopted), (None, Some(true)), "{s:?}");
        assert!(h.event_reasons("prod").await.contains(&"Adopted".into()));
        let ps = ps_branch(&h, "prod").await.expect("still there");
        assert!(ps.deletion_protected, "managed after adoption");
    })
    .await;
}

#[tokio::test]
async fn deleting_an_observed_branch_leaves_it_and_a_missing_one_is_not_created() {
    with_harness(|h| async move {
        let r = branch::reconciler(&h);
        made_outside(&h, "watched").await;
        let before = h.writes().await;
        let observe = json!({"managementPolicy": "Observe", "deletionPolicy": "Delete"});
        h.apply(&branch::branch("watched", observe.clone())).await;
        branch::pass(&h, &r, "watched").await;
        branch::pass(&h, &r, "watched").await;
        branch::delete(&h, "watched").await;
        branch::pass(&h, &r, "watched").await;
        assert!(h.get::<PlanetScaleBranch>("watched").await.is_none());
        assert!(ps_branch(&h, "watched").await.is_some(), "deleted");
        assert_eq!(h.event_reasons("watched").await.last().unwrap(), "Released");

        h.apply(&branch::branch("nowhere", observe)).await;
        branch::pass(&h, &r, "nowhere").await;
        let err = h.pass(&r, "nowhere").await.expect_err("missing");
        assert_eq!(err.reason(), "ObservedNotFound");
        let o = branch::get(&h, "nowhere").await;
        let (_, _, message) = branch::condition(&o, "Ready").expect("Ready");
        assert!(message.contains("never creates"), "{message}");
        assert!(ps_branch(&h, "nowhere").await.is_none(), "created");
        assert_eq!(h.writes().await, before);
    })
    .await;
}

#[tokio::test]
async fn an_observed_password_is_reported_without_a_secret_and_never_written() {
    with_harness(|h| async move {
        let r = password::reconciler(&h);
        let id = password_outside(&h, "main").await;
        let before = h.writes().await;
        let spec = json!({"passwordId": id, "managementPolicy": "Observe"});
        let obj = password::password("seen", spec);
        password::applied(&h, &r, &obj).await;
        password::pass(&h, &r, "seen").await;
        password::pass(&h, &r, "seen").await;
        let o = password::get(&h, "seen").await;
        let s = o.status.clone().expect("status");
        assert_eq!(s.password_id.as_deref(), Some(id.as_str()));
        assert_eq!(s.password_name.as_deref(), Some("made-by-hand"));
        assert_eq!(s.observed_only, Some(true));
        assert!(s.username.is_some(), "{s:?}");
        assert_eq!(password::ready(&o).0, "True", "{s:?}");
        assert!(
            password::secret(&h, "seen").await.is_none(),
            "a Secret was written"
        );
        assert_eq!(h.writes().await, before, "an observed password was written");

        password::delete(&h, "seen").await;
        password::pass(&h, &r, "seen").await;
        assert!(h.get::<PlanetScalePassword>("seen").await.is_none());
        let left = h
            .planetscale()
            .get_password("acme", "shop", "main", &id)
            .await;
        assert!(left.is_ok(), "the observed password was deleted: {left:?}");
        assert_eq!(h.writes().await, before);
    })
    .await;
}

#[tokio::test]
async fn an_adopted_password_is_replaced_by_one_in_the_secret_then_deleted() {
    with_harness(|h| async move {
        let r = password::reconciler(&h);
        let id = password_outside(&h, "main").await;
        let spec = json!({"passwordId": id, "adopt": true,
                          "rotation": {"gracePeriod": "10m"}});
        password::applied(&h, &r, &password::password("taken", spec)).await;
        password::pass(&h, &r, "taken").await;
        let o = password::get(&h, "taken").await;
        assert_eq!(password::ready(&o), ("False".into(), "Progressing".into()));
        assert_eq!(h.calls(Some("create_password")).await, 1, "only the user's");

        // The next pass replaces it: a password the operator knows, in the Secret.
        password::pass(&h, &r, "taken").await;
        password::pass(&h, &r, "taken").await;
        let o = password::get(&h, "taken").await;
        assert!(password::is_ready(&o), "{:?}", o.status);
        let s = o.status.clone().expect("status");
        assert_ne!(s.password_id.as_deref(), Some(id.as_str()));
        let pending: Vec<_> = s.pending_deletions.iter().map(|p| &p.password_id).collect();
        assert_eq!(pending, [&id], "the adopted one waits out the grace period");
        let creds = password::creds(&h, "taken").await;
        assert!(
            password::valid(&h, &creds).await,
            "the Secret's password works"
        );
        assert!(
            h.event_reasons("taken")
                .await
                .contains(&"PasswordReplaced".into())
        );

        // After the grace period the adopted password is deleted.
        h.advance("11m").await;
        password::pass(&h, &password::reconciler(&h), "taken").await;
        let s = password::get(&h, "taken").await.status.expect("status");
        assert!(s.pending_deletions.is_empty(), "{s:?}");
        let gone = h
            .planetscale()
            .get_password("acme", "shop", "main", &id)
            .await;
        assert!(gone.is_err(), "the adopted password is still there");
    })
    .await;
}

#[tokio::test]
async fn an_observed_deploy_request_is_reported_and_never_acted_on() {
    with_harness(|h| async move {
        let c = dr::controller(&h);
        let existing = dr::opened_outside(&h, "feat").await;
        let before = h.writes().await;
        let n = i64::try_from(existing.number).unwrap();
        let spec = json!({"number": n, "managementPolicy": "Observe", "autoApply": false});
        dr::create(&h, "watch", "feat", spec).await;
        for _ in 0..3 {
            h.pass(&c, "watch").await.expect("pass");
            h.advance("3s").await;
        }
        let o = dr::get(&h, "watch").await;
        let s = o.status.clone().expect("status");
        assert_eq!(s.number, Some(n));
        assert_eq!(s.observed_only, Some(true));
        assert!(s.deployment_state.is_some(), "{s:?}");
        assert!(h.event_reasons("watch").await.contains(&"Observed".into()));
        assert_eq!(
            h.writes().await,
            before,
            "an observed deploy request was written"
        );

        h.api::<DeployRequest>()
            .delete("watch", &Default::default())
            .await
            .expect("delete");
        h.pass(&c, "watch").await.expect("cleanup");
        assert!(h.get::<DeployRequest>("watch").await.is_none());
        let still = h
            .planetscale()
            .get_deploy_request("acme", "shop", existing.number)
            .await
            .expect("still there");
        assert_eq!(still.state, existing.state, "closed or changed");
        assert_eq!(h.writes().await, before);
    })
    .await;
}

#[tokio::test]
async fn a_deploy_request_is_adopted_by_number_and_a_wrong_branch_is_refused() {
    with_harness(|h| async move {
        let c = dr::controller(&h);
        let existing = dr::opened_outside(&h, "feat").await;
        made_outside(&h, "other").await;
        let n = i64::try_from(existing.number).unwrap();

        // A number typed for another branch is refused, nothing is taken over.
        dr::create(&h, "typo", "other", json!({"number": n, "adopt": true})).await;
        let err = h.pass(&c, "typo").await.expect_err("refused");
        assert_eq!(err.reason(), "BranchMismatch");
        assert_eq!(
            dr::get(&h, "typo").await.status.and_then(|s| s.number),
            None
        );

        dr::create(&h, "ship", "feat", json!({"number": n, "adopt": true})).await;
        h.pass(&c, "ship").await.expect("adopt pass");
        assert_eq!(dr::number(&h, "ship").await, existing.number);
        assert!(h.event_reasons("ship").await.contains(&"Adopted".into()));
        dr::drive(&h, "ship", "True", "ChecksPassed", "3s").await;
        assert_eq!(
            h.calls(Some("create_deploy_request")).await,
            1,
            "adopted, not opened again"
        );
    })
    .await;
}
