//! The policy decision as a table: who is served, and which rule refuses what.
use std::collections::BTreeMap;

use super::*;
use crate::crd::password_secret::LabelValue;
use crate::crd::policy::{
    CredentialsSelector, LabelSelector, NamespaceSelector, PlanetScaleAccessPolicySpec,
    ProductionAccess,
};

fn rule(name: &str) -> AccessRule {
    serde_json::from_value(serde_json::json!({
        "name": name,
        "namespaces": { "names": ["team-a"] },
        "credentials": { "default": true },
        "organizations": ["acme"],
    }))
    .expect("rule")
}

fn policy(name: &str, rules: Vec<AccessRule>) -> PlanetScaleAccessPolicy {
    PlanetScaleAccessPolicy::new(name, PlanetScaleAccessPolicySpec { rules })
}

pub(super) fn request(ns: &str) -> Request {
    Request {
        namespace: ns.into(),
        credentials: None,
        target: Some(Where::Branch {
            organization: "acme".into(),
            database: "app".into(),
            branch: "dev".into(),
        }),
        role: None,
        production: Vec::new(),
    }
}

fn no_labels() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn denied(v: Verdict) -> String {
    match v {
        Verdict::Denied(m) => m,
        other @ Verdict::Allowed { .. } => panic!("expected a denial, got {other:?}"),
    }
}

#[test]
fn no_policy_serves_nothing() {
    let m = denied(decide(&[], &no_labels(), &request("team-a")));
    assert!(
        m.contains("no PlanetScaleAccessPolicy allows namespace team-a"),
        "{m}"
    );
}

#[test]
fn a_listed_namespace_is_allowed_with_the_rule_named() {
    let p = [policy("platform", vec![rule("team-a")])];
    assert_eq!(
        decide(&p, &no_labels(), &request("team-a")),
        Verdict::Allowed {
            policy: "platform".into(),
            rule: "team-a".into()
        }
    );
    let m = denied(decide(&p, &no_labels(), &request("team-b")));
    assert!(m.contains("namespace team-b"), "{m}");
}

#[test]
fn label_selector_serves_namespaces_by_label() {
    let mut r = rule("by-label");
    r.namespaces = NamespaceSelector {
        names: vec![],
        selector: Some(LabelSelector {
            match_labels: [("team".to_string(), LabelValue("a".into()))].into(),
            ..Default::default()
        }),
    };
    let p = [policy("p", vec![r])];
    let labels: BTreeMap<String, String> = [("team".to_string(), "a".to_string())].into();
    assert!(matches!(
        decide(&p, &labels, &request("x")),
        Verdict::Allowed { .. }
    ));
    let other: BTreeMap<String, String> = [("team".to_string(), "b".to_string())].into();
    assert!(matches!(
        decide(&p, &other, &request("x")),
        Verdict::Denied(_)
    ));
}

/// A change to the allowed request.
type Change = Box<dyn Fn(&mut Request)>;

#[test]
fn each_field_refuses_with_the_policy_and_rule_named() {
    let p = [policy("platform", vec![rule("team-a")])];
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "secret",
            Box::new(|r| r.credentials = Some("mine".into())),
            "credentials Secret mine is not allowed",
        ),
        (
            "org",
            Box::new(|r| {
                r.target = Some(Where::Branch {
                    organization: "evil".into(),
                    database: "app".into(),
                    branch: "dev".into(),
                });
            }),
            "organization evil is not allowed (allowed: acme)",
        ),
        (
            "admin",
            Box::new(|r| r.role = Some(PasswordRole::Admin)),
            "role admin is not allowed (allowed: reader, writer, readwriter)",
        ),
        (
            "promote",
            Box::new(|r| r.production = vec![Production::Promote]),
            "promoting a branch to production is not allowed",
        ),
        (
            "delete",
            Box::new(|r| r.production = vec![Production::Delete]),
            "deleting a production branch is not allowed",
        ),
        (
            "adopt",
            Box::new(|r| r.production = vec![Production::Adopt]),
            "adopting a production branch is not allowed",
        ),
    ];
    for (name, change, expected) in cases {
        let mut req = request("team-a");
        change(&mut req);
        let m = denied(decide(&p, &no_labels(), &req));
        assert!(
            m.starts_with("PlanetScaleAccessPolicy platform rule team-a: "),
            "{name}: {m}"
        );
        assert!(m.contains(expected), "{name}: {m}");
    }
}

