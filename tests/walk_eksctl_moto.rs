//! The walkthrough's new paths against moto's server, each checked through the
//! AWS API after the run and again after teardown (never through tierui's own
//! state): self-managed node groups (Auto Scaling, launch templates, instance
//! profiles, security group rules, key pairs), an existing VPC created here
//! through the EC2 API, Fargate profiles, and secrets encryption with a KMS key
//! the walkthrough creates or one it is given. Where moto is lenient (it does not
//! check that Fargate subnets are private) the test checks on the client side.
//! An IPv6 fully-private cluster is run the same way. Fixtures: fixtures/eksctl/walk/.

mod common;

use std::process::Output;

use base64::Engine;
use common::moto::{Env, MOTO, default_creds, env, runtime};

const CLUSTER_TAG: &str = "tierui.io/cluster";

fn fixture(name: &str) -> String {
    format!("{}/fixtures/eksctl/walk/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `tierui walk <file> --yes` (and `--teardown`) against moto; both must succeed.
fn walk(e: &Env, file: &str, teardown: bool) -> String {
    let mut args = vec!["--yes"];
    if teardown {
        args.push("--teardown");
    }
    let out = e.walk_as(file, &args).output().unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    if teardown {
        assert!(
            t.contains("teardown complete: nothing the walkthrough created is left"),
            "{t}"
        );
    } else {
        assert!(t.contains("walkthrough complete"), "{t}");
    }
    t
}

struct Clients {
    ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
    eks: aws_sdk_eks::Client,
    asg: aws_sdk_autoscaling::Client,
    kms: aws_sdk_kms::Client,
}

async fn clients(e: &Env) -> Clients {
    let conf = e.config(default_creds()).await;
    Clients {
        ec2: aws_sdk_ec2::Client::new(&conf),
        iam: aws_sdk_iam::Client::new(&conf),
        eks: aws_sdk_eks::Client::new(&conf),
        asg: aws_sdk_autoscaling::Client::new(&conf),
        kms: aws_sdk_kms::Client::new(&conf),
    }
}

fn ec2_tag<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// Whether a subnet's own route table sends traffic to an internet gateway.
fn routes_to_igw(
    tables: &aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput,
    subnet: &str,
) -> bool {
    tables.route_tables().iter().any(|t| {
        t.associations()
            .iter()
            .any(|a| a.subnet_id() == Some(subnet))
            && t.routes()
                .iter()
                .any(|r| r.gateway_id().is_some_and(|g| g.starts_with("igw-")))
    })
}

/// VPCs carrying the walkthrough's cluster tag for `cluster` (checked here).
async fn tagged_vpcs(c: &Clients, cluster: &str) -> usize {
    let out = c.ec2.describe_vpcs().send().await.unwrap();
    out.vpcs()
        .iter()
        .filter(|v| ec2_tag(v.tags(), CLUSTER_TAG) == Some(cluster))
        .count()
}

async fn tagged_groups(c: &Clients, cluster: &str) -> Vec<String> {
    let out = c.ec2.describe_security_groups().send().await.unwrap();
    out.security_groups()
        .iter()
        .filter(|g| ec2_tag(g.tags(), CLUSTER_TAG) == Some(cluster))
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect()
}

async fn roles_of(c: &Clients, cluster: &str) -> Vec<String> {
    let prefix = format!("tierui-{cluster}-");
    let out = c.iam.list_roles().send().await.unwrap();
    out.roles()
        .iter()
        .map(|r| r.role_name().to_string())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

#[test]
fn self_managed_node_groups_create_and_tear_down() {
    let _moto = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let out = walk(&e, &fixture("self-managed.yaml"), false);
    // moto answers access entries with a 404 page: said honestly, not faked.
    assert!(
        out.contains("eks:CreateAccessEntry is not implemented by this endpoint"),
        "{out}"
    );
    runtime().block_on(async {
        let c = clients(&e).await;
        // Two Auto Scaling groups with their instances InService.
        let groups = c.asg.describe_auto_scaling_groups().send().await.unwrap();
        let ours: Vec<_> = groups
            .auto_scaling_groups()
            .iter()
            .filter(|g| {
                g.tags().iter().any(|t| {
                    t.key() == Some(CLUSTER_TAG) && t.value() == Some("selfng")
                })
            })
            .collect();
        assert_eq!(ours.len(), 2, "{ours:#?}");
        let web = ours
            .iter()
            .find(|g| g.auto_scaling_group_name() == Some("tierui-selfng-ng-web"))
            .expect("the web group");
        assert_eq!((web.min_size(), web.desired_capacity(), web.max_size()), (Some(1), Some(2), Some(3)));
        let in_service = web
            .instances()
            .iter()
            .filter(|i| i.lifecycle_state().is_some_and(|s| s.as_str() == "InService"))
            .count();
        assert_eq!(in_service, 2);
        let spot = ours
            .iter()
            .find(|g| g.auto_scaling_group_name() == Some("tierui-selfng-ng-spot"))
            .expect("the spot group");
        let mix = spot.mixed_instances_policy().expect("a mixed instances policy");
        let types: Vec<_> = mix
            .launch_template()
            .map(|l| l.overrides().iter().filter_map(|o| o.instance_type()).collect())
            .unwrap_or_default();
        assert_eq!(types, vec!["t3.medium", "t3a.medium"]);
        assert_eq!(
            mix.instances_distribution().and_then(|d| d.on_demand_percentage_above_base_capacity()),
            Some(50)
        );
        // The spot group runs in private subnets (no route to an internet gateway).
        let subnets: Vec<String> = spot
            .vpc_zone_identifier()
            .unwrap_or_default()
            .split(',')
            .map(str::to_string)
            .collect();
        assert_eq!(subnets.len(), 3);
        let tables = c.ec2.describe_route_tables().send().await.unwrap();
        for s in &subnets {
            assert!(!routes_to_igw(&tables, s), "spot subnet {s} is public");
        }
        // The launch template: EKS-optimised AL2023 image from SSM, the NodeConfig
        // user data with the labels and taints, the encrypted 50 GiB volume, the key.
        let lts = c.ec2.describe_launch_templates().send().await.unwrap();
        let lt = lts
            .launch_templates()
            .iter()
            .find(|t| t.launch_template_name() == Some("tierui-selfng-web"))
            .expect("the web launch template");
        let version = c
            .ec2
            .describe_launch_template_versions()
            .launch_template_id(lt.launch_template_id().unwrap())
            .send()
            .await
            .unwrap();
        let data = version.launch_template_versions()[0]
            .launch_template_data()
            .unwrap();
        assert_eq!(
            data.image_id(),
            Some("resolve:ssm:/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id")
        );
        assert_eq!(data.key_name(), Some("tierui-selfng-web"));
        let ud = base64::engine::general_purpose::STANDARD
            .decode(data.user_data().unwrap())
            .unwrap();
        let ud = String::from_utf8(ud).unwrap();
        assert!(ud.contains("kind: NodeConfig") && ud.contains("name: selfng"), "{ud}");
        assert!(ud.contains("--node-labels=role=web") && ud.contains("--register-with-taints=special=true:NoSchedule"), "{ud}");
        let ebs = data.block_device_mappings()[0].ebs().unwrap();
        assert_eq!((ebs.volume_size(), ebs.encrypted()), (Some(50), Some(true)));
        let profile_arn = data.iam_instance_profile().and_then(|p| p.arn()).unwrap();
        assert!(profile_arn.ends_with(":instance-profile/tierui-selfng-ng-web"), "{profile_arn}");
        // The instance profile holds the node role.
        let p = c
            .iam
            .get_instance_profile()
            .instance_profile_name("tierui-selfng-ng-web")
            .send()
            .await
            .unwrap();
        let roles: Vec<_> = p.instance_profile().unwrap().roles().iter().map(|r| r.role_name()).collect();
        assert_eq!(roles, vec!["tierui-selfng-node"]);
        // The node security group lets the control plane in on 1025-65535 and 443.
        let sgs = c.ec2.describe_security_groups().send().await.unwrap();
        let node_sg = sgs
            .security_groups()
            .iter()
            .find(|g| g.group_name() == Some("selfng-ng-web"))
            .expect("the node security group");
        let cp = sgs
            .security_groups()
            .iter()
            .find(|g| g.group_name() == Some("selfng-control-plane"))
            .unwrap();
        let from_cp: Vec<(Option<i32>, Option<i32>)> = node_sg
            .ip_permissions()
            .iter()
            .filter(|p| p.user_id_group_pairs().iter().any(|u| u.group_id() == cp.group_id()))
            .map(|p| (p.from_port(), p.to_port()))
            .collect();
        assert!(from_cp.contains(&(Some(1025), Some(65535))) && from_cp.contains(&(Some(443), Some(443))), "{from_cp:?}");
        assert!(node_sg.ip_permissions().iter().any(|p| p.from_port() == Some(22)), "ssh open");
        let keys = c.ec2.describe_key_pairs().send().await.unwrap();
        assert!(keys.key_pairs().iter().any(|k| k.key_name() == Some("tierui-selfng-web")));
    });

    walk(&e, &fixture("self-managed.yaml"), true);
    runtime().block_on(async {
        let c = clients(&e).await;
        let groups = c.asg.describe_auto_scaling_groups().send().await.unwrap();
        assert!(
            !groups.auto_scaling_groups().iter().any(|g| g
                .auto_scaling_group_name()
                .is_some_and(|n| n.starts_with("tierui-selfng"))),
            "Auto Scaling groups left"
        );
        let lts = c.ec2.describe_launch_templates().send().await.unwrap();
        assert!(lts.launch_templates().is_empty(), "launch templates left");
        let keys = c.ec2.describe_key_pairs().send().await.unwrap();
        assert!(keys.key_pairs().is_empty(), "key pairs left");
        let profiles = c.iam.list_instance_profiles().send().await.unwrap();
        assert!(
            profiles.instance_profiles().is_empty(),
            "instance profiles left"
        );
        assert!(roles_of(&c, "selfng").await.is_empty());
        assert!(tagged_groups(&c, "selfng").await.is_empty());
        assert_eq!(tagged_vpcs(&c, "selfng").await, 0);
        let running = c.ec2.describe_instances().send().await.unwrap();
        let live = running
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter(|i| {
                i.state()
                    .and_then(|s| s.name())
                    .is_some_and(|n| n.as_str() != "terminated")
            })
            .count();
        assert_eq!(live, 0, "instances still running");
    });
}

/// The network a team already has: a VPC with two public subnets routed to an
/// internet gateway and two private ones, made through the EC2 API.
async fn make_network(c: &Clients) -> (String, [String; 4]) {
    let vpc = c
        .ec2
        .create_vpc()
        .cidr_block("10.40.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut ids = Vec::new();
    for (cidr, az) in [
        ("10.40.0.0/19", "eu-west-1a"),
        ("10.40.32.0/19", "eu-west-1b"),
        ("10.40.64.0/19", "eu-west-1a"),
        ("10.40.96.0/19", "eu-west-1b"),
    ] {
        let s = c
            .ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(cidr)
            .availability_zone(az)
            .send()
            .await
            .unwrap();
        ids.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    let igw = c.ec2.create_internet_gateway().send().await.unwrap();
    let igw = igw
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    c.ec2
        .attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let rt = c
        .ec2
        .create_route_table()
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let rt = rt
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    c.ec2
        .create_route()
        .route_table_id(&rt)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .unwrap();
    for s in &ids[..2] {
        c.ec2
            .associate_route_table()
            .route_table_id(&rt)
            .subnet_id(s)
            .send()
            .await
            .unwrap();
    }
    let private = c
        .ec2
        .create_route_table()
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let private = private
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    for s in &ids[2..] {
        c.ec2
            .associate_route_table()
            .route_table_id(&private)
            .subnet_id(s)
            .send()
            .await
            .unwrap();
    }
    (
        vpc,
        [
            ids[0].clone(),
            ids[1].clone(),
            ids[2].clone(),
            ids[3].clone(),
        ],
    )
}

#[test]
fn an_existing_vpc_is_used_and_never_touched_by_teardown() {
    let _moto = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    let (vpc, ids) = runtime().block_on(async { make_network(&clients(&e).await).await });
    let cfg = std::fs::read_to_string(fixture("existing-vpc.yaml"))
        .unwrap()
        .replace("VPC_ID", &vpc)
        .replace("PUBLIC_A", &ids[0])
        .replace("PUBLIC_B", &ids[1])
        .replace("PRIVATE_A", &ids[2]);
    let file = e.ws.path().join("existing-vpc.yaml");
    std::fs::write(&file, cfg).unwrap();
    let file = file.display().to_string();

    // A subnet listed as public that does not route to an internet gateway is refused.
    let wrong = std::fs::read_to_string(fixture("existing-vpc.yaml"))
        .unwrap()
        .replace("VPC_ID", &vpc)
        .replace("PUBLIC_A", &ids[2])
        .replace("PUBLIC_B", &ids[1])
        .replace("PRIVATE_A", &ids[0]);
    let wrong_file = e.ws.path().join("wrong.yaml");
    std::fs::write(&wrong_file, wrong.replace("name: byovpc", "name: wrongvpc")).unwrap();
    let out = e
        .walk_as(&wrong_file.display().to_string(), &["--yes"])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    // (private subnets are checked first: the swapped public one is caught there)
    assert!(
        t.contains(&format!(
            "subnet {} is listed as private but its route table routes to an internet gateway",
            ids[0]
        )),
        "{t}"
    );

    // On a pipe and without --yes a live walk refuses before any call: the
    // subnets are not tagged behind the operator's back.
    let mut child = e
        .walk_as(&file, &[])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let _ = child.stdin.take().unwrap().write_all(b"y\ny\ny\n");
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    runtime().block_on(async {
        let c = clients(&e).await;
        let s = c
            .ec2
            .describe_subnets()
            .subnet_ids(&ids[0])
            .send()
            .await
            .unwrap();
        assert_eq!(
            ec2_tag(s.subnets()[0].tags(), "kubernetes.io/role/elb"),
            None
        );
    });

    walk(&e, &file, false);
    runtime().block_on(async {
        let c = clients(&e).await;
        // No network was created: one VPC in the account (plus moto's default), ours untagged.
        assert_eq!(tagged_vpcs(&c, "byovpc").await, 0);
        let cluster = c
            .eks
            .describe_cluster()
            .name("byovpc")
            .send()
            .await
            .unwrap();
        let mut used: Vec<String> = cluster
            .cluster()
            .unwrap()
            .resources_vpc_config()
            .unwrap()
            .subnet_ids()
            .to_vec();
        used.sort();
        let mut want = ids.to_vec();
        want.sort();
        assert_eq!(
            used, want,
            "the control plane uses exactly the given subnets"
        );
        // The load balancer role tags were added to the subnets.
        let subnets = c
            .ec2
            .describe_subnets()
            .subnet_ids(&ids[0])
            .subnet_ids(&ids[3])
            .send()
            .await
            .unwrap();
        for s in subnets.subnets() {
            let public = s.subnet_id() == Some(ids[0].as_str());
            let key = if public {
                "kubernetes.io/role/elb"
            } else {
                "kubernetes.io/role/internal-elb"
            };
            assert_eq!(ec2_tag(s.tags(), key), Some("1"), "{:?}", s.subnet_id());
        }
        // The control plane security group is in the given VPC.
        let sgs = c.ec2.describe_security_groups().send().await.unwrap();
        let cp = sgs
            .security_groups()
            .iter()
            .find(|g| g.group_name() == Some("byovpc-control-plane"))
            .unwrap();
        assert_eq!(cp.vpc_id(), Some(vpc.as_str()));
        // The managed node group runs in the private subnets.
        let ng = c
            .eks
            .describe_nodegroup()
            .cluster_name("byovpc")
            .nodegroup_name("apps")
            .send()
            .await
            .unwrap();
        let mut ng_subnets = ng.nodegroup().unwrap().subnets().to_vec();
        ng_subnets.sort();
        let mut private = vec![ids[2].clone(), ids[3].clone()];
        private.sort();
        assert_eq!(ng_subnets, private);
    });

    walk(&e, &file, true);
    runtime().block_on(async {
        let c = clients(&e).await;
        // The network is all still there; only what the walkthrough made is gone.
        let v = c.ec2.describe_vpcs().vpc_ids(&vpc).send().await.unwrap();
        assert_eq!(v.vpcs().len(), 1);
        let s = c
            .ec2
            .describe_subnets()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("vpc-id")
                    .values(&vpc)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let left: Vec<_> = s
            .subnets()
            .iter()
            .filter(|s| s.vpc_id() == Some(vpc.as_str()))
            .collect();
        assert_eq!(left.len(), 4);
        assert!(tagged_groups(&c, "byovpc").await.is_empty());
        assert!(roles_of(&c, "byovpc").await.is_empty());
        let clusters = c.eks.list_clusters().send().await.unwrap();
        assert!(!clusters.clusters().iter().any(|n| n == "byovpc"));
    });
}

#[test]
fn fargate_profiles_are_created_in_private_subnets_and_removed() {
    let _moto = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    walk(&e, &fixture("fargate.yaml"), false);
    runtime().block_on(async {
        let c = clients(&e).await;
        let role = c
            .iam
            .get_role()
            .role_name("tierui-farg-fargate")
            .send()
            .await
            .unwrap();
        let trust = urlencoding_decode(role.role().unwrap().assume_role_policy_document().unwrap());
        assert!(trust.contains("eks-fargate-pods.amazonaws.com"), "{trust}");
        let tables = c.ec2.describe_route_tables().send().await.unwrap();
        for (name, namespaces) in [
            ("default", vec!["default", "kube-system"]),
            ("batch", vec!["batch"]),
        ] {
            let p = c
                .eks
                .describe_fargate_profile()
                .cluster_name("farg")
                .fargate_profile_name(name)
                .send()
                .await
                .unwrap();
            let p = p.fargate_profile().unwrap();
            assert_eq!(p.status().map(|s| s.as_str()), Some("ACTIVE"));
            assert_eq!(p.pod_execution_role_arn(), role.role().map(|r| r.arn()));
            let got: Vec<_> = p.selectors().iter().filter_map(|s| s.namespace()).collect();
            assert_eq!(got, namespaces);
            // moto does not check it: every profile subnet must be private.
            assert_eq!(p.subnets().len(), 3);
            for s in p.subnets() {
                assert!(!routes_to_igw(&tables, s), "Fargate subnet {s} is public");
            }
        }
        let batch = c
            .eks
            .describe_fargate_profile()
            .cluster_name("farg")
            .fargate_profile_name("batch")
            .send()
            .await
            .unwrap();
        let sel = &batch.fargate_profile().unwrap().selectors()[0];
        assert_eq!(
            sel.labels().and_then(|l| l.get("tier")).map(String::as_str),
            Some("jobs")
        );
    });
    walk(&e, &fixture("fargate.yaml"), true);
    runtime().block_on(async {
        let c = clients(&e).await;
        assert!(roles_of(&c, "farg").await.is_empty());
        assert_eq!(tagged_vpcs(&c, "farg").await, 0);
        let clusters = c.eks.list_clusters().send().await.unwrap();
        assert!(!clusters.clusters().iter().any(|n| n == "farg"));
    });
}

/// IAM returns policy documents URL-encoded.
fn urlencoding_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn secrets_encryption_with_a_created_key_and_with_a_given_one() {
    let _moto = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    // Without keyARN the walkthrough creates the key, and teardown schedules its deletion.
    walk(&e, &fixture("secrets.yaml"), false);
    let created = runtime().block_on(async {
        let c = clients(&e).await;
        let cluster = c
            .eks
            .describe_cluster()
            .name("sealed")
            .send()
            .await
            .unwrap();
        let enc = cluster.cluster().unwrap().encryption_config();
        assert_eq!(enc.len(), 1, "{enc:?}");
        assert_eq!(enc[0].resources(), ["secrets"]);
        let key = enc[0]
            .provider()
            .and_then(|p| p.key_arn())
            .unwrap()
            .to_string();
        let k = c.kms.describe_key().key_id(&key).send().await.unwrap();
        assert_eq!(
            k.key_metadata()
                .and_then(|m| m.key_state())
                .map(|s| s.as_str()),
            Some("Enabled")
        );
        let tags = c
            .kms
            .list_resource_tags()
            .key_id(&key)
            .send()
            .await
            .unwrap();
        assert!(
            tags.tags()
                .iter()
                .any(|t| t.tag_key() == CLUSTER_TAG && t.tag_value() == "sealed")
        );
        key
    });
    walk(&e, &fixture("secrets.yaml"), true);
    runtime().block_on(async {
        let c = clients(&e).await;
        let k = c.kms.describe_key().key_id(&created).send().await.unwrap();
        assert_eq!(
            k.key_metadata()
                .and_then(|m| m.key_state())
                .map(|s| s.as_str()),
            Some("PendingDeletion")
        );
        let clusters = c.eks.list_clusters().send().await.unwrap();
        assert!(!clusters.clusters().iter().any(|n| n == "sealed"));
        assert!(roles_of(&c, "sealed").await.is_empty());
    });

    // A key the team already has: checked, used, and left Enabled by teardown.
    let given = runtime().block_on(async {
        let c = clients(&e).await;
        let k = c
            .kms
            .create_key()
            .description("team key")
            .send()
            .await
            .unwrap();
        k.key_metadata().unwrap().arn().unwrap().to_string()
    });
    let cfg = std::fs::read_to_string(fixture("secrets.yaml"))
        .unwrap()
        .replace("name: sealed", "name: sealed2")
        .replace(
            "secretsEncryption: {}",
            &format!("secretsEncryption:\n  keyARN: {given}"),
        );
    let file = e.ws.path().join("secrets-given.yaml");
    std::fs::write(&file, cfg).unwrap();
    let file = file.display().to_string();
    walk(&e, &file, false);
    runtime().block_on(async {
        let c = clients(&e).await;
        let cluster = c
            .eks
            .describe_cluster()
            .name("sealed2")
            .send()
            .await
            .unwrap();
        let enc = cluster.cluster().unwrap().encryption_config();
        assert_eq!(
            enc[0].provider().and_then(|p| p.key_arn()),
            Some(given.as_str())
        );
    });
    walk(&e, &file, true);
    runtime().block_on(async {
        let c = clients(&e).await;
        let k = c.kms.describe_key().key_id(&given).send().await.unwrap();
        assert_eq!(
            k.key_metadata()
                .and_then(|m| m.key_state())
                .map(|s| s.as_str()),
            Some("Enabled"),
            "teardown must not touch a key it did not create"
        );
    });

    // A disabled key is refused before the cluster is created.
    let disabled = runtime().block_on(async {
        let c = clients(&e).await;
        let k = c.kms.create_key().send().await.unwrap();
        let m = k.key_metadata().unwrap();
        c.kms.disable_key().key_id(m.key_id()).send().await.unwrap();
        m.arn().unwrap().to_string()
    });
    let cfg = std::fs::read_to_string(&file)
        .unwrap()
        .replace("name: sealed2", "name: sealed3")
        .replace(&given, &disabled);
    let file3 = e.ws.path().join("secrets-disabled.yaml");
    std::fs::write(&file3, cfg).unwrap();
    let out = e
        .walk_as(&file3.display().to_string(), &["--yes"])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("kms:DescribeKey") && t.contains("Disabled"),
        "{t}"
    );
    runtime().block_on(async {
        let c = clients(&e).await;
        let clusters = c.eks.list_clusters().send().await.unwrap();
        assert!(
            !clusters.clusters().iter().any(|n| n == "sealed3"),
            "no cluster with a disabled key"
        );
    });
}

#[test]
fn an_ipv6_private_cluster_gets_its_blocks_gateway_and_endpoints() {
    let _moto = MOTO.lock().unwrap_or_else(|p| p.into_inner());
    let e = env();
    walk(&e, &fixture("ipv6-private.yaml"), false);
    runtime().block_on(async {
        let c = clients(&e).await;
        let vpcs = c.ec2.describe_vpcs().send().await.unwrap();
        let vpc = vpcs
            .vpcs()
            .iter()
            .find(|v| ec2_tag(v.tags(), CLUSTER_TAG) == Some("six"))
            .expect("the VPC");
        let block = vpc.ipv6_cidr_block_association_set()[0]
            .ipv6_cidr_block()
            .unwrap()
            .to_string();
        assert!(block.ends_with("/56"), "{block}");
        // Compared as addresses: AWS may write a group with a leading zero.
        let base: std::net::Ipv6Addr = block.trim_end_matches("/56").parse().unwrap();
        let subnets = c.ec2.describe_subnets().send().await.unwrap();
        let ours: Vec<_> = subnets
            .subnets()
            .iter()
            .filter(|s| s.vpc_id() == vpc.vpc_id())
            .collect();
        assert_eq!(ours.len(), 4);
        let mut v6: Vec<u128> = ours
            .iter()
            .map(|s| {
                let b = s.ipv6_cidr_block_association_set()[0]
                    .ipv6_cidr_block()
                    .unwrap();
                assert!(b.ends_with("/64"), "{b}");
                u128::from(
                    b.trim_end_matches("/64")
                        .parse::<std::net::Ipv6Addr>()
                        .unwrap(),
                )
            })
            .collect();
        v6.sort();
        let want: Vec<u128> = (0..4).map(|i| u128::from(base) + (i << 64)).collect();
        assert_eq!(v6, want, "a /64 of the VPC's /56 each");
        // Private route tables send ::/0 to the egress-only gateway.
        let eigws = c
            .ec2
            .describe_egress_only_internet_gateways()
            .send()
            .await
            .unwrap();
        let eigw = eigws.egress_only_internet_gateways()[0]
            .egress_only_internet_gateway_id()
            .unwrap()
            .to_string();
        let tables = c.ec2.describe_route_tables().send().await.unwrap();
        let via_eigw = tables
            .route_tables()
            .iter()
            .filter(|t| {
                t.routes().iter().any(|r| {
                    r.destination_ipv6_cidr_block() == Some("::/0")
                        && r.egress_only_internet_gateway_id() == Some(eigw.as_str())
                })
            })
            .count();
        assert_eq!(via_eigw, 2);
        let cluster = c.eks.describe_cluster().name("six").send().await.unwrap();
        let cl = cluster.cluster().unwrap();
        assert_eq!(
            cl.kubernetes_network_config()
                .and_then(|k| k.ip_family())
                .map(|f| f.as_str()),
            Some("ipv6")
        );
        let vc = cl.resources_vpc_config().unwrap();
        assert_eq!(
            (vc.endpoint_public_access(), vc.endpoint_private_access()),
            (false, true)
        );
        let endpoints = c.ec2.describe_vpc_endpoints().send().await.unwrap();
        let mut services: Vec<_> = endpoints
            .vpc_endpoints()
            .iter()
            .filter(|v| v.vpc_id() == vpc.vpc_id())
            .filter_map(|v| v.service_name())
            .collect();
        services.sort();
        assert_eq!(
            services,
            [
                "com.amazonaws.eu-west-1.autoscaling",
                "com.amazonaws.eu-west-1.ec2",
                "com.amazonaws.eu-west-1.ecr.api",
                "com.amazonaws.eu-west-1.ecr.dkr",
                "com.amazonaws.eu-west-1.s3",
                "com.amazonaws.eu-west-1.sts"
            ]
        );
        let policy = c
            .iam
            .get_role_policy()
            .role_name("tierui-six-vpc-cni")
            .policy_name("AmazonEKS_CNI_IPv6_Policy")
            .send()
            .await
            .unwrap();
        assert!(urlencoding_decode(policy.policy_document()).contains("ec2:AssignIpv6Addresses"));
    });
    walk(&e, &fixture("ipv6-private.yaml"), true);
    runtime().block_on(async {
        let c = clients(&e).await;
        assert_eq!(tagged_vpcs(&c, "six").await, 0);
        let eigws = c
            .ec2
            .describe_egress_only_internet_gateways()
            .send()
            .await
            .unwrap();
        assert!(eigws.egress_only_internet_gateways().is_empty());
        let endpoints = c.ec2.describe_vpc_endpoints().send().await.unwrap();
        assert!(
            endpoints.vpc_endpoints().iter().all(|v| v
                .state()
                .is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted"))),
            "endpoints left"
        );
        assert!(roles_of(&c, "six").await.is_empty());
    });
}
