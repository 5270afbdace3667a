//! The client against small in-process HTTP stubs (axum): pagination, retries, timeouts,
//! OAuth refresh, the shared rate limit, request shapes and the Postgres roles.

#[path = "stub_server/support.rs"]
mod support;

#[path = "stub_server/oauth.rs"]
mod oauth;
#[path = "stub_server/observe.rs"]
mod observe;
#[path = "stub_server/pagination.rs"]
mod pagination;
#[path = "stub_server/rate_limit.rs"]
mod rate_limit;
#[path = "stub_server/requests.rs"]
mod requests;
#[path = "stub_server/retries.rs"]
mod retries;
#[path = "stub_server/roles.rs"]
mod roles;
