//! CustomResourceDefinitions: a CRD that is written is served at once — each
//! served version a kind in discovery with its short names and categories,
//! its objects validated against the version's `openAPIV3Schema` (types,
//! required fields, enums, bounds; unknown fields pruned, or refused under
//! `fieldValidation=Strict`; `x-kubernetes-validations` rules in the part of
//! CEL [`crate::cel`] evaluates) and defaulted from the schema's `default`s, its
//! schema published in the OpenAPI v3 documents (`kubectl explain`), a status
//! subresource when declared, and the
//! table `kubectl get` prints from its `additionalPrinterColumns`. The CRD's
//! status says Established and NamesAccepted. A CRD that goes takes its
//! objects with it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use serde_json::{Value, json};

use crate::kinds::{self, CustomKind, KindId};
use crate::state::State;
use crate::status::Cause;

/// A printer column: header, type, JSON path and priority.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    pub name: String,
    pub ty: String,
    pub path: String,
    pub priority: i64,
}

/// What the API server keeps of a CRD version besides its names.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    pub schema: Value,
    pub columns: Vec<PrinterColumn>,
}

static INFO: RwLock<Option<HashMap<KindId, Arc<Info>>>> = RwLock::new(None);

pub fn info(kind: KindId) -> Option<Arc<Info>> {
    INFO.read()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()?
        .get(&kind)
        .cloned()
}

