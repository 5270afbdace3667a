//! Templates: what renders, what is refused and why, and that reasons never leak the password.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::template;
use super::test_support::{NASTY_PASSWORD, info};
use super::*;

const SECRET: &str = "pscale_pw_TOPSECRET";

/// One entry rendered for `info`, which must render for the real password if it renders for
/// the placeholder.
fn render_template(source: &str, info: &ConnectionInfo) -> Result<String, String> {
    template::render_template(source, info).map(|r| r.expect("renders for the real password"))
}

fn reason_of(source: &str) -> String {
    render_template(source, &info(SECRET)).expect_err("the template should fail")
}

fn render_one(key: &str, source: &str) -> Result<SecretData, RenderError> {
    let entries: BTreeMap<String, String> = [(key.to_owned(), source.to_owned())].into();
    render(&info(NASTY_PASSWORD), &[], Some(&entries)).map(|r| r.data)
}

#[test]
fn a_url_template_round_trips_the_password_through_mysql_async() {
    let source = "mysql://{{ username }}:{{ password | urlencode }}@{{ host }}:{{ port }}/{{ database }}?require_ssl=true";
    let data = render_one("MY_URL", source).unwrap();
    let opts = mysql_async::Opts::from_url(data["MY_URL"].expose()).expect("valid URL");
    assert_eq!(opts.pass(), Some(NASTY_PASSWORD));
    assert_eq!(opts.user(), Some("k8s_user01"));
    assert!(opts.ssl_opts().is_some());
}

#[test]
fn every_variable_is_available() {
    let source = VARIABLES.map(|v| format!("{{{{ {v} }}}}")).join("|");
    let rendered = render_template(&source, &info("pw")).unwrap();
    assert_eq!(
        rendered,
        "aws.connect.psdb.cloud|3306|k8s_user01|pw|shop|main|acme|us-east|readwriter"
    );
}

#[test]
fn the_filters_work() {
    let cases = [
        ("{{ region | upper }}", "US-EAST"),
        ("{{ \"MiXeD\" | lower }}", "mixed"),
        ("{{ \"  x \" | trim }}", "x"),
        (
            "{{ host | replace(\".\", \"-\") }}",
            "aws-connect-psdb-cloud",
        ),
        ("{{ \"a b/c\" | urlencode }}", "a%20b%2Fc"),
        ("{{ port | tojson }}", "3306"),
        ("{{ port + 1 }}", "3307"),
    ];
    for (source, expected) in cases {
        assert_eq!(
            render_template(source, &info("pw")).unwrap(),
            expected,
            "{source}"
        );
    }
}

#[test]
fn tojson_makes_a_json_string_of_any_password() {
    let rendered = render_template(
        "{\"password\": {{ password | tojson }}}",
        &info(NASTY_PASSWORD),
    )
    .unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&rendered).expect("valid JSON");
    assert_eq!(parsed["password"], NASTY_PASSWORD);
}

#[test]
fn conditionals_work() {
    let source = "{% if role == \"reader\" %}ro{% elif role == \"readwriter\" %}rw{% else %}other{% endif %}";
    assert_eq!(render_template(source, &info("pw")).unwrap(), "rw");
}

#[test]
fn nothing_is_html_escaped_whatever_the_key() {
    let data = render_one("page.html", "<{{ \"a&b\" }}>").unwrap();
    assert_eq!(data["page.html"].expose(), "<a&b>");
}

#[test]
fn an_unknown_variable_is_an_error_naming_the_key_and_the_variables() {
    let err = render_one("MY_URL", "mysql://{{ usernme }}@{{ host }}").unwrap_err();
    let RenderError::Template { key, reason } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(key, "MY_URL");
    assert!(reason.contains("undefined"), "{reason}");
    assert!(
        reason.contains("line 1") && reason.contains("host, port, username"),
        "{reason}"
    );
    assert_eq!(err.reason(), "TemplateFailed");
    assert!(err.to_string().contains("MY_URL"), "{err}");
}

#[test]
fn a_syntax_error_names_the_line() {
    let reason = reason_of("ok\n{{ password ");
    assert!(
        reason.contains("syntax error") && reason.contains("line 2"),
        "{reason}"
    );
    let reason = reason_of("{% if role %}unclosed");
    assert!(reason.contains("syntax error"), "{reason}");
}

#[test]
fn an_unknown_filter_lists_the_filters() {
    let reason = reason_of("{{ password | b64encode }}");
    assert!(
        reason.contains("unknown filter") && reason.contains("urlencode"),
        "{reason}"
    );
}

#[test]
fn statements_other_than_if_are_refused() {
    let sources = [
        "{% set x = password %}{{ x }}",
        "{% for c in password %}{{ c }}{% endfor %}",
        "{% macro m() %}x{% endmacro %}",
        "{% include \"other\" %}",
        "{% import \"other\" as o %}",
        "{% extends \"base\" %}",
        "{%- with x = 1 -%}{{ x }}{% endwith %}",
        "{% filter upper %}x{% endfilter %}",
    ];
    for source in sources {
        let reason = reason_of(source);
        assert!(
            reason.contains("blocks are not allowed"),
            "{source}: {reason}"
        );
    }
}

#[test]
fn repetition_operators_are_refused() {
    for source in [
        "{{ \"x\" * 100000000 }}",
        "{{ 2 ** 64 }}",
        "{{ [password] * 3 }}",
    ] {
        let reason = reason_of(source);
        assert!(
            reason.contains("operators are not allowed"),
            "{source}: {reason}"
        );
    }
}

#[test]
fn operators_inside_string_literals_and_raw_blocks_are_fine() {
    let source = "{{ \"a*b {% set %}\" }}{% raw %}{% for %}{{ x * y }}{% endraw %}";
    assert_eq!(
        render_template(source, &info("pw")).unwrap(),
        "a*b {% set %}{% for %}{{ x * y }}"
    );
}

