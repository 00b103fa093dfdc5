//! Synthetic usage behind `metrics.k8s.io` and the HPA controller, so that what
//! `kubectl top` shows is exactly what the autoscaler acts on.
//!
//! A deployment with a load curve shares the curve's total CPU between its
//! ready pods (so scaling out lowers per-pod usage, as in life); other pods idle
//! at a small fraction of their request. Per-pod jitter is a hash of the seed,
//! the pod's uid and a 15-second bucket: deterministic and stable within a scrape.

use serde_json::{Value, json};

use super::clock::{Clock, mix};
use super::cluster::Sim;
use super::kinds;
use super::quantity;
use super::scenario::Load;
use super::selector::LabelSelector;
use super::state::State;

pub struct LoadIndex<'a> {
    entries: Vec<(String, LabelSelector, &'a Load, usize)>,
}

pub fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter().any(|x| {
                x.get("type").and_then(Value::as_str) == Some("Ready")
                    && x.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

pub fn is_running(pod: &Value) -> bool {
    pod.pointer("/status/phase").and_then(Value::as_str) == Some("Running")
}

impl<'a> LoadIndex<'a> {
    pub fn new(sim: &'a Sim, st: &State) -> Self {
        let mut entries = Vec::new();
        for load in &sim.scenario.load {
            let Some((ns, name)) = load.deployment.split_once('/') else {
                continue;
            };
            let Some(d) = st.get_value(kinds::DEPLOYMENT, ns, name) else {
                continue;
            };
            let Ok(sel) =
                LabelSelector::from_json(d.pointer("/spec/selector").unwrap_or(&Value::Null))
            else {
                continue;
            };
            let ready = st
                .store
                .range(kinds::POD, Some(ns), None)
                .filter(|e| sel.matches(&e.labels))
                .filter(|e| {
                    let p = e.value();
                    is_ready(&p) && p.pointer("/metadata/deletionTimestamp").is_none()
                })
                .count();
            entries.push((ns.to_string(), sel, load, ready));
        }
        LoadIndex { entries }
    }
}

impl LoadIndex<'_> {
    /// The load a pod shares and how many ready pods share it.
    pub fn for_pod(&self, pod: &Value) -> Option<(&Load, usize)> {
        let ns = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let labels = pod.pointer("/metadata/labels");
        self.entries
            .iter()
            .find(|(n, sel, _, _)| n == ns && sel.matches_json(labels))
            .map(|(_, _, load, ready)| (*load, *ready))
    }
}

fn jitter(seed: u64, uid: &str, t: f64, noise: f64) -> f64 {
    let bucket = (t / 15.0).floor() as u64;
    let h = mix(seed ^ super::clock::fnv(uid.as_bytes()) ^ bucket.wrapping_mul(0x9E37));
    let u = (h >> 11) as f64 / (1u64 << 53) as f64;
    1.0 + noise * (2.0 * u - 1.0)
}

fn request(pod: &Value, res: &str) -> f64 {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| {
                    c.pointer(&format!("/resources/requests/{res}"))
                        .and_then(Value::as_str)
                })
                .filter_map(quantity::parse)
                .sum()
        })
        .unwrap_or(0.0)
}

/// (millicores, bytes) a running pod uses at simulated time `t`.
pub fn pod_usage(sim: &Sim, idx: &LoadIndex, pod: &Value, t: f64) -> Option<(f64, f64)> {
    if !is_running(pod) {
        return None;
    }
    let ns = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let uid = pod
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let labels = pod.pointer("/metadata/labels");
    let cpu_req = request(pod, "cpu");
    let mem_req = request(pod, "memory");
    let found = idx
        .entries
        .iter()
        .find(|(n, sel, _, _)| n == ns && sel.matches_json(labels));
    let (cpu, mem, noise) = match found {
        Some((_, _, load, ready)) => {
            let cpu = if is_ready(pod) {
                load.cpu_at(t) / (*ready).max(1) as f64
            } else {
                (cpu_req * 1000.0 * 0.1).max(5.0)
            };
            let mem =
                load.memory
                    .as_deref()
                    .and_then(quantity::parse)
                    .unwrap_or(if mem_req > 0.0 {
                        mem_req * 0.6
                    } else {
                        48.0 * 1024.0 * 1024.0
                    });
            (cpu, mem, load.noise)
        }
        None => {
            let cpu = if cpu_req > 0.0 {
                cpu_req * 1000.0 * 0.05
            } else {
                2.0
            };
            let mem = if mem_req > 0.0 {
                mem_req * 0.4
            } else {
                24.0 * 1024.0 * 1024.0
            };
            (cpu, mem, 0.2)
        }
    };
    let j = jitter(sim.seed, uid, t, noise);
    let jm = jitter(sim.seed ^ 0x55, uid, t, noise.min(0.05));
    Some(((cpu * j).max(1.0), mem * jm))
}

