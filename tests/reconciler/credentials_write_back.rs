//! OAuth tokens written back into their credentials Secret: a write-back the API server
//! refuses (RBAC) leaves a client that works from memory and a Secret that is not broken by
//! it, and the next refresh writes the tokens once it may. Meanwhile the resources using the
//! Secret say so (`CredentialsWriteBack=False` and a Warning event) and the failure is counted.
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use planetscale_operator::controller::Context;
use planetscale_operator::controller::branch::BranchReconciler;
use planetscale_operator::controller::reconciler::CREDENTIALS_WRITE_BACK;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::credentials::{ClientSettings, CredentialsStore, DefaultCredentials};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::harness::Harness;

const SECRET: &str = "oauth-credentials";
const USER: &str = "write-back-tester";

async fn emulator_post(h: &Harness, path: &str, body: Value) -> Value {
    let http = reqwest::Client::builder().no_proxy().build().expect("http");
    let r = http
        .post(format!("{}{path}", h.emulator.url()))
        .json(&body)
        .send()
        .await
        .expect("emulator reachable");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("JSON")
}

/// OAuth tokens whose access token expires within the client's refresh margin, in `SECRET`;
/// returns the refresh token.
async fn oauth_secret(h: &Harness) -> String {
    let m = emulator_post(h, "/_emulator/oauth-tokens", json!({"lifetime": "30s"})).await;
    let field = |k: &str| m[k].as_str().expect("minted token field").to_string();
    let s = Secret {
        metadata: ObjectMeta {
            name: Some(SECRET.into()),
            ..Default::default()
        },
        string_data: Some(
            [
                ("oauthClientId", "emulator-client".to_string()),
                ("oauthClientSecret", "emulator-client-secret".to_string()),
                ("accessToken", field("access_token")),
                ("refreshToken", field("refresh_token")),
                ("expiresAt", field("expires_at")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        ),
        ..Default::default()
    };
    h.api::<Secret>()
        .create(&PostParams::default(), &s)
        .await
        .expect("create OAuth Secret");
    field("refresh_token")
}

/// The Secret's refresh token now.
async fn refresh_token(h: &Harness) -> String {
    let s = h.api::<Secret>().get(SECRET).await.expect("get");
    let v = s
        .data
        .unwrap_or_default()
        .remove("refreshToken")
        .expect("key");
    String::from_utf8(v.0).expect("utf-8")
}

/// A Role for `USER` on Secrets with `verbs`, bound to it.
async fn grant(h: &Harness, verbs: &[&str]) {
    let role = Role {
        metadata: ObjectMeta {
            name: Some("write-back".into()),
            ..Default::default()
        },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["secrets".into()]),
            verbs: verbs.iter().map(std::string::ToString::to_string).collect(),
            ..Default::default()
        }]),
    };
    let pp = PatchParams::apply("pso-test").force();
    let roles: Api<Role> = h.api();
    roles
        .patch("write-back", &pp, &Patch::Apply(&role))
        .await
        .expect("apply Role");
    let binding = RoleBinding {
        metadata: ObjectMeta {
            name: Some("write-back".into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "write-back".into(),
        },
        subjects: Some(vec![Subject {
            kind: "User".into(),
            name: USER.into(),
            api_group: Some("rbac.authorization.k8s.io".into()),
            ..Default::default()
        }]),
    };
    let bindings: Api<RoleBinding> = h.api();
    bindings
        .patch("write-back", &pp, &Patch::Apply(&binding))
        .await
        .expect("apply RoleBinding");
    for verb in verbs {
        wait_allowed(h, verb).await;
    }
}

