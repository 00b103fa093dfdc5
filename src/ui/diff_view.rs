//! The diff screen: objects created / changed / deleted / same on the left, the
//! selected diff on the right (unified or side by side, with word highlights).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::text::{cell, fit};
use crate::app::diff::{DiffKind, DiffView, Pending};
use crate::app::keymap::Action;
use crate::app::state::State;
use crate::app::theme::Theme;
use tierui_core::render::diff::{Change, DiffLine, LineTag};

pub fn draw(f: &mut Frame, area: Rect, s: &State, d: &DiffView) {
    let t = &s.theme;
    let [tabs, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_tabs(f, tabs, s, d);
    let left_w = if body.width >= 110 {
        42
    } else {
        (body.width / 3).max(22)
    };
    let [list, diff] = Layout::horizontal([
        Constraint::Length(left_w.min(body.width)),
        Constraint::Min(0),
    ])
    .areas(body);
    draw_list(f, list, s, d);
    draw_diff(f, diff, s, d);
    let mut spans = Vec::new();
    if d.pending_save.is_some() {
        spans.push(Span::styled(
            format!(" {} save ", s.keymap.hint(Action::Save)),
            t.badge("sandbox"),
        ));
        spans.push(Span::raw(" "));
    }
    for (a, label) in [
        (Action::ShowEdit, "edit"),
        (Action::ShowRender, "render"),
        (Action::ShowDrift, "drift"),
        (Action::SideBySide, "side by side"),
        (Action::PrevChange, "prev"),
        (Action::NextChange, "next change"),
        (Action::Back, "back"),
    ] {
        spans.push(Span::styled(s.keymap.hint(a), t.accent()));
        spans.push(Span::styled(format!(" {label}  "), t.muted()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), footer);
}

fn draw_tabs(f: &mut Frame, area: Rect, s: &State, d: &DiffView) {
    let t = &s.theme;
    let mut spans = vec![
        Span::styled(format!(" {} ", d.title), t.title()),
        Span::raw(" "),
    ];
    for kind in [DiffKind::Edit, DiffKind::Render, DiffKind::Drift] {
        let state = match kind {
            DiffKind::Edit if d.edit.is_none() => " —",
            DiffKind::Render | DiffKind::Drift => match if kind == DiffKind::Render {
                &d.render
            } else {
                &d.drift
            } {
                Pending::Loading => " …",
                Pending::Failed(_) => " !",
                _ => "",
            },
            _ => "",
        };
        let label = format!(" {}{state} ", kind.label());
        spans.push(Span::styled(
            label,
            if kind == d.kind {
                t.selection(true)
            } else {
                t.muted()
            },
        ));
    }
    if d.side_by_side {
        spans.push(Span::styled("  side by side", t.muted()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn change_style(t: &Theme, c: &Change) -> Style {
    match c {
        Change::Created => t.added(),
        Change::Deleted => t.removed(),
        Change::Changed { .. } => t.changed(),
        Change::Same => t.muted(),
    }
}

fn draw_list(f: &mut Frame, area: Rect, s: &State, d: &DiffView) {
    let t = &s.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true));
    let inner_w = usize::from(area.width.saturating_sub(2));
    let mut lines = Vec::new();
    match (d.kind, d.report()) {
        (DiffKind::Edit, _) => {
            let file = d
                .edit
                .as_ref()
                .map_or_else(|| "no edit".to_string(), |e| e.file.display().to_string());
            lines.push(Line::styled(
                fit(&format!("~ {file}"), inner_w),
                t.changed(),
            ));
        }
        (_, Some(r)) => {
            let summary = format!(
                "{} created · {} changed · {} deleted · {} same",
                r.count("created"),
                r.count("changed"),
                r.count("deleted"),
                r.count("same")
            );
            lines.push(Line::styled(fit(&summary, inner_w), t.header()));
            for (i, o) in r.objects.iter().enumerate() {
                let text = format!("{} {}", o.change.glyph(), o.key.display());
                let style = if i == d.cursor {
                    t.selection(true)
                } else {
                    change_style(t, &o.change)
                };
                lines.push(Line::styled(cell(&text, inner_w), style));
                if let (Change::Changed { paths }, true) = (&o.change, i == d.cursor) {
                    for p in paths.iter().take(8) {
                        // Who owns the field now (managedFields), as the apply will meet it.
                        let owner = o
                            .owners
                            .iter()
                            .find(|f| &f.path == p)
                            .map(|f| format!("  ← {}", f.managers.join(", ")))
                            .unwrap_or_default();
                        lines.push(Line::styled(
                            fit(&format!("    {p}{owner}"), inner_w),
                            t.muted(),
                        ));
                    }
                }
            }
        }
        (kind, None) => {
            let state = if kind == DiffKind::Render {
                &d.render
            } else {
                &d.drift
            };
            let text = match state {
                Pending::Loading => "working…".to_string(),
                Pending::Failed(e) => e.clone(),
                Pending::NotAsked => format!(
                    "press {} to ask",
                    s.keymap.hint(if kind == DiffKind::Render {
                        Action::ShowRender
                    } else {
                        Action::ShowDrift
                    })
                ),
                Pending::Ready(_) => String::new(),
            };
            for l in super::text::wrap(&text, inner_w) {
                lines.push(Line::styled(
                    l,
                    if matches!(state, Pending::Failed(_)) {
                        t.error()
                    } else {
                        t.muted()
                    },
                ));
            }
        }
    }
    for n in &d.notes {
        lines.push(Line::default());
        for l in super::text::wrap(&format!("note: {n}"), inner_w) {
            lines.push(Line::styled(l, t.warn()));
        }
    }
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn segments<'a>(t: &Theme, l: &'a DiffLine, width: usize) -> Vec<Span<'a>> {
    let (base, word) = match l.tag {
        LineTag::Same => (t.base(), t.base()),
        LineTag::Removed => (t.removed(), t.word_removed()),
        LineTag::Added => (t.added(), t.word_added()),
    };
    let mut used = 0;
    let mut out = Vec::new();
    for seg in &l.segments {
        if used >= width {
            break;
        }
        let text = fit(&seg.text, width - used);
        used += unicode_width::UnicodeWidthStr::width(text.as_str());
        out.push(Span::styled(text, if seg.emphasized { word } else { base }));
    }
    out
}

/// One half of a side-by-side row, padded to `half` columns.
fn side<'a>(t: &Theme, l: Option<&'a DiffLine>, half: usize) -> Vec<Span<'a>> {
    match l {
        Some(l) => {
            let mut segs = segments(t, l, half);
            let used: usize = segs.iter().map(|s| s.width()).sum();
            segs.push(Span::raw(" ".repeat(half.saturating_sub(used))));
            segs
        }
        None => vec![Span::raw(" ".repeat(half))],
    }
}

fn draw_diff(f: &mut Frame, area: Rect, s: &State, d: &DiffView) {
    let t = &s.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(false));
    let shown = d.shown();
    let rows = usize::from(area.height.saturating_sub(2));
    let start = usize::from(d.scroll).min(shown.lines.len().saturating_sub(1));
    let inner_w = usize::from(area.width.saturating_sub(2));
    let mut out: Vec<Line> = Vec::new();
    if shown.lines.is_empty() {
        out.push(Line::styled("no difference", t.muted()));
    } else if !d.side_by_side {
        for l in shown.lines.iter().skip(start).take(rows) {
            let sign = match l.tag {
                LineTag::Same => ' ',
                LineTag::Removed => '-',
                LineTag::Added => '+',
            };
            let no = l
                .new
                .or(l.old)
                .map_or_else(|| "    ".to_string(), |n| format!("{n:>4}"));
            let mut spans = vec![Span::styled(format!("{no} {sign} "), t.muted())];
            spans.extend(segments(t, l, inner_w.saturating_sub(7)));
            out.push(Line::from(spans));
        }
    } else {
        // Side by side: removed lines left, added right, same on both.
        let half = inner_w.saturating_sub(3) / 2;
        let mut rows_out: Vec<(Option<&DiffLine>, Option<&DiffLine>)> = Vec::new();
        let mut i = 0;
        let lines = &shown.lines;
        while i < lines.len() {
            match lines[i].tag {
                LineTag::Same => {
                    rows_out.push((Some(&lines[i]), Some(&lines[i])));
                    i += 1;
                }
                _ => {
                    let removed: Vec<&DiffLine> = lines[i..]
                        .iter()
                        .take_while(|l| l.tag == LineTag::Removed)
                        .collect();
                    let j = i + removed.len();
                    let added: Vec<&DiffLine> = lines[j..]
                        .iter()
                        .take_while(|l| l.tag == LineTag::Added)
                        .collect();
                    for k in 0..removed.len().max(added.len()) {
                        rows_out.push((removed.get(k).copied(), added.get(k).copied()));
                    }
                    i = j + added.len();
                }
            }
        }
        for (left, right) in rows_out.into_iter().skip(start).take(rows) {
            let mut spans = side(t, left, half);
            spans.push(Span::styled(" │ ", t.muted()));
            spans.extend(side(t, right, half));
            out.push(Line::from(spans));
        }
    }
    f.render_widget(Paragraph::new(out).block(block), area);
}
