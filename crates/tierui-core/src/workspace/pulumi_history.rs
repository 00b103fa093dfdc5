//! A Pulumi stack's deployment history from the file (DIY) backend, to roll a
//! Pulumi release back by writing an earlier deployment's config into
//! `Pulumi.<stack>.yaml` (then the usual diff → apply deploys it).
//!
//! The backend writes one `UpdateInfo` per operation (`pulumi up`, `refresh`,
//! `destroy`…) to `.pulumi/history/<project>/<stack>/<stack>-<unix-nanos>.history.json`
//! (stacks of the project layout; `.pulumi/history/<stack>/…` in the legacy
//! layout), next to a `.checkpoint.json` of the same name. Its fields are
//! Pulumi's `apitype.UpdateInfo` (sdk/go/common/apitype/history.go): `kind`,
//! `startTime`, `endTime` (Unix seconds), `message`, `result`, `version`,
//! `resourceChanges`, and `config`, a map of `project:key` to
//! `{string, secret, object}` — for a secret, `string` is the ciphertext as
//! it is in the stack file (`secure:`), never the value.
//!
//! Secrets are never shown: [`HistValue`]'s Debug and Display and every diff
//! say `[secret]`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::edit::{self, NewValue, Step};
use super::pulumi::Project;
use super::yaml;

/// A config value as the history records it.
#[derive(Clone, PartialEq, Eq)]
pub struct HistValue {
    /// The text; a secret's ciphertext; an object's JSON.
    pub value: String,
    pub secret: bool,
    pub object: bool,
}

impl HistValue {
    /// What may be shown: the text, or `[secret]`.
    pub fn shown(&self) -> String {
        if self.secret {
            "[secret]".into()
        } else {
            self.value.clone()
        }
    }
}

impl fmt::Debug for HistValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistValue")
            .field("value", &self.shown())
            .field("secret", &self.secret)
            .field("object", &self.object)
            .finish()
    }
}

impl fmt::Display for HistValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// One deployment (update, refresh, destroy…) of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub file: PathBuf,
    pub kind: String,
    pub version: u64,
    pub start: i64,
    pub end: i64,
    pub result: String,
    pub message: String,
    pub config: BTreeMap<String, HistValue>,
    pub resource_changes: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("{file}:{line}:{col}: {message}")]
    Json {
        file: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Io { file: String, message: String },
}

#[derive(serde::Deserialize)]
struct RawValue {
    #[serde(default)]
    string: String,
    #[serde(default)]
    secret: bool,
    #[serde(default)]
    object: bool,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInfo {
    kind: String,
    #[serde(default)]
    start_time: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    config: BTreeMap<String, RawValue>,
    #[serde(default)]
    result: String,
    #[serde(default)]
    end_time: i64,
    #[serde(default)]
    version: u64,
    #[serde(default)]
    resource_changes: BTreeMap<String, u64>,
}

/// Parses one history file's bytes (errors name line:column).
pub fn parse(file: &Path, bytes: &[u8]) -> Result<Deployment, HistoryError> {
    let raw: RawInfo = serde_json::from_slice(bytes).map_err(|e| HistoryError::Json {
        file: file.display().to_string(),
        line: e.line(),
        col: e.column(),
        message: e
            .to_string()
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_string(),
    })?;
    Ok(Deployment {
        file: file.to_path_buf(),
        kind: raw.kind,
        version: raw.version,
        start: raw.start_time,
        end: raw.end_time,
        result: raw.result,
        message: raw.message,
        config: raw
            .config
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    HistValue {
                        value: v.string,
                        secret: v.secret,
                        object: v.object,
                    },
                )
            })
            .collect(),
        resource_changes: raw.resource_changes,
    })
}

/// The history directories a stack may have, in the checkpoint's roots
/// (see [`super::pulumi::find_checkpoint`]): project layout, then legacy.
fn dirs(project_dir: &Path, workspace_root: &Path, project: &Project, stack: &str) -> Vec<PathBuf> {
    super::pulumi::state_roots(project_dir, workspace_root, project)
        .into_iter()
        .flat_map(|root| {
            let h = root.join(".pulumi").join("history");
            [h.join(&project.name).join(stack), h.join(stack)]
        })
        .collect()
}

