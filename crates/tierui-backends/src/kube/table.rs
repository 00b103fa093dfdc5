//! Any kind, like k9s's `:KIND`: the cluster's discovery (kinds with their
//! plural, singular and short names, CRDs included) to resolve what the user
//! typed, and a watcher of that kind's rows in the server's own Table form
//! (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), the columns
//! `kubectl get` prints: listed in pages, then watched, relisted after a 410.

use std::time::Duration;

use futures::TryStreamExt as _;
use kube::api::WatchEvent;
use serde::Serialize;
use serde_json::Value as Json;

use super::watch::{Change, Conn, Kind, Scope, Sink, Update};

/// One kind the cluster serves (its preferred version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
}

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `cronjobs.batch`, as kubectl names a resource.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The collection's path, in a namespace or across all.
    pub fn path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace.filter(|_| self.namespaced) {
            Some(ns) => format!("{base}/namespaces/{ns}/{}", self.plural),
            None => format!("{base}/{}", self.plural),
        }
    }

    /// Every word that names this kind: plural, singular, short names, the
    /// kind, and `plural.group`.
    pub fn names(&self) -> Vec<String> {
        let mut v = vec![self.plural.clone()];
        if !self.singular.is_empty() {
            v.push(self.singular.clone());
        }
        v.extend(self.short_names.iter().cloned());
        v.push(self.kind.to_lowercase());
        if !self.group.is_empty() {
            v.push(self.qualified());
        }
        v
    }
}

/// The kind a word names, as kubectl resolves `kubectl get <word>`: plural,
/// singular, short name, kind or `plural.group`, case-insensitive; the core
/// and built-in groups first (discovery order) when two groups share a name.
pub fn resolve<'a>(all: &'a [Resource], word: &str) -> Result<&'a Resource, String> {
    let w = word.trim().to_lowercase();
    if w.is_empty() {
        return Err("name a kind (e.g. :cronjobs, :sts, :pvc)".into());
    }
    all.iter()
        .find(|r| r.names().iter().any(|n| n.to_lowercase() == w))
        .ok_or_else(|| {
            let mut near: Vec<&str> = all
                .iter()
                .map(|r| r.plural.as_str())
                .filter(|p| p.starts_with(&w[..1]))
                .collect();
            near.truncate(6);
            if near.is_empty() {
                format!("the server doesn't have a resource type \"{word}\"")
            } else {
                format!(
                    "the server doesn't have a resource type \"{word}\" (did you mean {}?)",
                    near.join(", ")
                )
            }
        })
}

/// The listable kinds the cluster serves, from discovery: the core group, then
/// every group's preferred version. A group that fails to answer (an
/// aggregated API that is down) is left out, as kubectl leaves it out.
pub async fn resources(client: &kube::Client) -> Result<Vec<Resource>, String> {
    let mut out = Vec::new();
    let core = client
        .list_core_api_resources("v1")
        .await
        .map_err(|e| format!("discovery /api/v1: {e}"))?;
    out.extend(from_list("", "v1", core));
    let groups = client
        .list_api_groups()
        .await
        .map_err(|e| format!("discovery /apis: {e}"))?;
    for g in groups.groups {
        let Some(pv) = g.preferred_version.or_else(|| g.versions.first().cloned()) else {
            continue;
        };
        if let Ok(list) = client.list_api_group_resources(&pv.group_version).await {
            out.extend(from_list(&g.name, &pv.version, list));
        }
    }
    Ok(out)
}

fn from_list(
    group: &str,
    version: &str,
    list: k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList,
) -> Vec<Resource> {
    list.resources
        .into_iter()
        .filter(|r| !r.name.contains('/'))
        .filter(|r| r.verbs.iter().any(|v| v == "list"))
        .map(|r| Resource {
            group: group.to_string(),
            version: version.to_string(),
            kind: r.kind,
            singular: if r.singular_name.is_empty() {
                String::new()
            } else {
                r.singular_name
            },
            plural: r.name,
            namespaced: r.namespaced,
            short_names: r.short_names.unwrap_or_default(),
        })
        .collect()
}

/// A column of the server's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    /// 0: shown by `kubectl get`; 1+: only with `-o wide`.
    pub priority: i64,
}

