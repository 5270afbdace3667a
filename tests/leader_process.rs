//! Two full operator processes with leader election on one Lease, against one emulator: only
//! the leader reconciles; SIGKILLed in the middle of a burst of branches and passwords, it is
//! replaced by the standby within the lease duration, and the end state has every resource
//! Ready with exactly one PlanetScale branch per `PlanetScaleBranch` and exactly one live
//! password per `PlanetScalePassword` — nothing duplicated across the handover.
//!
//! Needs the control plane (`make testenv-up`) and the built binaries.
mod support;

#[path = "runtime/flows.rs"]
mod flows;

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};
use planetscale_operator::crd::{PlanetScaleBranch, PlanetScalePassword};
use serde_json::{Value, json};
use support::env::{CREDENTIALS_SECRET, TOKEN, TOKEN_ID, create_credentials_secret};
use support::{Emulator, Operator};

const LEASE_DURATION: Duration = Duration::from_secs(4);
const RETRY: Duration = Duration::from_millis(500);
/// Slack for API round trips and scheduling on a loaded 2-core machine.
const SLACK: Duration = Duration::from_secs(1);
/// Branches, and as many passwords (one on each).
const N: usize = 8;
const LEASE: &str = "planetscale-operator";

fn election(identity: &str) -> Vec<(&str, &str)> {
    vec![
        ("PSO_LEADER_ELECT", "true"),
        ("PSO_LEASE_DURATION", "4s"),
        ("PSO_LEASE_RENEW_DEADLINE", "3s"),
        ("PSO_LEASE_RETRY_PERIOD", "500ms"),
        ("PSO_LEADER_IDENTITY", identity),
        // Two API requests per second: the 8 branch and 8 password creates take at least 8 s,
        // so the leader is killed in the middle of the burst however fast it reconciles.
        ("PSO_API_RATE_LIMIT", "120"),
    ]
}

async fn holder(client: &Client, ns: &str) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    let lease = leases.get_opt(LEASE).await.ok()??;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

