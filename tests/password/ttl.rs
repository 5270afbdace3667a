//! TTL: renewal at half the TTL through the renew endpoint; a password whose renewal is refused
//! or that expired is replaced. Time moves with the emulator clock.
use kube::Api;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::json;

use crate::common::*;
use crate::support::with_operator;

/// Requests the emulator served for API operation `op`.
fn calls(stats: &serde_json::Value, op: &str) -> u64 {
    stats["operations"][op]["total"].as_u64().unwrap_or(0)
}

fn expires(obj: &PlanetScalePassword) -> Option<String> {
    let s = obj.status.as_ref()?;
    s.expires_at.as_ref().map(|t| t.0.to_string())
}

#[tokio::test]
async fn a_password_with_a_ttl_is_renewed_at_half_life() {
    with_operator(&[], FAST_RESYNC, |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        apply(&api, &password("app", json!({"ttl": "1h"}))).await;
        let obj = wait_ready(&api, "app").await;
        let first = expires(&obj).expect("expiresAt");
        let c = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;

        // Before half-life nothing is renewed: 29 minutes on, the operator looks at the
        // password again (two resyncs' database lists) and leaves it as it is.
        let before = emu.stats().await;
        emu.advance("29m").await;
        let lists = "list_database_passwords";
        let stats =
            crate::support::eventually(READY, "two resyncs after the clock moved", || async {
                let now = emu.stats().await;
                let n = calls(&now, lists) - calls(&before, lists);
                if n >= 2 { Ok(now) } else { Err(n) }
            })
            .await;
        assert_eq!(
            calls(&stats, "renew_password") - calls(&before, "renew_password"),
            0,
            "renewed before half-life"
        );
        let unchanged = api.get("app").await.expect("get");
        assert_eq!(
            expires(&unchanged),
            Some(first.clone()),
            "expiresAt unchanged"
        );

        emu.advance("2m").await; // 31 minutes: past half-life
        let renewed = wait_until(&api, "app", "a later expiresAt", |o| {
            expires(o).is_some_and(|e| e > first)
        })
        .await;
        let (a, b) = (obj.status.unwrap(), renewed.status.unwrap());
        assert_eq!(a.password_id, b.password_id, "renewed, not replaced");
        let renews = calls(&emu.stats().await, "renew_password") - calls(&stats, "renew_password");
        assert!(renews >= 1, "through the renew endpoint ({renews} calls)");
        wait_event(&client, &ns, "app", "Renewed").await;
        let s = secret(&client, &ns, "app").await.unwrap();
        assert_eq!(creds(&s), Some(c.clone()), "the Secret did not change");
        emu.advance("45m").await; // past the first expiry, within the renewed one
        assert!(
            valid(&emu, "main", &c).await,
            "still valid after the original expiry"
        );
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}

#[tokio::test]
async fn a_refused_renewal_or_an_expired_password_is_replaced() {
    with_operator(&[], FAST_RESYNC, |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        apply(&api, &password("app", json!({"ttl": "1h"}))).await;
        wait_ready(&api, "app").await;
        let c1 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;

        let refuse = json!({"operation": "renew_password", "status": 422, "count": 1});
        emu.admin_post("/_emulator/faults", refuse).await;
        emu.advance("31m").await;
        let c2 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c1.0).await;
        wait_event_with(&client, &ns, "PasswordReplaced", "refused").await;
        let obj = wait_ready(&api, "app").await;
        assert_eq!(obj.status.as_ref().unwrap().rotation, 2, "one replacement");
        assert_eq!(
            live_passwords(&emu, &obj).await.len(),
            2,
            "the refused one in its grace period"
        );

        // Paused, the operator does nothing while the password expires; then it replaces it.
        merge(
            &api,
            "app",
            json!({"metadata": {"annotations": {"planetscale.operator.dev/paused": "true"}}}),
        )
        .await;
        wait_condition(&api, "app", "Paused", "True", "Paused").await;
        emu.advance("2h").await;
        assert!(!valid(&emu, "main", &c2).await, "expired");
        merge(
            &api,
            "app",
            json!({"metadata": {"annotations": {"planetscale.operator.dev/paused": null}}}),
        )
        .await;
        let c3 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c2.0).await;
        let obj = wait_until(&api, "app", "Ready with nothing pending", |o| {
            is_ready(o)
                && o.status
                    .as_ref()
                    .is_some_and(|s| s.pending_deletions.is_empty())
        })
        .await;
        assert!(condition(&obj, "Paused").is_none());
        let live = live_passwords(&emu, &obj).await;
        assert_eq!(
            live.len(),
            1,
            "the expired and the refused one are deleted: {live:?}"
        );
        assert_eq!(live[0]["username"].as_str(), Some(c3.0.as_str()));
        wait_event_with(&client, &ns, "PasswordReplaced", "expired").await;
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
        teardown(&api).await;
    })
    .await;
}
