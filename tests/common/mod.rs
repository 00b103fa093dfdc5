//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod moto;
pub mod pulumi;
pub mod tmux;

use std::path::{Path, PathBuf};

/// A private config and state dir for one test run of the binary.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }
    /// Environment for the binary: private dirs, no colour surprises.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "TIERUI_STATE_DIR".into(),
                self.state().display().to_string(),
            ),
            (
                "TIERUI_CONFIG_DIR".into(),
                self.config().display().to_string(),
            ),
        ]
    }
    /// A shell line that runs the real binary with `args` in this sandbox's
    /// environment (for tmux).
    pub fn shell_line(&self, args: &str) -> String {
        let env: Vec<String> = self
            .env()
            .into_iter()
            .map(|(k, v)| format!("{k}='{v}'"))
            .collect();
        format!(
            "env {} '{}' {args}",
            env.join(" "),
            env!("CARGO_BIN_EXE_tierui")
        )
    }

    /// A `tierui` command with this sandbox's environment.
    pub fn command(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tierui"));
        for (k, v) in self.env() {
            c.env(k, v);
        }
        c
    }
}

/// The first file called `name` under `dir`, at any depth.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
        if p.is_dir()
            && let Some(f) = find_file(&p, name)
        {
            return Some(f);
        }
    }
    None
}

impl Sandbox {
    /// A kubeconfig reaching the sandbox's simulated `cluster` at the address
    /// the serving tierui published (None until it has).
    pub fn kubeconfig_for(&self, cluster: &str) -> Option<PathBuf> {
        let endpoint = find_file(&self.state(), &format!("{cluster}.endpoint.json"))?;
        let ep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(endpoint).ok()?).ok()?;
        let url = ep["url"].as_str()?;
        let kc = self.dir.path().join(format!("kubeconfig-{cluster}"));
        std::fs::write(
            &kc,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: {cluster}\n  cluster: {{server: '{url}'}}\nusers:\n- name: u\n  user: {{}}\ncontexts:\n- name: {cluster}\n  context: {{cluster: {cluster}, user: u}}\ncurrent-context: {cluster}\n"
            ),
        )
        .ok()?;
        Some(kc)
    }
}

/// kubectl with this kubeconfig, which must succeed; its stdout.
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .output()
        .expect("kubectl must be installed (the README's test command installs it)");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
