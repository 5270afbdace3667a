//! Postgres roles: paths, bodies, the `successor` query, password handling and which
//! operations are resent after a 5xx.

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use planetscale_api::models::{
    CreateBranch, CreatePostgresBranch, CreateRole, InheritedRole, ListRoles, UpdateRole,
    WhereClauseRule,
};
use serde_json::{Value, json};

use crate::support::{builder, start};

const ROLES: &str = "/v1/organizations/{org}/databases/{db}/branches/{branch}/roles";

type Seen = Arc<Mutex<Vec<Value>>>;

fn role_json(name: &str, password: &str) -> Value {
    json!({"id": "r1", "name": name, "username": "pscale_api_abc.b1", "password": password,
           "access_host_url": "us-east.pg.psdb.cloud", "database_name": "postgres",
           "ready": false, "expired": false, "ttl": 3600, "default": false,
           "inherited_roles": ["pg_read_all_data"]})
}

async fn record(State(seen): State<Seen>, body: Option<Json<Value>>) -> Json<Value> {
    let body = body.map_or(Value::Null, |Json(b)| b);
    let name = body["name"].as_str().unwrap_or("app").to_owned();
    seen.lock().unwrap().push(body);
    Json(role_json(&name, "pscale_pw_fresh"))
}

async fn record_query(
    State(seen): State<Seen>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> StatusCode {
    seen.lock().unwrap().push(json!(q));
    StatusCode::NO_CONTENT
}

fn router(seen: Seen) -> Router {
    let one = format!("{ROLES}/{{id}}");
    Router::new()
        .route(
            ROLES,
            post(record).get(|| async {
                Json(json!({"type": "list", "next_page": null,
                        "data": [role_json("app", ""), role_json("other", "")]}))
            }),
        )
        .route(
            &one,
            get(|| async { Json(role_json("app", "")) })
                .patch(record)
                .delete(record_query),
        )
        .route(&format!("{one}/renew"), post(record))
        .route(&format!("{one}/reset"), post(record))
        .route(
            &format!("{one}/reassign"),
            post(
                |State(seen): State<Seen>, Json(b): Json<Value>| async move {
                    seen.lock().unwrap().push(b);
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .route(
            &format!("{ROLES}/default"),
            get(|| async { Json(role_json("postgres", "")) }),
        )
        .route(&format!("{ROLES}/reset-default"), post(record))
        .with_state(seen)
}

#[tokio::test]
async fn every_role_operation_reaches_its_path_with_its_body() {
    let seen = Seen::default();
    let stub = start(router(seen.clone())).await;
    let c = builder(&stub).build().unwrap();
    let body = CreateRole {
        name: Some("app".into()),
        ttl: Some(3600),
        inherited_roles: vec![InheritedRole::PgReadAllData],
        require_where_on_delete: Some(WhereClauseRule::On),
        ..CreateRole::default()
    };
    let created = c.create_role("acme", "ledger", "dev", &body).await.unwrap();
    assert_eq!(
        created.password.as_ref().unwrap().expose(),
        "pscale_pw_fresh"
    );
    assert!(
        !format!("{created:?}").contains("pscale_pw_fresh"),
        "redacted"
    );
    let got = c.get_role("acme", "ledger", "dev", "r1").await.unwrap();
    assert!(got.password.is_none(), "an empty password is no password");
    let all = c
        .list_roles_all("acme", "ledger", "dev", &ListRoles::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let update = UpdateRole {
        name: Some("renamed".into()),
        ..UpdateRole::default()
    };
    assert_eq!(
        c.update_role("acme", "ledger", "dev", "r1", &update)
            .await
            .unwrap()
            .name,
        "renamed"
    );
    c.renew_role("acme", "ledger", "dev", "r1").await.unwrap();
    let reset = c.reset_role("acme", "ledger", "dev", "r1").await.unwrap();
    assert!(reset.password.is_some());
    c.reassign_role_objects("acme", "ledger", "dev", "r1", "postgres")
        .await
        .unwrap();
    c.delete_role("acme", "ledger", "dev", "r1", Some("r2"))
        .await
        .unwrap();
    c.delete_role("acme", "ledger", "dev", "r1", None)
        .await
        .unwrap();
    assert!(
        c.get_default_role("acme", "ledger", "dev")
            .await
            .unwrap()
            .password
            .is_none()
    );
    assert!(
        c.reset_default_role("acme", "ledger", "dev")
            .await
            .unwrap()
            .password
            .is_some()
    );

    let calls: Vec<(String, String)> = stub
        .log
        .all()
        .into_iter()
        .map(|s| {
            (
                s.method,
                s.path
                    .replace("/v1/organizations/acme/databases/ledger/branches/dev", ""),
            )
        })
        .collect();
    let expected = [
        ("POST", "/roles"),
        ("GET", "/roles/r1"),
        ("GET", "/roles"),
        ("PATCH", "/roles/r1"),
        ("POST", "/roles/r1/renew"),
        ("POST", "/roles/r1/reset"),
        ("POST", "/roles/r1/reassign"),
        ("DELETE", "/roles/r1"),
        ("DELETE", "/roles/r1"),
        ("GET", "/roles/default"),
        ("POST", "/roles/reset-default"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(calls, expected);
    let bodies = seen.lock().unwrap().clone();
    assert_eq!(
        bodies[0],
        json!({"name": "app", "ttl": 3600, "inherited_roles": ["pg_read_all_data"],
               "require_where_on_delete": "on"})
    );
    assert_eq!(bodies[1], json!({"name": "renamed"}));
    assert_eq!(bodies[4], json!({"successor": "postgres"}));
    assert_eq!(
        (bodies[5].clone(), bodies[6].clone()),
        (json!({"successor": "r2"}), json!({}))
    );
}

fn failing_then(ok_after: usize) -> impl Fn() -> std::future::Ready<Response> + Clone {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    move || {
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::future::ready(if n < ok_after {
            (StatusCode::BAD_GATEWAY, "{}").into_response()
        } else {
            Json(role_json("app", "pscale_pw_fresh")).into_response()
        })
    }
}

#[tokio::test]
async fn a_create_is_not_resent_after_a_5xx_but_a_reset_is() {
    let router = Router::new()
        .route(ROLES, post(failing_then(usize::MAX)))
        .route(&format!("{ROLES}/{{id}}/reset"), post(failing_then(1)));
    let stub = start(router).await;
    let c = builder(&stub).build().unwrap();
    let err = c
        .create_role("acme", "ledger", "dev", &CreateRole::default())
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "ServerError");
    assert_eq!(
        stub.log.count("POST", "/roles"),
        1,
        "a create may have minted a role"
    );
    let reset = c.reset_role("acme", "ledger", "dev", "r1").await.unwrap();
    assert_eq!(reset.password.unwrap().expose(), "pscale_pw_fresh");
    assert_eq!(
        stub.log.count("POST", "/reset"),
        2,
        "the last reset's password is the one that works"
    );
}

#[tokio::test]
async fn a_postgres_branch_create_sends_the_restore_point_and_major_version() {
    let seen = Seen::default();
    let router = Router::new()
        .route(
            "/v1/organizations/{org}/databases/{db}/branches",
            post(
                |State(seen): State<Seen>, Json(b): Json<Value>| async move {
                    seen.lock().unwrap().push(b);
                    (
                        StatusCode::CREATED,
                        Json(json!({"id": "b1", "name": "pitr", "kind": "postgresql",
                    "major_version": "17", "state": "pending", "ready": false})),
                    )
                },
            ),
        )
        .with_state(seen.clone());
    let stub = start(router).await;
    let c = builder(&stub).build().unwrap();
    let body = CreatePostgresBranch {
        branch: CreateBranch::new("pitr"),
        restore_point: Some("2025-07-15T10:19:23Z".parse().unwrap()),
        major_version: Some("17".into()),
    };
    let branch = c
        .create_postgres_branch("acme", "ledger", &body)
        .await
        .unwrap();
    assert_eq!(branch.major_version.as_deref(), Some("17"));
    assert_eq!(
        seen.lock().unwrap()[0],
        json!({"name": "pitr", "restore_point": "2025-07-15T10:19:23Z", "major_version": "17"})
    );
}
