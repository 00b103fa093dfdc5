//! End-to-end: the release workflow in the real binary (tmux, sandbox demo) —
//! bump day-service's image tag in production, see the edit and the objects it
//! changes, save, see the drift, apply, and follow the rollout live.

mod common;

use std::time::Duration;

use common::Sandbox;
use common::tmux::Tmux;

#[test]
fn bump_tag_diff_save_apply_and_watch_the_rollout() {
    let sb = Sandbox::new();
    let t = Tmux::start(&sb.shell_line("--speed 20 demo"), 120, 40);
    t.wait_text("Releases (4)");
    t.send(&["Tab", "j"]);
    t.wait_text("day-service · production");
    // t: the image tag prompt, prefilled with the current tag.
    t.send(&["t"]);
    t.wait_text("Enter shows the diff");
    t.send(&["BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace"]);
    t.send(&["-l", "v1.2.4"]);
    t.send(&["Enter"]);
    // The edit: one line of Pulumi.production.yaml.
    let edit = t.wait_text("image_tag: v1.2.4");
    assert!(edit.contains("image_tag: v1.2.3"), "{edit}");
    // The render: the Deployment's image changes, nothing else.
    t.send(&["2"]);
    let render = t.wait_text("~ day-service/Deployment/day-service");
    assert!(
        render.contains("1 changed")
            && render.contains("image: ghcr.io/example/day-service:v1.2.4"),
        "{render}"
    );
    t.send(&["C-s"]);
    t.wait_text("saved gitops/pulumi_deploy/Pulumi.production.yaml");
    // a: the drift against the cluster first, then a again asks.
    t.send(&["a"]);
    t.wait_text("press a again to apply");
    t.wait_for("the drift", Duration::from_secs(60), |s| {
        s.contains("~ day-service/Deployment/day-service")
            && s.contains("image: ghcr.io/example/day-service:v1.2.4")
            && !s.contains("drift …")
    });
    t.send(&["a"]);
    t.wait_text("Apply");
    t.send(&["y"]);
    // Straight into the rollout.
    t.wait_text("following the rollout");
    let done = t.wait_for("the rollout to finish", Duration::from_secs(120), |s| {
        s.contains("rolled out") && s.contains("day-service:v1.2.4")
    });
    assert!(done.contains("new"), "{done}");
    // Nothing left to apply: the drift is empty now.
    t.send(&["Escape"]);
    t.wait_text("Releases (4)");
    t.send(&["q"]);
    t.wait_text("EXITED:0");
}
