//! Watchers for what a live view shows: pods, deployments, replica sets, HPAs and
//! events of a scope, each projected into rows as it arrives, plus pod metrics
//! polled from metrics.k8s.io. Every watcher reconnects with backoff and says so;
//! a 410 makes kube-runtime relist. Stopping is aborting the task.

use std::borrow::Cow;
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use kube::runtime::watcher;
use serde::Serialize;
use tokio::task::AbortHandle;

use super::rows::*;

/// Which namespace (None: all) and label selector a view watches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scope {
    pub namespace: Option<String>,
    /// Label selector for pods (`app=day-service`).
    pub selector: Option<String>,
    /// The kind a `:KIND` view shows (watched as the server's table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<super::table::Resource>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Pods,
    Deployments,
    ReplicaSets,
    Hpas,
    Events,
    Metrics,
    /// Metadata only (never a Secret's data) of the ConfigMaps, Secrets,
    /// Services and Ingresses: which changed, not how.
    Objects,
    /// Rows of the scope's `resource`, in the server's Table form.
    Table,
    /// A release's StatefulSets, DaemonSets, CronJobs, Jobs and
    /// PersistentVolumeClaims, each in the server's Table form.
    Owned,
}

/// A change to one kind's rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change<R> {
    /// A (re)list begins: rows arriving until `Listed` replace the old ones.
    Relist,
    Upsert {
        row: R,
    },
    /// A page of the (re)list: upserts, and how far the list has come
    /// (`total` from the server's remainingItemCount, when it says).
    Page {
        rows: Vec<R>,
        loaded: usize,
        total: Option<usize>,
    },
    Delete {
        namespace: String,
        name: String,
    },
    /// The first full list is in.
    Listed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Conn {
    Connecting,
    Live,
    Retrying {
        in_secs: u64,
        error: String,
    },
    Forbidden {
        error: String,
    },
    /// metrics.k8s.io is not served (no metrics-server).
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "watch", rename_all = "snake_case")]
pub enum Update {
    Pods(Change<PodRow>),
    Deployments(Change<DeploymentRow>),
    ReplicaSets(Change<ReplicaSetRow>),
    Hpas(Change<HpaRow>),
    Events(Change<EventRow>),
    /// One page of pod metrics; `first` opens a pass (what an unfinished
    /// one gathered is dropped), `last` closes it (pods the pass did not
    /// mention have no usage).
    Metrics {
        usage: Vec<(String, String, Usage)>,
        first: bool,
        last: bool,
    },
    /// Metadata of one kind (`ConfigMap`…); row names are `Kind/name`.
    Objects {
        kind: &'static str,
        change: Change<MetaRow>,
    },
    /// Rows of a `:KIND` view.
    Table(Change<super::table::TableRow>),
    /// The server's columns for a `:KIND` view (sent with each first page).
    Columns(Vec<super::table::Column>),
    /// Rows of one of the release's other kinds (`Kind::Owned`).
    Owned {
        kind: &'static str,
        change: Change<super::table::TableRow>,
    },
    OwnedColumns {
        kind: &'static str,
        columns: Vec<super::table::Column>,
    },
    Conn {
        kind: Kind,
        conn: Conn,
    },
}

pub type Sink = std::sync::Arc<dyn Fn(Update) + Send + Sync>;

/// Starts the watchers for `kinds` as tasks; abort the handles to stop them.
pub fn spawn(client: kube::Client, scope: &Scope, kinds: &[Kind], sink: Sink) -> Vec<AbortHandle> {
    let (sink, listed) = pods_gate(kinds, sink);
    kinds
        .iter()
        .map(|k| {
            tokio::spawn(watch_kind(
                client.clone(),
                scope.clone(),
                *k,
                sink.clone(),
                listed.clone(),
            ))
            .abort_handle()
        })
        .collect()
}

/// Runs the watchers for `kinds` until dropped (or aborted).
pub async fn run(client: kube::Client, scope: Scope, kinds: Vec<Kind>, sink: Sink) {
    let (sink, listed) = pods_gate(&kinds, sink);
    futures::future::join_all(kinds.into_iter().map(|k| {
        watch_kind(
            client.clone(),
            scope.clone(),
            k,
            sink.clone(),
            listed.clone(),
        )
    }))
    .await;
}

