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
                "context": c.kube_context(),
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
                ReleaseSource::Kubectl { objects, kustomize, .. } => {
                    v["files"] = json!(objects.iter().map(|(f, m)| json!({"file": f, "line": m.pos.line, "object": m.display_name()})).collect::<Vec<_>>());
                    v["kustomize"] = json!(kustomize);
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

/// Asks every cluster's cloud at once (`--live`).
pub fn fetch_live(ctx: &tierui_core::context::Context, ws: &Workspace) -> anyhow::Result<LiveMap> {
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
        Ok(futures::future::join_all(jobs).await.into_iter().collect())
    })
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
