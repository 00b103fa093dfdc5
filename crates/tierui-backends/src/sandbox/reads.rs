//! The sandbox cloud answering the cluster pane's read calls.

use super::SandboxCloud;
use super::world::{Lifecycle, Phase};
use tierui_core::cloud::CloudError;
use tierui_core::cloud::inventory::*;

fn status(life: &Lifecycle, now: u64) -> Option<&'static str> {
    match life.phase(now) {
        Phase::Creating => Some("CREATING"),
        Phase::Ready => Some("ACTIVE"),
        Phase::Deleting => Some("DELETING"),
        Phase::Gone => None,
    }
}

impl Inventory for SandboxCloud {
    async fn describe_cluster(&self, name: &str) -> Result<Option<LiveCluster>, CloudError> {
        self.with("eks:DescribeCluster", false, |w, region, now| {
            let reg = w.region(region);
            Ok(reg.clusters.get(name).and_then(|c| {
                Some(LiveCluster {
                    name: name.to_string(),
                    arn: c.arn.clone(),
                    status: status(&c.life, now)?.to_string(),
                    version: c.version.clone(),
                    platform_version: c.platform_version.clone(),
                    endpoint_public: c.public_access,
                    endpoint_private: c.private_access,
                    public_access_cidrs: c.public_access_cidrs.clone(),
                    oidc_issuer: Some(c.issuer.clone()),
                    logging: c.logging.clone(),
                    vpc_id: Some(c.vpc.clone()),
                    endpoint: None,
                    subnet_ids: c.subnets.clone(),
                })
            }))
        })
    }

    async fn nodegroups(&self, cluster: &str) -> Result<Vec<LiveNodegroup>, CloudError> {
        self.with("eks:DescribeNodegroup", false, |w, region, now| {
            let prefix = format!("{cluster}/");
            Ok(w.region(region)
                .nodegroups
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .filter_map(|(k, n)| {
                    Some(LiveNodegroup {
                        name: k[prefix.len()..].to_string(),
                        status: status(&n.life, now)?.to_string(),
                        min_size: n.min_size,
                        desired_size: n.desired_size,
                        max_size: n.max_size,
                        instance_types: n.instance_types.clone(),
                        ami_type: n.ami_type.clone(),
                        capacity_type: n.capacity_type.clone(),
                        health_issues: Vec::new(),
                    })
                })
                .collect())
        })
    }

    async fn addons(&self, cluster: &str) -> Result<Vec<LiveAddon>, CloudError> {
        self.with("eks:DescribeAddon", false, |w, region, now| {
            let prefix = format!("{cluster}/");
            Ok(w.region(region)
                .addons
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .filter_map(|(k, a)| {
                    Some(LiveAddon {
                        name: k[prefix.len()..].to_string(),
                        version: a.version.clone(),
                        status: status(&a.life, now)?.to_string(),
                    })
                })
                .collect())
        })
    }

    async fn vpc_cidr(&self, vpc: &str) -> Result<String, CloudError> {
        self.with("ec2:DescribeVpcs", false, |w, region, _| {
            w.region(region)
                .vpcs
                .get(vpc)
                .map(|v| v.cidr.clone())
                .ok_or_else(|| {
                    CloudError::new(
                        "ec2:DescribeVpcs",
                        "InvalidVpcID.NotFound",
                        format!("The vpc ID '{vpc}' does not exist"),
                    )
                })
        })
    }

    async fn subnets(&self, ids: &[String]) -> Result<Vec<LiveSubnet>, CloudError> {
        self.with("ec2:DescribeSubnets", false, |w, region, _| {
            let reg = w.region(region);
            Ok(ids
                .iter()
                .filter_map(|id| {
                    reg.subnets.get(id).map(|s| LiveSubnet {
                        id: id.clone(),
                        az: s.az.clone(),
                        cidr: s.cidr.clone(),
                        public: s.map_public_ip,
                        tags: s.tags.clone(),
                    })
                })
                .collect())
        })
    }

    async fn nat_gateways(&self, vpc: &str) -> Result<Vec<LiveNat>, CloudError> {
        self.with("ec2:DescribeNatGateways", false, |w, region, now| {
            Ok(w.region(region)
                .nats
                .iter()
                .filter(|(_, n)| n.vpc == vpc)
                .filter_map(|(id, n)| {
                    let state = match n.life.phase(now) {
                        Phase::Creating => "pending",
                        Phase::Ready => "available",
                        Phase::Deleting => "deleting",
                        Phase::Gone => return None,
                    };
                    Some(LiveNat {
                        id: id.clone(),
                        state: state.into(),
                        subnet: n.subnet.clone(),
                    })
                })
                .collect())
        })
    }

    async fn oidc_provider_exists(&self, issuer: &str) -> Result<bool, CloudError> {
        self.with("iam:ListOpenIDConnectProviders", false, |w, _, _| {
            Ok(w.iam.oidc.values().any(|p| p.url == issuer))
        })
    }
}
