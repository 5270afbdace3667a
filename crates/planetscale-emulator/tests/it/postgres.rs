//! PostgreSQL databases: the seeded `ledger`, major versions, branches restored to a point in
//! time, and the Vitess-only operations refused (roles refused on MySQL).

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{DB, H};
use crate::roles::PG;

async fn now(h: &H) -> chrono::DateTime<chrono::Utc> {
    let clock = h.admin(Method::GET, "/clock", None).await.expect(200);
    clock["now"].as_str().unwrap().parse().unwrap()
}

fn at(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn the_default_world_has_a_postgres_database_beside_the_mysql_one() {
    let h = H::new().await;
    let list = h.get("/v1/organizations/acme/databases").await.expect(200);
    let kinds: Vec<(String, String)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().into(),
                d["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("shop".into(), "mysql".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("ledger".into(), "postgresql".into())),
        "{kinds:?}"
    );
    let main = h.get(&format!("{PG}/branches/main")).await.expect(200);
    assert_eq!(
        (
            main["kind"].as_str(),
            main["ready"].as_bool(),
            main["major_version"].as_str()
        ),
        (Some("postgresql"), Some(true), Some("18"))
    );
    assert_eq!(main["access_host_url"], "us-east.pg.psdb.cloud");
}

#[tokio::test]
async fn postgres_databases_take_a_major_version_that_branches_inherit() {
    let h = H::new().await;
    let path = "/v1/organizations/acme/databases";
    h.post(
        path,
        json!({"name": "pg17", "kind": "postgresql", "major_version": "9"}),
    )
    .await
    .expect_error(422, "unprocessable");
    h.post(
        path,
        json!({"name": "my17", "cluster_size": "PS_10", "major_version": "17"}),
    )
    .await
    .expect_error(422, "unprocessable");
    let db = h
        .post(
            path,
            json!({"name": "pg17", "kind": "postgresql", "major_version": "17"}),
        )
        .await
        .expect(201);
    assert_eq!(db["kind"], "postgresql");
    h.advance(60).await;
    let branches = "/v1/organizations/acme/databases/pg17/branches";
    let dev = h.post(branches, json!({"name": "dev"})).await.expect(201);
    assert_eq!(dev["major_version"], "17", "inherited from main");
    let next = h
        .post(branches, json!({"name": "next", "major_version": "18"}))
        .await
        .expect(201);
    assert_eq!(next["major_version"], "18");
    h.post(branches, json!({"name": "old", "major_version": "12"}))
        .await
        .expect_error(422, "unprocessable");
}

#[tokio::test]
async fn a_branch_restored_to_a_point_in_time_names_its_parent() {
    let h = H::new().await;
    h.advance(3600).await;
    let branches = format!("{PG}/branches");
    let point = now(&h).await - chrono::Duration::minutes(30);
    let b = h
        .post(
            &branches,
            json!({"name": "pitr", "restore_point": at(point)}),
        )
        .await
        .expect(201);
    assert_eq!(b["restored_from_branch"]["name"], "main");
    assert_eq!(
        b["restore_point"],
        format!("{}.000Z", &at(point)[..19]),
        "sent with whole seconds, answered with milliseconds"
    );
    assert_eq!(b["state"], "pending");
    h.advance(60).await;
    assert_eq!(
        h.get(&format!("{branches}/pitr")).await.expect(200)["ready"],
        true
    );
    let refused = |body: Value| {
        let (h, branches) = (&h, branches.clone());
        async move {
            h.post(&branches, body)
                .await
                .expect_error(422, "unprocessable")["message"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let future = at(now(&h).await + chrono::Duration::hours(1));
    let msg = refused(json!({"name": "f", "restore_point": future})).await;
    assert!(msg.contains("future"), "{msg}");
    let before = at(now(&h).await - chrono::Duration::days(30));
    let msg = refused(json!({"name": "b", "restore_point": before})).await;
    assert!(msg.contains("before branch main existed"), "{msg}");
    let msg = refused(json!({"name": "g", "restore_point": "yesterday"})).await;
    assert!(msg.contains("not a timestamp"), "{msg}");
    let msg = refused(json!({"name": "k", "restore_point": at(point), "backup_id": "x"})).await;
    assert!(msg.contains("cannot be combined"), "{msg}");
    let err = h
        .post(
            &format!("{DB}/branches"),
            json!({"name": "p", "restore_point": at(point)}),
        )
        .await
        .expect_error(422, "unprocessable");
    assert!(
        err["message"].as_str().unwrap().contains("PostgreSQL"),
        "{err}"
    );
}

#[tokio::test]
async fn vitess_only_operations_refuse_a_postgres_database() {
    let h = H::new().await;
    h.ready_pg_branch("dev").await;
    let br = format!("{PG}/branches/dev");
    let refusals = [
        (Method::POST, format!("{br}/passwords"), Some(json!({}))),
        (Method::GET, format!("{br}/passwords"), None),
        (Method::GET, format!("{PG}/passwords"), None),
        (Method::POST, format!("{br}/promote"), Some(json!({}))),
        (
            Method::POST,
            format!("{PG}/branches/main/demote"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("{PG}/branches/main/safe-migrations"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("{PG}/deploy-requests"),
            Some(json!({"branch": "dev"})),
        ),
        (Method::GET, format!("{PG}/deploy-requests"), None),
        (Method::GET, format!("{PG}/deploy-queue"), None),
    ];
    for (method, path, body) in refusals {
        let err = h
            .req_as(Some(&h.auth), method.clone(), &path, body)
            .await
            .expect_error(422, "unprocessable");
        let msg = err["message"].as_str().unwrap();
        assert!(
            msg.contains("only available for Vitess"),
            "{method} {path}: {msg}"
        );
    }
    let err = h
        .post(&format!("{br}/passwords"), json!({}))
        .await
        .expect_error(422, "unprocessable");
    assert!(
        err["message"].as_str().unwrap().contains("use roles"),
        "{err}"
    );
    let err = h
        .post(&format!("{DB}/branches/main/roles"), json!({}))
        .await
        .expect_error(422, "unprocessable");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("only available for PostgreSQL"),
        "{err}"
    );
    let outsider = h
        .token(json!([{"database": "shop", "accesses": ["read_branch"]}]))
        .await;
    h.req_as(
        Some(&outsider),
        Method::GET,
        &format!("{br}/passwords"),
        None,
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn deleting_a_postgres_branch_or_database_deletes_its_roles() {
    let h = H::new().await;
    h.ready_pg_branch("dev").await;
    let role = h
        .post(&format!("{PG}/branches/dev/roles"), json!({}))
        .await
        .expect(200);
    h.advance(5).await;
    let (user, plain) = (
        role["username"].as_str().unwrap(),
        role["password"].as_str().unwrap(),
    );
    assert_eq!(h.verify_pg("dev", user, plain).await["valid"], true);
    h.delete(&format!("{PG}/branches/dev")).await.expect(204);
    let state = h.admin(Method::GET, "/state", None).await.expect(200);
    let roles = state["roles"].as_array().unwrap();
    assert!(
        roles.iter().all(|r| r["deleted"] == true),
        "no live role outlives its branch: {roles:?}"
    );
    h.delete(PG).await.expect(204);
    h.get(&format!("{PG}/branches/main/roles"))
        .await
        .expect_error(404, "not_found");
}
