//! The in-app editor: a ratatui-textarea with live YAML and schema checks, undo and
//! redo, autosaved drafts, and saves that never overwrite a file changed on disk.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::app::files::Opened;
use tierui_core::workspace::check::{self, Kind};
use tierui_core::workspace::fields::{Diags, Severity};
use tierui_core::workspace::model::Workspace;

#[derive(Debug, Clone)]
pub struct EditorView {
    /// Path relative to the workspace root.
    pub rel: PathBuf,
    /// The file as last read from (or written to) disk.
    pub opened: Opened,
    pub area: TextArea<'static>,
    pub kind: Kind,
    pub diags: Diags,
    /// Unix ms of the last change not yet in a draft (None: draft is current).
    pub unsaved_since: Option<u64>,
    /// The file's own line endings, kept on save.
    pub endings: Endings,
}

/// How a file ends its lines: LF or CRLF, and whether the last line has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endings {
    pub crlf: bool,
    pub final_newline: bool,
}

impl Endings {
    /// The style of `text`; an empty file gets LF and a final newline once typed in.
    pub fn of(text: &str) -> Endings {
        Endings {
            crlf: text.contains("\r\n"),
            final_newline: text.is_empty() || text.ends_with('\n'),
        }
    }

    /// The editor's lines of `text` (no line-ending characters).
    pub fn split(text: &str) -> Vec<String> {
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
            .collect();
        if text.ends_with('\n') {
            lines.pop();
        }
        lines
    }

    /// The file's text of the editor's lines, in this style.
    pub fn join(&self, lines: &[String]) -> String {
        let nl = if self.crlf { "\r\n" } else { "\n" };
        let mut t = lines.join(nl);
        if self.final_newline && !(lines.len() == 1 && lines[0].is_empty()) {
            t.push_str(nl);
        }
        t
    }
}

/// What a key did to the editor.
#[derive(Debug, PartialEq, Eq)]
pub enum EditorKey {
    Save,
    Close,
    Diff,
    External,
    Help,
    /// The text changed.
    Edited,
    Nothing,
}

impl EditorView {
    pub fn new(rel: PathBuf, opened: Opened, text: &str, ws: &Workspace) -> EditorView {
        // The file's style, even when the text is a draft of it.
        let endings = Endings::of(&opened.text);
        let mut area = TextArea::new(Endings::split(text));
        area.set_max_histories(500);
        let kind = check::kind_in(ws, &rel, text);
        let mut v = EditorView {
            rel,
            opened,
            area,
            kind,
            diags: Vec::new(),
            unsaved_since: None,
            endings,
        };
        v.revalidate(ws);
        v
    }

    pub fn text(&self) -> String {
        self.endings.join(self.area.lines())
    }

    pub fn dirty(&self) -> bool {
        self.text() != self.opened.text
    }

    pub fn revalidate(&mut self, ws: &Workspace) {
        self.diags = check::check(ws, &self.rel, &self.text());
        self.diags.sort_by_key(|d| (d.line, d.col));
    }

    pub fn errors(&self) -> usize {
        self.diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Handles a key: editor commands first, everything else edits the text.
    pub fn key(&mut self, ev: KeyEvent, now_ms: u64) -> EditorKey {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match ev.code {
            KeyCode::Char('s') if ctrl => return EditorKey::Save,
            KeyCode::Char('d') if ctrl => return EditorKey::Diff,
            KeyCode::Char('e') if ctrl => return EditorKey::External,
            KeyCode::Char('z') if ctrl => {
                return if self.area.undo() {
                    self.changed(now_ms)
                } else {
                    EditorKey::Nothing
                };
            }
            KeyCode::Esc => return EditorKey::Close,
            KeyCode::F(1) => return EditorKey::Help,
            _ => {}
        }
        let before = self.area.lines().len();
        let modified = self.area.input(ev);
        if modified || self.area.lines().len() != before {
            self.changed(now_ms)
        } else {
            EditorKey::Nothing
        }
    }

    fn changed(&mut self, now_ms: u64) -> EditorKey {
        self.unsaved_since.get_or_insert(now_ms);
        EditorKey::Edited
    }

    /// After a save (or reload) the disk is the truth again.
    pub fn set_opened(&mut self, opened: Opened) {
        self.opened = opened;
        self.unsaved_since = None;
    }

    pub fn replace_text(&mut self, text: &str, ws: &Workspace) {
        let cursor = self.area.cursor();
        let mut fresh = EditorView::new(self.rel.clone(), self.opened.clone(), text, ws);
        fresh.area.move_cursor(ratatui_textarea::CursorMove::Jump(
            cursor.0 as u16,
            cursor.1 as u16,
        ));
        *self = fresh;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        tierui_core::paths::extract_demo(dir.path()).unwrap();
        let ws = tierui_core::workspace::load(dir.path());
        (dir, ws)
    }

    fn typed(v: &mut EditorView, ws: &Workspace, s: &str) {
        for c in s.chars() {
            let code = if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            };
            if v.key(KeyEvent::from(code), 1) == EditorKey::Edited {
                v.revalidate(ws);
            }
        }
    }

