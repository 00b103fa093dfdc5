//! Release states on the home screen (`cargo bench --bench states`): how soon
//! every release's sync and health is known after start, and the CPU the
//! process uses once they are (only watchers, the once-a-second look at the
//! files and the once-a-minute drift remain).
//!
//! Two workspaces, each in the sandbox (the simulated clusters run in the same
//! process, so their controllers' CPU is part of the figure):
//! - the bundled demo (4 releases);
//! - the demo plus 300 generated kubectl releases (100 services × 3
//!   environments, on the day and dusk clusters; written by this bench, not
//!   committed), whose objects the sandbox seeds into its clusters.
//!
//! Environment: STATES_BENCH_IDLE_SECS (30, the CPU window).

use std::path::Path;
use std::time::{Duration, Instant};

mod common;
use common::{InPty, cpu_ticks, field, status_kib, wait_log};

fn tierui() -> &'static str {
    env!("CARGO_BIN_EXE_tierui")
}

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
                format!(
                    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n\
                     apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {service}\n  namespace: {ns}\ndata:\n  LOG_LEVEL: info\n---\n\
                     apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {service}\n  namespace: {ns}\n  labels: {{app: {service}}}\n\
                     spec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: {service}}}\n  template:\n    metadata:\n      labels: {{app: {service}}}\n\
                     \x20   spec:\n      containers:\n        - name: {service}\n          image: ghcr.io/example/{service}:v1.0.{n}\n          resources:\n            requests: {{cpu: 100m, memory: 64Mi}}\n---\n\
                     apiVersion: v1\nkind: Service\nmetadata:\n  name: {service}\n  namespace: {ns}\nspec:\n  selector: {{app: {service}}}\n  ports:\n    - port: 80\n      targetPort: 8080\n"
                ),
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

fn run(dir: &Path, tag: &str, args: &str) -> Figures {
    let state = dir.join(format!("state-{tag}"));
    let log = state.join("tierui.log");
    let mut envs = vec![
        ("TIERUI_STATE_DIR", state.display().to_string()),
        (
            "TIERUI_CONFIG_DIR",
            dir.join("config").display().to_string(),
        ),
        ("TIERUI_LOG", "perf=info".to_string()),
    ];
    envs.retain(|(k, _)| !k.is_empty());
    let pty = InPty::start(
        &format!("'{}' {args}", tierui()),
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
    println!("release states (sandbox; simulated clusters in the same process)");
    println!(
        "{:<34} {:>9} {:>16} {:>14} {:>9}",
        "workspace", "releases", "all known (ms)", "idle CPU (%)", "RSS (MiB)"
    );
    for (tag, name, args) in [
        ("demo", "demo", "demo".to_string()),
        (
            "large",
            "demo + 300 generated releases",
            format!("--sandbox --workspace '{}'", large.display()),
        ),
    ] {
        let f = run(dir.path(), tag, &args);
        println!(
            "{name:<34} {:>9} {:>16.0} {:>14.2} {:>9.0}",
            f.releases, f.first_ms, f.idle_pct, f.rss_mib
        );
    }
}
