//! Shared state of a running emulator: the world, settings, faults, stats, rate limiter.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use chrono::{DateTime, Utc};

use crate::config::{Seed, Settings};
use crate::faults::Faults;
use crate::model::World;
use crate::ratelimit::RateLimiter;
use crate::stats::Stats;

/// The default service token printed at startup.
#[derive(Clone)]
pub struct DefaultToken {
    /// Token id.
    pub id: String,
    /// Secret.
    pub secret: String,
}

impl std::fmt::Debug for DefaultToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultToken")
            .field("id", &self.id)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

/// Cheap-to-clone handle on everything a request needs.
#[derive(Clone)]
pub struct App {
    pub(crate) world: Arc<Mutex<World>>,
    pub(crate) settings: Arc<RwLock<Settings>>,
    pub(crate) faults: Arc<Faults>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) state_file: Option<Arc<crate::persist::StateFile>>,
    pub(crate) base_url: Arc<str>,
    pub(crate) startup_seed: Arc<Seed>,
    pub(crate) default_token: Option<DefaultToken>,
    /// Real database servers behind branches and passwords (`--realdb`), if any.
    pub(crate) realdb: Option<Arc<crate::realdb::RealDb>>,
    /// Webhook deliveries.
    pub(crate) hooks: Arc<crate::webhooks::Hooks>,
}

/// A locked, up-to-date view of the world for one request.
pub struct Ctx<'a> {
    /// The world, with every transition due by `now` applied.
    pub world: MutexGuard<'a, World>,
    /// Settings at lock time.
    pub settings: Settings,
    /// Emulator time.
    pub now: DateTime<Utc>,
}

impl App {
    /// Lock the world and apply every transition due by now.
    pub fn lock(&self) -> Ctx<'_> {
        let mut world = self
            .world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let settings = self.settings();
        let now = world.now();
        crate::deploy::advance(&mut world, &settings, now);
        crate::model::backup_policy::advance(&mut world, settings.backup_duration, now);
        Ctx {
            world,
            settings,
            now,
        }
    }

    /// Current settings.
    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replace the settings.
    pub fn set_settings(&self, settings: Settings) {
        *self
            .settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
    }

    /// Base URL clients use, e.g. `http://127.0.0.1:8080`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Write the state file, if one is configured.
    pub fn persist(&self) {
        if let Some(file) = &self.state_file {
            file.save(&self.world);
        }
    }
}
