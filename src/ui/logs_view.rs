//! The log view: a header (what, how it reads, the buffer's fill), the
//! window of lines ending at the bottom line (only those are turned into
//! spans), and the keys. Each pod/container has its own prefix colour.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr as _;

use super::text::{fit, thousands};
use crate::app::logs::{CAP, Entry, LogView, Reading, short_time};
use crate::app::state::State;
use crate::app::theme::Theme;

/// Theme colours the prefixes cycle through (never the error colour).
const PALETTE: [&str; 6] = ["accent", "info", "ok", "changed", "warn", "added"];

pub fn draw(f: &mut Frame, area: Rect, s: &State, v: &LogView) {
    let problems = v.problems.len().min(3) as u16;
    let [head, probs, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(problems),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let t = &s.theme;
    f.render_widget(Paragraph::new(head_line(t, v)), head);
    let shown: Vec<Line> = v
        .problems
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(|p| Line::styled(fit(&format!(" ✗ {p}"), area.width as usize), t.error()))
        .collect();
    f.render_widget(Paragraph::new(shown), probs);
    f.render_widget(Paragraph::new(body_lines(t, v, body)), body);
    f.render_widget(Paragraph::new(foot_line(s, v)), foot);
}

fn head_line(t: &Theme, v: &LogView) -> Line<'static> {
    let mut spans = vec![
        Span::styled(format!(" Logs · {} ", v.title), t.title()),
        Span::raw(" "),
    ];
    let (state, style) = match &v.reading {
        Reading::Connecting => ("connecting…".to_string(), t.muted()),
        Reading::Following if v.paused() => (
            format!("paused · {} new lines", v.new_lines),
            t.warn().add_modifier(Modifier::BOLD),
        ),
        Reading::Following => ("following".to_string(), t.ok()),
        Reading::Done if v.paused() => ("ended · scrolled back".to_string(), t.muted()),
        Reading::Done => ("ended".to_string(), t.muted()),
        Reading::Failed(e) => (format!("failed: {e}"), t.error()),
    };
    spans.push(Span::styled(state, style));
    let mut fill = format!("  {} lines", thousands(v.lines.len() as u64));
    if v.dropped > 0 {
        fill.push_str(&format!(" ({} dropped", thousands(v.dropped)));
        fill.push_str(&format!(", limit {})", thousands(CAP as u64)));
    } else {
        fill.push_str(&format!(" (limit {})", thousands(CAP as u64)));
    }
    spans.push(Span::styled(fill, t.muted()));
    if !v.search.is_empty() {
        spans.push(Span::styled(
            format!("  /{}: {} matching", v.search, v.hits),
            t.accent(),
        ));
    }
    let params = v.params();
    if !params.is_empty() {
        spans.push(Span::styled(format!("  {params}"), t.muted()));
    }
    Line::from(spans)
}

fn foot_line(s: &State, v: &LogView) -> Line<'static> {
    use crate::app::keymap::Action;
    let t = &s.theme;
    let pause = if v.paused() { "follow" } else { "pause" };
    let keys: [(Action, &str); 10] = [
        (Action::LogPause, pause),
        (Action::LogPrevious, "previous"),
        (Action::LogContainer, "container"),
        (Action::LogTail, "tail"),
        (Action::LogWrap, "wrap"),
        (Action::LogTimestamps, "time"),
        (Action::Filter, "search"),
        (Action::NextMatch, "next"),
        (Action::LogSave, "save"),
        (Action::Back, "back"),
    ];
    let mut spans = Vec::new();
    for (a, label) in keys {
        spans.push(Span::styled(s.keymap.hint(a), t.accent()));
        spans.push(Span::styled(format!(" {label}  "), t.muted()));
    }
    Line::from(spans)
}

/// The lines that fit, ending at the view's bottom line; wrapped lines take
/// several rows. Nothing above the window is looked at.
fn body_lines(t: &Theme, v: &LogView, area: Rect) -> Vec<Line<'static>> {
    let (height, width) = (area.height as usize, (area.width as usize).max(1));
    if height == 0 || v.lines.is_empty() {
        let what = match &v.reading {
            Reading::Connecting => "waiting for the first lines…",
            Reading::Failed(_) => "",
            _ => "no lines (yet) — a since/tail choice may hide older ones",
        };
        return vec![Line::styled(format!(" {what}"), t.muted())];
    }
    let mut rows: Vec<Line<'static>> = Vec::new();
    let mut i = v.bottom() as isize;
    while i >= 0 && rows.len() < height {
        let e = &v.lines[i as usize];
        let selected = v.matched == Some(i as usize);
        let mut line_rows = entry_rows(t, v, e, width, selected);
        // Oldest rows of a wrapped line are cut when the window is full.
        let room = height - rows.len();
        if line_rows.len() > room {
            line_rows.drain(..line_rows.len() - room);
        }
        for r in line_rows.into_iter().rev() {
            rows.push(r);
        }
        i -= 1;
    }
    rows.reverse();
    rows
}

