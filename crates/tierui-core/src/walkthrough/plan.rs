//! The walkthrough plan: what eksctl would do for a ClusterConfig, one API call at a
//! time, with the reasons and the CLI equivalents. Pure: no cloud is touched here.

use serde::Serialize;

use crate::cloud::{
    ClusterExtras, NodegroupExtras, Op, RouteTarget, TAG_CLUSTER, TAG_STEP, Tags, Trust, Val,
    VpcAttribute,
};
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
        let mut said = Vec::new();
        for (p, _, _) in &self.fields {
            if let Some(why) = refusal_reason(p)
                && !said.contains(&why)
            {
                write!(f, " — {why}")?;
                said.push(why);
            }
        }
        Ok(())
    }
}

/// Why a field is refused: the AWS service it needs and what eksctl does there.
pub fn refusal_reason(path: &str) -> Option<&'static str> {
    let top = path.split(['.', '[', ' ']).next().unwrap_or("");
    let last = path.rsplit('.').next().unwrap_or("");
    Some(match (top, last) {
        ("outpost", _) | (_, "outpostARN") => {
            "outpost: the control plane and nodes run on an AWS Outposts rack (CreateCluster outpostConfig, EC2 capacity on the rack); the walkthrough models no Outposts"
        }
        ("remoteNetworkConfig", _) => {
            "remoteNetworkConfig: hybrid nodes are your own machines joined through SSM or IAM Roles Anywhere over routed remote networks (VPN/Direct Connect); not modelled"
        }
        ("autoModeConfig", _) => {
            "autoModeConfig: EKS Auto Mode runs the nodes, storage and load balancing itself (computeConfig, node pools); the walkthrough models node groups, not Auto Mode"
        }
        ("karpenter", _) => {
            "karpenter: eksctl installs Karpenter's Helm chart with an SQS interruption queue and EventBridge rules; those services are not modelled"
        }
        ("capabilities", _) => {
            "capabilities: EKS capabilities (managed ACK, kro, Argo CD) are created with CreateCapability; not modelled"
        }
        ("gitops", _) => {
            "gitops: Flux is bootstrapped against a Git repository with a provider token, not through an AWS API"
        }
        ("addonsConfig", _) => {
            "addonsConfig: automatic pod identity associations and default-addon switches are not modelled"
        }
        ("deletionProtection", _) => "deletionProtection: not modelled yet",
        ("vpc", "ipv6Cidr" | "ipv6Pool") => {
            "vpc.ipv6Cidr/ipv6Pool: bring-your-own IPv6 pools (BYOIP) are not modelled; the walkthrough uses an Amazon-provided /56"
        }
        ("vpc", "extraCIDRs" | "extraIPv6CIDRs") => {
            "vpc.extraCIDRs: secondary VPC CIDR blocks are not modelled"
        }
        (
            "vpc",
            "securityGroup" | "sharedNodeSecurityGroup" | "manageSharedNodeSecurityGroupRules",
        ) => {
            "vpc.securityGroup/sharedNodeSecurityGroup: an existing shared security group is not modelled; the walkthrough creates its own"
        }
        ("vpc", "localZoneSubnets") => {
            "vpc.localZoneSubnets: existing Local Zone subnets are not modelled; localZones creates them"
        }
        (_, "podExecutionRoleARN") => {
            "fargateProfiles[].podExecutionRoleARN: use iam.fargatePodExecutionRoleARN"
        }
        _ => return None,
    })
}

/// Top-level sections that need a service the walkthrough does not model; a
/// plan without them would be wrong.
pub const BLOCKING_TOP: &[&str] = &[
    "autoModeConfig",
    "remoteNetworkConfig",
    "outpost",
    "karpenter",
    "capabilities",
    "gitops",
    "addonsConfig",
    "deletionProtection",
];

/// Node-group fields that change where instances run in a way not modelled.
pub const BLOCKING_NODEGROUP: &[&str] = &["outpostARN"];

