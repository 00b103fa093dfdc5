//! `tierui diff` and `tierui apply` on a Python Pulumi app stack in the sandbox:
//! the program renders under the SDK's mocks, the Secret from a Pulumi secret
//! is compared by presence and never stored as a placeholder, and the exit
//! codes are diff's (0 in sync, 1 drift, 2 error).

mod common;

use std::path::Path;

fn tierui(ws: &Path, sb: &common::Sandbox, args: &[&str]) -> (i32, String, String) {
    let out = sb
        .command()
        .args([
            "--workspace",
            ws.to_str().unwrap(),
            "--sandbox",
            "--speed",
            "50",
        ])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn diff_and_apply_a_python_app_stack_in_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let sb = common::Sandbox::new();
    let ws = dir.path();
    common::pulumi::foundation(ws);
    // The sandbox deploys the release as `pulumi up` would have: in sync.
    let (code, out, err) = tierui(ws, &sb, &["diff", "day-service", "--env", "production"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("presence only") || err.contains("presence only"),
        "{out}{err}"
    );
    assert!(!out.contains("tierui-secret-"), "{out}");
    // A new tag: drift on the Deployment's image.
    let cfg = ws.join("gitops/pulumi_deploy/Pulumi.production.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("image_tag: v1.2.3", "image_tag: v1.2.4")).unwrap();
    let (code, out, err) = tierui(ws, &sb, &["diff", "day-service", "--env", "production"]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("day-service:v1.2.4"), "{out}");
    let (code, out, err) = tierui(
        ws,
        &sb,
        &["apply", "day-service", "--env", "production", "--yes"],
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let (code, out, err) = tierui(ws, &sb, &["diff", "day-service", "--env", "production"]);
    assert_eq!(code, 0, "after apply, stdout:\n{out}\nstderr:\n{err}");
    // A program that fails is an error (2) naming the user's file and line.
    std::fs::write(&cfg, text.replace("  day-service:image_tag: v1.2.3\n", "")).unwrap();
    let (code, out, err) = tierui(ws, &sb, &["diff", "day-service", "--env", "production"]);
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("gitops/pulumi_deploy/__main__.py:"), "{err}");
}

#[test]
fn status_shows_the_node_groups_an_infra_program_declares() {
    let dir = tempfile::tempdir().unwrap();
    let sb = common::Sandbox::new();
    let ws = dir.path();
    common::pulumi::foundation(ws);
    let (code, out, err) = tierui(ws, &sb, &["status", "--json"]);
    assert!(code == 0 || code == 1, "stdout:\n{out}\nstderr:\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let day = v["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "day")
        .unwrap();
    assert!(
        day["spec"]["source"]
            .as_str()
            .unwrap()
            .contains("what the program declares"),
        "{day:#}"
    );
    let names: Vec<&str> = day["spec"]["nodeGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["general", "batch"]);
    // The Python release's summary comes from its program.
    let prod = v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service"] == "day-service" && r["environment"] == "production")
        .unwrap();
    assert_eq!(prod["imageTag"], "v1.2.3", "{prod:#}");
    assert_eq!(prod["replicas"], 3, "{prod:#}");
}

/// Outside the sandbox a Pulumi release is deployed by `pulumi up`: tierui shows
/// its drift against the real cluster first (here a simulator reached through a
/// kubeconfig), asks, and only then runs `pulumi up --stack S --yes` in the
/// project; "n" runs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_outside_the_sandbox_diffs_first_then_runs_pulumi_up() {
    let dir = tempfile::tempdir().unwrap();
    let sb = common::Sandbox::new();
    let ws = dir.path().join("ws");
    common::pulumi::foundation(&ws);
    let sim = tierui_sim::start(tierui_sim::SimConfig {
        cluster_name: "day".into(),
        ..tierui_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig_yaml("day")).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let ran = dir.path().join("pulumi-ran");
    let fake = bin.join("pulumi");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$(pwd) $@\" >> '{}'\n", ran.display()),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |answer: &'static str| {
        let (env, ws, kc, path) = (sb.env(), ws.clone(), kubeconfig.clone(), path.clone());
        tokio::task::spawn_blocking(move || {
            use std::io::Write as _;
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tierui"))
                .envs(env)
                .env("KUBECONFIG", &kc)
                .env("PATH", &path)
                .args([
                    "--workspace",
                    ws.to_str().unwrap(),
                    "apply",
                    "day-service",
                    "--env",
                    "production",
                ])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(answer.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
    };
    let (code, out, err) = run("n\n").await.unwrap();
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("Deployment") && out.contains("day-service:v1.2.3"),
        "the drift first:\n{out}"
    );
    assert!(err.contains("[y/N]"), "{err}");
    assert!(!ran.exists(), "n ran pulumi");
    let (code, out, err) = run("y\n").await.unwrap();
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let calls = std::fs::read_to_string(&ran).unwrap();
    assert!(
        calls
            .trim_end()
            .ends_with("gitops/pulumi_deploy up --stack production --yes"),
        "{calls}"
    );
    sim.shutdown().await;
}
