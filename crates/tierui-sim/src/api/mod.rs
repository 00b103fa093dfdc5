//! The HTTP surface: one fallback handler that parses Kubernetes paths itself
//! (the route space is regular but too large for static routes), then hands off
//! to discovery, OpenAPI, reads, watches or writes.

pub mod discovery;
pub mod openapi;
pub mod read;
pub mod table;
pub mod table_app;
pub mod watch;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::cluster::Sim;
use super::kinds::{self, KindId};
use super::ops::{DeleteOpts, PatchType, WriteOpts, parse_body};
use super::patch::{json as jp, strategic};
use super::selector::{FieldSelector, LabelSelector};
use super::status::{ApiError, ApiResult};
use super::store::selectable_fields;

/// The API server's default request size limit.
const MAX_BODY: usize = 3 * 1024 * 1024;

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new().fallback(handle).with_state(sim)
}

pub fn json_response(code: u16, body: impl Into<Bytes>) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.into()))
        .unwrap_or_default()
}

pub fn value_response(code: u16, v: &Value) -> Response {
    json_response(code, serde_json::to_vec(v).unwrap_or_default())
}

pub fn error_response(e: &ApiError) -> Response {
    value_response(e.code, &e.to_status())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub kind: KindId,
    pub ns: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
    pub legacy_watch: bool,
}

#[derive(Debug, PartialEq)]
enum Route {
    Version,
    Health,
    Api,
    Apis,
    Group(String),
    GroupVersion(String, String),
    OpenApiV2,
    OpenApiV3Index,
    OpenApiV3(String),
    Resource(Target),
    NotFound,
}

fn parse_route(path: &str) -> Route {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz"] | ["readyz"] | ["livez"] => Route::Health,
        ["healthz" | "readyz" | "livez", ..] => Route::Health,
        ["api"] => Route::Api,
        ["apis"] => Route::Apis,
        ["apis", g] => Route::Group((*g).to_string()),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3Index,
        ["openapi", "v3", rest @ ..] => Route::OpenApiV3(rest.join("/")),
        ["api", v] => Route::GroupVersion(String::new(), (*v).to_string()),
        ["apis", g, v] => Route::GroupVersion((*g).to_string(), (*v).to_string()),
        ["api", v, rest @ ..] => resource_route("", v, rest),
        ["apis", g, v, rest @ ..] => resource_route(g, v, rest),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let (legacy_watch, rest) = match rest {
        ["watch", r @ ..] => (true, r),
        r => (false, r),
    };
    let target = |plural: &str, ns: Option<&str>, name: Option<&str>, sub: Option<&str>| {
        let kind = kinds::by_resource(group, version, plural)?;
        let k = kinds::get(kind);
        if ns.is_some() && !k.namespaced {
            return None;
        }
        if let Some(s) = sub
            && !k.subresources.contains(&s)
            && !(k.kind == "Pod" && (s == "log" || s == "eviction"))
        {
            return None;
        }
        Some(Route::Resource(Target {
            kind,
            ns: ns.map(str::to_string),
            name: name.map(str::to_string),
            sub: sub.map(str::to_string),
            legacy_watch,
        }))
    };
    let namespaced_plural =
        |p: &str| kinds::by_resource(group, version, p).is_some_and(|k| kinds::get(k).namespaced);
    let r = match rest {
        ["namespaces", ns, plural] if namespaced_plural(plural) => {
            target(plural, Some(ns), None, None)
        }
        ["namespaces", ns, plural, name] if namespaced_plural(plural) => {
            target(plural, Some(ns), Some(name), None)
        }
        ["namespaces", ns, plural, name, sub] if namespaced_plural(plural) => {
            target(plural, Some(ns), Some(name), Some(sub))
        }
        [plural] => target(plural, None, None, None),
        [plural, name] => target(plural, None, Some(name), None),
        [plural, name, sub] => target(plural, None, Some(name), Some(sub)),
        _ => None,
    };
    r.unwrap_or(Route::NotFound)
}

pub type Query = HashMap<String, String>;

fn parse_query(q: Option<&str>) -> Query {
    let mut out = HashMap::new();
    if let Some(q) = q {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.insert(decode(k), decode(v));
        }
    }
    out
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn flag(q: &Query, k: &str) -> bool {
    q.get(k).is_some_and(|v| v == "true" || v == "1")
}

