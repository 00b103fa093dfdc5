//! Objects tierui did not create, against the simulator over HTTP with kubectl
//! as the other client: client-side `kubectl apply`, `kubectl create`,
//! `kubectl patch`. The diff names the field managers, apply stops on their
//! fields until forced, client-side apply's fields move to tierui, and pruning
//! removes exactly what tierui applied for the release.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Sandbox;
use tierui_sim::{SimConfig, start};

struct Env {
    sb: Sandbox,
    ws: PathBuf,
    kubeconfig: PathBuf,
}

impl Env {
    /// tierui with `answers` on stdin: (exit code, stdout, stderr).
    fn tierui(&self, args: &[&str], answers: &str) -> (i32, String, String) {
        use std::io::Write as _;
        let mut child = self
            .sb
            .command()
            .current_dir(&self.ws)
            .env("KUBECONFIG", &self.kubeconfig)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tierui");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answers.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn kubectl(&self, args: &[&str]) -> String {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
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

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json", "--show-managed-fields"]);
        serde_json::from_str(&self.kubectl(&a)).unwrap()
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let p = self.ws.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file} has no {from}");
        std::fs::write(&p, text.replace(from, to)).unwrap();
    }
}

fn managers(obj: &serde_json::Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|e| e["manager"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn owner_of(obj: &serde_json::Value, path: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for e in obj["metadata"]["managedFields"].as_array().unwrap() {
        let mut cur = &e["fieldsV1"];
        for p in path {
            cur = &cur[*p];
        }
        if !cur.is_null() {
            out.push(e["manager"].as_str().unwrap().to_string());
        }
    }
    out
}

fn setup(sim_url_kubeconfig: &str, dir: &Path) -> Env {
    let ws = dir.join("ws");
    tierui_core::paths::extract_demo(&ws).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, sim_url_kubeconfig).unwrap();
    Env {
        sb: Sandbox::new(),
        ws,
        kubeconfig,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_of_other_managers_are_named_taken_only_when_forced_and_pruned_exactly() {
    let sim = start(SimConfig {
        cluster_name: "dusk".into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = setup(&sim.kubeconfig_yaml("dusk"), dir.path());
    tokio::task::block_in_place(|| scenario(&e));
    sim.shutdown().await;
}

fn scenario(e: &Env) {
    // Deployed by kubectl, not tierui: client-side apply, then a patch.
    let ns = e.ws.join("k8s/dusk/namespace.yaml");
    e.kubectl(&["apply", "-f", ns.to_str().unwrap()]);
    let dusk = e.ws.join("k8s/dusk");
    // Every file by client-side apply, but the Service by `kubectl create`.
    for f in ["configmap", "deployment", "hpa", "ingress"] {
        let file = dusk.join(format!("{f}.yaml"));
        e.kubectl(&["apply", "-f", file.to_str().unwrap()]);
    }
    let service = dusk.join("service.yaml");
    e.kubectl(&["create", "-f", service.to_str().unwrap()]);
    e.kubectl(&[
        "-n",
        "dusk-service",
        "patch",
        "configmap",
        "dusk-service",
        "--type=merge",
        "-p",
        r#"{"data":{"FEATURE_FLAGS":"search"}}"#,
    ]);
    e.kubectl(&[
        "-n",
        "dusk-service",
        "create",
        "configmap",
        "by-hand",
        "--from-literal=a=b",
    ]);
    e.edit("k8s/dusk/deployment.yaml", "v2.4.1", "v2.5.0");
    e.edit(
        "k8s/dusk/service.yaml",
        "  labels:\n    app: dusk-service",
        "  labels:\n    app: dusk",
    );

    // The diff names who owns each changed field.
    let (code, out, err) = e.tierui(&["diff", "dusk-service", "--json"], "");
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let owners: Vec<(String, String)> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| {
            let kind = o["kind"].as_str().unwrap().to_string();
            o["owners"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |f| {
                    (
                        format!("{kind} {}", f["path"].as_str().unwrap()),
                        f["managers"][0].as_str().unwrap().to_string(),
                    )
                })
        })
        .collect();
    assert_eq!(
        owners,
        [
            (
                "ConfigMap data.FEATURE_FLAGS".to_string(),
                "kubectl-patch".to_string()
            ),
            (
                "Deployment spec.template.spec.containers[name=dusk-service].image".to_string(),
                "kubectl-client-side-apply".to_string()
            ),
            (
                "Service metadata.labels.app".to_string(),
                "kubectl-create".to_string()
            ),
        ],
        "{out}"
    );
    let (_, _, text_err) = e.tierui(&["diff", "dusk-service"], "");
    assert!(
        text_err.contains(
            "owner: dusk-service/ConfigMap/dusk-service data.FEATURE_FLAGS ← kubectl-patch"
        ),
        "{text_err}"
    );

    // Without force the server stops on kubectl-patch's field; with --yes
    // nothing asks, so the run fails and says how to take it.
    let (code, out, err) = e.tierui(&["apply", "dusk-service", "--yes"], "");
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("conflict with \"kubectl-patch\" using v1: .data.FEATURE_FLAGS"),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    let cm = e.json(&["-n", "dusk-service", "get", "configmap", "dusk-service"]);
    assert_eq!(cm["data"]["FEATURE_FLAGS"], "search", "not taken");
    // The Deployment applied: kubectl's client-side fields moved to tierui
    // (kubectl's own upgrade), without a conflict and without the annotation.
    let dep = e.json(&["-n", "dusk-service", "get", "deployment", "dusk-service"]);
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/example/dusk-service:v2.5.0"
    );
    assert!(
        !managers(&dep).contains(&"kubectl-client-side-apply".to_string()),
        "{:?}",
        managers(&dep)
    );
    assert!(
        dep["metadata"]["annotations"]
            .get("kubectl.kubernetes.io/last-applied-configuration")
            .is_none()
    );

    // Asked, "n" to the second question leaves the field with its manager…
    let (code, _, err) = e.tierui(&["apply", "dusk-service"], "y\nn\n");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Take ownership of those fields from kubectl-create, kubectl-patch"),
        "{err}"
    );
    assert_eq!(
        owner_of(
            &e.json(&["-n", "dusk-service", "get", "cm", "dusk-service"]),
            &["f:data", "f:FEATURE_FLAGS"]
        ),
        ["kubectl-patch"]
    );
    // …and --force-conflicts takes it: tierui owns the field now.
    let (code, out, err) = e.tierui(&["apply", "dusk-service", "--yes", "--force-conflicts"], "");
    assert_eq!(code, 0, "{out}{err}");
    let cm = e.json(&["-n", "dusk-service", "get", "cm", "dusk-service"]);
    assert_eq!(cm["data"]["FEATURE_FLAGS"], "search,checkout");
    assert_eq!(owner_of(&cm, &["f:data", "f:FEATURE_FLAGS"]), ["tierui"]);
    let svc = e.json(&["-n", "dusk-service", "get", "service", "dusk-service"]);
    assert_eq!(svc["metadata"]["labels"]["app"], "dusk");
    assert_eq!(
        owner_of(&svc, &["f:metadata", "f:labels", "f:app"]),
        ["tierui"],
        "kubectl-create's field is tierui's now"
    );
    let (code, _, _) = e.tierui(&["diff", "dusk-service"], "");
    assert_eq!(code, 0, "in sync after the forced apply");

    // Pruning: the Ingress leaves the manifests. It shows as deleted, "n"
    // deletes nothing, "y" deletes it — and never the ConfigMap made by hand.
    std::fs::remove_file(e.ws.join("k8s/dusk/ingress.yaml")).unwrap();
    let (code, out, _) = e.tierui(&["diff", "dusk-service", "--json"], "");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let changed: Vec<String> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["change"] != "same")
        .map(|o| {
            format!(
                "{} {}/{}",
                o["change"].as_str().unwrap(),
                o["kind"].as_str().unwrap(),
                o["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(changed, ["deleted Ingress/dusk-service"], "{out}");
    let (code, _, err) = e.tierui(&["apply", "dusk-service"], "n\n");
    assert_eq!(code, 1);
    assert!(
        err.contains("prune: dusk-service/Ingress/dusk-service"),
        "{err}"
    );
    e.kubectl(&["-n", "dusk-service", "get", "ingress", "dusk-service"]);
    let (code, out, err) = e.tierui(&["apply", "dusk-service"], "y\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("dusk-service/Ingress/dusk-service pruned"),
        "{out}"
    );
    let left = e.kubectl(&[
        "-n",
        "dusk-service",
        "get",
        "ingress,configmap",
        "-o",
        "name",
    ]);
    assert_eq!(
        left.lines().collect::<Vec<_>>(),
        ["configmap/by-hand", "configmap/dusk-service"],
        "only the Ingress went"
    );
    let (code, _, _) = e.tierui(&["diff", "dusk-service"], "");
    assert_eq!(code, 0);
    // The apply set's parent is kubectl's convention: kubectl reads it as a
    // set managed by other tooling and refuses to touch it.
    let parent = e.json(&["-n", "dusk-service", "get", "secret", "tierui-dusk-service"]);
    assert_eq!(
        parent["metadata"]["labels"]["applyset.kubernetes.io/id"],
        tierui_core::render::applyset::ApplySet::for_release("dusk-service", "dusk-service").id()
    );
    let out = Command::new("kubectl")
        .env("KUBECTL_APPLYSET", "true")
        .arg("--kubeconfig")
        .arg(&e.kubeconfig)
        .args([
            "apply",
            "--server-side",
            "--prune",
            "--applyset=tierui-dusk-service",
            "-n",
            "dusk-service",
            "--dry-run=server",
            "-f",
        ])
        .arg(&dusk)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("managed by tooling \"tierui\""), "{err}");
}
