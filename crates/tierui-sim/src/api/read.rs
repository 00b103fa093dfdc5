//! get and list, including pagination, table output and the computed metrics
//! kinds. Lists are assembled from stored bytes without re-serializing.

use std::sync::Arc;

use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use super::{Query, json_response, table, value_response};
use crate::cluster::Sim;
use crate::kinds::{self, KindId};
use crate::logs;
use crate::metrics;
use crate::scenario::Load;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult};
use crate::store::{Entry, Key};

pub fn get(
    sim: &Arc<Sim>,
    kind: KindId,
    ns: &str,
    name: &str,
    form: super::Form,
) -> ApiResult<Response> {
    let k = kinds::get(kind);
    if k.computed {
        let st = sim.lock();
        let items = if kind == kinds::POD_METRICS {
            metrics::pod_metrics(sim, &st, Some(ns), Some(name))
        } else {
            metrics::node_metrics(sim, &st, Some(name))
        };
        return items
            .into_iter()
            .next()
            .map(|v| value_response(200, &v))
            .ok_or_else(|| ApiError::not_found(kind, name));
    }
    let ns = if k.namespaced { ns } else { "" };
    let entry = sim
        .lock()
        .store
        .get(kind, ns, name)
        .ok_or_else(|| ApiError::not_found(kind, name))?;
    match form {
        super::Form::Table => {
            let v = entry.value();
            Ok(value_response(
                200,
                &table::table(
                    kind,
                    &[v],
                    &entry.rv.to_string(),
                    None,
                    false,
                    sim.cluster_now(),
                ),
            ))
        }
        super::Form::Meta => Ok(value_response(200, &super::partial(&entry.value()))),
        super::Form::Object => Ok(json_response(200, entry.bytes.clone())),
    }
}

/// The continue token: the version, the last key served and how many items
/// the pages so far held (so the next page's remainingItemCount needs no count).
fn encode_continue(rv: u64, key: &Key, served: usize) -> String {
    let raw = json!({"rv": rv, "ns": key.0, "name": key.1, "served": served}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// How many items earlier pages served, from a token (0 when it does not say).
fn served_before(token: &str) -> usize {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .ok()
        .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
        .and_then(|v| v.get("served").and_then(Value::as_u64))
        .unwrap_or(0) as usize
}

/// `limit` (0: all) and where the `continue` token says to go on after.
fn paging(q: &Query) -> ApiResult<(usize, Option<Key>)> {
    let limit = match q.get("limit").map(String::as_str) {
        None | Some("") => 0,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
    };
    let after = match q.get("continue").filter(|c| !c.is_empty()) {
        Some(c) => Some(decode_continue(c)?),
        None => None,
    };
    Ok((limit, after))
}

fn decode_continue(token: &str) -> ApiResult<Key> {
    let bad = || ApiError::bad_request("continue key is not valid: illegal base64 data");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let ns = v.get("ns").and_then(Value::as_str).ok_or_else(bad)?;
    let name = v.get("name").and_then(Value::as_str).ok_or_else(bad)?;
    Ok((ns.to_string(), name.to_string()))
}

pub fn list(
    sim: &Arc<Sim>,
    kind: KindId,
    ns: Option<&str>,
    labels: &LabelSelector,
    fields: &FieldSelector,
    q: &Query,
    form: super::Form,
) -> ApiResult<Response> {
    let k = kinds::get(kind);
    if k.computed {
        return metrics_list(sim, kind, ns, labels, q, form == super::Form::Table);
    }
    let (limit, after) = paging(q)?;
    let served = q
        .get("continue")
        .filter(|c| !c.is_empty())
        .map_or(0, |c| served_before(c));
    let unfiltered = labels.is_everything() && fields.is_empty();
    let matches = |e: &Entry| labels.matches(&e.labels) && fields.matches(|f| e.field(f));
    let (rv, items, cont, remaining): (u64, Vec<Arc<Entry>>, Option<String>, usize) = {
        let st = sim.lock();
        let rv = st.store.rv();
        // Pinned name and namespace (kubectl delete/rollout status): one lookup.
        let pinned_ns = ns.or_else(|| fields.pinned("metadata.namespace"));
        if let (Some(name), Some(pns), None) = (
            fields.pinned("metadata.name"),
            pinned_ns.or(if k.namespaced { None } else { Some("") }),
            &after,
        ) {
            let items: Vec<Arc<Entry>> = st
                .store
                .get(kind, pns, name)
                .into_iter()
                .filter(|e| matches(e))
                .collect();
            (rv, items, None, 0)
        } else {
            let mut iter = st
                .store
                .range(kind, ns, after.as_ref())
                .filter(|e| matches(e));
            let items: Vec<Arc<Entry>> = if limit > 0 {
                iter.by_ref().take(limit).cloned().collect()
            } else {
                iter.by_ref().cloned().collect()
            };
            // More to come? One step of the iterator says; the count of what is
            // left comes from the scope's size (a page never walks the rest,
            // which made paging 150,000 pods quadratic). With selectors the
            // count is omitted, as Kubernetes omits it.
            let more = limit > 0 && iter.next().is_some();
            let remaining = if more && unfiltered {
                let scope = match ns {
                    None => st.store.count(kind),
                    Some(ns) => st.store.range(kind, Some(ns), None).count(),
                };
                scope.saturating_sub(served + items.len())
            } else {
                0
            };
            let cont = more
                .then(|| {
                    items.last().map(|e| {
                        encode_continue(
                            rv,
                            &(e.namespace.clone(), e.name.clone()),
                            served + items.len(),
                        )
                    })
                })
                .flatten();
            (rv, items, cont, remaining)
        }
    };
    if form == super::Form::Meta {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if let Some(c) = &cont {
            meta["continue"] = json!(c);
            if unfiltered {
                meta["remainingItemCount"] = json!(remaining);
            }
        }
        let list = json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "items": items.iter().map(|e| super::partial(&e.value())).collect::<Vec<_>>(),
        });
        return Ok(value_response(200, &list));
    }
    if form == super::Form::Table {
        let values: Vec<Value> = items.iter().map(|e| e.value()).collect();
        return Ok(value_response(
            200,
            &table::table(
                kind,
                &values,
                &rv.to_string(),
                cont.as_deref(),
                q.get("includeObject").map(String::as_str) == Some("Object"),
                sim.cluster_now(),
            ),
        ));
    }
    let size: usize = items.iter().map(|e| e.bytes.len() + 1).sum();
    let mut out = Vec::with_capacity(size + 256);
    out.extend_from_slice(
        format!(
            "{{\"kind\":\"{}\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{rv}\"",
            k.list_kind(),
            k.api_version()
        )
        .as_bytes(),
    );
    if let Some(c) = &cont {
        out.extend_from_slice(format!(",\"continue\":\"{c}\"").as_bytes());
        if unfiltered {
            out.extend_from_slice(format!(",\"remainingItemCount\":{remaining}").as_bytes());
        }
    }
    out.extend_from_slice(b"},\"items\":[");
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&e.bytes);
    }
    out.extend_from_slice(b"]}");
    Ok(json_response(200, out))
}

