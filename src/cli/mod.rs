//! Command line: `tierui [flags] [command]` — the clap types, and the commands
//! that run without the UI (`status`, `walk`, `diff`/`apply`, `watch`). clap
//! stays in this folder: flags become the core's own option types here.

pub mod logs;
pub mod migrate;
pub mod release;
pub mod status;
pub mod walk;
pub mod watch;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tierui",
    version,
    about = "Terminal workbench for two-tier EKS: cluster stacks and application releases"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Foundation workspace to open (default: the repository around the current directory).
    #[arg(long, short = 'w', global = true, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Use the sandbox cloud and simulated clusters instead of AWS and kubeconfig.
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// Refuse every write: files, clusters and AWS.
    #[arg(long, global = true)]
    pub readonly: bool,
    /// AWS profile (overrides AWS_PROFILE and tierui.yaml).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (overrides AWS_REGION and tierui.yaml).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send AWS calls to this endpoint (moto, LocalStack); also AWS_ENDPOINT_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Colour theme: default, light, high-contrast, or a file name in the config dir.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Time factor for the sandbox cloud and simulated clusters (10 = ten times faster).
    #[arg(long, global = true, value_name = "X")]
    pub speed: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the bundled demo workspace in sandbox mode.
    Demo,
    /// Print the workspace model (clusters, releases, config, problems) without the UI.
    Status(StatusArgs),
    /// Guided, step-by-step creation of an eksctl-style cluster.
    Walk(WalkArgs),
    /// Print a release's pod and HPA rows as they change.
    Watch(WatchArgs),
    /// Logs of every pod of a release, prefixed by pod and container (stern-like).
    Logs(LogsArgs),
    /// Drift diff of a release: desired (server-side dry run) against live.
    Diff(DiffArgs),
    /// Server-side apply a release after showing its drift diff.
    Apply(ApplyArgs),
    /// Move a service between kubectl YAML and a Pulumi app stack, proven equal
    /// (render against manifests, or manifests against the live cluster) first.
    Migrate(MigrateArgs),
    /// Serve a simulated Kubernetes API on 127.0.0.1.
    Sim(SimArgs),
    /// Manage the persistent sandbox world of this workspace.
    Sandbox {
        #[command(subcommand)]
        command: SandboxCommand,
    },
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Also ask AWS (or the sandbox cloud) for each cluster's live state and drift,
    /// and each release's cluster for its sync and health.
    #[arg(long)]
    pub live: bool,
    /// With --live (implied): exit 1 when a release is out of sync, missing or
    /// degraded, or a two-tier rule is broken (for CI and cron).
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct WalkArgs {
    /// Cluster name from the workspace, or a path to an eksctl ClusterConfig file.
    pub cluster: String,
    /// Print the plan and exit.
    #[arg(long)]
    pub plan: bool,
    /// Run every step without asking.
    #[arg(long)]
    pub yes: bool,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Delete what the walkthrough created, in reverse order.
    #[arg(long)]
    pub teardown: bool,
}

