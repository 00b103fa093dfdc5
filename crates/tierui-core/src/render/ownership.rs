//! Who owns a field: `metadata.managedFields` (FieldsV1) read into the dotted
//! paths the diff names changes by (`spec.template.spec.containers[name=web].image`),
//! so the drift can say, per changed field, which field manager holds it now.

use serde::Serialize;
use serde_json::Value as Json;

use super::normalize::LAST_APPLIED;

/// The manager `kubectl apply` (client-side) records its writes under.
pub const CLIENT_SIDE_APPLY: &str = "kubectl-client-side-apply";

/// One changed field and the managers that own it in the live object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldOwner {
    pub path: String,
    /// Manager names, with ` (scale)` / ` (status)` for subresource writes.
    pub managers: Vec<String>,
}

/// Every (path, manager) the live object's managedFields record.
pub fn owned_paths(live: &Json) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(entries) = live
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
    else {
        return out;
    };
    for e in entries {
        let mut manager = e["manager"].as_str().unwrap_or("?").to_string();
        if let Some(sub) = e.get("subresource").and_then(Json::as_str) {
            manager = format!("{manager} ({sub})");
        }
        let mut paths = Vec::new();
        if let Some(fields) = e.get("fieldsV1") {
            walk(fields, Some(live), "", &mut paths);
        }
        out.extend(paths.into_iter().map(|p| (p, manager.clone())));
    }
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(fields: &Json, live: Option<&Json>, path: &str, out: &mut Vec<String>) {
    let Some(map) = fields.as_object() else {
        return;
    };
    for (k, sub) in map {
        let (child_path, child) = if k == "." {
            out.push(path.to_string());
            continue;
        } else if let Some(name) = k.strip_prefix("f:") {
            (join(path, name), live.and_then(|l| l.get(name)))
        } else if let Some(key) = k.strip_prefix("k:") {
            match item_by_key(live, key) {
                Some((label, item)) => (format!("{path}[{label}]"), Some(item)),
                None => continue,
            }
        } else if let Some(value) = k.strip_prefix("v:") {
            let wanted: Option<Json> = serde_json::from_str(value).ok();
            let list = live.and_then(Json::as_array);
            match list.and_then(|l| l.iter().position(|i| Some(i) == wanted.as_ref())) {
                Some(i) => (format!("{path}[{i}]"), None),
                None => continue,
            }
        } else if let Some(i) = k.strip_prefix("i:") {
            (
                format!("{path}[{i}]"),
                live.and_then(|l| l.get(i.parse::<usize>().unwrap_or(usize::MAX))),
            )
        } else {
            continue;
        };
        if sub.as_object().is_none_or(|m| m.is_empty()) {
            out.push(child_path);
        } else {
            walk(sub, child, &child_path, out);
        }
    }
}

/// The list item a `k:{...}` key names, labelled as the diff labels it:
/// `name=web` when every item has a name, else its index.
fn item_by_key<'a>(live: Option<&'a Json>, key: &str) -> Option<(String, &'a Json)> {
    let keys: serde_json::Map<String, Json> = serde_json::from_str(key).ok()?;
    let list = live?.as_array()?;
    let index = list
        .iter()
        .position(|item| keys.iter().all(|(k, v)| item.get(k) == Some(v)))?;
    let item = &list[index];
    let named = list
        .iter()
        .all(|i| i.get("name").and_then(Json::as_str).is_some());
    let label = match item.get("name").and_then(Json::as_str) {
        Some(n) if named => format!("name={n}"),
        _ => index.to_string(),
    };
    Some((label, item))
}

/// Whether `a` is `b` or an ancestor of it (`spec` of `spec.replicas`,
/// `x.containers` of `x.containers[name=web]`).
fn covers(a: &str, b: &str) -> bool {
    a.is_empty()
        || b == a
        || (b.starts_with(a) && matches!(b.as_bytes().get(a.len()), Some(b'.' | b'[')))
}

/// The owners of each changed path: managers owning that field, an ancestor
/// owned whole (an atomic list), or fields inside it (an item added or removed).
pub fn owners(live: &Json, changed: &[String]) -> Vec<FieldOwner> {
    let owned = owned_paths(live);
    changed
        .iter()
        .filter_map(|p| {
            let mut managers: Vec<String> = owned
                .iter()
                .filter(|(q, _)| !q.is_empty() && (covers(q, p) || covers(p, q)))
                .map(|(_, m)| m.clone())
                .collect();
            managers.sort();
            managers.dedup();
            (!managers.is_empty()).then(|| FieldOwner {
                path: p.clone(),
                managers,
            })
        })
        .collect()
}

/// Whether applying would first move client-side `kubectl apply`'s fields to
/// the applier, as `kubectl apply --server-side` does: the object carries the
/// last-applied annotation and fields of that manager.
pub fn upgrades_client_side_apply(live: &Json) -> bool {
    let annotated = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .is_some();
    annotated
        && live
            .pointer("/metadata/managedFields")
            .and_then(Json::as_array)
            .is_some_and(|l| {
                l.iter()
                    .any(|e| e["manager"] == CLIENT_SIDE_APPLY && e["operation"] == "Update")
            })
}