/// A stack's deployments, newest first (by version, then start time). No
/// history directory: none. A file that cannot be read or parsed is an error
/// naming it (and its line:column).
pub fn find_history(
    project_dir: &Path,
    workspace_root: &Path,
    project: &Project,
    stack: &str,
) -> Result<Vec<Deployment>, HistoryError> {
    let Some(dir) = dirs(project_dir, workspace_root, project, stack)
        .into_iter()
        .find(|d| d.is_dir())
    else {
        return Ok(Vec::new());
    };
    let io = |p: &Path, e: std::io::Error| HistoryError::Io {
        file: p.display().to_string(),
        message: e.to_string(),
    };
    let prefix = format!("{stack}-");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
        let path = entry.map_err(|e| io(&dir, e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !(name.starts_with(&prefix) && name.ends_with(".history.json")) {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        out.push(parse(&path, &bytes)?);
    }
    out.sort_by_key(|d| std::cmp::Reverse((d.version, d.start)));
    Ok(out)
}

/// The config a stack file holds now, in the history's terms (a secure
/// value's ciphertext, a structured value's JSON).
pub fn current_config(text: &str) -> Result<BTreeMap<String, HistValue>, String> {
    let root = yaml::parse_single(text).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (k, v) in root
        .get("config")
        .and_then(yaml::Node::as_map)
        .unwrap_or_default()
    {
        let Some(key) = k.key_text() else { continue };
        let value = if let Some(c) = v.get("secure").and_then(yaml::Node::scalar_text) {
            HistValue {
                value: c,
                secret: true,
                object: false,
            }
        } else if let Some(t) = v.scalar_text() {
            HistValue {
                value: t,
                secret: false,
                object: false,
            }
        } else {
            HistValue {
                value: v.to_json().to_string(),
                secret: false,
                object: true,
            }
        };
        out.insert(key, value);
    }
    Ok(out)
}

/// One key's change from now to the chosen deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    pub key: String,
    /// Shown values (`[secret]` for secrets).
    pub now: Option<String>,
    pub then: Option<String>,
    pub secret: bool,
}

impl fmt::Display for ConfigChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.now, &self.then) {
            (Some(_), Some(_)) if self.secret => write!(f, "~ {}: [secret] changed", self.key),
            (Some(a), Some(b)) => write!(f, "~ {}: {a} → {b}", self.key),
            (None, Some(b)) => write!(f, "+ {}: {b}", self.key),
            (Some(a), None) => write!(f, "- {}: {a}", self.key),
            (None, None) => write!(f, "  {}", self.key),
        }
    }
}

fn same(a: &HistValue, b: &HistValue) -> bool {
    if a.object && b.object {
        let pa: Option<serde_json::Value> = serde_json::from_str(&a.value).ok();
        let pb: Option<serde_json::Value> = serde_json::from_str(&b.value).ok();
        return pa.is_some() && pa == pb;
    }
    a == b
}

/// What restoring `then` changes in `now` (secrets without their values).
pub fn config_diff(
    now: &BTreeMap<String, HistValue>,
    then: &BTreeMap<String, HistValue>,
) -> Vec<ConfigChange> {
    let mut keys: Vec<&String> = now.keys().chain(then.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (a, b) = (now.get(k), then.get(k));
            if let (Some(a), Some(b)) = (a, b)
                && same(a, b)
            {
                return None;
            }
            Some(ConfigChange {
                key: k.clone(),
                now: a.map(HistValue::shown),
                then: b.map(HistValue::shown),
                secret: a.is_some_and(|v| v.secret) || b.is_some_and(|v| v.secret),
            })
        })
        .collect()
}

/// The stack file's text with `chosen`'s config: unchanged keys, comments
/// and order stay byte for byte; changed values are rewritten in place;
/// keys the deployment did not have are removed, keys only it had are added
/// at the end of `config:`. Secrets are restored as recorded (`secure:`
/// ciphertext). Returns the text and notes (what could not be restored).
pub fn restore_config(text: &str, chosen: &Deployment) -> Result<(String, Vec<String>), String> {
    let now = current_config(text)?;
    let config = [Step::Key("config".into())];
    let mut out = text.to_string();
    let mut notes = Vec::new();
    let err = |k: &str, e: edit::EditError| format!("config {k}: {e}");
    if yaml::parse_single(&out)
        .map_err(|e| e.to_string())?
        .get("config")
        .and_then(yaml::Node::as_map)
        .is_none_or(|m| m.is_empty())
    {
        if chosen.config.is_empty() {
            return Ok((out, notes));
        }
        return Err(
            "the stack file has no config: mapping to restore into; add one (or edit by hand)"
                .into(),
        );
    }
    for (k, then) in &chosen.config {
        if now.get(k).is_some_and(|v| same(v, then)) {
            continue;
        }
        if then.object {
            notes.push(format!(
                "{k} is a structured value: left as it is (restore it by hand)"
            ));
            continue;
        }
        out = if then.secret {
            edit::set_secure(&out, 0, &config, k, &then.value).map_err(|e| err(k, e))?
        } else {
            edit::set_key(&out, 0, &config, k, &NewValue::Str(then.value.clone()))
                .map_err(|e| err(k, e))?
        };
    }
    for k in now.keys().filter(|k| !chosen.config.contains_key(*k)) {
        out = edit::remove_key(&out, 0, &config, k).map_err(|e| err(k, e))?;
    }
    Ok((out, notes))
}

