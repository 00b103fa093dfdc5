//! Release states on the home screen (`cargo bench --bench states`): how soon
//! every release's sync and health is known after start, and the CPU the
//! process uses once they are (only watchers, the once-a-second look at the
//! files and the once-a-minute drift remain).
//!
//! Two workspaces, each against simulated clusters (day and dusk) that run in
//! this bench's process with every release's objects already applied, reached
//! by tierui through a kubeconfig as real clusters are — so the figures are
//! tierui's own, not the clusters':
//! - the bundled demo (4 releases; dawn has no context, so its release is
//!   Unknown — still a known state);
//! - the demo plus 300 generated kubectl releases (100 services × 3
//!   environments, on the day and dusk clusters; written by this bench, not
//!   committed).
//!
//! Environment: STATES_BENCH_IDLE_SECS (30, the CPU window).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tierui_sim::{SimConfig, SimHandle, start};

mod common;
use common::{InPty, cpu_ticks, field, manifests, status_kib, tierui, tierui_env, wait_log};

/// The demo with 300 more releases: `svc-NNN` in dev, staging and production.
fn large_workspace(dir: &Path) -> std::path::PathBuf {
    let ws = dir.join("large");
    tierui_core::paths::extract_demo(&ws).expect("demo");
    let mut yaml = std::fs::read_to_string(ws.join("tierui.yaml")).expect("tierui.yaml");
    for n in 0..100 {
        let service = format!("svc-{n:03}");
        for (e, env) in ["dev", "staging", "production"].iter().enumerate() {
            let cluster = if (n + e) % 2 == 0 { "day" } else { "dusk" };
            let ns = format!("{service}-{env}");
            let folder = format!("k8s/generated/{service}/{env}");
            std::fs::create_dir_all(ws.join(&folder)).expect("folder");
            std::fs::write(
                ws.join(&folder).join("app.yaml"),
                manifests(&service, &ns, n),
            )
            .expect("manifest");
            yaml.push_str(&format!(
                "  - name: {service}-{env}\n    manager: kubectl\n    manifests: {folder}\n    cluster: {cluster}\n    namespace: {ns}\n"
            ));
        }
    }
    std::fs::write(ws.join("tierui.yaml"), yaml).expect("tierui.yaml");
    ws
}

struct Figures {
    releases: f64,
    first_ms: f64,
    idle_pct: f64,
    rss_mib: f64,
}

/// The day and dusk clusters with every release of theirs applied, and a
/// kubeconfig with a context for each.
fn clusters(
    rt: &tokio::runtime::Runtime,
    ws: &Path,
    dir: &Path,
    tag: &str,
) -> (Vec<SimHandle>, PathBuf) {
    let model = tierui_core::workspace::load(ws);
    let mut sims = Vec::new();
    let mut kube = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for name in ["day", "dusk"] {
        let sim = rt
            .block_on(start(SimConfig {
                cluster_name: name.into(),
                objects: tierui_backends::sandbox::clusters::releases_on(&model, name),
                ..SimConfig::default()
            }))
            .expect("simulator");
        kube.push_str(&format!(
            "- name: {name}\n  cluster:\n    server: {}\n",
            sim.url()
        ));
        sims.push(sim);
    }
    kube.push_str("users:\n- name: bench\n  user: {}\ncontexts:\n");
    for name in ["day", "dusk"] {
        kube.push_str(&format!(
            "- name: {name}\n  context:\n    cluster: {name}\n    user: bench\n"
        ));
    }
    kube.push_str("current-context: day\n");
    let path = dir.join(format!("kubeconfig-{tag}"));
    std::fs::write(&path, kube).expect("kubeconfig");
    (sims, path)
}

fn run(dir: &Path, tag: &str, ws: &Path) -> Figures {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (sims, kubeconfig) = clusters(&rt, ws, dir, tag);
    // Let the clusters start their pods before tierui looks.
    std::thread::sleep(Duration::from_secs(5));
    let state = dir.join(format!("state-{tag}"));
    let log = state.join("tierui.log");
    let envs = tierui_env(
        &state,
        &dir.join("config"),
        &kubeconfig.display().to_string(),
        &std::env::var("STATES_BENCH_LOG").unwrap_or_else(|_| "perf=info".into()),
    );
    let pty = InPty::start(
        &format!("'{}' --workspace '{}'", tierui(), ws.display()),
        &envs,
        &dir.join(format!("{tag}.pid")),
    );
    let line = wait_log(&log, "release states: all known", Duration::from_secs(300));
    let first_ms = field(&line, "ms").unwrap_or(f64::NAN);
    let releases = field(&line, "releases").unwrap_or(f64::NAN);
    // Let the first wave settle (rollouts of freshly seeded pods, the first HPA syncs).
    std::thread::sleep(Duration::from_secs(10));
    let secs = std::env::var("STATES_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30.0);
    let (t0, c0) = (Instant::now(), cpu_ticks(pty.pid));
    std::thread::sleep(Duration::from_secs_f64(secs));
    let ticks = cpu_ticks(pty.pid) - c0;
    let idle_pct = ticks as f64 / 100.0 / t0.elapsed().as_secs_f64() * 100.0;
    let rss_mib = status_kib(pty.pid, "VmRSS") as f64 / 1024.0;
    pty.stop();
    if let Ok(keep) = std::env::var("STATES_BENCH_KEEP_LOG") {
        let _ = std::fs::copy(&log, format!("{keep}-{tag}.log"));
    }
    for sim in sims {
        rt.block_on(sim.shutdown());
    }
    Figures {
        releases,
        first_ms,
        idle_pct,
        rss_mib,
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let large = large_workspace(dir.path());
    let demo = dir.path().join("demo");
    tierui_core::paths::extract_demo(&demo).expect("demo");
    println!("release states (tierui's own CPU; the clusters run in the bench's process)");
    println!(
        "{:<34} {:>9} {:>16} {:>14} {:>9}",
        "workspace", "releases", "all known (ms)", "idle CPU (%)", "RSS (MiB)"
    );
    for (tag, name, ws) in [
        ("demo", "demo", &demo),
        ("large", "demo + 300 generated releases", &large),
    ] {
        let f = run(dir.path(), tag, ws);
        println!(
            "{name:<34} {:>9} {:>16.0} {:>14.2} {:>9.0}",
            f.releases, f.first_ms, f.idle_pct, f.rss_mib
        );
    }
}
