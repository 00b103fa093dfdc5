//! Every release's sync and health, kept in the background for the home screen.
//!
//! Sync is the drift (server-side dry run against live), asked for every release
//! at start, after each reload (a source file changed), after an apply, when a
//! watcher sees one of its objects change (a Deployment's or HPA's spec, a new
//! version of a ConfigMap, Secret, Service or Ingress, watched by metadata only)
//! and in a three-minute round; one drift per release at a time (a trigger
//! meanwhile asks again once it is in). Health is computed from live rows that
//! one set of watchers per cluster keeps — the same rows and projections the
//! live view uses.

use tierui_backends::kube::watch::{Change, Scope, Update};
use tierui_backends::release_state::{
    self, Health, LastChange, LiveSummary, Sync, Workloads, sync_of,
};
use tierui_core::workspace::model::Release;

use super::live::ClusterPane;
use super::state::{LiveEntry, State};
use super::update::{Effect, Outcome};

/// A release by what it is, not by its place in the list (a reload may move it).
pub type ReleaseKey = (String, Option<String>, Option<String>);

pub fn key_of(r: &Release) -> ReleaseKey {
    (r.service.clone(), r.environment.clone(), r.cluster.clone())
}

/// What is known of one release's sync.
#[derive(Debug, Clone, Default)]
pub struct Tracked {
    /// None until the first drift is in.
    pub sync: Option<Sync>,
    pub workloads: Option<Workloads>,
    pub last_change: Option<LastChange>,
    pub(crate) in_flight: bool,
    pub(crate) again: bool,
}

/// The sync, health and live summary of a release as shown now.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// None: the first answer is on its way.
    pub sync: Option<Sync>,
    pub health: Option<Health>,
    pub live: Option<LiveSummary>,
    /// HPA replica history for the sparkline (oldest first).
    pub history: Vec<i32>,
    pub last_change: Option<LastChange>,
}

/// The clusters the releases run on, each watched once across all namespaces
/// (namespace ""): a watcher per release namespace would be hundreds of streams
/// in a large workspace.
fn targets(s: &State) -> Vec<(String, String)> {
    let mut t: Vec<(String, String)> =
        s.ws.releases
            .iter()
            .filter_map(|r| Some((r.cluster.clone()?, String::new())))
            .collect();
    t.sort();
    t.dedup();
    t
}

/// Whether the cluster is known not to exist (AWS or the sandbox said so).
pub fn cluster_absent(s: &State, cluster: &str) -> bool {
    matches!(s.live.get(cluster), Some(LiveEntry::Ready(l)) if l.absent())
}

/// Watches for every (cluster, namespace) of the workspace's releases, and a
/// drift for every release. Called at start and after each reload.
pub fn start(s: &mut State) -> Vec<Effect> {
    let targets = targets(s);
    s.monitor.retain(|k, _| targets.contains(k));
    for (c, ns) in &targets {
        s.monitor.entry((c.clone(), ns.clone())).or_insert_with(|| {
            ClusterPane::new(
                c.clone(),
                Scope {
                    namespace: (!ns.is_empty()).then(|| ns.clone()),
                    selector: None,
                    resource: None,
                },
            )
        });
    }
    let keys: Vec<ReleaseKey> = s.ws.releases.iter().map(key_of).collect();
    s.states.retain(|k, _| keys.contains(k));
    let mut effects = vec![Effect::Monitor(targets)];
    effects.extend(resync(s, (0..s.ws.releases.len()).collect()));
    effects
}

/// Asks for the drift of these releases (those already asked are asked again
/// when their answer is in).
pub fn resync(s: &mut State, releases: Vec<usize>) -> Vec<Effect> {
    let mut ask = Vec::new();
    for i in releases {
        let Some(r) = s.ws.releases.get(i) else {
            continue;
        };
        let t = s.states.entry(key_of(r)).or_default();
        if t.in_flight {
            t.again = true;
        } else {
            t.in_flight = true;
            ask.push(i);
        }
    }
    if ask.is_empty() {
        Vec::new()
    } else {
        vec![Effect::SyncReleases(ask)]
    }
}

