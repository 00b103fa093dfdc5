//! Never losing an edit: files are opened with a fingerprint, saved atomically
//! (temp file, fsync, rename) after a backup of what they replace, and a file that
//! changed on disk since it was opened is a conflict, never overwritten. Unsaved
//! text lives in drafts in the state dir until it is saved or discarded.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::paths::{fnv1a, private_dir, write_private};

/// A file's content as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub path: PathBuf,
    pub text: String,
    pub hash: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    #[error(
        "--readonly: tierui does not write files in read-only mode (nothing was saved; your text is kept)"
    )]
    Readonly,
    #[error("{path} changed on disk since it was opened")]
    Conflict {
        path: PathBuf,
        /// What is on disk now (`None`: the file was deleted).
        disk: Option<String>,
    },
    #[error("{0}")]
    Io(String),
}

pub fn hash(text: &str) -> u64 {
    fnv1a(text.as_bytes())
}

pub fn open(path: &Path) -> Result<Opened, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    Ok(Opened {
        path: path.to_path_buf(),
        hash: hash(&text),
        text,
    })
}

/// Saves `text` over `opened.path` unless the file changed since `opened`.
/// The old content goes to `backups` first. Returns the new fingerprint.
pub fn save(
    opened: &Opened,
    text: &str,
    backups: &Path,
    readonly: bool,
) -> Result<Opened, SaveError> {
    if readonly {
        return Err(SaveError::Readonly);
    }
    let path = &opened.path;
    let disk = match std::fs::read(path) {
        Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(SaveError::Io(format!("{}: {e}", path.display()))),
    };
    if disk.as_ref().map(|d| hash(d)) != Some(opened.hash) {
        return Err(SaveError::Conflict {
            path: path.clone(),
            disk,
        });
    }
    if let Some(old) = &disk {
        backup(path, old, backups)
            .map_err(|e| SaveError::Io(format!("backup of {}: {e:#}", path.display())))?;
    }
    write_atomic(path, text).map_err(|e| SaveError::Io(format!("{}: {e:#}", path.display())))?;
    Ok(Opened {
        path: path.clone(),
        text: text.to_string(),
        hash: hash(text),
    })
}

/// Overwrites whatever is on disk (after the operator chose "overwrite" on a conflict).
pub fn overwrite(
    path: &Path,
    text: &str,
    backups: &Path,
    readonly: bool,
) -> Result<Opened, SaveError> {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    save(
        &Opened {
            path: path.to_path_buf(),
            text: current.clone(),
            hash: hash(&current),
        },
        text,
        backups,
        readonly,
    )
    .or_else(|e| match e {
        // The file vanished meanwhile: create it.
        SaveError::Conflict { disk: None, .. } => write_atomic(path, text)
            .map(|()| Opened {
                path: path.to_path_buf(),
                text: text.to_string(),
                hash: hash(text),
            })
            .map_err(|e| SaveError::Io(format!("{e:#}"))),
        other => Err(other),
    })
}

fn backup(path: &Path, old: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let target = dir
        .join(format!("{:016x}", fnv1a(path.to_string_lossy().as_bytes())))
        .join(format!("{name}.{stamp}.bak"));
    write_private(&target, old.as_bytes())?;
    Ok(target)
}

/// Temp file beside the target, fsync, keep the old file's permissions, rename,
/// fsync the folder: a crash leaves either the old file or the new one.
pub fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tierui-{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions())?;
    }
    drop(f);
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Unsaved text of a file, kept in the state dir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub path: PathBuf,
    /// Fingerprint of the file the draft was started from.
    pub base_hash: u64,
    pub text: String,
    /// Unix ms of the last autosave.
    pub saved_at: u64,
}

fn draft_file(dir: &Path, path: &Path) -> PathBuf {
    dir.join(format!(
        "{:016x}.json",
        fnv1a(path.to_string_lossy().as_bytes())
    ))
}

pub fn save_draft(dir: &Path, draft: &Draft) -> anyhow::Result<()> {
    private_dir(dir)?;
    write_private(&draft_file(dir, &draft.path), &serde_json::to_vec(draft)?)
}

pub fn load_draft(dir: &Path, path: &Path) -> Option<Draft> {
    let bytes = std::fs::read(draft_file(dir, path)).ok()?;
    serde_json::from_slice(&bytes)
        .ok()
        .filter(|d: &Draft| d.path == path)
}

pub fn remove_draft(dir: &Path, path: &Path) {
    let _ = std::fs::remove_file(draft_file(dir, path));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_backs_up_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        std::fs::write(&f, "x: 1\n").unwrap();
        let opened = open(&f).unwrap();
        let saved = save(&opened, "x: 2\n", &dir.path().join("backups"), false).unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "x: 2\n");
        assert_eq!(saved.hash, hash("x: 2\n"));
        let backups: Vec<_> = walk(&dir.path().join("backups"));
        assert_eq!(backups.len(), 1);
        assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), "x: 1\n");
        assert!(
            !std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().contains(".tmp"))
        );
    }

    fn walk(d: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }

    #[test]
    fn changed_or_deleted_on_disk_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        std::fs::write(&f, "x: 1\n").unwrap();
        let opened = open(&f).unwrap();
        std::fs::write(&f, "x: 9\n").unwrap();
        match save(&opened, "x: 2\n", dir.path(), false) {
            Err(SaveError::Conflict { disk: Some(d), .. }) => assert_eq!(d, "x: 9\n"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            "x: 9\n",
            "never silently overwritten"
        );
        std::fs::remove_file(&f).unwrap();
        assert!(matches!(
            save(&opened, "x: 2\n", dir.path(), false),
            Err(SaveError::Conflict { disk: None, .. })
        ));
        overwrite(&f, "x: 2\n", dir.path(), false).unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "x: 2\n");
    }

    #[test]
    fn readonly_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        std::fs::write(&f, "x: 1\n").unwrap();
        let opened = open(&f).unwrap();
        assert_eq!(
            save(&opened, "x: 2\n", dir.path(), true),
            Err(SaveError::Readonly)
        );
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "x: 1\n");
    }

    #[test]
    fn drafts_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let d = Draft {
            path: "/w/a.yaml".into(),
            base_hash: 7,
            text: "x: 3\n".into(),
            saved_at: 1,
        };
        save_draft(dir.path(), &d).unwrap();
        assert_eq!(load_draft(dir.path(), Path::new("/w/a.yaml")), Some(d));
        remove_draft(dir.path(), Path::new("/w/a.yaml"));
        assert_eq!(load_draft(dir.path(), Path::new("/w/a.yaml")), None);
    }
}
