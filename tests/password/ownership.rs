//! The Secret's creation policy: `Owner` (owned, deleted with the resource), `Orphan` (stays),
//! `Merge` (our keys in someone else's Secret, removed again on deletion) and a foreign Secret
//! that is never overwritten.
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ObjectMeta};
use kube::{Api, Client, ResourceExt};
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::json;

use crate::common::*;
use crate::support::{self, with_operator};

async fn user_secret(client: &Client, ns: &str, name: &str, key: &str, value: &str) {
    let s = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from([(key.to_string(), value.to_string())])),
        ..Default::default()
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    api.create(&Default::default(), &s)
        .await
        .expect("create Secret");
}

fn owners(s: &Secret) -> Vec<String> {
    s.owner_references().iter().map(|o| o.uid.clone()).collect()
}

#[tokio::test]
async fn owner_orphan_merge_and_a_foreign_secret() {
    with_operator(&[], &[], |client, ns, emu, op| async move {
        user_secret(&client, &ns, "theirs", "x", "y").await;
        user_secret(&client, &ns, "shared", "keep", "me").await;
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let merge_into = |name: &str| json!({"secret": {"name": name, "creationPolicy": "Merge"}});
        apply(&api, &password("owned", json!({}))).await;
        apply(
            &api,
            &password("orphan", json!({"secret": {"creationPolicy": "Orphan"}})),
        )
        .await;
        apply(&api, &password("merged", merge_into("shared"))).await;
        apply(
            &api,
            &password("foreign", json!({"secret": {"name": "theirs"}})),
        )
        .await;
        let seen = Seen::default();

        let owned = wait_ready(&api, "owned").await;
        let s = secret(&client, &ns, "owned").await.unwrap();
        assert_eq!(owners(&s), vec![owned.uid().unwrap()]);
        assert_eq!(
            s.labels()
                .get("app.kubernetes.io/managed-by")
                .map(String::as_str),
            Some("planetscale-operator")
        );
        let c_owned = wait_secret(&client, &emu, &ns, "owned", "main", &seen, |_| true).await;
        // A new secret.name: a new password in the new Secret, the old Secret goes (Owner).
        merge(
            &api,
            "owned",
            json!({"spec": {"secret": {"name": "owned-2"}}}),
        )
        .await;
        wait_secret(&client, &emu, &ns, "owned-2", "main", &seen, |c| {
            c.0 != c_owned.0
        })
        .await;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        support::wait_gone(&secrets, "owned", READY).await;
        wait_ready(&api, "orphan").await;
        assert!(owners(&secret(&client, &ns, "orphan").await.unwrap()).is_empty());
        wait_ready(&api, "merged").await;
        wait_secret(&client, &emu, &ns, "shared", "main", &seen, |_| true).await;
        let shared = secret(&client, &ns, "shared").await.unwrap();
        assert_eq!(value(&shared, "keep").as_deref(), Some("me"));
        assert!(
            owners(&shared).is_empty(),
            "Merge does not take the Secret over"
        );

        // Two resources cannot share a Secret, not even with Merge; the rival changes nothing.
        apply(&api, &password("rival", merge_into("shared"))).await;
        let rival = wait_condition(&api, "rival", "SecretSynced", "False", "SecretConflict").await;
        let message = condition(&rival, "Ready").unwrap().2;
        assert!(message.contains("PlanetScalePassword merged"), "{message}");
        assert!(live_passwords(&emu, &rival).await.is_empty());
        api.delete("rival", &DeleteParams::default())
            .await
            .expect("delete");
        support::wait_gone(&api, "rival", READY).await;
        wait_secret(&client, &emu, &ns, "shared", "main", &seen, |_| true).await;

        let foreign =
            wait_condition(&api, "foreign", "SecretSynced", "False", "SecretConflict").await;
        assert_eq!(condition(&foreign, "Ready").unwrap().1, "SecretConflict");
        wait_event(&client, &ns, "foreign", "SecretConflict").await;
        let theirs = secret(&client, &ns, "theirs").await.unwrap();
        assert_eq!(
            theirs.data.as_ref().map(std::collections::BTreeMap::len),
            Some(1),
            "untouched"
        );
        assert!(
            live_passwords(&emu, &foreign).await.is_empty(),
            "no password for a Secret we cannot write"
        );
        merge(&api, "foreign", json!({"spec": merge_into("theirs")})).await;
        wait_ready(&api, "foreign").await;
        wait_secret(&client, &emu, &ns, "theirs", "main", &seen, |_| true).await;
        for name in ["owned-2", "orphan"] {
            wait_secret(&client, &emu, &ns, name, "main", &seen, |_| true).await;
        }
        assert_no_leaks(&client, &ns, &[&op], &seen).await;

        let all = ["owned", "orphan", "merged", "foreign"];
        let objs: Vec<PlanetScalePassword> = futures::future::join_all(all.map(|n| api.get(n)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        for name in all {
            api.delete(name, &DeleteParams::default())
                .await
                .expect("delete");
        }
        for name in all {
            support::wait_gone(&api, name, READY).await;
        }
        support::wait_gone(&secrets, "owned-2", READY).await;
        let orphan = secret(&client, &ns, "orphan")
            .await
            .expect("an orphaned Secret stays");
        assert!(creds(&orphan).is_some());
        for (name, kept) in [("shared", "keep"), ("theirs", "x")] {
            let s = secret(&client, &ns, name)
                .await
                .expect("a merged Secret stays");
            let keys: Vec<_> = s.data.clone().unwrap_or_default().into_keys().collect();
            assert_eq!(
                keys,
                vec![kept.to_string()],
                "only our keys are removed from {name}"
            );
            assert!(
                s.labels().get("app.kubernetes.io/managed-by").is_none(),
                "{name}"
            );
        }
        for obj in &objs {
            assert!(
                live_passwords(&emu, obj).await.is_empty(),
                "{}",
                obj.name_any()
            );
        }
    })
    .await;
}
