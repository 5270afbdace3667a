use super::*;

fn api(e: planetscale_api::Error) -> Error {
    Error::from(e)
}

fn unprocessable(message: &str) -> planetscale_api::Error {
    planetscale_api::Error::Unprocessable {
        code: "unprocessable".into(),
        message: message.into(),
    }
}

#[test]
fn self_approval_is_shown_not_retried_fast() {
    let e = classify(
        &Step::Approve,
        7,
        api(unprocessable("You cannot approve your own deploy request")),
    )
    .unwrap();
    assert_eq!(e.reason, r::APPROVAL_FAILED);
    assert!(e.message.contains("your own"), "{}", e.message);
}

#[test]
fn missing_access_names_the_access() {
    let nf = planetscale_api::Error::NotFound {
        code: "not_found".into(),
        message: "Not Found".into(),
    };
    let e = classify(&Step::Approve, 7, api(nf)).unwrap();
    assert!(e.message.contains("approve_deploy_request"));
}

#[test]
fn refused_actions_say_what_was_refused() {
    let e = classify(&Step::Queue, 7, api(unprocessable("must be approved"))).unwrap();
    assert_eq!(e.reason, r::ACTION_NOT_ALLOWED);
    assert!(
        e.message
            .contains("queue the deploy of deploy request #7: must be approved")
    );
    let e = classify(
        &Step::Approve,
        7,
        Error::CredentialsNotFound("Secret x missing".into()),
    )
    .unwrap();
    assert_eq!(e.reason, "CredentialsNotFound");
}

#[test]
fn transient_errors_stay_errors() {
    let e = Error::Api(planetscale_api::Error::Server {
        status: 503,
        retry_after: None,
        code: "unavailable".into(),
        message: "down".into(),
    });
    assert!(classify(&Step::Queue, 7, e).is_err());
}
