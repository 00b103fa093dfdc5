//! The release workflow against the simulator over HTTP: apply, change, diff shows
//! exactly the change, apply again, diff is empty — and `kubectl diff` against the
//! same simulator agrees on which objects differ.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::Sandbox;
use tierui_sim::{SimConfig, start};

fn tierui(sb: &Sandbox, ws: &Path, kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    let out = sb
        .command()
        .current_dir(ws)
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .output()
        .expect("run tierui");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Objects `kubectl diff` reports, as `Kind/namespace/name`. kubectl is given
/// the manifests as tierui sends them: labelled members of the release's apply
/// set (`kubectl label --local`, no server involved).
fn kubectl_diff(kubeconfig: &Path, dir: &Path) -> (i32, BTreeSet<String>) {
    let id =
        tierui_core::render::applyset::ApplySet::for_release("dusk-service", "dusk-service").id();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut stream = Vec::new();
    for f in files {
        let labelled = Command::new("kubectl")
            .args(["label", "--local", "-o", "yaml", "-f"])
            .arg(&f)
            .arg(format!(
                "{}={id}",
                tierui_core::render::applyset::PART_OF_LABEL
            ))
            .output()
            .expect("kubectl must be installed (the README's test command installs it)");
        assert!(
            labelled.status.success(),
            "{}",
            String::from_utf8_lossy(&labelled.stderr)
        );
        stream.extend(labelled.stdout);
        stream.extend(b"---\n");
    }
    let mut child = Command::new("kubectl")
        .args(["--kubeconfig"])
        .arg(kubeconfig)
        .args(["diff", "--server-side", "--field-manager=tierui", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl");
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&stream).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let objects = text
        .lines()
        .filter_map(|l| l.strip_prefix("diff -u -N "))
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|p| p.rsplit('/').next())
        .map(|f| {
            // apps.v1.Deployment.dusk-service.dusk-service → Deployment/dusk-service/dusk-service
            let parts: Vec<&str> = f.split('.').collect();
            let n = parts.len();
            format!("{}/{}/{}", parts[n - 3], parts[n - 2], parts[n - 1])
        })
        .collect();
    (out.status.code().unwrap_or(-1), objects)
}

fn tierui_changed(json: &str) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["change"] != "same")
        .map(|o| {
            format!(
                "{}/{}/{}",
                o["kind"].as_str().unwrap(),
                o["namespace"].as_str().unwrap(),
                o["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_change_diff_apply_and_kubectl_agrees() {
    let sb = Sandbox::new();
    let ws = tempfile::tempdir().unwrap();
    tierui_core::paths::extract_demo(ws.path()).unwrap();
    let sim = start(SimConfig {
        cluster_name: "dusk".into(),
        speed: 10.0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let kubeconfig = ws.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig_yaml("dusk")).unwrap();
    let env = sb.env();
    let (root, kc) = (ws.path().to_path_buf(), kubeconfig.clone());
    // The binary runs on a blocking thread so the simulator keeps serving.
    let run = |args: &'static [&'static str]| {
        let (env, root, kc) = (env.clone(), root.clone(), kc.clone());
        tokio::task::spawn_blocking(move || {
            let out = Command::new(env!("CARGO_BIN_EXE_tierui"))
                .envs(env)
                .current_dir(&root)
                .env("KUBECONFIG", &kc)
                .args(args)
                .output()
                .expect("run tierui");
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
    };

    // Nothing deployed yet: every object would be created.
    let (code, out, err) = run(&["diff", "dusk-service", "--json"]).await.unwrap();
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(tierui_changed(&out).len(), 6, "{out}");

    let (code, out, err) = run(&["apply", "dusk-service", "--yes"]).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("dusk-service/Deployment/dusk-service serverside-applied"),
        "{out}"
    );
    let (code, out, err) = run(&["diff", "dusk-service"]).await.unwrap();
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "no drift right after apply: {err}"
    );
    let k = kubeconfig.clone();
    let manifests = ws.path().join("k8s/dusk");
    let m = manifests.clone();
    let (kcode, kobjects) = tokio::task::spawn_blocking(move || kubectl_diff(&k, &m))
        .await
        .unwrap();
    assert_eq!((kcode, kobjects.len()), (0, 0), "kubectl agrees: no diff");

    // Change the image tag and a config value.
    let dep = manifests.join("deployment.yaml");
    std::fs::write(
        &dep,
        std::fs::read_to_string(&dep)
            .unwrap()
            .replace("v2.4.1", "v2.5.0"),
    )
    .unwrap();
    let cm = manifests.join("configmap.yaml");
    std::fs::write(
        &cm,
        std::fs::read_to_string(&cm)
            .unwrap()
            .replace("LOG_LEVEL: info", "LOG_LEVEL: debug"),
    )
    .unwrap();
    let (code, out, _) = run(&["diff", "dusk-service", "--json"]).await.unwrap();
    assert_eq!(code, 1);
    let ours = tierui_changed(&out);
    assert_eq!(
        ours,
        BTreeSet::from([
            "ConfigMap/dusk-service/dusk-service".to_string(),
            "Deployment/dusk-service/dusk-service".to_string()
        ])
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let paths: Vec<&str> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| {
            o["paths"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p.as_str())
        })
        .collect();
    assert_eq!(
        paths,
        [
            "data.LOG_LEVEL",
            "spec.template.spec.containers[name=dusk-service].image"
        ],
        "exactly the change"
    );
    let (code, text, _) = run(&["diff", "dusk-service"]).await.unwrap();
    assert_eq!(code, 1);
    assert!(text.contains("-        image: ghcr.io/example/dusk-service:v2.4.1\n+        image: ghcr.io/example/dusk-service:v2.5.0\n"), "{text}");
    let (k, m) = (kubeconfig.clone(), manifests.clone());
    let (kcode, kobjects) = tokio::task::spawn_blocking(move || kubectl_diff(&k, &m))
        .await
        .unwrap();
    assert_eq!(kcode, 1);
    assert_eq!(
        kobjects, ours,
        "kubectl diff and tierui diff agree on which objects differ"
    );

    // Apply again: no drift left, for either tool.
    let (code, out, err) = run(&["apply", "dusk-service", "--yes"]).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = run(&["diff", "dusk-service"]).await.unwrap();
    assert_eq!((code, out.as_str()), (0, ""));
    let (k, m) = (kubeconfig.clone(), manifests.clone());
    let (kcode, _) = tokio::task::spawn_blocking(move || kubectl_diff(&k, &m))
        .await
        .unwrap();
    assert_eq!(kcode, 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_errors_exit_2_with_the_reason() {
    let sb = Sandbox::new();
    let ws = tempfile::tempdir().unwrap();
    tierui_core::paths::extract_demo(ws.path()).unwrap();
    // No kubeconfig: the connection error is named and the exit code is 2.
    let missing = ws.path().join("no-such-kubeconfig");
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        tierui(&sb, ws.path(), &missing, &["diff", "dusk-service"])
    })
    .await
    .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("dusk-service · production") && err.contains("context dusk"),
        "{err}"
    );
}

/// A kubeconfig whose user gets its token from an exec credential plugin, as
/// `aws eks update-kubeconfig` writes one (`aws eks get-token`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_credential_plugins_are_run_as_kubectl_runs_them() {
    let sb = Sandbox::new();
    let ws = tempfile::tempdir().unwrap();
    tierui_core::paths::extract_demo(ws.path()).unwrap();
    let sim = start(SimConfig {
        cluster_name: "dusk".into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let marker = ws.path().join("plugin-ran");
    let plugin = ws.path().join("get-token");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"k8s-aws-v1.bench\"}}}}'\n",
            marker.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let kubeconfig = ws.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: dusk\n  cluster:\n    server: {}\ncontexts:\n- name: dusk\n  context:\n    cluster: dusk\n    user: dusk\ncurrent-context: dusk\nusers:\n- name: dusk\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {}\n      args: [eks, get-token, --cluster-name, dusk]\n      interactiveMode: Never\n",
            sim.url(),
            plugin.display()
        ),
    )
    .unwrap();
    // The binary runs off the runtime's threads so the simulator keeps serving.
    let (code, out, err) = tokio::task::block_in_place(|| {
        tierui(
            &sb,
            ws.path(),
            &kubeconfig,
            &["diff", "dusk-service", "--json"],
        )
    });
    // Reached the cluster (everything would be created) through the plugin's token.
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "eks get-token --cluster-name dusk"
    );
    sim.shutdown().await;
}
