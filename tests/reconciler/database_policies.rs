//! Backup policies of a database, pass by pass: created with the database, a changed value
//! and a change made outside Kubernetes brought back, one taken over by name, one removed
//! from the spec deleted, the schedule taking backups on the emulator's clock, and the
//! status showing when each ran.
use planetscale_api::models::{BackupPolicy, BackupPolicyBody};
use serde_json::{Value, json};

use crate::database::{database, get, pass, ready, ready_database, reconciler};
use crate::harness::{Harness, with_harness};

fn nightly(retention_days: i32) -> Value {
    json!({"name": "nightly", "frequency": {"value": 1, "unit": "day"},
           "retention": {"value": retention_days, "unit": "day"}, "scheduleTime": "02:30"})
}

fn dev_hourly() -> Value {
    json!({"name": "dev-hourly", "target": "development",
           "frequency": {"value": 1, "unit": "hour"}, "retention": {"value": 1, "unit": "day"}})
}

async fn ps_policies(h: &Harness, db: &str) -> Vec<BackupPolicy> {
    h.planetscale()
        .list_backup_policies_all("acme", db)
        .await
        .expect("list policies")
}

fn named<'a>(list: &'a [BackupPolicy], name: &str) -> &'a BackupPolicy {
    list.iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no policy {name} in {list:?}"))
}

#[tokio::test]
async fn policies_are_created_kept_taken_over_and_deleted() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"backupPolicies": [nightly(14), dev_hourly()]});
        let o = ready_database(&h, &r, &database("orders", spec)).await;
        let have = ps_policies(&h, "orders").await;
        assert_eq!(have.len(), 2, "{have:?}");
        let n = named(&have, "nightly");
        assert_eq!(
            (n.retention_value, n.schedule_time.as_deref()),
            (Some(14), Some("02:30"))
        );
        let s = o.status.unwrap();
        let names: Vec<_> = s.backup_policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["nightly", "dev-hourly"]);
        assert!(
            s.backup_policies
                .iter()
                .all(|p| p.id.is_some() && p.next_run_at.is_some() && p.adopted == Some(false))
        );
        let reasons = h.event_reasons("orders").await;
        assert!(
            reasons.contains(&"BackupPolicyCreated".to_string()),
            "{reasons:?}"
        );

        // A pass with nothing to do writes nothing.
        let before = h.calls(Some("update_backup_policy")).await;
        pass(&h, &r, "orders").await;
        assert_eq!(h.calls(Some("update_backup_policy")).await, before);
        assert_eq!(h.calls(Some("create_backup_policy")).await, 2);

        // A changed value in the spec, and a change made outside Kubernetes.
        let id = named(&have, "dev-hourly").id.clone();
        let drift = BackupPolicyBody {
            retention_value: Some(9),
            ..BackupPolicyBody::default()
        };
        h.planetscale()
            .update_backup_policy("acme", "orders", &id, &drift)
            .await
            .unwrap();
        h.merge::<crate::database::Db>(
            "orders",
            json!({"spec": {"backupPolicies": [nightly(30), dev_hourly()]}}),
        )
        .await;
        pass(&h, &r, "orders").await;
        let have = ps_policies(&h, "orders").await;
        assert_eq!(named(&have, "nightly").retention_value, Some(30));
        assert_eq!(
            named(&have, "dev-hourly").retention_value,
            Some(1),
            "drift undone"
        );

        // A policy made outside Kubernetes is taken over once the spec names it; one removed
        // from the spec is deleted.
        let weekly = BackupPolicyBody {
            name: Some("weekly".into()),
            ..planetscale_operator::controller::database::policies::body(
                &serde_json::from_value(json!({"name": "weekly",
                    "frequency": {"value": 1, "unit": "week"},
                    "retention": {"value": 2, "unit": "week"}}))
                .unwrap(),
            )
        };
        h.planetscale()
            .create_backup_policy("acme", "orders", &weekly)
            .await
            .unwrap();
        let weekly_spec = json!({"name": "weekly", "frequency": {"value": 1, "unit": "week"},
            "retention": {"value": 4, "unit": "week"}});
        h.merge::<crate::database::Db>(
            "orders",
            json!({"spec": {"backupPolicies": [nightly(30), weekly_spec]}}),
        )
        .await;
        pass(&h, &r, "orders").await;
        let have = ps_policies(&h, "orders").await;
        let names: Vec<_> = have.iter().map(|p| p.name.as_str()).collect();
        assert!(
            names.contains(&"weekly") && !names.contains(&"dev-hourly"),
            "{names:?}"
        );
        assert_eq!(named(&have, "weekly").retention_value, Some(4));
        let o = get(&h, "orders").await;
        let s = o.status.clone().unwrap();
        let weekly = s
            .backup_policies
            .iter()
            .find(|p| p.name == "weekly")
            .unwrap();
        assert_eq!(weekly.adopted, Some(true), "{s:?}");
        assert_eq!(s.backup_policies.len(), 2);
        assert!(
            h.event_reasons("orders")
                .await
                .contains(&"BackupPolicyDeleted".to_string())
        );
        assert_eq!(ready(&o), ("True".into(), "Ready".into()));
    })
    .await;
}

#[tokio::test]
async fn the_schedule_takes_backups_and_status_shows_when_it_ran() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let spec = json!({"backupPolicies": [nightly(2)]});
        ready_database(&h, &r, &database("books", spec)).await;
        let backups = || async {
            h.planetscale()
                .list_backups_all("acme", "books", "main")
                .await
                .unwrap()
        };
        assert!(backups().await.is_empty());
        h.advance("25h").await;
        assert_eq!(backups().await.len(), 1, "one nightly run");
        pass(&h, &r, "books").await;
        let s = get(&h, "books").await.status.unwrap();
        let p = &s.backup_policies[0];
        assert!(p.last_ran_at.is_some(), "{s:?}");
        assert!(p.next_run_at.as_ref().unwrap().0 > p.last_ran_at.as_ref().unwrap().0);
        h.advance("96h").await;
        let kept = backups().await;
        assert_eq!(kept.len(), 2, "older than 2 days expired: {kept:?}");
    })
    .await;
}

#[tokio::test]
async fn a_policy_planetscale_refuses_is_reported_and_nothing_else_changes() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let o = ready_database(&h, &r, &database("shopfront", json!({}))).await;
        assert!(o.status.unwrap().backup_policies.is_empty());
        assert_eq!(
            h.calls(Some("list_backup_policies")).await,
            0,
            "no policies: not read"
        );
        h.fault(json!({"operation": "create_backup_policy", "status": 422, "count": 1}))
            .await;
        h.merge::<crate::database::Db>(
            "shopfront",
            json!({"spec": {"backupPolicies": [nightly(7)]}}),
        )
        .await;
        let err = h.pass(&r, "shopfront").await.expect_err("refused");
        assert!(err.to_string().contains("backup policy nightly"), "{err}");
        assert!(!err.is_transient());
        pass(&h, &r, "shopfront").await;
        let s = get(&h, "shopfront").await.status.unwrap();
        assert_eq!(s.backup_policies.len(), 1, "created on the next pass");
    })
    .await;
}
