//! Logs of a busy release (`cargo bench --bench logs`).
//!
//! A simulated cluster (in this process) runs a Deployment of 50 pods whose
//! load makes them write 2,000 lines a second in total (the simulator writes
//! one line per 10 millicores per second: 20,000m over 50 pods). The real
//! `tierui` binary runs in a pseudo-terminal on a workspace whose one cluster
//! points at it, opens the cluster's live view, the Deployments tab, and the
//! Deployment's merged logs (`o`), following all 50 pods. Measured from /proc
//! and tierui's own log:
//! - time from starting the readers to the first lines drawn;
//! - key press to frame while following (30 `t` presses, each redraws);
//! - CPU (user+system) as % of one core and RSS while following;
//! - the ring buffer's fill and what it dropped.
//!
//! Environment: LOGS_BENCH_PODS (50), LOGS_BENCH_RATE (2000 lines/s in total),
//! LOGS_BENCH_SECS (20, the CPU window).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tierui_sim::{SimConfig, SimHandle, start};

mod common;
use common::{
    InPty, cpu_ticks, env_num, field, percentile, status_kib, tierui, tierui_env, wait_log,
};

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

fn main() {
    let pods = env_num("LOGS_BENCH_PODS", 50.0) as usize;
    let rate = env_num("LOGS_BENCH_RATE", 2000.0);
    let window = Duration::from_secs_f64(env_num("LOGS_BENCH_SECS", 20.0));
    let scenario = format!(
        "nodes: {{count: {}, pods: 110}}\nload:\n  - deployment: shop/web\n    cpu: [[0, {}]]\n",
        pods.div_ceil(100).max(1) + 1,
        rate * 10.0
    );
    let objects = vec![
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "replicas": pods,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "shop/web:v1"}]}
                }
            }
        }),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = rt
        .block_on(start(SimConfig {
            cluster_name: "bench".into(),
            scenario: tierui_sim::scenario::Scenario::parse(&scenario).expect("scenario"),
            objects,
            ..SimConfig::default()
        }))
        .expect("simulator");
    let (ws, kubeconfig) = workspace(dir.path(), &sim);
    println!("release: {pods} pods writing {rate:.0} lines/s in total; window {window:?}");

    let state = dir.path().join("state");
    let envs = tierui_env(
        &state,
        &dir.path().join("config"),
        &kubeconfig.display().to_string(),
        "info,perf=debug",
    );
    let mut pty = InPty::start(
        &format!("'{}' --workspace '{}'", tierui(), ws.display()),
        &envs,
        &dir.path().join("tierui.pid"),
    );
    let pid = pty.pid;
    let log = state.join("tierui.log");
    wait_log(&log, "first frame", Duration::from_secs(20));
    // Every pod running before the logs open (the simulator starts them).
    let started = Instant::now();
    loop {
        let running = rt.block_on(async {
            let st = sim.sim().lock();
            st.store
                .range(tierui_sim::kinds::POD, Some("shop"), None)
                .filter(|e| tierui_sim::metrics::is_ready(&e.value()))
                .count()
        });
        if running >= pods {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {running} of {pods} pods ready"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    pty.type_text(":ctx bench");
    pty.enter();
    wait_log(&log, "first full table", Duration::from_secs(60));
    pty.type_text("2");
    std::thread::sleep(Duration::from_millis(500));
    pty.type_text("/web");
    pty.enter();
    std::thread::sleep(Duration::from_millis(300));
    pty.type_text("o");
    let line = wait_log(&log, "log view: first lines drawn", Duration::from_secs(60));
    println!(
        "first lines drawn {:.0} ms after the readers started ({} pods' containers)",
        field(&line, "ms").unwrap_or(f64::NAN),
        field(&line, "sources").unwrap_or(f64::NAN)
    );
    // Let every stream reach full rate, then measure.
    std::thread::sleep(Duration::from_secs(3));
    let before = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(window);
    let secs = t.elapsed().as_secs_f64();
    let pct = (cpu_ticks(pid) - before) as f64 / 100.0 / secs * 100.0;
    println!(
        "following {pods} pods at {rate:.0} lines/s: CPU {pct:.1}% of one core over {secs:.0} s; RSS now {:.1} MiB, peak {:.1} MiB",
        status_kib(pid, "VmRSS") as f64 / 1024.0,
        status_kib(pid, "VmHWM") as f64 / 1024.0
    );
    // Keys while following: each `t` (timestamps) redraws the window.
    let keys_from = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    for _ in 0..30 {
        pty.type_text("t");
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut keys: Vec<f64> = text
        .lines()
        .skip(keys_from)
        .filter(|l| l.contains("key to frame"))
        .filter_map(|l| field(l, "ms"))
        .collect();
    keys.sort_by(f64::total_cmp);
    println!(
        "key to frame while following ({} keys): median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        keys.len(),
        percentile(&keys, 0.5),
        percentile(&keys, 0.95),
        keys.last().copied().unwrap_or(f64::NAN)
    );
    let screen = pty.screen();
    if let Some(head) = screen.lines().find(|l| l.contains("Logs ·")) {
        println!("header: {}", head.trim());
    }
    pty.stop();
    rt.block_on(sim.shutdown());
}
