//! `?`: the help overlay, generated from the keymap and the command table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::commands::COMMANDS;
use crate::app::state::{Overlay, State};

pub fn lines(s: &State) -> Vec<Line<'static>> {
    let t = &s.theme;
    let mut out = vec![Line::styled("Keys", t.header())];
    for (keys, desc) in s.keymap.help(s.scope()) {
        out.push(Line::from(vec![
            Span::styled(format!("  {keys:<16}"), t.accent()),
            Span::raw(desc),
        ]));
    }
    out.push(Line::default());
    out.push(Line::styled(
        "Commands (type : then Tab to complete)",
        t.header(),
    ));
    for (name, aliases, arg, desc) in COMMANDS {
        let names = std::iter::once(*name)
            .chain(aliases.iter().copied())
            .map(|n| format!(":{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let names = if arg.is_empty() {
            names
        } else {
            format!("{names} {arg}")
        };
        out.push(Line::from(vec![
            Span::styled(format!("  {names:<28}"), t.accent()),
            Span::raw(*desc),
        ]));
    }
    out.push(Line::default());
    out.push(Line::styled(
        "Keys and colours can be changed in the config dir (see the README).",
        t.muted(),
    ));
    out
}

pub fn draw(f: &mut Frame, area: Rect, s: &State) {
    match &s.overlay {
        Some(Overlay::Help { scroll }) => draw_help(f, area, s, *scroll),
        Some(Overlay::Confirm { title, lines, .. })
        | Some(Overlay::Choice { title, lines, .. }) => draw_confirm(f, area, s, title, lines),
        None => {}
    }
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_confirm(f: &mut Frame, area: Rect, s: &State, title: &str, lines: &[String]) {
    let w = area.width.saturating_sub(4).min(72);
    // Wrapped here, so the box is exactly as tall as its text and the last line
    // (the keys that answer) is never cut off.
    let inner = usize::from(w.saturating_sub(2)).max(1);
    let body: Vec<Line> = lines
        .iter()
        .flat_map(|l| {
            // A line that fits keeps its spacing (the ID list is aligned).
            if unicode_width::UnicodeWidthStr::width(l.as_str()) <= inner {
                vec![l.clone()]
            } else {
                super::text::wrap(l, inner)
            }
        })
        .map(Line::raw)
        .collect();
    let rect = centered(area, w, body.len() as u16 + 2);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(s.theme.error())
        .title(Span::styled(format!(" {title} "), s.theme.title()));
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(body).block(block).style(s.theme.base()),
        rect,
    );
}

fn draw_help(f: &mut Frame, area: Rect, s: &State, scroll: u16) {
    let body = lines(s);
    let w = area.width.saturating_sub(4).min(78);
    let h = (body.len() as u16 + 2).min(area.height.saturating_sub(2));
    let rect = centered(area, w, h);
    let max_scroll = (body.len() as u16).saturating_sub(h.saturating_sub(2));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(s.theme.border(true))
        .title(Span::styled(
            " Help — Esc closes, j/k scroll ",
            s.theme.title(),
        ));
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(body)
            .block(block)
            .style(s.theme.base())
            .scroll((scroll.min(max_scroll), 0)),
        rect,
    );
}
