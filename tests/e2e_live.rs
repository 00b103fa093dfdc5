//! End-to-end: the real binary in tmux, sandbox mode, watching day-service
//! production live while its simulated traffic swells and the HPA adds pods.

mod common;

use std::time::Duration;

use common::Sandbox;
use common::tmux::Tmux;

/// The pod count in the live view's title, `Pods (N, …`.
fn pods(screen: &str) -> Option<usize> {
    let at = screen.find("Pods (")? + "Pods (".len();
    screen[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn live_view_sees_the_hpa_add_pods() {
    let sb = Sandbox::new();
    // 20 simulated seconds per second: day's swell (400m → 850m between 60 s
    // and 240 s) takes its HPA from 3 pods towards 6 within seconds.
    let t = Tmux::start(&sb.shell_line("--speed 20 demo"), 120, 40);
    t.wait_text("Releases (4)");
    t.send(&["Tab", "j"]);
    t.wait_text("day-service · production");
    t.send(&["l"]);
    let first = t.wait_for("the first pod list", Duration::from_secs(60), |s| {
        s.contains("day live") && pods(s).is_some_and(|n| n >= 3)
    });
    let before = pods(&first).unwrap_or_default();
    let after = t.wait_for("more pods", Duration::from_secs(90), |s| {
        pods(s).is_some_and(|n| n > before)
    });
    assert!(after.contains("HorizontalPodAutoscaler"), "{after}");
    // `3` shows the HPA table with its replica change.
    t.send(&["3"]);
    t.wait_text("HorizontalPodAutoscalers (1)");
    t.send(&["Escape"]);
    t.wait_text("Releases (4)");
    t.send(&["q"]);
    t.wait_text("EXITED:0");
}
