//! Stock kubectl reading the simulator's container logs: `kubectl logs` with
//! `-f`, `--previous`, `-c`, `--since`, `--tail`, `--timestamps`, `--limit-bytes`
//! and `-l … --prefix`, on the crash-loop scenario (dawn-service crashes on start,
//! dusk-service serves load next to it). Fails (never skips) without kubectl.

#[path = "sim_support.rs"]
mod support;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use support::{SimProcess, wait_until};

fn first_pod(sim: &SimProcess, ns: &str, selector: &str) -> String {
    sim.ok(&[
        "get",
        "pods",
        "-n",
        ns,
        "-l",
        selector,
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ])
}

fn running(sim: &SimProcess) -> usize {
    sim.ok(&["get", "pods", "-n", "dusk-service"])
        .matches("Running")
        .count()
}

#[test]
fn kubectl_logs_reads_what_the_pods_write() {
    let sim = SimProcess::start(&["--scenario", "crash-loop", "--speed", "20"]);
    wait_until("dusk-service pods running", Duration::from_secs(60), || {
        running(&sim) >= 3
    });
    let pod = first_pod(&sim, "dusk-service", "app=dusk-service");
    // Start-up lines, then requests at the load's rate.
    wait_until("request lines", Duration::from_secs(30), || {
        sim.ok(&["logs", "-n", "dusk-service", &pod])
            .lines()
            .filter(|l| l.contains(" /api/") || l.contains("/healthz"))
            .count()
            >= 5
    });
    let all = sim.ok(&["logs", "-n", "dusk-service", &pod]);
    assert!(
        all.starts_with("INFO starting dusk-service (ghcr.io/example/dusk-service:v2.4.1)"),
        "{all}"
    );
    // -c names the container; an unknown one is the kubelet's 400.
    let c = sim.ok(&["logs", "-n", "dusk-service", &pod, "-c", "dusk-service"]);
    assert!(c.starts_with("INFO starting"), "{c}");
    let bad = sim.kubectl(&["logs", "-n", "dusk-service", &pod, "-c", "nope"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("container nope is not valid"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // --tail, --timestamps, --limit-bytes, --since.
    let tail = sim.ok(&["logs", "-n", "dusk-service", &pod, "--tail=5"]);
    assert_eq!(tail.lines().count(), 5, "{tail}");
    let ts = sim.ok(&[
        "logs",
        "-n",
        "dusk-service",
        &pod,
        "--timestamps",
        "--tail=3",
    ]);
    for l in ts.lines() {
        let (stamp, _) = l.split_once(' ').unwrap();
        assert!(stamp.parse::<jiff::Timestamp>().is_ok(), "{l}");
        assert_eq!(stamp.len(), "2026-12-03T10:00:00.123456789Z".len(), "{l}");
    }
    let limited = sim.ok(&["logs", "-n", "dusk-service", &pod, "--limit-bytes=10"]);
    assert_eq!(limited.len(), 10, "{limited:?}");
    // --since=1s: once the pod is older than that, its start-up is left out.
    wait_until(
        "a window without the start-up",
        Duration::from_secs(30),
        || {
            let since = sim.ok(&["logs", "-n", "dusk-service", &pod, "--since=1s"]);
            let all = sim.ok(&["logs", "-n", "dusk-service", &pod]);
            !since.is_empty()
                && !since.contains("INFO starting")
                && since.lines().count() < all.lines().count()
        },
    );
    // A running container has no previous one.
    let prev = sim.kubectl(&["logs", "-n", "dusk-service", &pod, "--previous"]);
    assert!(!prev.status.success());
    assert!(
        String::from_utf8_lossy(&prev.stderr).contains("previous terminated container"),
        "{}",
        String::from_utf8_lossy(&prev.stderr)
    );
    // -l with --prefix: every pod of the release, each line named.
    let prefixed = sim.ok(&[
        "logs",
        "-n",
        "dusk-service",
        "-l",
        "app=dusk-service",
        "--prefix",
        "--tail=2",
    ]);
    let pods: std::collections::BTreeSet<&str> = prefixed
        .lines()
        .filter_map(|l| l.strip_prefix("[pod/"))
        .filter_map(|l| l.split('/').next())
        .collect();
    assert!(pods.len() >= 3, "{prefixed}");
}

#[test]
fn kubectl_logs_previous_shows_why_it_crashed_and_follow_streams() {
    let sim = SimProcess::start(&["--scenario", "crash-loop", "--speed", "20"]);
    let sel = "app=dawn-service";
    wait_until("a dawn-service restart", Duration::from_secs(60), || {
        sim.ok(&[
            "get",
            "pods",
            "-n",
            "dawn-service",
            "-l",
            sel,
            "-o",
            "jsonpath={.items[*].status.containerStatuses[0].restartCount}",
        ])
        .split_whitespace()
        .any(|n| n != "0")
    });
    let restarted = sim.ok(&[
        "get",
        "pods",
        "-n",
        "dawn-service",
        "-l",
        sel,
        "-o",
        "jsonpath={range .items[?(@.status.containerStatuses[0].restartCount>0)]}{.metadata.name}{\"\\n\"}{end}",
    ]);
    let pod = restarted
        .lines()
        .next()
        .expect("a restarted pod")
        .to_string();
    let prev = sim.ok(&["logs", "-n", "dawn-service", &pod, "--previous"]);
    let last = prev.lines().last().unwrap_or_default();
    assert_eq!(last, "FATAL dawn-service exiting with code 1", "{prev}");
    assert!(
        prev.contains("ERROR connection to db:5432 refused"),
        "{prev}"
    );

    // -f on dusk-service: lines keep coming until kubectl is stopped.
    wait_until("dusk-service pods running", Duration::from_secs(60), || {
        running(&sim) >= 1
    });
    let pod = first_pod(&sim, "dusk-service", "app=dusk-service");
    let mut child = sim
        .kubectl_command(&["logs", "-n", "dusk-service", &pod, "-f", "--tail=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl logs -f");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    while got.len() < 6 {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => got.push(l),
            Err(e) => panic!("follow stalled after {got:?}: {e}"),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        got.iter().skip(1).all(|l| !l.contains("starting")),
        "{got:?}"
    );
}
