//! A `PlanetScalePassword` on a PostgreSQL branch (`acme/ledger/main`) through the running
//! operator: a role-backed Secret with Postgres connection strings becomes Ready, rotates with
//! a grace period in which both roles log in, and its roles go with it.
use kube::{Api, ResourceExt};
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::{Value, json};

use crate::common::*;
use crate::support::{self, with_operator};

/// Whether the credentials log in to `acme/ledger/main` now.
async fn valid_pg(emu: &support::env::Emulator, (user, pass): &(String, String)) -> bool {
    emu.password_valid("acme", "ledger", "main", user, pass)
        .await
}

/// The resource's roles that PlanetScale has not deleted.
async fn live_roles(emu: &support::env::Emulator, obj: &PlanetScalePassword) -> Vec<Value> {
    let prefix = format!("k8s-{}-", obj.uid().expect("uid"));
    let world = emu.world().await;
    let all = world["roles"].as_array().cloned().unwrap_or_default();
    all.into_iter()
        .filter(|r| r["name"].as_str().is_some_and(|n| n.starts_with(&prefix)))
        .filter(|r| r["deleted"] == json!(false))
        .collect()
}

/// The Secret's credentials once they log in to the Postgres branch and `accept` them.
async fn wait_pg_secret(
    client: &kube::Client,
    emu: &support::env::Emulator,
    ns: &str,
    seen: &Seen,
    accept: impl Fn(&(String, String)) -> bool,
) -> (String, String) {
    support::eventually(
        READY,
        "Secret ledger-db with a role that logs in",
        || async {
            let s = secret(client, ns, "ledger-db").await.ok_or("no Secret")?;
            let c = seen.note(&s).ok_or("no credentials")?;
            if !accept(&c) {
                return Err(format!("not the expected role (user {})", c.0));
            }
            if !valid_pg(emu, &c).await {
                return Err(format!("user {} does not log in (yet)", c.0));
            }
            Ok::<_, String>(c)
        },
    )
    .await
}

#[tokio::test]
async fn a_role_backed_secret_is_ready_and_rotates_with_a_grace_period() {
    with_operator(&[], FAST_RESYNC, |client, ns, emu, op| async move {
        let api: Api<PlanetScalePassword> = Api::namespaced(client.clone(), &ns);
        let seen = Seen::default();
        let spec = json!({"database": "ledger", "role": "readwriter",
            "secret": {"name": "ledger-db", "formats": ["env", "jdbc"]},
            "rotation": {"gracePeriod": "5m"}});
        apply(&api, &password("ledger", spec)).await;
        let obj = wait_ready(&api, "ledger").await;
        let first = wait_pg_secret(&client, &emu, &ns, &seen, |_| true).await;
        let s = secret(&client, &ns, "ledger-db").await.expect("Secret");
        let url = value(&s, "DATABASE_URL").expect("DATABASE_URL");
        assert!(
            url.starts_with("postgresql://"),
            "{}",
            url.split('@').nth(1).unwrap_or("")
        );
        assert!(url.ends_with("/postgres?sslmode=verify-full"));
        assert_eq!(value(&s, "PGUSER").as_deref(), Some(first.0.as_str()));
        assert_eq!(value(&s, "PGPORT").as_deref(), Some("5432"));
        let jdbc = value(&s, "JDBC_URL").expect("JDBC_URL");
        assert!(jdbc.starts_with("jdbc:postgresql://"), "{jdbc}");
        let status = obj.status.clone().expect("status");
        assert_eq!(status.engine.as_deref(), Some("postgresql"));
        assert_eq!(status.username.as_deref(), Some(first.0.as_str()));
        assert_eq!(live_roles(&emu, &obj).await.len(), 1, "one role");

        let annotate =
            json!({"metadata": {"annotations": {"planetscale.operator.dev/rotate": "now"}}});
        merge(&api, "ledger", annotate).await;
        let second = wait_pg_secret(&client, &emu, &ns, &seen, |c| c.0 != first.0).await;
        assert!(
            valid_pg(&emu, &first).await,
            "the old role logs in during the grace"
        );
        assert_eq!(live_roles(&emu, &obj).await.len(), 2);
        wait_event(&client, &ns, "ledger", "Rotated").await;

        emu.advance("6m").await;
        support::eventually(READY, "the old role deleted after the grace", || async {
            let live = live_roles(&emu, &obj).await.len();
            if live == 1 && !valid_pg(&emu, &first).await {
                Ok(())
            } else {
                Err(format!("{live} live roles"))
            }
        })
        .await;
        assert!(valid_pg(&emu, &second).await, "the new role still works");

        api.delete("ledger", &Default::default())
            .await
            .expect("delete");
        support::eventually(READY, "every role deleted with the resource", || async {
            match live_roles(&emu, &obj).await.len() {
                0 => Ok(()),
                n => Err(format!("{n} live roles")),
            }
        })
        .await;
        assert_no_leaks(&client, &ns, &[&op], &seen).await;
    })
    .await;
}
