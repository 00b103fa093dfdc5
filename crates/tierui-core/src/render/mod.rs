//! Desired objects per release, normalisation and diffs.
pub mod applyset;
pub mod compare;
pub mod desired;
pub mod diff;
pub mod holes;
pub mod normalize;
pub mod ownership;
pub mod program;
