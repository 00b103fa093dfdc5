//! The walkthrough plan: what eksctl would do for a ClusterConfig, one API call at a
//! time, with the reasons and the CLI equivalents. Pure: no cloud is touched here.

use serde::Serialize;

use crate::cloud::{Op, RouteTarget, TAG_CLUSTER, TAG_STEP, Tags, Trust, Val, VpcAttribute};
use crate::workspace::eksctl::{ClusterConfig, NatMode};
use crate::workspace::fields::{Diagnostic, Severity};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub cluster: String,
    pub region: String,
    pub version: Option<String>,
    pub vpc_cidr: String,
    pub azs: Vec<String>,
    /// The config named no AZs; these are the region's first ones (eksctl picks at random).
    pub azs_assumed: bool,
    pub nat: NatMode,
    pub with_oidc: bool,
    pub steps: Vec<Step>,
    /// Fields of the config the walkthrough does not act on (they do not change what
    /// is created, so the plan goes ahead).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// A … H.
    pub id: char,
    pub title: String,
    pub why: String,
    pub depends_on: Vec<char>,
    pub eksctl: String,
    pub aws_cli: Vec<String>,
    pub calls: Vec<Call>,
    /// Set when the config makes this step unnecessary (e.g. OIDC off).
    pub skip_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    /// Unique within the plan; also the value of the `tierui.io/step` tag.
    pub id: String,
    /// One line for lists ("public subnet in eu-west-1a 10.30.0.0/19").
    pub summary: String,
    pub op: Op,
    /// How long AWS usually takes, including the wait after the call.
    pub expected_secs: u64,
}

/// Why a config cannot be walked through: each field, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unsupported {
    pub fields: Vec<(String, usize, usize)>,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list: Vec<String> = self
            .fields
            .iter()
            .map(|(p, l, c)| {
                if *l == 0 {
                    p.clone()
                } else {
                    format!("{p} ({l}:{c})")
                }
            })
            .collect();
        write!(f, "not supported yet: {}", list.join(", "))?;
        if self
            .fields
            .iter()
            .any(|(p, _, _)| p.starts_with("nodeGroups["))
        {
            write!(
                f,
                " — self-managed nodeGroups need CloudFormation and Auto Scaling; use managedNodeGroups"
            )?;
        }
        if self.fields.iter().any(|(p, _, _)| p.starts_with("vpc.id")) {
            write!(f, " — an existing VPC would skip step A; not supported yet")?;
        }
        Ok(())
    }
}

/// Top-level sections that change what gets created; a plan without them would be wrong.
const BLOCKING_TOP: &[&str] = &[
    "fargateProfiles",
    "autoModeConfig",
    "remoteNetworkConfig",
    "outpost",
    "karpenter",
    "privateCluster",
    "kubernetesNetworkConfig",
    "secretsEncryption",
    "localZones",
    "identityProviders",
    "accessConfig",
    "iamIdentityMappings",
    "capabilities",
    "gitops",
    "addonsConfig",
];

/// Node-group fields that change which instances are launched.
const BLOCKING_NODEGROUP: &[&str] = &[
    "launchTemplate",
    "instanceSelector",
    "instancesDistribution",
    "ami",
    "subnets",
    "localZones",
    "outpostARN",
];

const BLOCKING_VPC: &[&str] = &[
    "controlPlaneSubnetIDs",
    "controlPlaneSecurityGroupIDs",
    "controlPlaneOnPrivateSubnets",
    "ipv6Cidr",
    "ipv6Pool",
    "autoAllocateIPv6",
    "extraCIDRs",
    "extraIPv6CIDRs",
    "securityGroup",
    "localZoneSubnets",
];

/// Splits `cidr` into subnets for `azs` availability zones, public ones first, as
/// eksctl does (a /16 becomes /19s).
pub fn subnet_cidrs(cidr: &str, azs: usize) -> Result<(Vec<String>, Vec<String>), String> {
    let (addr, len) = cidr
        .split_once('/')
        .ok_or_else(|| format!("vpc.cidr {cidr} is not a CIDR block"))?;
    let len: u32 = len
        .parse()
        .map_err(|_| format!("vpc.cidr {cidr}: bad prefix length"))?;
    let octets: Vec<u32> = addr
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("vpc.cidr {cidr}: bad address"))?;
    if octets.len() != 4 || octets.iter().any(|o| *o > 255) || !(16..=24).contains(&len) {
        return Err(format!(
            "vpc.cidr {cidr} must be an IPv4 block between /16 and /24"
        ));
    }
    let base = octets.iter().fold(0u32, |a, o| (a << 8) | o) & (u32::MAX << (32 - len));
    let needed = (2 * azs.max(1)) as u32;
    let extra = needed.next_power_of_two().trailing_zeros().max(3);
    let sub_len = len + extra;
    if sub_len > 28 {
        return Err(format!("vpc.cidr {cidr} is too small for {azs} zones"));
    }
    let size = 1u32 << (32 - sub_len);
    let block = |i: u32| {
        let a = base + i * size;
        format!(
            "{}.{}.{}.{}/{sub_len}",
            a >> 24,
            (a >> 16) & 255,
            (a >> 8) & 255,
            a & 255
        )
    };
    let n = azs as u32;
    Ok(((0..n).map(block).collect(), (n..2 * n).map(block).collect()))
}

fn tags(cluster: &str, call: &str, name: &str, extra: &[(&str, &str)]) -> Tags {
    let mut t = vec![
        (TAG_CLUSTER.to_string(), cluster.to_string()),
        (TAG_STEP.to_string(), call.to_string()),
        ("Name".to_string(), name.to_string()),
    ];
    t.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    t
}

/// An IAM role name (at most 64 characters) for one role of a cluster.
pub fn role_name(cluster: &str, what: &str) -> String {
    bounded_name(cluster, what, 64)
}

