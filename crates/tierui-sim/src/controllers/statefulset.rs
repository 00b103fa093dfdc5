//! The StatefulSet controller: pods with stable names `<set>-<ordinal>`,
//! created in order (each after the one before is Running and Ready) or all
//! at once (`podManagementPolicy: Parallel`); a claim per volumeClaimTemplate
//! per ordinal (`<template>-<set>-<ordinal>`) that outlives a scale-down;
//! scale-down from the highest ordinal; rolling updates from the highest
//! ordinal down to the partition, one pod at a time; and the status
//! `kubectl rollout status` reads (current/update revision), each template a
//! ControllerRevision for `kubectl rollout history` and `undo`.

use serde_json::{Value, json};

use super::rollout::template_hash;
use crate::kinds;
use crate::metrics::is_ready;
use crate::state::State;

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

const REVISION_LABEL: &str = "controller-revision-hash";

pub fn reconcile_all(st: &mut State) {
    let all: Vec<(String, String)> = st
        .store
        .range(kinds::STATEFULSET, None, None)
        .map(|e| (e.namespace.clone(), e.name.clone()))
        .collect();
    for (ns, name) in all {
        if let Some(set) = st.get_value(kinds::STATEFULSET, &ns, &name) {
            reconcile(st, &ns, set);
        }
    }
}

/// The ordinal of `<set>-<n>`.
fn ordinal(set: &str, pod: &str) -> Option<usize> {
    pod.strip_prefix(set)?.strip_prefix('-')?.parse().ok()
}

fn reconcile(st: &mut State, ns: &str, set: Value) {
    if set.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let name = s(&set, "/metadata/name").to_string();
    let uid = s(&set, "/metadata/uid").to_string();
    let replicas = set
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0) as usize;
    let parallel = s(&set, "/spec/podManagementPolicy") == "Parallel";
    let Some(template) = set.pointer("/spec/template").cloned() else {
        return;
    };
    let revision = format!("{name}-{}", template_hash(&template));
    let current = current_revision(&set).unwrap_or_default();
    super::history::record(st, ns, &set, &revision, &template, &[current.as_str()]);
    let on_delete = s(&set, "/spec/updateStrategy/type") == "OnDelete";
    let partition = set
        .pointer("/spec/updateStrategy/rollingUpdate/partition")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .max(0) as usize;

    // Pods by ordinal (terminating ones too: a name is reused only once gone).
    let mut pods: Vec<(usize, Value)> = st
        .store
        .children_of(&uid)
        .into_iter()
        .filter(|(k, cns, _)| *k == kinds::POD && cns == ns)
        .filter_map(|(_, _, n)| {
            let o = ordinal(&name, &n)?;
            Some((o, st.get_value(kinds::POD, ns, &n)?))
        })
        .collect();
    pods.sort_by_key(|(o, _)| *o);
    let terminating = |p: &Value| p.pointer("/metadata/deletionTimestamp").is_some();
    let healthy = |p: &Value| !terminating(p) && s(p, "/status/phase") == "Running" && is_ready(p);
    let mut events: Vec<(&str, &str, String)> = Vec::new();

    // Create the missing ordinals below `replicas`, in order unless Parallel.
    let mut blocked = false;
    for o in 0..replicas {
        match pods.iter().find(|(x, _)| *x == o) {
            Some((_, p)) => {
                if !parallel && !healthy(p) {
                    blocked = true;
                    break;
                }
            }
            None => {
                for claim in claims_for(&set, o) {
                    let cname = s(&claim, "/metadata/name").to_string();
                    if st.store.get(kinds::PVC, ns, &cname).is_none() {
                        st.put(kinds::PVC, claim);
                        events.push((
                            "Normal",
                            "SuccessfulCreate",
                            format!(
                                "create Claim {cname} Pod {name}-{o} in StatefulSet {name} success"
                            ),
                        ));
                    }
                }
                let rev = if o < partition && !pods.is_empty() {
                    current_revision(&set).unwrap_or_else(|| revision.clone())
                } else {
                    revision.clone()
                };
                let pod = new_pod(st, ns, &set, o, &rev);
                st.put(kinds::POD, pod);
                events.push((
                    "Normal",
                    "SuccessfulCreate",
                    format!("create Pod {name}-{o} in StatefulSet {name} successful"),
                ));
                if !parallel {
                    blocked = true;
                    break;
                }
            }
        }
    }
    // Scale down: the highest ordinal first, one at a time unless Parallel.
    let excess: Vec<&(usize, Value)> = pods
        .iter()
        .rev()
        .filter(|(o, p)| *o >= replicas && !terminating(p))
        .collect();
    let any_terminating = pods.iter().any(|(_, p)| terminating(p));
    for (o, p) in excess.iter().take(if parallel { usize::MAX } else { 1 }) {
        if !parallel && (any_terminating || blocked) {
            break;
        }
        st.delete_pod(ns, s(p, "/metadata/name"));
        events.push((
            "Normal",
            "SuccessfulDelete",
            format!("delete Pod {name}-{o} in StatefulSet {name} successful"),
        ));
    }
    // Rolling update: the highest stale ordinal at or above the partition,
    // once every other pod is healthy.
    let all_healthy = pods
        .iter()
        .filter(|(o, _)| *o < replicas)
        .all(|(_, p)| healthy(p))
        && pods.iter().filter(|(o, _)| *o < replicas).count() == replicas;
    let stale = pods
        .iter()
        .rev()
        .find(|(o, p)| *o < replicas && *o >= partition && s(p, &label_ptr()) != revision);
    if let (false, true, false, Some((o, p))) = (on_delete, all_healthy, any_terminating, stale) {
        st.delete_pod(ns, s(p, "/metadata/name"));
        events.push((
            "Normal",
            "SuccessfulDelete",
            format!("delete Pod {name}-{o} in StatefulSet {name} successful"),
        ));
    }

    // Status.
    let pods: Vec<Value> = st
        .store
        .children_of(&uid)
        .into_iter()
        .filter(|(k, cns, n)| *k == kinds::POD && cns == ns && ordinal(&name, n).is_some())
        .filter_map(|(_, _, n)| st.get_value(kinds::POD, ns, &n))
        .filter(|p| !terminating(p))
        .collect();
    let updated = pods
        .iter()
        .filter(|p| s(p, &label_ptr()) == revision)
        .count();
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    let current_rev = if updated == replicas && pods.len() == replicas {
        revision.clone()
    } else {
        current_revision(&set).unwrap_or_else(|| revision.clone())
    };
    let current = pods
        .iter()
        .filter(|p| s(p, &label_ptr()) == current_rev)
        .count();
    let generation = set
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let status = json!({
        "observedGeneration": generation,
        "replicas": pods.len(),
        "readyReplicas": ready,
        "currentReplicas": current,
        "updatedReplicas": updated,
        "availableReplicas": ready,
        "currentRevision": current_rev,
        "updateRevision": revision,
        "collisionCount": 0,
    });
    let status = super::replicaset::strip_zero(status);
    if set.get("status") != Some(&status)
        && let Some(mut fresh) = st.get_value(kinds::STATEFULSET, ns, &name)
    {
        fresh["status"] = status;
        st.store.commit(kinds::STATEFULSET, fresh);
    }
    for (ty, reason, message) in events {
        st.event(
            kinds::STATEFULSET,
            &set,
            ty,
            reason,
            &message,
            "statefulset-controller",
        );
    }
}

