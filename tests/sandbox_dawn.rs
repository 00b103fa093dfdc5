//! The sandbox end to end without the UI: the walkthrough creates dawn (and its
//! load balancer controller's service account in dawn's simulated cluster),
//! dawn-service is diffed, applied and watched there, and teardown removes the
//! service account again.

mod common;

use common::Sandbox;

fn run(sb: &Sandbox, cwd: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = sb
        .command()
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("run tierui");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// dawn's simulated cluster as saved between processes.
fn dawn_state(sb: &Sandbox) -> String {
    let mut stack = vec![sb.state()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.ends_with("clusters/dawn.json") {
                return std::fs::read_to_string(p).expect("read state");
            }
        }
    }
    String::new()
}

#[test]
fn walkthrough_then_deploy_watch_and_teardown_dawn() {
    let sb = Sandbox::new();
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path();

    // Before the walkthrough dawn does not exist.
    let (code, _, err) = run(&sb, dir, &["diff", "dawn-service"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not exist in the sandbox yet"), "{err}");

    let (code, out, err) = run(
        &sb,
        dir,
        &["--speed", "300", "walk", "dawn", "--yes", "--json"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let sa_done = out
        .lines()
        .any(|l| l.contains("\"event\":\"done\"") && l.contains("kubernetes:CreateServiceAccount"));
    assert!(
        sa_done,
        "the service account is created, not left manual:\n{out}"
    );
    let state = dawn_state(&sb);
    assert!(
        state.contains("aws-load-balancer-controller")
            && state.contains("arn:aws:iam::123456789012:role/tierui-dawn-alb-controller"),
        "the service account with its IRSA role is in dawn's cluster"
    );

    // A new cluster starts empty: everything of dawn-service is to be created.
    let (code, out, err) = run(&sb, dir, &["diff", "dawn-service"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("+++ desired/dawn-service/Deployment/dawn-service"),
        "{out}"
    );
    let (code, out, err) = run(&sb, dir, &["apply", "dawn-service", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("dawn-service/Deployment/dawn-service serverside-applied"),
        "{out}"
    );
    let (code, out, err) = run(&sb, dir, &["diff", "dawn-service"]);
    assert_eq!(code, 0, "no drift right after apply:\n{out}\n{err}");
    let (code, out, err) = run(
        &sb,
        dir,
        &[
            "--speed",
            "20",
            "watch",
            "dawn-service",
            "--json",
            "--for",
            "5s",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("\"kind\":\"Pod\"") && l.contains("\"name\":\"dawn-service-")),
        "dawn-service pods run on dawn:\n{out}"
    );

    let (code, out, err) = run(
        &sb,
        dir,
        &[
            "--speed",
            "300",
            "walk",
            "dawn",
            "--teardown",
            "--yes",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        !dawn_state(&sb).contains("tierui-dawn-alb-controller"),
        "teardown deletes the service account"
    );
}
