//! `tierui watch` on the demo in sandbox mode: JSON watch events for the
//! release's pods and HPA, stopping by itself with `--for`; clear errors.

mod common;

use common::Sandbox;
use serde_json::Value;

#[test]
fn watch_prints_pod_and_hpa_changes_then_stops() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    let out = sb
        .command()
        .current_dir(empty.path())
        .args([
            "--speed",
            "20",
            "watch",
            "day-service",
            "--env",
            "production",
        ])
        .args(["--json", "--for", "8s"])
        .output()
        .expect("run tierui");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let added_pods: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e["type"] == "ADDED" && e["object"]["kind"] == "Pod")
        .map(|e| e["object"]["name"].as_str().unwrap())
        .collect();
    assert!(added_pods.len() >= 3, "{stdout}");
    assert!(
        added_pods.iter().all(|p| p.starts_with("day-service-")),
        "only the release's pods: {added_pods:?}"
    );
    assert!(events.iter().all(|e| e["cluster"] == "day"));
    // Pods go through their lifecycle (Pending → … → Running) as MODIFIED events.
    assert!(
        events.iter().any(|e| e["type"] == "MODIFIED"
            && e["object"]["kind"] == "Pod"
            && e["object"]["status"] == "Running"),
        "{stdout}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["object"]["kind"] == "HorizontalPodAutoscaler"
                && e["object"]["metrics"][0]["target"] == "60%"),
        "{stdout}"
    );
    assert!(stderr.contains("pods: live"), "{stderr}");
}

#[test]
fn watch_errors_name_the_problem() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = sb
            .command()
            .current_dir(empty.path())
            .arg("watch")
            .args(args)
            .output()
            .expect("run tierui");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["nosuch"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("no service named nosuch"), "{err}");
    let (code, err) = run(&["day-service"]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("several releases; choose one with --env"),
        "{err}"
    );
    let (code, err) = run(&["day-service", "--env", "production", "--for", "soon"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("bad duration"), "{err}");
    // dawn does not exist in the sandbox until the walkthrough creates it.
    let (code, err) = run(&["dawn-service", "--for", "2s"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("does not exist in the sandbox yet"), "{err}");
}