/// One object's row: its cells as text, with what the view needs to find
/// what it owns and what owns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRow {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// `Kind/name` of each owner, and their uids.
    pub owners: Vec<(String, String)>,
    pub created: Option<i64>,
    pub cells: Vec<String>,
}

fn cell_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// The columns and rows of a Table response.
pub fn parse_table(t: &Json) -> Result<(Vec<Column>, Vec<TableRow>), String> {
    if t.get("kind").and_then(Json::as_str) != Some("Table") {
        return Err(format!(
            "the server answered a {} where a Table was asked for",
            t.get("kind").and_then(Json::as_str).unwrap_or("non-object")
        ));
    }
    let columns = t
        .get("columnDefinitions")
        .and_then(Json::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| Column {
                    name: c
                        .get("name")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    priority: c.get("priority").and_then(Json::as_i64).unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default();
    let rows = t
        .get("rows")
        .and_then(Json::as_array)
        .map(|rs| rs.iter().map(row).collect())
        .unwrap_or_default();
    Ok((columns, rows))
}

fn row(r: &Json) -> TableRow {
    let meta = r.pointer("/object/metadata").cloned().unwrap_or(Json::Null);
    let s = |k: &str| {
        meta.get(k)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let owners = meta
        .get("ownerReferences")
        .and_then(Json::as_array)
        .map(|os| {
            os.iter()
                .map(|o| {
                    let g = |k: &str| o.get(k).and_then(Json::as_str).unwrap_or_default();
                    (format!("{}/{}", g("kind"), g("name")), g("uid").to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    TableRow {
        namespace: s("namespace"),
        name: s("name"),
        uid: s("uid"),
        owners,
        created: s("creationTimestamp")
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_second()),
        cells: r
            .get("cells")
            .and_then(Json::as_array)
            .map(|c| c.iter().map(cell_text).collect())
            .unwrap_or_default(),
    }
}

const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

fn get(path_and_query: String) -> http::Request<Vec<u8>> {
    http::Request::get(path_and_query)
        .header(http::header::ACCEPT, TABLE_ACCEPT)
        .body(Vec::new())
        .unwrap_or_default()
}

fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Watches the rows of `scope.resource` in `scope.namespace` until aborted,
/// reconnecting with backoff; the label selector is for pods and is not used.
pub async fn watch_table(client: kube::Client, scope: Scope, sink: Sink) {
    let Some(res) = scope.resource.clone() else {
        return;
    };
    let emit = move |o: Out| {
        sink(match o {
            Out::Columns(c) => Update::Columns(c),
            Out::Row(c) => Update::Table(c),
            Out::Conn(conn) => Update::Conn {
                kind: Kind::Table,
                conn,
            },
        })
    };
    follow(&client, &res, scope.namespace.as_deref(), false, &emit).await;
}

/// The kinds a release owns beside its Deployments and pods, shown under its
/// pods (and a StatefulSet's claims under its pods): watched as tables.
pub fn owned_resources() -> Vec<Resource> {
    let r = |group: &str, kind: &str, plural: &str, short: &[&str]| Resource {
        group: group.into(),
        version: "v1".into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        namespaced: true,
        short_names: short.iter().map(|s| s.to_string()).collect(),
    };
    vec![
        r("apps", "StatefulSet", "statefulsets", &["sts"]),
        r("apps", "DaemonSet", "daemonsets", &["ds"]),
        r("batch", "CronJob", "cronjobs", &["cj"]),
        r("batch", "Job", "jobs", &[]),
        r(
            "",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            &["pvc"],
        ),
    ]
}

/// Watches [`owned_resources`] in `scope.namespace`, each as its own table
/// (`Update::Owned`); a kind the cluster does not serve is left out quietly.
pub async fn watch_owned(client: kube::Client, scope: Scope, sink: Sink) {
    let all = owned_resources();
    futures::future::join_all(all.iter().map(|res| {
        let kind: &'static str = match res.kind.as_str() {
            "StatefulSet" => "StatefulSet",
            "DaemonSet" => "DaemonSet",
            "CronJob" => "CronJob",
            "Job" => "Job",
            _ => "PersistentVolumeClaim",
        };
        let sink = sink.clone();
        let emit = move |o: Out| {
            sink(match o {
                Out::Columns(columns) => Update::OwnedColumns { kind, columns },
                Out::Row(change) => Update::Owned { kind, change },
                Out::Conn(conn) => Update::Conn {
                    kind: Kind::Owned,
                    conn,
                },
            })
        };
        let (client, ns) = (client.clone(), scope.namespace.clone());
        async move { follow(&client, res, ns.as_deref(), true, &emit).await }
    }))
    .await;
}

/// What one table watcher reports.
enum Out {
    Columns(Vec<Column>),
    Row(Change<TableRow>),
    Conn(Conn),
}

/// Lists and watches one kind's table until aborted, reconnecting with
/// backoff; with `optional`, returns when the cluster does not serve the kind
/// (404) instead of retrying.
async fn follow(
    client: &kube::Client,
    res: &Resource,
    ns: Option<&str>,
    optional: bool,
    emit: &(dyn Fn(Out) + Send + Sync),
) {
    emit(Out::Conn(Conn::Connecting));
    let mut backoff = 1u64;
    loop {
        match list_and_watch(client, res, ns, emit).await {
            Ok(()) => backoff = 1,
            Err(WatchError::NotServed(_)) if optional => {
                // Nothing of this kind can exist here: not a failure to show.
                emit(Out::Conn(Conn::Live));
                return;
            }
            Err(e) => {
                let (conn, wait) = match e {
                    WatchError::Forbidden(error) => (Conn::Forbidden { error }, 60),
                    WatchError::Failed(error) | WatchError::NotServed(error) => (
                        Conn::Retrying {
                            in_secs: backoff,
                            error,
                        },
                        backoff,
                    ),
                };
                emit(Out::Conn(conn));
                tokio::time::sleep(Duration::from_secs(wait)).await;
                backoff = (backoff * 2).min(30);
            }
        }
    }
}
enum WatchError {
    Forbidden(String),
    /// 404: the cluster does not serve the kind (now).
    NotServed(String),
    Failed(String),
}

fn failure(res: &Resource, e: kube::Error) -> WatchError {
    let text = format!("{}: {e}", res.qualified());
    match &e {
        kube::Error::Api(s) if s.code == 403 => WatchError::Forbidden(text),
        kube::Error::Api(s) if s.code == 404 => WatchError::NotServed(text),
        _ => WatchError::Failed(text),
    }
}

/// One list (in pages) and the watch that follows it; `Ok` when the watch
/// ends in a way that calls for a relist (timeout, 410 Gone).
async fn list_and_watch(
    client: &kube::Client,
    res: &Resource,
    ns: Option<&str>,
    emit: &(dyn Fn(Out) + Send + Sync),
) -> Result<(), WatchError> {
    let path = res.path(ns);
    emit(Out::Row(Change::Relist));
    let mut cont = String::new();
    let mut rv = String::new();
    let mut first = true;
    loop {
        let mut q = vec![("limit", "500"), ("includeObject", "Metadata")];
        if !cont.is_empty() {
            q.push(("continue", cont.as_str()));
        }
        let text = client
            .request_text(get(format!("{path}?{}", query(&q))))
            .await
            .map_err(|e| failure(res, e))?;
        let t: Json =
            serde_json::from_str(&text).map_err(|e| WatchError::Failed(format!("{path}: {e}")))?;
        let (columns, rows) = parse_table(&t).map_err(WatchError::Failed)?;
        if first {
            emit(Out::Columns(columns));
            first = false;
        }
        for row in rows {
            emit(Out::Row(Change::Upsert { row }));
        }
        rv = t
            .pointer("/metadata/resourceVersion")
            .and_then(Json::as_str)
            .unwrap_or(&rv)
            .to_string();
        cont = t
            .pointer("/metadata/continue")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        if cont.is_empty() {
            break;
        }
    }
    emit(Out::Row(Change::Listed));
    emit(Out::Conn(Conn::Live));
    loop {
        let q = query(&[
            ("watch", "true"),
            ("resourceVersion", &rv),
            ("includeObject", "Metadata"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", "290"),
        ]);
        let stream = client
            .request_events::<Json>(get(format!("{path}?{q}")))
            .await
            .map_err(|e| failure(res, e))?;
        futures::pin_mut!(stream);
        let mut saw_any = false;
        while let Some(ev) = stream.try_next().await.map_err(|e| failure(res, e))? {
            saw_any = true;
            match ev {
                WatchEvent::Added(t) | WatchEvent::Modified(t) => {
                    if let Ok((_, rows)) = parse_table(&t) {
                        for row in rows {
                            emit(Out::Row(Change::Upsert { row }));
                        }
                    }
                    if let Some(v) = t
                        .pointer("/metadata/resourceVersion")
                        .and_then(Json::as_str)
                    {
                        rv = v.to_string();
                    }
                }
                WatchEvent::Deleted(t) => {
                    if let Ok((_, rows)) = parse_table(&t) {
                        for r in rows {
                            emit(Out::Row(Change::Delete {
                                namespace: r.namespace,
                                name: r.name,
                            }));
                        }
                    }
                }
                WatchEvent::Bookmark(b) => rv = b.metadata.resource_version,
                WatchEvent::Error(e) if e.code == 410 => return Ok(()),
                WatchEvent::Error(e) => {
                    let text = format!("{}: {}", res.qualified(), e.message);
                    return Err(if e.code == 403 {
                        WatchError::Forbidden(text)
                    } else {
                        WatchError::Failed(text)
                    });
                }
            }
        }
        if !saw_any {
            // A watch that ended at once: list again rather than spin.
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(group: &str, kind: &str, plural: &str, short: &[&str]) -> Resource {
        Resource {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced: true,
            short_names: short.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn words_resolve_as_kubectl_resolves_them() {
        let all = vec![
            r(
                "",
                "PersistentVolumeClaim",
                "persistentvolumeclaims",
                &["pvc"],
            ),
            r("apps", "StatefulSet", "statefulsets", &["sts"]),
            r("batch", "CronJob", "cronjobs", &["cj"]),
            r(
                "elbv2.k8s.aws",
                "TargetGroupBinding",
                "targetgroupbindings",
                &[],
            ),
        ];
        for (w, kind) in [
            ("pvc", "PersistentVolumeClaim"),
            ("sts", "StatefulSet"),
            ("StatefulSet", "StatefulSet"),
            ("cronjob", "CronJob"),
            ("CRONJOBS", "CronJob"),
            ("targetgroupbindings", "TargetGroupBinding"),
            ("targetgroupbindings.elbv2.k8s.aws", "TargetGroupBinding"),
        ] {
            assert_eq!(resolve(&all, w).unwrap().kind, kind, "{w}");
        }
        assert_eq!(
            resolve(&all, "sealedsecrets").unwrap_err(),
            "the server doesn't have a resource type \"sealedsecrets\" (did you mean statefulsets?)"
        );
        assert_eq!(
            all[3].path(Some("ns")),
            "/apis/elbv2.k8s.aws/v1/namespaces/ns/targetgroupbindings"
        );
        assert_eq!(all[0].path(None), "/api/v1/persistentvolumeclaims");
    }

    #[test]
    fn a_table_reads_into_columns_and_rows() {
        let t = json!({"kind": "Table", "columnDefinitions": [
                {"name": "Name", "priority": 0}, {"name": "Completions", "priority": 0}, {"name": "Images", "priority": 1}],
            "rows": [{"cells": ["migrate", "1/1", "busybox"], "object": {"metadata": {
                "name": "migrate", "namespace": "app", "uid": "u1", "creationTimestamp": "2026-12-03T10:00:00Z",
                "ownerReferences": [{"kind": "CronJob", "name": "report", "uid": "u0"}]}}}]});
        let (cols, rows) = parse_table(&t).unwrap();
        assert_eq!(
            cols[2],
            Column {
                name: "Images".into(),
                priority: 1
            }
        );
        assert_eq!(rows[0].cells, ["migrate", "1/1", "busybox"]);
        assert_eq!(
            rows[0].owners,
            [("CronJob/report".to_string(), "u0".to_string())]
        );
        assert!(rows[0].created.is_some());
        assert!(
            parse_table(&json!({"kind": "PodList"}))
                .unwrap_err()
                .contains("PodList")
        );
        assert_eq!(encode("a=b,c"), "a%3Db%2Cc");
    }
}
