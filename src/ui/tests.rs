//! Snapshots of whole screens rendered into ratatui's TestBackend.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::keymap::Keymap;
use crate::app::state::{Session, State};
use crate::app::update::{Msg, update};
use crate::theme::Theme;

/// The demo workspace, extracted to a temp dir and loaded.
pub fn demo_state(theme: &str) -> (tempfile::TempDir, State) {
    let dir = tempfile::tempdir().unwrap();
    crate::paths::extract_demo(dir.path()).unwrap();
    let ws = crate::workspace::load(dir.path());
    let session = Session {
        sandbox: true,
        demo: true,
        ..Session::default()
    };
    (
        dir,
        State::new(
            ws,
            session,
            Theme::builtin(theme).unwrap(),
            Keymap::default(),
        ),
    )
}

pub fn render(s: &mut State, w: u16, h: u16) -> Terminal<TestBackend> {
    s.width = w;
    s.height = h;
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| super::draw(f, s)).unwrap();
    t
}

pub fn press(s: &mut State, keys: &str) {
    for ch in keys.chars() {
        let code = match ch {
            '\t' => crossterm::event::KeyCode::Tab,
            '\n' => crossterm::event::KeyCode::Enter,
            '\x1b' => crossterm::event::KeyCode::Esc,
            c => crossterm::event::KeyCode::Char(c),
        };
        update(s, Msg::Key(crossterm::event::KeyEvent::from(code)));
    }
}

#[test]
fn main_screen_every_theme_and_size() {
    for theme in crate::theme::BUILTIN {
        for (w, h) in [(80, 24), (120, 40)] {
            let (_dir, mut s) = demo_state(theme);
            let t = render(&mut s, w, h);
            insta::assert_debug_snapshot!(format!("main_{theme}_{w}x{h}"), t.backend().buffer());
        }
    }
}

#[test]
fn release_detail_and_help_overlay() {
    let (_dir, mut s) = demo_state("default");
    press(&mut s, "\tj");
    insta::assert_snapshot!(
        "release_production_120x40",
        render(&mut s, 120, 40).backend()
    );
    press(&mut s, "?");
    insta::assert_snapshot!("help_overlay_80x24", render(&mut s, 80, 24).backend());
}

#[test]
fn eksctl_cluster_detail_and_filter() {
    let (_dir, mut s) = demo_state("default");
    press(&mut s, "jj");
    insta::assert_snapshot!("dawn_detail_100x30", render(&mut s, 100, 30).backend());
    press(&mut s, "/dusk");
    insta::assert_snapshot!("filter_dusk_80x24", render(&mut s, 80, 24).backend());
}

#[test]
fn tiny_terminal_does_not_panic() {
    let (_dir, mut s) = demo_state("default");
    for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 10), (300, 100)] {
        render(&mut s, w, h);
        press(&mut s, "?");
        render(&mut s, w, h);
        press(&mut s, "\x1b");
    }
}

#[test]
fn no_color_uses_no_colours() {
    let (_dir, mut s) = demo_state("default");
    s.theme.monochrome = true;
    let t = render(&mut s, 80, 24);
    let buf = t.backend().buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset)
    );
}
