//! Kubernetes through kube-rs: connections, watchers projected into rows, and
//! server-side apply. The same code talks to real clusters and to the simulator.
pub mod apply;
pub mod applyset;
pub mod connect;
pub mod context;
pub mod describe;
pub mod rows;
pub mod watch;
