//! Builds a [`Workspace`] from disk: from `tierui.yaml` when present, else from
//! what discovery finds. Every unreadable or invalid file becomes a [`Problem`];
//! the rest of the workspace still loads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::descriptor::{self, ClusterProvisioner, Descriptor, ServiceManager};
use super::discover;
use super::eksctl;
use super::fields::{Diags, Severity};
use super::manifests::{self, Manifest};
use super::model::*;
use super::pulumi::{self, Project};
use super::yaml::{self, Node};
use crate::workspace::pulumi_yaml;

pub const DESCRIPTOR: &str = "tierui.yaml";

/// Loads the workspace rooted at `root`.
pub fn load(root: &Path) -> Workspace {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut l = Loader {
        root: root.clone(),
        problems: Vec::new(),
        projects: BTreeMap::new(),
        organization: None,
    };
    let descriptor_path = root.join(DESCRIPTOR);
    let (desc, descriptor) = if descriptor_path.is_file() {
        let desc = l.yaml(Path::new(DESCRIPTOR)).map(|node| {
            let mut d = Diags::new();
            let desc = descriptor::parse(&node, &mut d);
            l.report(Path::new(DESCRIPTOR), &d);
            desc
        });
        (
            desc.unwrap_or(Descriptor {
                name: None,
                pulumi_organization: None,
                clusters: Vec::new(),
                services: Vec::new(),
            }),
            Some(descriptor_path),
        )
    } else {
        (discover::discover(&root, &mut l.problems), None)
    };
    let name = desc.name.clone().unwrap_or_else(|| {
        root.file_name()
            .map_or_else(|| "workspace".into(), |n| n.to_string_lossy().into_owned())
    });
    l.organization = desc.pulumi_organization.clone();
    let clusters: Vec<ClusterStack> = desc.clusters.iter().map(|c| l.cluster(c)).collect();
    let mut releases = Vec::new();
    for s in &desc.services {
        l.service(s, &clusters, &mut releases);
    }
    let mut problems = l.problems;
    problems.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    problems.dedup();
    let mut ws = Workspace {
        name,
        root,
        descriptor,
        clusters,
        releases,
        problems,
        rendered: Default::default(),
    };
    super::tiers::refresh(&mut ws);
    ws
}

struct Loader {
    root: PathBuf,
    problems: Vec<Problem>,
    /// Parsed Pulumi.yaml per project dir (with its program tree).
    projects: BTreeMap<PathBuf, Option<(Project, Node)>>,
    /// tierui.yaml's `pulumiOrganization`.
    organization: Option<String>,
}

impl Loader {
    fn report(&mut self, file: &Path, diags: &[super::fields::Diagnostic]) {
        self.problems
            .extend(diags.iter().map(|d| Problem::from_diag(file, d)));
    }

    fn read(&mut self, rel: &Path) -> Option<Vec<u8>> {
        match std::fs::read(self.root.join(rel)) {
            Ok(b) => Some(b),
            Err(e) => {
                let msg = match e.kind() {
                    std::io::ErrorKind::NotFound => "file not found".to_string(),
                    _ => format!("cannot read: {e}"),
                };
                self.problems
                    .push(Problem::file_level(rel, Severity::Error, msg));
                None
            }
        }
    }

    fn text(&mut self, rel: &Path) -> Option<String> {
        let bytes = self.read(rel)?;
        match yaml::decode(&bytes) {
            Ok(s) => Some(s.to_string()),
            Err(e) => {
                self.problems.push(Problem {
                    file: rel.to_path_buf(),
                    line: e.line,
                    col: e.col,
                    severity: Severity::Error,
                    message: e.message,
                });
                None
            }
        }
    }

    fn yaml(&mut self, rel: &Path) -> Option<Node> {
        let text = self.text(rel)?;
        match yaml::parse_single(&text) {
            Ok(n) => Some(n),
            Err(e) => {
                self.problems.push(Problem {
                    file: rel.to_path_buf(),
                    line: e.line,
                    col: e.col,
                    severity: Severity::Error,
                    message: e.message,
                });
                None
            }
        }
    }

