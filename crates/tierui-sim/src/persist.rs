//! The state file: every stored object and the resource version, so a sandbox
//! cluster keeps what the operator applied across runs. Written atomically,
//! 0600 in a 0700 directory.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use super::kinds;
use super::state::State;

pub fn save(st: &State, path: &Path) -> anyhow::Result<()> {
    let mut out = Vec::with_capacity(1 << 16);
    out.extend_from_slice(
        format!("{{\"resourceVersion\":{},\"objects\":[", st.store.rv()).as_bytes(),
    );
    let mut first = true;
    for e in st.store.all().filter(|e| e.kind != kinds::EVENT) {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(&e.bytes);
    }
    out.extend_from_slice(b"]}");
    write_private(path, &out)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// Loads a saved store into `st`; false when there is no file yet.
pub fn load(st: &mut State, path: &Path) -> anyhow::Result<bool> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a simulator state file", path.display()))?;
    let objects = doc
        .get("objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // CRDs first: their kinds must be served before their objects are read.
    let (crds, rest): (Vec<Value>, Vec<Value>) = objects
        .into_iter()
        .partition(|o| o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition"));
    for (i, batch) in [crds, rest].into_iter().enumerate() {
        for o in batch {
            let av = o
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let k = o.get("kind").and_then(Value::as_str).unwrap_or_default();
            if let Some(kind) = kinds::by_gvk(av, k) {
                st.store.commit(kind, o);
            }
        }
        if i == 0 {
            crate::crd::sync(st);
        }
    }
    let rv = doc
        .get("resourceVersion")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    st.store.set_rv_at_least(rv);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_objects_and_versions_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        let mut st = State::new(1);
        st.put(
            kinds::NAMESPACE,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}),
        );
        save(&st, &path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                std::fs::metadata(path.parent().unwrap())
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
        let mut back = State::new(1);
        assert!(load(&mut back, &path).unwrap());
        assert!(back.store.get(kinds::NAMESPACE, "", "a").is_some());
        assert!(back.store.rv() >= st.store.rv());
        assert!(!load(&mut State::new(1), &dir.path().join("none.json")).unwrap());
    }
}