/// How long a full round of the periodic refresh takes: every release whose
/// objects the watchers do not all see is asked again within it (Argo CD
/// refreshes every 3 minutes), a few at a time so a large workspace has no burst.
pub const RESYNC_ROUND_SECS: u64 = 180;
/// How often the periodic refresh asks the next few.
pub const RESYNC_STEP_SECS: u64 = 3;
/// Releases whose every object the watchers see are asked only every this
/// many rounds (30 minutes): a safety net, not the way changes are found.
pub const WATCHED_EVERY_ROUNDS: usize = 10;
/// Kinds whose changes the monitor's watchers see (Deployments and HPAs by
/// generation, the rest by version; Namespaces rarely change and are left to
/// the safety net).
const WATCHED: &[&str] = &[
    "Deployment",
    "HorizontalPodAutoscaler",
    "ConfigMap",
    "Secret",
    "Service",
    "Ingress",
    "Namespace",
];

/// Whether the watchers see every change of this release's objects (its sync
/// is known and not Unknown, and all its kinds are watched).
fn watched(s: &State, r: &Release) -> bool {
    s.states.get(&key_of(r)).is_some_and(|t| {
        !matches!(t.sync, None | Some(Sync::Unknown { .. }))
            && t.workloads.as_ref().is_some_and(|w| {
                w.objects
                    .iter()
                    .all(|o| WATCHED.contains(&o.split_once('/').map_or("", |(k, _)| k)))
            })
    })
}

/// The periodic refresh's next few releases (spread over a round), for what
/// the watchers do not see (other kinds, an unreachable cluster coming back).
pub fn resync_next(s: &mut State) -> Outcome {
    let n = s.ws.releases.len();
    let steps = (RESYNC_ROUND_SECS / RESYNC_STEP_SECS) as usize;
    if n == 0 || steps == 0 {
        return Outcome::default();
    }
    // Release i is due at step i·steps/n of the round: spread evenly.
    let step = s.resync_cursor % steps;
    let round = s.resync_cursor / steps;
    s.resync_cursor = (s.resync_cursor + 1) % (steps * WATCHED_EVERY_ROUNDS);
    // The drifts at start were the first full sweep: the safety net comes last.
    let safety_net = round == WATCHED_EVERY_ROUNDS - 1;
    let due: Vec<usize> = (0..n)
        .filter(|i| i * steps / n == step)
        .filter(|i| safety_net || !watched(s, &s.ws.releases[*i]))
        .collect();
    Outcome {
        effects: resync(s, due),
        redraw: false,
    }
}

/// A drift came back (from the monitor, or a diff the operator opened).
pub fn drift_in(
    s: &mut State,
    key: &ReleaseKey,
    result: Result<&tierui_backends::release::Drift, &str>,
    from_monitor: bool,
) -> Vec<Effect> {
    let namespace =
        s.ws.releases
            .iter()
            .find(|r| &key_of(r) == key)
            .map(|r| r.namespace.clone())
            .unwrap_or_default();
    let t = s.states.entry(key.clone()).or_default();
    match result {
        Ok(d) => {
            t.sync = Some(sync_of(&d.report, &d.refused));
            let keys: Vec<_> = d.report.objects.iter().map(|o| o.key.clone()).collect();
            t.workloads = Some(Workloads::of(&keys, &namespace));
            t.last_change = d.last_change.clone();
        }
        Err(reason) => {
            t.sync = Some(Sync::Unknown {
                reason: reason.to_string(),
            })
        }
    }
    if !from_monitor {
        return Vec::new();
    }
    t.in_flight = false;
    if std::mem::take(&mut t.again)
        && let Some(i) = s.ws.releases.iter().position(|r| &key_of(r) == key)
    {
        return resync(s, vec![i]);
    }
    Vec::new()
}

