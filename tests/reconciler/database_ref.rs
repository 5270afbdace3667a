//! `databaseRef`: a backup (and, through the same branch target, a password or a deploy
//! request) naming its database by a `PlanetScaleDatabase` waits without calling PlanetScale
//! until that resource is Ready, then acts on its organization and database.
use serde_json::json;

use crate::backup::{get, pass, ready, reconciler};
use crate::database::{database, ready_database};
use crate::harness::with_harness;

#[tokio::test]
async fn a_backup_waits_for_its_database_resource_then_is_taken_there() {
    with_harness(|h| async move {
        let r = reconciler(&h);
        let obj: planetscale_operator::crd::PlanetScaleBackup = crate::harness::object_on(
            "before-launch",
            json!({}),
            json!({"databaseRef": {"name": "storefront"}, "branch": "main",
                   "retention": {"value": 1, "unit": "day"}}),
        );
        h.apply(&obj).await;
        pass(&h, &r, "before-launch").await; // the finalizer
        let calls = h.calls(None).await;
        let err = h
            .pass(&r, "before-launch")
            .await
            .expect_err("no database yet");
        assert_eq!(err.reason(), "DatabaseNotReady");
        assert!(
            err.to_string()
                .contains("PlanetScaleDatabase storefront does not exist"),
            "{err}"
        );
        assert!(
            matches!(err, planetscale_operator::error::Error::Waiting { .. }),
            "a wait"
        );
        assert_eq!(
            h.calls(None).await,
            calls,
            "no PlanetScale call while waiting"
        );
        let o = get(&h, "before-launch").await;
        assert_eq!(ready(&o).1, "DatabaseNotReady");

        // The database resource exists but is not Ready yet: still waiting.
        let dbr = crate::database::reconciler(&h);
        let db = database("storefront", json!({"databaseName": "storefront-prod"}));
        h.apply(&db).await;
        let err = h
            .pass(&r, "before-launch")
            .await
            .expect_err("not ready yet");
        assert_eq!(err.reason(), "DatabaseNotReady");
        assert!(err.to_string().contains("not Ready"), "{err}");

        ready_database(&h, &dbr, &db).await;
        pass(&h, &r, "before-launch").await;
        let o = get(&h, "before-launch").await;
        let s = o.status.as_ref().unwrap();
        assert_eq!(s.database.as_deref(), Some("storefront-prod"), "{s:?}");
        assert!(s.id.is_some());
        let taken = h
            .planetscale()
            .list_backups_all("acme", "storefront-prod", "main")
            .await
            .unwrap();
        assert_eq!(taken.len(), 1);
    })
    .await;
}

/// A branch naming its database by `databaseRef`: it waits (no call) until the
/// `PlanetScaleDatabase` is Ready, is created in the database that resource names, records
/// where in status, and a password on it (by `branchRef`) follows it there. Deleting the
/// branch deletes it in that database even once the database resource is gone.
#[tokio::test]
async fn a_branch_waits_for_its_database_resource_then_is_created_there() {
    with_harness(|h| async move {
        use planetscale_operator::crd::branch::PlanetScaleBranch;
        let r = crate::branch::reconciler(&h);
        let obj: PlanetScaleBranch = crate::harness::object_on(
            "preview",
            json!({}),
            json!({"databaseRef": {"name": "storefront"}}),
        );
        h.apply(&obj).await;
        crate::branch::pass(&h, &r, "preview").await; // the finalizer
        let calls = h.calls(None).await;
        let err = h.pass(&r, "preview").await.expect_err("no database yet");
        assert_eq!(err.reason(), "DatabaseNotReady", "{err}");
        assert!(
            err.to_string()
                .contains("PlanetScaleDatabase storefront does not exist"),
            "{err}"
        );
        assert_eq!(
            h.calls(None).await,
            calls,
            "no PlanetScale call while waiting"
        );
        let o = crate::branch::get(&h, "preview").await;
        assert_eq!(crate::branch::ready(&o).1, "DatabaseNotReady");

        let dbr = crate::database::reconciler(&h);
        let db = database("storefront", json!({"databaseName": "storefront-prod"}));
        ready_database(&h, &dbr, &db).await;
        crate::branch::pass(&h, &r, "preview").await; // the create
        let o = crate::branch::get(&h, "preview").await;
        let s = o.status.clone().unwrap_or_default();
        assert_eq!(s.organization.as_deref(), Some("acme"), "{s:?}");
        assert_eq!(s.database.as_deref(), Some("storefront-prod"), "{s:?}");
        let ps = h.planetscale();
        let made = ps.get_branch("acme", "storefront-prod", "preview").await;
        assert!(
            made.is_ok(),
            "the branch is created in storefront-prod: {made:?}"
        );
        assert!(
            ps.get_branch("acme", "shop", "preview").await.is_err(),
            "and nowhere else"
        );
        h.advance("61s").await;
        crate::branch::pass(&h, &r, "preview").await;
        let o = crate::branch::get(&h, "preview").await;
        assert_eq!(crate::branch::ready(&o), ("True".into(), "Ready".into()));

        // A password on the branch by branchRef gets its credentials there.
        let pr = crate::password::reconciler(&h);
        let p: planetscale_operator::crd::PlanetScalePassword = crate::harness::object_on(
            "preview-app",
            json!({}),
            json!({"branchRef": {"name": "preview"}}),
        );
        h.apply(&p).await;
        for _ in 0..3 {
            let _ = h.pass(&pr, "preview-app").await;
        }
        let minted = ps
            .list_passwords_all("acme", "storefront-prod", "preview", &Default::default())
            .await
            .expect("list passwords");
        assert_eq!(minted.len(), 1, "one password on storefront-prod/preview");

        // The database resource goes (Retain); the branch is still deleted where it was made.
        crate::database::delete(&h, "storefront").await;
        let _ = h.pass(&dbr, "storefront").await;
        crate::branch::delete(&h, "preview").await;
        let _ = h.pass(&r, "preview").await;
        assert!(
            ps.get_branch("acme", "storefront-prod", "preview")
                .await
                .is_err(),
            "deleted in PlanetScale"
        );
    })
    .await;
}
