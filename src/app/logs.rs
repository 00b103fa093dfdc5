//! The log view's state: the lines of one pod or of every pod of a release
//! (or Deployment) merged in time order, in a bounded ring buffer. Lines are
//! parsed once, when they arrive (their timestamp split off by the backend);
//! drawing reads only the visible window.

use std::collections::VecDeque;

use tierui_backends::kube::logs::{Line, LogEvent, LogRequest};

/// Lines a log view keeps; older ones are dropped (and counted).
pub const CAP: usize = 20_000;
/// Bytes of line text a log view keeps at most; with long lines this, not
/// [`CAP`], is what drops the oldest.
pub const CAP_BYTES: usize = 16 * 1024 * 1024;

/// Lines per container asked for when a view opens (kubectl --tail).
pub const DEFAULT_TAIL: i64 = 200;

/// `since` choices on the number keys, k9s-style (seconds; None: everything).
pub const SINCE: [(char, Option<i64>, &str); 6] = [
    ('0', None, "all"),
    ('1', Some(60), "1m"),
    ('2', Some(300), "5m"),
    ('3', Some(900), "15m"),
    ('4', Some(1800), "30m"),
    ('5', Some(3600), "1h"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub pod: String,
    pub container: String,
    /// The pod was deleted while the view followed it.
    pub gone: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: i64,
    pub source: u32,
    pub text: String,
    /// A marker between lines (restart, exit, pod gone), not the program's output.
    pub note: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Connecting,
    Following,
    /// Everything asked for is in (not following, or the streams ended).
    Done,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct LogView {
    pub id: u64,
    pub cluster: String,
    /// What the view shows: `pod x`, `deployment y`, `release z`.
    pub title: String,
    pub req: LogRequest,
    pub sources: Vec<Source>,
    pub lines: VecDeque<Entry>,
    /// Lines dropped off the front of the ring.
    pub dropped: u64,
    /// Bytes of text in `lines`.
    pub bytes: usize,
    pub reading: Reading,
    /// Streams that could not be read (the API's message, with pod/container).
    pub problems: Vec<String>,
    /// Paused (or scrolled back): the index of the bottom line shown.
    pub anchor: Option<usize>,
    /// Lines that arrived while paused.
    pub new_lines: usize,
    pub wrap: bool,
    pub timestamps: bool,
    pub search: String,
    /// Index of the match `n`/`N` last moved to.
    pub matched: Option<usize>,
    /// Lines in the buffer matching the search, kept as lines come and go.
    pub hits: usize,
}

impl LogView {
    pub fn new(id: u64, cluster: String, title: String, req: LogRequest) -> LogView {
        LogView {
            id,
            cluster,
            title,
            req,
            sources: Vec::new(),
            lines: VecDeque::new(),
            dropped: 0,
            bytes: 0,
            reading: Reading::Connecting,
            problems: Vec::new(),
            anchor: None,
            new_lines: 0,
            wrap: false,
            timestamps: false,
            search: String::new(),
            matched: None,
            hits: 0,
        }
    }

    /// The same view reading again with other parameters (a new id, so the
    /// old reader's late messages are ignored); display choices are kept.
    pub fn restarted(&self, id: u64, req: LogRequest) -> LogView {
        let mut v = LogView::new(id, self.cluster.clone(), self.title.clone(), req);
        v.wrap = self.wrap;
        v.timestamps = self.timestamps;
        v.search = self.search.clone();
        v
    }

    /// A new search: counts its matches once.
    pub fn set_search(&mut self, text: &str) {
        self.search = text.to_string();
        self.matched = None;
        self.hits = self.lines.iter().filter(|l| matches(text, &l.text)).count();
    }

    pub fn paused(&self) -> bool {
        self.anchor.is_some()
    }

    /// Takes a reader's event.
    pub fn apply(&mut self, ev: LogEvent) {
        match ev {
            LogEvent::Source { id, pod, container } => {
                let i = id as usize;
                if self.sources.len() <= i {
                    self.sources.resize(
                        i + 1,
                        Source {
                            pod: String::new(),
                            container: String::new(),
                            gone: false,
                        },
                    );
                }
                self.sources[i] = Source {
                    pod,
                    container,
                    gone: false,
                };
            }
            LogEvent::Lines(lines) => self.push(lines),
            LogEvent::Note { source, at, text } => {
                if text == "pod deleted"
                    && let Some(s) = self.sources.get_mut(source as usize)
                {
                    s.gone = true;
                }
                self.insert(Entry {
                    at,
                    source,
                    text,
                    note: true,
                });
                self.trim();
            }
            LogEvent::Problem { source, error } => {
                let who = self
                    .sources
                    .get(source as usize)
                    .map(|s| format!("{}/{}: ", s.pod, s.container))
                    .unwrap_or_default();
                self.problems.push(format!("{who}{error}"));
            }
            LogEvent::Listed => self.reading = Reading::Following,
            LogEvent::Done => self.reading = Reading::Done,
        }
    }

    /// A batch of lines, in time order within itself: appended, or merged
    /// where an older line belongs (a pod's history arriving late).
    pub fn push(&mut self, lines: Vec<Line>) {
        let before = self.lines.len();
        for l in lines {
            self.insert(Entry {
                at: l.at,
                source: l.source,
                text: l.text,
                note: false,
            });
        }
        if self.paused() {
            self.new_lines += self.lines.len() - before;
        }
        self.trim();
    }

    fn insert(&mut self, e: Entry) {
        if !e.note && matches(&self.search, &e.text) {
            self.hits += 1;
        }
        self.bytes += e.text.len();
        match self.lines.back() {
            Some(last) if last.at > e.at => {
                let at = self.lines.partition_point(|x| x.at <= e.at);
                self.lines.insert(at, e);
            }
            _ => self.lines.push_back(e),
        }
    }

    fn trim(&mut self) {
        while self.lines.len() > CAP || (self.bytes > CAP_BYTES && self.lines.len() > 1) {
            let Some(e) = self.lines.pop_front() else {
                break;
            };
            self.bytes -= e.text.len();
            if !e.note && matches(&self.search, &e.text) {
                self.hits -= 1;
            }
            self.dropped += 1;
            if let Some(a) = &mut self.anchor {
                *a = a.saturating_sub(1);
            }
            if let Some(m) = &mut self.matched {
                *m = m.saturating_sub(1);
            }
        }
    }

    /// Index of the bottom line on screen.
    pub fn bottom(&self) -> usize {
        self.anchor
            .unwrap_or(self.lines.len().saturating_sub(1))
            .min(self.lines.len().saturating_sub(1))
    }

    /// Scrolls back (pausing) or forward; reaching the end resumes following.
    pub fn scroll(&mut self, by: isize) {
        let last = self.lines.len().saturating_sub(1);
        let b = self.bottom() as isize + by;
        if b >= last as isize {
            self.resume();
        } else {
            self.anchor = Some(b.max(0) as usize);
        }
    }

    pub fn pause(&mut self) {
        if self.anchor.is_none() {
            self.anchor = Some(self.bottom());
            self.new_lines = 0;
        }
    }

    pub fn resume(&mut self) {
        self.anchor = None;
        self.new_lines = 0;
    }

    pub fn toggle_pause(&mut self) {
        if self.paused() {
            self.resume();
        } else {
            self.pause();
        }
    }

    /// Whether a line matches the search (smart case: case-insensitive
    /// unless the search has a capital).
    pub fn matches(&self, text: &str) -> bool {
        matches(&self.search, text)
    }

    /// `n` (forward) / `N`: the next line matching the search, wrapping
    /// around; the view pauses there. False when nothing matches.
    pub fn next_match(&mut self, forward: bool) -> bool {
        if self.search.is_empty() || self.lines.is_empty() {
            return false;
        }
        let n = self.lines.len();
        let from = self.matched.unwrap_or(self.bottom());
        for step in 1..=n {
            let i = if forward {
                (from + step) % n
            } else {
                (from + n - step % n) % n
            };
            if self.matches(&self.lines[i].text) {
                self.matched = Some(i);
                self.anchor = Some(i);
                return true;
            }
        }
        false
    }

    /// The prefix a line carries: pod (and container when there are several).
    pub fn prefix(&self, source: u32) -> Option<String> {
        if self.sources.len() <= 1 {
            return None;
        }
        let s = self.sources.get(source as usize)?;
        let containers: std::collections::BTreeSet<&str> =
            self.sources.iter().map(|s| s.container.as_str()).collect();
        let pods: std::collections::BTreeSet<&str> =
            self.sources.iter().map(|s| s.pod.as_str()).collect();
        Some(match (pods.len() > 1, containers.len() > 1) {
            (true, true) => format!("{} {}", s.pod, s.container),
            (true, false) => s.pod.clone(),
            _ => s.container.clone(),
        })
    }

    /// Everything in the buffer as text, for `s` (save): a line per entry,
    /// with its time and prefix.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(&stamp(l.at));
            out.push(' ');
            if let Some(p) = self.prefix(l.source) {
                out.push_str(&p);
                out.push(' ');
            }
            if l.note {
                out.push_str("── ");
                out.push_str(&l.text);
                out.push_str(" ──");
            } else {
                out.push_str(&l.text);
            }
            out.push('\n');
        }
        out
    }

    /// A file name for `s`: the title's words and the time.
    pub fn default_file_name(&self, now_s: i64) -> String {
        let name: String = self
            .title
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let when = jiff::Timestamp::from_second(now_s)
            .map(|t| t.strftime("%Y%m%d-%H%M%S").to_string())
            .unwrap_or_default();
        format!("{}-{when}.log", name.trim_matches('-'))
    }

    /// What the header says of the parameters (`previous`, since, tail).
    pub fn params(&self) -> String {
        let mut parts = Vec::new();
        if self.req.previous {
            parts.push("previous container".to_string());
        }
        if let Some(c) = &self.req.container {
            parts.push(format!("container {c}"));
        }
        if let Some(s) = self.req.since_seconds {
            let label = SINCE
                .iter()
                .find(|x| x.1 == Some(s))
                .map_or_else(|| format!("{s}s"), |x| x.2.to_string());
            parts.push(format!("since {label}"));
        }
        if let Some(t) = self.req.tail {
            parts.push(format!("last {t} lines each"));
        }
        parts.join(" · ")
    }
}