#[derive(Debug, Args)]
pub struct ReleaseSelector {
    /// Service name.
    pub service: String,
    /// Environment of the service (default: its only one).
    #[arg(long, short = 'e', value_name = "ENV")]
    pub env: Option<String>,
    /// Cluster (default: the environment's).
    #[arg(long, short = 'c', value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Service name (not with -A).
    pub service: Option<String>,
    /// Environment of the service (default: its only one).
    #[arg(long, short = 'e', value_name = "ENV")]
    pub env: Option<String>,
    /// Cluster (default: the environment's; with -A, the cluster to watch).
    #[arg(long, short = 'c', value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Every pod of the cluster in every namespace, like `kubectl get pods -A -w`.
    #[arg(
        long = "all-namespaces",
        short = 'A',
        requires = "cluster",
        conflicts_with = "service"
    )]
    pub all_namespaces: bool,
    #[arg(long)]
    pub json: bool,
    /// Stop after this long (e.g. 30s, 2m).
    #[arg(long = "for", value_name = "DURATION")]
    pub for_: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub release: ReleaseSelector,
    /// Keep following new lines (and new pods) until Ctrl-c.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only lines newer than this (e.g. 10m, 1h).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// The last N lines of each container.
    #[arg(long, value_name = "N")]
    pub tail: Option<i64>,
    /// The previous (terminated) container of each pod: why it crashed.
    #[arg(long, short = 'p')]
    pub previous: bool,
    /// Only this container of each pod.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// Each line's time as the kubelet recorded it.
    #[arg(long)]
    pub timestamps: bool,
    /// One JSON object per line: time, pod, container, message.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub release: ReleaseSelector,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateTarget {
    /// A Pulumi YAML app project that adopts the live objects.
    Pulumi,
    /// A folder of manifests from the live objects, then the Pulumi hand-over.
    Kubectl,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub release: ReleaseSelector,
    /// What the service moves to.
    #[arg(long, value_enum)]
    pub to: MigrateTarget,
    /// The Pulumi runtime to generate: yaml (default), python or typescript.
    #[arg(long, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    /// With --runtime python: a virtualenv with pulumi and pulumi-kubernetes,
    /// to prove the program by running it under the SDK's mocks.
    #[arg(long, value_name = "PATH")]
    pub venv: Option<std::path::PathBuf>,
    /// With --runtime typescript: a node_modules with @pulumi/pulumi and
    /// @pulumi/kubernetes, to prove the program under the SDK's mocks.
    #[arg(long, value_name = "PATH")]
    pub node_modules: Option<std::path::PathBuf>,
    /// Folder to write, relative to the workspace (default gitops/<service> or
    /// k8s/<service>-<env>); it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// Run the Pulumi hand-over steps without asking each.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub release: ReleaseSelector,
    /// Apply without asking.
    #[arg(long)]
    pub yes: bool,
    /// Take ownership of fields other field managers own (kubectl's
    /// `--server-side --force-conflicts`); without it an apply stops on them
    /// and, when asking, asks again naming the managers.
    #[arg(long)]
    pub force_conflicts: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Write a kubeconfig for the simulator here.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Extra pods to create for scale testing.
    #[arg(long, default_value_t = 0)]
    pub pods: usize,
    /// Nodes in the cluster (default: the scenario's).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Namespaces the extra pods are spread over (1: all in `load`).
    #[arg(long, default_value_t = 1)]
    pub namespaces: usize,
    /// Pod events per second generated by churn.
    #[arg(long, default_value_t = 0.0)]
    pub churn: f64,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scenario from fixtures/scenarios (steady, rollout, scale-up, crash-loop) or a file.
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
}

impl GlobalArgs {
    /// The flags as the core's own options.
    pub fn options(&self) -> tierui_core::context::Options {
        tierui_core::context::Options {
            workspace: self.workspace.clone(),
            sandbox: self.sandbox,
            readonly: self.readonly,
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            theme: self.theme.clone(),
            speed: self.speed,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Forget everything the sandbox world holds for this workspace.
    Reset,
}

/// The simulator's own options from `tierui sim`'s flags (clap stays here, at
/// the edge): a bundled scenario name or a file is resolved into its data.
pub fn sim_serve(args: &SimArgs, speed: f64) -> anyhow::Result<tierui_sim::Serve> {
    let base = match &args.scenario {
        Some(name) => tierui_backends::sandbox::scenario::sim_config(name)?,
        None => tierui_sim::SimConfig::default(),
    };
    Ok(tierui_sim::Serve {
        config: tierui_sim::SimConfig {
            cluster_name: "sim".into(),
            port: args.port,
            pods: args.pods,
            nodes: args.nodes,
            load_namespaces: args.namespaces,
            churn: args.churn,
            seed: args.seed,
            speed,
            ..base
        },
        scenario_label: args.scenario.clone(),
        kubeconfig: args.kubeconfig.clone(),
    })
}
