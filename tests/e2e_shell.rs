//! End-to-end: the real binary in tmux — open the demo, navigate to a release,
//! open help, quit — and the terminal is restored afterwards.

mod common;

use common::Sandbox;
use common::tmux::Tmux;

#[test]
fn demo_navigate_help_quit_restores_terminal() {
    let sb = Sandbox::new();
    let t = Tmux::start(&sb.shell_line("demo"), 100, 30);
    t.wait_text("Releases (4)");
    assert_eq!(
        t.var("alternate_on"),
        "1",
        "the UI runs on the alternate screen"
    );
    // Releases pane, second release: day-service production.
    t.send(&["Tab", "j"]);
    t.wait_text("day-service · production");
    t.wait_text("ghcr.io/example/day-service:v1.2.3");
    t.send(&["?"]);
    t.wait_text("Help — Esc closes");
    t.send(&["Escape"]);
    t.wait_for("help closed", std::time::Duration::from_secs(10), |s| {
        !s.contains("Help — Esc closes")
    });
    t.send(&["q"]);
    let screen = t.wait_text("EXITED:0");
    assert_eq!(
        t.var("alternate_on"),
        "0",
        "alternate screen left:\n{screen}"
    );
    assert_eq!(t.var("cursor_flag"), "1", "cursor shown again");
    assert_eq!(t.var("mouse_any_flag"), "0", "mouse capture released");
    assert!(
        !screen.contains("Releases (4)"),
        "UI not cleared:\n{screen}"
    );
}

#[test]
fn sigterm_restores_terminal() {
    let sb = Sandbox::new();
    let pidfile = sb.dir.path().join("pid");
    let t = Tmux::start(
        &format!(
            "{} & echo $! > '{}'; wait $!",
            sb.shell_line("demo"),
            pidfile.display()
        ),
        100,
        30,
    );
    t.wait_text("Clusters (3)");
    let pid = std::fs::read_to_string(&pidfile)
        .expect("pid file")
        .trim()
        .to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    t.wait_text("EXITED:");
    assert_eq!(t.var("alternate_on"), "0");
    assert_eq!(t.var("mouse_any_flag"), "0");
}
