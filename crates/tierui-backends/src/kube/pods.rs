//! The pods watcher, written for clusters at Kubernetes' own limit (150,000
//! pods): a paged list whose pages become rows as they arrive (with the
//! "loading n / ~N" count from `remainingItemCount`), then a watch from the
//! list's version. Only the fields a row needs are parsed (borrowed from the
//! page's text, nothing else of a Pod is built), and the strings rows repeat
//! are held once. A 410 relists; errors reconnect with backoff and say so.

use std::borrow::Cow;
use std::time::Duration;

use futures::AsyncBufReadExt as _;
use kube::api::{ListParams, WatchParams};
use serde::Deserialize;

use super::rows::{Interner, PodRow, pod_status};
use super::watch::{Change, Conn, Kind, Scope, Sink, Update};

/// The first page is small so rows show at once; the rest are large so a
/// 150,000-pod list is a few dozen round trips, not hundreds.
pub const FIRST_PAGE: u32 = 500;
pub const PAGE: u32 = 5000;

#[derive(Deserialize)]
struct PodList<'a> {
    #[serde(borrow, default)]
    metadata: ListMeta<'a>,
    #[serde(borrow, default)]
    items: Vec<LeanPod<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ListMeta<'a> {
    #[serde(borrow, default)]
    resource_version: Option<Cow<'a, str>>,
    #[serde(rename = "continue", borrow, default)]
    continue_: Option<Cow<'a, str>>,
    #[serde(default)]
    remaining_item_count: Option<u64>,
}

/// The fields of a Pod a row is made of; everything else is skipped while
/// parsing.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct LeanPod<'a> {
    #[serde(borrow, default)]
    metadata: Meta<'a>,
    #[serde(borrow, default)]
    spec: Spec<'a>,
    /// A watch's ERROR event has a word here ("Failure"), not a status.
    #[serde(borrow, default, deserialize_with = "status_or_word")]
    status: Status<'a>,
    /// A watch's ERROR event carries a Status in the object's place.
    #[serde(default)]
    code: Option<u16>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

fn status_or_word<'de: 'a, 'a, D: serde::Deserializer<'de>>(d: D) -> Result<Status<'a>, D::Error> {
    struct V<'a>(std::marker::PhantomData<&'a ()>);
    impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
        type Value = Status<'a>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a pod status or a word")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Status<'a>, A::Error> {
            Status::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Status<'a>, E> {
            Ok(Status::default())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Status<'a>, E> {
            Ok(Status::default())
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// One line of a watch.
#[derive(Deserialize)]
struct WatchLine<'a> {
    #[serde(rename = "type", borrow)]
    type_: Cow<'a, str>,
    #[serde(borrow, default)]
    object: LeanPod<'a>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
struct Meta<'a> {
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    resource_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    creation_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    deletion_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    owner_references: Vec<Named<'a>>,
}

#[derive(Deserialize, Clone, Debug, Default)]
struct Named<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    #[serde(borrow, default)]
    node_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    containers: Vec<Container<'a>>,
}

#[derive(Deserialize, Clone, Debug, Default)]
struct Container<'a> {
    #[serde(borrow, default)]
    image: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    #[serde(borrow, default)]
    phase: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    container_statuses: Vec<ContainerStatus<'a>>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
struct ContainerStatus<'a> {
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    restart_count: i64,
    #[serde(borrow, default)]
    state: State<'a>,
}

#[derive(Deserialize, Clone, Debug, Default)]
struct State<'a> {
    #[serde(borrow, default)]
    waiting: Option<Reason<'a>>,
    #[serde(borrow, default)]
    terminated: Option<Reason<'a>>,
}

#[derive(Deserialize, Clone, Debug, Default)]
struct Reason<'a> {
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
}

/// A row of a lean pod, its repeated strings taken from `strings`.
pub fn lean_row(p: &LeanPod, strings: &mut Interner) -> PodRow {
    let s = &p.status.container_statuses;
    let reasons = s.iter().map(|c| {
        c.state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.as_deref())
            .or_else(|| {
                c.state
                    .terminated
                    .as_ref()
                    .and_then(|t| t.reason.as_deref())
            })
    });
    let status = pod_status(
        p.metadata.deletion_timestamp.is_some(),
        reasons,
        p.status.phase.as_deref(),
    );
    PodRow {
        namespace: strings.get(p.metadata.namespace.as_deref().unwrap_or_default()),
        name: p.metadata.name.as_deref().unwrap_or_default().into(),
        ready: s.iter().filter(|c| c.ready).count() as u32,
        containers: p.spec.containers.len() as u32,
        status: strings.get(status),
        restarts: s.iter().map(|c| c.restart_count.max(0) as u32).sum(),
        created: p
            .metadata
            .creation_timestamp
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second()),
        node: strings.get(p.spec.node_name.as_deref().unwrap_or_default()),
        owner: strings.get(
            p.metadata
                .owner_references
                .first()
                .map_or("", |o| o.name.as_ref()),
        ),
        image: strings.get(
            p.spec
                .containers
                .first()
                .and_then(|c| c.image.as_deref())
                .unwrap_or_default(),
        ),
    }
}

