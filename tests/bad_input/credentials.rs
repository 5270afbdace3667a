//! Credentials that cannot work: a malformed Secret, a token without the accesses a kind
//! needs, a Secret of another namespace, default credentials outside their allow-list.
use std::collections::BTreeMap;
use std::time::Duration;

use planetscale_operator::crd::DeployRequest;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::{Value, json};

use super::common::*;
use super::findings::*;
use crate::support::{self, Operator, env};

/// A Branch, a Password (on `main`) and a DeployRequest (from `feature`) using `creds`.
async fn one_of_each(client: &kube::Client, ns: &str, creds: Option<&str>) {
    let with = |mut spec: Value| {
        if let Some(c) = creds {
            spec["credentialsRef"] = json!({"name": c});
        }
        spec
    };
    let shop = json!({"organization": "acme", "database": "shop"});
    let mut main = shop.clone();
    main["branch"] = json!("main");
    let mut feature = shop.clone();
    feature["branch"] = json!("feature");
    let b = api::<PlanetScaleBranch>(client, ns);
    apply(&b, "b", &object("PlanetScaleBranch", "b", with(shop))).await;
    let p = api::<PlanetScalePassword>(client, ns);
    apply(&p, "p", &object("PlanetScalePassword", "p", with(main))).await;
    let d = api::<DeployRequest>(client, ns);
    apply(&d, "d", &object("DeployRequest", "d", with(feature))).await;
}

/// `b`, `p` and `d` say `reason` (Ready=False), each with an event; returns the messages.
async fn all_say(f: &mut Findings, client: &kube::Client, ns: &str, why: &str) -> Vec<String> {
    let mut messages = Vec::new();
    messages.extend(f.check(reason(&api::<PlanetScaleBranch>(client, ns), "b", why).await));
    messages.extend(f.check(reason(&api::<PlanetScalePassword>(client, ns), "p", why).await));
    messages.extend(f.check(reason(&api::<DeployRequest>(client, ns), "d", why).await));
    for name in ["b", "p", "d"] {
        messages.extend(f.check(event(client, ns, name, why).await));
    }
    messages
}

/// `b`, `p` and `d` become Ready within `expected` of the fix.
async fn all_recover(f: &mut Findings, client: &kube::Client, ns: &str, expected: Duration) {
    f.check(recovers(&api::<PlanetScaleBranch>(client, ns), "b", expected).await);
    f.check(recovers(&api::<PlanetScalePassword>(client, ns), "p", expected).await);
    f.check(recovers(&api::<DeployRequest>(client, ns), "d", expected).await);
}

#[tokio::test]
async fn a_malformed_credentials_secret_costs_no_api_call_and_its_fix_is_picked_up() {
    with_operator(|client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let mut f = Findings::new("malformed credentials Secret");
        dev_branch_with_change(&emu, "feature").await;
        put_secret(&client, &ns, "team", &[("serviceTokenId", env::TOKEN_ID)]).await;
        let before = total_calls(&emu).await;
        one_of_each(&client, &ns, Some("team")).await;
        for m in all_say(&mut f, &client, &ns, "CredentialsInvalid").await {
            f.expect(
                m.contains("serviceToken"),
                format!("the message names the missing key: {m}"),
            );
        }
        f.check(calls_bounded(&emu, 0, "malformed Secret").await);
        let calls = total_calls(&emu).await - before;
        f.expect(
            calls == 0,
            format!("{calls} API calls without usable credentials"),
        );

        put_secret(&client, &ns, "team", &full_access()).await;
        all_recover(&mut f, &client, &ns, PROMPT).await;
        teardown(&client, &ns).await;
        f.finish();
    })
    .await;
}

#[tokio::test]
async fn a_token_without_the_needed_accesses_waits_quietly_and_recovers_once_granted() {
    with_operator(|client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let mut f = Findings::new("token without the needed accesses");
        dev_branch_with_change(&emu, "feature").await;
        // Reading is allowed; creating branches, passwords and deploy requests is not.
        let token = emu
            .admin_post(
                "/_emulator/service-tokens",
                json!({"organization": "acme", "name": "read-only",
                       "accesses": [{"database": "shop", "accesses": ["read_branch", "read_deploy_request"]}]}),
            )
            .await;
        let (id, secret) = (token["id"].as_str().unwrap(), token["token"].as_str().unwrap());
        put_secret(&client, &ns, "read-only", &[("serviceTokenId", id), ("serviceToken", secret)]).await;
        one_of_each(&client, &ns, Some("read-only")).await;
        let said = wait_not_ready(&client, &ns).await;
        println!("with a read-only token: {said:?}");
        for (name, (why, message)) in &said {
            // PlanetScale answers 404 to a missing access: the message must point at the token.
            let points_at_access = message.contains("access") && message.contains("credentials");
            f.expect(
                points_at_access,
                format!("{name} ({why}) does not say the credentials may lack an access: {message}"),
            );
            f.check(event(&client, &ns, name, why).await);
        }
        f.check(calls_bounded(&emu, 3, "token without accesses").await);

        // The owner grants the accesses in PlanetScale; the Secret does not change.
        let grant = json!({"database": "shop", "access": ["create_branch", "connect_production_branch",
            "connect_branch", "create_deploy_request"]});
        let url = format!("/v1/organizations/acme/service-tokens/{id}/access");
        let r = reqwest::Client::new()
            .post(format!("{}{url}", emu.url))
            .header("Authorization", format!("{}:{}", env::TOKEN_ID, env::TOKEN))
            .json(&grant)
            .send()
            .await
            .expect("emulator");
        assert!(r.status().is_success(), "grant: {}", r.status());
        all_recover(&mut f, &client, &ns, SLOW).await;
        teardown(&client, &ns).await;
        f.finish();
    })
    .await;
}

