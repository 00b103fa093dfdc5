//! Server-side apply: field ownership in `metadata.managedFields` (FieldsV1),
//! conflicts between managers, and removal of fields a manager stops applying.
//!
//! Ownership is tracked per leaf field, per item of keyed lists (`k:{...}`) and
//! per member of sets (`v:...`), like the real structured-merge-diff, but
//! without a full schema: list semantics come from [`super::keys`].

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::keys::{ListKind, key_default, list_kind};
use crate::clock::Clock;

/// `["f:spec", "f:containers", "k:{\"name\":\"a\"}", "f:image"]`
pub type FieldPath = Vec<String>;
pub type FieldSet = BTreeSet<FieldPath>;

#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub manager: String,
    pub path: FieldPath,
}

impl Conflict {
    /// `.spec.replicas` or `.spec.template.spec.containers[name="a"].image`.
    pub fn field(&self) -> String {
        let mut out = String::new();
        for p in &self.path {
            if let Some(f) = p.strip_prefix("f:") {
                out.push('.');
                out.push_str(f);
            } else if let Some(k) = p.strip_prefix("k:") {
                let parts: Vec<String> = serde_json::from_str::<Map<String, Value>>(k)
                    .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                    .unwrap_or_default();
                out.push_str(&format!("[{}]", parts.join(",")));
            } else if let Some(v) = p.strip_prefix("v:") {
                out.push_str(&format!("[={v}]"));
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
struct ManagedEntry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: Option<String>,
    fields: FieldSet,
}

fn entries_of(obj: &Value) -> Vec<ManagedEntry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| {
                    let s = |k: &str| {
                        e.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    ManagedEntry {
                        manager: s("manager"),
                        operation: s("operation"),
                        api_version: s("apiVersion"),
                        time: s("time"),
                        subresource: e
                            .get("subresource")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        fields: from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null)),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn store_entries(obj: &mut Value, entries: &[ManagedEntry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(&e.fields),
            });
            if let Some(s) = &e.subresource {
                v["subresource"] = json!(s);
            }
            v
        })
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Fields an object sets, excluding identity, bookkeeping and status.
pub fn fields_of(obj: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        match k.as_str() {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                if let Some(meta) = v.as_object() {
                    for (mk, mv) in meta {
                        if matches!(
                            mk.as_str(),
                            "name"
                                | "namespace"
                                | "uid"
                                | "resourceVersion"
                                | "generation"
                                | "creationTimestamp"
                                | "managedFields"
                                | "deletionTimestamp"
                                | "deletionGracePeriodSeconds"
                                | "selfLink"
                                | "generateName"
                        ) {
                            continue;
                        }
                        let mut path = vec!["f:metadata".to_string(), format!("f:{mk}")];
                        let mut names = vec!["metadata".to_string(), mk.clone()];
                        collect(mv, &mut path, &mut names, &mut out);
                    }
                }
            }
            _ => {
                let mut path = vec![format!("f:{k}")];
                let mut names = vec![k.clone()];
                collect(v, &mut path, &mut names, &mut out);
            }
        }
    }
    out
}

fn collect(v: &Value, path: &mut FieldPath, names: &mut Vec<String>, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                path.push(format!("f:{k}"));
                names.push(k.clone());
                collect(child, path, names, out);
                path.pop();
                names.pop();
            }
        }
        Value::Array(items) => {
            let kind = list_kind(&names.iter().map(String::as_str).collect::<Vec<_>>());
            match kind {
                ListKind::Map(keys) if items.iter().all(Value::is_object) && !items.is_empty() => {
                    for item in items {
                        path.push(item_key(item, keys));
                        out.insert(path.clone());
                        names.push("*".into());
                        collect_item(item, path, names, out);
                        names.pop();
                        path.pop();
                    }
                }
                ListKind::Set if !items.is_empty() => {
                    for item in items {
                        path.push(format!("v:{item}"));
                        out.insert(path.clone());
                        path.pop();
                    }
                }
                _ => {
                    out.insert(path.clone());
                }
            }
        }
        _ => {
            out.insert(path.clone());
        }
    }
}

fn collect_item(item: &Value, path: &mut FieldPath, names: &mut Vec<String>, out: &mut FieldSet) {
    if let Some(m) = item.as_object() {
        for (k, child) in m {
            path.push(format!("f:{k}"));
            names.push(k.clone());
            collect(child, path, names, out);
            path.pop();
            names.pop();
        }
    }
}

