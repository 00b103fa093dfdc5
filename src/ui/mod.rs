//! Drawing: pure functions of the state. No I/O here.

pub mod bottom;
pub mod cluster_helm;
pub mod cluster_live;
pub mod compare_view;
pub mod detail;
pub mod diff_view;
pub mod editor_view;
pub mod help;
pub mod live_view;
pub mod logs_view;
pub mod navigator;
pub mod problems;
pub mod releases_view;
pub mod statusbar;
pub mod text;
pub mod walkthrough_view;

#[cfg(test)]
mod compare_tests;
#[cfg(test)]
mod helm_tests;
#[cfg(test)]
mod kinds_tests;
#[cfg(test)]
mod logs_tests;
#[cfg(test)]
mod states_tests;
#[cfg(test)]
pub mod tests;

use ratatui::Frame;
use ratatui::widgets::Block;

use ratatui::layout::Rect;

use crate::app::layout;

use crate::app::state::{Drawn, Screen, State};

/// Draws the whole screen and says what scrolling needs to know of it.
pub fn draw(f: &mut Frame, s: &State) -> Drawn {
    let area = f.area();
    f.render_widget(Block::default().style(s.theme.base()), area);
    let l = layout::home(area, s);
    statusbar::draw(f, l.status, s);
    // Full-width screens use everything between the status bar and the bottom line.
    let body = Rect::new(
        area.x,
        l.status.bottom(),
        area.width,
        l.bottom.y.saturating_sub(l.status.bottom()),
    );
    let mut drawn = Drawn::default();
    match &s.screen {
        Screen::Home => {
            navigator::draw_clusters(f, l.clusters, s);
            navigator::draw_releases(f, l.releases, s);
            drawn.detail_lines = detail::draw(f, l.detail, s);
            if let Some(p) = l.problems {
                problems::draw(f, p, s);
            }
        }
        Screen::Editor(e) => {
            editor_view::draw(f, body, s, e);
        }
        Screen::Diff(d) => {
            diff_view::draw(f, body, s, d);
        }
        Screen::Walk(w) => {
            walkthrough_view::draw(f, body, s, w);
        }
        Screen::Live(v) => {
            live_view::draw(f, body, s, v);
        }
        Screen::Releases(v) => {
            releases_view::draw(f, body, s, v);
        }
        Screen::Logs(v) => {
            logs_view::draw(f, body, s, v);
        }
        Screen::Compare(v) => {
            compare_view::draw(f, body, s, v);
        }
    }
    bottom::draw(f, l.bottom, s);
    help::draw(f, area, s);
    drawn
}
