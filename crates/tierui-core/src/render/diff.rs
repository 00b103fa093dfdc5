//! The diff engine: objects matched by group/kind/namespace/name, summarised as
//! created / changed (with the paths that changed) / deleted / same, and shown as
//! unified or side-by-side YAML with word-level highlights.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;
use similar::{ChangeTag, TextDiff};

use super::normalize::{CLUSTER_SCOPED, hpa_targets, mask_secret, mask_secret_pair, normalize};
use super::ownership::{CLIENT_SIDE_APPLY, FieldOwner, owners, upgrades_client_side_apply};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    /// API group (`apps`, `""` for core), so v1/v2 of a kind match.
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn of(obj: &Json, default_namespace: &str) -> ObjectKey {
        let api = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let namespace = if CLUSTER_SCOPED.contains(&kind.as_str()) {
            String::new()
        } else {
            obj.pointer("/metadata/namespace")
                .and_then(Json::as_str)
                .unwrap_or(default_namespace)
                .to_string()
        };
        ObjectKey {
            group: api.rsplit_once('/').map_or("", |(g, _)| g).to_string(),
            kind,
            namespace,
            name: obj
                .pointer("/metadata/name")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// `Deployment/day-service` (with `ns/` in front when namespaced).
    pub fn display(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.namespace, self.kind, self.name)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Created,
    Changed { paths: Vec<String> },
    Deleted,
    Same,
}

impl Change {
    pub fn label(&self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Changed { .. } => "changed",
            Change::Deleted => "deleted",
            Change::Same => "same",
        }
    }

    pub fn glyph(&self) -> &'static str {
        match self {
            Change::Created => "+",
            Change::Changed { .. } => "~",
            Change::Deleted => "-",
            Change::Same => "=",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectDiff {
    pub key: ObjectKey,
    #[serde(flatten)]
    pub change: Change,
    /// Normalised YAML of each side ("" when the side has no such object).
    #[serde(skip)]
    pub before: String,
    #[serde(skip)]
    pub after: String,
    /// Per changed field, the field managers that own it in the live object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<FieldOwner>,
    /// Applying first moves client-side `kubectl apply`'s fields to the
    /// applier (the live object carries the last-applied annotation).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub upgrades_client_side_apply: bool,
}

impl ObjectDiff {
    /// Changed fields another manager than `me` owns, which an apply without
    /// force stops on (client-side apply's fields move to `me` first).
    pub fn conflicts(&self, me: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for o in &self.owners {
            for m in &o.managers {
                let moves = self.upgrades_client_side_apply && m == CLIENT_SIDE_APPLY;
                if m != me && !moves {
                    out.push((m.clone(), o.path.clone()));
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Report {
    pub objects: Vec<ObjectDiff>,
}

impl Report {
    pub fn differs(&self) -> bool {
        self.objects.iter().any(|o| o.change != Change::Same)
    }

    pub fn count(&self, label: &str) -> usize {
        self.objects
            .iter()
            .filter(|o| o.change.label() == label)
            .count()
    }
}

pub fn to_yaml(v: &Json) -> String {
    serde_saphyr::to_string(v).unwrap_or_else(|e| format!("# cannot show as YAML: {e}\n"))
}

/// Compares two sets of objects. Objects in `before` only are deleted, in
/// `after` only created. `default_namespace` fills in objects without one.
pub fn diff_objects(before: &[Json], after: &[Json], default_namespace: &str) -> Report {
    let mut all: Vec<Json> = before.to_vec();
    all.extend(after.iter().cloned());
    let hpa = hpa_targets(
        &all.iter()
            .map(|o| with_namespace(o, default_namespace))
            .collect::<Vec<_>>(),
    );
    let index = |objs: &[Json]| -> BTreeMap<ObjectKey, Json> {
        objs.iter()
            .map(|o| {
                (
                    ObjectKey::of(o, default_namespace),
                    normalize(&with_namespace(o, default_namespace), &hpa),
                )
            })
            .collect()
    };
    let (b, a) = (index(before), index(after));
    let raw: BTreeMap<ObjectKey, &Json> = before
        .iter()
        .map(|o| (ObjectKey::of(o, default_namespace), o))
        .collect();
    let mut keys: Vec<&ObjectKey> = b.keys().chain(a.keys()).collect();
    keys.sort_by_key(|k| (&k.namespace, &k.kind, &k.name, &k.group));
    keys.dedup();
    let objects = keys
        .into_iter()
        .map(|k| {
            let (change, before, after) = match (b.get(k), a.get(k)) {
                (Some(x), Some(y)) => {
                    let (mut x, mut y) = (x.clone(), y.clone());
                    mask_secret_pair(&mut x, &mut y);
                    let paths = changed_paths(&x, &y);
                    let change = if paths.is_empty() {
                        Change::Same
                    } else {
                        Change::Changed { paths }
                    };
                    (change, to_yaml(&x), to_yaml(&y))
                }
                (Some(x), None) => {
                    let mut x = x.clone();
                    mask_secret(&mut x);
                    (Change::Deleted, to_yaml(&x), String::new())
                }
                (None, Some(y)) => {
                    let mut y = y.clone();
                    mask_secret(&mut y);
                    (Change::Created, String::new(), to_yaml(&y))
                }
                (None, None) => (Change::Same, String::new(), String::new()),
            };
            let live = raw.get(k).copied();
            let owners = match (&change, live) {
                (Change::Changed { paths }, Some(l)) => owners(l, paths),
                _ => Vec::new(),
            };
            ObjectDiff {
                key: k.clone(),
                change,
                before,
                after,
                owners,
                upgrades_client_side_apply: live.is_some_and(upgrades_client_side_apply),
            }
        })
        .collect();
    Report { objects }
}

fn with_namespace(o: &Json, ns: &str) -> Json {
    let mut o = o.clone();
    let kind = o["kind"].as_str().unwrap_or_default().to_string();
    if !CLUSTER_SCOPED.contains(&kind.as_str())
        && o.pointer("/metadata/namespace").is_none()
        && let Some(Json::Object(meta)) = o.get_mut("metadata")
    {
        meta.insert("namespace".into(), Json::String(ns.into()));
    }
    o
}

/// Dotted paths of every leaf that differs; list items with a `name` are
/// addressed by it (`containers[name=web].image`), as strategic merge does.
pub fn changed_paths(a: &Json, b: &Json) -> Vec<String> {
    let mut out = Vec::new();
    walk("", a, b, &mut out);
    out
}

fn walk(path: &str, a: &Json, b: &Json, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => walk(&join(k), p, q, out),
                    _ => out.push(join(k)),
                }
            }
        }
        (Json::Array(x), Json::Array(y)) => {
            let named = |v: &Vec<Json>| {
                v.iter()
                    .all(|i| i.get("name").and_then(Json::as_str).is_some())
            };
            if named(x) && named(y) && !x.is_empty() {
                let name = |i: &Json| i["name"].as_str().unwrap_or_default().to_string();
                let mut names: Vec<String> = x.iter().chain(y).map(name).collect();
                names.dedup();
                let mut seen = Vec::new();
                for n in names {
                    if seen.contains(&n) {
                        continue;
                    }
                    seen.push(n.clone());
                    let p = format!("{path}[name={n}]");
                    match (
                        x.iter().find(|i| name(i) == n),
                        y.iter().find(|i| name(i) == n),
                    ) {
                        (Some(i), Some(j)) => walk(&p, i, j, out),
                        _ => out.push(p),
                    }
                }
            } else if x.len() == y.len() {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(&format!("{path}[{i}]"), p, q, out);
                }
            } else {
                out.push(path.to_string());
            }
        }
        _ => out.push(path.to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineTag {
    Same,
    Removed,
    Added,
}

/// A piece of a line; `emphasized` marks the words that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub emphasized: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub tag: LineTag,
    pub old: Option<usize>,
    pub new: Option<usize>,
    pub segments: Vec<Segment>,
}

impl DiffLine {
    pub fn text(&self) -> String {
        self.segments.iter().map(|s| s.text.as_str()).collect()
    }
}

/// A unified line diff in hunks of `context` lines, with word-level segments.
pub fn line_diff(before: &str, after: &str, context: usize) -> Vec<Vec<DiffLine>> {
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_lines(before, after);
    diff.grouped_ops(context)
        .iter()
        .map(|group| {
            group
                .iter()
                .flat_map(|op| diff.iter_inline_changes(op))
                .map(|change| {
                    let tag = match change.tag() {
                        ChangeTag::Equal => LineTag::Same,
                        ChangeTag::Delete => LineTag::Removed,
                        ChangeTag::Insert => LineTag::Added,
                    };
                    let segments = change
                        .iter_strings_lossy()
                        .map(|(emph, text)| Segment {
                            text: text.trim_end_matches('\n').to_string(),
                            emphasized: emph && tag != LineTag::Same,
                        })
                        .filter(|s| !s.text.is_empty())
                        .collect();
                    DiffLine {
                        tag,
                        old: change.old_index().map(|i| i + 1),
                        new: change.new_index().map(|i| i + 1),
                        segments,
                    }
                })
                .collect()
        })
        .collect()
}

/// `diff -u` text: what `tierui diff` prints (no colours, no secrets).
pub fn unified_text(report: &Report, from: &str, to: &str) -> String {
    let mut out = String::new();
    for o in report.objects.iter().filter(|o| o.change != Change::Same) {
        let name = o.key.display();
        out.push_str(&format!("--- {from}/{name}\n+++ {to}/{name}\n"));
        for hunk in line_diff(&o.before, &o.after, 3) {
            let (os, ns) = (
                hunk.iter().find_map(|l| l.old).unwrap_or(0),
                hunk.iter().find_map(|l| l.new).unwrap_or(0),
            );
            let (oc, nc) = (
                hunk.iter().filter(|l| l.tag != LineTag::Added).count(),
                hunk.iter().filter(|l| l.tag != LineTag::Removed).count(),
            );
            out.push_str(&format!("@@ -{os},{oc} +{ns},{nc} @@\n"));
            for l in hunk {
                let sign = match l.tag {
                    LineTag::Same => ' ',
                    LineTag::Removed => '-',
                    LineTag::Added => '+',
                };
                out.push_str(&format!("{sign}{}\n", l.text()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(image: &str, replicas: i64) -> Json {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": image}, {"name": "sidecar", "image": "envoy"}]}}}})
    }

    #[test]
    fn summary_and_paths() {
        let before = vec![
            dep("web:v1", 2),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old"}}),
        ];
        let after = vec![
            dep("web:v2", 2),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}),
        ];
        let r = diff_objects(&before, &after, "prod");
        let summary: Vec<String> = r
            .objects
            .iter()
            .map(|o| format!("{} {}", o.change.glyph(), o.key.display()))
            .collect();
        assert_eq!(
            summary,
            [
                "- prod/ConfigMap/old",
                "~ prod/Deployment/web",
                "+ prod/Service/web"
            ]
        );
        assert_eq!(
            r.objects[1].change,
            Change::Changed {
                paths: vec!["spec.template.spec.containers[name=web].image".into()]
            }
        );
        assert!(r.differs());
    }

    #[test]
    fn identical_sets_are_same_and_versions_match_by_group() {
        let a = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "n"}, "spec": {"maxReplicas": 3}});
        let mut b = a.clone();
        b["apiVersion"] = json!("autoscaling/v1");
        let r = diff_objects(std::slice::from_ref(&a), std::slice::from_ref(&a), "n");
        assert!(!r.differs());
        assert_eq!(ObjectKey::of(&a, "x"), ObjectKey::of(&b, "x"));
    }

    #[test]
    fn word_level_segments() {
        let hunks = line_diff("image: web:v1\nname: x\n", "image: web:v2\nname: x\n", 1);
        let removed = hunks[0].iter().find(|l| l.tag == LineTag::Removed).unwrap();
        assert!(
            removed
                .segments
                .iter()
                .any(|s| s.emphasized && s.text.contains("v1")),
            "{removed:?}"
        );
        assert!(
            removed
                .segments
                .iter()
                .any(|s| !s.emphasized && s.text.contains("image")),
            "{removed:?}"
        );
    }

    #[test]
    fn unified_text_like_diff_u() {
        let r = diff_objects(&[dep("web:v1", 2)], &[dep("web:v2", 2)], "prod");
        let text = unified_text(&r, "live", "desired");
        assert!(
            text.starts_with("--- live/prod/Deployment/web\n+++ desired/prod/Deployment/web\n@@ "),
            "{text}"
        );
        assert!(
            text.contains("-      - image: web:v1\n+      - image: web:v2\n")
                || text.contains("-        image: web:v1\n+        image: web:v2\n"),
            "{text}"
        );
    }

    #[test]
    fn thousand_objects_diff_quickly_enough_to_test() {
        let before: Vec<Json> = (0..1000).map(|i| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}, "data": {"k": i}})).collect();
        let mut after = before.clone();
        after[500]["data"]["k"] = json!("changed");
        let r = diff_objects(&before, &after, "n");
        assert_eq!(r.count("changed"), 1);
        assert_eq!(r.count("same"), 999);
    }
}
