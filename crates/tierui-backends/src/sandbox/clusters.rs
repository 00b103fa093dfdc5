//! The sandbox world of a workspace: its cloud (and, with the simulator, its
//! clusters), kept in `<state>/workspaces/<id>/sandbox/` and seeded from the
//! workspace on first use. `tierui sandbox reset` starts over.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use crate::sandbox::world::World;
use crate::sandbox::{Clock, SandboxCloud, seed};
use tierui_core::context::Context;
use tierui_core::workspace::{ClusterStack, Workspace};

/// The seed every sandbox world starts from (IDs are replayable).
pub const SEED: u64 = 20_261_125;

pub struct Sandbox {
    pub dir: PathBuf,
    pub world: Arc<Mutex<World>>,
    pub speed: f64,
}

impl Sandbox {
    pub fn dir_of(ctx: &Context) -> PathBuf {
        ctx.dirs.workspace_state(&ctx.root).join("sandbox")
    }

    pub fn world_file(&self) -> PathBuf {
        self.dir.join("world.json")
    }

    /// Opens (and on first use seeds) the workspace's sandbox world.
    pub fn open(ctx: &Context, ws: &Workspace) -> Result<Sandbox> {
        let dir = Sandbox::dir_of(ctx);
        tierui_core::paths::private_dir(&dir)?;
        let file = dir.join("world.json");
        let fresh = !file.exists();
        let mut world = SandboxCloud::load_world(&file, SEED)?;
        if fresh {
            seed::seed(&mut world, ws, Clock::System.now_ms());
            tierui_core::paths::write_private(&file, &serde_json::to_vec(&world)?)?;
            // What runs on each cluster is the workspace as it is now, before any
            // edit made in tierui: an edit then shows as drift, as it would in life.
            for c in &ws.clusters {
                write_release_seed(&dir.join("clusters"), &c.name, &releases_on(ws, &c.name))?;
            }
        }
        Ok(Sandbox {
            dir,
            world: Arc::new(Mutex::new(world)),
            speed: ctx.options.speed.unwrap_or(1.0),
        })
    }

    /// A cloud client for one region of this world.
    pub fn cloud(&self, region: &str) -> SandboxCloud {
        SandboxCloud::new(
            self.world.clone(),
            region,
            Clock::System,
            self.speed,
            Some(self.world_file()),
        )
    }

    /// Forgets the world, the sandbox walkthrough progress and, for the demo, edits
    /// to the demo files.
    pub fn reset(ctx: &Context) -> Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        let state = ctx.dirs.workspace_state(&ctx.root);
        for path in [
            state.join("sandbox"),
            state.join("walkthrough"),
            state.join("kubeconfig"),
        ] {
            if path.exists() {
                std::fs::remove_dir_all(&path)?;
                removed.push(path);
            }
        }
        if ctx.demo {
            std::fs::remove_dir_all(&ctx.root)?;
            tierui_core::paths::extract_demo(&ctx.root)?;
            removed.push(ctx.root.clone());
        }
        Ok(removed)
    }
}

/// The sandbox's simulated Kubernetes clusters, one per cluster that exists in the
/// sandbox cloud. A cluster another tierui process already serves is shared (its
/// address is in `clusters/<name>.endpoint.json`), so the UI, `tierui watch`,
/// `diff` and `apply` all see one cluster; otherwise it is started in-process from
/// its state file, seeded on first start.
pub struct SimClusters {
    dir: PathBuf,
    speed: f64,
    demo: bool,
    world: Arc<Mutex<World>>,
    handles: tokio::sync::Mutex<std::collections::BTreeMap<String, tierui_sim::SimHandle>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct EndpointFile {
    pid: u32,
    url: String,
}

impl SimClusters {
    pub fn new(sandbox: &Sandbox, demo: bool) -> SimClusters {
        SimClusters {
            dir: sandbox.dir.join("clusters"),
            speed: sandbox.speed,
            demo,
            world: sandbox.world.clone(),
            handles: tokio::sync::Mutex::new(Default::default()),
        }
    }

    /// Whether the sandbox cloud has this cluster ACTIVE, and whether the
    /// walkthrough created it (then it starts empty; seeded ones run their releases).
    fn state_in_cloud(&self, c: &ClusterStack) -> Result<bool, String> {
        use crate::sandbox::world::Phase;
        let spec = c
            .spec()
            .ok_or_else(|| format!("{}: its source could not be read", c.name))?;
        let region = c.region.clone().or(spec.region.clone()).unwrap_or_default();
        let world = self
            .world
            .lock()
            .map_err(|_| "sandbox world lock poisoned".to_string())?;
        let cl = world
            .regions
            .get(&region)
            .and_then(|r| r.clusters.get(&spec.cluster_name));
        let now = Clock::System.now_ms();
        match cl.map(|c| {
            (
                c.life.phase(now),
                crate::sandbox::world::has_tag(
                    &c.tags,
                    tierui_core::cloud::TAG_CLUSTER,
                    &spec.cluster_name,
                ),
            )
        }) {
            Some((Phase::Ready, by_walkthrough)) => Ok(by_walkthrough),
            Some((Phase::Creating, _)) => Err(format!(
                "{} is still being created in the sandbox cloud",
                c.name
            )),
            _ => Err(format!(
                "{} does not exist in the sandbox yet{}",
                c.name,
                if c.eksctl_config().is_some() {
                    ": create it with the walkthrough (w on the cluster, or `tierui walk` )"
                } else {
                    ""
                }
            )),
        }
    }