/// One line for a list: `#7 update succeeded 2026-11-30 14:02 (+1 ~2 -0) "message"`.
pub fn summary(d: &Deployment) -> String {
    let when = jiff::Timestamp::from_second(d.start)
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    let n = |k: &str| d.resource_changes.get(k).copied().unwrap_or(0);
    let mut s = format!(
        "#{} {} {} {when} (+{} ~{} -{})",
        d.version,
        d.kind,
        d.result,
        n("create"),
        n("update") + n("replace"),
        n("delete")
    );
    if !d.message.is_empty() {
        s.push_str(&format!(
            " \"{}\"",
            d.message.lines().next().unwrap_or_default()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pulumi-history")
    }

    fn project() -> Project {
        Project {
            name: "day-service".into(),
            runtime: "python".into(),
            description: None,
            backend_url: None,
            config: Vec::new(),
            resources: Vec::new(),
            main: None,
            options: Default::default(),
        }
    }

    fn history() -> Vec<Deployment> {
        let root = fixture();
        find_history(&root.join("app"), &root, &project(), "production").unwrap()
    }

    #[test]
    fn deployments_newest_first_with_their_config() {
        let h = history();
        let versions: Vec<u64> = h.iter().map(|d| d.version).collect();
        assert_eq!(versions, vec![3, 2, 1]);
        assert_eq!(h[0].result, "failed");
        assert_eq!(h[2].config["day-service:imageTag"].value, "v1.2.2");
        assert!(h[2].config["day-service:apiToken"].secret);
        assert_eq!(
            summary(&h[1]),
            "#2 update succeeded 2026-11-28 09:15 (+0 ~1 -0) \"imageTag v1.2.3\""
        );
        // A stack without history has none.
        let none = find_history(&fixture().join("app"), &fixture(), &project(), "dev").unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn secrets_never_show() {
        let h = history();
        let debug = format!("{:?}", h[2]);
        assert!(!debug.contains("AAABAJ"), "{debug}");
        assert!(debug.contains("[secret]"));
        let now = current_config(
            &std::fs::read_to_string(fixture().join("app/Pulumi.production.yaml")).unwrap(),
        )
        .unwrap();
        let diff = config_diff(&now, &h[2].config);
        let shown: Vec<String> = diff.iter().map(ToString::to_string).collect();
        assert!(
            shown.contains(&"~ day-service:imageTag: v1.2.4 → v1.2.2".to_string()),
            "{shown:?}"
        );
        assert!(
            shown.contains(&"~ day-service:apiToken: [secret] changed".to_string()),
            "{shown:?}"
        );
        assert!(shown.iter().all(|l| !l.contains("AAABAJ")), "{shown:?}");
    }

    #[test]
    fn bad_json_names_file_line_and_column() {
        let e = parse(
            Path::new("h.history.json"),
            b"{\n  \"kind\": \"update\",\n  oops\n}",
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("h.history.json:3:3:"), "{s}");
    }

    #[test]
    fn restoring_keeps_comments_order_and_round_trips() {
        let text = std::fs::read_to_string(fixture().join("app/Pulumi.production.yaml")).unwrap();
        let h = history();
        let (out, notes) = restore_config(&text, &h[2]).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        // The comment and the untouched key's line survive byte for byte.
        for keep in [
            "# production settings — owned by the payments team",
            "  aws:region: us-west-2",
        ] {
            assert!(out.contains(keep), "{out}");
        }
        let back = current_config(&out).unwrap();
        assert!(config_diff(&back, &h[2].config).is_empty(), "{out}");
        // Order kept: region still before the image tag.
        assert!(out.find("aws:region").unwrap() < out.find("imageTag").unwrap());
        // A key the deployment did not have is gone; one only it had is back.
        assert!(!out.contains("day-service:featureFlag"), "{out}");
        assert!(
            out.contains("day-service:replicas: \"3\"") || out.contains("day-service:replicas: 3"),
            "{out}"
        );
        // Restoring the current config changes nothing.
        let current = Deployment {
            config: current_config(&text).unwrap(),
            ..h[0].clone()
        };
        assert_eq!(restore_config(&text, &current).unwrap().0, text);
    }
}