/// `tierui-<cluster>-<what>` in at most `max` bytes. A name too long keeps its
/// `what` and gets a hash of the whole name in place of the cluster name's tail,
/// so two roles of one long-named cluster never share a name; cuts fall on
/// character boundaries.
pub fn bounded_name(cluster: &str, what: &str, max: usize) -> String {
    let full = format!("tierui-{cluster}-{what}");
    if full.len() <= max {
        return full;
    }
    let hash = format!("{:08x}", crate::paths::fnv1a(full.as_bytes()) as u32);
    let fixed = "tierui-".len() + 1 + hash.len() + 1 + what.len();
    let mut room = max.saturating_sub(fixed);
    while room > 0 && !cluster.is_char_boundary(room.min(cluster.len())) {
        room -= 1;
    }
    let head = &cluster[..room.min(cluster.len())];
    let mut n = format!("tierui-{head}-{hash}-{what}");
    while n.len() > max {
        n.pop();
    }
    n
}

pub const CLUSTER_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy";
pub const NODE_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";
pub const ECR_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly";
pub const CNI_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy";
/// The root CA thumbprint AWS documents for EKS OIDC issuers (IAM no longer checks it).
pub const OIDC_THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

/// Blocking fields of a config, from its "not supported yet" diagnostics.
fn blocking(cfg: &ClusterConfig, diags: &[Diagnostic]) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = diags
        .iter()
        .filter(|d| d.severity == Severity::Unsupported)
        .filter(|d| {
            let top = d.path.split(['.', '[']).next().unwrap_or("");
            let last = d.path.rsplit('.').next().unwrap_or("");
            BLOCKING_TOP.contains(&top)
                || (top == "vpc" && BLOCKING_VPC.contains(&last))
                || ((top == "managedNodeGroups") && BLOCKING_NODEGROUP.contains(&last))
                || (top == "iam" && last == "podIdentityAssociations")
        })
        .map(|d| (d.path.clone(), d.line, d.col))
        .collect();
    for (i, g) in cfg.node_groups.iter().enumerate() {
        out.push((format!("nodeGroups[{i}] {}", g.name), g.pos.line, g.pos.col));
    }
    if cfg.vpc.id.is_some() || !cfg.vpc.subnets.is_empty() {
        let pos = cfg.vpc.pos.unwrap_or_default();
        out.push(("vpc.id / vpc.subnets".into(), pos.line, pos.col));
    }

    out
}

/// Builds the plan, or says precisely which fields stop it.
pub fn plan(cfg: &ClusterConfig, diags: &[Diagnostic]) -> Result<Plan, Unsupported> {
    let block = blocking(cfg, diags);
    if !block.is_empty() {
        return Err(Unsupported { fields: block });
    }
    let notes: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == Severity::Unsupported)
        .map(|d| format!("{} ({}:{}) is not acted on", d.path, d.line, d.col))
        .collect();
    let name = cfg.name.as_str();
    let region = cfg.region.as_str();
    let azs_assumed = cfg.availability_zones.is_empty();
    let azs: Vec<String> = if azs_assumed {
        ["a", "b", "c"]
            .iter()
            .map(|s| format!("{region}{s}"))
            .collect()
    } else {
        cfg.availability_zones.clone()
    };
    let (public, private) = subnet_cidrs(&cfg.vpc.cidr, azs.len()).map_err(|e| Unsupported {
        fields: vec![(e, 0, 0)],
    })?;
    let mut steps = vec![
        network(cfg, &azs, &public, &private),
        iam(cfg),
        control_plane(cfg, &azs),
        oidc(cfg),
        addons(cfg),
        node_groups(cfg, &azs),
        kubeconfig(cfg),
        load_balancer_controller(cfg),
    ];
    for s in &mut steps {
        if s.calls.is_empty() && s.skip_reason.is_none() {
            s.skip_reason = Some("nothing to do for this config".into());
        }
    }
    Ok(Plan {
        cluster: name.to_string(),
        region: region.to_string(),
        version: cfg.version.clone(),
        vpc_cidr: cfg.vpc.cidr.clone(),
        azs,
        azs_assumed,
        nat: cfg.vpc.nat,
        with_oidc: cfg.iam.with_oidc,
        steps,
        notes,
    })
}

fn call(id: impl Into<String>, summary: impl Into<String>, op: Op, expected_secs: u64) -> Call {
    Call {
        id: id.into(),
        summary: summary.into(),
        op,
        expected_secs,
    }
}

fn network(cfg: &ClusterConfig, azs: &[String], public: &[String], private: &[String]) -> Step {
    let n = cfg.name.as_str();
    let nat_azs = nat_gateway_azs(cfg.vpc.nat, azs);
    let mut calls = vpc_calls(n, &cfg.vpc.cidr);
    calls.extend(public_subnet_calls(n, azs, public));
    calls.extend(private_subnet_calls(n, azs, private));
    calls.extend(internet_gateway_calls(n));
    calls.extend(nat_gateway_calls(n, &nat_azs));
    calls.extend(public_route_table_calls(n, azs));
    calls.extend(private_route_table_calls(n, azs, cfg.vpc.nat, &nat_azs));
    calls.push(control_plane_security_group_call(n));
    let nat_text = nat_mode_text(cfg.vpc.nat);
    Step {
        id: 'A',
        title: "Network".into(),
        why: format!(
            "EKS needs a VPC with subnets in at least two availability zones. Public subnets (tagged kubernetes.io/role/elb) hold internet-facing load balancers and the NAT gateway; private subnets (kubernetes.io/role/internal-elb) hold the nodes and internal load balancers. The internet gateway gives public subnets a route out; this config asks for {nat_text}. The control plane security group lets the EKS-managed control plane talk to the nodes."
        ),
        depends_on: vec![],
        eksctl: format!(
            "eksctl create cluster -f <config>   # stack eksctl-{n}-cluster, resources VPC, Subnet*, InternetGateway, NATGateway, RouteTable*"
        ),
        aws_cli: network_aws_cli(n, &cfg.vpc.cidr),
        calls,
        skip_reason: None,
    }
}

/// The VPC, with DNS resolution and DNS hostnames turned on.
fn vpc_calls(n: &str, cidr: &str) -> Vec<Call> {
    vec![
        call(
            "vpc",
            format!("VPC {cidr}"),
            Op::CreateVpc {
                cidr: cidr.to_string(),
                tags: tags(n, "vpc", &format!("{n}-vpc"), &[]),
            },
            3,
        ),
        call(
            "vpc-dns-support",
            "enable DNS resolution in the VPC",
            Op::ModifyVpcAttribute {
                vpc: Val::of("vpc", "id"),
                attribute: VpcAttribute::EnableDnsSupport,
            },
            1,
        ),
        call(
            "vpc-dns-hostnames",
            "enable DNS hostnames in the VPC",
            Op::ModifyVpcAttribute {
                vpc: Val::of("vpc", "id"),
                attribute: VpcAttribute::EnableDnsHostnames,
            },
            1,
        ),
    ]
}

