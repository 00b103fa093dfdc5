//! The aws-sdk side of self-managed node groups, existing VPCs, private
//! clusters, IPv6, Fargate, secrets encryption and access: each operation as
//! its EC2, IAM, Auto Scaling, KMS or EKS call, with adoption lookups, waits
//! and teardown deletes.

use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, LaunchTemplateBlockDeviceMappingRequest,
    LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataOptionsRequest, RequestLaunchTemplateData, ResourceType,
    Tag as Ec2Tag, UserIdGroupPair, VolumeType, VpcEndpointType,
};
use base64::Engine;

use super::calls::{ec2_pairs, ec2_tags as spec, iam_pairs, iam_tags, map_tags, r, tag_filters};
use super::{AwsCloud, error, read_public_key};
use tierui_core::cloud::*;

fn rs(vs: &[Val], outputs: &Outputs, api: &str) -> Result<Vec<String>, CloudError> {
    vs.iter().map(|v| r(v, outputs, api)).collect()
}

fn one(k: &str, v: impl Into<String>) -> Produced {
    Produced::from([(k.to_string(), v.into())])
}

/// The identity provider config an OIDC provider of that name is known by.
fn oidc_config(
    name: &str,
    api: &str,
) -> Result<aws_sdk_eks::types::IdentityProviderConfig, CloudError> {
    aws_sdk_eks::types::IdentityProviderConfig::builder()
        .r#type("oidc")
        .name(name)
        .build()
        .map_err(|x| CloudError::new(api, "InvalidParameterException", x.to_string()))
}

