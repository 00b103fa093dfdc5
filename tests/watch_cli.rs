//! `tierui watch` on the demo in sandbox mode: JSON watch events for the
//! release's pods and HPA, stopping by itself with `--for`; clear errors.

mod common;

use common::Sandbox;
use serde_json::Value;

#[test]
fn watch_prints_pod_and_hpa_changes_then_stops() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    let out = sb
        .command()
        .current_dir(empty.path())
        .args([
            "--speed",
            "20",
            "watch",
            "day-service",
            "--env",
            "production",
        ])
        .args(["--json", "--for", "8s"])
        .output()
        .expect("run tierui");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let added_pods: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e["type"] == "ADDED" && e["object"]["kind"] == "Pod")
        .map(|e| e["object"]["name"].as_str().unwrap())
        .collect();
    assert!(added_pods.len() >= 3, "{stdout}");
    assert!(
        added_pods.iter().all(|p| p.starts_with("day-service-")),
        "only the release's pods: {added_pods:?}"
    );
    assert!(events.iter().all(|e| e["cluster"] == "day"));
    // Pods go through their lifecycle (Pending → … → Running) as MODIFIED events.
    assert!(
        events.iter().any(|e| e["type"] == "MODIFIED"
            && e["object"]["kind"] == "Pod"
            && e["object"]["status"] == "Running"),
        "{stdout}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["object"]["kind"] == "HorizontalPodAutoscaler"
                && e["object"]["metrics"][0]["target"] == "60%"),
        "{stdout}"
    );
    assert!(stderr.contains("pods: live"), "{stderr}");
}

#[test]
fn watch_errors_name_the_problem() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = sb
            .command()
            .current_dir(empty.path())
            .arg("watch")
            .args(args)
            .output()
            .expect("run tierui");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["nosuch"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("no service named nosuch"), "{err}");
    let (code, err) = run(&["day-service"]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("several releases; choose one with --env"),
        "{err}"
    );
    let (code, err) = run(&["day-service", "--env", "production", "--for", "soon"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("bad duration"), "{err}");
    // dawn does not exist in the sandbox until the walkthrough creates it.
    let (code, err) = run(&["dawn-service", "--for", "2s"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("does not exist in the sandbox yet"), "{err}");
    // A whole cluster needs -A with --cluster; a service with -A is refused.
    let (code, err) = run(&[]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("name a service, or watch a whole cluster with -A"),
        "{err}"
    );
    let (code, err) = run(&["-A"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("--cluster"), "{err}");
    let (code, err) = run(&["-A", "--cluster", "noon"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("no cluster noon (clusters: "), "{err}");
    let (code, _) = run(&["day-service", "-A", "--cluster", "day"]);
    assert_ne!(code, Some(0));
}

/// `-A --cluster bench`: every pod of the cluster, in every namespace, like
/// `kubectl get pods -A -w` — against a simulated cluster reached through a
/// kubeconfig, its pods spread over three namespaces.
#[test]
fn watch_all_namespaces_of_a_cluster() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(tierui_sim::start(tierui_sim::SimConfig {
            cluster_name: "bench".into(),
            pods: 5,
            load_namespaces: 3,
            ..tierui_sim::SimConfig::default()
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(
        ws.join("cluster.yaml"),
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: bench\n  region: us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("tierui.yaml"),
        "name: bench\nclusters:\n  - name: bench\n    provisioner: eksctl\n    config: cluster.yaml\n    region: us-east-1\n    context: bench\n",
    )
    .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sim.kubeconfig_yaml("bench")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tierui"))
        .arg("--workspace")
        .arg(&ws)
        .args(["watch", "-A", "--cluster", "bench", "--json", "--for", "3s"])
        .env("KUBECONFIG", &kubeconfig)
        .env("TIERUI_STATE_DIR", dir.path().join("state"))
        .env("TIERUI_CONFIG_DIR", dir.path().join("config"))
        .output()
        .expect("run tierui");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let pods: Vec<(String, String)> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .filter(|e| e["type"] == "ADDED" && e["object"]["kind"] == "Pod")
        .map(|e| {
            (
                e["object"]["namespace"].as_str().unwrap().to_string(),
                e["object"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(pods.len(), 5, "every pod once: {pods:?}");
    let namespaces: std::collections::BTreeSet<&str> =
        pods.iter().map(|(ns, _)| ns.as_str()).collect();
    assert_eq!(
        namespaces.into_iter().collect::<Vec<_>>(),
        ["load-000", "load-001", "load-002"]
    );
    assert!(
        stderr.contains("bench (all namespaces): pods: live"),
        "{stderr}"
    );
    rt.block_on(sim.shutdown());
}
