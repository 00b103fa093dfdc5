//! Each walkthrough operation as aws-sdk calls, plus adoption lookups, waits and
//! teardown deletes.

use std::collections::HashMap;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, DomainType, Filter, ResourceType, Tag as Ec2Tag, TagSpecification,
};
use aws_sdk_eks::types::{
    CapacityTypes, LogSetup, LogType, Logging, NodegroupScalingConfig, Taint, TaintEffect,
    VpcConfigRequest,
};

use super::{AwsCloud, error};
use tierui_core::cloud::*;

pub(super) fn ec2_tags(kind: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Ec2Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

pub(super) fn iam_tags(tags: &Tags) -> Vec<aws_sdk_iam::types::Tag> {
    tags.iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

pub(super) fn ec2_pairs(tags: &[Ec2Tag]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

pub(super) fn iam_pairs(tags: &[aws_sdk_iam::types::Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

pub(super) fn map_tags(tags: &Tags) -> HashMap<String, String> {
    tags.iter().cloned().collect()
}

pub(super) fn tag_filters(cluster: &str, call_id: &str) -> Vec<Filter> {
    vec![
        Filter::builder()
            .name(format!("tag:{TAG_CLUSTER}"))
            .values(cluster)
            .build(),
        Filter::builder()
            .name(format!("tag:{TAG_STEP}"))
            .values(call_id)
            .build(),
    ]
}

pub(super) fn r(v: &Val, outputs: &Outputs, api: &str) -> Result<String, CloudError> {
    v.resolve(outputs)
        .map_err(|m| CloudError::new(api, "InvalidParameterValue", m))
}

fn produced(pairs: &[(&str, Option<&str>)]) -> Produced {
    pairs
        .iter()
        .filter_map(|(k, v)| Some((k.to_string(), (*v)?.to_string())))
        .collect()
}

fn taint_effect(e: &str) -> TaintEffect {
    match e {
        "NoExecute" | "NO_EXECUTE" => TaintEffect::NoExecute,
        "PreferNoSchedule" | "PREFER_NO_SCHEDULE" => TaintEffect::PreferNoSchedule,
        _ => TaintEffect::NoSchedule,
    }
}

fn log_types(names: &[String]) -> Vec<LogType> {
    let all = [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ];
    let wanted: Vec<&str> = if names.iter().any(|n| n == "*" || n == "all") {
        all.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    wanted.into_iter().map(LogType::from).collect()
}

impl AwsCloud {
    /// Runs one walkthrough operation against AWS: one function per service.
    async fn exec(&self, op: &Op, o: &Outputs) -> Result<Produced, CloudError> {
        match op {
            Op::CreateVpc { .. }
            | Op::ModifyVpcAttribute { .. }
            | Op::CreateSubnet { .. }
            | Op::MapPublicIpOnLaunch { .. }
            | Op::CreateInternetGateway { .. }
            | Op::AttachInternetGateway { .. }
            | Op::AllocateAddress { .. }
            | Op::CreateNatGateway { .. }
            | Op::CreateRouteTable { .. }
            | Op::CreateRoute { .. }
            | Op::AssociateRouteTable { .. }
            | Op::CreateSecurityGroup { .. } => self.exec_ec2(op, o).await,
            Op::CreateRole { .. }
            | Op::AttachRolePolicy { .. }
            | Op::CreatePolicy { .. }
            | Op::CreateOidcProvider { .. } => self.exec_iam(op, o).await,
            Op::CreateCluster { .. } | Op::CreateAddon { .. } | Op::CreateNodegroup { .. } => {
                self.exec_eks(op, o).await
            }
            Op::WriteKubeconfig { .. }
            | Op::CreateServiceAccount { .. }
            | Op::MapIdentity { .. }
            | Op::Manual { .. } => Err(CloudError::new(
                op.api(),
                "InvalidAction",
                "not a cloud operation",
            )),
            _ => self.exec_more(op, o).await,
        }
    }

    /// EC2: the VPC and its subnets and security group, or its gateways and routes.
    async fn exec_ec2(&self, op: &Op, o: &Outputs) -> Result<Produced, CloudError> {
        match op {
            Op::CreateVpc { .. }
            | Op::ModifyVpcAttribute { .. }
            | Op::CreateSubnet { .. }
            | Op::MapPublicIpOnLaunch { .. }
            | Op::CreateSecurityGroup { .. } => self.exec_vpc(op, o).await,
            _ => self.exec_routing(op, o).await,
        }
    }

    /// EC2: VPC, its attributes, subnets and the control plane security group.
    async fn exec_vpc(&self, op: &Op, o: &Outputs) -> Result<Produced, CloudError> {
        let api = op.api();
        match op {
            Op::CreateVpc { cidr, tags, ipv6 } => {
                let out = self
                    .ec2
                    .create_vpc()
                    .cidr_block(cidr)
                    .set_amazon_provided_ipv6_cidr_block(ipv6.then_some(true))
                    .tag_specifications(ec2_tags(ResourceType::Vpc, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[("id", out.vpc().and_then(|v| v.vpc_id()))]))
            }
            Op::ModifyVpcAttribute { vpc, attribute } => {
                let id = r(vpc, o, api)?;
                let on = AttributeBooleanValue::builder().value(true).build();
                let req = self.ec2.modify_vpc_attribute().vpc_id(&id);
                let req = match attribute {
                    VpcAttribute::EnableDnsSupport => req.enable_dns_support(on),
                    VpcAttribute::EnableDnsHostnames => req.enable_dns_hostnames(on),
                };
                req.send().await.map_err(|x| error(api, x))?;
                Ok(produced(&[("vpc", Some(&id))]))
            }
            Op::CreateSubnet {
                vpc,
                cidr,
                az,
                tags,
                ipv6_block,
            } => {
                let vpc = r(vpc, o, api)?;
                let v6 = match ipv6_block {
                    Some(n) => Some(self.vpc_ipv6_64(&vpc, *n, api).await?),
                    None => None,
                };
                let out = self
                    .ec2
                    .create_subnet()
                    .vpc_id(vpc)
                    .set_ipv6_cidr_block(v6)
                    .cidr_block(cidr)
                    .availability_zone(az)
                    .tag_specifications(ec2_tags(ResourceType::Subnet, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[
                    ("id", out.subnet().and_then(|s| s.subnet_id())),
                    ("az", Some(az)),
                ]))
            }
            Op::MapPublicIpOnLaunch { subnet } => {
                let id = r(subnet, o, api)?;
                self.ec2
                    .modify_subnet_attribute()
                    .subnet_id(&id)
                    .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[("subnet", Some(&id))]))
            }
            Op::CreateSecurityGroup {
                vpc,
                name,
                description,
                tags,
            } => {
                let out = self
                    .ec2
                    .create_security_group()
                    .vpc_id(r(vpc, o, api)?)
                    .group_name(name)
                    .description(description)
                    .tag_specifications(ec2_tags(ResourceType::SecurityGroup, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[("id", out.group_id())]))
            }
            _ => Err(CloudError::misrouted(op)),
        }
    }

    /// EC2: internet and NAT gateways, addresses, route tables and routes.
    async fn exec_routing(&self, op: &Op, o: &Outputs) -> Result<Produced, CloudError> {
        let api = op.api();
        match op {
            Op::CreateInternetGateway { tags } => {
                let out = self
                    .ec2
                    .create_internet_gateway()
                    .tag_specifications(ec2_tags(ResourceType::InternetGateway, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[(
                    "id",
                    out.internet_gateway().and_then(|g| g.internet_gateway_id()),
                )]))
            }
            Op::AttachInternetGateway { igw, vpc } => {
                let (igw, vpc) = (r(igw, o, api)?, r(vpc, o, api)?);
                self.ec2
                    .attach_internet_gateway()
                    .internet_gateway_id(&igw)
                    .vpc_id(&vpc)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[("igw", Some(&igw)), ("vpc", Some(&vpc))]))
            }
            Op::AllocateAddress { tags } => {
                let out = self
                    .ec2
                    .allocate_address()
                    .domain(DomainType::Vpc)
                    .tag_specifications(ec2_tags(ResourceType::ElasticIp, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[
                    ("allocation", out.allocation_id()),
                    ("public_ip", out.public_ip()),
                ]))
            }
            Op::CreateNatGateway {
                subnet,
                allocation,
                tags,
            } => {
                let out = self
                    .ec2
                    .create_nat_gateway()
                    .subnet_id(r(subnet, o, api)?)
                    .allocation_id(r(allocation, o, api)?)
                    .tag_specifications(ec2_tags(ResourceType::Natgateway, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[(
                    "id",
                    out.nat_gateway().and_then(|n| n.nat_gateway_id()),
                )]))
            }
            Op::CreateRouteTable { vpc, tags } => {
                let out = self
                    .ec2
                    .create_route_table()
                    .vpc_id(r(vpc, o, api)?)
                    .tag_specifications(ec2_tags(ResourceType::RouteTable, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[(
                    "id",
                    out.route_table().and_then(|t| t.route_table_id()),
                )]))
            }
            Op::CreateRoute {
                table,
                destination,
                target,
            } => {
                let table = r(table, o, api)?;
                let req = self.ec2.create_route().route_table_id(&table);
                let req = if destination.contains(':') {
                    req.destination_ipv6_cidr_block(destination)
                } else {
                    req.destination_cidr_block(destination)
                };
                let (req, target) = match target {
                    RouteTarget::EgressOnlyInternetGateway { id } => {
                        let id = r(id, o, api)?;
                        (req.egress_only_internet_gateway_id(&id), id)
                    }
                    RouteTarget::InternetGateway { id } => {
                        let id = r(id, o, api)?;
                        (req.gateway_id(&id), id)
                    }
                    RouteTarget::NatGateway { id } => {
                        let id = r(id, o, api)?;
                        (req.nat_gateway_id(&id), id)
                    }
                };
                req.send().await.map_err(|x| error(api, x))?;
                Ok(produced(&[
                    ("table", Some(&table)),
                    ("target", Some(&target)),
                ]))
            }
            Op::AssociateRouteTable { table, subnet } => {
                let out = self
                    .ec2
                    .associate_route_table()
                    .route_table_id(r(table, o, api)?)
                    .subnet_id(r(subnet, o, api)?)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[("association", out.association_id())]))
            }
            _ => Err(CloudError::misrouted(op)),
        }
    }

    /// IAM: roles, their policies and the OIDC provider.
    async fn exec_iam(&self, op: &Op, o: &Outputs) -> Result<Produced, CloudError> {
        let api = op.api();
        match op {
            Op::CreateRole {
                name,
                trust,
                description,
                tags,
                permissions_boundary,
            } => {
                let doc = trust.document(o).map_err(|m| {
                    let mut e = CloudError::new(api, "InvalidParameterValue", m);
                    e.status = Some(400);
                    e
                })?;
                let out = self
                    .iam
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(doc)
                    .set_permissions_boundary(permissions_boundary.clone())
                    .description(description)
                    .set_tags(Some(iam_tags(tags)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[
                    ("arn", out.role().map(|r| r.arn())),
                    ("name", Some(name)),
                ]))
            }
            Op::AttachRolePolicy { role, policy_arn } => {
                let arn = r(policy_arn, o, api)?;
                self.iam
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(&arn)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[("role", Some(role)), ("policy", Some(&arn))]))
            }
            Op::CreatePolicy {
                name,
                document,
                tags,
            } => {
                let out = self
                    .iam
                    .create_policy()
                    .policy_name(name)
                    .policy_document(document)
                    .set_tags(Some(iam_tags(tags)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[("arn", out.policy().and_then(|p| p.arn()))]))
            }
            Op::CreateOidcProvider {
                issuer,
                client_ids,
                thumbprint,
                tags,
            } => {
                let out = self
                    .iam
                    .create_open_id_connect_provider()
                    .url(r(issuer, o, api)?)
                    .set_client_id_list(Some(client_ids.clone()))
                    .thumbprint_list(thumbprint)
                    .set_tags(Some(iam_tags(tags)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[("arn", out.open_id_connect_provider_arn())]))
            }
            _ => Err(CloudError::misrouted(op)),
        }
    }

    /// EKS CreateNodegroup: scaling, taints, labels and capacity type as planned.
    async fn create_nodegroup(&self, op: &Op, o: &Outputs) -> Result<Produced, CloudError> {
        let api = op.api();
        let Op::CreateNodegroup {
            cluster,
            name,
            role_arn,
            subnets,
            instance_types,
            min_size,
            desired_size,
            max_size,
            disk_size,
            capacity_type,
            labels,
            taints,
            tags,
            extras,
        } = op
        else {
            return Err(CloudError::misrouted(op));
        };
        let subnets: Vec<String> = subnets
            .iter()
            .map(|s| r(s, o, api))
            .collect::<Result<_, _>>()?;
        let scaling = NodegroupScalingConfig::builder()
            .min_size(*min_size as i32)
            .desired_size(*desired_size as i32)
            .max_size(*max_size as i32)
            .build();
        let taints: Vec<Taint> = taints
            .iter()
            .map(|(k, v, eff)| {
                Taint::builder()
                    .key(k)
                    .value(v)
                    .effect(taint_effect(eff))
                    .build()
            })
            .collect();
        let out = self
            .eks
            .create_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .node_role(r(role_arn, o, api)?)
            .set_subnets(Some(subnets))
            .set_instance_types(Some(instance_types.clone()))
            .scaling_config(scaling)
            .set_disk_size(disk_size.map(|d| d as i32))
            .capacity_type(CapacityTypes::from(capacity_type.as_str()))
            .set_labels((!labels.is_empty()).then(|| labels.iter().cloned().collect()))
            .set_taints((!taints.is_empty()).then_some(taints))
            .set_tags(Some(map_tags(tags)))
            .set_launch_template(
                extras
                    .launch_template
                    .as_ref()
                    .map(|(id, v)| {
                        r(id, o, api).map(|id| {
                            aws_sdk_eks::types::LaunchTemplateSpecification::builder()
                                .id(id)
                                .set_version(v.clone())
                                .build()
                        })
                    })
                    .transpose()?,
            )
            .set_remote_access(
                extras
                    .ssh_key
                    .as_ref()
                    .map(|k| {
                        r(k, o, api).map(|k| {
                            aws_sdk_eks::types::RemoteAccessConfig::builder()
                                .ec2_ssh_key(k)
                                .set_source_security_groups(
                                    Some(extras.ssh_source_security_groups.clone())
                                        .filter(|g| !g.is_empty()),
                                )
                                .build()
                        })
                    })
                    .transpose()?,
            )
            .set_update_config(extras.max_unavailable.map(|m| {
                aws_sdk_eks::types::NodegroupUpdateConfig::builder()
                    .max_unavailable(m as i32)
                    .build()
            }))
            .set_node_repair_config(extras.node_repair.then(|| {
                aws_sdk_eks::types::NodeRepairConfig::builder()
                    .enabled(true)
                    .build()
            }))
            .send()
            .await
            .map_err(|x| error(api, x))?;
        Ok(produced(&[
            ("arn", out.nodegroup().and_then(|n| n.nodegroup_arn())),
            ("name", Some(name)),
        ]))
    }

    /// EKS: the cluster, its add-ons and node groups.
    async fn exec_eks(&self, op: &Op, o: &Outputs) -> Result<Produced, CloudError> {
        let api = op.api();
        match op {
            Op::CreateCluster {
                name,
                version,
                role_arn,
                subnets,
                security_groups,
                public_access,
                private_access,
                public_access_cidrs,
                logging,
                tags,
                extras,
            } => {
                let subnets: Vec<String> = subnets
                    .iter()
                    .map(|s| r(s, o, api))
                    .collect::<Result<_, _>>()?;
                let sgs: Vec<String> = security_groups
                    .iter()
                    .map(|s| r(s, o, api))
                    .collect::<Result<_, _>>()?;
                let vpc = VpcConfigRequest::builder()
                    .set_subnet_ids(Some(subnets))
                    .set_security_group_ids(Some(sgs))
                    .endpoint_public_access(*public_access)
                    .endpoint_private_access(*private_access)
                    .set_public_access_cidrs(
                        (!public_access_cidrs.is_empty()).then(|| public_access_cidrs.clone()),
                    )
                    .build();
                let mut req = self
                    .eks
                    .create_cluster()
                    .name(name)
                    .role_arn(r(role_arn, o, api)?)
                    .resources_vpc_config(vpc)
                    .set_version(version.clone())
                    .set_tags(Some(map_tags(tags)));
                if !logging.is_empty() {
                    req = req.logging(
                        Logging::builder()
                            .cluster_logging(
                                LogSetup::builder()
                                    .set_types(Some(log_types(logging)))
                                    .enabled(true)
                                    .build(),
                            )
                            .build(),
                    );
                }
                req = self.cluster_extras(req, extras, o, api)?;
                let out = req.send().await.map_err(|x| error(api, x))?;
                Ok(cluster_outputs(out.cluster()))
            }
            Op::CreateAddon {
                cluster,
                name,
                version,
                role_arn,
                tags,
                configuration_values,
                resolve_conflicts,
            } => {
                let role = role_arn.as_ref().map(|v| r(v, o, api)).transpose()?;
                let out = self
                    .eks
                    .create_addon()
                    .cluster_name(cluster)
                    .addon_name(name)
                    .set_addon_version(version.clone())
                    .set_service_account_role_arn(role)
                    .set_configuration_values(configuration_values.clone())
                    .set_resolve_conflicts(resolve_conflicts.as_deref().map(|c| {
                        aws_sdk_eks::types::ResolveConflicts::from(c.to_uppercase().as_str())
                    }))
                    .set_tags(Some(map_tags(tags)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(produced(&[
                    ("name", Some(name)),
                    ("version", out.addon().and_then(|a| a.addon_version())),
                ]))
            }
            Op::CreateNodegroup { .. } => self.create_nodegroup(op, o).await,
            _ => Err(CloudError::misrouted(op)),
        }
    }

    /// Finds what an earlier run of this call created. Every candidate is checked
    /// here, on what AWS returned, for this cluster's and this call's tags (and the
    /// AZ, state or route target the plan asks for): a server that ignores the tag
    /// filter cannot make tierui adopt another call's resource.
    async fn lookup(
        &self,
        cluster: &str,
        call_id: &str,
        op: &Op,
        o: &Outputs,
    ) -> Result<Option<Produced>, CloudError> {
        match op {
            Op::CreateVpc { .. }
            | Op::CreateSubnet { .. }
            | Op::CreateInternetGateway { .. }
            | Op::AllocateAddress { .. }
            | Op::CreateNatGateway { .. }
            | Op::CreateRouteTable { .. }
            | Op::CreateSecurityGroup { .. } => self.lookup_tagged_ec2(cluster, call_id, op).await,
            Op::AttachInternetGateway { .. }
            | Op::CreateRoute { .. }
            | Op::AssociateRouteTable { .. } => self.lookup_ec2_link(op, o).await,
            Op::CreateRole { .. } | Op::CreatePolicy { .. } | Op::CreateOidcProvider { .. } => {
                self.lookup_iam(cluster, call_id, op, o).await
            }
            Op::CreateCluster { .. } | Op::CreateAddon { .. } | Op::CreateNodegroup { .. } => {
                self.lookup_eks(cluster, call_id, op).await
            }
            Op::ModifyVpcAttribute { .. }
            | Op::MapPublicIpOnLaunch { .. }
            | Op::AttachRolePolicy { .. }
            | Op::WriteKubeconfig { .. }
            | Op::CreateServiceAccount { .. }
            | Op::MapIdentity { .. }
            | Op::Manual { .. } => Ok(None),
            _ => self.lookup_more(cluster, call_id, op, o).await,
        }
    }

    /// EC2 resources that carry the tierui tags themselves.
    async fn lookup_tagged_ec2(
        &self,
        cluster: &str,
        call_id: &str,
        op: &Op,
    ) -> Result<Option<Produced>, CloudError> {
        let api = op.api();
        let filters = Some(tag_filters(cluster, call_id));
        let found = match op {
            Op::CreateVpc { .. } => {
                let out = self.ec2.describe_vpcs().set_filters(filters).send().await;
                let out = out.map_err(|x| error(api, x))?;
                let all = out
                    .vpcs()
                    .iter()
                    .map(|v| (produced(&[("id", v.vpc_id())]), ec2_pairs(v.tags())));
                adopt_one(api, cluster, call_id, all)?
            }
            Op::CreateSubnet { az, .. } => {
                let out = self
                    .ec2
                    .describe_subnets()
                    .set_filters(filters)
                    .send()
                    .await;
                let out = out.map_err(|x| error(api, x))?;
                let all = out
                    .subnets()
                    .iter()
                    .filter(|s| s.availability_zone() == Some(az.as_str()))
                    .map(|s| {
                        let p = produced(&[("id", s.subnet_id()), ("az", Some(az))]);
                        (p, ec2_pairs(s.tags()))
                    });
                adopt_one(api, cluster, call_id, all)?
            }
            Op::CreateInternetGateway { .. } => {
                let out = self.ec2.describe_internet_gateways().set_filters(filters);
                let out = out.send().await.map_err(|x| error(api, x))?;
                let all = out.internet_gateways().iter().map(|g| {
                    let p = produced(&[("id", g.internet_gateway_id())]);
                    (p, ec2_pairs(g.tags()))
                });
                adopt_one(api, cluster, call_id, all)?
            }
            Op::AllocateAddress { .. } => {
                let out = self
                    .ec2
                    .describe_addresses()
                    .set_filters(filters)
                    .send()
                    .await;
                let out = out.map_err(|x| error(api, x))?;
                let all = out.addresses().iter().map(|a| {
                    let p = produced(&[
                        ("allocation", a.allocation_id()),
                        ("public_ip", a.public_ip()),
                    ]);
                    (p, ec2_pairs(a.tags()))
                });
                adopt_one(api, cluster, call_id, all)?
            }
            Op::CreateNatGateway { .. } => {
                let mut filters = tag_filters(cluster, call_id);
                filters.push(
                    Filter::builder()
                        .name("state")
                        .values("pending")
                        .values("available")
                        .build(),
                );
                let out = self.ec2.describe_nat_gateways().set_filter(Some(filters));
                let out = out.send().await.map_err(|x| error(api, x))?;
                // A deleted NAT gateway stays visible for an hour: never adopt one.
                let all = out
                    .nat_gateways()
                    .iter()
                    .filter(|n| {
                        n.state()
                            .is_some_and(|s| matches!(s.as_str(), "pending" | "available"))
                    })
                    .map(|n| (produced(&[("id", n.nat_gateway_id())]), ec2_pairs(n.tags())));
                adopt_one(api, cluster, call_id, all)?
            }
            Op::CreateRouteTable { .. } => {
                let out = self.ec2.describe_route_tables().set_filters(filters);
                let out = out.send().await.map_err(|x| error(api, x))?;
                let all = out.route_tables().iter().map(|t| {
                    let p = produced(&[("id", t.route_table_id())]);
                    (p, ec2_pairs(t.tags()))
                });
                adopt_one(api, cluster, call_id, all)?
            }
            Op::CreateSecurityGroup { .. } => {
                let out = self.ec2.describe_security_groups().set_filters(filters);
                let out = out.send().await.map_err(|x| error(api, x))?;
                let all = out
                    .security_groups()
                    .iter()
                    .map(|g| (produced(&[("id", g.group_id())]), ec2_pairs(g.tags())));
                adopt_one(api, cluster, call_id, all)?
            }
            _ => None,
        };
        Ok(found)
    }

    /// Links between resources (attachments, routes, associations): found on the
    /// resources an earlier call of this run produced.
    async fn lookup_ec2_link(&self, op: &Op, o: &Outputs) -> Result<Option<Produced>, CloudError> {
        let api = op.api();
        Ok(match op {
            Op::AttachInternetGateway { igw, vpc } => {
                let (Ok(igw), Ok(vpc)) = (igw.resolve(o), vpc.resolve(o)) else {
                    return Ok(None);
                };
                let out = self
                    .ec2
                    .describe_internet_gateways()
                    .internet_gateway_ids(&igw)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let attached = out
                    .internet_gateways()
                    .iter()
                    .filter(|g| g.internet_gateway_id() == Some(igw.as_str()))
                    .flat_map(|g| g.attachments())
                    .any(|a| a.vpc_id() == Some(vpc.as_str()));
                attached.then(|| produced(&[("igw", Some(&igw)), ("vpc", Some(&vpc))]))
            }
            Op::CreateRoute {
                table,
                destination,
                target,
            } => {
                let Ok(table) = table.resolve(o) else {
                    return Ok(None);
                };
                let want = match target {
                    RouteTarget::InternetGateway { id }
                    | RouteTarget::NatGateway { id }
                    | RouteTarget::EgressOnlyInternetGateway { id } => id.resolve(o).ok(),
                };
                let out = self
                    .ec2
                    .describe_route_tables()
                    .route_table_ids(&table)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let route = out
                    .route_tables()
                    .iter()
                    .filter(|t| t.route_table_id() == Some(table.as_str()))
                    .flat_map(|t| t.routes())
                    .find(|rt| {
                        rt.destination_cidr_block() == Some(destination.as_str())
                            || rt.destination_ipv6_cidr_block() == Some(destination.as_str())
                    })
                    .cloned();
                match route {
                    None => None,
                    Some(rt) => {
                        let via = rt
                            .gateway_id()
                            .or(rt.nat_gateway_id())
                            .or(rt.egress_only_internet_gateway_id());
                        if via != want.as_deref() {
                            return Err(CloudError::new(
                                api,
                                "RouteConflict",
                                format!(
                                    "route table {table} already routes {destination} to {}, not to {} as the plan says; remove that route or fix the table",
                                    via.unwrap_or("an unknown target"),
                                    want.as_deref().unwrap_or("?")
                                ),
                            ));
                        }
                        Some(produced(&[("table", Some(&table)), ("target", via)]))
                    }
                }
            }
            Op::AssociateRouteTable { table, subnet } => {
                let (Ok(table), Ok(subnet)) = (table.resolve(o), subnet.resolve(o)) else {
                    return Ok(None);
                };
                let out = self
                    .ec2
                    .describe_route_tables()
                    .route_table_ids(&table)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let assoc = out
                    .route_tables()
                    .iter()
                    .filter(|t| t.route_table_id() == Some(table.as_str()))
                    .flat_map(|t| t.associations())
                    .find(|a| a.subnet_id() == Some(subnet.as_str()))
                    .cloned();
                assoc.map(|a| produced(&[("association", a.route_table_association_id())]))
            }
            _ => None,
        })
    }

    /// IAM roles, policies and OIDC providers: looked up by their fixed name (or
    /// issuer), adopted only when their tags name this cluster and call.
    async fn lookup_iam(
        &self,
        cluster: &str,
        call_id: &str,
        op: &Op,
        o: &Outputs,
    ) -> Result<Option<Produced>, CloudError> {
        let api = op.api();
        let absent = |x: CloudError| if x.is_not_found() { Ok(None) } else { Err(x) };
        match op {
            Op::CreateRole { name, .. } => {
                let out = match self.iam.get_role().role_name(name).send().await {
                    Ok(out) => out,
                    Err(x) => return absent(error(api, x)),
                };
                let all = out.role().map(|r| {
                    let p = produced(&[("arn", Some(r.arn())), ("name", Some(name))]);
                    (p, iam_pairs(r.tags()))
                });
                adopt_one(api, cluster, call_id, all)
            }
            Op::CreatePolicy { name, .. } => {
                let arn = format!("arn:aws:iam::{}:policy/{name}", self.account().await?);
                let out = match self.iam.get_policy().policy_arn(&arn).send().await {
                    Ok(out) => out,
                    Err(x) => return absent(error(api, x)),
                };
                let all = out
                    .policy()
                    .map(|p| (produced(&[("arn", Some(&arn))]), iam_pairs(p.tags())));
                adopt_one(api, cluster, call_id, all)
            }
            Op::CreateOidcProvider { issuer, .. } => {
                let Ok(url) = issuer.resolve(o) else {
                    return Ok(None);
                };
                let host = url.trim_start_matches("https://");
                let out = self
                    .iam
                    .list_open_id_connect_providers()
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let suffix = format!(":oidc-provider/{host}");
                let Some(arn) = out
                    .open_id_connect_provider_list()
                    .iter()
                    .filter_map(|p| p.arn())
                    .find(|arn| arn.ends_with(&suffix))
                else {
                    return Ok(None);
                };
                let got = self
                    .iam
                    .get_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .send()
                    .await;
                let got = match got {
                    Ok(g) => g,
                    Err(x) => return absent(error(api, x)),
                };
                let all = [(produced(&[("arn", Some(arn))]), iam_pairs(got.tags()))];
                adopt_one(api, cluster, call_id, all)
            }
            _ => Ok(None),
        }
    }

    /// The EKS cluster, its add-ons and node groups, by name, adopted only when
    /// their tags name this cluster and call.
    async fn lookup_eks(
        &self,
        cluster: &str,
        call_id: &str,
        op: &Op,
    ) -> Result<Option<Produced>, CloudError> {
        let api = op.api();
        let absent = |x: CloudError| {
            if x.is_not_found() || x.is_not_implemented() {
                Ok(None)
            } else {
                Err(x)
            }
        };
        let pairs = |t: Option<&HashMap<String, String>>| -> Vec<(String, String)> {
            t.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        match op {
            Op::CreateCluster { name, .. } => {
                let out = match self.eks.describe_cluster().name(name).send().await {
                    Ok(out) => out,
                    Err(x) => return absent(self.honest(error(api, x))),
                };
                let all = out
                    .cluster()
                    .map(|c| (cluster_outputs(Some(c)), pairs(c.tags())));
                adopt_one(api, cluster, call_id, all)
            }
            Op::CreateAddon {
                cluster: cl, name, ..
            } => {
                let req = self.eks.describe_addon().cluster_name(cl).addon_name(name);
                let out = match req.send().await {
                    Ok(out) => out,
                    Err(x) => return absent(self.honest(error(api, x))),
                };
                let all = out.addon().map(|a| {
                    let p = produced(&[("name", Some(name)), ("version", a.addon_version())]);
                    (p, pairs(a.tags()))
                });
                adopt_one(api, cluster, call_id, all)
            }
            Op::CreateNodegroup {
                cluster: cl, name, ..
            } => {
                let req = self
                    .eks
                    .describe_nodegroup()
                    .cluster_name(cl)
                    .nodegroup_name(name);
                let out = match req.send().await {
                    Ok(out) => out,
                    Err(x) => return absent(self.honest(error(api, x))),
                };
                let all = out.nodegroup().map(|n| {
                    let p = produced(&[("arn", n.nodegroup_arn()), ("name", Some(name))]);
                    (p, pairs(n.tags()))
                });
                adopt_one(api, cluster, call_id, all)
            }
            _ => Ok(None),
        }
    }

    async fn check(&self, wait: &WaitFor) -> Result<Poll, CloudError> {
        if let Some(p) = self.check_more(wait).await? {
            return Ok(p);
        }
        let api = wait.api();
        let gone = |e: CloudError| {
            if e.is_not_found() {
                Ok(Poll::Done)
            } else {
                Err(e)
            }
        };
        match wait {
            WaitFor::NatAvailable { id } | WaitFor::NatDeleted { id } => {
                let out = self
                    .ec2
                    .describe_nat_gateways()
                    .nat_gateway_ids(id)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let state = out
                    .nat_gateways()
                    .first()
                    .and_then(|n| n.state())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "deleted".into());
                Ok(match (wait, state.as_str()) {
                    (WaitFor::NatAvailable { .. }, "available")
                    | (WaitFor::NatDeleted { .. }, "deleted") => Poll::Done,
                    (WaitFor::NatAvailable { .. }, "failed" | "deleted" | "deleting") => {
                        Poll::Failed(state)
                    }
                    _ => Poll::Pending(state),
                })
            }
            WaitFor::ClusterActive { name } | WaitFor::ClusterGone { name } => {
                let res = self
                    .eks
                    .describe_cluster()
                    .name(name)
                    .send()
                    .await
                    .map_err(|x| error(api, x));
                let status = match res {
                    Ok(out) => out
                        .cluster()
                        .and_then(|c| c.status())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    Err(e) if matches!(wait, WaitFor::ClusterGone { .. }) => return gone(e),
                    Err(e) => return Err(e),
                };
                Ok(status_poll(wait, &status))
            }
            WaitFor::AddonActive { cluster, name } | WaitFor::AddonGone { cluster, name } => {
                let res = self
                    .eks
                    .describe_addon()
                    .cluster_name(cluster)
                    .addon_name(name)
                    .send()
                    .await
                    .map_err(|x| error(api, x));
                let status = match res {
                    Ok(out) => out
                        .addon()
                        .and_then(|a| a.status())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    Err(e) if matches!(wait, WaitFor::AddonGone { .. }) => return gone(e),
                    Err(e) => return Err(e),
                };
                Ok(status_poll(wait, &status))
            }
            WaitFor::NodegroupActive { cluster, name }
            | WaitFor::NodegroupGone { cluster, name } => {
                let res = self
                    .eks
                    .describe_nodegroup()
                    .cluster_name(cluster)
                    .nodegroup_name(name)
                    .send()
                    .await
                    .map_err(|x| error(api, x));
                let status = match res {
                    Ok(out) => out
                        .nodegroup()
                        .and_then(|n| n.status())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    Err(e) if matches!(wait, WaitFor::NodegroupGone { .. }) => return gone(e),
                    Err(e) => return Err(e),
                };
                Ok(status_poll(wait, &status))
            }
            // Answered by check_more above.
            _ => Ok(Poll::Failed(format!("{} is not polled here", wait.api()))),
        }
    }

    async fn remove(&self, undo: &Undo) -> Result<(), CloudError> {
        let api = undo.api();
        macro_rules! go {
            ($req:expr) => {
                $req.send().await.map(|_| ()).map_err(|x| error(api, x))
            };
        }
        match undo {
            Undo::DeleteNodegroup { cluster, name } => go!(self
                .eks
                .delete_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)),
            Undo::DeleteAddon { cluster, name } => go!(self
                .eks
                .delete_addon()
                .cluster_name(cluster)
                .addon_name(name)),
            Undo::DeleteCluster { name } => go!(self.eks.delete_cluster().name(name)),
            Undo::DeleteOidcProvider { arn } => go!(self
                .iam
                .delete_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)),
            Undo::DetachRolePolicy { role, policy_arn } => go!(self
                .iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(policy_arn)),
            Undo::DeleteRole { name } => go!(self.iam.delete_role().role_name(name)),
            Undo::DeletePolicy { arn } => go!(self.iam.delete_policy().policy_arn(arn)),
            Undo::DisassociateRouteTable { association } => go!(self
                .ec2
                .disassociate_route_table()
                .association_id(association)),
            Undo::DeleteRouteTable { id } => go!(self.ec2.delete_route_table().route_table_id(id)),
            Undo::DeleteNatGateway { id } => go!(self.ec2.delete_nat_gateway().nat_gateway_id(id)),
            Undo::ReleaseAddress { allocation } => {
                go!(self.ec2.release_address().allocation_id(allocation))
            }
            Undo::DetachInternetGateway { igw, vpc } => go!(self
                .ec2
                .detach_internet_gateway()
                .internet_gateway_id(igw)
                .vpc_id(vpc)),
            Undo::DeleteInternetGateway { id } => {
                go!(self.ec2.delete_internet_gateway().internet_gateway_id(id))
            }
            Undo::DeleteSubnet { id } => go!(self.ec2.delete_subnet().subnet_id(id)),
            Undo::DeleteSecurityGroup { id } => go!(self.ec2.delete_security_group().group_id(id)),
            Undo::DeleteVpc { id } => go!(self.ec2.delete_vpc().vpc_id(id)),
            Undo::RemoveKubeconfig { .. }
            | Undo::DeleteServiceAccount { .. }
            | Undo::UnmapIdentity { .. } => Err(CloudError::new(
                api,
                "InvalidAction",
                "not a cloud operation",
            )),
            other => self
                .remove_more(other)
                .await?
                .ok_or_else(|| CloudError::new(api, "InvalidAction", "not handled")),
        }
    }
}

