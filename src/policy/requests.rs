//! What each kind asks of the policy ([`Governed`]), read from its spec.
use kube::ResourceExt;

use super::{Governed, Production, Request, Where};
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::{BranchTarget, DeployRequest, PlanetScalePassword, SecretRef};

impl Governed for PlanetScaleBranch {
    fn request(&self) -> Request {
        let spec = &self.spec;
        Request {
            namespace: self.namespace().unwrap_or_default(),
            credentials: secret(spec.credentials_ref.as_ref()),
            target: Some(Where::Branch {
                organization: spec.organization.clone(),
                database: spec.database.clone(),
                branch: spec.effective_branch_name(&self.name_any()).to_string(),
            }),
            role: None,
            production: [Production::Promote]
                .into_iter()
                .filter(|_| spec.production == Some(true))
                .collect(),
        }
    }
}

impl Governed for PlanetScalePassword {
    fn request(&self) -> Request {
        Request {
            namespace: self.namespace().unwrap_or_default(),
            credentials: secret(self.spec.credentials_ref.as_ref()),
            target: target(&self.spec.target),
            role: Some(self.spec.role),
            production: Vec::new(),
        }
    }
}

impl Governed for DeployRequest {
    fn request(&self) -> Request {
        Request {
            namespace: self.namespace().unwrap_or_default(),
            credentials: secret(self.spec.credentials_ref.as_ref()),
            target: target(&self.spec.target),
            role: None,
            production: Vec::new(),
        }
    }
}

fn secret(r: Option<&SecretRef>) -> Option<String> {
    r.map(|r| r.name.clone())
}

/// `None` only for a target admission refuses: the kind reports it (`InvalidSpec`) without
/// calling PlanetScale.
fn target(t: &BranchTarget) -> Option<Where> {
    match (t.explicit(), &t.branch_ref) {
        (Some(e), _) => Some(Where::Branch {
            organization: e.organization.to_string(),
            database: e.database.to_string(),
            branch: e.branch.to_string(),
        }),
        (None, Some(r)) => Some(Where::BranchRef(r.name.clone())),
        (None, None) => None,
    }
}
