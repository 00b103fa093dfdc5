//! `tierui status [--json]`: the workspace model without the UI, for scripts.

use serde_json::{Value as Json, json};

use tierui_core::workspace::model::{ClusterSource, ReleaseSource, Workspace};
use tierui_core::workspace::pulumi::{ConfigEntry, StackConfig};

pub use tierui_core::context::Mode;

pub fn to_json(ws: &Workspace, mode: &Mode) -> Json {
    json!({
        "workspace": {
            "name": ws.name,
            "root": ws.root,
            "descriptor": ws.descriptor.as_ref().map(|_| "tierui.yaml"),
            "mode": if mode.sandbox { "sandbox" } else { "live" },
            "readonly": mode.readonly,
        },
        "clusters": ws.clusters.iter().map(|c| {
            let mut v = json!({
                "name": c.name,
                "provisioner": c.provisioner(),
                "region": c.region,
                "profile": c.profile,
                // What tierui.yaml sets; `--live` finds the one that reaches it.
                "context": c.context,
                "source": c.source_file(),
                "spec": c.spec(),
                "releases": ws.releases_on(&c.name).map(|r| r.title()).collect::<Vec<_>>(),
            });
            match &c.source {
                ClusterSource::Pulumi(p) => {
                    v["stack"] = json!(p.qualified_name());
                    v["config"] = config_json(p.config.as_ref());
                    v["checkpoint"] = json!(p.checkpoint.as_ref().map(|cp| json!({
                        "file": p.checkpoint_file,
                        "time": cp.time,
                        "outputs": cp.outputs.iter().cloned().collect::<serde_json::Map<_, _>>(),
                        "resources": cp.resources.iter().map(|r| json!({"urn": r.urn, "type": r.type_, "id": r.id})).collect::<Vec<_>>(),
                    })));
                    v["appStacks"] = json!(ws.app_stacks_of(p.qualified_name().as_deref()));
                }
                ClusterSource::Eksctl { script, config, .. } => {
                    v["script"] = json!(script);
                    v["clusterConfig"] = json!(config);
                }
            }
            v
        }).collect::<Vec<_>>(),
        "releases": ws.releases.iter().map(|r| {
            let mut v = json!({
                "service": r.service,
                "environment": r.environment,
                "cluster": r.cluster,
                "namespace": r.namespace,
                "manager": r.manager(),
                "source": r.source_file(),
                "image": r.summary.image,
                "imageTag": r.summary.image_tag,
                "replicas": r.summary.replicas,
                "hpa": r.summary.hpa_max.map(|max| json!({"min": r.summary.hpa_min, "max": max, "cpuTarget": r.summary.cpu_target})),
                "objects": r.summary.objects,
                "notes": r.summary.render_notes,
            });
            match &r.source {
                ReleaseSource::Pulumi(p) => {
                    v["stack"] = json!(p.stack);
                    v["config"] = config_json(p.config.as_ref());
                }
                ReleaseSource::Kubectl { objects, kustomize, chart, .. } => {
                    v["files"] = json!(objects.iter().map(|(f, m)| json!({"file": f, "line": m.pos.line, "object": m.display_name()})).collect::<Vec<_>>());
                    v["kustomize"] = json!(kustomize);
                    if let Some(chart) = chart {
                        v["chart"] = json!(chart);
                    }
                }
            }
            v
        }).collect::<Vec<_>>(),
        "problems": ws.problems,
    })
}

fn config_json(cfg: Option<&StackConfig>) -> Json {
    cfg.map_or(Json::Null, |c| {
        Json::Object(
            c.entries
                .iter()
                .map(|e: &ConfigEntry| (e.key.clone(), json!(e.value.display())))
                .collect(),
        )
    })
}

