//! First use of a sandbox world: the workspace's Pulumi-provisioned clusters (day
//! and dusk in the demo) already exist, as Pulumi would have created them, while
//! eksctl-defined clusters (dawn) do not exist until the walkthrough creates them.
//!
//! One drift is deliberate so the cluster pane has something to show: the first
//! node group of the second Pulumi cluster runs one node more than its config says,
//! as if someone had scaled it in the console.
//!
//! Inside those clusters, the platform's Helm releases (the AWS Load Balancer
//! Controller and metrics-server) are there as Helm leaves them: its release
//! records, one Secret per revision ([`helm_releases`]).

use super::ops::zones;
use super::world::*;
use crate::kube::helm::{self, HelmRelease};
use tierui_core::walkthrough::plan::subnet_cidrs;
use tierui_core::workspace::model::Workspace;
use tierui_core::workspace::spec::ClusterSpec;

pub fn seed(world: &mut World, ws: &Workspace, now: u64) {
    let pulumi: Vec<ClusterSpec> = ws
        .clusters
        .iter()
        .filter(|c| c.pulumi().is_some())
        .filter_map(|c| c.spec())
        .collect();
    for (i, spec) in pulumi.iter().enumerate() {
        let drift = i == 1;
        create_cluster(world, spec, now, drift);
    }
}

fn tags(spec: &ClusterSpec, name: &str) -> Vec<(String, String)> {
    vec![
        ("Name".into(), name.into()),
        ("pulumi:stack".into(), spec.cluster_name.clone()),
    ]
}

/// What every resource of one Pulumi-created cluster shares.
struct Stack<'a> {
    spec: &'a ClusterSpec,
    region: String,
    name: String,
    account: String,
    /// Everything was created before the seed's time: ready from the start.
    ready: Lifecycle,
}

/// One Pulumi cluster as Pulumi leaves it: network, roles, the EKS cluster,
/// its add-ons and node groups, all ready. IDs are drawn in this order, so a
/// seed always gives the same world.
fn create_cluster(w: &mut World, spec: &ClusterSpec, now: u64, drift: bool) {
    let Some(region) = spec.region.clone() else {
        return;
    };
    let cidr = spec
        .vpc_cidr
        .clone()
        .unwrap_or_else(|| "10.0.0.0/16".into());
    let azs = if spec.availability_zones.is_empty() {
        zones(&region)
    } else {
        spec.availability_zones.clone()
    };
    let Ok((public, private)) = subnet_cidrs(&cidr, azs.len()) else {
        return;
    };
    let s = Stack {
        spec,
        region,
        name: spec.cluster_name.clone(),
        account: w.account.clone(),
        ready: Lifecycle {
            ready_at: now,
            deleting: None,
        },
    };
    let vpc = create_vpc(w, &s, cidr);
    let (subnet_ids, public_ids) = create_subnets(w, &s, &vpc, &azs, &public, &private);
    create_internet_gateway(w, &s, &vpc);
    create_nat_gateways(w, &s, &vpc, &public_ids);
    let sg = create_security_group(w, &s, &vpc);
    let cluster_role = format!("{}-eksRole", s.name);
    let node_role = format!("{}-instanceRole", s.name);
    create_roles(w, &s, &cluster_role, &node_role);
    let issuer = create_eks_cluster(w, &s, now, &vpc, &subnet_ids, sg, &cluster_role);
    if spec.oidc == Some(true) {
        create_oidc_provider(w, &s, &issuer);
    }
    create_addons(w, &s);
    let private_ids: Vec<String> = subnet_ids
        .iter()
        .filter(|id| !public_ids.iter().any(|(_, p)| p == *id))
        .cloned()
        .collect();
    create_nodegroups(w, &s, &private_ids, &node_role, drift);
}

/// The VPC, with DNS support and hostnames on as EKS needs.
fn create_vpc(w: &mut World, s: &Stack<'_>, cidr: String) -> String {
    let vpc = w.ec2_id("vpc");
    w.region(&s.region).vpcs.insert(
        vpc.clone(),
        Vpc {
            cidr,
            dns_support: true,
            dns_hostnames: true,
            tags: tags(s.spec, &format!("{}-vpc", s.name)),
        },
    );
    vpc
}

