//! What the benchmarks share: a program in tmux with its pid, its CPU and
//! memory from /proc, and waiting for a line of tierui's log.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The tierui binary under measurement.
pub fn tierui() -> &'static str {
    env!("CARGO_BIN_EXE_tierui")
}

/// A number from the environment, or `default`.
pub fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p` quantile of sorted samples (NaN when there are none).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// tierui's environment in a bench: its state and config folders, the
/// kubeconfig, the log filter, and AWS calls that fail at once instead of
/// probing for credentials (AWS is not what is measured).
pub fn tierui_env(
    state: &Path,
    config: &Path,
    kubeconfig: &str,
    log: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("TIERUI_STATE_DIR", state.display().to_string()),
        ("TIERUI_CONFIG_DIR", config.display().to_string()),
        ("TIERUI_LOG", log.to_string()),
        ("KUBECONFIG", kubeconfig.to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_ACCESS_KEY_ID", "bench".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench".into()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into()),
    ]
}

/// user+system CPU ticks (1/100 s) of a process.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

/// A field of /proc/<pid>/status in KiB (VmHWM: peak RSS, VmRSS: now).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// A program in a tmux window of 160x50 (a terminal that answers queries such as
/// the cursor position, which kdash needs), on a private tmux server. The
/// program writes its pid first so /proc can be read.
pub struct InPty {
    pub session: String,
    pub pid: u32,
}

const TMUX_SOCKET: &str = "tierui-bench";

pub fn tmux(args: &[&str]) -> std::process::ExitStatus {
    Command::new("tmux")
        .args(["-L", TMUX_SOCKET])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("tmux is needed")
}

impl InPty {
    pub fn start(cmd: &str, envs: &[(&str, String)], pidfile: &Path) -> InPty {
        let _ = std::fs::remove_file(pidfile);
        let session = pidfile
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bench".into());
        let env: Vec<String> = envs.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
        let line = format!(
            "echo $$ > '{}'; exec env {} {cmd}",
            pidfile.display(),
            env.join(" ")
        );
        let ok = tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "160",
            "-y",
            "50",
            &line,
        ]);
        assert!(ok.success(), "tmux new-session failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid = loop {
            if let Some(pid) = std::fs::read_to_string(pidfile)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                break pid;
            }
            assert!(Instant::now() < deadline, "{cmd} did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        InPty { session, pid }
    }

    pub fn type_text(&mut self, text: &str) {
        let ok = tmux(&["send-keys", "-t", &self.session, "-l", text]);
        assert!(ok.success(), "tmux send-keys failed");
    }

    /// One key by tmux's name for it (`j`, `PageDown`, `BSpace`, `Escape`).
    pub fn key(&mut self, name: &str) {
        let ok = tmux(&["send-keys", "-t", &self.session, name]);
        assert!(ok.success(), "tmux send-keys failed");
    }

    /// What the pane shows now.
    pub fn screen(&self) -> String {
        Command::new("tmux")
            .args(["-L", TMUX_SOCKET, "capture-pane", "-p", "-t", &self.session])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    pub fn enter(&mut self) {
        tmux(&["send-keys", "-t", &self.session, "Enter"]);
    }

    pub fn stop(self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{}", self.pid)).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        tmux(&["kill-session", "-t", &self.session]);
    }
}

/// Waits until the log has a line containing `what`; returns that line.
pub fn wait_log(log: &Path, what: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(l) = text.lines().find(|l| l.contains(what)) {
            return l.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no {what:?} in {} within {timeout:?}:\n{text}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn field(line: &str, name: &str) -> Option<f64> {
    line.split(&format!("{name}="))
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A generated release's objects as plain manifests: its Namespace,
/// ConfigMap, Deployment (image tag `v1.0.{n}`) and Service.
pub fn manifests(service: &str, ns: &str, n: usize) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {service}\n  namespace: {ns}\ndata:\n  LOG_LEVEL: info\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {service}\n  namespace: {ns}\n  labels: {{app: {service}}}\n\
         spec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: {service}}}\n  template:\n    metadata:\n      labels: {{app: {service}}}\n\
         \x20   spec:\n      containers:\n        - name: {service}\n          image: ghcr.io/example/{service}:v1.0.{n}\n          resources:\n            requests: {{cpu: 100m, memory: 64Mi}}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata:\n  name: {service}\n  namespace: {ns}\nspec:\n  selector: {{app: {service}}}\n  ports:\n    - port: 80\n      targetPort: 8080\n"
    )
}
