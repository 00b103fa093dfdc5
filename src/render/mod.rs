//! Desired objects per release, normalisation and diffs.
pub mod pulumi_yaml;
