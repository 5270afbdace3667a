//! `--state-file`: the world as JSON, loaded at start and written atomically
//! (write to a temporary file in the same directory, then rename) after every change.
//! The file holds only hashes of passwords and tokens, never plaintext.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::model::World;

/// Errors loading the state file.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The file could not be read.
    #[error("cannot read state file {path}: {source}")]
    Read {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid state document.
    #[error("state file {path} is not valid: {source}")]
    Parse {
        /// Path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
}

/// A state file and the lock that orders its writes.
#[derive(Debug)]
pub struct StateFile {
    /// Path of the file.
    pub path: PathBuf,
    write_lock: Mutex<()>,
}

impl StateFile {
    /// A state file at `path` (not read yet).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            write_lock: Mutex::new(()),
        }
    }

    /// Load the world if the file exists.
    pub fn load(&self) -> Result<Option<World>, PersistError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(PersistError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| PersistError::Parse {
                path: self.path.clone(),
                source,
            })
    }

    /// Snapshot the world and write it atomically. Failures are logged, not fatal.
    pub fn save(&self, world: &Mutex<World>) {
        let _order = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let json = {
            let world = world.lock().unwrap_or_else(|e| e.into_inner());
            serde_json::to_vec_pretty(&*world)
        };
        let result = json
            .map_err(std::io::Error::other)
            .and_then(|bytes| write_atomic(&self.path, &bytes));
        if let Err(error) = result {
            tracing::error!(path = %self.path.display(), %error, "cannot write state file");
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
