//! The live view's state: rows of pods, deployments, replica sets, HPAs and
//! events per cluster, kept as the watchers report changes. Only rows are kept,
//! never whole objects.

use std::collections::{BTreeMap, VecDeque};

use tierui_backends::kube::rows::*;
use tierui_backends::kube::table::{Column, Resource, TableRow};
use tierui_backends::kube::watch::{Change, Conn, Kind, Scope, Update};

pub use super::pod_table::PodRows;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Pods above; HPA with its chart and the events tail below.
    Pods,
    /// Deployments with rollout progress and their ReplicaSets.
    Deployments,
    Hpa,
    Events,
    /// Any kind (`:cronjobs`), as the server's table; the kind is the panes'
    /// `scope.resource`.
    Kind,
}

impl Tab {
    pub fn label(self) -> &'static str {
        match self {
            Tab::Pods => "pods",
            Tab::Deployments => "deploy",
            Tab::Hpa => "hpa",
            Tab::Events => "events",
            Tab::Kind => "kind",
        }
    }

    /// What must be watched while this tab is on screen.
    pub fn kinds(self, multi: bool) -> Vec<Kind> {
        match (self, multi) {
            (_, true) => vec![Kind::Pods],
            (Tab::Pods, false) => vec![Kind::Pods, Kind::Metrics, Kind::Hpas, Kind::Events],
            (Tab::Deployments, false) => vec![Kind::Deployments, Kind::ReplicaSets, Kind::Events],
            (Tab::Hpa, false) => vec![Kind::Hpas, Kind::Events],
            (Tab::Events, false) => vec![Kind::Events],
            (Tab::Kind, false) => vec![Kind::Table, Kind::Events],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Name,
    Ready,
    Status,
    Restarts,
    Age,
    Node,
    Cpu,
    Memory,
}

/// One sample of an HPA for the replica-history chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at_s: i64,
    pub replicas: i32,
    /// First utilisation metric in percent, when there is one.
    pub load: Option<i32>,
}

pub type Key = (String, String);

#[derive(Debug, Clone)]
pub struct ClusterPane {
    pub cluster: String,
    pub scope: Scope,
    /// Why the pane has no connection (e.g. the cluster does not exist yet).
    pub failed: Option<String>,
    pub conn: BTreeMap<&'static str, Conn>,
    /// Pods in the order the table shows them (with their metrics).
    pub pods: super::pod_table::PodTable,
    pub deployments: BTreeMap<Key, DeploymentRow>,
    pub replicasets: BTreeMap<Key, ReplicaSetRow>,
    pub hpas: BTreeMap<Key, HpaRow>,
    pub events: BTreeMap<Key, EventRow>,
    pub history: BTreeMap<Key, VecDeque<Sample>>,
    /// ConfigMaps, Secrets, Services and Ingresses, by kind then (namespace,
    /// `Kind/name`): their versions only.
    pub objects: BTreeMap<&'static str, BTreeMap<Key, MetaRow>>,
    /// A `:KIND` view's columns and rows, as the server prints them.
    pub columns: Vec<Column>,
    pub table: BTreeMap<Key, TableRow>,
    /// StatefulSets, DaemonSets, CronJobs, Jobs and claims in scope (for a
    /// release's other kinds and a StatefulSet's claims), by kind.
    pub owned: BTreeMap<&'static str, OwnedRows>,
    /// Kinds whose first list has arrived.
    pub listed: Vec<&'static str>,
    /// Kinds in a relist: rows not seen again by `Listed` are dropped.
    relisting: BTreeMap<&'static str, Vec<Key>>,
}

/// One of the other kinds under a release's pods, as the server prints it.
#[derive(Debug, Clone, Default)]
pub struct OwnedRows {
    pub columns: Vec<Column>,
    pub rows: BTreeMap<Key, TableRow>,
}

