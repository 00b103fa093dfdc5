//! The walkthrough against a real protocol peer: moto's server (started by
//! scripts/test-all, address in TIERUI_TEST_MOTO). Every assertion goes through the
//! AWS API, not through tierui's own state.

mod common;

use aws_sdk_ec2::types::Filter;
use common::moto::{MOTO, env, kill_when, runtime};

fn ours() -> Vec<Filter> {
    vec![
        Filter::builder()
            .name("tag:tierui.io/cluster")
            .values("dawn")
            .build(),
    ]
}

fn tag<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

#[test]
fn full_walkthrough_creates_what_eksctl_would_and_teardown_removes_it() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let out = e.walk(&[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "walk failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("eks:CreateAddon is not implemented by this endpoint; going on"),
        "{stdout}"
    );
    assert!(stdout.contains("walkthrough complete"));

    runtime().block_on(async {
        let (ec2, iam, eks) = e.clients().await;
        // VPC with DNS attributes.
        let vpcs = ec2
            .describe_vpcs()
            .set_filters(Some(ours()))
            .send()
            .await
            .unwrap();
        assert_eq!(vpcs.vpcs().len(), 1);
        let vpc = vpcs.vpcs()[0].vpc_id().unwrap().to_string();
        assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.30.0.0/16"));
        for attr in [
            aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames,
            aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport,
        ] {
            let a = ec2
                .describe_vpc_attribute()
                .vpc_id(&vpc)
                .attribute(attr.clone())
                .send()
                .await
                .unwrap();
            let on = a
                .enable_dns_hostnames()
                .or(a.enable_dns_support())
                .and_then(|v| v.value());
            assert_eq!(on, Some(true), "{attr:?}");
        }
        // Subnets: public with the elb role tag and public IPs, private with internal-elb.
        let subnets = ec2
            .describe_subnets()
            .set_filters(Some(ours()))
            .send()
            .await
            .unwrap();
        assert_eq!(subnets.subnets().len(), 4);
        let public: Vec<_> = subnets
            .subnets()
            .iter()
            .filter(|s| tag(s.tags(), "kubernetes.io/role/elb") == Some("1"))
            .collect();
        let private: Vec<_> = subnets
            .subnets()
            .iter()
            .filter(|s| tag(s.tags(), "kubernetes.io/role/internal-elb") == Some("1"))
            .collect();
        assert_eq!((public.len(), private.len()), (2, 2));
        assert!(
            public
                .iter()
                .all(|s| s.map_public_ip_on_launch() == Some(true))
        );
        let mut zones: Vec<_> = public
            .iter()
            .filter_map(|s| s.availability_zone())
            .collect();
        zones.sort();
        assert_eq!(zones, ["eu-west-1a", "eu-west-1b"]);
        // Internet gateway attached to the VPC.
        let igws = ec2
            .describe_internet_gateways()
            .set_filters(Some(ours()))
            .send()
            .await
            .unwrap();
        assert_eq!(igws.internet_gateways().len(), 1);
        assert_eq!(
            igws.internet_gateways()[0].attachments()[0].vpc_id(),
            Some(vpc.as_str())
        );
        // One NAT gateway (Single) in a public subnet, available.
        let nats = ec2
            .describe_nat_gateways()
            .set_filter(Some(ours()))
            .send()
            .await
            .unwrap();
        assert_eq!(nats.nat_gateways().len(), 1);
        let nat = &nats.nat_gateways()[0];
        assert!(public.iter().any(|s| s.subnet_id() == nat.subnet_id()));
        // Routes: public → IGW, private → NAT; each subnet associated.
        let tables = ec2
            .describe_route_tables()
            .set_filters(Some(ours()))
            .send()
            .await
            .unwrap();
        assert_eq!(tables.route_tables().len(), 3);
        let default_routes: Vec<_> = tables
            .route_tables()
            .iter()
            .flat_map(|t| t.routes())
            .filter(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .collect();
        assert_eq!(
            default_routes
                .iter()
                .filter(|r| r.gateway_id().is_some_and(|g| g.starts_with("igw-")))
                .count(),
            1
        );
        assert_eq!(
            default_routes
                .iter()
                .filter(|r| r.nat_gateway_id() == nat.nat_gateway_id())
                .count(),
            2
        );
        let associated: usize = tables
            .route_tables()
            .iter()
            .map(|t| {
                t.associations()
                    .iter()
                    .filter(|a| a.subnet_id().is_some())
                    .count()
            })
            .sum();
        assert_eq!(associated, 4);
        // IAM: roles and their policies; withOIDC puts the CNI policy on the IRSA role.
        let attached = |role: &'static str| {
            let iam = iam.clone();
            async move {
                let out = iam
                    .list_attached_role_policies()
                    .role_name(role)
                    .send()
                    .await
                    .unwrap();
                let mut names: Vec<String> = out
                    .attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_name().map(str::to_string))
                    .collect();
                names.sort();
                names
            }
        };
        assert_eq!(
            attached("tierui-dawn-cluster").await,
            ["AmazonEKSClusterPolicy"]
        );
        assert_eq!(
            attached("tierui-dawn-node").await,
            [
                "AmazonEC2ContainerRegistryPullOnly",
                "AmazonEKSWorkerNodePolicy"
            ]
        );
        assert_eq!(
            attached("tierui-dawn-vpc-cni").await,
            ["AmazonEKS_CNI_Policy"]
        );
        // OIDC provider for the cluster's issuer.
        let cluster = eks.describe_cluster().name("dawn").send().await.unwrap();
        let c = cluster.cluster().unwrap();
        assert_eq!(c.version(), Some("1.31"));
        assert_eq!(
            c.tags()
                .and_then(|t| t.get("tierui.io/cluster"))
                .map(String::as_str),
            Some("dawn")
        );
        let issuer = c
            .identity()
            .and_then(|i| i.oidc())
            .and_then(|o| o.issuer())
            .unwrap()
            .trim_start_matches("https://")
            .to_string();
        let providers = iam.list_open_id_connect_providers().send().await.unwrap();
        assert!(
            providers
                .open_id_connect_provider_list()
                .iter()
                .any(|p| p.arn().is_some_and(|a| a.ends_with(&issuer))),
            "{issuer}"
        );
        // Managed node group with the config's sizes.
        let ng = eks
            .describe_nodegroup()
            .cluster_name("dawn")
            .nodegroup_name("dawn-general")
            .send()
            .await
            .unwrap();
        let sc = ng.nodegroup().unwrap().scaling_config().unwrap();
        assert_eq!(
            (sc.min_size(), sc.desired_size(), sc.max_size()),
            (Some(2), Some(2), Some(4))
        );
    });

    // With no context in tierui.yaml and none in the operator's kubeconfig, the
    // new cluster is reached through the kubeconfig the walkthrough's step G wrote.
    e.without_contexts();
    let out =
        e.sb.command()
            .args([
                "status",
                "--live",
                "--json",
                "--endpoint-url",
                &e.url,
                "--workspace",
            ])
            .arg(e.ws.path())
            .env("KUBECONFIG", e.ws.path().join("no-operator-kubeconfig"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|x| panic!("{x}: {}", String::from_utf8_lossy(&out.stderr)));
    let dawn = v["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "dawn")
        .unwrap();
    assert!(
        dawn["contextWhy"]
            .as_str()
            .is_some_and(|w| w.starts_with("written by the walkthrough's step G")),
        "{dawn:#}"
    );
    assert_eq!(dawn["context"], "dawn", "{dawn:#}");

    let out = e.walk(&["--teardown"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "teardown failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    runtime().block_on(async {
        let (ec2, iam, eks) = e.clients().await;
        assert!(
            ec2.describe_vpcs()
                .set_filters(Some(ours()))
                .send()
                .await
                .unwrap()
                .vpcs()
                .is_empty()
        );
        assert!(
            ec2.describe_subnets()
                .set_filters(Some(ours()))
                .send()
                .await
                .unwrap()
                .subnets()
                .is_empty()
        );
        assert!(
            ec2.describe_internet_gateways()
                .set_filters(Some(ours()))
                .send()
                .await
                .unwrap()
                .internet_gateways()
                .is_empty()
        );
        assert!(
            ec2.describe_addresses()
                .set_filters(Some(ours()))
                .send()
                .await
                .unwrap()
                .addresses()
                .is_empty()
        );
        let nats = ec2
            .describe_nat_gateways()
            .set_filter(Some(ours()))
            .send()
            .await
            .unwrap();
        assert!(
            nats.nat_gateways()
                .iter()
                .all(|n| n.state().map(|s| s.as_str()) == Some("deleted"))
        );
        assert!(
            ec2.describe_route_tables()
                .set_filters(Some(ours()))
                .send()
                .await
                .unwrap()
                .route_tables()
                .is_empty()
        );
        assert!(
            ec2.describe_security_groups()
                .set_filters(Some(ours()))
                .send()
                .await
                .unwrap()
                .security_groups()
                .is_empty()
        );
        let roles = iam.list_roles().send().await.unwrap();
        assert!(
            !roles
                .roles()
                .iter()
                .any(|r| r.role_name().starts_with("tierui-dawn"))
        );
        assert!(
            iam.list_open_id_connect_providers()
                .send()
                .await
                .unwrap()
                .open_id_connect_provider_list()
                .is_empty()
        );
        assert!(
            eks.list_clusters()
                .send()
                .await
                .unwrap()
                .clusters()
                .is_empty()
        );
    });
}

#[test]
fn a_killed_run_resumes_without_duplicating_anything() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    // Start a run and kill it as soon as it has created some subnets.
    let seen = kill_when(e.walk(&[]), |l| {
        l.contains("subnet-private-eu-west-1a") && l.contains("done")
    });
    assert!(
        seen.contains("subnet-private-eu-west-1a"),
        "the run never got that far:\n{seen}"
    );
    let out = e.walk(&[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "resume failed:\n{stdout}");
    runtime().block_on(async {
        let (ec2, _, _) = e.clients().await;
        assert_eq!(
            ec2.describe_vpcs()
                .set_filters(Some(ours()))
                .send()
                .await
                .unwrap()
                .vpcs()
                .len(),
            1,
            "one VPC, not two"
        );
        assert_eq!(
            ec2.describe_subnets()
                .set_filters(Some(ours()))
                .send()
                .await
                .unwrap()
                .subnets()
                .len(),
            4,
            "four subnets, not more"
        );
        assert_eq!(
            ec2.describe_internet_gateways()
                .set_filters(Some(ours()))
                .send()
                .await
                .unwrap()
                .internet_gateways()
                .len(),
            1
        );
        assert_eq!(
            ec2.describe_nat_gateways()
                .set_filter(Some(ours()))
                .send()
                .await
                .unwrap()
                .nat_gateways()
                .len(),
            1
        );
    });
    let out = e.walk(&["--teardown"]).output().unwrap();
    assert!(out.status.success());
}

#[test]
fn adoption_after_a_lost_state_file() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    assert!(e.walk(&[]).output().unwrap().status.success());
    // The state file is lost (crash between a call and the save, or a new machine).
    let state = e.sb.state().join("workspaces");
    std::fs::remove_dir_all(&state).unwrap();
    let out = e.walk(&[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("[A] vpc") && stdout.contains("adopted vpc-"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[C] cluster") && stdout.contains("adopted"),
        "{stdout}"
    );
    runtime().block_on(async {
        let (ec2, _, _) = e.clients().await;
        assert_eq!(
            ec2.describe_vpcs()
                .set_filters(Some(ours()))
                .send()
                .await
                .unwrap()
                .vpcs()
                .len(),
            1
        );
    });
    assert!(e.walk(&["--teardown"]).output().unwrap().status.success());
}

#[test]
fn failures_exit_non_zero_with_the_call_and_aws_message() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    // A role of the same name that the walkthrough did not create.
    runtime().block_on(async {
        let (_, iam, _) = e.clients().await;
        iam.create_role()
            .role_name("tierui-dawn-cluster")
            .assume_role_policy_document("{}")
            .send()
            .await
            .unwrap();
    });
    let out = e.walk(&[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("[B] role-cluster") && stdout.contains("FAILED EntityAlreadyExists"),
        "{stdout}"
    );
    assert!(stdout.contains("what to do:"), "{stdout}");
    assert!(
        stderr.contains("failed at role-cluster: iam:CreateRole failed: EntityAlreadyExists"),
        "{stderr}"
    );
    assert!(e.walk(&["--teardown"]).output().unwrap().status.success());
}

/// A cluster made by hand in moto that differs from its ClusterConfig: the
/// `status --live` drift names every difference.
#[test]
fn cluster_pane_drift_against_moto() {
    let _guard = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let root = e.ws.path();
    std::fs::write(root.join("tierui.yaml"), "name: drifted\nclusters:\n  - name: east\n    provisioner: eksctl\n    config: east.yaml\n").unwrap();
    std::fs::write(
        root.join("east.yaml"),
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: east\n  region: eu-west-1\n  version: \"1.31\"\niam:\n  withOIDC: true\nmanagedNodeGroups:\n  - name: workers\n    instanceType: t3.large\n    desiredCapacity: 2\n    minSize: 1\n    maxSize: 4\n  - name: batch\n    instanceType: c5.large\n",
    )
    .unwrap();
    runtime().block_on(async {
        let (ec2, iam, eks) = e.clients().await;
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.40.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc()
            .unwrap()
            .vpc_id()
            .unwrap()
            .to_string();
        let mut subnets = Vec::new();
        for (cidr, az) in [
            ("10.40.0.0/19", "eu-west-1a"),
            ("10.40.32.0/19", "eu-west-1b"),
        ] {
            let s = ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(cidr)
                .availability_zone(az)
                .send()
                .await
                .unwrap();
            subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
        }
        let role = iam
            .create_role()
            .role_name("east-eks")
            .assume_role_policy_document("{}")
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_string();
        let vpc_config = aws_sdk_eks::types::VpcConfigRequest::builder()
            .set_subnet_ids(Some(subnets.clone()))
            .build();
        eks.create_cluster()
            .name("east")
            .version("1.29")
            .role_arn(&role)
            .resources_vpc_config(vpc_config)
            .send()
            .await
            .unwrap();
        let scaling = aws_sdk_eks::types::NodegroupScalingConfig::builder()
            .min_size(1)
            .desired_size(3)
            .max_size(4)
            .build();
        eks.create_nodegroup()
            .cluster_name("east")
            .nodegroup_name("workers")
            .node_role(&role)
            .set_subnets(Some(subnets))
            .instance_types("m5.large")
            .scaling_config(scaling)
            .send()
            .await
            .unwrap();
    });
    let mut cmd = e.sb.command();
    cmd.args([
        "status",
        "--live",
        "--json",
        "--endpoint-url",
        &e.url,
        "--workspace",
    ])
    .arg(root);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE");
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let east = &json["clusters"][0];
    assert_eq!(
        east["live"]["cluster"]["value"]["status"], "ACTIVE",
        "{east:#}"
    );
    let drift: Vec<String> = east["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}: {} → {}",
                d["field"].as_str().unwrap(),
                d["source"].as_str().unwrap(),
                d["live"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "kubernetes version: 1.31 → 1.29",
        "node group workers desired size: 2 → 3",
        "node group workers instance types: t3.large → m5.large",
        "node group batch: 2×c5.large → missing",
        "OIDC provider: wanted (IRSA) → missing: no IAM OIDC provider for the cluster's issuer",
    ] {
        assert!(
            drift.iter().any(|d| d == want),
            "missing drift {want:?} in {drift:#?}"
        );
    }
    assert!(
        drift
            .iter()
            .any(|d| d.contains("tag kubernetes.io/role/") && d.ends_with("tag missing")),
        "{drift:#?}"
    );
    assert!(
        east["drift"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| !d["what_to_do"].as_str().unwrap().is_empty())
    );
}
