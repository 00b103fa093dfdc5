//! Bottom line: the command line, the filter input, or the last message.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::commands;
use crate::app::keymap::Action;
use crate::app::state::{Input, Level, State};

pub fn draw(f: &mut Frame, area: Rect, s: &State) {
    let t = &s.theme;
    let line = match &s.input {
        Some(Input::Command { text, .. }) => {
            let word = text.split_whitespace().next().unwrap_or("");
            let cands = if text.contains(' ') {
                Vec::new()
            } else {
                commands::candidates(word)
            };
            let hint = if cands.is_empty() || text.is_empty() && cands.len() > 4 {
                String::new()
            } else {
                format!("   {}", cands.join(" "))
            };
            f.set_cursor_position(Position::new(
                area.x + 1 + text.chars().count() as u16,
                area.y,
            ));
            Line::from(vec![
                Span::styled(":", t.accent()),
                Span::raw(text.clone()),
                Span::styled(hint, t.muted()),
            ])
        }
        Some(Input::Prompt {
            release,
            field,
            text,
        }) => {
            let title =
                s.ws.releases
                    .get(*release)
                    .map(|r| r.title())
                    .unwrap_or_default();
            let label = format!("{} of {title}: ", field.label());
            f.set_cursor_position(Position::new(
                area.x + (label.chars().count() + text.chars().count()) as u16,
                area.y,
            ));
            Line::from(vec![
                Span::styled(label, t.accent()),
                Span::raw(text.clone()),
                Span::styled("   Enter shows the diff · Esc cancels", t.muted()),
            ])
        }
        Some(Input::LogPrompt { what, text }) => {
            let (label, hint) = match what {
                crate::app::state::LogAsk::Save => (
                    "save the lines to (a new file in the current folder): ",
                    "   Enter saves · Esc cancels",
                ),
                crate::app::state::LogAsk::Tail => (
                    "last lines of each container (a number, or all): ",
                    "   Enter reads again · Esc cancels",
                ),
            };
            f.set_cursor_position(Position::new(
                area.x + (label.chars().count() + text.chars().count()) as u16,
                area.y,
            ));
            Line::from(vec![
                Span::styled(label, t.accent()),
                Span::raw(text.clone()),
                Span::styled(hint, t.muted()),
            ])
        }
        Some(Input::Filter { text }) => {
            f.set_cursor_position(Position::new(
                area.x + 1 + text.chars().count() as u16,
                area.y,
            ));
            Line::from(vec![
                Span::styled("/", t.accent()),
                Span::raw(text.clone()),
                Span::styled("   Enter keeps · Esc clears", t.muted()),
            ])
        }
        None => match &s.message {
            Some((level, msg)) => {
                let style = match level {
                    Level::Info => t.info(),
                    Level::Warn => t.warn(),
                    Level::Error => t.error(),
                };
                Line::styled(msg.clone(), style)
            }
            None if !s.filter.is_empty() => Line::from(vec![
                Span::styled(format!("filter: {}", s.filter), t.accent()),
                Span::styled("   Esc clears", t.muted()),
            ]),
            None if matches!(s.screen, crate::app::state::Screen::Editor(_)) => Line::styled(
                "editing · Ctrl-s save · Ctrl-d diff · Ctrl-u/Ctrl-r undo/redo · Ctrl-e $EDITOR · Esc close",
                t.muted(),
            ),
            None if matches!(s.screen, crate::app::state::Screen::Diff(_)) => Line::styled(
                "j/k object · PgUp/PgDn scroll · the footer lists the diff's keys",
                t.muted(),
            ),
            None if matches!(s.screen, crate::app::state::Screen::Live(_)) => Line::styled(
                format!(
                    "{} move · 1-4 pods/deploy/hpa/events · {} command (:pods :deploy :ns :ctx, any kind: :sts :pvc :cronjobs…) · {} help",
                    s.keymap.hint(Action::Down),
                    s.keymap.hint(Action::Command),
                    s.keymap.hint(Action::Help),
                ),
                t.muted(),
            ),
            None if matches!(s.screen, crate::app::state::Screen::Logs(_)) => Line::styled(
                format!(
                    "{}/{} scroll (pauses) · {} follow · 0-5 since all/1m/5m/15m/30m/1h · {} help",
                    s.keymap.hint(Action::Down),
                    s.keymap.hint(Action::Up),
                    s.keymap.hint(Action::Bottom),
                    s.keymap.hint(Action::Help),
                ),
                t.muted(),
            ),
            None if s.walk().is_some() => Line::styled(
                format!(
                    "{} step · {} detail · {} retry · {} help · {} back (pauses after the current call; w resumes)",
                    s.keymap.hint(Action::Down),
                    s.keymap.hint(Action::NextPane),
                    s.keymap.hint(Action::Retry),
                    s.keymap.hint(Action::Help),
                    s.keymap.hint(Action::Back)
                ),
                t.muted(),
            ),
            None => Line::styled(
                format!(
                    "{} move · {} pane · {} open · {} filter · {} command · {} help · {} quit",
                    s.keymap.hint(Action::Down),
                    s.keymap.hint(Action::NextPane),
                    s.keymap.hint(Action::Open),
                    s.keymap.hint(Action::Filter),
                    s.keymap.hint(Action::Command),
                    s.keymap.hint(Action::Help),
                    s.keymap.hint(Action::Quit)
                ),
                t.muted(),
            ),
        },
    };
    f.render_widget(Paragraph::new(line), area);
}
