//! Manifests that must be accepted: the YAML in the product docs, complete typed objects (so
//! what the Rust types serialize is what the schema accepts), minimal ones (defaults filled
//! in), explicit nulls, changes to mutable fields, and status written by the Rust types.
use std::collections::BTreeMap;

use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource};
use planetscale_operator::crd::password_postgres::{
    InheritedRole, PasswordPostgres, WhereClauseRule,
};
use planetscale_operator::crd::*;
use serde_json::json;

use crate::case::{Kind, manifest};

/// The YAML of PRODUCT.md ("What the YAML looks like").
const PRODUCT_YAML: &str = r#"
apiVersion: planetscale.operator.dev/v1alpha1
kind: PlanetScaleBranch
metadata: {name: pr-1234, namespace: pr-1234}
spec:
  organization: acme
  database: shop
  parentBranch: main          # default: the database's default branch
  region: aws-us-east-2       # default: the database's region
  deletionPolicy: Delete      # Delete | Retain
---
apiVersion: planetscale.operator.dev/v1alpha1
kind: PlanetScalePassword
metadata: {name: app, namespace: pr-1234}
spec:
  branchRef: {name: pr-1234}
  role: readwriter            # reader | writer | readwriter | admin
  ttl: 168h
  secret:
    name: app-db
    formats: [mysql-url, prisma]
  rotation: {interval: 720h, gracePeriod: 10m}
  restartOnRotation: [{kind: Deployment, name: app}]
---
apiVersion: planetscale.operator.dev/v1alpha1
kind: DeployRequest
metadata: {name: add-orders-index, namespace: pr-1234}
spec:
  branchRef: {name: pr-1234}
  intoBranch: main
  notes: "Add index on orders(created_at)"
  autoApply: true
  deploy: false               # flipped to true by the merge
"#;

fn kind_of(obj: &DynamicObject) -> Kind {
    match obj.types.as_ref().map(|t| t.kind.as_str()) {
        Some("PlanetScaleBranch") => Kind::Branch,
        Some("PlanetScalePassword") => Kind::Password,
        Some("DeployRequest") => Kind::DeployRequest,
        other => panic!("unexpected kind {other:?}"),
    }
}

async fn create_dynamic(client: &Client, ns: &str, kind: Kind, obj: &DynamicObject) {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &kind.api_resource());
    if let Err(e) = api.create(&PostParams::default(), obj).await {
        panic!(
            "{} {} was refused: {e}",
            kind.name(),
            obj.metadata.name.as_deref().unwrap_or("?")
        );
    }
}

async fn create_typed<K>(client: &Client, ns: &str, obj: &K) -> K
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    match api.create(&PostParams::default(), obj).await {
        Ok(created) => created,
        Err(e) => panic!("{obj:?} was refused: {e}"),
    }
}

pub async fn product_yaml_is_accepted(client: &Client, ns: &str) {
    for doc in PRODUCT_YAML.split("\n---\n") {
        let mut obj: DynamicObject = serde_norway::from_str(doc).expect("PRODUCT.md YAML parses");
        obj.metadata.namespace = Some(ns.to_string());
        create_dynamic(client, ns, kind_of(&obj), &obj).await;
    }
    let passwords: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    let app = passwords
        .get("app")
        .await
        .expect("typed read of the documented password");
    assert_eq!(app.spec.role, PasswordRole::Readwriter);
    assert_eq!(
        app.spec.secret.formats,
        [SecretFormat::MysqlUrl, SecretFormat::Prisma]
    );
    assert_eq!(app.spec.rotation.interval.as_deref(), Some("720h"));
    let drs: Api<DeployRequest> = Api::namespaced(client.clone(), ns);
    let dr = drs
        .get("add-orders-index")
        .await
        .expect("typed read of the documented request");
    assert!(dr.spec.auto_apply && !dr.spec.deploy);
}

