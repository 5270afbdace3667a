//! One row of the admission table and how it is run: a valid base spec per kind, changed by a
//! JSON merge patch (so `null` removes a field), created (and for immutability cases then
//! patched), and the API server's answer checked.
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::{Api, Client};
use planetscale_operator::crd::{
    DeployRequest, PlanetScaleBackup, PlanetScaleBranch, PlanetScaleDatabase, PlanetScalePassword,
};
use serde_json::{Value, json};

/// The kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Branch,
    Password,
    DeployRequest,
    Database,
    Backup,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Branch => "PlanetScaleBranch",
            Kind::Password => "PlanetScalePassword",
            Kind::DeployRequest => "DeployRequest",
            Kind::Database => "PlanetScaleDatabase",
            Kind::Backup => "PlanetScaleBackup",
        }
    }

    pub fn api_resource(self) -> ApiResource {
        match self {
            Kind::Branch => ApiResource::erase::<PlanetScaleBranch>(&()),
            Kind::Password => ApiResource::erase::<PlanetScalePassword>(&()),
            Kind::DeployRequest => ApiResource::erase::<DeployRequest>(&()),
            Kind::Database => ApiResource::erase::<PlanetScaleDatabase>(&()),
            Kind::Backup => ApiResource::erase::<PlanetScaleBackup>(&()),
        }
    }

    /// A valid spec that each case changes.
    pub fn base_spec(self) -> Value {
        match self {
            Kind::Branch => json!({
                "organization": "acme", "database": "shop",
                "parentBranch": "main", "region": "aws-us-east-2"
            }),
            Kind::Password => json!({"branchRef": {"name": "pr-1"}, "role": "readwriter"}),
            Kind::DeployRequest => json!({
                "organization": "acme", "database": "shop",
                "branch": "feature-x", "intoBranch": "main"
            }),
            Kind::Database => json!({"organization": "acme", "clusterSize": "PS_10"}),
            Kind::Backup => json!({"organization": "acme", "database": "shop", "branch": "main"}),
        }
    }
}

/// An invalid manifest and what the refusal must say.
pub struct Case {
    pub kind: Kind,
    pub what: &'static str,
    /// Merged into the base spec for the create.
    pub create: Value,
    /// For immutability cases: merged into the created object's spec as an update.
    pub update: Option<Value>,
    /// `metadata.name` to use instead of a generated one.
    pub name: Option<&'static str>,
    /// HTTP status expected (422 unless said otherwise).
    pub code: u16,
    /// Every one of these must appear in the API server's message.
    pub expect: Vec<&'static str>,
}

/// A manifest whose create must be refused.
pub fn bad(kind: Kind, what: &'static str, create: Value, expect: &[&'static str]) -> Case {
    Case {
        kind,
        what,
        create,
        update: None,
        name: None,
        code: 422,
        expect: expect.to_vec(),
    }
}

/// A manifest that is accepted, then an update of it that must be refused.
pub fn bad_update(
    kind: Kind,
    what: &'static str,
    create: Value,
    update: Value,
    expect: &[&'static str],
) -> Case {
    Case {
        update: Some(update),
        ..bad(kind, what, create, expect)
    }
}

impl Case {
    /// Use this `metadata.name`.
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }
}

/// RFC 7386 JSON merge patch: objects merge, `null` removes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let target = target.as_object_mut().expect("object");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The object a case creates.
pub fn manifest(kind: Kind, name: &str, spec_patch: &Value) -> DynamicObject {
    let mut spec = kind.base_spec();
    merge(&mut spec, spec_patch);
    DynamicObject::new(name, &kind.api_resource()).data(json!({ "spec": spec }))
}

pub enum Outcome {
    Passed,
    Failed(String),
}

/// Runs one case in `ns`; the object is named `c<i>` unless the case names it.
pub async fn run_case(client: &Client, ns: &str, i: usize, case: &Case) -> Outcome {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &case.kind.api_resource());
    let name = case.name.map_or_else(|| format!("c{i}"), str::to_string);
    let obj = manifest(case.kind, &name, &case.create);
    let created = api.create(&PostParams::default(), &obj).await;
    let result = match (&case.update, created) {
        (None, result) => result.map(|_| ()),
        (Some(_), Err(e)) => return Outcome::Failed(format!("the valid base was refused: {e}")),
        (Some(update), Ok(_)) => {
            let patch = Patch::Merge(json!({ "spec": update }));
            api.patch(&name, &PatchParams::default(), &patch)
                .await
                .map(|_| ())
        }
    };
    check_refusal(case, result)
}

fn check_refusal(case: &Case, result: Result<(), kube::Error>) -> Outcome {
    let status = match result {
        Ok(()) => return Outcome::Failed("accepted".into()),
        Err(kube::Error::Api(status)) => status,
        Err(other) => return Outcome::Failed(format!("unexpected error: {other}")),
    };
    if status.code != case.code {
        return Outcome::Failed(format!(
            "HTTP {} instead of {}: {}",
            status.code, case.code, status.message
        ));
    }
    let missing: Vec<_> = case
        .expect
        .iter()
        .filter(|e| !status.message.contains(**e))
        .collect();
    if missing.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed(format!("message lacks {missing:?}: {}", status.message))
    }
}

#[test]
fn merge_follows_rfc_7386() {
    let mut v = json!({"a": 1, "b": {"c": 2, "d": 3}});
    merge(&mut v, &json!({"a": null, "b": {"c": 4}, "e": [1]}));
    assert_eq!(v, json!({"b": {"c": 4, "d": 3}, "e": [1]}));
}
