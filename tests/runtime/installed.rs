//! The chart installed into the local control plane with no pods, and the operator started as
//! its ServiceAccount with the Deployment's environment.
#![allow(dead_code)] // shared by several test binaries, each using a part

use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::support::env::{TOKEN, TOKEN_ID};
use crate::support::helm::{Release, container_env, service_account_kubeconfig, values_file};
use crate::support::{Emulator, Operator};

/// Values of every install: no pods, the emulator as PlanetScale, default credentials created
/// by the chart from the emulator's token, short leader-election durations, and an access
/// policy (through the chart's `accessPolicies`) serving the test namespaces as the tests'
/// own policy does (`support::install_test_policy`), named uniquely per install.
pub fn values(emu: &Emulator, extra: Value) -> Value {
    let policy = format!("pso-test-{:08x}", rand::random::<u32>());
    let mut v = json!({
        "accessPolicies": [{"name": policy, "rules": [{
            "name": "test-namespaces",
            "namespaces": {"selector": {"matchLabels": {"pso-test": "true"}}},
            "credentials": {"default": true, "secrets": ["*"]},
            "organizations": ["*"],
            "passwordRoles": ["reader", "writer", "readwriter", "admin"],
            "production": {"adopt": true, "delete": true, "promote": true, "passwords": true, "deleteDatabases": true},
        }]}],
        "replicaCount": 0,
        "operator": {
            "apiUrl": emu.api_url(),
            "oauthTokenUrl": format!("{}/oauth/token", emu.url),
            "logLevel": "info,planetscale_operator=debug,planetscale_api=debug",
        },
        "defaultCredentials": {"create": true, "serviceTokenId": TOKEN_ID, "serviceToken": TOKEN},
        "leaderElection": {"leaseDuration": "4s", "renewDeadline": "3s", "retryPeriod": "1s"},
    });
    let Value::Object(extra) = extra else {
        panic!("values: {extra}")
    };
    v.as_object_mut().unwrap().extend(extra);
    v
}

/// The release name for a test namespace `t-xxxxxxxx` (unique: ClusterRoles are named after it).
pub fn release_name(ns: &str) -> String {
    format!("pso-{}", ns.trim_start_matches("t-"))
}

/// The chart's installed operator: its ServiceAccount's kubeconfig and its environment, as a
/// pod named `<deployment>-test` would get them.
pub struct Installed {
    pub release: Release,
    pub kubeconfig: tempfile::TempPath,
    pub env: Vec<(String, String)>,
    pub pod: String,
}

impl Installed {
    pub async fn install(client: &Client, ns: &str, values: &Value) -> Self {
        let file = values_file(values);
        let args = ["-f".to_string(), file.to_str().unwrap().to_string()];
        let release = Release::install(&release_name(ns), ns, &args);
        let deployment = release.deployment(client).await;
        let spec = deployment.spec.as_ref().unwrap();
        assert_eq!(spec.replicas, Some(0), "no pods in this environment");
        let sa = spec
            .template
            .spec
            .as_ref()
            .unwrap()
            .service_account_name
            .clone();
        let sa = sa.expect("the pod runs as the chart's ServiceAccount");
        let kubeconfig = service_account_kubeconfig(client, ns, &sa).await;
        let pod = format!("{}-test", deployment.name_any());
        let mut env = container_env(&deployment, &pod);
        set(&mut env, "PSO_METRICS_ADDR", "127.0.0.1:0");
        set(&mut env, "PSO_HEALTH_ADDR", "127.0.0.1:0");
        println!("installed {} as ServiceAccount {ns}/{sa}", release.name);
        Self {
            release,
            kubeconfig,
            env,
            pod,
        }
    }

    pub fn env(&self, name: &str) -> &str {
        let found = self.env.iter().find(|(k, _)| k == name);
        found.map_or_else(|| panic!("no env {name}"), |(_, v)| v.as_str())
    }

    /// Starts the operator as the ServiceAccount with the chart's environment, except `overrides`.
    pub fn start(&self, overrides: &[(&str, &str)]) -> Operator {
        let mut env = self.env.clone();
        for (k, v) in overrides {
            set(&mut env, k, v);
        }
        let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Operator::start_with(&self.kubeconfig, &vars)
    }
}

pub fn set(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.into(), value.into()));
}
