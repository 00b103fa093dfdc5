//! `tierui sim`: a Kubernetes API server on loopback, faithful enough for stock
//! kubectl and kube-rs, backing the sandbox's simulated clusters, the tests and
//! the benchmarks.
//!
//! Layout: `store` (objects as bytes, resource versions, change ring) ·
//! `state`/`ops` (writes: validation, defaults, managedFields, dry run,
//! cascade) · `patch` (merge, JSON, strategic, server-side apply) · `selector`
//! · `api` (routing, discovery, OpenAPI, reads, watches, tables) ·
//! `controllers` (deployments, replica sets, kubelet, HPA, churn) · `metrics`
//! · `scenario` · `persist`.
//!
//! This crate owns the simulated cluster and nothing else: it depends on no
//! other tierui crate, touches no terminal and no cloud, and listens only on
//! 127.0.0.1. Scenarios and seed objects come in as data ([`SimConfig`]); the
//! `tierui` binary resolves scenario names and the demo's manifests.

pub mod api;
pub mod cel;
pub mod clock;
pub mod cluster;
pub mod controllers;
pub mod crd;
pub mod cron;
pub mod defaults;
pub mod kinds;
pub mod logs;
pub mod metrics;
pub mod ops;
pub mod patch;
pub mod persist;
pub mod protobuf;
pub mod quantity;
pub mod scenario;
pub mod selector;
pub mod state;
pub mod status;
pub mod store;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use self::clock::Clock;
use self::cluster::Sim;
use self::scenario::Scenario;
use self::state::State;

/// How to start a simulated cluster.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub cluster_name: String,
    /// 0 picks a free port.
    pub port: u16,
    /// Extra running pods (namespace `load`, or `load-000` … with
    /// `load_namespaces` above 1) for scale tests.
    pub pods: usize,
    /// How many namespaces the load pods are spread over (1: `load`).
    pub load_namespaces: usize,
    /// Nodes instead of the scenario's count (scale tests).
    pub nodes: Option<usize>,
    /// Pod events per second on those pods.
    pub churn: f64,
    pub seed: u64,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Nodes, timing, load, registry and scripted actions (empty by default).
    pub scenario: Scenario,
    /// Manifests server-side applied (field manager `tierui`) on a fresh start:
    /// the scenario's manifests, as the caller resolved them, and its own.
    pub objects: Vec<serde_json::Value>,
    /// Persist the store here (0600, parent 0700) and restore it at start.
    pub state_file: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            cluster_name: "sim".into(),
            port: 0,
            pods: 0,
            load_namespaces: 1,
            nodes: None,
            churn: 0.0,
            seed: 1,
            speed: 1.0,
            scenario: Scenario::default(),
            objects: Vec::new(),
            state_file: None,
        }
    }
}

