//! Backends: the only place AWS and Kubernetes SDKs appear. What crosses this
//! boundary are tierui's own types.
pub mod aws;
pub mod cloud;
pub mod inventory;
pub mod kube;
pub mod sandbox;
