//! The foundation workspace: tierui.yaml, discovery and every file format in it.
pub mod check;
pub mod descriptor;
pub mod discover;
pub mod edit;
pub mod eksctl;
pub mod eksctl_sections;
pub mod fields;
pub mod load;
pub mod manifests;
pub mod model;
pub mod pulumi;
pub mod pulumi_history;
pub mod pulumi_yaml;
pub mod quick;
pub mod spec;
pub mod tiers;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use load::load;
pub use model::{
    ClusterSource, ClusterStack, HelmChart, Problem, Release, ReleaseSource, Workspace,
};

/// Where the workspace to open is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    Dir(PathBuf),
    /// Nothing found: open the bundled demo.
    Demo,
}

/// Finds the workspace: `--workspace` when given; else the nearest folder upwards
/// with a `tierui.yaml`; else the enclosing git repository (or the current folder)
/// when it holds Pulumi projects, ClusterConfigs or manifests.
pub fn locate(explicit: Option<&Path>, cwd: &Path) -> anyhow::Result<Located> {
    if let Some(dir) = explicit {
        if !dir.is_dir() {
            anyhow::bail!("--workspace {}: no such folder", dir.display());
        }
        return Ok(Located::Dir(dir.to_path_buf()));
    }
    if let Some(dir) = cwd.ancestors().find(|d| d.join(load::DESCRIPTOR).is_file()) {
        return Ok(Located::Dir(dir.to_path_buf()));
    }
    let candidate = cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(cwd);
    let mut ignored = Vec::new();
    let found = discover::discover(candidate, &mut ignored);
    if found.clusters.is_empty() && found.services.is_empty() {
        Ok(Located::Demo)
    } else {
        Ok(Located::Dir(candidate.to_path_buf()))
    }
}
