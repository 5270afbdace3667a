use std::time::Duration;

use super::*;

fn classify(status: u16, body: &str) -> Error {
    Error::from_response(status, None, body.as_bytes())
}

#[test]
fn every_status_maps_to_its_variant_and_reason() {
    let cases: &[(u16, &str, bool)] = &[
        (400, "BadRequest", false),
        (401, "Unauthorized", false),
        (403, "Forbidden", false),
        (404, "NotFound", false),
        (405, "UnexpectedStatus", false),
        (408, "Timeout", true),
        (409, "Conflict", false),
        (410, "UnexpectedStatus", false),
        (422, "Unprocessable", false),
        (429, "RateLimited", true),
        (500, "ServerError", true),
        (502, "ServerError", true),
        (503, "ServerError", true),
        (504, "ServerError", true),
        (302, "UnexpectedStatus", false),
    ];
    for &(status, reason, transient) in cases {
        let err = classify(status, r#"{"code":"x","message":"y"}"#);
        assert_eq!(err.reason(), reason, "status {status}");
        assert_eq!(err.is_transient(), transient, "status {status}");
        if status != 408 {
            assert_eq!(err.status(), Some(status));
        }
    }
}

#[test]
fn code_and_message_come_from_the_standard_body() {
    let err = classify(
        422,
        r#"{"code":"unprocessable","message":"Password cannot be renewed"}"#,
    );
    assert_eq!(
        err,
        Error::Unprocessable {
            code: "unprocessable".into(),
            message: "Password cannot be renewed".into()
        }
    );
    assert_eq!(err.code(), Some("unprocessable"));
    assert_eq!(err.message(), Some("Password cannot be renewed"));
}

#[test]
fn bad_request_keeps_the_server_text() {
    let body = r#"{"code":"bad_request","message":"Database is still initializing and cannot create branches."}"#;
    let err = classify(400, body);
    assert_eq!(err.reason(), "BadRequest");
    assert_eq!(
        err.message(),
        Some("Database is still initializing and cannot create branches.")
    );
}

#[test]
fn not_found_from_a_token_without_access() {
    let err = classify(404, r#"{"code":"not_found","message":"Not Found"}"#);
    assert_eq!(err.code(), Some("not_found"));
    assert!(!err.is_transient());
}

#[test]
fn oauth_style_401_body() {
    let body = r#"{"error":"invalid_token","error_description":"The access token expired"}"#;
    let err = classify(401, body);
    assert_eq!(
        err,
        Error::Unauthorized {
            code: "invalid_token".into(),
            message: "The access token expired".into()
        }
    );
}

#[test]
fn empty_object_5xx_falls_back_to_the_status() {
    let err = classify(500, "{}");
    assert_eq!(err.code(), Some("server_error"));
    assert_eq!(err.message(), Some("Internal Server Error"));
    assert!(err.is_transient());
}

#[test]
fn non_json_bodies_are_never_copied_into_the_message() {
    let err = classify(502, "<html>upstream secret-ish page</html>");
    assert_eq!(err.reason(), "ServerError");
    assert_eq!(
        err.message(),
        Some("Bad Gateway (non-JSON body of 37 bytes)")
    );
    assert!(!err.to_string().contains("html"));
    let empty = classify(503, "");
    assert_eq!(empty.message(), Some("Service Unavailable"));
}

#[test]
fn nested_validation_errors_are_flattened() {
    let body = r#"{"errors":[{"namespace":"branch","name":"name","errors":["is too long","is invalid"]}]}"#;
    let err = classify(422, body);
    assert_eq!(err.code(), Some("unprocessable"));
    assert_eq!(err.message(), Some("name: is too long, is invalid"));
}

#[test]
fn rate_limited_keeps_retry_after() {
    let err = Error::from_response(429, Some(Duration::from_secs(3)), b"");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(err.code(), Some("too_many_requests"));
    assert_eq!(err.message(), Some("Too Many Requests"));
}

#[test]
fn extra_fields_and_wrong_types_are_tolerated() {
    let err = classify(422, r#"{"code":7,"message":null,"available":{"x":1}}"#);
    assert_eq!(err.code(), Some("unprocessable"));
    assert_eq!(err.message(), Some("Unprocessable Entity"));
}

#[test]
fn decode_errors_hide_quoted_values() {
    let serde_err = serde_json::from_str::<u32>(r#""pscale_pw_abc""#).unwrap_err();
    let err = Error::decode(&serde_err);
    let text = err.to_string();
    assert!(!text.contains("pscale_pw_abc"), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
    assert_eq!(err.reason(), "DecodeError");
}

#[test]
fn only_connect_failures_count_as_before_send() {
    let connect = Error::Transport {
        message: "refused".into(),
        connect: true,
    };
    let reset = Error::Transport {
        message: "reset".into(),
        connect: false,
    };
    assert!(connect.is_before_send());
    assert!(!reset.is_before_send());
    assert!(!Error::Timeout.is_before_send());
    assert!(connect.is_transient() && reset.is_transient());
    assert_eq!(Error::Timeout.reason(), "Timeout");
    assert_eq!(Error::Timeout.status(), None);
}
