//! Kubernetes objects projected into the rows the live views show, as they
//! arrive: nothing else of a Pod is kept.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, MetricSpec, MetricStatus};
use k8s_openapi::api::core::v1::{Event, Pod};
use std::sync::Arc;

use serde::Serialize;

/// Unix seconds of a Kubernetes timestamp.
fn secs(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<i64> {
    t.map(|t| t.0.as_second())
}

/// What the metadata of an object says: that it is there, and its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetaRow {
    pub namespace: String,
    /// `ConfigMap/app-config`.
    pub name: String,
    pub version: String,
}

pub fn meta_row<K: kube::Resource>(kind: &str, o: &kube::core::PartialObjectMeta<K>) -> MetaRow {
    use kube::Resource as _;
    let m = o.meta();
    MetaRow {
        namespace: m.namespace.clone().unwrap_or_default(),
        name: format!("{kind}/{}", m.name.clone().unwrap_or_default()),
        version: m.resource_version.clone().unwrap_or_default(),
    }
}

/// One pod as the tables show it. Strings are shared: a namespace, node,
/// status, owner or image that many pods have is held once (see
/// [`Interner`]), so 150,000 rows cost little more than their names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodRow {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    pub ready: u32,
    pub containers: u32,
    /// Phase, or the reason a container is not running (CrashLoopBackOff …).
    pub status: Arc<str>,
    pub restarts: u32,
    /// Unix seconds of creation.
    pub created: Option<i64>,
    pub node: Arc<str>,
    /// Owning ReplicaSet (for rollout progress).
    pub owner: Arc<str>,
    pub image: Arc<str>,
}

impl PodRow {
    /// Running with every container ready.
    pub fn is_ready(&self) -> bool {
        self.containers > 0 && self.ready == self.containers && &*self.status == "Running"
    }
}

/// Strings many rows repeat (namespaces, nodes, statuses, owners, images),
/// each held once. Entries nobody else holds any more are dropped as the set
/// grows, so owners of deleted ReplicaSets do not pile up.
#[derive(Debug, Default)]
pub struct Interner {
    set: std::collections::HashSet<Arc<str>>,
    pruned_at: usize,
}

impl Interner {
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.set.get(s) {
            return a.clone();
        }
        if self.set.len() >= 2 * self.pruned_at.max(1024) {
            self.set.retain(|a| Arc::strong_count(a) > 1);
            self.pruned_at = self.set.len();
        }
        let a: Arc<str> = Arc::from(s);
        self.set.insert(a.clone());
        a
    }
}

/// kubectl's STATUS for a pod: Terminating while deleting, else a container's
/// waiting or terminated reason, else the phase.
pub fn pod_status<'a>(
    deleting: bool,
    reasons: impl IntoIterator<Item = Option<&'a str>>,
    phase: Option<&'a str>,
) -> &'a str {
    if deleting {
        return "Terminating";
    }
    reasons
        .into_iter()
        .flatten()
        .next()
        .or(phase)
        .unwrap_or("Unknown")
}