/// The `kubernetes.io/cluster/<name>` tag eksctl puts on the cluster's subnets.
fn cluster_subnet_tag(n: &str) -> String {
    format!("kubernetes.io/cluster/{n}")
}

/// One public subnet per AZ (tagged for internet-facing load balancers), each
/// giving public IPs on launch.
fn public_subnet_calls(n: &str, azs: &[String], public: &[String]) -> Vec<Call> {
    let cluster_tag = cluster_subnet_tag(n);
    let mut calls = Vec::new();
    for (i, az) in azs.iter().enumerate() {
        let id = format!("subnet-public-{az}");
        calls.push(call(
            &id,
            format!("public subnet {az} {}", public[i]),
            Op::CreateSubnet {
                vpc: Val::of("vpc", "id"),
                cidr: public[i].clone(),
                az: az.clone(),
                tags: tags(
                    n,
                    &id,
                    &format!("{n}-public-{az}"),
                    &[("kubernetes.io/role/elb", "1"), (&cluster_tag, "shared")],
                ),
            },
            2,
        ));
        calls.push(call(
            format!("{id}-map-public-ip"),
            format!("public IPs on launch in {az}"),
            Op::MapPublicIpOnLaunch {
                subnet: Val::of(&id, "id"),
            },
            1,
        ));
    }
    calls
}

/// One private subnet per AZ, tagged for internal load balancers.
fn private_subnet_calls(n: &str, azs: &[String], private: &[String]) -> Vec<Call> {
    let cluster_tag = cluster_subnet_tag(n);
    azs.iter()
        .enumerate()
        .map(|(i, az)| {
            let id = format!("subnet-private-{az}");
            call(
                &id,
                format!("private subnet {az} {}", private[i]),
                Op::CreateSubnet {
                    vpc: Val::of("vpc", "id"),
                    cidr: private[i].clone(),
                    az: az.clone(),
                    tags: tags(
                        n,
                        &id,
                        &format!("{n}-private-{az}"),
                        &[
                            ("kubernetes.io/role/internal-elb", "1"),
                            (&cluster_tag, "shared"),
                        ],
                    ),
                },
                2,
            )
        })
        .collect()
}

/// The internet gateway, attached to the VPC.
fn internet_gateway_calls(n: &str) -> Vec<Call> {
    vec![
        call(
            "igw",
            "internet gateway",
            Op::CreateInternetGateway {
                tags: tags(n, "igw", &format!("{n}-igw"), &[]),
            },
            2,
        ),
        call(
            "igw-attach",
            "attach the internet gateway to the VPC",
            Op::AttachInternetGateway {
                igw: Val::of("igw", "id"),
                vpc: Val::of("vpc", "id"),
            },
            2,
        ),
    ]
}

/// The AZs that get a NAT gateway: one (Single), one per AZ (HighlyAvailable)
/// or none (Disable).
fn nat_gateway_azs(nat: NatMode, azs: &[String]) -> Vec<&String> {
    match nat {
        NatMode::Single => azs.iter().take(1).collect(),
        NatMode::HighlyAvailable => azs.iter().collect(),
        NatMode::Disable => Vec::new(),
    }
}

/// An Elastic IP and a NAT gateway in the public subnet of each NAT AZ.
fn nat_gateway_calls(n: &str, nat_azs: &[&String]) -> Vec<Call> {
    let mut calls = Vec::new();
    for az in nat_azs {
        let eip = format!("eip-{az}");
        let nat = format!("nat-{az}");
        calls.push(call(
            &eip,
            format!("Elastic IP for the NAT gateway in {az}"),
            Op::AllocateAddress {
                tags: tags(n, &eip, &format!("{n}-nat-{az}"), &[]),
            },
            1,
        ));
        calls.push(call(
            &nat,
            format!("NAT gateway in {az} (and wait until available)"),
            Op::CreateNatGateway {
                subnet: Val::of(&format!("subnet-public-{az}"), "id"),
                allocation: Val::of(&eip, "allocation"),
                tags: tags(n, &nat, &format!("{n}-nat-{az}"), &[]),
            },
            100,
        ));
    }
    calls
}

/// The public route table: a default route to the internet gateway, associated
/// with every public subnet.
fn public_route_table_calls(n: &str, azs: &[String]) -> Vec<Call> {
    let mut calls = vec![
        call(
            "rt-public",
            "public route table",
            Op::CreateRouteTable {
                vpc: Val::of("vpc", "id"),
                tags: tags(n, "rt-public", &format!("{n}-public"), &[]),
            },
            1,
        ),
        call(
            "rt-public-default",
            "default route 0.0.0.0/0 → internet gateway",
            Op::CreateRoute {
                table: Val::of("rt-public", "id"),
                destination: "0.0.0.0/0".into(),
                target: RouteTarget::InternetGateway {
                    id: Val::of("igw", "id"),
                },
            },
            1,
        ),
    ];
    for az in azs {
        let id = format!("rt-public-assoc-{az}");
        calls.push(call(
            &id,
            format!("public route table ↔ public subnet {az}"),
            Op::AssociateRouteTable {
                table: Val::of("rt-public", "id"),
                subnet: Val::of(&format!("subnet-public-{az}"), "id"),
            },
            1,
        ));
    }
    calls
}

