use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use planetscale_api::models::{
    CreateBranch, DeploymentState, PasswordRole, ReviewState, UpdatePassword,
};
use planetscale_api::{Error, USER_AGENT};
use serde_json::{Value, json};

use crate::support::{BRANCH_PATH, PASSWORDS_PATH, branch_json, builder, password_json, start};

type Bodies = Arc<Mutex<Vec<Value>>>;

async fn echo_branch(State(bodies): State<Bodies>, Json(body): Json<Value>) -> Response {
    let name = body["name"].as_str().unwrap_or_default().to_owned();
    bodies.lock().unwrap().push(body);
    (StatusCode::CREATED, Json(branch_json(&name))).into_response()
}

#[tokio::test]
async fn service_token_header_user_agent_and_create_body() {
    let bodies = Bodies::default();
    let router = Router::new()
        .route(
            "/v1/organizations/{org}/databases/{db}/branches",
            post(echo_branch),
        )
        .with_state(bodies.clone());
    let stub = start(router).await;
    let client = builder(&stub).build().unwrap();
    let mut body = CreateBranch::new("pr-1");
    body.parent_branch = Some("main".into());
    body.region = Some("us-east".into());
    let branch = client.create_branch("acme", "shop", &body).await.unwrap();
    assert_eq!(branch.name, "pr-1");
    let seen = &stub.log.all()[0];
    assert_eq!(seen.authorization.as_deref(), Some("stubid:stubtoken"));
    assert_eq!(seen.user_agent.as_deref(), Some(USER_AGENT));
    assert_eq!(seen.path, "/v1/organizations/acme/databases/shop/branches");
    let sent = bodies.lock().unwrap();
    assert_eq!(
        sent[0],
        json!({"name": "pr-1", "parent_branch": "main", "region": "us-east"})
    );
}

#[tokio::test]
async fn passwords_update_renew_and_delete() {
    let password_path = format!("{PASSWORDS_PATH}/{{id}}");
    let router = Router::new()
        .route(&password_path, delete(|| async { StatusCode::NO_CONTENT }))
        .route(
            &password_path,
            axum::routing::patch(|Json(body): Json<Value>| async move {
                let mut pw = password_json(body["name"].as_str().unwrap());
                pw["plain_text"] = Value::Null;
                Json(pw)
            }),
        )
        .route(
            &format!("{password_path}/renew"),
            post(|| async { Json(password_json("app")) }),
        );
    let stub = start(router).await;
    let client = builder(&stub).build().unwrap();
    let update = UpdatePassword {
        name: Some("renamed".into()),
        cidrs: None,
    };
    let updated = client
        .update_password("acme", "shop", "dev", "pw1", &update)
        .await
        .unwrap();
    assert_eq!(updated.name, "renamed");
    assert!(updated.plain_text.is_none());
    let renewed = client
        .renew_password("acme", "shop", "dev", "pw1")
        .await
        .unwrap();
    assert_eq!(renewed.role, Some(PasswordRole::Admin));
    client
        .delete_password("acme", "shop", "dev", "pw1")
        .await
        .unwrap();
    let methods: Vec<String> = stub.log.all().into_iter().map(|s| s.method).collect();
    assert_eq!(methods, ["PATCH", "POST", "DELETE"]);
}

fn deploy_request(state: &str) -> Value {
    json!({"id": "dr1", "number": 42, "state": "open", "deployment_state": state,
           "branch": "pr-1", "into_branch": "main", "approved": false})
}

/// Deploy request action routes that check the number and record the bodies they get.
fn deploy_request_router(bodies: Bodies) -> Router {
    let base = "/v1/organizations/{org}/databases/{db}/deploy-requests/{number}";
    let record = |state: &'static str| {
        move |State(bodies): State<Bodies>,
              Path(params): Path<Vec<(String, String)>>,
              body: Option<Json<Value>>| async move {
            assert_eq!(params.last().unwrap().1, "42");
            bodies
                .lock()
                .unwrap()
                .push(body.map_or(Value::Null, |Json(b)| b));
            Json(deploy_request(state))
        }
    };
    let deployment = || async { Json(json!({"id": "d", "state": "pending_cutover"})) };
    Router::new()
        .route(&format!("{base}/deploy"), post(record("queued")))
        .route(
            &format!("{base}/apply-deploy"),
            post(record("in_progress_cutover")),
        )
        .route(&format!("{base}/auto-apply"), put(record("queued")))
        .route(base, axum::routing::patch(record("complete")))
        .route(&format!("{base}/deployment"), get(deployment))
        .route(
            &format!("{base}/cancel"),
            post(record("in_progress_cancel")),
        )
        .route(&format!("{base}/complete-deploy"), post(record("complete")))
        .route(
            &format!("{base}/revert"),
            post(record("in_progress_revert")),
        )
        .route(&format!("{base}/skip-revert"), post(record("complete")))
        .route(&format!("{base}/reviews"), post(review))
        .with_state(bodies)
}