/// A monitor watcher's update: rows kept; a change to one of a release's
/// objects asks for that release's drift again.
pub fn update(s: &mut State, cluster: &str, namespace: &str, u: Update) -> Outcome {
    let now = s.now_s;
    let pane_key = (cluster.to_string(), namespace.to_string());
    // The first list is what the drifts at start already cover.
    let changed = s
        .monitor
        .get(&pane_key)
        .filter(|p| match &u {
            Update::Deployments(_) => p.listed(tierui_backends::kube::watch::Kind::Deployments),
            Update::Hpas(_) => p.listed(tierui_backends::kube::watch::Kind::Hpas),
            Update::Objects { kind, .. } => p.listed_objects(kind),
            _ => false,
        })
        .and_then(|p| spec_changed(p, &u));
    let Some(pane) = s.monitor.get_mut(&pane_key) else {
        return Outcome::default();
    };
    pane.failed = None;
    pane.apply(u, now);
    let mut effects = Vec::new();
    if let Some((kind, ns, name)) = changed {
        let hit: Vec<usize> =
            s.ws.releases
                .iter()
                .enumerate()
                .filter(|(_, r)| r.cluster.as_deref() == Some(cluster) && r.namespace == ns)
                .filter(|(_, r)| {
                    s.states
                        .get(&key_of(r))
                        .and_then(|t| t.workloads.as_ref())
                        .is_none_or(|w| match kind {
                            "Deployment" => w.deployments.contains(&name),
                            "HorizontalPodAutoscaler" => w.hpas.contains(&name),
                            _ => w.objects.contains(&name),
                        })
                })
                .map(|(i, _)| i)
                .collect();
        effects = resync(s, hit);
    }
    Outcome {
        effects,
        redraw: matches!(
            s.screen,
            super::state::Screen::Home | super::state::Screen::Releases(_)
        ),
    }
}

/// The kind and name of a Deployment or HPA whose spec (image, replicas, HPA
/// bounds) this update changes, or that it creates or deletes.
fn spec_changed(p: &ClusterPane, u: &Update) -> Option<(&'static str, String, String)> {
    match u {
        Update::Deployments(Change::Upsert { row }) => {
            let old = p
                .deployments
                .get(&(row.namespace.clone(), row.name.clone()));
            (old.is_none_or(|o| o.generation != row.generation))
                .then(|| ("Deployment", row.namespace.clone(), row.name.clone()))
        }
        Update::Deployments(Change::Delete { namespace, name }) => {
            Some(("Deployment", namespace.clone(), name.clone()))
        }
        Update::Hpas(Change::Upsert { row }) => {
            let old = p.hpas.get(&(row.namespace.clone(), row.name.clone()));
            (old.is_none_or(|o| o.generation != row.generation)).then(|| {
                (
                    "HorizontalPodAutoscaler",
                    row.namespace.clone(),
                    row.name.clone(),
                )
            })
        }
        Update::Hpas(Change::Delete { namespace, name }) => {
            Some(("HorizontalPodAutoscaler", namespace.clone(), name.clone()))
        }
        // Another object of a release created, changed (a new version) or gone.
        Update::Objects {
            kind,
            change: Change::Upsert { row },
        } => {
            let old = p
                .objects
                .get(kind)
                .and_then(|m| m.get(&(row.namespace.clone(), row.name.clone())));
            (old.is_none_or(|o| o.version != row.version))
                .then(|| ("object", row.namespace.clone(), row.name.clone()))
        }
        Update::Objects {
            change: Change::Delete { namespace, name },
            ..
        } => Some(("object", namespace.clone(), name.clone())),
        _ => None,
    }
}

