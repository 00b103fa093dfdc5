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

use crate::kinds::{self, KINDS, Kind, KindId};

const PATCH_TYPES: [&str; 3] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];

fn schema_name(k: &Kind) -> String {
    match k.group {
        "" => format!("io.k8s.api.core.{}.{}", k.version, k.kind),
        "metrics.k8s.io" => format!("io.k8s.metrics.pkg.apis.metrics.{}.{}", k.version, k.kind),
        g if KINDS.iter().any(|b| b.group == g) => {
            let short = g.split('.').next().unwrap_or(g);
            format!("io.k8s.api.{short}.{}.{}", k.version, k.kind)
        }
        // A custom kind: its group reversed, as the API server names a CRD's.
        g => {
            let mut parts: Vec<&str> = g.split('.').collect();
            parts.reverse();
            format!("{}.{}.{}", parts.join("."), k.version, k.kind)
        }
    }
}

/// A custom kind's schema as its CRD declares it, with `metadata` as
/// ObjectMeta and the kind's group/version/kind, for `kubectl explain`.
fn custom_schema(id: KindId, k: &Kind, ref_prefix: &str) -> Value {
    let mut schema = crate::crd::info(id)
        .map(|i| i.schema.clone())
        .unwrap_or_else(|| json!({"type": "object"}));
    if !schema.is_object() {
        schema = json!({"type": "object"});
    }
    if !schema.get("properties").is_some_and(Value::is_object) {
        schema["properties"] = json!({});
    }
    let props = &mut schema["properties"];
    props["apiVersion"] = json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values."});
    props["kind"] = json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to."});
    props["metadata"] =
        json!({"$ref": format!("{ref_prefix}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")});
    schema["x-kubernetes-group-version-kind"] = json!([gvk(k)]);
    schema
}

/// The v3 document of a custom group version this cluster serves (`served`
/// holds its kinds), built from the CRDs' schemas; `None` when it serves none.
pub fn v3_custom(gv: &str, served: &std::collections::BTreeSet<KindId>) -> Option<Value> {
    let members: Vec<(KindId, &'static Kind)> = served
        .iter()
        .filter(|id| kinds::is_custom(**id))
        .map(|id| (*id, kinds::get(*id)))
        .filter(|(_, k)| gv_key(k.group, k.version) == gv)
        .collect();
    if members.is_empty() {
        return None;
    }
    let prefix = "#/components/schemas/";
    let mut paths = Map::new();
    for (_, k) in &members {
        add_paths(&mut paths, k, true, prefix);
    }
    let refs: Vec<&Kind> = members.iter().map(|(_, k)| *k).collect();
    let mut components = schemas(&refs, prefix);
    for (id, k) in &members {
        components.insert(schema_name(k), custom_schema(*id, k, prefix));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": paths,
        "components": {"schemas": components},
    }))
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
        "StorageClass" => &[
            "provisioner",
            "parameters",
            "reclaimPolicy",
            "mountOptions",
            "allowVolumeExpansion",
            "volumeBindingMode",
            "allowedTopologies",
        ],
        "Role" | "ClusterRole" => &["rules", "aggregationRule"],
        "RoleBinding" | "ClusterRoleBinding" => &["subjects", "roleRef"],
        "PriorityClass" => &["value", "globalDefault", "description", "preemptionPolicy"],
        "LimitRange" | "NetworkPolicy" | "IngressClass" => &["spec"],
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
            "immutable"
            | "automountServiceAccountToken"
            | "allowVolumeExpansion"
            | "globalDefault" => json!({"type": "boolean"}),
            "value" => json!({"type": "integer", "format": "int32"}),
            "parameters" => json!({"type": "object", "additionalProperties": {"type": "string"}}),
            "mountOptions" => json!({"type": "array", "items": {"type": "string"}}),
            "rules" | "subjects" | "allowedTopologies" => {
                json!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
            }
            "containers" | "subsets" | "secrets" | "imagePullSecrets" | "endpoints" | "ports" => {
                json!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
            }
            "reason" | "message" | "type" | "firstTimestamp" | "lastTimestamp" | "eventTime"
            | "action" | "reportingComponent" | "reportingInstance" | "timestamp" | "window"
            | "addressType" | "provisioner" | "reclaimPolicy" | "volumeBindingMode"
            | "description" | "preemptionPolicy" => {
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

/// Everything the operations of one kind's paths share.
struct PathOps<'a> {
    k: &'a Kind,
    v3: bool,
    ref_prefix: &'a str,
    item: String,
    list: String,
    gvk: Value,
}

const PATCH_SCHEMA: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";