fn complete_password() -> PlanetScalePasswordSpec {
    PlanetScalePasswordSpec {
        target: BranchTarget {
            branch_ref: None,
            database_ref: None,
            organization: Some("acme".into()),
            database: Some("shop".into()),
            branch: Some("main".into()),
        },
        role: PasswordRole::Admin,
        ttl: Some("1h30m".into()),
        cidrs: Some(vec!["203.0.113.0/24".into(), "2001:db8::/32".into()]),
        replica: true,
        postgres: Some(PasswordPostgres {
            inherited_roles: Some(vec![InheritedRole::PgReadAllData, InheritedRole::PgMonitor]),
            successor: Some("postgres".into()),
            require_where_on_delete: Some(WhereClauseRule::On),
            require_where_on_update: Some(WhereClauseRule::Warn),
        }),
        deletion_policy: DeletionPolicy::Retain,
        secret: PasswordSecret {
            name: Some("shop-db".into()),
            labels: BTreeMap::from([(
                "app.kubernetes.io/name".into(),
                password_secret::LabelValue("shop".into()),
            )]),
            annotations: BTreeMap::from([(
                "note".into(),
                password_secret::AnnotationValue("any text: ok".into()),
            )]),
            creation_policy: CreationPolicy::Merge,
            formats: vec![
                SecretFormat::MysqlUrl,
                SecretFormat::Prisma,
                SecretFormat::GoSqlDriver,
                SecretFormat::Jdbc,
                SecretFormat::Rails,
                SecretFormat::Laravel,
                SecretFormat::Env,
            ],
            template: Some(SecretTemplate {
                data: BTreeMap::from([(
                    "config.yaml".into(),
                    password_secret::TemplateValue(
                        "host: {{ host }}\nuser: {{ username }}\n".into(),
                    ),
                )]),
            }),
        },
        rotation: PasswordRotation {
            interval: Some("720h".into()),
            grace_period: "0s".into(),
        },
        restart_on_rotation: vec![
            RestartTarget {
                kind: RestartKind::Deployment,
                name: "web".into(),
            },
            RestartTarget {
                kind: RestartKind::StatefulSet,
                name: "worker".into(),
            },
        ],
        password_id: None,
        adopt: false,
        management_policy: ManagementPolicy::Manage,
        credentials_ref: Some(SecretRef {
            name: "team-token".into(),
        }),
    }
}

pub async fn complete_manifests_are_accepted(client: &Client, ns: &str) {
    let restore = PlanetScaleBranchSpec {
        organization: Some("acme".into()),
        database: Some("shop".into()),
        database_ref: None,
        branch_name: Some("restore_2024".into()),
        parent_branch: Some("main".into()),
        region: None,
        backup_id: Some("bk123abc".into()),
        backup_ref: None,
        seed_data: None,
        restore_from: None,
        major_version: None,
        cluster_size: Some("PS_10".into()),
        safe_migrations: Some(true),
        deletion_protected: Some(false),
        production: Some(false),
        deletion_policy: DeletionPolicy::Retain,
        management_policy: ManagementPolicy::Manage,
        adopt: true,
        credentials_ref: Some(SecretRef {
            name: "team-token".into(),
        }),
    };
    // metadata.name with a dot is fine when branchName is set.
    create_typed(
        client,
        ns,
        &PlanetScaleBranch::new("restore.2024", restore.clone()),
    )
    .await;
    let seeded = PlanetScaleBranchSpec {
        branch_name: None,
        backup_id: None,
        cluster_size: None,
        seed_data: Some(SeedData::LastSuccessfulBackup),
        ..restore.clone()
    };
    create_typed(client, ns, &PlanetScaleBranch::new("seeded", seeded)).await;
    // A PostgreSQL branch from a point in time, on a chosen major version.
    let pitr = PlanetScaleBranchSpec {
        database: Some("ledger".into()),
        branch_name: Some("pitr".into()),
        backup_id: None,
        cluster_size: None,
        safe_migrations: None,
        production: None,
        restore_from: Some(RestoreFrom {
            point_in_time: serde_json::from_value(serde_json::json!("2026-01-01T09:30:00Z"))
                .expect("a time"),
        }),
        major_version: Some("17".into()),
        ..restore
    };
    let created = create_typed(client, ns, &PlanetScaleBranch::new("pitr", pitr.clone())).await;
    assert_eq!(
        created.spec, pitr,
        "the API server keeps every field as sent"
    );
    complete_password_and_deploy_request_are_accepted(client, ns).await;
}

