//! The pods of one live-view pane, kept in the order the table shows them.
//!
//! Built for 150,000 pods: rows live in slots (their repeated strings shared),
//! found by (namespace, name) through an index; the name order is always
//! kept, the order of the current sort and the rows the `/` filter matches
//! are kept beside it and moved row by row as events arrive (a binary search
//! and one insert), so a frame only reads the rows it draws. A sort change
//! sorts integer keys once; a filter narrowing as it is typed looks only at
//! the rows still shown. Pod metrics are joined page by page into a usage
//! column by slot (no second list of pods), and swapped in when a pass ends.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use tierui_backends::kube::rows::{PodRow, Usage};
use tierui_backends::kube::watch::Change;

use super::live::SortBy;

#[derive(Debug, Clone, Default)]
pub struct PodTable {
    slots: Vec<Option<PodRow>>,
    usage: Vec<Option<Usage>>,
    next_usage: Vec<Option<Usage>>,
    /// The relist a slot was last seen in.
    seen: Vec<u32>,
    /// Whether a slot's row matches the filter.
    matched: Vec<bool>,
    free: Vec<u32>,
    /// How many rows run each image (a rollout shows as two).
    images: HashMap<Arc<str>, u32>,
    index: HashMap<Arc<str>, HashMap<Arc<str>, u32>>,
    len: usize,
    ready: usize,
    epoch: u32,
    relisting: bool,
    /// (loaded, total if the server said) while the first list is coming in.
    loading: Option<(usize, Option<usize>)>,
    metrics: bool,
    /// Slots by (namespace, name).
    by_name: Vec<u32>,
    sort: SortBy,
    descending: bool,
    /// Slots in the sort's order (empty when sorting by name).
    order: Vec<u32>,
    /// Lower-cased `/` filter; `view` holds the matching slots in order.
    filter: String,
    view: Vec<u32>,
}

/// A shared string's address: rows share their strings, so equal pointers
/// mean equal strings (not always the reverse).
fn ptr(a: &Arc<str>) -> usize {
    Arc::as_ptr(a) as *const u8 as usize
}

/// A map keyed by addresses, hashed by one multiplication (SipHash would be
/// most of a sort's time at 150,000 rows).
type PtrMap<V> = HashMap<usize, V, std::hash::BuildHasherDefault<PtrHasher>>;

#[derive(Default)]
struct PtrHasher(u64);

impl std::hash::Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_right(29);
    }
}

/// The lists a table keeps: by name, by the sort, the filter's matches.
#[derive(Clone, Copy)]
enum List {
    ByName,
    Order,
    View,
}

/// Bulk pages are merged (one pass) rather than inserted row by row.
const BULK: usize = 32;

impl PodTable {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pods running with every container ready.
    pub fn ready(&self) -> usize {
        self.ready
    }

    /// While the first list is arriving: rows so far and the server's total.
    pub fn loading(&self) -> Option<(usize, Option<usize>)> {
        self.loading
    }

    /// Whether a full pass of metrics has been joined.
    pub fn has_metrics(&self) -> bool {
        self.metrics
    }

