//! The scheduler and kubelets in one: pods are bound to a node, pull their
//! images, start, become ready, and — when the scenario says so — fail to pull
//! (ErrImagePull / ImagePullBackOff) or crash (CrashLoopBackOff with growing
//! back-off and restart counts). Each step is a timer on simulated time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::cluster::Sim;
use crate::kinds;
use crate::metrics::is_ready;
use crate::state::State;
use crate::store::{Change, ChangeType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Schedule,
    Pull,
    PullBackOff,
    Start,
    Ready,
    Crash,
    /// A run-to-completion pod's containers exit.
    Finish,
    Remove,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at_ms: u64,
    seq: u64,
    ns: String,
    name: String,
    uid: String,
    step: Step,
}

#[derive(Default)]
pub struct Kubelet {
    timers: BinaryHeap<Reverse<Timer>>,
    seq: u64,
    next_node: usize,
    terminating: HashSet<String>,
    pull_failures: std::collections::HashMap<String, u32>,
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

fn draw(st: &mut State, range: [f64; 2]) -> f64 {
    let (lo, hi) = (range[0].min(range[1]), range[0].max(range[1]));
    st.rng.range(lo, hi)
}

impl Kubelet {
    fn at(&mut self, t: f64, ns: &str, name: &str, uid: &str, step: Step) {
        self.seq += 1;
        self.timers.push(Reverse(Timer {
            at_ms: (t.max(0.0) * 1000.0) as u64,
            seq: self.seq,
            ns: ns.into(),
            name: name.into(),
            uid: uid.into(),
            step,
        }));
    }

