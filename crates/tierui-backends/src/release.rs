//! A release against its cluster: the drift (desired through a server-side dry
//! run, against live) and the apply (server-side apply, field manager `tierui`).

use std::sync::Arc;

use serde_json::Value as Json;

use crate::kube::apply::{self, Outcome};
use crate::kube::connect::{self, Endpoint};
use crate::sandbox::clusters::SimClusters;
use tierui_core::context::Context;
use tierui_core::render::desired::{self, How};
use tierui_core::render::diff::{Report, diff_objects};
use tierui_core::render::holes;
use tierui_core::render::normalize::CLUSTER_SCOPED;
use tierui_core::workspace::model::{ReleaseSource, Workspace};
use tierui_core::workspace::{ClusterStack, Release};

/// How tierui reaches a cluster's API.
pub async fn endpoint(
    ctx: &Context,
    sims: Option<&SimClusters>,
    ws: &Workspace,
    c: &ClusterStack,
) -> Result<Endpoint, String> {
    match sims {
        Some(s) if ctx.sandbox => Ok(Endpoint::Url(s.endpoint(ws, c).await?)),
        _ => Ok(Endpoint::Context {
            name: c.kube_context().to_string(),
            file: None,
        }),
    }
}

pub async fn client_for(
    ctx: &Context,
    sims: Option<&SimClusters>,
    ws: &Workspace,
    r: &Release,
) -> Result<kube::Client, String> {
    connect::client(&endpoint(ctx, sims, ws, cluster_of(ws, r)?).await?).await
}

/// A client for a cluster stack's API (its kubeconfig context, or its
/// simulated cluster in the sandbox).
pub async fn client_for_cluster(
    ctx: &Context,
    sims: Option<&SimClusters>,
    ws: &Workspace,
    c: &ClusterStack,
) -> Result<kube::Client, String> {
    connect::client(&endpoint(ctx, sims, ws, c).await?).await
}

/// How long a cluster has to list its Helm releases.
const HELM_LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// The Helm releases installed in a cluster stack (newest revision of each).
pub async fn helm_releases(
    ctx: &Context,
    sims: Option<&SimClusters>,
    ws: &Workspace,
    c: &ClusterStack,
) -> Result<Vec<crate::kube::helm::HelmRelease>, String> {
    let client = client_for_cluster(ctx, sims, ws, c).await?;
    tokio::time::timeout(HELM_LIST_TIMEOUT, crate::kube::helm::list(&client))
        .await
        .map_err(|_| {
            format!(
                "{}: no answer to the Helm release list in {} s",
                c.name,
                HELM_LIST_TIMEOUT.as_secs()
            )
        })?
}

/// The cluster stack a release runs on.
fn cluster_of<'a>(ws: &'a Workspace, r: &Release) -> Result<&'a ClusterStack, String> {
    let name = r
        .cluster
        .as_deref()
        .ok_or_else(|| format!("{} has no cluster (set it in tierui.yaml)", r.title()))?;
    ws.cluster(name)
        .ok_or_else(|| format!("{}: cluster {name} is not in the workspace", r.title()))
}

/// Clients made once per endpoint and shared: making one loads the system's CA
/// roots, which costs more than the dry run it is made for.
#[derive(Default)]
pub struct Clients(tokio::sync::Mutex<std::collections::HashMap<String, kube::Client>>);

impl Clients {
    /// The client of a release's cluster (made on first use).
    pub async fn for_release(
        &self,
        ctx: &Context,
        sims: Option<&SimClusters>,
        ws: &Workspace,
        r: &Release,
    ) -> Result<kube::Client, String> {
        let ep = endpoint(ctx, sims, ws, cluster_of(ws, r)?).await?;
        let key = ep.describe();
        if let Some(client) = self.0.lock().await.get(&key) {
            return Ok(client.clone());
        }
        let client = connect::client(&ep).await?;
        self.0.lock().await.insert(key, client.clone());
        Ok(client)
    }

    /// Forget every client (the workspace was read again: contexts may differ).
    pub async fn clear(&self) {
        self.0.lock().await.clear();
    }
}