/// Whether the pods' first list is in (always, when pods are not watched):
/// pod metrics wait for it, since a metrics pass can only be joined to rows
/// that have arrived, and at 150,000 pods both at once would race for the
/// same connection and core.
fn pods_gate(kinds: &[Kind], sink: Sink) -> (Sink, tokio::sync::watch::Receiver<bool>) {
    let (tx, rx) = tokio::sync::watch::channel(!kinds.contains(&Kind::Pods));
    let gated: Sink = std::sync::Arc::new(move |u| {
        if matches!(u, Update::Pods(Change::Listed)) {
            let _ = tx.send(true);
        }
        sink(u)
    });
    (gated, rx)
}

async fn watch_kind(
    client: kube::Client,
    scope: Scope,
    kind: Kind,
    sink: Sink,
    listed: tokio::sync::watch::Receiver<bool>,
) {
    match kind {
        Kind::Table => super::table::watch_table(client, scope, sink).await,
        Kind::Owned => super::table::watch_owned(client, scope, sink).await,
        Kind::Pods => super::pods::run(client, scope, sink).await,
        Kind::Deployments => {
            watch_loop(
                watcher(
                    api::<Deployment>(&client, &scope),
                    watcher::Config::default(),
                )
                .boxed(),
                kind,
                sink,
                |d| Update::Deployments(d.map(deployment_row)),
                |n, m| {
                    Update::Deployments(Change::Delete {
                        namespace: n,
                        name: m,
                    })
                },
            )
            .await
        }
        Kind::ReplicaSets => {
            watch_loop(
                watcher(
                    api::<ReplicaSet>(&client, &scope),
                    watcher::Config::default(),
                )
                .boxed(),
                kind,
                sink,
                |r| Update::ReplicaSets(r.map(replicaset_row)),
                |n, m| {
                    Update::ReplicaSets(Change::Delete {
                        namespace: n,
                        name: m,
                    })
                },
            )
            .await
        }
        Kind::Hpas => {
            watch_loop(
                watcher(
                    api::<HorizontalPodAutoscaler>(&client, &scope),
                    watcher::Config::default(),
                )
                .boxed(),
                kind,
                sink,
                |h| Update::Hpas(h.map(hpa_row)),
                |n, m| {
                    Update::Hpas(Change::Delete {
                        namespace: n,
                        name: m,
                    })
                },
            )
            .await
        }
        Kind::Events => {
            watch_loop(
                watcher(api::<Event>(&client, &scope), watcher::Config::default()).boxed(),
                kind,
                sink,
                |e| Update::Events(e.map(event_row)),
                |n, m| {
                    Update::Events(Change::Delete {
                        namespace: n,
                        name: m,
                    })
                },
            )
            .await
        }
        Kind::Metrics => poll_metrics(client, scope, sink, listed).await,
        Kind::Objects => {
            use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
            use k8s_openapi::api::networking::v1::Ingress;
            futures::join!(
                watch_meta::<ConfigMap>(&client, &scope, "ConfigMap", sink.clone()),
                watch_meta::<Secret>(&client, &scope, "Secret", sink.clone()),
                watch_meta::<Service>(&client, &scope, "Service", sink.clone()),
                watch_meta::<Ingress>(&client, &scope, "Ingress", sink.clone()),
            );
        }
    }
}