fn header_str(h: &HeaderMap, k: header::HeaderName) -> &str {
    h.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

async fn handle(AxState(sim): AxState<Arc<Sim>>, req: Request) -> Response {
    // A stopped simulator answers nothing from its old state: a client that kept
    // a connection open across a restart must reconnect to the new one.
    if *sim.shutdown.borrow() {
        let mut r = error_response(&ApiError::shutting_down());
        r.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return r;
    }
    let (parts, body) = req.into_parts();
    let query = parse_query(parts.uri.query());
    let route = parse_route(parts.uri.path());
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error_response(&ApiError::too_large()),
    };
    let method = parts.method.clone();
    let get_only = |r: Response| {
        if method == Method::GET || method == Method::HEAD {
            r
        } else {
            error_response(&ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({method})"
            )))
        }
    };
    match route {
        Route::Version => get_only(value_response(200, &discovery::version())),
        Route::Health => get_only(
            Response::builder()
                .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(Body::from("ok"))
                .unwrap_or_default(),
        ),
        Route::Api => {
            let addr = sim.addr.get().map(|a| a.to_string()).unwrap_or_default();
            get_only(value_response(200, &discovery::api_versions(&addr)))
        }
        Route::Apis => {
            let served = sim.lock().store.served.clone();
            get_only(value_response(200, &discovery::api_group_list(&served)))
        }
        Route::Group(g) => match discovery::api_group(&g, &sim.lock().store.served.clone()) {
            Some(v) => get_only(value_response(200, &v)),
            None => error_response(&ApiError::path_not_found()),
        },
        Route::GroupVersion(g, v) => {
            match discovery::resource_list(&g, &v, &sim.lock().store.served.clone()) {
                Some(doc) => get_only(value_response(200, &doc)),
                None => error_response(&ApiError::path_not_found()),
            }
        }
        Route::OpenApiV2 => {
            let accept = header_str(&parts.headers, header::ACCEPT);
            if !accept.is_empty() && !accept.contains("json") && !accept.contains("*/*") {
                // kubectl asks for the protobuf encoding only; it copes with a 406.
                return error_response(&ApiError::not_acceptable(
                    "only application/json is served for /openapi/v2",
                ));
            }
            get_only(value_response(200, openapi::v2()))
        }
        Route::OpenApiV3Index => {
            let served = sim.lock().store.served.clone();
            get_only(value_response(200, &openapi::v3_index(&served)))
        }
        Route::OpenApiV3(gv) => match openapi::v3_group_version(&gv) {
            Some(doc) => get_only(value_response(200, doc)),
            None => {
                let served = sim.lock().store.served.clone();
                match openapi::v3_custom(&gv, &served) {
                    Some(doc) => get_only(value_response(200, &doc)),
                    None => error_response(&ApiError::path_not_found()),
                }
            }
        },
        Route::NotFound => error_response(&ApiError::path_not_found()),
        // A custom kind whose CRD this cluster does not have (another
        // simulated cluster in the process may) is not served here.
        Route::Resource(t)
            if kinds::is_custom(t.kind) && !sim.lock().store.served.contains(&t.kind) =>
        {
            error_response(&ApiError::path_not_found())
        }
        Route::Resource(t) => match resource(&sim, &method, &parts.headers, &query, t, body) {
            Ok(r) => r,
            Err(e) => error_response(&e),
        },
    }
}

fn selectors(kind: KindId, q: &Query) -> ApiResult<(LabelSelector, FieldSelector)> {
    let labels = LabelSelector::parse(
        q.get("labelSelector")
            .map(String::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
    let fields = FieldSelector::parse(
        q.get("fieldSelector")
            .map(String::as_str)
            .unwrap_or_default(),
    )
    .map_err(ApiError::bad_request)?;
    let allowed = selectable_fields(kind);
    for (f, _, _) in &fields.reqs {
        if f != "metadata.name" && f != "metadata.namespace" && !allowed.contains(&f.as_str()) {
            return Err(ApiError::bad_request(format!(
                "field label not supported: {f}"
            )));
        }
    }
    Ok((labels, fields))
}

fn write_opts(q: &Query, headers: &HeaderMap, sub: Option<&str>) -> ApiResult<WriteOpts> {
    let dry_run = match q.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid dryRun value {other:?}: supported values: \"All\""
            )));
        }
    };
    let manager = match q.get("fieldManager") {
        Some(m) if !m.is_empty() => m.clone(),
        _ => {
            let ua = header_str(headers, header::USER_AGENT);
            ua.split('/').next().unwrap_or_default().to_string()
        }
    };
    if manager.len() > 128 {
        return Err(ApiError::bad_request(
            "fieldManager: Too long: may not be longer than 128",
        ));
    }
    Ok(WriteOpts {
        manager,
        dry_run,
        force: flag(q, "force"),
        subresource: sub.map(str::to_string),
        strict: q.get("fieldValidation").is_some_and(|v| v == "Strict"),
    })
}

