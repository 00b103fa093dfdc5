//! End-to-end: every release's sync and health on the home screen of the real
//! binary (tmux, sandbox demo) — a fresh sandbox shows them without a key; an
//! edit to a manifest on disk turns its release out of sync; applying it shows
//! progressing, then healthy; a crash-looping image (the dusk scenario's
//! release candidate) shows degraded with the reason.

mod common;

use std::time::{Duration, Instant};

use common::Sandbox;
use common::tmux::Tmux;

/// The release row of `service` `env` in the navigator (120 columns wide).
fn row<'a>(screen: &'a str, service: &str, env: &str) -> &'a str {
    screen
        .lines()
        .find(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.len() > 3 && cells[0] == format!("│{service}") && cells[1] == env
        })
        .unwrap_or("")
}

/// `a` (the drift), `a` again, `y`; then back to the home screen from the rollout.
fn apply_and_come_back(t: &Tmux) {
    t.send(&["a"]);
    t.wait_text("press a again to apply");
    t.wait_for("the drift", Duration::from_secs(60), |s| {
        !s.contains("drift …")
    });
    t.send(&["a"]);
    t.wait_text("y applies");
    t.send(&["y"]);
    t.wait_text("following the rollout");
    t.send(&["Escape"]);
}

#[test]
fn states_follow_edits_applies_and_failures() {
    let sb = Sandbox::new();
    let t = Tmux::start(&sb.shell_line("--speed 20 demo"), 120, 40);
    // Without a key: every release in sync and healthy; dawn-service missing
    // (its cluster does not exist until the walkthrough creates it).
    let home = t.wait_for("every release's state", Duration::from_secs(60), |s| {
        row(s, "day-service", "dev").contains("✓   ♥")
            && row(s, "day-service", "production").contains("✓   ♥")
            && row(s, "dusk-service", "production").contains("✓   ♥")
            && row(s, "dawn-service", "—").contains("○   ○")
    });
    assert!(home.contains("Releases (4)"), "{home}");

    // An edit made outside tierui: out of sync within a second or two.
    let file = sb.state().join("demo/foundation/k8s/dusk/deployment.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("dusk-service:v2.4.1", "dusk-service:v2.5.0"),
    )
    .unwrap();
    let edited = Instant::now();
    t.wait_for("dusk-service out of sync", Duration::from_secs(20), |s| {
        row(s, "dusk-service", "production").contains("~1")
    });
    let took = edited.elapsed();
    assert!(took < Duration::from_secs(5), "out of sync after {took:?}");
    // Its story: which object, which path.
    t.send(&["Tab", "j", "j", "j"]);
    t.wait_text("dusk-service · production · OutOfSync");
    t.wait_text("Deployment/dusk-service ~spec.template.spec.containers[name=du");

    // Apply: progressing while it rolls out, then in sync and healthy.
    apply_and_come_back(&t);
    t.wait_for("progressing", Duration::from_secs(30), |s| {
        s.contains("dusk-service · production · Synced · Progressing")
    });
    t.wait_for("healthy again", Duration::from_secs(120), |s| {
        s.contains("dusk-service · production · Synced · Healthy")
            && row(s, "dusk-service", "production").contains("✓   ♥")
    });

    // A release candidate that crashes on start: degraded, with the reason.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("dusk-service:v2.5.0", "dusk-service:v2.6.0-rc.1"),
    )
    .unwrap();
    t.wait_for("out of sync again", Duration::from_secs(20), |s| {
        row(s, "dusk-service", "production").contains("~1")
    });
    apply_and_come_back(&t);
    let degraded = t.wait_for("degraded", Duration::from_secs(120), |s| {
        s.contains("Degraded: CrashLoopBackOff")
    });
    assert!(
        row(&degraded, "dusk-service", "production").contains("✗"),
        "{degraded}"
    );
    // The filter finds it by state.
    t.send(&["/"]);
    t.send(&["-l", "health:degraded"]);
    t.send(&["Enter"]);
    let filtered = t.wait_text("Releases (1)");
    assert!(filtered.contains("dusk-service"), "{filtered}");
    // q clears the filter first.
    t.send(&["q"]);
    t.wait_text("Releases (4)");

    // A ConfigMap changed by another client (kubectl, against the simulated
    // cluster's endpoint): the metadata watcher sees a new version and the
    // release's drift is asked again.
    let endpoint =
        common::find_file(&sb.state(), "dusk.endpoint.json").expect("dusk's endpoint file");
    let url: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(endpoint).unwrap()).unwrap();
    let out = std::process::Command::new("kubectl")
        .args([
            "--server",
            url["url"].as_str().unwrap(),
            "-n",
            "dusk-service",
        ])
        .args(["patch", "configmap", "dusk-service", "--type", "merge"])
        .args(["-p", r#"{"data":{"LOG_LEVEL":"debug"}}"#])
        .output()
        .expect("kubectl (the README's test command installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let patched = Instant::now();
    t.wait_for("out of sync after kubectl", Duration::from_secs(20), |s| {
        row(s, "dusk-service", "production").contains("~")
    });
    let took = patched.elapsed();
    assert!(took < Duration::from_secs(5), "out of sync after {took:?}");
    t.send(&["q"]);
    t.wait_text("EXITED:0");
}