impl PathOps<'_> {
    fn op(
        &self,
        method: &str,
        action: &str,
        body: Option<String>,
        params: Vec<Value>,
        resp: &str,
        gvk: Value,
    ) -> Value {
        let op = Op {
            method,
            action,
            kind: self.k,
            gvk,
            body_schema: body,
            params,
        };
        operation(&op, self.v3, self.ref_prefix, resp)
    }

    /// Adds the `namespace` (for namespaced kinds) and `name` path parameters.
    fn scoped(&self, mut v: Vec<Value>, with_name: bool) -> Vec<Value> {
        if self.k.namespaced {
            v.push(param("namespace", "path", self.v3));
        }
        if with_name {
            v.push(param("name", "path", self.v3));
        }
        v
    }

    /// Query parameters of create/update/patch/delete, plus `extra`.
    fn write_params(&self, extra: &[&str]) -> Vec<Value> {
        ["dryRun", "fieldManager", "fieldValidation", "pretty"]
            .iter()
            .chain(extra)
            .map(|n| param(n, "query", self.v3))
            .collect()
    }

    /// Query parameters of list and watch.
    fn list_params(&self) -> Vec<Value> {
        [
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
        .map(|n| param(n, "query", self.v3))
        .collect()
    }

    /// The collection path: list, and (unless computed) create and deletecollection.
    fn collection(&self) -> Value {
        let (item, g) = (&self.item, &self.gvk);
        let mut c = Map::new();
        let list_params = self.scoped(self.list_params(), false);
        c.insert(
            "get".into(),
            self.op(
                "list",
                "list",
                None,
                list_params.clone(),
                &self.list,
                g.clone(),
            ),
        );
        if !self.k.computed {
            let params = self.scoped(self.write_params(&[]), false);
            let create = self.op(
                "create",
                "post",
                Some(item.clone()),
                params,
                item,
                g.clone(),
            );
            c.insert("post".into(), create);
            let delete = self.op(
                "deletecollection",
                "deletecollection",
                None,
                list_params,
                item,
                g.clone(),
            );
            c.insert("delete".into(), delete);
        }
        Value::Object(c)
    }

    /// The object path: read, and (unless computed) replace, patch and delete.
    fn object(&self) -> Value {
        let (item, g) = (&self.item, &self.gvk);
        let mut o = Map::new();
        let params = self.scoped(vec![param("pretty", "query", self.v3)], true);
        o.insert(
            "get".into(),
            self.op("read", "get", None, params, item, g.clone()),
        );
        if !self.k.computed {
            let params = self.scoped(self.write_params(&[]), true);
            let replace = self.op(
                "replace",
                "put",
                Some(item.clone()),
                params,
                item,
                g.clone(),
            );
            o.insert("put".into(), replace);
            let params = self.scoped(self.write_params(&["force"]), true);
            let patch = self.op(
                "patch",
                "patch",
                Some(PATCH_SCHEMA.into()),
                params,
                item,
                g.clone(),
            );
            o.insert("patch".into(), patch);
            let params = self.write_params(&["gracePeriodSeconds", "propagationPolicy"]);
            let delete = self.op(
                "delete",
                "delete",
                None,
                self.scoped(params, true),
                item,
                g.clone(),
            );
            o.insert("delete".into(), delete);
        }
        Value::Object(o)
    }

    /// A subresource path (`status`, or `scale` with autoscaling/v1 Scale): read, replace, patch.
    fn subresource(&self, sub: &str) -> Value {
        let (sg, resp) = if sub == "scale" {
            (
                json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}),
                "io.k8s.api.autoscaling.v1.Scale".to_string(),
            )
        } else {
            (self.gvk.clone(), self.item.clone())
        };
        let mut s = Map::new();
        let read = self.op(
            "read",
            "get",
            None,
            self.scoped(vec![], true),
            &resp,
            sg.clone(),
        );
        s.insert("get".into(), read);
        let params = self.scoped(self.write_params(&[]), true);
        let replace = self.op(
            "replace",
            "put",
            Some(resp.clone()),
            params,
            &resp,
            sg.clone(),
        );
        s.insert("put".into(), replace);
        let params = self.scoped(self.write_params(&["force"]), true);
        let patch = self.op(
            "patch",
            "patch",
            Some(PATCH_SCHEMA.into()),
            params,
            &resp,
            sg,
        );
        s.insert("patch".into(), patch);
        Value::Object(s)
    }
}

fn add_paths(paths: &mut Map<String, Value>, k: &Kind, v3: bool, ref_prefix: &str) {
    let prefix = k.gv_path();
    let item = schema_name(k);
    let ops = PathOps {
        k,
        v3,
        ref_prefix,
        list: format!("{item}List"),
        item,
        gvk: gvk(k),
    };
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
    paths.insert(coll, ops.collection());
    paths.insert(obj.clone(), ops.object());
    if k.namespaced {
        let all = ops.op(
            "listForAllNamespaces",
            "list",
            None,
            ops.list_params(),
            &ops.list,
            ops.gvk.clone(),
        );
        paths.insert(format!("{prefix}/{}", k.plural), json!({ "get": all }));
    }
    for sub in k.subresources.iter().filter(|s| **s != "finalize") {
        paths.insert(format!("{obj}/{sub}"), ops.subresource(sub));
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

/// The v3 index: the built-in group versions, and the custom ones of the
/// CRDs this cluster serves (`served`).
pub fn v3_index(served: &std::collections::BTreeSet<KindId>) -> Value {
    let mut paths = Map::new();
    for id in served.iter().filter(|id| kinds::is_custom(**id)) {
        let k = kinds::get(*id);
        let key = gv_key(k.group, k.version);
        if paths.contains_key(&key) {
            continue;
        }
        let hash = v3_custom(&key, served)
            .map(|d| crate::clock::fnv(d.to_string().as_bytes()))
            .unwrap_or(0);
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash:016X}")}),
        );
    }
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
        let idx = v3_index(&Default::default());
        assert!(
            idx["paths"]["api/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/api/v1?hash=")
        );
        assert!(v2()["definitions"]["io.k8s.api.core.v1.Pod"].is_object());
    }
}
