//! The workspace as tierui understands it: cluster stacks, releases and problems.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::eksctl::ClusterConfig;
use super::fields::{Diagnostic, Severity};
use super::manifests::Manifest;
use super::pulumi::{Checkpoint, Project, StackConfig};

#[derive(Debug, Clone)]
pub struct Workspace {
    pub name: String,
    /// Absolute path of the workspace root.
    pub root: PathBuf,
    /// `tierui.yaml` when the workspace has one (else the layout was discovered).
    pub descriptor: Option<PathBuf>,
    pub clusters: Vec<ClusterStack>,
    pub releases: Vec<Release>,
    pub problems: Vec<Problem>,
    /// This load's desired objects as rendered, by release (shared by its
    /// clones; a change of the files reloads, and a new load starts empty).
    pub rendered: RenderCache,
}

/// Renders of one load of the workspace, by release.
#[derive(Debug, Clone, Default)]
pub struct RenderCache(
    std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, crate::render::desired::Desired>>,
    >,
);

impl RenderCache {
    pub fn get(&self, key: &str) -> Option<crate::render::desired::Desired> {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get(key).cloned()
    }

    pub fn put(&self, key: String, d: &crate::render::desired::Desired) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(key, d.clone());
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Something wrong (or not supported yet) in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Path relative to the workspace root.
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub severity: Severity,
    pub message: String,
}

impl Problem {
    pub fn from_diag(file: &Path, d: &Diagnostic) -> Self {
        Problem {
            file: file.to_path_buf(),
            line: d.line,
            col: d.col,
            severity: d.severity,
            message: d.message.clone(),
        }
    }

    pub fn file_level(file: &Path, severity: Severity, message: impl Into<String>) -> Self {
        Problem {
            file: file.to_path_buf(),
            line: 0,
            col: 0,
            severity,
            message: message.into(),
        }
    }