fn path(scope: &Scope) -> String {
    match &scope.namespace {
        Some(ns) => format!("/api/v1/namespaces/{ns}/pods"),
        None => "/api/v1/pods".to_string(),
    }
}

/// Why a list or watch stopped.
enum Stop {
    /// The version expired (410): list again.
    Gone,
    Failed(kube::Error),
}

impl From<kube::Error> for Stop {
    fn from(e: kube::Error) -> Stop {
        match &e {
            kube::Error::Api(s) if s.code == 410 => Stop::Gone,
            _ => Stop::Failed(e),
        }
    }
}

/// One paged list: pages go to the sink as they arrive. Returns the list's
/// resource version.
async fn list(
    client: &kube::Client,
    scope: &Scope,
    strings: &mut Interner,
    sink: &Sink,
) -> Result<String, Stop> {
    let req = kube::core::Request::new(path(scope));
    let mut lp = ListParams::default().limit(FIRST_PAGE);
    if let Some(s) = &scope.selector {
        lp = lp.labels(s);
    }
    let mut loaded = 0usize;
    // One buffer for every page: a page is read into it and parsed where it
    // lies (no second copy of a page's text, no fresh allocation per page).
    let mut buf = Vec::new();
    loop {
        let r = req
            .list(&lp)
            .map_err(|e| Stop::Failed(kube::Error::BuildRequest(e)))?;
        let asked = std::time::Instant::now();
        read_body(client, r, &mut buf).await?;
        let read = asked.elapsed();
        let page: PodList =
            serde_json::from_slice(&buf).map_err(|e| Stop::Failed(kube::Error::SerdeError(e)))?;
        let rows: Vec<PodRow> = page.items.iter().map(|p| lean_row(p, strings)).collect();
        tracing::debug!(
            target: "perf",
            read_ms = read.as_secs_f64() * 1000.0,
            parse_ms = (asked.elapsed() - read).as_secs_f64() * 1000.0,
            bytes = buf.len(),
            rows = rows.len(),
            "pods page"
        );
        loaded += rows.len();
        let total = page
            .metadata
            .remaining_item_count
            .map(|n| loaded + n as usize);
        let cont = page
            .metadata
            .continue_
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        let version = page
            .metadata
            .resource_version
            .as_deref()
            .unwrap_or_default()
            .to_string();
        drop(page);
        sink(Update::Pods(Change::Page {
            rows,
            loaded,
            total: if cont.is_some() { total } else { Some(loaded) },
        }));
        match cont {
            Some(c) => lp = lp.continue_token(&c).limit(PAGE),
            None => return Ok(version),
        }
    }
}

/// The whole body of a GET into `buf` (cleared first, its capacity kept).
pub async fn read_body(
    client: &kube::Client,
    r: http::Request<Vec<u8>>,
    buf: &mut Vec<u8>,
) -> Result<(), kube::Error> {
    use futures::AsyncReadExt as _;
    buf.clear();
    let body = client.request_stream(r).await?;
    futures::pin_mut!(body);
    body.read_to_end(buf)
        .await
        .map_err(kube::Error::ReadEvents)?;
    Ok(())
}