const HISTORY: usize = 240;
const EVENTS: usize = 400;

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Pods => "pods",
        Kind::Deployments => "deployments",
        Kind::ReplicaSets => "replicasets",
        Kind::Hpas => "hpas",
        Kind::Events => "events",
        Kind::Metrics => "metrics",
        Kind::Objects => "objects",
        Kind::Table => "table",
        Kind::Owned => "owned",
    }
}

fn apply_change<R: Clone>(
    map: &mut BTreeMap<Key, R>,
    relisting: &mut BTreeMap<&'static str, Vec<Key>>,
    listed: &mut Vec<&'static str>,
    kind: &'static str,
    change: Change<R>,
    key: impl Fn(&R) -> Key,
) {
    match change {
        Change::Relist => {
            relisting.insert(kind, Vec::new());
        }
        Change::Upsert { row } => {
            let k = key(&row);
            if let Some(seen) = relisting.get_mut(kind) {
                seen.push(k.clone());
            }
            map.insert(k, row);
        }
        Change::Page { rows, .. } => {
            for row in rows {
                let k = key(&row);
                if let Some(seen) = relisting.get_mut(kind) {
                    seen.push(k.clone());
                }
                map.insert(k, row);
            }
        }
        Change::Delete { namespace, name } => {
            map.remove(&(namespace, name));
        }
        Change::Listed => {
            // Rows that did not come back in the relist are gone.
            if let Some(seen) = relisting.remove(kind) {
                let seen: std::collections::BTreeSet<Key> = seen.into_iter().collect();
                map.retain(|k, _| seen.contains(k));
            }
            if !listed.contains(&kind) {
                listed.push(kind);
            }
        }
    }
}

impl ClusterPane {
    pub fn new(cluster: String, scope: Scope) -> ClusterPane {
        ClusterPane {
            cluster,
            scope,
            failed: None,
            conn: BTreeMap::new(),
            pods: Default::default(),
            deployments: BTreeMap::new(),
            replicasets: BTreeMap::new(),
            hpas: BTreeMap::new(),
            events: BTreeMap::new(),
            history: BTreeMap::new(),
            objects: BTreeMap::new(),
            columns: Vec::new(),
            table: BTreeMap::new(),
            owned: BTreeMap::new(),
            listed: Vec::new(),
            relisting: BTreeMap::new(),
        }
    }

    pub fn listed(&self, k: Kind) -> bool {
        self.listed.contains(&kind_name(k))
    }

    /// Whether the first list of an object kind (`ConfigMap`…) is in.
    pub fn listed_objects(&self, kind: &str) -> bool {
        self.listed.contains(&kind)
    }

