//! planetscale-operator: manage PlanetScale branches, passwords and deploy requests from Kubernetes.
//!
//! This library is the operator's own code, not an API for other crates: its documentation
//! (`cargo doc --document-private-items`, checked by `make lint`) is a map for the people who
//! change it, so a module's documentation may name its private step files.
#![allow(rustdoc::private_intra_doc_links)]
pub mod config;
pub mod connection;
pub mod controller;
pub mod crd;
pub mod credentials;
pub mod error;
pub mod events;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod oauth_login;
pub mod policy;
pub mod runtime;
pub mod stores;
pub mod telemetry;
pub mod time;
pub mod webhooks;