pub fn pod_row(p: &Pod) -> PodRow {
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let containers = spec.map_or(0, |s| s.containers.len()) as u32;
    let ready = statuses.iter().filter(|c| c.ready).count() as u32;
    let restarts = statuses.iter().map(|c| c.restart_count.max(0) as u32).sum();
    let reasons = statuses.iter().map(|c| {
        let st = c.state.as_ref()?;
        st.waiting
            .as_ref()
            .and_then(|w| w.reason.as_deref())
            .or_else(|| st.terminated.as_ref().and_then(|t| t.reason.as_deref()))
    });
    let status = pod_status(
        p.metadata.deletion_timestamp.is_some(),
        reasons,
        status.and_then(|s| s.phase.as_deref()),
    );
    PodRow {
        namespace: p.metadata.namespace.as_deref().unwrap_or_default().into(),
        name: p.metadata.name.as_deref().unwrap_or_default().into(),
        ready,
        containers,
        status: status.into(),
        restarts,
        created: secs(p.metadata.creation_timestamp.as_ref()),
        node: spec
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or_default()
            .into(),
        owner: p
            .metadata
            .owner_references
            .as_ref()
            .and_then(|o| o.first())
            .map_or("", |o| o.name.as_str())
            .into(),
        image: spec
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.as_deref())
            .unwrap_or_default()
            .into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentRow {
    pub namespace: String,
    pub name: String,
    pub desired: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    /// Replicas of old ReplicaSets still running.
    pub total: i32,
    pub image: String,
    /// `Progressing: NewReplicaSetAvailable` …
    pub conditions: Vec<String>,
    /// The deployment has observed its latest spec and every replica is updated and available.
    pub complete: bool,
    /// metadata.generation: moves with every change of the spec.
    pub generation: i64,
}

pub fn deployment_row(d: &Deployment) -> DeploymentRow {
    let st = d.status.as_ref();
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = st.and_then(|s| s.updated_replicas).unwrap_or(0);
    let ready = st.and_then(|s| s.ready_replicas).unwrap_or(0);
    let available = st.and_then(|s| s.available_replicas).unwrap_or(0);
    let total = st.and_then(|s| s.replicas).unwrap_or(0);
    let observed =
        st.and_then(|s| s.observed_generation).unwrap_or(0) >= d.metadata.generation.unwrap_or(0);
    DeploymentRow {
        namespace: d.metadata.namespace.clone().unwrap_or_default(),
        name: d.metadata.name.clone().unwrap_or_default(),
        desired,
        updated,
        ready,
        available,
        total,
        image: d
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone())
            .unwrap_or_default(),
        conditions: st
            .and_then(|s| s.conditions.as_ref())
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        format!(
                            "{}: {}",
                            c.type_,
                            c.reason.clone().unwrap_or_else(|| c.status.clone())
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        complete: observed && updated == desired && available == desired && total == desired,
        generation: d.metadata.generation.unwrap_or(0),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaSetRow {
    pub namespace: String,
    pub name: String,
    pub owner: String,
    pub revision: String,
    pub desired: i32,
    pub ready: i32,
    pub image: String,
}

pub fn replicaset_row(r: &ReplicaSet) -> ReplicaSetRow {
    ReplicaSetRow {
        namespace: r.metadata.namespace.clone().unwrap_or_default(),
        name: r.metadata.name.clone().unwrap_or_default(),
        owner: r
            .metadata
            .owner_references
            .as_ref()
            .and_then(|o| o.first())
            .map(|o| o.name.clone())
            .unwrap_or_default(),
        revision: r
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("deployment.kubernetes.io/revision").cloned())
            .unwrap_or_default(),
        desired: r.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
        ready: r
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0),
        image: r
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .and_then(|t| t.spec.as_ref())
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone())
            .unwrap_or_default(),
    }
}

/// One metric of an HPA: what it measures, where it is and where it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricRow {
    /// Resource, Pods, Object, External, ContainerResource.
    pub kind: String,
    /// `cpu`, `memory`, a metric name, or `object/name metric`.
    pub name: String,
    /// "71%", "180Mi", "1k"; "<unknown>" only when the HPA has no value.
    pub current: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HpaRow {
    pub namespace: String,
    pub name: String,
    /// `Deployment/day-service`.
    pub target: String,
    pub min: i32,
    pub max: i32,
    pub current: i32,
    pub desired: i32,
    pub metrics: Vec<MetricRow>,
    pub conditions: Vec<String>,
    pub last_scale: Option<i64>,
    /// metadata.generation: moves with every change of the spec.
    pub generation: i64,
}