/// Waits until `b`, `p` and `d` have `Ready=False` with a reason other than `Progressing`;
/// returns each one's (reason, message).
async fn wait_not_ready(
    client: &kube::Client,
    ns: &str,
) -> BTreeMap<&'static str, (String, String)> {
    fn settled<K: serde::Serialize>(o: &K) -> Option<(String, String)> {
        let (status, reason, message) = condition(o, "Ready")?;
        (status == "False" && reason != "Progressing").then_some((reason, message))
    }
    let mut out = BTreeMap::new();
    let b = support::wait_for(
        &api::<PlanetScaleBranch>(client, ns),
        "b",
        PROMPT,
        "not Ready",
        |o| settled(o).is_some(),
    )
    .await;
    out.insert("b", settled(&b).unwrap());
    let p = support::wait_for(
        &api::<PlanetScalePassword>(client, ns),
        "p",
        PROMPT,
        "not Ready",
        |o| settled(o).is_some(),
    )
    .await;
    out.insert("p", settled(&p).unwrap());
    let d = support::wait_for(
        &api::<DeployRequest>(client, ns),
        "d",
        PROMPT,
        "not Ready",
        |o| settled(o).is_some(),
    )
    .await;
    out.insert("d", settled(&d).unwrap());
    out
}

#[tokio::test]
async fn credentials_never_come_from_another_namespace_and_defaults_follow_the_allow_list() {
    with_operator(|_client, home, emu, op| async move {
        let mut first = op;
        support::with_temp_ns(|client, other| async move {
            let mut f = Findings::new("credentials across namespaces");
            // One operator for both namespaces; the default credentials (in `home`, the
            // operator's namespace) are allowed in `home` only.
            first.process.kill_hard();
            let watch = format!("{home},{other}");
            let [(retry_var, retry)] = operator_env();
            let env = [
                ("PSO_WATCH_NAMESPACES", watch.as_str()),
                ("PSO_DEFAULT_CREDENTIALS_NAMESPACES", home.as_str()),
                (retry_var, retry.as_str()),
            ];
            let _operator = Operator::start(&home, &emu, &env);
            dev_branch_with_change(&emu, "feature").await;

            // `team` exists in `home` only: a resource in `other` naming it does not get it.
            put_secret(&client, &home, "team", &full_access()).await;
            let before = total_calls(&emu).await;
            one_of_each(&client, &other, Some("team")).await;
            for m in all_say(&mut f, &client, &other, "CredentialsNotFound").await {
                f.expect(
                    m.contains(&format!("{other}/team")),
                    format!("the message names {other}/team: {m}"),
                );
            }
            // Without credentialsRef in `other`: the default credentials are not allowed there.
            let outside = api::<PlanetScaleBranch>(&client, &other);
            let spec = json!({"organization": "acme", "database": "shop"});
            apply(
                &outside,
                "defaults",
                &object("PlanetScaleBranch", "defaults", spec.clone()),
            )
            .await;
            if let Some(m) = f.check(reason(&outside, "defaults", "CredentialsNotFound").await) {
                f.expect(
                    m.contains(&other),
                    format!("the message names the namespace: {m}"),
                );
            }
            f.check(event(&client, &other, "defaults", "CredentialsNotFound").await);
            let calls = total_calls(&emu).await - before;
            f.expect(
                calls == 0,
                format!("{calls} API calls with credentials not meant for them"),
            );

            // In `home` the default credentials work.
            let inside = api::<PlanetScaleBranch>(&client, &home);
            apply(
                &inside,
                "defaults",
                &object("PlanetScaleBranch", "defaults", spec),
            )
            .await;
            f.check(recovers(&inside, "defaults", PROMPT).await);

            // The fix: `team` in `other` itself.
            put_secret(&client, &other, "team", &full_access()).await;
            all_recover(&mut f, &client, &other, PROMPT).await;
            teardown(&client, &other).await;
            teardown(&client, &home).await;
            f.finish();
        })
        .await;
    })
    .await;
}
