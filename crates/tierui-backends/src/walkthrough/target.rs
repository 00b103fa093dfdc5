//! Which ClusterConfig a walkthrough is for: a workspace cluster by name (with
//! its tierui.yaml entry) or a file, parsed and planned, with every problem
//! named at its line:column.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use tierui_core::context::Context;
use tierui_core::walkthrough::plan::{Plan, plan};
use tierui_core::workspace::{eksctl, yaml};

/// A walkthrough's plan, the file it came from and, for a workspace cluster, its
/// entry (profile and region).
pub struct Planned {
    pub plan: Plan,
    pub file: PathBuf,
    pub cluster: Option<tierui_core::workspace::ClusterStack>,
}

impl Planned {
    pub fn aws(&self, ctx: &Context) -> Result<crate::walkthrough::session::AwsSettings> {
        crate::walkthrough::session::aws_settings(
            &ctx.options,
            self.cluster.as_ref(),
            &self.plan,
            &self.file,
        )
    }
}

/// The plan for a workspace cluster name or a ClusterConfig file path, with the
/// file it came from.
pub fn plan_for(ctx: &Context, target: &str) -> Result<Planned> {
    let as_file = Path::new(target);
    let mut stack = None;
    let file = if as_file.is_file() {
        as_file.to_path_buf()
    } else {
        let ws = ctx.load();
        let Some(cluster) = ws.cluster(target) else {
            let names: Vec<&str> = ws.clusters.iter().map(|c| c.name.as_str()).collect();
            bail!(
                "no cluster named {target} in {} (clusters: {})",
                ws.root.display(),
                names.join(", ")
            );
        };
        let Some(eksctl_file) = (match &cluster.source {
            tierui_core::workspace::ClusterSource::Eksctl { config_file, .. } => {
                Some(ws.root.join(config_file))
            }
            tierui_core::workspace::ClusterSource::Pulumi(_) => None,
        }) else {
            bail!(
                "{target} is provisioned by Pulumi; the walkthrough follows eksctl ClusterConfigs (try a cluster with provisioner eksctl)"
            );
        };
        stack = Some(cluster.clone());
        eksctl_file
    };
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let text = yaml::decode(&bytes).map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
    let docs =
        yaml::parse_documents(text).map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
    let Some(doc) = docs.iter().find(|d| !d.root.is_null()) else {
        bail!("{}: empty file", file.display())
    };
    let mut diags = Vec::new();
    let cfg = eksctl::parse(&doc.root, &mut diags);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == tierui_core::workspace::fields::Severity::Error)
        .map(|d| format!("{}:{}:{} {}", file.display(), d.line, d.col, d.message))
        .collect();
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    let Some(cfg) = cfg else {
        bail!("{}: not a ClusterConfig", file.display())
    };
    let p = plan(&cfg, &diags).map_err(|u| anyhow::anyhow!("{}: {u}", file.display()))?;
    Ok(Planned {
        plan: p,
        file,
        cluster: stack,
    })
}
