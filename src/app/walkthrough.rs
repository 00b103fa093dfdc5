//! The walkthrough screen's state and how runner events change it.

use std::collections::{BTreeMap, VecDeque};

use tierui_backends::walkthrough::runner::Event;
use tierui_core::walkthrough::engine::{CallStatus, Progress, StepStatus};
use tierui_core::walkthrough::plan::{Plan, Step};

use super::state::Level;

/// What the walkthrough screen shows. A mirror of the runner's progress, fed by
/// its events; the runner itself lives in the runtime.
#[derive(Debug, Clone)]
pub struct WalkView {
    pub plan: Plan,
    pub progress: Progress,
    /// "123456789012 · eu-west-1 · sandbox" once known.
    pub identity: Option<String>,
    pub sandbox: bool,
    /// Where the progress is saved.
    pub state_file: String,
    pub cursor: usize,
    pub scroll: u16,
    /// Keys scroll the detail instead of moving between steps.
    pub focus_detail: bool,
    /// A run or teardown is under way.
    pub busy: bool,
    /// Call id → (status AWS reported, seconds left when it was reported, at ms).
    pub waiting: BTreeMap<String, (String, f64, u64)>,
    /// Recent events, newest last.
    pub log: VecDeque<(Level, String)>,
    /// Wall clock for elapsed/ETA (updated by ticks).
    pub now_ms: u64,
}

const LOG_LINES: usize = 200;

impl WalkView {
    pub fn new(
        plan: Plan,
        progress: Progress,
        sandbox: bool,
        state_file: String,
        now_ms: u64,
    ) -> WalkView {
        // Start on the first step that still has work.
        let cursor = plan
            .steps
            .iter()
            .position(|s| {
                !matches!(
                    progress.step_status(&plan, s),
                    StepStatus::Done | StepStatus::Adopted | StepStatus::Skipped
                )
            })
            .unwrap_or(0);
        WalkView {
            plan,
            progress,
            identity: None,
            sandbox,
            state_file,
            cursor,
            scroll: 0,
            focus_detail: false,
            busy: false,
            waiting: BTreeMap::new(),
            log: VecDeque::new(),
            now_ms,
        }
    }

    pub fn selected(&self) -> Option<&Step> {
        self.plan.steps.get(self.cursor)
    }

    pub fn step_status(&self, step: &Step) -> StepStatus {
        self.progress.step_status(&self.plan, step)
    }

    /// A line for the log that is not a runner event (a moved progress file).
    pub fn note(&mut self, text: String) {
        self.push(Level::Warn, text);
    }

    fn push(&mut self, level: Level, text: String) {
        self.log.push_back((level, text));
        while self.log.len() > LOG_LINES {
            self.log.pop_front();
        }
    }

    /// Elapsed seconds of a step's running or last run, from its calls' times.
    pub fn step_elapsed(&self, step: &Step) -> Option<f64> {
        let starts = step
            .calls
            .iter()
            .filter_map(|c| self.progress.record(&c.id).started);
        let start = starts.min()?;
        let running = step.calls.iter().any(|c| {
            matches!(
                self.progress.status(&c.id),
                CallStatus::Running | CallStatus::Waiting
            )
        });
        let end = if running {
            self.now_ms
        } else {
            step.calls
                .iter()
                .filter_map(|c| self.progress.record(&c.id).finished)
                .max()?
        };
        Some(end.saturating_sub(start) as f64 / 1000.0)
    }

    /// Seconds left for a running step: what remains of its expected time.
    pub fn step_eta(&self, step: &Step, speed: f64) -> Option<f64> {
        let running = step.calls.iter().find(|c| {
            matches!(
                self.progress.status(&c.id),
                CallStatus::Running | CallStatus::Waiting
            )
        })?;
        let rest: u64 = step
            .calls
            .iter()
            .skip_while(|c| c.id != running.id)
            .skip(1)
            .filter(|c| self.progress.status(&c.id) == CallStatus::Pending)
            .map(|c| c.expected_secs)
            .sum();
        let started = self
            .progress
            .record(&running.id)
            .started
            .unwrap_or(self.now_ms);
        let spent = self.now_ms.saturating_sub(started) as f64 / 1000.0;
        let this = match self.waiting.get(&running.id) {
            Some((_, left, at)) => {
                (left - self.now_ms.saturating_sub(*at) as f64 / 1000.0).max(0.0)
            }
            None => (running.expected_secs as f64 / speed - spent).max(0.0),
        };
        Some(this + rest as f64 / speed)
    }

    pub fn running(&self) -> bool {
        self.busy
            || self
                .progress
                .calls
                .values()
                .any(|r| matches!(r.status, CallStatus::Running | CallStatus::Waiting))
    }

