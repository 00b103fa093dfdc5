//! `tierui logs` on the demo in sandbox mode: every pod of a release, prefixed
//! and merged; JSON; following until the pipe closes; exit 2 with a clear
//! message for an unknown service or a cluster that cannot be reached.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Sandbox;

fn logs(sb: &Sandbox, cwd: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = sb
        .command()
        .current_dir(cwd)
        .args(["--speed", "20", "logs"])
        .args(args)
        .output()
        .expect("run tierui");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_pod_of_a_release_prefixed_and_as_json() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    // A follower serves the sandbox's clusters (a second tierui shares them, as
    // on a real cluster) and sees the release's pods start.
    let mut follower = sb
        .command()
        .current_dir(empty.path())
        .args([
            "--speed",
            "20",
            "logs",
            "day-service",
            "--env",
            "production",
            "-f",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run tierui");
    let mut lines = BufReader::new(follower.stdout.take().unwrap()).lines();
    let mut pods = std::collections::BTreeSet::new();
    while pods.len() < 3 {
        let l = lines.next().expect("a line while following").unwrap();
        pods.insert(l.split(' ').next().unwrap_or_default().to_string());
    }
    assert!(
        pods.iter().all(|p| p.starts_with("day-service-")),
        "{pods:?}"
    );

    let (code, out, err) = logs(&sb, empty.path(), &["day-service", "--env", "production"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let seen: std::collections::BTreeSet<&str> =
        out.lines().filter_map(|l| l.split(' ').next()).collect();
    assert!(seen.len() >= 3, "{out}");
    for l in out.lines() {
        let mut parts = l.splitn(3, ' ');
        let (pod, container) = (parts.next(), parts.next());
        assert!(pod.unwrap().starts_with("day-service-"), "{l}");
        assert_eq!(container, Some("day-service"), "{l}");
    }
    assert!(out.contains("INFO starting day-service"), "{out}");
    // No colour codes into a pipe.
    assert!(!out.contains('\x1b'));

    let (code, out, err) = logs(
        &sb,
        empty.path(),
        &[
            "day-service",
            "--env",
            "production",
            "--json",
            "--tail",
            "2",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(rows.len() >= 6, "{out}");
    for r in &rows {
        assert!(r["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{r}");
        assert!(r["pod"].as_str().unwrap().starts_with("day-service-"));
        assert_eq!(r["container"], "day-service");
        assert!(r["message"].is_string());
    }
    let _ = follower.kill();
    let _ = follower.wait();
}

#[test]
fn following_ends_when_the_pipe_closes() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    let mut child = sb
        .command()
        .current_dir(empty.path())
        .args(["--speed", "20", "logs", "dusk-service", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run tierui");
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    for _ in 0..30 {
        let l = lines.next().expect("a line while following").unwrap();
        assert!(l.starts_with("dusk-service-"), "{l}");
    }
    // Like `| head`: closing the pipe ends tierui quietly.
    drop(lines);
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "tierui logs -f kept running after its pipe closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn unknown_services_and_unreachable_clusters_exit_2() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = logs(&sb, empty.path(), &["nosuch"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no service named nosuch"), "{err}");
    // dawn does not exist in the sandbox until the walkthrough creates it.
    let (code, _, err) = logs(&sb, empty.path(), &["dawn-service"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("dawn"), "{err}");
    let (code, _, err) = logs(&sb, empty.path(), &["dusk-service", "--since", "soon"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("bad duration"), "{err}");
}