    fn project(&mut self, dir: &Path) -> Option<(Project, Node)> {
        if let Some(p) = self.projects.get(dir) {
            return p.clone();
        }
        let file = ["Pulumi.yaml", "Pulumi.yml"]
            .iter()
            .map(|f| dir.join(f))
            .find(|f| self.root.join(f).is_file());
        let parsed = match file {
            None => {
                self.problems.push(Problem::file_level(
                    &dir.join("Pulumi.yaml"),
                    Severity::Error,
                    "file not found",
                ));
                None
            }
            Some(file) => self.yaml(&file).and_then(|node| {
                let mut d = Diags::new();
                let p = pulumi::parse_project(&node, &mut d);
                self.report(&file, &d);
                p.map(|p| (p, node))
            }),
        };
        self.projects.insert(dir.to_path_buf(), parsed.clone());
        parsed
    }

    fn pulumi_stack(&mut self, dir: &Path, stack: &str) -> PulumiStack {
        let project = self.project(dir);
        let config_file = dir.join(format!("Pulumi.{stack}.yaml"));
        let config = match &project {
            Some((p, _)) => self.yaml(&config_file).map(|node| {
                let mut d = Diags::new();
                let c = pulumi::parse_stack_config(&node, &p.name, &p.config, &mut d);
                self.report(&config_file, &d);
                c
            }),
            _ => None,
        };
        let (checkpoint_file, checkpoint) = match &project {
            Some((p, _)) => {
                match pulumi::find_checkpoint(&self.root.join(dir), &self.root, p, stack) {
                    Some(abs) => {
                        let rel = abs
                            .strip_prefix(&self.root)
                            .map_or_else(|_| abs.clone(), Path::to_path_buf);
                        let c = self.read(&rel).and_then(|bytes| {
                            let mut d = Diags::new();
                            let c = pulumi::parse_checkpoint(&bytes, &mut d);
                            self.report(&rel, &d);
                            c
                        });
                        (Some(rel), c)
                    }
                    None => (None, None),
                }
            }
            None => (None, None),
        };
        let organization = pulumi::organization(
            project.as_ref().and_then(|(p, _)| p.backend_url.as_deref()),
            std::env::var("PULUMI_BACKEND_URL").ok().as_deref(),
            self.organization.as_deref(),
        );
        PulumiStack {
            organization,
            project_dir: dir.to_path_buf(),
            stack: stack.to_string(),
            config_file,
            project: project.map(|(p, _)| p),
            config,
            checkpoint_file,
            checkpoint,
            program_spec: None,
        }
    }

    fn cluster(&mut self, c: &descriptor::ClusterEntry) -> ClusterStack {
        let source = match &c.provisioner {
            ClusterProvisioner::Pulumi { project, stack } => {
                ClusterSource::Pulumi(Box::new(self.pulumi_stack(project, stack)))
            }
            ClusterProvisioner::Eksctl { config, script } => {
                let parsed = self.text(config).and_then(|text| {
                    let docs = match yaml::parse_documents(&text) {
                        Ok(d) => d,
                        Err(e) => {
                            self.problems.push(Problem {
                                file: config.clone(),
                                line: e.line,
                                col: e.col,
                                severity: Severity::Error,
                                message: e.message,
                            });
                            return None;
                        }
                    };
                    let doc = docs.iter().find(|d| !d.root.is_null())?;
                    let mut d = Diags::new();
                    let cfg = eksctl::parse(&doc.root, &mut d);
                    self.report(config, &d);
                    cfg
                });
                if let Some(script) = script
                    && !self.root.join(script).is_file()
                {
                    self.problems.push(Problem::file_level(
                        script,
                        Severity::Warning,
                        "script named in tierui.yaml not found",
                    ));
                }
                ClusterSource::Eksctl {
                    config_file: config.clone(),
                    script: script.clone(),
                    config: parsed.map(Box::new),
                }
            }
        };
        let region = c.region.clone().or_else(|| match &source {
            ClusterSource::Pulumi(p) => p
                .config
                .as_ref()
                .and_then(|cfg| cfg.text("aws", "aws:region"))
                .map(str::to_string),
            ClusterSource::Eksctl { config, .. } => config.as_ref().map(|c| c.region.clone()),
        });
        ClusterStack {
            name: c.name.clone(),
            region,
            profile: c.profile.clone(),
            context: c.context.clone(),
            source,
        }
    }

