//! End-to-end in tmux: a release that crash-loops (its new image exits a few
//! seconds after it starts — set by kubectl, not by tierui), its crashing pod's
//! logs two keys from the live view (Enter, then `p` for the previous
//! container) with the crash's last line; then `u` rolls the Deployment back
//! to the revision that worked and the pods recover.

mod common;

use std::time::Duration;

use common::tmux::Tmux;
use common::{Sandbox, kubectl};

#[test]
fn a_crash_looping_pods_last_error_two_keys_away_then_rollback() {
    let sb = Sandbox::new();
    let t = Tmux::start(&sb.shell_line("--speed 20 demo"), 140, 40);
    t.wait_text("Releases (4)");
    // The UI serves the demo's clusters; kubectl reaches dusk through the
    // address it publishes.
    // The UI serves the demo's clusters; kubectl reaches dusk through the
    // address it publishes.
    t.wait_for("dusk's endpoint", Duration::from_secs(30), |_| {
        sb.kubeconfig_for("dusk").is_some()
    });
    let kc = sb.kubeconfig_for("dusk").unwrap();
    let ns = ["-n", "dusk-service"];
    kubectl(
        &kc,
        &[
            ns[0],
            ns[1],
            "rollout",
            "status",
            "deployment/dusk-service",
            "--timeout=60s",
        ],
    );
    // The release candidate crashes on start (the demo's scenario says so).
    kubectl(
        &kc,
        &[
            ns[0],
            ns[1],
            "set",
            "image",
            "deployment/dusk-service",
            "dusk-service=ghcr.io/example/dusk-service:v2.6.0-rc.1",
        ],
    );

    // Home → dusk-service → its live view, crash-looping pods first.
    t.send(&["Tab", "j", "j", "j"]);
    t.wait_text("dusk-service");
    t.send(&["l"]);
    t.wait_for("a crash loop", Duration::from_secs(60), |s| {
        s.contains("CrashLoopBackOff")
    });
    t.send(&["R"]);
    t.wait_for("restarts sorted first", Duration::from_secs(30), |s| {
        s.lines()
            .find(|l| l.contains("dusk-service-"))
            .is_some_and(|l| l.contains("CrashLoopBackOff") || l.contains("Error"))
    });
    // Two keys: Enter (its logs), p (the previous container).
    t.send(&["Enter"]);
    t.wait_text("Logs · pod dusk-service/");
    t.send(&["p"]);
    let shown = t.wait_for(
        "the previous container's crash",
        Duration::from_secs(30),
        |s| {
            s.contains("previous container") && s.contains("FATAL dusk-service exiting with code 1")
        },
    );
    assert!(
        shown.contains("ERROR connection to db:5432 refused"),
        "{shown}"
    );

    // Back to the live view; u on the Deployment rolls back to what worked.
    t.send(&["Escape"]);
    t.wait_text("Pods (");
    t.send(&["2"]);
    t.wait_text("Deployments (1)");
    t.send(&["u"]);
    t.wait_text("back to which revision?");
    let list = t.screen();
    // Newest first: a is the running (crashing) revision, b the one before.
    assert!(
        list.contains("revision 2 · ghcr.io/example/dusk-service:v2.6.0-rc.1"),
        "{list}"
    );
    assert!(
        list.contains("b  revision 1 · ghcr.io/example/dusk-service:v2.4.1"),
        "{list}"
    );
    t.send(&["b"]);
    let ask = t.wait_text("back to revision 1?");
    assert!(
        ask.contains("image: ghcr.io/example/dusk-service:v2.4.1"),
        "{ask}"
    );
    assert!(
        ask.contains("image: ghcr.io/example/dusk-service:v2.6.0-rc.1"),
        "{ask}"
    );
    t.send(&["y"]);
    t.wait_text("rolled back to revision 1");
    // The manifests on disk still say v2.4.1 (kubectl changed the cluster, not
    // them), so nothing is offered; the rollout is followed until done.
    kubectl(
        &kc,
        &[
            ns[0],
            ns[1],
            "rollout",
            "status",
            "deployment/dusk-service",
            "--timeout=90s",
        ],
    );
    let images = kubectl(
        &kc,
        &[
            ns[0],
            ns[1],
            "get",
            "deployment/dusk-service",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(images, "ghcr.io/example/dusk-service:v2.4.1");
    t.wait_for("no crash loop", Duration::from_secs(90), |s| {
        !s.contains("CrashLoopBackOff")
    });
    t.send(&["Escape"]);
    t.wait_text("Releases (4)");
    t.send(&["q"]);
    t.wait_text("EXITED:0");
}
