//! Backup policies: CRUD, and the schedule taking backups on the emulator clock that expire
//! after the policy's retention.

use serde_json::{Value, json};

use crate::common::{DB, H};

fn policies() -> String {
    format!("{DB}/backup-policies")
}

async fn main_backups(h: &H) -> Vec<Value> {
    let list = h
        .get(&format!("{DB}/branches/main/backups"))
        .await
        .expect(200);
    list["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_policy_is_created_listed_updated_and_deleted() {
    let h = H::new().await;
    let body = json!({"name": "nightly", "target": "production", "retention_value": 7,
        "retention_unit": "day", "frequency_value": 1, "frequency_unit": "day",
        "schedule_time": "02:30"});
    let created = h.post(&policies(), body.clone()).await.expect(201);
    assert_eq!(created["schedule_time"], "02:30");
    assert_eq!(created["required"], false);
    assert!(created["last_ran_at"].is_null() && created["next_run_at"].is_string());
    h.post(&policies(), body)
        .await
        .expect_error(422, "unprocessable");
    let id = created["id"].as_str().unwrap();
    let one = format!("{}/{id}", policies());
    let updated = h
        .patch(&one, json!({"retention_value": 14}))
        .await
        .expect(200);
    assert_eq!(updated["retention_value"], 14);
    assert_eq!(updated["frequency_unit"], "day", "unchanged fields stay");
    h.patch(&one, json!({"schedule_time": "25:00"}))
        .await
        .expect_error(422, "unprocessable");
    let list = h.get(&policies()).await.expect(200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(h.get(&one).await.expect(200)["name"], "nightly");
    h.delete(&one).await.expect(204);
    h.get(&one).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn a_policy_takes_backups_on_schedule_and_they_expire() {
    let h = H::new().await;
    let body = json!({"name": "hourly", "target": "production", "retention_value": 3,
        "retention_unit": "hour", "frequency_value": 1, "frequency_unit": "hour",
        "schedule_time": "00:00"});
    let created = h.post(&policies(), body).await.expect(201);
    let one = format!("{}/{}", policies(), created["id"].as_str().unwrap());
    assert!(
        main_backups(&h).await.is_empty(),
        "nothing before the first run"
    );
    h.advance(3600).await;
    let first = main_backups(&h).await;
    assert_eq!(first.len(), 1, "one run within the hour: {first:?}");
    let p = h.get(&one).await.expect(200);
    assert!(p["last_ran_at"].is_string(), "{p}");
    h.advance(2 * 3600).await;
    assert_eq!(main_backups(&h).await.len(), 3, "one per hour");
    h.advance(10 * 3600).await;
    let kept = main_backups(&h).await;
    assert_eq!(kept.len(), 3, "only the last 3 hours are kept: {kept:?}");
}
