//! Credentials: missing, malformed and rejected Secrets give their reasons with a bounded
//! number of API calls, a fixed Secret is picked up at once (the Secret watch), and OAuth
//! tokens are refreshed and written back.
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::json;

use super::EMULATOR;
use super::common::*;
use crate::support::{self, env, with_operator};

/// A faster way to the next state than the 5-minute slow retry: only the Secret watch.
const PICKED_UP: Duration = Duration::from_secs(20);

/// Creates Secret `name` with `data`, or replaces its data in place (one write, as a user's
/// `kubectl apply` of the fixed Secret does).
async fn put_secret(client: &Client, ns: &str, name: &str, data: &[(&str, &str)]) {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let string_data = data
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(old) = api.get_opt(name).await.unwrap() {
        // A merge patch: no conflict with the operator's finalizer patch; old keys removed.
        let mut patch: serde_json::Map<String, serde_json::Value> = old
            .data
            .unwrap_or_default()
            .into_keys()
            .map(|k| (k, serde_json::Value::Null))
            .collect();
        for (k, v) in data {
            let bytes = k8s_openapi::ByteString(v.as_bytes().to_vec());
            patch.insert(k.to_string(), serde_json::to_value(bytes).unwrap());
        }
        let patch = json!({ "data": patch });
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        return;
    }
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        string_data: Some(string_data),
        ..Default::default()
    };
    api.create(&PostParams::default(), &secret).await.unwrap();
}

/// The `team` resource and its `team-creds` Secret.
struct Team<'a> {
    client: &'a Client,
    ns: &'a str,
    api: &'a Api<PlanetScaleBranch>,
}

impl Team<'_> {
    /// Puts `data` in the Secret and waits for `reason` on the resource and its event.
    async fn put_expect(&self, data: &[(&str, &str)], reason: &str) {
        put_secret(self.client, self.ns, "team-creds", data).await;
        wait_reason_within(self.api, "team", reason).await;
        wait_event(self.client, self.ns, "team", reason).await;
    }
}

async fn wait_reason_within(api: &Api<PlanetScaleBranch>, name: &str, reason: &str) {
    let what = format!("Ready=False reason {reason} (picked up from the Secret change)");
    support::wait_for(api, name, PICKED_UP, &what, |o| {
        not_ready_because(o, reason)
    })
    .await;
}

#[tokio::test]
async fn credentials_errors_have_reasons_bounded_calls_and_heal_when_fixed() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        reset_calls(&emu).await;
        apply(
            &api,
            &branch("team", json!({"credentialsRef": {"name": "team-creds"}})),
        )
        .await;
        let o = wait_reason(&api, "team", "CredentialsNotFound").await;
        assert!(
            condition(&o, "Ready").unwrap().2.contains("team-creds"),
            "{o:?}"
        );
        wait_event(&client, &ns, "team", "CredentialsNotFound").await;
        assert_eq!(calls(&emu, None, None).await, 0, "no Secret, no API call");

        let team = Team {
            client: &client,
            ns: &ns,
            api: &api,
        };
        team.put_expect(&[("serviceTokenId", "onlyanid")], "CredentialsInvalid")
            .await;
        let wrong = [
            ("serviceTokenId", env::TOKEN_ID),
            ("serviceToken", "pscale_tkn_wrong"),
        ];
        team.put_expect(&wrong, "Unauthorized").await;
        // Rejected credentials are retried slowly (every 5 minutes): over 10 s, the one call
        // that found out, not a loop.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let (rejected, all) = (
            calls(&emu, None, Some(401)).await,
            calls(&emu, None, None).await,
        );
        assert!(
            (1..=2).contains(&rejected) && all == rejected,
            "{}\nthe operator's passes:\n{}",
            emu.stats().await,
            operator.log_about("team")
        );

        let right = [
            ("serviceTokenId", env::TOKEN_ID),
            ("serviceToken", env::TOKEN),
        ];
        put_secret(&client, &ns, "team-creds", &right).await;
        support::wait_for(&api, "team", PICKED_UP, "Ready after the fix", is_ready).await;
        assert!(ps_branch(&emu, "team").await.is_some());
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn oauth_tokens_are_refreshed_and_the_new_pair_is_written_back() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let minted = oauth_secret(&emu, &client, &ns, "oauth-creds").await;
        let spec = json!({"credentialsRef": {"name": "oauth-creds"}});
        apply(&api, &branch("via-oauth", spec)).await;
        wait_ready(&api, "via-oauth").await;
        wait_rotated(&client, &ns, "oauth-creds", &minted).await;
        let world = emu.world().await;
        let tokens = world["oauth_tokens"].as_array().unwrap();
        let spent = tokens.iter().any(|t| t["refresh_spent"] == true);
        assert!(spent, "the minted refresh token was used: {world}");

        // The operator keeps working with the new pair.
        merge(
            &api,
            "via-oauth",
            json!({"spec": {"deletionProtected": true}}),
        )
        .await;
        support::eventually(READY, "deletion protection on via OAuth", || async {
            let b = ps_branch(&emu, "via-oauth").await.unwrap();
            if b.deletion_protected { Ok(()) } else { Err(b) }
        })
        .await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn default_credentials_in_the_operator_namespace_are_picked_up_when_fixed() {
    use k8s_openapi::api::core::v1::Namespace;
    let ops = format!("ops-{:08x}", rand::random::<u32>());
    let namespaces: Api<Namespace> = Api::all(support::client().await);
    let meta = ObjectMeta {
        name: Some(ops.clone()),
        labels: Some([("pso-test".to_string(), "true".to_string())].into()),
        ..Default::default()
    };
    let ns_obj = Namespace {
        metadata: meta,
        ..Default::default()
    };
    namespaces
        .create(&PostParams::default(), &ns_obj)
        .await
        .unwrap();
    let env = [
        ("PSO_OPERATOR_NAMESPACE", ops.as_str()),
        ("PSO_DEFAULT_CREDENTIALS_SECRET", "pso-default"),
    ];
    let ops_ns = ops.clone();
    with_operator(EMULATOR, &env, move |client, ns, emu, op| async move {
        let _running = (emu, op); // keeps the emulator and the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(&api, &branch("defaulted", json!({}))).await;
        let o = wait_reason(&api, "defaulted", "CredentialsNotFound").await;
        let message = condition(&o, "Ready").unwrap().2;
        assert!(
            message.contains(&format!("{ops_ns}/pso-default")),
            "{message}"
        );
        let right = [
            ("serviceTokenId", env::TOKEN_ID),
            ("serviceToken", env::TOKEN),
        ];
        put_secret(&client, &ops_ns, "pso-default", &right).await;
        support::wait_for(
            &api,
            "defaulted",
            PICKED_UP,
            "Ready after the fix",
            is_ready,
        )
        .await;
        teardown(&api).await;
    })
    .await;
    let _ = namespaces.delete(&ops, &DeleteParams::default()).await;
}