/// A public and a private subnet per zone, tagged with the role load balancers
/// look for. Returns every subnet ID and the public ones by zone.
fn create_subnets(
    w: &mut World,
    s: &Stack<'_>,
    vpc: &str,
    azs: &[String],
    public: &[String],
    private: &[String],
) -> (Vec<String>, Vec<(String, String)>) {
    let name = &s.name;
    let mut subnet_ids = Vec::new();
    let mut public_ids = Vec::new();
    for (i, az) in azs.iter().enumerate() {
        for (kind, block, role) in [
            ("public", &public[i], "kubernetes.io/role/elb"),
            ("private", &private[i], "kubernetes.io/role/internal-elb"),
        ] {
            let id = w.ec2_id("subnet");
            let mut t = tags(s.spec, &format!("{name}-{kind}-{az}"));
            t.push((role.into(), "1".into()));
            w.region(&s.region).subnets.insert(
                id.clone(),
                Subnet {
                    vpc: vpc.to_string(),
                    cidr: block.clone(),
                    az: az.clone(),
                    map_public_ip: kind == "public",
                    tags: t,
                },
            );
            if kind == "public" {
                public_ids.push((az.clone(), id.clone()));
            }
            subnet_ids.push(id);
        }
    }
    (subnet_ids, public_ids)
}

/// The internet gateway, attached to the VPC.
fn create_internet_gateway(w: &mut World, s: &Stack<'_>, vpc: &str) {
    let igw = w.ec2_id("igw");
    w.region(&s.region).igws.insert(
        igw,
        InternetGateway {
            vpc: Some(vpc.to_string()),
            tags: tags(s.spec, &format!("{}-igw", s.name)),
        },
    );
}

/// NAT gateways with their Elastic IPs in the public subnets: none, one, or
/// one per zone, as the spec's NAT mode says.
fn create_nat_gateways(w: &mut World, s: &Stack<'_>, vpc: &str, public_ids: &[(String, String)]) {
    let name = &s.name;
    let nat_count = match s.spec.nat.as_deref() {
        Some("Disable") => 0,
        Some("HighlyAvailable") => public_ids.len(),
        _ => 1,
    };
    for (az, subnet) in public_ids.iter().take(nat_count) {
        let alloc = w.ec2_id("eipalloc");
        let nat = w.ec2_id("nat");
        let d = w.draw();
        let reg = w.region(&s.region);
        reg.eips.insert(
            alloc.clone(),
            Address {
                public_ip: format!("52.{}.{}.{}", (d >> 16) & 255, (d >> 8) & 255, d & 255),
                nat: Some(nat.clone()),
                tags: tags(s.spec, &format!("{name}-nat-{az}")),
            },
        );
        reg.nats.insert(
            nat,
            NatGateway {
                vpc: vpc.to_string(),
                subnet: subnet.clone(),
                allocation: alloc,
                life: s.ready,
                tags: tags(s.spec, &format!("{name}-nat-{az}")),
            },
        );
    }
}

/// The cluster's control-plane security group.
fn create_security_group(w: &mut World, s: &Stack<'_>, vpc: &str) -> String {
    let name = &s.name;
    let sg = w.ec2_id("sg");
    w.region(&s.region).security_groups.insert(
        sg.clone(),
        SecurityGroup {
            vpc: vpc.to_string(),
            name: format!("{name}-cluster"),
            description: format!("{name} control plane"),
            tags: tags(s.spec, &format!("{name}-cluster")),
        },
    );
    sg
}

/// The cluster role (assumed by EKS) and the node instance role (assumed by
/// EC2), with the AWS-managed policies each needs attached.
fn create_roles(w: &mut World, s: &Stack<'_>, cluster_role: &str, node_role: &str) {
    for (role, service, policies) in [
        (
            cluster_role,
            "eks.amazonaws.com",
            vec!["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
        ),
        (
            node_role,
            "ec2.amazonaws.com",
            vec![
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
                "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
            ],
        ),
    ] {
        w.iam.roles.insert(
            role.to_string(),
            Role {
                arn: format!("arn:aws:iam::{}:role/{role}", s.account),
                trust: serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}).to_string(),
                attached: policies.into_iter().map(String::from).collect(),
                tags: tags(s.spec, role),
            },
        );
    }
}

