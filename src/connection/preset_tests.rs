//! Each preset's output parsed by the matching client's parser (or its documented format).

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;
use url::Url;

use super::test_support::{NASTY_PASSWORD, info};
use super::*;

const PASSWORDS: [&str; 4] = [
    NASTY_PASSWORD,
    "pscale_pw_EXAMPLE",
    "@:/?#[]%&+= ",
    "ünïcødé 密码 🔑",
];

fn preset_value(preset: Preset, info: &ConnectionInfo, key: &str) -> String {
    let entries: BTreeMap<_, _> = preset.entries(info).expect("renders").into_iter().collect();
    entries[key].clone()
}

fn decoded(text: &str) -> String {
    percent_decode_str(text)
        .decode_utf8()
        .expect("utf-8")
        .into_owned()
}

/// A URL as a client sees it: credentials and database percent-decoded.
#[derive(Debug, PartialEq)]
struct UrlParts {
    scheme: String,
    host: String,
    port: u16,
    user: String,
    pass: String,
    db: String,
    query: Vec<(String, String)>,
}

fn url_parts(url: &str) -> UrlParts {
    let url = Url::parse(url).expect("a valid URL");
    UrlParts {
        scheme: url.scheme().to_owned(),
        host: url.host_str().expect("host").to_owned(),
        port: url.port().expect("explicit port"),
        user: decoded(url.username()),
        pass: decoded(url.password().unwrap_or_default()),
        db: decoded(url.path().trim_start_matches('/')),
        query: url.query_pairs().into_owned().collect(),
    }
}