/// Watches from `version` until the stream ends (returns the last version
/// seen, to resume from) or fails. Each line is parsed where it lies.
async fn watch(
    client: &kube::Client,
    scope: &Scope,
    mut version: String,
    strings: &mut Interner,
    sink: &Sink,
    answered: &mut bool,
    live: &mut bool,
) -> Result<String, Stop> {
    let req = kube::core::Request::new(path(scope));
    let mut wp = WatchParams::default().timeout(290);
    if let Some(s) = &scope.selector {
        wp = wp.labels(s);
    }
    let mut r = req
        .watch(&wp, &version)
        .map_err(|e| Stop::Failed(kube::Error::BuildRequest(e)))?;
    // One gzip member per event is not decoded by every middleware: ask for none.
    r.headers_mut().insert(
        http::header::ACCEPT_ENCODING,
        http::HeaderValue::from_static("identity"),
    );
    let body = client.request_stream(r).await?;
    futures::pin_mut!(body);
    let mut line = String::new();
    loop {
        line.clear();
        match body.read_line(&mut line).await {
            Ok(0) => return Ok(version),
            Ok(_) => {}
            // A connection cut (or timed out) mid-watch: resume from the last
            // version seen, never list 150,000 pods again for it. (kube-client
            // hands every body error over as `Other`, so none is told apart.)
            Err(e) => {
                tracing::debug!("pods watch ended: {e}");
                return Ok(version);
            }
        }
        if line.trim().is_empty() {
            continue;
        }
        let ev: WatchLine =
            serde_json::from_str(&line).map_err(|e| Stop::Failed(kube::Error::SerdeError(e)))?;
        if let Some(v) = ev.object.metadata.resource_version.as_deref() {
            version = v.to_string();
        }
        match &*ev.type_ {
            "ADDED" | "MODIFIED" => sink(Update::Pods(Change::Upsert {
                row: lean_row(&ev.object, strings),
            })),
            "DELETED" => sink(Update::Pods(Change::Delete {
                namespace: ev
                    .object
                    .metadata
                    .namespace
                    .as_deref()
                    .unwrap_or_default()
                    .into(),
                name: ev
                    .object
                    .metadata
                    .name
                    .as_deref()
                    .unwrap_or_default()
                    .into(),
            })),
            "BOOKMARK" => {}
            "ERROR" if ev.object.code == Some(410) => return Err(Stop::Gone),
            "ERROR" => {
                return Err(Stop::Failed(kube::Error::Api(
                    kube::core::Status::failure(
                        ev.object.message.as_deref().unwrap_or("watch error"),
                        "",
                    )
                    .with_code(ev.object.code.unwrap_or(500))
                    .boxed(),
                )));
            }
            // A type this client does not know: nothing to show for it.
            other => tracing::debug!("pods watch: ignored event type {other}"),
        }
        *answered = true;
        if !*live {
            // A resumed watch that answers: the connection works again.
            *live = true;
            sink(Update::Conn {
                kind: Kind::Pods,
                conn: Conn::Live,
            });
        }
    }
}