fn metrics_list(
    sim: &Arc<Sim>,
    kind: KindId,
    ns: Option<&str>,
    labels: &LabelSelector,
    q: &Query,
    as_table: bool,
) -> ApiResult<Response> {
    let k = kinds::get(kind);
    // Pod metrics are paged like any list (limit/continue); node metrics are few.
    let (limit, after) = paging(q)?;
    let (items, rv, cont) = {
        let st = sim.lock();
        let rv = st.store.rv();
        let (items, next) = if kind == kinds::POD_METRICS {
            metrics::pod_metrics_page(
                sim,
                &st,
                ns,
                &|e| labels.matches(&e.labels),
                after.as_ref(),
                limit,
            )
        } else {
            let items = metrics::node_metrics(sim, &st, None)
                .into_iter()
                .filter(|m| labels.matches_json(m.pointer("/metadata/labels")))
                .collect();
            (items, None)
        };
        (items, rv, next.map(|key| encode_continue(rv, &key, 0)))
    };
    if as_table {
        return Ok(value_response(
            200,
            &table::table(
                kind,
                &items,
                &rv.to_string(),
                cont.as_deref(),
                false,
                sim.cluster_now(),
            ),
        ));
    }
    Ok(value_response(
        200,
        &json!({
            "kind": k.list_kind(),
            "apiVersion": k.api_version(),
            "metadata": match &cont {
                Some(c) => json!({"resourceVersion": rv.to_string(), "continue": c}),
                None => json!({"resourceVersion": rv.to_string()}),
            },
            "items": items,
        }),
    ))
}

/// The pod (if it still exists) and the load its lines follow.
fn pod_and_load(sim: &Sim, ns: &str, name: &str) -> Option<(Value, Option<(Load, usize)>)> {
    let st = sim.lock();
    let pod = st.get_value(kinds::POD, ns, name)?;
    let load = if metrics::is_ready(&pod) {
        metrics::LoadIndex::new(sim, &st)
            .for_pod(&pod)
            .map(|(l, r)| (l.clone(), r))
    } else {
        None
    };
    Some((pod, load))
}

fn wall_now() -> f64 {
    jiff::Timestamp::now().as_nanosecond() as f64 / 1e9
}

/// How lines are written out: timestamps, and what is left of `limitBytes`.
struct Writer {
    timestamps: bool,
    left: Option<usize>,
}

