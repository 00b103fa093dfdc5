//! The shared simulator: state behind one lock, the clock, the scenario and the
//! signals that close watches or stop everything.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use super::clock::Clock;
use super::scenario::Scenario;
use super::state::State;

pub struct Sim {
    state: Mutex<State>,
    pub clock: Clock,
    pub scenario: Scenario,
    pub seed: u64,
    pub churn: f64,
    /// Bumped by `drop_watches`: every open watch ends its stream.
    pub drops: tokio::sync::watch::Sender<u64>,
    pub shutdown: tokio::sync::watch::Sender<bool>,
    pub addr: OnceLock<SocketAddr>,
}

impl Sim {
    /// The cluster's own wall clock now (unix seconds), which runs `speed`
    /// times faster than real time: what the Job and CronJob controllers
    /// stamp their times with.
    pub fn cluster_now(&self) -> i64 {
        self.clock.wall_at(self.clock.now())
    }

    pub fn new(state: State, clock: Clock, scenario: Scenario, seed: u64, churn: f64) -> Self {
        Sim {
            state: Mutex::new(state),
            clock,
            scenario,
            seed,
            churn,
            drops: tokio::sync::watch::channel(0).0,
            shutdown: tokio::sync::watch::channel(false).0,
            addr: OnceLock::new(),
        }
    }

    /// The lock is never held across an await; a panic while holding it would
    /// be a bug, and recovering the data beats taking the server down.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
