//! Two environments of a service side by side: their config values (a Pulumi
//! stack's, with the project's defaults), then their rendered objects field
//! by field. Secrets are never compared by value: a stack's secrets are
//! encrypted per stack, and a Secret's data is masked.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::normalize::mask_secret;
use crate::workspace::model::{Release, ReleaseSource};
use crate::workspace::pulumi::ConfigValue;

/// One config key in both environments.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRow {
    /// As written in the stack file (`day-service:image_tag`).
    pub key: String,
    pub left: String,
    pub right: String,
    pub differs: bool,
    /// The left value as text, when it can be written into the right stack
    /// (plain text; never a secret or a structure).
    pub promotable: Option<String>,
}

/// One field of one object that differs between the environments.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRow {
    /// `Kind/name`.
    pub object: String,
    /// `spec.template.spec.containers[web].image`.
    pub path: String,
    pub left: String,
    pub right: String,
}

/// What is shown for a value one side lacks.
pub const ABSENT: &str = "—";

/// The release's config: each key's shown value and its plain text, the
/// stack's values first, then the project's defaults for keys it leaves out.
fn config_of(r: &Release) -> BTreeMap<String, (String, Option<String>)> {
    let mut out = BTreeMap::new();
    let ReleaseSource::Pulumi(p) = &r.source else {
        return out;
    };
    if let Some(cfg) = &p.config {
        for e in &cfg.entries {
            let text = match &e.value {
                ConfigValue::Text(t) => Some(t.clone()),
                _ => None,
            };
            out.insert(e.key.clone(), (e.value.display(), text));
        }
    }
    if let Some(project) = &p.project {
        for d in &project.config {
            let key = if d.name.contains(':') {
                d.name.clone()
            } else {
                format!("{}:{}", project.name, d.name)
            };
            if out.contains_key(&key) {
                continue;
            }
            if let Some(v) = &d.default {
                let text = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.insert(key, (format!("{text} (default)"), None));
            }
        }
    }
    out
}

/// Every config key of either environment, differing ones first.
pub fn config_rows(left: &Release, right: &Release) -> Vec<ConfigRow> {
    let (l, r) = (config_of(left), config_of(right));
    let keys: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
    let mut rows: Vec<ConfigRow> = keys
        .into_iter()
        .map(|k| {
            let shown = |m: &BTreeMap<String, (String, Option<String>)>| {
                m.get(k).map_or(ABSENT.to_string(), |(s, _)| s.clone())
            };
            let (left_v, right_v) = (shown(&l), shown(&r));
            let secret = left_v == crate::workspace::pulumi::SECRET
                || right_v == crate::workspace::pulumi::SECRET;
            let plain = |v: &str| v.trim_end_matches(" (default)").to_string();
            let differs = !secret && plain(&left_v) != plain(&right_v);
            ConfigRow {
                key: k.clone(),
                promotable: l.get(k).and_then(|(_, t)| t.clone()).filter(|_| differs),
                left: left_v,
                right: right_v,
                differs,
            }
        })
        .collect();
    rows.sort_by_key(|r| !r.differs);
    rows
}

/// The fields that differ between two environments' rendered objects,
/// matched by kind and name (their namespaces differ by design and are left
/// out); an object only one side has is one row.
pub fn field_rows(left: &[Json], right: &[Json]) -> Vec<FieldRow> {
    let index = |objs: &[Json]| -> BTreeMap<String, Json> {
        objs.iter()
            .map(|o| {
                let mut o = o.clone();
                mask_secret(&mut o);
                if let Some(m) = o.get_mut("metadata").and_then(Json::as_object_mut) {
                    m.remove("namespace");
                }
                let name = format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap_or("?"),
                    o.pointer("/metadata/name")
                        .and_then(Json::as_str)
                        .unwrap_or("?")
                );
                (name, o)
            })
            .collect()
    };
    let (l, r) = (index(left), index(right));
    let names: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
    let mut rows = Vec::new();
    for name in names {
        match (l.get(name), r.get(name)) {
            (Some(a), Some(b)) => {
                let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
                flatten(a, String::new(), &mut fa);
                flatten(b, String::new(), &mut fb);
                let paths: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
                for p in paths {
                    let (x, y) = (fa.get(p), fb.get(p));
                    if x != y {
                        rows.push(FieldRow {
                            object: name.clone(),
                            path: p.clone(),
                            left: x.cloned().unwrap_or_else(|| ABSENT.into()),
                            right: y.cloned().unwrap_or_else(|| ABSENT.into()),
                        });
                    }
                }
            }
            (a, _) => rows.push(FieldRow {
                object: name.clone(),
                path: "(the object)".into(),
                left: if a.is_some() { "declared" } else { ABSENT }.into(),
                right: if a.is_some() { ABSENT } else { "declared" }.into(),
            }),
        }
    }
    rows
}

