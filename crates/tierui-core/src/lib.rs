//! tierui's core: the model of a two-tier EKS foundation and everything that can
//! be worked out from it without reaching beyond the machine.
//!
//! It owns the workspace model and its parsers (tierui.yaml, Pulumi projects and
//! stack config, eksctl ClusterConfigs, manifests — every problem with its
//! file:line:column), the render/normalise/diff layer that turns a release's
//! sources into desired objects and compares them, the cloud vocabulary that
//! both clouds speak (operations, outputs, errors, the inventory of a cluster)
//! with the drift of a cluster stack against it, the walkthrough's plan, cost
//! and step engine, the embedded demo data and the local state directories. It
//! uses no network, no terminal and no SDK; the operator's own renderers
//! (`kubectl kustomize`, `helm template`, `pulumi preview`) come in through
//! [`render::desired::Renderers`].
//! The backends and the application depend on it; it depends on no tierui crate.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]

pub mod cloud;
pub mod cluster;
pub mod context;
pub mod demo;
pub mod migrate;
pub mod paths;
pub mod render;
pub mod walkthrough;
pub mod workspace;
