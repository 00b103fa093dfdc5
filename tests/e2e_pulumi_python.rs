//! End-to-end: the release workflow on a Python Pulumi app stack in the real
//! binary (tmux, sandbox, no Pulumi CLI) — quick edit of `image_tag`, the render
//! diff shows the Deployment's image, save, the drift against the cluster,
//! apply, and the rollout to the new tag.

mod common;

use std::time::Duration;

use common::Sandbox;
use common::tmux::Tmux;

#[test]
fn python_stack_quick_edit_render_diff_save_drift_apply_rollout() {
    let sb = Sandbox::new();
    let ws = tempfile::tempdir().unwrap();
    common::pulumi::foundation(ws.path());
    let t = Tmux::start(
        &sb.shell_line(&format!(
            "--workspace '{}' --sandbox --speed 20",
            ws.path().display()
        )),
        120,
        40,
    );
    t.wait_text("Releases (5)");
    t.send(&["Tab", "j"]);
    t.wait_text("day-service · production");
    // The program ran off the UI thread: its objects are in the pane.
    t.wait_text("from the program, run under the Pulumi SDK's mocks");
    t.wait_text("Deployment/day-service");
    t.send(&["t"]);
    t.wait_text("Enter shows the diff");
    t.send(&["BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace"]);
    t.send(&["-l", "v1.2.4"]);
    t.send(&["Enter"]);
    let edit = t.wait_text("image_tag: v1.2.4");
    assert!(edit.contains("image_tag: v1.2.3"), "{edit}");
    // The render: the Deployment's image changes, nothing else.
    t.send(&["2"]);
    let render = t.wait_text("~ day-service/Deployment/day-service");
    assert!(render.contains("1 changed"), "{render}");
    t.wait_text("image: ghcr.io/example/day-service:v1.2.4");
    t.send(&["C-s"]);
    t.wait_text("saved gitops/pulumi_deploy/Pulumi.production.yaml");
    t.send(&["a"]);
    t.wait_text("press a again to apply");
    let drift = t.wait_for("the drift", Duration::from_secs(60), |s| {
        s.contains("~ day-service/Deployment/day-service")
            && s.contains("image: ghcr.io/example/day-service:v1.2.4")
            && !s.contains("drift …")
    });
    // The Secret from a Pulumi secret is compared by presence, not changed.
    assert!(
        drift.contains("= day-service/Secret/day-service-creden"),
        "{drift}"
    );
    t.send(&["a"]);
    t.wait_text("Apply");
    t.send(&["y"]);
    t.wait_text("following the rollout");
    let done = t.wait_for("the rollout to finish", Duration::from_secs(120), |s| {
        s.contains("rolled out") && s.contains("day-service:v1.2.4")
    });
    assert!(done.contains("new"), "{done}");
    t.send(&["Escape"]);
    t.wait_text("Releases (5)");
    t.send(&["q"]);
    t.wait_text("EXITED:0");
}
