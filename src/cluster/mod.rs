//! A cluster stack as it runs: its live state fetched from its cloud (the
//! sandbox world, or AWS with the cluster's own profile and region) and the drift
//! between that and its config.

pub mod drift;
pub mod fetch;