/// The human-readable form.
pub fn to_text(ws: &Workspace, mode: &Mode) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workspace {} ({}){}{}",
        ws.name,
        ws.root.display(),
        if mode.sandbox { " · sandbox" } else { "" },
        if mode.readonly { " · readonly" } else { "" }
    );
    let _ = writeln!(out, "\nCLUSTERS");
    for c in &ws.clusters {
        let spec = c.spec();
        let version = spec
            .as_ref()
            .and_then(|s| s.kubernetes_version.clone())
            .unwrap_or_else(|| "—".into());
        let groups = spec.as_ref().map(|s| {
            s.node_groups
                .iter()
                .map(|g| {
                    format!(
                        "{} {}×{}",
                        g.name,
                        g.desired_size,
                        g.instance_types.join("/")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
        let _ = writeln!(
            out,
            "  {:<8} {:<7} {:<12} k8s {:<5} {}  [{}]",
            c.name,
            c.provisioner(),
            c.region.as_deref().unwrap_or("—"),
            version,
            groups.unwrap_or_default(),
            c.source_file().display()
        );
    }
    let _ = writeln!(out, "\nRELEASES");
    for r in &ws.releases {
        let s = &r.summary;
        let hpa = s
            .hpa_max
            .map(|max| format!(" hpa {}..{max}", s.hpa_min.unwrap_or(1)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<26} {:<7} {:<6} ns {:<16} image {:<14} replicas {}{}",
            r.title(),
            r.manager(),
            r.cluster.as_deref().unwrap_or("—"),
            r.namespace,
            s.image_tag.as_deref().unwrap_or("—"),
            s.replicas.map_or("—".into(), |n| n.to_string()),
            hpa
        );
        for note in &s.render_notes {
            let _ = writeln!(out, "      note: {note}");
        }
    }
    if !ws.problems.is_empty() {
        let _ = writeln!(out, "\nPROBLEMS");
        for p in &ws.problems {
            let _ = writeln!(out, "  {:?}: {p}", p.severity);
        }
    }
    out
}

/// Each cluster's live state, or why there is none.
pub type LiveMap =
    std::collections::BTreeMap<String, Result<tierui_core::cloud::inventory::ClusterLive, String>>;

/// Each cluster's Helm releases (newest revision of each), or why there are none.
pub type HelmMap = std::collections::BTreeMap<
    String,
    Result<Vec<tierui_backends::kube::helm::HelmRelease>, String>,
>;

/// What `--live` learns: each cluster from its cloud, each release (by index)
/// from its cluster, and the Helm releases each cluster holds.
pub struct Live {
    pub clusters: LiveMap,
    /// Each cluster's kubeconfig context and why it was chosen, or why none.
    pub contexts: std::collections::BTreeMap<String, Result<ContextLine, String>>,
    pub releases: Vec<tierui_backends::release_state::ReleaseState>,
    /// Clusters the cloud says do not exist are not asked.
    pub helm: HelmMap,
}

impl Live {
    /// A release out of sync, missing or degraded (what `--strict` fails on).
    pub fn needs_attention(&self) -> bool {
        self.releases.iter().any(|r| r.needs_attention())
    }
}

/// Background drifts one cluster answers at once.
const PROBES_PER_CLUSTER: usize = 2;

/// Asks every cluster's cloud at once, then every release's cluster (`--live`).
pub fn fetch_live(ctx: &tierui_core::context::Context, ws: &Workspace) -> anyhow::Result<Live> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let sandbox = if ctx.sandbox {
            Some(tierui_backends::sandbox::clusters::Sandbox::open(ctx, ws)?)
        } else {
            None
        };
        let jobs = ws.clusters.iter().map(|c| {
            let sandbox = sandbox.as_ref();
            async move {
                (
                    c.name.clone(),
                    tierui_backends::cluster::fetch_cluster(ctx, sandbox, c)
                        .await
                        .map_err(|e| format!("{e:#}")),
                )
            }
        });
        let clusters: LiveMap = futures::future::join_all(jobs).await.into_iter().collect();
        let contexts = futures::future::join_all(ws.clusters.iter().map(|c| {
            let known = clusters
                .get(&c.name)
                .and_then(|l| l.as_ref().ok())
                .and_then(|l| l.described());
            async move { (c.name.clone(), context_line(ctx, c, known).await) }
        }))
        .await
        .into_iter()
        .collect();
        let sims = sandbox
            .as_ref()
            .map(|s| tierui_backends::sandbox::clusters::SimClusters::new(s, ctx.demo));
        // One client per cluster for both, asked at once.
        let clients = tierui_backends::release::Clients::default();
        let (releases, helm) = futures::join!(
            probe_releases(ctx, ws, sims.as_ref(), &clusters, &clients),
            helm_releases(ctx, ws, sims.as_ref(), &clusters, &clients)
        );
        Ok(Live {
            clusters,
            contexts,
            releases,
            helm,
        })
    })
}

/// Each cluster's Helm releases, all clusters at once; a cluster the cloud
/// says does not exist is not asked.
async fn helm_releases(
    ctx: &tierui_core::context::Context,
    ws: &Workspace,
    sims: Option<&tierui_backends::sandbox::clusters::SimClusters>,
    clusters: &LiveMap,
    clients: &tierui_backends::release::Clients,
) -> HelmMap {
    let jobs = ws.clusters.iter().filter_map(|c| {
        if let Some(Ok(l)) = clusters.get(&c.name)
            && l.absent()
        {
            return None;
        }
        Some(async move {
            (
                c.name.clone(),
                tierui_backends::release::helm_releases(clients, ctx, sims, ws, c).await,
            )
        })
    });
    futures::future::join_all(jobs).await.into_iter().collect()
}

/// Each release's sync and health, at most [`PROBES_PER_CLUSTER`] at once per cluster.
async fn probe_releases(
    ctx: &tierui_core::context::Context,
    ws: &Workspace,
    sims: Option<&tierui_backends::sandbox::clusters::SimClusters>,
    clusters: &LiveMap,
    clients: &tierui_backends::release::Clients,
) -> Vec<tierui_backends::release_state::ReleaseState> {
    use tierui_backends::release_state::{Health, ReleaseState, Sync};
    let mut permits = std::collections::BTreeMap::new();
    for c in &ws.clusters {
        permits.insert(
            c.name.clone(),
            tokio::sync::Semaphore::new(PROBES_PER_CLUSTER),
        );
    }
    let jobs = ws.releases.iter().map(|r| {
        let permits = &permits;
        async move {
            let Some(cluster) = r.cluster.as_deref() else {
                return ReleaseState::unknown("no cluster (set it in tierui.yaml)");
            };
            if let Some(Ok(l)) = clusters.get(cluster)
                && l.absent()
            {
                let mut st = ReleaseState::unknown("");
                st.sync = Sync::Missing;
                st.health = Health::Missing;
                return st;
            }
            let _permit = match permits.get(cluster) {
                Some(p) => p.acquire().await.ok(),
                None => None,
            };
            let client = match clients.for_release(ctx, sims, ws, r).await {
                Ok(c) => c,
                Err(e) => return ReleaseState::unknown(&format!("cluster unreachable: {e}")),
            };
            tierui_backends::release_state::probe(
                &client,
                ws,
                r,
                tierui_backends::tools::for_sandbox(ctx.sandbox),
            )
            .await
        }
    });
    futures::future::join_all(jobs).await
}

/// Adds each release's sync, health, live summary and last change.
pub fn add_releases_json(v: &mut Json, live: &Live) {
    let Some(releases) = v.get_mut("releases").and_then(Json::as_array_mut) else {
        return;
    };
    for (entry, st) in releases.iter_mut().zip(&live.releases) {
        entry["sync"] = json!(st.sync);
        entry["sync"]["word"] = json!(st.sync.word());
        entry["health"] = json!(st.health);
        entry["health"]["word"] = json!(st.health.word());
        entry["live"] = json!(st.live);
        entry["lastChange"] = json!(st.last_change);
    }
}

/// `RELEASES (live)`: one line per release, then the objects out of sync.
pub fn releases_text(ws: &Workspace, live: &Live) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("\nRELEASES (live)\n");
    let title = |r: &tierui_core::workspace::Release| r.title();
    let width = ws
        .releases
        .iter()
        .map(|r| title(r).chars().count())
        .max()
        .unwrap_or(0);
    for (r, st) in ws.releases.iter().zip(&live.releases) {
        let _ = writeln!(
            out,
            "  {:<width$}  {:<8} {:<10} {:<12} {}",
            title(r),
            r.cluster.as_deref().unwrap_or("—"),
            format!("{} {}", st.sync.glyph(), st.sync.word()),
            format!("{} {}", st.health.glyph(), st.health.word()),
            st.live.as_ref().map(|l| l.line()).unwrap_or_default(),
        );
        if let tierui_backends::release_state::Sync::OutOfSync { objects } = &st.sync {
            for o in objects {
                let _ = writeln!(out, "  {:<width$}    {}", "", o.short());
            }
        }
        let reason = match (&st.sync, &st.health) {
            (tierui_backends::release_state::Sync::Unknown { reason }, _) => Some(reason),
            (
                _,
                tierui_backends::release_state::Health::Progressing { reason }
                | tierui_backends::release_state::Health::Degraded { reason }
                | tierui_backends::release_state::Health::Unknown { reason },
            ) => Some(reason),
            _ => None,
        };
        let shown = st.live.as_ref().map(|l| l.line()).unwrap_or_default();
        if let Some(reason) =
            reason.filter(|r| !r.is_empty() && !shown.contains(r.trim_start_matches("rollout ")))
        {
            let _ = writeln!(out, "  {:<width$}    {reason}", "");
        }
    }
    out
}

