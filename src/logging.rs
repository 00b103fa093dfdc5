//! Logs go to `<state>/tierui.log` (0600), never to the terminal. `TIERUI_LOG`
//! sets the filter (e.g. `debug`, `tierui=trace`).

use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context as _, Result};

pub fn init(state_dir: &Path) -> Result<()> {
    crate::paths::private_dir(state_dir)?;
    let path = state_dir.join("tierui.log");
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let file = opts
        .open(&path)
        .with_context(|| format!("cannot open log file {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIERUI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests, repeated runs in one process) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
    Ok(())
}