fn item_key(item: &Value, keys: &[&str]) -> String {
    let mut m = Map::new();
    for k in keys {
        match item.get(*k) {
            Some(v) => {
                m.insert((*k).to_string(), v.clone());
            }
            None => {
                if let Some(d) = key_default(k) {
                    m.insert((*k).to_string(), json!(d));
                }
            }
        }
    }
    format!("k:{}", Value::Object(m))
}

fn item_matches(item: &Value, key: &Map<String, Value>) -> bool {
    key.iter().all(|(k, want)| match item.get(k) {
        Some(v) => v == want,
        None => key_default(k).is_some_and(|d| want.as_str() == Some(d)),
    })
}

pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        insert_path(&mut root, path);
    }
    Value::Object(root)
}

fn insert_path(map: &mut Map<String, Value>, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let child = map
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(m) = child {
        if rest.is_empty() {
            if first.starts_with("k:") {
                m.insert(".".into(), Value::Object(Map::new()));
            }
        } else {
            insert_path(m, rest);
        }
    }
}

pub fn from_fields_v1(v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    let mut path = Vec::new();
    walk_fields(v, &mut path, &mut out);
    out
}

fn walk_fields(v: &Value, path: &mut FieldPath, out: &mut FieldSet) {
    let Some(m) = v.as_object() else { return };
    if m.is_empty() && !path.is_empty() {
        out.insert(path.clone());
        return;
    }
    for (k, child) in m {
        if k == "." {
            out.insert(path.clone());
            continue;
        }
        path.push(k.clone());
        walk_fields(child, path, out);
        path.pop();
    }
}

pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for p in path {
        cur = step(cur, p)?;
    }
    Some(cur)
}

fn step<'a>(cur: &'a Value, p: &str) -> Option<&'a Value> {
    if let Some(f) = p.strip_prefix("f:") {
        cur.get(f)
    } else if let Some(k) = p.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(k).ok()?;
        cur.as_array()?.iter().find(|i| item_matches(i, &key))
    } else if let Some(v) = p.strip_prefix("v:") {
        let want: Value = serde_json::from_str(v).ok()?;
        cur.as_array()?.iter().find(|i| **i == want)
    } else {
        None
    }
}

fn remove_at(obj: &mut Value, path: &[String]) {
    let Some((last, init)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for p in init {
        let next = if let Some(f) = p.strip_prefix("f:") {
            cur.get_mut(f)
        } else if let Some(k) = p.strip_prefix("k:") {
            let Ok(key) = serde_json::from_str::<Map<String, Value>>(k) else {
                return;
            };
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| item_matches(i, &key)))
        } else {
            None
        };
        let Some(next) = next else { return };
        cur = next;
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(k) = last.strip_prefix("k:") {
        if let (Ok(key), Some(a)) = (
            serde_json::from_str::<Map<String, Value>>(k),
            cur.as_array_mut(),
        ) {
            a.retain(|i| !item_matches(i, &key));
        }
    } else if let Some(v) = last.strip_prefix("v:")
        && let (Ok(want), Some(a)) = (serde_json::from_str::<Value>(v), cur.as_array_mut())
    {
        a.retain(|i| *i != want);
    }
}

/// Merges an applied configuration into the live object: maps by field, keyed
/// lists by key, sets by value, everything else replaced.
fn merge(live: &mut Value, applied: &Value, names: &mut Vec<String>) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            for (k, av) in a {
                names.push(k.clone());
                match l.get_mut(k) {
                    Some(lv) if !av.is_null() => merge(lv, av, names),
                    _ => {
                        l.insert(k.clone(), av.clone());
                    }
                }
                names.pop();
            }
        }
        (Value::Array(l), Value::Array(a)) => {
            match list_kind(&names.iter().map(String::as_str).collect::<Vec<_>>()) {
                ListKind::Map(keys) if a.iter().all(Value::is_object) => {
                    for item in a {
                        let key: Map<String, Value> = item_key(item, keys)
                            .strip_prefix("k:")
                            .and_then(|k| serde_json::from_str(k).ok())
                            .unwrap_or_default();
                        match l.iter_mut().find(|i| item_matches(i, &key)) {
                            Some(existing) => {
                                names.push("*".into());
                                merge(existing, item, names);
                                names.pop();
                            }
                            None => l.push(item.clone()),
                        }
                    }
                }
                ListKind::Set => {
                    for item in a {
                        if !l.contains(item) {
                            l.push(item.clone());
                        }
                    }
                }
                _ => *l = a.clone(),
            }
        }
        (live, applied) => *live = applied.clone(),
    }
}

