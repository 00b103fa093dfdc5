//! The walkthrough run against a cloud: the session (which account and region,
//! the progress file, the lock), the target a ClusterConfig names, the runner
//! that drives the core's step engine, and the local steps (kubeconfig, the
//! cluster-side service accounts).
pub mod local;
pub mod runner;
pub mod session;
pub mod target;
