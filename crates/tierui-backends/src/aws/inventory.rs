//! The cluster pane's read calls against AWS (or moto).

use aws_sdk_ec2::types::Filter;

use super::{AwsCloud, error};
use tierui_core::cloud::CloudError;
use tierui_core::cloud::inventory::*;

impl Inventory for AwsCloud {
    async fn describe_cluster(&self, name: &str) -> Result<Option<LiveCluster>, CloudError> {
        let api = "eks:DescribeCluster";
        let out = match self.eks.describe_cluster().name(name).send().await {
            Ok(o) => o,
            Err(e) => {
                let e = error(api, e);
                return if e.is_not_found() { Ok(None) } else { Err(e) };
            }
        };
        let Some(c) = out.cluster() else {
            return Ok(None);
        };
        let vpc = c.resources_vpc_config();
        Ok(Some(LiveCluster {
            name: c.name().unwrap_or(name).to_string(),
            arn: c.arn().unwrap_or_default().to_string(),
            status: c
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            version: c.version().unwrap_or_default().to_string(),
            platform_version: c.platform_version().unwrap_or_default().to_string(),
            endpoint_public: vpc.is_some_and(|v| v.endpoint_public_access()),
            endpoint_private: vpc.is_some_and(|v| v.endpoint_private_access()),
            public_access_cidrs: vpc
                .map(|v| v.public_access_cidrs().to_vec())
                .unwrap_or_default(),
            oidc_issuer: c
                .identity()
                .and_then(|i| i.oidc())
                .and_then(|o| o.issuer())
                .map(str::to_string),
            logging: c
                .logging()
                .map(|l| {
                    l.cluster_logging()
                        .iter()
                        .filter(|s| s.enabled() == Some(true))
                        .flat_map(|s| s.types().iter().map(|t| t.as_str().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            vpc_id: vpc.and_then(|v| v.vpc_id()).map(str::to_string),
            endpoint: c.endpoint().map(str::to_string),
            subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
        }))
    }

    async fn nodegroups(&self, cluster: &str) -> Result<Vec<LiveNodegroup>, CloudError> {
        let names = self
            .eks
            .list_nodegroups()
            .cluster_name(cluster)
            .send()
            .await
            .map_err(|e| error("eks:ListNodegroups", e))?;
        let mut out = Vec::new();
        for name in names.nodegroups() {
            let d = self
                .eks
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .send()
                .await
                .map_err(|e| error("eks:DescribeNodegroup", e))?;
            let Some(n) = d.nodegroup() else { continue };
            let sc = n.scaling_config();
            out.push(LiveNodegroup {
                name: name.clone(),
                status: n
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                min_size: sc.and_then(|s| s.min_size()).unwrap_or_default().into(),
                desired_size: sc.and_then(|s| s.desired_size()).unwrap_or_default().into(),
                max_size: sc.and_then(|s| s.max_size()).unwrap_or_default().into(),
                instance_types: n.instance_types().to_vec(),
                ami_type: n
                    .ami_type()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_default(),
                capacity_type: n
                    .capacity_type()
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_default(),
                health_issues: n
                    .health()
                    .map(|h| {
                        h.issues()
                            .iter()
                            .map(|i| {
                                format!(
                                    "{}: {}",
                                    i.code().map(|c| c.as_str()).unwrap_or("?"),
                                    i.message().unwrap_or_default()
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    async fn addons(&self, cluster: &str) -> Result<Vec<LiveAddon>, CloudError> {
        let names = self
            .eks
            .list_addons()
            .cluster_name(cluster)
            .send()
            .await
            .map_err(|e| error("eks:ListAddons", e))?;
        let mut out = Vec::new();
        for name in names.addons() {
            let d = self
                .eks
                .describe_addon()
                .cluster_name(cluster)
                .addon_name(name)
                .send()
                .await
                .map_err(|e| error("eks:DescribeAddon", e))?;
            if let Some(a) = d.addon() {
                out.push(LiveAddon {
                    name: name.clone(),
                    version: a.addon_version().unwrap_or_default().to_string(),
                    status: a
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    async fn vpc_cidr(&self, vpc: &str) -> Result<String, CloudError> {
        let out = self
            .ec2
            .describe_vpcs()
            .vpc_ids(vpc)
            .send()
            .await
            .map_err(|e| error("ec2:DescribeVpcs", e))?;
        Ok(out
            .vpcs()
            .first()
            .and_then(|v| v.cidr_block())
            .unwrap_or_default()
            .to_string())
    }

    async fn subnets(&self, ids: &[String]) -> Result<Vec<LiveSubnet>, CloudError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let out = self
            .ec2
            .describe_subnets()
            .set_subnet_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| error("ec2:DescribeSubnets", e))?;
        Ok(out
            .subnets()
            .iter()
            .map(|s| LiveSubnet {
                id: s.subnet_id().unwrap_or_default().to_string(),
                az: s.availability_zone().unwrap_or_default().to_string(),
                cidr: s.cidr_block().unwrap_or_default().to_string(),
                public: s.map_public_ip_on_launch().unwrap_or(false),
                tags: s
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            })
            .collect())
    }

    async fn nat_gateways(&self, vpc: &str) -> Result<Vec<LiveNat>, CloudError> {
        let out = self
            .ec2
            .describe_nat_gateways()
            .filter(Filter::builder().name("vpc-id").values(vpc).build())
            .send()
            .await
            .map_err(|e| error("ec2:DescribeNatGateways", e))?;
        Ok(out
            .nat_gateways()
            .iter()
            .filter(|n| n.state().is_some_and(|s| s.as_str() != "deleted"))
            .map(|n| LiveNat {
                id: n.nat_gateway_id().unwrap_or_default().to_string(),
                state: n
                    .state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                subnet: n.subnet_id().unwrap_or_default().to_string(),
            })
            .collect())
    }

    async fn oidc_provider_exists(&self, issuer: &str) -> Result<bool, CloudError> {
        let host = issuer.trim_start_matches("https://");
        let out = self
            .iam
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| error("iam:ListOpenIDConnectProviders", e))?;
        Ok(out
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .any(|arn| arn.ends_with(&format!("oidc-provider/{host}"))))
    }
}
