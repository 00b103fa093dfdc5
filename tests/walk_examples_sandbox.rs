//! Every public eksctl example the walkthrough plans (fixtures/eksctl/examples,
//! source in its README), run by the real binary against the sandbox cloud and
//! torn down again. The sandbox answers as AWS does, so examples that name
//! things which do not exist in a fresh account (placeholder subnet ids, key
//! ARNs, policies, SSH key files, Kubernetes versions EKS no longer creates)
//! stop at exactly that call with AWS's error — and their teardown still
//! removes everything made before it. The paths moto does not implement
//! (access entries, pod identity, identity providers, addons) run here.

mod common;

use std::path::PathBuf;

use common::Sandbox;
use tierui_core::walkthrough::plan;
use tierui_core::workspace::{eksctl, yaml};

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/eksctl/examples");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    out.sort();
    out
}

fn plans(path: &PathBuf) -> bool {
    let src = std::fs::read_to_string(path).unwrap();
    let docs = yaml::parse_documents(&src).unwrap();
    let doc = docs
        .into_iter()
        .map(|d| d.root)
        .find(|d| !d.is_null())
        .unwrap();
    let mut diags = Vec::new();
    let cfg = eksctl::parse(&doc, &mut diags).unwrap();
    plan::plan(&cfg, &diags).is_ok()
}

/// Examples that stop, at which call, with which AWS error.
const STOPS: &[(&str, &str, &str)] = &[
    (
        "23-kubeflow-spot-instance.yaml",
        "eks:CreateCluster",
        "unsupported Kubernetes version 1.14",
    ),
    (
        "04-existing-vpc.yaml",
        "ec2:DescribeSubnets",
        "InvalidSubnetID.NotFound",
    ),
    ("07-ssh-keys.yaml", "ec2:ImportKeyPair", "id_rsa_tests.pub"),
    (
        "15-managed-nodes.yaml",
        "ec2:ImportKeyPair",
        "ec2_id_rsa.pub",
    ),
    // ssh.allow without a key: eksctl imports ~/.ssh/id_rsa.pub, which this home lacks.
    (
        "22-managed-nodes-launch-template.yaml",
        "ec2:ImportKeyPair",
        "/.ssh/id_rsa.pub",
    ),
    (
        "19-kms-cluster.yaml",
        "kms:DescribeKey",
        "NotFoundException",
    ),
    (
        "24-nodegroup-subnets.yaml",
        "ec2:DescribeSubnets",
        "InvalidSubnetID.NotFound",
    ),
    (
        "25-addons.yaml",
        "eks:CreateCluster",
        "unsupported Kubernetes version 1.18",
    ),
    (
        "30-vpc-with-ip-family.yaml",
        "eks:CreateCluster",
        "unsupported Kubernetes version 1.21",
    ),
    (
        "31-override-bootstrap-command-unmanaged-nodegroup.yaml",
        "eks:CreateCluster",
        "unsupported Kubernetes version 1.21",
    ),
    (
        "38-cluster-subnets-sgs.yaml",
        "eks:CreateCluster",
        "The subnet ID 'subnet-1234' does not exist",
    ),
    (
        "39-pod-identity-association.yaml",
        "iam:AttachRolePolicy",
        "permission-policy-1 does not exist",
    ),
];

#[test]
fn every_planned_example_runs_or_stops_like_aws_and_tears_down() {
    let sb = Sandbox::new();
    // SSH key paths in the examples are under ~: a home without them.
    let home = tempfile::tempdir().unwrap();
    let mut ran = Vec::new();
    for path in examples().iter().filter(|p| plans(p)) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let run = |extra: &[&str]| {
            let out = sb
                .command()
                .env("HOME", home.path())
                .current_dir(home.path())
                .args(["--speed", "100000", "walk"])
                .arg(path)
                .args(["--sandbox", "--yes"])
                .args(extra)
                .output()
                .unwrap();
            (
                out.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            )
        };
        let (ok, out) = run(&[]);
        match STOPS.iter().find(|(n, _, _)| *n == name) {
            None => {
                assert!(ok, "{name}:\n{out}");
                assert!(out.contains("walkthrough complete"), "{name}:\n{out}");
            }
            Some((_, api, why)) => {
                assert!(!ok, "{name} should stop at {api}:\n{out}");
                let line = out
                    .lines()
                    .find(|l| l.starts_with("tierui: failed at"))
                    .unwrap_or_default();
                assert!(
                    line.contains(api) && line.contains(why),
                    "{name}: expected {api} … {why}, got:\n{out}"
                );
            }
        }
        let (ok, out) = run(&["--teardown"]);
        assert!(ok, "{name} teardown:\n{out}");
        assert!(
            out.contains("teardown complete: nothing the walkthrough created is left")
                || out.contains("nothing to tear down: the walkthrough of"),
            "{name} teardown:\n{out}"
        );
        ran.push(name);
    }
    assert_eq!(ran.len(), 40, "{ran:?}");
}
