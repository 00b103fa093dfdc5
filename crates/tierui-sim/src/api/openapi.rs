//! OpenAPI documents for the simulated kinds.
//!
//! kubectl reads the v3 documents to learn that the server validates fields
//! itself (the `fieldValidation` parameter of each PATCH operation); it then
//! skips client-side schema validation. The PATCH operations deliberately do not
//! list `application/strategic-merge-patch+json`: kubectl then computes its
//! three-way strategic patches from its built-in types (exact merge keys)
//! rather than from these deliberately loose schemas.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::kinds::{self, KINDS, Kind};

const PATCH_TYPES: [&str; 3] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];

fn schema_name(k: &Kind) -> String {
    match k.group {
        "" => format!("io.k8s.api.core.{}.{}", k.version, k.kind),
        "metrics.k8s.io" => format!("io.k8s.metrics.pkg.apis.metrics.{}.{}", k.version, k.kind),
        g => {
            let short = g.split('.').next().unwrap_or(g);
            format!("io.k8s.api.{short}.{}.{}", k.version, k.kind)
        }
    }
}

fn gvk(k: &Kind) -> Value {
    json!({ "group": k.group, "version": k.version, "kind": k.kind })
}

fn top_fields(k: &Kind) -> &'static [&'static str] {
    match k.kind {
        "ConfigMap" => &["data", "binaryData", "immutable"],
        "Secret" => &["data", "stringData", "type", "immutable"],
        "Event" => &[
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "type",
            "eventTime",
            "series",
            "action",
            "related",
            "reportingComponent",
            "reportingInstance",
        ],
        "Endpoints" => &["subsets"],
        "ServiceAccount" => &[
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ],
        "PodMetrics" => &["timestamp", "window", "containers"],
        "EndpointSlice" => &["addressType", "endpoints", "ports"],
        "NodeMetrics" => &["timestamp", "window", "usage"],
        _ => &["spec", "status"],
    }
}

fn kind_schema(k: &Kind, ref_prefix: &str) -> Value {
    let mut props = Map::new();
    props.insert("apiVersion".into(), json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."}));
    props.insert("kind".into(), json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."}));
    props.insert(
        "metadata".into(),
        json!({"$ref": format!("{ref_prefix}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")}),
    );
    for f in top_fields(k) {
        let t = match *f {
            "data" | "binaryData" | "stringData" | "usage" => {
                json!({"type": "object", "additionalProperties": {"type": "string"}})
            }
            "count" => json!({"type": "integer", "format": "int32"}),
            "immutable" | "automountServiceAccountToken" => json!({"type": "boolean"}),
            "containers" | "subsets" | "secrets" | "imagePullSecrets" | "endpoints" | "ports" => {
                json!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
            }
            "reason" | "message" | "type" | "firstTimestamp" | "lastTimestamp" | "eventTime"
            | "action" | "reportingComponent" | "reportingInstance" | "timestamp" | "window"
            | "addressType" => {
                json!({"type": "string"})
            }
            _ => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        };
        props.insert((*f).into(), t);
    }
    json!({
        "description": format!("{} of the simulated cluster.", k.kind),
        "type": "object",
        "properties": props,
        "x-kubernetes-group-version-kind": [gvk(k)],
    })
}

fn object_meta() -> Value {
    json!({
        "description": "ObjectMeta is metadata that all persisted resources must have.",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "generateName": {"type": "string"},
            "namespace": {"type": "string"},
            "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "generation": {"type": "integer", "format": "int64"},
            "creationTimestamp": {"type": "string", "format": "date-time"},
            "deletionTimestamp": {"type": "string", "format": "date-time"},
            "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "ownerReferences": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "managedFields": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
        },
    })
}

fn param(name: &str, location: &str, v3: bool) -> Value {
    let t = if matches!(
        name,
        "force" | "watch" | "allowWatchBookmarks" | "sendInitialEvents"
    ) {
        "boolean"
    } else if matches!(name, "limit" | "timeoutSeconds" | "gracePeriodSeconds") {
        "integer"
    } else {
        "string"
    };
    let required = location == "path";
    if v3 {
        json!({"name": name, "in": location, "required": required, "schema": {"type": t, "uniqueItems": true}})
    } else {
        json!({"name": name, "in": location, "required": required, "type": t, "uniqueItems": true})
    }
}

struct Op<'a> {
    method: &'a str,
    action: &'a str,
    kind: &'a Kind,
    gvk: Value,
    body_schema: Option<String>,
    params: Vec<Value>,
}

