//! Startup and idle benchmark of the real binary (run with `cargo bench --bench startup`).
//!
//! - first frame: wall time from spawning `tierui demo` in a pseudo-terminal until
//!   its first frame is on screen (the binary exits right after it when
//!   TIERUI_EXIT_AFTER_FIRST_FRAME is set), and the in-process time it logs;
//! - idle CPU: user+system CPU of a running `tierui demo` over 10 s with no input,
//!   right after start and once its simulated clusters have settled.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{percentile, tierui};

const RUNS: usize = 30;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    let envs = [
        ("TIERUI_STATE_DIR", state.display().to_string()),
        (
            "TIERUI_CONFIG_DIR",
            dir.path().join("config").display().to_string(),
        ),
    ];
    // Warm-up run extracts the demo and warms the page cache.
    let run = |exit_after: bool| {
        let mut c = Command::new("script");
        c.args([
            "-qec",
            &format!("stty cols 120 rows 40; {} demo", tierui()),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in &envs {
            c.env(k, v);
        }
        if exit_after {
            c.env("TIERUI_EXIT_AFTER_FIRST_FRAME", "1");
        }
        c
    };
    run(true)
        .status()
        .expect("script(1) from util-linux is needed");
    let mut wall = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let status = run(true).status().expect("run tierui");
        assert!(status.success());
        wall.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    wall.sort_by(f64::total_cmp);
    let log = std::fs::read_to_string(state.join("tierui.log")).unwrap_or_default();
    let mut inproc: Vec<f64> = log
        .lines()
        .filter(|l| l.contains("first frame"))
        .filter_map(|l| {
            l.split("ms=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    inproc.sort_by(f64::total_cmp);
    println!(
        "first frame, wall (spawn → frame → exit, in a pty), {RUNS} runs: median {:.1} ms, p95 {:.1} ms",
        percentile(&wall, 0.5),
        percentile(&wall, 0.95)
    );
    if !inproc.is_empty() {
        println!(
            "first frame, in-process (start of main → frame drawn): median {:.1} ms, p95 {:.1} ms",
            percentile(&inproc, 0.5),
            percentile(&inproc, 0.95)
        );
    }

    // Idle: a live UI with nothing happening should not redraw or spin. The
    // demo's simulated clusters run in this process (the home screen's release
    // states watch them), so their start and their scenario's traffic count too:
    // measured right after start, and again once they have settled.
    let mut child = run(false).spawn().expect("spawn tierui");
    std::thread::sleep(Duration::from_secs(2));
    let pid = find_child_pid(child.id()).expect("tierui process under script");
    for (label, settle) in [("after 2 s", 0), ("after 30 s", 18)] {
        std::thread::sleep(Duration::from_secs(settle));
        let before = cpu_ticks(pid);
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs(10));
        let used = cpu_ticks(pid) - before;
        let ticks_per_s = 100.0;
        let pct = used as f64 / ticks_per_s / t.elapsed().as_secs_f64() * 100.0;
        println!(
            "idle CPU over {:.0} s {label}: {pct:.2}% of one core ({used} ticks; tierui with the demo's simulated clusters)",
            t.elapsed().as_secs_f64()
        );
    }
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait();
}

/// The tierui process started by `script` (a grandchild through the shell).
fn find_child_pid(root: u32) -> Option<u32> {
    let mut frontier = vec![root];
    while let Some(pid) = frontier.pop() {
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for c in children
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
        {
            let cmd = std::fs::read_to_string(format!("/proc/{c}/cmdline")).unwrap_or_default();
            if cmd.starts_with(tierui()) {
                return Some(c);
            }
            frontier.push(c);
        }
    }
    None
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields after the command: state is 0, utime is 11, stime is 12.
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}
