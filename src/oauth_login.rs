//! `planetscale-operator oauth login`: the OAuth authorization-code flow for a PlanetScale OAuth
//! application, with a local redirect listener, ending in the credentials Secret that resources
//! reference (written with the current kubeconfig, or printed with `--print`).
//!
//! The flow: bind the listener, print the authorize address (and open a browser when one is at
//! hand), wait for the redirect with `code` and the random `state`, exchange the code at the
//! token endpoint (`client_secret_post`, as PlanetScale documents), then server-side apply the
//! Secret. PlanetScale documents no PKCE, so `state` alone binds the redirect to this login.
//! Nothing secret is logged: tokens reach only the Secret, or stdout when `--print` asks.
//!
//! [`callback`] has the browser's side (authorize address, state, listener), [`token`] the
//! exchange, [`secret`] the Secret.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use chrono::SecondsFormat;
use clap::{Args, Subcommand};
use planetscale_api::{OAuthTokens, Secret as Sensitive};
use reqwest::Url;
use tokio::net::TcpListener;

use crate::config::duration_arg;

pub mod callback;
pub mod secret;
pub mod token;

use callback::{
    CallbackServer, authorize_url, check_redirect_uri, default_redirect_uri, new_state,
};
use secret::{Target, credentials_secret, print_secret};

/// Environment variable with the application's client secret (when no file is given).
pub const CLIENT_SECRET_ENV: &str = "PSO_OAUTH_CLIENT_SECRET";

/// `oauth` subcommands.
#[derive(Subcommand, Debug)]
pub enum OAuthCommand {
    /// Authorize a PlanetScale OAuth application in the browser and write its tokens into a
    /// credentials Secret (or print the Secret with --print).
    Login(LoginArgs),
}

/// Flags of `oauth login`.
#[derive(Args, Debug, Clone)]
pub struct LoginArgs {
    /// The OAuth application's client id.
    #[arg(long, env = "PSO_OAUTH_CLIENT_ID")]
    pub client_id: String,

    /// File holding the application's client secret. Without it the secret is read from the
    /// environment variable PSO_OAUTH_CLIENT_SECRET (there is no flag for the value itself, so
    /// it never lands in the shell history).
    #[arg(long, env = "PSO_OAUTH_CLIENT_SECRET_FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// Authorization endpoint the browser is sent to.
    #[arg(
        long,
        env = "PSO_OAUTH_AUTHORIZE_URL",
        default_value = "https://auth.planetscale.com/oauth/authorize"
    )]
    pub authorize_url: String,

    /// Token endpoint the authorization code is exchanged at.
    #[arg(
        long,
        env = "PSO_OAUTH_TOKEN_URL",
        default_value = "https://auth.planetscale.com/oauth/token"
    )]
    pub token_url: String,

    /// Address of the local listener the browser is redirected to; port 0 picks a free port.
    #[arg(long, env = "PSO_OAUTH_LISTEN", default_value = "127.0.0.1:8976")]
    pub listen: SocketAddr,

    /// Redirect URI registered for the application (default: http://ADDRESS/callback, with
    /// ADDRESS the listen address).
    #[arg(long, env = "PSO_OAUTH_REDIRECT_URI")]
    pub redirect_uri: Option<String>,

    /// Namespace of the Secret (default: the kubeconfig context's namespace).
    #[arg(long, short = 'n', env = "PSO_OAUTH_SECRET_NAMESPACE")]
    pub namespace: Option<String>,

    /// Name of the Secret.
    #[arg(
        long,
        env = "PSO_OAUTH_SECRET_NAME",
        default_value = "planetscale-credentials"
    )]
    pub secret_name: String,

    /// Print the Secret manifest (with the tokens) to stdout instead of writing it to the cluster.
    #[arg(long)]
    pub print: bool,

    /// Do not try to open a browser; only print the address to open.
    #[arg(long)]
    pub no_browser: bool,

    /// How long to wait for the browser's redirect.
    #[arg(long, env = "PSO_OAUTH_TIMEOUT", default_value = "5m", value_parser = duration_arg)]
    pub timeout: Duration,
}

/// Runs `oauth login`; the error explains what went wrong and what to do.
pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let client_secret = read_client_secret(&args)?;
    let authorize = parse_url("--authorize-url", &args.authorize_url)?;
    let token_url = parse_url("--token-url", &args.token_url)?;
    // Check the cluster before the browser: a login whose tokens cannot be stored is wasted.
    let target = match args.print {
        true => None,
        false => Some(Target::connect(&args).await?),
    };
    let (listener, redirect_uri, redirect) = listen(&args).await?;
    let state = new_state();
    prompt(
        &authorize_url(&authorize, &args.client_id, &redirect_uri, &state),
        &redirect_uri,
        &args,
    );

    let mut server = CallbackServer::start(listener, redirect.path());
    let outcome = async {
        let (code, reply) = server
            .wait_for_code(&state, args.timeout, &redirect_uri)
            .await?;
        eprintln!("Authorization received; exchanging the code for tokens ...");
        let grant = Grant {
            token_url: &token_url,
            client_secret: &client_secret,
            code: &code,
            redirect_uri: &redirect_uri,
        };
        reply.finish(store(&args, target.as_ref(), grant).await)
    }
    .await;
    server.stop().await;
    report(&args, target.as_ref(), &outcome?);
    Ok(())
}

