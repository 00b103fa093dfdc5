//! tierui: a terminal workbench for teams that run Amazon EKS in two tiers —
//! infrastructure stacks and per-service application releases.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]

pub mod cli;
pub mod demo;
pub mod sim;
pub mod workspace;
