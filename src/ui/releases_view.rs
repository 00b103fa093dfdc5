//! `:releases`: every release as a row — cluster, env, manager, tag, sync,
//! health, ready/desired, HPA, last change — like `argocd app list`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::text::cell;
use crate::app::releases::{ReleasesView, Row, SortBy, rows};
use crate::app::state::State;

/// Columns: header, the row's value, the widest it may grow, whether it may shrink.
type Column = (&'static str, fn(&Row) -> &str, usize);

const COLUMNS: &[Column] = &[
    ("SERVICE", |r| &r.service, 24),
    ("ENV", |r| &r.env, 12),
    ("CLUSTER", |r| &r.cluster, 10),
    ("MGR", |r| &r.manager, 7),
    ("TAG", |r| &r.tag, 12),
    ("SYNC", |r| &r.sync, 12),
    ("HEALTH", |r| &r.health, 11),
    ("READY", |r| &r.ready, 6),
    ("HPA", |r| &r.hpa, 16),
    ("LAST CHANGE", |r| &r.change, 28),
];

/// Width per column from its content (bounded), dropping the right-most
/// columns that do not fit and giving the rest to the last one kept.
fn widths(rows: &[Row], width: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut used = 0;
    for (h, get, max) in COLUMNS {
        let w = rows
            .iter()
            .map(|r| unicode_width::UnicodeWidthStr::width(get(r)))
            .chain(std::iter::once(h.len()))
            .max()
            .unwrap_or(0)
            .min(*max)
            + 1;
        if used + w > width {
            break;
        }
        used += w;
        out.push(w);
    }
    if let Some(last) = out.last_mut() {
        *last += width.saturating_sub(used);
    }
    out
}

fn sort_mark(v: &ReleasesView, header: &str) -> &'static str {
    let on = matches!(
        (v.sort, header),
        (SortBy::Name, "SERVICE")
            | (SortBy::Cluster, "CLUSTER")
            | (SortBy::Sync, "SYNC")
            | (SortBy::Health, "HEALTH")
            | (SortBy::Change, "LAST CHANGE")
    );
    match (on, v.descending) {
        (false, _) => "",
        (true, false) => "↑",
        (true, true) => "↓",
    }
}

pub fn draw(f: &mut Frame, area: Rect, s: &State, v: &ReleasesView) {
    let t = &s.theme;
    let rows = rows(s, v);
    let inner_w = usize::from(area.width.saturating_sub(2));
    let ws = widths(&rows, inner_w);
    let header: String = COLUMNS
        .iter()
        .zip(&ws)
        .map(|((h, _, _), w)| cell(&format!("{h}{}", sort_mark(v, h)), w - 1) + " ")
        .collect();
    let mut lines = vec![Line::styled(header, t.header())];
    let height = usize::from(area.height.saturating_sub(3));
    let offset = v.cursor.saturating_sub(height.saturating_sub(1));
    for (pos, r) in rows.iter().enumerate().skip(offset).take(height) {
        let sh = s.shown(r.index);
        let selected = pos == v.cursor;
        let spans: Vec<Span> = COLUMNS
            .iter()
            .zip(&ws)
            .map(|((h, get, _), w)| {
                let text = cell(get(r), w - 1) + " ";
                let style = match (*h, selected) {
                    (_, true) => Style::default(),
                    ("SYNC", _) => sh
                        .sync
                        .as_ref()
                        .map_or(t.muted(), |x| super::navigator::sync_style(t, x)),
                    ("HEALTH", _) => sh
                        .health
                        .as_ref()
                        .map_or(t.muted(), |x| super::navigator::health_style(t, x)),
                    _ => Style::default(),
                };
                Span::styled(text, style)
            })
            .collect();
        let line = Line::from(spans);
        lines.push(if selected {
            line.style(t.selection(true))
        } else {
            line
        });
    }
    if rows.is_empty() {
        lines.push(Line::styled(
            if s.filter.is_empty() {
                "no releases"
            } else {
                "no match (Esc clears the filter)"
            },
            t.muted(),
        ));
    }
    let title = format!(
        " Releases ({}) · N service  C cluster  S sync  H health  A last change · Enter go to · Esc back ",
        rows.len()
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border(true))
        .title(Span::styled(super::text::fit(&title, inner_w), t.title()));
    f.render_widget(Paragraph::new(lines).block(block), area);
}