#[tokio::test]
async fn the_standby_replaces_a_sigkilled_leader_within_the_lease_without_duplicates() {
    support::install_crds().await;
    let emu = Emulator::start(&["--branch-ready-delay", "2s"]).await;
    // Every API call takes 150 ms longer, so that the burst is still running at the kill.
    emu.admin_post(
        "/_emulator/faults",
        json!({"path": "/v1/**", "latency": "150ms"}),
    )
    .await;
    support::with_temp_ns(|client, ns| async move {
        create_credentials_secret(client.clone(), &ns, CREDENTIALS_SECRET, TOKEN_ID, TOKEN).await;
        let (first, mut leader, standby, standby_id) = two_operators(&client, &ns, &emu).await;
        println!("{first} leads");
        wait_readyz(&leader, "ready: leader, caches synced\n").await;
        wait_readyz(&standby, "ready: standby, caches start when this replica leads\n").await;
        assert_eq!(gauge(&leader).await, 1.0, "leader gauge of the leader");
        assert_eq!(gauge(&standby).await, 0.0, "leader gauge of the standby");

        for i in 0..N {
            flows::apply(&client, &ns, &flows::branch(&format!("b-{i}"))).await;
            flows::apply(&client, &ns, &flows::password(&format!("p-{i}"), &format!("b-{i}"))).await;
        }
        // Mid-burst: the leader has created its first password, not all of them.
        support::eventually(Duration::from_secs(60), "the first password created", || async {
            let created = creates(&emu, "create_password").await;
            if created >= 1 { Ok(()) } else { Err(created) }
        })
        .await;
        let standby_reconciles = reconciles(&standby).await;
        leader.process.kill_hard();
        let killed = Instant::now();
        let (progress, all_done) = progress(&client, &ns).await;
        println!("SIGKILLed {first} with {progress}");
        assert!(!all_done, "the burst was over before the kill: {progress}");
        assert_eq!(standby_reconciles, 0.0, "the standby reconciled while the other led");
        assert!(!standby.log().contains("starting the controllers"), "the standby started its controllers");
        assert!(leader.log().contains("starting the controllers"));

        let handover = loop {
            if holder(&client, &ns).await.as_deref() == Some(standby_id) {
                break killed.elapsed();
            }
            assert!(killed.elapsed() < LEASE_DURATION * 3, "no handover within {:?}", LEASE_DURATION * 3);
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        println!("handover to {standby_id} took {handover:?} (lease duration {LEASE_DURATION:?})");
        assert!(
            handover <= LEASE_DURATION + RETRY + SLACK,
            "handover took {handover:?}, more than the lease duration {LEASE_DURATION:?} + a retry period + {SLACK:?}"
        );

        let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        for i in 0..N {
            support::wait_for(&branches, &format!("b-{i}"), flows::WAIT, "Ready", flows::branch_ready).await;
            support::wait_for(&passwords, &format!("p-{i}"), flows::WAIT, "Ready", flows::password_ready).await;
        }
        println!("all {N} branches and {N} passwords Ready {:?} after the kill", killed.elapsed());
        no_duplicates(&client, &ns, &emu).await;
        let minted = creates(&emu, "create_password").await;
        println!("{minted} password creates for {N} passwords (each one above {N} replaced a password the killed leader created but never recorded)");
        assert_eq!(gauge(&standby).await, 1.0, "the new leader's gauge");
        assert!(reconciles(&standby).await > 0.0, "the new leader reconciled nothing");
        flows::delete_all(&client, &ns).await;
        drop(standby);
    })
    .await;
}

/// Waits until `identity` holds the Lease.
async fn wait_leads(client: &Client, ns: &str, identity: &str) {
    support::eventually(Duration::from_secs(30), "the standby leads", || async {
        let h = holder(client, ns).await;
        if h.as_deref() == Some(identity) {
            Ok(())
        } else {
            Err(h)
        }
    })
    .await;
}

/// Starts operators `op-a` and `op-b` with leader election; once one holds the Lease returns
/// (its identity, the leader, the standby, the standby's identity).
async fn two_operators(
    client: &Client,
    ns: &str,
    emu: &Emulator,
) -> (String, Operator, Operator, &'static str) {
    let a = Operator::start(ns, emu, &election("op-a"));
    let b = Operator::start(ns, emu, &election("op-b"));
    let first = support::eventually(Duration::from_secs(30), "a Lease holder", || async {
        holder(client, ns).await.ok_or("no holder")
    })
    .await;
    match first.as_str() {
        "op-a" => (first, a, b, "op-b"),
        "op-b" => (first, b, a, "op-a"),
        other => panic!("unexpected holder {other}"),
    }
}

/// The default credentials `CREDENTIALS_SECRET` as OAuth tokens whose access token is about
/// to expire (the first request refreshes); returns the refresh token.
async fn oauth_credentials(client: &Client, ns: &str, emu: &Emulator) -> String {
    let mut data = mint_tokens(emu, "30s").await;
    data["oauthClientId"] = json!("emulator-client");
    data["oauthClientSecret"] = json!("emulator-client-secret");
    let refresh = data["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": CREDENTIALS_SECRET},
        "stringData": data,
    }))
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    secrets
        .create(&Default::default(), &secret)
        .await
        .expect("create the OAuth Secret");
    refresh
}

/// New OAuth tokens from the emulator (an access token living `lifetime`), as the
/// credentials Secret's keys hold them.
async fn mint_tokens(emu: &Emulator, lifetime: &str) -> Value {
    let m = emu
        .admin_post("/_emulator/oauth-tokens", json!({ "lifetime": lifetime }))
        .await;
    let field = |k: &str| m[k].as_str().expect("minted token field").to_string();
    json!({
        "accessToken": field("access_token"), "refreshToken": field("refresh_token"),
        "expiresAt": field("expires_at"),
    })
}

async fn refresh_token(client: &Client, ns: &str) -> String {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let s = secrets
        .get(CREDENTIALS_SECRET)
        .await
        .expect("the credentials Secret");
    let v = s
        .data
        .unwrap_or_default()
        .remove("refreshToken")
        .expect("refreshToken");
    String::from_utf8(v.0).expect("UTF-8")
}

