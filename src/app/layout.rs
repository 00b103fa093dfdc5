//! Screen geometry, shared by drawing and mouse hit-testing.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::state::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HomeLayout {
    pub status: Rect,
    pub clusters: Rect,
    pub releases: Rect,
    pub detail: Rect,
    pub problems: Option<Rect>,
    pub bottom: Rect,
}

/// Width of the navigator column for a terminal width.
pub fn navigator_width(width: u16) -> u16 {
    match width {
        w if w >= 140 => 52,
        w if w >= 110 => 44,
        w => (w * 2 / 5).clamp(24, 34),
    }
}

pub fn home(area: Rect, s: &State) -> HomeLayout {
    let [status, middle, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let [left, right] = Layout::horizontal([
        Constraint::Length(navigator_width(area.width).min(area.width)),
        Constraint::Min(0),
    ])
    .areas(middle);
    let clusters_h = (s.visible_clusters().len() as u16 + 2)
        .max(3)
        .min(left.height / 2);
    let [clusters, releases] =
        Layout::vertical([Constraint::Length(clusters_h), Constraint::Min(0)]).areas(left);
    let (detail, problems) = if s.problems_visible() {
        let h = (s.ws.problems.len() as u16 + 2).min((right.height / 3).max(3));
        let [d, p] = Layout::vertical([Constraint::Min(0), Constraint::Length(h)]).areas(right);
        (d, Some(p))
    } else {
        (right, None)
    };
    HomeLayout {
        status,
        clusters,
        releases,
        detail,
        problems,
        bottom,
    }
}

/// First visible row of a list so the cursor stays on screen.
pub fn list_offset(cursor: usize, rows: u16) -> usize {
    let rows = usize::from(rows.max(1));
    (cursor + 1).saturating_sub(rows)
}

/// The first cluster row shown in `area` (the list scrolls to keep the cursor in
/// view); mouse clicks map through the same offset.
pub fn cluster_offset(s: &State, area: Rect) -> usize {
    list_offset(s.cluster_cursor, area.height.saturating_sub(2))
}

/// The first release row shown in `area` (below the border and the header).
pub fn release_offset(s: &State, area: Rect) -> usize {
    list_offset(s.release_cursor, area.height.saturating_sub(3))
}

/// First problem shown, so the cursor stays visible.
pub fn problem_offset(s: &State, area: Rect) -> u16 {
    list_offset(s.problem_cursor, area.height.saturating_sub(2)) as u16
}
