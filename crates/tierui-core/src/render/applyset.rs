//! The ApplySet convention kubectl uses for pruning (KEP 3659): a parent object
//! labelled `applyset.kubernetes.io/id`, annotated with the group-kinds (and
//! extra namespaces) of its members, and each member labelled
//! `applyset.kubernetes.io/part-of` with that id. tierui's parent for a release
//! is the Secret `tierui-<service>` in the release's namespace, so
//! `kubectl apply --prune --applyset=tierui-<service>` sees the same set.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::normalize::CLUSTER_SCOPED;

pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
pub const TOOLING: &str = "applyset.kubernetes.io/tooling";
pub const GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
pub const ADDITIONAL_NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";

/// A release's apply set: its parent Secret's name and namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplySet {
    pub name: String,
    pub namespace: String,
}

impl ApplySet {
    pub fn for_release(service: &str, namespace: &str) -> ApplySet {
        ApplySet {
            name: format!("tierui-{service}"),
            namespace: namespace.to_string(),
        }
    }

    /// `applyset-<base64url(sha256(name.namespace.Secret.))>-v1`, as kubectl
    /// computes it for a Secret parent.
    pub fn id(&self) -> String {
        let digest = Sha256::digest(format!("{}.{}.Secret.", self.name, self.namespace));
        format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        )
    }

    /// The parent Secret recording these member group-kinds and namespaces.
    pub fn parent(&self, group_kinds: &BTreeSet<String>, namespaces: &BTreeSet<String>) -> Json {
        let extra: Vec<&str> = namespaces
            .iter()
            .map(String::as_str)
            .filter(|n| !n.is_empty() && *n != self.namespace)
            .collect();
        let mut annotations = json!({
            TOOLING: format!("tierui/v{}", env!("CARGO_PKG_VERSION")),
            GROUP_KINDS: group_kinds.iter().cloned().collect::<Vec<_>>().join(","),
        });
        if !extra.is_empty() {
            annotations[ADDITIONAL_NAMESPACES] = json!(extra.join(","));
        }
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {ID_LABEL: self.id()},
                "annotations": annotations,
            }
        })
    }

    /// Marks an object as a member (its label, which the apply then owns).
    pub fn label(&self, obj: &mut Json) {
        if let Some(meta) = obj.get_mut("metadata").and_then(Json::as_object_mut) {
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                l.insert(PART_OF_LABEL.into(), Json::String(self.id()));
            } else {
                *labels = json!({PART_OF_LABEL: self.id()});
            }
        }
    }

    /// Whether `obj` carries this set's member label (checked on our side:
    /// a server that ignores the label selector must not widen a prune).
    pub fn is_member(&self, obj: &Json) -> bool {
        obj.pointer("/metadata/labels")
            .and_then(|l| l.get(PART_OF_LABEL))
            .and_then(Json::as_str)
            == Some(self.id().as_str())
    }
}

/// `Deployment.apps`, `ConfigMap` (core group): the annotation's spelling.
pub fn group_kind(obj: &Json) -> String {
    let api = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    match api.rsplit_once('/') {
        Some((group, _)) => format!("{kind}.{group}"),
        None => kind.to_string(),
    }
}

/// `(group, kind)` of a `Kind.group` annotation entry.
pub fn split_group_kind(gk: &str) -> (String, String) {
    match gk.split_once('.') {
        Some((kind, group)) => (group.to_string(), kind.to_string()),
        None => (String::new(), gk.to_string()),
    }
}

/// The group-kinds and namespaces a parent records.
pub fn recorded(parent: &Json) -> (BTreeSet<String>, BTreeSet<String>) {
    let ann = |k: &str| {
        parent
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(k))
            .and_then(Json::as_str)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<BTreeSet<String>>()
    };
    let mut namespaces = ann(ADDITIONAL_NAMESPACES);
    if let Some(ns) = parent.pointer("/metadata/namespace").and_then(Json::as_str) {
        namespaces.insert(ns.to_string());
    }
    (ann(GROUP_KINDS), namespaces)
}

/// The group-kinds and namespaces of a set of objects.
pub fn members_of(objects: &[Json], default_ns: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut gks = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    for o in objects {
        gks.insert(group_kind(o));
        let kind = o["kind"].as_str().unwrap_or_default();
        if !CLUSTER_SCOPED.contains(&kind) {
            namespaces.insert(
                o.pointer("/metadata/namespace")
                    .and_then(Json::as_str)
                    .unwrap_or(default_ns)
                    .to_string(),
            );
        }
    }
    (gks, namespaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_kubectls() {
        // kubectl: base64url(sha256("<name>.<namespace>.<Kind>.<group>")) between
        // "applyset-" and "-v1"; 43 characters of hash, no padding.
        let s = ApplySet::for_release("day-service", "day");
        let id = s.id();
        assert!(id.starts_with("applyset-") && id.ends_with("-v1"), "{id}");
        assert_eq!(id.len(), "applyset-".len() + 43 + "-v1".len());
        let again = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest("tierui-day-service.day.Secret."));
        assert_eq!(id, format!("applyset-{again}-v1"));
        assert_ne!(id, ApplySet::for_release("day-service", "dusk").id());
    }

    #[test]
    fn parent_records_kinds_and_namespaces() {
        let s = ApplySet::for_release("web", "prod");
        let objs = vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "other"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}}),
        ];
        let (gks, nss) = members_of(&objs, "prod");
        let p = s.parent(&gks, &nss);
        assert_eq!(p["metadata"]["labels"][ID_LABEL], json!(s.id()));
        assert_eq!(
            p["metadata"]["annotations"][GROUP_KINDS],
            "ConfigMap,Deployment.apps,Namespace"
        );
        assert_eq!(p["metadata"]["annotations"][ADDITIONAL_NAMESPACES], "other");
        let (g2, n2) = recorded(&p);
        assert_eq!((g2, n2), (gks, nss));
        assert_eq!(
            split_group_kind("Deployment.apps"),
            ("apps".into(), "Deployment".into())
        );
        assert_eq!(
            split_group_kind("ConfigMap"),
            ("".into(), "ConfigMap".into())
        );
        let mut o = objs[0].clone();
        assert!(!s.is_member(&o));
        s.label(&mut o);
        assert!(s.is_member(&o));
    }
}
