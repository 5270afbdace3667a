//! Targets that do not exist in PlanetScale: an unknown organization, database, branch or
//! deploy target. Each resource says so, with an event, polls slowly, and becomes Ready by
//! itself once someone creates what was missing in PlanetScale (no change in Kubernetes).
use planetscale_operator::crd::DeployRequest;
use planetscale_operator::crd::branch::PlanetScaleBranch;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::json;

use super::common::*;
use super::findings::*;

/// The world once the missing things exist: the default `acme/shop/main`, plus organization
/// `initech` with database `shop`, database `acme/inventory`, and branches `later`
/// (development, one table more than `main`) and `staging` (production, safe migrations) of
/// `acme/shop`.
const FIXED_WORLD: &str = r#"
organizations:
  - name: acme
    databases:
      - name: shop
        default_branch: main
        safe_migrations: true
        branches:
          - name: later
            parent: main
            schema:
              - CREATE TABLE `audit` (`id` bigint NOT NULL, PRIMARY KEY (`id`))
          - name: staging
            production: true
            safe_migrations: true
      - name: inventory
        default_branch: main
  - name: initech
    databases:
      - name: shop
        default_branch: main
"#;

/// The cases: kind, name, Ready reason, what the message must name.
const CASES: [(&str, &str, &str, &str); 5] = [
    (
        "PlanetScaleBranch",
        "in-unknown-org",
        "DatabaseNotFound",
        "initech",
    ),
    (
        "PlanetScaleBranch",
        "in-unknown-db",
        "DatabaseNotFound",
        "inventory",
    ),
    (
        "PlanetScalePassword",
        "on-unknown-branch",
        "BranchNotReady",
        "later",
    ),
    (
        "DeployRequest",
        "from-unknown-branch",
        "BranchNotReady",
        "later",
    ),
    (
        "DeployRequest",
        "into-unknown-branch",
        "BranchNotFound",
        "staging",
    ),
];

#[tokio::test]
async fn unknown_organization_database_and_branches_wait_quietly_and_recover_once_they_exist() {
    with_operator(|client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let mut f = Findings::new("unknown targets");
        let branches = api::<PlanetScaleBranch>(&client, &ns);
        let passwords = api::<PlanetScalePassword>(&client, &ns);
        let drs = api::<DeployRequest>(&client, &ns);
        let target = |org: &str, db: &str| json!({"organization": org, "database": db});
        let on_later = json!({"organization": "acme", "database": "shop", "branch": "later"});
        let mut into_staging = on_later.clone();
        into_staging["intoBranch"] = json!("staging");
        apply(
            &branches,
            "in-unknown-org",
            &object(
                "PlanetScaleBranch",
                "in-unknown-org",
                target("initech", "shop"),
            ),
        )
        .await;
        apply(
            &branches,
            "in-unknown-db",
            &object(
                "PlanetScaleBranch",
                "in-unknown-db",
                target("acme", "inventory"),
            ),
        )
        .await;
        apply(
            &passwords,
            "on-unknown-branch",
            &object("PlanetScalePassword", "on-unknown-branch", on_later.clone()),
        )
        .await;
        apply(
            &drs,
            "from-unknown-branch",
            &object("DeployRequest", "from-unknown-branch", on_later),
        )
        .await;
        apply(
            &drs,
            "into-unknown-branch",
            &object("DeployRequest", "into-unknown-branch", into_staging),
        )
        .await;

        for (kind, name, why, names) in CASES {
            let message = match kind {
                "PlanetScaleBranch" => reason(&branches, name, why).await,
                "PlanetScalePassword" => reason(&passwords, name, why).await,
                _ => reason(&drs, name, why).await,
            };
            if let Some(m) = f.check(message) {
                f.expect(
                    m.contains(names),
                    format!("{name}: the message names {names}: {m}"),
                );
            }
            f.check(event(&client, &ns, name, why).await);
        }
        f.check(calls_bounded(&emu, CASES.len() as u64, "unknown targets").await);

        // Someone creates what was missing, in PlanetScale only: the slow retry finds it.
        let r = reqwest::Client::new()
            .post(format!("{}/_emulator/seed", emu.url))
            .body(FIXED_WORLD)
            .send()
            .await
            .expect("emulator");
        assert!(r.status().is_success(), "seed: {}", r.status());
        f.check(recovers(&passwords, "on-unknown-branch", SLOW).await);
        f.check(recovers(&drs, "from-unknown-branch", SLOW).await);
        f.check(recovers(&drs, "into-unknown-branch", SLOW).await);
        f.check(recovers(&branches, "in-unknown-db", SLOW).await);
        f.check(recovers(&branches, "in-unknown-org", SLOW).await);
        teardown(&client, &ns).await;
        f.finish();
    })
    .await;
}
