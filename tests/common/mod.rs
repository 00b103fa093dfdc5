//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod moto;
pub mod pulumi;
pub mod tmux;

use std::path::PathBuf;

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
