//! Never losing an edit: files are opened with a fingerprint, saved atomically
//! (temp file, fsync, rename) after a backup of what they replace, and a file that
//! changed on disk since it was opened is a conflict, never overwritten. Unsaved
//! text lives in drafts in the state dir until it is saved or discarded.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use tierui_core::paths::{fnv1a, private_dir, write_private};

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

/// How many backups of one file are kept (the oldest go first).
pub const BACKUPS_KEPT: usize = 5;

/// Saves `text` over `opened.path` unless the file changed since `opened`.
/// The old content goes to `backups` first (the last [`BACKUPS_KEPT`] per file);
/// saving what is already there writes and backs up nothing. Returns the new
/// fingerprint.
pub fn save(
    opened: &Opened,
    text: &str,
    backups: &Path,
    readonly: bool,
) -> Result<Opened, SaveError> {
    save_with(opened, text, backups, readonly, &|| {})
}

fn save_with(
    opened: &Opened,
    text: &str,
    backups: &Path,
    readonly: bool,
    before_rename: &dyn Fn(),
) -> Result<Opened, SaveError> {
    if readonly {
        return Err(SaveError::Readonly);
    }
    let path = &opened.path;
    let disk = read_disk(path)?;
    if disk.as_ref().map(|d| hash(d)) != Some(opened.hash) {
        return Err(SaveError::Conflict {
            path: path.clone(),
            disk,
        });
    }
    let saved = Opened {
        path: path.clone(),
        text: text.to_string(),
        hash: hash(text),
    };
    if disk.as_deref() == Some(text) {
        return Ok(saved);
    }
    if let Some(old) = &disk {
        backup(path, old, backups)
            .map_err(|e| SaveError::Io(format!("backup of {}: {e:#}", path.display())))?;
    }
    replace(path, text, Some(opened.hash), before_rename)?;
    Ok(saved)
}

fn read_disk(path: &Path) -> Result<Option<String>, SaveError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SaveError::Io(format!("{}: {e}", path.display()))),
    }
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
        .map_or(0, |d| d.as_nanos());
    let folder = dir.join(format!("{:016x}", fnv1a(path.to_string_lossy().as_bytes())));
    let target = folder.join(format!("{name}.{stamp:020}.bak"));
    write_private(&target, old.as_bytes())?;
    prune_backups(&folder, BACKUPS_KEPT);
    Ok(target)
}

/// Keeps the newest `keep` backups in a file's backup folder.
fn prune_backups(folder: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let mut all: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bak"))
        .collect();
    // Names end in a zero-padded timestamp: name order is age order.
    all.sort();
    let extra = all.len().saturating_sub(keep);
    for old in &all[..extra] {
        let _ = std::fs::remove_file(old);
    }
}

