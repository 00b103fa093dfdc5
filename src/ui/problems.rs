//! The problems panel: every file that failed to parse, with file:line:column.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::layout::problem_offset;
use crate::app::state::{Pane, State};
use tierui_core::workspace::fields::Severity;

pub fn draw(f: &mut Frame, area: Rect, s: &State) {
    let t = &s.theme;
    let focused = s.focus == Pane::Problems;
    let errors =
        s.ws.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
    let title = format!(
        " Problems ({}{}) ",
        s.ws.problems.len(),
        if errors > 0 {
            format!(", {errors} errors")
        } else {
            String::new()
        }
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(s.theme.border(focused))
        .title(Span::styled(title, t.title()));
    let start = usize::from(problem_offset(s, area));
    let inner_w = usize::from(area.width.saturating_sub(2));
    let lines: Vec<Line> =
        s.ws.problems
            .iter()
            .enumerate()
            .skip(start)
            .take(usize::from(area.height.saturating_sub(2)))
            .map(|(i, p)| {
                let (tag, style) = match p.severity {
                    Severity::Error => ("error ", t.error()),
                    Severity::Warning => ("warn  ", t.warn()),
                    Severity::Unsupported => ("note  ", t.muted()),
                };
                // Cut with a mark; the selected one is shown whole in the detail pane.
                let line = super::text::window(
                    Line::from(vec![
                        Span::styled(tag, style),
                        Span::styled(p.location(), t.accent()),
                        Span::raw(format!(" {}", p.message)),
                    ]),
                    0,
                    inner_w,
                );
                if focused && i == s.problem_cursor {
                    line.style(t.selection(true))
                } else {
                    line.style(Style::default())
                }
            })
            .collect();
    f.render_widget(Paragraph::new(lines).block(block), area);
}
