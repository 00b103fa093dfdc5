//! The sandbox's state machines for what self-managed node groups, existing
//! VPCs, Fargate, secrets encryption and access need: security group rules,
//! launch templates, key pairs, VPC endpoints, egress-only gateways, instance
//! profiles and inline policies, Auto Scaling groups (instances launch, go
//! InService, drain), KMS keys (Enabled → PendingDeletion), Fargate profiles
//! (CREATING → ACTIVE → DELETING), access entries, pod identity associations and
//! identity provider configs — each with AWS's error codes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ops::{active_cluster as active, err, r};
use super::world::*;
use tierui_core::cloud::*;

/// Seconds AWS usually takes (at speed 1).
pub mod durations {
    pub const INSTANCE_LAUNCH: u64 = 90;
    pub const INSTANCE_TERMINATE: u64 = 60;
    pub const ASG_DELETE: u64 = 20;
    pub const FARGATE_CREATE: u64 = 120;
    pub const FARGATE_DELETE: u64 = 60;
    /// KMS's shortest deletion wait.
    pub const KEY_PENDING_DAYS: u64 = 7;
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionExtra {
    pub rules: Vec<Rule>,
    pub launch_templates: BTreeMap<String, LaunchTemplate>,
    pub key_pairs: BTreeMap<String, Tags>,
    pub endpoints: BTreeMap<String, Endpoint>,
    pub eigws: BTreeMap<String, (String, Tags)>,
    pub asgs: BTreeMap<String, Asg>,
    pub keys: BTreeMap<String, Key>,
    /// Keyed `cluster/profile`.
    pub fargate: BTreeMap<String, Fargate>,
    /// Keyed `cluster/principal`.
    pub access: BTreeMap<String, AccessEntry>,
    pub pod_identities: BTreeMap<String, PodIdentity>,
    /// Keyed `cluster/name`.
    pub idps: BTreeMap<String, Tags>,
    /// A cluster's authentication mode (CONFIG_MAP when CreateCluster named none).
    pub auth_modes: BTreeMap<String, String>,
    /// A cluster's secrets-encryption key.
    pub encryption: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub group: String,
    pub peer: String,
    pub protocol: String,
    pub from: i32,
    pub to: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchTemplate {
    pub name: String,
    pub image: String,
    pub user_data: String,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub vpc: String,
    pub service: String,
    pub kind: String,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub subnet: String,
    /// InService from then.
    pub ready_at: u64,
    /// Terminated at then.
    pub gone_at: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asg {
    pub launch_template: String,
    pub subnets: Vec<String>,
    pub min: i64,
    pub desired: i64,
    pub max: i64,
    pub instances: Vec<Instance>,
    /// Deleted from then.
    pub gone_at: Option<u64>,
    pub tags: Tags,
}

impl Asg {
    pub fn live(&self, now: u64) -> impl Iterator<Item = &Instance> {
        self.instances
            .iter()
            .filter(move |i| i.gone_at.is_none_or(|g| now < g))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub arn: String,
    /// Enabled, Disabled or PendingDeletion.
    pub state: String,
    pub deletion_date: Option<u64>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fargate {
    pub arn: String,
    pub role_arn: String,
    pub subnets: Vec<String>,
    pub selectors: Vec<(String, Vec<(String, String)>)>,
    pub life: Lifecycle,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessEntry {
    pub kind: String,
    pub groups: Vec<String>,
    pub policies: Vec<(String, String, Vec<String>)>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodIdentity {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IamExtra {
    pub instance_profiles: BTreeMap<String, InstanceProfile>,
    /// `role/policy name` → document.
    pub inline: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceProfile {
    pub arn: String,
    pub roles: Vec<String>,
    pub tags: Tags,
}

fn not_found(api: &str, code: &str, msg: impl Into<String>) -> CloudError {
    CloudError {
        status: Some(404),
        ..err(api, code, msg)
    }
}

fn one(k: &str, v: String) -> Produced {
    Produced::from([(k.to_string(), v)])
}

/// What one call works on.
pub struct Cx<'a> {
    pub w: &'a mut World,
    pub region: &'a str,
    pub now: u64,
    pub api: &'static str,
    pub outputs: &'a Outputs,
    pub after: &'a dyn Fn(u64) -> u64,
}

fn subnet_is_public(reg: &Region, subnet: &str) -> bool {
    reg.route_tables.values().any(|t| {
        t.associations.iter().any(|(_, s)| s == subnet)
            && t.routes
                .iter()
                .any(|(_, target)| target.starts_with("igw-"))
    })
}

pub fn exec(cx: Cx<'_>, op: &Op) -> Result<Produced, CloudError> {
    let Cx {
        w,
        region,
        now,
        api,
        outputs,
        after,
    } = cx;
    let account = w.account.clone();
    match op {
        Op::AuthorizeIngress {
            group,
            peer,
            protocol,
            from_port,
            to_port,
            ..
        } => {
            let group = r(group, outputs, api)?;
            let peer = match peer {
                Peer::Group { id } => r(id, outputs, api)?,
                Peer::Cidr { cidr } => cidr.clone(),
            };
            let reg = w.region(region);
            for g in [&group, &peer] {
                if g.starts_with("sg-") && !reg.security_groups.contains_key(g) {
                    return Err(err(
                        api,
                        "InvalidGroup.NotFound",
                        format!("The security group '{g}' does not exist"),
                    ));
                }
            }
            let rule = Rule {
                group: group.clone(),
                peer,
                protocol: protocol.clone(),
                from: *from_port,
                to: *to_port,
            };
            if reg.extra.rules.contains(&rule) {
                return Err(err(
                    api,
                    "InvalidPermission.Duplicate",
                    "the specified rule already exists",
                ));
            }
            reg.extra.rules.push(rule);
            Ok(one("group", group))
        }
        Op::CreateLaunchTemplate {
            name,
            image,
            bootstrap,
            tags,
            ..
        } => {
            let user_data = tierui_core::walkthrough::bootstrap::user_data(bootstrap, outputs)
                .map_err(|m| err(api, "InvalidParameterValue", m))?;
            let reg = w.region(region);
            if reg.extra.launch_templates.values().any(|t| &t.name == name) {
                return Err(err(
                    api,
                    "InvalidLaunchTemplateName.AlreadyExistsException",
                    format!("Launch template name already in use: {name}"),
                ));
            }
            let id = w.ec2_id("lt");
            w.region(region).extra.launch_templates.insert(
                id.clone(),
                LaunchTemplate {
                    name: name.clone(),
                    image: image.clone(),
                    user_data,
                    tags: tags.clone(),
                },
            );
            Ok(Produced::from([
                ("id".to_string(), id),
                ("version".to_string(), "1".to_string()),
            ]))
        }
        Op::ImportKeyPair {
            name,
            public_key,
            public_key_path,
            tags,
        } => {
            if public_key.is_none() {
                let path = public_key_path.as_deref().unwrap_or("~/.ssh/id_rsa.pub");
                super::super::aws::read_public_key(path)
                    .map_err(|m| err(api, "InvalidKey.Format", m))?;
            }
            let reg = w.region(region);
            if reg.extra.key_pairs.contains_key(name) {
                return Err(err(
                    api,
                    "InvalidKeyPair.Duplicate",
                    format!("The keypair '{name}' already exists."),
                ));
            }
            reg.extra.key_pairs.insert(name.clone(), tags.clone());
            Ok(one("name", name.clone()))
        }
        Op::CreateVpcEndpoint {
            vpc,
            service,
            kind,
            tags,
            ..
        } => {
            let vpc = r(vpc, outputs, api)?;
            if !w.region(region).vpcs.contains_key(&vpc) {
                return Err(err(
                    api,
                    "InvalidVpcId.NotFound",
                    format!("The Vpc Id '{vpc}' does not exist"),
                ));
            }
            if !service.starts_with(&format!("com.amazonaws.{region}.")) {
                return Err(err(
                    api,
                    "InvalidServiceName",
                    format!("The Vpc Endpoint Service '{service}' does not exist"),
                ));
            }
            let id = w.ec2_id("vpce");
            w.region(region).extra.endpoints.insert(
                id.clone(),
                Endpoint {
                    vpc,
                    service: service.clone(),
                    kind: kind.clone(),
                    tags: tags.clone(),
                },
            );
            Ok(one("id", id))
        }
        Op::CreateEgressOnlyInternetGateway { vpc, tags } => {
            let vpc = r(vpc, outputs, api)?;
            if !w.region(region).vpcs.contains_key(&vpc) {
                return Err(err(
                    api,
                    "InvalidVpcID.NotFound",
                    format!("The vpc ID '{vpc}' does not exist"),
                ));
            }
            let id = w.ec2_id("eigw");
            w.region(region)
                .extra
                .eigws
                .insert(id.clone(), (vpc, tags.clone()));
            Ok(one("id", id))
        }
        Op::FindSubnet {
            vpc,
            id,
            cidr,
            az,
            public,
        } => {
            let reg = w.region(region);
            let found: Vec<(&String, &Subnet)> = reg
                .subnets
                .iter()
                .filter(|(sid, s)| {
                    id.as_ref().is_none_or(|i| i == *sid)
                        && cidr.as_ref().is_none_or(|c| c == &s.cidr)
                        && vpc.as_ref().is_none_or(|v| v == &s.vpc)
                })
                .collect();
            let [(sid, s)] = found.as_slice() else {
                let what = id.clone().or(cidr.clone()).unwrap_or_default();
                return Err(not_found(
                    api,
                    "InvalidSubnetID.NotFound",
                    format!(
                        "The subnet '{what}' does not exist{}",
                        vpc.as_deref()
                            .map(|v| format!(" in {v}"))
                            .unwrap_or_default()
                    ),
                ));
            };
            check_subnet(
                api,
                sid,
                s,
                az.as_deref(),
                *public,
                subnet_is_public(reg, sid),
            )?;
            Ok(Produced::from([
                ("id".to_string(), (*sid).clone()),
                ("vpc".to_string(), s.vpc.clone()),
                ("az".to_string(), s.az.clone()),
                ("cidr".to_string(), s.cidr.clone()),
            ]))
        }
        Op::TagResource { resource, tags } => {
            let id = r(resource, outputs, api)?;
            let reg = w.region(region);
            let s = reg.subnets.get_mut(&id).ok_or_else(|| {
                not_found(
                    api,
                    "InvalidSubnetID.NotFound",
                    format!("The subnet ID '{id}' does not exist"),
                )
            })?;
            for (k, v) in tags {
                s.tags.retain(|(tk, _)| tk != k);
                s.tags.push((k.clone(), v.clone()));
            }
            Ok(one("id", id))
        }
        Op::CreateInstanceProfile { name, tags } => {
            if w.iam_extra.instance_profiles.contains_key(name) {
                return Err(err(
                    api,
                    "EntityAlreadyExists",
                    format!("Instance Profile {name} already exists."),
                ));
            }
            let arn = format!("arn:aws:iam::{account}:instance-profile/{name}");
            w.iam_extra.instance_profiles.insert(
                name.clone(),
                InstanceProfile {
                    arn: arn.clone(),
                    roles: Vec::new(),
                    tags: tags.clone(),
                },
            );
            Ok(Produced::from([
                ("arn".to_string(), arn),
                ("name".to_string(), name.clone()),
            ]))
        }
        Op::AddRoleToInstanceProfile { profile, role } => {
            if !w.iam.roles.contains_key(role) {
                return Err(not_found(
                    api,
                    "NoSuchEntity",
                    format!("The role with name {role} cannot be found."),
                ));
            }
            let p = w
                .iam_extra
                .instance_profiles
                .get_mut(profile)
                .ok_or_else(|| {
                    not_found(
                        api,
                        "NoSuchEntity",
                        format!("Instance Profile {profile} cannot be found."),
                    )
                })?;
            if p.roles.contains(role) {
                return Ok(one("profile", profile.clone()));
            }
            if !p.roles.is_empty() {
                return Err(err(
                    api,
                    "LimitExceeded",
                    "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
                ));
            }
            p.roles.push(role.clone());
            Ok(one("profile", profile.clone()))
        }
        Op::PutRolePolicy {
            role,
            name,
            document,
        } => {
            if !w.iam.roles.contains_key(role) {
                return Err(not_found(
                    api,
                    "NoSuchEntity",
                    format!("The role with name {role} cannot be found."),
                ));
            }
            if serde_json::from_str::<serde_json::Value>(document).is_err() {
                return Err(err(
                    api,
                    "MalformedPolicyDocument",
                    "Syntax errors in policy.",
                ));
            }
            w.iam_extra
                .inline
                .insert(format!("{role}/{name}"), document.clone());
            Ok(one("policy", name.clone()))
        }
        Op::CreateAutoScalingGroup {
            name,
            launch_template,
            subnets,
            min_size,
            desired_size,
            max_size,
            tags,
            ..
        } => {
            let lt = r(launch_template, outputs, api)?;
            let subnets: Vec<String> = subnets
                .iter()
                .map(|s| r(s, outputs, api))
                .collect::<Result<_, _>>()?;
            if !(min_size <= desired_size && desired_size <= max_size) {
                return Err(err(
                    api,
                    "ValidationError",
                    format!(
                        "Desired capacity:{desired_size} must be between the specified min size:{min_size} and max size:{max_size}"
                    ),
                ));
            }
            let reg = w.region(region);
            if !reg.extra.launch_templates.contains_key(&lt) {
                return Err(err(
                    api,
                    "ValidationError",
                    format!(
                        "The specified launch template, with template ID {lt}, does not exist."
                    ),
                ));
            }
            if let Some(s) = subnets.iter().find(|s| !reg.subnets.contains_key(*s)) {
                return Err(err(
                    api,
                    "ValidationError",
                    format!("The subnet ID '{s}' does not exist"),
                ));
            }
            if reg
                .extra
                .asgs
                .get(name)
                .is_some_and(|a| a.gone_at.is_none_or(|g| now < g))
            {
                return Err(err(
                    api,
                    "AlreadyExists",
                    format!(
                        "AutoScalingGroup by this name already exists - A group with the name {name} already exists"
                    ),
                ));
            }
            let mut instances = Vec::new();
            for i in 0..*desired_size {
                let id = w.ec2_id("i");
                instances.push(Instance {
                    id,
                    subnet: subnets[i as usize % subnets.len().max(1)].clone(),
                    ready_at: after(durations::INSTANCE_LAUNCH),
                    gone_at: None,
                });
            }
            w.region(region).extra.asgs.insert(
                name.clone(),
                Asg {
                    launch_template: lt,
                    subnets,
                    min: *min_size,
                    desired: *desired_size,
                    max: *max_size,
                    instances,
                    gone_at: None,
                    tags: tags.clone(),
                },
            );
            let arn = format!(
                "arn:aws:autoscaling:{region}:{account}:autoScalingGroup:{}:autoScalingGroupName/{name}",
                uuid_like(w)
            );
            Ok(Produced::from([
                ("name".to_string(), name.clone()),
                ("arn".to_string(), arn),
            ]))
        }
        Op::CreateKey { tags, .. } => {
            let id = uuid_like(w);
            let arn = format!("arn:aws:kms:{region}:{account}:key/{id}");
            w.region(region).extra.keys.insert(
                id.clone(),
                Key {
                    arn: arn.clone(),
                    state: "Enabled".into(),
                    deletion_date: None,
                    tags: tags.clone(),
                },
            );
            Ok(Produced::from([
                ("id".to_string(), id),
                ("arn".to_string(), arn),
            ]))
        }
        Op::DescribeKey { key } => {
            let reg = w.region(region);
            let (id, k) = reg
                .extra
                .keys
                .iter()
                .find(|(id, k)| &k.arn == key || *id == key)
                .ok_or_else(|| {
                    not_found(
                        api,
                        "NotFoundException",
                        format!("Key '{key}' does not exist"),
                    )
                })?;
            if k.state != "Enabled" {
                return Err(err(
                    api,
                    "KMSInvalidStateException",
                    format!("{} is {}", k.arn, k.state.to_lowercase()),
                ));
            }
            Ok(Produced::from([
                ("id".to_string(), id.clone()),
                ("arn".to_string(), k.arn.clone()),
                ("state".to_string(), k.state.clone()),
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
            active(w, region, cluster, now, api)?;
            let role = r(role_arn, outputs, api)?;
            let subnets: Vec<String> = subnets
                .iter()
                .map(|s| r(s, outputs, api))
                .collect::<Result<_, _>>()?;
            if selectors.is_empty() || selectors.len() > 5 {
                return Err(err(
                    api,
                    "InvalidParameterException",
                    "A Fargate profile needs 1 to 5 selectors",
                ));
            }
            let role_name = role.rsplit('/').next().unwrap_or("");
            if !w.iam.roles.contains_key(role_name) && role.contains(&account) {
                return Err(err(
                    api,
                    "InvalidParameterException",
                    format!(
                        "Misconfigured PodExecutionRole Trust Policy; Please add the eks-fargate-pods.amazonaws.com Service Principal ({role})"
                    ),
                ));
            }
            let reg = w.region(region);
            if let Some(s) = subnets.iter().find(|s| subnet_is_public(reg, s)) {
                return Err(err(
                    api,
                    "InvalidParameterException",
                    format!("Subnet {s} provided in Fargate Profile is not a private subnet"),
                ));
            }
            let key = format!("{cluster}/{name}");
            if reg
                .extra
                .fargate
                .get(&key)
                .is_some_and(|f| f.life.phase(now) != Phase::Gone)
            {
                return Err(err(
                    api,
                    "ResourceInUseException",
                    format!(
                        "A Fargate Profile already exists with this name in the cluster: {name}"
                    ),
                ));
            }
            let arn = format!(
                "arn:aws:eks:{region}:{account}:fargateprofile/{cluster}/{name}/{}",
                uuid_like(w)
            );
            let life = Lifecycle {
                ready_at: after(durations::FARGATE_CREATE),
                deleting: None,
            };
            w.region(region).extra.fargate.insert(
                key,
                Fargate {
                    arn: arn.clone(),
                    role_arn: role,
                    subnets,
                    selectors: selectors.clone(),
                    life,
                    tags: tags.clone(),
                },
            );
            Ok(Produced::from([
                ("arn".to_string(), arn),
                ("name".to_string(), name.clone()),
            ]))
        }
        Op::CreateAccessEntry {
            cluster,
            principal_arn,
            kind,
            groups,
            tags,
            ..
        } => {
            active(w, region, cluster, now, api)?;
            let principal = r(principal_arn, outputs, api)?;
            let reg = w.region(region);
            let mode = reg
                .extra
                .auth_modes
                .get(cluster)
                .cloned()
                .unwrap_or_else(|| "CONFIG_MAP".into());
            if mode == "CONFIG_MAP" {
                return Err(err(
                    api,
                    "InvalidRequestException",
                    "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
                ));
            }
            let key = format!("{cluster}/{principal}");
            if reg.extra.access.contains_key(&key) {
                return Err(err(
                    api,
                    "ResourceInUseException",
                    format!(
                        "The specified access entry resource is already in use on this cluster: {principal}"
                    ),
                ));
            }
            let kind = kind.clone().unwrap_or_else(|| "STANDARD".into());
            if kind != "STANDARD" && !groups.is_empty() {
                return Err(err(
                    api,
                    "InvalidParameterException",
                    format!(
                        "kubernetesGroups cannot be specified for an access entry of type {kind}"
                    ),
                ));
            }
            reg.extra.access.insert(
                key,
                AccessEntry {
                    kind,
                    groups: groups.clone(),
                    policies: Vec::new(),
                    tags: tags.clone(),
                },
            );
            Ok(Produced::from([
                ("principal".to_string(), principal.clone()),
                (
                    "arn".to_string(),
                    format!("arn:aws:eks:{region}:{account}:access-entry/{cluster}/{principal}"),
                ),
            ]))
        }
        Op::AssociateAccessPolicy {
            cluster,
            principal_arn,
            policy_arn,
            scope,
            namespaces,
        } => {
            let principal = r(principal_arn, outputs, api)?;
            let reg = w.region(region);
            let e = reg
                .extra
                .access
                .get_mut(&format!("{cluster}/{principal}"))
                .ok_or_else(|| {
                    not_found(
                        api,
                        "ResourceNotFoundException",
                        format!("The specified principalArn could not be found: {principal}"),
                    )
                })?;
            if !policy_arn.starts_with("arn:aws:eks::aws:cluster-access-policy/") {
                return Err(err(
                    api,
                    "InvalidParameterException",
                    format!("The policyArn {policy_arn} is not a cluster access policy"),
                ));
            }
            if scope == "namespace" && namespaces.is_empty() {
                return Err(err(
                    api,
                    "InvalidParameterException",
                    "An access scope of type namespace needs namespaces",
                ));
            }
            e.policies.retain(|(p, _, _)| p != policy_arn);
            e.policies
                .push((policy_arn.clone(), scope.clone(), namespaces.clone()));
            Ok(one("policy", policy_arn.clone()))
        }
        Op::CreatePodIdentityAssociation {
            cluster,
            namespace,
            service_account,
            role_arn,
            tags,
            ..
        } => {
            active(w, region, cluster, now, api)?;
            let role = r(role_arn, outputs, api)?;
            let reg = w.region(region);
            if reg.extra.pod_identities.values().any(|p| {
                &p.cluster == cluster
                    && &p.namespace == namespace
                    && &p.service_account == service_account
            }) {
                return Err(err(
                    api,
                    "ResourceInUseException",
                    format!("Association already exists for {namespace}/{service_account}"),
                ));
            }
            let id = format!("a-{}", w.hex(17).to_lowercase());
            w.region(region).extra.pod_identities.insert(
                id.clone(),
                PodIdentity {
                    cluster: cluster.clone(),
                    namespace: namespace.clone(),
                    service_account: service_account.clone(),
                    role_arn: role,
                    tags: tags.clone(),
                },
            );
            Ok(one("id", id))
        }
        Op::AssociateIdentityProvider {
            cluster,
            name,
            issuer_url,
            tags,
            ..
        } => {
            active(w, region, cluster, now, api)?;
            if !issuer_url.starts_with("https://") {
                return Err(err(
                    api,
                    "InvalidParameterException",
                    "issuerUrl must use https",
                ));
            }
            let reg = w.region(region);
            let key = format!("{cluster}/{name}");
            if reg.extra.idps.contains_key(&key) {
                return Err(err(
                    api,
                    "ResourceInUseException",
                    format!("Identity provider config {name} already exists"),
                ));
            }
            reg.extra.idps.insert(key, tags.clone());
            Ok(one("name", name.clone()))
        }
        _ => Err(CloudError::misrouted(op)),
    }
}

/// The checks eksctl makes on a subnet it is given.
fn check_subnet(
    api: &str,
    id: &str,
    s: &Subnet,
    az: Option<&str>,
    public: bool,
    routes_to_igw: bool,
) -> Result<(), CloudError> {
    if let Some(az) = az
        && az != s.az
    {
        return Err(err(
            api,
            "InvalidParameterValue",
            format!("subnet {id} is in {}, not {az} as the config says", s.az),
        ));
    }
    if public && !routes_to_igw {
        return Err(err(
            api,
            "InvalidParameterValue",
            format!(
                "subnet {id} is listed as public but its route table has no route to an internet gateway"
            ),
        ));
    }
    if !public && routes_to_igw {
        return Err(err(
            api,
            "InvalidParameterValue",
            format!("subnet {id} is listed as private but routes to an internet gateway"),
        ));
    }
    Ok(())
}

fn uuid_like(w: &mut World) -> String {
    let h = w.hex(32).to_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A resource an earlier run of this call created.
pub fn lookup(
    w: &World,
    region: &str,
    op: &Op,
    ours: &dyn Fn(&Tags) -> bool,
    outputs: &Outputs,
    now: u64,
) -> Option<Produced> {
    let reg = w.regions.get(region)?;
    let x = &reg.extra;
    match op {
        Op::CreateLaunchTemplate { .. } => x
            .launch_templates
            .iter()
            .find(|(_, t)| ours(&t.tags))
            .map(|(id, _)| {
                Produced::from([
                    ("id".to_string(), id.clone()),
                    ("version".to_string(), "1".to_string()),
                ])
            }),
        Op::ImportKeyPair { name, .. } => x
            .key_pairs
            .get(name)
            .filter(|t| ours(t))
            .map(|_| one("name", name.clone())),
        Op::CreateVpcEndpoint { .. } => x
            .endpoints
            .iter()
            .find(|(_, e)| ours(&e.tags))
            .map(|(id, _)| one("id", id.clone())),
        Op::CreateEgressOnlyInternetGateway { .. } => x
            .eigws
            .iter()
            .find(|(_, (_, t))| ours(t))
            .map(|(id, _)| one("id", id.clone())),
        Op::CreateInstanceProfile { name, .. } => w
            .iam_extra
            .instance_profiles
            .get(name)
            .filter(|p| ours(&p.tags))
            .map(|p| {
                Produced::from([
                    ("arn".to_string(), p.arn.clone()),
                    ("name".to_string(), name.clone()),
                ])
            }),
        Op::CreateAutoScalingGroup { name, .. } => x
            .asgs
            .get(name)
            .filter(|a| ours(&a.tags) && a.gone_at.is_none_or(|g| now < g))
            .map(|_| one("name", name.clone())),
        Op::CreateKey { .. } => x
            .keys
            .iter()
            .find(|(_, k)| ours(&k.tags) && k.state == "Enabled")
            .map(|(id, k)| {
                Produced::from([
                    ("id".to_string(), id.clone()),
                    ("arn".to_string(), k.arn.clone()),
                ])
            }),
        Op::CreateFargateProfile { cluster, name, .. } => x
            .fargate
            .get(&format!("{cluster}/{name}"))
            .filter(|f| ours(&f.tags) && f.life.phase(now) != Phase::Gone)
            .map(|f| {
                Produced::from([
                    ("arn".to_string(), f.arn.clone()),
                    ("name".to_string(), name.clone()),
                ])
            }),
        Op::CreateAccessEntry {
            cluster,
            principal_arn,
            ..
        } => {
            let p = principal_arn.resolve(outputs).ok()?;
            x.access
                .get(&format!("{cluster}/{p}"))
                .filter(|e| ours(&e.tags))
                .map(|_| one("principal", p.clone()))
        }
        Op::CreatePodIdentityAssociation { .. } => x
            .pod_identities
            .iter()
            .find(|(_, p)| ours(&p.tags))
            .map(|(id, _)| one("id", id.clone())),
        Op::AssociateIdentityProvider { cluster, name, .. } => x
            .idps
            .get(&format!("{cluster}/{name}"))
            .filter(|t| ours(t))
            .map(|_| one("name", name.clone())),
        Op::AuthorizeIngress {
            group,
            peer,
            protocol,
            from_port,
            to_port,
            ..
        } => {
            // A rule has no tags: the same rule on the same group is this call's.
            let group = group.resolve(outputs).ok()?;
            let peer = match peer {
                Peer::Group { id } => id.resolve(outputs).ok()?,
                Peer::Cidr { cidr } => cidr.clone(),
            };
            let rule = Rule {
                group: group.clone(),
                peer,
                protocol: protocol.clone(),
                from: *from_port,
                to: *to_port,
            };
            x.rules.contains(&rule).then(|| one("group", group))
        }
        Op::TagResource { resource, tags } => {
            // Already tagged: nothing to add (adopted, no change made).
            let id = resource.resolve(outputs).ok()?;
            let s = reg.subnets.get(&id)?;
            tags.iter()
                .all(|(k, v)| s.tags.iter().any(|(sk, sv)| sk == k && sv == v))
                .then(|| one("id", id))
        }
        _ => None,
    }
}

pub fn check(w: &World, region: &str, now: u64, wait: &WaitFor) -> Option<Poll> {
    let reg = w.regions.get(region);
    let x = reg.map(|r| &r.extra);
    Some(match wait {
        WaitFor::AsgInService { name, desired } => match x.and_then(|x| x.asgs.get(name)) {
            None => Poll::Failed(format!("Auto Scaling group {name} does not exist")),
            Some(a) => {
                let ready = a.live(now).filter(|i| now >= i.ready_at).count() as i64;
                if ready >= *desired {
                    Poll::Done
                } else {
                    Poll::Pending(format!("{ready}/{desired} InService"))
                }
            }
        },
        WaitFor::AsgDrained { name } => match x.and_then(|x| x.asgs.get(name)) {
            None => Poll::Done,
            Some(a) => {
                let left = a.live(now).count();
                if left == 0 {
                    Poll::Done
                } else {
                    Poll::Pending(format!("{left} instances terminating"))
                }
            }
        },
        WaitFor::AsgGone { name } => match x.and_then(|x| x.asgs.get(name)) {
            Some(a) if a.gone_at.is_none_or(|g| now < g) => {
                Poll::Pending("Delete in progress".into())
            }
            _ => Poll::Done,
        },
        WaitFor::FargateActive { cluster, name } => match x
            .and_then(|x| x.fargate.get(&format!("{cluster}/{name}")))
            .map(|f| f.life.phase(now))
        {
            Some(Phase::Ready) => Poll::Done,
            Some(Phase::Creating) => Poll::Pending("CREATING".into()),
            Some(Phase::Deleting) => Poll::Failed("DELETING".into()),
            _ => Poll::Failed(format!("No Fargate Profile found with name: {name}.")),
        },
        WaitFor::FargateGone { cluster, name } => match x
            .and_then(|x| x.fargate.get(&format!("{cluster}/{name}")))
            .map(|f| f.life.phase(now))
        {
            None | Some(Phase::Gone) => Poll::Done,
            _ => Poll::Pending("DELETING".into()),
        },
        _ => return None,
    })
}

pub fn remove(
    w: &mut World,
    region: &str,
    now: u64,
    after: &dyn Fn(u64) -> u64,
    undo: &Undo,
) -> Option<Result<(), CloudError>> {
    if !is_extra_undo(undo) {
        return None;
    }
    let api = undo.api();
    let day_ms = 86_400_000;
    Some((|| match undo {
        Undo::RevokeIngress {
            group,
            peer,
            protocol,
            from_port,
            to_port,
        } => {
            let reg = w.region(region);
            let rule = Rule {
                group: group.clone(),
                peer: peer.clone(),
                protocol: protocol.clone(),
                from: *from_port,
                to: *to_port,
            };
            let before = reg.extra.rules.len();
            reg.extra.rules.retain(|r| r != &rule);
            if before == reg.extra.rules.len() {
                return Err(not_found(
                    api,
                    "InvalidPermission.NotFound",
                    "The specified rule does not exist in this security group.",
                ));
            }
            Ok(())
        }
        Undo::DeleteLaunchTemplate { id } => w
            .region(region)
            .extra
            .launch_templates
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| {
                not_found(
                    api,
                    "InvalidLaunchTemplateId.NotFound",
                    format!(
                        "The specified launch template, with template ID {id}, does not exist."
                    ),
                )
            }),
        Undo::DeleteKeyPair { name } => {
            w.region(region).extra.key_pairs.remove(name);
            Ok(())
        }
        Undo::DeleteVpcEndpoint { id } => w
            .region(region)
            .extra
            .endpoints
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| {
                not_found(
                    api,
                    "InvalidVpcEndpointId.NotFound",
                    format!("The VpcEndpoint Id '{id}' does not exist"),
                )
            }),
        Undo::DeleteEgressOnlyInternetGateway { id } => {
            let reg = w.region(region);
            if reg
                .route_tables
                .values()
                .any(|t| t.routes.iter().any(|(_, g)| g == id))
            {
                return Err(err(
                    api,
                    "DependencyViolation",
                    format!(
                        "The egressOnlyInternetGateway '{id}' has dependencies and cannot be deleted."
                    ),
                ));
            }
            reg.extra.eigws.remove(id).map(|_| ()).ok_or_else(|| {
                not_found(
                    api,
                    "InvalidGatewayID.NotFound",
                    format!("The eigw ID '{id}' does not exist"),
                )
            })
        }
        Undo::RemoveRoleFromInstanceProfile { profile, role } => {
            let p = w
                .iam_extra
                .instance_profiles
                .get_mut(profile)
                .ok_or_else(|| {
                    not_found(
                        api,
                        "NoSuchEntity",
                        format!("Instance Profile {profile} cannot be found."),
                    )
                })?;
            p.roles.retain(|r| r != role);
            Ok(())
        }
        Undo::DeleteInstanceProfile { name } => {
            let p = w.iam_extra.instance_profiles.get(name).ok_or_else(|| {
                not_found(
                    api,
                    "NoSuchEntity",
                    format!("Instance Profile {name} cannot be found."),
                )
            })?;
            if !p.roles.is_empty() {
                return Err(err(
                    api,
                    "DeleteConflict",
                    "Cannot delete entity, must remove roles from instance profile first.",
                ));
            }
            w.iam_extra.instance_profiles.remove(name);
            Ok(())
        }
        Undo::DeleteRolePolicy { role, name } => w
            .iam_extra
            .inline
            .remove(&format!("{role}/{name}"))
            .map(|_| ())
            .ok_or_else(|| {
                not_found(
                    api,
                    "NoSuchEntity",
                    format!("The role policy with name {name} cannot be found."),
                )
            }),
        Undo::DrainAutoScalingGroup { name } => {
            let gone = after(durations::INSTANCE_TERMINATE);
            let a = w.region(region).extra.asgs.get_mut(name).ok_or_else(|| {
                err(
                    api,
                    "ValidationError",
                    format!("AutoScalingGroup name not found - AutoScalingGroup {name} not found"),
                )
            })?;
            a.min = 0;
            a.desired = 0;
            a.max = 0;
            for i in a.instances.iter_mut().filter(|i| i.gone_at.is_none()) {
                i.gone_at = Some(gone.max(now));
            }
            Ok(())
        }
        Undo::DeleteAutoScalingGroup { name } => {
            let gone = after(durations::ASG_DELETE);
            let a = w.region(region).extra.asgs.get_mut(name).ok_or_else(|| {
                err(
                    api,
                    "ValidationError",
                    format!("AutoScalingGroup name not found - AutoScalingGroup {name} not found"),
                )
            })?;
            if a.live(now).count() > 0 {
                return Err(err(
                    api,
                    "ResourceInUse",
                    "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.",
                ));
            }
            a.gone_at = Some(gone);
            Ok(())
        }
        Undo::ScheduleKeyDeletion { key_id } => {
            let k = w.region(region).extra.keys.get_mut(key_id).ok_or_else(|| {
                not_found(
                    api,
                    "NotFoundException",
                    format!("Key '{key_id}' does not exist"),
                )
            })?;
            if k.state == "PendingDeletion" {
                return Err(err(
                    api,
                    "KMSInvalidStateException",
                    format!("{} is pending deletion.", k.arn),
                ));
            }
            k.state = "PendingDeletion".into();
            k.deletion_date = Some(now + durations::KEY_PENDING_DAYS * day_ms);
            Ok(())
        }
        Undo::DeleteFargateProfile { cluster, name } => {
            let gone = after(durations::FARGATE_DELETE);
            let f = w
                .region(region)
                .extra
                .fargate
                .get_mut(&format!("{cluster}/{name}"))
                .filter(|f| f.life.phase(now) != Phase::Gone)
                .ok_or_else(|| {
                    not_found(
                        api,
                        "ResourceNotFoundException",
                        format!("No Fargate Profile found with name: {name}."),
                    )
                })?;
            if f.life.deleting.is_none() {
                f.life.deleting = Some((now, gone));
            }
            Ok(())
        }
        Undo::DeleteAccessEntry {
            cluster,
            principal_arn,
        } => w
            .region(region)
            .extra
            .access
            .remove(&format!("{cluster}/{principal_arn}"))
            .map(|_| ())
            .ok_or_else(|| {
                not_found(
                    api,
                    "ResourceNotFoundException",
                    format!("The specified principalArn could not be found: {principal_arn}"),
                )
            }),
        Undo::DeletePodIdentityAssociation { id, .. } => w
            .region(region)
            .extra
            .pod_identities
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| {
                not_found(
                    api,
                    "ResourceNotFoundException",
                    format!("Association {id} not found"),
                )
            }),
        Undo::DisassociateIdentityProvider { cluster, name } => w
            .region(region)
            .extra
            .idps
            .remove(&format!("{cluster}/{name}"))
            .map(|_| ())
            .ok_or_else(|| {
                not_found(
                    api,
                    "ResourceNotFoundException",
                    format!("Identity provider config {name} not found"),
                )
            }),
        _ => unreachable!("only the extra undos reach here"),
    })())
}

fn is_extra_undo(u: &Undo) -> bool {
    matches!(
        u,
        Undo::RevokeIngress { .. }
            | Undo::DeleteLaunchTemplate { .. }
            | Undo::DeleteKeyPair { .. }
            | Undo::DeleteVpcEndpoint { .. }
            | Undo::DeleteEgressOnlyInternetGateway { .. }
            | Undo::RemoveRoleFromInstanceProfile { .. }
            | Undo::DeleteInstanceProfile { .. }
            | Undo::DeleteRolePolicy { .. }
            | Undo::DrainAutoScalingGroup { .. }
            | Undo::DeleteAutoScalingGroup { .. }
            | Undo::ScheduleKeyDeletion { .. }
            | Undo::DeleteFargateProfile { .. }
            | Undo::DeleteAccessEntry { .. }
            | Undo::DeletePodIdentityAssociation { .. }
            | Undo::DisassociateIdentityProvider { .. }
    )
}

/// Why IAM refuses to delete a role: instance profiles or inline policies left.
pub fn role_conflict(w: &World, role: &str, api: &str) -> Result<(), CloudError> {
    if w.iam_extra
        .instance_profiles
        .values()
        .any(|p| p.roles.iter().any(|r| r == role))
    {
        return Err(err(
            api,
            "DeleteConflict",
            "Cannot delete entity, must remove roles from instance profile first.",
        ));
    }
    if w.iam_extra
        .inline
        .keys()
        .any(|k| k.split_once('/').is_some_and(|(r, _)| r == role))
    {
        return Err(err(
            api,
            "DeleteConflict",
            "Cannot delete entity, must delete policies first.",
        ));
    }
    Ok(())
}

/// Why EC2 refuses to delete a security group another group's rule refers to.
pub fn group_conflict(reg: &Region, id: &str, api: &str) -> Result<(), CloudError> {
    if reg
        .extra
        .rules
        .iter()
        .any(|r| r.peer == id && r.group != id)
    {
        return Err(err(
            api,
            "DependencyViolation",
            "resource has a dependent object",
        ));
    }
    Ok(())
}
