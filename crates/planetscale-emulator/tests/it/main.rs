//! Integration tests of the emulator over HTTP. Every response from a spec operation is
//! checked against the official OpenAPI schema (see `conformance`).

mod admin;
mod auth;
mod binary;
mod branches;
mod common;
mod conformance;
mod databases;
mod deploy;
mod oauth;
mod passwords;