    /// The namespaces that have pods.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(|n| &**n)
    }

    /// The images the pods run, each once.
    pub fn images(&self) -> impl Iterator<Item = &str> {
        self.images.keys().map(|i| &**i)
    }

    fn count_image(&mut self, image: &Arc<str>, up: bool) {
        if up {
            *self.images.entry(image.clone()).or_default() += 1;
        } else if let Some(n) = self.images.get_mut(image) {
            *n -= 1;
            if *n == 0 {
                self.images.remove(image);
            }
        }
    }

    /// Every row, by (namespace, name).
    pub fn values(&self) -> impl Iterator<Item = &PodRow> {
        self.by_name.iter().filter_map(|&s| self.row(s))
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<&PodRow> {
        self.slot_of(namespace, name).and_then(|s| self.row(s))
    }

    /// A pod's CPU and memory from the last full metrics pass.
    pub fn usage_of(&self, namespace: &str, name: &str) -> Option<Usage> {
        let s = self.slot_of(namespace, name)?;
        self.usage[s as usize].filter(|_| self.metrics)
    }

    fn slot_of(&self, namespace: &str, name: &str) -> Option<u32> {
        self.index.get(namespace)?.get(name).copied()
    }

    fn row(&self, s: u32) -> Option<&PodRow> {
        self.slots.get(s as usize).and_then(Option::as_ref)
    }

    /// Whether the shown order is that of `sort`, `descending` and `filter`.
    pub fn shows(&self, sort: SortBy, descending: bool, filter: &str) -> bool {
        self.sort == sort && self.descending == descending && self.filter == filter.to_lowercase()
    }

    /// The slots shown, in ascending order of the sort.
    fn shown(&self) -> &[u32] {
        if !self.filter.is_empty() {
            &self.view
        } else if self.sort == SortBy::Name {
            &self.by_name
        } else {
            &self.order
        }
    }

    /// How many rows the table shows (after the filter).
    pub fn shown_len(&self) -> usize {
        self.shown().len()
    }

    /// The `i`th row shown, with its usage when metrics are in.
    pub fn shown_at(&self, i: usize) -> Option<&PodRow> {
        let shown = self.shown();
        let i = if self.descending {
            shown.len().checked_sub(i + 1)?
        } else {
            i
        };
        shown.get(i).and_then(|&s| self.row(s))
    }

    /// Sets what the table shows. Descending only reverses how rows are read;
    /// a new sort sorts integer keys once; a longer filter looks only at the
    /// rows the shorter one showed.
    pub fn show(&mut self, sort: SortBy, descending: bool, filter: &str) {
        self.descending = descending;
        let needle = filter.to_lowercase();
        if sort != self.sort {
            self.sort = sort;
            self.resort();
        }
        if needle != self.filter {
            let narrowing = !self.filter.is_empty() && needle.contains(&self.filter);
            self.filter = needle;
            if self.filter.is_empty() {
                self.view = Vec::new();
                self.matched.iter_mut().for_each(|m| *m = false);
            } else {
                // Nodes and statuses are shared strings: each is looked at once.
                let mut seen: PtrMap<bool> = PtrMap::default();
                let needle = self.filter.as_str();
                let mut test = |r: &PodRow| {
                    contains_ci(&r.name, needle)
                        || *seen
                            .entry(ptr(&r.status))
                            .or_insert_with(|| contains_ci(&r.status, needle))
                        || *seen
                            .entry(ptr(&r.node))
                            .or_insert_with(|| contains_ci(&r.node, needle))
                };
                let candidates: Vec<u32> = if narrowing {
                    std::mem::take(&mut self.view)
                } else {
                    self.sorted_slots().collect()
                };
                let mut view = Vec::new();
                let mut matched = std::mem::take(&mut self.matched);
                for s in candidates {
                    let m = self.slots[s as usize].as_ref().is_some_and(&mut test);
                    matched[s as usize] = m;
                    if m {
                        view.push(s);
                    }
                }
                self.matched = matched;
                self.view = view;
            }
        }
    }

    fn sorted_len(&self) -> usize {
        self.by_name.len()
    }

    fn sorted_at(&self, i: usize) -> u32 {
        if self.sort == SortBy::Name {
            self.by_name[i]
        } else {
            self.order[i]
        }
    }

    fn sorted_slots(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.sorted_len()).map(|i| self.sorted_at(i))
    }

    /// The sort's order rebuilt from integer keys: (key, position by name).
    fn resort(&mut self) {
        self.order = Vec::new();
        if self.sort == SortBy::Name {
            self.refilter_in_order();
            return;
        }
        // Strings rank by value, looked up by pointer: rows share their
        // strings, so there are a few thousand to sort, not 150,000.
        let ranks = |f: fn(&PodRow) -> &Arc<str>| -> PtrMap<u64> {
            let mut distinct: PtrMap<&str> = PtrMap::default();
            for &s in &self.by_name {
                let a = f(self.slots[s as usize].as_ref().expect("live slot"));
                distinct.entry(ptr(a)).or_insert(a);
            }
            let mut by_value: Vec<(&str, usize)> =
                distinct.into_iter().map(|(p, s)| (s, p)).collect();
            by_value.sort_unstable();
            let mut out = PtrMap::with_capacity_and_hasher(by_value.len(), Default::default());
            let mut rank = 0u64;
            for (i, (s, p)) in by_value.iter().enumerate() {
                if i > 0 && by_value[i - 1].0 != *s {
                    rank += 1;
                }
                out.insert(*p, rank);
            }
            out
        };
        let rank = match self.sort {
            SortBy::Status => Some(ranks(|r| &r.status)),
            SortBy::Node => Some(ranks(|r| &r.node)),
            _ => None,
        };
        // Each row's key, in name order.
        let keys: Vec<u64> = self
            .by_name
            .iter()
            .map(|&s| {
                let r = self.slots[s as usize].as_ref().expect("live slot");
                let u = self.usage[s as usize].unwrap_or_default();
                match self.sort {
                    SortBy::Name => 0,
                    SortBy::Ready => (u64::from(r.ready) << 32) | u64::from(r.containers),
                    SortBy::Restarts => u64::from(r.restarts),
                    // Youngest first; no time last.
                    SortBy::Age => r.created.map_or(u64::MAX, |c| {
                        (i128::from(i64::MAX) - i128::from(c)).clamp(0, i128::from(u64::MAX) - 1)
                            as u64
                    }),
                    SortBy::Cpu => u.cpu_milli,
                    SortBy::Memory => u.memory_bytes,
                    SortBy::Status => rank.as_ref().map_or(0, |m| m[&ptr(&r.status)]),
                    SortBy::Node => rank.as_ref().map_or(0, |m| m[&ptr(&r.node)]),
                }
            })
            .collect();
        drop(rank);
        // A counting sort over the distinct keys: stable, so equal keys stay in
        // name order, and linear but for sorting the distinct keys themselves.
        let mut distinct = keys.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let mut start = vec![0u32; distinct.len() + 1];
        let ranked: Vec<u32> = keys
            .iter()
            .map(|k| distinct.binary_search(k).unwrap_or_default() as u32)
            .collect();
        for &r in &ranked {
            start[r as usize + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut order = vec![0u32; ranked.len()];
        for (pos, &r) in ranked.iter().enumerate() {
            order[start[r as usize] as usize] = self.by_name[pos];
            start[r as usize] += 1;
        }
        self.order = order;
        self.refilter_in_order();
    }

    /// The filter's matches again in the (new) sort's order; which rows
    /// match has not changed.
    fn refilter_in_order(&mut self) {
        if !self.filter.is_empty() {
            self.view = self
                .sorted_slots()
                .filter(|&s| self.matched[s as usize])
                .collect();
        }
    }

    /// The sort's order of two slots: its key, then (namespace, name).
    fn cmp(&self, sort: SortBy, a: u32, b: u32) -> Ordering {
        let (ra, rb) = (
            self.slots[a as usize].as_ref().expect("live slot"),
            self.slots[b as usize].as_ref().expect("live slot"),
        );
        let u = |s: u32| self.usage[s as usize].unwrap_or_default();
        primary(sort, ra, u(a), rb, u(b))
            .then_with(|| (&ra.namespace, &ra.name).cmp(&(&rb.namespace, &rb.name)))
    }

    /// Puts slot `s` in its place in one of the kept lists (a binary
    /// search by that list's order, then an insert).
    fn place(&mut self, list: List, s: u32) {
        let (mut v, sort) = self.take(list);
        let pos = v
            .binary_search_by(|&x| self.cmp(sort, x, s))
            .unwrap_or_else(|p| p);
        v.insert(pos, s);
        self.put(list, v);
    }

    /// Takes slot `s` out of one of the kept lists; the row must still be
    /// what it was when it was placed.
    fn unplace(&mut self, list: List, s: u32) {
        let (mut v, sort) = self.take(list);
        match v.binary_search_by(|&x| self.cmp(sort, x, s)) {
            Ok(p) if v[p] == s => {
                v.remove(p);
            }
            // Never expected; a linear search keeps the lists right anyway.
            _ => v.retain(|&x| x != s),
        }
        self.put(list, v);
    }

    /// A kept list (moved out while `cmp` borrows the rows) and its order.
    fn take(&mut self, list: List) -> (Vec<u32>, SortBy) {
        match list {
            List::ByName => (std::mem::take(&mut self.by_name), SortBy::Name),
            List::Order => (std::mem::take(&mut self.order), self.sort),
            List::View => (std::mem::take(&mut self.view), self.sort),
        }
    }

    fn put(&mut self, list: List, v: Vec<u32>) {
        match list {
            List::ByName => self.by_name = v,
            List::Order => self.order = v,
            List::View => self.view = v,
        }
    }

    /// Adds `s` (already in its slot) to the kept orders.
    fn link(&mut self, s: u32) {
        self.place(List::ByName, s);
        if self.sort != SortBy::Name {
            self.place(List::Order, s);
        }
        self.link_view(s);
    }

    fn link_view(&mut self, s: u32) {
        let m = !self.filter.is_empty() && self.row(s).is_some_and(|r| matches(r, &self.filter));
        self.matched[s as usize] = m;
        if m {
            self.place(List::View, s);
        }
    }

    fn unlink_view(&mut self, s: u32) {
        if self.matched[s as usize] {
            self.unplace(List::View, s);
            self.matched[s as usize] = false;
        }
    }

    fn alloc(&mut self, row: PodRow) -> u32 {
        if row.is_ready() {
            self.ready += 1;
        }
        self.count_image(&row.image, true);
        self.len += 1;
        let s = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(row);
                s
            }
            None => {
                self.slots.push(Some(row));
                self.usage.push(None);
                self.next_usage.push(None);
                self.seen.push(0);
                self.matched.push(false);
                (self.slots.len() - 1) as u32
            }
        };
        let r = self.slots[s as usize].as_ref().expect("just put");
        let (ns, name) = (r.namespace.clone(), r.name.clone());
        self.index.entry(ns).or_default().insert(name, s);
        self.seen[s as usize] = self.epoch;
        s
    }

    /// Adds or replaces one row, moving it only if its place changed.
    pub fn upsert(&mut self, row: PodRow) {
        let Some(s) = self.slot_of(&row.namespace, &row.name) else {
            let s = self.alloc(row);
            self.link(s);
            return;
        };
        let i = s as usize;
        self.seen[i] = self.epoch;
        let old = self.slots[i].as_ref().expect("indexed slot");
        let u = self.usage[i].unwrap_or_default();
        let moves =
            self.sort != SortBy::Name && primary(self.sort, old, u, &row, u) != Ordering::Equal;
        let was = old.is_ready();
        let old_image = old.image.clone();
        if moves {
            self.unplace(List::Order, s);
        }
        self.unlink_view(s);
        if was {
            self.ready -= 1;
        }
        if row.is_ready() {
            self.ready += 1;
        }
        if old_image != row.image {
            self.count_image(&old_image, false);
            self.count_image(&row.image, true);
        }
        self.slots[i] = Some(row);
        if moves {
            self.place(List::Order, s);
        }
        self.link_view(s);
    }

    /// Removes one row.
    pub fn delete(&mut self, namespace: &str, name: &str) {
        let Some(s) = self.slot_of(namespace, name) else {
            return;
        };
        self.unlink_view(s);
        self.unplace(List::ByName, s);
        if self.sort != SortBy::Name {
            self.unplace(List::Order, s);
        }
        self.drop_slot(s);
    }

    fn drop_slot(&mut self, s: u32) {
        let i = s as usize;
        let Some(row) = self.slots[i].take() else {
            return;
        };
        if let Some(names) = self.index.get_mut(&*row.namespace) {
            names.remove(&*row.name);
            if names.is_empty() {
                self.index.remove(&*row.namespace);
            }
        }
        if row.is_ready() {
            self.ready -= 1;
        }
        self.count_image(&row.image, false);
        self.len -= 1;
        self.usage[i] = None;
        self.next_usage[i] = None;
        self.matched[i] = false;
        self.free.push(s);
    }

    /// A page of rows: new ones are merged into the orders in one pass.
    pub fn page(&mut self, rows: Vec<PodRow>) {
        if rows.len() < BULK {
            rows.into_iter().for_each(|r| self.upsert(r));
            return;
        }
        let mut new = Vec::new();
        let mut fresh = std::collections::HashSet::new();
        for r in rows {
            match self.slot_of(&r.namespace, &r.name) {
                // Twice in one page (a server would not): the later row wins.
                Some(s) if fresh.contains(&s) => self.replace_unlinked(s, r),
                Some(_) => self.upsert(r),
                None => {
                    let s = self.alloc(r);
                    fresh.insert(s);
                    new.push(s);
                }
            }
        }
        self.merge(new);
    }

    /// Replaces the row of a slot not yet in the orders.
    fn replace_unlinked(&mut self, s: u32, row: PodRow) {
        let old = self.slots[s as usize].take().expect("allocated slot");
        if old.is_ready() {
            self.ready -= 1;
        }
        if row.is_ready() {
            self.ready += 1;
        }
        self.count_image(&old.image, false);
        self.count_image(&row.image, true);
        self.slots[s as usize] = Some(row);
    }

    fn merge(&mut self, mut new: Vec<u32>) {
        let merge = |t: &PodTable, old: &[u32], new: &[u32], sort: SortBy| -> Vec<u32> {
            let mut out = Vec::with_capacity(old.len() + new.len());
            let (mut i, mut j) = (0, 0);
            while i < old.len() && j < new.len() {
                if t.cmp(sort, old[i], new[j]) == Ordering::Less {
                    out.push(old[i]);
                    i += 1;
                } else {
                    out.push(new[j]);
                    j += 1;
                }
            }
            out.extend_from_slice(&old[i..]);
            out.extend_from_slice(&new[j..]);
            out
        };
        new.sort_unstable_by(|&a, &b| self.cmp(SortBy::Name, a, b));
        self.by_name = merge(self, &self.by_name, &new, SortBy::Name);
        if self.sort != SortBy::Name {
            new.sort_unstable_by(|&a, &b| self.cmp(self.sort, a, b));
            self.order = merge(self, &self.order, &new, self.sort);
        }
        if !self.filter.is_empty() {
            new.retain(|&s| {
                let m = self.row(s).is_some_and(|r| matches(r, &self.filter));
                self.matched[s as usize] = m;
                m
            });
            self.view = merge(self, &self.view, &new, self.sort);
        }
    }

    /// Applies a pods watcher's change; true when a (re)list has finished.
    pub fn apply(&mut self, change: Change<PodRow>) -> bool {
        match change {
            Change::Relist => {
                self.epoch += 1;
                self.relisting = true;
                if self.len == 0 {
                    self.loading = Some((0, None));
                }
            }
            Change::Upsert { row } => self.upsert(row),
            Change::Page {
                rows,
                loaded,
                total,
            } => {
                self.page(rows);
                if self.loading.is_some() {
                    self.loading = Some((loaded, total));
                }
            }
            Change::Delete { namespace, name } => self.delete(&namespace, &name),
            Change::Listed => {
                self.loading = None;
                if std::mem::take(&mut self.relisting) {
                    // Rows that did not come back in the relist are gone.
                    let stale: Vec<u32> = (0..self.slots.len() as u32)
                        .filter(|&s| self.row(s).is_some() && self.seen[s as usize] != self.epoch)
                        .collect();
                    if !stale.is_empty() {
                        for s in stale {
                            self.drop_slot(s);
                        }
                        let live = |v: &mut Vec<u32>, slots: &[Option<PodRow>]| {
                            v.retain(|&s| slots[s as usize].is_some())
                        };
                        live(&mut self.by_name, &self.slots);
                        live(&mut self.order, &self.slots);
                        live(&mut self.view, &self.slots);
                    }
                }
                return true;
            }
        }
        false
    }

    /// One page of a metrics pass, joined by (namespace, name); `first`
    /// starts a pass afresh (a pass that failed half way leaves nothing
    /// behind), `last` ends it and its figures replace the previous ones.
    pub fn join_usage(&mut self, page: Vec<(String, String, Usage)>, first: bool, last: bool) {
        if first {
            self.next_usage.iter_mut().for_each(|u| *u = None);
        }
        for (ns, name, u) in page {
            if let Some(s) = self.slot_of(&ns, &name) {
                self.next_usage[s as usize] = Some(u);
            }
        }
        if last {
            // (The next pass's first page clears what this one leaves.)
            std::mem::swap(&mut self.usage, &mut self.next_usage);
            self.metrics = true;
            if matches!(self.sort, SortBy::Cpu | SortBy::Memory) {
                // Every row's key moved at once: one sort per pass.
                self.resort();
            }
        }
    }
}