impl AwsCloud {
    /// The n-th /64 of a VPC's Amazon-provided IPv6 block.
    async fn vpc_ipv6_64(&self, vpc: &str, n: u8, api: &str) -> Result<String, CloudError> {
        let out = self
            .ec2
            .describe_vpcs()
            .vpc_ids(vpc)
            .send()
            .await
            .map_err(|x| error(api, x))?;
        let block = out
            .vpcs()
            .iter()
            .filter(|v| v.vpc_id() == Some(vpc))
            .flat_map(|v| v.ipv6_cidr_block_association_set())
            .find_map(|a| a.ipv6_cidr_block())
            .ok_or_else(|| {
                CloudError::new(
                    api,
                    "InvalidParameterValue",
                    format!("VPC {vpc} has no IPv6 block yet (CreateVpc asked for one)"),
                )
            })?;
        super::calls_more::nth_64(block, n).ok_or_else(|| {
            CloudError::new(
                api,
                "InvalidParameterValue",
                format!("VPC {vpc}'s IPv6 block {block} is not a /56"),
            )
        })
    }

    /// Encryption, IP family, access config, zonal shift, upgrade policy and
    /// control plane tier on a CreateCluster request.
    fn cluster_extras(
        &self,
        mut req: aws_sdk_eks::operation::create_cluster::builders::CreateClusterFluentBuilder,
        x: &ClusterExtras,
        o: &Outputs,
        api: &str,
    ) -> Result<
        aws_sdk_eks::operation::create_cluster::builders::CreateClusterFluentBuilder,
        CloudError,
    > {
        use aws_sdk_eks::types as t;
        if let Some(key) = &x.encryption_key {
            req = req.encryption_config(
                t::EncryptionConfig::builder()
                    .resources("secrets")
                    .provider(t::Provider::builder().key_arn(r(key, o, api)?).build())
                    .build(),
            );
        }
        if x.ip_family.is_some() || x.service_ipv4_cidr.is_some() {
            req = req.kubernetes_network_config(
                t::KubernetesNetworkConfigRequest::builder()
                    .set_ip_family(x.ip_family.as_deref().map(t::IpFamily::from))
                    .set_service_ipv4_cidr(x.service_ipv4_cidr.clone())
                    .build(),
            );
        }
        if x.authentication_mode.is_some() || x.bootstrap_admin.is_some() {
            req = req.access_config(
                t::CreateAccessConfigRequest::builder()
                    .set_authentication_mode(
                        x.authentication_mode
                            .as_deref()
                            .map(t::AuthenticationMode::from),
                    )
                    .set_bootstrap_cluster_creator_admin_permissions(x.bootstrap_admin)
                    .build(),
            );
        }
        if let Some(z) = x.zonal_shift {
            req = req.zonal_shift_config(t::ZonalShiftConfigRequest::builder().enabled(z).build());
        }
        if let Some(u) = &x.upgrade_support_type {
            req = req.upgrade_policy(
                t::UpgradePolicyRequest::builder()
                    .support_type(t::SupportType::from(u.as_str()))
                    .build(),
            );
        }
        if let Some(tier) = &x.control_plane_tier {
            req = req.control_plane_scaling_config(
                t::ControlPlaneScalingConfig::builder()
                    .tier(t::ProvisionedControlPlaneTier::from(tier.as_str()))
                    .build(),
            );
        }
        Ok(req)
    }
}

