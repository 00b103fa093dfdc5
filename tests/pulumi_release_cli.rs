//! `tierui diff` and `tierui apply` on a Python Pulumi app stack in the sandbox:
//! the program renders under the SDK's mocks, the Secret from a Pulumi secret
//! is compared by presence and never stored as a placeholder, and the exit
//! codes are diff's (0 in sync, 1 drift, 2 error).

mod common;

use std::path::Path;

fn env_path(name: &str) -> std::path::PathBuf {
    let p = std::env::var_os(name)
        .unwrap_or_else(|| panic!("{name} is not set: run the tests with ./scripts/test-all"));
    std::path::PathBuf::from(p)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

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
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/python-foundation"),
        ws,
    );
    std::os::unix::fs::symlink(
        env_path("TIERUI_TEST_PULUMI_VENV"),
        ws.join("gitops/pulumi_deploy/venv"),
    )
    .unwrap();
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
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/python-foundation"),
        ws,
    );
    std::os::unix::fs::symlink(
        env_path("TIERUI_TEST_PULUMI_VENV"),
        ws.join("provisioning/pulumi/venv"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        env_path("TIERUI_TEST_PULUMI_VENV"),
        ws.join("gitops/pulumi_deploy/venv"),
    )
    .unwrap();
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
}
