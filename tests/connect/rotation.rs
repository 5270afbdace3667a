//! Rotation with a grace period, on the real server: the old user logs in until the grace
//! period ends, the new one from the moment the Secret changes, and the old one no longer
//! after.
use kube::Api;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::json;

use crate::common::*;
use crate::realdb;
use crate::support::with_operator;

const READ: &str = "SELECT COUNT(*) FROM customers";

#[tokio::test]
async fn realdb_rotation_keeps_the_old_user_for_the_grace_period_then_drops_it() {
    let args = realdb::emulator_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    with_operator(&args, FAST_RESYNC, |client, ns, emu, op| async move {
        // the operator runs as long as it is owned here
        let _operator = op;
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        let spec = json!({"role": "reader", "rotation": {"interval": "24h", "gracePeriod": "5m"},
            "secret": {"name": "app", "formats": ["env"]}});
        apply(&api, &password("app", spec)).await;
        wait_ready(&api, "app").await;
        let c1 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |_| true).await;
        let old = realdb::secret_env(&secret(&client, &ns, "app").await.expect("Secret"));
        assert_eq!(realdb::read("env", &old, READ).await, "0");

        let rotate =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": "r1"}}});
        merge(&api, "app", rotate).await;
        let c2 = wait_secret(&client, &emu, &ns, "app", "main", &seen, |c| c.0 != c1.0).await;
        let new = realdb::secret_env(&secret(&client, &ns, "app").await.expect("Secret"));
        assert!(
            new.contains(&("USERNAME".to_string(), c2.0.clone())),
            "the Secret changed"
        );
        assert_eq!(
            realdb::read("env", &new, READ).await,
            "0",
            "new user at once"
        );
        assert_eq!(
            realdb::read("env", &old, READ).await,
            "0",
            "old user during the grace period"
        );

        emu.advance("6m").await;
        wait_until(
            &api,
            "app",
            "old password deleted after the grace period",
            |o| {
                o.status
                    .as_ref()
                    .is_some_and(|s| s.pending_deletions.is_empty())
            },
        )
        .await;
        realdb::wait_refused("env", &old, READ, "Access denied").await;
        assert_eq!(
            realdb::read("env", &new, READ).await,
            "0",
            "the new user stays"
        );
        teardown(&api).await;
    })
    .await;
}
