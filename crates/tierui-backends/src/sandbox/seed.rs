//! First use of a sandbox world: the workspace's Pulumi-provisioned clusters (day
//! and dusk in the demo) already exist, as Pulumi would have created them, while
//! eksctl-defined clusters (dawn) do not exist until the walkthrough creates them.
//!
//! One drift is deliberate so the cluster pane has something to show: the first
//! node group of the second Pulumi cluster runs one node more than its config says,
//! as if someone had scaled it in the console.

use super::ops::zones;
use super::world::*;
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

fn create_cluster(w: &mut World, spec: &ClusterSpec, now: u64, drift: bool) {
    let Some(region) = spec.region.clone() else {
        return;
    };
    let name = spec.cluster_name.clone();
    let account = w.account.clone();
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
    let ready = Lifecycle {
        ready_at: now,
        deleting: None,
    };

    let vpc = w.ec2_id("vpc");
    w.region(&region).vpcs.insert(
        vpc.clone(),
        Vpc {
            cidr,
            dns_support: true,
            dns_hostnames: true,
            tags: tags(spec, &format!("{name}-vpc")),
        },
    );
    let mut subnet_ids = Vec::new();
    let mut public_ids = Vec::new();
    for (i, az) in azs.iter().enumerate() {
        for (kind, block, role) in [
            ("public", &public[i], "kubernetes.io/role/elb"),
            ("private", &private[i], "kubernetes.io/role/internal-elb"),
        ] {
            let id = w.ec2_id("subnet");
            let mut t = tags(spec, &format!("{name}-{kind}-{az}"));
            t.push((role.into(), "1".into()));
            w.region(&region).subnets.insert(
                id.clone(),
                Subnet {
                    vpc: vpc.clone(),
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
    let igw = w.ec2_id("igw");
    w.region(&region).igws.insert(
        igw.clone(),
        InternetGateway {
            vpc: Some(vpc.clone()),
            tags: tags(spec, &format!("{name}-igw")),
        },
    );
    let nat_count = match spec.nat.as_deref() {
        Some("Disable") => 0,
        Some("HighlyAvailable") => public_ids.len(),
        _ => 1,
    };
    for (az, subnet) in public_ids.iter().take(nat_count) {
        let alloc = w.ec2_id("eipalloc");
        let nat = w.ec2_id("nat");
        let d = w.draw();
        let reg = w.region(&region);
        reg.eips.insert(
            alloc.clone(),
            Address {
                public_ip: format!("52.{}.{}.{}", (d >> 16) & 255, (d >> 8) & 255, d & 255),
                nat: Some(nat.clone()),
                tags: tags(spec, &format!("{name}-nat-{az}")),
            },
        );
        reg.nats.insert(
            nat,
            NatGateway {
                vpc: vpc.clone(),
                subnet: subnet.clone(),
                allocation: alloc,
                life: ready,
                tags: tags(spec, &format!("{name}-nat-{az}")),
            },
        );
    }
    let sg = w.ec2_id("sg");
    w.region(&region).security_groups.insert(
        sg.clone(),
        SecurityGroup {
            vpc: vpc.clone(),
            name: format!("{name}-cluster"),
            description: format!("{name} control plane"),
            tags: tags(spec, &format!("{name}-cluster")),
        },
    );
    let cluster_role = format!("{name}-eksRole");
    let node_role = format!("{name}-instanceRole");
    for (role, service, policies) in [
        (
            &cluster_role,
            "eks.amazonaws.com",
            vec!["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
        ),
        (
            &node_role,
            "ec2.amazonaws.com",
            vec![
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
                "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
            ],
        ),
    ] {
        w.iam.roles.insert(
            role.clone(),
            Role {
                arn: format!("arn:aws:iam::{account}:role/{role}"),
                trust: serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}).to_string(),
                attached: policies.into_iter().map(String::from).collect(),
                tags: tags(spec, role),
            },
        );
    }
    let endpoint_id = w.hex(32);
    let issuer_id = w.hex(32);
    let issuer = format!("https://oidc.eks.{region}.amazonaws.com/id/{issuer_id}");
    w.region(&region).clusters.insert(
        name.clone(),
        Cluster {
            arn: format!("arn:aws:eks:{region}:{account}:cluster/{name}"),
            version: spec
                .kubernetes_version
                .clone()
                .unwrap_or_else(|| super::ops::DEFAULT_VERSION.into()),
            platform_version: "eks.9".into(),
            role_arn: format!("arn:aws:iam::{account}:role/{cluster_role}"),
            subnets: subnet_ids.clone(),
            security_groups: vec![sg],
            vpc: vpc.clone(),
            public_access: spec.endpoint_public_access.unwrap_or(true),
            private_access: spec.endpoint_private_access.unwrap_or(false),
            public_access_cidrs: vec!["0.0.0.0/0".into()],
            logging: spec.logging.clone(),
            endpoint: format!("https://{endpoint_id}.gr7.{region}.eks.amazonaws.com"),
            certificate: String::new(),
            issuer: issuer.clone(),
            created_at: now,
            life: ready,
            tags: tags(spec, &name),
        },
    );
    if spec.oidc == Some(true) {
        let host = issuer.trim_start_matches("https://");
        w.iam.oidc.insert(
            format!("arn:aws:iam::{account}:oidc-provider/{host}"),
            OidcProvider {
                url: issuer.clone(),
                client_ids: vec!["sts.amazonaws.com".into()],
                thumbprints: vec![tierui_core::walkthrough::plan::OIDC_THUMBPRINT.into()],
                tags: tags(spec, &name),
            },
        );
    }
    for addon in ["vpc-cni", "kube-proxy", "coredns"] {
        w.region(&region).addons.insert(
            format!("{name}/{addon}"),
            Addon {
                version: super::ops::default_addon_version(addon).into(),
                role_arn: None,
                life: ready,
                tags: vec![],
            },
        );
    }
    let private_ids: Vec<String> = subnet_ids
        .iter()
        .filter(|s| !public_ids.iter().any(|(_, p)| p == *s))
        .cloned()
        .collect();
    for (i, ng) in spec.node_groups.iter().enumerate() {
        let extra = i64::from(drift && i == 0);
        let uuid = w.hex(8).to_lowercase();
        w.region(&region).nodegroups.insert(
            format!("{name}/{}", ng.name),
            Nodegroup {
                arn: format!(
                    "arn:aws:eks:{region}:{account}:nodegroup/{name}/{}/{uuid}",
                    ng.name
                ),
                role_arn: format!("arn:aws:iam::{account}:role/{node_role}"),
                subnets: private_ids.clone(),
                instance_types: ng.instance_types.clone(),
                min_size: ng.min_size,
                desired_size: (ng.desired_size + extra)
                    .min(ng.max_size.max(ng.desired_size + extra)),
                max_size: ng.max_size,
                disk_size: 20,
                capacity_type: ng.capacity_type.clone(),
                ami_type: "AL2023_x86_64_STANDARD".into(),
                labels: vec![],
                life: ready,
                tags: tags(spec, &ng.name),
            },
        );
    }
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
}
