//! `tierui migrate` on the demo in the sandbox: dusk-service (kubectl YAML) to
//! a Pulumi app stack and day-service production (a Pulumi stack) to kubectl
//! YAML, each with an empty proof, then switched over in tierui.yaml: the diff
//! of the new form against the cluster is empty, the apply changes nothing,
//! and every object keeps its uid (nothing recreated).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::Sandbox;

fn run(sb: &Sandbox, ws: &Path, args: &[&str]) -> (i32, String, String) {
    let out = sb
        .command()
        .current_dir(ws)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run tierui");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `Kind/namespace/name` → uid of every object the simulated cluster keeps
/// (its persisted state) in `namespace`.
fn uids(sb: &Sandbox, cluster: &str, namespace: &str) -> BTreeMap<String, String> {
    let file = common::find_file(&sb.state().join("workspaces"), &format!("{cluster}.json"))
        .expect("the sandbox cluster's state");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for o in state["objects"].as_array().unwrap() {
        let ns = o.pointer("/metadata/namespace").and_then(|v| v.as_str());
        let name = o.pointer("/metadata/name").and_then(|v| v.as_str());
        let (kind, uid) = (
            o["kind"].as_str(),
            o.pointer("/metadata/uid").and_then(|v| v.as_str()),
        );
        let mine = ns == Some(namespace) || (kind == Some("Namespace") && name == Some(namespace));
        if let (true, Some(kind), Some(name), Some(uid)) = (mine, kind, name, uid)
            && !matches!(
                kind,
                "Pod" | "ReplicaSet" | "Event" | "EndpointSlice" | "Endpoints"
            )
        {
            out.insert(
                format!("{kind}/{}/{name}", ns.unwrap_or("")),
                uid.to_string(),
            );
        }
    }
    out
}

fn replace(file: &Path, old: &str, new: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(old), "{old} in {}", file.display());
    std::fs::write(file, text.replace(old, new)).unwrap();
}

const DUSK_KUBECTL: &str = "  - name: dusk-service
    manager: kubectl
    manifests: k8s/dusk
    cluster: dusk
    namespace: dusk-service
    environments:
      - name: production";

const DUSK_PULUMI: &str = "  - name: dusk-service
    manager: pulumi
    project: gitops/dusk-service
    namespace: dusk-service
    environments:
      - name: production
        stack: production
        cluster: dusk";

const DAY_PULUMI: &str = "  - name: day-service
    manager: pulumi
    project: gitops/pulumi_deploy
    namespace: day-service
    environments:
      - name: dev
        stack: dev
        cluster: dusk
        namespace: day-service-dev
      - name: production
        stack: production
        cluster: day";

const DAY_KUBECTL: &str = "  - name: day-service
    manager: kubectl
    manifests: k8s/day-service-production
    cluster: day
    namespace: day-service
    environments:
      - name: production";