    fn service(
        &mut self,
        s: &descriptor::ServiceEntry,
        clusters: &[ClusterStack],
        out: &mut Vec<Release>,
    ) {
        let envs: Vec<descriptor::EnvironmentEntry> = if !s.environments.is_empty() {
            s.environments.clone()
        } else {
            match &s.manager {
                // A Pulumi service without listed environments has one per stack file.
                ServiceManager::Pulumi { project } => stack_names(&self.root.join(project))
                    .into_iter()
                    .map(|name| descriptor::EnvironmentEntry {
                        name,
                        stack: None,
                        cluster: None,
                        namespace: None,
                        pos: s.pos,
                    })
                    .collect(),
                ServiceManager::Kubectl { .. } => Vec::new(),
            }
        };
        match &s.manager {
            ServiceManager::Pulumi { project } => {
                for env in &envs {
                    let stack = env.stack.clone().unwrap_or_else(|| env.name.clone());
                    let ps = self.pulumi_stack(project, &stack);
                    let program = self.project(project).map(|(_, node)| node);
                    let rendered = program
                        .as_ref()
                        .map(|node| render_stack(node, &ps, clusters));
                    let referenced = rendered.as_ref().and_then(|r| r.1.clone());
                    let cluster = env
                        .cluster
                        .clone()
                        .or_else(|| s.cluster.clone())
                        .or(referenced);
                    let objects: Vec<Json> = rendered
                        .as_ref()
                        .map(|r| r.0.objects.iter().map(|o| o.object.clone()).collect())
                        .unwrap_or_default();
                    let namespace = env
                        .namespace
                        .clone()
                        .or_else(|| s.namespace.clone())
                        .or_else(|| common_namespace(&objects))
                        .unwrap_or_else(|| "default".into());
                    let mut summary = summarize(&objects);
                    if let Some((r, _)) = &rendered {
                        summary.render_notes = r.notes.clone();
                    }
                    // Python and Node.js programs run under the SDK's mocks (render).
                    if let Some(p) = ps
                        .project
                        .as_ref()
                        .filter(|p| !matches!(p.runtime.as_str(), "yaml" | "python" | "nodejs"))
                    {
                        summary.render_notes.push(format!(
                            "runtime {} has no mock SDK here: only config values are compared",
                            p.runtime
                        ));
                    }
                    out.push(Release {
                        service: s.name.clone(),
                        environment: Some(env.name.clone()),
                        cluster,
                        namespace,
                        source: ReleaseSource::Pulumi(Box::new(ps)),
                        summary,
                    });
                }
            }
            ServiceManager::Kubectl { manifests } => {
                let (objects, kustomize, chart) = self.manifest_dir(manifests);
                let jsons: Vec<Json> = objects.iter().map(|(_, m)| m.object.clone()).collect();
                let summary = summarize(&jsons);
                let default_ns = common_namespace(&jsons);
                let envs = if envs.is_empty() {
                    vec![None]
                } else {
                    envs.into_iter().map(Some).collect()
                };
                for env in envs {
                    let cluster = env
                        .as_ref()
                        .and_then(|e| e.cluster.clone())
                        .or_else(|| s.cluster.clone());
                    let namespace = env
                        .as_ref()
                        .and_then(|e| e.namespace.clone())
                        .or_else(|| s.namespace.clone())
                        .or_else(|| default_ns.clone())
                        .unwrap_or_else(|| "default".into());
                    out.push(Release {
                        service: s.name.clone(),
                        environment: env.map(|e| e.name),
                        cluster,
                        namespace,
                        source: ReleaseSource::Kubectl {
                            manifest_dir: manifests.clone(),
                            objects: objects.clone(),
                            kustomize,
                            chart: chart.clone(),
                        },
                        summary: summary.clone(),
                    });
                }
            }
        }
    }

