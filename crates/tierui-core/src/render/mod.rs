//! Desired objects per release, normalisation and diffs.
pub mod desired;
pub mod diff;
pub mod normalize;
