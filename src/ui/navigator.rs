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
fn health_of_files(s: &State, path: &std::path::Path) -> Option<Severity> {
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
        let (glyph, style, status) = match health_of_files(s, c.source_file()) {
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

/// Release columns that fit a width: (header, width) in display order. The
/// service, environment and tag columns are as wide as their longest value
/// (within bounds); sync and health come before the optional columns.
fn release_columns(width: usize, want: [usize; 3]) -> Vec<(&'static str, usize)> {
    let [svc, env, tag] = want;
    let mut cols = vec![
        ("SERVICE", svc.clamp(8, 12) + 1),
        ("ENV", env.clamp(4, 10) + 1),
        ("SYNC", 4),
        ("♥", 2),
    ];
    let mut used: usize = cols.iter().map(|c| c.1).sum();
    for extra in [
        ("TAG", tag.clamp(4, 10) + 1),
        ("×", 3),
        ("CLUSTER", 7),
        ("MGR", 8),
        ("NAMESPACE", 17),
    ] {
        if used + extra.1 <= width {
            used += extra.1;
            cols.push(extra);
        }
    }
    // Room to spare: the states get their words too (`~1 OutOfSync`).
    if width >= used + 21 {
        used += 21;
        for c in cols.iter_mut() {
            match c.0 {
                "SYNC" => c.1 = 13,
                "♥" => c.1 = 14,
                _ => {}
            }
        }
    }
    // Give what is left to the service name, or take what is missing from it.
    if let Some(first) = cols.first_mut() {
        if used <= width {
            first.1 += width - used;
        } else {
            first.1 = first.1.saturating_sub(used - width).max(4);
        }
    }
    cols
}

fn widest<'a>(values: impl Iterator<Item = &'a str>) -> usize {
    values
        .map(unicode_width::UnicodeWidthStr::width)
        .max()
        .unwrap_or(0)
}

pub fn draw_releases(f: &mut Frame, area: Rect, s: &State) {
    let t = &s.theme;
    let focused = s.focus == Pane::Releases;
    let visible = s.visible_releases();
    let title = format!(" Releases ({}) ", visible.len());
    let inner_w = usize::from(area.width.saturating_sub(2));
    let rs = &s.ws.releases;
    let cols = release_columns(
        inner_w,
        [
            widest(visible.iter().map(|&i| rs[i].service.as_str())),
            widest(
                visible
                    .iter()
                    .map(|&i| rs[i].environment.as_deref().unwrap_or("—")),
            ),
            widest(
                visible
                    .iter()
                    .map(|&i| rs[i].summary.image_tag.as_deref().unwrap_or("—")),
            ),
        ],
    );
    // Each cell keeps one column of space after it.
    let header: String = cols
        .iter()
        .map(|(h, w)| {
            let h = match (*h, *w) {
                ("SYNC", 0..5) => "S",
                ("♥", 6..) => "HEALTH",
                (h, _) => h,
            };
            cell(h, w.saturating_sub(1)) + " "
        })
        .collect();
    let mut lines = vec![Line::styled(header, t.header())];
    let rows = area.height.saturating_sub(3);
    let offset = release_offset(s, area);
    let wide = cols.iter().any(|c| c.0 == "SYNC" && c.1 > 5);
    for (pos, &i) in visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(usize::from(rows))
    {
        let r = &s.ws.releases[i];
        let shown = s.shown(i);
        let (mut sync, mut health) = crate::app::monitor::glyphs(&shown);
        if wide {
            sync = format!("{sync} {}", shown.sync.as_ref().map_or("", |x| x.word()));
            health = format!(
                "{health} {}",
                shown.health.as_ref().map_or("", |x| x.word())
            );
        }
        let selected = pos == s.release_cursor;
        let style = if selected {
            t.selection(focused)
        } else if health_of_files(s, r.source_file()).is_some_and(|sev| sev == Severity::Error) {
            t.error()
        } else {
            Style::default()
        };
        let spans: Vec<Span> = cols
            .iter()
            .map(|(h, w)| {
                let v = match *h {
                    "SERVICE" => r.service.clone(),
                    "ENV" => r.environment.clone().unwrap_or_else(|| "—".into()),
                    "SYNC" => sync.clone(),
                    "♥" => health.clone(),
                    "TAG" => r.summary.image_tag.clone().unwrap_or_else(|| "—".into()),
                    "×" => r.summary.replicas.map_or("—".into(), |n| n.to_string()),
                    "CLUSTER" => r.cluster.clone().unwrap_or_else(|| "—".into()),
                    "MGR" => r.manager().to_string(),
                    _ => r.namespace.clone(),
                };
                let text = cell(&v, w.saturating_sub(1)) + " ";
                let colour = match *h {
                    "SYNC" => shown.sync.as_ref().map(|x| sync_style(t, x)),
                    "♥" => shown.health.as_ref().map(|x| health_style(t, x)),
                    _ => None,
                };
                match colour {
                    Some(c) if !selected => Span::styled(text, c),
                    _ => Span::raw(text),
                }
            })
            .collect();
        lines.push(Line::from(spans).style(style));
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

/// Colours of the sync states: in sync green, out of sync yellow, the rest muted.
pub fn sync_style(t: &crate::app::theme::Theme, x: &tierui_backends::release_state::Sync) -> Style {
    use tierui_backends::release_state::Sync;
    match x {
        Sync::InSync => t.ok(),
        Sync::OutOfSync { .. } => t.warn(),
        Sync::Missing | Sync::Unknown { .. } => t.muted(),
    }
}

/// Colours of the health states: healthy green, progressing blue, degraded red.
pub fn health_style(
    t: &crate::app::theme::Theme,
    x: &tierui_backends::release_state::Health,
) -> Style {
    use tierui_backends::release_state::Health;
    match x {
        Health::Healthy => t.ok(),
        Health::Progressing { .. } => t.info(),
        Health::Degraded { .. } => t.error(),
        Health::Missing | Health::Unknown { .. } => t.muted(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_grow_with_width() {
        let want = [12, 10, 6];
        assert_eq!(release_columns(30, want).len(), 4);
        assert_eq!(
            release_columns(80, want)
                .iter()
                .map(|c| c.0)
                .collect::<Vec<_>>(),
            [
                "SERVICE",
                "ENV",
                "SYNC",
                "♥",
                "TAG",
                "×",
                "CLUSTER",
                "MGR",
                "NAMESPACE"
            ]
        );
        // Wide: the states in words.
        let wide = release_columns(120, want);
        assert_eq!(wide.iter().find(|c| c.0 == "SYNC").map(|c| c.1), Some(13));
        for w in [26, 30, 50, 80, 120] {
            assert_eq!(
                release_columns(w, want).iter().map(|c| c.1).sum::<usize>(),
                w
            );
        }
        // Narrow content makes narrow columns.
        assert_eq!(release_columns(60, [4, 4, 4])[1].1, 5);
    }
}
