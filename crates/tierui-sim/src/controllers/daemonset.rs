//! The DaemonSet controller: one pod on every node the template's
//! nodeSelector picks and whose NoSchedule/NoExecute taints it tolerates,
//! pinned there by node affinity as the real controller does; rolling updates
//! `maxUnavailable` nodes at a time; and the status `kubectl rollout status`
//! and `kubectl get ds` read.

use serde_json::{Value, json};

use super::rollout::template_hash;
use crate::kinds;
use crate::metrics::is_ready;
use crate::state::State;

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

const HASH_LABEL: &str = "controller-revision-hash";

/// The tolerations the controller adds to every daemon pod.
fn daemon_tolerations() -> Vec<Value> {
    [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ]
    .iter()
    .map(|(k, e)| json!({"key": k, "operator": "Exists", "effect": e}))
    .collect()
}

/// Whether `tolerations` tolerate `taint`.
pub fn tolerates(tolerations: &[Value], taint: &Value) -> bool {
    tolerations.iter().any(|t| {
        let effect_ok = s(t, "/effect").is_empty() || s(t, "/effect") == s(taint, "/effect");
        let key_ok = s(t, "/key").is_empty() || s(t, "/key") == s(taint, "/key");
        let value_ok = s(t, "/operator") == "Exists" || s(t, "/value") == s(taint, "/value");
        effect_ok && key_ok && value_ok
    })
}

/// Whether a pod with this spec may run on `node`: its nodeSelector matches
/// the node's labels and every NoSchedule/NoExecute taint is tolerated.
pub fn fits(pod_spec: &Value, node: &Value, extra: &[Value]) -> bool {
    let labels = node.pointer("/metadata/labels");
    let selected = pod_spec
        .get("nodeSelector")
        .and_then(Value::as_object)
        .is_none_or(|sel| {
            sel.iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        });
    let mut tolerations: Vec<Value> = pod_spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    tolerations.extend_from_slice(extra);
    let tolerated = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .is_none_or(|taints| {
            taints
                .iter()
                .filter(|t| matches!(s(t, "/effect"), "NoSchedule" | "NoExecute"))
                .all(|t| tolerates(&tolerations, t))
        });
    selected && tolerated
}

pub fn reconcile_all(st: &mut State) {
    let all: Vec<(String, String)> = st
        .store
        .range(kinds::DAEMONSET, None, None)
        .map(|e| (e.namespace.clone(), e.name.clone()))
        .collect();
    if all.is_empty() {
        return;
    }
    let nodes: Vec<Value> = st
        .store
        .range(kinds::NODE, None, None)
        .map(|e| e.value())
        .collect();
    for (ns, name) in all {
        if let Some(ds) = st.get_value(kinds::DAEMONSET, &ns, &name) {
            reconcile(st, &ns, ds, &nodes);
        }
    }
}

/// The node a daemon pod is pinned to (its affinity's `metadata.name`).
fn pinned_node(pod: &Value) -> String {
    s(
        pod,
        "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0",
    )
    .to_string()
}

