//! Everything behind the simulator's one lock: the store plus the seeded
//! generators and the event book-keeping that writes need.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};

use super::clock::{Clock, Rng};
use super::defaults;
use super::kinds::{self, KindId};
use super::store::{Entry, Store};

/// Events kept before the oldest are dropped (a real cluster expires them after an hour).
const MAX_EVENTS: usize = 2_000;

pub struct State {
    pub store: Store,
    /// uids and cluster IPs of objects created through the API.
    pub api_rng: Rng,
    /// Everything the controllers decide: pod names, delays, load noise.
    pub rng: Rng,
    next_ip: u32,
    events: HashMap<(String, String, String, String), String>,
    event_order: VecDeque<(String, String)>,
}

impl State {
    pub fn new(seed: u64) -> Self {
        State {
            store: Store::new(),
            api_rng: Rng::stream(seed, "api"),
            rng: Rng::stream(seed, "controllers"),
            next_ip: 1,
            events: HashMap::new(),
            event_order: VecDeque::new(),
        }
    }

    pub fn cluster_ip(&mut self) -> String {
        self.next_ip += 1;
        let n = self.next_ip;
        format!("10.100.{}.{}", (n >> 8) & 0xff, n & 0xff)
    }

    pub fn get_value(&self, kind: KindId, ns: &str, name: &str) -> Option<Value> {
        self.store.get(kind, ns, name).map(|e| e.value())
    }

    /// A write by the simulator itself: defaulted (and, when new, admitted as
    /// the API server admits a create), not validated, no managedFields.
    pub fn put(&mut self, kind: KindId, mut obj: Value) -> Arc<Entry> {
        defaults::apply(kind, &mut obj);
        let new = {
            let m = |k: &str| {
                obj.pointer(&format!("/metadata/{k}"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            };
            self.store.get(kind, m("namespace"), m("name")).is_none()
        };
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            if meta
                .get("uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
            {
                meta.insert("uid".into(), json!(self.rng.uuid()));
            }
            if !meta.contains_key("creationTimestamp") {
                meta.insert("creationTimestamp".into(), json!(Clock::timestamp()));
            }
        }
        if new {
            self.admit_new(kind, &mut obj);
        }
        self.store.commit(kind, obj)
    }

    /// Records an Event about `involved`, folding repeats into `count` the way
    /// the kubelet's and controllers' recorders do.
    pub fn event(
        &mut self,
        involved_kind: KindId,
        involved: &Value,
        ty: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let meta = involved.get("metadata");
        let g = |k: &str| {
            meta.and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (ns, name, uid) = (g("namespace"), g("name"), g("uid"));
        let ns = if ns.is_empty() {
            "default".to_string()
        } else {
            ns
        };
        let key = (
            ns.clone(),
            uid.clone(),
            reason.to_string(),
            message.to_string(),
        );
        let now = Clock::timestamp();
        if let Some(existing) = self.events.get(&key).cloned()
            && let Some(mut ev) = self.get_value(kinds::EVENT, &ns, &existing)
        {
            let count = ev.get("count").and_then(Value::as_i64).unwrap_or(1) + 1;
            ev["count"] = json!(count);
            ev["lastTimestamp"] = json!(now);
            self.store.commit(kinds::EVENT, ev);
            return;
        }
        let k = kinds::get(involved_kind);
        let ev_name = format!("{name}.{:016x}", self.rng.next_u64());
        let ev = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": ev_name,
                "namespace": ns,
                "uid": self.rng.uuid(),
                "creationTimestamp": now,
            },
            "involvedObject": {
                "kind": k.kind,
                "namespace": g("namespace"),
                "name": name,
                "uid": uid,
                "apiVersion": k.api_version(),
                "resourceVersion": g("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "source": { "component": component },
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": ty,
            "eventTime": null,
            "reportingComponent": component,
            "reportingInstance": "",
        });
        self.store.commit(kinds::EVENT, ev);
        self.events.insert(key, ev_name.clone());
        self.event_order.push_back((ns, ev_name));
        while self.event_order.len() > MAX_EVENTS {
            if let Some((ns, old)) = self.event_order.pop_front() {
                self.store.remove(kinds::EVENT, &ns, &old);
                self.events.retain(|_, v| *v != old);
            }
        }
    }
}
