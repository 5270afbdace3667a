//! What an API error means to a caller, decided once here so that callers branch on a kind
//! rather than on message text.
//!
//! PlanetScale's error bodies carry a snake_case `code`, but the documented codes are coarse:
//! `bad_request` and `unprocessable` cover "the database is still initializing", "the branch is
//! not ready yet", "the name is taken" and "safe migrations are off" alike. Where only the
//! message tells these apart (the real API's documented messages and the emulator's, which
//! copies them), the message is read here, in one table with tests, and nowhere else.

use crate::error::Error;

/// The meaning of an [`Error`], from its status, its API code and, for the states PlanetScale
/// documents only by message, its message. Obtained with [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 404: the object does not exist, or the credentials lack the access the call needs
    /// (PlanetScale answers 404 for both).
    NotFound,
    /// 401 with the OAuth code `invalid_token`: an access token that expired, was revoked or
    /// is unknown.
    InvalidToken,
    /// `invalid_grant`: an authorization code or refresh token that is invalid, expired, used,
    /// or issued for another redirect URI.
    InvalidGrant,
    /// `invalid_client` (or a 401 from the token endpoint): the OAuth application's id or
    /// secret is wrong.
    InvalidClient,
    /// Any other 401: missing or refused credentials.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 400 "Database is still initializing and cannot create branches.": wait for the database.
    DatabaseInitializing,
    /// "… is not ready yet" (a branch, or the parent of a branch being created): wait for it.
    NotReady,
    /// 409, or a 422 saying the name "has already been taken" / an equivalent object "already
    /// exists".
    AlreadyExists,
    /// 422: the target branch lacks safe migrations, which deploy requests need.
    SafeMigrationsRequired,
    /// 422 `schema_mutation_blocked`: safe migrations forbid direct DDL on the branch.
    SchemaMutationBlocked,
    /// 422 `invalid_params`: a body field has the wrong type or is missing.
    InvalidParams,
    /// Any other 400 or 422: the request is invalid, or not allowed in the current state.
    Rejected,
    /// 429.
    RateLimited,
    /// 5xx.
    ServerError,
    /// No complete response in time (or a 408).
    Timeout,
    /// The connection failed.
    Transport,
    /// A success response of an unexpected shape.
    Decode,
    /// The client was built with an invalid setting.
    Config,
    /// Any other status (3xx, 405, 410, …).
    UnexpectedStatus,
}

impl Error {
    /// What the error means; see [`ErrorKind`]. Callers match on this, never on
    /// [`Error::message`], which is for people.
    pub fn kind(&self) -> ErrorKind {
        use ErrorKind as K;
        let code = self.code().unwrap_or("");
        match code {
            "invalid_token" => return K::InvalidToken,
            "invalid_grant" => return K::InvalidGrant,
            "invalid_client" => return K::InvalidClient,
            "schema_mutation_blocked" => return K::SchemaMutationBlocked,
            _ => {}
        }
        let message = self.message().unwrap_or("").to_ascii_lowercase();
        match self {
            Error::BadRequest { .. } | Error::Unprocessable { .. } => refusal(code, &message),
            Error::NotFound { .. } => K::NotFound,
            Error::Unauthorized { .. } => K::Unauthorized,
            Error::Forbidden { .. } => K::Forbidden,
            Error::Conflict { .. } => K::AlreadyExists,
            Error::RateLimited { .. } => K::RateLimited,
            Error::Server { .. } => K::ServerError,
            Error::UnexpectedStatus { .. } => K::UnexpectedStatus,
            Error::Timeout => K::Timeout,
            Error::Transport { .. } => K::Transport,
            Error::Decode { .. } => K::Decode,
            Error::Config(_) => K::Config,
        }
    }
}

