//! `tierui watch`: a release's pod and HPA rows as they change, one line (or
//! JSON object) per change, like `kubectl get -w`. For scripts: stdout carries
//! only rows; connection states go to stderr.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::cli::WatchArgs;
use tierui_backends::kube::rows::{HpaRow, PodRow};
use tierui_backends::kube::watch::{self, Change, Conn, Kind, Scope, Update};
use tierui_core::context::Context;

/// The longest `--for` (a timer past this would overflow the clock's arithmetic).
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// `30s`, `2m`, `1h`, `500ms`, `1m30s`; at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    if t.is_empty() {
        bail!("empty duration (use e.g. 30s, 2m, 1h)");
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            bail!("bad duration {text:?} (use e.g. 30s, 2m, 1h)");
        }
        let n: f64 = rest[..digits]
            .parse()
            .map_err(|_| anyhow::anyhow!("bad duration {text:?} (use e.g. 30s, 2m, 1h)"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ms" => n / 1000.0,
            "s" | "" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            u => bail!("bad duration unit {u:?} in {text:?} (ms, s, m or h)"),
        };
        total = Duration::try_from_secs_f64(secs)
            .ok()
            .and_then(|d| total.checked_add(d))
            .filter(|t| *t <= MAX_DURATION)
            .ok_or_else(|| anyhow::anyhow!("duration {text:?} is too long (at most 30 days)"))?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// One printed change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum Row {
    Pod(PodRow),
    HorizontalPodAutoscaler(HpaRow),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// ADDED, MODIFIED or DELETED, as in a Kubernetes watch.
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub cluster: String,
    pub object: Row,
}

/// (namespace, name), sharing the row's strings.
type Key = (Arc<str>, Arc<str>);

/// Turns watcher updates into printed changes: rows that differ from what was
/// last printed, and deletions (also of rows a relist no longer returns).
#[derive(Default)]
pub struct Changes {
    /// Keys share the rows' strings (150,000 pods are printed and kept).
    printed: BTreeMap<(&'static str, Arc<str>, Arc<str>), Row>,
    relist: BTreeMap<&'static str, std::collections::HashSet<Key>>,
}

impl Changes {
    pub fn feed(&mut self, cluster: &str, u: Update) -> Vec<Event> {
        match u {
            Update::Pods(c) => self.change("Pod", cluster, c.map_row(Row::Pod)),
            Update::Hpas(c) => self.change(
                "HorizontalPodAutoscaler",
                cluster,
                c.map_row(Row::HorizontalPodAutoscaler),
            ),
            _ => Vec::new(),
        }
    }

    fn change(&mut self, kind: &'static str, cluster: &str, c: Change<Row>) -> Vec<Event> {
        let ev = |type_, object| Event {
            type_,
            cluster: cluster.to_string(),
            object,
        };
        match c {
            Change::Relist => {
                self.relist.insert(kind, Default::default());
                Vec::new()
            }
            Change::Upsert { row } => self
                .upsert(kind, row)
                .map(|(t, r)| ev(t, r))
                .into_iter()
                .collect(),
            Change::Page { rows, .. } => rows
                .into_iter()
                .filter_map(|row| self.upsert(kind, row))
                .map(|(t, r)| ev(t, r))
                .collect(),
            Change::Delete { namespace, name } => self
                .printed
                .remove(&(kind, Arc::from(namespace), Arc::from(name)))
                .map(|row| vec![ev("DELETED", row)])
                .unwrap_or_default(),
            Change::Listed => {
                let Some(seen) = self.relist.remove(kind) else {
                    return Vec::new();
                };
                let gone: Vec<_> = self
                    .printed
                    .keys()
                    .filter(|k| k.0 == kind && !seen.contains(&(k.1.clone(), k.2.clone())))
                    .cloned()
                    .collect();
                gone.into_iter()
                    .filter_map(|k| self.printed.remove(&k))
                    .map(|row| ev("DELETED", row))
                    .collect()
            }
        }
    }

    /// A row to print (ADDED or MODIFIED) unless it is what was last printed.
    fn upsert(&mut self, kind: &'static str, row: Row) -> Option<(&'static str, Row)> {
        let (ns, name) = row.key();
        if let Some(seen) = self.relist.get_mut(kind) {
            seen.insert((ns.clone(), name.clone()));
        }
        let key = (kind, ns, name);
        match self.printed.get(&key) {
            Some(old) if *old == row => None,
            old => {
                let t = if old.is_some() { "MODIFIED" } else { "ADDED" };
                self.printed.insert(key, row.clone());
                Some((t, row))
            }
        }
    }
}

impl Row {
    fn namespace(&self) -> &str {
        match self {
            Row::Pod(p) => &p.namespace,
            Row::HorizontalPodAutoscaler(h) => &h.namespace,
        }
    }