fn delete_opts(q: &Query, body: &[u8]) -> ApiResult<DeleteOpts> {
    let b: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        parse_body(body)?
    };
    let grace = q
        .get("gracePeriodSeconds")
        .and_then(|g| g.parse::<i64>().ok())
        .or_else(|| b.get("gracePeriodSeconds").and_then(Value::as_i64));
    let propagation = q.get("propagationPolicy").cloned().or_else(|| {
        b.get("propagationPolicy")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let orphan = propagation.as_deref() == Some("Orphan")
        || flag(q, "orphanDependents")
        || b.get("orphanDependents").and_then(Value::as_bool) == Some(true);
    let dry_run = q.get("dryRun").is_some_and(|d| d == "All")
        || b.get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x == "All"));
    Ok(DeleteOpts {
        dry_run,
        grace,
        orphan,
        uid: b
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
        rv: b
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// How a read answers, by the client's Accept header: the objects, kubectl's
/// server-side Table, or only their metadata (`as=PartialObjectMetadata[List]`,
/// what metadata watchers ask for; a Secret's data never goes out then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Object,
    Table,
    Meta,
}

impl Form {
    fn of(accept: &str) -> Form {
        if accept.contains("as=Table") {
            Form::Table
        } else if accept.contains("as=PartialObjectMetadata") {
            Form::Meta
        } else {
            Form::Object
        }
    }
}

/// An object as `PartialObjectMetadata`: its metadata only.
pub fn partial(v: &Value) -> Value {
    serde_json::json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": v.get("metadata").cloned().unwrap_or_else(|| serde_json::json!({})),
    })
}

