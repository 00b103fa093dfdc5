//! End-to-end in tmux: objects of other kinds shipped by kubectl (a CronJob,
//! a claim, a StatefulSet, a TargetGroupBinding after its CRD) shown live in
//! the real binary with `:KIND` as k9s does — the server's columns, Enter on
//! a CronJob for its Jobs, short names, Tab completion of a custom kind from
//! discovery, `y` for a custom resource, and an unknown kind's error.

mod common;

use std::path::Path;
use std::time::Duration;

use common::tmux::Tmux;
use common::{Sandbox, kubectl};

#[test]
fn any_kind_live_in_the_tui_like_k9s() {
    let sb = Sandbox::new();
    let t = Tmux::start(&sb.shell_line("--speed 20 demo"), 140, 40);
    t.wait_text("Releases (4)");
    // The UI serves the demo's clusters; kubectl reaches dusk through the
    // address it publishes.
    t.wait_for("dusk's endpoint", Duration::from_secs(30), |_| {
        sb.kubeconfig_for("dusk").is_some()
    });
    let kc = sb.kubeconfig_for("dusk").unwrap();
    // Another team ships these with kubectl: the ALB controller's CRD, then a
    // CronJob, a claim, a TargetGroupBinding… and a StatefulSet.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    kubectl(
        &kc,
        &[
            "apply",
            "--server-side",
            "-f",
            root.join("fixtures/crds/elbv2.k8s.aws_targetgroupbindings.yaml")
                .to_str()
                .unwrap(),
        ],
    );
    kubectl(
        &kc,
        &[
            "apply",
            "--server-side",
            "-f",
            root.join("fixtures/app-kinds").to_str().unwrap(),
        ],
    );
    let sts = sb.dir.path().join("sts.yaml");
    std::fs::write(&sts, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: cache, namespace: dusk-service}\nspec:\n  serviceName: cache\n  replicas: 2\n  selector: {matchLabels: {app: cache}}\n  template:\n    metadata: {labels: {app: cache}}\n    spec:\n      containers: [{name: cache, image: 'redis:7.4'}]\n").unwrap();
    kubectl(
        &kc,
        &["apply", "--server-side", "-f", sts.to_str().unwrap()],
    );

    // The dusk release selected, :cronjobs shows the server's columns, live.
    t.send(&["Tab", "j", "j", "j"]);
    t.wait_text("dusk-service");
    t.send(&[":", "cronjobs", "Enter"]);
    t.wait_text("cronjobs.batch on dusk · namespace dusk-service");
    t.wait_for(
        "the CronJob's row with its last schedule",
        Duration::from_secs(60),
        |s| {
            s.contains("SCHEDULE")
                && s.lines().any(|l| {
                    l.contains("dusk-report")
                        && l.contains("* * * * *")
                        && !l.contains("<none>   <none>")
                })
        },
    );
    // Enter: the Jobs it scheduled; Esc: back.
    t.send(&["Enter"]);
    t.wait_for("its Jobs", Duration::from_secs(30), |s| {
        s.contains("owned by CronJob/dusk-report")
            && s.contains("dusk-report-")
            && s.contains("COMPLETIONS")
    });
    t.send(&["Escape"]);
    t.wait_text("CronJob (1)");
    // Short names, as kubectl and k9s take them.
    t.send(&[":", "sts", "Enter"]);
    t.wait_for("the StatefulSet ready", Duration::from_secs(60), |s| {
        s.lines().any(|l| l.contains("cache") && l.contains("2/2"))
    });
    t.send(&[":", "pvc", "Enter"]);
    t.wait_for("the claim bound", Duration::from_secs(60), |s| {
        s.lines()
            .any(|l| l.contains("dusk-uploads") && l.contains("Bound") && l.contains("gp3"))
    });
    // A custom resource, by its plural (Tab completes it from discovery).
    t.send(&[":", "targetgr", "Tab"]);
    t.wait_text(":targetgroupbindings");
    t.send(&["Enter"]);
    t.wait_for(
        "the binding with the CRD's columns",
        Duration::from_secs(30),
        |s| {
            s.contains("SERVICE-NAME")
                && s.lines()
                    .any(|l| l.contains("dusk-service") && l.contains("ip"))
        },
    );
    // y shows it as YAML, fetched with its own apiVersion.
    t.send(&["y"]);
    t.wait_text("apiVersion: elbv2.k8s.aws/v1beta1");
    t.wait_text("kind: TargetGroupBinding");
    t.send(&["Escape"]);
    t.send(&[":", "nosuchkind", "Enter"]);
    t.wait_text("the server doesn't have a resource type \"nosuchkind\"");
    t.send(&["q"]);
}