fn set_info(kind: KindId, i: Info) {
    let mut g = INFO.write().unwrap_or_else(|e| e.into_inner());
    let map = g.get_or_insert_with(HashMap::new);
    if map.get(&kind).map(|x| **x != i).unwrap_or(true) {
        map.insert(kind, Arc::new(i));
    }
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The kinds a CRD's served versions define, with their schema and columns.
pub fn kinds_of(crd: &Value) -> Vec<(CustomKind, Info)> {
    let spec = crd.get("spec").cloned().unwrap_or(Value::Null);
    let names = spec.get("names").cloned().unwrap_or(Value::Null);
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    versions
        .iter()
        .filter(|v| v.get("served") != Some(&Value::Bool(false)))
        .map(|v| {
            let mut subresources = Vec::new();
            if v.pointer("/subresources/status").is_some() {
                subresources.push("status".to_string());
            }
            if v.pointer("/subresources/scale").is_some() {
                subresources.push("scale".to_string());
            }
            let kind = CustomKind {
                group: s(&spec, "/group").to_string(),
                version: s(v, "/name").to_string(),
                kind: s(&names, "/kind").to_string(),
                plural: s(&names, "/plural").to_string(),
                singular: {
                    let x = s(&names, "/singular");
                    if x.is_empty() {
                        s(&names, "/kind").to_lowercase()
                    } else {
                        x.to_string()
                    }
                },
                namespaced: s(&spec, "/scope") != "Cluster",
                short_names: strings(names.get("shortNames")),
                categories: strings(names.get("categories")),
                subresources,
            };
            let columns = v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .map(|c| PrinterColumn {
                            name: s(c, "/name").to_string(),
                            ty: s(c, "/type").to_string(),
                            path: s(c, "/jsonPath").to_string(),
                            priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let info = Info {
                schema: v.pointer("/schema/openAPIV3Schema").cloned().unwrap_or(
                    json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
                ),
                columns,
            };
            (kind, info)
        })
        .collect()
}

/// The API server's checks of a CRD itself.
pub fn validate_crd(crd: &Value, causes: &mut Vec<Cause>) {
    let group = s(crd, "/spec/group");
    let plural = s(crd, "/spec/names/plural");
    for (field, value) in [
        ("spec.group", group),
        ("spec.names.plural", plural),
        ("spec.names.kind", s(crd, "/spec/names/kind")),
    ] {
        if value.is_empty() {
            causes.push(Cause::required(field));
        }
    }
    let name = s(crd, "/metadata/name");
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause::invalid(
            "metadata.name",
            &Value::String(name.into()),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause::required("spec.versions"));
    }
    let storage = versions
        .iter()
        .filter(|v| v.get("storage") == Some(&Value::Bool(true)))
        .count();
    if !versions.is_empty() && storage != 1 {
        causes.push(Cause::invalid(
            "spec.versions",
            &Value::Null,
            "must have exactly one version marked as storage version",
        ));
    }
    if !matches!(s(crd, "/spec/scope"), "Namespaced" | "Cluster") {
        causes.push(Cause::unsupported(
            "spec.scope",
            s(crd, "/spec/scope"),
            &["Cluster", "Namespaced"],
        ));
    }
}

/// Serves what the cluster's CRDs define, says so in their status, and stops
/// serving (deleting the objects of) kinds whose CRD or version is gone.
pub fn sync(st: &mut State) {
    let crds: Vec<Value> = st
        .store
        .range(kinds::CRD, None, None)
        .map(|e| e.value())
        .collect();
    let mut served = BTreeSet::new();
    for crd in &crds {
        if crd.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        for (kind, info) in kinds_of(crd) {
            let id = kinds::register(&kind);
            set_info(id, info);
            served.insert(id);
        }
        establish(st, crd);
    }
    let gone: Vec<KindId> = st.store.served.difference(&served).copied().collect();
    st.store.served = served;
    for id in gone {
        let keys: Vec<(String, String)> = st
            .store
            .range(id, None, None)
            .map(|e| (e.namespace.clone(), e.name.clone()))
            .collect();
        for (ns, name) in keys {
            st.store.remove(id, &ns, &name);
        }
    }
}

fn establish(st: &mut State, crd: &Value) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let mut accepted = names.clone();
    if accepted.get("listKind").is_none() {
        accepted["listKind"] = json!(format!("{}List", s(&names, "/kind")));
    }
    if accepted.get("singular").is_none() {
        accepted["singular"] = json!(s(&names, "/kind").to_lowercase());
    }
    let storage: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage") == Some(&Value::Bool(true)))
                .filter_map(|v| v.get("name").cloned())
                .collect()
        })
        .unwrap_or_default();
    let old = crd.get("status").cloned().unwrap_or(Value::Null);
    let since = old
        .pointer("/conditions/0/lastTransitionTime")
        .cloned()
        .unwrap_or_else(|| json!(crate::clock::Clock::timestamp()));
    let mut stored: Vec<Value> = old
        .get("storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for v in storage {
        if !stored.contains(&v) {
            stored.push(v);
        }
    }
    let status = json!({
        "acceptedNames": accepted,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": since},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": since},
        ],
        "storedVersions": stored,
    });
    if old != status
        && let Some(mut fresh) = st.get_value(kinds::CRD, "", s(crd, "/metadata/name"))
    {
        fresh["status"] = status;
        st.store.commit(kinds::CRD, fresh);
    }
}

// ---- objects of a custom kind -------------------------------------------