/// Applies `applied` for `manager` onto `live` (None: the object is created).
/// Returns the new object, or the conflicts when not forced.
pub fn server_side_apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
) -> Result<Value, Vec<Conflict>> {
    let new_set = fields_of(applied);
    let Some(live) = live else {
        let mut obj = applied.clone();
        store_entries(&mut obj, &[apply_entry(manager, api_version, new_set)]);
        return Ok(obj);
    };
    let mut entries = entries_of(live);
    let mine = |e: &ManagedEntry| {
        e.manager == manager && e.operation == "Apply" && e.subresource.is_none()
    };

    let mut conflicts = Vec::new();
    for e in entries.iter().filter(|e| !mine(e)) {
        for p in new_set.intersection(&e.fields) {
            if p.last()
                .is_some_and(|l| l.starts_with("k:") || l.starts_with("v:"))
            {
                continue;
            }
            if value_at(live, p) != value_at(applied, p) {
                conflicts.push(Conflict {
                    manager: e.manager.clone(),
                    path: p.clone(),
                });
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    let old_set = entries
        .iter()
        .find(|e| mine(e))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let others: FieldSet = entries
        .iter()
        .filter(|e| !mine(e))
        .flat_map(|e| e.fields.iter().cloned())
        .collect();

    let mut obj = live.clone();
    // Deepest first, so an item is removed after (not before) its own fields.
    let mut stale: Vec<&FieldPath> = old_set
        .iter()
        .filter(|p| !new_set.contains(*p) && !others.contains(*p))
        .collect();
    stale.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in stale {
        remove_at(&mut obj, p);
    }
    let mut names = Vec::new();
    let mut applied_body = applied.clone();
    if let Some(m) = applied_body.as_object_mut() {
        m.remove("status");
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
            meta.remove("resourceVersion");
            meta.remove("uid");
            meta.remove("creationTimestamp");
            meta.remove("generation");
        }
    }
    merge(&mut obj, &applied_body, &mut names);

    if force {
        for c in &conflicts {
            for e in entries.iter_mut().filter(|e| e.manager == c.manager) {
                e.fields.remove(&c.path);
            }
        }
    }
    entries.retain(|e| !mine(e));
    entries.push(apply_entry(manager, api_version, new_set));
    store_entries(&mut obj, &entries);
    Ok(obj)
}

fn apply_entry(manager: &str, api_version: &str, fields: FieldSet) -> ManagedEntry {
    ManagedEntry {
        manager: manager.into(),
        operation: "Apply".into(),
        api_version: api_version.into(),
        time: Clock::timestamp(),
        subresource: None,
        fields,
    }
}

/// Records a non-apply write: the manager takes the fields it changed; fields
/// that no longer exist leave every manager.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
) {
    let new_set = fields_of(new);
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| old.is_none_or(|o| value_at(o, p) != value_at(new, p)))
        .cloned()
        .collect();
    // A write that changes managedFields itself sets them (as kubectl's
    // client-side-apply upgrade does); otherwise the live ones carry over.
    let given = new.pointer("/metadata/managedFields");
    let mut entries = match (old, given) {
        (Some(o), Some(g)) if o.pointer("/metadata/managedFields") != Some(g) => entries_of(new),
        (None, Some(_)) => entries_of(new),
        (Some(o), _) => entries_of(o),
        (None, None) => Vec::new(),
    };
    let same = |e: &ManagedEntry| {
        e.manager == manager && e.operation == "Update" && e.subresource.as_deref() == subresource
    };
    for e in entries.iter_mut() {
        e.fields.retain(|p| new_set.contains(p));
        if !same(e) {
            e.fields.retain(|p| !changed.contains(p));
        }
    }
    if !changed.is_empty() {
        match entries.iter_mut().find(|e| same(e)) {
            Some(e) => {
                e.fields.extend(changed);
                e.time = Clock::timestamp();
            }
            None => entries.push(ManagedEntry {
                manager: manager.into(),
                operation: "Update".into(),
                api_version: api_version.into(),
                time: Clock::timestamp(),
                subresource: subresource.map(str::to_string),
                fields: changed,
            }),
        }
    }
    store_entries(new, &entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(image: &str, replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "web", "image": image, "ports": [{"containerPort": 80}]}]}}}})
    }

    #[test]
    fn field_sets_round_trip_through_fields_v1() {
        let set = fields_of(&manifest("a", 1));
        assert!(set.contains(&vec!["f:spec".to_string(), "f:replicas".to_string()]));
        assert!(set.iter().any(|p| {
            p.iter()
                .any(|e| e == "k:{\"containerPort\":80,\"protocol\":\"TCP\"}")
        }));
        let v1 = to_fields_v1(&set);
        assert_eq!(from_fields_v1(&v1), set);
        assert!(
            v1["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]
                .get(".")
                .is_some()
        );
    }

    #[test]
    fn conflicts_with_other_managers_unless_forced() {
        let live = server_side_apply(None, &manifest("a", 1), "alice", false, "apps/v1").unwrap();
        // Another manager changing replicas conflicts; same value is shared.
        let err =
            server_side_apply(Some(&live), &manifest("a", 2), "bob", false, "apps/v1").unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field(), ".spec.replicas");
        assert_eq!(err[0].manager, "alice");
        assert!(server_side_apply(Some(&live), &manifest("a", 1), "bob", false, "apps/v1").is_ok());
        let forced =
            server_side_apply(Some(&live), &manifest("b", 2), "bob", true, "apps/v1").unwrap();
        assert_eq!(forced["spec"]["replicas"], 2);
        let again = server_side_apply(Some(&forced), &manifest("a", 3), "alice", false, "apps/v1")
            .unwrap_err();
        assert_eq!(again.len(), 2);
    }

    #[test]
    fn fields_no_longer_applied_are_removed() {
        let live = server_side_apply(None, &manifest("a", 1), "alice", false, "apps/v1").unwrap();
        let mut m = manifest("a", 1);
        m["metadata"].as_object_mut().unwrap().remove("labels");
        let out = server_side_apply(Some(&live), &m, "alice", false, "apps/v1").unwrap();
        assert!(
            out["metadata"]
                .get("labels")
                .is_none_or(|l| l.as_object().unwrap().is_empty())
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["image"],
            "a"
        );
    }

    #[test]
    fn updates_take_ownership_of_what_they_change() {
        let live = server_side_apply(None, &manifest("a", 1), "alice", false, "apps/v1").unwrap();
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(5);
        record_update(
            Some(&live),
            &mut scaled,
            "kubectl",
            "apps/v1",
            Some("scale"),
        );
        let mf = scaled["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 2);
        assert_eq!(mf[1]["manager"], "kubectl");
        assert!(mf[1]["fieldsV1"]["f:spec"].get("f:replicas").is_some());
        assert!(mf[0]["fieldsV1"]["f:spec"].get("f:replicas").is_none());
        // alice re-applying replicas: 1 now conflicts with kubectl.
        let err = server_side_apply(Some(&scaled), &manifest("a", 1), "alice", false, "apps/v1")
            .unwrap_err();
        assert_eq!(err[0].manager, "kubectl");
    }

    #[test]
    fn a_write_that_changes_managed_fields_sets_them() {
        let mut live = manifest("a", 1);
        record_update(
            None,
            &mut live,
            "kubectl-client-side-apply",
            "apps/v1",
            None,
        );
        // Hand every field to "tierui" as an Apply entry, as kubectl's upgrade does.
        let mut moved = live.clone();
        moved["metadata"]["managedFields"][0]["manager"] = json!("tierui");
        moved["metadata"]["managedFields"][0]["operation"] = json!("Apply");
        record_update(Some(&live), &mut moved, "tierui", "apps/v1", None);
        let mf = moved["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 1);
        assert_eq!(
            (mf[0]["manager"].as_str(), mf[0]["operation"].as_str()),
            (Some("tierui"), Some("Apply"))
        );
        // tierui now applies a new image without a conflict.
        assert!(
            server_side_apply(Some(&moved), &manifest("b", 1), "tierui", false, "apps/v1").is_ok()
        );
    }
}
