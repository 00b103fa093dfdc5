//! The provisioning walkthrough: plan from a ClusterConfig, the step engine, the
//! saved progress, and the runner that drives a cloud.
pub mod engine;
pub mod plan;
