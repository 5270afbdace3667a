//! Self-healing: a deleted, edited or emptied Secret gets a new password; the replaced ones
//! keep working for the grace period and are deleted after it. Other keys are just rewritten.
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::{Value, json};

use crate::common::*;
use crate::support::with_operator;

async fn patch_secret(secrets: &Api<Secret>, patch: Value) {
    secrets
        .patch("app", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch Secret");
}

fn pending(obj: &PlanetScalePassword) -> usize {
    obj.status.as_ref().map_or(0, |s| s.pending_deletions.len())
}

#[tokio::test]
async fn a_deleted_edited_or_emptied_secret_is_healed() {
    with_operator(&[], FAST_RESYNC, |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        let spec = json!({"rotation": {"gracePeriod": "1m"}, "secret": {"formats": ["env"]}});
        apply(&api, &password("app", spec)).await;
        wait_ready(&api, "app").await;
        let c1 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;

        secrets
            .delete("app", &DeleteParams::default())
            .await
            .expect("delete Secret");
        let c2 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c1.0).await;
        let obj = wait_until(&api, "app", "one pending deletion", |o| pending(o) == 1).await;
        let p = &obj.status.as_ref().unwrap().pending_deletions[0];
        assert!(p.password_name.is_some(), "{p:?}");
        assert!(
            valid(&emu, "main", &c1).await,
            "the old password works during the grace period"
        );
        let note = wait_event(&client, &ns, "app", "SecretHealed").await;
        assert!(note.contains("Secret app"), "{note}");

        // A key other than the credentials: rewritten, same password.
        patch_secret(
            &secrets,
            json!({"stringData": {"HOST": "evil.example.com"}}),
        )
        .await;
        crate::support::eventually(READY, "HOST restored", || async {
            let s = secret(&client, &ns, "app").await.unwrap();
            match value(&s, "HOST") {
                Some(h) if h.ends_with(".connect.psdb.cloud") => Ok(()),
                other => Err(other),
            }
        })
        .await;
        let s = secret(&client, &ns, "app").await.unwrap();
        assert_eq!(
            creds(&s),
            Some(c2.clone()),
            "no new password for a non-credential key"
        );

        patch_secret(&secrets, json!({"stringData": {"password": "guess"}})).await;
        let c3 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c2.0).await;
        patch_secret(&secrets, json!({"data": null})).await;
        let c4 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c3.0).await;

        emu.advance("2m").await;
        let obj = wait_until(&api, "app", "no pending deletions", |o| pending(o) == 0).await;
        for old in [&c1, &c2, &c3] {
            assert!(!valid(&emu, "main", old).await, "{} was deleted", old.0);
        }
        assert!(valid(&emu, "main", &c4).await);
        assert_eq!(live_passwords(&emu, &obj).await.len(), 1);
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}