fn types(schema: &Value) -> Vec<&str> {
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        return vec!["integer", "string"];
    }
    match schema.get("type").and_then(Value::as_str) {
        Some(t) => vec![t],
        None => Vec::new(),
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Schema validation of an object (metadata, apiVersion and kind aside), the
/// API server's way: `spec.x: Unsupported value…`, `… Required value`, `… in
/// body must be of type integer: "string"`.
pub fn validate(kind: KindId, obj: &Value, causes: &mut Vec<Cause>) {
    let Some(info) = info(kind) else { return };
    let Some(props) = info.schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (k, sub) in props {
        if matches!(k.as_str(), "metadata" | "apiVersion" | "kind") {
            continue;
        }
        if let Some(v) = obj.get(k) {
            check(sub, v, k, causes);
        }
    }
    for r in strings(info.schema.get("required")) {
        if !matches!(r.as_str(), "metadata" | "apiVersion" | "kind") && obj.get(&r).is_none() {
            causes.push(Cause::required(r));
        }
    }
    rules(&info.schema, obj, "", causes);
}

fn check(schema: &Value, v: &Value, path: &str, causes: &mut Vec<Cause>) {
    if v.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) && !types(schema).is_empty() {
            causes.push(Cause::invalid(
                path.to_string(),
                v,
                &format!(
                    "{path} in body must be of type {}: \"null\"",
                    types(schema).join(",")
                ),
            ));
        }
        return;
    }
    let want = types(schema);
    let got = type_of(v);
    let fits =
        want.is_empty() || want.contains(&got) || (got == "integer" && want.contains(&"number"));
    if !fits {
        causes.push(Cause::invalid(
            path.to_string(),
            &Value::String(got.into()),
            &format!(
                "{path} in body must be of type {}: \"{got}\"",
                want.join(",")
            ),
        ));
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(v)
    {
        let allowed: Vec<String> = options
            .iter()
            .map(|o| {
                o.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| o.to_string())
            })
            .collect();
        let refs: Vec<&str> = allowed.iter().map(String::as_str).collect();
        let shown = v
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| v.to_string());
        causes.push(Cause::unsupported(path.to_string(), &shown, &refs));
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            causes.push(Cause::invalid(
                path.to_string(),
                v,
                &format!("{path} in body should be greater than or equal to {min}"),
            ));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            causes.push(Cause::invalid(
                path.to_string(),
                v,
                &format!("{path} in body should be less than or equal to {max}"),
            ));
        }
    }
    if let Some(text) = v.as_str() {
        let len = text.chars().count() as u64;
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            causes.push(Cause::invalid(
                path.to_string(),
                v,
                &format!("{path} in body should be at most {max} chars long"),
            ));
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            causes.push(Cause::invalid(
                path.to_string(),
                v,
                &format!("{path} in body should be at least {min} chars long"),
            ));
        }
    }
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, x) in m {
                let sub = props
                    .and_then(|p| p.get(k))
                    .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                if let Some(sub) = sub {
                    check(sub, x, &format!("{path}.{k}"), causes);
                }
            }
            for r in strings(schema.get("required")) {
                if !m.contains_key(&r) {
                    causes.push(Cause::required(format!("{path}.{r}")));
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, x) in items.iter().enumerate() {
                    check(sub, x, &format!("{path}[{i}]"), causes);
                }
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                causes.push(Cause::invalid(
                    path.to_string(),
                    v,
                    &format!("must have at most {max} items"),
                ));
            }
        }
        _ => {}
    }
    rules(schema, v, path, causes);
}

/// The node's `x-kubernetes-validations` (CEL) rules, with `self` its value.
fn rules(schema: &Value, v: &Value, path: &str, causes: &mut Vec<Cause>) {
    let Some(list) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    else {
        return;
    };
    let shown = match v {
        Value::Object(_) => json!("object"),
        Value::Array(_) => json!("array"),
        other => other.clone(),
    };
    let at = if path.is_empty() { "<nil>" } else { path };
    for r in list {
        let rule = s(r, "/rule");
        let field = match s(r, "/fieldPath") {
            "" => at.to_string(),
            f if path.is_empty() => f.trim_start_matches('.').to_string(),
            f => format!("{path}{f}"),
        };
        match crate::cel::check(rule, v) {
            crate::cel::Outcome::Holds => {}
            crate::cel::Outcome::Fails => {
                let message = match s(r, "/message") {
                    "" => format!("failed rule: {rule}"),
                    m => m.to_string(),
                };
                causes.push(Cause::invalid(field, &shown, &message));
            }
            crate::cel::Outcome::Error(e) => causes.push(Cause::invalid(
                field,
                &shown,
                &format!("{e} evaluating rule: {rule}"),
            )),
            // Not silently passed as checked: said where the simulator runs.
            crate::cel::Outcome::Unsupported(why) => {
                tracing::warn!("{at}: x-kubernetes-validations rule not evaluated ({why}): {rule}")
            }
        }
    }
}

/// Fields the schema does not know, as dotted paths (what Strict refuses and
/// the default mode prunes).
pub fn unknown_fields(kind: KindId, obj: &Value) -> Vec<String> {
    let Some(info) = info(kind) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk_unknown(&info.schema, obj, "", true, &mut out);
    out
}