    /// The schedulable, ready node with the fewest pods (spreading like the
    /// default scheduler's balanced scoring); honours `nodeName`-less pods'
    /// `nodeSelector`. Returns (node, its InternalIP).
    fn pick_node(&mut self, st: &State, pod: &Value) -> Option<(String, String)> {
        let spec = pod.get("spec").cloned().unwrap_or(Value::Null);
        let pinned = s(
            pod,
            "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0",
        );
        let mut best: Option<(usize, usize, String, String)> = None;
        let nodes: Vec<Value> = st
            .store
            .range(kinds::NODE, None, None)
            .map(|e| e.value())
            .collect();
        let count = nodes.len().max(1);
        let mut per_node: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for e in st.store.range(kinds::POD, None, None) {
            if let Some(n) = e.field("spec.nodeName").filter(|n| !n.is_empty()) {
                *per_node.entry(n).or_default() += 1;
            }
        }
        for (i, node) in nodes.iter().enumerate() {
            let name = s(node, "/metadata/name");
            let ready = node
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|x| s(x, "/type") == "Ready" && s(x, "/status") == "True")
                });
            let cordoned = node.pointer("/spec/unschedulable") == Some(&Value::Bool(true));
            // nodeSelector and taints; a daemon pod is pinned by node affinity
            // (and tolerates the unschedulable taint a cordon sets).
            let selected = super::daemonset::fits(&spec, node, &[]);
            let pinned_here = pinned.is_empty() || pinned == name;
            if !ready || (cordoned && pinned.is_empty()) || !selected || !pinned_here {
                continue;
            }
            let pods = per_node.get(name).copied().unwrap_or(0);
            // Ties rotate so equal nodes take turns.
            let turn = (i + count - self.next_node % count) % count;
            let candidate = (
                pods,
                turn,
                name.to_string(),
                s(node, "/status/addresses/0/address").to_string(),
            );
            if best
                .as_ref()
                .is_none_or(|b| (candidate.0, candidate.1) < (b.0, b.1))
            {
                best = Some(candidate);
            }
        }
        self.next_node += 1;
        best.map(|(_, _, n, ip)| (n, ip))
    }

    /// Next timer due, in simulated seconds.
    pub fn next_due(&self) -> Option<f64> {
        self.timers.peek().map(|Reverse(t)| t.at_ms as f64 / 1000.0)
    }

    /// Picks up pods the timers do not know about yet (new, or terminating).
    pub fn observe(
        &mut self,
        sim: &Sim,
        st: &mut State,
        changes: &[std::sync::Arc<Change>],
        t: f64,
    ) {
        for c in changes {
            if c.entry.kind != kinds::POD {
                continue;
            }
            if c.ty == ChangeType::Deleted {
                self.terminating.remove(&c.entry.uid);
                continue;
            }
            // Skip the kubelet's own writes quickly: they are Modified with a node.
            if c.ty == ChangeType::Added
                || c.entry.field("spec.nodeName") == Some("")
                || c.entry.bytes.windows(17).any(|w| w == b"deletionTimestamp")
            {
                let pod = c.entry.value();
                self.track(sim, st, &pod, t);
            }
        }
    }

    /// Schedules the next step for a pod found in the store in any state
    /// (new pods, and every pod after a restore).
    pub fn track(&mut self, sim: &Sim, st: &mut State, pod: &Value, t: f64) {
        let (ns, name, uid) = (
            s(pod, "/metadata/namespace"),
            s(pod, "/metadata/name"),
            s(pod, "/metadata/uid"),
        );
        let timing = sim.scenario.timing.clone();
        if pod.pointer("/metadata/deletionTimestamp").is_some() {
            if self.terminating.insert(uid.to_string()) {
                let d = draw(st, timing.terminate);
                self.at(t + d, ns, name, uid, Step::Remove);
            }
            return;
        }
        if s(pod, "/spec/nodeName").is_empty() {
            let d = draw(st, timing.schedule);
            self.at(t + d, ns, name, uid, Step::Schedule);
            return;
        }
        let waiting = pod
            .pointer("/status/containerStatuses/0/state/waiting/reason")
            .and_then(Value::as_str);
        match waiting {
            Some("ContainerCreating" | "ErrImagePull" | "ImagePullBackOff") => {
                let d = draw(st, timing.pull);
                self.at(t + d, ns, name, uid, Step::Pull);
            }
            Some("CrashLoopBackOff") => self.at(t + 10.0, ns, name, uid, Step::Start),
            _ if s(pod, "/status/phase") == "Running" && !is_ready(pod) => {
                let d = draw(st, timing.ready);
                self.at(t + d, ns, name, uid, Step::Ready);
            }
            _ if s(pod, "/status/phase") == "Running" && runs_to_completion(pod) => {
                let d = draw(st, timing.run);
                self.at(t + d, ns, name, uid, Step::Finish);
            }
            _ if s(pod, "/status/phase").is_empty() || s(pod, "/status/phase") == "Pending" => {
                let d = draw(st, timing.pull);
                self.at(t + d, ns, name, uid, Step::Pull);
            }
            _ => {}
        }
    }

    pub fn fire_due(&mut self, sim: &Sim, st: &mut State, t: f64) {
        let now_ms = (t * 1000.0) as u64;
        let mut budget = 2_000;
        while let Some(Reverse(top)) = self.timers.peek() {
            if top.at_ms > now_ms || budget == 0 {
                break;
            }
            budget -= 1;
            let Some(Reverse(timer)) = self.timers.pop() else {
                break;
            };
            let Some(pod) = st.get_value(kinds::POD, &timer.ns, &timer.name) else {
                continue;
            };
            if s(&pod, "/metadata/uid") != timer.uid {
                continue;
            }
            if pod.pointer("/metadata/deletionTimestamp").is_some() && timer.step != Step::Remove {
                continue;
            }
            self.step(sim, st, pod, timer.step, t);
        }
    }

    fn step(&mut self, sim: &Sim, st: &mut State, pod: Value, step: Step, t: f64) {
        let key = PodKey::of(&pod);
        match step {
            Step::Schedule => self.schedule(sim, st, pod, &key, t),
            Step::Pull => self.pull_images(sim, st, pod, &key, t),
            Step::PullBackOff => self.back_off_image_pull(sim, st, pod, &key, t),
            Step::Start => self.start_containers(sim, st, pod, &key, t),
            Step::Ready => {
                let ends = runs_to_completion(&pod);
                mark_ready(st, pod);
                if ends {
                    let d = draw(st, sim.scenario.timing.run);
                    self.then(t + d, &key, Step::Finish);
                }
            }
            Step::Crash => self.crash_containers(st, pod, &key, t),
            Step::Finish => {
                let fails = fails(sim, st, &pod);
                finish(st, pod, !fails);
            }
            Step::Remove => {
                self.terminating.remove(&key.uid);
                st.store.remove(kinds::POD, &key.ns, &key.name);
            }
        }
    }

    /// Queues `step` for the pod at simulated time `at`.
    fn then(&mut self, at: f64, key: &PodKey, step: Step) {
        self.at(at, &key.ns, &key.name, &key.uid, step);
    }

    /// Scheduler: binds the pod to a node and sets it Pending/ContainerCreating, or reports FailedScheduling.
    fn schedule(&mut self, sim: &Sim, st: &mut State, mut pod: Value, key: &PodKey, t: f64) {
        if !s(&pod, "/spec/nodeName").is_empty() {
            return;
        }
        let total = st.store.count(kinds::NODE);
        if let Some(claim) = claims_of(&pod)
            .into_iter()
            .find(|c| st.store.get(kinds::PVC, &key.ns, c).is_none())
        {
            st.event(
                kinds::POD,
                &pod,
                "Warning",
                "FailedScheduling",
                &format!("0/{total} nodes are available: persistentvolumeclaim \"{claim}\" not found. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."),
                "default-scheduler",
            );
            self.then(t + 5.0, key, Step::Schedule);
            return;
        }
        if let Some(claim) = claims_of(&pod).into_iter().find(|c| {
            st.store
                .get(kinds::PVC, &key.ns, c)
                .is_some_and(|e| e.value().pointer("/metadata/deletionTimestamp").is_some())
        }) {
            st.event(
                kinds::POD,
                &pod,
                "Warning",
                "FailedScheduling",
                &format!("0/{total} nodes are available: persistentvolumeclaim \"{claim}\" is being deleted. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."),
                "default-scheduler",
            );
            self.then(t + 5.0, key, Step::Schedule);
            return;
        }
        // A claim the scheduler cannot bind itself (Immediate binding, or no
        // such class) must be bound before the pod is placed.
        if claims_of(&pod)
            .iter()
            .any(|c| waits_for_binding(st, &key.ns, c))
        {
            st.event(
                kinds::POD,
                &pod,
                "Warning",
                "FailedScheduling",
                &format!("0/{total} nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."),
                "default-scheduler",
            );
            self.then(t + 5.0, key, Step::Schedule);
            return;
        }
        let Some((node, host_ip)) = self.pick_node(st, &pod) else {
            let total = st.store.count(kinds::NODE);
            let msg = if total == 0 {
                "0/0 nodes are available: no nodes available to schedule pods.".to_string()
            } else {
                format!(
                    "0/{total} nodes are available: {total} node(s) were unschedulable or not ready."
                )
            };
            st.event(
                kinds::POD,
                &pod,
                "Warning",
                "FailedScheduling",
                &msg,
                "default-scheduler",
            );
            self.then(t + 5.0, key, Step::Schedule);
            return;
        };
        let now = Clock::timestamp();
        let containers = containers_of(&pod);
        pod["spec"]["nodeName"] = json!(node);
        pod["status"] = json!({
            "phase": "Pending",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "False", "lastProbeTime": null, "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": now},
                {"type": "Ready", "status": "False", "lastProbeTime": null, "lastTransitionTime": now, "reason": "ContainersNotReady", "message": format!("containers with unready status: [{}]", names(&containers))},
                {"type": "ContainersReady", "status": "False", "lastProbeTime": null, "lastTransitionTime": now, "reason": "ContainersNotReady", "message": format!("containers with unready status: [{}]", names(&containers))},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now},
            ],
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "startTime": now,
            "qosClass": pod.pointer("/status/qosClass").cloned().unwrap_or(json!("BestEffort")),
            "containerStatuses": containers.iter().map(|c| json!({
                "name": c.get("name").cloned().unwrap_or(Value::Null),
                "image": image_of(c),
                "imageID": "",
                "ready": false,
                "restartCount": 0,
                "started": false,
                "state": {"waiting": {"reason": "ContainerCreating"}},
                "lastState": {},
            })).collect::<Vec<_>>(),
        });
        let msg = format!("Successfully assigned {}/{} to {node}", key.ns, key.name);
        st.store.commit(kinds::POD, pod.clone());
        st.event(
            kinds::POD,
            &pod,
            "Normal",
            "Scheduled",
            &msg,
            "default-scheduler",
        );
        let d = draw(st, sim.scenario.timing.pull);
        self.then(t + d, key, Step::Pull);
    }

    /// Pulls every container image; a missing image fails with ErrImagePull.
    fn pull_images(&mut self, sim: &Sim, st: &mut State, mut pod: Value, key: &PodKey, t: f64) {
        let containers = containers_of(&pod);
        let missing: Vec<String> = containers
            .iter()
            .map(image_of)
            .filter(|i| !sim.scenario.image_exists(i))
            .collect();
        if let Some(image) = missing.first() {
            set_waiting(
                &mut pod,
                "ErrImagePull",
                &format!("failed to pull and unpack image \"{image}\": not found"),
            );
            st.store.commit(kinds::POD, pod.clone());
            st.event(
                kinds::POD,
                &pod,
                "Normal",
                "Pulling",
                &format!("Pulling image \"{image}\""),
                "kubelet",
            );
            st.event(kinds::POD, &pod, "Warning", "Failed", &format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"), "kubelet");
            st.event(
                kinds::POD,
                &pod,
                "Warning",
                "Failed",
                "Error: ErrImagePull",
                "kubelet",
            );
            self.then(t + 1.0, key, Step::PullBackOff);
            return;
        }
        self.pull_failures.remove(&key.uid);
        for c in &containers {
            let image = image_of(c);
            st.event(
                kinds::POD,
                &pod,
                "Normal",
                "Pulling",
                &format!("Pulling image \"{image}\""),
                "kubelet",
            );
            st.event(kinds::POD, &pod, "Normal", "Pulled", &format!("Successfully pulled image \"{image}\" in 1.2s (1.2s including waiting). Image size: 48213120 bytes."), "kubelet");
        }
        let d = draw(st, sim.scenario.timing.start);
        self.then(t + d, key, Step::Start);
    }

    /// ImagePullBackOff: waits 10s doubling to 5 minutes before pulling again.
    fn back_off_image_pull(
        &mut self,
        sim: &Sim,
        st: &mut State,
        mut pod: Value,
        key: &PodKey,
        t: f64,
    ) {
        let image = containers_of(&pod)
            .iter()
            .map(image_of)
            .find(|i| !sim.scenario.image_exists(i))
            .unwrap_or_default();
        set_waiting(
            &mut pod,
            "ImagePullBackOff",
            &format!("Back-off pulling image \"{image}\""),
        );
        st.store.commit(kinds::POD, pod.clone());
        st.event(
            kinds::POD,
            &pod,
            "Normal",
            "BackOff",
            &format!("Back-off pulling image \"{image}\""),
            "kubelet",
        );
        st.event(
            kinds::POD,
            &pod,
            "Warning",
            "Failed",
            "Error: ImagePullBackOff",
            "kubelet",
        );
        let n = self.pull_failures.entry(key.uid.clone()).or_insert(0);
        *n += 1;
        let backoff = (10.0 * 2f64.powi((*n as i32 - 1).clamp(0, 5))).min(300.0);
        self.then(t + backoff, key, Step::Pull);
    }

    /// Starts the containers (pod Running, IP assigned), then schedules a crash or readiness.
    fn start_containers(
        &mut self,
        sim: &Sim,
        st: &mut State,
        mut pod: Value,
        key: &PodKey,
        t: f64,
    ) {
        let containers = containers_of(&pod);
        let restarting = pod
            .pointer("/status/containerStatuses/0/lastState/terminated")
            .is_some();
        set_running(st, &mut pod);
        st.store.commit(kinds::POD, pod.clone());
        for c in &containers {
            let cname = s(c, "/name");
            if restarting {
                st.event(
                    kinds::POD,
                    &pod,
                    "Normal",
                    "Pulled",
                    &format!(
                        "Container image \"{}\" already present on machine",
                        image_of(c)
                    ),
                    "kubelet",
                );
            }
            st.event(
                kinds::POD,
                &pod,
                "Normal",
                "Created",
                &format!("Created container: {cname}"),
                "kubelet",
            );
            st.event(
                kinds::POD,
                &pod,
                "Normal",
                "Started",
                &format!("Started container {cname}"),
                "kubelet",
            );
        }
        let deployment = owner_deployment(st, &pod);
        let crashes = containers
            .iter()
            .any(|c| sim.scenario.crashes(&image_of(c), deployment.as_deref()));
        let timing = &sim.scenario.timing;
        let restart = s(&pod, "/spec/restartPolicy");
        if runs_to_completion(&pod) && fails(sim, st, &pod) {
            // A failing batch container: `Never` ends the pod Failed, `OnFailure`
            // restarts it in place with the crash back-off.
            let d = draw(st, timing.crash_after);
            let step = if restart == "Never" {
                Step::Finish
            } else {
                Step::Crash
            };
            self.then(t + d, key, step);
        } else if crashes {
            let d = draw(st, timing.crash_after);
            self.then(t + d, key, Step::Crash);
        } else {
            let d = draw(st, timing.ready);
            self.then(t + d, key, Step::Ready);
        }
    }

    /// CrashLoopBackOff: the containers exit with an error and restart after a growing back-off.
    fn crash_containers(&mut self, st: &mut State, mut pod: Value, key: &PodKey, t: f64) {
        let now = Clock::timestamp();
        let containers = containers_of(&pod);
        let PodKey { ns, name, uid } = key;
        let mut restarts = 0;
        if let Some(cs) = pod
            .pointer_mut("/status/containerStatuses")
            .and_then(Value::as_array_mut)
        {
            for c in cs.iter_mut() {
                let started = c
                    .pointer("/state/running/startedAt")
                    .cloned()
                    .unwrap_or(json!(now));
                restarts = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0) + 1;
                c["restartCount"] = json!(restarts);
                c["ready"] = json!(false);
                c["started"] = json!(false);
                c["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": started, "finishedAt": now, "containerID": c.get("containerID").cloned().unwrap_or(Value::Null)}});
                let backoff = backoff_secs(restarts);
                c["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off {backoff}s restarting failed container={} pod={name}_{ns}({uid})", s(c, "/name"))}});
            }
        }
        for ty in ["Ready", "ContainersReady"] {
            set_condition(&mut pod, ty, "False", &now);
        }
        st.store.commit(kinds::POD, pod.clone());
        for c in &containers {
            st.event(
                kinds::POD,
                &pod,
                "Warning",
                "BackOff",
                &format!(
                    "Back-off restarting failed container {} in pod {name}_{ns}({uid})",
                    s(c, "/name")
                ),
                "kubelet",
            );
        }
        self.then(t + backoff_secs(restarts) as f64, key, Step::Start);
    }
}

