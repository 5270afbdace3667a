//! What a chaos run creates (the plan, from `CHAOS_SCALE` and `CHAOS_SEED`) and what it shares
//! between its tasks (the run: clients, operator processes, counters, expectations).
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{Emulator, Operator};

/// Sizes of one run. Scale 1 (the default, run by `make test`) is the size of issue 11:
/// 50 passwords, 10 deploy requests, 16 SIGKILLs; `CHAOS_SCALE=5` is five times that.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub scale: u32,
    pub seed: u64,
    /// `PlanetScalePassword`s `pw-<i>` on the branches `dr-<i mod deploy_requests>`.
    pub passwords: usize,
    /// `PlanetScaleBranch`es `dr-<i>`, each with a schema change and a `DeployRequest` `dr-<i>`.
    pub deploy_requests: usize,
    /// SIGKILLs of the operator (each followed by a restart).
    pub kills: usize,
    /// Extra branches deleted during the run: `scratch-del-<j>` (Delete) and
    /// `scratch-keep-<j>` (Retain).
    pub scratch: usize,
}

impl Plan {
    /// From `CHAOS_SCALE` (default 1) and `CHAOS_SEED` (default random).
    pub fn from_env() -> Self {
        let scale: u32 = std::env::var("CHAOS_SCALE")
            .ok()
            .map_or(1, |s| s.parse().expect("CHAOS_SCALE is a whole number ≥ 1"))
            .max(1);
        let seed = std::env::var("CHAOS_SEED")
            .ok()
            .map_or_else(rand::random, |s| s.parse().expect("CHAOS_SEED is a number"));
        Self::new(scale, seed)
    }

    /// The plan of scale `scale` (≥ 1).
    pub fn new(scale: u32, seed: u64) -> Self {
        let s = scale.max(1) as usize;
        Self {
            scale: scale.max(1),
            seed,
            passwords: 50 * s,
            deploy_requests: 10 * s,
            kills: 15 * s + 1,
            scratch: 5 * s,
        }
    }

    /// How long the operator may take to reach the end state after the last disruption.
    pub fn converge_deadline(&self) -> Duration {
        Duration::from_secs(150 + 150 * u64::from(self.scale))
    }

    /// Whether password `i` is deleted during the run, and with which deletion policy.
    pub fn password_deletion(&self, i: usize) -> Option<Policy> {
        match (i % 5, (i / 5) % 2) {
            (4, 0) => Some(Policy::Delete),
            (4, _) => Some(Policy::Retain),
            _ => None,
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "scale {} (CHAOS_SEED={}): {} passwords, {} branches with {} deploy requests, \
             {} scratch branches, {} SIGKILLs, 1 kube-apiserver restart",
            self.scale,
            self.seed,
            self.passwords,
            self.deploy_requests,
            self.deploy_requests,
            2 * self.scratch,
            self.kills
        )
    }
}

/// `deletionPolicy` of a resource deleted during the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Delete,
    Retain,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Delete => "Delete",
            Policy::Retain => "Retain",
        }
    }
}

/// What must hold in PlanetScale for a resource deleted during the run.
#[derive(Clone, Debug)]
pub enum Expect {
    /// No live password named `k8s-<uid>-*`.
    PasswordsGone { uid: String },
    /// Exactly the password `name` (the resource's last one) is still live.
    PasswordKept { uid: String, name: String },
    /// No branch `name`.
    BranchGone,
    /// Branch `name` still exists.
    BranchKept,
}

/// A resource deleted during the run.
#[derive(Clone, Debug)]
pub struct Deleted {
    pub kind: &'static str,
    pub name: String,
    pub expect: Expect,
}

/// Everything the tasks of one run share.
pub struct Run {
    pub client: kube::Client,
    pub ns: String,
    pub emulator: Emulator,
    pub plan: Plan,
    /// `TESTENV_DIR` of the control plane whose kube-apiserver is restarted.
    pub testenv: PathBuf,
    /// Every operator process started, the running one last (their logs are searched).
    operators: Mutex<Vec<Operator>>,
    rng: Mutex<StdRng>,
    pub kills: AtomicUsize,
    pub apiserver_restarts: AtomicUsize,
    pub deleted: Mutex<Vec<Deleted>>,
    /// (when, emulator request total) every second.
    pub samples: Mutex<Vec<(Instant, u64)>>,
    /// Every password and connection string seen in a Secret during the run.
    pub plaintexts: Mutex<BTreeSet<String>>,
    /// What went wrong in the workload itself (reported as a failed check).
    problems: Mutex<Vec<String>>,
}

impl Run {
    pub fn new(
        client: kube::Client,
        ns: String,
        emulator: Emulator,
        operator: Operator,
        plan: Plan,
        testenv: PathBuf,
    ) -> Self {
        Self {
            client,
            ns,
            emulator,
            plan,
            testenv,
            operators: Mutex::new(vec![operator]),
            rng: Mutex::new(StdRng::seed_from_u64(plan.seed)),
            kills: AtomicUsize::new(0),
            apiserver_restarts: AtomicUsize::new(0),
            deleted: Mutex::new(Vec::new()),
            samples: Mutex::new(Vec::new()),
            plaintexts: Mutex::new(BTreeSet::new()),
            problems: Mutex::new(Vec::new()),
        }
    }

    /// A random duration in `[lo, hi)` milliseconds, from the run's seeded generator.
    pub fn random_ms(&self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.rng.lock().unwrap().random_range(lo..hi))
    }

    /// SIGKILLs the running operator and starts a new one.
    pub fn kill_and_restart_operator(&self) {
        let mut ops = self.operators.lock().unwrap();
        let current = ops.last_mut().expect("an operator");
        current.process.kill_hard();
        self.kills.fetch_add(1, Ordering::SeqCst);
        ops.push(Operator::start(&self.ns, &self.emulator, &[]));
    }

    /// Every operator log so far, one entry per process.
    pub fn operator_logs(&self) -> Vec<String> {
        self.operators
            .lock()
            .unwrap()
            .iter()
            .map(super::support::env::Operator::log)
            .collect()
    }

    /// Operator processes started (the first one and every restart).
    pub fn operator_starts(&self) -> usize {
        self.operators.lock().unwrap().len()
    }

    pub fn record_deleted(&self, kind: &'static str, name: &str, expect: Expect) {
        self.deleted.lock().unwrap().push(Deleted {
            kind,
            name: name.to_string(),
            expect,
        });
    }

    pub fn deleted(&self) -> Vec<Deleted> {
        self.deleted.lock().unwrap().clone()
    }

    pub fn note_plaintext(&self, value: &str) {
        self.plaintexts.lock().unwrap().insert(value.to_string());
    }

    pub fn problem(&self, what: String) {
        self.problems.lock().unwrap().push(what);
    }

    pub fn problems(&self) -> Vec<String> {
        self.problems.lock().unwrap().clone()
    }
}