/// Waits until the API server's authorizer lets `USER` do `verb` on the Secret (RBAC changes
/// reach it asynchronously), asking with a SubjectAccessReview.
async fn wait_allowed(h: &Harness, verb: &str) {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
    };
    let api: Api<SubjectAccessReview> = Api::all(h.client.clone());
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(USER.into()),
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(h.ns.clone()),
                resource: Some("secrets".into()),
                verb: Some(verb.into()),
                name: Some(SECRET.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let timeout = std::time::Duration::from_secs(30);
    let what = format!("USER may {verb} the Secret");
    crate::support::eventually(timeout, &what, || async {
        let answer = api.create(&PostParams::default(), &review).await;
        match answer.map(|r| r.status.map(|s| s.allowed)) {
            Ok(Some(true)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}

/// A credentials store on a kube client acting as `user` (`None`: the harness admin).
async fn store(h: &Harness, user: Option<&str>) -> CredentialsStore {
    let mut config = crate::support::config().await;
    config.auth_info.impersonate = user.map(str::to_string);
    let client = Client::try_from(config).expect("client");
    let settings = ClientSettings {
        api_url: format!("{}/v1", h.emulator.url()),
        oauth_token_url: format!("{}/oauth/token", h.emulator.url()),
        requests_per_minute: 6000,
    };
    CredentialsStore::new(client, DefaultCredentials::default(), settings)
}

/// A controller context whose credentials store is `store` (the rest as the harness's),
/// with the access policies watched; the watch stops when the returned handle is dropped.
fn context_on(h: &Harness, store: CredentialsStore) -> (Arc<Context>, tokio::task::JoinHandle<()>) {
    let ctx = Arc::new(crate::harness::context_with(h.client.clone(), &h.ns, store));
    let watching = ctx.clone();
    let policies = tokio::spawn(async move {
        let (client, stop) = (watching.client.clone(), Default::default());
        watching.policies.run(client, stop).await;
    });
    (ctx, policies)
}

/// `CredentialsWriteBack` of branch `name`: (status, reason, message).
async fn write_back_condition(h: &Harness, name: &str) -> Option<(String, String, String)> {
    let o: PlanetScaleBranch = h.get(name).await.expect("branch");
    crate::branch::condition(&o, CREDENTIALS_WRITE_BACK)
}

/// The failure counter of `SECRET` in `ctx`'s metrics.
fn failures_counted(ctx: &Context, ns: &str) -> Option<String> {
    let series = format!("credentials_write_back_failures_total{{secret=\"{ns}/{SECRET}\"}} ");
    let text = ctx.metrics.encode();
    text.lines()
        .find_map(|l| l.split_once(&series).map(|(_, v)| v.to_string()))
}

#[tokio::test]
async fn a_refused_write_back_breaks_nothing_and_the_next_refresh_saves_the_tokens() {
    crate::harness::with_harness(|h| async move {
        let minted = oauth_secret(&h).await;
        grant(&h, &["get", "list", "watch"]).await;
        let (ctx, policies) = context_on(&h, store(&h, Some(USER)).await);
        let r = BranchReconciler::new(ctx.clone());
        let wb = crate::branch::branch("wb", json!({"credentialsRef": {"name": SECRET}}));
        h.apply(&wb).await;
        h.pass(&r, "wb").await.expect("finalizer pass");
        h.pass(&r, "wb")
            .await
            .expect("refreshed in memory: the create pass works");
        assert_eq!(
            refresh_token(&h).await,
            minted,
            "patch is denied: the Secret is unchanged"
        );
        let (status, reason, message) = write_back_condition(&h, "wb")
            .await
            .expect("a CredentialsWriteBack condition");
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "WriteBackFailed")
        );
        assert!(
            message.contains(&format!("{}/{SECRET}", h.ns)) && message.contains("patch"),
            "names the Secret and what to grant: {message}"
        );
        assert!(!message.contains(&minted), "no token in the condition");
        let events = h.events("wb").await;
        let warned: Vec<_> = events
            .iter()
            .filter(|(r, _)| r == "WriteBackFailed")
            .collect();
        assert_eq!(warned.len(), 1, "one Warning event: {events:?}");
        assert!(!warned[0].1.contains(&minted), "no token in the event");
        assert_eq!(failures_counted(&ctx, &h.ns).as_deref(), Some("1"));
        h.pass(&r, "wb")
            .await
            .expect("the refreshed tokens stay in memory");

        grant(&h, &["get", "list", "watch", "patch"]).await;
        // The access token (30 days in the emulator) expires: the next request gets a 401,
        // refreshes and writes back.
        h.advance("800h").await;
        h.pass(&r, "wb")
            .await
            .expect("refreshed again after the expiry");
        let saved = refresh_token(&h).await;
        assert_ne!(saved, minted, "the rotated refresh token is in the Secret");
        let (status, reason, _) = write_back_condition(&h, "wb").await.expect("condition");
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("True", "WriteBackSucceeded"),
            "cleared by the successful write"
        );
        let reasons = h.event_reasons("wb").await;
        assert!(
            reasons.iter().any(|r| r == "WriteBackSucceeded"),
            "{reasons:?}"
        );
        assert_eq!(
            failures_counted(&ctx, &h.ns).as_deref(),
            Some("1"),
            "no new failure"
        );
        policies.abort();

        let fresh = store(&h, None).await;
        let from_secret = fresh
            .client_from_secret(&h.ns, SECRET)
            .await
            .expect("a client from the Secret");
        from_secret
            .get_database("acme", "shop")
            .await
            .expect("the Secret's tokens work");
        let again = ctx
            .credentials
            .client_from_secret(&h.ns, SECRET)
            .await
            .unwrap();
        again
            .get_database("acme", "shop")
            .await
            .expect("the cached client still works after its own write-back");
    })
    .await;
}

fn tokens(refresh: &str) -> planetscale_api::OAuthTokens {
    planetscale_api::OAuthTokens {
        access_token: "pscale_oauth_access_new".into(),
        refresh_token: refresh.into(),
        expires_at: chrono::Utc::now(),
        scope: None,
    }
}

#[tokio::test]
async fn a_write_back_on_a_changed_secret_rereads_it_and_never_overwrites_other_tokens() {
    use planetscale_operator::credentials::write_back::{Base, Written, write};
    crate::harness::with_harness(|h| async move {
        let minted = oauth_secret(&h).await;
        let secrets: Api<Secret> = h.api();
        let rv = |s: Secret| s.metadata.resource_version.unwrap();
        let base = Base {
            resource_version: rv(secrets.get(SECRET).await.unwrap()),
            refresh_token: minted.as_str().into(),
        };
        // Someone labels the Secret: it still holds the token we exchanged, so ours are written.
        let label = json!({"metadata": {"labels": {"team": "db"}}});
        secrets
            .patch(SECRET, &PatchParams::default(), &Patch::Merge(&label))
            .await
            .unwrap();
        let saved = write(
            &secrets,
            SECRET,
            &base,
            &tokens("pscale_oauth_refresh_ours"),
        )
        .await;
        assert!(matches!(saved, Written::Saved(_)), "{saved:?}");
        assert_eq!(refresh_token(&h).await, "pscale_oauth_refresh_ours");
        // A new login puts other tokens in: a write from the older version leaves them.
        let stale = Base {
            resource_version: rv(secrets.get(SECRET).await.unwrap()),
            refresh_token: "pscale_oauth_refresh_ours".into(),
        };
        let login = json!({"stringData": {"refreshToken": "pscale_oauth_refresh_login"}});
        secrets
            .patch(SECRET, &PatchParams::default(), &Patch::Merge(&login))
            .await
            .unwrap();
        let late = write(
            &secrets,
            SECRET,
            &stale,
            &tokens("pscale_oauth_refresh_late"),
        )
        .await;
        assert!(matches!(late, Written::Superseded), "{late:?}");
        assert_eq!(refresh_token(&h).await, "pscale_oauth_refresh_login");
    })
    .await;
}

/// What a leader killed between its refresh and the write-back leaves: the Secret still holds
/// the refresh token PlanetScale has spent (PlanetScale documents no grace for a used refresh
/// token, and the emulator gives none). The next process works while the access token there
/// lasts; then its resources stop with `Ready=False` `Unauthorized` and `Stalled`, saying the
/// refresh token was used, instead of retrying: a new `oauth login` is the fix.
#[tokio::test]
async fn a_write_back_that_never_happened_stalls_the_next_process_with_a_clear_reason() {
    crate::harness::with_harness(|h| async move {
        let minted = oauth_secret(&h).await;
        grant(&h, &["get", "list", "watch"]).await;
        // The "killed" leader: it refreshes, and its write-back never reaches the Secret.
        let killed = store(&h, Some(USER)).await;
        let client = killed.client_from_secret(&h.ns, SECRET).await.unwrap();
        client
            .get_database("acme", "shop")
            .await
            .expect("refreshed");
        assert_eq!(refresh_token(&h).await, minted, "nothing written back");
        drop(killed);

        let (ctx, policies) = context_on(&h, store(&h, None).await);
        let r = BranchReconciler::new(ctx);
        let wb = crate::branch::branch("after", json!({"credentialsRef": {"name": SECRET}}));
        h.apply(&wb).await;
        h.pass(&r, "after").await.expect("finalizer pass");
        // The access token in the Secret (30 s) expires: the refresh uses the spent token.
        h.advance("2m").await;
        let err = h
            .pass(&r, "after")
            .await
            .expect_err("the spent refresh token is refused");
        println!("the next process: {err}");
        let o: PlanetScaleBranch = h.get("after").await.unwrap();
        let (status, reason, message) = crate::branch::condition(&o, "Ready").expect("Ready");
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("False", "Unauthorized"),
            "{message}"
        );
        assert!(
            message.contains("oauth login"),
            "says what to do: {message}"
        );
        assert!(!message.contains(&minted), "no token in the condition");
        let (stalled, _, _) = crate::branch::condition(&o, "Stalled").expect("Stalled");
        assert_eq!(stalled, "True", "terminal: Flux and Argo CD see it failed");
        policies.abort();
    })
    .await;
}
