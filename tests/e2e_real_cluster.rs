//! End-to-end in tmux, as on a real account: a cluster populated by kubectl and
//! Helm — not by tierui — reached through a kubeconfig written like `aws eks
//! update-kubeconfig` (ARN context, exec plugin) and matched through
//! DescribeCluster (moto). tierui names the context and why, shows who owns each
//! changed field, applies only after the conflict is confirmed, prunes exactly
//! what it applied, and lists the Helm releases.

mod common;

use std::process::Command;
use std::time::Duration;

use common::moto;
use common::tmux::Tmux;

/// metrics-server revision 3, deployed, as `helm upgrade` stores it.
const HELM_RECORD: &str = r#"
import base64, gzip, json
release = {"name": "metrics-server", "namespace": "kube-system", "version": 3,
  "info": {"status": "deployed", "first_deployed": "2026-10-01T09:00:00Z",
           "last_deployed": "2026-11-30T10:00:00Z", "deleted": "", "description": "Upgrade complete"},
  "chart": {"metadata": {"name": "metrics-server", "version": "3.12.1", "appVersion": "0.7.1", "apiVersion": "v2"}},
  "config": {"args": ["--kubelet-insecure-tls"]}, "manifest": "", "hooks": []}
payload = base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()
print(json.dumps({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
  "metadata": {"name": "sh.helm.release.v1.metrics-server.v3", "namespace": "kube-system",
               "labels": {"owner": "helm", "name": "metrics-server", "status": "deployed", "version": "3"}},
  "data": {"release": base64.b64encode(payload.encode()).decode()}}))
"#;

