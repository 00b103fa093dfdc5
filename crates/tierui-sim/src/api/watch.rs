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

fn event(ty: &str, kind: KindId, e: &Entry, form: super::Form, cluster_now: i64) -> Bytes {
    let mut out = Vec::with_capacity(e.bytes.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(ty.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    match form {
        super::Form::Table => {
            let t = table::table(
                kind,
                &[e.value()],
                &e.rv.to_string(),
                None,
                false,
                cluster_now,
            );
            out.extend_from_slice(&serde_json::to_vec(&t).unwrap_or_default());
        }
        super::Form::Meta => {
            out.extend_from_slice(
                &serde_json::to_vec(&super::partial(&e.value())).unwrap_or_default(),
            );
        }
        super::Form::Object => out.extend_from_slice(&e.bytes),
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
    form: super::Form,
) -> ApiResult<Response> {
    if kinds::get(kind).computed {
        return Err(ApiError::method_not_allowed(
            "watch is not supported on metrics",
        ));
    }
    let params = Params::parse(q)?;
    let filter = Filter {
        kind,
        ns,
        labels,
        fields,
    };
    let begin = Begin::of(&sim, &filter, &params);
    let (tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    let signals = Signals {
        changes: sim.lock().store.subscribe(),
        drops: sim.drops.subscribe(),
        shutdown: sim.shutdown.subscribe(),
    };
    // Subscribing marks the current value seen: a watch begun as the simulator
    // stops must not wait for a change that already happened.
    if *signals.shutdown.borrow() {
        return Err(ApiError::shutting_down());
    }
    let watch = Watch {
        sim,
        filter,
        form,
        params,
    };
    tokio::spawn(watch.run(tx, begin, signals));
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(rx))
        .unwrap_or_default())
}

type Tx = futures::channel::mpsc::Sender<Result<Bytes, std::io::Error>>;

/// The watch's query parameters.
struct Params {
    bookmarks: bool,
    send_initial: bool,
    timeout: Option<u64>,
    /// `resourceVersion` to start after; None for "now" (unset, empty or 0).
    requested: Option<u64>,
}

impl Params {
    fn parse(q: &Query) -> ApiResult<Self> {
        let timeout = match q.get("timeoutSeconds").filter(|t| !t.is_empty()) {
            Some(t) => Some(
                t.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds {t:?}")))?,
            ),
            None => None,
        };
        let requested =
            match q.get("resourceVersion").map(String::as_str) {
                None | Some("") | Some("0") => None,
                Some(s) => Some(s.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version {s:?}"))
                })?),
            };
        Ok(Params {
            bookmarks: flag(q, "allowWatchBookmarks"),
            send_initial: flag(q, "sendInitialEvents"),
            timeout,
            requested,
        })
    }
}

/// Where the watch starts: the version, the initial ADDED objects, and the ring's floor if too old.
struct Begin {
    rv: u64,
    initial: Vec<Arc<Entry>>,
    too_old: Option<u64>,
}

impl Begin {
    fn of(sim: &Sim, filter: &Filter, params: &Params) -> Self {
        let st = sim.lock();
        let all = |f: &Filter| -> Vec<Arc<Entry>> {
            st.store
                .range(f.kind, f.ns.as_deref(), None)
                .filter(|e| f.matches(e))
                .cloned()
                .collect()
        };
        let (rv, initial, too_old) = match params.requested {
            _ if params.send_initial => (st.store.rv(), all(filter), None),
            None => (st.store.rv(), all(filter), None),
            Some(rv) if rv < st.store.floor() => (rv, Vec::new(), Some(st.store.floor())),
            Some(rv) => (rv, Vec::new(), None),
        };
        Begin {
            rv,
            initial,
            too_old,
        }
    }
}

/// The simulator's signals a watch listens to.
struct Signals {
    changes: tokio::sync::watch::Receiver<u64>,
    drops: tokio::sync::watch::Receiver<u64>,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

/// One open watch stream.
struct Watch {
    sim: Arc<Sim>,
    filter: Filter,
    form: super::Form,
    params: Params,
}

impl Watch {
    async fn run(self, mut tx: Tx, begin: Begin, mut signals: Signals) {
        if self.send_initial_events(&mut tx, &begin).await {
            self.follow(&mut tx, begin.rv, &mut signals).await;
        }
    }

    /// Initial ADDED events, the initial-events-end bookmark, or 410 Gone; false ends the stream.
    async fn send_initial_events(&self, tx: &mut Tx, begin: &Begin) -> bool {
        let kind = self.filter.kind;
        for e in &begin.initial {
            if tx
                .send(Ok(event(
                    "ADDED",
                    kind,
                    e,
                    self.form,
                    self.sim.cluster_now(),
                )))
                .await
                .is_err()
            {
                return false;
            }
        }
        if self.params.send_initial
            && self.params.bookmarks
            && tx.send(Ok(bookmark(kind, begin.rv, true))).await.is_err()
        {
            return false;
        }
        if let Some(floor) = begin.too_old {
            let _ = tx.send(Ok(gone(begin.rv, floor))).await;
            return false;
        }
        true
    }

    /// Streams changes after `last`, with periodic bookmarks, until the client, a signal or the timeout ends it.
    async fn follow(&self, tx: &mut Tx, mut last: u64, signals: &mut Signals) {
        let (kind, bookmarks) = (self.filter.kind, self.params.bookmarks);
        let deadline = self
            .params
            .timeout
            .and_then(|t| tokio::time::Instant::now().checked_add(Duration::from_secs(t)));
        let mut tick = tokio::time::interval(BOOKMARK_EVERY);
        tick.tick().await;
        loop {
            signals.changes.borrow_and_update();
            if !self.send_changes(tx, &mut last).await {
                return;
            }
            let until_deadline = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                r = signals.changes.changed() => if r.is_err() { return },
                _ = signals.drops.changed() => return,
                _ = signals.shutdown.changed() => return,
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
    }

    /// Sends every matching change after `last` from the ring; false ends the stream (client gone, or 410).
    async fn send_changes(&self, tx: &mut Tx, last: &mut u64) -> bool {
        loop {
            let batch = self.sim.lock().store.changes_after(*last, BATCH);
            match batch {
                Err(floor) => {
                    let _ = tx.send(Ok(gone(*last, floor))).await;
                    return false;
                }
                Ok(b) if b.is_empty() => return true,
                Ok(b) => {
                    for c in b {
                        *last = c.rv;
                        if let Some(ty) = self.filter.classify(&c)
                            && tx
                                .send(Ok(event(
                                    ty,
                                    self.filter.kind,
                                    &c.entry,
                                    self.form,
                                    self.sim.cluster_now(),
                                )))
                                .await
                                .is_err()
                        {
                            return false;
                        }
                    }
                }
            }
        }
    }
}