pub const BLOCKING_VPC: &[&str] = &[
    "ipv6Cidr",
    "ipv6Pool",
    "extraCIDRs",
    "extraIPv6CIDRs",
    "securityGroup",
    "sharedNodeSecurityGroup",
    "manageSharedNodeSecurityGroupRules",
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

pub(crate) fn tags(cluster: &str, call: &str, name: &str, extra: &[(&str, &str)]) -> Tags {
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
fn blocking(diags: &[Diagnostic]) -> Vec<(String, usize, usize)> {
    diags
        .iter()
        .filter(|d| d.severity == Severity::Unsupported)
        .filter(|d| {
            let top = d.path.split(['.', '[']).next().unwrap_or("");
            let last = d.path.rsplit('.').next().unwrap_or("");
            BLOCKING_TOP.contains(&top)
                || (top == "vpc" && BLOCKING_VPC.contains(&last))
                || ((top == "managedNodeGroups" || top == "nodeGroups")
                    && BLOCKING_NODEGROUP.contains(&last))
                || last == "podExecutionRoleARN"
        })
        .map(|d| (d.path.clone(), d.line, d.col))
        .collect()
}

/// A subnet the plan places things in: created by step A or found by it.
#[derive(Debug, Clone)]
pub struct SubnetRef {
    /// The AZ for created subnets; the key under vpc.subnets for existing ones.
    pub alias: String,
    pub az: Option<String>,
    pub private: bool,
    pub val: Val,
}

/// The network the later steps use, whichever way step A gets it.
#[derive(Debug, Clone)]
pub struct Net {
    pub vpc: Val,
    pub public: Vec<SubnetRef>,
    pub private: Vec<SubnetRef>,
    /// Local Zone subnets (public and private).
    pub local: Vec<SubnetRef>,
}

impl Net {
    /// A subnet a node group or profile names: an alias of vpc.subnets, an AZ, or an id.
    pub fn subnet_ref(&self, name: &str) -> Result<Val, String> {
        if let Some(s) = self
            .public
            .iter()
            .chain(&self.private)
            .chain(&self.local)
            .find(|s| s.alias == name)
        {
            return Ok(s.val.clone());
        }
        if name.starts_with("subnet-") {
            return Ok(Val::Lit(name.to_string()));
        }
        Err(format!(
            "subnet {name} is neither a key of vpc.subnets nor a subnet id"
        ))
    }
}

/// Builds the plan, or says precisely which fields stop it.
pub fn plan(cfg: &ClusterConfig, diags: &[Diagnostic]) -> Result<Plan, Unsupported> {
    let block = blocking(diags);
    if !block.is_empty() {
        return Err(Unsupported { fields: block });
    }
    let mut notes: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == Severity::Unsupported)
        .map(|d| format!("{} ({}:{}) is not acted on", d.path, d.line, d.col))
        .collect();
    let refuse = |e: String| Unsupported {
        fields: vec![(e, 0, 0)],
    };
    check(cfg).map_err(|(what, pos)| Unsupported {
        fields: vec![(what, pos.line, pos.col)],
    })?;
    let name = cfg.name.as_str();
    let region = cfg.region.as_str();
    let existing = cfg.vpc.id.is_some() || !cfg.vpc.subnets.is_empty();
    let existing_azs: Vec<String> = cfg
        .vpc
        .subnets
        .iter()
        .filter(|s| s.az.starts_with(region))
        .map(|s| s.az.clone())
        .fold(Vec::new(), |mut v, az| {
            if !v.contains(&az) {
                v.push(az);
            }
            v
        });
    let azs_assumed = cfg.availability_zones.is_empty() && (!existing || existing_azs.is_empty());
    let azs: Vec<String> = if existing && !existing_azs.is_empty() {
        existing_azs
    } else if azs_assumed {
        ["a", "b", "c"]
            .iter()
            .map(|s| format!("{region}{s}"))
            .collect()
    } else {
        cfg.availability_zones.clone()
    };
    let (network_step, net) = if existing {
        existing_network(cfg)
    } else {
        let zones = azs.len() + cfg.local_zones.len();
        let (public, private) = subnet_cidrs(&cfg.vpc.cidr, zones).map_err(refuse)?;
        network(cfg, &azs, &public, &private)
    };
    if cfg.log_retention_days.is_some() {
        notes.push("cloudWatch.clusterLogging.logRetentionInDays is not acted on: the log group /aws/eks/<cluster>/cluster keeps logs forever until you run `aws logs put-retention-policy` (CloudWatch Logs is not modelled)".into());
    }
    if let Some(pc) = cfg.private_cluster.as_ref().filter(|p| p.enabled) {
        for g in cfg.all_node_groups().filter(|g| !g.private_networking) {
            notes.push(format!(
                "privateCluster ({}:{}): node group {} has no privateNetworking: true; eksctl refuses that for a fully-private cluster",
                pc.pos.line, pc.pos.col, g.name
            ));
        }
    }
    let mut steps = vec![
        network_step,
        iam(cfg),
        control_plane(cfg, &net),
        oidc(cfg),
        addons(cfg).map_err(refuse)?,
        node_groups(cfg, &net, &mut notes).map_err(refuse)?,
        kubeconfig(cfg),
        load_balancer_controller(cfg),
        super::nodes::self_managed(cfg, &net, &mut notes).map_err(refuse)?,
        super::identity::fargate(cfg, &net).map_err(refuse)?,
        super::identity::access(
            cfg,
            cfg.access.authentication_mode.as_deref() == Some("API"),
            &mut notes,
        )
        .map_err(refuse)?,
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

/// Combinations eksctl itself refuses, with the field's position.
fn check(cfg: &ClusterConfig) -> Result<(), (String, crate::workspace::yaml::Pos)> {
    let at = |name: &str| {
        cfg.sections
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, p)| *p)
            .unwrap_or_default()
    };
    if cfg.ip_family == "IPv6" {
        if !cfg.iam.with_oidc {
            return Err(("kubernetesNetworkConfig.ipFamily IPv6 needs iam.withOIDC: true (the VPC CNI's IPv6 policy goes on its IRSA role)".into(), at("kubernetesNetworkConfig")));
        }
        if let Some(g) = cfg.node_groups.first() {
            return Err((
                format!(
                    "nodeGroups[0] {}: eksctl supports only managed node groups on IPv6 clusters",
                    g.name
                ),
                g.pos,
            ));
        }
        if cfg.vpc.id.is_some() || !cfg.vpc.subnets.is_empty() {
            return Err(("kubernetesNetworkConfig.ipFamily IPv6 with an existing VPC is not modelled (its subnets' IPv6 blocks would need checking)".into(), at("vpc")));
        }
    }
    if cfg
        .secrets_encryption
        .as_ref()
        .is_some_and(|s| s.key_arn.as_deref().is_some_and(|k| !k.starts_with("arn:")))
    {
        return Err((
            "secretsEncryption.keyARN must be a KMS key ARN (arn:aws:kms:…)".into(),
            at("secretsEncryption"),
        ));
    }
    Ok(())
}

pub(crate) fn call(
    id: impl Into<String>,
    summary: impl Into<String>,
    op: Op,
    expected_secs: u64,
) -> Call {
    Call {
        id: id.into(),
        summary: summary.into(),
        op,
        expected_secs,
    }
}

fn network(
    cfg: &ClusterConfig,
    azs: &[String],
    public: &[String],
    private: &[String],
) -> (Step, Net) {
    let n = cfg.name.as_str();
    let ipv6 = cfg.ip_family == "IPv6" || cfg.vpc.auto_allocate_ipv6;
    let nat_azs = nat_gateway_azs(cfg.vpc.nat, azs);
    let mut calls = vpc_calls(n, &cfg.vpc.cidr, ipv6);
    let zones = azs.len();
    calls.extend(public_subnet_calls(
        n,
        azs,
        &public[..zones],
        ipv6.then_some(0),
    ));
    calls.extend(private_subnet_calls(
        n,
        azs,
        &private[..zones],
        ipv6.then_some(zones),
    ));
    let lz = &cfg.local_zones;
    if !lz.is_empty() {
        calls.extend(public_subnet_calls(n, lz, &public[zones..], None));
        calls.extend(private_subnet_calls(n, lz, &private[zones..], None));
    }
    calls.extend(internet_gateway_calls(n));
    if cfg.ip_family == "IPv6" {
        calls.push(call(
            "eigw",
            "egress-only internet gateway (IPv6 egress for private subnets)",
            Op::CreateEgressOnlyInternetGateway {
                vpc: Val::of("vpc", "id"),
                tags: tags(n, "eigw", &format!("{n}-eigw"), &[]),
            },
            2,
        ));
    }
    calls.extend(nat_gateway_calls(n, &nat_azs));
    let mut public_azs: Vec<String> = azs.to_vec();
    public_azs.extend(lz.iter().cloned());
    calls.extend(public_route_table_calls(
        n,
        &public_azs,
        cfg.ip_family == "IPv6",
    ));
    calls.extend(private_route_table_calls(
        n,
        azs,
        cfg.vpc.nat,
        &nat_azs,
        cfg.ip_family == "IPv6",
    ));
    for z in lz {
        // Local Zone private subnets route through the first AZ's table.
        calls.push(call(
            format!("rt-private-{z}-assoc"),
            format!("private route table of {} ↔ private subnet {z}", azs[0]),
            Op::AssociateRouteTable {
                table: Val::of(&format!("rt-private-{}", azs[0]), "id"),
                subnet: Val::of(&format!("subnet-private-{z}"), "id"),
            },
            1,
        ));
    }
    calls.push(control_plane_security_group_call(n, Val::of("vpc", "id")));
    if let Some(pc) = cfg
        .private_cluster
        .as_ref()
        .filter(|p| p.enabled && !p.skip_endpoint_creation)
    {
        calls.extend(endpoint_calls(cfg, azs, pc));
    }
    let nat_text = nat_mode_text(cfg.vpc.nat);
    let subnet = |az: &String, private: bool| SubnetRef {
        alias: az.clone(),
        az: Some(az.clone()),
        private,
        val: Val::of(
            &format!("subnet-{}-{az}", if private { "private" } else { "public" }),
            "id",
        ),
    };
    let net = Net {
        vpc: Val::of("vpc", "id"),
        public: azs.iter().map(|a| subnet(a, false)).collect(),
        private: azs.iter().map(|a| subnet(a, true)).collect(),
        local: lz
            .iter()
            .flat_map(|z| [subnet(z, false), subnet(z, true)])
            .collect(),
    };
    let mut why = format!(
        "EKS needs a VPC with subnets in at least two availability zones. Public subnets (tagged kubernetes.io/role/elb) hold internet-facing load balancers and the NAT gateway; private subnets (kubernetes.io/role/internal-elb) hold the nodes and internal load balancers. The internet gateway gives public subnets a route out; this config asks for {nat_text}. The control plane security group lets the EKS-managed control plane talk to the nodes."
    );
    if ipv6 {
        why.push_str(
            " The VPC also gets an Amazon-provided IPv6 /56 and every subnet a /64 of it.",
        );
    }
    if cfg.ip_family == "IPv6" {
        why.push_str(" On an IPv6 cluster pods get IPv6 addresses: public subnets route ::/0 to the internet gateway, private ones to an egress-only internet gateway (outbound only).");
    }
    if !lz.is_empty() {
        why.push_str(&format!(" Local Zones {} get a public and a private subnet each (the zone group must be opted in: aws ec2 modify-availability-zone-group --group-name <zone group> --opt-in-status opted-in).", lz.join(", ")));
    }
    if cfg.private_cluster.as_ref().is_some_and(|p| p.enabled) {
        why.push_str(" A fully-private cluster reaches AWS services through VPC endpoints (interface endpoints in the private subnets, a gateway endpoint for S3) instead of the internet.");
    }
    let step = Step {
        id: 'A',
        title: "Network".into(),
        why,
        depends_on: vec![],
        eksctl: format!(
            "eksctl create cluster -f <config>   # stack eksctl-{n}-cluster, resources VPC, Subnet*, InternetGateway, NATGateway, RouteTable*"
        ),
        aws_cli: network_aws_cli(n, &cfg.vpc.cidr),
        calls,
        skip_reason: None,
    };
    (step, net)
}

/// VPC endpoints of a fully-private cluster: the interface endpoints eksctl
/// creates (ec2, ecr.api, ecr.dkr, sts and any additionalEndpointServices) with a
/// security group allowing HTTPS from the VPC, and the S3 gateway endpoint.
fn endpoint_calls(
    cfg: &ClusterConfig,
    azs: &[String],
    pc: &crate::workspace::eksctl::PrivateCluster,
) -> Vec<Call> {
    let n = cfg.name.as_str();
    let mut calls = vec![
        call(
            "sg-endpoints",
            "security group for the VPC endpoints",
            Op::CreateSecurityGroup {
                vpc: Val::of("vpc", "id"),
                name: format!("{n}-endpoints"),
                description: format!("HTTPS to the VPC endpoints of {n}"),
                tags: tags(n, "sg-endpoints", &format!("{n}-endpoints"), &[]),
            },
            2,
        ),
        call(
            "sg-endpoints-https",
            format!("HTTPS from the VPC ({}) to the endpoints", cfg.vpc.cidr),
            Op::AuthorizeIngress {
                group: Val::of("sg-endpoints", "id"),
                peer: crate::cloud::Peer::Cidr {
                    cidr: cfg.vpc.cidr.clone(),
                },
                protocol: "tcp".into(),
                from_port: 443,
                to_port: 443,
                description: "HTTPS from the VPC".into(),
            },
            1,
        ),
    ];
    let mut services: Vec<String> = ["ec2", "ecr.api", "ecr.dkr", "sts"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for extra in &pc.additional_endpoint_services {
        if !services.contains(extra) {
            services.push(extra.clone());
        }
    }
    for svc in services {
        let id = format!("endpoint-{}", svc.replace('.', "-"));
        calls.push(call(
            &id,
            format!("interface endpoint com.amazonaws.{}.{svc}", cfg.region),
            Op::CreateVpcEndpoint {
                vpc: Val::of("vpc", "id"),
                service: format!("com.amazonaws.{}.{svc}", cfg.region),
                kind: "Interface".into(),
                subnets: azs
                    .iter()
                    .map(|az| Val::of(&format!("subnet-private-{az}"), "id"))
                    .collect(),
                security_groups: vec![Val::of("sg-endpoints", "id")],
                route_tables: Vec::new(),
                tags: tags(n, &id, &format!("{n}-{svc}"), &[]),
            },
            60,
        ));
    }
    calls.push(call(
        "endpoint-s3",
        format!(
            "gateway endpoint com.amazonaws.{}.s3 (image layers)",
            cfg.region
        ),
        Op::CreateVpcEndpoint {
            vpc: Val::of("vpc", "id"),
            service: format!("com.amazonaws.{}.s3", cfg.region),
            kind: "Gateway".into(),
            subnets: Vec::new(),
            security_groups: Vec::new(),
            route_tables: azs
                .iter()
                .map(|az| Val::of(&format!("rt-private-{az}"), "id"))
                .collect(),
            tags: tags(n, "endpoint-s3", &format!("{n}-s3"), &[]),
        },
        10,
    ));
    calls
}

/// Step A for an existing VPC: nothing is created but the control plane's
/// security group; each given subnet is found and checked, and its load
/// balancer role tag added (a mutating call, so live mode asks first; teardown
/// leaves it).
fn existing_network(cfg: &ClusterConfig) -> (Step, Net) {
    let n = cfg.name.as_str();
    let mut calls = Vec::new();
    let mut net = Net {
        vpc: match &cfg.vpc.id {
            Some(id) => Val::Lit(id.clone()),
            None => Val::Lit(String::new()),
        },
        public: Vec::new(),
        private: Vec::new(),
        local: Vec::new(),
    };
    for s in &cfg.vpc.subnets {
        let kind = if s.private { "private" } else { "public" };
        let id = format!("subnet-{kind}-{}", s.alias);
        let az = s.az.starts_with(cfg.region.as_str()).then(|| s.az.clone());
        calls.push(call(
            &id,
            format!(
                "find {kind} subnet {}{}{} and check it",
                s.alias,
                s.id.as_deref().map(|i| format!(" {i}")).unwrap_or_default(),
                s.cidr
                    .as_deref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            ),
            Op::FindSubnet {
                vpc: cfg.vpc.id.clone(),
                id: s.id.clone(),
                cidr: s.cidr.clone(),
                az: az.clone(),
                public: !s.private,
            },
            1,
        ));
        let role = if s.private {
            "kubernetes.io/role/internal-elb"
        } else {
            "kubernetes.io/role/elb"
        };
        calls.push(call(
            format!("{id}-role-tag"),
            format!(
                "tag {} with {role}=1 if it lacks it (asks first; teardown leaves it)",
                s.alias
            ),
            Op::TagResource {
                resource: Val::of(&id, "id"),
                tags: vec![(role.to_string(), "1".to_string())],
            },
            1,
        ));
        let r = SubnetRef {
            alias: s.alias.clone(),
            az,
            private: s.private,
            val: Val::of(&id, "id"),
        };
        if s.private {
            net.private.push(r);
        } else {
            net.public.push(r);
        }
    }
    if cfg.vpc.id.is_none()
        && let Some(first) = calls.first()
    {
        net.vpc = Val::of(&first.id, "vpc");
    }
    calls.push(control_plane_security_group_call(n, net.vpc.clone()));
    let vpc_text = cfg
        .vpc
        .id
        .clone()
        .unwrap_or_else(|| "the subnets' VPC".into());
    let step = Step {
        id: 'A',
        title: "Network (existing VPC)".into(),
        why: format!(
            "The config brings its own network ({vpc_text}): the walkthrough creates no VPC, subnet, gateway or route, and teardown never touches them. It finds each given subnet, checks its VPC, zone and CIDR, and that public subnets really route to an internet gateway; load balancers find subnets by the kubernetes.io/role/elb (public) and internal-elb (private) tags, so a subnet without its tag gets it — live mode asks before adding it. Only the control plane security group is created, inside that VPC."
        ),
        depends_on: vec![],
        eksctl: "eksctl create cluster -f <config>   # vpc.id / vpc.subnets: eksctl imports the subnets and creates only security groups".into(),
        aws_cli: vec![
            "aws ec2 describe-subnets --subnet-ids <ids>   # or --filters Name=vpc-id,Values=<vpc> Name=cidr-block,Values=<cidr>".into(),
            "aws ec2 describe-route-tables --filters Name=association.subnet-id,Values=<subnet>   # public = a route to an igw-".into(),
            "aws ec2 create-tags --resources <subnet> --tags Key=kubernetes.io/role/elb,Value=1".into(),
            "aws ec2 create-security-group --group-name <name> --description <text> --vpc-id <vpc>".into(),
        ],
        calls,
        skip_reason: None,
    };
    (step, net)
}

/// The VPC, with DNS resolution and DNS hostnames turned on.
fn vpc_calls(n: &str, cidr: &str, ipv6: bool) -> Vec<Call> {
    vec![
        call(
            "vpc",
            format!(
                "VPC {cidr}{}",
                if ipv6 {
                    " + Amazon-provided IPv6 /56"
                } else {
                    ""
                }
            ),
            Op::CreateVpc {
                cidr: cidr.to_string(),
                tags: tags(n, "vpc", &format!("{n}-vpc"), &[]),
                ipv6,
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
fn public_subnet_calls(
    n: &str,
    azs: &[String],
    public: &[String],
    ipv6_from: Option<usize>,
) -> Vec<Call> {
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
                ipv6_block: ipv6_from.map(|b| (b + i) as u8),
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
fn private_subnet_calls(
    n: &str,
    azs: &[String],
    private: &[String],
    ipv6_from: Option<usize>,
) -> Vec<Call> {
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
                    ipv6_block: ipv6_from.map(|b| (b + i) as u8),
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
fn public_route_table_calls(n: &str, azs: &[String], ipv6: bool) -> Vec<Call> {
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
    if ipv6 {
        calls.push(call(
            "rt-public-default-v6",
            "default route ::/0 → internet gateway",
            Op::CreateRoute {
                table: Val::of("rt-public", "id"),
                destination: "::/0".into(),
                target: RouteTarget::InternetGateway {
                    id: Val::of("igw", "id"),
                },
            },
            1,
        ));
    }
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
    ipv6: bool,
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
        if ipv6 {
            calls.push(call(
                format!("{rt}-default-v6"),
                "default route ::/0 → egress-only internet gateway",
                Op::CreateRoute {
                    table: Val::of(&rt, "id"),
                    destination: "::/0".into(),
                    target: RouteTarget::EgressOnlyInternetGateway {
                        id: Val::of("eigw", "id"),
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
fn control_plane_security_group_call(n: &str, vpc: Val) -> Call {
    call(
        "sg-control-plane",
        "control plane security group",
        Op::CreateSecurityGroup {
            vpc,
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
    let mut calls = Vec::new();
    if cfg.iam.service_role_arn.is_none() {
        calls.push(call(
            "role-cluster",
            format!("cluster role {cluster_role}"),
            Op::CreateRole {
                name: cluster_role.clone(),
                trust: Trust::Service {
                    service: "eks.amazonaws.com".into(),
                },
                description: format!("EKS control plane of {n}"),
                tags: tags(n, "role-cluster", &cluster_role, &[]),
                permissions_boundary: cfg.iam.service_role_permissions_boundary.clone(),
            },
            2,
        ));
        calls.push(call(
            "role-cluster-policy",
            "attach AmazonEKSClusterPolicy",
            Op::AttachRolePolicy {
                role: cluster_role.clone(),
                policy_arn: Val::Lit(CLUSTER_POLICY.into()),
            },
            1,
        ));
    }
    calls.extend([
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
                permissions_boundary: None,
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
    ]);
    calls.extend(super::identity::fargate_role_calls(cfg));
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

fn control_plane(cfg: &ClusterConfig, net: &Net) -> Step {
    let n = cfg.name.as_str();
    let subnets: Vec<Val> = if !cfg.vpc.control_plane_subnet_ids.is_empty() {
        cfg.vpc
            .control_plane_subnet_ids
            .iter()
            .map(|s| net.subnet_ref(s).unwrap_or_else(|_| Val::Lit(s.clone())))
            .collect()
    } else if cfg.vpc.control_plane_on_private_subnets {
        net.private.iter().map(|s| s.val.clone()).collect()
    } else {
        net.public
            .iter()
            .chain(&net.private)
            .map(|s| s.val.clone())
            .collect()
    };
    let mut security_groups = vec![Val::of("sg-control-plane", "id")];
    security_groups.extend(
        cfg.vpc
            .control_plane_security_group_ids
            .iter()
            .map(|s| Val::Lit(s.clone())),
    );
    let mut tags: Tags = vec![
        (TAG_CLUSTER.into(), n.into()),
        (TAG_STEP.into(), "cluster".into()),
    ];
    tags.extend(cfg.tags.iter().cloned());
    let mut calls = Vec::new();
    let encryption_key = match &cfg.secrets_encryption {
        None => None,
        Some(se) => match &se.key_arn {
            Some(arn) => {
                calls.push(call(
                    "kms-key",
                    format!("check KMS key {arn} (Enabled, symmetric, encrypt/decrypt)"),
                    Op::DescribeKey { key: arn.clone() },
                    1,
                ));
                Some(Val::of("kms-key", "arn"))
            }
            None => {
                calls.push(call(
                    "kms-key",
                    "KMS key for envelope encryption of Secrets",
                    Op::CreateKey {
                        description: format!("Secrets envelope encryption of EKS cluster {n}"),
                        tags: vec![
                            (TAG_CLUSTER.into(), n.into()),
                            (TAG_STEP.into(), "kms-key".into()),
                        ],
                    },
                    2,
                ));
                Some(Val::of("kms-key", "arn"))
            }
        },
    };
    let uses_access_config = !cfg.node_groups.is_empty()
        || !cfg.access.entries.is_empty()
        || cfg.access.authentication_mode.is_some()
        || cfg.access.bootstrap_admin.is_some();
    let extras = ClusterExtras {
        encryption_key,
        ip_family: (cfg.ip_family == "IPv6").then(|| "ipv6".into()),
        service_ipv4_cidr: cfg.service_ipv4_cidr.clone(),
        authentication_mode: uses_access_config.then(|| {
            cfg.access
                .authentication_mode
                .clone()
                .unwrap_or_else(|| "API_AND_CONFIG_MAP".into())
        }),
        bootstrap_admin: cfg.access.bootstrap_admin,
        zonal_shift: cfg.zonal_shift,
        upgrade_support_type: cfg.upgrade_support_type.clone(),
        control_plane_tier: cfg.control_plane_tier.clone(),
    };
    let private_only = cfg.private_cluster.as_ref().is_some_and(|p| p.enabled);
    let (public_access, private_access) = if private_only {
        (false, true)
    } else {
        (cfg.vpc.public_access, cfg.vpc.private_access)
    };
    let op = Op::CreateCluster {
        name: n.to_string(),
        version: cfg.version.clone(),
        role_arn: match &cfg.iam.service_role_arn {
            Some(arn) => Val::Lit(arn.clone()),
            None => Val::of("role-cluster", "arn"),
        },
        subnets,
        security_groups,
        public_access,
        private_access,
        public_access_cidrs: cfg.vpc.public_access_cidrs.clone(),
        logging: cfg.logging.clone(),
        tags,
        extras,
    };
    calls.push(call(
        "cluster",
        format!("EKS cluster {n} (and wait until ACTIVE)"),
        op,
        600,
    ));
    let mut why = format!(
        "CreateCluster asks EKS to run a Kubernetes {} control plane (API servers and etcd across three AZs, managed by AWS) attached to the VPC's subnets through ENIs. It takes about ten minutes to become ACTIVE; nothing else can talk to the cluster until then. Endpoint access: public {public_access}, private {private_access}.",
        cfg.version.as_deref().unwrap_or("(default version)"),
    );
    if cfg.secrets_encryption.is_some() {
        why.push_str(" Secrets are envelope-encrypted with a KMS key: the key must exist and be Enabled before the cluster, and it cannot be changed afterwards (teardown schedules a key the walkthrough created for deletion after 7 days, the shortest wait KMS allows).");
    }
    if cfg.ip_family == "IPv6" {
        why.push_str(" ipFamily ipv6: pods and services get IPv6 addresses.");
    }
    Step {
        id: 'C',
        title: "Control plane".into(),
        why,
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
                public_access,
                private_access
            ),
            format!("aws eks wait cluster-active --name {n}"),
        ],
        calls,
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
            permissions_boundary: None,
        },
        2,
    ));
    if cfg.ip_family == "IPv6" {
        step.calls.push(call(
            "role-vpc-cni-ipv6-policy",
            "inline IPv6 policy for the aws-node role (AssignIpv6Addresses)",
            Op::PutRolePolicy {
                role: cni_role.clone(),
                name: "AmazonEKS_CNI_IPv6_Policy".into(),
                document: serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:AssignIpv6Addresses", "ec2:DescribeInstances", "ec2:DescribeTags", "ec2:DescribeNetworkInterfaces", "ec2:DescribeInstanceTypes"], "Resource": "*"}, {"Effect": "Allow", "Action": ["ec2:CreateTags"], "Resource": ["arn:aws:ec2:*:*:network-interface/*"]}]}).to_string(),
            },
            1,
        ));
    }
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

fn addons(cfg: &ClusterConfig) -> Result<Step, String> {
    let n = cfg.name.as_str();
    let mut calls = Vec::new();
    // eksctl installs these three by default; a config's `addons` makes them managed.
    let defaults: Vec<crate::workspace::eksctl::Addon> = if cfg.addons.is_empty() {
        ["vpc-cni", "kube-proxy", "coredns"]
            .iter()
            .map(|a| crate::workspace::eksctl::Addon {
                name: a.to_string(),
                version: None,
                attach_policy_arns: Vec::new(),
                well_known_policies: Vec::new(),
                attach_policy: None,
                service_account_role_arn: None,
                configuration_values: None,
                resolve_conflicts: None,
                tags: Vec::new(),
                pos: Default::default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let list = if cfg.addons.is_empty() {
        &defaults
    } else {
        &cfg.addons
    };
    for a in list {
        let id = format!("addon-{}", a.name);
        let wants_role = !a.attach_policy_arns.is_empty()
            || !a.well_known_policies.is_empty()
            || a.attach_policy.is_some();
        let role = if let Some(arn) = &a.service_account_role_arn {
            Some(Val::Lit(arn.clone()))
        } else if a.name == "vpc-cni" && cfg.iam.with_oidc {
            // Step D's aws-node role; policies beyond the CNI policy it already has go on it.
            let extra: Vec<String> = a
                .attach_policy_arns
                .iter()
                .filter(|p| *p != CNI_POLICY)
                .cloned()
                .collect();
            calls.extend(super::identity::policy_calls(
                &id,
                &role_name(n, "vpc-cni"),
                &extra,
                &a.well_known_policies,
                a.attach_policy.as_deref(),
            )?);
            Some(Val::of("role-vpc-cni", "arn"))
        } else if wants_role {
            if !cfg.iam.with_oidc {
                return Err(format!(
                    "addons {} ({}:{}): its policies need an IRSA role, and IRSA needs iam.withOIDC: true",
                    a.name, a.pos.line, a.pos.col
                ));
            }
            let role = role_name(n, &format!("addon-{}", a.name));
            let sa = super::identity::addon_service_account(&a.name);
            calls.push(call(
                format!("{id}-role"),
                format!("IRSA role {role} for kube-system/{sa}"),
                Op::CreateRole {
                    name: role.clone(),
                    trust: Trust::WebIdentity {
                        provider_arn: Val::of("oidc", "arn"),
                        issuer: Val::of("cluster", "issuer"),
                        namespace: "kube-system".into(),
                        service_account: sa.to_string(),
                    },
                    description: format!("addon {} of {n} (IRSA)", a.name),
                    tags: tags(n, &format!("{id}-role"), &role, &[]),
                    permissions_boundary: None,
                },
                2,
            ));
            calls.extend(super::identity::policy_calls(
                &id,
                &role,
                &a.attach_policy_arns,
                &a.well_known_policies,
                a.attach_policy.as_deref(),
            )?);
            Some(Val::of(&format!("{id}-role"), "arn"))
        } else {
            None
        };
        let version = a.version.clone().filter(|v| v != "latest");
        let mut t: Tags = vec![
            (TAG_CLUSTER.into(), n.into()),
            (TAG_STEP.into(), id.clone()),
        ];
        t.extend(a.tags.iter().cloned());
        calls.push(call(
            &id,
            format!(
                "managed addon {} {} (and wait until ACTIVE)",
                a.name,
                version.as_deref().unwrap_or("default version")
            ),
            Op::CreateAddon {
                cluster: n.into(),
                name: a.name.clone(),
                version,
                role_arn: role,
                tags: t,
                configuration_values: a.configuration_values.clone(),
                resolve_conflicts: a.resolve_conflicts.clone(),
            },
            60,
        ));
    }
    Ok(Step {
        id: 'E',
        title: "Addons".into(),
        why: "The networking pieces every node needs: vpc-cni gives pods VPC IP addresses, kube-proxy programs Service routing on each node, coredns answers in-cluster DNS. As EKS managed addons AWS keeps their versions compatible with the control plane. An addon with policies gets an IRSA role for its service account; configurationValues are the addon's own Helm-style settings, checked by EKS against the addon version's schema.".into(),
        depends_on: if cfg.iam.with_oidc { vec!['C', 'D'] } else { vec!['C'] },
        eksctl: format!("eksctl create addon --cluster {n} --name <addon>"),
        aws_cli: vec![format!("aws eks create-addon --cluster-name {n} --addon-name <addon> [--addon-version <v>] [--service-account-role-arn <role>] [--configuration-values <json>]"), format!("aws eks wait addon-active --cluster-name {n} --addon-name <addon>")],
        calls,
        skip_reason: None,
    })
}

fn node_groups(cfg: &ClusterConfig, net: &Net, notes: &mut Vec<String>) -> Result<Step, String> {
    use super::nodes;
    let n = cfg.name.as_str();
    let mut calls = Vec::new();
    for g in &cfg.managed_node_groups {
        let id = format!("nodegroup-{}", g.name);
        let kind = if g.private_networking {
            "private"
        } else {
            "public"
        };
        if !g.local_zones.is_empty() {
            return Err(format!(
                "managedNodeGroups {} ({}:{}): EKS managed node groups cannot run in Local Zones; use nodeGroups",
                g.name, g.pos.line, g.pos.col
            ));
        }
        let subnets = nodes::group_subnets(net, g)?;
        let types = if g.selector.is_some() {
            nodes::instance_types(g, notes)?
        } else {
            g.instance_types.clone()
        };
        // The node role: the shared one, or a role of the group's own for its IAM settings.
        let (_, role_arn, role_calls) = nodes::node_role(cfg, g, &id)?;
        calls.extend(role_calls);
        let mut extras = NodegroupExtras {
            max_unavailable: g.update_max_unavailable,
            node_repair: g.node_repair,
            ..Default::default()
        };
        // eksctl makes a launch template when the group needs one: a custom AMI,
        // bootstrap commands, extra security groups or SSH settings.
        let needs_lt = g.ami.is_some()
            || g.override_bootstrap.is_some()
            || !g.pre_bootstrap.is_empty()
            || !g.security_groups.is_empty()
            || g.max_pods.is_some()
            || g.volume_encrypted
            || g.disable_imdsv1;
        let mut disk = g.volume_size;
        if let Some((lt, version)) = &g.launch_template {
            extras.launch_template = Some((Val::Lit(lt.clone()), version.clone()));
            disk = None;
        } else if needs_lt {
            if g.ami.is_some() && g.override_bootstrap.is_none() {
                return Err(format!(
                    "managedNodeGroups {} ({}:{}): a custom ami needs overrideBootstrapCommand (eksctl cannot know how the image joins the cluster)",
                    g.name, g.pos.line, g.pos.col
                ));
            }
            let lt = format!("{id}-lt");
            let mut sgs: Vec<Val> = Vec::new();
            sgs.extend(g.security_groups.iter().map(|s| Val::Lit(s.clone())));
            let key = nodes::key_pair(n, g, &id, &mut calls);
            let fam = nodes::family(g)?;
            let mut c = nodes::launch_template(nodes::LaunchTemplateSpec {
                cfg,
                g,
                id: &lt,
                family: fam,
                instance_type: None,
                security_groups: sgs,
                instance_profile: None,
                key_name: key,
            });
            if g.ami.is_none()
                && let Op::CreateLaunchTemplate {
                    image, bootstrap, ..
                } = &mut c.op
            {
                // EKS picks the image of its AMI type; the template carries only what the group adds.
                image.clear();
                if g.override_bootstrap.is_none() {
                    bootstrap.family = "ManagedMerge".into();
                }
            }
            calls.push(c);
            extras.launch_template = Some((Val::of(&lt, "id"), None));
            disk = None;
        } else if let Some(ssh) = &g.ssh {
            extras.ssh_key = nodes::key_pair(n, g, &id, &mut calls);
            if extras.ssh_key.is_some() {
                extras.ssh_source_security_groups = ssh.source_security_groups.clone();
            }
        }
        let mut t: Tags = vec![
            (TAG_CLUSTER.into(), n.into()),
            (TAG_STEP.into(), id.clone()),
        ];
        t.extend(g.tags.iter().cloned());
        let shown = if types.is_empty() {
            "launch template's type".to_string()
        } else {
            types.join("/")
        };
        calls.push(call(
            &id,
            format!(
                "managed node group {} {}×{} ({}..{}) in {kind} subnets (and wait until ACTIVE)",
                g.name, g.desired_capacity, shown, g.min_size, g.max_size
            ),
            Op::CreateNodegroup {
                cluster: n.into(),
                name: g.name.clone(),
                role_arn,
                subnets,
                instance_types: types,
                min_size: g.min_size,
                desired_size: g.desired_capacity,
                max_size: g.max_size,
                disk_size: disk,
                capacity_type: if g.spot {
                    "SPOT".into()
                } else {
                    "ON_DEMAND".into()
                },
                labels: g.labels.clone(),
                taints: g
                    .taints
                    .iter()
                    .map(|t| (t.key.clone(), t.value.clone(), t.effect.clone()))
                    .collect(),
                tags: t,
                extras,
            },
            240,
        ));
    }
    Ok(Step {
        id: 'F',
        title: "Managed node groups".into(),
        why: "Nodes are EC2 instances in an Auto Scaling group that EKS manages: it picks the EKS-optimised AMI, joins the instances to the cluster with the node role and drains them on updates. Private networking keeps nodes off the internet; they reach it through the NAT gateway. A group with a custom AMI, bootstrap commands or extra security groups gets a launch template first (EKS then takes the disk size and SSH key from the template).".into(),
        depends_on: vec!['B', 'C', 'E'],
        eksctl: format!("eksctl create nodegroup --cluster {n} -f <config>"),
        aws_cli: vec![
            format!("aws eks create-nodegroup --cluster-name {n} --nodegroup-name <name> --node-role <node-role-arn> --subnets <subnets> --instance-types <types> --scaling-config minSize=<min>,maxSize=<max>,desiredSize=<desired> [--launch-template id=<lt>]"),
            format!("aws eks wait nodegroup-active --cluster-name {n} --nodegroup-name <name>"),
        ],
        calls,
        skip_reason: None,
    })
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
                permissions_boundary: None,
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
                role_arn: Some(Val::of("role-alb", "arn")),
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
        assert_eq!(
            p.steps.iter().map(|s| s.id).collect::<String>(),
            "ABCDEFGHIJK"
        );
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
        let e = load("apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c, region: r}\nkarpenter:\n  version: '1.0'\noutpost:\n  controlPlaneOutpostARN: arn\n").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("not supported yet: karpenter (4:1), outpost (6:1) — karpenter: eksctl installs Karpenter's Helm chart with an SQS interruption queue"),
            "{text}"
        );
        assert!(
            text.contains(" — outpost: the control plane and nodes run on an AWS Outposts rack"),
            "{text}"
        );
    }

    #[test]
    fn linux_and_windows_nodes_are_admitted_with_roles_of_their_own() {
        let p = load("apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c, region: r}\nnodeGroups:\n  - name: lin\n  - name: lin2\n  - name: win\n    amiFamily: WindowsServer2022CoreContainer\n").unwrap();
        let entries: Vec<(String, String)> = p
            .calls()
            .filter_map(|(_, c)| match &c.op {
                Op::CreateAccessEntry {
                    principal_arn,
                    kind,
                    ..
                } => Some((principal_arn.display(), kind.clone().unwrap_or_default())),
                _ => None,
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                ("<arn of role-node>".to_string(), "EC2_LINUX".to_string()),
                (
                    "<arn of ng-win-role>".to_string(),
                    "EC2_WINDOWS".to_string()
                ),
            ]
        );
    }

    #[test]
    fn harmless_unsupported_fields_are_notes() {
        let p = load("apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c, region: r}\nnodeGroups:\n  - name: ng\n    kubeletExtraConfig: {}\n    cpuCredits: unlimited\n").unwrap();
        assert_eq!(
            p.notes,
            vec![
                "nodeGroups[0].kubeletExtraConfig (6:5) is not acted on",
                "nodeGroups[0].cpuCredits (7:5) is not acted on"
            ]
        );
    }
}