fn source_style(t: &Theme, v: &LogView, source: u32) -> Style {
    let base = Style::default().fg(t.color(PALETTE[source as usize % PALETTE.len()]));
    match v.sources.get(source as usize) {
        Some(s) if s.gone => base.add_modifier(Modifier::DIM | Modifier::CROSSED_OUT),
        _ => base.add_modifier(Modifier::BOLD),
    }
}

/// One entry as rows of the screen: time, prefix, text (highlighted).
fn entry_rows(
    t: &Theme,
    v: &LogView,
    e: &Entry,
    width: usize,
    selected: bool,
) -> Vec<Line<'static>> {
    let mut lead: Vec<Span<'static>> = Vec::new();
    if v.timestamps {
        lead.push(Span::styled(format!("{} ", short_time(e.at)), t.muted()));
    }
    if let Some(p) = v.prefix(e.source) {
        lead.push(Span::styled(format!("{p} "), source_style(t, v, e.source)));
    }
    let lead_w: usize = lead.iter().map(|s| s.content.width()).sum();
    if e.note {
        lead.push(Span::styled(
            format!("── {} ──", e.text),
            t.warn().add_modifier(Modifier::ITALIC),
        ));
        return vec![Line::from(lead)];
    }
    let text_w = width.saturating_sub(lead_w).max(8);
    let chunks: Vec<&str> = if v.wrap {
        chunk(&e.text, text_w)
    } else {
        vec![&e.text]
    };
    let mut out = Vec::with_capacity(chunks.len());
    for (n, c) in chunks.into_iter().enumerate() {
        let mut spans = if n == 0 {
            std::mem::take(&mut lead)
        } else {
            vec![Span::raw(" ".repeat(lead_w))]
        };
        spans.extend(highlighted(t, &v.search, c, selected));
        out.push(Line::from(spans));
    }
    out
}

/// Splits text into pieces of at most `width` columns.
fn chunk(text: &str, width: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut w) = (0, 0);
    for (i, ch) in text.char_indices() {
        let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if w + cw > width && i > start {
            out.push(&text[start..i]);
            start = i;
            w = 0;
        }
        w += cw;
    }
    out.push(&text[start..]);
    out
}

/// The text with the search's matches highlighted (the line `n` moved to
/// more strongly).
fn highlighted(t: &Theme, search: &str, text: &str, selected: bool) -> Vec<Span<'static>> {
    let hit = if selected {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    } else {
        t.accent().add_modifier(Modifier::REVERSED)
    };
    if search.is_empty() {
        return vec![Span::raw(text.to_string())];
    }
    let smart = search.chars().any(char::is_uppercase);
    let (hay, needle) = if smart {
        (text.to_string(), search.to_string())
    } else {
        (text.to_lowercase(), search.to_lowercase())
    };
    // Lower-casing changed byte offsets (rare scripts): mark the whole line.
    if hay.len() != text.len() {
        return if hay.contains(&needle) {
            vec![Span::styled(text.to_string(), hit)]
        } else {
            vec![Span::raw(text.to_string())]
        };
    }
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = hay[at..].find(&needle) {
        let (a, b) = (at + i, at + i + needle.len());
        if a > at {
            out.push(Span::raw(text[at..a].to_string()));
        }
        out.push(Span::styled(text[a..b].to_string(), hit));
        at = b;
    }
    if at < text.len() {
        out.push(Span::raw(text[at..].to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_the_width() {
        assert_eq!(chunk("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(chunk("", 4), vec![""]);
    }

    #[test]
    fn matches_are_highlighted_in_place() {
        let t = Theme::builtin("default").unwrap();
        let spans = highlighted(&t, "err", "an ERROR and an error", false);
        let texts: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(texts, vec!["an ", "ERR", "OR and an ", "err", "or"]);
    }
}
