//! Pod logs, stern-like: one pod's containers or every pod of a release, read
//! over kube-rs's log stream with timestamps, merged in time order, handed on
//! in batches (never a message per line). Following, a watcher on the pods
//! adds each container instance as it starts (new pods, restarts) and says
//! when a pod is gone; each instance's lines are read once.
//!
//! Which instance a container's log comes from follows the kubelet: the
//! running container, else the last terminated one (a crash-looping pod shows
//! its last run); `previous` reads the one before the current.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::{AsyncBufReadExt as _, StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::watcher;
use tokio::sync::mpsc;

/// Which pods of a namespace to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Pod(String),
    /// Every pod matching the label selector (None: every pod).
    Selector(Option<String>),
    /// Every pod the Deployment selects (its `spec.selector`, read when the view opens).
    Deployment(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    pub namespace: String,
    pub target: Target,
    /// One container by name; None reads every container.
    pub container: Option<String>,
    pub previous: bool,
    pub follow: bool,
    pub since_seconds: Option<i64>,
    /// Last lines of each container's log.
    pub tail: Option<i64>,
}

/// One line: when it was written (Unix nanoseconds, from the kubelet's
/// timestamp), which pod/container wrote it (see [`LogEvent::Source`]) and
/// the text without the timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: i64,
    pub source: u32,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    /// A pod's container joins (the same id through its restarts).
    Source {
        id: u32,
        pod: String,
        container: String,
    },
    /// Lines in time order (within the batch).
    Lines(Vec<Line>),
    /// Something to mark between lines: a restart, an exit, a pod gone.
    Note { source: u32, at: i64, text: String },
    /// A container's log could not be read (the API's message).
    Problem { source: u32, error: String },
    /// The first list is read; following goes on.
    Listed,
    /// Nothing more will come (not following, or every stream ended).
    Done,
}

pub type Sink = Arc<dyn Fn(LogEvent) + Send + Sync>;

/// How often lines are handed on while following.
pub const BATCH: Duration = Duration::from_millis(100);

/// Splits the kubelet's RFC 3339 timestamp off a line: (Unix ns, text).
/// A line without one gets `fallback`.
pub fn split_timestamp(raw: &str, fallback: i64) -> (i64, &str) {
    if let Some((ts, rest)) = raw.split_once(' ')
        && ts.len() >= 20
        && ts.as_bytes()[4] == b'-'
        && let Ok(t) = ts.parse::<jiff::Timestamp>()
    {
        return (t.as_nanosecond() as i64, rest);
    }
    (fallback, raw)
}

/// The container instance whose log a read returns, as the kubelet chooses
/// it: (container ID, still running). None: nothing to read yet (waiting to
/// start, or no previous instance).
pub fn instance(pod: &Pod, container: &str, previous: bool) -> Option<(String, bool)> {
    let cs = pod
        .status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == container)?;
    let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    if previous {
        return last
            .and_then(|t| t.container_id.clone())
            .map(|id| (id, false));
    }
    let state = cs.state.as_ref();
    if state.and_then(|s| s.running.as_ref()).is_some() {
        return cs.container_id.clone().map(|id| (id, true));
    }
    if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
        return t.container_id.clone().map(|id| (id, false));
    }
    last.and_then(|t| t.container_id.clone())
        .map(|id| (id, false))
}