/// `POST …/reviews`: records the body and answers 201 with the review.
async fn review(
    State(bodies): State<Bodies>,
    Path(params): Path<Vec<(String, String)>>,
    Json(body): Json<Value>,
) -> Response {
    assert_eq!(params.last().unwrap().1, "42");
    bodies.lock().unwrap().push(body.clone());
    let review = json!({"id": "r1", "state": body["state"], "body": body["body"],
                        "actor": {"id": "u1", "display_name": "Dana"}});
    (StatusCode::CREATED, Json(review)).into_response()
}

#[tokio::test]
async fn deploy_request_actions_use_the_number_and_send_their_bodies() {
    let bodies = Bodies::default();
    let stub = start(deploy_request_router(bodies.clone())).await;
    let client = builder(&stub).build().unwrap();
    let queued = client
        .queue_deploy_request("acme", "shop", 42, false)
        .await
        .unwrap();
    assert_eq!(queued.deployment_state, Some(DeploymentState::Queued));
    client
        .set_auto_apply("acme", "shop", 42, true)
        .await
        .unwrap();
    let deployment = client.get_deployment("acme", "shop", 42).await.unwrap();
    assert!(deployment.state.unwrap().is_awaiting_cutover());
    client
        .apply_deploy_request("acme", "shop", 42)
        .await
        .unwrap();
    client
        .close_deploy_request("acme", "shop", 42)
        .await
        .unwrap();
    let sent = bodies.lock().unwrap().clone();
    let expected = [
        json!({"instant_ddl": false}),
        json!({"enable": true}),
        Value::Null,
        json!({"state": "closed"}),
    ];
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn cancel_complete_revert_skip_revert_and_reviews_post_to_their_paths() {
    let bodies = Bodies::default();
    let stub = start(deploy_request_router(bodies.clone())).await;
    let client = builder(&stub).build().unwrap();
    let cancelled = client
        .cancel_deploy_request("acme", "shop", 42)
        .await
        .unwrap();
    assert_eq!(
        cancelled.deployment_state,
        Some(DeploymentState::InProgressCancel)
    );
    let completed = client
        .complete_deploy_request("acme", "shop", 42)
        .await
        .unwrap();
    assert_eq!(completed.deployment_state, Some(DeploymentState::Complete));
    let reverting = client
        .revert_deploy_request("acme", "shop", 42)
        .await
        .unwrap();
    assert_eq!(
        reverting.deployment_state,
        Some(DeploymentState::InProgressRevert)
    );
    client
        .skip_revert_deploy_request("acme", "shop", 42)
        .await
        .unwrap();
    let approved = client
        .approve_deploy_request("acme", "shop", 42, Some("lgtm"))
        .await
        .unwrap();
    assert_eq!(
        (approved.state, approved.body.as_deref()),
        (Some(ReviewState::Approved), Some("lgtm"))
    );
    let commented = client
        .comment_on_deploy_request("acme", "shop", 42, "why?")
        .await
        .unwrap();
    assert_eq!(commented.state, Some(ReviewState::Commented));

    let seen: Vec<(String, String)> = stub
        .log
        .all()
        .into_iter()
        .map(|s| {
            let action = s.path.rsplit('/').next().unwrap().to_string();
            (s.method, action)
        })
        .collect();
    let expected = [
        "cancel",
        "complete-deploy",
        "revert",
        "skip-revert",
        "reviews",
        "reviews",
    ];
    assert_eq!(
        seen,
        expected.map(|a| ("POST".to_string(), a.to_string())),
        "one POST each, none retried"
    );
    let sent = bodies.lock().unwrap().clone();
    let expected = [
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        json!({"state": "approved", "body": "lgtm"}),
        json!({"state": "commented", "body": "why?"}),
    ];
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn api_errors_reach_the_caller_classified() {
    let router = Router::new().route(
        BRANCH_PATH,
        get(|Path(p): Path<Vec<(String, String)>>| async move {
            match p.last().unwrap().1.as_str() {
                "missing" => (
                    StatusCode::NOT_FOUND,
                    r#"{"code":"not_found","message":"Not Found"}"#,
                )
                    .into_response(),
                "locked" => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    r#"{"code":"unprocessable","message":"Branch is protected"}"#,
                )
                    .into_response(),
                _ => (StatusCode::OK, "this is not json").into_response(),
            }
        }),
    );
    let stub = start(router).await;
    let client = builder(&stub).build().unwrap();
    let missing = client
        .get_branch("acme", "shop", "missing")
        .await
        .unwrap_err();
    assert_eq!(
        missing,
        Error::NotFound {
            code: "not_found".into(),
            message: "Not Found".into()
        }
    );
    let locked = client
        .get_branch("acme", "shop", "locked")
        .await
        .unwrap_err();
    assert_eq!(locked.reason(), "Unprocessable");
    assert_eq!(locked.message(), Some("Branch is protected"));
    let garbage = client
        .get_branch("acme", "shop", "garbage")
        .await
        .unwrap_err();
    assert_eq!(garbage.reason(), "DecodeError");
    assert_eq!(stub.log.all().len(), 3, "none of these is retried");
}
