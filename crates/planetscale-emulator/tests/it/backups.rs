//! Backups and branches restored from them (`backup_id`, `seed_data`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{DB, H};

#[tokio::test]
async fn restoring_a_backup_needs_a_successful_backup_and_a_cluster_size() {
    let h = H::new().await;
    let backup = h
        .post(
            &format!("{DB}/branches/main/backups"),
            json!({"name": "nightly"}),
        )
        .await
        .expect(201);
    assert_eq!(backup["state"], "pending");
    let id = backup["id"].as_str().unwrap();
    let path = format!("{DB}/branches");
    h.post(
        &path,
        json!({"name": "restored", "backup_id": id, "cluster_size": "PS_10"}),
    )
    .await
    .expect_error(422, "unprocessable");
    h.advance(5).await;
    assert_eq!(
        h.get(&format!("{DB}/branches/main/backups/{id}"))
            .await
            .expect(200)["state"],
        "running"
    );
    h.advance(5).await;
    assert_eq!(
        h.get(&format!("{DB}/branches/main/backups"))
            .await
            .expect(200)["data"][0]["state"],
        "success"
    );
    h.post(&path, json!({"name": "restored", "backup_id": id}))
        .await
        .expect_error(422, "unprocessable");
    h.post(
        &path,
        json!({"name": "restored", "backup_id": "nosuchbackup", "cluster_size": "PS_10"}),
    )
    .await
    .expect_error(404, "not_found");
    let b = h
        .post(
            &path,
            json!({"name": "restored", "backup_id": id, "cluster_size": "PS_10"}),
        )
        .await
        .expect(201);
    assert_eq!(b["restored_from_branch"]["name"], "main");
    h.post(
        &path,
        json!({"name": "both", "backup_id": id, "seed_data": "last_successful_backup"}),
    )
    .await
    .expect_error(422, "unprocessable");
    h.patch(
        &format!("{DB}/branches/main/backups/{id}"),
        json!({"protected": true}),
    )
    .await
    .expect(200);
    h.delete(&format!("{DB}/branches/main/backups/{id}"))
        .await
        .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn seed_data_needs_data_branching_and_a_backup() {
    let h = H::new().await;
    let path = format!("{DB}/branches");
    let seeded = json!({"name": "seeded", "seed_data": "last_successful_backup"});
    h.post(&path, seeded.clone())
        .await
        .expect_error(422, "unprocessable");
    h.patch(DB, json!({"allow_data_branching": true}))
        .await
        .expect(200);
    h.post(&path, seeded.clone())
        .await
        .expect_error(422, "unprocessable");
    h.post(&format!("{DB}/branches/main/backups"), json!({}))
        .await
        .expect(201);
    h.advance(10).await;
    let b = h.post(&path, seeded).await.expect(201);
    assert_eq!(
        (
            b["production"].as_bool(),
            b["restored_from_branch"]["name"].as_str()
        ),
        (Some(false), Some("main"))
    );
    h.post(&path, json!({"name": "weird", "seed_data": "yesterday"}))
        .await
        .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn deleting_a_backup_needs_it_unprotected_and_production_backup_access() {
    let h = H::new().await;
    let backups = format!("{DB}/branches/main/backups");
    let created = h
        .post(&backups, json!({"name": "weekly"}))
        .await
        .expect(201);
    let one = format!("{backups}/{}", created["id"].as_str().unwrap());
    h.patch(&one, json!({"protected": true})).await.expect(200);
    h.delete(&one).await.expect_error(422, "unprocessable");
    h.patch(&one, json!({"protected": false})).await.expect(200);
    let development_only = h
        .token(json!([{"database": "shop", "accesses": ["read_backups", "delete_backups"]}]))
        .await;
    h.req_as(Some(&development_only), Method::DELETE, &one, None)
        .await
        .expect_error(404, "not_found");
    assert_eq!(h.delete(&one).await.expect(204), Value::Null);
    h.get(&one).await.expect_error(404, "not_found");
    assert_eq!(h.get(&backups).await.expect(200)["data"], json!([]));
}