    /// A release's folder: its manifests and whether kustomize renders them,
    /// or the Helm chart it is (whose files are never manifests).
    fn manifest_dir(&mut self, dir: &Path) -> (Vec<(PathBuf, Manifest)>, bool, Option<HelmChart>) {
        let abs = self.root.join(dir);
        if is_chart(&abs) {
            return (Vec::new(), false, Some(self.chart(dir)));
        }
        let Ok(entries) = std::fs::read_dir(&abs) else {
            self.problems.push(Problem::file_level(
                dir,
                Severity::Error,
                "manifest folder not found",
            ));
            return (Vec::new(), false, None);
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && is_manifest_name(p))
            .collect();
        files.sort();
        let kustomize = files.iter().any(|f| is_kustomization(f));
        let mut out = Vec::new();
        for file in files.iter().filter(|f| !is_kustomization(f)) {
            let rel = file
                .strip_prefix(&self.root)
                .map_or_else(|_| file.clone(), Path::to_path_buf);
            let Some(text) = self.text(&rel) else {
                continue;
            };
            let mut d = Diags::new();
            // JSON is YAML, so one reader serves both with the same positioned errors.
            let objs = manifests::parse(&text, &mut d);
            self.report(&rel, &d);
            out.extend(objs.into_iter().map(|m| (rel.clone(), m)));
        }
        (out, kustomize, None)
    }

    /// A chart folder's `Chart.yaml` and values files. A Chart.yaml that
    /// cannot be read is a problem of that file; the folder is still a chart.
    fn chart(&mut self, dir: &Path) -> HelmChart {
        let file = dir.join(CHART_FILE);
        let meta = self.yaml(&file);
        let field = |k: &str| meta.as_ref()?.get(k)?.scalar_text();
        let name = field("name");
        if meta.is_some() && name.is_none() {
            self.problems.push(Problem::file_level(
                &file,
                Severity::Warning,
                "Chart.yaml has no name: the folder's name is used",
            ));
        }
        let mut values_files: Vec<PathBuf> = std::fs::read_dir(self.root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                let yaml = n.ends_with(".yaml") || n.ends_with(".yml");
                let values = yaml && (n.starts_with("values.") || n.starts_with("values-"));
                values.then(|| dir.join(n))
            })
            .collect();
        values_files.sort();
        HelmChart {
            name: name.unwrap_or_else(|| {
                dir.file_name()
                    .map_or_else(|| "chart".into(), |n| n.to_string_lossy().into_owned())
            }),
            version: field("version").unwrap_or_default(),
            app_version: field("appVersion"),
            values_files,
        }
    }
}

/// The file that makes a folder a Helm chart.
pub const CHART_FILE: &str = "Chart.yaml";

/// Whether a folder is a Helm chart (it has a `Chart.yaml`).
pub fn is_chart(dir: &Path) -> bool {
    dir.join(CHART_FILE).is_file()
}

fn is_manifest_name(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
}

fn is_kustomization(p: &Path) -> bool {
    p.file_name().is_some_and(|n| {
        n == "kustomization.yaml" || n == "kustomization.yml" || n == "Kustomization"
    })
}

/// Stack names from `Pulumi.<stack>.yaml` files in a project directory.
pub fn stack_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stack = name
                .strip_prefix("Pulumi.")?
                .strip_suffix(".yaml")
                .or_else(|| name.strip_prefix("Pulumi.")?.strip_suffix(".yml"))?;
            (!stack.is_empty()).then(|| stack.to_string())
        })
        .collect();
    names.sort();
    names
}

