//! Deployment controller: one ReplicaSet per pod template (named by the
//! template hash), rolling updates within maxSurge/maxUnavailable, Recreate,
//! and the status and conditions `kubectl rollout status` reads.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::replicaset::{owned_pods, strip_zero};
use super::rollout::{new_rs_target, old_scale_down_budget, surge_and_unavailable, template_hash};
use crate::clock::Clock;
use crate::kinds;
use crate::metrics::is_ready;
use crate::ops::WriteOpts;
use crate::state::State;

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

fn i(v: &Value, p: &str) -> i64 {
    v.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

/// Per-deployment memory the API objects do not hold: when progress was last seen.
#[derive(Default)]
pub struct DeploymentController {
    progress: HashMap<String, (f64, String)>,
}

impl DeploymentController {
    pub fn reconcile_all(&mut self, st: &mut State, t: f64) {
        let all: Vec<(String, String)> = st
            .store
            .range(kinds::DEPLOYMENT, None, None)
            .map(|e| (e.namespace.clone(), e.name.clone()))
            .collect();
        for (ns, name) in all {
            if let Some(d) = st.get_value(kinds::DEPLOYMENT, &ns, &name) {
                self.reconcile(st, &ns, d, t);
            }
        }
    }

    fn reconcile(&mut self, st: &mut State, ns: &str, d: Value, t: f64) {
        let name = s(&d, "/metadata/name").to_string();
        let rollout = Rollout::of(&d);
        let Some(template) = d.pointer("/spec/template").cloned() else {
            return;
        };
        let hash = template_hash(&template);
        let rses = owned_replica_sets(st, s(&d, "/metadata/uid"));
        let max_rev = rses.iter().filter_map(revision).max().unwrap_or(0);
        let paused = d.pointer("/spec/paused") == Some(&json!(true));
        let mut new_rs = rses
            .iter()
            .find(|r| s(r, "/metadata/labels/pod-template-hash") == hash)
            .cloned();
        let mut created = None;
        if new_rs.is_none() && !paused {
            let start = rollout.initial_replicas(&rses);
            let rs = self.new_replica_set(st, ns, &d, &template, &hash, start, max_rev + 1);
            let rs_name = s(&rs, "/metadata/name").to_string();
            st.put(kinds::REPLICASET, rs);
            if start > 0 {
                st.event(
                    kinds::DEPLOYMENT,
                    &d,
                    "Normal",
                    "ScalingReplicaSet",
                    &format!("Scaled up replica set {rs_name} from 0 to {start}"),
                    "deployment-controller",
                );
            }
            new_rs = st.get_value(kinds::REPLICASET, ns, &rs_name);
            created = Some(rs_name);
        }
        let Some(mut new_rs) = new_rs else { return };
        let new_name = s(&new_rs, "/metadata/name").to_string();
        let olds: Vec<Value> = rses
            .into_iter()
            .filter(|r| s(r, "/metadata/name") != new_name)
            .collect();
        // A template rolled back to an older ReplicaSet makes that one the newest revision.
        if revision(&new_rs).unwrap_or(0) < max_rev && !olds.is_empty() {
            new_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                json!((max_rev + 1).to_string());
            st.store.commit(kinds::REPLICASET, new_rs.clone());
        }
        // The new ReplicaSet carries the Deployment's annotations (change-cause
        // among them), as the controller's setNewReplicaSetAnnotations does.
        if copy_annotations(d.pointer("/metadata/annotations"), &mut new_rs) {
            st.store.commit(kinds::REPLICASET, new_rs.clone());
        }
        if !paused {
            if rollout.recreate {
                self.recreate(st, ns, &d, &new_rs, &olds, rollout.replicas);
            } else {
                self.rolling_update(st, ns, &d, &new_rs, &olds, rollout);
            }
        }
        self.update_status(
            st,
            ns,
            &name,
            rollout.replicas,
            rollout.unavailable,
            &new_name,
            created.is_some(),
            t,
        );
    }

    /// Recreate strategy: old ReplicaSets to zero, the new one scaled up once no old pod is left.
    fn recreate(
        &self,
        st: &mut State,
        ns: &str,
        d: &Value,
        new_rs: &Value,
        olds: &[Value],
        replicas: i64,
    ) {
        let new_spec = i(new_rs, "/spec/replicas");
        let old_pods: i64 = olds.iter().map(|r| pod_counts(st, ns, r).0).sum();
        for r in olds.iter().filter(|r| i(r, "/spec/replicas") > 0) {
            self.scale(st, d, r, 0);
        }
        if old_pods == 0 && new_spec != replicas {
            self.scale(st, d, new_rs, replicas);
        }
    }

    /// RollingUpdate strategy: the new ReplicaSet grows within maxSurge, old ones shrink within maxUnavailable.
    fn rolling_update(
        &self,
        st: &mut State,
        ns: &str,
        d: &Value,
        new_rs: &Value,
        olds: &[Value],
        r: Rollout,
    ) {
        let new_spec = i(new_rs, "/spec/replicas");
        let old_spec: i64 = olds.iter().map(|r| i(r, "/spec/replicas")).sum();
        let target = if new_spec > r.replicas {
            r.replicas
        } else {
            new_rs_target(r.replicas, r.surge, new_spec + old_spec, new_spec)
        };
        if target != new_spec {
            self.scale(st, d, new_rs, target);
        }
        let (_, new_ready) = pod_counts(st, ns, new_rs);
        let new_unavailable = (target - new_ready).max(0);
        let all_pods = target + old_spec;
        let budget = old_scale_down_budget(r.replicas, r.unavailable, all_pods, new_unavailable);
        self.scale_down_old(st, ns, d, olds, budget);
    }

    /// Takes up to `budget` replicas off the old ReplicaSets, unhealthy pods first.
    fn scale_down_old(&self, st: &mut State, ns: &str, d: &Value, olds: &[Value], mut budget: i64) {
        // Unhealthy old pods go first: they add no availability.
        for r in olds {
            let spec = i(r, "/spec/replicas");
            let (_, ready) = pod_counts(st, ns, r);
            let unhealthy = (spec - ready).max(0);
            if unhealthy > 0 && budget > 0 {
                let cut = unhealthy.min(budget);
                self.scale(st, d, r, spec - cut);
                budget -= cut;
            }
        }
        for r in olds {
            if budget <= 0 {
                break;
            }
            let Some(fresh) = st.get_value(kinds::REPLICASET, ns, s(r, "/metadata/name")) else {
                continue;
            };
            let spec = i(&fresh, "/spec/replicas");
            let cut = spec.min(budget);
            if cut > 0 {
                self.scale(st, d, &fresh, spec - cut);
                budget -= cut;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new_replica_set(
        &self,
        st: &mut State,
        ns: &str,
        d: &Value,
        template: &Value,
        hash: &str,
        replicas: i64,
        revision: i64,
    ) -> Value {
        let name = format!("{}-{hash}", s(d, "/metadata/name"));
        let mut tpl = template.clone();
        tpl["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        let mut selector = d
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or_else(|| json!({}));
        selector["matchLabels"]["pod-template-hash"] = json!(hash);
        let mut labels = tpl
            .pointer("/metadata/labels")
            .cloned()
            .unwrap_or_else(|| json!({}));
        labels["pod-template-hash"] = json!(hash);
        let (surge, _) = surge_and_unavailable(d.pointer("/spec/strategy"), i(d, "/spec/replicas"));
        json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": ns,
                "uid": st.rng.uuid(),
                "creationTimestamp": Clock::timestamp(),
                "generation": 1,
                "labels": labels,
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": i(d, "/spec/replicas").to_string(),
                    "deployment.kubernetes.io/max-replicas": (i(d, "/spec/replicas") + surge).to_string(),
                    "deployment.kubernetes.io/revision": revision.to_string(),
                },
                "ownerReferences": [{
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": s(d, "/metadata/name"),
                    "uid": s(d, "/metadata/uid"),
                    "controller": true,
                    "blockOwnerDeletion": true,
                }],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": tpl},
            "status": {"replicas": 0},
        })
    }

    fn scale(&self, st: &mut State, d: &Value, rs: &Value, to: i64) {
        let ns = s(rs, "/metadata/namespace").to_string();
        let name = s(rs, "/metadata/name").to_string();
        let Some(mut fresh) = st.get_value(kinds::REPLICASET, &ns, &name) else {
            return;
        };
        let from = i(&fresh, "/spec/replicas");
        if from == to {
            return;
        }
        fresh["spec"]["replicas"] = json!(to);
        let generation = i(&fresh, "/metadata/generation") + 1;
        fresh["metadata"]["generation"] = json!(generation);
        fresh["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
            json!(i(d, "/spec/replicas").to_string());
        st.store.commit(kinds::REPLICASET, fresh);
        let verb = if to > from { "up" } else { "down" };
        st.event(
            kinds::DEPLOYMENT,
            d,
            "Normal",
            "ScalingReplicaSet",
            &format!("Scaled {verb} replica set {name} from {from} to {to}"),
            "deployment-controller",
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn update_status(
        &mut self,
        st: &mut State,
        ns: &str,
        name: &str,
        replicas: i64,
        unavailable: i64,
        new_name: &str,
        created: bool,
        t: f64,
    ) {
        let Some(mut d) = st.get_value(kinds::DEPLOYMENT, ns, name) else {
            return;
        };
        let uid = s(&d, "/metadata/uid").to_string();
        let c = PodTotals::of(st, ns, &uid, new_name);
        let available = c.ready;
        let conds = Conditions::of(&d);
        let available_cond = if available >= replicas - unavailable {
            conds.make(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        } else {
            conds.make(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        };
        let complete = c.updated == replicas && available >= replicas && c.total == replicas;
        let deadline = d
            .pointer("/spec/progressDeadlineSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(600) as f64;
        let signature = format!("{}/{}/{}", c.total, c.updated, c.ready);
        let stalled = self.stalled(&uid, signature, complete, created, t, deadline);
        let progress = Progress {
            created,
            complete,
            stalled,
            updated: c.updated,
        };
        let progressing = progressing_condition(&conds, new_name, progress);
        let mut status = strip_zero(json!({
            "observedGeneration": d.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
            "replicas": c.total,
            "updatedReplicas": c.updated,
            "readyReplicas": c.ready,
            "availableReplicas": available,
            "unavailableReplicas": (replicas - available).max(0),
        }));
        status["conditions"] = json!([available_cond, progressing]);
        let rev = c.max_rev.to_string();
        let rev_changed = s(
            &d,
            "/metadata/annotations/deployment.kubernetes.io~1revision",
        ) != rev
            && c.max_rev > 0;
        let status_changed = {
            let mut a = d.get("status").cloned().unwrap_or(Value::Null);
            let mut b = status.clone();
            strip_times(&mut a);
            strip_times(&mut b);
            a != b
        };
        if status_changed || rev_changed {
            d["status"] = status;
            if rev_changed {
                d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!(rev);
            }
            st.store.commit(kinds::DEPLOYMENT, d);
        }
    }

    /// Progress deadline: true once the pod counts have not moved for `deadline` seconds.
    fn stalled(
        &mut self,
        uid: &str,
        signature: String,
        complete: bool,
        created: bool,
        t: f64,
        deadline: f64,
    ) -> bool {
        let entry = self
            .progress
            .entry(uid.to_string())
            .or_insert((t, signature.clone()));
        if entry.1 != signature || complete || created {
            *entry = (t, signature);
        }
        !complete && t - entry.0 > deadline
    }
}

/// The deployment's desired size and rollout limits.
#[derive(Clone, Copy)]
struct Rollout {
    replicas: i64,
    surge: i64,
    unavailable: i64,
    recreate: bool,
}

impl Rollout {
    fn of(d: &Value) -> Self {
        let replicas = d
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(0);
        let recreate = s(d, "/spec/strategy/type") == "Recreate";
        let (surge, unavailable) = if recreate {
            (0, replicas)
        } else {
            surge_and_unavailable(d.pointer("/spec/strategy"), replicas)
        };
        Rollout {
            replicas,
            surge,
            unavailable,
            recreate,
        }
    }

    /// Size of a newly created ReplicaSet: 0 for Recreate, all replicas for the first, else within maxSurge.
    fn initial_replicas(&self, rses: &[Value]) -> i64 {
        let total: i64 = rses.iter().map(|r| i(r, "/spec/replicas")).sum();
        if self.recreate {
            0
        } else if rses.is_empty() {
            self.replicas
        } else {
            new_rs_target(self.replicas, self.surge, total, 0)
        }
    }
}

/// The deployment's ReplicaSets, oldest first.
fn owned_replica_sets(st: &State, uid: &str) -> Vec<Value> {
    let mut rses: Vec<Value> = st
        .store
        .children_of(uid)
        .into_iter()
        .filter(|(k, _, _)| *k == kinds::REPLICASET)
        .filter_map(|(_, rns, rname)| st.get_value(kinds::REPLICASET, &rns, &rname))
        .collect();
    rses.sort_by_key(|r| s(r, "/metadata/creationTimestamp").to_string());
    rses
}

/// Annotations the controller keeps to itself (never copied to ReplicaSets).
const NOT_COPIED: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// Copies the Deployment's annotations onto a ReplicaSet; true if any changed.
fn copy_annotations(from: Option<&Value>, rs: &mut Value) -> bool {
    let Some(from) = from.and_then(Value::as_object) else {
        return false;
    };
    let mut changed = false;
    for (k, v) in from {
        if NOT_COPIED.contains(&k.as_str()) {
            continue;
        }
        if rs.pointer("/metadata/annotations").and_then(|a| a.get(k)) != Some(v) {
            rs["metadata"]["annotations"][k.as_str()] = v.clone();
            changed = true;
        }
    }
    changed
}

/// A ReplicaSet's `deployment.kubernetes.io/revision`.
fn revision(r: &Value) -> Option<i64> {
    s(
        r,
        "/metadata/annotations/deployment.kubernetes.io~1revision",
    )
    .parse::<i64>()
    .ok()
}

/// (pods, ready pods) of a ReplicaSet.
fn pod_counts(st: &State, ns: &str, r: &Value) -> (i64, i64) {
    let pods = owned_pods(st, ns, s(r, "/metadata/uid"));
    let ready = pods.iter().filter(|(_, p)| is_ready(p)).count() as i64;
    (pods.len() as i64, ready)
}

/// Pods across all of a deployment's ReplicaSets, and the highest revision.
struct PodTotals {
    total: i64,
    ready: i64,
    updated: i64,
    max_rev: i64,
}

impl PodTotals {
    fn of(st: &State, ns: &str, uid: &str, new_name: &str) -> Self {
        let mut c = PodTotals {
            total: 0,
            ready: 0,
            updated: 0,
            max_rev: 0,
        };
        for (_, rns, rname) in st
            .store
            .children_of(uid)
            .into_iter()
            .filter(|(k, _, _)| *k == kinds::REPLICASET)
        {
            let Some(r) = st.get_value(kinds::REPLICASET, &rns, &rname) else {
                continue;
            };
            let (pods, ready) = pod_counts(st, ns, &r);
            c.total += pods;
            c.ready += ready;
            if rname == new_name {
                c.updated = pods;
            }
            c.max_rev = c.max_rev.max(revision(&r).unwrap_or(0));
        }
        c
    }
}

/// Builds deployment conditions, keeping the previous times when nothing changed.
struct Conditions {
    old: Vec<Value>,
    now: String,
}

impl Conditions {
    fn of(d: &Value) -> Self {
        Conditions {
            old: d
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            now: Clock::timestamp(),
        }
    }

    fn make(&self, ty: &str, status: &str, reason: &str, message: &str) -> Value {
        let now = &self.now;
        let prev = self.old.iter().find(|c| s(c, "/type") == ty);
        let same_status = prev.is_some_and(|p| s(p, "/status") == status);
        let same_reason =
            prev.is_some_and(|p| s(p, "/reason") == reason && s(p, "/message") == message);
        let transition = if same_status {
            prev.and_then(|p| p.get("lastTransitionTime"))
                .cloned()
                .unwrap_or(json!(now))
        } else {
            json!(now)
        };
        let update = if same_reason && same_status {
            prev.and_then(|p| p.get("lastUpdateTime"))
                .cloned()
                .unwrap_or(json!(now))
        } else {
            json!(now)
        };
        json!({"type": ty, "status": status, "lastUpdateTime": update, "lastTransitionTime": transition, "reason": reason, "message": message})
    }

    fn previous_reason(&self, ty: &str) -> String {
        self.old
            .iter()
            .find(|c| s(c, "/type") == ty)
            .map(|c| s(c, "/reason").to_string())
            .unwrap_or_default()
    }
}

/// Where the rollout stands, for the Progressing condition.
#[derive(Clone, Copy)]
struct Progress {
    created: bool,
    complete: bool,
    stalled: bool,
    updated: i64,
}

/// The Progressing condition `kubectl rollout status` waits on.
fn progressing_condition(conds: &Conditions, new_name: &str, p: Progress) -> Value {
    let created_msg = || format!("Created new replica set \"{new_name}\"");
    if p.created {
        conds.make(
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            &created_msg(),
        )
    } else if p.complete {
        conds.make(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{new_name}\" has successfully progressed."),
        )
    } else if p.stalled {
        conds.make(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet \"{new_name}\" has timed out progressing."),
        )
    } else if conds.previous_reason("Progressing") == "NewReplicaSetCreated" && p.updated == 0 {
        conds.make(
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            &created_msg(),
        )
    } else {
        conds.make(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{new_name}\" is progressing."),
        )
    }
}

fn strip_times(v: &mut Value) {
    if let Some(cs) = v.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in cs.iter_mut().filter_map(Value::as_object_mut) {
            c.remove("lastUpdateTime");
            c.remove("lastTransitionTime");
        }
    }
}

/// Writes a deployment change the way a user would (validated, generation bumped).
pub fn update_spec(st: &mut State, d: Value, manager: &str) -> Result<(), String> {
    let ns = s(&d, "/metadata/namespace").to_string();
    let name = s(&d, "/metadata/name").to_string();
    let o = WriteOpts {
        manager: manager.into(),
        ..Default::default()
    };
    st.api_update(kinds::DEPLOYMENT, &ns, &name, d, &o)
        .map(|_| ())
        .map_err(|e| e.message)
}