/// Namespace, name and uid of the pod a kubelet step acts on.
struct PodKey {
    ns: String,
    name: String,
    uid: String,
}

impl PodKey {
    fn of(pod: &Value) -> Self {
        PodKey {
            ns: s(pod, "/metadata/namespace").to_string(),
            name: s(pod, "/metadata/name").to_string(),
            uid: s(pod, "/metadata/uid").to_string(),
        }
    }
}

/// Whether claim `ns/name` keeps a pod from being scheduled: not bound, and
/// not of a `WaitForFirstConsumer` class (which binds once the pod has a node).
fn waits_for_binding(st: &State, ns: &str, name: &str) -> bool {
    let Some(claim) = st.store.get(kinds::PVC, ns, name).map(|e| e.value()) else {
        return false;
    };
    if s(&claim, "/status/phase") == "Bound" {
        return false;
    }
    let class = s(&claim, "/spec/storageClassName");
    let delayed = !class.is_empty()
        && st
            .store
            .get(kinds::STORAGECLASS, "", class)
            .is_some_and(|c| s(&c.value(), "/volumeBindingMode") == "WaitForFirstConsumer");
    !delayed
}

/// Names of the PersistentVolumeClaims a pod's volumes use.
pub fn claims_of(pod: &Value) -> Vec<String> {
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName"))
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn containers_of(pod: &Value) -> Vec<Value> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn image_of(c: &Value) -> String {
    s(c, "/image").to_string()
}

/// Marks the pod Running with a pod IP and every container running with image and container IDs.
fn set_running(st: &mut State, pod: &mut Value) {
    let now = Clock::timestamp();
    if pod.pointer("/status/podIP").is_none() {
        let ip = format!("10.0.{}.{}", 32 + st.rng.below(200), 2 + st.rng.below(250));
        pod["status"]["podIP"] = json!(ip);
        pod["status"]["podIPs"] = json!([{"ip": ip}]);
    }
    pod["status"]["phase"] = json!("Running");
    set_condition(pod, "PodReadyToStartContainers", "True", &now);
    if let Some(cs) = pod
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for c in cs.iter_mut() {
            c["state"] = json!({"running": {"startedAt": now}});
            c["started"] = json!(true);
            c["imageID"] = json!(format!(
                "{}@sha256:{:064x}",
                s(c, "/image"),
                crate::clock::fnv(s(c, "/image").as_bytes())
            ));
            c["containerID"] = json!(format!(
                "containerd://{:016x}{:016x}",
                st.rng.next_u64(),
                st.rng.next_u64()
            ));
        }
    }
}