/// Binds the redirect listener; returns it with the redirect URI (as text, as sent, and parsed).
async fn listen(args: &LoginArgs) -> anyhow::Result<(TcpListener, String, Url)> {
    let listener = TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {} for the redirect (is another login running? --listen picks \
             another address, and the redirect URI registered for the application must match it)",
            args.listen
        )
    })?;
    let bound = listener.local_addr().context("listener address")?;
    let redirect_uri = args
        .redirect_uri
        .clone()
        .unwrap_or_else(|| default_redirect_uri(bound));
    let redirect = check_redirect_uri(&redirect_uri, bound)?;
    Ok((listener, redirect_uri, redirect))
}

/// What the code exchange needs besides the flags.
struct Grant<'a> {
    token_url: &'a Url,
    client_secret: &'a Sensitive,
    code: &'a str,
    redirect_uri: &'a str,
}

/// Exchanges the code, then writes (or prints) the Secret.
async fn store(
    args: &LoginArgs,
    target: Option<&Target>,
    grant: Grant<'_>,
) -> anyhow::Result<OAuthTokens> {
    let tokens = token::exchange_code(planetscale_api::AuthorizationCode {
        token_url: grant.token_url,
        client_id: &args.client_id,
        client_secret: grant.client_secret,
        code: grant.code,
        redirect_uri: grant.redirect_uri,
    })
    .await?;
    let secret = credentials_secret(
        &args.secret_name,
        args.namespace.as_deref(),
        &args.client_id,
        grant.client_secret,
        &tokens,
    );
    match target {
        Some(t) => t.write(secret).await?,
        None => print_secret(secret)?,
    }
    Ok(tokens)
}

fn parse_url(flag: &str, value: &str) -> anyhow::Result<Url> {
    Url::parse(value).with_context(|| format!("{flag} {value:?} is not a URL"))
}

/// Shows the user the address to open (stderr: stdout is for --print), and opens a browser.
fn prompt(url: &Url, redirect_uri: &str, args: &LoginArgs) {
    eprintln!(
        "Open this address in a browser and approve the application:\n\n  {url}\n\n\
         Waiting up to {} for the redirect to {redirect_uri} ...",
        humantime::format_duration(args.timeout)
    );
    if !args.no_browser {
        open_browser(url.as_str());
    }
}

/// What was done, where, and how to use it; never a token.
fn report(args: &LoginArgs, target: Option<&Target>, tokens: &OAuthTokens) {
    let expires = tokens.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let scopes = tokens.scope.as_deref().unwrap_or("not stated");
    let name = &args.secret_name;
    match target {
        Some(t) => eprintln!(
            "Wrote Secret {ns}/{name} (OAuth application {}; access token valid until {expires}; \
             scopes: {scopes}).\nReference it with `spec.credentialsRef: {{name: {name}}}` in \
             namespace {ns}; the operator refreshes the tokens and writes them back.",
            args.client_id,
            ns = t.namespace,
        ),
        None => eprintln!(
            "Printed Secret {name} to stdout (access token valid until {expires}; scopes: \
             {scopes}). It holds the tokens: apply it (kubectl apply -f -) and do not commit it."
        ),
    }
}

/// The client secret from `--client-secret-file` or `PSO_OAUTH_CLIENT_SECRET`.
fn read_client_secret(args: &LoginArgs) -> anyhow::Result<Sensitive> {
    let value = match &args.client_secret_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the client secret from {}", path.display()))?,
        None => crate::config::env::secret_var(CLIENT_SECRET_ENV).ok_or_else(|| {
            anyhow!(
                "no client secret: pass --client-secret-file FILE or set {CLIENT_SECRET_ENV} \
                 (there is no flag for the value, so that it stays out of the shell history)"
            )
        })?,
    };
    let value = value.trim();
    if value.is_empty() {
        bail!("the client secret is empty");
    }
    Ok(Sensitive::new(value))
}

/// Tries to open `url` in a browser; the address is printed anyway, so failures are ignored.
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(unix) {
        if !crate::config::env::graphical_session() {
            return;
        }
        "xdg-open"
    } else {
        return;
    };
    // tokio reaps the child in the background; its output must not mix with --print's stdout.
    let _ = tokio::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_reads_login_flags_and_has_no_flag_for_the_secret_value() {
        use crate::config::{Cli, Command};
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "planetscale-operator",
            "oauth",
            "login",
            "--client-id",
            "c1",
            "--listen",
            "127.0.0.1:0",
            "--print",
        ])
        .unwrap();
        let Command::Oauth(OAuthCommand::Login(args)) = cli.command() else {
            panic!("not oauth login")
        };
        assert_eq!(args.client_id, "c1");
        assert_eq!(args.listen.port(), 0);
        assert!(args.print && !args.no_browser);
        assert_eq!(args.secret_name, "planetscale-credentials");
        assert_eq!(args.timeout, Duration::from_secs(300));
        assert_eq!(args.token_url, "https://auth.planetscale.com/oauth/token");
        let plain = Cli::try_parse_from([
            "planetscale-operator",
            "oauth",
            "login",
            "--client-id",
            "c1",
            "--client-secret",
            "s",
        ]);
        assert!(plain.is_err());
    }
}
