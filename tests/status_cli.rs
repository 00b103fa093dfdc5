//! `tierui status`: the workspace model without the UI, on the demo and on
//! workspaces with broken files.

mod common;

use common::Sandbox;
use serde_json::Value;

fn status(sb: &Sandbox, cwd: &std::path::Path, args: &[&str]) -> (i32, Value, String) {
    let out = sb
        .command()
        .current_dir(cwd)
        .arg("status")
        .arg("--json")
        .args(args)
        .output()
        .expect("run tierui");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json, text)
}

#[test]
fn demo_has_three_clusters_and_four_releases() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    let (code, json, text) = status(&sb, empty.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(json["workspace"]["mode"], "sandbox");
    let names: Vec<_> = json["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["day", "dusk", "dawn"]);
    let releases: Vec<_> = json["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["service"].as_str().unwrap(),
                r["environment"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        releases,
        [
            "day-service/dev",
            "day-service/production",
            "dawn-service/-",
            "dusk-service/production"
        ]
    );
    assert_eq!(json["problems"], serde_json::json!([]));
    let prod = &json["releases"][1];
    assert_eq!(
        (
            prod["cluster"].as_str(),
            prod["imageTag"].as_str(),
            prod["replicas"].as_i64()
        ),
        (Some("day"), Some("v1.2.3"), Some(3))
    );
    assert_eq!(prod["config"]["day-service:api_key"], "[secret]");
    assert_eq!(
        json["clusters"][0]["checkpoint"]["outputs"]["kubeconfig"],
        "[secret]"
    );
    // No ciphertext or secret marker ever reaches the output.
    assert!(
        !text.contains("AAAB")
            && !text.contains("ciphertext")
            && !text.contains("4dabf18193072939515e22adb298388d")
    );
}

#[test]
fn discovery_finds_the_same_layout_without_tierui_yaml() {
    let sb = Sandbox::new();
    let ws = tempfile::tempdir().unwrap();
    tierui_core::paths::extract_demo(ws.path()).unwrap();
    std::fs::remove_file(ws.path().join("tierui.yaml")).unwrap();
    let (code, json, text) = status(&sb, ws.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(json["workspace"]["mode"], "live");
    assert_eq!(json["workspace"]["descriptor"], Value::Null);
    assert_eq!(json["clusters"].as_array().unwrap().len(), 3);
    assert_eq!(json["releases"].as_array().unwrap().len(), 4);
    let dev = json["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["environment"] == "dev")
        .unwrap();
    assert_eq!(
        dev["cluster"], "dusk",
        "cluster found through the StackReference"
    );
}

fn write(root: &std::path::Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

#[test]
fn broken_files_are_problems_and_the_rest_still_loads() {
    let sb = Sandbox::new();
    let ws = tempfile::tempdir().unwrap();
    let root = ws.path();
    write(root, "tierui.yaml", b"name: broken\nclusters:\n  - name: east\n    provisioner: eksctl\n    config: east.yaml\n  - name: west\n    provisioner: eksctl\n    config: west.yaml\nservices:\n  - name: web\n    manager: kubectl\n    manifests: k8s/web\n    cluster: east\n  - name: api\n    manager: kubectl\n    manifests: k8s/api\n    cluster: west\n");
    write(root, "east.yaml", b"apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: east\n  region: us-east-1\nmanagedNodeGroups:\n  - name: ng\n    desiredCapacity: lots\n");
    write(root, "west.yaml", b"\xff\xfe\x00\x01binary junk");
    write(
        root,
        "k8s/web/deploy.yaml",
        b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: [1\n",
    );
    write(
        root,
        "k8s/web/cm.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {A: b}\n",
    );
    write(root, "k8s/web/empty.yaml", b"");
    write(
        root,
        "k8s/api/svc.yaml",
        b"apiVersion: v1\nmetadata:\n  name: api\n",
    );
    let (code, json, text) = status(&sb, root, &[]);
    assert_eq!(code, 1, "errors make status exit 1: {text}");
    let problems: Vec<String> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}:{}:{} {}",
                p["file"].as_str().unwrap(),
                p["line"],
                p["col"],
                p["message"].as_str().unwrap()
            )
        })
        .collect();
    assert!(problems.contains(&"east.yaml:8:22 managedNodeGroups[0].desiredCapacity must be an integer, found a string".to_string()), "{problems:#?}");
    assert!(
        problems.contains(&"west.yaml:1:1 not UTF-8 text (binary file?)".to_string()),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("k8s/web/deploy.yaml:6:")),
        "{problems:#?}"
    );
    assert!(
        problems.contains(&"k8s/api/svc.yaml:1:1 document 1: missing kind".to_string()),
        "{problems:#?}"
    );
    // What could be read is still there.
    assert_eq!(json["clusters"].as_array().unwrap().len(), 2);
    let web = &json["releases"][0];
    assert_eq!(web["objects"], serde_json::json!(["ConfigMap/web"]));
}

#[test]
fn missing_workspace_dir_is_a_clear_error() {
    let sb = Sandbox::new();
    let out = sb
        .command()
        .args(["status", "--workspace", "/nonexistent/foundation"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "tierui: --workspace /nonexistent/foundation: no such folder"
    );
}

/// `status --live`: each release's sync and health from its cluster (the
/// sandbox's simulated clusters, reached over HTTP by the same client as a
/// real cluster), and `--strict` for CI.
#[test]
fn live_status_carries_every_release_sync_and_health() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    let (code, json, text) = status(&sb, empty.path(), &["--live"]);
    assert_eq!(code, 0, "without --strict the states do not fail: {text}");
    let release = |json: &Value, service: &str| -> Value {
        json["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["service"] == service
                    && (r["environment"] == "production" || r["environment"].is_null())
            })
            .cloned()
            .unwrap()
    };
    for service in ["day-service", "dusk-service"] {
        let r = release(&json, service);
        assert_eq!(r["sync"]["word"], "Synced", "{r}");
        assert_eq!(r["sync"]["state"], "in_sync", "{r}");
        // Fresh simulated pods may still be starting.
        let health = r["health"]["word"].as_str().unwrap();
        assert!(["Healthy", "Progressing"].contains(&health), "{r}");
        assert!(r["live"]["desired"].as_i64().unwrap() >= 3, "{r}");
        assert_eq!(r["lastChange"]["manager"], "tierui", "{r}");
    }
    // dawn does not exist: its release is missing, and --strict says so.
    let dawn = release(&json, "dawn-service");
    assert_eq!(dawn["sync"]["word"], "Missing", "{dawn}");
    assert_eq!(dawn["health"]["word"], "Missing", "{dawn}");
    let (code, _, _) = status(&sb, empty.path(), &["--strict"]);
    assert_eq!(code, 1, "--strict fails on a missing release");

    // An edit on disk: out of sync, naming the object and the path.
    let file = sb.state().join("demo/foundation/k8s/dusk/deployment.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("dusk-service:v2.4.1", "dusk-service:v2.5.0"),
    )
    .unwrap();
    let (_, json, _) = status(&sb, empty.path(), &["--live"]);
    let dusk = release(&json, "dusk-service");
    assert_eq!(dusk["sync"]["word"], "OutOfSync", "{dusk}");
    assert_eq!(
        dusk["sync"]["objects"][0]["object"],
        "Deployment/dusk-service"
    );
    assert_eq!(
        dusk["sync"]["objects"][0]["paths"][0],
        "spec.template.spec.containers[name=dusk-service].image"
    );
    // The text form lists it under RELEASES (live).
    let out = sb
        .command()
        .current_dir(empty.path())
        .args(["status", "--live"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RELEASES (live)"), "{text}");
    assert!(
        text.contains("~1 OutOfSync") && text.contains("Deployment/dusk-service ~spec.template"),
        "{text}"
    );
}

/// `status --live`: the Helm releases each cluster holds, read from Helm's own
/// records (the sandbox seeds the platform's charts on day and dusk); a cluster
/// that does not exist is not asked.
#[test]
fn live_status_lists_each_clusters_helm_releases() {
    let sb = Sandbox::new();
    let empty = tempfile::tempdir().unwrap();
    let (_, json, text) = status(&sb, empty.path(), &["--live"]);
    let cluster = |name: &str| -> Value {
        json["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    for name in ["day", "dusk"] {
        let helm = cluster(name)["helmReleases"].clone();
        let got: Vec<String> = helm
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {helm} / {text}"))
            .iter()
            .map(|r| {
                format!(
                    "{}/{} {}-{} {} r{} {}",
                    r["namespace"].as_str().unwrap(),
                    r["name"].as_str().unwrap(),
                    r["chart"].as_str().unwrap(),
                    r["chartVersion"].as_str().unwrap(),
                    r["appVersion"].as_str().unwrap(),
                    r["revision"],
                    r["status"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "kube-system/aws-load-balancer-controller aws-load-balancer-controller-1.8.1 v2.8.1 r2 deployed",
                "kube-system/metrics-server metrics-server-3.12.1 0.7.1 r1 deployed"
            ],
            "{name}"
        );
        assert_eq!(helm[0]["values"]["clusterName"], name);
    }
    assert!(
        cluster("dawn").get("helmReleases").is_none(),
        "dawn does not exist"
    );
    let out = sb
        .command()
        .current_dir(empty.path())
        .args(["status", "--live"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HELM RELEASES (live)"), "{text}");
    assert!(
        text.lines().any(|l| l.contains("day")
            && l.contains("kube-system/aws-load-balancer-controller")
            && l.contains("rev 2")
            && l.contains("deployed")),
        "{text}"
    );
    assert!(text.contains("dawn     not asked"), "{text}");
}

/// A foundation that breaks each two-tier rule: `tierui status` lists each
/// with its reason and place; `--strict` fails on them.
#[test]
fn two_tier_rules_are_listed_and_strict_fails_on_them() {
    let sb = Sandbox::new();
    let ws = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/two-tier-broken");
    common::pulumi::copy_dir(&src, ws.path());
    let out = sb
        .command()
        .current_dir(ws.path())
        .args(["status"])
        .output()
        .expect("run tierui");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "warnings only: {text}");
    for want in [
        "Warning: infra/Pulumi.yaml:",
        "two-tier: the infra stack of prod declares a Deployment",
        "two-tier: the release web declares an eksctl ClusterConfig",
        "two-tier: the release web declares a Pod directly",
        "two-tier: the app stack of jobs · prod reads its cluster from the default provider",
        "two-tier: ConfigMap shop/shared-config on cluster prod is declared by web and api",
        "two-tier: the Secret web-db in the release web has literal values (DB_PASSWORD, DB_USER)",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }
    assert!(!text.contains("hunter2"), "a Secret's value is never shown");
    let (code, json, text) = status(&sb, ws.path(), &["--strict", "--sandbox"]);
    assert_eq!(code, 1, "--strict fails on a broken rule: {text}");
    let rules = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["message"].as_str().unwrap().starts_with("two-tier: "))
        .count();
    assert_eq!(rules, 12);
}
