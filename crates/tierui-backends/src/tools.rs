//! The operator's own renderers run as programs: `kubectl kustomize`,
//! `helm template`, `pulumi preview --json`, and Pulumi programs under the
//! SDK's mocks. The core reads what they print.

use std::path::Path;

use serde_json::Value as Json;

use tierui_core::render::desired::{HelmTemplate, Renderers, Tools};
use tierui_core::render::program::{ProgramFailure, ProgramRequest, Ran};

/// The programs on PATH.
pub struct Programs;

/// Renders with the operator's tools (their kubeconfig, Pulumi login and cloud
/// credentials apply).
pub const LOCAL: Tools = Tools {
    sealed: false,
    renderers: &Programs,
};

/// The sandbox: kustomize and helm without the operator's kubeconfig, and no
/// preview.
pub const SEALED: Tools = Tools {
    sealed: true,
    renderers: &Programs,
};

/// The tools a run may use: sealed in the sandbox.
pub fn for_sandbox(sandbox: bool) -> Tools {
    if sandbox { SEALED } else { LOCAL }
}

impl Renderers for Programs {
    fn kustomize(&self, dir: &Path, sealed: bool) -> Result<String, String> {
        let mut cmd = std::process::Command::new("kubectl");
        cmd.arg("kustomize").arg(dir);
        if sealed {
            // kustomize needs no cluster: nothing of the operator's kubeconfig is read.
            cmd.env("KUBECONFIG", "/dev/null");
        }
        let out = cmd.output().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{} has a kustomization.yaml: rendering it needs `kubectl kustomize`, and kubectl was not found on PATH", dir.display()),
            _ => format!("kubectl kustomize {}: {e}", dir.display()),
        })?;
        if !out.status.success() {
            return Err(format!(
                "kubectl kustomize {} failed: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn preview(&self, project_dir: &Path, stack: &str) -> Result<Option<Vec<u8>>, String> {
        let out = match std::process::Command::new("pulumi")
            .args(["preview", "--json", "--non-interactive", "--stack", stack])
            .current_dir(project_dir)
            .output()
        {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("pulumi preview: {e}")),
        };
        if !out.status.success() {
            return Err(format!(
                "pulumi preview --stack {stack} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Some(out.stdout))
    }

    fn helm_template(&self, req: &HelmTemplate) -> Result<Option<String>, String> {
        let mut cmd = std::process::Command::new("helm");
        cmd.args(req.args()).stdin(std::process::Stdio::null());
        if req.sealed {
            // A local chart renders without a cluster: nothing of the
            // operator's kubeconfig is read (`lookup` finds nothing).
            cmd.env("KUBECONFIG", "/dev/null");
        }
        let dir = req.chart_dir.display();
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("helm template {dir}: {e}")),
        };
        if !out.status.success() {
            return Err(format!(
                "helm template {} {dir} failed: {}",
                req.release,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()))
    }

    fn program(&self, req: &ProgramRequest) -> Result<Ran, ProgramFailure> {
        crate::programs::run(req)
    }

    fn stack_outputs(&self, project_dir: &Path, stack: &str) -> Result<Option<Json>, String> {
        let out = match std::process::Command::new("pulumi")
            .args([
                "stack",
                "output",
                "--json",
                "--show-secrets=false",
                "--non-interactive",
                "--stack",
                stack,
            ])
            .current_dir(project_dir)
            .output()
        {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("pulumi stack output: {e}")),
        };
        if !out.status.success() {
            return Err(format!(
                "pulumi stack output --stack {stack} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout)
            .map(Some)
            .map_err(|e| format!("pulumi stack output --json: {e}"))
    }
}
