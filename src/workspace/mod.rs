//! The foundation workspace: tierui.yaml, discovery and every file format in it.
pub mod yaml;