/// A running simulated cluster.
pub struct SimHandle {
    sim: Arc<Sim>,
    addr: SocketAddr,
    cluster_name: String,
    state_file: Option<PathBuf>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts a cluster on the current tokio runtime; returns once it is listening.
pub async fn start(config: SimConfig) -> anyhow::Result<SimHandle> {
    let mut scenario = config.scenario.clone();
    if let Some(n) = config.nodes {
        scenario.nodes.count = n;
    }
    let mut st = State::new(config.seed);
    let restored = match &config.state_file {
        Some(path) => persist::load(&mut st, path)?,
        None => false,
    };
    if !restored {
        controllers::bootstrap::namespaces(&mut st);
        controllers::bootstrap::nodes(&mut st, &scenario);
        for problem in controllers::bootstrap::objects(&mut st, &config.objects) {
            tracing::warn!("sim {}: {problem}", config.cluster_name);
        }
        controllers::bootstrap::load_pods(&mut st, config.pods, config.load_namespaces);
    }
    // EKS's storage classes, on restored clusters too (saved before they existed).
    controllers::volumes::storage_classes(&mut st, &scenario);
    controllers::loadbalancers::seed(&mut st, &scenario);
    let sim = Arc::new(Sim::new(
        st,
        Clock::new(config.speed),
        scenario,
        config.seed,
        config.churn,
    ));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", config.port))?;
    let addr = listener.local_addr()?;
    let _ = sim.addr.set(addr);
    let mut tasks = Vec::new();
    let mut stop = sim.shutdown.subscribe();
    let app = api::router(sim.clone());
    tasks.push(tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        });
        if let Err(e) = serve.await {
            tracing::error!("sim server: {e}");
        }
    }));
    tasks.push(tokio::spawn(controllers::run(sim.clone())));
    if let Some(path) = config.state_file.clone() {
        let sim = sim.clone();
        tasks.push(tokio::spawn(async move {
            let mut saved = 0;
            let mut stop = sim.shutdown.subscribe();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                    _ = stop.changed() => return,
                }
                let st = sim.lock();
                if st.store.rv() != saved {
                    saved = st.store.rv();
                    if let Err(e) = persist::save(&st, &path) {
                        tracing::warn!("sim state file: {e:#}");
                    }
                }
            }
        }));
    }
    Ok(SimHandle {
        sim,
        addr,
        cluster_name: config.cluster_name,
        state_file: config.state_file,
        tasks,
    })
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig with one cluster, user and context; no credentials (plain HTTP).
    pub fn kubeconfig_yaml(&self, context: &str) -> String {
        let c = &self.cluster_name;
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {c}\n  cluster:\n    server: {url}\nusers:\n- name: {c}-user\n  user: {{}}\ncontexts:\n- name: {context}\n  context:\n    cluster: {c}\n    user: {c}-user\n    namespace: default\ncurrent-context: {context}\npreferences: {{}}\n",
            url = self.url()
        )
    }

    /// Test hook: the server closes every open watch stream.
    pub fn drop_watches(&self) {
        self.sim.drops.send_modify(|g| *g += 1);
    }

    /// Test hook: forget the change history past every resourceVersion handed
    /// out so far (as etcd compaction after a further write does), so any watch
    /// resumes with 410 Gone — also one whose last bookmark carried the newest
    /// version, which made the tests' relist race a bookmark tick.
    pub fn compact(&self) {
        let mut st = self.sim.lock();
        st.store.skip_version();
        st.store.compact();
    }

    /// The shared simulator, for in-process inspection (benchmarks, tests).
    pub fn sim(&self) -> &Arc<Sim> {
        &self.sim
    }

    /// Stops serving and the controllers; writes the state file one last time.
    pub async fn shutdown(self) {
        self.sim.shutdown.send_replace(true);
        for t in self.tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
            {
                // Never leave a server running detached after shutdown.
                abort.abort();
            }
        }
        if let Some(path) = &self.state_file {
            let st = self.sim.lock();
            if let Err(e) = persist::save(&st, path) {
                tracing::warn!("sim state file: {e:#}");
            }
        }
    }
}

/// A simulator served from the command line (`tierui sim`, `tierui-sim`).
#[derive(Debug, Clone, Default)]
pub struct Serve {
    pub config: SimConfig,
    /// How the scenario is named in the banner.
    pub scenario_label: Option<String>,
    /// Write a kubeconfig for the simulator here.
    pub kubeconfig: Option<PathBuf>,
}

/// Serves until Ctrl-C or SIGTERM.
pub fn serve(opts: Serve) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (seed, speed) = (opts.config.seed, opts.config.speed);
        let handle = start(opts.config).await?;
        println!(
            "tierui sim: serving {} (scenario {}, seed {seed}, speed {speed})",
            handle.url(),
            opts.scenario_label.as_deref().unwrap_or("none"),
        );
        if let Some(path) = &opts.kubeconfig {
            write_kubeconfig(path, &handle.kubeconfig_yaml("sim"))?;
            println!("tierui sim: kubeconfig written to {}", path.display());
        }
        wait_for_signal().await;
        handle.shutdown().await;
        anyhow::Ok(())
    })
}

fn write_kubeconfig(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    use std::io::Write as _;
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