/// The managedFields after moving `kubectl apply`'s (client-side) fields to
/// `manager`'s Apply entry — kubectl's csaupgrade: the client-side entries'
/// field sets are merged into the applier's, which becomes (or stays) an
/// Apply entry; the last-applied annotation's own field is dropped.
pub fn upgraded_managed_fields(live: &Json, manager: &str) -> Vec<Json> {
    let entries: Vec<Json> = live
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let is_csa = |e: &Json| {
        e["manager"] == CLIENT_SIDE_APPLY
            && e["operation"] == "Update"
            && e.get("subresource").is_none()
    };
    let is_mine = |e: &Json| {
        e["manager"] == manager && e["operation"] == "Apply" && e.get("subresource").is_none()
    };
    let mut merged = Json::Object(Default::default());
    let mut template: Option<Json> = None;
    for e in entries.iter().filter(|e| is_csa(e) || is_mine(e)) {
        merge_fields(&mut merged, e.get("fieldsV1").unwrap_or(&Json::Null));
        if template.is_none() || is_mine(e) {
            template = Some(e.clone());
        }
    }
    if let Some(ann) = merged
        .pointer_mut("/f:metadata/f:annotations")
        .and_then(Json::as_object_mut)
    {
        ann.remove(&format!("f:{LAST_APPLIED}"));
    }
    prune_empty(&mut merged);
    let mut out: Vec<Json> = entries
        .iter()
        .filter(|e| !is_csa(e) && !is_mine(e))
        .cloned()
        .collect();
    if let Some(mut t) = template
        && merged.as_object().is_some_and(|m| !m.is_empty())
    {
        t["manager"] = Json::String(manager.into());
        t["operation"] = Json::String("Apply".into());
        t["fieldsV1"] = merged;
        out.push(t);
    }
    out
}

fn merge_fields(into: &mut Json, from: &Json) {
    let (Some(a), Some(b)) = (into.as_object_mut(), from.as_object()) else {
        return;
    };
    for (k, v) in b {
        let slot = a
            .entry(k.clone())
            .or_insert_with(|| Json::Object(Default::default()));
        merge_fields(slot, v);
    }
}

/// Drops the metadata maps the removal of the annotation's field left without
/// a member (leaves are empty maps by nature, so only these are looked at).
fn prune_empty(fields: &mut Json) {
    if let Some(meta) = fields.get_mut("f:metadata").and_then(Json::as_object_mut) {
        for k in ["f:annotations", "f:labels"] {
            if meta
                .get(k)
                .and_then(Json::as_object)
                .is_some_and(|m| m.keys().all(|k| k == "."))
            {
                meta.remove(k);
            }
        }
    }
    if let Some(m) = fields.as_object_mut()
        && m.get("f:metadata")
            .and_then(Json::as_object)
            .is_some_and(|x| x.is_empty())
    {
        m.remove("f:metadata");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live() -> Json {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "annotations": {LAST_APPLIED: "{}"}, "managedFields": [
                {"manager": CLIENT_SIDE_APPLY, "operation": "Update", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, format!("f:{LAST_APPLIED}"): {}}},
                              "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}, "f:args": {}}}}}}}},
                {"manager": "kube-controller-manager", "operation": "Update", "subresource": "scale", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}}}}
            ], "labels": {"app.kubernetes.io/name": "web"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": "web:v1", "args": ["a"]}]}}}
        })
    }

    #[test]
    fn changed_paths_get_their_owners() {
        let o = owners(
            &live(),
            &[
                "spec.template.spec.containers[name=web].image".into(),
                "spec.replicas".into(),
                "metadata.labels.app.kubernetes.io/name".into(),
                "spec.template.spec.containers[name=web].args[0]".into(),
                "spec.template.spec.containers[name=sidecar]".into(),
            ],
        );
        let got: Vec<(&str, Vec<&str>)> = o
            .iter()
            .map(|f| {
                (
                    f.path.as_str(),
                    f.managers.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "spec.template.spec.containers[name=web].image",
                    vec![CLIENT_SIDE_APPLY]
                ),
                ("spec.replicas", vec!["kube-controller-manager (scale)"]),
                (
                    "metadata.labels.app.kubernetes.io/name",
                    vec!["kubectl-edit"]
                ),
                (
                    "spec.template.spec.containers[name=web].args[0]",
                    vec![CLIENT_SIDE_APPLY]
                ),
            ]
        );
    }

    #[test]
    fn client_side_apply_fields_move_to_the_applier() {
        let l = live();
        assert!(upgrades_client_side_apply(&l));
        let up = upgraded_managed_fields(&l, "tierui");
        let managers: Vec<&str> = up.iter().map(|e| e["manager"].as_str().unwrap()).collect();
        assert_eq!(
            managers,
            ["kube-controller-manager", "kubectl-edit", "tierui"]
        );
        let mine = &up[2];
        assert_eq!(mine["operation"], "Apply");
        assert!(mine.pointer("/fieldsV1/f:metadata").is_none(), "{mine}");
        assert!(
            mine.pointer(
                "/fieldsV1/f:spec/f:template/f:spec/f:containers/k:{\"name\":\"web\"}/f:image"
            )
            .is_some()
        );
        // Without the annotation there is nothing to upgrade.
        let mut plain = live();
        plain["metadata"]["annotations"] = json!({});
        assert!(!upgrades_client_side_apply(&plain));
    }
}