/// Tags EKS returns as a map, as pairs.
fn eks_pairs(tags: Option<&std::collections::HashMap<String, String>>) -> Vec<(String, String)> {
    tags.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// A describe call's answer, with "not found" meaning nothing to adopt.
fn found<T>(res: Result<T, CloudError>) -> Result<Option<T>, CloudError> {
    match res {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

fn ours(tags: &[(String, String)], cluster: &str, call_id: &str) -> bool {
    tagged_by(
        tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        cluster,
        call_id,
    )
}

fn permission(
    peer: &str,
    protocol: &str,
    from: i32,
    to: i32,
    description: Option<&str>,
) -> IpPermission {
    let mut p = IpPermission::builder().ip_protocol(protocol);
    if protocol != "-1" {
        p = p.from_port(from).to_port(to);
    }
    if peer.starts_with("sg-") {
        p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(peer)
                .set_description(description.map(str::to_string))
                .build(),
        )
        .build()
    } else {
        p.ip_ranges(
            IpRange::builder()
                .cidr_ip(peer)
                .set_description(description.map(str::to_string))
                .build(),
        )
        .build()
    }
}

/// The n-th /64 of an IPv6 /56 (`2600:1f14:abc:de00::/56`, 1 → `2600:1f14:abc:de01::/64`).
pub fn nth_64(block: &str, n: u8) -> Option<String> {
    let (addr, len) = block.split_once('/')?;
    if len != "56" {
        return None;
    }
    let a: std::net::Ipv6Addr = addr.parse().ok()?;
    let v = u128::from(a) + ((n as u128) << 64);
    Some(format!("{}/64", std::net::Ipv6Addr::from(v)))
}

/// The user data of a launch template, base64 as EC2 takes it.
pub fn user_data_b64(b: &Bootstrap, o: &Outputs, api: &str) -> Result<String, CloudError> {
    let text = tierui_core::walkthrough::bootstrap::user_data(b, o)
        .map_err(|m| CloudError::new(api, "InvalidParameterValue", m))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(text))
}

impl AwsCloud {
    pub(super) async fn exec_more(&self, op: &Op, o: &Outputs) -> Result<Produced, CloudError> {
        let api = op.api();
        match op {
            Op::AuthorizeIngress {
                group,
                peer,
                protocol,
                from_port,
                to_port,
                description,
            } => {
                let group = r(group, o, api)?;
                let peer = match peer {
                    Peer::Group { id } => r(id, o, api)?,
                    Peer::Cidr { cidr } => cidr.clone(),
                };
                let res = self
                    .ec2
                    .authorize_security_group_ingress()
                    .group_id(&group)
                    .ip_permissions(permission(
                        &peer,
                        protocol,
                        *from_port,
                        *to_port,
                        Some(description),
                    ))
                    .send()
                    .await
                    .map_err(|x| error(api, x));
                match res {
                    Ok(_) => Ok(one("group", group)),
                    // A rerun after an interruption: the rule is there already.
                    Err(x) if x.code == "InvalidPermission.Duplicate" => Ok(one("group", group)),
                    Err(x) => Err(x),
                }
            }
            Op::CreateLaunchTemplate {
                name,
                image,
                instance_type,
                bootstrap,
                volume,
                key_name,
                security_groups,
                instance_profile,
                imds_v2_only,
                tags,
            } => {
                let mut ebs = LaunchTemplateEbsBlockDeviceRequest::builder()
                    .set_volume_size(volume.size_gib.map(|s| s as i32))
                    .set_volume_type(volume.kind.as_deref().map(VolumeType::from))
                    .delete_on_termination(true);
                if volume.encrypted {
                    ebs = ebs.encrypted(true).set_kms_key_id(volume.kms_key.clone());
                }
                let mut data = RequestLaunchTemplateData::builder()
                    .set_image_id((!image.is_empty()).then(|| image.clone()))
                    .set_instance_type(
                        instance_type
                            .as_deref()
                            .map(aws_sdk_ec2::types::InstanceType::from),
                    )
                    .user_data(user_data_b64(bootstrap, o, api)?)
                    .block_device_mappings(
                        LaunchTemplateBlockDeviceMappingRequest::builder()
                            .device_name(&volume.device)
                            .ebs(ebs.build())
                            .build(),
                    )
                    .set_key_name(key_name.as_ref().map(|k| r(k, o, api)).transpose()?)
                    .set_security_group_ids(
                        Some(rs(security_groups, o, api)?).filter(|v| !v.is_empty()),
                    )
                    .metadata_options(
                        LaunchTemplateInstanceMetadataOptionsRequest::builder()
                            .http_tokens(if *imds_v2_only {
                                LaunchTemplateHttpTokensState::Required
                            } else {
                                LaunchTemplateHttpTokensState::Optional
                            })
                            .http_put_response_hop_limit(2)
                            .build(),
                    );
                if let Some(p) = instance_profile {
                    data = data.iam_instance_profile(
                        LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                            .arn(r(p, o, api)?)
                            .build(),
                    );
                }
                let out = self
                    .ec2
                    .create_launch_template()
                    .launch_template_name(name)
                    .launch_template_data(data.build())
                    .tag_specifications(spec(ResourceType::LaunchTemplate, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let lt = out.launch_template();
                Ok(Produced::from([
                    (
                        "id".to_string(),
                        lt.and_then(|t| t.launch_template_id())
                            .unwrap_or_default()
                            .to_string(),
                    ),
                    (
                        "version".to_string(),
                        lt.and_then(|t| t.latest_version_number())
                            .unwrap_or(1)
                            .to_string(),
                    ),
                ]))
            }
            Op::ImportKeyPair {
                name,
                public_key,
                public_key_path,
                tags,
            } => {
                let key = match public_key {
                    Some(k) => k.clone(),
                    None => {
                        read_public_key(public_key_path.as_deref().unwrap_or("~/.ssh/id_rsa.pub"))
                            .map_err(|m| CloudError::new(api, "InvalidKey.Format", m))?
                    }
                };
                self.ec2
                    .import_key_pair()
                    .key_name(name)
                    .public_key_material(Blob::new(key.into_bytes()))
                    .tag_specifications(spec(ResourceType::KeyPair, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(one("name", name.clone()))
            }
            Op::CreateVpcEndpoint {
                vpc,
                service,
                kind,
                subnets,
                security_groups,
                route_tables,
                tags,
            } => {
                let out = self
                    .ec2
                    .create_vpc_endpoint()
                    .vpc_id(r(vpc, o, api)?)
                    .service_name(service)
                    .vpc_endpoint_type(VpcEndpointType::from(kind.as_str()))
                    .set_subnet_ids(Some(rs(subnets, o, api)?).filter(|v| !v.is_empty()))
                    .set_security_group_ids(
                        Some(rs(security_groups, o, api)?).filter(|v| !v.is_empty()),
                    )
                    .set_route_table_ids(Some(rs(route_tables, o, api)?).filter(|v| !v.is_empty()))
                    .tag_specifications(spec(ResourceType::VpcEndpoint, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(one(
                    "id",
                    out.vpc_endpoint()
                        .and_then(|v| v.vpc_endpoint_id())
                        .unwrap_or_default(),
                ))
            }
            Op::CreateEgressOnlyInternetGateway { vpc, tags } => {
                let out = self
                    .ec2
                    .create_egress_only_internet_gateway()
                    .vpc_id(r(vpc, o, api)?)
                    .tag_specifications(spec(ResourceType::EgressOnlyInternetGateway, tags))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(one(
                    "id",
                    out.egress_only_internet_gateway()
                        .and_then(|g| g.egress_only_internet_gateway_id())
                        .unwrap_or_default(),
                ))
            }
            Op::FindSubnet {
                vpc,
                id,
                cidr,
                az,
                public,
            } => {
                self.find_subnet(
                    api,
                    vpc.as_deref(),
                    id.as_deref(),
                    cidr.as_deref(),
                    az.as_deref(),
                    *public,
                )
                .await
            }
            Op::TagResource { resource, tags } => {
                let id = r(resource, o, api)?;
                self.ec2
                    .create_tags()
                    .resources(&id)
                    .set_tags(Some(
                        tags.iter()
                            .map(|(k, v)| Ec2Tag::builder().key(k).value(v).build())
                            .collect(),
                    ))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(one("id", id))
            }
            Op::CreateInstanceProfile { name, tags } => {
                let out = self
                    .iam
                    .create_instance_profile()
                    .instance_profile_name(name)
                    .set_tags(Some(iam_tags(tags)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(Produced::from([
                    (
                        "arn".to_string(),
                        out.instance_profile()
                            .map(|p| p.arn().to_string())
                            .unwrap_or_default(),
                    ),
                    ("name".to_string(), name.clone()),
                ]))
            }
            Op::AddRoleToInstanceProfile { profile, role } => {
                let res = self
                    .iam
                    .add_role_to_instance_profile()
                    .instance_profile_name(profile)
                    .role_name(role)
                    .send()
                    .await
                    .map_err(|x| error(api, x));
                match res {
                    Ok(_) => Ok(one("profile", profile.clone())),
                    // A rerun: the role is in the profile already.
                    Err(x)
                        if x.code == "LimitExceeded"
                            && self.profile_has_role(profile, role).await =>
                    {
                        Ok(one("profile", profile.clone()))
                    }
                    Err(x) => Err(x),
                }
            }
            Op::PutRolePolicy {
                role,
                name,
                document,
            } => {
                self.iam
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(document)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(one("policy", name.clone()))
            }
            Op::CreateAutoScalingGroup { .. } => self.create_asg(op, o).await,
            Op::CreateKey { description, tags } => {
                let out = self
                    .kms
                    .create_key()
                    .description(description)
                    .set_tags(Some(
                        tags.iter()
                            .filter_map(|(k, v)| {
                                aws_sdk_kms::types::Tag::builder()
                                    .tag_key(k)
                                    .tag_value(v)
                                    .build()
                                    .ok()
                            })
                            .collect(),
                    ))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let m = out.key_metadata();
                Ok(Produced::from([
                    (
                        "id".to_string(),
                        m.map(|m| m.key_id().to_string()).unwrap_or_default(),
                    ),
                    (
                        "arn".to_string(),
                        m.and_then(|m| m.arn()).unwrap_or_default().to_string(),
                    ),
                ]))
            }
            Op::DescribeKey { key } => {
                let out = self
                    .kms
                    .describe_key()
                    .key_id(key)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let m = out.key_metadata().ok_or_else(|| {
                    CloudError::new(api, "NotFoundException", format!("no metadata for {key}"))
                })?;
                let state = m
                    .key_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                if state != "Enabled" {
                    return Err(CloudError::new(
                        api,
                        "KMSInvalidStateException",
                        format!("{key} is {state}; secrets encryption needs an Enabled key"),
                    ));
                }
                if m.key_usage()
                    .is_some_and(|u| u.as_str() != "ENCRYPT_DECRYPT")
                    || m.key_spec()
                        .is_some_and(|s| s.as_str() != "SYMMETRIC_DEFAULT")
                {
                    return Err(CloudError::new(
                        api,
                        "InvalidKeyUsageException",
                        format!("{key} is not a symmetric encrypt/decrypt key, which EKS needs"),
                    ));
                }
                Ok(Produced::from([
                    ("id".to_string(), m.key_id().to_string()),
                    ("arn".to_string(), m.arn().unwrap_or(key).to_string()),
                    ("state".to_string(), state),
                ]))
            }
            Op::CreateFargateProfile {
                cluster,
                name,
                role_arn,
                subnets,
                selectors,
                tags,
            } => {
                let selectors = selectors
                    .iter()
                    .map(|(ns, labels)| {
                        aws_sdk_eks::types::FargateProfileSelector::builder()
                            .namespace(ns)
                            .set_labels(
                                (!labels.is_empty()).then(|| labels.iter().cloned().collect()),
                            )
                            .build()
                    })
                    .collect();
                let out = self
                    .eks
                    .create_fargate_profile()
                    .cluster_name(cluster)
                    .fargate_profile_name(name)
                    .pod_execution_role_arn(r(role_arn, o, api)?)
                    .set_subnets(Some(rs(subnets, o, api)?))
                    .set_selectors(Some(selectors))
                    .set_tags(Some(map_tags(tags)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(Produced::from([
                    (
                        "arn".to_string(),
                        out.fargate_profile()
                            .and_then(|f| f.fargate_profile_arn())
                            .unwrap_or_default()
                            .to_string(),
                    ),
                    ("name".to_string(), name.clone()),
                ]))
            }
            Op::CreateAccessEntry {
                cluster,
                principal_arn,
                kind,
                groups,
                username,
                tags,
            } => {
                let principal = r(principal_arn, o, api)?;
                self.eks
                    .create_access_entry()
                    .cluster_name(cluster)
                    .principal_arn(&principal)
                    .set_type(kind.clone())
                    .set_kubernetes_groups(Some(groups.clone()).filter(|g| !g.is_empty()))
                    .set_username(username.clone())
                    .set_tags(Some(map_tags(tags)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(one("principal", principal))
            }
            Op::AssociateAccessPolicy {
                cluster,
                principal_arn,
                policy_arn,
                scope,
                namespaces,
            } => {
                let scope = aws_sdk_eks::types::AccessScope::builder()
                    .r#type(aws_sdk_eks::types::AccessScopeType::from(scope.as_str()))
                    .set_namespaces(Some(namespaces.clone()).filter(|n| !n.is_empty()))
                    .build();
                self.eks
                    .associate_access_policy()
                    .cluster_name(cluster)
                    .principal_arn(r(principal_arn, o, api)?)
                    .policy_arn(policy_arn)
                    .access_scope(scope)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(one("policy", policy_arn.clone()))
            }
            Op::CreatePodIdentityAssociation {
                cluster,
                namespace,
                service_account,
                role_arn,
                target_role_arn,
                disable_session_tags,
                tags,
            } => {
                let out = self
                    .eks
                    .create_pod_identity_association()
                    .cluster_name(cluster)
                    .namespace(namespace)
                    .service_account(service_account)
                    .role_arn(r(role_arn, o, api)?)
                    .set_target_role_arn(target_role_arn.clone())
                    .set_disable_session_tags(disable_session_tags.then_some(true))
                    .set_tags(Some(map_tags(tags)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(one(
                    "id",
                    out.association()
                        .and_then(|a| a.association_id())
                        .unwrap_or_default(),
                ))
            }
            Op::AssociateIdentityProvider {
                cluster,
                name,
                issuer_url,
                client_id,
                username_claim,
                groups_claim,
                tags,
            } => {
                let oidc = aws_sdk_eks::types::OidcIdentityProviderConfigRequest::builder()
                    .identity_provider_config_name(name)
                    .issuer_url(issuer_url)
                    .client_id(client_id)
                    .set_username_claim(username_claim.clone())
                    .set_groups_claim(groups_claim.clone())
                    .build()
                    .map_err(|x| {
                        CloudError::new(api, "InvalidParameterException", x.to_string())
                    })?;
                self.eks
                    .associate_identity_provider_config()
                    .cluster_name(cluster)
                    .oidc(oidc)
                    .set_tags(Some(map_tags(tags)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                Ok(one("name", name.clone()))
            }
            _ => Err(CloudError::misrouted(op)),
        }
    }

    /// The group by name, from what DescribeAutoScalingGroups returned (checked here:
    /// an endpoint may ignore the name filter).
    async fn asg(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_autoscaling::types::AutoScalingGroup>, CloudError> {
        let out = self
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .map_err(|x| error("autoscaling:DescribeAutoScalingGroups", x))?;
        Ok(out
            .auto_scaling_groups()
            .iter()
            .find(|g| g.auto_scaling_group_name() == Some(name))
            .cloned())
    }

    async fn profile_has_role(&self, profile: &str, role: &str) -> bool {
        self.iam
            .get_instance_profile()
            .instance_profile_name(profile)
            .send()
            .await
            .ok()
            .and_then(|o| {
                o.instance_profile()
                    .map(|p| p.roles().iter().any(|r| r.role_name() == role))
            })
            .unwrap_or(false)
    }

    /// DescribeSubnets by id, or by VPC and CIDR; then the checks eksctl makes:
    /// the VPC and zone the config says, and public means a route to an internet
    /// gateway (read from the route tables, never taken from the config).
    async fn find_subnet(
        &self,
        api: &'static str,
        vpc: Option<&str>,
        id: Option<&str>,
        cidr: Option<&str>,
        az: Option<&str>,
        public: bool,
    ) -> Result<Produced, CloudError> {
        let mut req = self.ec2.describe_subnets();
        if let Some(id) = id {
            req = req.subnet_ids(id);
        }
        if let Some(v) = vpc {
            req = req.filters(Filter::builder().name("vpc-id").values(v).build());
        }
        if let Some(c) = cidr {
            req = req.filters(Filter::builder().name("cidr-block").values(c).build());
        }
        let out = req.send().await.map_err(|x| error(api, x))?;
        // Checked here too: an endpoint may ignore filters.
        let matches: Vec<_> = out
            .subnets()
            .iter()
            .filter(|s| id.is_none_or(|i| s.subnet_id() == Some(i)))
            .filter(|s| vpc.is_none_or(|v| s.vpc_id() == Some(v)))
            .filter(|s| cidr.is_none_or(|c| s.cidr_block() == Some(c)))
            .collect();
        let [s] = matches.as_slice() else {
            let what = id.or(cidr).unwrap_or("?");
            return Err(CloudError::new(
                api,
                "InvalidSubnetID.NotFound",
                format!(
                    "{} subnets match {what}{}; exactly one must",
                    matches.len(),
                    vpc.map(|v| format!(" in {v}")).unwrap_or_default()
                ),
            ));
        };
        let sid = s.subnet_id().unwrap_or_default().to_string();
        let svpc = s.vpc_id().unwrap_or_default().to_string();
        let saz = s.availability_zone().unwrap_or_default().to_string();
        if let Some(want) = az
            && want != saz
        {
            return Err(CloudError::new(
                api,
                "InvalidParameterValue",
                format!("subnet {sid} is in {saz}, not {want} as the config says"),
            ));
        }
        let is_public = self.routes_to_igw(&sid, &svpc).await?;
        if public != is_public {
            let (said, is) = if public {
                ("public", "has no route to an internet gateway")
            } else {
                ("private", "routes to an internet gateway")
            };
            return Err(CloudError::new(
                api,
                "InvalidParameterValue",
                format!("subnet {sid} is listed as {said} but its route table {is}"),
            ));
        }
        Ok(Produced::from([
            ("id".to_string(), sid),
            ("vpc".to_string(), svpc),
            ("az".to_string(), saz),
            (
                "cidr".to_string(),
                s.cidr_block().unwrap_or_default().to_string(),
            ),
        ]))
    }

    /// Whether a subnet's route table (its own, else the VPC's main one) has a
    /// route to an internet gateway.
    async fn routes_to_igw(&self, subnet: &str, vpc: &str) -> Result<bool, CloudError> {
        let api = "ec2:DescribeRouteTables";
        let out = self
            .ec2
            .describe_route_tables()
            .filters(Filter::builder().name("vpc-id").values(vpc).build())
            .send()
            .await
            .map_err(|x| error(api, x))?;
        let tables = out.route_tables();
        let own = tables.iter().find(|t| {
            t.associations()
                .iter()
                .any(|a| a.subnet_id() == Some(subnet))
        });
        let table = own.or_else(|| {
            tables
                .iter()
                .find(|t| t.associations().iter().any(|a| a.main() == Some(true)))
        });
        Ok(table.is_some_and(|t| {
            t.routes()
                .iter()
                .any(|r| r.gateway_id().is_some_and(|g| g.starts_with("igw-")))
        }))
    }

    async fn create_asg(&self, op: &Op, o: &Outputs) -> Result<Produced, CloudError> {
        use aws_sdk_autoscaling::types::{
            InstancesDistribution, LaunchTemplate, LaunchTemplateOverrides,
            LaunchTemplateSpecification, MixedInstancesPolicy, Tag,
        };
        let api = op.api();
        let Op::CreateAutoScalingGroup {
            name,
            launch_template,
            subnets,
            min_size,
            desired_size,
            max_size,
            instance_types,
            mix,
            target_group_arns,
            load_balancers,
            tags,
        } = op
        else {
            return Err(CloudError::misrouted(op));
        };
        let lt = LaunchTemplateSpecification::builder()
            .launch_template_id(r(launch_template, o, api)?)
            .version("$Latest")
            .build();
        let mut req = self
            .autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(name)
            .min_size(*min_size as i32)
            .max_size(*max_size as i32)
            .desired_capacity(*desired_size as i32)
            .vpc_zone_identifier(rs(subnets, o, api)?.join(","))
            .set_target_group_arns(Some(target_group_arns.clone()).filter(|v| !v.is_empty()))
            .set_load_balancer_names(Some(load_balancers.clone()).filter(|v| !v.is_empty()))
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| {
                        Tag::builder()
                            .key(k)
                            .value(v)
                            .propagate_at_launch(true)
                            .resource_id(name)
                            .resource_type("auto-scaling-group")
                            .build()
                    })
                    .collect(),
            ));
        if instance_types.len() > 1 || mix.is_some() {
            let overrides = instance_types
                .iter()
                .map(|t| LaunchTemplateOverrides::builder().instance_type(t).build())
                .collect();
            let mut policy = MixedInstancesPolicy::builder().launch_template(
                LaunchTemplate::builder()
                    .launch_template_specification(lt)
                    .set_overrides(Some(overrides))
                    .build(),
            );
            if let Some(m) = mix {
                policy = policy.instances_distribution(
                    InstancesDistribution::builder()
                        .on_demand_base_capacity(m.on_demand_base as i32)
                        .on_demand_percentage_above_base_capacity(m.on_demand_percentage as i32)
                        .set_spot_allocation_strategy(m.spot_strategy.clone())
                        .set_spot_instance_pools(m.spot_pools.map(|p| p as i32))
                        .set_spot_max_price(m.max_price.clone())
                        .build(),
                );
            }
            req = req.mixed_instances_policy(policy.build());
        } else {
            req = req.launch_template(lt);
        }
        req.send().await.map_err(|x| error(api, x))?;
        Ok(one("name", name.clone()))
    }

    /// What an earlier run of this call created: by the tierui tags, checked on
    /// what the describe call returned.
    pub(super) async fn lookup_more(
        &self,
        cluster: &str,
        call_id: &str,
        op: &Op,
        o: &Outputs,
    ) -> Result<Option<Produced>, CloudError> {
        let api = op.api();
        let mine = |t: &[(String, String)]| ours(t, cluster, call_id);
        Ok(match op {
            Op::CreateLaunchTemplate { .. } => {
                let out = self
                    .ec2
                    .describe_launch_templates()
                    .set_filters(Some(tag_filters(cluster, call_id)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let all = out.launch_templates().iter().map(|t| {
                    let version = t.latest_version_number().unwrap_or(1).to_string();
                    let mut p = one("id", t.launch_template_id().unwrap_or_default());
                    p.insert("version".into(), version);
                    (p, ec2_pairs(t.tags()))
                });
                adopt_one(api, cluster, call_id, all)?
            }
            Op::ImportKeyPair { name, .. } => {
                let out = found(
                    self.ec2
                        .describe_key_pairs()
                        .key_names(name)
                        .send()
                        .await
                        .map_err(|x| error(api, x)),
                )?;
                out.and_then(|out| {
                    out.key_pairs()
                        .iter()
                        .any(|k| k.key_name() == Some(name) && mine(&ec2_pairs(k.tags())))
                        .then(|| one("name", name.clone()))
                })
            }
            Op::CreateVpcEndpoint { .. } => {
                let out = self
                    .ec2
                    .describe_vpc_endpoints()
                    .set_filters(Some(tag_filters(cluster, call_id)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let all = out
                    .vpc_endpoints()
                    .iter()
                    .filter(|v| {
                        v.state()
                            .is_none_or(|s| !s.as_str().to_ascii_lowercase().starts_with("delet"))
                    })
                    .map(|v| {
                        (
                            one("id", v.vpc_endpoint_id().unwrap_or_default()),
                            ec2_pairs(v.tags()),
                        )
                    });
                adopt_one(api, cluster, call_id, all)?
            }
            Op::CreateEgressOnlyInternetGateway { .. } => {
                let out = self
                    .ec2
                    .describe_egress_only_internet_gateways()
                    .set_filters(Some(tag_filters(cluster, call_id)))
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let all = out.egress_only_internet_gateways().iter().map(|g| {
                    (
                        one(
                            "id",
                            g.egress_only_internet_gateway_id().unwrap_or_default(),
                        ),
                        ec2_pairs(g.tags()),
                    )
                });
                adopt_one(api, cluster, call_id, all)?
            }
            Op::TagResource { resource, tags } => {
                let Ok(id) = resource.resolve(o) else {
                    return Ok(None);
                };
                let out = self
                    .ec2
                    .describe_subnets()
                    .subnet_ids(&id)
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                // Already tagged: nothing to add (adopted, no change made).
                let has = out
                    .subnets()
                    .iter()
                    .find(|s| s.subnet_id() == Some(id.as_str()))
                    .is_some_and(|s| {
                        let have = ec2_pairs(s.tags());
                        tags.iter().all(|t| have.contains(t))
                    });
                has.then(|| one("id", id))
            }
            Op::CreateInstanceProfile { name, .. } => {
                let out = found(
                    self.iam
                        .get_instance_profile()
                        .instance_profile_name(name)
                        .send()
                        .await
                        .map_err(|x| error(api, x)),
                )?;
                out.and_then(|out| {
                    out.instance_profile()
                        .filter(|p| mine(&iam_pairs(p.tags())))
                        .map(|p| {
                            let mut m = one("arn", p.arn());
                            m.insert("name".into(), name.clone());
                            m
                        })
                })
            }
            Op::CreateAutoScalingGroup { name, .. } => self
                .asg(name)
                .await?
                .filter(|g| g.status().is_none())
                .filter(|g| {
                    let t: Vec<(String, String)> = g
                        .tags()
                        .iter()
                        .map(|t| {
                            (
                                t.key().unwrap_or_default().to_string(),
                                t.value().unwrap_or_default().to_string(),
                            )
                        })
                        .collect();
                    mine(&t)
                })
                .map(|_| one("name", name.clone())),
            Op::CreateKey { .. } => {
                // KMS has no tag filter: the walkthrough's keys are listed and their tags read.
                let out = self
                    .kms
                    .list_keys()
                    .send()
                    .await
                    .map_err(|x| error(api, x))?;
                let mut candidates = Vec::new();
                for k in out.keys() {
                    let Some(id) = k.key_id() else { continue };
                    let Ok(tags) = self.kms.list_resource_tags().key_id(id).send().await else {
                        continue;
                    };
                    let t: Vec<(String, String)> = tags
                        .tags()
                        .iter()
                        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
                        .collect();
                    if !mine(&t) {
                        continue;
                    }
                    let Ok(d) = self.kms.describe_key().key_id(id).send().await else {
                        continue;
                    };
                    if d.key_metadata()
                        .and_then(|m| m.key_state())
                        .is_some_and(|s| s.as_str() == "Enabled")
                    {
                        let mut p = one("id", id);
                        p.insert("arn".into(), k.key_arn().unwrap_or_default().to_string());
                        candidates.push((p, t));
                    }
                }
                adopt_one(api, cluster, call_id, candidates)?
            }
            Op::CreateFargateProfile {
                cluster: c, name, ..
            } => {
                let out = found(
                    self.eks
                        .describe_fargate_profile()
                        .cluster_name(c)
                        .fargate_profile_name(name)
                        .send()
                        .await
                        .map_err(|x| error(api, x)),
                )?;
                out.and_then(|out| {
                    out.fargate_profile()
                        .filter(|f| f.status().is_none_or(|s| s.as_str() != "DELETING"))
                        .filter(|f| mine(&eks_pairs(f.tags())))
                        .map(|f| {
                            let mut p = one("arn", f.fargate_profile_arn().unwrap_or_default());
                            p.insert("name".into(), name.clone());
                            p
                        })
                })
            }
            Op::CreateAccessEntry {
                cluster: c,
                principal_arn,
                ..
            } => {
                let Ok(p) = principal_arn.resolve(o) else {
                    return Ok(None);
                };
                let out = found(
                    self.eks
                        .describe_access_entry()
                        .cluster_name(c)
                        .principal_arn(&p)
                        .send()
                        .await
                        .map_err(|x| error(api, x)),
                )?;
                out.and_then(|out| {
                    out.access_entry()
                        .filter(|a| mine(&eks_pairs(a.tags())))
                        .map(|_| one("principal", p.clone()))
                })
            }
            Op::CreatePodIdentityAssociation {
                cluster: c,
                namespace,
                service_account,
                ..
            } => {
                let Some(out) = found(
                    self.eks
                        .list_pod_identity_associations()
                        .cluster_name(c)
                        .namespace(namespace)
                        .service_account(service_account)
                        .send()
                        .await
                        .map_err(|x| error(api, x)),
                )?
                else {
                    return Ok(None);
                };
                let mut candidates = Vec::new();
                for a in out.associations() {
                    // Checked here too: an endpoint may ignore the filters.
                    if a.namespace() != Some(namespace.as_str())
                        || a.service_account() != Some(service_account.as_str())
                    {
                        continue;
                    }
                    let Some(id) = a.association_id() else {
                        continue;
                    };
                    let d = self
                        .eks
                        .describe_pod_identity_association()
                        .cluster_name(c)
                        .association_id(id)
                        .send()
                        .await
                        .map_err(|x| error(api, x))?;
                    candidates.push((
                        one("id", id),
                        eks_pairs(d.association().and_then(|a| a.tags())),
                    ));
                }
                adopt_one(api, cluster, call_id, candidates)?
            }
            Op::AssociateIdentityProvider {
                cluster: c, name, ..
            } => {
                let out = found(
                    self.eks
                        .describe_identity_provider_config()
                        .cluster_name(c)
                        .identity_provider_config(oidc_config(name, api)?)
                        .send()
                        .await
                        .map_err(|x| error(api, x)),
                )?;
                out.and_then(|out| {
                    out.identity_provider_config()
                        .and_then(|i| i.oidc())
                        .filter(|x| mine(&eks_pairs(x.tags())))
                        .map(|_| one("name", name.clone()))
                })
            }
            _ => None,
        })
    }

    pub(super) async fn check_more(&self, wait: &WaitFor) -> Result<Option<Poll>, CloudError> {
        let api = wait.api();
        Ok(Some(match wait {
            WaitFor::AsgInService { name, desired } => match self.asg(name).await? {
                None => Poll::Failed(format!("Auto Scaling group {name} does not exist")),
                Some(g) => {
                    let ready = g
                        .instances()
                        .iter()
                        .filter(|i| {
                            i.lifecycle_state()
                                .is_some_and(|s| s.as_str() == "InService")
                        })
                        .count() as i64;
                    if ready >= *desired {
                        Poll::Done
                    } else {
                        Poll::Pending(format!("{ready}/{desired} InService"))
                    }
                }
            },
            WaitFor::AsgDrained { name } => match self.asg(name).await? {
                None => Poll::Done,
                Some(g) => {
                    let left = g.instances().len();
                    if left == 0 {
                        Poll::Done
                    } else {
                        Poll::Pending(format!("{left} instances terminating"))
                    }
                }
            },
            WaitFor::AsgGone { name } => {
                if self.asg(name).await?.is_some() {
                    Poll::Pending("Delete in progress".into())
                } else {
                    Poll::Done
                }
            }
            WaitFor::FargateActive { cluster, name } | WaitFor::FargateGone { cluster, name } => {
                match self
                    .eks
                    .describe_fargate_profile()
                    .cluster_name(cluster)
                    .fargate_profile_name(name)
                    .send()
                    .await
                {
                    Ok(out) => {
                        let status = out
                            .fargate_profile()
                            .and_then(|f| f.status())
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default();
                        match (wait, status.as_str()) {
                            (WaitFor::FargateActive { .. }, "ACTIVE") => Poll::Done,
                            (
                                WaitFor::FargateActive { .. },
                                "CREATE_FAILED" | "DELETING" | "DELETE_FAILED",
                            ) => Poll::Failed(status),
                            (_, s) => Poll::Pending(if s.is_empty() {
                                "unknown".into()
                            } else {
                                s.to_string()
                            }),
                        }
                    }
                    Err(x) => {
                        let x = error(api, x);
                        if matches!(wait, WaitFor::FargateGone { .. }) && x.is_not_found() {
                            Poll::Done
                        } else {
                            return Err(x);
                        }
                    }
                }
            }
            _ => return Ok(None),
        }))
    }

    pub(super) async fn remove_more(&self, undo: &Undo) -> Result<Option<()>, CloudError> {
        let api = undo.api();
        macro_rules! go {
            ($req:expr) => {
                $req.send().await.map(|_| ()).map_err(|x| error(api, x))
            };
        }
        match undo {
            Undo::RevokeIngress {
                group,
                peer,
                protocol,
                from_port,
                to_port,
            } => go!(self
                .ec2
                .revoke_security_group_ingress()
                .group_id(group)
                .ip_permissions(permission(peer, protocol, *from_port, *to_port, None)))?,
            Undo::DeleteLaunchTemplate { id } => {
                go!(self.ec2.delete_launch_template().launch_template_id(id))?
            }
            Undo::DeleteKeyPair { name } => go!(self.ec2.delete_key_pair().key_name(name))?,
            Undo::DeleteVpcEndpoint { id } => {
                go!(self.ec2.delete_vpc_endpoints().vpc_endpoint_ids(id))?
            }
            Undo::DeleteEgressOnlyInternetGateway { id } => go!(self
                .ec2
                .delete_egress_only_internet_gateway()
                .egress_only_internet_gateway_id(id))?,
            Undo::RemoveRoleFromInstanceProfile { profile, role } => go!(self
                .iam
                .remove_role_from_instance_profile()
                .instance_profile_name(profile)
                .role_name(role))?,
            Undo::DeleteInstanceProfile { name } => go!(self
                .iam
                .delete_instance_profile()
                .instance_profile_name(name))?,
            Undo::DeleteRolePolicy { role, name } => go!(self
                .iam
                .delete_role_policy()
                .role_name(role)
                .policy_name(name))?,
            Undo::DrainAutoScalingGroup { name } => asg_missing(go!(self
                .autoscaling
                .update_auto_scaling_group()
                .auto_scaling_group_name(name)
                .min_size(0)
                .max_size(0)
                .desired_capacity(0)))?,
            Undo::DeleteAutoScalingGroup { name } => asg_missing(go!(self
                .autoscaling
                .delete_auto_scaling_group()
                .auto_scaling_group_name(name)))?,
            Undo::ScheduleKeyDeletion { key_id } => go!(self
                .kms
                .schedule_key_deletion()
                .key_id(key_id)
                .pending_window_in_days(7))?,
            Undo::DeleteFargateProfile { cluster, name } => go!(self
                .eks
                .delete_fargate_profile()
                .cluster_name(cluster)
                .fargate_profile_name(name))?,
            Undo::DeleteAccessEntry {
                cluster,
                principal_arn,
            } => go!(self
                .eks
                .delete_access_entry()
                .cluster_name(cluster)
                .principal_arn(principal_arn))?,
            Undo::DeletePodIdentityAssociation { cluster, id } => go!(self
                .eks
                .delete_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id))?,
            Undo::DisassociateIdentityProvider { cluster, name } => {
                let config = oidc_config(name, api)?;
                go!(self
                    .eks
                    .disassociate_identity_provider_config()
                    .cluster_name(cluster)
                    .identity_provider_config(config))?
            }
            _ => return Ok(None),
        }
        Ok(Some(()))
    }
}

/// Auto Scaling answers a missing group with ValidationError "… not found".
fn asg_missing(r: Result<(), CloudError>) -> Result<(), CloudError> {
    match r {
        Err(e) if e.code == "ValidationError" && e.message.contains("not found") => {
            Err(CloudError {
                code: "NotFound".into(),
                ..e
            })
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_blocks_split_into_64s() {
        assert_eq!(
            nth_64("2600:1f14:abc:de00::/56", 0).unwrap(),
            "2600:1f14:abc:de00::/64"
        );
        assert_eq!(
            nth_64("2600:1f14:abc:de00::/56", 5).unwrap(),
            "2600:1f14:abc:de05::/64"
        );
        assert_eq!(nth_64("2600:1f14:abc:de00::/64", 1), None);
    }
}
