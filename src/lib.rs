//! planetscale-operator: manage PlanetScale branches, passwords and deploy requests from Kubernetes.
pub mod crd;
