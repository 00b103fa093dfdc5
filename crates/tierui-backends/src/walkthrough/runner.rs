//! Drives a cloud through the plan: one call at a time, saving progress after every
//! call (so every created ID is on disk before the next call), adopting what an
//! earlier run left, waiting with ETA where AWS is slow, asking before mutating
//! steps when told to, and tearing down in reverse order.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;

use tierui_core::cloud::{Cloud, CloudError, Identity, Op, Outputs, Poll, Produced, Undo, WaitFor};
use tierui_core::walkthrough::advice::{Advice, advice};
use tierui_core::walkthrough::engine::{Next, Progress, UndoStatus, wait_after, wait_after_undo};
use tierui_core::walkthrough::plan::{Call, Plan};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RunStep(char),
    RunAll,
    Pause,
    Retry(char),
    Teardown,
    /// Answer to [`Event::Confirm`].
    Confirm(bool),
    Quit,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Identity {
        account: String,
        arn: String,
        region: String,
        endpoint: String,
    },
    Started {
        step: char,
        call: String,
        api: String,
        summary: String,
    },
    Adopted {
        step: char,
        call: String,
        produced: Produced,
    },
    Waiting {
        step: char,
        call: String,
        api: String,
        aws_status: String,
        elapsed_secs: f64,
        eta_secs: f64,
    },
    Done {
        step: char,
        call: String,
        api: String,
        produced: Produced,
        verified: Option<String>,
        secs: f64,
    },
    Failed {
        step: char,
        call: String,
        error: CloudError,
        advice: Advice,
    },
    NotImplemented {
        step: char,
        call: String,
        api: String,
        message: String,
    },
    Manual {
        step: char,
        call: String,
        command: String,
    },
    StepFinished {
        step: char,
        status: String,
    },
    Blocked {
        step: char,
        reason: String,
    },
    Confirm {
        step: char,
        title: String,
        calls: usize,
    },
    Paused,
    Finished {
        complete: bool,
        /// USD per hour of what runs (approximate, priced items only).
        hourly_cost: f64,
        /// What runs but has no price in the table.
        unpriced: Vec<String>,
    },
    UndoStarted {
        key: String,
        api: String,
    },
    UndoDone {
        key: String,
        api: String,
        already_gone: bool,
    },
    UndoFailed {
        key: String,
        error: CloudError,
        advice: Advice,
    },
    TeardownFinished {
        complete: bool,
    },
    /// The progress changed (the UI mirrors it).
    Progress {
        progress: Box<Progress>,
    },
}

/// Operations that are not AWS calls: the kubeconfig file and Kubernetes objects.
pub trait LocalOps: Send + Sync {
    fn write_kubeconfig(
        &self,
        cluster: &str,
        region: &str,
        endpoint: &str,
        certificate: &str,
    ) -> Result<PathBuf, String>;
    fn remove_kubeconfig(&self, cluster: &str) -> Result<(), String>;
    fn create_service_account<'a>(
        &'a self,
        cluster: &'a str,
        namespace: &'a str,
        name: &'a str,
        role_arn: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
    fn delete_service_account<'a>(
        &'a self,
        cluster: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
    /// Adds (or replaces) one entry of kube-system/aws-auth: `kind` is role,
    /// user or account.
    fn map_identity<'a>(
        &'a self,
        cluster: &'a str,
        entry: super::local::AuthEntry,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
    fn unmap_identity<'a>(
        &'a self,
        cluster: &'a str,
        kind: &'a str,
        arn: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

pub struct Runner<C: Cloud> {
    pub cloud: Arc<C>,
    pub local: Arc<dyn LocalOps>,
    pub plan: Plan,
    pub progress: Progress,
    pub state_file: PathBuf,
    /// Time factor of the cloud (1 for AWS), used for ETA and poll intervals.
    pub speed: f64,
    /// Ask before each step that changes something.
    pub confirm: bool,
    pub events: mpsc::UnboundedSender<Event>,
    pub commands: mpsc::UnboundedReceiver<Command>,
    paused: bool,
    quit: bool,
    confirmed: Vec<char>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl<C: Cloud> Runner<C> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cloud: Arc<C>,
        local: Arc<dyn LocalOps>,
        plan: Plan,
        mut progress: Progress,
        state_file: PathBuf,
        speed: f64,
        confirm: bool,
        events: mpsc::UnboundedSender<Event>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        progress.resume();
        Runner {
            cloud,
            local,
            plan,
            progress,
            state_file,
            speed,
            confirm,
            events,
            commands,
            paused: false,
            quit: false,
            confirmed: Vec::new(),
        }
    }

    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    fn save(&self) -> Result<(), CloudError> {
        let bytes = serde_json::to_vec_pretty(&self.progress)
            .map_err(|e| CloudError::new("tierui:SaveProgress", "InternalError", e.to_string()))?;
        tierui_core::paths::write_private(&self.state_file, &bytes).map_err(|e| {
            CloudError::new("tierui:SaveProgress", "InternalError", format!("{e:#}"))
        })?;
        self.emit(Event::Progress {
            progress: Box::new(self.progress.clone()),
        });
        Ok(())
    }