#[test]
fn explicit_allowances_allow() {
    let mut r = rule("full");
    r.credentials = CredentialsSelector {
        default: false,
        secrets: vec!["ps-*".into()],
    };
    r.databases = vec!["app".into()];
    r.branches = vec!["dev-?".into()];
    r.password_roles = vec![PasswordRole::Admin];
    r.production = ProductionAccess {
        adopt: true,
        delete: true,
        promote: true,
        passwords: true,
        delete_databases: false,
    };
    let p = [policy("p", vec![r])];
    let req = Request {
        credentials: Some("ps-token".into()),
        target: Some(Where::Branch {
            organization: "acme".into(),
            database: "app".into(),
            branch: "dev-1".into(),
        }),
        role: Some(PasswordRole::Admin),
        production: vec![Production::Adopt, Production::Delete],
        ..request("team-a")
    };
    assert!(matches!(
        decide(&p, &no_labels(), &req),
        Verdict::Allowed { .. }
    ));
    let mut default_creds = req.clone();
    default_creds.credentials = None;
    assert!(denied(decide(&p, &no_labels(), &default_creds)).contains("default credentials"));
}

#[test]
fn any_rule_of_any_policy_allowing_is_enough() {
    let mut admin = rule("admin");
    admin.password_roles = vec![PasswordRole::Admin];
    let p = [policy("a", vec![rule("readers")]), policy("b", vec![admin])];
    let mut req = request("team-a");
    req.role = Some(PasswordRole::Admin);
    assert_eq!(
        decide(&p, &no_labels(), &req),
        Verdict::Allowed {
            policy: "b".into(),
            rule: "admin".into()
        }
    );
    req.role = Some(PasswordRole::Admin);
    req.credentials = Some("other".into());
    let m = denied(decide(&p, &no_labels(), &req));
    assert!(m.contains("(and 1 more rules refuse it)"), "{m}");
}

#[test]
fn an_unknown_target_is_checked_on_namespace_and_credentials_only() {
    let p = [policy("p", vec![rule("r")])];
    let mut req = request("team-a");
    req.target = None;
    assert!(matches!(
        decide(&p, &no_labels(), &req),
        Verdict::Allowed { .. }
    ));
}

#[test]
fn globs() {
    for (p, n, ok) in [
        ("*", "", true),
        ("*", "anything", true),
        ("dev-*", "dev-", true),
        ("dev-*", "dev-1-2", true),
        ("dev-*", "prod", false),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("*main", "main", true),
        ("*a*b", "xaxxb", true),
        ("*a*b", "xaxxbx", false),
        ("main", "main2", false),
    ] {
        assert_eq!(glob(p, n), ok, "{p} ~ {n}");
    }
}

#[test]
fn deleting_a_database_needs_its_own_allowance() {
    let mut r = rule("all");
    r.production.delete = true;
    let req = Request {
        credentials: None,
        target: Some(Where::Database {
            organization: "acme".into(),
            database: "app".into(),
        }),
        role: None,
        production: vec![Production::DeleteDatabase],
        namespace: "team-a".into(),
    };
    let p = [policy("p", vec![r.clone()])];
    let Verdict::Denied(why) = decide(&p, &BTreeMap::new(), &req) else {
        panic!("deleting production branches is not deleting databases")
    };
    assert!(why.contains("production.deleteDatabases"), "{why}");
    r.production.delete_databases = true;
    let p = [policy("p", vec![r])];
    assert!(matches!(
        decide(&p, &BTreeMap::new(), &req),
        Verdict::Allowed { .. }
    ));
}
