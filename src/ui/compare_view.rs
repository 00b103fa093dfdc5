//! `=`: two environments of a service side by side — config keys (differing
//! first, marked `≠`), then every field of the rendered objects that
//! differs — with the selected row's values whole at the bottom.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::text::{cell, fit};
use crate::app::compare::CompareView;
use crate::app::diff::Pending;
use crate::app::state::State;

pub fn draw(f: &mut Frame, area: Rect, s: &State, v: &CompareView) {
    let t = &s.theme;
    let (l, r) = (&s.ws.releases[v.left], &s.ws.releases[v.right]);
    let env =
        |x: &tierui_core::workspace::Release| x.environment.clone().unwrap_or_else(|| "—".into());
    let (le, re) = (env(l), env(r));
    let [top, bottom] = Layout::vertical([Constraint::Min(6), Constraint::Length(5)]).areas(area);
    let differ = v.config.iter().filter(|c| c.differs).count();
    let fields = match &v.fields {
        Pending::Ready(f) => format!("{} fields differ", f.len()),
        Pending::Failed(_) => "not rendered".into(),
        _ => "rendering…".into(),
    };
    let title = format!(
        " {}: {le} ⇄ {re} · config {differ} of {} differ · objects {fields} ",
        l.service,
        v.config.len()
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(Span::styled(title, t.title()));
    let inner = block.inner(top);
    f.render_widget(block, top);
    let width = usize::from(inner.width);
    // Key/path column, then the two values.
    let first = (width * 2 / 5).max(12);
    let value = width.saturating_sub(first + 2) / 2;
    let row_line = |mark: &str, a: &str, b: &str, c: &str| -> String {
        format!(
            "{mark}{} {} {}",
            cell(a, first.saturating_sub(2)),
            cell(b, value),
            cell(c, value)
        )
    };
    let mut lines: Vec<(Option<usize>, Line)> = Vec::new();
    lines.push((
        None,
        Line::styled(row_line(" ", "CONFIG", &le, &re), t.header()),
    ));
    if v.config.is_empty() {
        lines.push((
            None,
            Line::styled(
                "  no stack config (a kubectl release): compare its objects below",
                t.muted(),
            ),
        ));
    }
    for (i, c) in v.config.iter().enumerate() {
        let mark = if c.differs { "≠" } else { " " };
        let text = row_line(mark, &c.key, &c.left, &c.right);
        let style = if c.differs { t.warn() } else { t.muted() };
        lines.push((Some(i), Line::styled(fit(&text, width), style)));
    }
    lines.push((None, Line::raw("")));
    lines.push((
        None,
        Line::styled(row_line(" ", "OBJECT · FIELD", &le, &re), t.header()),
    ));
    match &v.fields {
        Pending::Ready(rows) if rows.is_empty() => lines.push((
            None,
            Line::styled(
                "  the rendered objects are the same (namespaces aside)",
                t.muted(),
            ),
        )),
        Pending::Ready(rows) => {
            for (j, row) in rows.iter().enumerate() {
                let text = row_line(
                    "≠",
                    &format!("{} · {}", row.object, row.path),
                    &row.left,
                    &row.right,
                );
                lines.push((Some(v.config.len() + j), Line::raw(fit(&text, width))));
            }
        }
        Pending::Failed(e) => lines.push((None, Line::styled(format!("  {e}"), t.error()))),
        _ => lines.push((
            None,
            Line::styled("  rendering both environments…", t.muted()),
        )),
    }
    // Keep the cursor's line in view.
    let height = usize::from(inner.height);
    let at = lines
        .iter()
        .position(|(i, _)| *i == Some(v.cursor))
        .unwrap_or(0);
    let offset = (at + 1).saturating_sub(height);
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(offset)
        .take(height)
        .map(|(i, l)| {
            if i == Some(v.cursor) {
                l.style(t.selection(true))
            } else {
                l
            }
        })
        .collect();
    f.render_widget(Paragraph::new(shown), inner);

    // The selected row whole, and what P would do.
    let (what, a, b) = match v.config.get(v.cursor) {
        Some(c) => (c.key.clone(), c.left.clone(), c.right.clone()),
        None => match &v.fields {
            Pending::Ready(rows) => rows
                .get(v.cursor.saturating_sub(v.config.len()))
                .map(|r| {
                    (
                        format!("{} {}", r.object, r.path),
                        r.left.clone(),
                        r.right.clone(),
                    )
                })
                .unwrap_or_default(),
            _ => Default::default(),
        },
    };
    let detail = vec![
        Line::styled(what, t.header()),
        Line::raw(format!("{le}: {a}")),
        Line::raw(format!("{re}: {b}")),
    ];
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(false))
        .title(Span::styled(
            format!(" P promotes {le}'s value to {re} (an edit, with its diffs) · Tab another environment · Esc back "),
            t.muted(),
        ));
    let inner = block.inner(bottom);
    f.render_widget(block, bottom);
    f.render_widget(Paragraph::new(detail), inner);
}
