//! End-to-end in tmux: a release folder with objects of other kinds (a
//! CronJob, claims, a StatefulSet, a TargetGroupBinding after its CRD)
//! applied by kubectl and shown live in the real binary — under the release's
//! pods, and with `:KIND` as k9s does: the server's columns, Enter on a
//! CronJob for its Jobs and on a StatefulSet for its pods and claims, short
//! names, Tab completion of a custom kind from discovery, `y` for a custom
//! resource, and an unknown kind's error.

mod common;

use std::path::Path;
use std::time::Duration;

use common::tmux::Tmux;
use common::{Sandbox, kubectl};

#[test]
fn any_kind_live_in_the_tui_like_k9s() {
    let sb = Sandbox::new();
    // The demo's dusk release ships the application kinds beside its
    // Deployment (the demo opened by its path is still the demo, whose dusk
    // cluster runs the EBS CSI driver and the ALB controller).
    let ws = sb.state().join("demo").join("foundation");
    tierui_core::paths::extract_demo(&ws).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in std::fs::read_dir(root.join("fixtures/app-kinds")).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&f, ws.join("k8s/dusk").join(f.file_name().unwrap())).unwrap();
        }
    }
    let t = Tmux::start(
        &sb.shell_line(&format!("--workspace '{}' --speed 20", ws.display())),
        140,
        44,
    );
    t.wait_text("Releases (4)");
    // The UI serves the demo's clusters; kubectl reaches dusk through the
    // address it publishes.
    t.wait_for("dusk's endpoint", Duration::from_secs(30), |_| {
        sb.kubeconfig_for("dusk").is_some()
    });
    let kc = sb.kubeconfig_for("dusk").unwrap();
    // The sandbox runs the release as deployed before, all but the
    // TargetGroupBinding, whose CRD the ALB controller's chart installs:
    // kubectl applies both, as the team would after installing the chart.
    for f in [
        root.join("fixtures/crds/elbv2.k8s.aws_targetgroupbindings.yaml"),
        ws.join("k8s/dusk/targetgroupbinding.yaml"),
    ] {
        kubectl(&kc, &["apply", "--server-side", "-f", f.to_str().unwrap()]);
    }

    // The release's live view: its other kinds under its pods, live.
    t.send(&["Tab", "j", "j", "j"]);
    t.wait_text("dusk-service");
    t.send(&["l"]);
    t.wait_for(
        "the release's StatefulSet, CronJob, Job and claims under its pods",
        Duration::from_secs(90),
        |s| {
            s.contains("Other objects of the release")
                && !s.contains("<invalid>")
                && s.lines()
                    .any(|l| l.contains("dusk-cache") && l.contains("2/2"))
                && s.lines()
                    .any(|l| l.contains("dusk-migrate") && l.contains("Complete"))
                && s.lines()
                    .any(|l| l.contains("data-dusk-cache-1") && l.contains("Bound"))
                && s.lines()
                    .any(|l| l.contains("dusk-uploads") && l.contains("Bound"))
                && s.contains("dusk-report")
        },
    );

    // :cronjobs shows the server's columns, live.
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
        s.lines()
            .any(|l| l.contains("dusk-cache") && l.contains("2/2"))
    });
    // Enter: its pods, and the claims its template made (not owned by it).
    t.send(&["Enter"]);
    t.wait_for("its pods and claims", Duration::from_secs(30), |s| {
        s.contains("owned by StatefulSet/dusk-cache")
            && s.contains("dusk-cache-0")
            && s.contains("dusk-cache-1")
            && s.contains("Claims of StatefulSet/dusk-cache (2)")
            && s.lines()
                .any(|l| l.contains("data-dusk-cache-0") && l.contains("gp3"))
    });
    t.send(&["Escape"]);
    t.wait_text("StatefulSet (1)");
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
    // The YAML closed before the next key: an Escape straight followed by
    // `:` reads as Alt-: in a terminal.
    t.wait_for("the YAML closed", std::time::Duration::from_secs(10), |s| {
        !s.contains("apiVersion: elbv2.k8s.aws/v1beta1")
    });
    t.send(&[":", "nosuchkind", "Enter"]);
    t.wait_text("the server doesn't have a resource type \"nosuchkind\"");
    t.send(&["q"]);
}
