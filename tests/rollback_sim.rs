//! Rolling a Deployment back against `tierui sim`, confirmed by stock kubectl:
//! a Deployment created and rolled forward twice by kubectl (not by tierui),
//! rolled back to revision 1 by tierui's backend the way `kubectl rollout
//! undo --to-revision=1` does; `kubectl rollout history` and the pods' images
//! say it happened. Fails (never skips) without kubectl.

#[path = "sim_support.rs"]
mod support;

use std::time::Duration;

use support::{SimProcess, wait_until};
use tierui_backends::kube::connect::{Endpoint, client};
use tierui_backends::kube::rollback;

const WEB: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
  annotations:
    kubernetes.io/change-cause: "first release v1"
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: shop/web:v1
"#;

fn images(sim: &SimProcess) -> Vec<String> {
    let out = sim.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[?(@.status.phase==\"Running\")]}{.spec.containers[0].image}{\"\\n\"}{end}",
    ]);
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn roll_to(sim: &SimProcess, tag: &str) {
    sim.ok(&[
        "set",
        "image",
        "deployment/web",
        &format!("web=shop/web:{tag}"),
    ]);
    sim.ok(&[
        "annotate",
        "deployment/web",
        "--overwrite",
        &format!("kubernetes.io/change-cause=roll to {tag}"),
    ]);
    sim.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
}

#[test]
fn a_deployment_rolled_forward_twice_goes_back_to_revision_1() {
    let sim = SimProcess::start(&["--speed", "20"]);
    let path = sim.dir.path().join("web.yaml");
    std::fs::write(&path, WEB).unwrap();
    sim.ok(&["apply", "-f", path.to_str().unwrap()]);
    sim.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    roll_to(&sim, "v2");
    roll_to(&sim, "v3");
    let before = sim.ok(&["rollout", "history", "deployment/web"]);
    assert!(before.contains("first release v1"), "{before}");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{}", sim.port);
    let c = rt.block_on(client(&Endpoint::Url(url))).unwrap();
    let h = rt
        .block_on(rollback::history(&c, "default", "web"))
        .unwrap();
    let revs: Vec<(i64, String, bool)> = h
        .revisions
        .iter()
        .map(|r| (r.revision, r.images[0].1.clone(), r.current))
        .collect();
    assert_eq!(
        revs,
        vec![
            (3, "shop/web:v3".into(), true),
            (2, "shop/web:v2".into(), false),
            (1, "shop/web:v1".into(), false)
        ]
    );
    assert_eq!(
        h.revision(1).unwrap().change_cause.as_deref(),
        Some("first release v1")
    );
    let diff = h.template_diff(h.revision(1).unwrap());
    assert!(
        diff.iter()
            .any(|l| l.starts_with('+') && l.contains("shop/web:v1")),
        "{diff:?}"
    );

    let said = rt
        .block_on(rollback::undo(&c, "default", "web", 1))
        .unwrap();
    assert_eq!(said, "deployment.apps/web rolled back to revision 1");
    sim.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    wait_until("every pod back on v1", Duration::from_secs(60), || {
        images(&sim) == ["shop/web:v1", "shop/web:v1"]
    });
    // kubectl sees what `rollout undo` would have left: revision 1 became 4,
    // with its change-cause.
    let after = sim.ok(&["rollout", "history", "deployment/web"]);
    let rows: Vec<&str> = after
        .lines()
        .filter(|l| l.trim_start().starts_with(char::is_numeric))
        .collect();
    assert_eq!(rows.len(), 3, "{after}");
    assert!(
        rows.iter()
            .any(|l| l.starts_with('4') && l.contains("first release v1")),
        "{after}"
    );
    assert!(!rows.iter().any(|l| l.starts_with("1 ")), "{after}");
    let rev4 = sim.ok(&["rollout", "history", "deployment/web", "--revision=4"]);
    assert!(rev4.contains("shop/web:v1"), "{rev4}");

    // Undoing to what runs now is refused in kubectl's words.
    let again = rt.block_on(rollback::undo(&c, "default", "web", 4));
    assert!(
        again
            .as_ref()
            .is_err_and(|e| e.contains("already matches revision 4")),
        "{again:?}"
    );
    // A revision that does not exist is named.
    let none = rt.block_on(rollback::undo(&c, "default", "web", 9));
    assert!(
        none.as_ref()
            .is_err_and(|e| e.contains("unable to find revision 9")),
        "{none:?}"
    );
}