/// Temp file beside the target, fsync, rename, fsync the folder: a crash leaves
/// either the old file or the new one. See [`replace`].
pub fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    replace(path, text, None, &|| {}).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The file a path names: a symbolic link is followed (the link stays a link and
/// its target gets the new text).
fn resolve(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// Writes `text` to a temp file beside the file `path` names, which is created
/// with the file's own mode (and, where permitted, owner) before any byte is
/// written, and renames it over the file. With `expect`, the file is read again
/// just before the rename and the save refused if its content changed.
fn replace(
    path: &Path,
    text: &str,
    expect: Option<u64>,
    before_rename: &dyn Fn(),
) -> Result<(), SaveError> {
    let io = |e: std::io::Error, what: &Path| SaveError::Io(format!("{}: {e}", what.display()));
    let target = resolve(path);
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tierui-{}.tmp", std::process::id()));
    let meta = std::fs::metadata(&target).ok();
    let mut f = create_like(&tmp, meta.as_ref()).map_err(|e| io(e, &tmp))?;
    let written = f
        .write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| match &meta {
            Some(m) => std::fs::set_permissions(&tmp, m.permissions()),
            None => Ok(()),
        });
    drop(f);
    let cleanup = |e: SaveError| {
        let _ = std::fs::remove_file(&tmp);
        e
    };
    written.map_err(|e| cleanup(io(e, &tmp)))?;
    if meta.is_some() {
        copy_xattrs(&target, &tmp);
    }
    before_rename();
    if let Some(h) = expect {
        let now = read_disk(&target).map_err(cleanup)?;
        if now.as_ref().map(|d| hash(d)) != Some(h) {
            return Err(cleanup(SaveError::Conflict {
                path: path.to_path_buf(),
                disk: now,
            }));
        }
    }
    std::fs::rename(&tmp, &target).map_err(|e| cleanup(io(e, &target)))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Extended attributes of `from` (labels, quarantine flags, user tags) onto `to`,
/// where the file system has them and the process may set them.
fn copy_xattrs(from: &Path, to: &Path) {
    #[cfg(unix)]
    if let Ok(names) = xattr::list(from) {
        for name in names {
            if let Ok(Some(value)) = xattr::get(from, &name) {
                let _ = xattr::set(to, &name, &value);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (from, to);
}

/// A new file with the mode (and owner, where the process may set it) of `like`;
/// without `like`, the usual mode for new files.
fn create_like(tmp: &Path, like: Option<&std::fs::Metadata>) -> std::io::Result<std::fs::File> {
    let _ = std::fs::remove_file(tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
        if let Some(m) = like {
            opts.mode(m.mode() & 0o777);
        }
        let f = opts.open(tmp)?;
        if let Some(m) = like {
            // Only root may give a file away; others keep their own (EPERM).
            let _ = std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid()));
        }
        Ok(f)
    }
    #[cfg(not(unix))]
    {
        let _ = like;
        opts.open(tmp)
    }
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

    #[test]
    fn saving_through_a_symlink_writes_its_target_and_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        let link = dir.path().join("link.yaml");
        std::fs::write(&real, "x: 1\n").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let opened = open(&link).unwrap();
        save(&opened, "x: 2\n", &dir.path().join("b"), false).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the link was replaced by a file"
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "x: 2\n");
    }

    #[test]
    fn the_temp_file_has_the_files_mode_and_owner_before_any_byte() {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret.yaml");
        std::fs::write(&f, "token: x\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let meta = std::fs::metadata(&f).unwrap();
        let tmp = dir.path().join(".secret.tmp");
        let t = create_like(&tmp, Some(&meta)).unwrap();
        assert_eq!(
            t.metadata().unwrap().permissions().mode() & 0o777,
            0o600,
            "never world-readable, not even empty"
        );
        drop(t);
        let opened = open(&f).unwrap();
        // A file owned by someone else keeps its owner when root saves it.
        let owner_kept = std::os::unix::fs::chown(&f, Some(4242), Some(4242)).is_ok();
        save(&opened, "token: y\n", &dir.path().join("b"), false).unwrap();
        let after = std::fs::metadata(&f).unwrap();
        assert_eq!(after.permissions().mode() & 0o777, 0o600);
        if owner_kept {
            assert_eq!((after.uid(), after.gid()), (4242, 4242));
        }
    }

    #[test]
    fn a_change_just_before_the_rename_is_a_conflict_and_wins() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        std::fs::write(&f, "x: 1\n").unwrap();
        let opened = open(&f).unwrap();
        let other = || std::fs::write(&f, "x: 9\n").unwrap();
        match save_with(&opened, "x: 2\n", &dir.path().join("b"), false, &other) {
            Err(SaveError::Conflict { disk: Some(d), .. }) => assert_eq!(d, "x: 9\n"),
            r => panic!("{r:?}"),
        }
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "x: 9\n");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "temp file left behind");
    }

    #[test]
    fn backups_keep_the_last_few_and_nothing_unchanged() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        let backups = dir.path().join("state").join("backups");
        std::fs::write(&f, "x: 0\n").unwrap();
        let mut opened = open(&f).unwrap();
        // Saving what is there backs up nothing.
        opened = save(&opened, "x: 0\n", &backups, false).unwrap();
        assert!(walk(&backups).is_empty());
        for i in 1..=BACKUPS_KEPT + 3 {
            opened = save(&opened, &format!("x: {i}\n"), &backups, false).unwrap();
        }
        let mut kept = walk(&backups);
        kept.sort();
        assert_eq!(kept.len(), BACKUPS_KEPT);
        // The newest are kept: the last backup holds the text before the last save.
        let last = std::fs::read_to_string(kept.last().unwrap()).unwrap();
        assert_eq!(last, format!("x: {}\n", BACKUPS_KEPT + 2));
        for k in &kept {
            let mode = std::fs::metadata(k).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", k.display());
            let folder = std::fs::metadata(k.parent().unwrap()).unwrap();
            assert_eq!(folder.permissions().mode() & 0o777, 0o700);
        }
    }

    #[test]
    fn extended_attributes_survive_a_save_where_the_file_system_has_them() {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let f = dir.path().join("a.yaml");
        std::fs::write(&f, "x: 1\n").unwrap();
        if xattr::set(&f, "user.tierui.test", b"kept").is_err() {
            // This file system keeps no user attributes: nothing to keep.
            eprintln!("no user xattrs on {}", dir.path().display());
            return;
        }
        let opened = open(&f).unwrap();
        save(&opened, "x: 2\n", &dir.path().join("b"), false).unwrap();
        assert_eq!(
            xattr::get(&f, "user.tierui.test").unwrap().as_deref(),
            Some(&b"kept"[..])
        );
    }
}