/// A private route table per AZ: a default route to its NAT gateway (when there
/// is one), associated with that AZ's private subnet.
fn private_route_table_calls(
    n: &str,
    azs: &[String],
    nat: NatMode,
    nat_azs: &[&String],
) -> Vec<Call> {
    let mut calls = Vec::new();
    for az in azs {
        let rt = format!("rt-private-{az}");
        calls.push(call(
            &rt,
            format!("private route table for {az}"),
            Op::CreateRouteTable {
                vpc: Val::of("vpc", "id"),
                tags: tags(n, &rt, &format!("{n}-private-{az}"), &[]),
            },
            1,
        ));
        if let Some(nat_az) = match nat {
            NatMode::Single => nat_azs.first().copied(),
            NatMode::HighlyAvailable => Some(az),
            NatMode::Disable => None,
        } {
            calls.push(call(
                format!("{rt}-default"),
                format!("default route 0.0.0.0/0 → NAT gateway in {nat_az}"),
                Op::CreateRoute {
                    table: Val::of(&rt, "id"),
                    destination: "0.0.0.0/0".into(),
                    target: RouteTarget::NatGateway {
                        id: Val::of(&format!("nat-{nat_az}"), "id"),
                    },
                },
                1,
            ));
        }
        calls.push(call(
            format!("{rt}-assoc"),
            format!("private route table ↔ private subnet {az}"),
            Op::AssociateRouteTable {
                table: Val::of(&rt, "id"),
                subnet: Val::of(&format!("subnet-private-{az}"), "id"),
            },
            1,
        ));
    }
    calls
}

/// The control plane security group, for the control plane to talk to the nodes.
fn control_plane_security_group_call(n: &str) -> Call {
    call(
        "sg-control-plane",
        "control plane security group",
        Op::CreateSecurityGroup {
            vpc: Val::of("vpc", "id"),
            name: format!("{n}-control-plane"),
            description: format!("EKS control plane communication with worker nodes of {n}"),
            tags: tags(n, "sg-control-plane", &format!("{n}-control-plane"), &[]),
        },
        2,
    )
}

/// What the NAT mode means for the private subnets' egress, for the step's "why".
fn nat_mode_text(nat: NatMode) -> &'static str {
    match nat {
        NatMode::Single => {
            "one NAT gateway (Single) that every private subnet routes through — cheaper, but one AZ failure cuts the others' egress"
        }
        NatMode::HighlyAvailable => {
            "a NAT gateway in every AZ (HighlyAvailable) — each private subnet keeps egress if another AZ fails, at one NAT's cost per AZ"
        }
        NatMode::Disable => {
            "no NAT gateway (Disable) — private nodes have no internet egress, so images must come from VPC endpoints or a mirror"
        }
    }
}

/// The AWS CLI equivalents of the network step.
fn network_aws_cli(n: &str, cidr: &str) -> Vec<String> {
    vec![
        format!("aws ec2 create-vpc --cidr-block {cidr} --tag-specifications 'ResourceType=vpc,Tags=[{{Key={TAG_CLUSTER},Value={n}}}]'"),
        "aws ec2 modify-vpc-attribute --vpc-id <vpc> --enable-dns-hostnames '{\"Value\":true}'".into(),
        "aws ec2 create-subnet --vpc-id <vpc> --cidr-block <cidr> --availability-zone <az>".into(),
        "aws ec2 modify-subnet-attribute --subnet-id <public-subnet> --map-public-ip-on-launch".into(),
        "aws ec2 create-internet-gateway && aws ec2 attach-internet-gateway --internet-gateway-id <igw> --vpc-id <vpc>".into(),
        "aws ec2 allocate-address --domain vpc && aws ec2 create-nat-gateway --subnet-id <public-subnet> --allocation-id <eipalloc>".into(),
        "aws ec2 wait nat-gateway-available --nat-gateway-ids <nat>".into(),
        "aws ec2 create-route-table --vpc-id <vpc> && aws ec2 create-route --route-table-id <rtb> --destination-cidr-block 0.0.0.0/0 --gateway-id <igw>".into(),
        "aws ec2 associate-route-table --route-table-id <rtb> --subnet-id <subnet>".into(),
        "aws ec2 create-security-group --group-name <name> --description <text> --vpc-id <vpc>".into(),
    ]
}

fn iam(cfg: &ClusterConfig) -> Step {
    let n = cfg.name.as_str();
    let cluster_role = role_name(n, "cluster");
    let node_role = role_name(n, "node");
    let mut calls = vec![
        call(
            "role-cluster",
            format!("cluster role {cluster_role}"),
            Op::CreateRole {
                name: cluster_role.clone(),
                trust: Trust::Service {
                    service: "eks.amazonaws.com".into(),
                },
                description: format!("EKS control plane of {n}"),
                tags: tags(n, "role-cluster", &cluster_role, &[]),
            },
            2,
        ),
        call(
            "role-cluster-policy",
            "attach AmazonEKSClusterPolicy",
            Op::AttachRolePolicy {
                role: cluster_role.clone(),
                policy_arn: Val::Lit(CLUSTER_POLICY.into()),
            },
            1,
        ),
        call(
            "role-node",
            format!("node role {node_role}"),
            Op::CreateRole {
                name: node_role.clone(),
                trust: Trust::Service {
                    service: "ec2.amazonaws.com".into(),
                },
                description: format!("worker nodes of {n}"),
                tags: tags(n, "role-node", &node_role, &[]),
            },
            2,
        ),
        call(
            "role-node-worker-policy",
            "attach AmazonEKSWorkerNodePolicy",
            Op::AttachRolePolicy {
                role: node_role.clone(),
                policy_arn: Val::Lit(NODE_POLICY.into()),
            },
            1,
        ),
        call(
            "role-node-ecr-policy",
            "attach AmazonEC2ContainerRegistryPullOnly",
            Op::AttachRolePolicy {
                role: node_role.clone(),
                policy_arn: Val::Lit(ECR_POLICY.into()),
            },
            1,
        ),
    ];
    let cni = if cfg.iam.with_oidc {
        "With withOIDC the CNI policy is not put on the node role: step D gives the aws-node service account its own role (IRSA), so pods on the node cannot use it."
    } else {
        calls.push(call(
            "role-node-cni-policy",
            "attach AmazonEKS_CNI_Policy to the node role",
            Op::AttachRolePolicy {
                role: node_role.clone(),
                policy_arn: Val::Lit(CNI_POLICY.into()),
            },
            1,
        ));
        "Without OIDC the VPC CNI plugin (aws-node) runs with the node's role, so AmazonEKS_CNI_Policy goes on the node role — every pod on the node can use it."
    };
    Step {
        id: 'B',
        title: "IAM roles".into(),
        why: format!("The EKS service acts in your account through the cluster role (AmazonEKSClusterPolicy: ENIs, load balancers, logs). Nodes join the cluster and pull images with the node role (AmazonEKSWorkerNodePolicy, AmazonEC2ContainerRegistryPullOnly). {cni}"),
        depends_on: vec![],
        eksctl: "eksctl create cluster -f <config>   # ServiceRole and NodeInstanceRole in the CloudFormation stacks".into(),
        aws_cli: vec![
            format!("aws iam create-role --role-name {cluster_role} --assume-role-policy-document file://eks-trust.json"),
            format!("aws iam attach-role-policy --role-name {cluster_role} --policy-arn {CLUSTER_POLICY}"),
            format!("aws iam create-role --role-name {node_role} --assume-role-policy-document file://ec2-trust.json"),
            format!("aws iam attach-role-policy --role-name {node_role} --policy-arn {NODE_POLICY}"),
            format!("aws iam attach-role-policy --role-name {node_role} --policy-arn {ECR_POLICY}"),
        ],
        calls,
        skip_reason: None,
    }
}

