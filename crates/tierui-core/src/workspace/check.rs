//! Checks any workspace file's text as the editor types: YAML syntax first, then
//! the schema its kind has (Pulumi project or stack config, Kubernetes objects,
//! eksctl ClusterConfig, tierui.yaml).

use std::path::Path;

use super::fields::Diags;
use super::model::Workspace;
use super::yaml;
use super::{descriptor, eksctl, manifests, pulumi};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    PulumiProject,
    PulumiStack,
    ClusterConfig,
    Descriptor,
    Manifests,
    /// A file of a Helm chart folder: Chart.yaml and values files are YAML,
    /// templates are Go templates (not checked).
    HelmChart,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::PulumiProject => "Pulumi project",
            Kind::PulumiStack => "Pulumi stack config",
            Kind::ClusterConfig => "eksctl ClusterConfig",
            Kind::Descriptor => "tierui.yaml",
            Kind::Manifests => "Kubernetes manifests",
            Kind::HelmChart => "Helm chart",
        }
    }
}

/// The chart folder (relative to the root) a file belongs to, if any.
fn chart_of<'a>(ws: &'a Workspace, path: &Path) -> Option<&'a Path> {
    ws.releases.iter().find_map(|r| match &r.source {
        super::model::ReleaseSource::Kubectl {
            manifest_dir,
            chart: Some(_),
            ..
        } if path.starts_with(manifest_dir) => Some(manifest_dir.as_path()),
        _ => None,
    })
}

/// [`kind_of`], knowing the workspace's chart folders.
pub fn kind_in(ws: &Workspace, path: &Path, text: &str) -> Kind {
    if chart_of(ws, path).is_some() {
        Kind::HelmChart
    } else {
        kind_of(path, text)
    }
}

pub fn kind_of(path: &Path, text: &str) -> Kind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name == "Pulumi.yaml" || name == "Pulumi.yml" {
        Kind::PulumiProject
    } else if name.starts_with("Pulumi.") {
        Kind::PulumiStack
    } else if name == "tierui.yaml" {
        Kind::Descriptor
    } else if text.contains("eksctl.io/") && text.contains("ClusterConfig") {
        Kind::ClusterConfig
    } else {
        Kind::Manifests
    }
}

/// Every problem in `text`, for a file at `path` (relative to the workspace).
pub fn check(ws: &Workspace, path: &Path, text: &str) -> Diags {
    let kind = kind_in(ws, path, text);
    let mut diags = Diags::new();
    if kind == Kind::Manifests {
        manifests::parse(text, &mut diags);
        return diags;
    }
    if kind == Kind::HelmChart {
        let in_templates = chart_of(ws, path)
            .and_then(|dir| path.strip_prefix(dir).ok())
            .is_some_and(|rest| rest.components().count() > 1);
        let yaml_file = path.extension().is_some_and(|x| x == "yaml" || x == "yml");
        // Templates and subcharts are Helm's to read; the chart's own YAML
        // files are checked for syntax only.
        if yaml_file
            && !in_templates
            && let Err(e) = yaml::parse_documents(text)
        {
            diags.push(e.diagnostic());
        }
        return diags;
    }
    let root = match yaml::parse_single(text) {
        Ok(r) => r,
        Err(e) => {
            diags.push(e.diagnostic());
            return diags;
        }
    };
    match kind {
        Kind::PulumiProject => {
            pulumi::parse_project(&root, &mut diags);
        }
        Kind::PulumiStack => {
            // The project as the workspace already read it (no disk I/O here).
            let dir = path.parent().unwrap_or(Path::new(""));
            let stacks =
                ws.clusters
                    .iter()
                    .filter_map(|c| c.pulumi())
                    .chain(ws.releases.iter().filter_map(|r| match &r.source {
                        super::model::ReleaseSource::Pulumi(p) => Some(p.as_ref()),
                        super::model::ReleaseSource::Kubectl { .. } => None,
                    }));
            let project = stacks
                .filter(|p| p.project_dir == dir)
                .find_map(|p| p.project.clone());
            let (name, decls) = project.map_or((String::new(), Vec::new()), |p| (p.name, p.config));

            pulumi::parse_stack_config(&root, &name, &decls, &mut diags);
        }
        Kind::ClusterConfig => {
            eksctl::parse(&root, &mut diags);
        }
        Kind::Descriptor => {
            descriptor::parse(&root, &mut diags);
        }
        Kind::Manifests | Kind::HelmChart => {}
    }
    diags
}