/// The EKS cluster itself, ACTIVE. Returns its OIDC issuer URL.
fn create_eks_cluster(
    w: &mut World,
    s: &Stack<'_>,
    now: u64,
    vpc: &str,
    subnet_ids: &[String],
    sg: String,
    cluster_role: &str,
) -> String {
    let Stack {
        spec,
        region,
        name,
        account,
        ready,
    } = s;
    let endpoint_id = w.hex(32);
    let issuer_id = w.hex(32);
    let issuer = format!("https://oidc.eks.{region}.amazonaws.com/id/{issuer_id}");
    w.region(region).clusters.insert(
        name.clone(),
        Cluster {
            arn: format!("arn:aws:eks:{region}:{account}:cluster/{name}"),
            version: spec
                .kubernetes_version
                .clone()
                .unwrap_or_else(|| super::ops::DEFAULT_VERSION.into()),
            platform_version: "eks.9".into(),
            role_arn: format!("arn:aws:iam::{account}:role/{cluster_role}"),
            subnets: subnet_ids.to_vec(),
            security_groups: vec![sg],
            vpc: vpc.to_string(),
            public_access: spec.endpoint_public_access.unwrap_or(true),
            private_access: spec.endpoint_private_access.unwrap_or(false),
            public_access_cidrs: vec!["0.0.0.0/0".into()],
            logging: spec.logging.clone(),
            endpoint: format!("https://{endpoint_id}.gr7.{region}.eks.amazonaws.com"),
            certificate: String::new(),
            issuer: issuer.clone(),
            created_at: now,
            life: *ready,
            tags: tags(spec, name),
        },
    );
    issuer
}

/// The IAM OIDC provider for the cluster's issuer, which IRSA needs.
fn create_oidc_provider(w: &mut World, s: &Stack<'_>, issuer: &str) {
    let host = issuer.trim_start_matches("https://");
    w.iam.oidc.insert(
        format!("arn:aws:iam::{}:oidc-provider/{host}", s.account),
        OidcProvider {
            url: issuer.to_string(),
            client_ids: vec!["sts.amazonaws.com".into()],
            thumbprints: vec![tierui_core::walkthrough::plan::OIDC_THUMBPRINT.into()],
            tags: tags(s.spec, &s.name),
        },
    );
}

/// The add-ons EKS installs by default: vpc-cni, kube-proxy and coredns.
fn create_addons(w: &mut World, s: &Stack<'_>) {
    for addon in ["vpc-cni", "kube-proxy", "coredns"] {
        w.region(&s.region).addons.insert(
            format!("{}/{addon}", s.name),
            Addon {
                version: super::ops::default_addon_version(addon).into(),
                role_arn: None,
                life: s.ready,
                tags: vec![],
            },
        );
    }
}

/// The spec's managed node groups in the private subnets; with `drift`, the
/// first runs one node more than the spec says.
fn create_nodegroups(
    w: &mut World,
    s: &Stack<'_>,
    private_ids: &[String],
    node_role: &str,
    drift: bool,
) {
    let Stack {
        spec,
        region,
        name,
        account,
        ready,
    } = s;
    for (i, ng) in spec.node_groups.iter().enumerate() {
        let extra = i64::from(drift && i == 0);
        let uuid = w.hex(8).to_lowercase();
        w.region(region).nodegroups.insert(
            format!("{name}/{}", ng.name),
            Nodegroup {
                arn: format!(
                    "arn:aws:eks:{region}:{account}:nodegroup/{name}/{}/{uuid}",
                    ng.name
                ),
                role_arn: format!("arn:aws:iam::{account}:role/{node_role}"),
                subnets: private_ids.to_vec(),
                instance_types: ng.instance_types.clone(),
                min_size: ng.min_size,
                desired_size: (ng.desired_size + extra)
                    .min(ng.max_size.max(ng.desired_size + extra)),
                max_size: ng.max_size,
                disk_size: 20,
                capacity_type: ng.capacity_type.clone(),
                ami_type: "AL2023_x86_64_STANDARD".into(),
                labels: vec![],
                life: *ready,
                tags: tags(spec, &ng.name),
            },
        );
    }
}

/// The AWS Load Balancer Controller's chart and app version on the seeded
/// clusters (installed before the walkthrough's newer release existed).
pub const ALB_CHART: (&str, &str) = ("1.8.1", "v2.8.1");
/// metrics-server's chart and app version on the seeded clusters.
pub const METRICS_SERVER_CHART: (&str, &str) = ("3.12.1", "0.7.1");