async fn complete_password_and_deploy_request_are_accepted(client: &Client, ns: &str) {
    let spec = complete_password();
    let created = create_typed(
        client,
        ns,
        &PlanetScalePassword::new("complete", spec.clone()),
    )
    .await;
    assert_eq!(
        created.spec, spec,
        "the API server keeps every field as sent"
    );
    let gated = DeployRequestSpec {
        target: BranchTarget {
            branch_ref: Some(BranchRef {
                name: "seeded".into(),
            }),
            database_ref: None,
            organization: None,
            database: None,
            branch: None,
        },
        into_branch: Some("main".into()),
        notes: Some("Gated deploy, approved by a second identity".into()),
        auto_apply: false,
        auto_delete_branch: true,
        deploy: true,
        cutover: true,
        revert: false,
        skip_revert: true,
        approval: Some(Approval {
            credentials_ref: SecretRef {
                name: "approver-token".into(),
            },
        }),
        number: None,
        adopt: false,
        management_policy: ManagementPolicy::Manage,
        credentials_ref: Some(SecretRef {
            name: "team-token".into(),
        }),
    };
    let created = create_typed(client, ns, &DeployRequest::new("gated", gated.clone())).await;
    assert_eq!(created.spec, gated);
}

pub async fn defaults_are_filled_in(client: &Client, ns: &str) {
    for (kind, name) in [
        (Kind::Branch, "d-branch"),
        (Kind::Password, "d-password"),
        (Kind::DeployRequest, "d-dr"),
    ] {
        create_dynamic(client, ns, kind, &manifest(kind, name, &json!({}))).await;
    }
    let branch = Api::<PlanetScaleBranch>::namespaced(client.clone(), ns)
        .get("d-branch")
        .await
        .unwrap();
    assert_eq!(branch.spec.deletion_policy, DeletionPolicy::Delete);
    assert!(!branch.spec.adopt);
    assert_eq!(branch.spec.effective_branch_name("d-branch"), "d-branch");
    let password: Api<PlanetScalePassword> = Api::namespaced(client.clone(), ns);
    create_dynamic(
        client,
        ns,
        Kind::Password,
        &manifest(Kind::Password, "d-role", &json!({"role": null})),
    )
    .await;
    let minimal = password.get("d-role").await.unwrap();
    assert_eq!(
        minimal.spec.role,
        PasswordRole::Reader,
        "role defaults to reader"
    );
    assert_eq!(minimal.spec.deletion_policy, DeletionPolicy::Delete);
    assert!(!minimal.spec.replica);
    assert_eq!(minimal.spec.secret.creation_policy, CreationPolicy::Owner);
    assert_eq!(minimal.spec.secret.effective_name("d-role"), "d-role");
    assert_eq!(minimal.spec.rotation.grace_period, "10m");
    let dr = Api::<DeployRequest>::namespaced(client.clone(), ns)
        .get("d-dr")
        .await
        .unwrap();
    assert!(dr.spec.auto_apply, "autoApply defaults to true");
    assert!(!dr.spec.deploy && !dr.spec.cutover && !dr.spec.revert && !dr.spec.skip_revert);
    assert!(!dr.spec.auto_delete_branch);
}