/// Watches only the metadata of one kind (a Secret's data never arrives).
async fn watch_meta<K>(client: &kube::Client, scope: &Scope, kind: &'static str, sink: Sink)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    K::DynamicType: Default,
{
    let stream = watcher(
        api::<kube::core::PartialObjectMeta<K>>(client, scope),
        watcher::Config::default(),
    )
    .boxed();
    watch_loop(
        stream,
        Kind::Objects,
        sink,
        move |o| Update::Objects {
            kind,
            change: o.map(|m| meta_row(kind, m)),
        },
        move |n, m| Update::Objects {
            kind,
            change: Change::Delete {
                namespace: n,
                name: format!("{kind}/{m}"),
            },
        },
    )
    .await
}

fn api<K>(client: &kube::Client, scope: &Scope) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    match &scope.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Either an object to upsert or a marker, so one projection serves all events.
pub enum Item<K> {
    Relist,
    Object(K),
    Listed,
}

impl<K> Item<K> {
    fn map<R>(self, f: impl Fn(&K) -> R) -> Change<R> {
        match self {
            Item::Relist => Change::Relist,
            Item::Object(k) => Change::Upsert { row: f(&k) },
            Item::Listed => Change::Listed,
        }
    }
}

/// RBAC said no (the API server's 403), as opposed to a failure worth
/// retrying soon. Told by the status code, never by words in a message.
pub fn is_forbidden(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 403)
}

fn forbidden(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => is_forbidden(k),
        watcher::Error::WatchError(s) => s.code == 403,
        watcher::Error::NoResourceVersion => false,
    }
}

type Events<K> =
    std::pin::Pin<Box<dyn Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send>>;

async fn watch_loop<K>(
    mut stream: Events<K>,
    kind: Kind,
    sink: Sink,
    upsert: impl Fn(Item<K>) -> Update,
    delete: impl Fn(String, String) -> Update,
) where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    sink(Update::Conn {
        kind,
        conn: Conn::Connecting,
    });
    let mut backoff = 1u64;
    let mut live = false;
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(ev) => {
                // `Init` comes before the list is even asked for: only an
                // answer from the server means the connection works (else a
                // cluster that cannot be reached was retried every second).
                if !live && !matches!(ev, watcher::Event::Init) {
                    live = true;
                    backoff = 1;
                    sink(Update::Conn {
                        kind,
                        conn: Conn::Live,
                    });
                }
                match ev {
                    watcher::Event::Init => sink(upsert(Item::Relist)),
                    watcher::Event::InitApply(o) | watcher::Event::Apply(o) => {
                        sink(upsert(Item::Object(o)))
                    }
                    watcher::Event::InitDone => sink(upsert(Item::Listed)),
                    watcher::Event::Delete(o) => {
                        let meta = o.meta();
                        sink(delete(
                            meta.namespace.clone().unwrap_or_default(),
                            meta.name.clone().unwrap_or_default(),
                        ));
                    }
                }
            }
            // 410 Gone: the version expired; the watcher relists on its next
            // poll. That is routine, not a connection problem.
            Err(watcher::Error::WatchError(status)) if status.code == 410 => continue,
            Err(e) => {
                live = false;
                let (conn, wait) = if forbidden(&e) {
                    (
                        Conn::Forbidden {
                            error: e.to_string(),
                        },
                        60,
                    )
                } else {
                    (
                        Conn::Retrying {
                            in_secs: backoff,
                            error: e.to_string(),
                        },
                        backoff,
                    )
                };
                sink(Update::Conn { kind, conn });
                tokio::time::sleep(Duration::from_secs(wait)).await;
                backoff = (backoff * 2).min(30);
            }
        }
    }
}

/// The fields of a PodMetrics list tierui reads; everything else is skipped
/// while parsing, and strings are borrowed from the page (150,000 pods'
/// metrics are tens of megabytes of JSON).
#[derive(serde::Deserialize, Default)]
struct MetricsList<'a> {
    #[serde(borrow, default)]
    metadata: MetricsListMeta<'a>,
    #[serde(borrow, default)]
    items: Vec<PodMetrics<'a>>,
}

#[derive(serde::Deserialize, Default)]
struct MetricsListMeta<'a> {
    #[serde(rename = "continue", borrow, default)]
    continue_: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct PodMetrics<'a> {
    #[serde(borrow)]
    metadata: MetricsMeta<'a>,
    #[serde(borrow, default)]
    containers: Vec<ContainerMetrics<'a>>,
}

#[derive(serde::Deserialize)]
struct MetricsMeta<'a> {
    #[serde(borrow, default)]
    namespace: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
}