/// Leaf values by dotted path; list items that have a `name` are keyed by it
/// (`containers[web]`), others by position.
fn flatten(v: &Json, at: String, out: &mut BTreeMap<String, String>) {
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                flatten(x, p, out);
            }
        }
        Json::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                let key = x
                    .get("name")
                    .and_then(Json::as_str)
                    .map_or(i.to_string(), String::from);
                flatten(x, format!("{at}[{key}]"), out);
            }
        }
        Json::String(s) => {
            out.insert(at, s.clone());
        }
        other => {
            out.insert(at, other.to_string());
        }
    }
}

/// A field row a quick edit can promote: the image tag, replicas or HPA
/// bounds, with the left value.
pub fn promotable_field(row: &FieldRow) -> Option<(crate::workspace::quick::Field, String)> {
    use crate::workspace::quick::Field;
    let kind = row.object.split('/').next().unwrap_or_default();
    if row.left == ABSENT {
        return None;
    }
    let field = match (kind, row.path.as_str()) {
        ("Deployment" | "StatefulSet", p)
            if p.starts_with("spec.template.spec.containers[") && p.ends_with("].image") =>
        {
            let tag = row.left.rsplit_once(':').map(|(_, t)| t)?;
            return Some((Field::ImageTag, tag.to_string()));
        }
        ("Deployment" | "StatefulSet", "spec.replicas") => Field::Replicas,
        ("HorizontalPodAutoscaler", "spec.minReplicas") => Field::HpaMin,
        ("HorizontalPodAutoscaler", "spec.maxReplicas") => Field::HpaMax,
        _ => return None,
    };
    Some((field, row.left.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn demo() -> crate::workspace::Workspace {
        crate::workspace::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo"),
        )
    }

    #[test]
    fn the_demos_environments_differ_in_their_config_and_not_in_secrets() {
        let ws = demo();
        let env = |e: &str| {
            ws.releases
                .iter()
                .find(|r| r.service == "day-service" && r.environment.as_deref() == Some(e))
                .unwrap()
        };
        let rows = config_rows(env("dev"), env("production"));
        let tag = rows
            .iter()
            .find(|r| r.key == "day-service:image_tag")
            .unwrap();
        assert!(tag.differs, "{tag:?}");
        assert_eq!(tag.promotable.as_deref(), Some(tag.left.as_str()));
        // Differing keys come first.
        let first_same = rows.iter().position(|r| !r.differs).unwrap_or(rows.len());
        assert!(rows[first_same..].iter().all(|r| !r.differs));
        // A secret is never shown or compared.
        let secret = rows
            .iter()
            .find(|r| r.key == "day-service:api_key")
            .unwrap();
        assert_eq!((secret.left.as_str(), secret.differs), ("[secret]", false));
        assert!(secret.promotable.is_none());
    }

    #[test]
    fn fields_are_compared_by_object_and_path_without_namespaces_or_secret_values() {
        let left = vec![
            json!({"kind": "Deployment", "metadata": {"name": "web", "namespace": "web-dev"},
                   "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "ghcr.io/x/web:v2"}]}}}}),
            json!({"kind": "Secret", "metadata": {"name": "creds", "namespace": "web-dev"}, "data": {"k": "ZGV2"}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "debug", "namespace": "web-dev"}}),
        ];
        let right = vec![
            json!({"kind": "Deployment", "metadata": {"name": "web", "namespace": "web"},
                   "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": "ghcr.io/x/web:v1"}]}}}}),
            json!({"kind": "Secret", "metadata": {"name": "creds", "namespace": "web"}, "data": {"k": "cHJvZA=="}}),
        ];
        let rows = field_rows(&left, &right);
        let shown: Vec<(String, String, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.object.clone(),
                    r.path.clone(),
                    r.left.clone(),
                    r.right.clone(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "ConfigMap/debug".into(),
                    "(the object)".into(),
                    "declared".into(),
                    "—".into()
                ),
                (
                    "Deployment/web".into(),
                    "spec.replicas".into(),
                    "1".into(),
                    "3".into()
                ),
                (
                    "Deployment/web".into(),
                    "spec.template.spec.containers[web].image".into(),
                    "ghcr.io/x/web:v2".into(),
                    "ghcr.io/x/web:v1".into()
                ),
            ]
        );
        use crate::workspace::quick::Field;
        assert_eq!(
            promotable_field(&rows[1]),
            Some((Field::Replicas, "1".into()))
        );
        assert_eq!(
            promotable_field(&rows[2]),
            Some((Field::ImageTag, "v2".into()))
        );
        assert_eq!(promotable_field(&rows[0]), None);
    }
}