    /// Applies one watcher update; `now_s` stamps HPA history samples.
    pub fn apply(&mut self, u: Update, now_s: i64) {
        let (r, l) = (&mut self.relisting, &mut self.listed);
        let key = |ns: &str, n: &str| (ns.to_string(), n.to_string());
        match u {
            Update::Pods(c) => {
                if self.pods.apply(c) && !l.contains(&"pods") {
                    l.push("pods");
                }
            }
            Update::Deployments(c) => {
                apply_change(&mut self.deployments, r, l, "deployments", c, |d| {
                    key(&d.namespace, &d.name)
                })
            }
            Update::ReplicaSets(c) => {
                apply_change(&mut self.replicasets, r, l, "replicasets", c, |d| {
                    key(&d.namespace, &d.name)
                })
            }
            Update::Hpas(c) => {
                if let Change::Upsert { row } = &c {
                    let hist = self
                        .history
                        .entry(key(&row.namespace, &row.name))
                        .or_default();
                    let load = row
                        .metrics
                        .iter()
                        .find_map(|m| m.current.strip_suffix('%').and_then(|v| v.parse().ok()));
                    let sample = Sample {
                        at_s: now_s,
                        replicas: row.current,
                        load,
                    };
                    // One sample per second is plenty.
                    if hist.back().is_some_and(|s| s.at_s == now_s) {
                        hist.pop_back();
                    }
                    hist.push_back(sample);
                    while hist.len() > HISTORY {
                        hist.pop_front();
                    }
                }
                apply_change(&mut self.hpas, r, l, "hpas", c, |h| {
                    key(&h.namespace, &h.name)
                })
            }
            Update::Events(c) => {
                apply_change(&mut self.events, r, l, "events", c, |e| {
                    key(&e.namespace, &e.name)
                });
                if self.events.len() > EVENTS {
                    // Keep the newest.
                    let mut by_time: Vec<(Option<i64>, Key)> = self
                        .events
                        .iter()
                        .map(|(k, e)| (e.last, k.clone()))
                        .collect();
                    by_time.sort();
                    for (_, k) in by_time.into_iter().take(self.events.len() - EVENTS) {
                        self.events.remove(&k);
                    }
                }
            }
            Update::Metrics { usage, first, last } => {
                self.pods.join_usage(usage, first, last);
                if last && !self.listed.contains(&"metrics") {
                    self.listed.push("metrics");
                }
            }
            Update::Objects { kind, change } => {
                let map = self.objects.entry(kind).or_default();
                apply_change(map, r, l, kind, change, |o| key(&o.namespace, &o.name))
            }
            Update::Table(c) => apply_change(&mut self.table, r, l, "table", c, |o| {
                key(&o.namespace, &o.name)
            }),
            Update::Columns(c) => self.columns = c,
            Update::Owned { kind, change } => {
                let map = &mut self.owned.entry(kind).or_default().rows;
                apply_change(map, r, l, kind, change, |o| key(&o.namespace, &o.name))
            }
            Update::OwnedColumns { kind, columns } => {
                self.owned.entry(kind).or_default().columns = columns
            }
            Update::Conn { kind, conn } => {
                self.conn.insert(kind_name(kind), conn);
            }
        }
    }

    /// The pane's connection in one word or phrase: the worst of its watchers.
    pub fn connection(&self) -> String {
        if let Some(f) = &self.failed {
            return f.clone();
        }
        let states: Vec<&Conn> = self
            .conn
            .iter()
            .filter(|(k, _)| **k != "metrics")
            .map(|(_, c)| c)
            .collect();
        if let Some(Conn::Forbidden { error }) =
            states.iter().find(|c| matches!(c, Conn::Forbidden { .. }))
        {
            return format!("forbidden: {error}");
        }
        if let Some(Conn::Retrying { in_secs, error }) =
            states.iter().find(|c| matches!(c, Conn::Retrying { .. }))
        {
            return format!("retrying in {in_secs}s: {error}");
        }
        if states.is_empty() || states.iter().any(|c| matches!(c, Conn::Connecting)) {
            return "connecting…".into();
        }
        "live".into()
    }

    pub fn metrics_available(&self) -> bool {
        !matches!(self.conn.get("metrics"), Some(Conn::Unavailable) | None)
            && self.listed.contains(&"metrics")
    }
}

/// A text view over the live view (`y` YAML, `d` describe).
#[derive(Debug, Clone)]
pub struct TextView {
    pub title: String,
    pub lines: Vec<String>,
    pub scroll: u16,
}

#[derive(Debug, Clone)]
pub struct LiveView {
    /// Messages of an older view (closed or reopened) are ignored.
    pub id: u64,
    pub title: String,
    /// The release this view follows, if any.
    pub release: Option<usize>,
    pub panes: Vec<ClusterPane>,
    pub tab: Tab,
    pub sort: SortBy,
    pub descending: bool,
    pub filter: String,
    pub cursor: usize,
    pub text: Option<TextView>,
    /// Wall clock in seconds, for ages (updated by ticks).
    pub now_s: i64,
    /// A `:KIND` view opened from an owner's row (Enter): only rows it owns,
    /// as (owner uid, `Kind/name`).
    pub owner: Option<(String, String)>,
    /// Where Esc goes back to from an owner's rows.
    pub back: Vec<Drill>,
    /// The release's StatefulSets, DaemonSets, CronJobs, Jobs and claims as
    /// it declares them (`Kind/name`), listed under its pods.
    pub declared: Vec<String>,
}

