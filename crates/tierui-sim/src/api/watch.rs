//! Watches: newline-delimited `WatchEvent`s replayed from the store's change
//! ring, with resourceVersion semantics, bookmarks, `timeoutSeconds`,
//! `sendInitialEvents`, and a 410 `ERROR` event when the requested version is
//! older than the ring remembers (or a slow reader falls that far behind).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use futures::SinkExt as _;
use serde_json::{Value, json};

use super::{Query, flag, table};
use crate::cluster::Sim;
use crate::kinds::{self, KindId};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult};
use crate::store::{Change, ChangeType, Entry};

const BOOKMARK_EVERY: Duration = Duration::from_secs(5);
const BATCH: usize = 512;

struct Filter {
    kind: KindId,
    ns: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        e.kind == self.kind
            && self.ns.as_ref().is_none_or(|ns| *ns == e.namespace)
            && self.labels.matches(&e.labels)
            && self.fields.matches(|f| e.field(f))
    }

    fn classify(&self, c: &Change) -> Option<&'static str> {
        if c.entry.kind != self.kind {
            return None;
        }
        let now = self.matches(&c.entry);
        match c.ty {
            ChangeType::Added | ChangeType::Deleted => now.then(|| c.ty.as_str()),
            ChangeType::Modified => {
                let before = c.prev.as_ref().is_some_and(|p| self.matches(p));
                match (before, now) {
                    (true, true) => Some("MODIFIED"),
                    (false, true) => Some("ADDED"),
                    (true, false) => Some("DELETED"),
                    (false, false) => None,
                }
            }
        }
    }
}

fn event(ty: &str, kind: KindId, e: &Entry, as_table: bool) -> Bytes {
    let mut out = Vec::with_capacity(e.bytes.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(ty.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    if as_table {
        let t = table::table(kind, &[e.value()], &e.rv.to_string(), None, false);
        out.extend_from_slice(&serde_json::to_vec(&t).unwrap_or_default());
    } else {
        out.extend_from_slice(&e.bytes);
    }
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

fn bookmark(kind: KindId, rv: u64, initial_end: bool) -> Bytes {
    let k = kinds::get(kind);
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let ev = json!({"type": "BOOKMARK", "object": {"kind": k.kind, "apiVersion": k.api_version(), "metadata": meta}});
    line(&ev)
}

fn gone(requested: u64, floor: u64) -> Bytes {
    let e = ApiError::gone(format!("too old resource version: {requested} ({floor})"));
    line(&json!({"type": "ERROR", "object": e.to_status()}))
}

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

pub fn serve(
    sim: Arc<Sim>,
    kind: KindId,
    ns: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    q: &Query,
    as_table: bool,
) -> ApiResult<Response> {
    if kinds::get(kind).computed {
        return Err(ApiError::method_not_allowed(
            "watch is not supported on metrics",
        ));
    }
    let bookmarks = flag(q, "allowWatchBookmarks");
    let send_initial = flag(q, "sendInitialEvents");
    let timeout = match q.get("timeoutSeconds").filter(|t| !t.is_empty()) {
        Some(t) => Some(
            t.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds {t:?}")))?,
        ),
        None => None,
    };
    let requested = match q.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version {s:?}")))?,
        ),
    };
    let filter = Filter {
        kind,
        ns,
        labels,
        fields,
    };
    let (start, initial, too_old) = {
        let st = sim.lock();
        let all = |f: &Filter| -> Vec<Arc<Entry>> {
            st.store
                .range(kind, f.ns.as_deref(), None)
                .filter(|e| f.matches(e))
                .cloned()
                .collect()
        };
        match requested {
            _ if send_initial => (st.store.rv(), all(&filter), None),
            None => (st.store.rv(), all(&filter), None),
            Some(rv) if rv < st.store.floor() => (rv, Vec::new(), Some(st.store.floor())),
            Some(rv) => (rv, Vec::new(), None),
        }
    };
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    let mut changes = sim.lock().store.subscribe();
    let mut drops = sim.drops.subscribe();
    let mut shutdown = sim.shutdown.subscribe();
    // Subscribing marks the current value seen: a watch begun as the simulator
    // stops must not wait for a change that already happened.
    if *shutdown.borrow() {
        return Err(ApiError::shutting_down());
    }
    tokio::spawn(async move {
        for e in &initial {
            if tx
                .send(Ok(event("ADDED", kind, e, as_table)))
                .await
                .is_err()
            {
                return;
            }
        }
        if send_initial && bookmarks && tx.send(Ok(bookmark(kind, start, true))).await.is_err() {
            return;
        }
        if let Some(floor) = too_old {
            let _ = tx.send(Ok(gone(start, floor))).await;
            return;
        }
        let deadline =
            timeout.and_then(|t| tokio::time::Instant::now().checked_add(Duration::from_secs(t)));
        let mut tick = tokio::time::interval(BOOKMARK_EVERY);
        tick.tick().await;
        let mut last = start;
        loop {
            changes.borrow_and_update();
            loop {
                let batch = sim.lock().store.changes_after(last, BATCH);
                match batch {
                    Err(floor) => {
                        let _ = tx.send(Ok(gone(last, floor))).await;
                        return;
                    }
                    Ok(b) if b.is_empty() => break,
                    Ok(b) => {
                        for c in b {
                            last = c.rv;
                            if let Some(ty) = filter.classify(&c)
                                && tx
                                    .send(Ok(event(ty, kind, &c.entry, as_table)))
                                    .await
                                    .is_err()
                            {
                                return;
                            }
                        }
                    }
                }
            }
            let until_deadline = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                r = changes.changed() => if r.is_err() { return },
                _ = drops.changed() => return,
                _ = shutdown.changed() => return,
                _ = until_deadline => {
                    // A final bookmark lets the client resume exactly where this watch ended.
                    if bookmarks {
                        let _ = tx.send(Ok(bookmark(kind, last, false))).await;
                    }
                    return;
                }
                _ = tick.tick() => {
                    if bookmarks && tx.send(Ok(bookmark(kind, last, false))).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(rx))
        .unwrap_or_default())
}
