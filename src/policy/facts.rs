//! What a decision reads from Kubernetes besides the policies: the namespace's labels (only
//! when a rule selects by label) and the `PlanetScaleBranch` a `branchRef` names
//! (and the `PlanetScaleDatabase` a `databaseRef` names). Read once
//! per namespace and per branch resource for one [`Facts`] value: the check of one pass, or
//! the comparison of old and new verdicts of every resource after a policy change
//! ([`super::wake`]).
use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, Client, ResourceExt};

use super::{Production, Request, Where};
use crate::crd::branch::PlanetScaleBranch;
use crate::crd::database::PlanetScaleDatabase;
use crate::crd::policy::PlanetScaleAccessPolicy;
use crate::error::Error;

/// The Kubernetes reads of decisions, each made once.
pub struct Facts {
    client: Client,
    labels: HashMap<String, BTreeMap<String, String>>,
    /// By (namespace, name): the branch's target (`None`: no such resource) and whether
    /// PlanetScale last reported it a production branch.
    branches: HashMap<(String, String), (Option<Where>, bool)>,
}

impl Facts {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            labels: HashMap::new(),
            branches: HashMap::new(),
        }
    }

    /// `req` with a `branchRef` replaced by the branch it names (and `Passwords` added when
    /// that branch is a production branch and a role is asked for), and the labels of its
    /// namespace as far as one of `policies` needs them (empty otherwise).
    pub async fn resolve(
        &mut self,
        policies: &[&[PlanetScaleAccessPolicy]],
        mut req: Request,
    ) -> Result<(Request, BTreeMap<String, String>), Error> {
        if let Some(Where::DatabaseRef { database, branch }) = &req.target {
            req.target = database_target(&self.client, &req.namespace, database, branch).await?;
        }
        if let Some(Where::BranchRef(name)) = &req.target {
            let (target, production) = self.branch(&req.namespace, name).await?;
            req.target = target;
            if production && req.role.is_some() {
                req.production.push(Production::Passwords);
            }
        }
        let by_label = policies
            .iter()
            .flat_map(|set| set.iter())
            .any(|p| selects_by_label(p, &req.namespace));
        let labels = if by_label {
            self.labels(&req.namespace).await?
        } else {
            BTreeMap::new()
        };
        Ok((req, labels))
    }

    async fn labels(&mut self, ns: &str) -> Result<BTreeMap<String, String>, Error> {
        if let Some(l) = self.labels.get(ns) {
            return Ok(l.clone());
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        let labels = api
            .get_opt(ns)
            .await?
            .map(|n| n.labels().clone())
            .unwrap_or_default();
        self.labels.insert(ns.to_string(), labels.clone());
        Ok(labels)
    }

    async fn branch(&mut self, ns: &str, name: &str) -> Result<(Option<Where>, bool), Error> {
        let key = (ns.to_string(), name.to_string());
        if let Some(b) = self.branches.get(&key) {
            return Ok(b.clone());
        }
        let found = branch_target(&self.client, ns, name).await?;
        self.branches.insert(key, found.clone());
        Ok(found)
    }
}

/// Whether a rule of `p` decides on `ns` by its labels (a selector that does not select
/// everything, in a rule that does not list `ns` by name).
fn selects_by_label(p: &PlanetScaleAccessPolicy, ns: &str) -> bool {
    p.spec.rules.iter().any(|r| {
        let n = &r.namespaces;
        let listed = n.names.iter().any(|name| name == ns);
        !listed && n.selector.as_ref().is_some_and(|s| !s.selects_all())
    })
}

/// The branch a `branchRef` names, from its `PlanetScaleBranch` (`None` while it does not
/// exist: the kind waits for it without calling PlanetScale), and whether PlanetScale last
/// reported it a production branch.
async fn branch_target(
    client: &Client,
    ns: &str,
    name: &str,
) -> Result<(Option<Where>, bool), Error> {
    let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), ns);
    let Some(b) = api.get_opt(name).await? else {
        return Ok((None, false));
    };
    let production = b.status.as_ref().and_then(|s| s.production) == Some(true);
    let resource = b.name_any();
    let branch = b.spec.effective_branch_name(&resource);
    let target = match (b.location(), &b.spec.database_ref) {
        (Some((organization, database)), _) => Some(Where::Branch {
            organization: organization.to_string(),
            database: database.to_string(),
            branch: branch.to_string(),
        }),
        (None, Some(d)) => database_target(client, ns, &d.name, branch).await?,
        (None, None) => None,
    };
    Ok((target, production))
}

/// Branch `branch` of the database a `databaseRef` names, from its `PlanetScaleDatabase`
/// (`None` while it does not exist: the kind waits for it without calling PlanetScale).
async fn database_target(
    client: &Client,
    ns: &str,
    name: &str,
    branch: &str,
) -> Result<Option<Where>, Error> {
    let api: Api<PlanetScaleDatabase> = Api::namespaced(client.clone(), ns);
    Ok(api.get_opt(name).await?.map(|d| Where::Branch {
        organization: d.spec.organization.clone(),
        database: d.spec.effective_name(&d.name_any()).to_string(),
        branch: branch.to_string(),
    }))
}
