//! PostgreSQL branches end to end (the emulator's `acme/ledger`): a branch restored to a
//! point in time becomes Ready with its Postgres address; a Vitess-only field is refused
//! with a condition and an event, and nothing is created.
use chrono::DateTime;
use kube::Api;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use serde_json::{Value, json};

use crate::EMULATOR;
use crate::common::*;
use crate::support::with_operator;

/// A `PlanetScaleBranch` of `acme/ledger` (PostgreSQL) with `spec` merged in.
pub fn pg_branch(name: &str, spec: Value) -> PlanetScaleBranch {
    let mut obj = branch(name, spec);
    obj.spec.database = Some("ledger".into());
    obj
}

#[tokio::test]
async fn a_postgres_branch_from_a_point_in_time_becomes_ready_with_its_address() {
    with_operator(EMULATOR, &[], |client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let ps = planetscale(&emu);
        let main = ps
            .get_branch("acme", "ledger", "main")
            .await
            .expect("ledger/main");
        emu.advance("1h").await;
        let created = main.created_at.expect("created_at").timestamp();
        let at = DateTime::from_timestamp(created + 60, 0).expect("a time");
        let spec = json!({"restoreFrom": {"pointInTime": at.to_rfc3339()}, "majorVersion": "17"});
        apply(&api, &pg_branch("pitr", spec)).await;
        let o = wait_ready(&api, "pitr").await;
        let remote = ps
            .get_branch("acme", "ledger", "pitr")
            .await
            .expect("created");
        let s = o.status.expect("status");
        assert_eq!(s.kind.as_deref(), Some("postgresql"));
        assert_eq!(s.postgres_address, remote.access_host_url);
        assert!(s.postgres_address.is_some(), "{s:?}");
        assert_eq!(s.mysql_address, None);
        assert_eq!(s.major_version.as_deref(), Some("17"));
        let restored = s
            .restore_point
            .as_ref()
            .map(planetscale_operator::time::from_time);
        assert_eq!(restored, Some(at));
        assert_eq!(remote.restore_point, Some(at));
        wait_event(&client, &ns, "pitr", "Created").await;

        // A Vitess-only field: refused with a condition and an event, nothing created.
        apply(
            &api,
            &pg_branch("seeded", json!({"seedData": "LastSuccessfulBackup"})),
        )
        .await;
        let o = wait_reason(&api, "seeded", "FieldNotForEngine").await;
        let (_, _, message) = condition(&o, "Ready").unwrap();
        assert!(message.contains("spec.seedData"), "{message}");
        let event = wait_event(&client, &ns, "seeded", "FieldNotForEngine").await;
        assert!(event.contains("spec.seedData"), "{event}");
        assert!(
            ps.get_branch("acme", "ledger", "seeded").await.is_err(),
            "nothing created"
        );
        delete_and_wait(&api, "seeded").await;
        delete_and_wait(&api, "pitr").await;
        assert!(
            ps.get_branch("acme", "ledger", "pitr").await.is_err(),
            "deleted"
        );
    })
    .await;
}
