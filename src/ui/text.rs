//! Small text helpers for fixed-width cells.

use unicode_width::UnicodeWidthStr as _;

/// Cuts `s` to `width` columns, ending in "…" when it had to cut.
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