#[derive(serde::Deserialize)]
struct ContainerMetrics<'a> {
    #[serde(borrow, default)]
    usage: ContainerUsage<'a>,
}

#[derive(serde::Deserialize, Default)]
struct ContainerUsage<'a> {
    #[serde(borrow, default)]
    cpu: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    memory: Option<Cow<'a, str>>,
}

/// One full (paged) pass over pod metrics, each page to the sink as it
/// arrives (joined into the pods' rows there; no second list of pods is held).
async fn list_metrics(
    client: &kube::Client,
    scope: &Scope,
    sink: &Sink,
) -> Result<(), kube::Error> {
    let path = match &scope.namespace {
        Some(ns) => format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
        None => "/apis/metrics.k8s.io/v1beta1/pods".to_string(),
    };
    let mut lp = ListParams::default().limit(super::pods::PAGE);
    if let Some(s) = &scope.selector {
        lp = lp.labels(s);
    }
    let mut buf = Vec::new();
    let mut first = true;
    loop {
        let req = kube::core::Request::new(&path)
            .list(&lp)
            .map_err(kube::Error::BuildRequest)?;
        super::pods::read_body(client, req, &mut buf).await?;
        let page: MetricsList = serde_json::from_slice(&buf).map_err(kube::Error::SerdeError)?;
        let usage = page
            .items
            .iter()
            .map(|m| {
                let mut u = Usage::default();
                for c in &m.containers {
                    u.cpu_milli += c
                        .usage
                        .cpu
                        .as_deref()
                        .and_then(|q| parse_quantity(q, true))
                        .unwrap_or(0);
                    u.memory_bytes += c
                        .usage
                        .memory
                        .as_deref()
                        .and_then(|q| parse_quantity(q, false))
                        .unwrap_or(0);
                }
                (
                    m.metadata.namespace.to_string(),
                    m.metadata.name.to_string(),
                    u,
                )
            })
            .collect();
        let next = page
            .metadata
            .continue_
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        sink(Update::Metrics {
            usage,
            first: std::mem::take(&mut first),
            last: next.is_none(),
        });
        match next {
            Some(c) => lp = lp.continue_token(&c),
            None => return Ok(()),
        }
    }
}