/// The context that reaches a cluster, as `status --live` reports it.
pub struct ContextLine {
    /// The context's name (the simulated cluster's, in the sandbox).
    pub name: String,
    /// Its kubeconfig when it is not the operator's (the walkthrough's).
    pub file: Option<std::path::PathBuf>,
    pub why: String,
}

/// The chosen context of a cluster, with what DescribeCluster already said
/// of it (so it is not asked twice).
async fn context_line(
    ctx: &tierui_core::context::Context,
    c: &tierui_core::workspace::ClusterStack,
    known: Option<&tierui_core::cloud::inventory::LiveCluster>,
) -> Result<ContextLine, String> {
    if ctx.sandbox {
        return Ok(ContextLine {
            name: format!("sim/{}", c.name),
            file: None,
            why: "the sandbox's simulated cluster".into(),
        });
    }
    let ch = tierui_backends::release::context_with(ctx, c, known).await?;
    let (name, file) = match ch.endpoint {
        tierui_backends::kube::connect::Endpoint::Context { name, file } => (name, file),
        tierui_backends::kube::connect::Endpoint::Url(u) => (u, None),
    };
    Ok(ContextLine {
        name,
        file,
        why: ch.why,
    })
}

/// Each cluster's chosen context (`context`, `contextFile`, `contextWhy`) or
/// `contextProblem`.
pub fn add_contexts_json(v: &mut Json, live: &Live) {
    let Some(clusters) = v.get_mut("clusters").and_then(Json::as_array_mut) else {
        return;
    };
    for entry in clusters {
        let name = entry["name"].as_str().unwrap_or_default().to_string();
        match live.contexts.get(&name) {
            Some(Ok(line)) => {
                entry["context"] = json!(line.name);
                if let Some(f) = &line.file {
                    entry["contextFile"] = json!(f);
                }
                entry["contextWhy"] = json!(line.why);
            }
            Some(Err(e)) => entry["contextProblem"] = json!(e),
            None => {}
        }
    }
}

