//! Drawing: pure functions of the state. No I/O here.

pub mod bottom;
pub mod detail;
pub mod help;
pub mod layout;
pub mod navigator;
pub mod problems;
pub mod statusbar;
pub mod text;

#[cfg(test)]
pub mod tests;

use ratatui::Frame;
use ratatui::widgets::Block;

use crate::app::state::State;

pub fn draw(f: &mut Frame, s: &State) {
    let area = f.area();
    f.render_widget(Block::default().style(s.theme.base()), area);
    let l = layout::home(area, s);
    statusbar::draw(f, l.status, s);
    navigator::draw_clusters(f, l.clusters, s);
    navigator::draw_releases(f, l.releases, s);
    detail::draw(f, l.detail, s);
    if let Some(p) = l.problems {
        problems::draw(f, p, s);
    }
    bottom::draw(f, l.bottom, s);
    if s.overlay.is_some() {
        help::draw(f, area, s);
    }
}