fn control_plane(cfg: &ClusterConfig, azs: &[String]) -> Step {
    let n = cfg.name.as_str();
    let mut subnets: Vec<Val> = azs
        .iter()
        .map(|az| Val::of(&format!("subnet-public-{az}"), "id"))
        .collect();
    subnets.extend(
        azs.iter()
            .map(|az| Val::of(&format!("subnet-private-{az}"), "id")),
    );
    let mut tags: Tags = vec![
        (TAG_CLUSTER.into(), n.into()),
        (TAG_STEP.into(), "cluster".into()),
    ];
    tags.extend(cfg.tags.iter().cloned());
    let op = Op::CreateCluster {
        name: n.to_string(),
        version: cfg.version.clone(),
        role_arn: Val::of("role-cluster", "arn"),
        subnets,
        security_groups: vec![Val::of("sg-control-plane", "id")],
        public_access: cfg.vpc.public_access,
        private_access: cfg.vpc.private_access,
        public_access_cidrs: cfg.vpc.public_access_cidrs.clone(),
        logging: cfg.logging.clone(),
        tags,
    };
    Step {
        id: 'C',
        title: "Control plane".into(),
        why: format!(
            "CreateCluster asks EKS to run a Kubernetes {} control plane (API servers and etcd across three AZs, managed by AWS) attached to the VPC's subnets through ENIs. It takes about ten minutes to become ACTIVE; nothing else can talk to the cluster until then. Endpoint access: public {}, private {}.",
            cfg.version.as_deref().unwrap_or("(default version)"),
            cfg.vpc.public_access,
            cfg.vpc.private_access
        ),
        depends_on: vec!['A', 'B'],
        eksctl: format!(
            "eksctl create cluster -f <config>   # ControlPlane in stack eksctl-{n}-cluster"
        ),
        aws_cli: vec![
            format!(
                "aws eks create-cluster --name {n}{} --role-arn <cluster-role-arn> --resources-vpc-config subnetIds=<subnets>,securityGroupIds=<sg>,endpointPublicAccess={},endpointPrivateAccess={}",
                cfg.version
                    .as_ref()
                    .map(|v| format!(" --kubernetes-version {v}"))
                    .unwrap_or_default(),
                cfg.vpc.public_access,
                cfg.vpc.private_access
            ),
            format!("aws eks wait cluster-active --name {n}"),
        ],
        calls: vec![call(
            "cluster",
            format!("EKS cluster {n} (and wait until ACTIVE)"),
            op,
            600,
        )],
        skip_reason: None,
    }
}

fn oidc(cfg: &ClusterConfig) -> Step {
    let n = cfg.name.as_str();
    let mut step = Step {
        id: 'D',
        title: "OIDC provider (IRSA)".into(),
        why: "IAM Roles for Service Accounts: registering the cluster's OIDC issuer with IAM lets a Kubernetes service account assume an IAM role of its own, so a pod gets exactly the AWS permissions it needs instead of the node's. The VPC CNI (aws-node) gets its AmazonEKS_CNI_Policy this way.".into(),
        depends_on: vec!['C'],
        eksctl: format!("eksctl utils associate-iam-oidc-provider --cluster {n} --approve"),
        aws_cli: vec![
            format!("aws eks describe-cluster --name {n} --query cluster.identity.oidc.issuer"),
            format!("aws iam create-open-id-connect-provider --url <issuer> --client-id-list sts.amazonaws.com --thumbprint-list {OIDC_THUMBPRINT}"),
        ],
        calls: Vec::new(),
        skip_reason: None,
    };
    if !cfg.iam.with_oidc {
        step.skip_reason =
            Some("iam.withOIDC is off: no IRSA; the CNI policy is on the node role instead".into());
        return step;
    }
    step.calls.push(call(
        "oidc",
        "IAM OIDC identity provider for the cluster's issuer",
        Op::CreateOidcProvider {
            issuer: Val::of("cluster", "issuer"),
            client_ids: vec!["sts.amazonaws.com".into()],
            thumbprint: OIDC_THUMBPRINT.into(),
            tags: tags(n, "oidc", &format!("{n}-oidc"), &[]),
        },
        2,
    ));
    let cni_role = role_name(n, "vpc-cni");
    step.calls.push(call(
        "role-vpc-cni",
        format!("IRSA role {cni_role} for kube-system/aws-node"),
        Op::CreateRole {
            name: cni_role.clone(),
            trust: Trust::WebIdentity {
                provider_arn: Val::of("oidc", "arn"),
                issuer: Val::of("cluster", "issuer"),
                namespace: "kube-system".into(),
                service_account: "aws-node".into(),
            },
            description: format!("VPC CNI of {n} (IRSA)"),
            tags: tags(n, "role-vpc-cni", &cni_role, &[]),
        },
        2,
    ));
    step.calls.push(call(
        "role-vpc-cni-policy",
        "attach AmazonEKS_CNI_Policy to the aws-node role",
        Op::AttachRolePolicy {
            role: cni_role,
            policy_arn: Val::Lit(CNI_POLICY.into()),
        },
        1,
    ));
    step
}