/// Folders whose files are not the workspace's sources (toolchains, builds, VCS).
const NOT_SOURCES: &[&str] = &[
    ".git",
    "node_modules",
    "venv",
    ".venv",
    "__pycache__",
    "target",
    ".tierui",
];

/// Whether a file name is one of the workspace's sources (YAML, JSON,
/// programs, scripts).
pub fn is_source(name: &str) -> bool {
    [
        ".yaml", ".yml", ".json", ".py", ".ts", ".js", ".sh", ".toml", ".txt",
    ]
    .iter()
    .any(|x| name.ends_with(x))
}

/// Whether a path lies in a folder that holds no sources (toolchains, VCS).
pub fn in_source_tree(root: &std::path::Path, path: &std::path::Path) -> bool {
    path.strip_prefix(root).is_ok_and(|rel| {
        rel.components()
            .all(|c| !NOT_SOURCES.contains(&c.as_os_str().to_string_lossy().as_ref()))
    })
}

/// Every folder under `root` that may hold sources (toolchain folders
/// skipped), `root` first; and the source files in them.
pub fn source_tree(root: &std::path::Path) -> (Vec<std::path::PathBuf>, Vec<std::fs::DirEntry>) {
    let mut dirs = vec![root.to_path_buf()];
    let mut files = Vec::new();
    let mut next = 0;
    while let Some(dir) = dirs.get(next).cloned() {
        next += 1;
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                if !NOT_SOURCES.contains(&name.as_ref()) {
                    dirs.push(e.path());
                }
            } else if is_source(&name) && files.len() < 50_000 {
                // (a bound, so a folder of generated files cannot make this slow)
                files.push(e);
            }
        }
    }
    (dirs, files)
}

/// A hash of every source file's path, size and modification time under
/// `root`: it changes when a file is edited, added or removed. (Where the
/// system cannot tell tierui of changes, it is asked once a second.)
pub fn fingerprint(root: &std::path::Path) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for e in source_tree(root).1 {
        if let Ok(m) = e.metadata() {
            e.path().hash(&mut h);
            m.len().hash(&mut h);
            m.modified().ok().hash(&mut h);
        }
    }
    h.finish()
}

#[cfg(test)]
mod fingerprint_tests {
    #[test]
    fn changes_with_an_edit_and_not_without() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("k8s/web")).unwrap();
        std::fs::create_dir_all(dir.path().join("node_modules/x")).unwrap();
        std::fs::write(dir.path().join("k8s/web/deploy.yaml"), "a: 1\n").unwrap();
        let a = super::fingerprint(dir.path());
        assert_eq!(a, super::fingerprint(dir.path()));
        // Toolchain folders are not sources.
        std::fs::write(dir.path().join("node_modules/x/index.js"), "1").unwrap();
        assert_eq!(a, super::fingerprint(dir.path()));
        std::fs::write(dir.path().join("k8s/web/deploy.yaml"), "a: 22\n").unwrap();
        let b = super::fingerprint(dir.path());
        assert_ne!(a, b);
        std::fs::write(dir.path().join("k8s/web/svc.yaml"), "b: 1\n").unwrap();
        assert_ne!(b, super::fingerprint(dir.path()));
        // The folders to watch: not the toolchain's.
        let (dirs, files) = super::source_tree(dir.path());
        assert_eq!(dirs.len(), 3, "{dirs:?}");
        assert_eq!(files.len(), 2);
        assert!(super::in_source_tree(
            dir.path(),
            &dir.path().join("k8s/web/x.yaml")
        ));
        assert!(!super::in_source_tree(
            dir.path(),
            &dir.path().join("node_modules/x/a.json")
        ));
    }
}
