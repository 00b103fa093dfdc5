//! `tierui migrate --to kubectl` outside the sandbox: day-service production's
//! objects applied by kubectl under a Pulumi field manager (not by tierui),
//! on a cluster reached through a kubeconfig written like `aws eks
//! update-kubeconfig` (ARN context, exec plugin; the cluster in moto). The
//! proof runs against that cluster, and kubectl's own server-side diff of the
//! written folder agrees that nothing would change.

mod common;

use std::process::Command;

use common::moto;

#[test]
fn a_pulumi_release_applied_by_others_moves_to_kubectl_on_a_real_cluster() {
    let _one = moto::MOTO.lock().unwrap_or_else(|e| e.into_inner());
    let e = moto::env();
    let ws = e.ws.path();
    e.without_contexts();
    // This account runs day in eu-west-1.
    let descriptor = ws.join("tierui.yaml");
    let text = std::fs::read_to_string(&descriptor).unwrap();
    std::fs::write(
        &descriptor,
        text.replacen("    region: us-west-2", "    region: eu-west-1", 1),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let arn = rt.block_on(e.create_cluster("day"));
    let sim = rt
        .block_on(tierui_sim::start(tierui_sim::SimConfig {
            cluster_name: "day".into(),
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
        moto::eks_kubeconfig(&arn, &sim.url(), "day", "eu-west-1"),
    )
    .unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.clone())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let kubectl = |args: &[&str]| {
        Command::new("kubectl")
            .env("KUBECONFIG", &kc)
            .env("PATH", &path)
            .args(args)
            .output()
            .expect("kubectl must be installed (the README's test command installs it)")
    };

    // The stack's objects as its program declares them, applied by kubectl
    // under the Pulumi provider's field manager (the Secret's value a stand-in).
    let loaded = tierui_core::workspace::load(ws);
    let r = loaded
        .releases
        .iter()
        .find(|r| r.service == "day-service" && r.environment.as_deref() == Some("production"))
        .unwrap();
    let tools = tierui_core::render::desired::Tools {
        sealed: true,
        renderers: &tierui_core::render::desired::NativeOnly,
    };
    let d = tierui_core::render::desired::render(&loaded, r, &Default::default(), tools).unwrap();
    let items: Vec<serde_json::Value> = d
        .objects
        .into_iter()
        .filter_map(tierui_core::render::holes::stand_in)
        .collect();
    let list = dir.path().join("objects.yaml");
    let docs: Vec<String> = items.iter().map(|o| o.to_string()).collect();
    std::fs::write(&list, docs.join("\n---\n")).unwrap();
    let applied = kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=pulumi-kubernetes-5f8e2a",
        "-n",
        "day-service",
        "-f",
        list.to_str().unwrap(),
    ]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );

    // Migrate, answering nothing (no --yes anywhere).
    let out =
        e.sb.command()
            .current_dir(ws)
            .env("KUBECONFIG", &kc)
            .env("PATH", &path)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .args([
                "--endpoint-url",
                &e.url,
                "--workspace",
                ws.to_str().unwrap(),
            ])
            .args([
                "migrate",
                "day-service",
                "--env",
                "production",
                "--to",
                "kubectl",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run tierui");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("no differences, object by object"),
        "{stdout}"
    );
    let folder = ws.join("k8s/day-service-production");
    let deployment = std::fs::read_to_string(folder.join("deployment.yaml")).unwrap();
    assert!(
        !deployment.contains("managedFields") && !deployment.contains("uid:"),
        "{deployment}"
    );
    // kubectl, an independent client, sees no change from the new folder.
    let diff = kubectl(&["diff", "--server-side", "-f", folder.to_str().unwrap()]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&diff.stdout),
        String::from_utf8_lossy(&diff.stderr)
    );
    drop(sim);
}