fn label_ptr() -> String {
    format!("/metadata/labels/{REVISION_LABEL}")
}

fn current_revision(set: &Value) -> Option<String> {
    set.pointer("/status/currentRevision")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .map(String::from)
}

/// The claims ordinal `o` mounts, from the volumeClaimTemplates: labelled
/// with the set's selector, kept when the set scales down (Retain).
fn claims_for(set: &Value, o: usize) -> Vec<Value> {
    let name = s(set, "/metadata/name");
    let ns = s(set, "/metadata/namespace");
    let labels = set
        .pointer("/spec/selector/matchLabels")
        .cloned()
        .unwrap_or_else(|| json!({}));
    set.pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    let mut meta = t.get("metadata").cloned().unwrap_or_else(|| json!({}));
                    meta["name"] = json!(format!("{}-{name}-{o}", s(t, "/metadata/name")));
                    meta["namespace"] = json!(ns);
                    if !meta.get("labels").is_some_and(Value::is_object) {
                        meta["labels"] = json!({});
                    }
                    if let (Some(l), Some(sel)) =
                        (meta["labels"].as_object_mut(), labels.as_object())
                    {
                        for (k, v) in sel {
                            l.insert(k.clone(), v.clone());
                        }
                    }
                    json!({
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": meta,
                        "spec": t.get("spec").cloned().unwrap_or_else(|| json!({})),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn new_pod(st: &mut State, ns: &str, set: &Value, o: usize, revision: &str) -> Value {
    let name = s(set, "/metadata/name");
    let pod_name = format!("{name}-{o}");
    let tpl = set
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut pod = super::replicaset::pod_from_template(st, ns, set, &tpl, Some(pod_name.clone()));
    let labels = &mut pod["metadata"]["labels"];
    labels[REVISION_LABEL] = json!(revision);
    labels["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
    labels["apps.kubernetes.io/pod-index"] = json!(o.to_string());
    let spec = &mut pod["spec"];
    spec["hostname"] = json!(pod_name);
    if !s(set, "/spec/serviceName").is_empty() {
        spec["subdomain"] = json!(s(set, "/spec/serviceName"));
    }
    for claim in set
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let vname = s(claim, "/metadata/name");
        if !spec.get("volumes").is_some_and(Value::is_array) {
            spec["volumes"] = json!([]);
        }
        if let Some(vs) = spec["volumes"].as_array_mut() {
            vs.retain(|v| s(v, "/name") != vname);
            vs.push(json!({"name": vname, "persistentVolumeClaim": {"claimName": format!("{vname}-{name}-{o}")}}));
        }
    }
    pod
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(st: &mut State, replicas: i64, image: &str) {
        let v = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "app", "uid": "uid-db", "generation": 1},
            "spec": {"replicas": replicas, "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": image}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}});
        match st.get_value(kinds::STATEFULSET, "app", "db") {
            Some(mut old) => {
                old["spec"] = v["spec"].clone();
                st.store.commit(kinds::STATEFULSET, old);
            }
            None => {
                st.put(kinds::STATEFULSET, v);
            }
        }
    }

    fn names(st: &State, kind: usize) -> Vec<String> {
        st.store
            .range(kind, Some("app"), None)
            .map(|e| e.name.clone())
            .collect()
    }

    /// The kubelet's part: every live pod Running and Ready; terminating ones gone.
    fn run_pods(st: &mut State) {
        for e in st
            .store
            .range(kinds::POD, Some("app"), None)
            .cloned()
            .collect::<Vec<_>>()
        {
            let mut p = e.value();
            if p.pointer("/metadata/deletionTimestamp").is_some() {
                st.store.remove(kinds::POD, "app", &e.name);
                continue;
            }
            p["status"] =
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
            st.store.commit(kinds::POD, p);
        }
    }

    #[test]
    fn ordered_creation_with_a_claim_each_and_claims_survive_scale_down() {
        let mut st = State::new(1);
        set(&mut st, 3, "db:1");
        reconcile_all(&mut st);
        assert_eq!(names(&st, kinds::POD), ["db-0"], "one at a time");
        assert_eq!(names(&st, kinds::PVC), ["data-db-0"]);
        reconcile_all(&mut st);
        assert_eq!(
            names(&st, kinds::POD),
            ["db-0"],
            "db-1 waits for db-0 to be ready"
        );
        for _ in 0..3 {
            run_pods(&mut st);
            reconcile_all(&mut st);
        }
        assert_eq!(names(&st, kinds::POD), ["db-0", "db-1", "db-2"]);
        let p = st.get_value(kinds::POD, "app", "db-2").unwrap();
        assert_eq!(
            s(&p, "/spec/volumes/0/persistentVolumeClaim/claimName"),
            "data-db-2"
        );
        assert_eq!(s(&p, "/spec/hostname"), "db-2");
        run_pods(&mut st);
        reconcile_all(&mut st);
        let status = st.get_value(kinds::STATEFULSET, "app", "db").unwrap();
        assert_eq!(status.pointer("/status/readyReplicas"), Some(&json!(3)));
        assert_eq!(
            s(&status, "/status/currentRevision"),
            s(&status, "/status/updateRevision")
        );

        set(&mut st, 1, "db:1");
        for _ in 0..4 {
            reconcile_all(&mut st);
            run_pods(&mut st);
        }
        assert_eq!(names(&st, kinds::POD), ["db-0"]);
        assert_eq!(
            names(&st, kinds::PVC),
            ["data-db-0", "data-db-1", "data-db-2"],
            "claims stay"
        );
    }

    #[test]
    fn a_rolling_update_goes_from_the_highest_ordinal_down() {
        let mut st = State::new(1);
        set(&mut st, 3, "db:1");
        for _ in 0..4 {
            reconcile_all(&mut st);
            run_pods(&mut st);
        }
        reconcile_all(&mut st);
        let old = s(
            &st.get_value(kinds::STATEFULSET, "app", "db").unwrap(),
            "/status/currentRevision",
        )
        .to_string();
        set(&mut st, 3, "db:2");
        reconcile_all(&mut st);
        // db-2 goes first (gone at once: the test's pods are on no node).
        assert!(st.get_value(kinds::POD, "app", "db-2").is_none());
        assert!(st.get_value(kinds::POD, "app", "db-1").is_some());
        for _ in 0..8 {
            run_pods(&mut st);
            reconcile_all(&mut st);
        }
        let s_ = st.get_value(kinds::STATEFULSET, "app", "db").unwrap();
        assert_ne!(s(&s_, "/status/currentRevision"), old);
        assert_eq!(
            s(&s_, "/status/currentRevision"),
            s(&s_, "/status/updateRevision")
        );
        assert_eq!(s_.pointer("/status/updatedReplicas"), Some(&json!(3)));
        for n in ["db-0", "db-1", "db-2"] {
            let p = st.get_value(kinds::POD, "app", n).unwrap();
            assert_eq!(s(&p, "/spec/containers/0/image"), "db:2");
        }
    }
}
