//! The disruption controller: a PodDisruptionBudget's status from the pods
//! its selector matches (expected, healthy, desired healthy, disruptions
//! allowed, and the DisruptionAllowed condition).

use serde_json::{Value, json};

use crate::kinds;
use crate::metrics::is_ready;
use crate::selector::LabelSelector;
use crate::state::State;

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

/// An int-or-percent against `of`; percentages round up, as the controller's
/// `GetScaledValueFromIntOrPercent(…, true)` does for minAvailable.
fn scaled(v: &Value, of: i64, round_up: bool) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(p) => {
            let pct: f64 = p.strip_suffix('%')?.parse().ok()?;
            let x = pct * of as f64 / 100.0;
            Some(if round_up { x.ceil() } else { x.floor() } as i64)
        }
        _ => None,
    }
}

pub fn reconcile_all(st: &mut State) {
    let all: Vec<(String, String)> = st
        .store
        .range(kinds::PDB, None, None)
        .map(|e| (e.namespace.clone(), e.name.clone()))
        .collect();
    for (ns, name) in all {
        if let Some(pdb) = st.get_value(kinds::PDB, &ns, &name) {
            reconcile(st, &ns, pdb);
        }
    }
}

fn reconcile(st: &mut State, ns: &str, pdb: Value) {
    let selector = pdb
        .pointer("/spec/selector")
        .and_then(|s| LabelSelector::from_json(s).ok());
    let pods: Vec<Value> = match &selector {
        Some(sel) if !sel.reqs.is_empty() => st
            .store
            .range(kinds::POD, Some(ns), None)
            .map(|e| e.value())
            .filter(|p| {
                p.pointer("/metadata/deletionTimestamp").is_none()
                    && !matches!(s(p, "/status/phase"), "Succeeded" | "Failed")
                    && sel.matches_json(p.pointer("/metadata/labels"))
            })
            .collect(),
        _ => Vec::new(),
    };
    let expected = pods.len() as i64;
    let healthy = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let desired = if let Some(m) = pdb.pointer("/spec/minAvailable") {
        scaled(m, expected, true).unwrap_or(0)
    } else if let Some(m) = pdb.pointer("/spec/maxUnavailable") {
        (expected - scaled(m, expected, true).unwrap_or(0)).max(0)
    } else {
        // Neither given: no voluntary disruption is allowed.
        expected
    };
    let allowed = (healthy - desired).max(0);
    let old_cond = pdb
        .pointer("/status/conditions/0")
        .cloned()
        .unwrap_or(Value::Null);
    let (cstatus, reason, message) = if allowed > 0 {
        ("True", "SufficientPods", "")
    } else {
        ("False", "InsufficientPods", "")
    };
    let transition = if s(&old_cond, "/status") == cstatus {
        old_cond
            .get("lastTransitionTime")
            .cloned()
            .unwrap_or_else(|| json!(crate::clock::Clock::timestamp()))
    } else {
        json!(crate::clock::Clock::timestamp())
    };
    let generation = pdb
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let status = json!({
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [{
            "type": "DisruptionAllowed",
            "status": cstatus,
            "reason": reason,
            "message": message,
            "observedGeneration": generation,
            "lastTransitionTime": transition,
        }],
    });
    if pdb.get("status") != Some(&status)
        && let Some(mut fresh) = st.get_value(kinds::PDB, ns, s(&pdb, "/metadata/name"))
    {
        fresh["status"] = status;
        st.store.commit(kinds::PDB, fresh);
    }
}

/// Whether evicting one more pod of the budget keeps it: the eviction API's
/// check. `Err` is the API server's message for a 429.
pub fn may_evict(st: &State, ns: &str, pod: &Value) -> Result<(), String> {
    let labels = pod.pointer("/metadata/labels");
    for e in st.store.range(kinds::PDB, Some(ns), None) {
        let pdb = e.value();
        let Some(sel) = pdb
            .pointer("/spec/selector")
            .and_then(|s| LabelSelector::from_json(s).ok())
        else {
            continue;
        };
        if sel.reqs.is_empty() || !sel.matches_json(labels) {
            continue;
        }
        let allowed = pdb
            .pointer("/status/disruptionsAllowed")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if allowed < 1 {
            return Err(format!(
                "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget {} needs {} healthy pods and has {} currently",
                e.name,
                pdb.pointer("/status/desiredHealthy")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
                pdb.pointer("/status/currentHealthy")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(st: &mut State, name: &str, ready: bool) {
        st.put(
            kinds::POD,
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "app", "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}}),
        );
    }

    #[test]
    fn status_counts_healthy_pods_against_the_budget() {
        let mut st = State::new(1);
        for (n, r) in [("a", true), ("b", true), ("c", false)] {
            pod(&mut st, n, r);
        }
        st.put(
            kinds::PDB,
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "app"},
            "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}}),
        );
        reconcile_all(&mut st);
        let p = st.get_value(kinds::PDB, "app", "web").unwrap();
        assert_eq!(p.pointer("/status/expectedPods"), Some(&json!(3)));
        assert_eq!(p.pointer("/status/currentHealthy"), Some(&json!(2)));
        assert_eq!(p.pointer("/status/desiredHealthy"), Some(&json!(2)));
        assert_eq!(p.pointer("/status/disruptionsAllowed"), Some(&json!(0)));
        assert_eq!(s(&p, "/status/conditions/0/reason"), "InsufficientPods");
        let a = st.get_value(kinds::POD, "app", "a").unwrap();
        assert!(
            may_evict(&st, "app", &a)
                .unwrap_err()
                .contains("needs 2 healthy pods and has 2")
        );
        pod(&mut st, "d", true);
        reconcile_all(&mut st);
        assert_eq!(
            st.get_value(kinds::PDB, "app", "web")
                .unwrap()
                .pointer("/status/disruptionsAllowed"),
            Some(&json!(1))
        );
        assert!(may_evict(&st, "app", &a).is_ok());
    }
}