fn addons(cfg: &ClusterConfig) -> Step {
    let n = cfg.name.as_str();
    // eksctl installs these three by default; a config's `addons` makes them managed.
    let names: Vec<(String, Option<String>)> = if cfg.addons.is_empty() {
        ["vpc-cni", "kube-proxy", "coredns"]
            .iter()
            .map(|a| (a.to_string(), None))
            .collect()
    } else {
        cfg.addons
            .iter()
            .map(|a| (a.name.clone(), a.version.clone().filter(|v| v != "latest")))
            .collect()
    };
    let calls = names
        .iter()
        .map(|(a, v)| {
            let role =
                (a == "vpc-cni" && cfg.iam.with_oidc).then(|| Val::of("role-vpc-cni", "arn"));
            call(
                format!("addon-{a}"),
                format!(
                    "managed addon {a} {} (and wait until ACTIVE)",
                    v.as_deref().unwrap_or("default version")
                ),
                Op::CreateAddon {
                    cluster: n.into(),
                    name: a.clone(),
                    version: v.clone(),
                    role_arn: role,
                    tags: vec![
                        (TAG_CLUSTER.into(), n.into()),
                        (TAG_STEP.into(), format!("addon-{a}")),
                    ],
                },
                60,
            )
        })
        .collect();
    Step {
        id: 'E',
        title: "Addons".into(),
        why: "The networking pieces every node needs: vpc-cni gives pods VPC IP addresses, kube-proxy programs Service routing on each node, coredns answers in-cluster DNS. As EKS managed addons AWS keeps their versions compatible with the control plane.".into(),
        depends_on: if cfg.iam.with_oidc { vec!['C', 'D'] } else { vec!['C'] },
        eksctl: format!("eksctl create addon --cluster {n} --name <addon>"),
        aws_cli: vec![format!("aws eks create-addon --cluster-name {n} --addon-name <addon> [--service-account-role-arn <role>]"), format!("aws eks wait addon-active --cluster-name {n} --addon-name <addon>")],
        calls,
        skip_reason: None,
    }
}

fn node_groups(cfg: &ClusterConfig, azs: &[String]) -> Step {
    let n = cfg.name.as_str();
    let calls = cfg
        .managed_node_groups
        .iter()
        .map(|g| {
            let kind = if g.private_networking { "private" } else { "public" };
            let zones: Vec<&String> = if g.availability_zones.is_empty() { azs.iter().collect() } else { g.availability_zones.iter().collect() };
            let subnets = zones.iter().map(|az| Val::of(&format!("subnet-{kind}-{az}"), "id")).collect();
            let mut t: Tags = vec![(TAG_CLUSTER.into(), n.into()), (TAG_STEP.into(), format!("nodegroup-{}", g.name))];
            t.extend(g.tags.iter().cloned());
            call(
                format!("nodegroup-{}", g.name),
                format!("managed node group {} {}×{} ({}..{}) in {kind} subnets (and wait until ACTIVE)", g.name, g.desired_capacity, g.instance_types.join("/"), g.min_size, g.max_size),
                Op::CreateNodegroup {
                    cluster: n.into(),
                    name: g.name.clone(),
                    role_arn: Val::of("role-node", "arn"),
                    subnets,
                    instance_types: g.instance_types.clone(),
                    min_size: g.min_size,
                    desired_size: g.desired_capacity,
                    max_size: g.max_size,
                    disk_size: g.volume_size,
                    capacity_type: if g.spot { "SPOT".into() } else { "ON_DEMAND".into() },
                    labels: g.labels.clone(),
                    taints: g.taints.iter().map(|t| (t.key.clone(), t.value.clone(), t.effect.clone())).collect(),
                    tags: t,
                },
                240,
            )
        })
        .collect();
    Step {
        id: 'F',
        title: "Managed node groups".into(),
        why: "Nodes are EC2 instances in an Auto Scaling group that EKS manages: it picks the EKS-optimised AMI, joins the instances to the cluster with the node role and drains them on updates. Private networking keeps nodes off the internet; they reach it through the NAT gateway.".into(),
        depends_on: vec!['B', 'C', 'E'],
        eksctl: format!("eksctl create nodegroup --cluster {n} -f <config>"),
        aws_cli: vec![
            format!("aws eks create-nodegroup --cluster-name {n} --nodegroup-name <name> --node-role <node-role-arn> --subnets <subnets> --instance-types <types> --scaling-config minSize=<min>,maxSize=<max>,desiredSize=<desired>"),
            format!("aws eks wait nodegroup-active --cluster-name {n} --nodegroup-name <name>"),
        ],
        calls,
        skip_reason: None,
    }
}

fn kubeconfig(cfg: &ClusterConfig) -> Step {
    let n = cfg.name.as_str();
    Step {
        id: 'G',
        title: "kubeconfig".into(),
        why: "kubectl and tierui reach the cluster through a kubeconfig entry: the API endpoint, the cluster's CA certificate, and an exec credential (`aws eks get-token`) that turns your AWS identity into a short-lived Kubernetes token. tierui writes its own file in the state dir and never edits ~/.kube/config.".into(),
        depends_on: vec!['C'],
        eksctl: format!("eksctl utils write-kubeconfig --cluster {n} --region {}", cfg.region),
        aws_cli: vec![format!("aws eks update-kubeconfig --name {n} --region {}", cfg.region)],
        calls: vec![call("kubeconfig", "kubeconfig entry with an `aws eks get-token` exec credential", Op::WriteKubeconfig { cluster: n.into(), region: cfg.region.clone(), endpoint: Val::of("cluster", "endpoint"), certificate: Val::of("cluster", "certificate") }, 1)],
        skip_reason: None,
    }
}

/// The AWS Load Balancer Controller release the walkthrough installs.
pub const ALB_CONTROLLER_VERSION: &str = "v3.5.0";
/// Its Helm chart version in the eks-charts repository.
pub const ALB_CHART_VERSION: &str = "3.5.0";

/// The controller's published IAM policy for [`ALB_CONTROLLER_VERSION`]
/// (`docs/install/iam_policy.json` of that release, shipped unchanged in
/// `data/`), without whitespace: IAM's 6,144-character limit counts it.
pub fn alb_policy_document() -> String {
    let published = include_str!("data/aws-load-balancer-controller-iam-policy.json");
    // A test proves the shipped file is JSON; the text is sent as it is otherwise.
    serde_json::from_str::<serde_json::Value>(published)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| published.to_string())
}