fn kubectl(kubeconfig: &std::ffi::OsStr, path: &std::ffi::OsStr, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .env("PATH", path)
        .args(args)
        .output()
        .expect("kubectl must be installed (the README's test command installs it)");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_cluster_kubectl_and_helm_populated_is_found_owned_fields_confirmed_and_pruned() {
    let _one = moto::MOTO.lock().unwrap_or_else(|e| e.into_inner());
    let e = moto::env();
    let ws = e.ws.path();
    e.without_contexts();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let arn = rt.block_on(e.create_cluster("dawn"));
    let sim = rt
        .block_on(tierui_sim::start(tierui_sim::SimConfig {
            cluster_name: "dawn".into(),
            speed: 20.0,
            ..tierui_sim::SimConfig::default()
        }))
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    moto::fake_aws(&bin, None);
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        moto::eks_kubeconfig(&arn, &sim.url(), "dawn", "eu-west-1"),
    )
    .unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.clone())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let (kco, patho) = (kc.clone().into_os_string(), path.clone());
    let k = |args: &[&str]| kubectl(&kco, &patho, args);

    // Populated by others: client-side kubectl apply, a patch, a ConfigMap by hand.
    let manifests = ws.join("k8s/dawn");
    k(&[
        "apply",
        "-f",
        manifests.join("namespace.yaml").to_str().unwrap(),
    ]);
    k(&["apply", "-f", manifests.to_str().unwrap()]);
    k(&[
        "-n",
        "dawn-service",
        "patch",
        "configmap",
        "dawn-service",
        "--type=merge",
        "-p",
        r#"{"data":{"FEATURE_FLAGS":"search"}}"#,
    ]);
    k(&[
        "-n",
        "dawn-service",
        "create",
        "configmap",
        "by-hand",
        "--from-literal=a=b",
    ]);
    // A Helm release record as Helm writes it (JSON, gzip, base64, in a Secret
    // of type helm.sh/release.v1) — made here with Python, not with tierui.
    let record = Command::new("python3")
        .args(["-c", HELM_RECORD])
        .output()
        .expect("python3");
    assert!(
        record.status.success(),
        "{}",
        String::from_utf8_lossy(&record.stderr)
    );
    let secret = dir.path().join("helm-secret.json");
    std::fs::write(&secret, &record.stdout).unwrap();
    k(&["create", "-f", secret.to_str().unwrap()]);

    let line = format!(
        "env TIERUI_STATE_DIR='{}' TIERUI_CONFIG_DIR='{}' KUBECONFIG='{}' PATH='{}' AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing '{}' --endpoint-url {} --workspace '{}'",
        e.sb.state().display(),
        e.sb.config().display(),
        kc.display(),
        path.to_string_lossy(),
        env!("CARGO_BIN_EXE_tierui"),
        e.url,
        ws.display()
    );
    // Tall enough for the dawn pane's drift and its Helm table below it.
    let t = Tmux::start(&line, 160, 70);
    t.wait_text("Releases (4)");
    // The dawn cluster: its context found by ARN, and why.
    t.send(&["G"]);
    t.wait_for("dawn's context", Duration::from_secs(30), |s| {
        s.contains("named by the cluster's ARN")
    });
    // …and the Helm releases installed in it, read from Helm's own records.
    let pane = t.wait_for("dawn's Helm releases", Duration::from_secs(30), |s| {
        s.contains("Helm releases (1")
    });
    assert!(
        pane.contains("metrics-server") && pane.contains("3.12.1") && pane.contains("0.7.1"),
        "{pane}"
    );
    // dawn-service: the drift names the owner of each changed field.
    t.send(&["Tab"]);
    t.send(&["-l", "/dawn-service"]);
    t.send(&["Enter"]);
    t.send(&["a"]);
    let drift = t.wait_for("the drift", Duration::from_secs(60), |s| {
        s.contains("~ dawn-service/ConfigMap/dawn-service")
    });
    assert!(drift.contains("1 changed"), "{drift}");
    // The cursor is on the first change: its fields and their owner.
    t.wait_text("data.FEATURE_FLAGS  ← kubectl-patch");
    t.send(&["a"]);
    let ask = t.wait_text("y applies");
    assert!(
        ask.contains("Fields owned by other field managers: kubectl-patch"),
        "{ask}"
    );
    t.send(&["y"]);
    // The server stops on kubectl-patch's field: a second question names it.
    let second = t.wait_text("Take ownership in dawn-service");
    assert!(
        second.contains("conflict with \"kubectl-patch\""),
        "{second}"
    );
    let cm = k(&[
        "-n",
        "dawn-service",
        "get",
        "cm",
        "dawn-service",
        "-o",
        "jsonpath={.data.FEATURE_FLAGS}",
    ]);
    assert_eq!(cm, "search", "nothing taken before the answer");
    t.send(&["y"]);
    t.wait_text("following the rollout");
    let cm = k(&[
        "-n",
        "dawn-service",
        "get",
        "cm",
        "dawn-service",
        "-o",
        "jsonpath={.data.FEATURE_FLAGS}",
    ]);
    assert_eq!(cm, "search,checkout");
    t.send(&["Escape"]);
    t.wait_text("Releases (1)");

    // The Ingress leaves the manifests: deleted in the drift, pruned after y.
    std::fs::remove_file(manifests.join("ingress.yaml")).unwrap();
    // The home screen sees the change on disk (and the monitor the drift).
    t.wait_text("workspace reloaded");
    t.wait_for("dawn-service out of sync", Duration::from_secs(30), |s| {
        s.contains("dawn-service  —    ~1")
    });
    t.send(&["a"]);
    t.wait_for("the prune in the drift", Duration::from_secs(60), |s| {
        s.contains("- dawn-service/Ingress/dawn-service")
    });
    t.send(&["a"]);
    let ask = t.wait_text("y applies");
    assert!(
        ask.contains("Deletes dawn-service/Ingress/dawn-service"),
        "{ask}"
    );
    t.send(&["y"]);
    t.wait_text("pruned 1");
    let left = k(&[
        "-n",
        "dawn-service",
        "get",
        "ingress,configmap",
        "-o",
        "name",
    ]);
    assert_eq!(
        left.lines().collect::<Vec<_>>(),
        ["configmap/by-hand", "configmap/dawn-service"],
        "exactly the Ingress went"
    );
    t.send(&["Escape"]);
    t.wait_text("Releases (1)");
    // :KIND through the same kubeconfig (ARN context, exec plugin): the
    // ConfigMaps kubectl made, in the server's own columns.
    t.send(&[":", "cm", "Enter"]);
    t.wait_for("ConfigMaps by :cm", Duration::from_secs(30), |s| {
        s.contains("configmaps on ") && s.contains("DATA") && s.contains("by-hand")
    });
    t.send(&["Escape"]);
    t.wait_text("Releases (1)");
    // Esc clears the filter, then q quits.
    t.send(&["Escape"]);
    t.wait_text("Releases (4)");
    t.send(&["q"]);
    t.wait_text("EXITED:0");
    rt.block_on(sim.shutdown());
}