    pub async fn identity(&self) -> Result<Identity, CloudError> {
        let id = self.cloud.identity().await?;
        self.emit(Event::Identity {
            account: id.account.clone(),
            arn: id.arn.clone(),
            region: id.region.clone(),
            endpoint: id.endpoint.clone(),
        });
        Ok(id)
    }

    /// Serves commands until `Quit` (or the command channel closes).
    pub async fn serve(mut self) -> Progress {
        while !self.quit {
            let Some(cmd) = self.commands.recv().await else {
                break;
            };
            self.handle(cmd).await;
        }
        self.progress
    }

    pub async fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::RunStep(s) => self.run(Some(s)).await,
            Command::RunAll => self.run(None).await,
            Command::Retry(s) => {
                self.progress.retry(&self.plan, s);
                let _ = self.save();
                self.run(Some(s)).await;
            }
            Command::Teardown => self.teardown().await,
            Command::Pause | Command::Confirm(_) => {}
            Command::Quit => self.quit = true,
        }
    }

    /// Checks for Pause/Quit without blocking.
    fn interrupted(&mut self) -> bool {
        while let Ok(cmd) = self.commands.try_recv() {
            match cmd {
                Command::Pause => self.paused = true,
                Command::Quit => {
                    self.paused = true;
                    self.quit = true;
                }
                _ => {}
            }
        }
        if self.paused {
            self.paused = false;
            self.emit(Event::Paused);
            return true;
        }
        false
    }

    async fn confirm_step(&mut self, step: char) -> bool {
        if !self.confirm || self.confirmed.contains(&step) {
            return true;
        }
        let Some(s) = self.plan.step(step) else {
            return false;
        };
        if !s.calls.iter().any(|c| c.op.mutates()) {
            return true;
        }
        self.emit(Event::Confirm {
            step,
            title: s.title.clone(),
            calls: s.calls.len(),
        });
        loop {
            match self.commands.recv().await {
                Some(Command::Confirm(true)) => {
                    self.confirmed.push(step);
                    return true;
                }
                Some(Command::Confirm(false)) | Some(Command::Pause) | None => {
                    self.emit(Event::Paused);
                    return false;
                }
                Some(Command::Quit) => {
                    self.quit = true;
                    return false;
                }
                Some(_) => {}
            }
        }
    }

    /// Runs the calls of one step (or all) until done, failed, paused or blocked.
    pub async fn run(&mut self, scope: Option<char>) {
        loop {
            if self.interrupted() {
                return;
            }
            let (step, call) = match self.progress.next(&self.plan, scope) {
                Next::Run(s, c) => (s.id, c.clone()),
                Next::Blocked(s, reason) => {
                    self.emit(Event::Blocked { step: s, reason });
                    return;
                }
                Next::Finished => {
                    let complete = self.progress.all_settled(&self.plan);
                    let cost = tierui_core::walkthrough::cost::hourly(&self.plan, &self.progress);
                    self.emit(Event::Finished {
                        complete: complete || scope.is_some(),
                        hourly_cost: cost.total,
                        unpriced: cost.unknown,
                    });
                    return;
                }
            };
            if !self.confirm_step(step).await {
                return;
            }
            let ok = self.run_call(step, &call).await;
            if let Some(s) = self.plan.step(step) {
                let status = self.progress.step_status(&self.plan, s);
                if matches!(
                    status,
                    tierui_core::walkthrough::engine::StepStatus::Done
                        | tierui_core::walkthrough::engine::StepStatus::Adopted
                        | tierui_core::walkthrough::engine::StepStatus::Failed
                ) {
                    self.emit(Event::StepFinished {
                        step,
                        status: status.label().into(),
                    });
                }
            }
            if !ok {
                return;
            }
        }
    }

    fn fail(&mut self, step: char, call: &Call, error: CloudError) -> bool {
        self.progress.failed(&call.id, error.clone(), now_ms());
        let _ = self.save();
        if error.is_not_implemented() {
            self.emit(Event::NotImplemented {
                step,
                call: call.id.clone(),
                api: error.api.clone(),
                message: error.message.clone(),
            });
            return true;
        }
        self.emit(Event::Failed {
            step,
            call: call.id.clone(),
            advice: advice(&error),
            error,
        });
        false
    }

    /// Runs one call; false when the walkthrough must stop.
    async fn run_call(&mut self, step: char, call: &Call) -> bool {
        let started = Instant::now();
        self.progress.begin(&call.id, now_ms());
        if let Err(e) = self.save() {
            return self.fail(step, call, e);
        }
        self.emit(Event::Started {
            step,
            call: call.id.clone(),
            api: call.op.api().into(),
            summary: call.summary.clone(),
        });
        let outputs = self.progress.outputs.clone();
        let (produced, adopted) = match &call.op {
            Op::Manual { command, reason } => {
                self.progress.manual(&call.id, now_ms(), reason.clone());
                let _ = self.save();
                self.emit(Event::Manual {
                    step,
                    call: call.id.clone(),
                    command: command.clone(),
                });
                return true;
            }
            Op::WriteKubeconfig {
                cluster,
                region,
                endpoint,
                certificate,
            } => {
                let resolved = endpoint
                    .resolve(&outputs)
                    .and_then(|e| certificate.resolve(&outputs).map(|c| (e, c)));
                match resolved
                    .and_then(|(e, c)| self.local.write_kubeconfig(cluster, region, &e, &c))
                {
                    Ok(path) => (
                        Produced::from([("path".to_string(), path.display().to_string())]),
                        false,
                    ),
                    Err(m) => {
                        return self.fail(
                            step,
                            call,
                            CloudError::new(call.op.api(), "LocalError", m),
                        );
                    }
                }
            }
            Op::CreateServiceAccount {
                cluster,
                namespace,
                name,
                role_arn,
            } => {
                let role = match role_arn.as_ref().map(|r| r.resolve(&outputs)).transpose() {
                    Ok(r) => r,
                    Err(m) => {
                        return self.fail(
                            step,
                            call,
                            CloudError::new(call.op.api(), "InvalidParameterValue", m),
                        );
                    }
                };
                match self
                    .local
                    .create_service_account(cluster, namespace, name, role.as_deref())
                    .await
                {
                    Ok(()) => (
                        Produced::from([(
                            "service_account".to_string(),
                            format!("{namespace}/{name}"),
                        )]),
                        false,
                    ),
                    Err(m) => {
                        // No reachable cluster API here: say exactly what to run.
                        let annotate = role
                            .map(|r| format!(" && kubectl -n {namespace} annotate serviceaccount {name} eks.amazonaws.com/role-arn={r}"))
                            .unwrap_or_default();
                        let cmd = format!(
                            "kubectl -n {namespace} create serviceaccount {name}{annotate}"
                        );
                        self.progress
                            .manual(&call.id, now_ms(), format!("not created: {m}"));
                        let _ = self.save();
                        self.emit(Event::Manual {
                            step,
                            call: call.id.clone(),
                            command: cmd,
                        });
                        return true;
                    }
                }
            }
            Op::MapIdentity {
                cluster,
                kind,
                arn,
                username,
                groups,
            } => {
                let arn = match arn.resolve(&outputs) {
                    Ok(a) => a,
                    Err(m) => {
                        return self.fail(
                            step,
                            call,
                            CloudError::new(call.op.api(), "InvalidParameterValue", m),
                        );
                    }
                };
                // `<account>` (a service-linked role) is the cluster's own account.
                let account = outputs
                    .get("cluster")
                    .and_then(|c| c.get("arn"))
                    .and_then(|a| tierui_core::walkthrough::engine::arn_account(a));
                let arn = match account {
                    Some(acct) => arn.replace("<account>", &acct),
                    None => arn,
                };
                let entry = super::local::AuthEntry {
                    kind: kind.clone(),
                    arn: arn.clone(),
                    username: username.clone(),
                    groups: groups.clone(),
                };
                match self.local.map_identity(cluster, entry).await {
                    Ok(()) => (
                        // The ARN as written (`<account>` filled in): teardown removes this one.
                        Produced::from([
                            ("aws_auth".to_string(), format!("{kind} {arn}")),
                            ("arn".to_string(), arn.clone()),
                        ]),
                        false,
                    ),
                    Err(m) => {
                        // No reachable cluster API here: say exactly what to run.
                        let mut cmd = format!(
                            "eksctl create iamidentitymapping --cluster {cluster} --region {} --arn {arn}",
                            self.plan.region
                        );
                        if let Some(u) = username {
                            cmd.push_str(&format!(" --username '{u}'"));
                        }
                        for g in groups {
                            cmd.push_str(&format!(" --group {g}"));
                        }
                        self.progress
                            .manual(&call.id, now_ms(), format!("not written: {m}"));
                        let _ = self.save();
                        self.emit(Event::Manual {
                            step,
                            call: call.id.clone(),
                            command: cmd,
                        });
                        return true;
                    }
                }
            }
            op => match self.cloud_call(call, op, &outputs).await {
                Ok(x) => x,
                Err(e) => return self.fail(step, call, e),
            },
        };
        self.settle(step, call, (produced, adopted), &outputs, started)
            .await
    }

    /// An AWS (or sandbox cloud) call: adopt what an earlier run made, else run
    /// it; never one resource for two calls.
    async fn cloud_call(
        &mut self,
        call: &Call,
        op: &Op,
        outputs: &Outputs,
    ) -> Result<(Produced, bool), CloudError> {
        let found = match self
            .cloud
            .find(&self.plan.cluster, &call.id, op, outputs)
            .await
        {
            Ok(f) => f,
            Err(e) if e.is_not_implemented() || e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let (produced, adopted) = match found {
            Some(p) => (p, true),
            None => match self.cloud.execute(&call.id, op, outputs).await {
                Ok(p) => (p, false),
                Err(e) => return Err(e),
            },
        };
        if let Some((other, id)) = self.progress.claimed_by(&self.plan, call, &produced) {
            let how = if adopted { "adopt" } else { "record" };
            let e = CloudError::new(
                op.api(),
                "DuplicateResource",
                format!(
                    "{id} already belongs to {other}; tierui will not {how} one resource for two calls (the plan makes one per call) — check the resource's tierui.io tags"
                ),
            );
            return Err(e);
        }
        Ok((produced, adopted))
    }

    /// After a call returned: record it (on disk before anything else), wait
    /// until the resource is ready where AWS is slow, and report it done.
    async fn settle(
        &mut self,
        step: char,
        call: &Call,
        (produced, adopted): (Produced, bool),
        outputs: &Outputs,
        started: Instant,
    ) -> bool {
        let wait = wait_after(&call.op, &produced);
        self.progress.returned(
            &call.id,
            produced.clone(),
            adopted,
            wait.is_some(),
            now_ms(),
        );
        // The created ID is on disk before anything else happens.
        if let Err(e) = self.save() {
            return self.fail(step, call, e);
        }
        if adopted {
            self.emit(Event::Adopted {
                step,
                call: call.id.clone(),
                produced: produced.clone(),
            });
        }
        let verified = match wait {
            Some(w) => match self.wait(step, call, &w, started).await {
                Ok(v) => Some(v),
                Err(WaitEnd::Failed(e)) => return self.fail(step, call, e),
                Err(WaitEnd::Interrupted) => return false,
            },
            None => None,
        };
        if let Some(v) = &verified {
            // Some outputs (endpoint, OIDC issuer) exist only once the resource is ready.
            if let Ok(Some(fresh)) = self
                .cloud
                .find(&self.plan.cluster, &call.id, &call.op, outputs)
                .await
            {
                self.progress
                    .outputs
                    .entry(call.id.clone())
                    .or_default()
                    .extend(fresh);
            }
            self.progress.ready(&call.id, v.clone(), now_ms());
            if let Err(e) = self.save() {
                return self.fail(step, call, e);
            }
        }
        let produced = self
            .progress
            .outputs
            .get(&call.id)
            .cloned()
            .unwrap_or(produced);
        self.emit(Event::Done {
            step,
            call: call.id.clone(),
            api: call.op.api().into(),
            produced,
            verified,
            secs: started.elapsed().as_secs_f64(),
        });
        true
    }

    fn poll_interval(&self, expected_secs: u64) -> Duration {
        let secs = (expected_secs as f64 / 30.0 / self.speed).clamp(0.05, 15.0);
        Duration::from_secs_f64(secs)
    }

    async fn wait(
        &mut self,
        step: char,
        call: &Call,
        wait: &WaitFor,
        started: Instant,
    ) -> Result<String, WaitEnd> {
        let expected = call.expected_secs.max(10);
        let timeout = Duration::from_secs_f64((expected as f64 * 3.0).max(120.0) / self.speed);
        let interval = self.poll_interval(expected);
        let mut last: Option<(String, Instant)> = None;
        loop {
            match self.cloud.poll(wait).await {
                Ok(Poll::Done) => return Ok(format!("{} reports {}", wait.api(), wait.target())),
                Ok(Poll::Failed(status)) => {
                    return Err(WaitEnd::Failed(CloudError::new(
                        wait.api(),
                        "ResourceFailed",
                        format!("the resource went to {status} instead of {}", wait.target()),
                    )));
                }
                Ok(Poll::Pending(status)) => {
                    self.progress.waiting(&call.id, &status);
                    // Report a change of status, or a heartbeat every 15 s.
                    let report = last.as_ref().is_none_or(|(s, at)| {
                        *s != status || at.elapsed() >= Duration::from_secs(15)
                    });
                    if report {
                        let elapsed = started.elapsed().as_secs_f64();
                        let eta = (expected as f64 / self.speed - elapsed).max(0.0);
                        last = Some((status.clone(), Instant::now()));
                        self.emit(Event::Waiting {
                            step,
                            call: call.id.clone(),
                            api: wait.api().into(),
                            aws_status: status,
                            elapsed_secs: elapsed,
                            eta_secs: eta,
                        });
                    }
                }
                Err(e) if e.is_not_implemented() => {
                    return Ok(format!(
                        "{} is not implemented by this endpoint; not verified",
                        wait.api()
                    ));
                }
                Err(e) => return Err(WaitEnd::Failed(e)),
            }
            if started.elapsed() > timeout {
                return Err(WaitEnd::Failed(CloudError::new(
                    wait.api(),
                    "WaitTimeout",
                    format!(
                        "still not {} after {:.0} s",
                        wait.target(),
                        timeout.as_secs_f64()
                    ),
                )));
            }
            tokio::time::sleep(interval).await;
            if self.interrupted() {
                // The resource keeps being created; a resume polls it again.
                return Err(WaitEnd::Interrupted);
            }
        }
    }

    /// Deletes what the walkthrough created, in reverse order, waiting where AWS must.
    pub async fn teardown(&mut self) {
        self.progress.start_teardown(&self.plan);
        let _ = self.save();
        let order = self.progress.teardown_order(&self.plan);
        for key in order {
            if self.interrupted() {
                return;
            }
            let Some(rec) = self.progress.teardown.get(&key).cloned() else {
                continue;
            };
            if rec.status == UndoStatus::Done {
                continue;
            }
            let api = rec.undo.api().to_string();
            self.set_undo(&key, UndoStatus::Running, None);
            self.emit(Event::UndoStarted {
                key: key.clone(),
                api: api.clone(),
            });
            let result = self.undo_one(&rec.undo).await;
            match result {
                Ok(already_gone) => {
                    self.set_undo(&key, UndoStatus::Done, None);
                    self.emit(Event::UndoDone {
                        key,
                        api,
                        already_gone,
                    });
                }
                Err(e) => {
                    self.set_undo(&key, UndoStatus::Failed, Some(e.clone()));
                    self.emit(Event::UndoFailed {
                        key,
                        advice: advice(&e),
                        error: e,
                    });
                    self.emit(Event::TeardownFinished { complete: false });
                    return;
                }
            }
        }
        let complete = self.progress.teardown_complete();
        if complete {
            // Everything is gone: the walkthrough can start from scratch.
            self.progress = self.progress.restart(&self.plan);
        }
        let _ = self.save();
        self.emit(Event::TeardownFinished { complete });
    }

    fn set_undo(&mut self, key: &str, status: UndoStatus, error: Option<CloudError>) {
        if let Some(r) = self.progress.teardown.get_mut(key) {
            r.status = status;
            r.error = error;
        }
        let _ = self.save();
    }

    /// Ok(true) when the resource was already gone.
    async fn undo_one(&mut self, undo: &Undo) -> Result<bool, CloudError> {
        let local = |r: Result<(), String>| {
            r.map(|()| false)
                .map_err(|m| CloudError::new(undo.api(), "LocalError", m))
        };
        match undo {
            Undo::RemoveKubeconfig { cluster } => {
                return local(self.local.remove_kubeconfig(cluster));
            }
            Undo::DeleteServiceAccount {
                cluster,
                namespace,
                name,
            } => {
                // A service account that was never created (manual step) is not an error.
                return Ok(self
                    .local
                    .delete_service_account(cluster, namespace, name)
                    .await
                    .is_err());
            }
            Undo::UnmapIdentity { cluster, kind, arn } => {
                // An entry that was never written (manual step) is not an error.
                return Ok(self.local.unmap_identity(cluster, kind, arn).await.is_err());
            }
            _ => {}
        }
        match self.cloud.undo(undo).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(true),
            Err(e) if e.is_not_implemented() => return Ok(true),
            Err(e) => return Err(e),
        }
        if let Some(w) = wait_after_undo(undo) {
            let expected = 300.0;
            let timeout = Duration::from_secs_f64(expected * 3.0 / self.speed);
            let start = Instant::now();
            loop {
                match self.cloud.poll(&w).await {
                    Ok(Poll::Done) => break,
                    Err(e) if e.is_not_found() || e.is_not_implemented() => break,
                    Ok(Poll::Pending(_)) => {}
                    Ok(Poll::Failed(s)) => {
                        return Err(CloudError::new(w.api(), "ResourceFailed", s));
                    }
                    Err(e) => return Err(e),
                }
                if start.elapsed() > timeout {
                    return Err(CloudError::new(
                        w.api(),
                        "WaitTimeout",
                        format!(
                            "still not {} after {:.0} s",
                            w.target(),
                            timeout.as_secs_f64()
                        ),
                    ));
                }
                tokio::time::sleep(self.poll_interval(300)).await;
            }
        }
        Ok(false)
    }
}

enum WaitEnd {
    Failed(CloudError),
    Interrupted,
}

/// Where progress of a walkthrough is saved.
pub fn state_file(dir: &std::path::Path, cluster: &str, target: &str) -> PathBuf {
    let safe: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join("walkthrough")
        .join(format!("{cluster}-{safe}.json"))
}

/// Loads saved progress when it belongs to this plan; a different plan starts fresh
/// (its file is kept aside, never silently overwritten).
pub fn load_progress(
    file: &std::path::Path,
    plan: &Plan,
    target: &str,
) -> anyhow::Result<Progress> {
    match std::fs::read(file) {
        Ok(bytes) => {
            let p: Progress = serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::anyhow!("{}: unreadable walkthrough state ({e})", file.display())
            })?;
            if p.fingerprint != plan.fingerprint() {
                if p.holds_resources() {
                    anyhow::bail!(
                        "{} records resources created from a different version of the ClusterConfig; tear them down first (`tierui walk {} --teardown` with the old config) or move the file aside",
                        file.display(),
                        plan.cluster
                    );
                }
                return Ok(Progress::new(plan, target));
            }
            Ok(p)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::new(plan, target)),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", file.display())),
    }
}