fn operation(op: &Op, v3: bool, ref_prefix: &str, resp_schema: &str) -> Value {
    let id = format!("{}{}", op.method, op.kind.kind);
    let mut o = json!({
        "operationId": id,
        "description": format!("{} {}", op.action, op.kind.plural),
        "tags": [format!("{}_{}", if op.kind.group.is_empty() { "core" } else { op.kind.group }, op.kind.version)],
        "parameters": op.params,
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": op.gvk,
    });
    let schema_ref = json!({"$ref": format!("{ref_prefix}{resp_schema}")});
    if v3 {
        o["responses"] = json!({"200": {"description": "OK", "content": {"application/json": {"schema": schema_ref}}}});
        if let Some(body) = &op.body_schema {
            let body_ref = json!({"schema": {"$ref": format!("{ref_prefix}{body}")}});
            let mut content = Map::new();
            if op.method == "patch" {
                for t in PATCH_TYPES {
                    content.insert(t.into(), body_ref.clone());
                }
            } else {
                content.insert("application/json".into(), body_ref);
            }
            o["requestBody"] = json!({"content": content, "required": true});
        }
    } else {
        o["responses"] = json!({"200": {"description": "OK", "schema": schema_ref}});
        o["produces"] = json!(["application/json", "application/yaml"]);
        if op.method == "patch" {
            o["consumes"] = json!(PATCH_TYPES);
        } else {
            o["consumes"] = json!(["*/*"]);
        }
        if let Some(body) = &op.body_schema
            && let Some(params) = o["parameters"].as_array_mut()
        {
            params.push(json!({"name": "body", "in": "body", "required": true, "schema": {"$ref": format!("{ref_prefix}{body}")}}));
        }
    }
    o
}

fn add_paths(paths: &mut Map<String, Value>, k: &Kind, v3: bool, ref_prefix: &str) {
    let base = kinds::get(0).gv_path();
    let _ = base;
    let prefix = k.gv_path();
    let item = schema_name(k);
    let list = format!("{item}List");
    let ns_param = || param("namespace", "path", v3);
    let name_param = || param("name", "path", v3);
    let write_params = |extra: &[&str]| -> Vec<Value> {
        let mut p: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "pretty"]
            .iter()
            .map(|n| param(n, "query", v3))
            .collect();
        p.extend(extra.iter().map(|n| param(n, "query", v3)));
        p
    };
    let list_params: Vec<Value> = [
        "labelSelector",
        "fieldSelector",
        "limit",
        "continue",
        "resourceVersion",
        "resourceVersionMatch",
        "timeoutSeconds",
        "watch",
        "allowWatchBookmarks",
        "sendInitialEvents",
    ]
    .iter()
    .map(|n| param(n, "query", v3))
    .collect();
    let (coll, obj) = if k.namespaced {
        (
            format!("{prefix}/namespaces/{{namespace}}/{}", k.plural),
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", k.plural),
        )
    } else {
        (
            format!("{prefix}/{}", k.plural),
            format!("{prefix}/{}/{{name}}", k.plural),
        )
    };
    let g = gvk(k);
    let scoped = |mut v: Vec<Value>, with_name: bool| {
        if k.namespaced {
            v.push(ns_param());
        }
        if with_name {
            v.push(name_param());
        }
        v
    };
    let mk = |method: &str,
              action: &str,
              body: Option<String>,
              params: Vec<Value>,
              resp: &str,
              gvk: Value| {
        operation(
            &Op {
                method,
                action,
                kind: k,
                gvk,
                body_schema: body,
                params,
            },
            v3,
            ref_prefix,
            resp,
        )
    };
    let mut c = Map::new();
    c.insert(
        "get".into(),
        mk(
            "list",
            "list",
            None,
            scoped(list_params.clone(), false),
            &list,
            g.clone(),
        ),
    );
    if !k.computed {
        c.insert(
            "post".into(),
            mk(
                "create",
                "post",
                Some(item.clone()),
                scoped(write_params(&[]), false),
                &item,
                g.clone(),
            ),
        );
        c.insert(
            "delete".into(),
            mk(
                "deletecollection",
                "deletecollection",
                None,
                scoped(list_params.clone(), false),
                &item,
                g.clone(),
            ),
        );
    }
    paths.insert(coll, Value::Object(c));
    let mut o = Map::new();
    o.insert(
        "get".into(),
        mk(
            "read",
            "get",
            None,
            scoped(vec![param("pretty", "query", v3)], true),
            &item,
            g.clone(),
        ),
    );
    if !k.computed {
        o.insert(
            "put".into(),
            mk(
                "replace",
                "put",
                Some(item.clone()),
                scoped(write_params(&[]), true),
                &item,
                g.clone(),
            ),
        );
        o.insert(
            "patch".into(),
            mk(
                "patch",
                "patch",
                Some("io.k8s.apimachinery.pkg.apis.meta.v1.Patch".into()),
                scoped(write_params(&["force"]), true),
                &item,
                g.clone(),
            ),
        );
        o.insert(
            "delete".into(),
            mk(
                "delete",
                "delete",
                None,
                scoped(
                    write_params(&["gracePeriodSeconds", "propagationPolicy"]),
                    true,
                ),
                &item,
                g.clone(),
            ),
        );
    }
    paths.insert(obj.clone(), Value::Object(o));
    if k.namespaced {
        paths.insert(
            format!("{prefix}/{}", k.plural),
            json!({"get": mk("listForAllNamespaces", "list", None, list_params, &list, g.clone())}),
        );
    }
    for sub in k.subresources.iter().filter(|s| **s != "finalize") {
        let (sg, resp) = if *sub == "scale" {
            (
                json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
                "io.k8s.api.autoscaling.v1.Scale".to_string(),
            )
        } else {
            (g.clone(), item.clone())
        };
        let mut s = Map::new();
        s.insert(
            "get".into(),
            mk("read", "get", None, scoped(vec![], true), &resp, sg.clone()),
        );
        s.insert(
            "put".into(),
            mk(
                "replace",
                "put",
                Some(resp.clone()),
                scoped(write_params(&[]), true),
                &resp,
                sg.clone(),
            ),
        );
        s.insert(
            "patch".into(),
            mk(
                "patch",
                "patch",
                Some("io.k8s.apimachinery.pkg.apis.meta.v1.Patch".into()),
                scoped(write_params(&["force"]), true),
                &resp,
                sg,
            ),
        );
        paths.insert(format!("{obj}/{sub}"), Value::Object(s));
    }
}

