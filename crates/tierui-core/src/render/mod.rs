//! Desired objects per release, normalisation and diffs.
pub mod desired;
pub mod diff;
pub mod holes;
pub mod normalize;
pub mod program;