/// A 400 or 422, told apart by the documented messages (lower-cased).
fn refusal(code: &str, message: &str) -> ErrorKind {
    use ErrorKind as K;
    if message.contains("still initializing") {
        K::DatabaseInitializing
    } else if message.contains("not ready") {
        K::NotReady
    } else if message.contains("already been taken") || message.contains("already exists") {
        K::AlreadyExists
    } else if message.contains("safe migrations") {
        K::SafeMigrationsRequired
    } else if code == "invalid_params" {
        K::InvalidParams
    } else {
        K::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, body: &str) -> ErrorKind {
        Error::from_response(status, None, body.as_bytes()).kind()
    }

    /// The bodies the real API documents (../shared/reference/planetscale-api.md) and the
    /// emulator sends, with the kind each must get.
    #[test]
    fn documented_and_emulated_bodies_get_their_kind() {
        use ErrorKind as K;
        let cases: &[(u16, &str, ErrorKind)] = &[
            (
                404,
                r#"{"code":"not_found","message":"Not Found"}"#,
                K::NotFound,
            ),
            (
                400,
                r#"{"code":"bad_request","message":"Database is still initializing and cannot create branches."}"#,
                K::DatabaseInitializing,
            ),
            (
                422,
                r#"{"code":"unprocessable","message":"Parent branch main is not ready yet"}"#,
                K::NotReady,
            ),
            (
                422,
                r#"{"code":"unprocessable","message":"The branch is not ready yet"}"#,
                K::NotReady,
            ),
            (
                422,
                r#"{"code":"unprocessable","message":"Name has already been taken"}"#,
                K::AlreadyExists,
            ),
            (
                422,
                r#"{"code":"unprocessable","message":"An open deploy request already exists for this branch"}"#,
                K::AlreadyExists,
            ),
            (
                409,
                r#"{"code":"conflict","message":"x"}"#,
                K::AlreadyExists,
            ),
            (
                422,
                r#"{"code":"unprocessable","message":"Safe migrations must be enabled on branch main to open deploy requests into it"}"#,
                K::SafeMigrationsRequired,
            ),
            (
                422,
                r#"{"code":"schema_mutation_blocked","message":"DDL is blocked"}"#,
                K::SchemaMutationBlocked,
            ),
            (
                422,
                r#"{"code":"invalid_params","message":"missing field `name`"}"#,
                K::InvalidParams,
            ),
            (
                422,
                r#"{"code":"unprocessable","message":"Password does not expire and cannot be renewed"}"#,
                K::Rejected,
            ),
            (
                400,
                r#"{"code":"bad_request","message":"invalid JSON"}"#,
                K::Rejected,
            ),
            (
                401,
                r#"{"error":"invalid_token","error_description":"The access token expired"}"#,
                K::InvalidToken,
            ),
            (
                400,
                r#"{"error":"invalid_grant","error_description":"The code was already used"}"#,
                K::InvalidGrant,
            ),
            (
                401,
                r#"{"error":"invalid_client","error_description":"Unknown client"}"#,
                K::InvalidClient,
            ),
            (
                401,
                r#"{"code":"unauthorized","message":"x"}"#,
                K::Unauthorized,
            ),
            (403, "", K::Forbidden),
            (
                429,
                r#"{"code":"too_many_requests","message":"Rate limit exceeded"}"#,
                K::RateLimited,
            ),
            (503, "{}", K::ServerError),
            (502, "<html>bad gateway</html>", K::ServerError),
            (408, "", K::Timeout),
            (410, "", K::UnexpectedStatus),
        ];
        for (status, body, want) in cases {
            assert_eq!(kind(*status, body), *want, "{status} {body}");
        }
    }

    #[test]
    fn a_used_grant_is_not_mistaken_for_a_duplicate_name() {
        // The description reads like a duplicate, but the OAuth code decides.
        let body = r#"{"error":"invalid_grant","error_description":"already exists"}"#;
        assert_eq!(kind(400, body), ErrorKind::InvalidGrant);
    }

    #[test]
    fn errors_without_a_response_have_their_kind() {
        assert_eq!(Error::Timeout.kind(), ErrorKind::Timeout);
        let t = Error::Transport {
            message: "refused".into(),
            connect: true,
        };
        assert_eq!(t.kind(), ErrorKind::Transport);
        let d = Error::Decode {
            message: "x".into(),
        };
        assert_eq!(d.kind(), ErrorKind::Decode);
        assert_eq!(Error::Config("x".into()).kind(), ErrorKind::Config);
    }
}