/// The leader refreshes its OAuth token (PlanetScale rotates the refresh token) and is
/// SIGKILLed as soon as the rotated token shows in the Secret: the new leader starts from
/// the Secret, refreshes with the token written back (the one PlanetScale still accepts) when
/// the access token expires, and its resources become Ready.
#[tokio::test]
async fn a_leader_killed_right_after_an_oauth_refresh_leaves_tokens_the_new_leader_can_use() {
    support::install_crds().await;
    let emu = Emulator::start(&["--branch-ready-delay", "2s"]).await;
    support::with_temp_ns(|client, ns| async move {
        let minted = oauth_credentials(&client, &ns, &emu).await;
        let (first, mut leader, standby, standby_id) = two_operators(&client, &ns, &emu).await;
        wait_readyz(&leader, "ready: leader, caches synced\n").await;
        flows::apply(&client, &ns, &flows::branch("h-0")).await;
        // The first API call refreshes (the access token expires within the margin); the
        // rotated refresh token is written back before any request uses the new access token.
        let rotated = support::eventually(
            Duration::from_secs(30),
            "the refreshed tokens in the Secret",
            || async {
                let now = refresh_token(&client, &ns).await;
                if now == minted {
                    Err("the minted refresh token")
                } else {
                    Ok(now)
                }
            },
        )
        .await;
        leader.process.kill_hard();
        println!("SIGKILLed {first} right after its refresh was written back");
        wait_leads(&client, &ns, standby_id).await;
        // The access token the killed leader wrote expires: the new leader must refresh with
        // the refresh token in the Secret.
        emu.advance("800h").await;
        flows::apply(&client, &ns, &flows::branch("h-1")).await;
        let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        for name in ["h-0", "h-1"] {
            support::wait_for(&branches, name, flows::WAIT, "Ready", flows::branch_ready).await;
        }
        let (succeeded, failed) = refreshes(&standby).await;
        assert_eq!(
            failed,
            Some(0.0),
            "the new leader's refreshes failed:\n{}",
            standby.log()
        );
        assert!(
            succeeded.unwrap_or(0.0) >= 1.0,
            "the new leader never refreshed"
        );
        let now = refresh_token(&client, &ns).await;
        assert_ne!(
            now, rotated,
            "the new leader's own rotation is written back too"
        );
        flows::delete_all(&client, &ns).await;
        drop(standby);
    })
    .await;
}

/// The dangerous window: the leader is SIGKILLed after PlanetScale handled its refresh (the
/// refresh token in the Secret is spent) and before the answer reached it, so the rotated
/// tokens exist nowhere. The emulator handles the refresh at once and holds the answer
/// (`answer_latency`); the test kills the leader as soon as the emulator shows the refresh
/// token spent. PlanetScale documents no grace for a used refresh token, so nothing can be
/// saved: what a user sees is the documented outcome. The new leader refreshes with the
/// Secret's token once, is refused, and its resources turn `Ready=False` `Unauthorized` and
/// `Stalled`, saying to run `oauth login`, with no token in the message. New tokens in the
/// Secret (what `oauth login` writes) bring them back without a restart.
#[tokio::test]
async fn a_leader_killed_between_the_token_answer_and_the_write_back_stalls_until_a_new_login() {
    support::install_crds().await;
    let emu = Emulator::start(&["--branch-ready-delay", "2s"]).await;
    let late = json!({"operation": "oauth_token", "answer_latency": "20s", "count": 1});
    emu.admin_post("/_emulator/faults", late).await;
    support::with_temp_ns(|client, ns| async move {
        let minted = oauth_credentials(&client, &ns, &emu).await;
        let (first, mut leader, standby, standby_id) = two_operators(&client, &ns, &emu).await;
        wait_readyz(&leader, "ready: leader, caches synced\n").await;
        flows::apply(&client, &ns, &flows::branch("g-0")).await;
        support::eventually(
            Duration::from_secs(30),
            "the refresh handled by the emulator",
            || async {
                let world = emu.world().await;
                let spent = world["oauth_tokens"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|t| t["refresh_spent"] == json!(true))
                    .count();
                if spent == 1 {
                    Ok(())
                } else {
                    Err(world["oauth_tokens"].clone())
                }
            },
        )
        .await;
        leader.process.kill_hard();
        println!("SIGKILLed {first} while its refresh answer was held back");
        assert_eq!(
            refresh_token(&client, &ns).await,
            minted,
            "the kill landed before the write-back"
        );
        wait_leads(&client, &ns, standby_id).await;
        // The access token in the Secret expires (30 s): every call needs the refresh.
        emu.advance("2m").await;
        flows::apply(&client, &ns, &flows::branch("g-1")).await;
        let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let o = support::wait_for(
            &branches,
            "g-1",
            flows::WAIT,
            "Stalled with Unauthorized",
            |b| {
                let c = b
                    .status
                    .as_ref()
                    .map(|s| s.conditions.clone())
                    .unwrap_or_default();
                let is = |t: &str, s: &str| c.iter().any(|c| c.type_ == t && c.status == s);
                let unauthorized = c
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.reason == "Unauthorized");
                unauthorized && is("Ready", "False") && is("Stalled", "True")
            },
        )
        .await;
        let conditions = o.status.unwrap().conditions;
        let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        println!("g-1: {}", ready.message);
        assert!(
            ready.message.contains("oauth login"),
            "says what to do: {}",
            ready.message
        );
        assert!(
            !ready.message.contains(&minted),
            "no token in the condition"
        );
        let (succeeded, failed) = refreshes(&standby).await;
        assert_eq!(
            succeeded,
            Some(0.0),
            "a refresh succeeded with a spent token"
        );
        assert!(failed.unwrap_or(0.0) >= 1.0, "the new leader never tried");

        // What `oauth login` does: new tokens in the Secret. The resources recover.
        let tokens = json!({ "stringData": mint_tokens(&emu, "1h").await });
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        secrets
            .patch(
                CREDENTIALS_SECRET,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&tokens),
            )
            .await
            .expect("new tokens in the Secret");
        for name in ["g-0", "g-1"] {
            support::wait_for(&branches, name, flows::WAIT, "Ready", flows::branch_ready).await;
        }
        flows::delete_all(&client, &ns).await;
        drop(standby);
    })
    .await;
}

