//! Deletion: every password the resource created goes (also one still in its grace period);
//! with `deletionPolicy: Retain` they stay.
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::DeleteParams;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::json;

use crate::common::*;
use crate::support::{self, with_operator};

#[tokio::test]
async fn deletion_deletes_every_password_and_retain_keeps_them() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        apply(
            &api,
            &password("gone", json!({"rotation": {"gracePeriod": "1h"}})),
        )
        .await;
        apply(&api, &password("kept", json!({"deletionPolicy": "Retain"}))).await;
        let first = wait_ready(&api, "gone").await;
        let kept = wait_ready(&api, "kept").await;
        wait_secret(&client, &emu, &ns, "kept", "main", &seen, |_| true).await;
        let c1 = wait_secret(&client, &emu, &ns, "gone", "main", &seen, |_| true).await;
        let rotate =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": "now"}}});
        merge(&api, "gone", rotate).await;
        let rotated = wait_until(&api, "gone", "rotated", |o| {
            is_ready(o) && password_name(o) != password_name(&first)
        })
        .await;
        wait_secret(&client, &emu, &ns, "gone", "main", &seen, |c| c.0 != c1.0).await;
        assert_eq!(
            live_passwords(&emu, &rotated).await.len(),
            2,
            "one in its grace period"
        );

        api.delete("gone", &DeleteParams::default())
            .await
            .expect("delete");
        support::wait_gone(&api, "gone", READY).await;
        assert!(live_passwords(&emu, &rotated).await.is_empty());
        support::wait_gone(&secrets, "gone", READY).await;
        wait_event_with(&client, &ns, "PasswordsDeleted", "deleted 2 password").await;

        api.delete("kept", &DeleteParams::default())
            .await
            .expect("delete");
        support::wait_gone(&api, "kept", READY).await;
        assert_eq!(
            live_passwords(&emu, &kept).await.len(),
            1,
            "Retain keeps the password"
        );
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
    })
    .await;
}

#[tokio::test]
async fn a_password_already_deleted_in_planetscale_does_not_hold_up_deletion() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        apply(&api, &password("outside", json!({}))).await;
        let obj = wait_ready(&api, "outside").await;
        wait_secret(&client, &emu, &ns, "outside", "main", &seen, |_| true).await;

        // Someone deletes the password in PlanetScale, then the resource.
        let id = password_id(&obj);
        planetscale(&emu)
            .delete_password("acme", "shop", "main", &id)
            .await
            .expect("delete in PlanetScale");
        assert!(live_passwords(&emu, &obj).await.is_empty());
        api.delete("outside", &DeleteParams::default())
            .await
            .expect("delete");
        support::wait_gone(&api, "outside", READY).await;
        support::wait_gone(&secrets, "outside", READY).await;
        let stats = emu.stats().await;
        let not_found = &stats["operations"]["delete_password"]["by_status"]["404"];
        assert!(
            not_found.as_u64().unwrap_or(0) >= 1,
            "the operator's delete was answered 404 and counted as done: {}",
            stats["operations"]["delete_password"]
        );
        assert!(
            live_passwords(&emu, &obj).await.is_empty(),
            "none made again"
        );
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
    })
    .await;
}