fn load_balancer_controller(cfg: &ClusterConfig) -> Step {
    let n = cfg.name.as_str();
    let policy = bounded_name(n, "AWSLoadBalancerController", 128);
    let role = role_name(n, "alb-controller");
    let helm = format!(
        "helm upgrade --install aws-load-balancer-controller eks/aws-load-balancer-controller --version {ALB_CHART_VERSION} -n kube-system --set clusterName={n} --set serviceAccount.create=false --set serviceAccount.name=aws-load-balancer-controller"
    );
    let mut step = Step {
        id: 'H',
        title: "Load balancer controller".into(),
        why: "Ingresses with ingressClassName: alb (like the demo services') become Application Load Balancers only when the AWS Load Balancer Controller runs in the cluster. It needs an IAM policy to manage load balancers, an IRSA role so only its service account gets that policy, the service account itself, and the controller (a Helm chart).".into(),
        depends_on: vec!['D', 'G'],
        eksctl: format!("eksctl create iamserviceaccount --cluster {n} --namespace kube-system --name aws-load-balancer-controller --attach-policy-arn <policy> --approve"),
        aws_cli: vec![
            format!("curl -o iam_policy.json https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/{ALB_CONTROLLER_VERSION}/docs/install/iam_policy.json"),
            format!("aws iam create-policy --policy-name {policy} --policy-document file://iam_policy.json"),
            format!("aws iam create-role --role-name {role} --assume-role-policy-document file://irsa-trust.json"),
            format!("aws iam attach-role-policy --role-name {role} --policy-arn <policy-arn>"),
            "kubectl -n kube-system create serviceaccount aws-load-balancer-controller && kubectl annotate … eks.amazonaws.com/role-arn=<role-arn>".into(),
            helm.clone(),
        ],
        calls: Vec::new(),
        skip_reason: None,
    };
    if !cfg.iam.with_oidc {
        step.skip_reason = Some("needs IRSA (iam.withOIDC: true) for the controller's role".into());
        return step;
    }
    step.calls = vec![
        call(
            "alb-policy",
            format!(
                "IAM policy {policy} (the controller's published policy, {ALB_CONTROLLER_VERSION})"
            ),
            Op::CreatePolicy {
                name: policy.clone(),
                document: alb_policy_document(),
                tags: tags(n, "alb-policy", &policy, &[]),
            },
            2,
        ),
        call(
            "role-alb",
            format!("IRSA role {role} for kube-system/aws-load-balancer-controller"),
            Op::CreateRole {
                name: role.clone(),
                trust: Trust::WebIdentity {
                    provider_arn: Val::of("oidc", "arn"),
                    issuer: Val::of("cluster", "issuer"),
                    namespace: "kube-system".into(),
                    service_account: "aws-load-balancer-controller".into(),
                },
                description: format!("AWS Load Balancer Controller of {n} (IRSA)"),
                tags: tags(n, "role-alb", &role, &[]),
            },
            2,
        ),
        call(
            "role-alb-policy",
            "attach the controller policy to its role",
            Op::AttachRolePolicy {
                role: role.clone(),
                policy_arn: Val::of("alb-policy", "arn"),
            },
            1,
        ),
        call(
            "alb-service-account",
            "service account kube-system/aws-load-balancer-controller with the role",
            Op::CreateServiceAccount {
                cluster: n.into(),
                namespace: "kube-system".into(),
                name: "aws-load-balancer-controller".into(),
                role_arn: Val::of("role-alb", "arn"),
            },
            2,
        ),
        call(
            "alb-helm",
            "install the controller chart (you run this)",
            Op::Manual {
                command: helm,
                reason: "tierui does not run Helm; this is the documented manual step".into(),
            },
            0,
        ),
    ];
    step
}

impl Plan {
    pub fn step(&self, id: char) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn calls(&self) -> impl Iterator<Item = (&Step, &Call)> {
        self.steps
            .iter()
            .flat_map(|s| s.calls.iter().map(move |c| (s, c)))
    }

    pub fn call(&self, id: &str) -> Option<&Call> {
        self.calls().map(|(_, c)| c).find(|c| c.id == id)
    }

    pub fn step_of(&self, call_id: &str) -> Option<&Step> {
        self.calls().find(|(_, c)| c.id == call_id).map(|(s, _)| s)
    }

    /// A fingerprint of what would be created, so a state file from a different
    /// config is not resumed by mistake.
    pub fn fingerprint(&self) -> String {
        let text = serde_json::to_string(
            &self
                .calls()
                .map(|(_, c)| (&c.id, &c.op))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default();
        format!("{:016x}", crate::paths::fnv1a(text.as_bytes()))
    }
}

/// The demo's dawn plan, with its NAT mode replaced (`Single`,
/// `HighlyAvailable`, `Disable`), for the walkthrough's tests in this crate and
/// the backends (the embedded demo config always plans).
pub fn demo_plan_with_nat(nat: &str) -> Plan {
    let src = std::str::from_utf8(
        crate::demo::file("fixtures/demo/provisioning/manual/dawn-cluster.yaml")
            .expect("the demo's dawn config"),
    )
    .expect("UTF-8")
    .replace("gateway: Single", &format!("gateway: {nat}"));
    let mut d = Vec::new();
    let root = crate::workspace::yaml::parse_single(&src).expect("YAML");
    let cfg = crate::workspace::eksctl::parse(&root, &mut d).expect("a ClusterConfig");
    plan(&cfg, &d).expect("a plan")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_balancer_policy_is_the_published_one() {
        let doc: serde_json::Value = serde_json::from_str(&alb_policy_document()).unwrap();
        let text = doc.to_string();
        assert!(text.len() <= 6144, "IAM's limit: {}", text.len());
        assert_eq!(doc["Version"], "2012-10-17");
        let actions: Vec<&str> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| match &s["Action"] {
                serde_json::Value::String(a) => vec![a.as_str()],
                serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
                _ => Vec::new(),
            })
            .collect();
        // What the controller needs that a hand-cut policy tends to forget.
        for a in [
            "elasticloadbalancing:CreateLoadBalancer",
            "elasticloadbalancing:CreateTargetGroup",
            "ec2:CreateSecurityGroup",
            "wafv2:AssociateWebACL",
            "elasticloadbalancing:AddTags",
        ] {
            assert!(actions.contains(&a), "{a} missing");
        }
    }