fn reconcile(st: &mut State, ns: &str, ds: Value, nodes: &[Value]) {
    if ds.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let name = s(&ds, "/metadata/name").to_string();
    let uid = s(&ds, "/metadata/uid").to_string();
    let Some(template) = ds.pointer("/spec/template").cloned() else {
        return;
    };
    let hash = template_hash(&template);
    let tpl_spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
    let eligible: Vec<String> = nodes
        .iter()
        .filter(|n| fits(&tpl_spec, n, &daemon_tolerations()))
        .map(|n| s(n, "/metadata/name").to_string())
        .collect();
    let pods: Vec<Value> = st
        .store
        .children_of(&uid)
        .into_iter()
        .filter(|(k, cns, _)| *k == kinds::POD && cns == ns)
        .filter_map(|(_, _, n)| st.get_value(kinds::POD, ns, &n))
        .collect();
    // The template as a ControllerRevision; those pods still run are kept.
    let live: Vec<String> = pods
        .iter()
        .map(|p| format!("{name}-{}", s(p, &format!("/metadata/labels/{HASH_LABEL}"))))
        .collect();
    let live: Vec<&str> = live.iter().map(String::as_str).collect();
    super::history::record(st, ns, &ds, &format!("{name}-{hash}"), &template, &live);
    let terminating = |p: &Value| p.pointer("/metadata/deletionTimestamp").is_some();
    let mut events: Vec<(&str, &str, String)> = Vec::new();
    for node in &eligible {
        if !pods.iter().any(|p| pinned_node(p) == *node) {
            let pod = new_pod(st, ns, &ds, node, &hash);
            events.push((
                "Normal",
                "SuccessfulCreate",
                format!("Created pod: {}", s(&pod, "/metadata/name")),
            ));
            st.put(kinds::POD, pod);
        }
    }
    // Pods on nodes no longer eligible go.
    for p in pods.iter().filter(|p| !terminating(p)) {
        if !eligible.contains(&pinned_node(p)) {
            st.delete_pod(ns, s(p, "/metadata/name"));
            events.push((
                "Normal",
                "SuccessfulDelete",
                format!("Deleted pod: {}", s(p, "/metadata/name")),
            ));
        }
    }
    // Rolling update: stale pods replaced while at most maxUnavailable are down.
    let on_delete = s(&ds, "/spec/updateStrategy/type") == "OnDelete";
    let max_unavailable = match ds.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(1) as usize,
        Some(Value::String(p)) => p
            .strip_suffix('%')
            .and_then(|x| x.parse::<f64>().ok())
            .map(|x| ((x * eligible.len() as f64 / 100.0).floor() as usize).max(1))
            .unwrap_or(1),
        _ => 1,
    };
    if !on_delete {
        let live: Vec<&Value> = pods.iter().filter(|p| !terminating(p)).collect();
        let unavailable = eligible.len().saturating_sub(
            live.iter()
                .filter(|p| is_ready(p) && eligible.contains(&pinned_node(p)))
                .count(),
        ) + pods.iter().filter(|p| terminating(p)).count();
        let budget = max_unavailable.saturating_sub(unavailable);
        for p in live
            .iter()
            .filter(|p| s(p, &format!("/metadata/labels/{HASH_LABEL}")) != hash)
            .take(budget)
        {
            st.delete_pod(ns, s(p, "/metadata/name"));
            events.push((
                "Normal",
                "SuccessfulDelete",
                format!("Deleted pod: {}", s(p, "/metadata/name")),
            ));
        }
    }
    // Status.
    let pods: Vec<Value> = st
        .store
        .children_of(&uid)
        .into_iter()
        .filter(|(k, cns, _)| *k == kinds::POD && cns == ns)
        .filter_map(|(_, _, n)| st.get_value(kinds::POD, ns, &n))
        .filter(|p| !terminating(p))
        .collect();
    let on_eligible: Vec<&Value> = pods
        .iter()
        .filter(|p| eligible.contains(&pinned_node(p)))
        .collect();
    let ready = on_eligible.iter().filter(|p| is_ready(p)).count();
    let updated = on_eligible
        .iter()
        .filter(|p| s(p, &format!("/metadata/labels/{HASH_LABEL}")) == hash)
        .count();
    let generation = ds
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let mut status = json!({
        "desiredNumberScheduled": eligible.len(),
        "currentNumberScheduled": on_eligible.len(),
        "numberMisscheduled": pods.len() - on_eligible.len(),
        "numberReady": ready,
        "numberAvailable": ready,
        "updatedNumberScheduled": updated,
        "observedGeneration": generation,
    });
    let unavailable = eligible.len().saturating_sub(ready);
    if unavailable > 0 {
        status["numberUnavailable"] = json!(unavailable);
    }
    let status = super::replicaset::strip_zero(status);
    if ds.get("status") != Some(&status)
        && let Some(mut fresh) = st.get_value(kinds::DAEMONSET, ns, &name)
    {
        fresh["status"] = status;
        st.store.commit(kinds::DAEMONSET, fresh);
    }
    for (ty, reason, message) in events {
        st.event(
            kinds::DAEMONSET,
            &ds,
            ty,
            reason,
            &message,
            "daemonset-controller",
        );
    }
}

fn new_pod(st: &mut State, ns: &str, ds: &Value, node: &str, hash: &str) -> Value {
    let tpl = ds
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut pod = super::replicaset::pod_from_template(st, ns, ds, &tpl, None);
    let labels = &mut pod["metadata"]["labels"];
    labels[HASH_LABEL] = json!(hash);
    labels["pod-template-generation"] = json!(
        ds.pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .to_string()
    );
    let spec = &mut pod["spec"];
    spec["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}});
    let mut tolerations: Vec<Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for t in daemon_tolerations() {
        if !tolerations.contains(&t) {
            tolerations.push(t);
        }
    }
    spec["tolerations"] = json!(tolerations);
    pod
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(st: &mut State, name: &str, labels: Value, taints: Value) {
        st.put(
            kinds::NODE,
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}),
        );
    }

    fn ds(st: &mut State, spec_extra: Value) {
        let mut v = json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "kube-system", "uid": "uid-agent", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}});
        if let Some(m) = spec_extra.as_object() {
            for (k, x) in m {
                v["spec"]["template"]["spec"][k] = x.clone();
            }
        }
        st.put(kinds::DAEMONSET, v);
    }

    fn pinned(st: &State) -> Vec<String> {
        let mut v: Vec<String> = st
            .store
            .range(kinds::POD, Some("kube-system"), None)
            .map(|e| pinned_node(&e.value()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn one_pod_per_eligible_node() {
        let mut st = State::new(1);
        node(&mut st, "a", json!({"role": "web"}), json!([]));
        node(&mut st, "b", json!({"role": "db"}), json!([]));
        node(
            &mut st,
            "gpu",
            json!({"role": "web"}),
            json!([{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]),
        );
        ds(&mut st, json!({}));
        reconcile_all(&mut st);
        assert_eq!(pinned(&st), ["a", "b"], "the tainted node is skipped");
        reconcile_all(&mut st);
        assert_eq!(pinned(&st).len(), 2, "once per node");
        let status = st
            .get_value(kinds::DAEMONSET, "kube-system", "agent")
            .unwrap();
        assert_eq!(
            status.pointer("/status/desiredNumberScheduled"),
            Some(&json!(2))
        );
    }

    #[test]
    fn node_selector_and_tolerations_choose_the_nodes() {
        let mut st = State::new(1);
        node(&mut st, "a", json!({"role": "web"}), json!([]));
        node(&mut st, "b", json!({"role": "db"}), json!([]));
        node(
            &mut st,
            "gpu",
            json!({"role": "web"}),
            json!([{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]),
        );
        ds(
            &mut st,
            json!({"nodeSelector": {"role": "web"}, "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}),
        );
        reconcile_all(&mut st);
        assert_eq!(pinned(&st), ["a", "gpu"]);
    }
}