/// The kinds listed under a release's pods ([`Kind::Owned`]).
pub const OWNED_KINDS: [&str; 5] = [
    "StatefulSet",
    "DaemonSet",
    "CronJob",
    "Job",
    "PersistentVolumeClaim",
];

/// Whether `Kind/name` is of one of [`OWNED_KINDS`].
pub fn is_owned_kind(object: &str) -> bool {
    object
        .split_once('/')
        .is_some_and(|(k, _)| OWNED_KINDS.contains(&k))
}

/// Whether a claim was made from a volumeClaimTemplate of StatefulSet `set`
/// (`<template>-<set>-<ordinal>`).
pub fn claim_of_set(claim: &str, set: &str) -> bool {
    claim
        .strip_suffix(|c: char| c.is_ascii_digit())
        .map(|s| s.trim_end_matches(|c: char| c.is_ascii_digit()))
        .and_then(|s| s.strip_suffix('-'))
        .and_then(|s| s.strip_suffix(set))
        .and_then(|s| s.strip_suffix('-'))
        .is_some_and(|template| !template.is_empty())
}

/// The rows of the release's other kinds, in [`OWNED_KINDS`] order: those it
/// declares, those one of them owns (a CronJob's Jobs), and the claims its
/// StatefulSets made.
pub fn release_owned<'a>(
    pane: &'a ClusterPane,
    declared: &[String],
) -> Vec<(&'static str, &'a TableRow)> {
    let sets: Vec<&str> = declared
        .iter()
        .filter_map(|o| o.strip_prefix("StatefulSet/"))
        .collect();
    let mut out = Vec::new();
    for kind in OWNED_KINDS {
        let Some(o) = pane.owned.get(kind) else {
            continue;
        };
        for row in o.rows.values() {
            let this = format!("{kind}/{}", row.name);
            let mine = declared.contains(&this)
                || row.owners.iter().any(|(of, _)| declared.contains(of))
                || (kind == "PersistentVolumeClaim"
                    && sets.iter().any(|set| claim_of_set(&row.name, set)));
            if mine {
                out.push((kind, row));
            }
        }
    }
    out
}

/// A `:KIND` view left for the rows of one of its objects.
#[derive(Debug, Clone)]
pub struct Drill {
    pub resource: Resource,
    pub owner: Option<(String, String)>,
    pub cursor: usize,
}

impl LiveView {
    pub fn multi(&self) -> bool {
        self.panes.len() > 1
    }

    /// What to watch: the tab's kinds, plus the release's other kinds under
    /// its pods, or a StatefulSet's claims under its pods.
    pub fn watched(&self) -> Vec<Kind> {
        let mut kinds = self.tab.kinds(self.multi());
        let owned = match self.tab {
            _ if self.multi() => false,
            Tab::Pods => !self.declared.is_empty(),
            Tab::Kind => self.set_drilled().is_some(),
            _ => false,
        };
        if owned {
            kinds.push(Kind::Owned);
        }
        kinds
    }

    /// The StatefulSet whose pods a drilled `:sts` view shows.
    pub fn set_drilled(&self) -> Option<&str> {
        self.owner
            .as_ref()
            .and_then(|(_, of)| of.strip_prefix("StatefulSet/"))
    }