    /// `file:line:col` (or just `file` for problems with no position).
    pub fn location(&self) -> String {
        if self.line == 0 {
            self.file.display().to_string()
        } else {
            format!("{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.location(), self.message)
    }
}

#[derive(Debug, Clone)]
pub struct ClusterStack {
    pub name: String,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// kube context for this cluster (tierui.yaml); without it tierui finds
    /// one (the backends' `kube::context`).
    pub context: Option<String>,
    pub source: ClusterSource,
}

#[derive(Debug, Clone)]
pub enum ClusterSource {
    Pulumi(Box<PulumiStack>),
    Eksctl {
        /// Relative to the workspace root.
        config_file: PathBuf,
        script: Option<PathBuf>,
        /// `None` when the file could not be read (see problems).
        config: Option<Box<ClusterConfig>>,
    },
}

/// One stack of a Pulumi project, with what could be read of it.
#[derive(Debug, Clone)]
pub struct PulumiStack {
    /// The organisation in the stack's fully qualified name: `organization` on a
    /// file or bucket backend, tierui.yaml's `pulumiOrganization` on Pulumi Cloud.
    pub organization: String,
    /// Project directory relative to the workspace root.
    pub project_dir: PathBuf,
    pub stack: String,
    /// `Pulumi.<stack>.yaml`, relative to the workspace root.
    pub config_file: PathBuf,
    pub project: Option<Project>,
    pub config: Option<StackConfig>,
    pub checkpoint_file: Option<PathBuf>,
    pub checkpoint: Option<Checkpoint>,
    /// For Python and TypeScript infra programs: what the program declares,
    /// once it has run under the Pulumi SDK's mocks (None until then, or when
    /// it declares no EKS cluster).
    pub program_spec: Option<Box<super::spec::ClusterSpec>>,
}

impl PulumiStack {
    /// `<organization>/<project>/<stack>`, the name StackReferences use.
    pub fn qualified_name(&self) -> Option<String> {
        let project = self.project.as_ref()?;
        Some(format!(
            "{}/{}/{}",
            self.organization, project.name, self.stack
        ))
    }
}

impl ClusterStack {
    pub fn provisioner(&self) -> &'static str {
        match self.source {
            ClusterSource::Pulumi(_) => "pulumi",
            ClusterSource::Eksctl { .. } => "eksctl",
        }
    }

    /// The file that is this cluster's source of truth.
    pub fn source_file(&self) -> &Path {
        match &self.source {
            ClusterSource::Pulumi(p) => &p.config_file,
            ClusterSource::Eksctl { config_file, .. } => config_file,
        }
    }

    pub fn eksctl_config(&self) -> Option<&ClusterConfig> {
        match &self.source {
            ClusterSource::Eksctl { config, .. } => config.as_deref(),
            ClusterSource::Pulumi(_) => None,
        }
    }

    pub fn pulumi(&self) -> Option<&PulumiStack> {
        match &self.source {
            ClusterSource::Pulumi(p) => Some(p),
            ClusterSource::Eksctl { .. } => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Release {
    pub service: String,
    pub environment: Option<String>,
    /// The cluster it runs on, when known.
    pub cluster: Option<String>,
    pub namespace: String,
    pub source: ReleaseSource,
    pub summary: ReleaseSummary,
}

#[derive(Debug, Clone)]
pub enum ReleaseSource {
    Pulumi(Box<PulumiStack>),
    Kubectl {
        /// Folder of manifests, relative to the workspace root.
        manifest_dir: PathBuf,
        /// Objects with the file each came from (relative to the root).
        objects: Vec<(PathBuf, Manifest)>,
        /// The folder has a kustomization.yaml (rendered with `kubectl kustomize`).
        kustomize: bool,
        /// The folder is a Helm chart (it has a Chart.yaml): rendered with
        /// `helm template`, its files never read as manifests.
        chart: Option<HelmChart>,
    },
}

/// A Helm chart folder as its `Chart.yaml` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmChart {
    pub name: String,
    pub version: String,
    pub app_version: Option<String>,
    /// The chart's values files (`values.yaml`, `values-<env>.yaml`…),
    /// relative to the workspace root.
    pub values_files: Vec<PathBuf>,
}

impl HelmChart {
    /// `name version`, as an operator names a chart.
    pub fn label(&self) -> String {
        if self.version.is_empty() {
            self.name.clone()
        } else {
            format!("{} {}", self.name, self.version)
        }
    }

    /// The values files `helm template` gets for an environment, in order:
    /// `values.yaml`, then `values-<env>.yaml` (or `.yml`), those that exist.
    pub fn values_for(&self, environment: Option<&str>) -> Vec<PathBuf> {
        let mut names = vec!["values.yaml".to_string(), "values.yml".to_string()];
        if let Some(env) = environment {
            names.push(format!("values-{env}.yaml"));
            names.push(format!("values-{env}.yml"));
        }
        names
            .iter()
            .filter_map(|n| {
                self.values_files
                    .iter()
                    .find(|f| f.file_name().is_some_and(|f| f == n.as_str()))
                    .cloned()
            })
            .collect()
    }
}

/// The handful of values an operator looks at first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReleaseSummary {
    pub image: Option<String>,
    pub image_tag: Option<String>,
    pub replicas: Option<i64>,
    pub hpa_min: Option<i64>,
    pub hpa_max: Option<i64>,
    /// HPA CPU utilisation target in percent.
    pub cpu_target: Option<i64>,
    /// Kinds and names of the desired objects (`Deployment/day-service`).
    pub objects: Vec<String>,
    /// The Deployment's pod selector as a label selector (`app=day-service`).
    pub selector: Option<String>,
    /// Why the desired objects could not be (fully) rendered.
    pub render_notes: Vec<String>,
}

impl Release {
    pub fn manager(&self) -> &'static str {
        match self.source {
            ReleaseSource::Pulumi(_) => "pulumi",
            ReleaseSource::Kubectl { chart: Some(_), .. } => "helm",
            ReleaseSource::Kubectl { .. } => "kubectl",
        }
    }

    /// The Helm chart the release renders, when its folder is one.
    pub fn chart(&self) -> Option<&HelmChart> {
        match &self.source {
            ReleaseSource::Kubectl { chart, .. } => chart.as_ref(),
            ReleaseSource::Pulumi(_) => None,
        }
    }

    /// `service · env` or just `service`.
    pub fn title(&self) -> String {
        match &self.environment {
            Some(env) => format!("{} · {env}", self.service),
            None => self.service.clone(),
        }
    }

    /// The file an operator edits to change this release.
    pub fn source_file(&self) -> &Path {
        match &self.source {
            ReleaseSource::Pulumi(p) => &p.config_file,
            ReleaseSource::Kubectl { manifest_dir, .. } => manifest_dir,
        }
    }
}

impl Workspace {
    /// Release titles of Pulumi app stacks whose StackReference resolves to `stack`.
    pub fn app_stacks_of(&self, stack: Option<&str>) -> Vec<String> {
        let Some(stack) = stack else {
            return Vec::new();
        };
        let cluster = self
            .clusters
            .iter()
            .find(|c| c.pulumi().and_then(|p| p.qualified_name()).as_deref() == Some(stack));
        self.releases
            .iter()
            .filter(|r| {
                matches!(r.source, ReleaseSource::Pulumi(_))
                    && cluster.is_some_and(|c| r.cluster.as_deref() == Some(c.name.as_str()))
            })
            .map(|r| r.title())
            .collect()
    }

    pub fn cluster(&self, name: &str) -> Option<&ClusterStack> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// Releases of a service; `env`/`cluster` narrow the choice.
    pub fn find_releases(
        &self,
        service: &str,
        env: Option<&str>,
        cluster: Option<&str>,
    ) -> Vec<&Release> {
        self.releases
            .iter()
            .filter(|r| r.service == service)
            .filter(|r| env.is_none() || r.environment.as_deref() == env)
            .filter(|r| cluster.is_none() || r.cluster.as_deref() == cluster)
            .collect()
    }

    /// Releases that run on a cluster.
    pub fn releases_on<'a>(&'a self, cluster: &'a str) -> impl Iterator<Item = &'a Release> + 'a {
        self.releases
            .iter()
            .filter(move |r| r.cluster.as_deref() == Some(cluster))
    }

    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }
}