#[test]
fn both_ways_with_empty_proofs_and_nothing_recreated() {
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    tierui_core::paths::extract_demo(ws).unwrap();
    // The sandbox runs both releases as deployed (its first start seeds them).
    for args in [
        &["diff", "dusk-service", "--sandbox"][..],
        &["diff", "day-service", "--env", "production", "--sandbox"],
    ] {
        let (code, out, err) = run(&sb, ws, args);
        assert_eq!(code, 0, "{out}{err}");
    }
    let dusk_before = uids(&sb, "dusk", "dusk-service");
    let day_before = uids(&sb, "day", "day-service");
    assert!(
        dusk_before.contains_key("Deployment/dusk-service/dusk-service"),
        "{dusk_before:?}"
    );
    assert!(
        day_before.contains_key("Deployment/day-service/day-service"),
        "{day_before:?}"
    );

    // kubectl → Pulumi: the proof, the project, the note left in the old folder.
    let (code, out, err) = run(
        &sb,
        ws,
        &["migrate", "dusk-service", "--to", "pulumi", "--sandbox"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no differences, object by object"), "{out}");
    assert!(
        out.contains("config dusk-service:image_tag = v2.4.1"),
        "{out}"
    );
    let project = std::fs::read_to_string(ws.join("gitops/dusk-service/Pulumi.yaml")).unwrap();
    assert!(
        project.contains("import: dusk-service/dusk-service"),
        "{project}"
    );
    assert!(ws.join("k8s/dusk/MIGRATED.md").is_file());
    // Nothing is overwritten.
    let (code, _, err) = run(
        &sb,
        ws,
        &["migrate", "dusk-service", "--to", "pulumi", "--sandbox"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("gitops/dusk-service exists and is not empty"),
        "{err}"
    );
    // The switch-over: the service is now the Pulumi release.
    replace(&ws.join("tierui.yaml"), DUSK_KUBECTL, DUSK_PULUMI);
    let (code, out, err) = run(&sb, ws, &["diff", "dusk-service", "--sandbox"]);
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "the new stack matches the cluster: {err}"
    );
    let (code, out, err) = run(&sb, ws, &["apply", "dusk-service", "--sandbox", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing to apply"), "{out}");
    // The generated stack keeps the two-tier rules.
    let (_, status, _) = run(&sb, ws, &["status"]);
    assert!(!status.contains("gitops/dusk-service"), "{status}");

    // Pulumi → kubectl: manifests from the live objects, proven against them.
    let (code, out, err) = run(
        &sb,
        ws,
        &[
            "migrate",
            "day-service",
            "--env",
            "production",
            "--to",
            "kubectl",
            "--sandbox",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no differences, object by object"), "{out}");
    assert!(out.contains("pulumi state protect 'urn:pulumi:production::day-service::kubernetes:apps/v1:Deployment::deployment'"), "{out}");
    assert!(
        out.contains("pulumi is not on PATH: run these yourself, in order."),
        "{out}"
    );
    let folder = ws.join("k8s/day-service-production");
    let deployment = std::fs::read_to_string(folder.join("deployment.yaml")).unwrap();
    for gone in [
        "uid:",
        "resourceVersion",
        "managedFields",
        "status:",
        "creationTimestamp",
        "terminationMessagePath",
    ] {
        assert!(!deployment.contains(gone), "{gone} in {deployment}");
    }
    let secret = std::fs::read_to_string(folder.join("secret.yaml.example")).unwrap();
    assert!(
        secret.contains("API_KEY: ''") || secret.contains("API_KEY: \"\""),
        "{secret}"
    );
    assert!(
        !secret.contains("uid:") && !secret.contains("\ndata:"),
        "{secret}"
    );
    replace(&ws.join("tierui.yaml"), DAY_PULUMI, DAY_KUBECTL);
    let (code, out, err) = run(&sb, ws, &["diff", "day-service", "--sandbox"]);
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "the new folder matches the cluster: {err}"
    );
    let (code, out, err) = run(&sb, ws, &["apply", "day-service", "--sandbox", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");

    // Same objects, same uids: nothing was recreated.
    assert_eq!(uids(&sb, "dusk", "dusk-service"), dusk_before);
    assert_eq!(uids(&sb, "day", "day-service"), day_before);
}

#[test]
fn refusals_name_the_reason() {
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    tierui_core::paths::extract_demo(ws).unwrap();
    let (code, _, err) = run(
        &sb,
        ws,
        &["migrate", "dawn-service", "--to", "pulumi", "--sandbox"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("cluster dawn is provisioned by eksctl"),
        "{err}"
    );
    let (code, _, err) = run(
        &sb,
        ws,
        &[
            "migrate",
            "dusk-service",
            "--to",
            "pulumi",
            "--runtime",
            "python",
            "--sandbox",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("give --venv PATH"), "{err}");
    let (code, _, err) = run(
        &sb,
        ws,
        &[
            "migrate",
            "dusk-service",
            "--to",
            "pulumi",
            "--runtime",
            "typescript",
            "--sandbox",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("give --node-modules PATH"), "{err}");
    let (code, _, err) = run(
        &sb,
        ws,
        &["migrate", "dusk-service", "--to", "kubectl", "--sandbox"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("is already a kubectl release"), "{err}");
    let (code, _, err) = run(
        &sb,
        ws,
        &["--readonly", "migrate", "dusk-service", "--to", "pulumi"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--readonly"), "{err}");
}

/// A proof that differs writes nothing unless each difference is accepted:
/// a k3s HelmChart object is not rendered natively from a Pulumi YAML
/// program, so the proof shows it gone from the new form.
#[test]
fn a_differing_proof_writes_only_when_each_difference_is_accepted() {
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    tierui_core::paths::extract_demo(ws).unwrap();
    std::fs::write(
        ws.join("k8s/dusk/helmchart.yaml"),
        "apiVersion: helm.cattle.io/v1\nkind: HelmChart\nmetadata:\n  name: extras\n  namespace: dusk-service\nspec:\n  chart: nginx\n",
    )
    .unwrap();
    let migrate = |answer: &str| {
        run_answering(
            &sb,
            ws,
            &["migrate", "dusk-service", "--to", "pulumi", "--sandbox"],
            answer,
            Path::new("/nonexistent"),
        )
    };
    let (code, out, err) = migrate("n\n");
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("--- kubectl/") && out.contains("HelmChart"),
        "{out}"
    );
    assert!(err.contains("is not accepted: nothing written"), "{err}");
    assert!(!ws.join("gitops/dusk-service").exists());
    let (code, out, err) = migrate("y\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("every difference accepted"), "{out}");
    assert!(ws.join("gitops/dusk-service/Pulumi.yaml").is_file());
}

/// kubectl → a Python Pulumi program, proven by running it under the Pulumi
/// SDK's mocks (the SDK the README's test command installs), then switched
/// over: the program's render against the sandbox cluster is empty.
#[test]
fn to_a_python_program_proven_under_the_sdks_mocks() {
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    tierui_core::paths::extract_demo(ws).unwrap();
    let (code, out, err) = run(&sb, ws, &["diff", "dusk-service", "--sandbox"]);
    assert_eq!(code, 0, "{out}{err}");
    let venv = common::pulumi::sdk("TIERUI_TEST_PULUMI_VENV");
    let venv = venv.to_str().unwrap();
    let (code, out, err) = run(
        &sb,
        ws,
        &[
            "migrate",
            "dusk-service",
            "--to",
            "pulumi",
            "--runtime",
            "python",
            "--venv",
            venv,
            "--sandbox",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "the new Python program, run under the Pulumi SDK's mocks, declares 6 objects"
        ),
        "{out}"
    );
    assert!(out.contains("no differences, object by object"), "{out}");
    let main = std::fs::read_to_string(ws.join("gitops/dusk-service/__main__.py")).unwrap();
    assert!(
        main.contains("image_tag = config.require(\"image_tag\")"),
        "{main}"
    );
    assert!(
        main.contains("opts=adopt(\"dusk-service/dusk-service\")"),
        "{main}"
    );
    assert!(ws.join("gitops/dusk-service/requirements.txt").is_file());
    assert!(
        !ws.join("gitops/.dusk-service.tierui-proof").exists(),
        "the staging folder goes"
    );
    // The switch-over, with the program's toolchain in place.
    std::os::unix::fs::symlink(venv, ws.join("gitops/dusk-service/venv")).unwrap();
    replace(&ws.join("tierui.yaml"), DUSK_KUBECTL, DUSK_PULUMI);
    let (code, out, err) = run(&sb, ws, &["diff", "dusk-service", "--sandbox"]);
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "the program matches the cluster: {err}"
    );
}

/// kubectl → a TypeScript Pulumi program, proven under the SDK's mocks (the
/// node_modules the README's test command installs), then switched over.
#[test]
fn to_a_typescript_program_proven_under_the_sdks_mocks() {
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    tierui_core::paths::extract_demo(ws).unwrap();
    let (code, out, err) = run(&sb, ws, &["diff", "dusk-service", "--sandbox"]);
    assert_eq!(code, 0, "{out}{err}");
    let modules = common::pulumi::sdk("TIERUI_TEST_PULUMI_NODE_MODULES");
    let modules = modules.to_str().unwrap();
    let (code, out, err) = run(
        &sb,
        ws,
        &[
            "migrate",
            "dusk-service",
            "--to",
            "pulumi",
            "--runtime",
            "typescript",
            "--node-modules",
            modules,
            "--sandbox",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "the new TypeScript program, run under the Pulumi SDK's mocks, declares 6 objects"
        ),
        "{out}"
    );
    assert!(out.contains("no differences, object by object"), "{out}");
    let index = std::fs::read_to_string(ws.join("gitops/dusk-service/index.ts")).unwrap();
    assert!(
        index.contains("const imageTag = config.require(\"image_tag\");"),
        "{index}"
    );
    assert!(
        index.contains("image: `ghcr.io/example/dusk-service:${imageTag}`"),
        "{index}"
    );
    assert!(
        index.contains("adopt(\"dusk-service/dusk-service\")"),
        "{index}"
    );
    std::os::unix::fs::symlink(modules, ws.join("gitops/dusk-service/node_modules")).unwrap();
    replace(&ws.join("tierui.yaml"), DUSK_KUBECTL, DUSK_PULUMI);
    let (code, out, err) = run(&sb, ws, &["diff", "dusk-service", "--sandbox"]);
    assert_eq!(
        (code, out.as_str()),
        (0, ""),
        "the program matches the cluster: {err}"
    );
}

/// An object Pulumi names at apply (auto-naming) cannot become a manifest:
/// the migration to kubectl refuses, naming it, and writes nothing.
#[test]
fn an_auto_named_object_stops_the_move_to_kubectl() {
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    tierui_core::paths::extract_demo(ws).unwrap();
    let (code, out, err) = run(
        &sb,
        ws,
        &["diff", "day-service", "--env", "production", "--sandbox"],
    );
    assert_eq!(code, 0, "{out}{err}");
    // The Service loses its name: Pulumi would name it `service-<random>`.
    replace(
        &ws.join("gitops/pulumi_deploy/Pulumi.yaml"),
        "    type: kubernetes:core/v1:Service\n    properties:\n      metadata:\n        name: day-service\n",
        "    type: kubernetes:core/v1:Service\n    properties:\n      metadata:\n",
    );
    let (code, out, err) = run(
        &sb,
        ws,
        &[
            "migrate",
            "day-service",
            "--env",
            "production",
            "--to",
            "kubectl",
            "--sandbox",
        ],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("auto-naming") && err.contains("give it a metadata.name"),
        "{err}"
    );
    assert!(!ws.join("k8s/day-service-production").exists());
}

/// `args` with `answers` on stdin and `path_first` put before PATH.
fn run_answering(
    sb: &Sandbox,
    ws: &Path,
    args: &[&str],
    answers: &str,
    path_first: &Path,
) -> (i32, String, String) {
    use std::io::Write as _;
    let path = format!(
        "{}:{}",
        path_first.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = sb
        .command()
        .current_dir(ws)
        .args(args)
        .env("PATH", path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
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

/// The hand-over with a `pulumi` on PATH and no `--yes`: each step asks; the
/// ones answered y run (in the stack's project folder, with the arguments
/// listed), and a no stops before the rest.
#[test]
fn the_hand_over_asks_before_each_pulumi_step() {
    use std::os::unix::fs::PermissionsExt as _;
    let sb = Sandbox::new();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    tierui_core::paths::extract_demo(&ws).unwrap();
    let (code, out, err) = run(
        &sb,
        &ws,
        &["diff", "day-service", "--env", "production", "--sandbox"],
    );
    assert_eq!(code, 0, "{out}{err}");
    // A stand-in pulumi that records where and how it was run.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.path().join("pulumi.log");
    let script = bin.join("pulumi");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$(pwd) $*\" >> '{}'\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out, err) = run_answering(
        &sb,
        &ws,
        &[
            "migrate",
            "day-service",
            "--env",
            "production",
            "--to",
            "kubectl",
            "--sandbox",
        ],
        "y\ny\nn\n",
        &bin,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.matches("[y/N]").count() >= 3, "each step asked: {err}");
    assert!(
        out.contains("stopped before `pulumi state protect"),
        "{out}"
    );
    let ran = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = ran.lines().collect();
    assert_eq!(lines.len(), 2, "only the two confirmed steps ran: {ran}");
    for l in &lines {
        assert!(
            l.contains(
                "gitops/pulumi_deploy state protect urn:pulumi:production::day-service::kubernetes:"
            ),
            "{l}"
        );
        assert!(l.ends_with("--stack production --yes"), "{l}");
    }
}
