//! The authorization-code exchange, done by `planetscale_api::AuthorizationCode` (which reads
//! the token response, as the client's refresh does), and what its refusals mean to the person
//! running the login. Errors never quote a response body.
use anyhow::anyhow;
use planetscale_api::{AuthorizationCode, Error, ErrorKind, OAuthTokens};

/// Exchanges the code; a refusal becomes a message that says what to do.
pub(super) async fn exchange_code(grant: AuthorizationCode<'_>) -> anyhow::Result<OAuthTokens> {
    grant.exchange().await.map_err(|e| anyhow!(token_error(&e)))
}

/// What a failed exchange says: the OAuth `error` and `error_description` (or PlanetScale's
/// `code` and `message`), never the raw body, and what to do about it.
pub fn token_error(e: &Error) -> String {
    let hint = match e.kind() {
        ErrorKind::InvalidClient | ErrorKind::Unauthorized => {
            ": check --client-id and the client secret of the OAuth application"
        }
        ErrorKind::InvalidGrant => {
            ": the code expired or was used, or the redirect URI differs from the authorized one; \
             run the login again"
        }
        _ => "",
    };
    let Some(status) = e.status() else {
        return format!("the token endpoint gave no usable answer: {e}");
    };
    let detail = match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!(" {code}: {message}"),
        _ => String::new(),
    };
    format!("the token endpoint refused the authorization code ({status}{detail}){hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, body: &[u8]) -> String {
        token_error(&Error::from_response(status, None, body))
    }

    #[test]
    fn token_errors_name_the_oauth_error_and_what_to_do() {
        let grant = refused(
            400,
            br#"{"error":"invalid_grant","error_description":"The code was already used"}"#,
        );
        assert!(
            grant.contains("400 invalid_grant: The code was already used"),
            "{grant}"
        );
        assert!(grant.contains("run the login again"), "{grant}");
        let client = refused(401, br#"{"error":"invalid_client"}"#);
        assert!(
            client.contains("--client-id and the client secret"),
            "{client}"
        );
        let html = refused(502, b"<html>bad gateway</html>");
        assert!(!html.contains("<html>"), "{html}");
        assert!(html.starts_with("the token endpoint refused the authorization code (502"));
        let api = refused(422, br#"{"code":"unprocessable","message":"nope"}"#);
        assert!(api.contains("422 unprocessable: nope"), "{api}");
    }

    #[test]
    fn an_unusable_answer_says_why_without_quoting_it() {
        let e = Error::Decode {
            message: "the token endpoint issued no refresh token".into(),
        };
        let text = token_error(&e);
        assert!(text.contains("no refresh token"), "{text}");
    }
}
