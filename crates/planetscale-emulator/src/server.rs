//! The HTTP server: accept loop with graceful shutdown and per-connection kill switches
//! (used by the `drop_connection` fault).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::app::{App, DefaultToken};
use crate::config::{Seed, Settings};
use crate::ids::{new_id, new_secret};
use crate::persist::{PersistError, StateFile};
use crate::routes::ConnHandle;

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Timing knobs and limits.
    pub settings: Settings,
    /// The world to start with (ignored when the state file exists).
    pub seed: Seed,
    /// Load the world from here at start and write it after every change.
    pub state_file: Option<PathBuf>,
    /// Service token with full access to every organization; `None` for no default token.
    pub default_token: Option<DefaultToken>,
    /// Base URL for `url` fields and pagination links (default `http://<bound address>`).
    pub public_url: Option<String>,
    /// Folder of the real database servers started by `hack/realdb/up` (off when `None`).
    pub realdb: Option<PathBuf>,
}

impl Default for Config {
    /// Built-in world, default settings, a random default token.
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            seed: Seed::builtin(),
            state_file: None,
            default_token: Some(DefaultToken {
                id: new_id(),
                secret: new_secret("pscale_tkn_"),
            }),
            public_url: None,
            realdb: None,
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding or inspecting the listener failed.
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    /// The seed is invalid.
    #[error(transparent)]
    Seed(#[from] crate::seed::SeedError),
    /// The state file could not be loaded.
    #[error(transparent)]
    State(#[from] PersistError),
    /// The real database servers are not there.
    #[error(transparent)]
    RealDb(#[from] crate::realdb::RealDbError),
}

/// A running emulator. Dropping it stops the server (without waiting); prefer [`Emulator::shutdown`].
pub struct Emulator {
    addr: SocketAddr,
    url: String,
    default_token: Option<DefaultToken>,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    /// Start on `127.0.0.1` with a random free port.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        serve(config, listener).await
    }

    /// Bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (API under `/v1`, admin under `/_emulator`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The default service token, if enabled.
    pub fn default_token(&self) -> Option<&DefaultToken> {
        self.default_token.as_ref()
    }

    /// `Authorization` header value for the default token (`ID:TOKEN`).
    pub fn authorization(&self) -> Option<String> {
        self.default_token
            .as_ref()
            .map(|t| format!("{}:{}", t.id, t.secret))
    }

    /// Stop accepting, let in-flight requests finish (at most 5 s), and wait.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

fn initial_world(
    config: &Config,
    state: Option<&StateFile>,
) -> Result<crate::model::World, StartError> {
    let now = chrono::Utc::now();
    let loaded = match state {
        Some(file) => file.load()?,
        None => None,
    };
    let mut world = match loaded {
        Some(world) => world,
        None => crate::seed::build_world(&config.seed, now)?,
    };
    if let Some(token) = &config.default_token {
        let now = world.now();
        crate::seed::install_default_token(&mut world, token, now);
    }
    Ok(world)
}

/// Serve the emulator on `listener` until [`Emulator::shutdown`].
pub async fn serve(config: Config, listener: TcpListener) -> Result<Emulator, StartError> {
    let addr = listener.local_addr()?;
    let state_file = config
        .state_file
        .clone()
        .map(|p| Arc::new(StateFile::new(p)));
    let world = initial_world(&config, state_file.as_deref())?;
    let url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let realdb = match &config.realdb {
        Some(dir) => Some(Arc::new(crate::realdb::RealDb::open(dir)?)),
        None => None,
    };
    let mut startup_seed = config.seed.clone();
    startup_seed.settings = Some(config.settings.clone());
    let app = App {
        world: Arc::new(Mutex::new(world)),
        settings: Arc::new(RwLock::new(config.settings.clone())),
        faults: Default::default(),
        stats: Default::default(),
        limiter: Default::default(),
        state_file,
        base_url: url.clone().into(),
        startup_seed: Arc::new(startup_seed),
        default_token: config.default_token.clone(),
        realdb,
        hooks: Default::default(),
    };
    if let Some(realdb) = app.realdb.clone() {
        // expiries happen with time, not only with requests
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                realdb.sync(&app).await;
            }
        });
    }
    app.persist();
    let router = crate::routes::router(app.clone());
    let (tx, rx) = watch::channel(false);
    crate::webhooks::spawn(app.clone(), rx.clone());
    let task = tokio::spawn(accept_loop(listener, router, rx));
    tracing::info!(%addr, "planetscale emulator listening");
    Ok(Emulator {
        addr,
        url,
        default_token: config.default_token,
        shutdown: tx,
        task: Some(task),
    })
}

async fn accept_loop(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(serve_conn(stream, router.clone(), shutdown.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        conns.abort_all();
    }
    tracing::info!("planetscale emulator stopped");
}

async fn serve_conn(stream: TcpStream, router: Router, mut shutdown: watch::Receiver<bool>) {
    let kill = Arc::new(Notify::new());
    let handle = ConnHandle(kill.clone());
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(handle.clone());
        router.clone().oneshot(req)
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut draining = *shutdown.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = kill.notified() => break,
            _ = shutdown.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