fn resource(
    sim: &Arc<Sim>,
    method: &Method,
    headers: &HeaderMap,
    q: &Query,
    t: Target,
    body: Bytes,
) -> ApiResult<Response> {
    let k = kinds::get(t.kind);
    let ns = t.ns.clone().unwrap_or_default();
    let accept = header_str(headers, header::ACCEPT);
    let form = Form::of(accept);
    let ct = header_str(headers, header::CONTENT_TYPE).to_string();
    if k.computed && *method != Method::GET {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        )));
    }
    let protobuf = ct.starts_with("application/vnd.kubernetes.protobuf");
    // Typed clients send protobuf; everything else is JSON or YAML.
    let parse = |body: &[u8]| -> ApiResult<Value> {
        if protobuf {
            super::protobuf::decode(body)
                .map_err(|e| ApiError::bad_request(format!("protobuf: {e}")))
        } else {
            parse_body(body)
        }
    };
    let sub = t.sub.as_deref();
    match (method.clone(), t.name.as_deref()) {
        (Method::GET, None) => {
            let (labels, fields) = selectors(t.kind, q)?;
            if flag(q, "watch") || t.legacy_watch {
                return watch::serve(sim.clone(), t.kind, t.ns.clone(), labels, fields, q, form);
            }
            read::list(sim, t.kind, t.ns.as_deref(), &labels, &fields, q, form)
        }
        (Method::GET, Some(name)) => match sub {
            Some("scale") => Ok(value_response(
                200,
                &sim.lock().scale_of(t.kind, &ns, name)?,
            )),
            Some("log") => read::log(sim, &ns, name, q),
            _ => read::get(sim, t.kind, &ns, name, form),
        },
        (Method::POST, Some(name)) if sub == Some("eviction") => {
            let d = delete_opts(q, b"")?;
            let mut st = sim.lock();
            let pod = st
                .get_value(kinds::POD, &ns, name)
                .ok_or_else(|| ApiError::not_found(kinds::POD, name))?;
            crate::controllers::pdb::may_evict(&st, &ns, &pod)
                .map_err(ApiError::disruption_budget)?;
            st.api_delete(kinds::POD, &ns, name, &d)?;
            Ok(value_response(
                201,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            ))
        }
        (Method::POST, None) => {
            let obj = parse(&body)?;
            let o = write_opts(q, headers, None)?;
            let w = sim.lock().api_create(t.kind, &ns, obj, &o)?;
            Ok(json_response(w.code, w.body))
        }
        (Method::PUT, Some(name)) => {
            let obj = parse(&body)?;
            let o = write_opts(q, headers, sub)?;
            let w = if sub == Some("scale") {
                sim.lock().scale_update(t.kind, &ns, name, &obj, &o)?
            } else {
                sim.lock().api_update(t.kind, &ns, name, obj, &o)?
            };
            Ok(json_response(w.code, w.body))
        }
        (Method::PATCH, Some(name)) => {
            let ptype = PatchType::from_content_type(&ct)
                .ok_or_else(|| ApiError::unsupported_media_type(&ct))?;
            let o = write_opts(q, headers, sub)?;
            let mut st = sim.lock();
            let w = if sub == Some("scale") {
                let mut scale = st.scale_of(t.kind, &ns, name)?;
                let patch: Value = serde_json::from_slice(&body)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
                match ptype {
                    PatchType::Json => {
                        jp::json_patch(&mut scale, &patch).map_err(ApiError::bad_request)?
                    }
                    PatchType::Merge => jp::merge_patch(&mut scale, &patch),
                    PatchType::Strategic => {
                        strategic::apply(&mut scale, &patch).map_err(ApiError::bad_request)?
                    }
                    PatchType::Apply => return Err(ApiError::unsupported_media_type(&ct)),
                }
                st.scale_update(t.kind, &ns, name, &scale, &o)?
            } else {
                st.api_patch(t.kind, &ns, name, ptype, &body, &o)?
            };
            Ok(json_response(w.code, w.body))
        }
        (Method::DELETE, Some(name)) => {
            let d = delete_opts(q, if protobuf { b"" } else { &body })?;
            let w = sim.lock().api_delete(t.kind, &ns, name, &d)?;
            Ok(json_response(w.code, w.body))
        }
        (Method::DELETE, None) => {
            let (labels, fields) = selectors(t.kind, q)?;
            let d = delete_opts(q, if protobuf { b"" } else { &body })?;
            let w =
                sim.lock()
                    .api_delete_collection(t.kind, t.ns.as_deref(), &labels, &fields, &d)?;
            Ok(json_response(w.code, w.body))
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            parse_route("/api/v1/namespaces/x"),
            Route::Resource(Target {
                kind: kinds::NAMESPACE,
                ns: None,
                name: Some("x".into()),
                sub: None,
                legacy_watch: false
            })
        );
        assert_eq!(
            parse_route("/api/v1/namespaces/x/pods"),
            Route::Resource(Target {
                kind: kinds::POD,
                ns: Some("x".into()),
                name: None,
                sub: None,
                legacy_watch: false
            })
        );
        assert_eq!(
            parse_route("/apis/apps/v1/namespaces/x/deployments/d/scale"),
            Route::Resource(Target {
                kind: kinds::DEPLOYMENT,
                ns: Some("x".into()),
                name: Some("d".into()),
                sub: Some("scale".into()),
                legacy_watch: false
            })
        );
        assert_eq!(
            parse_route("/api/v1/namespaces/x/status"),
            Route::Resource(Target {
                kind: kinds::NAMESPACE,
                ns: None,
                name: Some("x".into()),
                sub: Some("status".into()),
                legacy_watch: false
            })
        );
        assert_eq!(
            parse_route("/api/v1/pods"),
            Route::Resource(Target {
                kind: kinds::POD,
                ns: None,
                name: None,
                sub: None,
                legacy_watch: false
            })
        );
        assert_eq!(parse_route("/api/v1/namespaces/x/nodes"), Route::NotFound);
        assert_eq!(
            parse_route("/apis/apps/v1/namespaces/x/widgets"),
            Route::NotFound
        );
        assert_eq!(
            parse_route("/apis/metrics.k8s.io/v1beta1/nodes"),
            Route::Resource(Target {
                kind: kinds::NODE_METRICS,
                ns: None,
                name: None,
                sub: None,
                legacy_watch: false
            })
        );
        assert_eq!(
            parse_route("/openapi/v3/apis/apps/v1"),
            Route::OpenApiV3("apis/apps/v1".into())
        );
    }

    #[test]
    fn query_decoding() {
        let q = parse_query(Some("labelSelector=app%3Dweb%2Ctier+in+%28a%29&watch=1"));
        assert_eq!(q["labelSelector"], "app=web,tier in (a)");
        assert!(flag(&q, "watch"));
        assert_eq!(decode("%zz%"), "%zz%");
    }
}
