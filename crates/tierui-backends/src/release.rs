//! A release against its cluster: the drift (desired through a server-side dry
//! run, against live) and the apply (server-side apply, field manager `tierui`).

use std::sync::Arc;

use serde_json::Value as Json;

use crate::kube::apply::{self, Opts, Outcome};
use crate::kube::applyset as live_set;
use crate::kube::connect::{self, Endpoint};
use crate::kube::context::Choice;
use crate::sandbox::clusters::SimClusters;
use tierui_core::context::Context;
use tierui_core::render::applyset::{ApplySet, members_of};
use tierui_core::render::desired::{self, How};
use tierui_core::render::diff::ObjectKey;
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
        _ => Ok(context_of(ctx, c).await?.endpoint),
    }
}

/// Chosen contexts, per workspace, cluster and configured context, for the
/// process's life (a DescribeCluster each time would cost more than the call
/// it serves); a failed choice is not kept, so it is asked again.
type ChoiceKey = (std::path::PathBuf, String, Option<String>);
static CHOSEN: std::sync::Mutex<Vec<(ChoiceKey, Choice)>> = std::sync::Mutex::new(Vec::new());

/// The kubeconfig context of a cluster and why (see [`crate::kube::context`]):
/// DescribeCluster is asked (5 s at most) for the endpoint and ARN.
pub async fn context_of(ctx: &Context, c: &ClusterStack) -> Result<Choice, String> {
    context_with(ctx, c, None).await
}

/// [`context_of`] with what DescribeCluster already said of the cluster (the
/// cluster pane and `status --live` have asked it): not asked again.
pub async fn context_with(
    ctx: &Context,
    c: &ClusterStack,
    known: Option<&tierui_core::cloud::inventory::LiveCluster>,
) -> Result<Choice, String> {
    let key = (ctx.root.clone(), c.name.clone(), c.context.clone());
    if let Some((_, hit)) = CHOSEN
        .lock()
        .ok()
        .and_then(|l| l.iter().find(|(k, _)| *k == key).cloned())
    {
        return Ok(hit);
    }
    let spec = c.spec();
    let eks_name = spec
        .as_ref()
        .map_or_else(|| c.name.clone(), |s| s.cluster_name.clone());
    let region = c
        .region
        .clone()
        .or_else(|| spec.as_ref().and_then(|s| s.region.clone()));
    let live = match (known, &c.context, &region) {
        (Some(l), ..) => Some(l.clone()),
        (None, None, Some(region)) => describe(ctx, c, region, &eks_name).await,
        _ => None,
    };
    let walk = ctx
        .dirs
        .workspace_state(&ctx.root)
        .join("kubeconfig")
        .join(format!("{eks_name}.yaml"));
    let kc = crate::kube::context::operator_kubeconfig()?;
    let eks = crate::kube::context::Eks {
        name: &eks_name,
        region: region.as_deref(),
        arn: live
            .as_ref()
            .map(|l| l.arn.as_str())
            .filter(|a| !a.is_empty()),
        endpoint: live.as_ref().and_then(|l| l.endpoint.as_deref()),
    };
    let choice = crate::kube::context::choose(
        &c.name,
        c.context.as_deref(),
        &eks,
        kc.as_ref(),
        walk.is_file().then_some(walk.as_path()),
    )?;
    if let Ok(mut l) = CHOSEN.lock() {
        l.push((key, choice.clone()));
    }
    Ok(choice)
}

async fn describe(
    ctx: &Context,
    c: &ClusterStack,
    region: &str,
    name: &str,
) -> Option<tierui_core::cloud::inventory::LiveCluster> {
    use tierui_core::cloud::inventory::Inventory as _;
    let ask = async {
        let cloud = crate::aws::AwsCloud::connect_with(&ctx.options, region, c.profile.as_deref())
            .await
            .ok()?;
        cloud.describe_cluster(name).await.ok().flatten()
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), ask)
        .await
        .ok()
        .flatten()
}

pub async fn client_for(
    ctx: &Context,
    sims: Option<&SimClusters>,
    ws: &Workspace,
    r: &Release,
) -> Result<kube::Client, String> {
    connect::client(&endpoint(ctx, sims, ws, cluster_of(ws, r)?).await?).await
}

/// How long a cluster has to list its Helm releases.
const HELM_LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// The Helm releases installed in a cluster stack (newest revision of each).
pub async fn helm_releases(
    clients: &Clients,
    ctx: &Context,
    sims: Option<&SimClusters>,
    ws: &Workspace,
    c: &ClusterStack,
) -> Result<Vec<crate::kube::helm::HelmRelease>, String> {
    let client = clients.for_cluster(ctx, sims, ws, c).await?;
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
        self.for_cluster(ctx, sims, ws, cluster_of(ws, r)?).await
    }

    /// The client of a cluster stack (made on first use).
    pub async fn for_cluster(
        &self,
        ctx: &Context,
        sims: Option<&SimClusters>,
        ws: &Workspace,
        c: &ClusterStack,
    ) -> Result<kube::Client, String> {
        let ep = endpoint(ctx, sims, ws, c).await?;
        // The file too: the walkthrough's "dawn" is not the kubeconfig's "dawn".
        let key = format!("{ep:?}");
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
    /// Objects tierui applied for the release before (its apply set) that
    /// are gone from the manifests: deleted by an apply confirmed on this.
    pub prune: Vec<Json>,
}

