//! Writes through the API: create, update, patch (all four kinds), delete with
//! cascade, and the `/scale` subresource — with preconditions, defaulting,
//! validation, managedFields and `dryRun` handled the way the API server does.
//! `write` holds create/update/patch, `delete` deletion and cascade, `scale` the
//! scale subresource; this file the options and shared helpers.

use bytes::Bytes;
use serde_json::Value;

use super::kinds::{self, KindId};
use super::status::{ApiError, ApiResult};
use super::store::Entry;

#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub manager: String,
    pub dry_run: bool,
    pub force: bool,
    pub subresource: Option<String>,
    /// `fieldValidation=Strict`: unknown fields are a 400, not silently dropped.
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let base = ct.split(';').next().unwrap_or_default().trim();
        match base {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    pub dry_run: bool,
    pub grace: Option<i64>,
    pub orphan: bool,
    pub uid: Option<String>,
    pub rv: Option<String>,
}

/// A successful write: status code and the object as JSON.
pub struct Written {
    pub code: u16,
    pub body: Bytes,
}

fn written(code: u16, v: &Value) -> Written {
    Written {
        code,
        body: Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    }
}

fn meta_str<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get("metadata")
        .and_then(|m| m.get(k))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Parses a request body as JSON, or as YAML when it is not JSON.
pub fn parse_body(body: &[u8]) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::bad_request("the request body is not UTF-8 text"))?;
            let looks_json = text.trim_start().starts_with(['{', '[']);
            if looks_json {
                return Err(ApiError::bad_request(format!(
                    "couldn't get version/kind; json parse error: {json_err}"
                )));
            }
            serde_saphyr::from_str::<Value>(text).map_err(|e| {
                ApiError::bad_request(format!("error converting YAML to JSON: yaml: {e}"))
            })
        }
    }
}

fn has_status_subresource(kind: KindId) -> bool {
    kinds::get(kind).subresources.contains(&"status")
}

/// Whether a write's result differs from `old` in anything but bookkeeping.
fn same_object(a: &Value, b: &Value) -> bool {
    fn strip(v: &Value) -> Value {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
            if let Some(Value::Array(mf)) = m.get_mut("managedFields") {
                for e in mf.iter_mut().filter_map(Value::as_object_mut) {
                    e.remove("time");
                }
            }
        }
        v
    }
    strip(a) == strip(b)
}

/// Go's `omitempty` on ObjectMeta: an empty map or list is not serialized, so a
/// patch that leaves `annotations: {}` behind reads back without it.
fn omit_empty_metadata(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|k, v| {
            let empty = match v {
                Value::Object(m) => m.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Null => true,
                Value::String(s) => s.is_empty() && k != "name",
                _ => false,
            };
            !empty
        });
    }
}

fn kinds_with_generation(kind: KindId) -> bool {
    kinds::is_custom(kind)
        || kind == kinds::CRD
        || matches!(
            kind,
            kinds::DEPLOYMENT
                | kinds::REPLICASET
                | kinds::HPA
                | kinds::INGRESS
                | kinds::JOB
                | kinds::CRONJOB
                | kinds::STATEFULSET
                | kinds::DAEMONSET
                | kinds::PDB
                | kinds::NETWORKPOLICY
        )
}

fn ns_of(kind: KindId, ns: &str) -> &str {
    if kinds::get(kind).namespaced { ns } else { "" }
}

fn meta_mut(v: &mut Value) -> ApiResult<&mut serde_json::Map<String, Value>> {
    v.get_mut("metadata")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))
}

fn truncate(s: &str) -> String {
    if s.len() > 200 {
        let mut end = 200;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s.to_string()
    }
}

fn clone_entry(e: &Entry) -> Entry {
    Entry {
        kind: e.kind,
        namespace: e.namespace.clone(),
        name: e.name.clone(),
        uid: e.uid.clone(),
        rv: e.rv,
        labels: e.labels.clone(),
        fields: e.fields.clone(),
        owners: e.owners.clone(),
        bytes: e.bytes.clone(),
    }
}

mod delete;
mod scale;
mod write;
