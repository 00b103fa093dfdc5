//! The provisioning walkthrough: plan from a ClusterConfig, the step engine, the
//! saved progress, and the runner that drives a cloud.
pub mod advice;
pub mod cost;
pub mod engine;
pub mod local;
pub mod plan;
pub mod runner;
pub mod session;
pub mod summary;
pub mod target;
