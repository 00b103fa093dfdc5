//! `--sandbox` is sealed: a full sandbox run (status, diff, walkthrough, watch
//! and the UI) with an AWS endpoint and a kubeconfig that record any contact, and
//! a `pulumi` on PATH that records being run, contacts nothing and runs nothing —
//! and its log at trace holds none of the demo's secret values or the
//! operator's tokens.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::Sandbox;
use common::tmux::Tmux;

/// A loopback server that counts every connection (and answers 503).
struct Recorder {
    port: u16,
    contacts: Arc<AtomicUsize>,
}

impl Recorder {
    fn start() -> Recorder {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let contacts = Arc::new(AtomicUsize::new(0));
        let c = contacts.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                c.fetch_add(1, Ordering::SeqCst);
                let mut s = s;
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Recorder { port, contacts }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

const USER_TOKEN: &str = "tierui-operator-token-5f2b9c";
const USER_KEY: &str = "AKIARECORDEROPERATOR";
const USER_SECRET: &str = "operator-secret-key-3e9a7d1c";

/// The operator's kubeconfig for the demo's contexts, all pointing at `server`.
fn kubeconfig(server: &str) -> String {
    let mut clusters = String::new();
    let mut contexts = String::new();
    for c in ["day", "dusk", "dawn"] {
        clusters.push_str(&format!("- name: {c}\n  cluster:\n    server: {server}\n"));
        contexts.push_str(&format!(
            "- name: {c}\n  context:\n    cluster: {c}\n    user: ops\n"
        ));
    }
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: dawn\nclusters:\n{clusters}contexts:\n{contexts}users:\n- name: ops\n  user:\n    token: {USER_TOKEN}\n"
    )
}

/// The secret values of the demo's files: `secure:` values and checkpoint
/// ciphertexts.
fn demo_secrets(ws: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![ws.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            for line in text.lines() {
                let l = line.trim();
                if let Some(v) = l.strip_prefix("secure:") {
                    out.push(v.trim().to_string());
                }
                if let Some(v) = l.strip_prefix("\"ciphertext\":") {
                    out.push(v.trim().trim_matches(|c| c == '"' || c == ',').to_string());
                }
            }
        }
    }
    out.retain(|s| s.len() >= 8);
    out
}

#[test]
fn a_full_sandbox_run_contacts_nothing_runs_no_pulumi_and_logs_no_secret() {
    let sb = Sandbox::new();
    let aws = Recorder::start();
    let kube = Recorder::start();
    let ws = tempfile::tempdir().unwrap();
    tierui_core::paths::extract_demo(ws.path()).unwrap();
    // day-service as teams write it: a Python program, run under the Pulumi
    // SDK's mocks (never by `pulumi preview`, which the sandbox does not run).
    let project = ws.path().join("gitops/pulumi_deploy/Pulumi.yaml");
    let text = std::fs::read_to_string(&project).unwrap();
    std::fs::write(
        &project,
        text.replacen("runtime: yaml", "runtime: python", 1),
    )
    .unwrap();
    std::fs::write(
        ws.path().join("gitops/pulumi_deploy/__main__.py"),
        "import pulumi\n",
    )
    .unwrap();
    let venv = std::env::var_os("TIERUI_TEST_PULUMI_VENV")
        .expect("TIERUI_TEST_PULUMI_VENV: run the tests with ./scripts/test-all");
    std::os::unix::fs::symlink(venv, ws.path().join("gitops/pulumi_deploy/venv")).unwrap();
    let secrets = demo_secrets(ws.path());
    assert!(secrets.len() >= 4, "{secrets:?}");

    let home = sb.dir.path().join("home");
    let bin = sb.dir.path().join("bin");
    std::fs::create_dir_all(home.join(".kube")).unwrap();
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    let ran = sb.dir.path().join("pulumi-ran");
    let fake = bin.join("pulumi");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\nexit 1\n", ran.display()),
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&fake).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let kc = home.join(".kube/config");
    std::fs::write(&kc, kubeconfig(&kube.url())).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        format!(
            "[default]\naws_access_key_id = {USER_KEY}\naws_secret_access_key = {USER_SECRET}\n"
        ),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env: Vec<(&str, String)> = vec![
        ("HOME", home.display().to_string()),
        ("KUBECONFIG", kc.display().to_string()),
        ("AWS_ENDPOINT_URL", aws.url()),
        ("AWS_ACCESS_KEY_ID", USER_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", USER_SECRET.into()),
        ("AWS_SESSION_TOKEN", USER_TOKEN.into()),
        ("AWS_REGION", "eu-west-1".into()),
        ("PATH", path),
        // Everything, internals of the HTTP, AWS and Kubernetes clients included.
        ("TIERUI_LOG", "trace,hyper=trace,hyper_util=trace,kube=trace,kube_client=trace,aws_smithy_runtime=trace,aws_config=trace,tower=trace".into()),
    ];
    let run_code = |args: &[&str]| {
        let mut c = sb.command();
        c.arg("--sandbox")
            .arg("--speed=300")
            .arg("--workspace")
            .arg(ws.path())
            .args(args);
        for (k, v) in &env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let run = |args: &[&str]| {
        let (code, text) = run_code(args);
        assert!(code.is_some_and(|c| c <= 1), "{args:?}: {code:?}\n{text}");
    };
    run(&["status", "--live", "--json"]);
    // The Python release renders under the SDK's mocks: no pulumi, no cloud.
    let (code, text) = run_code(&["diff", "day-service", "--env", "production"]);
    assert!(code.is_some_and(|c| c <= 1), "{text}");
    assert!(!text.contains("pulumi preview --json"), "{text}");
    run(&["diff", "dusk-service"]);
    run(&["walk", "dawn", "--yes"]);
    run(&["watch", "dawn-service", "--for", "2s"]);
    run(&["walk", "dawn", "--teardown", "--yes"]);

    // The UI, briefly, in the same environment.
    let envs: Vec<String> = env.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
    let line = format!(
        "env {} {}",
        envs.join(" "),
        sb.shell_line(&format!("--sandbox --workspace '{}'", ws.path().display()))
    );
    let t = Tmux::start(&line, 120, 40);
    t.wait_text("Clusters (3)");
    t.send(&["j"]);
    t.wait_for("a live pane", Duration::from_secs(30), |s| {
        s.contains("Releases (4)")
    });
    t.send(&["q"]);
    t.wait_text("EXITED:0");

    assert_eq!(
        aws.contacts.load(Ordering::SeqCst),
        0,
        "the sandbox called the AWS endpoint"
    );
    assert_eq!(
        kube.contacts.load(Ordering::SeqCst),
        0,
        "the sandbox used the operator's kubeconfig"
    );
    assert!(
        !ran.exists(),
        "the sandbox ran pulumi: {}",
        std::fs::read_to_string(&ran).unwrap_or_default()
    );

    let log = std::fs::read_to_string(sb.state().join("tierui.log")).unwrap();
    assert!(log.lines().count() > 5, "nothing was logged:\n{log}");
    for s in secrets
        .iter()
        .map(String::as_str)
        .chain([USER_TOKEN, USER_SECRET])
    {
        assert!(!log.contains(s), "the log holds {s:?}");
    }
}