/// The rows a table shows: the kept order, or (when it was not told the sort
/// and filter asked for) built the slow way.
pub enum PodRows<'a> {
    Kept(&'a PodTable),
    Built(Vec<&'a PodRow>),
}

impl<'a> PodRows<'a> {
    pub fn len(&self) -> usize {
        match self {
            PodRows::Kept(t) => t.shown_len(),
            PodRows::Built(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<&'a PodRow> {
        match self {
            PodRows::Kept(t) => t.shown_at(i),
            PodRows::Built(v) => v.get(i).copied(),
        }
    }

    /// Rows `first..first + n`.
    pub fn window(&self, first: usize, n: usize) -> impl Iterator<Item = (usize, &'a PodRow)> + '_ {
        (first..(first + n).min(self.len())).filter_map(|i| self.get(i).map(|p| (i, p)))
    }
}

impl PodTable {
    /// The rows shown for `sort`, `descending` and `filter`.
    pub fn rows_for(&self, sort: SortBy, descending: bool, filter: &str) -> PodRows<'_> {
        if self.shows(sort, descending, filter) {
            return PodRows::Kept(self);
        }
        let needle = filter.to_lowercase();
        let mut rows: Vec<(&PodRow, Usage)> = self
            .by_name
            .iter()
            .filter_map(|&s| {
                self.row(s)
                    .map(|r| (r, self.usage[s as usize].unwrap_or_default()))
            })
            .filter(|(p, _)| needle.is_empty() || matches(p, &needle))
            .collect();
        rows.sort_by(|(a, ua), (b, ub)| {
            primary(sort, a, *ua, b, *ub)
                .then_with(|| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)))
        });
        if descending {
            rows.reverse();
        }
        PodRows::Built(rows.into_iter().map(|(r, _)| r).collect())
    }
}

/// The sort's key of two rows (ties broken by the caller).
fn primary(sort: SortBy, a: &PodRow, ua: Usage, b: &PodRow, ub: Usage) -> Ordering {
    match sort {
        SortBy::Name => Ordering::Equal,
        SortBy::Ready => (a.ready, a.containers).cmp(&(b.ready, b.containers)),
        SortBy::Status => a.status.cmp(&b.status),
        SortBy::Restarts => a.restarts.cmp(&b.restarts),
        // Age ascending means youngest first, as k9s sorts it.
        SortBy::Age => std::cmp::Reverse(a.created).cmp(&std::cmp::Reverse(b.created)),
        SortBy::Node => a.node.cmp(&b.node),
        SortBy::Cpu => ua.cpu_milli.cmp(&ub.cpu_milli),
        SortBy::Memory => ua.memory_bytes.cmp(&ub.memory_bytes),
    }
}

/// The `/` filter: a case-insensitive substring of the name, status or node
/// (`needle` lower-cased).
pub fn matches(p: &PodRow, needle: &str) -> bool {
    contains_ci(&p.name, needle) || contains_ci(&p.status, needle) || contains_ci(&p.node, needle)
}

/// Case-insensitive `contains` without allocating for ASCII text (pod and
/// node names are lower-case DNS names: one substring search).
fn contains_ci(hay: &str, needle: &str) -> bool {
    if !needle.is_ascii() {
        return hay.to_lowercase().contains(needle);
    }
    if !hay.bytes().any(|b| b.is_ascii_uppercase()) {
        return hay.contains(needle);
    }
    let n = needle.len();
    n == 0
        || hay
            .as_bytes()
            .windows(n)
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str, status: &str, restarts: u32, created: i64, node: &str) -> PodRow {
        PodRow {
            namespace: ns.into(),
            name: name.into(),
            ready: u32::from(status == "Running"),
            containers: 1,
            status: status.into(),
            restarts,
            created: Some(created),
            node: node.into(),
            owner: "".into(),
            image: "".into(),
        }
    }

    /// What the table must show: every row filtered and fully sorted, the
    /// slow way.
    fn expected(t: &PodTable, sort: SortBy, desc: bool, filter: &str) -> Vec<String> {
        let needle = filter.to_lowercase();
        let mut rows: Vec<&PodRow> = t.values().filter(|p| matches(p, &needle)).collect();
        rows.sort_by(|a, b| {
            let (ua, ub) = (
                t.usage_of(&a.namespace, &a.name).unwrap_or_default(),
                t.usage_of(&b.namespace, &b.name).unwrap_or_default(),
            );
            primary(sort, a, ua, b, ub)
                .then_with(|| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)))
        });
        if desc {
            rows.reverse();
        }
        rows.iter()
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .collect()
    }

    fn shown(t: &PodTable) -> Vec<String> {
        (0..t.shown_len())
            .filter_map(|i| t.shown_at(i))
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .collect()
    }

    /// A small deterministic generator (no dependency for one test).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn kept_orders_equal_a_full_sort_through_random_events() {
        let sorts = [
            SortBy::Name,
            SortBy::Ready,
            SortBy::Status,
            SortBy::Restarts,
            SortBy::Age,
            SortBy::Node,
            SortBy::Cpu,
            SortBy::Memory,
        ];
        let statuses = ["Running", "Pending", "CrashLoopBackOff", "Error"];
        let filters = ["", "a", "ab", "run", "node-1", "CRASH", "zz"];
        let mut g = Lcg(7);
        let mut t = PodTable::default();
        t.apply(Change::Relist);
        let page: Vec<PodRow> = (0..300)
            .map(|i| {
                pod(
                    &format!("ns-{}", i % 7),
                    &format!("pod-{:x}", g.next(100_000)),
                    statuses[i % 4],
                    (i % 5) as u32,
                    1000 + (i % 50) as i64,
                    &format!("node-{}", i % 13),
                )
            })
            .collect();
        t.apply(Change::Page {
            rows: page,
            loaded: 300,
            total: Some(300),
        });
        t.apply(Change::Listed);
        for step in 0..3000 {
            let sort = sorts[g.next(8) as usize];
            let desc = g.next(2) == 1;
            let filter = filters[g.next(filters.len() as u64) as usize];
            if step % 50 == 0 {
                t.show(sort, desc, filter);
            }
            match g.next(10) {
                0..=5 => {
                    let i = g.next(400) as usize;
                    t.upsert(pod(
                        &format!("ns-{}", i % 7),
                        &format!("pod-{:x}", g.next(100_000)),
                        statuses[g.next(4) as usize],
                        g.next(6) as u32,
                        1000 + g.next(60) as i64,
                        &format!("node-{}", g.next(13)),
                    ));
                }
                6..=7 => {
                    // Change an existing row.
                    let n = g.next(t.len().max(1) as u64) as usize;
                    let picked = t.values().nth(n).cloned();
                    if let Some(mut p) = picked {
                        p.status = statuses[g.next(4) as usize].into();
                        p.restarts += 1;
                        t.upsert(p);
                    }
                }
                8 => {
                    let n = g.next(t.len().max(1) as u64) as usize;
                    let picked = t.values().nth(n).cloned();
                    if let Some(p) = picked {
                        let (ns, name) = (p.namespace.to_string(), p.name.to_string());
                        t.delete(&ns, &name);
                    }
                }
                _ => {
                    let page: Vec<(String, String, Usage)> = t
                        .values()
                        .map(|p| {
                            (
                                p.namespace.to_string(),
                                p.name.to_string(),
                                Usage {
                                    cpu_milli: g.next(50),
                                    memory_bytes: g.next(50),
                                },
                            )
                        })
                        .collect();
                    let half = page.len() / 2;
                    let mut page = page;
                    let rest = page.split_off(half);
                    t.join_usage(page, true, false);
                    t.join_usage(rest, false, true);
                }
            }
            let (s, d, f) = (t.sort, t.descending, t.filter.clone());
            assert_eq!(
                shown(&t),
                expected(&t, s, d, &f),
                "step {step}: {s:?} {d} {f:?}"
            );
            let ready = t.values().filter(|p| p.is_ready()).count();
            assert_eq!(t.ready(), ready);
            assert_eq!(t.values().count(), t.len());
        }
    }

    #[test]
    fn a_relist_drops_rows_that_did_not_come_back_and_counts_its_progress() {
        let mut t = PodTable::default();
        t.apply(Change::Relist);
        assert_eq!(t.loading(), Some((0, None)));
        let rows = |names: &[&str]| {
            names
                .iter()
                .map(|n| pod("a", n, "Running", 0, 1, "n"))
                .collect()
        };
        t.apply(Change::Page {
            rows: rows(&["x", "y", "z"]),
            loaded: 3,
            total: Some(5),
        });
        assert_eq!(t.loading(), Some((3, Some(5))));
        assert_eq!(t.shown_len(), 3, "rows show before the list ends");
        assert!(t.apply(Change::Listed));
        assert_eq!(t.loading(), None);
        t.apply(Change::Relist);
        assert_eq!(t.loading(), None, "a relist keeps the rows it has");
        t.apply(Change::Upsert {
            row: pod("a", "y", "Running", 0, 1, "n"),
        });
        t.apply(Change::Listed);
        assert_eq!(shown(&t), vec!["a/y"]);
        assert_eq!(t.ready(), 1);
    }

    #[test]
    fn a_row_twice_in_one_page_is_one_row() {
        let mut t = PodTable::default();
        t.show(SortBy::Status, false, "a");
        let mut rows: Vec<PodRow> = (0..40)
            .map(|i| pod("a", &format!("p{i}"), "Running", 0, 1, "n"))
            .collect();
        rows.push(pod("a", "p3", "Error", 0, 1, "n"));
        t.apply(Change::Page {
            rows,
            loaded: 41,
            total: None,
        });
        assert_eq!(t.len(), 40);
        assert_eq!(shown(&t), expected(&t, SortBy::Status, false, "a"));
        assert_eq!(t.ready(), 39);
        assert_eq!(t.get("a", "p3").map(|p| &*p.status), Some("Error"));
    }

    #[test]
    fn metrics_join_by_key_and_swap_at_the_end_of_a_pass() {
        let mut t = PodTable::default();
        t.upsert(pod("a", "x", "Running", 0, 1, "n"));
        t.upsert(pod("a", "y", "Running", 0, 1, "n"));
        t.show(SortBy::Cpu, false, "");
        let u = |c| Usage {
            cpu_milli: c,
            memory_bytes: 0,
        };
        t.join_usage(vec![("a".into(), "x".into(), u(900))], true, false);
        assert!(!t.has_metrics(), "a pass is not shown half done");
        t.join_usage(
            vec![
                ("a".into(), "y".into(), u(5)),
                ("gone".into(), "z".into(), u(1)),
            ],
            false,
            true,
        );
        assert_eq!(t.usage_of("a", "x"), Some(u(900)));
        assert_eq!(shown(&t), vec!["a/y", "a/x"]);
        // A pod the next pass does not mention has no usage any more.
        t.join_usage(vec![("a".into(), "y".into(), u(7))], true, true);
        assert_eq!(t.usage_of("a", "x"), None);
        // A pass that fails half way leaves nothing for the next one.
        t.join_usage(vec![("a".into(), "x".into(), u(50))], true, false);
        t.join_usage(vec![("a".into(), "y".into(), u(8))], true, true);
        assert_eq!(t.usage_of("a", "x"), None);
        assert_eq!(t.usage_of("a", "y"), Some(u(8)));
    }

    #[test]
    fn filter_is_case_insensitive_on_name_status_and_node() {
        let p = pod("a", "web-1", "CrashLoopBackOff", 0, 1, "ip-10-0-1-7");
        assert!(matches(&p, "crash"));
        assert!(matches(&p, "web"));
        assert!(matches(&p, "10-0-1"));
        assert!(!matches(&p, "running"));
        assert!(matches(&pod("a", "Ä-pod", "Running", 0, 1, ""), "ä"));
    }
}