#[test]
fn oversized_output_is_refused_without_quoting_it() {
    let block = format!("{{{{ \"{}\" | urlencode }}}}", "%".repeat(1300));
    let source = block.repeat(5);
    assert!(source.len() <= MAX_TEMPLATE_LEN);
    let reason = reason_of(&source);
    assert!(reason.contains("longer than 16384 bytes"), "{reason}");
    assert!(!reason.contains("%25"), "{reason}");
}

#[test]
fn oversized_templates_and_filter_inputs_are_refused() {
    let reason = reason_of(&"x".repeat(MAX_TEMPLATE_LEN + 1));
    assert!(reason.contains("longer than 8192 bytes"), "{reason}");
    let reason = reason_of(&format!(
        "{{{{ \"{}\" | upper }}}}",
        "x".repeat(MAX_FILTER_INPUT + 1)
    ));
    assert!(
        reason.contains("filter input is longer than 4096"),
        "{reason}"
    );
    // 400 bytes at each of 20 (or, for the placeholder password, 12) insertion points: over 4096.
    let reason = reason_of(&format!(
        "{{{{ password | replace(\"\", \"{}\") }}}}",
        "x".repeat(400)
    ));
    assert!(reason.contains("replace result"), "{reason}");
}

#[test]
fn a_failure_that_depends_on_the_password_is_not_reported_at_all() {
    // Only the real password is long enough to overflow `replace`; the placeholder is not.
    let long_password = format!("{SECRET}{}", "z".repeat(2000));
    let source = "{{ password | replace(\"z\", \"zz\") | replace(\"z\", \"zz\") }}";
    assert_eq!(
        template::render_template(source, &info(&long_password)),
        Ok(None),
        "fails for the real value: no reason, nothing else"
    );
}

#[test]
fn whether_a_template_fails_never_depends_on_the_password() {
    let a = format!("pscale_pw_a{}", "x".repeat(42));
    let b = format!("pscale_pw_b{}", "y".repeat(42));
    let sources = [
        "{% if password[10] == \"a\" %}{{ nope }}{% endif %}",
        "{% if password[10] == \"a\" %}{{ password + 1 }}{% else %}ok{% endif %}",
        "{% if \"a\" in password %}{{ password | replace(\"x\", \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\") }}{% endif %}",
        "{{ password[10:11] | replace(\"a\", \"\") }}",
        "{{ nope }}",
        "{{ password | nofilter }}",
    ];
    for source in sources {
        let (ra, rb) = (
            template::render_template(source, &info(&a)),
            template::render_template(source, &info(&b)),
        );
        assert_eq!(
            ra.as_ref().err(),
            rb.as_ref().err(),
            "the reported outcome of {source} is the same for both passwords"
        );
        if let Ok(Some(rendered)) = &ra {
            assert!(!rendered.contains("TOPSECRET"));
        }
    }
    // The first two fail only for `a`: nothing says so but the missing value.
    let first = template::render_template(sources[0], &info(&a));
    assert_eq!(first, Ok(None));
    assert_eq!(
        template::render_template(sources[0], &info(&b)),
        Ok(Some(String::new()))
    );
}

#[test]
fn reasons_never_quote_the_password() {
    let sources = [
        "{{ password + 1 }}",
        "{{ password() }}",
        "{{ password.attr.deeper }}",
        "{{ password[1:2:0] }}",
        "{{ password | replace(1, 2) }}",
        "{{ password ~ }}",
        "{% if password %}{{ nope }}{% endif %}",
        "{{ password | urlencode | nofilter }}",
    ];
    for source in sources {
        let reason = reason_of(source);
        assert!(!reason.contains("TOPSECRET"), "{source}: {reason}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_templates_never_panic_or_leak(source in r"(\{\{|\}\}|\{%|%\}|\{#|#\}|[ a-z|~*()\[\].,:'\x22=+\-0-9]|password|host|if |endif|set |for |urlencode|replace|é|🔑){0,40}") {
        match template::render_template(&source, &info(SECRET)) {
            Ok(rendered) => prop_assert!(rendered.unwrap_or_default().len() <= MAX_RENDERED_LEN),
            Err(reason) => prop_assert!(!reason.contains("TOPSECRET"), "{}: {}", source, reason),
        }
    }

    #[test]
    fn arbitrary_text_never_panics(source in any::<String>()) {
        let _ = template::render_template(&source, &info(SECRET));
    }
}

#[test]
fn the_documented_examples_render() {
    let examples = [
        (
            r#"mysql://{{ username | urlencode }}:{{ password | urlencode }}@{{ host }}/{{ database }}?ssl={"rejectUnauthorized":true}"#,
            r#"mysql://k8s_user01:pw%2F1@aws.connect.psdb.cloud/shop?ssl={"rejectUnauthorized":true}"#,
        ),
        (
            "jdbc:mysql://{{ host }}:{{ port }}/{{ database }}?sslMode=VERIFY_IDENTITY",
            "jdbc:mysql://aws.connect.psdb.cloud:3306/shop?sslMode=VERIFY_IDENTITY",
        ),
        (
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
        ),
        (
            r#"{"host": {{ host | tojson }}, "user": {{ username | tojson }}, "password": {{ password | tojson }}}"#,
            r#"{"host": "aws.connect.psdb.cloud", "user": "k8s_user01", "password": "pw/1"}"#,
        ),
        (
            "{% if role == 'reader' %}read-only{% else %}read-write{% endif %}",
            "read-write",
        ),
    ];
    for (source, expected) in examples {
        assert_eq!(render_template(source, &info("pw/1")).unwrap(), expected);
    }
}