pub async fn null_means_unset(client: &Client, ns: &str) {
    let obj = manifest(Kind::Branch, "nulls", &json!({}));
    let mut obj = obj;
    obj.data["spec"]["region"] = serde_json::Value::Null;
    obj.data["spec"]["backupId"] = serde_json::Value::Null;
    create_dynamic(client, ns, Kind::Branch, &obj).await;
    let got = Api::<PlanetScaleBranch>::namespaced(client.clone(), ns)
        .get("nulls")
        .await
        .unwrap();
    assert_eq!(
        got.spec.region, None,
        "an explicit null is pruned like an omitted field"
    );
    assert_eq!(got.spec.backup_id, None);
}

async fn merge_spec(client: &Client, ns: &str, kind: Kind, name: &str, spec: serde_json::Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &kind.api_resource());
    let patch = Patch::Merge(json!({ "spec": spec }));
    if let Err(e) = api.patch(name, &PatchParams::default(), &patch).await {
        panic!("update of {} {name} was refused: {e}", kind.name());
    }
}

pub async fn mutable_fields_can_change(client: &Client, ns: &str) {
    for (kind, name) in [
        (Kind::Branch, "m-branch"),
        (Kind::Password, "m-password"),
        (Kind::DeployRequest, "m-dr"),
    ] {
        create_dynamic(client, ns, kind, &manifest(kind, name, &json!({}))).await;
    }
    let branch = json!({"safeMigrations": true, "deletionProtected": true, "production": true,
        "deletionPolicy": "Retain", "adopt": true, "credentialsRef": {"name": "other-token"}});
    merge_spec(client, ns, Kind::Branch, "m-branch", branch).await;
    let password = json!({"role": "admin", "ttl": "24h", "cidrs": ["10.0.0.0/8"], "replica": true,
        "secret": {"name": "renamed", "formats": ["env"], "creationPolicy": "Orphan"},
        "rotation": {"interval": "1h", "gracePeriod": "5m"},
        "restartOnRotation": [{"kind": "StatefulSet", "name": "db-client"}]});
    merge_spec(client, ns, Kind::Password, "m-password", password).await;
    merge_spec(
        client,
        ns,
        Kind::DeployRequest,
        "m-dr",
        json!({"deploy": true, "notes": "edited"}),
    )
    .await;
    merge_spec(
        client,
        ns,
        Kind::DeployRequest,
        "m-dr",
        json!({"autoApply": false, "cutover": true}),
    )
    .await;
    merge_spec(
        client,
        ns,
        Kind::DeployRequest,
        "m-dr",
        json!({"cutover": false, "revert": true}),
    )
    .await;
    let got = Api::<PlanetScalePassword>::namespaced(client.clone(), ns)
        .get("m-password")
        .await
        .unwrap();
    assert_eq!(got.spec.role, PasswordRole::Admin);
    assert_eq!(got.spec.rotation.grace_period, "5m");
}

pub async fn credentials_stay_in_the_namespace(client: &Client, ns: &str) {
    let mut obj = manifest(
        Kind::Branch,
        "xns",
        &json!({"credentialsRef": {"name": "token", "namespace": "kube-system"}}),
    );
    obj.types = Some(kube::core::TypeMeta {
        api_version: "planetscale.operator.dev/v1alpha1".into(),
        kind: "PlanetScaleBranch".into(),
    });
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &Kind::Branch.api_resource());
    let strict = PatchParams::apply("pso-admission-test").validation_strict();
    let err = api
        .patch("xns", &strict, &Patch::Apply(&obj))
        .await
        .expect_err("strict apply refuses");
    let text = err.to_string();
    assert!(
        text.contains(".spec.credentialsRef.namespace: field not declared"),
        "{text}"
    );
    // A plain create (kubectl without strict validation) prunes the unknown field instead.
    create_dynamic(client, ns, Kind::Branch, &obj).await;
    let got = Api::<PlanetScaleBranch>::namespaced(client.clone(), ns)
        .get("xns")
        .await
        .unwrap();
    let stored = serde_json::to_value(&got.spec.credentials_ref).unwrap();
    assert_eq!(
        stored,
        json!({"name": "token"}),
        "no namespace is ever stored"
    );
}
