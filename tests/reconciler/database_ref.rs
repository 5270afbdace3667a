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
