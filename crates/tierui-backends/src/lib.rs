//! tierui's backends: the only crate where the AWS and Kubernetes SDKs appear.
//!
//! It owns AWS through the aws-sdk (EKS, EC2, IAM, STS: the cluster inventory
//! and the walkthrough's calls), Kubernetes through kube-rs (connecting by
//! kubeconfig context, server-side apply and dry run, watches that become live
//! rows, describe), and the sandbox — a simulated AWS world kept on disk plus
//! in-process `tierui-sim` clusters — with the release and cluster operations
//! and the walkthrough runner built on them. It speaks `tierui-core`'s types and
//! may use `tierui-core` and `tierui-sim`; it knows nothing of the terminal or
//! the command line.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]

pub mod aws;
pub mod cluster;
pub mod kube;
pub mod programs;
pub mod release;
pub mod release_state;
pub mod sandbox;
pub mod tools;
pub mod walkthrough;