/// Renders a YAML-runtime stack against the workspace's infra checkpoints; also
/// returns the cluster its StackReference points at.
fn render_stack(
    program: &Node,
    ps: &PulumiStack,
    clusters: &[ClusterStack],
) -> (pulumi_yaml::Rendered, Option<String>) {
    let (Some(project), Some(config)) = (&ps.project, &ps.config) else {
        return (pulumi_yaml::Rendered::default(), None);
    };
    let referenced = std::cell::RefCell::new(None);
    let lookup = |name: &str| -> Option<Vec<(String, Json)>> {
        let cluster = clusters
            .iter()
            .find(|c| c.pulumi().and_then(PulumiStack::qualified_name).as_deref() == Some(name))?;
        *referenced.borrow_mut() = Some(cluster.name.clone());
        Some(cluster.pulumi()?.checkpoint.as_ref()?.outputs.clone())
    };
    if project.runtime != "yaml" {
        return (
            pulumi_yaml::Rendered::default(),
            stack_ref_cluster(config, clusters),
        );
    }
    let inputs = pulumi_yaml::Inputs {
        project: &project.name,
        stack: &ps.stack,
        config,
        declared: &project.config,
        stack_outputs: &lookup,
    };
    let rendered = pulumi_yaml::render(program, &inputs);
    let cluster = referenced
        .into_inner()
        .or_else(|| stack_ref_cluster(config, clusters));
    (rendered, cluster)
}

/// A config value naming an infra stack (`organization/<project>/<stack>`).
fn stack_ref_cluster(config: &pulumi::StackConfig, clusters: &[ClusterStack]) -> Option<String> {
    config.entries.iter().find_map(|e| {
        let pulumi::ConfigValue::Text(v) = &e.value else {
            return None;
        };
        let full = pulumi_yaml::qualify_stack(v);
        clusters
            .iter()
            .find(|c| {
                c.pulumi().and_then(PulumiStack::qualified_name).as_deref() == Some(full.as_str())
            })
            .map(|c| c.name.clone())
    })
}

fn common_namespace(objects: &[Json]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for o in objects {
        if let Some(ns) = o.pointer("/metadata/namespace").and_then(Json::as_str) {
            *counts.entry(ns).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(ns, _)| ns.to_string())
}

/// Image, replicas and HPA bounds from a release's desired objects.
pub fn summarize(objects: &[Json]) -> ReleaseSummary {
    let mut s = ReleaseSummary::default();
    for o in objects {
        let kind = o["kind"].as_str().unwrap_or_default();
        let name = o
            .pointer("/metadata/name")
            .and_then(Json::as_str)
            .unwrap_or_default();
        s.objects.push(format!("{kind}/{name}"));
        match kind {
            "Deployment" | "StatefulSet" if s.image.is_none() => {
                s.replicas = o.pointer("/spec/replicas").and_then(Json::as_i64);
                s.selector = o
                    .pointer("/spec/selector/matchLabels")
                    .and_then(Json::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .filter(|s| !s.is_empty());
                if let Some(image) = o
                    .pointer("/spec/template/spec/containers/0/image")
                    .and_then(Json::as_str)
                {
                    s.image = Some(image.to_string());
                    s.image_tag = image_tag(image).map(str::to_string);
                }
            }
            "HorizontalPodAutoscaler" if s.hpa_max.is_none() => {
                s.hpa_min = o
                    .pointer("/spec/minReplicas")
                    .and_then(Json::as_i64)
                    .or(Some(1));
                s.hpa_max = o.pointer("/spec/maxReplicas").and_then(Json::as_i64);
                s.cpu_target = o
                    .pointer("/spec/metrics")
                    .and_then(Json::as_array)
                    .and_then(|ms| {
                        ms.iter()
                            .find(|m| {
                                m.pointer("/resource/name").and_then(Json::as_str) == Some("cpu")
                            })?
                            .pointer("/resource/target/averageUtilization")?
                            .as_i64()
                    });
            }
            _ => {}
        }
    }
    s
}

/// The tag of an image reference (`repo:tag`, not a registry port; `None` for digests).
pub fn image_tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next()?;
    last.split_once(':').map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags() {
        assert_eq!(image_tag("ghcr.io/x/day:v1.2.3"), Some("v1.2.3"));
        assert_eq!(image_tag("localhost:5000/day"), None);
        assert_eq!(image_tag("nginx"), None);
        assert_eq!(image_tag("x@sha256:abc"), None);
    }
}