    /// A drilled StatefulSet's claims, in the namespace of its pods.
    pub fn set_claims<'a>(&self, pane: &'a ClusterPane) -> Vec<&'a TableRow> {
        let Some(set) = self.set_drilled() else {
            return Vec::new();
        };
        let ns = self.table_rows(pane).first().map(|p| p.namespace.clone());
        pane.owned
            .get("PersistentVolumeClaim")
            .map(|o| {
                o.rows
                    .values()
                    .filter(|c| ns.as_ref().is_none_or(|ns| *ns == c.namespace))
                    .filter(|c| claim_of_set(&c.name, set))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The kind a `:KIND` view shows.
    pub fn resource(&self) -> Option<&Resource> {
        self.panes.first()?.scope.resource.as_ref()
    }

    /// Rows of a `:KIND` view: those of the owner (when drilled into), then
    /// the `/` filter on any cell; by name, or by age with `A`.
    pub fn table_rows<'a>(&self, pane: &'a ClusterPane) -> Vec<&'a TableRow> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&TableRow> = pane
            .table
            .values()
            .filter(|r| {
                self.owner
                    .as_ref()
                    .is_none_or(|(uid, _)| r.owners.iter().any(|(_, u)| u == uid))
            })
            .filter(|r| {
                needle.is_empty()
                    || r.name.to_lowercase().contains(&needle)
                    || r.cells.iter().any(|c| c.to_lowercase().contains(&needle))
            })
            .collect();
        if self.sort == SortBy::Age {
            rows.sort_by_key(|r| std::cmp::Reverse(r.created));
        }
        if self.descending {
            rows.reverse();
        }
        rows
    }

    pub fn pane(&self, cluster: &str) -> Option<&ClusterPane> {
        self.panes.iter().find(|p| p.cluster == cluster)
    }

    /// Pods of a pane, filtered and sorted as the table shows them: the
    /// pane's kept order (read row by row), once [`LiveView::sync_pods`] has
    /// told it the sort and filter.
    pub fn pod_rows<'a>(&self, pane: &'a ClusterPane) -> PodRows<'a> {
        pane.pods.rows_for(self.sort, self.descending, &self.filter)
    }

    /// Tells every pane's pods the sort and filter (cheap when unchanged).
    pub fn sync_pods(&mut self) {
        let (sort, desc) = (self.sort, self.descending);
        for p in &mut self.panes {
            p.pods.show(sort, desc, &self.filter);
        }
    }

    /// Events newest first; only those about `about` (`Kind/name`) when given.
    pub fn events<'a>(&self, pane: &'a ClusterPane, about: Option<&str>) -> Vec<&'a EventRow> {
        let mut ev: Vec<&EventRow> = pane
            .events
            .values()
            .filter(|e| about.is_none_or(|a| e.object == a))
            .collect();
        ev.sort_by_key(|e| std::cmp::Reverse(e.last));
        ev
    }

    /// How many rows the current tab lists (for the cursor).
    pub fn rows(&self) -> usize {
        let Some(p) = self.panes.first() else {
            return 0;
        };
        match self.tab {
            // Counted without sorting: this runs for every watcher update.
            Tab::Pods => self.pod_rows(p).len(),
            Tab::Deployments => p.deployments.len(),
            Tab::Hpa => p.hpas.len(),
            Tab::Events => p.events.len(),
            Tab::Kind if self.filter.is_empty() && self.owner.is_none() => p.table.len(),
            Tab::Kind => self.table_rows(p).len(),
        }
    }

    /// The selected object as (kind, namespace, name), for `y` and `d`.
    pub fn selected(&self) -> Option<(String, String, String)> {
        let p = self.panes.first()?;
        let row =
            |kind: &str, ns: &str, name: &str| (kind.to_string(), ns.to_string(), name.to_string());
        match self.tab {
            Tab::Pods => self
                .pod_rows(p)
                .get(self.cursor)
                .map(|r| row("Pod", &r.namespace, &r.name)),
            Tab::Deployments => p
                .deployments
                .values()
                .nth(self.cursor)
                .map(|r| row("Deployment", &r.namespace, &r.name)),
            Tab::Hpa => p
                .hpas
                .values()
                .nth(self.cursor)
                .map(|r| row("HorizontalPodAutoscaler", &r.namespace, &r.name)),
            Tab::Events => self
                .events(p, None)
                .get(self.cursor)
                .map(|r| row("Event", &r.namespace, &r.name)),
            Tab::Kind => {
                let kind = &self.resource()?.kind;
                self.table_rows(p)
                    .get(self.cursor)
                    .map(|r| row(kind, &r.namespace, &r.name))
            }
        }
    }
}

