//! Kubernetes through kube-rs: connections, watchers projected into rows,
//! server-side apply, and Helm's release records. The same code talks to real
//! clusters and to the simulator.
pub mod apply;
pub mod applyset;
pub mod connect;
pub mod context;
pub mod describe;
pub mod helm;
pub mod logs;
pub mod pods;
pub mod rollback;
pub mod rows;
pub mod table;
pub mod watch;
