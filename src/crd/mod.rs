//! Custom resource definitions. One file per kind; `all()` lists every CRD for `crdgen`.
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// Every CRD the operator serves, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    Vec::new()
}