fn status_poll(wait: &WaitFor, status: &str) -> Poll {
    let want = wait.target();
    match status {
        s if s == want => Poll::Done,
        "FAILED" | "CREATE_FAILED" | "DEGRADED" | "DELETE_FAILED" => {
            Poll::Failed(status.to_string())
        }
        "DELETING" if want == "ACTIVE" => Poll::Failed(status.to_string()),
        "" => Poll::Pending("unknown".into()),
        s => Poll::Pending(s.to_string()),
    }
}

fn cluster_outputs(c: Option<&aws_sdk_eks::types::Cluster>) -> Produced {
    let Some(c) = c else { return Produced::new() };
    produced(&[
        ("name", c.name()),
        ("arn", c.arn()),
        ("endpoint", c.endpoint()),
        (
            "certificate",
            c.certificate_authority().and_then(|a| a.data()),
        ),
        (
            "issuer",
            c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()),
        ),
        ("version", c.version()),
    ])
}

impl Cloud for AwsCloud {
    async fn identity(&self) -> Result<Identity, CloudError> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|x| self.honest(error("sts:GetCallerIdentity", x)))?;
        let account = out.account().unwrap_or_default().to_string();
        // Policy ARNs need the account later: no second GetCallerIdentity.
        let _ = self.account.set(account.clone());
        Ok(Identity {
            account,
            arn: out.arn().unwrap_or_default().to_string(),
            region: self.region.clone(),
            endpoint: self.endpoint.clone().unwrap_or_else(|| "aws".into()),
        })
    }

    async fn availability_zones(&self) -> Result<Vec<String>, CloudError> {
        let out = self
            .ec2
            .describe_availability_zones()
            .send()
            .await
            .map_err(|x| self.honest(error("ec2:DescribeAvailabilityZones", x)))?;
        Ok(out
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_string))
            .collect())
    }

    async fn find(
        &self,
        cluster: &str,
        call_id: &str,
        op: &Op,
        outputs: &Outputs,
    ) -> Result<Option<Produced>, CloudError> {
        let found = self.lookup(cluster, call_id, op, outputs).await;
        found.map_err(|e| self.honest(e))
    }

    async fn execute(
        &self,
        _call_id: &str,
        op: &Op,
        outputs: &Outputs,
    ) -> Result<Produced, CloudError> {
        self.exec(op, outputs).await.map_err(|e| self.honest(e))
    }

    async fn poll(&self, wait: &WaitFor) -> Result<Poll, CloudError> {
        self.check(wait).await.map_err(|e| self.honest(e))
    }

    async fn undo(&self, undo: &Undo) -> Result<(), CloudError> {
        self.remove(undo).await.map_err(|e| self.honest(e))
    }
}
