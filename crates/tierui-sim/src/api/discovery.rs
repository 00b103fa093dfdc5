//! `/version` and legacy discovery. Aggregated discovery is never answered: a
//! client that asks for it (kubectl does) gets the legacy documents with a plain
//! `application/json` content type and falls back to reading them.

use serde_json::{Value, json};

use std::collections::BTreeSet;

use crate::kinds::{self, Kind, KindId};

/// Kinds this cluster serves: the built-in ones and the custom ones its
/// CustomResourceDefinitions define.
fn visible(served: &BTreeSet<KindId>) -> Vec<(KindId, &'static Kind)> {
    kinds::all()
        .into_iter()
        .filter(|(i, _)| !kinds::is_custom(*i) || served.contains(i))
        .collect()
}

/// Group versions in discovery order; within a group, the preferred first
/// (GA over beta over alpha, then the higher number), as Kubernetes orders them.
fn group_versions(served: &BTreeSet<KindId>) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for (_, k) in visible(served) {
        if !out.iter().any(|(g, v)| *g == k.group && *v == k.version) {
            out.push((k.group, k.version));
        }
    }
    // Stable: groups keep their first-seen order.
    let order: Vec<&str> = out.iter().fold(Vec::new(), |mut acc, (g, _)| {
        if !acc.contains(g) {
            acc.push(*g);
        }
        acc
    });
    out.sort_by_key(|(g, v)| {
        (
            order.iter().position(|x| x == g),
            std::cmp::Reverse(version_priority(v)),
        )
    });
    out
}

/// `v1` > `v1beta2` > `v1beta1` > `v1alpha1` > anything else.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u32>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    let (rank, num) = if tail.is_empty() {
        (3, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n.parse().unwrap_or(0))
    } else {
        return (0, 0, 0);
    };
    (rank, major, num)
}

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-tierui-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn api_versions(addr: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": addr }],
    })
}

fn group_json(group: &str, served: &BTreeSet<KindId>) -> Value {
    let versions: Vec<Value> = group_versions(served)
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({ "groupVersion": format!("{g}/{v}"), "version": v }))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({ "name": group, "versions": versions, "preferredVersion": preferred })
}

pub fn api_group_list(served: &BTreeSet<KindId>) -> Value {
    let mut seen = Vec::new();
    let groups: Vec<Value> = group_versions(served)
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .filter(|(g, _)| {
            let first = !seen.contains(g);
            seen.push(*g);
            first
        })
        .map(|(g, _)| group_json(g, served))
        .collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

pub fn api_group(group: &str, served: &BTreeSet<KindId>) -> Option<Value> {
    if group.is_empty() || !visible(served).iter().any(|(_, k)| k.group == group) {
        return None;
    }
    let mut g = group_json(group, served);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

pub fn resource_list(group: &str, version: &str, served: &BTreeSet<KindId>) -> Option<Value> {
    let mut resources = Vec::new();
    for (_, k) in kinds::in_group_version(group, version)
        .into_iter()
        .filter(|(i, _)| !kinds::is_custom(*i) || served.contains(i))
    {
        let mut r = json!({
            "name": k.plural,
            "singularName": k.singular,
            "namespaced": k.namespaced,
            "kind": k.kind,
            "verbs": k.verbs(),
        });
        if !k.short_names.is_empty() {
            r["shortNames"] = json!(k.short_names);
        }
        if !k.categories.is_empty() {
            r["categories"] = json!(k.categories);
        }
        if !k.computed {
            r["storageVersionHash"] = json!(format!(
                "{:012x}",
                crate::clock::fnv(k.plural.as_bytes()) & 0xffff_ffff_ffff
            ));
        }
        resources.push(r);
        for sub in k.subresources {
            let mut s = json!({
                "name": format!("{}/{}", k.plural, sub),
                "singularName": "",
                "namespaced": k.namespaced,
                "kind": k.kind,
                "verbs": ["get", "patch", "update"],
            });
            if *sub == "scale" {
                s["group"] = json!("autoscaling");
                s["version"] = json!("v1");
                s["kind"] = json!("Scale");
            }
            if *sub == "finalize" {
                s["verbs"] = json!(["update"]);
            }
            resources.push(s);
        }
        if k.kind == "Pod" {
            resources.push(json!({"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]}));
            // What kubectl drain looks for before evicting instead of deleting.
            resources.push(json!({"name": "pods/eviction", "singularName": "", "namespaced": true, "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}
