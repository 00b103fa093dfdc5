//! `tierui sim`: a Kubernetes API server on loopback.

/// Placeholder until the simulator lands from its branch.
pub fn run_cli(_args: &crate::cli::SimArgs, _speed: f64) -> anyhow::Result<()> {
    anyhow::bail!("the simulator is not part of this build yet")
}