/// Exactly one PlanetScale branch per `PlanetScaleBranch` (and no other), exactly one live
/// password per `PlanetScalePassword` (the one its status names), and every Secret works.
async fn no_duplicates(client: &Client, ns: &str, emu: &Emulator) {
    let world = emu.world().await;
    let mut names: Vec<&str> = world["branches"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["name"].as_str())
        .filter(|n| *n != "main")
        .collect();
    names.sort_unstable();
    let mut want: Vec<String> = (0..N).map(|i| format!("b-{i}")).collect();
    want.sort_unstable();
    assert_eq!(names, want, "branches in PlanetScale");
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    for p in passwords.list(&Default::default()).await.unwrap().items {
        let prefix = format!("k8s-{}-", p.uid().unwrap());
        let live: Vec<&Value> = world["passwords"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["name"].as_str().is_some_and(|n| n.starts_with(&prefix)))
            .filter(|w| w["deleted"] == json!(false))
            .collect();
        let current = p.status.as_ref().and_then(|s| s.password_name.clone());
        assert_eq!(live.len(), 1, "{}: live passwords {live:?}", p.name_any());
        assert_eq!(
            live[0]["name"].as_str(),
            current.as_deref(),
            "{}",
            p.name_any()
        );
        let branch = p.spec.target.branch_ref.as_ref().unwrap().name.clone();
        flows::working_secret(client, emu, ns, &format!("{}-db", p.name_any()), &branch).await;
    }
}

/// How many are Ready, and whether all are.
async fn progress(client: &Client, ns: &str) -> (String, bool) {
    let branches: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), ns);
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    let b = branches.list(&Default::default()).await.unwrap().items;
    let p = passwords.list(&Default::default()).await.unwrap().items;
    let rb = b.iter().filter(|o| flows::branch_ready(o)).count();
    let rp = p.iter().filter(|o| flows::password_ready(o)).count();
    let text = format!("{rb}/{N} branches and {rp}/{N} passwords Ready");
    (text, rb == N && rp == N)
}

async fn creates(emu: &Emulator, op: &str) -> u64 {
    emu.stats().await["operations"][op]["total"]
        .as_u64()
        .unwrap_or(0)
}

/// The operator's token refreshes that succeeded and that failed.
async fn refreshes(op: &Operator) -> (Option<f64>, Option<f64>) {
    let m = op.metrics().await;
    let count = |result: &str| {
        m.value(
            "planetscale_operator_api_token_refreshes_total",
            &[("result", result)],
        )
    };
    (count("success"), count("failure"))
}

async fn gauge(op: &Operator) -> f64 {
    let m = op.metrics().await;
    m.value("planetscale_operator_leader", &[])
        .expect("leader gauge")
}

async fn reconciles(op: &Operator) -> f64 {
    op.metrics()
        .await
        .sum("planetscale_operator_reconciles_total", &[])
}

async fn wait_readyz(op: &Operator, body: &str) {
    support::eventually(
        Duration::from_secs(30),
        &format!("/readyz {body:?}"),
        || async {
            let got = op.readyz().await;
            if got == (200, body.to_string()) {
                Ok(())
            } else {
                Err(got)
            }
        },
    )
    .await;
}