/// A monitor watcher could not reach its cluster.
pub fn failed(s: &mut State, cluster: &str, namespace: &str, error: String) -> Outcome {
    if let Some(p) = s
        .monitor
        .get_mut(&(cluster.to_string(), namespace.to_string()))
    {
        p.failed = Some(error);
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

impl State {
    /// What the home screen shows of release `i` now.
    pub fn shown(&self, i: usize) -> Shown {
        let none = Shown {
            sync: None,
            health: None,
            live: None,
            history: Vec::new(),
            last_change: None,
        };
        let Some(r) = self.ws.releases.get(i) else {
            return none;
        };
        let Some(cluster) = r.cluster.as_deref() else {
            let reason = "no cluster (set it in tierui.yaml)".to_string();
            return Shown {
                sync: Some(Sync::Unknown {
                    reason: reason.clone(),
                }),
                health: Some(Health::Unknown { reason }),
                ..none
            };
        };
        if cluster_absent(self, cluster) {
            return Shown {
                sync: Some(Sync::Missing),
                health: Some(Health::Missing),
                ..none
            };
        }
        let t = self.states.get(&key_of(r));
        let sync = t.and_then(|t| t.sync.clone());
        let last_change = t.and_then(|t| t.last_change.clone());
        // One watcher per cluster, across namespaces.
        let pane = self.monitor.get(&(cluster.to_string(), String::new()));
        let (health, live, history) = match (&sync, t.and_then(|t| t.workloads.as_ref()), pane) {
            (Some(Sync::Unknown { reason }), _, _) => (
                Some(Health::Unknown {
                    reason: reason.clone(),
                }),
                None,
                Vec::new(),
            ),
            (_, _, Some(p)) if p.failed.is_some() => (
                Some(Health::Unknown {
                    reason: format!(
                        "cluster unreachable: {}",
                        p.failed.clone().unwrap_or_default()
                    ),
                }),
                None,
                Vec::new(),
            ),
            (_, Some(w), Some(p))
                if p.listed(tierui_backends::kube::watch::Kind::Deployments)
                    && p.listed(tierui_backends::kube::watch::Kind::Pods) =>
            {
                let (h, live) = release_state::health_of(
                    w,
                    &p.deployments.values().collect::<Vec<_>>(),
                    &p.pods.values().collect::<Vec<_>>(),
                    &p.hpas.values().collect::<Vec<_>>(),
                );
                let history = w
                    .hpas
                    .first()
                    .and_then(|h| p.history.get(&(w.namespace.clone(), h.clone())))
                    .map(|v| v.iter().map(|x| x.replicas).collect())
                    .unwrap_or_default();
                (Some(h), Some(live), history)
            }
            _ => (None, None, Vec::new()),
        };
        Shown {
            sync,
            health,
            live,
            history,
            last_change,
        }
    }
}

/// Glyphs of a release for a navigator cell: `✓ ♥`, `~2 ◐`, `… …` while asked.
pub fn glyphs(sh: &Shown) -> (String, String) {
    (
        sh.sync.as_ref().map_or("…".into(), Sync::glyph),
        sh.health.as_ref().map_or("…", Health::glyph).to_string(),
    )
}

/// The sparkline of the last replica counts (at most `width` of them).
pub fn sparkline(values: &[i32], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let tail = &values[values.len().saturating_sub(width)..];
    // One bar per change, not per sample: a flat line stays short.
    let mut steps: Vec<i32> = Vec::new();
    for v in tail {
        if steps.last() != Some(v) {
            steps.push(*v);
        }
    }
    let (lo, hi) = (
        steps.iter().copied().min().unwrap_or(0),
        steps.iter().copied().max().unwrap_or(0),
    );
    steps
        .iter()
        .map(|v| {
            if hi == lo {
                BARS[3]
            } else {
                BARS[((v - lo) * 7 / (hi - lo)) as usize]
            }
        })
        .collect()
}

/// A `/` filter: `sync:out`, `health:degraded`, `cluster:day`, `env:prod`,
/// `mgr:kubectl` terms and free text (every term must match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub sync: Option<String>,
    pub health: Option<String>,
    pub cluster: Option<String>,
    pub env: Option<String>,
    pub manager: Option<String>,
    pub text: Vec<String>,
}

impl Filter {
    pub fn parse(s: &str) -> Filter {
        let mut f = Filter::default();
        for word in s.split_whitespace() {
            let lower = word.to_lowercase();
            match lower.split_once(':') {
                Some(("sync", v)) => f.sync = Some(v.to_string()),
                Some(("health", v)) => f.health = Some(v.to_string()),
                Some(("cluster", v)) => f.cluster = Some(v.to_string()),
                Some(("env", v)) => f.env = Some(v.to_string()),
                Some(("mgr" | "manager", v)) => f.manager = Some(v.to_string()),
                _ => f.text.push(lower),
            }
        }
        f
    }

    /// Whether a state keyword (`out`, `degraded`) matches what was typed:
    /// a prefix, plus Argo CD's words (`outofsync`, `synced`).
    fn state_matches(typed: &str, key: &str, word: &str) -> bool {
        !typed.is_empty() && (key.starts_with(typed) || word.to_lowercase().starts_with(typed))
    }

    pub fn sync_ok(&self, sync: Option<&Sync>) -> bool {
        match (&self.sync, sync) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(t), Some(s)) => Self::state_matches(t, s.key(), s.word()),
        }
    }

    pub fn health_ok(&self, health: Option<&Health>) -> bool {
        match (&self.health, health) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(t), Some(h)) => Self::state_matches(t, h.key(), h.word()),
        }
    }

    /// Free text and the field terms against a row's fields.
    pub fn fields_ok(&self, cluster: &str, env: &str, manager: &str, fields: &[&str]) -> bool {
        let has = |want: &Option<String>, v: &str| {
            want.as_ref()
                .is_none_or(|w| v.to_lowercase().contains(w.as_str()))
        };
        has(&self.cluster, cluster)
            && has(&self.env, env)
            && has(&self.manager, manager)
            && self
                .text
                .iter()
                .all(|t| fields.iter().any(|f| f.to_lowercase().contains(t.as_str())))
    }

    /// Terms that only releases have (a cluster stack has no sync or health).
    pub fn release_only(&self) -> bool {
        self.sync.is_some() || self.health.is_some() || self.env.is_some() || self.manager.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_terms() {
        let f = Filter::parse("sync:out health:Degraded cluster:day web");
        assert_eq!(f.sync.as_deref(), Some("out"));
        assert_eq!(f.health.as_deref(), Some("degraded"));
        assert_eq!(f.text, ["web"]);
        let out = Sync::OutOfSync { objects: vec![] };
        assert!(f.sync_ok(Some(&out)));
        assert!(!f.sync_ok(Some(&Sync::InSync)));
        assert!(!f.sync_ok(None), "not known yet is not out of sync");
        assert!(Filter::parse("sync:outofsync").sync_ok(Some(&out)));
        assert!(Filter::parse("sync:synced").sync_ok(Some(&Sync::InSync)));
        assert!(Filter::parse("sync:in").sync_ok(Some(&Sync::InSync)));
        assert!(f.health_ok(Some(&Health::Degraded { reason: "x".into() })));
        assert!(!f.health_ok(Some(&Health::Healthy)));
        assert!(f.fields_ok("day", "production", "pulumi", &["day-web"]));
        assert!(!f.fields_ok("dusk", "production", "pulumi", &["day-web"]));
        assert!(Filter::parse("").fields_ok("a", "b", "c", &[]));
    }

    #[test]
    fn sparkline_steps() {
        assert_eq!(sparkline(&[3, 3, 3, 4, 4, 5, 7], 60), "▁▂▄█");
        assert_eq!(sparkline(&[2, 2], 60), "▄");
        assert_eq!(sparkline(&[], 60), "");
    }
}
