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