/// Pod metrics every 10 s (metrics-server refreshes about that often), or
/// less often when a pass is slow: a pass takes at most 2 % of the time
/// (150,000 pods' metrics are tens of megabytes to fetch and parse; up to a
/// minute apart). The first pass waits for the pods' first list.
async fn poll_metrics(
    client: kube::Client,
    scope: Scope,
    sink: Sink,
    mut listed: tokio::sync::watch::Receiver<bool>,
) {
    let _ = tokio::time::timeout(Duration::from_secs(60), listed.wait_for(|l| *l)).await;
    loop {
        let started = std::time::Instant::now();
        match list_metrics(&client, &scope, &sink).await {
            Ok(()) => {
                sink(Update::Conn {
                    kind: Kind::Metrics,
                    conn: Conn::Live,
                });
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {
                sink(Update::Conn {
                    kind: Kind::Metrics,
                    conn: Conn::Unavailable,
                });
                tokio::time::sleep(Duration::from_secs(120)).await;
                continue;
            }
            Err(e) => sink(Update::Conn {
                kind: Kind::Metrics,
                conn: Conn::Retrying {
                    in_secs: metrics_interval(started.elapsed()).as_secs(),
                    error: e.to_string(),
                },
            }),
        }
        tokio::time::sleep(metrics_interval(started.elapsed())).await;
    }
}

/// The wait after a metrics pass that took `pass`.
pub fn metrics_interval(pass: Duration) -> Duration {
    (pass * 50).clamp(Duration::from_secs(10), Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cluster that cannot be reached is retried 1 s, 2 s, 4 s … apart, not
    /// every second (kube-runtime's `Init` comes before the list is asked for
    /// and must not count as an answer).
    #[tokio::test]
    async fn unreachable_clusters_back_off() {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sink: Sink = std::sync::Arc::new(move |u| {
            let _ = tx.send(u);
        });
        let scope = Scope {
            namespace: None,
            selector: None,
            resource: None,
        };
        let handles = spawn(client, &scope, &[Kind::Deployments], sink);
        let mut waits = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(3600);
        while let Ok(Some(u)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            match u {
                Update::Conn {
                    conn: Conn::Retrying { in_secs, .. },
                    ..
                } => waits.push(in_secs),
                Update::Conn {
                    conn: Conn::Live, ..
                } => panic!("nothing answered, yet the watcher said live"),
                _ => {}
            }
        }
        for h in handles {
            h.abort();
        }
        assert_eq!(waits, [1, 2, 4], "retries and their waits");
    }

    /// An API server that answers every request as Kubernetes does when RBAC
    /// refuses a cluster-wide list (the simulator has no RBAC).
    async fn refusing_server() -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let Ok(n) = conn.read(&mut buf).await else {
                        return;
                    };
                    let path = String::from_utf8_lossy(&buf[..n])
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_string();
                    let resource = if path.contains("deployments") {
                        "deployments"
                    } else {
                        "pods"
                    };
                    let group = if resource == "pods" { "" } else { "apps" };
                    let body = serde_json::json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure",
                        "message": format!("{resource} is forbidden: User \"dev\" cannot list resource \"{resource}\" in API group \"{group}\" at the cluster scope"),
                        "reason": "Forbidden",
                        "details": {"kind": resource},
                        "code": 403
                    })
                    .to_string();
                    let _ = conn
                        .write_all(
                            format!(
                                "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                });
            }
        });
        url
    }

    /// RBAC's 403 shows as forbidden with the server's words, for the pods
    /// watcher and for the others, and is not retried every second.
    #[tokio::test]
    async fn rbac_refusals_say_forbidden() {
        let url = refusing_server().await;
        let client = kube::Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sink: Sink = std::sync::Arc::new(move |u| {
            let _ = tx.send(u);
        });
        let scope = Scope {
            namespace: None,
            selector: None,
            resource: None,
        };
        let handles = spawn(client, &scope, &[Kind::Pods, Kind::Deployments], sink);
        let mut forbidden = std::collections::BTreeMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while forbidden.len() < 2 {
            let Ok(Some(u)) = tokio::time::timeout_at(deadline, rx.recv()).await else {
                break;
            };
            match u {
                Update::Conn {
                    kind,
                    conn: Conn::Forbidden { error },
                } => {
                    forbidden.insert(format!("{kind:?}"), error);
                }
                Update::Conn {
                    conn: Conn::Retrying { .. } | Conn::Live,
                    kind,
                } => panic!("{kind:?}: a refusal is not a retry nor live"),
                _ => {}
            }
        }
        for h in handles {
            h.abort();
        }
        assert_eq!(forbidden.len(), 2, "{forbidden:?}");
        assert!(
            forbidden["Pods"].contains("cannot list resource \"pods\""),
            "{forbidden:?}"
        );
        assert!(
            forbidden["Deployments"].contains("cannot list resource \"deployments\""),
            "{forbidden:?}"
        );
    }

    #[test]
    fn metrics_passes_take_at_most_two_percent() {
        assert_eq!(
            metrics_interval(Duration::from_millis(20)),
            Duration::from_secs(10)
        );
        assert_eq!(
            metrics_interval(Duration::from_millis(600)),
            Duration::from_secs(30)
        );
        assert_eq!(
            metrics_interval(Duration::from_secs(5)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn metrics_pages_parse_in_place() {
        let page = br#"{"kind":"PodMetricsList","metadata":{"continue":"x"},"items":[
          {"metadata":{"name":"a","namespace":"n"},"timestamp":"t","window":"15s",
           "containers":[{"name":"c","usage":{"cpu":"250m","memory":"64Mi"}},{"name":"d","usage":{"cpu":"1","memory":"1Gi"}}]}]}"#;
        let list: MetricsList = serde_json::from_slice(page).unwrap();
        assert_eq!(list.metadata.continue_.as_deref(), Some("x"));
        assert_eq!(
            (
                &*list.items[0].metadata.name,
                list.items[0].containers.len()
            ),
            ("a", 2)
        );
    }
}