/// The container names of a pod, in spec order.
pub fn containers(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

/// Everything the reader keeps: source ids by (pod, container), instances
/// already read, pods seen.
#[derive(Default)]
struct Book {
    sources: HashMap<(String, String), u32>,
    read: HashSet<String>,
    /// (pod, container) → instances read so far (restarts are marked).
    runs: HashMap<(String, String), u32>,
}

/// What a stream task sends back.
enum Piece {
    Line(u32, String),
    Ended(u32, String),
    Failed(u32, String),
}

/// Reads the logs `req` asks for until there is nothing more (not following)
/// or until aborted. Fails when the pods cannot be listed (the API's status).
pub async fn run(client: kube::Client, req: LogRequest, sink: Sink) -> Result<(), String> {
    let (selector, field) = match &req.target {
        Target::Pod(p) => (None, Some(format!("metadata.name={p}"))),
        Target::Selector(s) => (s.clone(), None),
        Target::Deployment(d) => {
            let deployments: Api<Deployment> = Api::namespaced(client.clone(), &req.namespace);
            let dep = deployments.get(d).await.map_err(|e| {
                format!("reading deployment {}/{d}: {}", req.namespace, describe(e))
            })?;
            let sel = dep.spec.map(|s| s.selector).unwrap_or_default();
            (Some(selector_string(&sel)), None)
        }
    };
    let api: Api<Pod> = Api::namespaced(client, &req.namespace);
    let mut lp = ListParams::default();
    if let Some(s) = &selector {
        lp = lp.labels(s);
    }
    if let Some(f) = &field {
        lp = lp.fields(f);
    }
    let pods = api
        .list(&lp)
        .await
        .map_err(|e| format!("listing pods in {}: {}", req.namespace, describe(e)))?;
    if let Target::Pod(p) = &req.target
        && pods.items.is_empty()
    {
        return Err(format!("pod {}/{p} not found", req.namespace));
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Piece>();
    let mut book = Book::default();
    // Dropped with this future: aborting the reader stops every stream.
    let mut tasks = tokio::task::JoinSet::new();
    for pod in &pods.items {
        start(&api, &req, &mut book, pod, true, (&tx, &mut tasks), &sink);
    }
    if !req.follow {
        drop(tx);
        let mut lines = Vec::new();
        while let Some(p) = rx.recv().await {
            match p {
                Piece::Line(source, raw) => lines.push(line(source, &raw)),
                Piece::Failed(source, error) => sink(LogEvent::Problem { source, error }),
                Piece::Ended(..) => {}
            }
        }
        lines.sort_by_key(|l| l.at);
        sink(LogEvent::Lines(lines));
        sink(LogEvent::Done);
        return Ok(());
    }
    sink(LogEvent::Listed);
    let cfg = watcher::Config {
        label_selector: selector,
        field_selector: field,
        ..Default::default()
    };
    let mut pods_seen = futures::StreamExt::boxed(watcher(api.clone(), cfg));
    let mut tick = tokio::time::interval(BATCH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut batch: Vec<Line> = Vec::new();
    let mut gone: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            p = rx.recv() => match p {
                Some(Piece::Line(source, raw)) => batch.push(line(source, &raw)),
                Some(Piece::Ended(source, why)) => {
                    flush(&mut batch, &sink);
                    if !why.is_empty() {
                        sink(LogEvent::Note { source, at: now_ns(), text: why });
                    }
                }
                Some(Piece::Failed(source, error)) => sink(LogEvent::Problem { source, error }),
                None => {}
            },
            ev = pods_seen.try_next() => match ev {
                Ok(Some(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod))) => {
                    if pod.metadata.deletion_timestamp.is_none() {
                        start(&api, &req, &mut book, &pod, false, (&tx, &mut tasks), &sink);
                    }
                }
                Ok(Some(watcher::Event::Delete(pod))) => {
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    if gone.insert(pod.metadata.uid.clone().unwrap_or_default()) {
                        flush(&mut batch, &sink);
                        for ((p, _), id) in &book.sources {
                            if *p == name {
                                sink(LogEvent::Note { source: *id, at: now_ns(), text: "pod deleted".into() });
                            }
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                // The watcher retries; a brief outage loses no lines of open streams.
                Err(e) => {
                    tracing::debug!(error = %e, "log pod watcher");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
            _ = tick.tick() => flush(&mut batch, &sink),
            // Finished streams are reaped so the set does not grow.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    flush(&mut batch, &sink);
    sink(LogEvent::Done);
    Ok(())
}

/// A label selector as the API's `labelSelector` parameter spells it.
pub fn selector_string(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            _ => continue,
        });
    }
    parts.join(",")
}

fn now_ns() -> i64 {
    jiff::Timestamp::now().as_nanosecond() as i64
}

/// The longest line kept whole; the rest of a longer one is cut so the log
/// view's ring (a fixed number of lines) also has a fixed size in bytes.
pub const MAX_LINE: usize = 16 * 1024;

fn line(source: u32, raw: &str) -> Line {
    let (at, text) = split_timestamp(raw, now_ns());
    Line {
        at,
        source,
        text: clip(text),
    }
}

/// `text`, or its first [`MAX_LINE`] bytes (on a character boundary) and how
/// much was cut.
pub fn clip(text: &str) -> String {
    if text.len() <= MAX_LINE {
        return text.to_string();
    }
    let mut end = MAX_LINE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &text[..end], text.len() - end)
}

fn flush(batch: &mut Vec<Line>, sink: &Sink) {
    if batch.is_empty() {
        return;
    }
    let mut lines = std::mem::take(batch);
    lines.sort_by_key(|l| l.at);
    sink(LogEvent::Lines(lines));
}

fn describe(e: kube::Error) -> String {
    super::apply::api_error(e)
}

/// Starts a stream for each container instance of `pod` not read yet.
/// `first`: part of the first list (since/tail apply).
fn start(
    api: &Api<Pod>,
    req: &LogRequest,
    book: &mut Book,
    pod: &Pod,
    first: bool,
    (tx, tasks): (&mpsc::UnboundedSender<Piece>, &mut tokio::task::JoinSet<()>),
    sink: &Sink,
) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    for c in containers(pod) {
        if req.container.as_ref().is_some_and(|w| *w != c) {
            continue;
        }
        let key = (name.clone(), c.clone());
        let next = book.sources.len() as u32;
        let id = *book.sources.entry(key.clone()).or_insert_with(|| {
            sink(LogEvent::Source {
                id: next,
                pod: name.clone(),
                container: c.clone(),
            });
            next
        });
        let Some((instance, running)) = instance(pod, &c, req.previous) else {
            if first && req.previous {
                sink(LogEvent::Problem {
                    source: id,
                    error: format!(
                        "previous terminated container \"{c}\" in pod \"{name}\" not found"
                    ),
                });
            }
            continue;
        };
        if !book.read.insert(instance) {
            continue;
        }
        let runs = book.runs.entry(key).or_insert(0);
        *runs += 1;
        if *runs > 1 {
            let restarts = restart_count(pod, &c);
            sink(LogEvent::Note {
                source: id,
                at: now_ns(),
                text: format!("container restarted (restarts: {restarts})"),
            });
        }
        let params = LogParams {
            container: Some(c.clone()),
            follow: req.follow && running,
            previous: req.previous,
            since_seconds: if first { req.since_seconds } else { None },
            tail_lines: if first { req.tail } else { None },
            timestamps: true,
            ..Default::default()
        };
        tasks.spawn(stream(api.clone(), name.clone(), params, id, tx.clone()));
    }
}

fn restart_count(pod: &Pod, container: &str) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == container))
        .map_or(0, |c| c.restart_count)
}

