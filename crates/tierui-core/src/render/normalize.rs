//! Normalisation before comparing objects, as kubectl, Flux and Argo CD do it:
//! server-owned fields go, Secret values are masked, and `spec.replicas` of a
//! Deployment an HPA scales is not the manifest's business.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{Map, Value as Json};

pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
pub const MASK: &str = "[secret]";
pub const MASK_CHANGED: &str = "[secret, changed]";

/// Kinds that are not namespaced (the rest get the release namespace by default).
pub const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
];

/// `(namespace, name)` of Deployments that an HPA in `objects` scales.
pub fn hpa_targets(objects: &[Json]) -> BTreeSet<(String, String)> {
    objects
        .iter()
        .filter(|o| o["kind"] == "HorizontalPodAutoscaler")
        .filter(|o| {
            o.pointer("/spec/scaleTargetRef/kind")
                .and_then(Json::as_str)
                == Some("Deployment")
        })
        .filter_map(|o| {
            let ns = o
                .pointer("/metadata/namespace")
                .and_then(Json::as_str)
                .unwrap_or("default")
                .to_string();
            Some((
                ns,
                o.pointer("/spec/scaleTargetRef/name")?
                    .as_str()?
                    .to_string(),
            ))
        })
        .collect()
}

/// Drops what the server owns or adds, and what the HPA owns.
pub fn normalize(obj: &Json, hpa: &BTreeSet<(String, String)>) -> Json {
    let mut o = obj.clone();
    let Some(map) = o.as_object_mut() else {
        return o;
    };
    map.remove("status");
    if let Some(Json::Object(meta)) = map.get_mut("metadata") {
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "generation",
            "creationTimestamp",
            "selfLink",
        ] {
            meta.remove(k);
        }
        if let Some(Json::Object(ann)) = meta.get_mut("annotations") {
            ann.remove(LAST_APPLIED);
            ann.remove("deployment.kubernetes.io/revision");
        }
        // tierui's bookkeeping for pruning, like managedFields: not content.
        if let Some(Json::Object(labels)) = meta.get_mut("labels") {
            labels.remove(super::applyset::PART_OF_LABEL);
        }
        for k in ["annotations", "labels"] {
            if meta
                .get(k)
                .is_some_and(|v| v.as_object().is_some_and(Map::is_empty) || v.is_null())
            {
                meta.remove(k);
            }
        }
    }
    let kind = map
        .get("kind")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    if kind == "Deployment" {
        let ns = map
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Json::as_str)
            .unwrap_or("default")
            .to_string();
        let name = map
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        if hpa.contains(&(ns, name))
            && let Some(Json::Object(spec)) = map.get_mut("spec")
        {
            spec.remove("replicas");
        }
    }
    if kind == "Secret" {
        // stringData is write-only: the server stores it base64-encoded in data.
        if let Some(Json::Object(sd)) = map.remove("stringData") {
            let data = map
                .entry("data")
                .or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(d) = data {
                for (k, v) in sd {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    d.insert(
                        k,
                        Json::String(base64::engine::general_purpose::STANDARD.encode(text)),
                    );
                }
            }
        }
    }
    o
}

/// Masks Secret values of a before/after pair so a change still shows without
/// the value: equal values read `[secret]` on both sides, changed ones
/// `[secret]` → `[secret, changed]`.
pub fn mask_secret_pair(before: &mut Json, after: &mut Json) {
    let is_secret = |o: &Json| o["kind"] == "Secret";
    if !is_secret(before) && !is_secret(after) {
        return;
    }
    let old = before
        .get("data")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(Json::Object(d)) = before.get_mut("data") {
        for v in d.values_mut() {
            *v = Json::String(MASK.into());
        }
    }
    if let Some(Json::Object(d)) = after.get_mut("data") {
        for (k, v) in d.iter_mut() {
            let same = old.get(k) == Some(v);
            *v = Json::String(
                if same || !old.contains_key(k) {
                    MASK
                } else {
                    MASK_CHANGED
                }
                .into(),
            );
        }
    }
}

/// Masks a single object's Secret values (when there is nothing to compare).
pub fn mask_secret(obj: &mut Json) {
    if obj["kind"] != "Secret" {
        return;
    }
    for key in ["data", "stringData"] {
        if let Some(Json::Object(d)) = obj.get_mut(key) {
            for v in d.values_mut() {
                *v = Json::String(MASK.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_go() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n", "uid": "u", "resourceVersion": "7", "generation": 2, "creationTimestamp": "t", "managedFields": [{}], "annotations": {LAST_APPLIED: "{}"}}, "data": {"k": "v"}, "status": {"x": 1}});
        assert_eq!(
            normalize(&live, &BTreeSet::new()),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn replicas_of_hpa_scaled_deployments_are_ignored() {
        let objects = vec![
            json!({"kind": "Deployment", "metadata": {"name": "web", "namespace": "n"}, "spec": {"replicas": 3}}),
            json!({"kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "n"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}}}),
        ];
        let hpa = hpa_targets(&objects);
        assert_eq!(normalize(&objects[0], &hpa)["spec"], json!({}));
        let other = json!({"kind": "Deployment", "metadata": {"name": "api", "namespace": "n"}, "spec": {"replicas": 3}});
        assert_eq!(normalize(&other, &hpa)["spec"]["replicas"], 3);
    }

    #[test]
    fn secrets_are_masked_but_changes_show() {
        let mut a = normalize(
            &json!({"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"API_KEY": "old", "SAME": "x"}}),
            &BTreeSet::new(),
        );
        let mut b = normalize(
            &json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"API_KEY": "bmV3", "SAME": "eA=="}}),
            &BTreeSet::new(),
        );
        mask_secret_pair(&mut a, &mut b);
        assert_eq!(a["data"], json!({"API_KEY": MASK, "SAME": MASK}));
        assert_eq!(b["data"], json!({"API_KEY": MASK_CHANGED, "SAME": MASK}));
        let text = format!("{a}{b}");
        assert!(!text.contains("old") && !text.contains("bmV3"));
    }
}
