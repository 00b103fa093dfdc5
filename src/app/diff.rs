//! The diff screen's state: the edit, the render and the drift of one release,
//! and the save or apply that waits for the operator.

use std::path::PathBuf;

use crate::app::files::Opened;
use tierui_core::render::diff::{Change, LineTag, Report, line_diff};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    /// The file before and after the edit.
    Edit,
    /// The desired objects before and after the edit.
    Render,
    /// Desired (server-side dry run) against live.
    Drift,
}

impl DiffKind {
    pub fn label(self) -> &'static str {
        match self {
            DiffKind::Edit => "edit",
            DiffKind::Render => "render",
            DiffKind::Drift => "drift",
        }
    }
}

/// A part of the diff that may still be on its way.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending<T> {
    NotAsked,
    Loading,
    Ready(T),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EditDiff {
    pub file: PathBuf,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone)]
pub struct DiffView {
    /// Index of the release in the workspace.
    pub release: usize,
    pub title: String,
    pub edit: Option<EditDiff>,
    pub render: Pending<Report>,
    pub drift: Pending<Report>,
    pub kind: DiffKind,
    /// Selected object of the current report.
    pub cursor: usize,
    pub scroll: u16,
    pub side_by_side: bool,
    /// A quick edit waiting for Ctrl-s: the file as opened and its new text.
    pub pending_save: Option<(Opened, String)>,
    /// Notes from rendering (what could not be rendered natively…).
    pub notes: Vec<String>,
    /// The desired objects the drift report was made from: what `a` applies.
    pub drift_desired: Option<Vec<serde_json::Value>>,
    /// The apply set's members the drift found gone from the manifests.
    pub drift_prune: Vec<serde_json::Value>,
}

/// A line of the shown diff, with where changes start (for `[` and `]`).
pub struct Shown {
    pub lines: Vec<tierui_core::render::diff::DiffLine>,
    /// Indexes of lines that start a run of changes.
    pub change_starts: Vec<usize>,
}

impl DiffView {
    pub fn new(release: usize, title: String, kind: DiffKind) -> DiffView {
        DiffView {
            release,
            title,
            edit: None,
            render: Pending::NotAsked,
            drift: Pending::NotAsked,
            kind,
            cursor: 0,
            scroll: 0,
            side_by_side: false,
            pending_save: None,
            notes: Vec::new(),
            drift_desired: None,
            drift_prune: Vec::new(),
        }
    }

    pub fn report(&self) -> Option<&Report> {
        match (self.kind, &self.render, &self.drift) {
            (DiffKind::Render, Pending::Ready(r), _) | (DiffKind::Drift, _, Pending::Ready(r)) => {
                Some(r)
            }
            _ => None,
        }
    }

    /// The lines of the current view: the file diff, or the selected object's diff.
    pub fn shown(&self) -> Shown {
        let (before, after) = match (self.kind, &self.edit) {
            (DiffKind::Edit, Some(e)) => (e.before.as_str(), e.after.as_str()),
            (DiffKind::Edit, None) => ("", ""),
            _ => match self.report().and_then(|r| r.objects.get(self.cursor)) {
                Some(o) => (o.before.as_str(), o.after.as_str()),
                None => ("", ""),
            },
        };
        let whole = matches!(
            self.report()
                .and_then(|r| r.objects.get(self.cursor))
                .map(|o| &o.change),
            Some(Change::Created | Change::Deleted | Change::Same)
        ) && self.kind != DiffKind::Edit;
        let context = if whole { usize::MAX / 4 } else { 4 };
        let mut lines = Vec::new();
        for (i, hunk) in line_diff(before, after, context).into_iter().enumerate() {
            if i > 0 {
                lines.push(tierui_core::render::diff::DiffLine {
                    tag: LineTag::Same,
                    old: None,
                    new: None,
                    segments: vec![tierui_core::render::diff::Segment {
                        text: "⋯".into(),
                        emphasized: false,
                    }],
                });
            }
            lines.extend(hunk);
        }
        if lines.is_empty() && !after.is_empty() {
            // Nothing changed: show the object itself.
            lines = after
                .lines()
                .enumerate()
                .map(|(i, l)| tierui_core::render::diff::DiffLine {
                    tag: LineTag::Same,
                    old: Some(i + 1),
                    new: Some(i + 1),
                    segments: vec![tierui_core::render::diff::Segment {
                        text: l.to_string(),
                        emphasized: false,
                    }],
                })
                .collect();
        }
        let change_starts = lines
            .iter()
            .enumerate()
            .filter(|(i, l)| {
                l.tag != LineTag::Same && (*i == 0 || lines[i - 1].tag == LineTag::Same)
            })
            .map(|(i, _)| i)
            .collect();
        Shown {
            lines,
            change_starts,
        }
    }

    /// Moves the scroll to the next (`+1`) or previous (`-1`) change.
    pub fn jump(&mut self, dir: i32) {
        let starts = self.shown().change_starts;
        let now = usize::from(self.scroll);
        let target = if dir > 0 {
            starts.iter().find(|s| **s > now).copied()
        } else {
            starts.iter().rev().find(|s| **s < now).copied()
        };
        if let Some(t) = target {
            self.scroll = t.min(u16::MAX as usize) as u16;
        }
    }

    /// Selects the first object that differs (the first one when none does).
    pub fn focus_first_change(&mut self) {
        self.cursor = self
            .report()
            .and_then(|r| r.objects.iter().position(|o| o.change != Change::Same))
            .unwrap_or(0);
        self.scroll = 0;
    }

    pub fn objects_len(&self) -> usize {
        self.report().map_or(0, |r| r.objects.len())
    }
}
