//! The navigator: cluster stacks and releases.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::text::cell;
use crate::app::layout::{cluster_offset, release_offset};
use crate::app::state::{Pane, State};
use tierui_core::workspace::fields::Severity;

fn block<'a>(title: String, focused: bool, s: &State) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(s.theme.border(focused))
        .title(Span::styled(title, s.theme.title()))
}

/// Worst problem severity in files under `path`.
fn health(s: &State, path: &std::path::Path) -> Option<Severity> {
    s.ws.problems
        .iter()
        .filter(|p| p.file.starts_with(path))
        .map(|p| p.severity)
        .min()
}

pub fn draw_clusters(f: &mut Frame, area: Rect, s: &State) {
    let t = &s.theme;
    let focused = s.focus == Pane::Clusters;
    let visible = s.visible_clusters();
    let title = format!(" Clusters ({}) ", visible.len());
    let inner_w = usize::from(area.width.saturating_sub(2));
    let rows = area.height.saturating_sub(2);
    let offset = cluster_offset(s, area);
    let longest = visible
        .iter()
        .map(|&i| s.ws.clusters[i].name.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    for (pos, &i) in visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(usize::from(rows))
    {
        let c = &s.ws.clusters[i];
        let (glyph, style, status) = match health(s, c.source_file()) {
            Some(Severity::Error) => ("✗", t.error(), "bad source".to_string()),
            _ => super::cluster_live::status(s, c),
        };
        let region = c.region.as_deref().unwrap_or("—");
        let name_w = (longest + 1).clamp(6, 12);
        let rest = inner_w.saturating_sub(2 + name_w);
        let text = if rest >= 8 + 11 + 10 {
            format!(
                "{}{}{}{}",
                cell(&c.name, name_w),
                cell(c.provisioner(), 8),
                cell(&status, 11),
                cell(region, rest - 19)
            )
        } else {
            format!(
                "{}{}{}",
                cell(&c.name, name_w),
                cell(c.provisioner(), 8),
                cell(&status, rest.saturating_sub(8))
            )
        };
        let selected = pos == s.cluster_cursor;
        let row_style = if selected {
            t.selection(focused)
        } else {
            Style::default()
        };
        lines.push(
            Line::from(vec![
                Span::styled(
                    format!("{glyph} "),
                    if selected { row_style } else { style },
                ),
                Span::styled(text, row_style),
            ])
            .style(row_style),
        );
    }
    if visible.is_empty() {
        lines.push(Line::styled(
            if s.filter.is_empty() {
                "no cluster stacks"
            } else {
                "no match"
            },
            t.muted(),
        ));
    }
    f.render_widget(Paragraph::new(lines).block(block(title, focused, s)), area);
}

/// Release columns that fit a width: (header, width) in display order.
fn release_columns(width: usize) -> Vec<(&'static str, usize)> {
    let mut cols = vec![("SERVICE", 10), ("ENV", 7), ("TAG", 10), ("×", 3)];
    let mut used: usize = cols.iter().map(|c| c.1).sum();
    for extra in [("CLUSTER", 7), ("MGR", 8), ("NAMESPACE", 17)] {
        if used + extra.1 <= width {
            used += extra.1;
            cols.insert(cols.len() - 2, extra);
        }
    }
    // Give what is left to the service name.
    if let Some(first) = cols.first_mut() {
        first.1 += width.saturating_sub(used);
    }
    cols
}

pub fn draw_releases(f: &mut Frame, area: Rect, s: &State) {
    let t = &s.theme;
    let focused = s.focus == Pane::Releases;
    let visible = s.visible_releases();
    let title = format!(" Releases ({}) ", visible.len());
    let inner_w = usize::from(area.width.saturating_sub(2));
    let cols = release_columns(inner_w);
    // Each cell keeps one column of space after it.
    let header: String = cols
        .iter()
        .map(|(h, w)| cell(h, w.saturating_sub(1)) + " ")
        .collect();
    let mut lines = vec![Line::styled(header, t.header())];
    let rows = area.height.saturating_sub(3);
    let offset = release_offset(s, area);
    for (pos, &i) in visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(usize::from(rows))
    {
        let r = &s.ws.releases[i];
        let text: String = cols
            .iter()
            .map(|(h, w)| {
                let v = match *h {
                    "SERVICE" => r.service.clone(),
                    "ENV" => r.environment.clone().unwrap_or_else(|| "—".into()),
                    "TAG" => r.summary.image_tag.clone().unwrap_or_else(|| "—".into()),
                    "×" => r.summary.replicas.map_or("—".into(), |n| n.to_string()),
                    "CLUSTER" => r.cluster.clone().unwrap_or_else(|| "—".into()),
                    "MGR" => r.manager().to_string(),
                    _ => r.namespace.clone(),
                };
                cell(&v, w.saturating_sub(1)) + " "
            })
            .collect();
        let selected = pos == s.release_cursor;
        let style = if selected {
            t.selection(focused)
        } else if health(s, r.source_file()).is_some_and(|sev| sev == Severity::Error) {
            t.error()
        } else {
            Style::default()
        };
        lines.push(Line::styled(text, style));
    }
    if visible.is_empty() {
        lines.push(Line::styled(
            if s.filter.is_empty() {
                "no releases"
            } else {
                "no match"
            },
            t.muted(),
        ));
    }
    f.render_widget(Paragraph::new(lines).block(block(title, focused, s)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_grow_with_width() {
        assert_eq!(release_columns(30).len(), 4);
        assert_eq!(
            release_columns(70).iter().map(|c| c.0).collect::<Vec<_>>(),
            ["SERVICE", "ENV", "CLUSTER", "MGR", "NAMESPACE", "TAG", "×"]
        );
        assert_eq!(release_columns(50).iter().map(|c| c.1).sum::<usize>(), 50);
    }
}
