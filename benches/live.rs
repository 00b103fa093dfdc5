//! Live view under load (run with `./scripts/bench-live`, or `cargo bench --bench live`).
//!
//! A simulated cluster (in this process) holds 10,000 running pods and changes
//! 100 of them a second. The real `tierui` binary runs in a pseudo-terminal on a
//! workspace whose one cluster points at it (in tmux, 160x50) and opens the cluster's live view
//! (`:ctx bench`, all namespaces). Measured from /proc and tierui's own log:
//! - time from starting the watchers to the first full table on screen;
//! - CPU (user+system) as % of one core and peak RSS under churn;
//! - key press to frame (tierui logs it per key; 30 `j` presses under churn);
//! - idle CPU on a second cluster with the same pods and no churn.
//!
//! When a `kdash` binary is found (`KDASH=/path`, `.bench/kdash/bin/kdash`, or
//! on PATH), it runs against the same cluster for the same time and both are
//! reported side by side: CPU seconds and peak RSS.
//!
//! Environment: LIVE_BENCH_PODS (10000), LIVE_BENCH_CHURN (100),
//! LIVE_BENCH_SECS (60, the side-by-side window), LIVE_BENCH_NODES (the
//! scenario's 3) and LIVE_BENCH_NAMESPACES (1) — Kubernetes' own limit is
//! `LIVE_BENCH_PODS=150000 LIVE_BENCH_NODES=5000 LIVE_BENCH_NAMESPACES=300
//! LIVE_BENCH_CHURN=500`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tierui_sim::{SimConfig, SimHandle, start};

mod common;
use common::{
    InPty, cpu_ticks, env_num, field, percentile, status_kib, tierui, tierui_env, wait_log,
};

/// A workspace with one cluster whose kube context points at the simulator.
fn workspace(dir: &Path, sim: &SimHandle) -> (PathBuf, PathBuf) {
    let ws = dir.join("ws");
    std::fs::create_dir_all(&ws).expect("workspace dir");
    std::fs::write(
        ws.join("cluster.yaml"),
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: bench\n  region: us-east-1\n",
    )
    .expect("cluster config");
    std::fs::write(
        ws.join("tierui.yaml"),
        "name: bench\nclusters:\n  - name: bench\n    provisioner: eksctl\n    config: cluster.yaml\n    region: us-east-1\n    context: bench\n",
    )
    .expect("descriptor");
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig_yaml("bench")).expect("kubeconfig");
    (ws, kubeconfig)
}

struct TieruiRun {
    pty: InPty,
    log: PathBuf,
    /// From starting the watchers to the first full table drawn (tierui's log).
    table_ms: f64,
    /// From typing `:ctx bench` to seeing that log line (includes polling the log).
    typed_ms: f64,
    /// From starting the watchers to the first rows drawn (the list's first page).
    rows_ms: f64,
}

/// Starts tierui on the workspace and opens the cluster's live view.
fn open_tierui(dir: &Path, tag: &str, ws: &Path, kubeconfig: &Path) -> TieruiRun {
    let state = dir.join(format!("state-{tag}"));
    let envs = tierui_env(
        &state,
        &dir.join("config"),
        &kubeconfig.display().to_string(),
        "info,perf=debug",
    );
    let mut pty = InPty::start(
        &format!("'{}' --workspace '{}'", tierui(), ws.display()),
        &envs,
        &dir.join(format!("{tag}.pid")),
    );
    let log = state.join("tierui.log");
    wait_log(&log, "first frame", Duration::from_secs(20));
    let typed = Instant::now();
    pty.type_text(":ctx bench");
    pty.enter();
    let line = wait_log(&log, "first full table", Duration::from_secs(60));
    let rows = wait_log(&log, "first rows drawn", Duration::from_secs(1));
    TieruiRun {
        pty,
        log,
        rows_ms: field(&rows, "ms").unwrap_or(f64::NAN),
        table_ms: field(&line, "ms").unwrap_or(f64::NAN),
        typed_ms: typed.elapsed().as_secs_f64() * 1000.0,
    }
}