/// The release's apply set: what tierui applied for it, for pruning.
pub fn applyset(r: &Release) -> ApplySet {
    ApplySet::for_release(&r.service, &r.namespace)
}

/// Desired (as the server would store it, through a dry-run apply) against live.
pub async fn drift(
    client: &kube::Client,
    ws: &Workspace,
    r: &Release,
    tools: desired::Tools,
) -> Result<Drift, String> {
    let (desired, notes) = desired_objects(ws, r, tools)?;
    Ok(drift_of_desired(client, desired, notes, &r.namespace, &applyset(r)).await)
}

/// The drift of objects already rendered (by [`desired_objects`], which may
/// run a program and so belongs off an async thread).
pub async fn drift_of_desired(
    client: &kube::Client,
    desired: Vec<Json>,
    notes: Vec<String>,
    namespace: &str,
    set: &ApplySet,
) -> Drift {
    // As `kubectl diff --server-side --force-conflicts`: the change is shown
    // whoever owns the fields; the diff names the owners.
    let opts = Opts {
        dry_run: true,
        force: true,
        set: Some(set.clone()),
    };
    let outcomes = apply::apply(client, &desired, namespace, &opts).await;
    let mut notes = notes;
    let prune = match live_set::members(client, set).await {
        Ok(members) => {
            let wanted: std::collections::BTreeSet<ObjectKey> = desired
                .iter()
                .map(|o| ObjectKey::of(o, namespace))
                .collect();
            let (gone, namespaces): (Vec<Json>, Vec<Json>) = members
                .into_iter()
                .filter(|m| !wanted.contains(&ObjectKey::of(m, namespace)))
                .partition(|m| m["kind"] != "Namespace");
            // A Namespace takes everything in it along: never pruned.
            for n in namespaces {
                notes.push(format!(
                    "Namespace/{} is gone from the manifests but is not pruned (deleting it deletes all it holds); delete it by hand if that is meant",
                    n.pointer("/metadata/name").and_then(Json::as_str).unwrap_or("?")
                ));
            }
            gone
        }
        Err(e) => {
            notes.push(format!("pruning is off for this diff: {e}"));
            Vec::new()
        }
    };
    drift_of(&outcomes, desired, namespace, notes, prune)
}

fn drift_of(
    outcomes: &[Outcome],
    desired: Vec<Json>,
    ns: &str,
    notes: Vec<String>,
    prune: Vec<Json>,
) -> Drift {
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
    live.extend(prune.iter().cloned());
    Drift {
        last_change: crate::release_state::last_change(&live),
        report: diff_objects(&live, &after, ns),
        desired,
        refused,
        notes,
        prune,
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
    Ok(apply_objects(client, &desired, r, &ApplyPlan::default()).await)
}

/// What an apply confirmed on a drift does besides applying its objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyPlan {
    /// Take ownership of fields other managers own (`--force-conflicts`).
    pub force: bool,
    /// Members of the apply set to delete (the drift's `prune`, as confirmed).
    pub prune: Vec<Json>,
    /// Send only these objects (`ns/Kind/name`; empty: all) — taking over
    /// the fields of those the server stopped on, after the second question.
    pub only: Vec<String>,
}

/// Server-side applies exactly these objects (those a drift diff showed), as
/// members of the release's apply set; then, when every object applied,
/// deletes the confirmed prunes — the order of `kubectl apply --prune
/// --applyset`: the parent first lists the old and new kinds, then the
/// members, then the prune, then the parent lists only the new kinds.
pub async fn apply_objects(
    client: &kube::Client,
    desired: &[Json],
    r: &Release,
    plan: &ApplyPlan,
) -> Vec<Outcome> {
    let set = applyset(r);
    let (gks, namespaces) = members_of(desired, &r.namespace);
    let mut out = Vec::new();
    let (mut all_gks, mut all_ns) = match live_set::recorded(client, &set).await {
        Ok(x) => x,
        Err(e) => {
            out.push(set_failure(&set, e));
            return out;
        }
    };
    all_gks.extend(gks.iter().cloned());
    all_ns.extend(namespaces.iter().cloned());
    // The namespace may not exist before this apply creates it: then the
    // parent is written after the objects.
    let early = live_set::write_parent(client, &set, &all_gks, &all_ns).await;
    let opts = Opts {
        dry_run: false,
        force: plan.force,
        set: Some(set.clone()),
    };
    let sent: Vec<Json> = desired
        .iter()
        .filter(|o| plan.only.is_empty() || plan.only.contains(&apply::describe(o, &r.namespace)))
        .cloned()
        .collect();
    out.extend(apply::apply(client, &sent, &r.namespace, &opts).await);
    let applied = out.iter().all(|o| o.applied.is_ok());
    if early.is_err()
        && let Err(e) = live_set::write_parent(client, &set, &all_gks, &all_ns).await
    {
        out.push(set_failure(&set, e));
        return out;
    }
    if !applied {
        return out;
    }
    out.extend(live_set::prune(client, &set, &plan.prune).await);
    if out.iter().all(|o| o.applied.is_ok())
        && let Err(e) = live_set::write_parent(client, &set, &gks, &namespaces).await
    {
        out.push(set_failure(&set, e));
    }
    out
}

fn set_failure(set: &ApplySet, e: String) -> Outcome {
    Outcome {
        object: format!("{}/Secret/{} (apply set)", set.namespace, set.name),
        live: None,
        applied: Err(e),
        notes: Vec::new(),
        conflict: false,
        pruned: false,
    }
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
