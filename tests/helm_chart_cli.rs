//! `tierui status` on a workspace whose service is a Helm chart folder
//! (fixtures/helm-chart): rendered by the `helm` on PATH (here a fake that
//! prints a manifest and records its arguments), or shown as a chart with a
//! note when there is none — never as broken manifests.

mod common;

use std::path::Path;

use common::Sandbox;
use serde_json::Value;

const DESCRIPTOR: &str = "name: charts\nclusters: []\nservices:\n  - name: web\n    manager: kubectl\n    manifests: charts/web\n    namespace: web\n    environments:\n      - name: prod\n        namespace: web-prod\n";

/// `tierui status --json` in `ws` with only `path` on PATH.
fn status(ws: &Path, path: &Path) -> (i32, Value) {
    let sb = Sandbox::new();
    let out = sb
        .command()
        .current_dir(ws)
        .env("PATH", path)
        .args(["status", "--json"])
        .output()
        .expect("run tierui");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn workspace(dir: &Path) -> std::path::PathBuf {
    let ws = dir.join("ws");
    common::pulumi::copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/helm-chart"),
        &ws,
    );
    std::fs::write(ws.join("tierui.yaml"), DESCRIPTOR).unwrap();
    ws
}

#[test]
fn the_helm_on_path_renders_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let asked = dir.path().join("helm-args");
    // Shell built-ins only: PATH holds nothing but this fake.
    let fake = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nprintf '%s\\n' '---' '# Source: web/templates/deployment.yaml' 'apiVersion: apps/v1' 'kind: Deployment' 'metadata:' '  name: web' 'spec:' '  replicas: 4' '  template:' '    spec:' '      containers:' '        - name: web' '          image: ghcr.io/example/web:1.4.0'\n",
        asked.display()
    );
    let helm = bin.join("helm");
    std::fs::write(&helm, fake).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (code, json) = status(&ws, &bin);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["problems"], serde_json::json!([]), "{json:#}");
    let r = &json["releases"][0];
    assert_eq!(r["manager"], "helm");
    assert_eq!(r["objects"], serde_json::json!(["Deployment/web"]), "{r:#}");
    assert_eq!(r["image"], "ghcr.io/example/web:1.4.0");
    assert_eq!(r["replicas"], 4);
    assert_eq!(r["chart"]["name"], "web");
    assert_eq!(r["chart"]["version"], "0.3.1");
    let chart = std::fs::canonicalize(&ws).unwrap().join("charts/web");
    let args = std::fs::read_to_string(&asked).unwrap();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "template".to_string(),
            "web".into(),
            chart.display().to_string(),
            "--namespace".into(),
            "web-prod".into(),
            "-f".into(),
            chart.join("values.yaml").display().to_string(),
            "-f".into(),
            chart.join("values-prod.yaml").display().to_string(),
        ]
    );
}

#[test]
fn without_helm_the_chart_is_shown_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path());
    let empty = dir.path().join("no-tools");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, json) = status(&ws, &empty);
    assert_eq!(code, 0, "a chart is not an error: {json:#}");
    assert_eq!(json["problems"], serde_json::json!([]), "{json:#}");
    let r = &json["releases"][0];
    assert_eq!(r["manager"], "helm");
    assert_eq!(
        r["notes"],
        serde_json::json!([
            "Helm chart web 0.3.1 — helm is not on PATH; install helm to render it"
        ])
    );
}