impl Writer {
    /// Appends a line; false once `limitBytes` is used up (the line cut there).
    fn put(&mut self, out: &mut String, at: f64, text: &str) -> bool {
        let mut line = String::new();
        if self.timestamps {
            line.push_str(&logs::stamp(at));
            line.push(' ');
        }
        line.push_str(text);
        line.push('\n');
        match &mut self.left {
            Some(0) => false,
            Some(left) => {
                let mut cut = line.len().min(*left);
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.push_str(&line[..cut]);
                *left -= cut;
                *left > 0
            }
            None => {
                out.push_str(&line);
                true
            }
        }
    }
}

/// `kubectl logs`: the container instance the kubelet would read, its lines
/// written from the pod's state and the clock (see [`crate::logs`]), with
/// `container`, `previous`, `follow`, `sinceSeconds`, `sinceTime`,
/// `tailLines`, `timestamps` and `limitBytes` as kubectl sends them.
pub fn log(sim: &Arc<Sim>, ns: &str, name: &str, q: &Query) -> ApiResult<Response> {
    let (pod, load) =
        pod_and_load(sim, ns, name).ok_or_else(|| ApiError::not_found(kinds::POD, name))?;
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let wanted = q.get("container").cloned();
    let c = match &wanted {
        Some(w) => containers
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(w.as_str())),
        None if containers.len() == 1 => containers.first(),
        None => {
            let names: Vec<&str> = containers
                .iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect();
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    let Some(c) = c else {
        return Err(ApiError::bad_request(format!(
            "container {} is not valid for pod {name}",
            wanted.unwrap_or_default()
        )));
    };
    let cname = c
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let previous = super::flag(q, "previous");
    let inst = logs::instance(&pod, &cname, previous).map_err(ApiError::bad_request)?;
    let number = |k: &str| -> ApiResult<Option<i64>> {
        q.get(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid {k}: {v:?}")))
            })
            .transpose()
    };
    let now = wall_now();
    let from = match (number("sinceSeconds")?, q.get("sinceTime")) {
        (Some(s), _) => now - s as f64,
        (None, Some(t)) => {
            let t: jiff::Timestamp = t
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid sinceTime: {t:?}")))?;
            t.as_nanosecond() as f64 / 1e9 - 1e-9
        }
        (None, None) => f64::NEG_INFINITY,
    };
    let tail = number("tailLines")?.map(|n| n.max(0) as usize);
    let mut w = Writer {
        timestamps: super::flag(q, "timestamps"),
        left: number("limitBytes")?.map(|n| n.max(0) as usize),
    };
    let rate = logs::rate(load, sim.clock.speed(), sim.clock.now(), now);
    let mut first: std::collections::VecDeque<(f64, String)> = Default::default();
    logs::lines(&inst, &rate, from, now, |t, text| {
        first.push_back((t, text));
        if tail.is_some_and(|n| first.len() > n) {
            first.pop_front();
        }
        true
    });
    let mut text = String::new();
    let mut open = true;
    for (t, line) in &first {
        if !w.put(&mut text, *t, line) {
            open = false;
            break;
        }
    }
    let follow = super::flag(q, "follow") && !previous && inst.ended.is_none() && open;
    if !follow {
        return Ok(Response::builder()
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(text))
            .unwrap_or_default());
    }
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(64);
    let mut shutdown = sim.shutdown.subscribe();
    let sim = sim.clone();
    let (ns, name) = (ns.to_string(), name.to_string());
    tokio::spawn(async move {
        use futures::SinkExt as _;
        if !text.is_empty() && tx.send(Ok(bytes::Bytes::from(text))).await.is_err() {
            return;
        }
        let mut last = now;
        let mut inst = inst;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
                _ = shutdown.changed() => return,
            }
            let Some((pod, load)) = pod_and_load(&sim, &ns, &name) else {
                return;
            };
            // This run, as the pod now describes it (ended, perhaps).
            let now_inst = [false, true]
                .into_iter()
                .filter_map(|p| logs::instance(&pod, &cname, p).ok())
                .find(|i| i.run == inst.run && (i.started - inst.started).abs() < 1.0);
            if let Some(i) = now_inst {
                inst = i;
            } else if inst.ended.is_none() {
                // Gone from the status (the pod was replaced): end here.
                return;
            }
            let now = wall_now();
            let rate = logs::rate(load, sim.clock.speed(), sim.clock.now(), now);
            let mut chunk = String::new();
            let mut open = true;
            logs::lines(&inst, &rate, last, now, |t, text| {
                open = w.put(&mut chunk, t, &text);
                open
            });
            last = now;
            if !chunk.is_empty() && tx.send(Ok(bytes::Bytes::from(chunk))).await.is_err() {
                return;
            }
            if !open || inst.ended.is_some() {
                return;
            }
        }
    });
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from_stream(rx))
        .unwrap_or_default())
}