/// Readiness probe passed: containers ready, Ready and ContainersReady conditions True.
fn mark_ready(st: &mut State, mut pod: Value) {
    let now = Clock::timestamp();
    if let Some(cs) = pod
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for c in cs.iter_mut() {
            c["ready"] = json!(true);
        }
    }
    for ty in ["Ready", "ContainersReady"] {
        set_condition(&mut pod, ty, "True", &now);
    }
    st.store.commit(kinds::POD, pod);
}

/// The kubelet's crash back-off: 10s doubling to a 5-minute cap.
pub fn backoff_secs(restarts: i64) -> i64 {
    (10i64 << (restarts - 1).clamp(0, 5)).min(300)
}

fn names(cs: &[Value]) -> String {
    cs.iter()
        .map(|c| s(c, "/name").to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn set_waiting(pod: &mut Value, reason: &str, message: &str) {
    if let Some(cs) = pod
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for c in cs.iter_mut() {
            c["state"] = json!({"waiting": {"reason": reason, "message": message}});
        }
    }
}

fn set_condition(pod: &mut Value, ty: &str, status: &str, now: &str) {
    if let Some(conds) = pod
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        for c in conds.iter_mut() {
            if c.get("type").and_then(Value::as_str) == Some(ty)
                && c.get("status").and_then(Value::as_str) != Some(status)
            {
                c["status"] = json!(status);
                c["lastTransitionTime"] = json!(now);
                if let Some(m) = c.as_object_mut()
                    && status == "True"
                {
                    m.remove("reason");
                    m.remove("message");
                }
            }
        }
    }
}