pub fn matches(search: &str, text: &str) -> bool {
    if search.is_empty() {
        return false;
    }
    if search.chars().any(char::is_uppercase) {
        text.contains(search)
    } else {
        text.to_lowercase().contains(search)
    }
}

/// `11:30:01.123` (UTC) for the timestamps column.
pub fn short_time(at: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(at))
        .map(|t| t.strftime("%H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

fn stamp(at: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(at))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tierui_backends::kube::logs::Target;

    fn view() -> LogView {
        let req = LogRequest {
            namespace: "n".into(),
            target: Target::Selector(None),
            container: None,
            previous: false,
            follow: true,
            since_seconds: None,
            tail: Some(DEFAULT_TAIL),
        };
        let mut v = LogView::new(1, "day".into(), "release web".into(), req);
        for (id, pod) in ["web-a", "web-b"].iter().enumerate() {
            v.apply(LogEvent::Source {
                id: id as u32,
                pod: pod.to_string(),
                container: "app".into(),
            });
        }
        v
    }

    fn line(at: i64, source: u32, text: &str) -> Line {
        Line {
            at,
            source,
            text: text.into(),
        }
    }

    #[test]
    fn batches_merge_in_time_order() {
        let mut v = view();
        v.push(vec![line(10, 0, "a10"), line(30, 0, "a30")]);
        // A pod whose history arrives later slots in between.
        v.push(vec![
            line(5, 1, "b5"),
            line(20, 1, "b20"),
            line(40, 1, "b40"),
        ]);
        let texts: Vec<&str> = v.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["b5", "a10", "b20", "a30", "b40"]);
        assert_eq!(v.prefix(1).as_deref(), Some("web-b"));
    }

    #[test]
    fn the_ring_is_bounded_and_counts_what_it_dropped() {
        let mut v = view();
        let n = CAP + 500;
        v.push((0..n as i64).map(|i| line(i, 0, "x")).collect());
        assert_eq!(v.lines.len(), CAP);
        assert_eq!(v.dropped, 500);
        assert_eq!(v.lines.front().map(|l| l.at), Some(500));
    }

    #[test]
    fn long_lines_bound_the_ring_by_bytes_too() {
        let mut v = view();
        let big = "x".repeat(16 * 1024);
        v.push((0..2_000).map(|i| line(i, 0, &big)).collect());
        assert_eq!(v.lines.len(), CAP_BYTES / big.len());
        assert_eq!(v.bytes, v.lines.iter().map(|l| l.text.len()).sum::<usize>());
        assert!(v.bytes <= CAP_BYTES);
        assert_eq!(v.dropped, 2_000 - v.lines.len() as u64);
    }

    #[test]
    fn pausing_counts_new_lines_and_keeps_the_window() {
        let mut v = view();
        v.push((0..100).map(|i| line(i, 0, "x")).collect());
        v.toggle_pause();
        let b = v.bottom();
        v.push((100..130).map(|i| line(i, 1, "y")).collect());
        assert_eq!((v.new_lines, v.bottom()), (30, b));
        v.scroll(-10);
        assert_eq!(v.bottom(), b - 10);
        v.toggle_pause();
        assert_eq!((v.new_lines, v.bottom(), v.paused()), (0, 129, false));
        // Scrolling back to the end resumes following.
        v.scroll(-5);
        assert!(v.paused());
        v.scroll(50);
        assert!(!v.paused());
    }

    #[test]
    fn search_is_smart_case_and_wraps() {
        let mut v = view();
        v.push(vec![
            line(1, 0, "level=info ok"),
            line(2, 0, "level=error Boom"),
            line(3, 1, "level=info ok"),
            line(4, 1, "level=ERROR boom"),
        ]);
        v.set_search("boom");
        assert_eq!(v.hits, 2);
        assert!(v.next_match(true));
        assert_eq!(v.matched, Some(1));
        assert!(v.next_match(true));
        assert_eq!(v.matched, Some(3));
        assert!(v.next_match(true));
        assert_eq!(v.matched, Some(1));
        assert!(v.next_match(false));
        assert_eq!(v.matched, Some(3));
        v.push(vec![line(5, 0, "boom again")]);
        assert_eq!(v.hits, 3);
        v.set_search("Boom");
        assert_eq!(v.hits, 1);
        v.set_search("nothing");
        assert!(!v.next_match(true));
    }

    #[test]
    fn saved_text_has_time_prefix_and_notes() {
        let mut v = view();
        v.push(vec![line(1_000_000_000, 0, "hello")]);
        v.apply(LogEvent::Note {
            source: 1,
            at: 2_000_000_000,
            text: "pod deleted".into(),
        });
        assert!(v.sources[1].gone);
        assert_eq!(
            v.text(),
            "1970-01-01T00:00:01Z web-a hello\n1970-01-01T00:00:02Z web-b ── pod deleted ──\n"
        );
        assert_eq!(v.default_file_name(0), "release-web-19700101-000000.log");
    }
}