    #[test]
    fn a_files_own_line_endings_are_kept() {
        let (_d, ws) = ws();
        for text in [
            "a: 1\nb: 2",
            "a: 1\r\nb: 2\r\n",
            "a: 1\r\nb: 2",
            "a: 1\n",
            "",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("x.yaml");
            std::fs::write(&f, text).unwrap();
            let opened = crate::app::files::open(&f).unwrap();
            let v = EditorView::new("x.yaml".into(), opened, text, &ws);
            assert_eq!(v.text(), text, "{text:?} changed on open");
            assert!(!v.dirty(), "{text:?} counts as changed on open");
        }
        // An edit keeps the style: CRLF stays CRLF, no final newline stays none.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.yaml");
        std::fs::write(&f, "a: 1\r\nb: 2").unwrap();
        let opened = crate::app::files::open(&f).unwrap();
        let mut v = EditorView::new("x.yaml".into(), opened, "a: 1\r\nb: 2", &ws);
        v.area.move_cursor(ratatui_textarea::CursorMove::Bottom);
        v.area.move_cursor(ratatui_textarea::CursorMove::End);
        typed(&mut v, &ws, "3");
        assert_eq!(v.text(), "a: 1\r\nb: 23");
        typed(&mut v, &ws, "\nc: 4");
        assert_eq!(v.text(), "a: 1\r\nb: 23\r\nc: 4");
    }

    #[test]
    fn live_errors_undo_and_dirty() {
        let (_d, ws) = ws();
        let rel = PathBuf::from("k8s/dusk/hpa.yaml");
        let opened = crate::app::files::open(&ws.root.join(&rel)).unwrap();
        let text = opened.text.clone();
        let mut v = EditorView::new(rel, opened, &text, &ws);
        assert_eq!(v.kind, Kind::Manifests);
        assert!(v.diags.is_empty(), "{:?}", v.diags);
        assert!(!v.dirty());
        typed(&mut v, &ws, "x: [\n");
        assert!(v.dirty());
        assert!(v.errors() > 0, "a broken line is an error");
        for _ in 0..10 {
            v.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL), 2);
        }
        v.revalidate(&ws);
        assert_eq!(v.text(), text, "undo brings the file back");
        assert_eq!(v.errors(), 0);
    }

    #[test]
    fn schema_checks_by_kind() {
        let (_d, ws) = ws();
        let rel = PathBuf::from("gitops/pulumi_deploy/Pulumi.production.yaml");
        let opened = crate::app::files::open(&ws.root.join(&rel)).unwrap();
        let text = opened.text.replace(
            "day-service:replicas: \"3\"",
            "day-service:replicas: three\n  day-service:typo: x",
        );
        let v = EditorView::new(rel, opened, &text, &ws);
        assert_eq!(v.kind, Kind::PulumiStack);
        let msgs: Vec<String> = v
            .diags
            .iter()
            .map(|d| format!("{}:{} {}", d.line, d.col, d.message))
            .collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("config day-service:replicas must be an integer")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("unknown Pulumi key \"day-service:typo\"")),
            "{msgs:?}"
        );
    }
}