pub fn pod_metrics(sim: &Sim, st: &State, ns: Option<&str>, name: Option<&str>) -> Vec<Value> {
    pod_metrics_page(sim, st, ns, &|e| name.is_none_or(|n| n == e.name), None, 0).0
}

/// Pod metrics of the pods after `after` (in key order) that `keep` keeps,
/// at most `limit` (0: all); with the key of the last one when more remain.
/// A page computes only its own pods, so a paged pass over 150,000 pods
/// holds the lock a page at a time.
pub fn pod_metrics_page(
    sim: &Sim,
    st: &State,
    ns: Option<&str>,
    keep: &dyn Fn(&crate::store::Entry) -> bool,
    after: Option<&crate::store::Key>,
    limit: usize,
) -> (Vec<Value>, Option<crate::store::Key>) {
    let idx = LoadIndex::new(sim, st);
    let t = sim.clock.now();
    let now = Clock::timestamp();
    let mut out = Vec::new();
    let mut last = None;
    for e in st.store.range(kinds::POD, ns, after) {
        if !keep(e) {
            continue;
        }
        if limit > 0 && out.len() == limit {
            return (out, last);
        }
        last = Some((e.namespace.clone(), e.name.clone()));
        let pod = e.value();
        let Some((cpu, mem)) = pod_usage(sim, &idx, &pod, t) else {
            continue;
        };
        let containers = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let n = containers.len().max(1) as f64;
        let cs: Vec<Value> = containers
            .iter()
            .map(|c| json!({"name": c.get("name").cloned().unwrap_or(Value::Null), "usage": {"cpu": quantity::cpu_nanos(cpu / n), "memory": quantity::mem_ki(mem / n)}}))
            .collect();
        out.push(json!({
            "kind": "PodMetrics",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {
                "name": e.name,
                "namespace": e.namespace,
                "creationTimestamp": now,
                "labels": pod.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
            },
            "timestamp": now,
            "window": "15s",
            "containers": cs,
        }));
    }
    (out, None)
}

pub fn node_metrics(sim: &Sim, st: &State, name: Option<&str>) -> Vec<Value> {
    let idx = LoadIndex::new(sim, st);
    let t = sim.clock.now();
    let now = Clock::timestamp();
    let mut usage: std::collections::HashMap<String, (f64, f64)> = std::collections::HashMap::new();
    for e in st.store.range(kinds::POD, None, None) {
        let node = e.field("spec.nodeName").unwrap_or_default();
        if node.is_empty() || name.is_some_and(|n| n != node) {
            continue;
        }
        if let Some((c, m)) = pod_usage(sim, &idx, &e.value(), t) {
            let u = usage.entry(node.to_string()).or_default();
            u.0 += c;
            u.1 += m;
        }
    }
    st.store
        .range(kinds::NODE, None, None)
        .filter(|e| name.is_none_or(|n| n == e.name))
        .map(|e| {
            let (c, m) = usage.get(&e.name).copied().unwrap_or_default();
            // The system daemons a real node runs.
            let (c, m) = (c + 80.0, m + 600.0 * 1024.0 * 1024.0);
            json!({
                "kind": "NodeMetrics",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {"name": e.name, "creationTimestamp": now, "labels": e.value().pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({}))},
                "timestamp": now,
                "window": "20s",
                "usage": {"cpu": quantity::cpu_nanos(c), "memory": quantity::mem_ki(m)},
            })
        })
        .collect()
}