    fn key(&self) -> Key {
        match self {
            Row::Pod(p) => (p.namespace.clone(), p.name.clone()),
            Row::HorizontalPodAutoscaler(h) => {
                (h.namespace.as_str().into(), h.name.as_str().into())
            }
        }
    }
}

trait MapRow<R> {
    fn map_row(self, f: impl Fn(R) -> Row) -> Change<Row>;
}

impl<R> MapRow<R> for Change<R> {
    fn map_row(self, f: impl Fn(R) -> Row) -> Change<Row> {
        match self {
            Change::Relist => Change::Relist,
            Change::Upsert { row } => Change::Upsert { row: f(row) },
            Change::Page {
                rows,
                loaded,
                total,
            } => Change::Page {
                rows: rows.into_iter().map(&f).collect(),
                loaded,
                total,
            },
            Change::Delete { namespace, name } => Change::Delete { namespace, name },
            Change::Listed => Change::Listed,
        }
    }
}

/// A line as `kubectl get -w` prints one, prefixed by the kind like
/// `kubectl get pods,hpa -w`.
pub fn text_line(e: &Event, now_s: i64) -> String {
    let deleted = if e.type_ == "DELETED" {
        "  (deleted)"
    } else {
        ""
    };
    match &e.object {
        Row::Pod(p) => format!(
            "{:<48} {:<6} {:<18} {:<9} {:<6} {}{deleted}",
            format!("pod/{}", p.name),
            format!("{}/{}", p.ready, p.containers),
            p.status,
            p.restarts,
            crate::app::live::age(now_s, p.created),
            p.node
        ),
        Row::HorizontalPodAutoscaler(h) => {
            let targets = h.targets();
            format!(
                "{:<48} {:<28} {:<24} {:<4} {:<4} {}{deleted}",
                format!("horizontalpodautoscaler/{}", h.name),
                h.target,
                targets,
                h.min,
                h.max,
                if h.current == h.desired {
                    h.current.to_string()
                } else {
                    format!("{}->{}", h.current, h.desired)
                }
            )
        }
    }
}

fn conn_text(kind: Kind, c: &Conn) -> Option<String> {
    let what = match kind {
        Kind::Pods => "pods",
        Kind::Hpas => "hpas",
        _ => return None,
    };
    match c {
        Conn::Retrying { in_secs, error } => {
            Some(format!("{what}: retrying in {in_secs}s: {error}"))
        }
        Conn::Forbidden { error } => Some(format!("{what}: forbidden: {error}")),
        Conn::Live => Some(format!("{what}: live")),
        Conn::Connecting | Conn::Unavailable => None,
    }
}

pub fn run(ctx: &Context, args: &WatchArgs) -> Result<ExitCode> {
    let limit = args.for_.as_deref().map(parse_duration).transpose()?;
    let ws = ctx.load();
    // A release's pods, or (-A) every pod of a cluster.
    let release = match (&args.service, args.all_namespaces) {
        (_, true) => None,
        (Some(service), false) => Some(
            crate::cli::release::select(
                &ws,
                &crate::cli::ReleaseSelector {
                    service: service.clone(),
                    env: args.env.clone(),
                    cluster: args.cluster.clone(),
                },
            )?
            .clone(),
        ),
        (None, false) => bail!("name a service, or watch a whole cluster with -A --cluster NAME"),
    };
    let cluster = match &release {
        Some(r) => r.cluster.clone().unwrap_or_default(),
        None => args.cluster.clone().unwrap_or_default(),
    };
    let stack = match &release {
        Some(_) => None,
        None => Some(ws.cluster(&cluster).cloned().ok_or_else(|| {
            let names: Vec<&str> = ws.clusters.iter().map(|c| c.name.as_str()).collect();
            anyhow::anyhow!("no cluster {cluster} (clusters: {})", names.join(", "))
        })?),
    };
    let where_ = match &release {
        Some(r) => format!("{cluster}/{}", r.namespace),
        None => format!("{cluster} (all namespaces)"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let sims = tierui_backends::release::sims(ctx, &ws)?;
        let (client, scope) = match (&release, &stack) {
            (Some(r), _) => (
                tierui_backends::release::client_for(ctx, sims.as_deref(), &ws, r)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e}", r.title()))?,
                Scope {
                    namespace: Some(r.namespace.clone()),
                    selector: r.summary.selector.clone(),
                    resource: None,
                },
            ),
            (None, Some(c)) => {
                let endpoint = tierui_backends::release::endpoint(ctx, sims.as_deref(), &ws, c)
                    .await
                    .map_err(|e| anyhow::anyhow!("cluster {cluster}: {e}"))?;
                let client = tierui_backends::kube::connect::client(&endpoint)
                    .await
                    .map_err(|e| anyhow::anyhow!("cluster {cluster}: {e}"))?;
                let scope = Scope {
                    namespace: None,
                    selector: None,
                    resource: None,
                };
                (client, scope)
            }
            (None, None) => unreachable!("a release or a cluster was chosen above"),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sink: watch::Sink = Arc::new(move |u| {
            let _ = tx.send(u);
        });
        let handles = watch::spawn(client, &scope, &[Kind::Pods, Kind::Hpas], sink);
        let stop = async {
            match limit {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(stop);
        let mut changes = Changes::default();
        let stdout = std::io::stdout();
        let mut header = !args.json;
        let code = loop {
            tokio::select! {
                _ = &mut stop => break ExitCode::SUCCESS,
                _ = tokio::signal::ctrl_c() => break ExitCode::SUCCESS,
                u = rx.recv() => {
                    let Some(u) = u else { break ExitCode::from(2) };
                    if let Update::Conn { kind, conn } = &u {
                        if let Some(t) = conn_text(*kind, conn) {
                            eprintln!("tierui: {where_}: {t}");
                        }
                        continue;
                    }
                    let now = jiff::Timestamp::now().as_second();
                    // Buffered per update: stdout writes each line on its own
                    // otherwise (a list page is thousands of lines).
                    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
                    for e in changes.feed(&cluster, u) {
                        let line = if args.json {
                            serde_json::to_string(&e)?
                        } else {
                            if header {
                                header = false;
                                let ns = if args.all_namespaces { format!("{:<24} ", "NAMESPACE") } else { String::new() };
                                writeln!(out, "{ns}{:<48} {:<6} {:<18} {:<9} {:<6} NODE", "NAME", "READY", "STATUS", "RESTARTS", "AGE")?;
                            }
                            if args.all_namespaces {
                                // As `kubectl get -A` prints it: the namespace first.
                                format!("{:<24} {}", e.object.namespace(), text_line(&e, now))
                            } else {
                                text_line(&e, now)
                            }
                        };
                        // A closed pipe (`| head`) ends the watch quietly.
                        if writeln!(out, "{line}").is_err() {
                            return Ok(ExitCode::SUCCESS);
                        }
                    }
                    if out.flush().is_err() {
                        return Ok(ExitCode::SUCCESS);
                    }
                }
            }
        };
        for h in handles {
            h.abort();
        }
        if let Some(s) = &sims {
            s.shutdown().await;
        }
        Ok(code)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, status: &str) -> PodRow {
        PodRow {
            namespace: "n".into(),
            name: name.into(),
            ready: 1,
            containers: 1,
            status: status.into(),
            restarts: 0,
            created: Some(0),
            node: "a".into(),
            owner: "rs".into(),
            image: "x".into(),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("").is_err());
        // Huge values are errors, not a panic in the clock's arithmetic.
        for huge in [
            "99999999999999999999999h",
            "1e999s",
            "31d",
            "721h",
            "9".repeat(400).as_str(),
        ] {
            let e = parse_duration(huge);
            assert!(e.is_err(), "{huge}");
        }
        assert!(
            parse_duration("721h")
                .unwrap_err()
                .to_string()
                .contains("at most 30 days")
        );
        assert_eq!(parse_duration("720h").unwrap(), MAX_DURATION);
    }

    #[test]
    fn only_real_changes_are_printed_and_relists_delete_what_is_gone() {
        let mut c = Changes::default();
        let up = |p| Update::Pods(Change::Upsert { row: p });
        let types = |v: Vec<Event>| v.iter().map(|e| e.type_).collect::<Vec<_>>();
        assert!(c.feed("day", Update::Pods(Change::Relist)).is_empty());
        assert_eq!(types(c.feed("day", up(pod("a", "Pending")))), ["ADDED"]);
        assert_eq!(types(c.feed("day", up(pod("b", "Running")))), ["ADDED"]);
        assert!(c.feed("day", Update::Pods(Change::Listed)).is_empty());
        // The same row again (a resync, a bookmark) prints nothing.
        assert!(c.feed("day", up(pod("a", "Pending"))).is_empty());
        assert_eq!(types(c.feed("day", up(pod("a", "Running")))), ["MODIFIED"]);
        // A relist that no longer returns b deletes it when the list completes.
        c.feed("day", Update::Pods(Change::Relist));
        assert!(c.feed("day", up(pod("a", "Running"))).is_empty());
        let gone = c.feed("day", Update::Pods(Change::Listed));
        assert_eq!(types(gone.clone()), ["DELETED"]);
        assert!(matches!(&gone[0].object, Row::Pod(p) if &*p.name == "b"));
        assert_eq!(
            types(c.feed(
                "day",
                Update::Pods(Change::Delete {
                    namespace: "n".into(),
                    name: "a".into()
                })
            )),
            ["DELETED"]
        );
    }

    #[test]
    fn json_events_look_like_watch_events() {
        let e = Event {
            type_: "ADDED",
            cluster: "day".into(),
            object: Row::Pod(pod("a", "Running")),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "ADDED");
        assert_eq!(v["object"]["kind"], "Pod");
        assert_eq!(v["object"]["name"], "a");
        assert_eq!(v["object"]["status"], "Running");
        assert!(text_line(&e, 30).starts_with("pod/a "));
    }
}