/// The parts every preset URL shares, with the given scheme, credentials and query.
fn expected(scheme: &str, user: &str, pass: &str, query: &[(&str, &str)]) -> UrlParts {
    UrlParts {
        scheme: scheme.into(),
        host: "aws.connect.psdb.cloud".into(),
        port: 3306,
        user: user.into(),
        pass: pass.into(),
        db: "shop".into(),
        query: pairs(query),
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn mysql_url_parses_with_mysql_async_and_requires_verified_tls() {
    for password in PASSWORDS {
        let info = ConnectionInfo {
            database: "@primary".into(),
            ..info(password)
        };
        let url = preset_value(Preset::MysqlUrl, &info, "DATABASE_URL");
        let opts = mysql_async::Opts::from_url(&url).expect("mysql_async accepts the URL");
        assert_eq!(opts.user(), Some("k8s_user01"));
        assert_eq!(opts.pass(), Some(password), "password round-trips");
        assert_eq!(opts.db_name(), Some("@primary"));
        assert_eq!(opts.ip_or_hostname(), "aws.connect.psdb.cloud");
        assert_eq!(opts.tcp_port(), 3306);
        let tls = opts.ssl_opts().expect("TLS is required");
        assert!(!tls.accept_invalid_certs(), "the CA is verified");
        assert!(!tls.skip_domain_validation(), "the host name is verified");
    }
}

#[test]
fn the_default_database_url_is_the_mysql_url_preset() {
    let info = info(NASTY_PASSWORD);
    let data = render(&info, &[], None).expect("renders").data;
    assert_eq!(
        data["DATABASE_URL"].expose(),
        preset_value(Preset::MysqlUrl, &info, "DATABASE_URL")
    );
}

#[test]
fn prisma_url_has_strict_tls_and_decodable_credentials() {
    for password in PASSWORDS {
        let url = preset_value(Preset::Prisma, &info(password), "DATABASE_URL");
        let query = [("sslaccept", "strict"), ("ssl", "true")];
        assert_eq!(
            url_parts(&url),
            expected("mysql", "k8s_user01", password, &query)
        );
    }
}

#[test]
fn mysql_async_refuses_prismas_parameter_which_is_why_the_presets_differ() {
    let url = preset_value(Preset::Prisma, &info("pscale_pw_EXAMPLE"), "DATABASE_URL");
    match mysql_async::Opts::from_url(&url) {
        Err(mysql_async::UrlError::UnknownParameter { param }) => assert_eq!(param, "sslaccept"),
        other => panic!("expected UnknownParameter, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn rails_url_is_mysql2_with_verify_identity_and_a_ca_bundle() {
    for password in PASSWORDS {
        let url = preset_value(Preset::Rails, &info(password), "DATABASE_URL");
        let query = [
            ("ssl_mode", "verify_identity"),
            ("sslca", "/etc/ssl/certs/ca-certificates.crt"),
        ];
        assert_eq!(
            url_parts(&url),
            expected("mysql2", "k8s_user01", password, &query)
        );
    }
}

#[test]
fn jdbc_url_carries_no_credentials_and_verifies_identity() {
    let info = info(NASTY_PASSWORD);
    let entries: BTreeMap<_, _> = Preset::Jdbc.entries(&info).unwrap().into_iter().collect();
    let jdbc = &entries["JDBC_URL"];
    let rest = jdbc.strip_prefix("jdbc:").expect("jdbc: prefix");
    let query = [("sslMode", "VERIFY_IDENTITY")];
    assert_eq!(url_parts(rest), expected("mysql", "", "", &query));
    assert_eq!(entries["JDBC_USERNAME"], "k8s_user01");
    assert_eq!(entries["JDBC_PASSWORD"], NASTY_PASSWORD);
}

/// go-sql-driver/mysql's `ParseDSN` (dsn.go), ported: the last `/` ends the address, the last
/// `@` before it ends the credentials, the first `:` splits user from (verbatim) password, the
/// address sits in `net(...)`, and the database name is path-unescaped.
#[derive(Debug, PartialEq)]
struct GoDsn {
    user: String,
    passwd: String,
    net: String,
    addr: String,
    dbname: String,
    params: Vec<(String, String)>,
}

fn go_parse_dsn(dsn: &str) -> Result<GoDsn, &'static str> {
    let slash = dsn.rfind('/').ok_or("invalid DSN: missing the slash")?;
    let left = &dsn[..slash];
    let (credentials, addr_part) = match left.rfind('@') {
        Some(at) => (Some(&left[..at]), &left[at + 1..]),
        None => (None, left),
    };
    let (user, passwd) = match credentials.map(|c| c.split_once(':').unwrap_or((c, ""))) {
        Some((user, passwd)) => (user.to_owned(), passwd.to_owned()),
        None => (String::new(), String::new()),
    };
    let (net, addr) = match addr_part.find('(') {
        Some(open) if addr_part.ends_with(')') => (
            addr_part[..open].to_owned(),
            addr_part[open + 1..addr_part.len() - 1].to_owned(),
        ),
        Some(_) => return Err("invalid DSN: network address not terminated"),
        None => (addr_part.to_owned(), String::new()),
    };
    let tail = &dsn[slash + 1..];
    let (db, query) = tail.split_once('?').unwrap_or((tail, ""));
    let params = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let dbname = percent_decode_str(db)
        .decode_utf8()
        .map_err(|_| "invalid dbname")?
        .into_owned();
    Ok(GoDsn {
        user,
        passwd,
        net,
        addr,
        dbname,
        params,
    })
}

#[test]
fn go_dsn_parses_like_go_sql_driver_with_tls_required() {
    for password in PASSWORDS {
        let info = ConnectionInfo {
            database: "shop/eu?x".into(),
            ..info(password)
        };
        let dsn = preset_value(Preset::GoSqlDriver, &info, "DSN");
        let parsed = go_parse_dsn(&dsn).expect("valid DSN");
        assert_eq!(
            parsed,
            GoDsn {
                user: "k8s_user01".into(),
                passwd: password.into(),
                net: "tcp".into(),
                addr: "aws.connect.psdb.cloud:3306".into(),
                dbname: "shop/eu?x".into(),
                params: pairs(&[("tls", "true"), ("interpolateParams", "true")]),
            }
        );
    }
}

#[test]
fn go_dsn_matches_the_documented_shape() {
    let dsn = preset_value(Preset::GoSqlDriver, &info("pscale_pw_EXAMPLE"), "DSN");
    assert_eq!(
        dsn,
        "k8s_user01:pscale_pw_EXAMPLE@tcp(aws.connect.psdb.cloud:3306)/shop?tls=true&interpolateParams=true"
    );
}

#[test]
fn go_dsn_refuses_a_username_with_a_colon() {
    let info = ConnectionInfo {
        username: "a:b".into(),
        ..info("pw")
    };
    let err = Preset::GoSqlDriver.entries(&info).unwrap_err();
    assert_eq!(err.reason(), "FormatUnrepresentable");
    assert!(err.to_string().contains("go-sql-driver"), "{err}");
}

#[test]
fn laravel_and_env_write_raw_values_under_their_documented_keys() {
    let info = info(NASTY_PASSWORD);
    let laravel: Vec<_> = Preset::Laravel.entries(&info).unwrap();
    let expected = [
        ("DB_CONNECTION", "mysql"),
        ("DB_HOST", "aws.connect.psdb.cloud"),
        ("DB_PORT", "3306"),
        ("DB_DATABASE", "shop"),
        ("DB_USERNAME", "k8s_user01"),
        ("DB_PASSWORD", NASTY_PASSWORD),
        ("MYSQL_ATTR_SSL_CA", "/etc/ssl/certs/ca-certificates.crt"),
    ];
    assert_eq!(laravel, expected.map(|(k, v)| (k, v.to_owned())).to_vec());
    let env: Vec<_> = Preset::Env.entries(&info).unwrap();
    let expected = [
        ("HOST", "aws.connect.psdb.cloud"),
        ("PORT", "3306"),
        ("USERNAME", "k8s_user01"),
        ("PASSWORD", NASTY_PASSWORD),
        ("DATABASE", "shop"),
    ];
    assert_eq!(env, expected.map(|(k, v)| (k, v.to_owned())).to_vec());
}

#[test]
fn a_non_default_port_reaches_every_format() {
    let info = ConnectionInfo {
        port: 13306,
        ..info("pw")
    };
    for preset in Preset::ALL.into_iter().filter(|p| p.serves(Engine::Mysql)) {
        let entries = preset.entries(&info).unwrap();
        let shown = entries.iter().any(|(_, v)| v.contains("13306"));
        assert!(shown, "{preset} ignores the port");
    }
}