/// Helm's release records (Secrets in kube-system) of the platform's charts on
/// a Pulumi-provisioned cluster, as `helm upgrade --install` left them: the
/// load balancer controller installed a month before `now_ms` and upgraded
/// last week (revision 1 superseded, 2 deployed), metrics-server installed
/// once. Values as the platform team set them.
pub fn helm_releases(cluster: &str, now_ms: u64) -> Vec<serde_json::Value> {
    const DAY_MS: u64 = 24 * 3600 * 1000;
    let at = |days: u64| {
        jiff::Timestamp::from_millisecond(now_ms.saturating_sub(days * DAY_MS) as i64)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
            .unwrap_or_default()
    };
    let alb = |revision: u64, status: &str, days: u64, replicas: u64| HelmRelease {
        name: "aws-load-balancer-controller".into(),
        namespace: "kube-system".into(),
        chart: "aws-load-balancer-controller".into(),
        chart_version: ALB_CHART.0.into(),
        app_version: ALB_CHART.1.into(),
        revision,
        status: status.into(),
        last_deployed: at(days),
        description: if revision == 1 {
            "Install complete".into()
        } else {
            "Upgrade complete".into()
        },
        values: serde_json::json!({
            "clusterName": cluster,
            "replicaCount": replicas,
            "serviceAccount": {"create": false, "name": "aws-load-balancer-controller"},
        }),
    };
    let metrics_server = HelmRelease {
        name: "metrics-server".into(),
        namespace: "kube-system".into(),
        chart: "metrics-server".into(),
        chart_version: METRICS_SERVER_CHART.0.into(),
        app_version: METRICS_SERVER_CHART.1.into(),
        revision: 1,
        status: "deployed".into(),
        last_deployed: at(30),
        description: "Install complete".into(),
        values: serde_json::json!({
            "args": ["--kubelet-preferred-address-types=InternalIP"],
        }),
    };
    [
        alb(1, "superseded", 30, 1),
        alb(2, "deployed", 6, 2),
        metrics_server,
    ]
    .iter()
    .map(helm::release_secret)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_world_has_day_and_dusk_with_one_drift() {
        let dir = tempfile::tempdir().unwrap();
        tierui_core::paths::extract_demo(dir.path()).unwrap();
        let ws = tierui_core::workspace::load(dir.path());
        let mut w = World::new(1);
        seed(&mut w, &ws, 1000);
        assert!(w.regions["us-west-2"].clusters.contains_key("day"));
        assert!(w.regions["us-east-2"].clusters.contains_key("dusk"));
        assert!(!w.regions.values().any(|r| r.clusters.contains_key("dawn")));
        let dusk = &w.regions["us-east-2"].nodegroups["dusk/general"];
        assert_eq!(dusk.desired_size, 3, "the deliberate drift: config says 2");
        let day = &w.regions["us-west-2"].nodegroups["day/general"];
        assert_eq!(day.desired_size, 3);
        assert_eq!(w.regions["us-west-2"].nats.len(), 3, "HighlyAvailable");
    }

    #[test]
    fn helm_records_decode_to_the_platform_releases() {
        let now = 1_750_000_000_000;
        let secrets = helm_releases("day", now);
        let records: Vec<_> = secrets
            .iter()
            .map(|s| {
                use base64::Engine as _;
                assert_eq!(s["type"], helm::SECRET_TYPE);
                let data = s["data"]["release"].as_str().unwrap();
                let inner = base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .unwrap();
                helm::decode_release(&inner).unwrap()
            })
            .collect();
        let list = helm::newest(records);
        let got: Vec<_> = list
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.chart_label(),
                    r.revision,
                    r.status.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "aws-load-balancer-controller",
                    "aws-load-balancer-controller-1.8.1".to_string(),
                    2,
                    "deployed"
                ),
                (
                    "metrics-server",
                    "metrics-server-3.12.1".to_string(),
                    1,
                    "deployed"
                ),
            ]
        );
        assert_eq!(list[0].values["clusterName"], "day");
        assert!(
            list[0].last_deployed.starts_with("2025-06-09T"),
            "{}",
            list[0].last_deployed
        );
    }
}
