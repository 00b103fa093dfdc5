//! The provisioning walkthrough as data: the plan from a ClusterConfig, the step
//! engine and its saved progress, the cost of what runs, the teardown summary and
//! the advice for a failed call. The backends crate runs it against a cloud.
pub mod advice;
pub mod bootstrap;
pub mod cost;
pub mod engine;
pub mod identity;
pub mod nodes;
pub mod plan;
pub mod summary;