#[tokio::test]
async fn namespaces_outside_the_allow_list_need_their_own_credentials() {
    let env = [("PSO_DEFAULT_CREDENTIALS_NAMESPACES", "somewhere-else")];
    with_operator(EMULATOR, &env, |client, ns, emu, op| async move {
        let _running = (emu, op); // keeps the emulator and the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        apply(&api, &branch("denied", json!({}))).await;
        let o = wait_reason(&api, "denied", "CredentialsNotFound").await;
        let message = condition(&o, "Ready").unwrap().2;
        assert!(
            message.contains("may not use the operator's default credentials"),
            "{message}"
        );
        let own = json!({"credentialsRef": {"name": env::CREDENTIALS_SECRET}});
        apply(&api, &branch("own", own)).await;
        wait_ready(&api, "own").await;
        teardown(&api).await;
    })
    .await;
}

/// The token pair an OAuth Secret started with.
struct Minted {
    access: String,
    refresh: String,
    expires_at: DateTime<Utc>,
}

/// Mints OAuth tokens for the emulator's application whose access token expires within the
/// client's refresh margin (60 s), and puts them in Secret `name`.
async fn oauth_secret(emu: &support::Emulator, client: &Client, ns: &str, name: &str) -> Minted {
    let body = json!({"lifetime": "30s"});
    let m = emu.admin_post("/_emulator/oauth-tokens", body).await;
    let field = |k: &str| m[k].as_str().expect("minted token field").to_string();
    let (access, refresh, expires) = (
        field("access_token"),
        field("refresh_token"),
        field("expires_at"),
    );
    let data = [
        ("oauthClientId", "emulator-client"),
        ("oauthClientSecret", "emulator-client-secret"),
        ("accessToken", access.as_str()),
        ("refreshToken", refresh.as_str()),
        ("expiresAt", expires.as_str()),
    ];
    put_secret(client, ns, name, &data).await;
    let expires_at = expires.parse().expect("RFC 3339");
    Minted {
        access,
        refresh,
        expires_at,
    }
}

/// Waits until Secret `name` holds a new token pair with a later expiry than `minted`.
async fn wait_rotated(client: &Client, ns: &str, name: &str, minted: &Minted) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    support::eventually(READY, "the refreshed pair in the Secret", || async {
        let s = secrets.get(name).await.unwrap();
        let data = s.data.unwrap_or_default();
        let get = |k: &str| {
            data.get(k)
                .map(|v| String::from_utf8_lossy(&v.0).to_string())
        };
        let (access, refresh) = (get("accessToken"), get("refreshToken"));
        let expires: Option<DateTime<Utc>> = get("expiresAt").and_then(|e| e.parse().ok());
        let rotated = access.as_deref().is_some_and(|a| a != minted.access)
            && refresh.as_deref().is_some_and(|r| r != minted.refresh)
            && expires.is_some_and(|e| e > minted.expires_at);
        if rotated {
            Ok(())
        } else {
            Err(format!("expires {expires:?}"))
        }
    })
    .await;
}
