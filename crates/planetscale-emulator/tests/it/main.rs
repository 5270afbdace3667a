//! Integration tests of the emulator over HTTP. Every response from a spec operation is
//! checked against the official OpenAPI schema (see `conformance`).

mod admin;
mod auth;
mod backup_policies;
mod backups;
mod binary;
mod branches;
mod common;
mod conformance;
mod databases;
mod deploy;
mod deploy_queue;
mod oauth;
mod passwords;
mod postgres;
mod roles;
mod webhooks;