/// `CONTEXTS`: which kubeconfig context reaches each cluster, and why.
pub fn contexts_text(ws: &Workspace, live: &Live) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("\nCONTEXTS\n");
    for c in &ws.clusters {
        let line = match live.contexts.get(&c.name) {
            Some(Ok(line)) => format!("{} ({})", line.name, line.why),
            Some(Err(e)) => format!("problem: {e}"),
            None => "—".into(),
        };
        let _ = writeln!(out, "  {:<8} {line}", c.name);
    }
    out
}

/// Adds each cluster's `helmReleases` (or `{"error": …}`) where it was asked.
pub fn add_helm_json(v: &mut Json, helm: &HelmMap) {
    let Some(clusters) = v.get_mut("clusters").and_then(Json::as_array_mut) else {
        return;
    };
    for entry in clusters {
        let name = entry.get("name").and_then(Json::as_str).unwrap_or_default();
        match helm.get(name) {
            Some(Ok(list)) => entry["helmReleases"] = json!(list),
            Some(Err(e)) => entry["helmReleases"] = json!({"error": e}),
            None => {}
        }
    }
}

/// `HELM RELEASES (live)`: each cluster's releases as `helm list -A` shows them.
pub fn helm_text(ws: &Workspace, helm: &HelmMap) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("\nHELM RELEASES (live)\n");
    for c in &ws.clusters {
        match helm.get(&c.name) {
            None => {
                let _ = writeln!(
                    out,
                    "  {:<8} not asked (the cluster does not exist)",
                    c.name
                );
            }
            Some(Err(e)) => {
                let _ = writeln!(out, "  {:<8} could not be listed: {e}", c.name);
            }
            Some(Ok(list)) if list.is_empty() => {
                let _ = writeln!(out, "  {:<8} none", c.name);
            }
            Some(Ok(list)) => {
                for r in list {
                    let _ = writeln!(
                        out,
                        "  {:<8} {:<40} {:<40} app {:<8} rev {:<3} {:<16} {}",
                        c.name,
                        format!("{}/{}", r.namespace, r.name),
                        r.chart_label(),
                        r.app_version,
                        r.revision,
                        r.status,
                        r.deployed()
                    );
                }
            }
        }
    }
    out
}

