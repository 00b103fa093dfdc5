//! Strategic merge patch: a merge patch where lists of objects merge by key and
//! the directives kubectl's three-way patches carry (`$patch`, `$retainKeys`,
//! `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`) are honoured.

use serde_json::{Map, Value};

use super::keys::{ListKind, list_kind};

pub fn apply(target: &mut Value, patch: &Value) -> Result<(), String> {
    let mut path = Vec::new();
    merge_value(target, patch, &mut path)
}

fn merge_value(target: &mut Value, patch: &Value, path: &mut Vec<String>) -> Result<(), String> {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                merge_map(t, p, path)?;
            }
            Ok(())
        }
        other => {
            *target = strip(other);
            Ok(())
        }
    }
}

fn merge_map(
    t: &mut Map<String, Value>,
    p: &Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<(), String> {
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *t = strip_map(p);
            return Ok(());
        }
        Some("delete") => {
            t.clear();
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(format!("unknown patch type: {other}")),
    }
    let mut orders = Vec::new();
    for (k, v) in p {
        if let Some(list) = k.strip_prefix("$setElementOrder/") {
            orders.push((list.to_string(), v.clone()));
            continue;
        }
        if let Some(list) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(del)) = (t.get_mut(list), v.as_array()) {
                items.retain(|i| !del.contains(i));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        path.push(k.clone());
        let result = match (v, t.get_mut(k)) {
            (Value::Object(_), Some(existing @ Value::Object(_))) => merge_value(existing, v, path),
            (Value::Array(items), existing) => {
                let kind = list_kind(&path.iter().map(String::as_str).collect::<Vec<_>>());
                let merged = merge_list(existing.map(std::mem::take), items, kind, path)?;
                t.insert(k.clone(), Value::Array(merged));
                Ok(())
            }
            _ => {
                t.insert(k.clone(), strip(v));
                Ok(())
            }
        };
        path.pop();
        result?;
    }
    if let Some(retain) = p.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (list, order) in orders {
        path.push(list.clone());
        let kind = list_kind(&path.iter().map(String::as_str).collect::<Vec<_>>());
        path.pop();
        if let (Some(Value::Array(items)), Some(order)) = (t.get_mut(&list), order.as_array()) {
            reorder(items, order, kind.merge_key());
        }
    }
    Ok(())
}

fn merge_list(
    existing: Option<Value>,
    patch: &[Value],
    kind: ListKind,
    path: &mut Vec<String>,
) -> Result<Vec<Value>, String> {
    let mut current = match existing {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    // `[{"$patch": "replace"}, ...]` replaces the whole list whatever its kind.
    if patch
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Ok(patch
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .map(strip)
            .collect());
    }
    match kind {
        ListKind::Atomic => Ok(patch.iter().map(strip).collect()),
        ListKind::Set => {
            for item in patch {
                if !current.contains(item) {
                    current.push(item.clone());
                }
            }
            Ok(current)
        }
        ListKind::Map(keys) => {
            let Some(key) = keys.first().copied() else {
                return Ok(patch.iter().map(strip).collect());
            };
            for item in patch {
                let Some(obj) = item.as_object() else {
                    // A list of scalars under a merge key: treat as atomic.
                    return Ok(patch.iter().map(strip).collect());
                };
                let Some(kv) = obj.get(key) else {
                    return Err(format!(
                        "map: {item} does not contain declared merge key: {key}"
                    ));
                };
                let pos = current.iter().position(|c| c.get(key) == Some(kv));
                let directive = obj.get("$patch").and_then(Value::as_str);
                match (directive, pos) {
                    (Some("delete"), Some(i)) => {
                        current.remove(i);
                    }
                    (Some("delete"), None) => {}
                    (_, Some(i)) => {
                        path.push("*".into());
                        let r = merge_value(&mut current[i], item, path);
                        path.pop();
                        r?;
                    }
                    (_, None) => current.push(strip(item)),
                }
            }
            Ok(current)
        }
    }
}

/// `$setElementOrder`: listed items first, in the listed order; the server's
/// own extra items keep their relative order after them.
fn reorder(items: &mut Vec<Value>, order: &[Value], key: Option<&str>) {
    let id = |v: &Value| -> Value {
        match key {
            Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let wanted: Vec<Value> = order.iter().map(&id).collect();
    let mut ranked: Vec<(usize, usize, Value)> = items
        .drain(..)
        .enumerate()
        .map(|(i, v)| {
            let rank = wanted
                .iter()
                .position(|w| *w == id(&v))
                .unwrap_or(usize::MAX);
            (rank, i, v)
        })
        .collect();
    ranked.sort_by_key(|(rank, i, _)| (*rank, *i));
    items.extend(ranked.into_iter().map(|(_, _, v)| v));
}

/// Drops directives from a value that is inserted rather than merged.
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(strip_map(m)),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        other => other.clone(),
    }
}

fn strip_map(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
        .map(|(k, v)| (k.clone(), strip(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {"spec": {"containers": [
                {"name": "a", "image": "a:1", "imagePullPolicy": "IfNotPresent",
                 "ports": [{"containerPort": 80, "protocol": "TCP"}],
                 "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                {"name": "b", "image": "b:1"}]}}}})
    }

    #[test]
    fn containers_merge_by_name_and_keep_server_fields() {
        let mut d = deployment();
        apply(
            &mut d,
            &json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "a", "image": "a:2"}]}}}}),
        )
        .unwrap();
        let c = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[0]["image"], "a:2");
        assert_eq!(c[0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c[1]["name"], "b");
    }

    #[test]
    fn env_and_ports_by_key_with_delete_directive() {
        let mut d = deployment();
        apply(
            &mut d,
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "a",
            "env": [{"name": "X", "$patch": "delete"}, {"name": "Z", "value": "3"}],
            "ports": [{"containerPort": 81}]}]}}}}),
        )
        .unwrap();
        let a = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            a["env"],
            json!([{"name": "Y", "value": "2"}, {"name": "Z", "value": "3"}])
        );
        assert_eq!(a["ports"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn retain_keys_and_replace() {
        let mut d = deployment();
        apply(&mut d, &json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}})).unwrap();
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        apply(&mut d, &json!({"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "o"}]}}}})).unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "o"}])
        );
        apply(
            &mut d,
            &json!({"spec": {"template": {"$patch": "replace", "spec": {}}}}),
        )
        .unwrap();
        assert_eq!(d["spec"]["template"], json!({"spec": {}}));
    }

    #[test]
    fn set_order_reorders_and_primitive_lists() {
        let mut d = json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"containers": [{"name": "x"}, {"name": "y"}]}});
        apply(
            &mut d,
            &json!({"metadata": {"finalizers": ["c"], "$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {"$setElementOrder/containers": [{"name": "y"}, {"name": "x"}]}}),
        )
        .unwrap();
        assert_eq!(d["metadata"]["finalizers"], json!(["b", "c"]));
        assert_eq!(
            d["spec"]["containers"],
            json!([{"name": "y"}, {"name": "x"}])
        );
    }

    #[test]
    fn missing_merge_key_is_an_error() {
        let mut d = deployment();
        assert!(
            apply(
                &mut d,
                &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})
            )
            .is_err()
        );
    }
}
