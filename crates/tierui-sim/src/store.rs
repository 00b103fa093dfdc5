//! The object store: every object as its serialized JSON plus a small index
//! (labels, selectable fields, owners), one global resource version, and a ring
//! of recent changes that watches replay from.
//!
//! Keeping bytes rather than parsed trees is what makes a list of 10,000 pods a
//! memcpy and keeps memory near the size of the JSON itself.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use super::kinds::{self, KindId};
use super::selector::labels_of;

/// How many changes watches can replay before a resume needs a relist (410).
pub const HISTORY: usize = 20_000;

#[derive(Debug)]
pub struct Entry {
    pub kind: KindId,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub rv: u64,
    pub labels: Vec<(String, String)>,
    /// Values of the kind's selectable fields (beyond name and namespace).
    pub fields: Vec<(&'static str, String)>,
    pub owners: Vec<String>,
    pub bytes: Bytes,
}

impl Entry {
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    pub fn field(&self, field: &str) -> Option<&str> {
        match field {
            "metadata.name" => Some(&self.name),
            "metadata.namespace" => Some(&self.namespace),
            _ => self
                .fields
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, v)| v.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub ty: ChangeType,
    pub entry: Arc<Entry>,
    /// The version replaced by a modification: watches with selectors need it
    /// to turn "moved out of the selection" into DELETED.
    pub prev: Option<Arc<Entry>>,
}

pub type Key = (String, String);

pub struct Store {
    rv: u64,
    objects: Vec<BTreeMap<Key, Arc<Entry>>>,
    history: VecDeque<Arc<Change>>,
    cap: usize,
    /// Watches may resume from any version >= floor.
    floor: u64,
    children: HashMap<String, BTreeSet<(KindId, String, String)>>,
    notify: tokio::sync::watch::Sender<u64>,
    /// Custom kinds this cluster serves (its CRDs' versions).
    pub served: BTreeSet<KindId>,
}

/// Fields a kind can be filtered on besides `metadata.name`/`metadata.namespace`.
pub fn selectable_fields(kind: KindId) -> &'static [&'static str] {
    match kind {
        kinds::POD => &[
            "spec.nodeName",
            "status.phase",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        kinds::EVENT => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        kinds::SECRET => &["type"],
        kinds::NODE => &["spec.unschedulable"],
        kinds::NAMESPACE => &["status.phase"],
        kinds::REPLICASET => &["status.replicas"],
        _ => &[],
    }
}

fn field_value(obj: &Value, field: &str) -> String {
    if field == "source" {
        return obj
            .pointer("/source/component")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
    }
    let mut cur = obj;
    for part in field.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Store {
    pub fn new() -> Self {
        let (notify, _) = tokio::sync::watch::channel(0);
        Store {
            rv: 1,
            objects: kinds::KINDS.iter().map(|_| BTreeMap::new()).collect(),
            served: BTreeSet::new(),
            history: VecDeque::new(),
            cap: HISTORY,
            floor: 1,
            children: HashMap::new(),
            notify,
        }
    }

    pub fn rv(&self) -> u64 {
        self.rv
    }

    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Wakes when the resource version moves.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.notify.subscribe()
    }

    pub fn get(&self, kind: KindId, ns: &str, name: &str) -> Option<Arc<Entry>> {
        self.objects
            .get(kind)?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Objects of a kind in key order, within one namespace or all, starting after
    /// `after` (for `continue`).
    pub fn range<'a>(
        &'a self,
        kind: KindId,
        ns: Option<&str>,
        after: Option<&Key>,
    ) -> Box<dyn Iterator<Item = &'a Arc<Entry>> + 'a> {
        let Some(map) = self.objects.get(kind) else {
            return Box::new(std::iter::empty());
        };
        let lower = match (after, ns) {
            (Some(k), _) => Bound::Excluded(k.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let iter = map.range((lower, Bound::Unbounded)).map(|(_, e)| e);
        match ns {
            Some(ns) => {
                let ns = ns.to_string();
                Box::new(iter.take_while(move |e| e.namespace == ns))
            }
            None => Box::new(iter),
        }
    }

    pub fn count(&self, kind: KindId) -> usize {
        self.objects.get(kind).map_or(0, BTreeMap::len)
    }

    /// Objects whose ownerReferences name `uid`.
    pub fn children_of(&self, uid: &str) -> Vec<(KindId, String, String)> {
        self.children
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Stores `obj` under a new resource version and records the change.
    pub fn commit(&mut self, kind: KindId, mut obj: Value) -> Arc<Entry> {
        self.rv += 1;
        let rv = self.rv;
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let entry = Arc::new(index(kind, &obj, rv));
        let key = (entry.namespace.clone(), entry.name.clone());
        if self.objects.len() <= kind {
            // A custom kind's first object.
            self.objects.resize_with(kind + 1, BTreeMap::new);
        }
        let old = self
            .objects
            .get_mut(kind)
            .and_then(|m| m.insert(key, entry.clone()));
        if let Some(old) = &old {
            self.unlink(old);
        }
        self.link(&entry);
        let ty = if old.is_some() {
            ChangeType::Modified
        } else {
            ChangeType::Added
        };
        self.record(ty, entry.clone(), old);
        entry
    }

    pub fn remove(&mut self, kind: KindId, ns: &str, name: &str) -> Option<Arc<Entry>> {
        let old = self
            .objects
            .get_mut(kind)?
            .remove(&(ns.to_string(), name.to_string()))?;
        self.unlink(&old);
        self.rv += 1;
        // The DELETED event carries the deletion's resource version, like etcd.
        let mut obj = old.value();
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(self.rv.to_string()));
        }
        let gone = Arc::new(index(kind, &obj, self.rv));
        self.record(ChangeType::Deleted, gone.clone(), None);
        Some(gone)
    }

    fn record(&mut self, ty: ChangeType, entry: Arc<Entry>, prev: Option<Arc<Entry>>) {
        self.history.push_back(Arc::new(Change {
            rv: self.rv,
            ty,
            entry,
            prev,
        }));
        while self.history.len() > self.cap {
            if let Some(c) = self.history.pop_front() {
                self.floor = c.rv;
            }
        }
        self.notify.send_replace(self.rv);
    }

    fn link(&mut self, e: &Entry) {
        for uid in &e.owners {
            self.children.entry(uid.clone()).or_default().insert((
                e.kind,
                e.namespace.clone(),
                e.name.clone(),
            ));
        }
    }

    fn unlink(&mut self, e: &Entry) {
        for uid in &e.owners {
            if let Some(set) = self.children.get_mut(uid) {
                set.remove(&(e.kind, e.namespace.clone(), e.name.clone()));
                if set.is_empty() {
                    self.children.remove(uid);
                }
            }
        }
    }

    /// Changes after `rv`, or `Err(floor)` when they are no longer all known.
    pub fn changes_after(&self, rv: u64, max: usize) -> Result<Vec<Arc<Change>>, u64> {
        if rv < self.floor {
            return Err(self.floor);
        }
        let start = self.history.partition_point(|c| c.rv <= rv);
        Ok(self.history.iter().skip(start).take(max).cloned().collect())
    }

    /// Moves the version counter on without a change (a revision nobody has
    /// seen yet).
    pub fn skip_version(&mut self) {
        self.rv += 1;
    }

    /// Forgets the change history: watches from older versions get 410 Gone.
    pub fn compact(&mut self) {
        self.history.clear();
        self.floor = self.rv;
    }

    /// Every stored object, for persistence.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Entry>> {
        self.objects.iter().flat_map(|m| m.values())
    }

    /// Restores the version counter after loading a saved store.
    pub fn set_rv_at_least(&mut self, rv: u64) {
        if rv > self.rv {
            self.rv = rv;
            self.floor = rv;
            self.history.clear();
        }
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

fn index(kind: KindId, obj: &Value, rv: u64) -> Entry {
    let meta = obj.get("metadata");
    let s = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let owners = meta
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let fields = selectable_fields(kind)
        .iter()
        .map(|f| (*f, field_value(obj, f)))
        .collect();
    let bytes = serde_json::to_vec(obj).unwrap_or_default();
    Entry {
        kind,
        namespace: s("namespace"),
        name: s("name"),
        uid: s("uid"),
        rv,
        labels: labels_of(meta.and_then(|m| m.get("labels"))),
        fields,
        owners,
        bytes: Bytes::from(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(ns: &str, name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "uid": name, "labels": {"app": "x"}}, "spec": {"nodeName": "n1"}})
    }

    #[test]
    fn versions_history_and_compaction() {
        let mut s = Store::new();
        let a = s.commit(kinds::POD, pod("a", "p1"));
        let b = s.commit(kinds::POD, pod("b", "p2"));
        assert!(b.rv > a.rv);
        assert_eq!(a.field("spec.nodeName"), Some("n1"));
        assert_eq!(s.changes_after(a.rv, 10).unwrap().len(), 1);
        let gone = s.remove(kinds::POD, "a", "p1").unwrap();
        assert_eq!(
            gone.value()["metadata"]["resourceVersion"],
            json!(s.rv().to_string())
        );
        s.compact();
        assert!(s.changes_after(a.rv, 10).is_err());
        assert!(s.changes_after(s.rv(), 10).unwrap().is_empty());
    }

    #[test]
    fn namespace_ranges_and_continue() {
        let mut s = Store::new();
        for (ns, n) in [("a", "1"), ("a", "2"), ("b", "1"), ("c", "1")] {
            s.commit(kinds::POD, pod(ns, n));
        }
        assert_eq!(s.range(kinds::POD, Some("a"), None).count(), 2);
        assert_eq!(s.range(kinds::POD, None, None).count(), 4);
        let after = ("a".to_string(), "2".to_string());
        let rest: Vec<_> = s
            .range(kinds::POD, None, Some(&after))
            .map(|e| e.namespace.clone())
            .collect();
        assert_eq!(rest, ["b", "c"]);
    }

    #[test]
    fn owner_index_follows_updates() {
        let mut s = Store::new();
        let mut p = pod("a", "p");
        p["metadata"]["ownerReferences"] = json!([{"uid": "rs1"}]);
        s.commit(kinds::POD, p.clone());
        assert_eq!(s.children_of("rs1").len(), 1);
        p["metadata"]["ownerReferences"] = json!([]);
        s.commit(kinds::POD, p);
        assert!(s.children_of("rs1").is_empty());
    }
}
