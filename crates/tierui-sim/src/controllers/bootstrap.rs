//! What exists when the cluster starts: system namespaces, nodes, the
//! scenario's demo manifests, the caller's objects and the `--pods` load.

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::kinds;
use crate::ops::{PatchType, WriteOpts};
use crate::scenario::Scenario;
use crate::state::State;

/// The field manager seeded objects are applied with: tierui applies with the
/// same one, so re-applying a seeded manifest from the sandbox does not conflict.
pub const SEED_MANAGER: &str = "tierui";
pub const LOAD_NAMESPACE: &str = "load";

/// Whether a namespace holds `--pods` load (`load`, `load-000` …): the
/// controllers leave those pods alone.
pub fn is_load_namespace(ns: &str) -> bool {
    ns == LOAD_NAMESPACE
        || ns
            .strip_prefix("load-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The namespace of load pod `i` out of `spread` namespaces.
pub fn load_namespace(i: usize, spread: usize) -> String {
    if spread <= 1 {
        LOAD_NAMESPACE.to_string()
    } else {
        format!("load-{:03}", i % spread)
    }
}

pub fn namespaces(st: &mut State) {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        st.put(
            kinds::NAMESPACE,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        );
    }
}

pub fn nodes(st: &mut State, sc: &Scenario) {
    let n = &sc.nodes;
    let region = n
        .zones
        .first()
        .map(|z| z.trim_end_matches(char::is_alphabetic).to_string())
        .unwrap_or_default();
    for i in 0..n.count {
        // 240 addresses per /24, so 5,000 nodes never share one.
        let ip = format!(
            "10.{}.{}.{}",
            i / 240 / 250,
            1 + (i / 240) % 250,
            10 + i % 240
        );
        let name = format!(
            "{}{}{}",
            n.prefix,
            if i < 240 * 250 {
                ip.trim_start_matches("10.0.").replace('.', "-")
            } else {
                ip.trim_start_matches("10.").replace('.', "-")
            },
            n.suffix
        );
        let zone = n
            .zones
            .get(i % n.zones.len().max(1))
            .cloned()
            .unwrap_or_default();
        let now = Clock::timestamp();
        let cond = |ty: &str, status: &str, reason: &str, msg: &str| json!({"type": ty, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": reason, "message": msg});
        let instance = format!("i-{:017x}", st.rng.next_u64() >> 4);
        let machine = format!("{:032x}", u128::from(st.rng.next_u64()));
        let (system_uuid, boot_id) = (st.rng.uuid(), st.rng.uuid());
        st.put(kinds::NODE, json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": n.instance_type,
                    "topology.kubernetes.io/zone": zone,
                    "topology.kubernetes.io/region": region,
                    "eks.amazonaws.com/nodegroup": "default",
                },
            },
            "spec": {"providerID": format!("aws:///{zone}/{instance}")},
            "status": {
                "capacity": {"cpu": n.cpu, "memory": n.memory, "pods": n.pods.to_string(), "ephemeral-storage": "83873772Ki"},
                "allocatable": {"cpu": n.cpu, "memory": n.memory, "pods": n.pods.to_string(), "ephemeral-storage": "76224326324"},
                "conditions": [
                    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                ],
                "addresses": [
                    {"type": "InternalIP", "address": ip},
                    {"type": "InternalDNS", "address": name},
                    {"type": "Hostname", "address": name},
                ],
                "nodeInfo": {
                    "machineID": machine,
                    "systemUUID": system_uuid,
                    "bootID": boot_id,
                    "kernelVersion": "6.1.119-129.201.amzn2023.x86_64",
                    "osImage": "Amazon Linux 2023.6.20241212",
                    "containerRuntimeVersion": "containerd://1.7.23",
                    "kubeletVersion": "v1.33.0-eks-sim",
                    "kubeProxyVersion": "v1.33.0-eks-sim",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        }));
    }
}

/// Applies manifests (namespaces first) the way `kubectl apply --server-side` would.
pub fn objects(st: &mut State, objects: &[Value]) -> Vec<String> {
    let mut sorted: Vec<&Value> = objects.iter().collect();
    sorted.sort_by_key(|o| o.get("kind").and_then(Value::as_str) != Some("Namespace"));
    let mut problems = Vec::new();
    for o in sorted {
        let av = o
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let k = o.get("kind").and_then(Value::as_str).unwrap_or_default();
        let name = o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(kind) = kinds::by_gvk(av, k) else {
            problems.push(format!("{av}/{k} {name}: not a simulated kind"));
            continue;
        };
        let ns = if kinds::get(kind).namespaced {
            o.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default")
        } else {
            ""
        };
        let body = serde_json::to_vec(o).unwrap_or_default();
        let opts = WriteOpts {
            manager: SEED_MANAGER.into(),
            force: true,
            ..Default::default()
        };
        if let Err(e) = st.api_patch(kind, ns, name, PatchType::Apply, &body, &opts) {
            problems.push(format!("{k} {ns}/{name}: {}", e.message));
        }
    }
    problems
}

/// `--pods N`: bare, already running pods spread over the nodes (and over
/// `spread` namespaces), for scale tests.
pub fn load_pods(st: &mut State, count: usize, spread: usize) {
    if count == 0 {
        return;
    }
    for k in 0..spread.clamp(1, count) {
        st.put(
            kinds::NAMESPACE,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": load_namespace(k, spread)}}),
        );
    }
    let nodes: Vec<String> = st
        .store
        .range(kinds::NODE, None, None)
        .map(|e| e.name.clone())
        .collect();
    let now = Clock::timestamp();
    for i in 0..count {
        let node = nodes
            .get(i % nodes.len().max(1))
            .cloned()
            .unwrap_or_default();
        let name = format!("load-{i:05}-{}", st.rng.suffix(5));
        let uid = st.rng.uuid();
        let ns = load_namespace(i, spread);
        st.put(kinds::POD, load_pod(&name, &ns, i, &node, &now, uid));
    }
}

pub fn load_pod(
    name: &str,
    namespace: &str,
    i: usize,
    node: &str,
    now: &str,
    uid: String,
) -> Value {
    let ip = format!("10.1.{}.{}", (i / 250) % 250, 2 + i % 250);
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": uid, "creationTimestamp": now, "labels": {"app": format!("load-{}", i % 20), "tier": if i.is_multiple_of(2) { "web" } else { "worker" }}},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10", "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
        },
        "status": {
            "phase": "Running",
            "qosClass": "Burstable",
            "podIP": ip,
            "startTime": now,
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "Ready", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            ],
            "containerStatuses": [{"name": "app", "image": "registry.k8s.io/pause:3.10", "imageID": "", "ready": true, "started": true, "restartCount": 0, "state": {"running": {"startedAt": now}}}],
        },
    })
}
