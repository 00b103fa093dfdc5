//! `--churn R`: R pod events per (real) second on the `--pods` load, mostly
//! status updates, with some deletions and re-creations so the count holds.

use serde_json::{Value, json};

use super::bootstrap::{is_load_namespace, load_pod};
use crate::clock::Clock;
use crate::kinds;
use crate::state::State;

#[derive(Default)]
pub struct Churn {
    owed: f64,
    serial: usize,
    /// The load namespaces, found once (the load's pods come and go inside them).
    namespaces: Vec<String>,
}

impl Churn {
    pub fn tick(&mut self, st: &mut State, rate: f64, real_dt: f64) {
        if rate <= 0.0 {
            return;
        }
        self.owed += rate * real_dt;
        let n = self.owed.floor() as usize;
        self.owed -= n as f64;
        let total = st.store.count(kinds::POD);
        if total == 0 {
            return;
        }
        if self.namespaces.is_empty() {
            self.namespaces = st
                .store
                .range(kinds::NAMESPACE, None, None)
                .map(|e| e.name.clone())
                .filter(|n| is_load_namespace(n))
                .collect();
            if self.namespaces.is_empty() {
                return;
            }
        }
        // A random namespace per event, then random pods of each namespace picked:
        // one pass over that namespace's pods per tick, never over every pod.
        let mut per_ns: std::collections::BTreeMap<String, usize> = Default::default();
        for _ in 0..n {
            let ns = &self.namespaces[st.rng.below(self.namespaces.len())];
            *per_ns.entry(ns.clone()).or_default() += 1;
        }
        let mut names: Vec<(String, String, String)> = Vec::with_capacity(n);
        for (ns, k) in per_ns {
            let pods: Vec<_> = st.store.range(kinds::POD, Some(&ns), None).collect();
            if pods.is_empty() {
                continue;
            }
            for _ in 0..k {
                let e = &pods[st.rng.below(pods.len())];
                let node = e.field("spec.nodeName").unwrap_or_default().to_string();
                names.push((ns.clone(), e.name.clone(), node));
            }
        }
        for (ns, name, node) in names {
            let roll = st.rng.below(20);
            if roll == 0 {
                if st.store.remove(kinds::POD, &ns, &name).is_some() {
                    self.serial += 1;
                    let fresh = format!("load-r{:05}-{}", self.serial, st.rng.suffix(5));
                    let uid = st.rng.uuid();
                    st.put(
                        kinds::POD,
                        load_pod(&fresh, &ns, self.serial, &node, &Clock::timestamp(), uid),
                    );
                }
            } else if let Some(mut pod) = st.get_value(kinds::POD, &ns, &name) {
                let beat = pod
                    .pointer("/metadata/annotations/sim.tierui.io~1beat")
                    .and_then(Value::as_str)
                    .and_then(|b| b.parse::<u64>().ok())
                    .unwrap_or(0);
                pod["metadata"]["annotations"] =
                    json!({"sim.tierui.io/beat": (beat + 1).to_string()});
                let ready = roll.is_multiple_of(2);
                if let Some(c) = pod.pointer_mut("/status/containerStatuses/0") {
                    c["ready"] = json!(ready);
                }
                st.store.commit(kinds::POD, pod);
            }
        }
    }
}
