//! The `credentials-in-use` finalizer: a credentials Secret named in `spec.credentialsRef`
//! stays, even when deleted, while a branch that created something in PlanetScale still needs
//! it, and loses the finalizer once nothing does.
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use planetscale_operator::controller::credentials_in_use::FINALIZER as IN_USE;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::json;

use super::EMULATOR;
use super::common::*;
use crate::support::env::{self, create_credentials_secret};
use crate::support::{self, with_operator};

/// How long adding or removing the finalizer may take (a watch event and one patch).
const SOON: Duration = Duration::from_secs(20);

fn finalized(s: &Secret) -> bool {
    s.finalizers().iter().any(|f| f == IN_USE)
}

async fn wait_finalized(secrets: &Api<Secret>, name: &str, on: bool) -> Secret {
    let what = if on { "carrying" } else { "without" };
    let what = format!("{what} the {IN_USE} finalizer");
    support::wait_for(secrets, name, SOON, &what, |s| finalized(s) == on).await
}

/// Waits until PlanetScale's deletion protection of branch `name` is `on`.
async fn wait_protection(emu: &support::Emulator, name: &str, on: bool) {
    support::eventually(
        READY,
        &format!("deletion protection {on} in PlanetScale"),
        || async {
            match ps_branch(emu, name).await {
                Some(b) if b.deletion_protected == on => Ok(()),
                other => Err(other.map(|b| b.deletion_protected)),
            }
        },
    )
    .await;
}

#[tokio::test]
async fn a_credentials_secret_deleted_while_in_use_stays_until_its_branch_is_deleted() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        create_credentials_secret(client.clone(), &ns, "team-creds", env::TOKEN_ID, env::TOKEN)
            .await;
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let spec = json!({"credentialsRef": {"name": "team-creds"}});
        apply(&api, &branch("team", spec)).await;
        wait_ready(&api, "team").await;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        wait_finalized(&secrets, "team-creds", true).await;

        secrets
            .delete("team-creds", &Default::default())
            .await
            .unwrap();
        let deleting = |s: &Secret| s.metadata.deletion_timestamp.is_some();
        support::wait_for(&secrets, "team-creds", SOON, "Terminating", deleting).await;
        let why = wait_event(&client, &ns, "team-creds", "CredentialsInUse").await;
        assert!(why.contains("PlanetScaleBranch/team"), "{why}");

        // The branch keeps working with the Terminating Secret's credentials.
        merge(&api, "team", json!({"spec": {"deletionProtected": true}})).await;
        wait_protection(&emu, "team", true).await;
        merge(&api, "team", json!({"spec": {"deletionProtected": false}})).await;
        wait_protection(&emu, "team", false).await;
        wait_ready(&api, "team").await;
        let kept = secrets.get_opt("team-creds").await.unwrap();
        assert!(kept.is_some_and(|s| deleting(&s)), "kept while in use");

        delete_and_wait(&api, "team").await;
        assert!(
            ps_branch(&emu, "team").await.is_none(),
            "deleted in PlanetScale"
        );
        support::wait_gone(&secrets, "team-creds", SOON).await;
    })
    .await;
}

#[tokio::test]
async fn a_credentials_secret_no_longer_needed_loses_the_finalizer() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        for name in ["creds-a", "creds-b"] {
            create_credentials_secret(client.clone(), &ns, name, env::TOKEN_ID, env::TOKEN).await;
        }
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(
            &api,
            &branch("team", json!({"credentialsRef": {"name": "creds-a"}})),
        )
        .await;
        apply(&api, &branch("defaulted", json!({}))).await;
        wait_ready(&api, "team").await;
        wait_ready(&api, "defaulted").await;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        wait_finalized(&secrets, "creds-a", true).await;

        // The reference edited away: the old Secret is released, the new one held.
        merge(
            &api,
            "team",
            json!({"spec": {"credentialsRef": {"name": "creds-b"}}}),
        )
        .await;
        wait_finalized(&secrets, "creds-a", false).await;
        wait_finalized(&secrets, "creds-b", true).await;
        wait_ready(&api, "team").await;

        // The branch deleted: nothing needs the Secret any more, and it stays.
        delete_and_wait(&api, "team").await;
        assert!(ps_branch(&emu, "team").await.is_none());
        wait_finalized(&secrets, "creds-b", false).await;
        // The default credentials (no credentialsRef) never get the finalizer.
        let default = secrets.get(env::CREDENTIALS_SECRET).await.unwrap();
        assert!(!finalized(&default), "{:?}", default.finalizers());
        delete_and_wait(&api, "defaulted").await;
    })
    .await;
}
