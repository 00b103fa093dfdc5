//! End-to-end in tmux: `=` on day-service's dev environment shows it beside
//! production (config, then the rendered objects field by field), `P` on the
//! image tag promotes dev's tag into production as an edit with its diffs,
//! and Ctrl-s saves it to Pulumi.production.yaml.

mod common;

use common::Sandbox;
use common::tmux::Tmux;

#[test]
fn environments_side_by_side_and_a_promotion_saved() {
    let sb = Sandbox::new();
    let t = Tmux::start(&sb.shell_line("--speed 20 demo"), 140, 44);
    t.wait_text("Releases (4)");
    t.send(&["Tab"]);
    t.wait_text("day-service · dev");
    t.send(&["="]);
    t.wait_text("day-service: dev ⇄ production");
    let screen = t.wait_text("objects 8 fields differ");
    assert!(
        screen.lines().any(|l| l.contains("day-service:image_tag")
            && l.contains("v1.3.0-rc.1")
            && l.contains("v1.2.3")),
        "{screen}"
    );
    assert!(
        screen.contains("Deployment/day-service · spec.replicas"),
        "{screen}"
    );
    // The first row is the image tag: P promotes dev's value to production.
    t.send(&["P"]);
    let diff = t.wait_text("(promoted)");
    assert!(
        diff.contains("day-service:image_tag → v1.3.0-rc.1"),
        "{diff}"
    );
    t.send(&["C-s"]);
    t.wait_text("saved gitops/pulumi_deploy/Pulumi.production.yaml");
    let file = sb
        .state()
        .join("demo/foundation/gitops/pulumi_deploy/Pulumi.production.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("day-service:image_tag: v1.3.0-rc.1"),
        "{text}"
    );
    // The secret stayed as it was.
    assert!(text.contains("secure: AAAB"), "{text}");
    // q leaves the diff: the comparison, read again, has the tags equal now.
    t.send(&["q"]);
    let again = t.wait_for(
        "the comparison with the promoted tag",
        std::time::Duration::from_secs(30),
        |s| {
            s.contains("config 6 of 9 differ")
                && s.contains("objects 7 fields differ")
                && s.lines().any(|l| {
                    l.contains("day-service:image_tag") && l.matches("v1.3.0-rc.1").count() == 2
                })
        },
    );
    assert!(!again.contains("rendering"), "{again}");
    // q backs out of the comparison, then quits.
    t.send(&["q"]);
    t.wait_text("Releases (4)");
    t.send(&["q"]);
    t.wait_text("EXITED:0");
}
