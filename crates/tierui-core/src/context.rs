//! What every command starts from: the directories, the workspace and the mode.

use std::path::PathBuf;

use anyhow::Result;

use crate::paths::{self, Dirs};
use crate::workspace::{self, Located, Workspace};

/// The choices every command takes (the command line's global flags, turned
/// into this type at the edge so nothing below the CLI sees clap).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// The workspace folder given (`--workspace`); else it is located from the
    /// current directory.
    pub workspace: Option<PathBuf>,
    pub sandbox: bool,
    pub readonly: bool,
    /// AWS profile, region and endpoint chosen for this run; they override the
    /// environment and tierui.yaml.
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub theme: Option<String>,
    /// Time factor of the sandbox cloud and simulated clusters.
    pub speed: Option<f64>,
}

/// How tierui was started, shown beside the model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mode {
    pub sandbox: bool,
    pub readonly: bool,
}

#[derive(Debug, Clone)]
pub struct Context {
    pub dirs: Dirs,
    pub root: PathBuf,
    /// The bundled demo (always sandbox).
    pub demo: bool,
    pub sandbox: bool,
    pub readonly: bool,
    pub options: Options,
}

impl Context {
    /// Resolves the workspace to open; `force_demo` is `tierui demo`.
    pub fn open(options: &Options, force_demo: bool) -> Result<Context> {
        if let Some(s) = options.speed {
            check_speed(s)?;
        }
        let dirs = Dirs::discover()?;
        let located = if force_demo {
            Located::Demo
        } else {
            let cwd = std::env::current_dir()?;
            workspace::locate(options.workspace.as_deref(), &cwd)?
        };
        let (root, demo) = match located {
            // The extracted demo opened by path is still the demo (sandbox).
            Located::Dir(d) => {
                let is_demo = d
                    .canonicalize()
                    .ok()
                    .zip(dirs.demo_workspace().canonicalize().ok())
                    .is_some_and(|(a, b)| a == b);
                (d, is_demo)
            }
            Located::Demo => {
                let dest = dirs.demo_workspace();
                paths::extract_demo(&dest)?;
                (dest, true)
            }
        };
        Ok(Context {
            dirs,
            root,
            demo,
            sandbox: demo || options.sandbox,
            readonly: options.readonly,
            options: options.clone(),
        })
    }

    pub fn load(&self) -> Workspace {
        workspace::load(&self.root)
    }

    pub fn mode(&self) -> Mode {
        Mode {
            sandbox: self.sandbox,
            readonly: self.readonly,
        }
    }
}

/// The sandbox time factor: a finite number above zero (0.5 is half speed).
pub fn check_speed(s: f64) -> Result<()> {
    if !s.is_finite() || s <= 0.0 {
        anyhow::bail!(
            "--speed {s}: the time factor must be a number above 0 (1 is real time, 10 ten times faster)"
        );
    }
    if s > 1_000_000.0 {
        anyhow::bail!("--speed {s}: at most 1000000 (a day passes in a tenth of a second)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_must_be_a_positive_finite_number() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
            assert!(check_speed(bad).is_err(), "{bad}");
        }
        for good in [0.5, 1.0, 60.0] {
            assert!(check_speed(good).is_ok(), "{good}");
        }
        assert!(
            check_speed(0.0)
                .unwrap_err()
                .to_string()
                .contains("above 0")
        );
    }
}