/// The release's desired objects, each with its namespace filled in.
pub fn desired_objects(
    ws: &Workspace,
    r: &Release,
    tools: desired::Tools,
) -> Result<(Vec<Json>, Vec<String>), String> {
    let d = desired::render(ws, r, &Default::default(), tools)?;
    let mut notes = d.notes.clone();
    if d.how == How::ConfigOnly {
        return Err(notes.join("; "));
    }
    if matches!(r.source, ReleaseSource::Pulumi(_)) {
        notes.push("a Pulumi release is deployed by `pulumi up`; this compares what the program renders with the cluster".into());
    }
    if r.chart().is_some() {
        notes.push("a Helm chart is installed by `helm upgrade --install`; this compares what `helm template` renders with the cluster".into());
    }
    let (objects, auto_named): (Vec<Json>, Vec<Json>) = d.objects.into_iter().partition(|o| {
        o.pointer("/metadata/name").and_then(Json::as_str) != Some(holes::DECIDED_AT_APPLY)
    });
    for o in &auto_named {
        notes.push(format!(
            "{}: Pulumi names it at apply (auto-naming); it is not compared or sent",
            o["kind"].as_str().unwrap_or("object")
        ));
    }
    let objects = objects
        .into_iter()
        .map(|mut o| {
            let kind = o["kind"].as_str().unwrap_or_default().to_string();
            if !CLUSTER_SCOPED.contains(&kind.as_str())
                && o.pointer("/metadata/namespace").is_none()
                && let Some(m) = o.get_mut("metadata").and_then(Json::as_object_mut)
            {
                m.insert("namespace".into(), Json::String(r.namespace.clone()));
            }
            o
        })
        .collect();
    Ok((objects, notes))
}

#[derive(Debug, Clone)]
pub struct Drift {
    pub report: Report,
    /// The desired objects as rendered for this diff: what an apply confirmed on
    /// the strength of this report must send, even if files change meanwhile.
    pub desired: Vec<Json>,
    /// Objects the server refused in the dry run, with its message.
    pub refused: Vec<(String, String)>,
    pub notes: Vec<String>,
    /// The newest spec write among the live objects (managedFields).
    pub last_change: Option<crate::release_state::LastChange>,
}

/// Desired (as the server would store it, through a dry-run apply) against live.
pub async fn drift(
    client: &kube::Client,
    ws: &Workspace,
    r: &Release,
    tools: desired::Tools,
) -> Result<Drift, String> {
    let (desired, notes) = desired_objects(ws, r, tools)?;
    Ok(drift_of_desired(client, desired, notes, &r.namespace).await)
}

/// The drift of objects already rendered (by [`desired_objects`], which may
/// run a program and so belongs off an async thread).
pub async fn drift_of_desired(
    client: &kube::Client,
    desired: Vec<Json>,
    notes: Vec<String>,
    namespace: &str,
) -> Drift {
    let outcomes = apply::apply(client, &desired, namespace, true).await;
    drift_of(&outcomes, desired, namespace, notes)
}

fn drift_of(outcomes: &[Outcome], desired: Vec<Json>, ns: &str, notes: Vec<String>) -> Drift {
    let mut live = Vec::new();
    let mut after = Vec::new();
    let mut refused = Vec::new();
    let mut notes = notes;
    for (o, d) in outcomes.iter().zip(ordered(&desired)) {
        notes.extend(o.notes.iter().cloned());
        if let Some(l) = &o.live {
            live.push(l.clone());
        }
        match &o.applied {
            Ok(a) => after.push(a.clone()),
            Err(e) => {
                refused.push((o.object.clone(), e.clone()));
                after.push(d.clone());
            }
        }
    }
    Drift {
        last_change: crate::release_state::last_change(&live),
        report: diff_objects(&live, &after, ns),
        desired,
        refused,
        notes,
    }
}

/// Namespaces first, as `apply::apply` orders objects.
fn ordered(objects: &[Json]) -> Vec<&Json> {
    let mut v: Vec<&Json> = objects
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .collect();
    v.extend(objects.iter().filter(|o| o["kind"] != "Namespace"));
    v
}

/// Server-side applies the release; the outcome of each object.
pub async fn apply_release(
    client: &kube::Client,
    ws: &Workspace,
    r: &Release,
    tools: desired::Tools,
) -> Result<Vec<Outcome>, String> {
    let (desired, _) = desired_objects(ws, r, tools)?;
    Ok(apply_objects(client, &desired, r).await)
}

/// Server-side applies exactly these objects (those a drift diff showed).
pub async fn apply_objects(client: &kube::Client, desired: &[Json], r: &Release) -> Vec<Outcome> {
    apply::apply(client, desired, &r.namespace, false).await
}

/// The release in a fresh read of the workspace from disk (a save may not have
/// reached the UI's copy yet), matched by service, environment and cluster.
pub fn reread(root: &std::path::Path, r: &Release) -> Result<(Workspace, Release), String> {
    let ws = tierui_core::workspace::load(root);
    let found = ws
        .releases
        .iter()
        .find(|x| {
            x.service == r.service && x.environment == r.environment && x.cluster == r.cluster
        })
        .cloned()
        .ok_or_else(|| format!("{} is no longer in the workspace", r.title()))?;
    Ok((ws, found))
}

/// Sandbox clusters for one command (started on demand, stopped at the end).
pub fn sims(ctx: &Context, ws: &Workspace) -> anyhow::Result<Option<Arc<SimClusters>>> {
    if !ctx.sandbox {
        return Ok(None);
    }
    let sandbox = crate::sandbox::clusters::Sandbox::open(ctx, ws)?;
    Ok(Some(Arc::new(SimClusters::new(&sandbox, ctx.demo))))
}