/// One container instance's log, line by line, until it ends.
async fn stream(
    api: Api<Pod>,
    pod: String,
    params: LogParams,
    source: u32,
    tx: mpsc::UnboundedSender<Piece>,
) {
    let follow = params.follow;
    let reader = match api.log_stream(&pod, &params).await {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Piece::Failed(source, describe(e)));
            return;
        }
    };
    let mut lines = reader.lines();
    loop {
        match lines.next().await {
            Some(Ok(l)) => {
                if tx.send(Piece::Line(source, l)).is_err() {
                    return;
                }
            }
            Some(Err(e)) => {
                let _ = tx.send(Piece::Ended(source, format!("log stream broke: {e}")));
                return;
            }
            None => break,
        }
    }
    let why = if follow {
        "container stopped".to_string()
    } else {
        String::new()
    };
    let _ = tx.send(Piece::Ended(source, why));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployments_selector_is_spelled_as_the_api_wants() {
        let sel: LabelSelector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"app": "web", "tier": "front"},
            "matchExpressions": [
                {"key": "track", "operator": "In", "values": ["stable", "canary"]},
                {"key": "legacy", "operator": "DoesNotExist"}
            ]
        }))
        .unwrap();
        assert_eq!(
            selector_string(&sel),
            "app=web,tier=front,track in (stable,canary),!legacy"
        );
    }

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(MAX_LINE); // two bytes each
        let cut = clip(&long);
        assert!(cut.ends_with(&format!("… ({} bytes cut)", MAX_LINE)));
        assert!(cut.len() < MAX_LINE + 40);
        assert!(cut.starts_with("éé"));
    }

    #[test]
    fn timestamps_are_split_once() {
        let (at, text) = split_timestamp("2026-12-03T11:30:01.123456789Z level=info msg=ok", 7);
        assert_eq!(text, "level=info msg=ok");
        let want: jiff::Timestamp = "2026-12-03T11:30:01.123456789Z".parse().unwrap();
        assert_eq!(at, want.as_nanosecond() as i64);
        assert_eq!(
            split_timestamp("no timestamp here", 7),
            (7, "no timestamp here")
        );
        assert_eq!(split_timestamp("", 7), (7, ""));
        assert_eq!(
            split_timestamp("2026-99-03T11:30:01Z x", 7),
            (7, "2026-99-03T11:30:01Z x")
        );
    }

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "app"}, {"name": "side"}]},
            "status": {"containerStatuses": status},
        }))
        .unwrap()
    }

    #[test]
    fn the_instance_is_the_kubelets_choice() {
        let running = pod(serde_json::json!([{
            "name": "app", "image": "x", "imageID": "", "ready": true, "restartCount": 1,
            "containerID": "containerd://b",
            "state": {"running": {"startedAt": "2026-12-03T11:00:00Z"}},
            "lastState": {"terminated": {"exitCode": 1, "containerID": "containerd://a"}},
        }]));
        assert_eq!(
            instance(&running, "app", false),
            Some(("containerd://b".into(), true))
        );
        assert_eq!(
            instance(&running, "app", true),
            Some(("containerd://a".into(), false))
        );
        assert_eq!(instance(&running, "side", false), None);
        let looping = pod(serde_json::json!([{
            "name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 2,
            "containerID": "containerd://b",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "containerID": "containerd://b"}},
        }]));
        // A crash-looping container shows its last run, now and as previous.
        assert_eq!(
            instance(&looping, "app", false),
            Some(("containerd://b".into(), false))
        );
        assert_eq!(
            instance(&looping, "app", true),
            Some(("containerd://b".into(), false))
        );
        let creating = pod(serde_json::json!([{
            "name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}},
        }]));
        assert_eq!(instance(&creating, "app", false), None);
        assert_eq!(instance(&creating, "app", true), None);
        assert_eq!(containers(&creating), ["app", "side"]);
    }
}
