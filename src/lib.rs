//! planetscale-operator: manage PlanetScale branches, passwords and deploy requests from Kubernetes.
pub mod config;
pub mod connection;
pub mod controller;
pub mod crd;
pub mod credentials;
pub mod error;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod oauth_login;
pub mod runtime;
pub mod stores;
pub mod telemetry;
pub mod time;
