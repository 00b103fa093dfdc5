//! Deletion: preconditions, graceful pod termination, finalizers (an object
//! that has them is marked with a deletionTimestamp and goes when the last is
//! removed), background cascade to owned objects (or orphaning), namespaces
//! with their contents, and deletecollection.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::clock::Clock;
use crate::kinds::{self, KindId};
use crate::selector::{FieldSelector, LabelSelector};
use crate::state::State;
use crate::status::{self, ApiError, ApiResult};
use crate::store::Entry;

impl State {
    pub fn api_delete(
        &mut self,
        kind: KindId,
        ns: &str,
        name: &str,
        d: &DeleteOpts,
    ) -> ApiResult<Written> {
        let entry = self
            .store
            .get(kind, ns_of(kind, ns), name)
            .ok_or_else(|| ApiError::not_found(kind, name))?;
        if let Some(uid) = &d.uid
            && *uid != entry.uid
        {
            return Err(ApiError {
                message: format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    entry.uid
                ),
                ..ApiError::conflict(kind, name)
            });
        }
        if let Some(rv) = &d.rv
            && *rv != entry.rv.to_string()
        {
            return Err(ApiError {
                message: format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    entry.rv
                ),
                ..ApiError::conflict(kind, name)
            });
        }
        if d.dry_run {
            return Ok(Written {
                code: 200,
                body: entry.bytes.clone(),
            });
        }
        if let Some(terminating) = self.terminate_pod(kind, &entry, d.grace) {
            return Ok(Written {
                code: 200,
                body: terminating.bytes.clone(),
            });
        }
        // Finalizers hold the object, marked for deletion, until they are gone.
        let v = entry.value();
        if super::write::has_finalizers(&v) && kind != kinds::POD {
            if v.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(Written {
                    code: 200,
                    body: entry.bytes.clone(),
                });
            }
            let mut v = v;
            v["metadata"]["deletionTimestamp"] = json!(Clock::timestamp());
            v["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            let marked = self.store.commit(kind, v);
            return Ok(Written {
                code: 200,
                body: marked.bytes.clone(),
            });
        }
        let gone = self.delete_cascade(kind, ns_of(kind, ns), name, d.orphan);
        Ok(match gone {
            Some(e) if kind == kinds::POD => Written {
                code: 200,
                body: e.bytes.clone(),
            },
            Some(e) => written(200, &status::success(kind, name, &e.uid)),
            None => return Err(ApiError::not_found(kind, name)),
        })
    }

    /// Pods on a node go through Terminating (deletionTimestamp set, the
    /// simulated kubelet removes them later) unless the grace period is zero.
    pub fn terminate_pod(
        &mut self,
        kind: KindId,
        entry: &Entry,
        grace: Option<i64>,
    ) -> Option<Arc<Entry>> {
        if kind != kinds::POD {
            return None;
        }
        let mut pod = entry.value();
        let on_node = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        let phase = pod
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let grace = grace
            .or_else(|| {
                pod.pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(30);
        if !on_node || grace <= 0 || matches!(phase, "Succeeded" | "Failed") {
            return None;
        }
        if pod.pointer("/metadata/deletionTimestamp").is_some() {
            return Some(Arc::new(Entry {
                bytes: entry.bytes.clone(),
                ..clone_entry(entry)
            }));
        }
        let at = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(grace))
            .unwrap_or_else(|_| jiff::Timestamp::now());
        pod["metadata"]["deletionTimestamp"] = json!(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        pod["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        Some(self.store.commit(kinds::POD, pod))
    }

    /// A controller deleting a pod: terminating on its node (grace period,
    /// the kubelet removes it), or gone at once when never scheduled. False
    /// when there was no such pod.
    pub fn delete_pod(&mut self, ns: &str, name: &str) -> bool {
        let Some(entry) = self.store.get(kinds::POD, ns, name) else {
            return false;
        };
        if self.terminate_pod(kinds::POD, &entry, None).is_none() {
            self.store.remove(kinds::POD, ns, name);
        }
        true
    }

    /// Removes an object and, unless orphaning, what it owns (background
    /// propagation); a namespace takes its contents with it.
    pub fn delete_cascade(
        &mut self,
        kind: KindId,
        ns: &str,
        name: &str,
        orphan: bool,
    ) -> Option<Arc<Entry>> {
        let gone = self.store.remove(kind, ns, name)?;
        if kind == kinds::NAMESPACE {
            for (k, _) in kinds::all()
                .into_iter()
                .filter(|(_, k)| k.namespaced && !k.computed)
            {
                let names: Vec<String> = self
                    .store
                    .range(k, Some(name), None)
                    .map(|e| e.name.clone())
                    .collect();
                for n in names {
                    self.store.remove(k, name, &n);
                }
            }
        }
        for (ck, cns, cname) in self.store.children_of(&gone.uid) {
            if orphan {
                if let Some(mut child) = self.get_value(ck, &cns, &cname) {
                    if let Some(refs) = child
                        .pointer_mut("/metadata/ownerReferences")
                        .and_then(Value::as_array_mut)
                    {
                        refs.retain(|r| {
                            r.get("uid").and_then(Value::as_str) != Some(gone.uid.as_str())
                        });
                    }
                    self.store.commit(ck, child);
                }
            } else if let Some(child) = self.store.get(ck, &cns, &cname)
                && self.terminate_pod(ck, &child, None).is_none()
            {
                self.delete_cascade(ck, &cns, &cname, false);
            }
        }
        Some(gone)
    }

    pub fn api_delete_collection(
        &mut self,
        kind: KindId,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        d: &DeleteOpts,
    ) -> ApiResult<Written> {
        let names: Vec<(String, String)> = self
            .store
            .range(kind, ns, None)
            .filter(|e| labels.matches(&e.labels) && fields.matches(|f| e.field(f)))
            .map(|e| (e.namespace.clone(), e.name.clone()))
            .collect();
        if !d.dry_run {
            for (ns, name) in names {
                let _ = self.api_delete(kind, &ns, &name, d);
            }
        }
        Ok(written(
            200,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut s = State::new(1);
        s.put(
            kinds::NAMESPACE,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
        );
        s
    }

    #[test]
    fn cascade_and_orphan() {
        let mut s = state();
        let owner = s.put(kinds::CONFIGMAP, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "o", "namespace": "default"}}));
        for n in ["c1", "c2"] {
            s.put(kinds::CONFIGMAP, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": "default", "ownerReferences": [{"uid": owner.uid, "name": "o", "kind": "ConfigMap", "apiVersion": "v1"}]}}));
        }
        s.api_delete(kinds::CONFIGMAP, "default", "o", &DeleteOpts::default())
            .unwrap();
        assert_eq!(s.store.count(kinds::CONFIGMAP), 0);
        let owner = s.put(kinds::CONFIGMAP, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "o2", "namespace": "default"}}));
        s.put(kinds::CONFIGMAP, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kept", "namespace": "default", "ownerReferences": [{"uid": owner.uid, "name": "o2", "kind": "ConfigMap", "apiVersion": "v1"}]}}));
        let orphan = DeleteOpts {
            orphan: true,
            ..Default::default()
        };
        s.api_delete(kinds::CONFIGMAP, "default", "o2", &orphan)
            .unwrap();
        let kept = s.get_value(kinds::CONFIGMAP, "default", "kept").unwrap();
        assert_eq!(kept["metadata"]["ownerReferences"], json!([]));
    }
}
