//! ReplicaSet controller: keeps the number of live pods at `spec.replicas`,
//! deleting the least useful pods first, and reports status.

use serde_json::{Value, json};

use crate::kinds;
use crate::metrics::is_ready;
use crate::state::State;

/// Pods created per replica set per tick, like the controller's slow-start batches.
const BURST: usize = 100;

/// Live pods of an owner: (name, value) without those terminating or finished.
pub fn owned_pods(st: &State, ns: &str, owner_uid: &str) -> Vec<(String, Value)> {
    st.store
        .children_of(owner_uid)
        .into_iter()
        .filter(|(k, cns, _)| *k == kinds::POD && cns == ns)
        .filter_map(|(_, _, name)| st.get_value(kinds::POD, ns, &name).map(|v| (name, v)))
        .filter(|(_, v)| {
            v.pointer("/metadata/deletionTimestamp").is_none()
                && !matches!(
                    v.pointer("/status/phase").and_then(Value::as_str),
                    Some("Succeeded" | "Failed")
                )
        })
        .collect()
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

pub fn reconcile_all(st: &mut State) {
    let all: Vec<(String, String)> = st
        .store
        .range(kinds::REPLICASET, None, None)
        .map(|e| (e.namespace.clone(), e.name.clone()))
        .collect();
    for (ns, name) in all {
        if let Some(rs) = st.get_value(kinds::REPLICASET, &ns, &name) {
            reconcile(st, &ns, rs);
        }
    }
}

fn reconcile(st: &mut State, ns: &str, rs: Value) {
    let uid = s(&rs, "/metadata/uid").to_string();
    let name = s(&rs, "/metadata/name").to_string();
    let want = rs
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0) as usize;
    let mut pods = owned_pods(st, ns, &uid);
    if pods.len() < want {
        for _ in 0..(want - pods.len()).min(BURST) {
            let tpl = rs
                .pointer("/spec/template")
                .cloned()
                .unwrap_or_else(|| json!({}));
            let pod = pod_from_template(st, ns, &rs, &tpl, None);
            let pod_name = s(&pod, "/metadata/name").to_string();
            st.put(kinds::POD, pod);
            st.event(
                kinds::REPLICASET,
                &rs,
                "Normal",
                "SuccessfulCreate",
                &format!("Created pod: {pod_name}"),
                "replicaset-controller",
            );
        }
    } else if pods.len() > want {
        // Unscheduled first, then not ready, then the newest.
        pods.sort_by_key(|(_, p)| {
            (
                !s(p, "/spec/nodeName").is_empty(),
                is_ready(p),
                std::cmp::Reverse(s(p, "/metadata/creationTimestamp").to_string()),
            )
        });
        let excess: Vec<String> = pods
            .iter()
            .take(pods.len() - want)
            .map(|(n, _)| n.clone())
            .collect();
        for pod_name in excess {
            if st.delete_pod(ns, &pod_name) {
                st.event(
                    kinds::REPLICASET,
                    &rs,
                    "Normal",
                    "SuccessfulDelete",
                    &format!("Deleted pod: {pod_name}"),
                    "replicaset-controller",
                );
            }
        }
    }
    let pods = owned_pods(st, ns, &uid);
    let ready = pods.iter().filter(|(_, p)| is_ready(p)).count();
    let status = json!({
        "replicas": pods.len(),
        "fullyLabeledReplicas": pods.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": rs.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
    });
    let status = strip_zero(status);
    if rs.get("status") != Some(&status)
        && let Some(mut fresh) = st.get_value(kinds::REPLICASET, ns, &name)
    {
        fresh["status"] = status;
        st.store.commit(kinds::REPLICASET, fresh);
    }
}

/// The API omits zero counts (`omitempty`); so does the simulator, to match.
pub fn strip_zero(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.retain(|k, x| k == "replicas" || x.as_i64() != Some(0));
    }
    v
}

/// A pod from `owner`'s pod template, owned by it (controller), named
/// `<owner>-<5 random>` as a generated name unless `name` is given, Pending.
/// Every workload controller makes its pods this way.
pub fn pod_from_template(
    st: &mut State,
    ns: &str,
    owner: &Value,
    template: &Value,
    name: Option<String>,
) -> Value {
    let owner_name = s(owner, "/metadata/name");
    let mut meta = template
        .get("metadata")
        .filter(|m| m.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    match name {
        Some(n) => meta["name"] = json!(n),
        None => {
            meta["name"] = json!(format!("{owner_name}-{}", st.rng.suffix(5)));
            meta["generateName"] = json!(format!("{owner_name}-"));
        }
    }
    meta["namespace"] = json!(ns);
    meta["uid"] = json!(st.rng.uuid());
    if !meta.get("labels").is_some_and(Value::is_object) {
        meta["labels"] = json!({});
    }
    meta["ownerReferences"] = json!([{
        "apiVersion": s(owner, "/apiVersion"),
        "kind": s(owner, "/kind"),
        "name": owner_name,
        "uid": s(owner, "/metadata/uid"),
        "controller": true,
        "blockOwnerDeletion": true,
    }]);
    if let Some(m) = meta.as_object_mut() {
        m.remove("creationTimestamp");
    }
    let spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "status": {"phase": "Pending", "qosClass": qos_class(Some(&spec))},
        "spec": spec,
    })
}

pub fn qos_class(spec: Option<&Value>) -> &'static str {
    let cs = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    let Some(cs) = cs else { return "BestEffort" };
    let any = cs.iter().any(|c| {
        c.pointer("/resources/requests")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
            || c.pointer("/resources/limits")
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
    });
    let guaranteed = cs.iter().all(|c| {
        let (r, l) = (
            c.pointer("/resources/requests"),
            c.pointer("/resources/limits"),
        );
        ["cpu", "memory"].iter().all(|k| {
            l.and_then(|l| l.get(*k)).is_some()
                && r.and_then(|r| r.get(*k)) == l.and_then(|l| l.get(*k))
        })
    });
    if guaranteed {
        "Guaranteed"
    } else if any {
        "Burstable"
    } else {
        "BestEffort"
    }
}
