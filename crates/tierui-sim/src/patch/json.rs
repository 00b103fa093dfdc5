//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

use serde_json::{Map, Value};

pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(ptr: &str) -> Result<Vec<String>, String> {
    if ptr.is_empty() {
        return Ok(Vec::new());
    }
    let rest = ptr
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {ptr:?}"))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn parent<'a>(doc: &'a mut Value, tokens: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(t)
                .ok_or_else(|| format!("path element {t:?} not found"))?,
            Value::Array(a) => {
                let i: usize = t
                    .parse()
                    .map_err(|_| format!("invalid array index {t:?}"))?;
                a.get_mut(i)
                    .ok_or_else(|| format!("array index {i} out of range"))?
            }
            _ => return Err(format!("path element {t:?} is not a container")),
        };
    }
    Ok(cur)
}

fn get(doc: &Value, ptr: &str) -> Result<Value, String> {
    doc.pointer(ptr)
        .cloned()
        .ok_or_else(|| format!("path {ptr:?} not found"))
}

fn add(doc: &mut Value, ptr: &str, value: Value, replace: bool) -> Result<(), String> {
    let tokens = split_pointer(ptr)?;
    let Some((last, init)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, init)? {
        Value::Object(m) => {
            if replace && !m.contains_key(last) {
                return Err(format!("replace of missing path {ptr:?}"));
            }
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            if last == "-" && !replace {
                a.push(value);
            } else {
                let i: usize = last
                    .parse()
                    .map_err(|_| format!("invalid array index {last:?}"))?;
                if replace {
                    *a.get_mut(i)
                        .ok_or_else(|| format!("array index {i} out of range"))? = value;
                } else if i <= a.len() {
                    a.insert(i, value);
                } else {
                    return Err(format!("array index {i} out of range"));
                }
            }
        }
        _ => return Err(format!("cannot add at {ptr:?}")),
    }
    Ok(())
}

fn remove(doc: &mut Value, ptr: &str) -> Result<Value, String> {
    let tokens = split_pointer(ptr)?;
    let Some((last, init)) = tokens.split_last() else {
        return Err("cannot remove the whole document".into());
    };
    match parent(doc, init)? {
        Value::Object(m) => m
            .remove(last)
            .ok_or_else(|| format!("path {ptr:?} not found")),
        Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid array index {last:?}"))?;
            if i < a.len() {
                Ok(a.remove(i))
            } else {
                Err(format!("array index {i} out of range"))
            }
        }
        _ => Err(format!("cannot remove {ptr:?}")),
    }
}

pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    for op in ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .ok_or("operation without \"op\"")?;
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or("operation without \"path\"")?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or(format!("{kind} without \"value\""))
        };
        let from = || {
            op.get("from")
                .and_then(Value::as_str)
                .ok_or(format!("{kind} without \"from\""))
        };
        match kind {
            "add" => add(doc, path, value()?, false)?,
            "replace" => add(doc, path, value()?, true)?,
            "remove" => {
                remove(doc, path)?;
            }
            "move" => {
                let v = remove(doc, from()?)?;
                add(doc, path, v, false)?;
            }
            "copy" => {
                let v = get(doc, from()?)?;
                add(doc, path, v, false)?;
            }
            "test" => {
                if get(doc, path)? != value()? {
                    return Err(format!("test failed at {path:?}"));
                }
            }
            other => return Err(format!("unknown JSON patch operation {other:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc_examples() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": [1, 2]});
        merge_patch(&mut t, &json!({"a": [3]}));
        assert_eq!(t, json!({"a": [3]}));
    }

    #[test]
    fn json_patch_ops() {
        let mut d = json!({"spec": {"replicas": 1, "list": [1, 2]}});
        json_patch(
            &mut d,
            &json!([
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {"op": "add", "path": "/spec/list/-", "value": 3},
                {"op": "remove", "path": "/spec/list/0"},
                {"op": "copy", "from": "/spec/replicas", "path": "/spec/copy"},
                {"op": "test", "path": "/spec/copy", "value": 3}
            ]),
        )
        .unwrap();
        assert_eq!(
            d,
            json!({"spec": {"replicas": 3, "list": [2, 3], "copy": 3}})
        );
        assert!(
            json_patch(
                &mut d,
                &json!([{"op": "replace", "path": "/nope/x", "value": 1}])
            )
            .is_err()
        );
        assert!(json_patch(&mut d, &json!({"op": "add"})).is_err());
    }
}