/// A pod whose containers end (a Job's, or `restartPolicy: Never|OnFailure`).
fn runs_to_completion(pod: &Value) -> bool {
    matches!(s(pod, "/spec/restartPolicy"), "Never" | "OnFailure")
}

/// Whether a run-to-completion pod's containers exit with an error this run.
fn fails(sim: &Sim, st: &State, pod: &Value) -> bool {
    let job = owner_of_kind(pod, "Job").map(|j| format!("{}/{j}", s(pod, "/metadata/namespace")));
    let deployment = owner_deployment(st, pod);
    containers_of(pod).iter().any(|c| {
        let image = image_of(c);
        sim.scenario.job_fails(&image, job.as_deref())
            || sim.scenario.crashes(&image, deployment.as_deref())
    })
}

/// The controller owner's name if it is of `kind`.
pub fn owner_of_kind<'a>(obj: &'a Value, kind: &str) -> Option<&'a str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| s(r, "/kind") == kind)
        .map(|r| s(r, "/name"))
}

/// The containers exited: 0 and `Completed` (pod Succeeded) or 1 and
/// `Error` (pod Failed), as the kubelet reports a finished pod.
fn finish(st: &mut State, mut pod: Value, ok: bool) {
    let now = Clock::timestamp();
    let (code, reason) = if ok { (0, "Completed") } else { (1, "Error") };
    if let Some(cs) = pod
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for c in cs.iter_mut() {
            let started = c
                .pointer("/state/running/startedAt")
                .cloned()
                .unwrap_or(json!(now));
            c["ready"] = json!(false);
            c["started"] = json!(false);
            c["state"] = json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": now, "containerID": c.get("containerID").cloned().unwrap_or(Value::Null)}});
        }
    }
    pod["status"]["phase"] = json!(if ok { "Succeeded" } else { "Failed" });
    for ty in ["Ready", "ContainersReady", "PodReadyToStartContainers"] {
        set_condition(&mut pod, ty, "False", &now);
    }
    if let Some(conds) = pod
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        for c in conds.iter_mut() {
            if matches!(s(c, "/type"), "Ready" | "ContainersReady") {
                c["reason"] = json!(if ok { "PodCompleted" } else { "PodFailed" });
                if let Some(m) = c.as_object_mut() {
                    m.remove("message");
                }
            }
        }
    }
    st.store.commit(kinds::POD, pod);
}

/// `namespace/name` of the deployment behind a pod (through its ReplicaSet).
pub fn owner_deployment(st: &State, pod: &Value) -> Option<String> {
    let ns = s(pod, "/metadata/namespace");
    let rs_name = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| s(r, "/kind") == "ReplicaSet")
        .map(|r| s(r, "/name").to_string())?;
    let rs = st.get_value(kinds::REPLICASET, ns, &rs_name)?;
    let d = rs
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| s(r, "/kind") == "Deployment")
        .map(|r| s(r, "/name").to_string())?;
    Some(format!("{ns}/{d}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_backoff_doubles_to_a_cap() {
        assert_eq!(backoff_secs(1), 10);
        assert_eq!(backoff_secs(2), 20);
        assert_eq!(backoff_secs(4), 80);
        assert_eq!(backoff_secs(9), 300);
    }
}