pub fn add_live_json(v: &mut Json, ws: &Workspace, live: &LiveMap) {
    let Some(clusters) = v.get_mut("clusters").and_then(Json::as_array_mut) else {
        return;
    };
    for entry in clusters {
        let Some(name) = entry.get("name").and_then(Json::as_str).map(str::to_string) else {
            continue;
        };
        let Some(c) = ws.cluster(&name) else { continue };
        match live.get(&name) {
            Some(Ok(l)) => {
                entry["live"] = json!(l);
                entry["drift"] = json!(
                    c.spec()
                        .map(|spec| tierui_core::cluster::drift::drift(c, &spec, l))
                );
            }
            Some(Err(e)) => entry["live"] = json!({"error": e}),
            None => {}
        }
    }
}

pub fn live_text(ws: &Workspace, live: &LiveMap) -> String {
    use std::fmt::Write as _;
    use tierui_core::cloud::inventory::Part;
    let mut out = String::from("\nLIVE\n");
    for c in &ws.clusters {
        let _ = write!(out, "  {:<8} ", c.name);
        let l = match live.get(&c.name) {
            Some(Ok(l)) => l,
            Some(Err(e)) => {
                let _ = writeln!(out, "no connection: {e}");
                continue;
            }
            None => {
                let _ = writeln!(out, "not asked");
                continue;
            }
        };
        match &l.cluster {
            Part::Ok(Some(lc)) => {
                let groups = match &l.nodegroups {
                    Part::Ok(g) => g
                        .iter()
                        .map(|g| {
                            format!(
                                "{} {}/{}/{} {}",
                                g.name,
                                g.min_size,
                                g.desired_size,
                                g.max_size,
                                g.instance_types.join("/")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    Part::Error(e) => format!("node groups unreadable ({})", e.code),
                    Part::Unknown => String::new(),
                };
                let _ = writeln!(out, "{} k8s {} · {groups}", lc.status, lc.version);
            }
            Part::Ok(None) => {
                let _ = writeln!(out, "does not exist");
            }
            Part::Error(e) => {
                let _ = writeln!(out, "unreadable: {e}");
            }
            Part::Unknown => {
                let _ = writeln!(out, "unknown");
            }
        }
        for d in c
            .spec()
            .map(|spec| tierui_core::cluster::drift::drift(c, &spec, l))
            .unwrap_or_default()
        {
            let _ = writeln!(
                out,
                "           ~ {}: source {} · AWS {}\n             → {}",
                d.field, d.source, d.live, d.what_to_do
            );
        }
    }
    out
}