fn preserves(schema: &Value) -> bool {
    schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        || schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true))
}

fn walk_unknown(schema: &Value, v: &Value, path: &str, root: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties");
            for (k, x) in m {
                if root && matches!(k.as_str(), "metadata" | "apiVersion" | "kind") {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match props.and_then(|ps| ps.get(k)) {
                    Some(sub) => walk_unknown(sub, x, &p, false, out),
                    None => match extra {
                        Some(Value::Object(_)) => {
                            walk_unknown(extra.unwrap_or(&Value::Null), x, &p, false, out)
                        }
                        Some(Value::Bool(true)) => {}
                        _ if preserves(schema) => {}
                        _ => out.push(p),
                    },
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, x) in items.iter().enumerate() {
                    walk_unknown(sub, x, &format!("{path}[{i}]"), false, out);
                }
            }
        }
        _ => {}
    }
}

/// Fills in the schema's `default`s where a field is missing (or null), at
/// every level of objects and arrays that are present, as the API server
/// defaults a structural schema on every write.
pub fn default(kind: KindId, obj: &mut Value) {
    let Some(info) = info(kind) else { return };
    default_walk(&info.schema, obj, true);
}

fn default_walk(schema: &Value, v: &mut Value, root: bool) {
    match v {
        Value::Object(m) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    if root && matches!(k.as_str(), "metadata" | "apiVersion" | "kind") {
                        continue;
                    }
                    if let Some(d) = sub.get("default")
                        && m.get(k).is_none_or(Value::is_null)
                    {
                        m.insert(k.clone(), d.clone());
                    }
                    if let Some(x) = m.get_mut(k) {
                        default_walk(sub, x, false);
                    }
                }
            }
            if let Some(extra @ Value::Object(_)) = schema.get("additionalProperties") {
                let known = schema.get("properties").and_then(Value::as_object);
                for (k, x) in m.iter_mut() {
                    if known.is_none_or(|p| !p.contains_key(k)) {
                        default_walk(extra, x, false);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for x in items.iter_mut() {
                    default_walk(sub, x, false);
                }
            }
        }
        _ => {}
    }
}

/// Drops the fields the schema does not know, as the API server prunes them.
pub fn prune(kind: KindId, obj: &mut Value) {
    let Some(info) = info(kind) else { return };
    prune_walk(&info.schema, obj, true);
}

fn prune_walk(schema: &Value, v: &mut Value, root: bool) {
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties").cloned();
            let keep_all = preserves(schema) || extra == Some(Value::Bool(true));
            let mut drop = Vec::new();
            for (k, x) in m.iter_mut() {
                if root && matches!(k.as_str(), "metadata" | "apiVersion" | "kind") {
                    continue;
                }
                match props.and_then(|ps| ps.get(k)) {
                    Some(sub) => prune_walk(sub, x, false),
                    None => match &extra {
                        Some(sub @ Value::Object(_)) => prune_walk(sub, x, false),
                        _ if keep_all => {}
                        _ => drop.push(k.clone()),
                    },
                }
            }
            for k in drop {
                m.remove(&k);
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for x in items.iter_mut() {
                    prune_walk(sub, x, false);
                }
            }
        }
        _ => {}
    }
}

// ---- tables ------------------------------------------------------------

type Col = (&'static str, &'static str, u8);

/// Name, the printer columns (Age when there are none), as the API server's
/// table for a custom kind.
pub fn columns(kind: KindId) -> Vec<(String, String, i64)> {
    let mut out = vec![("Name".to_string(), "string".to_string(), 0)];
    match info(kind) {
        Some(i) if !i.columns.is_empty() => out.extend(
            i.columns
                .iter()
                .map(|c| (c.name.clone(), c.ty.clone(), c.priority)),
        ),
        _ => out.push(("Age".into(), "date".into(), 0)),
    }
    out
}

