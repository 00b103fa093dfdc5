//! End-to-end: the sandbox walkthrough of dawn, run to the end and torn down from
//! the UI of the real binary in tmux.

mod common;

use std::time::Duration;

use common::Sandbox;
use common::tmux::Tmux;

#[test]
fn sandbox_walkthrough_to_the_end_and_teardown() {
    let sb = Sandbox::new();
    let line = sb.shell_line("demo --speed 300");
    let t = Tmux::start(&line, 120, 40);
    t.wait_text("Clusters (3)");
    t.send(&["j", "j", "w"]);
    t.wait_text("Walkthrough · dawn (eu-west-1)");
    t.wait_text("○ A Network");
    t.send(&["R"]);
    // Waiting with an ETA shows while the control plane is created.
    t.wait_for("the last step done", Duration::from_secs(90), |s| {
        s.contains("✓ H Load balancer controller")
    });
    let screen = t.wait_text("✓ A Network");
    for step in [
        "B IAM roles",
        "C Control plane",
        "D OIDC provider",
        "E Addons",
        "F Managed node groups",
        "G kubeconfig",
    ] {
        assert!(
            screen.contains(&format!("✓ {step}")),
            "{step} not done:\n{screen}"
        );
    }
    t.send(&["T"]);
    t.wait_text("Tear down dawn?");
    t.send(&["y"]);
    t.wait_for("teardown to finish", Duration::from_secs(90), |s| {
        s.contains("teardown complete")
    });
    t.wait_text("○ A Network");
    // Separate sends: ESC followed at once by q reads as Alt-q.
    t.send(&["Escape"]);
    t.wait_text("Clusters (3)");
    t.send(&["q"]);

    t.wait_text("EXITED:0");
}
