//! kstatus on real objects: every terminal failure shows `Stalled=True` (Failed for Flux and
//! Argo CD), a Ready resource is Current, read with kstatus' own rules.
use kube::Api;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::kstatus::{Computed, compute};
use serde_json::json;

use crate::common::*;
use crate::support::{self, env, with_operator};

fn computed(o: &PlanetScaleBranch) -> Computed {
    let status = o.status.as_ref();
    let observed = status.and_then(|s| s.observed_generation);
    let conditions = status.map(|s| s.conditions.as_slice()).unwrap_or_default();
    compute(o.metadata.generation, observed, conditions)
}

#[tokio::test]
async fn terminal_failures_are_stalled_and_ready_is_current() {
    with_operator(crate::EMULATOR, &[], |client, ns, emu, op| async move {
        let _running = (op, emu);
        let api: Api<PlanetScaleBranch> = Api::namespaced(client.clone(), &ns);
        let wrong = "wrong-token";
        env::create_credentials_secret(client.clone(), &ns, wrong, env::TOKEN_ID, "pscale_tkn_no")
            .await;
        let cases = [
            (
                "unauthorized",
                json!({"credentialsRef": {"name": wrong}}),
                "Unauthorized",
            ),
            ("main", json!({}), "AlreadyExists"),
            (
                "no-secret",
                json!({"credentialsRef": {"name": "missing"}}),
                "CredentialsNotFound",
            ),
        ];
        apply(&api, &branch("fine", json!({}))).await;
        for (name, spec, _) in &cases {
            apply(&api, &branch(name, spec.clone())).await;
        }
        for (name, _, reason) in &cases {
            let what = format!("{name}: Stalled=True reason {reason}");
            let o = support::wait_for(&api, name, READY, &what, |o| {
                condition(o, "Stalled").is_some_and(|c| c.0 == "True" && c.1 == *reason)
            })
            .await;
            assert_eq!(computed(&o), Computed::Failed, "{name}");
            assert_eq!(condition(&o, "Reconciling").unwrap().0, "False", "{name}");
        }
        let o = wait_ready(&api, "fine").await;
        assert_eq!(computed(&o), Computed::Current);
        assert_eq!(condition(&o, "Stalled").unwrap().0, "False");
        teardown(&api).await;
    })
    .await;
}