/// Lists then watches the scope's pods until aborted. A watch that ends or
/// fails resumes from the last version seen (a stale one answers 410, and
/// only then is everything listed again); failures back off 1, 2, 4 … 30 s,
/// reset once a watch has delivered something.
pub async fn run(client: kube::Client, scope: Scope, sink: Sink) {
    let conn = |conn| Update::Conn {
        kind: Kind::Pods,
        conn,
    };
    sink(conn(Conn::Connecting));
    let mut strings = Interner::default();
    let mut backoff = 1u64;
    let mut version: Option<String> = None;
    let mut live = false;
    let mut gone_in_a_row = 0u32;
    loop {
        let mut answered = false;
        let result = async {
            let v = match version.take() {
                Some(v) => v,
                None => {
                    sink(Update::Pods(Change::Relist));
                    let v = list(&client, &scope, &mut strings, &sink)
                        .await
                        .map_err(|e| (e, None))?;
                    sink(Update::Pods(Change::Listed));
                    // The server answered: live.
                    if !live {
                        live = true;
                        sink(conn(Conn::Live));
                    }
                    v
                }
            };
            let resume = v.clone();
            watch(
                &client,
                &scope,
                v,
                &mut strings,
                &sink,
                &mut answered,
                &mut live,
            )
            .await
            .map_err(|e| (e, Some(resume)))
        }
        .await;
        if answered {
            backoff = 1;
            gone_in_a_row = 0;
        }
        match result {
            // The server closed the watch (its timeout) or the connection was
            // cut: resume from where it was.
            Ok(v) => version = Some(v),
            Err((Stop::Gone, _)) => {
                version = None;
                // A server that answers 410 at once every time (a list that
                // outlasts its watch cache) is not asked again at once.
                gone_in_a_row += 1;
                if gone_in_a_row > 1 {
                    tokio::time::sleep(Duration::from_secs(backoff)).await;
                    backoff = (backoff * 2).min(30);
                }
            }
            Err((Stop::Failed(e), resume)) => {
                live = false;
                let forbidden = super::watch::is_forbidden(&e);
                let text = e.to_string();
                let (c, wait) = if forbidden {
                    (Conn::Forbidden { error: text }, 60)
                } else {
                    (
                        Conn::Retrying {
                            in_secs: backoff,
                            error: text,
                        },
                        backoff,
                    )
                };
                sink(conn(c));
                tokio::time::sleep(Duration::from_secs(wait)).await;
                backoff = (backoff * 2).min(30);
                // A failed watch is tried again from its version; a failed
                // list lists again.
                version = resume;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE_JSON: &str = r#"{"kind":"PodList","apiVersion":"v1",
      "metadata":{"resourceVersion":"42","continue":"abc","remainingItemCount":149500},
      "items":[{"metadata":{"name":"web-5d9c-abcde","namespace":"shop","creationTimestamp":"2026-12-04T06:00:00Z",
        "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-5d9c","uid":"u"}],
        "labels":{"app":"web"},"managedFields":[{"manager":"kubectl"}]},
        "spec":{"nodeName":"ip-10-0-1-7.ec2.internal","containers":[{"name":"web","image":"nginx:1.27","ports":[{"containerPort":80}]},{"name":"side","image":"envoy"}]},
        "status":{"phase":"Running","containerStatuses":[
          {"name":"web","ready":true,"restartCount":2,"state":{"running":{"startedAt":"2026-12-04T06:00:05Z"}}},
          {"name":"side","ready":false,"restartCount":1,"state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off \"5m\""}}}]}}]}"#;

    #[test]
    fn a_page_becomes_rows_with_kubectls_status() {
        let page: PodList = serde_json::from_str(PAGE_JSON).unwrap();
        assert_eq!(page.metadata.remaining_item_count, Some(149_500));
        assert_eq!(page.metadata.continue_.as_deref(), Some("abc"));
        let mut strings = Interner::default();
        let row = lean_row(&page.items[0], &mut strings);
        assert_eq!(&*row.name, "web-5d9c-abcde");
        assert_eq!(&*row.namespace, "shop");
        assert_eq!(&*row.status, "CrashLoopBackOff");
        assert_eq!((row.ready, row.containers, row.restarts), (1, 2, 3));
        assert_eq!(&*row.node, "ip-10-0-1-7.ec2.internal");
        assert_eq!(&*row.owner, "web-5d9c");
        assert_eq!(&*row.image, "nginx:1.27");
        assert_eq!(
            row.created,
            Some(
                "2026-12-04T06:00:00Z"
                    .parse::<jiff::Timestamp>()
                    .unwrap()
                    .as_second()
            )
        );
    }

    #[test]
    fn lean_rows_match_full_pod_rows() {
        // The same JSON through k8s-openapi's Pod gives the same row.
        let v: serde_json::Value = serde_json::from_str(PAGE_JSON).unwrap();
        let pod: k8s_openapi::api::core::v1::Pod =
            serde_json::from_value(v["items"][0].clone()).unwrap();
        let page: PodList = serde_json::from_str(PAGE_JSON).unwrap();
        let mut strings = Interner::default();
        assert_eq!(
            lean_row(&page.items[0], &mut strings),
            super::super::rows::pod_row(&pod)
        );
        // Terminating wins over every reason, as kubectl prints it.
        let mut p = page.items[0].clone();
        p.metadata.deletion_timestamp = Some("2026-12-04T07:00:00Z".into());
        assert_eq!(&*lean_row(&p, &mut strings).status, "Terminating");
    }

    #[test]
    fn repeated_strings_are_held_once() {
        let page: PodList = serde_json::from_str(PAGE_JSON).unwrap();
        let mut strings = Interner::default();
        let a = lean_row(&page.items[0], &mut strings);
        let b = lean_row(&page.items[0], &mut strings);
        assert!(std::sync::Arc::ptr_eq(&a.node, &b.node));
        assert!(std::sync::Arc::ptr_eq(&a.namespace, &b.namespace));
        assert!(!std::sync::Arc::ptr_eq(&a.name, &b.name));
    }

    #[test]
    fn watch_lines_parse_in_place() {
        let line = r#"{"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"n","resourceVersion":"77"},"status":{"phase":"Pending"}}}"#;
        let ev: WatchLine = serde_json::from_str(line).unwrap();
        assert_eq!(&*ev.type_, "MODIFIED");
        assert_eq!(ev.object.metadata.resource_version.as_deref(), Some("77"));
        let row = lean_row(&ev.object, &mut Interner::default());
        assert_eq!((&*row.name, &*row.status), ("a", "Pending"));
        let gone = r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (99)","reason":"Expired","code":410}}"#;
        let ev: WatchLine = serde_json::from_str(gone).unwrap();
        assert_eq!((&*ev.type_, ev.object.code), ("ERROR", Some(410)));
    }
}