/// The printer columns' values: a simple JSONPath (`.spec.a.b`, `[0]`,
/// `[?(@.type=="Ready")]`); dates as ages.
pub fn cells(kind: KindId, o: &Value) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let Some(info) = info(kind).filter(|i| !i.columns.is_empty()) else {
        return vec![
            name,
            json!(crate::api::table::age(
                o.pointer("/metadata/creationTimestamp")
            )),
        ];
    };
    let mut row = vec![name];
    for c in &info.columns {
        let v = json_path(o, &c.path);
        row.push(match (c.ty.as_str(), v) {
            (_, None) => Value::Null,
            ("date", Some(v)) => json!(crate::api::table::age(Some(&v))),
            (_, Some(Value::String(x))) => json!(x),
            (_, Some(v @ (Value::Number(_) | Value::Bool(_)))) => v,
            (_, Some(v)) => json!(v.to_string()),
        });
    }
    row
}

/// A printer column's JSONPath on an object.
pub fn json_path(o: &Value, path: &str) -> Option<Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let path = path.strip_prefix('$').unwrap_or(path);
    let mut cur = o.clone();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            cur = cur.get(key)?.clone();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            rest = &r[end + 1..];
            if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (k, want) = filter.split_once("==")?;
                let want = want.trim().trim_matches(|c| c == '"' || c == '\'');
                cur = cur
                    .as_array()?
                    .iter()
                    .find(|x| x.get(k.trim()).and_then(Value::as_str) == Some(want))?
                    .clone();
            } else {
                let i: usize = inner.parse().ok()?;
                cur = cur.get(i)?.clone();
            }
        } else {
            return None;
        }
    }
    Some(cur)
}

