//! `update` for the live views: opening them (release, cluster, every cluster),
//! switching tabs (which changes what is watched), sorting, and the watchers'
//! updates coming back as messages.

use super::keymap::Action;
use super::live::{ClusterPane, LiveView, SortBy, Tab, TextView};
use super::state::{Level, Screen, Selection, State};
use super::update::{Effect, Outcome};
use tierui_backends::kube::watch::{Change, Scope, Update};

fn with(effects: Vec<Effect>) -> Outcome {
    Outcome {
        effects,
        redraw: true,
    }
}

fn message(s: &mut State, level: Level, text: impl Into<String>) -> Outcome {
    s.message = Some((level, text.into()));
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

/// Namespaces worth offering to `:ns`.
pub fn namespaces(s: &State) -> Vec<String> {
    let mut out: Vec<String> = vec!["all".into()];
    out.extend(s.ws.releases.iter().map(|r| r.namespace.clone()));
    if let Screen::Live(v) = &s.screen {
        for p in &v.panes {
            out.extend(p.pods.namespaces().map(str::to_string));
            out.extend(p.events.keys().map(|k| k.0.clone()));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn open(
    s: &mut State,
    title: String,
    release: Option<usize>,
    panes: Vec<ClusterPane>,
    tab: Tab,
) -> Outcome {
    let id = s.next_view_id();
    let targets: Vec<(String, Scope)> = panes
        .iter()
        .map(|p| (p.cluster.clone(), p.scope.clone()))
        .collect();
    // The release's other kinds, listed under its pods.
    let declared = release
        .and_then(|i| s.ws.releases.get(i))
        .map(|r| {
            r.summary
                .objects
                .iter()
                .filter(|o| super::live::is_owned_kind(o))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let view = LiveView {
        id,
        title,
        release,
        declared,
        panes,
        tab,
        sort: SortBy::Name,
        descending: false,
        filter: String::new(),
        cursor: 0,
        text: None,
        now_s: s.now_s,
        owner: None,
        back: Vec::new(),
    };
    let kinds = view.watched();
    // A live view replaces another one rather than stacking on it.
    let mut effects = Vec::new();
    if let Screen::Live(old) = &s.screen {
        effects.push(Effect::StopWatches { view: old.id });
        s.pop();
    }
    s.push(Screen::Live(Box::new(view)));
    // The cluster's kinds, for `:KIND` and its completion.
    if let Some((cluster, _)) = targets.first()
        && !s.kinds.contains_key(cluster)
    {
        effects.push(Effect::Discover {
            cluster: cluster.clone(),
        });
    }
    effects.push(Effect::StartWatches {
        view: id,
        targets,
        kinds,
    });
    with(effects)
}

/// Words that name the kinds the current cluster serves (plural and short names).
pub fn kind_words(s: &State) -> Vec<String> {
    let Some(cluster) = kind_target(s).map(|t| t.0) else {
        return Vec::new();
    };
    let mut out: Vec<String> = s
        .kinds
        .get(&cluster)
        .map(|all| {
            all.iter()
                .flat_map(|r| {
                    std::iter::once(r.plural.clone()).chain(r.short_names.iter().cloned())
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

/// Where a `:KIND` opens: the live view's cluster and namespace, else the
/// selected release's or cluster's. (cluster, namespace, release)
fn kind_target(s: &State) -> Option<(String, Option<String>, Option<usize>)> {
    if let Screen::Live(v) = &s.screen
        && !v.multi()
    {
        let p = v.panes.first()?;
        return Some((p.cluster.clone(), p.scope.namespace.clone(), v.release));
    }
    match s.selection {
        Some(Selection::Release(i)) => {
            let r = s.ws.releases.get(i)?;
            Some((r.cluster.clone()?, Some(r.namespace.clone()), Some(i)))
        }
        Some(Selection::Cluster(i)) => Some((s.ws.clusters.get(i)?.name.clone(), None, None)),
        _ => None,
    }
}

/// `:KIND`: a live table of any kind the cluster serves, in the current scope.
pub fn open_kind(s: &mut State, word: &str) -> Outcome {
    let Some((cluster, namespace, release)) = kind_target(s) else {
        return message(
            s,
            Level::Info,
            format!(":{word} — select a release or a cluster first (or open a live view)"),
        );
    };
    let Some(all) = s.kinds.get(&cluster) else {
        s.pending_kind = Some((cluster.clone(), word.to_string()));
        s.message = Some((Level::Info, format!("reading the kinds {cluster} serves…")));
        return with(vec![Effect::Discover { cluster }]);
    };
    let res = match tierui_backends::kube::table::resolve(all, word) {
        Ok(r) => r.clone(),
        Err(e) => return message(s, Level::Error, format!("{cluster}: {e}")),
    };
    let where_ = match namespace.as_deref().filter(|_| res.namespaced) {
        Some(ns) => format!("namespace {ns}"),
        None => "all namespaces".into(),
    };
    let title = format!("{} on {cluster} · {where_}", res.qualified());
    let scope = Scope {
        namespace: namespace.filter(|_| res.namespaced),
        selector: None,
        resource: Some(res),
    };
    open(
        s,
        title,
        release,
        vec![ClusterPane::new(cluster, scope)],
        Tab::Kind,
    )
}

/// A cluster's discovery arrived: kept for completion, and a waiting `:KIND` opens.
pub fn discovered(
    s: &mut State,
    cluster: String,
    result: Result<Vec<tierui_backends::kube::table::Resource>, String>,
) -> Outcome {
    let waiting = s
        .pending_kind
        .as_ref()
        .filter(|(c, _)| *c == cluster)
        .map(|(_, w)| w.clone());
    match result {
        Ok(all) => {
            s.kinds.insert(cluster, all);
            if let Some(word) = waiting {
                s.pending_kind = None;
                s.message = None;
                return open_kind(s, &word);
            }
            Outcome::default()
        }
        Err(e) => {
            if waiting.is_some() {
                s.pending_kind = None;
                return message(s, Level::Error, format!("{cluster}: {e}"));
            }
            Outcome::default()
        }
    }
}

/// What an object of `kind` owns, as the word of the kind to show.
fn owned_kind(kind: &str) -> Option<&'static str> {
    match kind {
        "CronJob" => Some("jobs"),
        "Job" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => Some("pods"),
        "Deployment" => Some("replicasets"),
        _ => None,
    }
}

/// Enter on a `:KIND` row: the rows it owns (CronJob → Jobs → Pods); Esc comes back.
fn drill(s: &mut State) -> Outcome {
    let Screen::Live(v) = &s.screen else {
        return Outcome::default();
    };
    let Some(pane) = v.panes.first() else {
        return Outcome::default();
    };
    let Some(res) = pane.scope.resource.clone() else {
        return Outcome::default();
    };
    let Some(row) = v.table_rows(pane).get(v.cursor).map(|r| (*r).clone()) else {
        return Outcome::default();
    };
    let cluster = pane.cluster.clone();
    if res.kind == "Pod" {
        return super::update_logs::open_from_live(s);
    }
    let Some(word) = owned_kind(&res.kind) else {
        return message(
            s,
            Level::Info,
            format!(
                "a {} owns nothing to list; y shows its YAML, d describes it",
                res.kind
            ),
        );
    };
    let Some(child) = s
        .kinds
        .get(&cluster)
        .and_then(|all| tierui_backends::kube::table::resolve(all, word).ok())
        .cloned()
    else {
        return message(s, Level::Warn, format!("{cluster} does not serve {word}"));
    };
    let Screen::Live(v) = &mut s.screen else {
        return Outcome::default();
    };
    v.back.push(super::live::Drill {
        resource: res.clone(),
        owner: v.owner.clone(),
        cursor: v.cursor,
    });
    v.owner = Some((row.uid.clone(), format!("{}/{}", res.kind, row.name)));
    switch_resource(v, child, 0)
}

/// Points a `:KIND` view at another kind (rows cleared, watchers restarted).
fn switch_resource(
    v: &mut LiveView,
    res: tierui_backends::kube::table::Resource,
    cursor: usize,
) -> Outcome {
    let cluster = v
        .panes
        .first()
        .map(|p| p.cluster.clone())
        .unwrap_or_default();
    let ns = v.panes.first().and_then(|p| p.scope.namespace.clone());
    let where_ = match ns.as_deref() {
        Some(ns) => format!("namespace {ns}"),
        None => "all namespaces".into(),
    };
    v.title = match &v.owner {
        Some((_, of)) => format!("{} of {of} on {cluster} · {where_}", res.qualified()),
        None => format!("{} on {cluster} · {where_}", res.qualified()),
    };
    let scope = Scope {
        namespace: ns,
        selector: None,
        resource: Some(res),
    };
    v.panes = vec![ClusterPane::new(cluster, scope)];
    v.cursor = cursor;
    v.filter.clear();
    with(restart(v))
}

/// The live view of a release (its namespace and pod selector on its cluster).
pub fn open_release(s: &mut State, i: usize, tab: Tab) -> Outcome {
    let Some(r) = s.ws.releases.get(i) else {
        return Outcome::default();
    };
    let Some(cluster) = r.cluster.clone() else {
        return message(
            s,
            Level::Warn,
            format!("{} has no cluster (set it in tierui.yaml)", r.title()),
        );
    };
    let scope = Scope {
        namespace: Some(r.namespace.clone()),
        selector: r.summary.selector.clone(),
        resource: None,
    };
    let title = format!("{} on {cluster}", r.title());
    open(
        s,
        title,
        Some(i),
        vec![ClusterPane::new(cluster, scope)],
        tab,
    )
}

/// Every namespace of one cluster, like `k9s` on a context.
pub fn open_cluster(s: &mut State, cluster: &str, tab: Tab) -> Outcome {
    if s.ws.cluster(cluster).is_none() {
        let names: Vec<&str> = s.ws.clusters.iter().map(|c| c.name.as_str()).collect();
        return message(
            s,
            Level::Error,
            format!("no cluster {cluster} (clusters: {})", names.join(", ")),
        );
    }
    open(
        s,
        format!("cluster {cluster}"),
        None,
        vec![ClusterPane::new(
            cluster.to_string(),
            Scope {
                namespace: None,
                selector: None,
                resource: None,
            },
        )],
        tab,
    )
}

/// A service's pods in every cluster of the workspace, side by side.
pub fn open_all(s: &mut State, i: usize) -> Outcome {
    let Some(r) = s.ws.releases.get(i).cloned() else {
        return Outcome::default();
    };
    let panes =
        s.ws.clusters
            .iter()
            .map(|c| {
                // The service's release on that cluster, or its namespace elsewhere.
                let on = s.ws.releases.iter().find(|x| {
                    x.service == r.service && x.cluster.as_deref() == Some(c.name.as_str())
                });
                let ns = on.map_or(r.namespace.clone(), |x| x.namespace.clone());
                let selector = on
                    .and_then(|x| x.summary.selector.clone())
                    .or(r.summary.selector.clone());
                ClusterPane::new(
                    c.name.clone(),
                    Scope {
                        namespace: Some(ns),
                        selector,
                        resource: None,
                    },
                )
            })
            .collect();
    open(
        s,
        format!("{} in every cluster", r.service),
        Some(i),
        panes,
        Tab::Pods,
    )
}

/// `l` / `L` and the `:pods` family from the home screen.
pub fn home_open(s: &mut State, tab: Tab, all: bool) -> Outcome {
    match s.selection {
        Some(Selection::Release(i)) if all => open_all(s, i),
        Some(Selection::Release(i)) => open_release(s, i, tab),
        Some(Selection::Cluster(i)) if !all => {
            let name = s.ws.clusters[i].name.clone();
            open_cluster(s, &name, tab)
        }
        _ => message(s, Level::Info, "select a release (or a cluster) first"),
    }
}

fn restart(v: &LiveView) -> Vec<Effect> {
    let targets = v
        .panes
        .iter()
        .map(|p| (p.cluster.clone(), p.scope.clone()))
        .collect();
    vec![
        Effect::StopWatches { view: v.id },
        Effect::StartWatches {
            view: v.id,
            targets,
            kinds: v.watched(),
        },
    ]
}

/// Switches tab; the watchers follow what is on screen.
pub fn set_tab(s: &mut State, tab: Tab) -> Outcome {
    let Screen::Live(v) = &mut s.screen else {
        return home_open(s, tab, false);
    };
    if v.tab == tab || v.multi() {
        return Outcome::default();
    }
    v.tab = tab;
    v.cursor = 0;
    with(restart(v))
}

/// `:ns` on the live view.
pub fn set_namespace(s: &mut State, ns: &str) -> Outcome {
    let Screen::Live(v) = &mut s.screen else {
        return message(
            s,
            Level::Info,
            ":ns applies to a live view (open one with l or :pods)",
        );
    };
    for p in &mut v.panes {
        p.scope.namespace = (ns != "all").then(|| ns.to_string());
        // Rows of the old namespace go; the watchers relist.
        *p = ClusterPane::new(p.cluster.clone(), p.scope.clone());
    }
    v.cursor = 0;
    v.title = format!(
        "{} · namespace {ns}",
        v.title.split(" · namespace").next().unwrap_or_default()
    );
    with(restart(v))
}

pub fn act(s: &mut State, action: Action) -> Outcome {
    let Screen::Live(v) = &mut s.screen else {
        return Outcome::default();
    };
    if let Some(t) = &mut v.text {
        match action {
            Action::Down => t.scroll = t.scroll.saturating_add(1),
            Action::Up => t.scroll = t.scroll.saturating_sub(1),
            Action::PageDown => t.scroll = t.scroll.saturating_add(20),
            Action::PageUp => t.scroll = t.scroll.saturating_sub(20),
            Action::Top => t.scroll = 0,
            Action::Back | Action::Quit | Action::Yaml | Action::Describe => v.text = None,
            _ => return Outcome::default(),
        }
        return Outcome {
            effects: Vec::new(),
            redraw: true,
        };
    }
    let sort = |v: &mut LiveView, by: SortBy| {
        if v.sort == by {
            v.descending = !v.descending;
        } else {
            v.sort = by;
            v.descending = matches!(by, SortBy::Restarts | SortBy::Cpu | SortBy::Memory);
        }
    };
    match action {
        Action::Up => v.cursor = v.cursor.saturating_sub(1),
        Action::Down => v.cursor = (v.cursor + 1).min(v.rows().saturating_sub(1)),
        Action::PageUp => v.cursor = v.cursor.saturating_sub(20),
        Action::PageDown => v.cursor = (v.cursor + 20).min(v.rows().saturating_sub(1)),
        Action::Top => v.cursor = 0,
        Action::Bottom => v.cursor = v.rows().saturating_sub(1),
        Action::TabPods => return set_tab(s, Tab::Pods),
        Action::TabDeploy => return set_tab(s, Tab::Deployments),
        Action::TabHpa => return set_tab(s, Tab::Hpa),
        Action::TabEvents => return set_tab(s, Tab::Events),
        Action::SortName => sort(v, SortBy::Name),
        Action::SortReady => sort(v, SortBy::Ready),
        Action::SortStatus => sort(v, SortBy::Status),
        Action::SortRestarts => sort(v, SortBy::Restarts),
        Action::SortAge => sort(v, SortBy::Age),
        Action::SortNode => sort(v, SortBy::Node),
        Action::SortCpu => sort(v, SortBy::Cpu),
        Action::SortMemory => sort(v, SortBy::Memory),
        Action::Yaml | Action::Describe => {
            let Some((kind, namespace, name)) = v.selected() else {
                return Outcome::default();
            };
            let Some(cluster) = v.panes.first().map(|p| p.cluster.clone()) else {
                return Outcome::default();
            };
            let describe = action == Action::Describe;
            let api_version = match v.tab {
                Tab::Kind => v.resource().map(|r| r.api_version()),
                _ => None,
            };
            v.text = Some(TextView {
                title: format!("{kind} {namespace}/{name}"),
                lines: vec!["loading…".into()],
                scroll: 0,
            });
            return with(vec![Effect::ShowObject {
                view: v.id,
                cluster,
                api_version,
                kind,
                namespace,
                name,
                describe,
            }]);
        }
        Action::Filter => {
            let text = v.filter.clone();
            s.input = Some(super::state::Input::Filter { text });
        }
        Action::Back | Action::Quit => {
            if !v.filter.is_empty() {
                v.filter.clear();
                return Outcome {
                    effects: Vec::new(),
                    redraw: true,
                };
            }
            if let Some(d) = v.back.pop() {
                v.owner = d.owner;
                return switch_resource(v, d.resource, d.cursor);
            }
            let id = v.id;
            s.pop();
            return with(vec![Effect::StopWatches { view: id }]);
        }
        Action::Apply => {
            if let Some(r) = v.release {
                return super::update_edit::ask_apply(s, r);
            }
        }
        Action::Logs => return super::update_logs::open_from_live(s),
        Action::Open if v.tab == Tab::Kind => return drill(s),
        Action::Open => {
            if v.selected().is_some_and(|(kind, _, _)| kind == "Pod") {
                return super::update_logs::open_from_live(s);
            }
            return Outcome::default();
        }
        Action::Help => s.overlay = Some(super::state::Overlay::Help { scroll: 0 }),
        Action::Command => {
            s.input = Some(super::state::Input::Command {
                text: String::new(),
                completion: None,
            })
        }
        _ => return Outcome::default(),
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

/// The live view with this id, on top or under another screen (its log
/// view): it stays current while covered.
fn find(s: &mut State, view: u64) -> Option<&mut LiveView> {
    std::iter::once(&mut s.screen)
        .chain(s.under.iter_mut())
        .find_map(|sc| match sc {
            Screen::Live(v) if v.id == view => Some(&mut **v),
            _ => None,
        })
}

/// A watcher's update for a view.
pub fn update(s: &mut State, view: u64, cluster: &str, u: Update) -> Outcome {
    let now = s.now_s;
    let Some(v) = find(s, view) else {
        return Outcome::default();
    };
    if let Some(p) = v.panes.iter_mut().find(|p| p.cluster == cluster) {
        p.failed = None;
        let page = matches!(&u, Update::Pods(Change::Page { .. }));
        let at = std::time::Instant::now();
        p.apply(u, now);
        if page {
            tracing::debug!(target: "perf", ms = at.elapsed().as_secs_f64() * 1000.0, rows = p.pods.len(), "pods page applied");
        }
    }
    v.sync_pods();
    let rows = v.rows();
    if v.cursor >= rows {
        v.cursor = rows.saturating_sub(1);
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

pub fn failed(s: &mut State, view: u64, cluster: &str, error: String) -> Outcome {
    let Some(v) = find(s, view) else {
        return Outcome::default();
    };
    if let Some(p) = v.panes.iter_mut().find(|p| p.cluster == cluster) {
        p.failed = Some(error);
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

pub fn object_text(s: &mut State, view: u64, text: Result<String, String>) -> Outcome {
    let Screen::Live(v) = &mut s.screen else {
        return Outcome::default();
    };
    if v.id != view {
        return Outcome::default();
    }
    if let Some(t) = &mut v.text {
        t.lines = match text {
            Ok(t) => t.lines().map(str::to_string).collect(),
            Err(e) => vec![e],
        };
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}
