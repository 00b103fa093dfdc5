//! Where tierui keeps its files: the config dir (themes, keymap) and the state dir
//! (logs, drafts, walkthrough state, the sandbox world, the extracted demo).
//!
//! `TIERUI_CONFIG_DIR` and `TIERUI_STATE_DIR` override both, which is how tests and
//! several side-by-side installations stay apart. Everything tierui writes in the
//! state dir is created 0600 inside 0700 folders.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

#[derive(Debug, Clone)]
pub struct Dirs {
    pub config: PathBuf,
    pub state: PathBuf,
}

impl Dirs {
    pub fn discover() -> Result<Dirs> {
        let project = directories::ProjectDirs::from("io", "tierui", "tierui");
        let config = match std::env::var_os("TIERUI_CONFIG_DIR") {
            Some(d) => PathBuf::from(d),
            None => project
                .as_ref()
                .map(|p| p.config_dir().to_path_buf())
                .context("no home directory to keep tierui's config in; set TIERUI_CONFIG_DIR")?,
        };
        let state = match std::env::var_os("TIERUI_STATE_DIR") {
            Some(d) => PathBuf::from(d),
            None => project
                .as_ref()
                .map(|p| {
                    p.state_dir()
                        .unwrap_or_else(|| p.data_local_dir())
                        .to_path_buf()
                })
                .context("no home directory to keep tierui's state in; set TIERUI_STATE_DIR")?,
        };
        Ok(Dirs { config, state })
    }

    pub fn log_file(&self) -> PathBuf {
        self.state.join("tierui.log")
    }

    pub fn demo_workspace(&self) -> PathBuf {
        self.state.join("demo").join("foundation")
    }

    /// Per-workspace folder for the sandbox world, walkthrough state and drafts.
    pub fn workspace_state(&self, root: &Path) -> PathBuf {
        let name = root
            .file_name()
            .map_or_else(|| "workspace".into(), |n| n.to_string_lossy().into_owned());
        self.state.join("workspaces").join(format!(
            "{name}-{:016x}",
            fnv1a(root.to_string_lossy().as_bytes())
        ))
    }
}

/// A stable hash for folder names (std's hasher is randomly seeded per process).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Resolves `.` and `..` without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Creates `dir` and its missing parents with mode 0700.
pub fn private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes a file atomically (temp file, fsync, rename) with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("path has no parent folder")?;
    private_dir(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// Puts the embedded demo workspace at `dest`, adding files that are missing and
/// leaving the operator's edits alone.
pub fn extract_demo(dest: &Path) -> Result<()> {
    for (rel, bytes) in crate::demo::files_under("fixtures/demo/") {
        let path = dest.join(rel);
        if path.exists() {
            continue;
        }
        if let Some(parent) = path.parent() {
            private_dir(parent)?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        #[cfg(unix)]
        if rel.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_and_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/state.json");
        write_private(&file, b"{}").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"{}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                std::fs::metadata(dir.path().join("a/b"))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
    }

    #[test]
    fn demo_extraction_keeps_edits() {
        let dir = tempfile::tempdir().unwrap();
        extract_demo(dir.path()).unwrap();
        let f = dir.path().join("tierui.yaml");
        std::fs::write(&f, "name: edited\n").unwrap();
        extract_demo(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "name: edited\n");
        assert!(dir.path().join("k8s/dusk/hpa.yaml").is_file());
    }
}

/// An exclusive lock on a file, held until dropped (or the process ends: the
/// operating system releases it, so a crash never leaves a stale lock). The file
/// names its holder, so a second process can say who has it.
#[derive(Debug)]
pub struct FileLock {
    _file: std::fs::File,
    pub path: PathBuf,
}

/// Why a lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it; its own description (PID and command).
    Held {
        holder: String,
    },
    Io(anyhow::Error),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held { holder } => write!(f, "held by {holder}"),
            LockError::Io(e) => write!(f, "{e:#}"),
        }
    }
}

/// Takes the lock at `path` without waiting, writing this process's PID and
/// command line into it.
pub fn try_lock(path: &Path) -> std::result::Result<FileLock, LockError> {
    use std::io::{Read as _, Seek as _};
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir).map_err(LockError::Io)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
        .map_err(LockError::Io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(LockError::Held {
                holder: if holder.is_empty() {
                    "another tierui process".to_string()
                } else {
                    holder.to_string()
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(LockError::Io(anyhow::anyhow!(
                "cannot lock {}: {e}",
                path.display()
            )));
        }
    }
    let args: Vec<String> = std::env::args().collect();
    let me = format!(
        "PID {} ({})",
        std::process::id(),
        args.iter()
            .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
            .take(6)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(me.as_bytes()))
        .and_then(|()| file.flush());
    written
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(LockError::Io)?;
    Ok(FileLock {
        _file: file,
        path: path.to_path_buf(),
    })
}

/// Locks this process keeps until it ends, by path.
static HELD: std::sync::Mutex<Vec<FileLock>> = std::sync::Mutex::new(Vec::new());

/// Takes the lock at `path` for the rest of this process (again and again is
/// fine). `Ok(true)` the first time: what the lock guards may have been changed
/// by its previous holder, so re-read it.
pub fn hold_for_process(path: &Path) -> std::result::Result<bool, LockError> {
    let mut held = HELD
        .lock()
        .map_err(|_| LockError::Io(anyhow::anyhow!("lock registry poisoned")))?;
    if held.iter().any(|l| l.path == path) {
        return Ok(false);
    }
    held.push(try_lock(path)?);
    Ok(true)
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("walkthrough.lock");
        let first = try_lock(&path).unwrap();
        match try_lock(&path) {
            Err(LockError::Held { holder }) => {
                assert!(
                    holder.starts_with(&format!("PID {}", std::process::id())),
                    "{holder}"
                )
            }
            other => panic!("second lock: {other:?}"),
        }
        drop(first);
        // Released with its holder.
        let again = try_lock(&path).unwrap();
        assert_eq!(again.path, path);
    }
}
