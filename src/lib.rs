//! planetscale-operator: manage PlanetScale branches, passwords and deploy requests from Kubernetes.
pub mod connection;
pub mod crd;
pub mod http;
pub mod leader;
pub mod config;
pub mod metrics;
pub mod runtime;
pub mod telemetry;
pub mod controller;
pub mod credentials;
pub mod error;
