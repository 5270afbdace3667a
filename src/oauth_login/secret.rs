//! The credentials Secret `oauth login` writes or prints: exactly the OAuth keys
//! `credentials::parse_secret` reads, server-side applied, or YAML on stdout.
use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use chrono::SecondsFormat;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ObjectMeta, Patch, PatchParams};
use kube::{Api, Client};
use planetscale_api::{OAuthTokens, Secret as Sensitive};

use super::LoginArgs;
use crate::controller::FIELD_MANAGER;
use crate::credentials::{
    KEY_ACCESS_TOKEN, KEY_EXPIRES_AT, KEY_OAUTH_CLIENT_ID, KEY_OAUTH_CLIENT_SECRET,
    KEY_REFRESH_TOKEN, KEY_SERVICE_TOKEN, KEY_SERVICE_TOKEN_ID,
};

/// Labels of the Secret `oauth login` writes: what it is and what made it. Not
/// `app.kubernetes.io/managed-by`, which marks the password Secrets the operator manages.
pub const SECRET_LABELS: [(&str, &str); 3] = [
    ("app.kubernetes.io/part-of", "planetscale-operator"),
    ("app.kubernetes.io/component", "credentials"),
    ("planetscale.operator.dev/credentials", "oauth"),
];

/// Where the Secret goes: checked before the browser flow starts.
pub(super) struct Target {
    api: Api<Secret>,
    pub(super) namespace: String,
    name: String,
}

impl Target {
    pub(super) async fn connect(args: &LoginArgs) -> anyhow::Result<Self> {
        let client = Client::try_default().await.context(
            "cannot build a Kubernetes client from the kubeconfig (the Secret is written with \
             it; --print writes the Secret to stdout instead)",
        )?;
        let namespace = args
            .namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_string());
        let name = args.secret_name.clone();
        let api: Api<Secret> = Api::namespaced(client, &namespace);
        let existing = api.get_opt(&name).await.with_context(|| {
            format!("cannot read Secret {namespace}/{name}, where the tokens would be written")
        })?;
        if let Some(data) = existing.as_ref().and_then(|s| s.data.as_ref())
            && (data.contains_key(KEY_SERVICE_TOKEN_ID) || data.contains_key(KEY_SERVICE_TOKEN))
        {
            bail!(
                "Secret {namespace}/{name} holds a service token ({KEY_SERVICE_TOKEN_ID}, \
                 {KEY_SERVICE_TOKEN}); a credentials Secret holds one kind of credentials: \
                 choose another --secret-name or delete that Secret first"
            );
        }
        Ok(Self {
            api,
            namespace,
            name,
        })
    }

    /// Creates or updates the Secret (server-side apply; the OAuth keys become ours).
    pub(super) async fn write(&self, secret: Secret) -> anyhow::Result<()> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        self.api
            .patch(&self.name, &params, &Patch::Apply(&secret))
            .await
            .with_context(|| {
                format!(
                    "cannot write Secret {}/{} (the authorization is spent: run the login again, \
                     or use --print)",
                    self.namespace, self.name
                )
            })?;
        Ok(())
    }
}

/// Prints the manifest with `stringData`, readable and ready for `kubectl apply -f -`.
pub(super) fn print_secret(mut secret: Secret) -> anyhow::Result<()> {
    let data = secret.data.take().unwrap_or_default();
    secret.string_data = Some(
        data.into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
            .collect(),
    );
    print!("{}", secret_yaml(&secret)?);
    Ok(())
}

/// The manifest as YAML, with `expiresAt` quoted: YAML 1.1 readers would take the bare time
/// for a timestamp rather than a string.
pub fn secret_yaml(secret: &Secret) -> anyhow::Result<String> {
    let yaml = serde_norway::to_string(secret).context("serialize the Secret")?;
    let quoted = yaml
        .lines()
        .map(
            |line| match line.split_once(&format!("{KEY_EXPIRES_AT}: ")) {
                Some((indent, time))
                    if indent.trim().is_empty() && !time.starts_with(['"', '\'']) =>
                {
                    format!("{indent}{KEY_EXPIRES_AT}: \"{time}\"\n")
                }
                _ => format!("{line}\n"),
            },
        )
        .collect();
    Ok(quoted)
}

/// The credentials Secret for `tokens`, with exactly the keys `credentials::parse_secret` reads.
pub fn credentials_secret(
    name: &str,
    namespace: Option<&str>,
    client_id: &str,
    client_secret: &Sensitive,
    tokens: &OAuthTokens,
) -> Secret {
    let expires = tokens.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let data = [
        (KEY_OAUTH_CLIENT_ID, client_id),
        (KEY_OAUTH_CLIENT_SECRET, client_secret.expose()),
        (KEY_ACCESS_TOKEN, tokens.access_token.expose()),
        (KEY_REFRESH_TOKEN, tokens.refresh_token.expose()),
        (KEY_EXPIRES_AT, expires.as_str()),
    ];
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: namespace.map(str::to_string),
            labels: Some(
                SECRET_LABELS
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::parse_secret;
    use planetscale_api::Credentials;

    fn tokens() -> OAuthTokens {
        OAuthTokens {
            access_token: Sensitive::new("pscale_oauth_access"),
            refresh_token: Sensitive::new("pscale_oauth_refresh_r"),
            expires_at: "2026-03-01T10:00:00Z".parse().unwrap(),
            scope: None,
        }
    }

    #[test]
    fn the_secret_holds_exactly_what_the_operator_reads() {
        let secret = credentials_secret(
            "creds",
            Some("team-a"),
            "client-1",
            &Sensitive::new("client-secret"),
            &tokens(),
        );
        assert_eq!(secret.metadata.namespace.as_deref(), Some("team-a"));
        let labels = secret.metadata.labels.clone().unwrap();
        assert_eq!(labels["planetscale.operator.dev/credentials"], "oauth");
        assert!(
            !labels.contains_key(crate::controller::MANAGED_BY_LABEL),
            "not a Secret the password controller manages"
        );
        let data = secret.data.as_ref().unwrap();
        assert_eq!(data.len(), 5);
        assert_eq!(data[KEY_EXPIRES_AT].0, b"2026-03-01T10:00:00Z");
        match parse_secret("team-a/creds", Some(data)).unwrap() {
            Credentials::OAuth {
                client_id,
                client_secret,
                access_token,
                refresh_token,
                expires_at,
            } => {
                assert_eq!(client_id, "client-1");
                assert_eq!(client_secret.expose(), "client-secret");
                assert_eq!(access_token.expose(), "pscale_oauth_access");
                assert_eq!(refresh_token.expose(), "pscale_oauth_refresh_r");
                assert_eq!(expires_at, tokens().expires_at);
            }
            other @ Credentials::ServiceToken { .. } => panic!("not OAuth: {other:?}"),
        }
    }

    #[test]
    fn the_printed_manifest_quotes_the_expiry_and_parses_back() {
        let secret = credentials_secret("c", None, "id", &Sensitive::new("s"), &tokens());
        let mut printed = secret.clone();
        let data = printed.data.take().unwrap();
        printed.string_data = Some(
            data.into_iter()
                .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
                .collect(),
        );
        let yaml = secret_yaml(&printed).unwrap();
        assert!(
            yaml.contains("  expiresAt: \"2026-03-01T10:00:00Z\"\n"),
            "{yaml}"
        );
        let back: Secret = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(back, printed);
    }
}
