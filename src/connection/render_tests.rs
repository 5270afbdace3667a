//! `render`: the default entries, preset precedence and conflicts, template keys and limits.

use std::collections::BTreeMap;

use super::test_support::{NASTY_PASSWORD, info};
use super::*;

/// The rendered data alone (the cases here render for every password).
fn render(
    info: &ConnectionInfo,
    presets: &[Preset],
    template: Option<&BTreeMap<String, String>>,
) -> Result<SecretData, RenderError> {
    super::render(info, presets, template).map(|r| r.data)
}

fn keys(data: &SecretData) -> Vec<&str> {
    data.keys().map(String::as_str).collect()
}

fn template(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_default_secret_has_the_six_documented_keys() {
    let data = render(&info(NASTY_PASSWORD), &[], None).unwrap();
    assert_eq!(
        keys(&data),
        [
            "DATABASE_URL",
            "database",
            "host",
            "password",
            "port",
            "username"
        ]
    );
    assert_eq!(data["host"].expose(), "aws.connect.psdb.cloud");
    assert_eq!(data["port"].expose(), "3306");
    assert_eq!(data["username"].expose(), "k8s_user01");
    assert_eq!(data["password"].expose(), NASTY_PASSWORD);
    assert_eq!(data["database"].expose(), "shop");
    assert!(
        data["DATABASE_URL"]
            .expose()
            .starts_with("mysql://k8s_user01:")
    );
}

#[test]
fn each_preset_adds_its_keys_to_the_defaults() {
    let info = info("pscale_pw_EXAMPLE");
    let defaults = render(&info, &[], None).unwrap();
    for preset in Preset::ALL.into_iter().filter(|p| p.serves(Engine::Mysql)) {
        let data = render(&info, &[preset], None).unwrap();
        for key in preset.keys() {
            assert!(data.contains_key(*key), "{preset} lacks {key}");
        }
        for key in defaults.keys() {
            assert!(data.contains_key(key), "{preset} dropped {key}");
        }
        assert_eq!(
            data.len(),
            defaults.len()
                + preset
                    .keys()
                    .iter()
                    .filter(|k| **k != "DATABASE_URL")
                    .count()
        );
    }
}

#[test]
fn a_chosen_preset_replaces_the_default_database_url() {
    let info = info("pscale_pw_EXAMPLE");
    let rails = render(&info, &[Preset::Rails], None).unwrap();
    assert!(rails["DATABASE_URL"].expose().starts_with("mysql2://"));
    let prisma = render(&info, &[Preset::Prisma], None).unwrap();
    assert!(
        prisma["DATABASE_URL"]
            .expose()
            .ends_with("?sslaccept=strict&ssl=true")
    );
}

#[test]
fn two_presets_wanting_database_url_are_a_conflict_naming_both() {
    let info = info("pscale_pw_EXAMPLE");
    for (first, second) in [
        (Preset::Prisma, Preset::Rails),
        (Preset::MysqlUrl, Preset::Prisma),
    ] {
        let err = render(&info, &[first, second], None).unwrap_err();
        let expected = RenderError::PresetConflict {
            key: "DATABASE_URL".into(),
            first,
            second,
        };
        assert_eq!(err, expected);
        let message = err.to_string();
        assert!(
            message.contains(first.as_str()) && message.contains(second.as_str()),
            "{message}"
        );
        assert_eq!(err.reason(), "FormatConflict");
    }
}

#[test]
fn a_preset_listed_twice_is_not_a_conflict() {
    let data = render(&info("pw"), &[Preset::Jdbc, Preset::Jdbc], None).unwrap();
    assert!(data.contains_key("JDBC_URL"));
}

#[test]
fn presets_without_shared_keys_combine() {
    let presets = [
        Preset::Prisma,
        Preset::GoSqlDriver,
        Preset::Jdbc,
        Preset::Laravel,
        Preset::Env,
    ];
    let data = render(&info("pw"), &presets, None).unwrap();
    let preset_keys: usize = presets.iter().map(|p| p.keys().len()).sum();
    assert_eq!(data.len(), 5 + preset_keys, "{:?}", keys(&data));
}

#[test]
fn no_preset_writes_a_reserved_key() {
    for preset in Preset::ALL {
        let keys = [Engine::Mysql, Engine::Postgres].map(|e| preset.keys_for(e));
        for key in keys.concat() {
            assert!(!RESERVED_KEYS.contains(&key), "{preset} writes {key}");
        }
    }
}

#[test]
fn template_entries_are_added_and_override_preset_keys() {
    let entries = template(&[
        (
            "DATABASE_URL",
            "mysql://{{ username }}@{{ host }}/{{ database }}",
        ),
        ("BRANCH", "{{ organization }}/{{ branch }}"),
    ]);
    let data = render(&info("pw"), &[Preset::Rails], Some(&entries)).unwrap();
    assert_eq!(
        data["DATABASE_URL"].expose(),
        "mysql://k8s_user01@aws.connect.psdb.cloud/shop"
    );
    assert_eq!(data["BRANCH"].expose(), "acme/main");
}

#[test]
fn templates_cannot_touch_the_credential_keys() {
    for key in RESERVED_KEYS {
        let entries = template(&[(key, "x")]);
        let err = render(&info("pw"), &[], Some(&entries)).unwrap_err();
        assert_eq!(err, RenderError::ReservedKey { key: key.into() });
    }
}

#[test]
fn invalid_secret_keys_are_refused() {
    let long = "k".repeat(254);
    for key in ["", ".", "..", "..x", "a/b", "a b", "ключ", long.as_str()] {
        let entries = template(&[(key, "x")]);
        let err = render(&info("pw"), &[], Some(&entries)).unwrap_err();
        assert_eq!(err.reason(), "TemplateInvalidKey", "{key:?}");
    }
    let fine = template(&[("app.config-1_x", "x"), (".dotfile", "y")]);
    assert!(render(&info("pw"), &[], Some(&fine)).is_ok());
}

#[test]
fn invalid_connection_info_is_refused_before_anything_renders() {
    let bad = ConnectionInfo {
        host: "evil.example/x".into(),
        ..info("pw")
    };
    let err = render(&bad, &Preset::ALL, None).unwrap_err();
    assert_eq!(err.reason(), "InvalidConnectionInfo");
}

#[test]
fn data_larger_than_the_limit_is_refused() {
    let text = "x".repeat(MAX_TEMPLATE_LEN);
    let names: Vec<String> = (0..70).map(|i| format!("BLOB_{i}")).collect();
    let entries: BTreeMap<String, String> =
        names.iter().map(|n| (n.clone(), text.clone())).collect();
    match render(&info("pw"), &[], Some(&entries)) {
        Err(RenderError::TooLarge { size, limit }) => {
            assert!(size > limit && limit == MAX_DATA_BYTES);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn no_error_message_shows_the_password() {
    let password = "pscale_pw_TOPSECRET";
    let info = info(password);
    let failing = [
        render(&info, &[Preset::Prisma, Preset::Rails], None),
        render(
            &info,
            &[],
            Some(&template(&[("password", "{{ password }}")])),
        ),
        render(
            &info,
            &[],
            Some(&template(&[("X", "{{ password ~ nope }}")])),
        ),
        render(&info, &[], Some(&template(&[("X", "{{ password + 1 }}")]))),
        render(
            &info,
            &[],
            Some(&template(&[("X", "{{ password | nofilter }}")])),
        ),
        render(
            &ConnectionInfo {
                username: "a:b".into(),
                ..info.clone()
            },
            &[Preset::GoSqlDriver],
            None,
        ),
    ];
    for result in failing {
        let err = result.unwrap_err();
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("TOPSECRET"), "{shown}");
        }
    }
}

#[test]
fn rendered_data_debug_output_is_redacted() {
    let presets = [
        Preset::Prisma,
        Preset::GoSqlDriver,
        Preset::Jdbc,
        Preset::Laravel,
        Preset::Env,
    ];
    let data = render(&info("pscale_pw_TOPSECRET"), &presets, None).unwrap();
    let shown = format!("{data:?}");
    assert!(!shown.contains("TOPSECRET"), "{shown}");
    assert!(shown.contains("[REDACTED]"));
}
