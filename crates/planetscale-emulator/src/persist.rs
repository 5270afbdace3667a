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
        if let Err(error) = self.write(world) {
            tracing::error!(path = %self.path.display(), %error, "cannot write state file");
        }
    }

    /// Snapshot the world and write it atomically: on error the previous file is untouched
    /// and no temporary file is left behind.
    pub fn write(&self, world: &Mutex<World>) -> std::io::Result<()> {
        let _order = self
            .write_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bytes = {
            let world = world
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            serde_json::to_vec_pretty(&*world).map_err(std::io::Error::other)?
        };
        write_atomic(&self.path, &bytes)
    }
}

/// The temporary file a write goes through: beside `path`, so the rename stays on one file system.
fn temp_path(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.tmp-{}", std::process::id()))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let mut file = std::fs::File::create(&tmp)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::config::Seed;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn builtin_world() -> Mutex<World> {
        Mutex::new(crate::seed::build_world(&Seed::builtin(), chrono::Utc::now()).unwrap())
    }

    /// Collects what `tracing` writes while `f` runs.
    fn logs_of(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(data);
                Ok(data.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn saves_replace_the_file_and_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("state.json"));
        file.save(&Mutex::new(World::default()));
        file.save(&builtin_world());
        assert_eq!(entries(dir.path()), ["state.json"]);
        let loaded = file.load().unwrap().expect("the file exists");
        assert_eq!(loaded.orgs[0].name, "acme", "the last save wins");
    }

    #[test]
    fn a_failed_write_keeps_the_previous_file_and_is_logged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let file = StateFile::new(path.clone());
        file.save(&Mutex::new(World::default()));
        let before = std::fs::read(&path).unwrap();

        // The temporary file cannot be created (a directory is in its way, even for root).
        std::fs::create_dir(temp_path(&path)).unwrap();
        assert!(file.write(&builtin_world()).is_err());
        let logs = logs_of(|| file.save(&builtin_world()));
        assert_eq!(std::fs::read(&path).unwrap(), before, "old content kept");
        assert!(
            logs.contains("cannot write state file") && logs.contains(&path.display().to_string()),
            "the failure is logged with the path: {logs}"
        );
        std::fs::remove_dir(temp_path(&path)).unwrap();

        // The rename fails (a non-empty directory is in the way): the temporary file is removed.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(blocked.join("inside")).unwrap();
        let file = StateFile::new(blocked.clone());
        assert!(file.write(&builtin_world()).is_err());
        assert!(blocked.join("inside").is_dir());
        assert_eq!(entries(dir.path()), ["blocked", "state.json"]);
    }
}
