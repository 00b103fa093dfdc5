//! The walkthrough's Kubernetes side through a real cluster API (the sandbox's
//! simulated dawn cluster, read back with kubectl): a cluster that authenticates
//! through the aws-auth ConfigMap gets its self-managed nodes' role and the
//! config's identity mappings written there (next to an entry someone else put
//! in, which stays), IRSA and pod-identity service accounts are created, and
//! teardown removes exactly what the walkthrough added.

mod common;

use common::{Sandbox, kubectl};

const EXTRA: &str = r#"
accessConfig:
  authenticationMode: CONFIG_MAP
iamIdentityMappings:
  - arn: arn:aws:iam::123456789012:role/ops-admin
    username: ops-admin
    groups: [system:masters]
  - arn: arn:aws:iam::123456789012:user/alice
    username: alice
    groups: [viewers]
  - account: "210987654321"
nodeGroups:
  - name: legacy
    instanceType: t3.medium
    desiredCapacity: 1
    privateNetworking: true
    amiFamily: AmazonLinux2
    labels: {role: legacy}
"#;

const IAM: &str = r#"iam:
  withOIDC: true
  serviceAccounts:
    - metadata: {name: s3-reader, namespace: backend}
      attachPolicyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
  podIdentityAssociations:
    - namespace: backend
      serviceAccountName: cache
      createServiceAccount: true
      permissionPolicyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
"#;

#[test]
fn aws_auth_and_service_accounts_are_written_through_the_cluster_api() {
    let sb = Sandbox::new();
    let ws = tempfile::tempdir().unwrap();
    tierui_core::paths::extract_demo(ws.path()).unwrap();
    let cfg = ws.path().join("provisioning/manual/dawn-cluster.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replace("iam:\n  withOIDC: true\n", IAM) + EXTRA;
    std::fs::write(&cfg, text).unwrap();
    let run = |args: &[&str]| {
        let out = sb
            .command()
            .args([
                "--speed",
                "1000",
                "walk",
                "dawn",
                "--sandbox",
                "--yes",
                "--workspace",
            ])
            .arg(ws.path())
            .args(args)
            .output()
            .unwrap();
        let t = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{t}");
        t
    };
    let out = run(&[]);
    assert!(out.contains("walkthrough complete"), "{out}");
    // Written through the API, not left as commands to run.
    assert!(!out.contains("eksctl create iamidentitymapping"), "{out}");
    assert!(
        !out.contains("kubectl -n backend create serviceaccount"),
        "{out}"
    );
    // A tierui process serving dawn's simulated cluster, for kubectl to reach it.
    let mut serve = sb
        .command()
        .args([
            "--speed",
            "20",
            "watch",
            "dawn-service",
            "--sandbox",
            "--for",
            "300s",
            "--workspace",
        ])
        .arg(ws.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let kc = loop {
        if let Some(kc) = sb.kubeconfig_for("dawn") {
            break kc;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "dawn is not served"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let aws_auth = kubectl(
        &kc,
        &[
            "-n",
            "kube-system",
            "get",
            "configmap",
            "aws-auth",
            "-o",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&aws_auth).expect("aws-auth as JSON");
    let roles = v["data"]["mapRoles"].as_str().unwrap();
    assert!(
        roles.contains("arn:aws:iam::123456789012:role/tierui-dawn-node"),
        "{roles}"
    );
    assert!(
        roles.contains("system:node:{{EC2PrivateDNSName}}")
            && roles.contains("system:bootstrappers"),
        "{roles}"
    );
    assert!(
        roles.contains("arn:aws:iam::123456789012:role/ops-admin")
            && roles.contains("system:masters"),
        "{roles}"
    );
    let users = v["data"]["mapUsers"].as_str().unwrap();
    assert!(
        users.contains("arn:aws:iam::123456789012:user/alice") && users.contains("viewers"),
        "{users}"
    );
    assert!(
        v["data"]["mapAccounts"]
            .as_str()
            .unwrap()
            .contains("210987654321")
    );
    // The IRSA service account carries its role; the pod identity one does not need to.
    let sa = kubectl(
        &kc,
        &[
            "-n",
            "backend",
            "get",
            "serviceaccount",
            "s3-reader",
            "-o",
            "jsonpath={.metadata.annotations}",
        ],
    );
    assert!(
        sa.contains("eks.amazonaws.com/role-arn")
            && sa.contains("tierui-dawn-sa-backend-s3-reader"),
        "{sa}"
    );
    let cache = kubectl(
        &kc,
        &[
            "-n",
            "backend",
            "get",
            "serviceaccount",
            "cache",
            "-o",
            "name",
        ],
    );
    assert_eq!(cache.trim(), "serviceaccount/cache");

    // Someone else's entry, added by hand, must survive teardown.
    let mut data = v["data"].clone();
    let mut roles_list: Vec<serde_json::Value> = tierui_core::workspace::yaml::parse_single(roles)
        .unwrap()
        .to_json()
        .as_array()
        .cloned()
        .unwrap();
    roles_list.push(serde_json::json!({"rolearn": "arn:aws:iam::123456789012:role/by-hand", "username": "by-hand"}));
    data["mapRoles"] = serde_json::Value::String(serde_json::to_string(&roles_list).unwrap());
    let patch = serde_json::json!({"data": data}).to_string();
    kubectl(
        &kc,
        &[
            "-n",
            "kube-system",
            "patch",
            "configmap",
            "aws-auth",
            "--type",
            "merge",
            "-p",
            &patch,
        ],
    );

    let out = run(&["--teardown"]);
    assert!(out.contains("teardown complete"), "{out}");
    let after = kubectl(
        &kc,
        &[
            "-n",
            "kube-system",
            "get",
            "configmap",
            "aws-auth",
            "-o",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&after).unwrap();
    let roles = v["data"]["mapRoles"].as_str().unwrap_or_default();
    assert!(roles.contains("by-hand"), "{roles}");
    assert!(
        !roles.contains("tierui-dawn-node") && !roles.contains("ops-admin"),
        "{roles}"
    );
    assert!(
        !v["data"]["mapUsers"]
            .as_str()
            .unwrap_or_default()
            .contains("alice")
    );
    let gone = kubectl(
        &kc,
        &["-n", "backend", "get", "serviceaccount", "-o", "name"],
    );
    assert!(
        !gone.contains("s3-reader") && !gone.contains("cache"),
        "{gone}"
    );
    let _ = serve.kill();
    let _ = serve.wait();
}