/// The columns in the table module's shape (names leaked once per kind and
/// column, a handful per CRD).
pub fn table_columns(kind: KindId) -> Vec<Col> {
    static NAMES: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());
    let intern = |x: &str| -> &'static str {
        let mut g = NAMES.write().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = g.iter().find(|n| **n == x) {
            return found;
        }
        let leaked: &'static str = Box::leak(x.to_string().into_boxed_str());
        g.push(leaked);
        leaked
    };
    columns(kind)
        .into_iter()
        .map(|(n, t, p)| {
            let ty = match t.as_str() {
                "integer" => "integer",
                "number" => "number",
                "boolean" => "boolean",
                "date" => "date",
                _ => "string",
            };
            (intern(&n), ty, p.clamp(0, 255) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgb_crd() -> Value {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wg"]},
                "versions": [
                    {"name": "v1alpha1", "served": true, "storage": false,
                     "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v1", "served": true, "storage": true,
                     "subresources": {"status": {}},
                     "additionalPrinterColumns": [
                        {"name": "SIZE", "type": "integer", "jsonPath": ".spec.size"},
                        {"name": "READY", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}],
                     "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "required": ["size"], "properties": {
                            "size": {"type": "integer", "minimum": 1},
                            "mode": {"type": "string", "enum": ["fast", "safe"], "default": "safe"},
                            "tiers": {"type": "array", "items": {"type": "object", "properties": {
                                "name": {"type": "string"},
                                "weight": {"type": "integer", "default": 1}}}},
                            "port": {"x-kubernetes-int-or-string": true},
                            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}})
    }

    #[test]
    fn a_crd_is_served_validated_and_printed() {
        let mut st = State::new(1);
        st.put(kinds::CRD, tgb_crd());
        sync(&mut st);
        let v1 = kinds::by_gvk("example.com/v1", "Widget").unwrap();
        assert!(st.store.served.contains(&v1));
        assert_eq!(st.store.served.len(), 2, "both served versions");
        let k = kinds::get(v1);
        assert_eq!(
            (k.plural, k.namespaced, k.short_names),
            ("widgets", true, &["wg"][..])
        );
        assert_eq!(k.subresources, ["status"]);
        let crd = st.get_value(kinds::CRD, "", "widgets.example.com").unwrap();
        assert_eq!(s(&crd, "/status/conditions/1/type"), "Established");
        assert_eq!(s(&crd, "/status/acceptedNames/listKind"), "WidgetList");

        let good = json!({"spec": {"size": 3, "mode": "fast", "port": "http", "extra": {"any": 1}},
                          "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let mut causes = Vec::new();
        validate(v1, &good, &mut causes);
        assert!(causes.is_empty(), "{causes:?}");
        let bad = json!({"spec": {"size": 0, "mode": "slow", "port": true}});
        validate(v1, &bad, &mut causes);
        let msgs: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("spec.size") && m.contains("greater than or equal to 1")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("spec.mode: Unsupported value: \"slow\"")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(
                |m| m.contains("spec.port in body must be of type integer,string: \"boolean\"")
            ),
            "{msgs:?}"
        );
        let mut missing = Vec::new();
        validate(v1, &json!({"spec": {}}), &mut missing);
        assert_eq!(missing[0].field, "spec.size");

        let mut typo = json!({"metadata": {"name": "a"}, "spec": {"size": 1, "sise": 2, "extra": {"kept": true}}});
        assert_eq!(unknown_fields(v1, &typo), ["spec.sise"]);
        prune(v1, &mut typo);
        assert_eq!(typo["spec"], json!({"size": 1, "extra": {"kept": true}}));

        assert_eq!(
            table_columns(v1).iter().map(|c| c.0).collect::<Vec<_>>(),
            ["Name", "SIZE", "READY"]
        );
        let row = cells(
            v1,
            &json!({"metadata": {"name": "w"}, "spec": {"size": 3},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        );
        assert_eq!(row, [json!("w"), json!(3), json!("True")]);

        // The CRD goes: so do its kinds and their objects.
        st.put(v1, json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}, "spec": {"size": 1}}));
        st.store.remove(kinds::CRD, "", "widgets.example.com");
        sync(&mut st);
        assert!(st.store.served.is_empty());
        assert_eq!(st.store.count(v1), 0);
    }

    #[test]
    fn schema_defaults_fill_what_is_missing_at_every_level() {
        let mut st = State::new(1);
        st.put(kinds::CRD, tgb_crd());
        sync(&mut st);
        let v1 = kinds::by_gvk("example.com/v1", "Widget").unwrap();
        let mut w = json!({"metadata": {"name": "w"}, "spec": {"size": 2, "tiers": [{"name": "a"}, {"name": "b", "weight": 5}]}});
        default(v1, &mut w);
        assert_eq!(s(&w, "/spec/mode"), "safe");
        assert_eq!(w.pointer("/spec/tiers/0/weight"), Some(&json!(1)));
        assert_eq!(
            w.pointer("/spec/tiers/1/weight"),
            Some(&json!(5)),
            "a given value stays"
        );
        let mut fast = json!({"spec": {"size": 1, "mode": "fast"}});
        default(v1, &mut fast);
        assert_eq!(s(&fast, "/spec/mode"), "fast");
        // No spec, no defaults inside it (the API server defaults what is there).
        let mut bare = json!({"metadata": {"name": "b"}});
        default(v1, &mut bare);
        assert!(bare.get("spec").is_none());
    }

    #[test]
    fn a_crd_must_be_named_for_its_plural_and_group() {
        let mut crd = tgb_crd();
        crd["metadata"]["name"] = json!("widget.example.com");
        let mut causes = Vec::new();
        validate_crd(&crd, &mut causes);
        assert_eq!(causes[0].field, "metadata.name");
        assert!(
            causes[0]
                .message
                .contains("must be spec.names.plural+\".\"+spec.group")
        );
    }

    #[test]
    fn json_paths_of_printer_columns() {
        let o = json!({"spec": {"a": {"b": [10, 20]}}, "status": {"c": [{"type": "X", "v": "1"}, {"type": "Y", "v": "2"}]}});
        assert_eq!(json_path(&o, ".spec.a.b[1]"), Some(json!(20)));
        assert_eq!(
            json_path(&o, ".status.c[?(@.type==\"Y\")].v"),
            Some(json!("2"))
        );
        assert_eq!(json_path(&o, ".spec.missing"), None);
    }
}