    /// Add-on names of the cluster: its spec's, and the sandbox cloud's
    /// records for it.
    fn cloud_addons(&self, c: &ClusterStack) -> Vec<String> {
        let Some(spec) = c.spec() else {
            return Vec::new();
        };
        let mut out = spec.addons.clone();
        let region = c.region.clone().or(spec.region.clone()).unwrap_or_default();
        if let Ok(world) = self.world.lock()
            && let Some(r) = world.regions.get(&region)
        {
            let prefix = format!("{}/", spec.cluster_name);
            out.extend(
                r.addons
                    .keys()
                    .filter_map(|k| k.strip_prefix(&prefix))
                    .map(String::from),
            );
        }
        out.sort();
        out.dedup();
        out
    }

    async fn reachable(url: &str) -> bool {
        let Ok(client) =
            crate::kube::connect::client(&crate::kube::connect::Endpoint::Url(url.to_string()))
                .await
        else {
            return false;
        };
        tokio::time::timeout(
            std::time::Duration::from_secs(1),
            client.apiserver_version(),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }

    /// The URL of the cluster's simulated API, starting it when nobody serves it.
    pub async fn endpoint(&self, ws: &Workspace, c: &ClusterStack) -> Result<String, String> {
        let mut handles = self.handles.lock().await;
        if let Some(h) = handles.get(&c.name) {
            return Ok(h.url());
        }
        let by_walkthrough = self.state_in_cloud(c)?;
        let endpoint_file = self.dir.join(format!("{}.endpoint.json", c.name));
        if let Ok(bytes) = std::fs::read(&endpoint_file)
            && let Ok(ep) = serde_json::from_slice::<EndpointFile>(&bytes)
            && ep.pid != std::process::id()
            && Self::reachable(&ep.url).await
        {
            return Ok(ep.url);
        }
        let state_file = self.dir.join(format!("{}.json", c.name));
        let restored = state_file.exists();
        let mut objects = if by_walkthrough {
            Vec::new()
        } else {
            match read_release_seed(&self.dir, &c.name) {
                Some(objects) => objects,
                None => {
                    // A world from before seeds were kept: take the workspace now, once.
                    let objects = releases_on(ws, &c.name);
                    let _ = write_release_seed(&self.dir, &c.name, &objects);
                    objects
                }
            }
        };
        // The platform's Helm releases of the demo's seeded clusters.
        let helm = if self.demo && !by_walkthrough {
            crate::sandbox::seed::helm_releases(&c.name, Clock::System.now_ms())
        } else {
            Vec::new()
        };
        if !restored {
            objects.extend(helm.iter().cloned());
        }
        let scenario = format!("sandbox-{}", c.name);
        let has_scenario = self.demo
            && tierui_core::demo::file(&format!("fixtures/scenarios/{scenario}.yaml")).is_some();
        // The scenario's own manifests first, then the workspace's releases.
        let (scenario, objects) = if has_scenario {
            let (s, mut seeded) = crate::sandbox::scenario::scenario(&scenario)
                .map_err(|e| format!("the simulated {} cluster: {e:#}", c.name))?;
            seeded.extend(objects);
            (s, seeded)
        } else {
            (Default::default(), objects)
        };
        // The add-ons the cluster runs: the spec's and those the sandbox cloud
        // has for it (a walkthrough's `addons` step), beside the scenario's.
        let mut scenario = scenario;
        for addon in self.cloud_addons(c) {
            if !scenario.addons.contains(&addon) {
                scenario.addons.push(addon);
            }
        }
        let config = tierui_sim::SimConfig {
            cluster_name: c.name.clone(),
            seed: tierui_core::paths::fnv1a(c.name.as_bytes()),
            speed: self.speed,
            scenario,
            objects,
            state_file: Some(state_file),
            ..Default::default()
        };
        let handle = tierui_sim::start(config)
            .await
            .map_err(|e| format!("starting the simulated {} cluster: {e:#}", c.name))?;
        let url = handle.url();
        if !by_walkthrough {
            self.bring_seed_up_to_date(&c.name, &url, restored, &helm)
                .await;
        }
        let ep = EndpointFile {
            pid: std::process::id(),
            url: url.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&ep) {
            let _ = tierui_core::paths::write_private(&endpoint_file, &bytes);
        }
        handles.insert(c.name.clone(), handle);
        Ok(url)
    }

    /// A seeded cluster kept from an older seed receives what that seed lacked
    /// (see [`CLUSTER_SEED`]), once; a fresh one had it all in its objects.
    async fn bring_seed_up_to_date(
        &self,
        cluster: &str,
        url: &str,
        restored: bool,
        helm: &[serde_json::Value],
    ) {
        let had = if restored {
            read_seed_version(&self.dir, cluster)
        } else {
            CLUSTER_SEED
        };
        if had < 2 && !helm.is_empty() {
            if let Err(e) = create_missing(url, helm).await {
                tracing::warn!("sandbox {cluster}: its Helm releases were not added: {e}");
                return;
            }
            tracing::info!(
                "sandbox {cluster}: the platform's Helm releases added to a kept cluster"
            );
        }
        if (!restored || had < CLUSTER_SEED)
            && let Err(e) = tierui_core::paths::write_private(
                &self.dir.join(format!("{cluster}.seed-version")),
                CLUSTER_SEED.to_string().as_bytes(),
            )
        {
            tracing::warn!("sandbox {cluster}: seed version not saved: {e:#}");
        }
    }

    /// Stops the clusters this process serves (their state files are written).
    pub async fn shutdown(&self) {
        let mut handles = self.handles.lock().await;
        for (name, h) in std::mem::take(&mut *handles) {
            let _ = std::fs::remove_file(self.dir.join(format!("{name}.endpoint.json")));
            h.shutdown().await;
        }
    }
}

/// What the sandbox seeds into a cluster beyond the workspace's releases, by
/// version: 1 nothing more; 2 the platform's Helm release records (the demo's
/// clusters). `<cluster>.seed-version` says which a kept cluster has (none:
/// 1), and a cluster kept from an older one receives what it lacks at its next
/// start: a seed change reaches sandboxes that exist without a reset.
pub const CLUSTER_SEED: u32 = 2;

fn read_seed_version(clusters_dir: &std::path::Path, cluster: &str) -> u32 {
    std::fs::read_to_string(clusters_dir.join(format!("{cluster}.seed-version")))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(1)
}

/// Creates these objects (Secrets) in a running cluster; one that exists stays.
async fn create_missing(url: &str, objects: &[serde_json::Value]) -> Result<(), String> {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{Api, PostParams};
    let client =
        crate::kube::connect::client(&crate::kube::connect::Endpoint::Url(url.to_string())).await?;
    for o in objects {
        let secret: Secret = serde_json::from_value(o.clone()).map_err(|e| e.to_string())?;
        let ns = secret.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
        match api.create(&PostParams::default(), &secret).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(crate::kube::apply::api_error(e)),
        }
    }
    Ok(())
}

fn seed_file(clusters_dir: &std::path::Path, cluster: &str) -> PathBuf {
    clusters_dir.join(format!("{cluster}.seed.json"))
}

fn write_release_seed(
    clusters_dir: &std::path::Path,
    cluster: &str,
    objects: &[serde_json::Value],
) -> Result<()> {
    tierui_core::paths::private_dir(clusters_dir)?;
    tierui_core::paths::write_private(
        &seed_file(clusters_dir, cluster),
        &serde_json::to_vec(objects)?,
    )
}

fn read_release_seed(
    clusters_dir: &std::path::Path,
    cluster: &str,
) -> Option<Vec<serde_json::Value>> {
    let bytes = std::fs::read(seed_file(clusters_dir, cluster)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Desired objects of every release that runs on `cluster`, in their namespaces.
pub fn releases_on(ws: &Workspace, cluster: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for r in ws.releases_on(cluster) {
        let sealed = crate::tools::SEALED;
        match tierui_core::render::desired::render(ws, r, &Default::default(), sealed) {
            Ok(d) => out.extend(
                d.objects
                    .into_iter()
                    .filter_map(tierui_core::render::holes::stand_in)
                    .map(|mut o| {
                        let kind = o["kind"].as_str().unwrap_or_default().to_string();
                        if !tierui_core::render::normalize::CLUSTER_SCOPED.contains(&kind.as_str())
                            && o.pointer("/metadata/namespace").is_none()
                            && let Some(meta) = o
                                .get_mut("metadata")
                                .and_then(serde_json::Value::as_object_mut)
                        {
                            meta.insert(
                                "namespace".into(),
                                serde_json::Value::String(r.namespace.clone()),
                            );
                        }
                        o
                    }),
            ),
            Err(e) => tracing::warn!("sandbox {cluster}: {} not deployed: {e}", r.title()),
        }
    }
    // Namespaces first, as kubectl apply orders them.
    out.sort_by_key(|o| o["kind"] != "Namespace");
    out
}