impl HpaRow {
    /// `71%/60%, 112/100` as kubectl's TARGETS column.
    pub fn targets(&self) -> String {
        self.metrics
            .iter()
            .map(|m| format!("{}/{}", m.current, m.target))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn quantity(q: Option<&k8s_openapi::apimachinery::pkg::api::resource::Quantity>) -> Option<String> {
    q.map(|q| q.0.clone())
}

pub fn hpa_row(h: &HorizontalPodAutoscaler) -> HpaRow {
    let spec = h.spec.as_ref();
    let st = h.status.as_ref();
    let currents = st
        .and_then(|s| s.current_metrics.as_deref())
        .unwrap_or_default();
    let metrics = spec
        .and_then(|s| s.metrics.as_deref())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            // The status lists current values in the spec's order; match by kind and name too.
            let cur = currents.get(i).filter(|c| c.type_ == m.type_);
            metric_row(m, cur)
        })
        .collect();
    HpaRow {
        namespace: h.metadata.namespace.clone().unwrap_or_default(),
        name: h.metadata.name.clone().unwrap_or_default(),
        target: spec
            .map(|s| format!("{}/{}", s.scale_target_ref.kind, s.scale_target_ref.name))
            .unwrap_or_default(),
        min: spec.and_then(|s| s.min_replicas).unwrap_or(1),
        max: spec.map_or(0, |s| s.max_replicas),
        current: st.and_then(|s| s.current_replicas).unwrap_or(0),
        desired: st.map_or(0, |s| s.desired_replicas),
        metrics,
        conditions: st
            .and_then(|s| s.conditions.as_ref())
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        format!(
                            "{} {}: {}",
                            c.type_,
                            c.status,
                            c.reason.clone().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        last_scale: secs(st.and_then(|s| s.last_scale_time.as_ref())),
        generation: h.metadata.generation.unwrap_or(0),
    }
}

/// A metric's name, its current value when the HPA has one, and its target.
type MetricValues = (String, Option<String>, String);

/// One metric of an HPA's spec, with its current value from the status.
fn metric_row(m: &MetricSpec, cur: Option<&MetricStatus>) -> MetricRow {
    let (name, current, target) = match m.type_.as_str() {
        "Resource" => resource_metric(m, cur),
        "Pods" => pods_metric(m, cur),
        "Object" => object_metric(m, cur),
        "External" => external_metric(m, cur),
        other => (other.to_string(), None, String::new()),
    };
    MetricRow {
        kind: m.type_.clone(),
        name,
        current: current.unwrap_or_else(|| "<unknown>".into()),
        target,
    }
}

/// A Resource metric (cpu, memory): as a utilization percentage when the
/// target is one, else as an average value.
fn resource_metric(m: &MetricSpec, cur: Option<&MetricStatus>) -> MetricValues {
    let r = m.resource.as_ref();
    let name = r.map(|r| r.name.clone()).unwrap_or_default();
    let t = r.map(|r| &r.target);
    let c = cur.and_then(|c| c.resource.as_ref()).map(|r| &r.current);
    let (current, target) = match t.and_then(|t| t.average_utilization) {
        Some(u) => (
            c.and_then(|c| c.average_utilization)
                .map(|v| format!("{v}%")),
            format!("{u}%"),
        ),
        None => (
            c.and_then(|c| quantity(c.average_value.as_ref())),
            t.and_then(|t| {
                quantity(t.average_value.as_ref()).or_else(|| quantity(t.value.as_ref()))
            })
            .unwrap_or_default(),
        ),
    };
    (name, current, target)
}

/// A Pods metric: a per-pod average.
fn pods_metric(m: &MetricSpec, cur: Option<&MetricStatus>) -> MetricValues {
    let p = m.pods.as_ref();
    let c = cur.and_then(|c| c.pods.as_ref()).map(|p| &p.current);
    (
        p.map(|p| p.metric.name.clone()).unwrap_or_default(),
        c.and_then(|c| quantity(c.average_value.as_ref())),
        p.and_then(|p| quantity(p.target.average_value.as_ref()))
            .unwrap_or_default(),
    )
}

/// An Object metric, named `Kind/name metric` after the object it describes;
/// a value, else an average value.
fn object_metric(m: &MetricSpec, cur: Option<&MetricStatus>) -> MetricValues {
    let o = m.object.as_ref();
    let c = cur.and_then(|c| c.object.as_ref()).map(|o| &o.current);
    let name = o
        .map(|o| {
            format!(
                "{}/{} {}",
                o.described_object.kind, o.described_object.name, o.metric.name
            )
        })
        .unwrap_or_default();
    (
        name,
        c.and_then(|c| quantity(c.value.as_ref()).or_else(|| quantity(c.average_value.as_ref()))),
        o.and_then(|o| {
            quantity(o.target.value.as_ref()).or_else(|| quantity(o.target.average_value.as_ref()))
        })
        .unwrap_or_default(),
    )
}

/// An External metric (from outside the cluster): a value, else an average value.
fn external_metric(m: &MetricSpec, cur: Option<&MetricStatus>) -> MetricValues {
    let e = m.external.as_ref();
    let c = cur.and_then(|c| c.external.as_ref()).map(|e| &e.current);
    (
        e.map(|e| e.metric.name.clone()).unwrap_or_default(),
        c.and_then(|c| quantity(c.value.as_ref()).or_else(|| quantity(c.average_value.as_ref()))),
        e.and_then(|e| {
            quantity(e.target.value.as_ref()).or_else(|| quantity(e.target.average_value.as_ref()))
        })
        .unwrap_or_default(),
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    pub namespace: String,
    pub name: String,
    pub kind: String,
    /// `Deployment/day-service`.
    pub object: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
    /// Unix seconds of the last occurrence.
    pub last: Option<i64>,
    pub warning: bool,
}

pub fn event_row(e: &Event) -> EventRow {
    let last = secs(e.last_timestamp.as_ref())
        .or_else(|| e.event_time.as_ref().map(|t| t.0.as_second()))
        .or_else(|| secs(e.metadata.creation_timestamp.as_ref()));
    EventRow {
        namespace: e.metadata.namespace.clone().unwrap_or_default(),
        name: e.metadata.name.clone().unwrap_or_default(),
        kind: e.involved_object.kind.clone().unwrap_or_default(),
        object: format!(
            "{}/{}",
            e.involved_object.kind.clone().unwrap_or_default(),
            e.involved_object.name.clone().unwrap_or_default()
        ),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default(),
        count: e.count.unwrap_or(1),
        last,
        warning: e.type_.as_deref() == Some("Warning"),
    }
}

/// CPU and memory of a pod from metrics.k8s.io, in millicores and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Usage {
    pub cpu_milli: u64,
    pub memory_bytes: u64,
}

/// Parses a Kubernetes quantity ("250m", "1", "128Mi", "1Gi", "1.5") into a base
/// unit number: cores in millis for CPU when `milli` is set, bytes otherwise.
pub fn parse_quantity(q: &str, milli: bool) -> Option<u64> {
    let q = q.trim();
    let split = q.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        _ => return None,
    };
    let v = n * mult * if milli { 1000.0 } else { 1.0 };
    Some(v.round().max(0.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_strings_nobody_holds_are_dropped_as_the_set_grows() {
        let mut strings = Interner::default();
        let held: Vec<Arc<str>> = (0..10).map(|i| strings.get(&format!("node-{i}"))).collect();
        for i in 0..100_000 {
            // An owner whose ReplicaSet is gone as soon as it is seen.
            drop(strings.get(&format!("rs-{i}")));
        }
        assert!(strings.set.len() < 3000, "{} kept", strings.set.len());
        // What is still held is still shared.
        assert!(Arc::ptr_eq(&held[3], &strings.get("node-3")));
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("250m", true), Some(250));
        assert_eq!(parse_quantity("2", true), Some(2000));
        assert_eq!(parse_quantity("12345678n", true), Some(12));
        assert_eq!(parse_quantity("128Mi", false), Some(134_217_728));
        assert_eq!(parse_quantity("1Gi", false), Some(1_073_741_824));
        assert_eq!(parse_quantity("x", false), None);
    }

    #[test]
    fn pod_status_prefers_the_waiting_reason() {
        let p: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "n", "creationTimestamp": "2026-11-25T10:00:00Z", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "u"}]},
            "spec": {"nodeName": "node-a", "containers": [{"name": "web", "image": "web:v2"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "web", "ready": false, "restartCount": 4, "image": "web:v2", "imageID": "", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
        }))
        .unwrap();
        let r = pod_row(&p);
        assert_eq!(
            (&*r.status, r.ready, r.containers, r.restarts, &*r.owner),
            ("CrashLoopBackOff", 0, 1, 4, "web-abc")
        );
        assert_eq!(r.created, Some(1_795_600_800));
    }

    #[test]
    fn hpa_metrics_of_every_type() {
        let h: HorizontalPodAutoscaler = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "n"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 9, "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "200Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "100"}}},
                {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "30"}}}
            ]},
            "status": {"currentReplicas": 3, "desiredReplicas": 4, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 71, "averageValue": "142m"}}},
                {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "180Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "rps"}, "current": {"averageValue": "120"}}}
            ]}
        }))
        .unwrap();
        let r = hpa_row(&h);
        let m: Vec<String> = r
            .metrics
            .iter()
            .map(|m| format!("{} {} {}/{}", m.kind, m.name, m.current, m.target))
            .collect();
        assert_eq!(
            m,
            [
                "Resource cpu 71%/60%",
                "Resource memory 180Mi/200Mi",
                "Pods rps 120/100",
                "External queue <unknown>/30"
            ]
        );
        assert_eq!((r.min, r.max, r.current, r.desired), (2, 9, 3, 4));
    }
}
