//! The editor screen: the text with line numbers, and the file's problems live.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::text::fit;
use crate::app::editor::EditorView;
use crate::app::state::State;
use tierui_core::workspace::fields::Severity;

pub fn draw(f: &mut Frame, area: Rect, s: &State, e: &EditorView) {
    let t = &s.theme;
    let shown = e.diags.len().min(6) as u16;
    let [text_area, problems] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(shown.max(1) + 2)]).areas(area);
    let cursor = e.area.cursor();
    let (row, col) = (cursor.0, cursor.1);
    let dirty = if e.dirty() { " ● modified" } else { "" };
    let title = format!(
        " {} · {}{dirty} · {}:{} ",
        e.rel.display(),
        e.kind.label(),
        row + 1,
        col + 1
    );
    let mut area = e.area.clone();
    area.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(t.border(true))
            .title(Span::styled(title, t.title())),
    );
    area.set_line_number_style(t.muted());
    area.set_cursor_line_style(ratatui::style::Style::default().add_modifier(Modifier::UNDERLINED));
    area.set_style(t.base());
    f.render_widget(&area, text_area);

    let errors = e.errors();
    let title = if e.diags.is_empty() {
        " No problems ".to_string()
    } else {
        format!(" {} problem(s), {errors} error(s) ", e.diags.len())
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(if errors > 0 {
            t.error()
        } else {
            t.border(false)
        })
        .title(Span::styled(title, t.title()));
    let inner_w = usize::from(problems.width.saturating_sub(2));
    let lines: Vec<Line> = if e.diags.is_empty() {
        vec![Line::styled(
            "Ctrl-s save · Ctrl-d diff · Ctrl-u/Ctrl-r undo/redo · Ctrl-e $EDITOR · Esc close · F1 help",
            t.muted(),
        )]
    } else {
        e.diags
            .iter()
            .take(6)
            .map(|d| {
                let style = match d.severity {
                    Severity::Error => t.error(),
                    Severity::Warning => t.warn(),
                    Severity::Unsupported => t.muted(),
                };
                Line::from(vec![
                    Span::styled(format!("{}:{} ", d.line, d.col), style),
                    Span::raw(fit(&d.message, inner_w.saturating_sub(8))),
                ])
            })
            .collect()
    };
    f.render_widget(Paragraph::new(lines).block(block), problems);
}