fn main() {
    let pods = env_num("LIVE_BENCH_PODS", 10_000.0) as usize;
    let churn = env_num("LIVE_BENCH_CHURN", 100.0);
    let nodes = env_num("LIVE_BENCH_NODES", 0.0) as usize;
    let namespaces = env_num("LIVE_BENCH_NAMESPACES", 1.0) as usize;
    let window = Duration::from_secs_f64(env_num("LIVE_BENCH_SECS", 60.0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let busy = rt
        .block_on(start(SimConfig {
            cluster_name: "bench".into(),
            pods,
            churn,
            nodes: (nodes > 0).then_some(nodes),
            load_namespaces: namespaces,
            ..SimConfig::default()
        }))
        .expect("simulator");
    let (ws, kubeconfig) = workspace(dir.path(), &busy);
    println!(
        "cluster: {pods} pods in {namespaces} namespace(s) on {} nodes, {churn} pod events/s; window {window:?}",
        if nodes > 0 {
            nodes.to_string()
        } else {
            "3".into()
        }
    );

    // 1. tierui under churn.
    let run = open_tierui(dir.path(), "busy", &ws, &kubeconfig);
    let pid = run.pty.pid;
    println!(
        "tierui first rows: {:.0} ms; first full table: {:.0} ms from starting the watchers ({:.0} ms from typing :ctx)",
        run.rows_ms, run.table_ms, run.typed_ms
    );
    // Key presses under churn, a fifth of a second apart: moving, paging,
    // every sort (each twice: the second reverses), and typing a filter.
    let mut pty = run.pty;
    let mut all = Vec::new();
    let mut phase = |pty: &mut InPty, name: &str, keys: &[&str]| {
        let before = key_times(&run.log).len();
        for k in keys {
            pty.key(k);
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut got: Vec<f64> = key_times(&run.log).split_off(before);
        all.extend_from_slice(&got);
        got.sort_by(f64::total_cmp);
        report(&format!("key to frame, {name}"), &got);
    };
    phase(&mut pty, "j (down)", &["j"; 30]);
    phase(
        &mut pty,
        "page down/up",
        &[&["PageDown"; 5][..], &["PageUp"; 5]].concat(),
    );
    phase(
        &mut pty,
        "sorts",
        &[
            "S", "S", "A", "A", "O", "O", "R", "R", "Y", "Y", "C", "M", "N", "N",
        ],
    );
    phase(
        &mut pty,
        "typing a filter",
        &[
            "/", "7", "a", "b", "BSpace", "BSpace", "BSpace", "r", "u", "n",
        ],
    );
    phase(&mut pty, "clearing it", &["Escape"]);
    all.sort_by(f64::total_cmp);
    report("key to frame, all", &all);
    // Steady state under churn.
    let before = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let pct = (cpu_ticks(pid) - before) as f64 / 100.0 / t.elapsed().as_secs_f64() * 100.0;
    println!(
        "tierui under churn: CPU {pct:.1}% of one core over {:.0} s; RSS now {:.1} MiB, peak {:.1} MiB",
        t.elapsed().as_secs_f64(),
        status_kib(pid, "VmRSS") as f64 / 1024.0,
        status_kib(pid, "VmHWM") as f64 / 1024.0
    );
    pty.stop();

    // 2. Idle: the same pods, nothing changing.
    let quiet = rt
        .block_on(start(SimConfig {
            cluster_name: "bench".into(),
            pods,
            churn: 0.0,
            nodes: (nodes > 0).then_some(nodes),
            load_namespaces: namespaces,
            ..SimConfig::default()
        }))
        .expect("quiet simulator");
    let quiet_dir = dir.path().join("quiet");
    std::fs::create_dir_all(&quiet_dir).expect("dir");
    let (qws, qkube) = workspace(&quiet_dir, &quiet);
    let run = open_tierui(&quiet_dir, "idle", &qws, &qkube);
    let pid = run.pty.pid;
    // Let the first metrics poll and the initial events settle.
    std::thread::sleep(Duration::from_secs(3));
    let before = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let pct = (cpu_ticks(pid) - before) as f64 / 100.0 / t.elapsed().as_secs_f64() * 100.0;
    println!(
        "tierui idle (live view of {pods} pods, no churn): CPU {pct:.2}% of one core over {:.0} s",
        t.elapsed().as_secs_f64()
    );
    run.pty.stop();
    rt.block_on(quiet.shutdown());

    // 3. `tierui watch -A`: every pod of the busy cluster as JSON lines.
    watch_cli(dir.path(), &ws, &kubeconfig, pods);

    // 4. The multi-cluster view over three such clusters (all pods in one
    //    namespace each, the release's, since that view follows a release).
    multi(&rt, dir.path(), pods, churn, nodes);

    // 5. Side by side with kdash on the busy cluster: the same window from launch.
    let Some(kdash) = find_kdash() else {
        println!(
            "kdash: not found (set KDASH, or run ./scripts/bench-live which installs it) — no side-by-side figures"
        );
        rt.block_on(busy.shutdown());
        return;
    };
    let side = |name: &str, pid: u32, pty: InPty| {
        let started = Instant::now();
        let mut peak = 0;
        while started.elapsed() < window {
            peak = peak.max(status_kib(pid, "VmHWM"));
            std::thread::sleep(Duration::from_millis(250));
        }
        let cpu = cpu_ticks(pid) as f64 / 100.0;
        peak = peak.max(status_kib(pid, "VmHWM"));
        // What its pods table says at the end of the window (its count, or
        // that it is still loading).
        let screen = pty.screen();
        let said = screen
            .lines()
            .find_map(|l| {
                let at = l.find("Pods (").or_else(|| l.find("Pods:"))?;
                // Up to the box drawing around it.
                let text: String = l[at..]
                    .chars()
                    .take_while(|c| !('\u{2500}'..='\u{257f}').contains(c))
                    .collect();
                Some(text.trim().to_string())
            })
            .unwrap_or_else(|| "no pods table on screen".into());
        pty.stop();
        println!(
            "{name:<8} on screen after {:.0} s: {said}",
            window.as_secs_f64()
        );
        println!(
            "{name:<8} {:>6.0} s  CPU {cpu:>6.2} s ({:>5.1}% of a core)  peak RSS {:>6.1} MiB",
            window.as_secs_f64(),
            cpu / window.as_secs_f64() * 100.0,
            peak as f64 / 1024.0
        );
    };
    println!("side by side, {pods} pods with {churn} pod events/s, from launch:");
    let run = open_tierui(dir.path(), "side", &ws, &kubeconfig);
    side("tierui", run.pty.pid, run.pty);
    let kd = InPty::start(
        &format!("'{}'", kdash.display()),
        &[
            ("KUBECONFIG", kubeconfig.display().to_string()),
            ("HOME", dir.path().display().to_string()),
        ],
        &dir.path().join("kdash.pid"),
    );
    side("kdash", kd.pid, kd);
    rt.block_on(busy.shutdown());
}

/// `tierui watch -A --cluster bench --json`: how soon the whole list is out
/// (one line per pod), then CPU and RSS while it follows the churn.
fn watch_cli(dir: &Path, ws: &Path, kubeconfig: &Path, pods: usize) {
    use std::io::Read as _;
    let out_path = dir.join("watch.jsonl");
    let out = std::fs::File::create(&out_path).expect("watch output");
    let state = dir.join("state-watch");
    let started = Instant::now();
    let mut child = std::process::Command::new(tierui())
        .args(["--workspace"])
        .arg(ws)
        .args([
            "watch",
            "-A",
            "--cluster",
            "bench",
            "--json",
            "--for",
            "60s",
        ])
        .env("KUBECONFIG", kubeconfig)
        .env("TIERUI_STATE_DIR", &state)
        .env("TIERUI_CONFIG_DIR", dir.join("config"))
        .stdout(out)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tierui watch");
    let pid = child.id();
    // Count lines as they are written (only the new bytes are read).
    let mut f = std::fs::File::open(&out_path).expect("watch output");
    let (mut lines, mut buf) = (0usize, vec![0u8; 1 << 20]);
    let listed_ms = loop {
        let n = f.read(&mut buf).unwrap_or(0);
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
        if lines >= pods {
            break started.elapsed().as_secs_f64() * 1000.0;
        }
        if started.elapsed() > Duration::from_secs(60) {
            break f64::NAN;
        }
        if n == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let before = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let pct = (cpu_ticks(pid) - before) as f64 / 100.0 / t.elapsed().as_secs_f64() * 100.0;
    let (rss, peak) = (status_kib(pid, "VmRSS"), status_kib(pid, "VmHWM"));
    let _ = child.kill();
    let _ = child.wait();
    let changes = std::fs::read(&out_path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0);
    println!(
        "tierui watch -A: all {pods} pods printed {listed_ms:.0} ms after launch; then CPU {pct:.1}% of one core over {:.0} s under the churn ({} changes printed in all); RSS {:.1} MiB, peak {:.1} MiB",
        t.elapsed().as_secs_f64(),
        changes,
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );
}

/// The multi-cluster view (`L` on a release) over three clusters of `pods`
/// pods each with the same churn.
fn multi(rt: &tokio::runtime::Runtime, dir: &Path, pods: usize, churn: f64, nodes: usize) {
    let dir = dir.join("multi");
    let ws = dir.join("ws");
    std::fs::create_dir_all(ws.join("k8s/load")).expect("workspace dir");
    let names = ["bench-a", "bench-b", "bench-c"];
    let sims: Vec<SimHandle> = names
        .iter()
        .map(|n| {
            rt.block_on(start(SimConfig {
                cluster_name: (*n).into(),
                pods,
                churn,
                nodes: (nodes > 0).then_some(nodes),
                load_namespaces: 1,
                ..SimConfig::default()
            }))
            .expect("simulator")
        })
        .collect();
    let mut yaml = String::from("name: bench\nclusters:\n");
    let mut kubeconfigs = Vec::new();
    for (n, sim) in names.iter().zip(&sims) {
        std::fs::write(
            ws.join(format!("{n}.yaml")),
            format!("apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: {n}\n  region: us-east-1\n"),
        )
        .expect("cluster config");
        yaml.push_str(&format!(
            "  - name: {n}\n    provisioner: eksctl\n    config: {n}.yaml\n    region: us-east-1\n    context: {n}\n"
        ));
        let kc = dir.join(format!("kubeconfig-{n}"));
        std::fs::write(&kc, sim.kubeconfig_yaml(n)).expect("kubeconfig");
        kubeconfigs.push(kc.display().to_string());
    }
    // One release whose namespace holds each cluster's load pods.
    std::fs::write(
        ws.join("k8s/load/app.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: load\n  namespace: load\ndata:\n  LOG_LEVEL: info\n",
    )
    .expect("manifest");
    yaml.push_str("services:\n  - name: load\n    manager: kubectl\n    manifests: k8s/load\n    cluster: bench-a\n    namespace: load\n");
    std::fs::write(ws.join("tierui.yaml"), yaml).expect("descriptor");
    let state = dir.join("state");
    let envs = tierui_env(
        &state,
        &dir.join("config"),
        &kubeconfigs.join(":"),
        "info,perf=debug",
    );
    let mut pty = InPty::start(
        &format!("'{}' --workspace '{}'", tierui(), ws.display()),
        &envs,
        &dir.join("multi.pid"),
    );
    let log = state.join("tierui.log");
    wait_log(&log, "first frame", Duration::from_secs(20));
    pty.type_text("/load");
    pty.enter();
    pty.type_text("L");
    let line = wait_log(&log, "first full table", Duration::from_secs(120));
    let pid = pty.pid;
    let before_keys = key_times(&log).len();
    for k in [
        "j", "j", "PageDown", "PageUp", "S", "A", "N", "/", "7", "a", "Escape",
    ] {
        pty.key(k);
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut keys = key_times(&log).split_off(before_keys);
    keys.sort_by(f64::total_cmp);
    let before = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let pct = (cpu_ticks(pid) - before) as f64 / 100.0 / t.elapsed().as_secs_f64() * 100.0;
    println!(
        "tierui multi-cluster view, 3 clusters × {pods} pods, {churn} pod events/s each: first full table {:.0} ms ({} rows); CPU {pct:.1}% of one core over {:.0} s; RSS {:.1} MiB, peak {:.1} MiB",
        field(&line, "ms").unwrap_or(f64::NAN),
        field(&line, "rows").unwrap_or(f64::NAN),
        t.elapsed().as_secs_f64(),
        status_kib(pid, "VmRSS") as f64 / 1024.0,
        status_kib(pid, "VmHWM") as f64 / 1024.0
    );
    report("multi-cluster key to frame", &keys);
    pty.stop();
    for s in sims {
        rt.block_on(s.shutdown());
    }
}

/// Every key → frame time tierui has logged so far.
fn key_times(log: &Path) -> Vec<f64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("key to frame"))
        .filter_map(|l| field(l, "ms"))
        .collect()
}

fn report(what: &str, sorted: &[f64]) {
    println!(
        "tierui {what} ({} keys): median {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        sorted.len(),
        percentile(sorted, 0.5),
        percentile(sorted, 0.95),
        percentile(sorted, 0.99),
        sorted.last().copied().unwrap_or(f64::NAN)
    );
}

fn find_kdash() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KDASH") {
        return Some(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".bench/kdash/bin/kdash");
    if local.is_file() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("kdash"))
            .find(|p| p.is_file())
    })
}