    #[test]
    fn long_names_stay_within_iam_limits_and_apart() {
        let long = "a".repeat(100);
        let (c, n) = (role_name(&long, "cluster"), role_name(&long, "node"));
        assert!(c.len() <= 64 && n.len() <= 64, "{c} {n}");
        assert_ne!(c, n);
        assert!(c.ends_with("-cluster") && n.ends_with("-node"));
        // A multi-byte character across byte 64 neither panics nor is cut in half.
        let wide = format!("{}é{}", "b".repeat(55), "c".repeat(20));
        let r = role_name(&wide, "vpc-cni");
        assert!(r.len() <= 64 && r.ends_with("-vpc-cni"), "{r}");
        assert_eq!(role_name("dawn", "node"), "tierui-dawn-node");
        assert!(bounded_name(&long, "AWSLoadBalancerController", 128).len() <= 128);
    }
    use crate::workspace::eksctl;
    use crate::workspace::yaml::parse_single;

    fn load(src: &str) -> Result<Plan, Unsupported> {
        let mut d = Vec::new();
        let cfg = eksctl::parse(&parse_single(src).unwrap(), &mut d).unwrap();
        plan(&cfg, &d)
    }

    fn demo() -> Plan {
        load(
            std::str::from_utf8(
                crate::demo::file("fixtures/demo/provisioning/manual/dawn-cluster.yaml").unwrap(),
            )
            .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn subnets_split_like_eksctl() {
        let (public, private) = subnet_cidrs("192.168.0.0/16", 3).unwrap();
        assert_eq!(
            public,
            ["192.168.0.0/19", "192.168.32.0/19", "192.168.64.0/19"]
        );
        assert_eq!(
            private,
            ["192.168.96.0/19", "192.168.128.0/19", "192.168.160.0/19"]
        );
        let (public, private) = subnet_cidrs("10.0.0.0/16", 6).unwrap();
        assert_eq!(
            (public[0].as_str(), private[5].as_str()),
            ("10.0.0.0/20", "10.0.176.0/20")
        );
        assert!(subnet_cidrs("10.0.0.0/8", 2).is_err());
        assert!(subnet_cidrs("banana", 2).is_err());
    }

    #[test]
    fn demo_plan_follows_the_config() {
        let p = demo();
        assert_eq!(p.steps.iter().map(|s| s.id).collect::<String>(), "ABCDEFGH");
        assert_eq!(p.azs, ["eu-west-1a", "eu-west-1b"]);
        let a = p.step('A').unwrap();
        assert_eq!(
            a.calls
                .iter()
                .filter(|c| matches!(c.op, Op::CreateNatGateway { .. }))
                .count(),
            1,
            "Single NAT"
        );
        assert_eq!(
            a.calls
                .iter()
                .filter(|c| matches!(c.op, Op::CreateSubnet { .. }))
                .count(),
            4
        );
        // withOIDC: the CNI policy goes to an IRSA role, not the node role.
        assert!(
            !p.step('B')
                .unwrap()
                .calls
                .iter()
                .any(|c| c.id == "role-node-cni-policy")
        );
        assert!(
            p.step('D')
                .unwrap()
                .calls
                .iter()
                .any(|c| c.id == "role-vpc-cni-policy")
        );
        let f = p.step('F').unwrap();
        assert!(matches!(
            &f.calls[0].op,
            Op::CreateNodegroup {
                min_size: 2,
                desired_size: 2,
                max_size: 4,
                ..
            }
        ));
        let ids: Vec<_> = p.calls().map(|(_, c)| c.id.clone()).collect();
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(ids.len(), unique.len(), "call ids are unique");
        // Every reference points at an earlier call.
        let json = serde_json::to_value(&p).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for (_, c) in p.calls() {
            let text = serde_json::to_string(&c.op).unwrap();
            for id in &ids {
                if text.contains(&format!("\"call\":\"{id}\"")) {
                    assert!(seen.contains(id), "{} refers to {id} before it runs", c.id);
                }
            }
            seen.insert(c.id.clone());
        }
        assert!(json["steps"][0]["why"].as_str().unwrap().contains("Single"));
    }

    #[test]
    fn nat_modes_and_oidc_off() {
        let base = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c, region: us-east-2}\n";
        let ha = load(&format!(
            "{base}vpc:\n  nat:\n    gateway: HighlyAvailable\n"
        ))
        .unwrap();
        assert!(ha.azs_assumed);
        assert_eq!(
            ha.step('A')
                .unwrap()
                .calls
                .iter()
                .filter(|c| matches!(c.op, Op::CreateNatGateway { .. }))
                .count(),
            3
        );
        let off = load(&format!("{base}vpc:\n  nat:\n    gateway: Disable\n")).unwrap();
        assert_eq!(
            off.step('A')
                .unwrap()
                .calls
                .iter()
                .filter(|c| matches!(
                    c.op,
                    Op::CreateNatGateway { .. } | Op::AllocateAddress { .. }
                ))
                .count(),
            0
        );
        assert!(
            off.step('B')
                .unwrap()
                .calls
                .iter()
                .any(|c| c.id == "role-node-cni-policy")
        );
        assert!(off.step('D').unwrap().skip_reason.is_some());
        assert!(off.step('H').unwrap().skip_reason.is_some());
        assert!(
            off.step('F').unwrap().skip_reason.is_some(),
            "no node groups"
        );
    }

    #[test]
    fn unsupported_fields_block_with_positions() {
        let e = load("apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c, region: r}\nfargateProfiles:\n  - name: fp\nnodeGroups:\n  - name: ng\n").unwrap_err();
        let text = e.to_string();
        assert_eq!(
            text,
            "not supported yet: fargateProfiles (4:1), nodeGroups[0] ng (7:5) — self-managed nodeGroups need CloudFormation and Auto Scaling; use managedNodeGroups"
        );
    }

    #[test]
    fn harmless_unsupported_fields_are_notes() {
        let p = load("apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c, region: r}\nupgradePolicy:\n  supportType: STANDARD\n").unwrap();
        assert_eq!(p.notes, vec!["upgradePolicy (4:1) is not acted on"]);
    }
}