/// An HPA's history resampled into `width` columns covering the last `span_s`
/// seconds: each column holds the last replica count and load seen at its end
/// (`None` before the first sample).
pub fn series(
    hist: &VecDeque<Sample>,
    now_s: i64,
    width: usize,
    span_s: i64,
) -> (Vec<Option<u64>>, Vec<Option<u64>>) {
    let width = width.max(1);
    let mut replicas = Vec::with_capacity(width);
    let mut load = Vec::with_capacity(width);
    for col in 0..width {
        // Column `width - 1` ends now.
        let back = (width - 1 - col) as i64 * span_s / width as i64;
        let at = now_s - back;
        let s = hist.iter().rev().find(|s| s.at_s <= at);
        replicas.push(s.map(|s| s.replicas.max(0) as u64));
        load.push(s.and_then(|s| s.load).map(|l| l.max(0) as u64));
    }
    (replicas, load)
}

/// `3m`, `2h`, `5d` as kubectl prints ages.
pub fn age(now_s: i64, created: Option<i64>) -> String {
    let Some(c) = created else {
        return "—".into();
    };
    let s = (now_s - c).max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
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
    fn relist_drops_rows_that_did_not_come_back() {
        let mut p = ClusterPane::new(
            "c".into(),
            Scope {
                namespace: None,
                selector: None,
                resource: None,
            },
        );
        p.apply(Update::Pods(Change::Relist), 0);
        p.apply(
            Update::Pods(Change::Upsert {
                row: pod("a", "Running"),
            }),
            0,
        );
        p.apply(
            Update::Pods(Change::Upsert {
                row: pod("b", "Running"),
            }),
            0,
        );
        p.apply(Update::Pods(Change::Listed), 0);
        assert!(p.listed(Kind::Pods));
        // After a 410 the watcher relists: b is gone meanwhile.
        p.apply(Update::Pods(Change::Relist), 1);
        p.apply(
            Update::Pods(Change::Upsert {
                row: pod("a", "Running"),
            }),
            1,
        );
        assert_eq!(p.pods.len(), 2, "old rows stay until the list completes");
        p.apply(Update::Pods(Change::Listed), 1);
        assert_eq!(p.pods.values().map(|p| &*p.name).collect::<Vec<_>>(), ["a"]);
        p.apply(
            Update::Pods(Change::Delete {
                namespace: "n".into(),
                name: "a".into(),
            }),
            2,
        );
        assert!(p.pods.is_empty());
    }

    #[test]
    fn connection_state_words() {
        let mut p = ClusterPane::new(
            "c".into(),
            Scope {
                namespace: None,
                selector: None,
                resource: None,
            },
        );
        assert_eq!(p.connection(), "connecting…");
        p.apply(
            Update::Conn {
                kind: Kind::Pods,
                conn: Conn::Live,
            },
            0,
        );
        assert_eq!(p.connection(), "live");
        p.apply(
            Update::Conn {
                kind: Kind::Events,
                conn: Conn::Retrying {
                    in_secs: 4,
                    error: "connection refused".into(),
                },
            },
            0,
        );
        assert_eq!(p.connection(), "retrying in 4s: connection refused");
    }

    #[test]
    fn series_carries_the_last_sample_forward() {
        let hist: VecDeque<Sample> = [
            Sample {
                at_s: 100,
                replicas: 2,
                load: Some(40),
            },
            Sample {
                at_s: 110,
                replicas: 5,
                load: None,
            },
        ]
        .into_iter()
        .collect();
        // 4 columns over 20 s ending at 115: ends at 100, 105, 110, 115.
        let (r, l) = series(&hist, 115, 4, 20);
        assert_eq!(r, [Some(2), Some(2), Some(5), Some(5)]);
        assert_eq!(l, [Some(40), Some(40), None, None]);
        let (r, _) = series(&hist, 99, 2, 10);
        assert_eq!(r, [None, None]);
    }

    #[test]
    fn ages_like_kubectl() {
        assert_eq!(age(100, Some(40)), "60s");
        assert_eq!(age(1000, Some(0)), "16m");
        assert_eq!(age(100_000, Some(0)), "27h");
        assert_eq!(age(1_000_000, Some(0)), "11d");
    }
}