fn schemas(kinds_in: &[&Kind], ref_prefix: &str) -> Map<String, Value> {
    let mut s = Map::new();
    s.insert(
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".into(),
        object_meta(),
    );
    s.insert("io.k8s.apimachinery.pkg.apis.meta.v1.Patch".into(), json!({"description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.", "type": "object"}));
    s.insert("io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta".into(), json!({"type": "object", "properties": {"continue": {"type": "string"}, "resourceVersion": {"type": "string"}, "remainingItemCount": {"type": "integer", "format": "int64"}}}));
    for k in kinds_in {
        let name = schema_name(k);
        s.insert(name.clone(), kind_schema(k, ref_prefix));
        s.insert(
            format!("{name}List"),
            json!({
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"$ref": format!("{ref_prefix}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta")},
                    "items": {"type": "array", "items": {"$ref": format!("{ref_prefix}{name}")}},
                },
                "required": ["items"],
                "x-kubernetes-group-version-kind": [{"group": k.group, "version": k.version, "kind": k.list_kind()}],
            }),
        );
        if k.subresources.contains(&"scale") {
            s.insert(
                "io.k8s.api.autoscaling.v1.Scale".into(),
                json!({
                    "type": "object",
                    "properties": {
                        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                        "metadata": {"$ref": format!("{ref_prefix}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")},
                        "spec": {"type": "object", "properties": {"replicas": {"type": "integer", "format": "int32"}}},
                        "status": {"type": "object", "properties": {"replicas": {"type": "integer", "format": "int32"}, "selector": {"type": "string"}}},
                    },
                    "x-kubernetes-group-version-kind": [{"group": "autoscaling", "version": "v1", "kind": "Scale"}],
                }),
            );
        }
    }
    s
}

/// `api/v1` or `apis/apps/v1`, as the v3 index names group versions.
fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

pub fn v3_group_version(gv: &str) -> Option<&'static Value> {
    static DOCS: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        kinds::group_versions()
            .into_iter()
            .map(|(g, v)| {
                let members: Vec<&Kind> = KINDS
                    .iter()
                    .filter(|k| k.group == g && k.version == v)
                    .collect();
                let mut paths = Map::new();
                for k in &members {
                    add_paths(&mut paths, k, true, "#/components/schemas/");
                }
                let doc = json!({
                    "openapi": "3.0.0",
                    "info": {"title": "Kubernetes", "version": "v1.33.0"},
                    "paths": paths,
                    "components": {"schemas": schemas(&members, "#/components/schemas/")},
                });
                (gv_key(g, v), doc)
            })
            .collect()
    });
    docs.iter().find(|(k, _)| k == gv).map(|(_, d)| d)
}

pub fn v3_index() -> Value {
    let mut paths = Map::new();
    for (g, v) in kinds::group_versions() {
        let key = gv_key(g, v);
        let hash = v3_group_version(&key)
            .map(|d| crate::clock::fnv(d.to_string().as_bytes()))
            .unwrap_or(0);
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash:016X}")}),
        );
    }
    json!({ "paths": paths })
}

pub fn v2() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let all: Vec<&Kind> = KINDS.iter().collect();
        let mut paths = Map::new();
        for k in &all {
            add_paths(&mut paths, k, false, "#/definitions/");
        }
        json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.33.0"},
            "paths": paths,
            "definitions": schemas(&all, "#/definitions/"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_patch_operation_declares_field_validation() {
        let doc = v3_group_version("apis/apps/v1").unwrap();
        let p = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(p["x-kubernetes-group-version-kind"]["kind"], "Deployment");
        assert!(
            p["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == "fieldValidation" && x["in"] == "query")
        );
        assert!(
            p["requestBody"]["content"]
                .get("application/apply-patch+yaml")
                .is_some()
        );
        assert!(doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"].is_array());
        let idx = v3_index();
        assert!(
            idx["paths"]["api/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/api/v1?hash=")
        );
        assert!(v2()["definitions"]["io.k8s.api.core.v1.Pod"].is_object());
    }
}