    /// Applies one runner event.
    pub fn apply(&mut self, e: Event) {
        match e {
            Event::Progress { progress } => self.progress = *progress,
            Event::Identity {
                account,
                arn,
                region,
                endpoint,
            } => {
                self.identity = Some(if self.sandbox {
                    format!("account {account} · {region} · {endpoint}")
                } else {
                    format!("account {account} ({arn}) · {region} · {endpoint}")
                })
            }
            Event::Waiting {
                call,
                aws_status,
                eta_secs,
                ..
            } => {
                self.waiting
                    .insert(call, (aws_status, eta_secs, self.now_ms));
            }
            Event::Confirm { .. } => {}
            e @ (Event::Started { .. }
            | Event::Adopted { .. }
            | Event::Done { .. }
            | Event::Failed { .. }
            | Event::NotImplemented { .. }
            | Event::Manual { .. }
            | Event::StepFinished { .. }) => self.call_event(e),
            e @ (Event::Blocked { .. } | Event::Paused | Event::Finished { .. }) => self.stopped(e),
            e @ (Event::UndoStarted { .. }
            | Event::UndoDone { .. }
            | Event::UndoFailed { .. }
            | Event::TeardownFinished { .. }) => self.teardown_event(e),
        }
    }

    /// A call of a step started, finished, failed or was adopted.
    fn call_event(&mut self, e: Event) {
        match e {
            Event::Started {
                step,
                call,
                api,
                summary,
            } => self.push(Level::Info, format!("[{step}] {api} {summary} ({call})")),
            Event::Adopted { step, call, .. } => self.push(
                Level::Info,
                format!("[{step}] {call}: adopted from an earlier run"),
            ),
            Event::Done {
                step,
                call,
                api,
                secs,
                ..
            } => {
                self.waiting.remove(&call);
                self.push(
                    Level::Info,
                    format!("[{step}] {api} done ({call}, {secs:.1}s)"),
                );
            }
            Event::Failed {
                step,
                call,
                error,
                advice,
            } => {
                self.waiting.remove(&call);
                self.busy = false;
                self.push(
                    Level::Error,
                    format!("[{step}] {call}: {}: {}", error.code, error.message),
                );
                self.push(
                    Level::Warn,
                    format!("    {} {}", advice.meaning, advice.action),
                );
            }
            Event::NotImplemented { step, api, .. } => self.push(
                Level::Warn,
                format!("[{step}] {api} is not implemented by this endpoint; going on"),
            ),
            Event::Manual { step, command, .. } => {
                self.push(Level::Warn, format!("[{step}] manual step: {command}"))
            }
            Event::StepFinished { step, status } => {
                self.push(Level::Info, format!("[{step}] step {status}"))
            }
            _ => {}
        }
    }

    /// The runner stopped: blocked, paused or at the end of the plan.
    fn stopped(&mut self, e: Event) {
        match e {
            Event::Blocked { step, reason } => {
                self.busy = false;
                self.push(Level::Warn, format!("[{step}] {reason}"));
            }
            Event::Paused => {
                self.busy = false;
                self.push(Level::Info, "paused".into());
            }
            Event::Finished {
                complete,
                hourly_cost,
                unpriced,
            } => {
                self.busy = false;
                let cost = tierui_core::walkthrough::cost::Hourly {
                    total: hourly_cost,
                    unknown: unpriced,
                };
                self.push(
                    Level::Info,
                    format!(
                        "{} · running resources cost {}",
                        if complete { "done" } else { "stopped" },
                        cost.describe("h")
                    ),
                );
            }
            _ => {}
        }
    }

    /// Teardown: each resource deleted (or already gone), and the end.
    fn teardown_event(&mut self, e: Event) {
        match e {
            Event::UndoStarted { key, api } => {
                self.push(Level::Info, format!("[teardown] {api} ({key})"))
            }
            Event::UndoDone {
                key, already_gone, ..
            } => self.push(
                Level::Info,
                format!(
                    "[teardown] {key} {}",
                    if already_gone {
                        "already gone"
                    } else {
                        "deleted"
                    }
                ),
            ),
            Event::UndoFailed { key, error, advice } => {
                self.busy = false;
                self.push(
                    Level::Error,
                    format!("[teardown] {key}: {}: {}", error.code, error.message),
                );
                self.push(
                    Level::Warn,
                    format!("    {} {}", advice.meaning, advice.action),
                );
            }
            Event::TeardownFinished { complete } => {
                self.busy = false;
                self.push(
                    Level::Info,
                    if complete {
                        "teardown complete: nothing the walkthrough created is left".into()
                    } else {
                        "teardown stopped".into()
                    },
                );
            }
            _ => {}
        }
    }
}
