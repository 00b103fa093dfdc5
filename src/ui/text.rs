//! Small text helpers for fixed-width cells.

use unicode_width::UnicodeWidthStr as _;

/// Cuts `s` to `width` columns, ending in "…" when it had to cut.
/// 20000 as `20,000`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn fit(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push('…');
    out
}

/// `fit` then pad with spaces to exactly `width` columns.
pub fn cell(s: &str, width: usize) -> String {
    let t = fit(s, width);
    let pad = width.saturating_sub(t.width());
    format!("{t}{}", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(20_000), "20,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn fitting() {
        assert_eq!(fit("day-service", 20), "day-service");
        assert_eq!(fit("day-service", 5), "day-…");
        assert_eq!(cell("ab", 4), "ab  ");
        assert_eq!(fit("x", 0), "");
    }
}

/// Greedy word wrap to `width` columns (words longer than a line are cut).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let needed = if line.is_empty() {
            word.width()
        } else {
            line.width() + 1 + word.width()
        };
        if needed > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod wrap_tests {
    #[test]
    fn wraps_on_words() {
        assert_eq!(super::wrap("a bb ccc dddd", 8), vec!["a bb ccc", "dddd"]);
        assert_eq!(super::wrap("", 10), vec![""]);
    }
}

/// The columns `[from, from + width)` of a line, styles kept; a line cut on
/// either side shows `…` there, so nothing is hidden without a sign.
pub fn window(
    line: ratatui::text::Line<'static>,
    from: usize,
    width: usize,
) -> ratatui::text::Line<'static> {
    use ratatui::text::Span;
    use unicode_width::UnicodeWidthChar as _;
    let total: usize = line.spans.iter().map(|s| s.content.width()).sum();
    if from == 0 && total <= width {
        return line;
    }
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut col = 0usize;
    let end = from + width;
    for span in &line.spans {
        let mut text = String::new();
        for ch in span.content.chars() {
            let w = ch.width().unwrap_or(0);
            if col >= from && col + w <= end {
                text.push(ch);
            }
            col += w;
        }
        if !text.is_empty() {
            out.push(Span::styled(text, span.style));
        }
    }
    let mut l = ratatui::text::Line::from(out).style(line.style);
    // Mark the cut edges.
    if from > 0 && total > 0 {
        replace_edge(&mut l, true);
    }
    if total > end {
        replace_edge(&mut l, false);
    }
    l
}

/// Puts `…` in place of the first (or last) character of a line.
fn replace_edge(l: &mut ratatui::text::Line<'static>, first: bool) {
    let spans = &mut l.spans;
    let idx = if first {
        spans.iter().position(|s| !s.content.is_empty())
    } else {
        spans.iter().rposition(|s| !s.content.is_empty())
    };
    let Some(i) = idx else { return };
    let text = spans[i].content.to_string();
    let mut chars: Vec<char> = text.chars().collect();
    if first {
        chars[0] = '…';
    } else if let Some(c) = chars.last_mut() {
        *c = '…';
    }
    spans[i].content = chars.into_iter().collect::<String>().into();
}

#[cfg(test)]
mod window_tests {
    use ratatui::text::Line;

    fn text(l: &Line) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn cut_edges_are_marked() {
        let l = Line::from("organization/eks-foundation/day");
        assert_eq!(
            text(&super::window(l.clone(), 0, 40)),
            "organization/eks-foundation/day"
        );
        assert_eq!(text(&super::window(l.clone(), 0, 10)), "organizat…");
        assert_eq!(text(&super::window(l.clone(), 13, 10)), "…ks-found…");
        assert_eq!(text(&super::window(l, 25, 10)), "…n/day");
    }
}
