//! Contexts as EKS users have them: a kubeconfig written the way `aws eks
//! update-kubeconfig` writes it (contexts named by the cluster's ARN, an exec
//! credential plugin), split over two KUBECONFIG files, matched to the
//! workspace cluster through DescribeCluster against moto — and then used to
//! reach the cluster (a simulator) for a diff.

mod common;

use std::process::Command;

use common::moto;

#[test]
fn the_arn_named_context_of_update_kubeconfig_is_found_and_used() {
    let _one = moto::MOTO.lock().unwrap_or_else(|e| e.into_inner());
    let e = moto::env();
    let ws = e.ws.path();
    // No `context:` in tierui.yaml: tierui has to find it.
    e.without_contexts();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let arn = rt.block_on(e.create_cluster("dawn"));
    assert_eq!(arn, "arn:aws:eks:eu-west-1:123456789012:cluster/dawn");
    let sim = rt
        .block_on(tierui_sim::start(tierui_sim::SimConfig {
            cluster_name: "dawn".into(),
            ..tierui_sim::SimConfig::default()
        }))
        .unwrap();

    // `aws eks get-token` stands in as the exec plugin; it records its call.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("get-token-ran");
    let bin = dir.path().join("bin");
    moto::fake_aws(&bin, Some(&marker));
    let eks_file = dir.path().join("eks");
    std::fs::write(
        &eks_file,
        moto::eks_kubeconfig(&arn, &sim.url(), "dawn", "eu-west-1"),
    )
    .unwrap();
    let other = dir.path().join("other");
    std::fs::write(
        &other,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: https://127.0.0.1:9\ncontexts:\n- name: lab\n  context:\n    cluster: lab\n    user: lab\ncurrent-context: lab\nusers:\n- name: lab\n  user: {}\n",
    )
    .unwrap();
    let kubeconfig =
        std::env::join_paths([&other, &dir.path().join("missing"), &eks_file]).unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.clone())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let run_with = |kubeconfig: &std::ffi::OsStr, args: &[&str]| {
        let mut c: Command = e.sb.command();
        c.args(args)
            .args(["--endpoint-url", &e.url, "--workspace"])
            .arg(ws)
            .env("KUBECONFIG", kubeconfig)
            .env("PATH", &path)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE");
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let run = |args: &[&str]| run_with(&kubeconfig, args);
    let (_, out, err) = tokio::task::block_in_place(|| run(&["status", "--live", "--json"]));
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|x| panic!("{x}: {out}{err}"));
    let dawn = v["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dawn")
        .unwrap();
    assert_eq!(dawn["context"], arn, "{dawn:#}");
    assert_eq!(
        dawn["contextWhy"], "named by the cluster's ARN (aws eks update-kubeconfig)",
        "{dawn:#}"
    );
    let (_, text, _) = tokio::task::block_in_place(|| run(&["status", "--live"]));
    assert!(
        text.contains(&format!("dawn     {arn} (named by the cluster's ARN")),
        "{text}"
    );

    // The diff reaches the simulator through that context and its plugin.
    let (code, out, err) = tokio::task::block_in_place(|| run(&["diff", "dawn-service", "--json"]));
    assert_eq!(code, 1, "everything would be created: {out}{err}");
    let calls = std::fs::read_to_string(&marker).unwrap();
    assert!(
        calls.contains("eks get-token --cluster-name dawn"),
        "{calls}"
    );

    // A context the operator named themselves, whose server is the endpoint
    // DescribeCluster reports, is chosen before the ARN-named one.
    let endpoint = rt.block_on(async {
        let (_, _, eks) = e.clients().await;
        eks.describe_cluster()
            .name("dawn")
            .send()
            .await
            .unwrap()
            .cluster()
            .unwrap()
            .endpoint()
            .expect("moto reports an endpoint")
            .to_string()
    });
    let team = dir.path().join("team");
    std::fs::write(
        &team,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: prod-eu\n  cluster:\n    server: {endpoint}/\ncontexts:\n- name: team-dawn\n  context:\n    cluster: prod-eu\n    user: me\nusers:\n- name: me\n  user: {{}}\n"),
    )
    .unwrap();
    let both = std::env::join_paths([&team, &eks_file]).unwrap();
    let (_, out, err) =
        tokio::task::block_in_place(|| run_with(&both, &["status", "--live", "--json"]));
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|x| panic!("{x}: {out}{err}"));
    let dawn = v["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dawn")
        .unwrap();
    assert_eq!(dawn["context"], "team-dawn", "{dawn:#}");
    assert_eq!(
        dawn["contextWhy"],
        format!("its server is the EKS endpoint {endpoint}"),
        "{dawn:#}"
    );
    rt.block_on(sim.shutdown());
}
