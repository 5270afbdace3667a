//! A `PlanetScalePassword` whose Secret cannot be written: a template that does not render,
//! a Secret name that belongs to someone else. Neither may leave a password behind in
//! PlanetScale or touch the other Secret.
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::DeleteParams;
use planetscale_operator::crd::password::PlanetScalePassword;
use serde_json::json;

use super::common::*;
use super::findings::*;

/// Live passwords of the emulator named after the resource `uid`.
async fn live_passwords(emu: &crate::support::Emulator, uid: &str) -> usize {
    let world = emu.world().await;
    let prefix = format!("k8s-{uid}-");
    world["passwords"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["deleted"] == false)
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with(&prefix)))
        .count()
}

fn uid(obj: &PlanetScalePassword) -> String {
    obj.metadata.uid.clone().expect("uid")
}

#[tokio::test]
async fn a_template_that_does_not_render_or_a_foreign_secret_waits_and_recovers_once_fixed() {
    with_operator(|client, ns, emu, op| async move {
        let _operator = op; // keeps the operator running until the end
        let mut f = Findings::new("unwritable Secrets");
        let passwords = api::<PlanetScalePassword>(&client, &ns);
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let main = json!({"organization": "acme", "database": "shop", "branch": "main"});

        let mut broken = main.clone();
        broken["secret"] = json!({"template": {"data": {"APP_URL": "mysql://{{ username }@{{ host }}"}}});
        apply(&passwords, "templated", &object("PlanetScalePassword", "templated", broken)).await;

        put_secret(&client, &ns, "app-db", &[("owner", "another team")]).await;
        let mut taken = main.clone();
        taken["secret"] = json!({"name": "app-db"});
        apply(&passwords, "taken", &object("PlanetScalePassword", "taken", taken)).await;

        for (name, why, names) in [("templated", "TemplateFailed", "APP_URL"), ("taken", "SecretConflict", "app-db")] {
            if let Some(m) = f.check(reason(&passwords, name, why).await) {
                f.expect(m.contains(names), format!("{name}: the message names {names}: {m}"));
            }
            f.check(event(&client, &ns, name, why).await);
        }
        f.check(calls_bounded(&emu, 2, "unwritable Secrets").await);
        for name in ["templated", "taken"] {
            let obj = passwords.get(name).await.expect("get");
            let n = live_passwords(&emu, &uid(&obj)).await;
            f.expect(n == 0, format!("{name}: {n} passwords in PlanetScale without a Secret"));
        }
        let other = secrets.get("app-db").await.expect("the other Secret");
        let keys: Vec<String> = other.data.unwrap_or_default().into_keys().collect();
        f.expect(keys == ["owner"], format!("the other team's Secret was changed: keys {keys:?}"));

        // The fixes: a template that renders; the other Secret removed by its owner (the
        // conflict is looked at again every minute).
        let fixed = json!({"spec": {"secret": {"template": {"data": {"APP_URL": "mysql://{{ username }}@{{ host }}"}}}}});
        merge(&passwords, "templated", fixed).await;
        secrets.delete("app-db", &DeleteParams::default()).await.expect("delete");
        for name in ["templated", "taken"] {
            if let Some(obj) = f.check(recovers(&passwords, name, PROMPT + PROMPT / 2).await) {
                let n = live_passwords(&emu, &uid(&obj)).await;
                f.expect(n == 1, format!("{name}: {n} passwords once Ready"));
            }
        }
        let s = secrets.get("templated").await.expect("Secret");
        f.expect(s.data.unwrap_or_default().contains_key("APP_URL"), "the templated key is written");
        teardown(&client, &ns).await;
        f.finish();
    })
    .await;
}
