//! The sandbox cloud's operations: what AWS would do for each call, with AWS's
//! error codes and messages.

use super::SandboxCloud;
use super::world::*;
use tierui_core::cloud::*;

pub(super) fn err(api: &str, code: &str, msg: impl Into<String>) -> CloudError {
    let mut e = CloudError::new(api, code, msg);
    e.status = Some(400);
    e
}

fn produced(pairs: &[(&str, String)]) -> Produced {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub(super) fn r(v: &Val, outputs: &Outputs, api: &str) -> Result<String, CloudError> {
    v.resolve(outputs)
        .map_err(|m| err(api, "InvalidParameterValue", m))
}

fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (addr, len) = cidr.split_once('/')?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let octets: Vec<u32> = addr
        .split('.')
        .map(|o| o.parse().ok().filter(|v: &u32| *v <= 255))
        .collect::<Option<_>>()?;
    if octets.len() != 4 {
        return None;
    }
    let base = octets.iter().fold(0u32, |a, o| (a << 8) | o);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((base & mask, len))
}

fn contains(outer: (u32, u32), inner: (u32, u32)) -> bool {
    inner.1 >= outer.1
        && (inner.0
            & (if outer.1 == 0 {
                0
            } else {
                u32::MAX << (32 - outer.1)
            }))
            == outer.0
}

fn overlaps(a: (u32, u32), b: (u32, u32)) -> bool {
    contains(a, b) || contains(b, a)
}

pub const SUPPORTED_VERSIONS: &[&str] = &["1.29", "1.30", "1.31", "1.32", "1.33", "1.34"];
pub const DEFAULT_VERSION: &str = "1.33";

/// The zones of a sandbox region: a, b and c.
pub fn zones(region: &str) -> Vec<String> {
    // us-east-1 has six zones; the sandbox gives every other region three.
    let letters: &[&str] = if region == "us-east-1" {
        &["a", "b", "c", "d", "e", "f"]
    } else {
        &["a", "b", "c"]
    };
    letters.iter().map(|z| format!("{region}{z}")).collect()
}

/// A Local Zone of the region (`us-west-2-lax-1a`): the sandbox account has
/// every zone group opted in.
pub fn is_local_zone(region: &str, az: &str) -> bool {
    az.strip_prefix(region)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(city, n)| {
            city.chars().all(|c| c.is_ascii_lowercase())
                && n.len() >= 2
                && n[..n.len() - 1].chars().all(|c| c.is_ascii_digit())
                && n.ends_with(|c: char| c.is_ascii_lowercase())
        })
}

fn is_aws_managed(arn: &str) -> bool {
    arn.starts_with("arn:aws:iam::aws:policy/")
}

/// What one sandbox call works on: the world (locked), the region, the time,
/// the call's API name and the outputs of earlier calls.
struct Exec<'a> {
    w: &'a mut World,
    region: &'a str,
    now: u64,
    api: &'static str,
    outputs: &'a Outputs,
    /// Wall-clock ms when something taking `secs` of AWS time is done.
    after: &'a dyn Fn(u64) -> u64,
}

/// EC2: the VPC, its attributes, subnets and security group.
fn exec_vpc(cx: Exec<'_>, op: &Op) -> Result<Produced, CloudError> {
    match op {
        Op::CreateVpc { cidr, tags, .. } => create_vpc(cx, cidr, tags),
        Op::ModifyVpcAttribute { vpc, attribute } => modify_vpc_attribute(cx, vpc, attribute),
        Op::CreateSubnet {
            vpc,
            cidr,
            az,
            tags,
            ..
        } => create_subnet(cx, vpc, cidr, az, tags),
        Op::MapPublicIpOnLaunch { subnet } => map_public_ip_on_launch(cx, subnet),
        Op::CreateSecurityGroup {
            vpc,
            name,
            description,
            tags,
        } => create_security_group(cx, vpc, name, description, tags),
        _ => Err(CloudError::misrouted(op)),
    }
}

/// EC2 CreateVpc: a /16 to /28 block, at most five VPCs a region (AWS's default quota).
fn create_vpc(cx: Exec<'_>, cidr: &str, tags: &Tags) -> Result<Produced, CloudError> {
    let Exec { w, region, api, .. } = cx;
    if parse_cidr(cidr).is_none_or(|(_, l)| !(16..=28).contains(&l)) {
        return Err(err(
            api,
            "InvalidParameterValue",
            format!(
                "Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
            ),
        ));
    }
    if w.region(region).vpcs.len() >= 5 {
        return Err(err(
            api,
            "VpcLimitExceeded",
            "The maximum number of VPCs has been reached.",
        ));
    }
    let id = w.ec2_id("vpc");
    w.region(region).vpcs.insert(
        id.clone(),
        Vpc {
            cidr: cidr.to_string(),
            dns_support: true,
            dns_hostnames: false,
            tags: tags.clone(),
        },
    );
    Ok(produced(&[("id", id)]))
}

/// EC2 ModifyVpcAttribute: turns on DNS support or DNS hostnames (EKS needs both).
fn modify_vpc_attribute(
    cx: Exec<'_>,
    vpc: &Val,
    attribute: &VpcAttribute,
) -> Result<Produced, CloudError> {
    let Exec {
        w,
        region,
        api,
        outputs,
        ..
    } = cx;
    let id = r(vpc, outputs, api)?;
    let v = w.region(region).vpcs.get_mut(&id).ok_or_else(|| {
        err(
            api,
            "InvalidVpcID.NotFound",
            format!("The vpc ID '{id}' does not exist"),
        )
    })?;
    match attribute {
        VpcAttribute::EnableDnsSupport => v.dns_support = true,
        VpcAttribute::EnableDnsHostnames => v.dns_hostnames = true,
    }
    Ok(produced(&[("vpc", id)]))
}

/// EC2 CreateSubnet: in one of the region's zones, inside the VPC's block and
/// overlapping none of its other subnets.
fn create_subnet(
    cx: Exec<'_>,
    vpc: &Val,
    cidr: &str,
    az: &str,
    tags: &Tags,
) -> Result<Produced, CloudError> {
    let Exec {
        w,
        region,
        api,
        outputs,
        ..
    } = cx;
    let vpc_id = r(vpc, outputs, api)?;
    let reg = w.region(region);
    let v = reg.vpcs.get(&vpc_id).ok_or_else(|| {
        err(
            api,
            "InvalidVpcID.NotFound",
            format!("The vpc ID '{vpc_id}' does not exist"),
        )
    })?;
    if !zones(region).iter().any(|z| z == az) && !is_local_zone(region, az) {
        return Err(err(
            api,
            "InvalidParameterValue",
            format!(
                "Value ({az}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.",
                zones(region).join(", ")
            ),
        ));
    }
    let (Some(outer), Some(inner)) = (parse_cidr(&v.cidr), parse_cidr(cidr)) else {
        return Err(err(
            api,
            "InvalidParameterValue",
            format!(
                "Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
            ),
        ));
    };
    if !contains(outer, inner) {
        return Err(err(
            api,
            "InvalidSubnet.Range",
            format!("The CIDR '{cidr}' is invalid."),
        ));
    }
    if reg
        .subnets
        .values()
        .any(|s| s.vpc == vpc_id && parse_cidr(&s.cidr).is_some_and(|c| overlaps(c, inner)))
    {
        return Err(err(
            api,
            "InvalidSubnet.Conflict",
            format!("The CIDR '{cidr}' conflicts with another subnet"),
        ));
    }
    let id = w.ec2_id("subnet");
    w.region(region).subnets.insert(
        id.clone(),
        Subnet {
            vpc: vpc_id,
            cidr: cidr.to_string(),
            az: az.to_string(),
            map_public_ip: false,
            tags: tags.clone(),
        },
    );
    Ok(produced(&[("id", id), ("az", az.to_string())]))
}

/// EC2 ModifySubnetAttribute MapPublicIpOnLaunch: what makes a subnet public
/// for the nodes and load balancers launched in it.
fn map_public_ip_on_launch(cx: Exec<'_>, subnet: &Val) -> Result<Produced, CloudError> {
    let Exec {
        w,
        region,
        api,
        outputs,
        ..
    } = cx;
    let id = r(subnet, outputs, api)?;
    let s = w.region(region).subnets.get_mut(&id).ok_or_else(|| {
        err(
            api,
            "InvalidSubnetID.NotFound",
            format!("The subnet ID '{id}' does not exist"),
        )
    })?;
    s.map_public_ip = true;
    Ok(produced(&[("subnet", id)]))
}

/// EC2 CreateSecurityGroup: group names are unique within a VPC.
fn create_security_group(
    cx: Exec<'_>,
    vpc: &Val,
    name: &str,
    description: &str,
    tags: &Tags,
) -> Result<Produced, CloudError> {
    let Exec {
        w,
        region,
        api,
        outputs,
        ..
    } = cx;
    let vpc = r(vpc, outputs, api)?;
    let reg = w.region(region);
    if reg
        .security_groups
        .values()
        .any(|g| g.vpc == vpc && g.name == name)
    {
        return Err(err(
            api,
            "InvalidGroup.Duplicate",
            format!("The security group '{name}' already exists for VPC '{vpc}'"),
        ));
    }
    let id = w.ec2_id("sg");
    w.region(region).security_groups.insert(
        id.clone(),
        SecurityGroup {
            vpc,
            name: name.to_string(),
            description: description.to_string(),
            tags: tags.clone(),
        },
    );
    Ok(produced(&[("id", id)]))
}

/// EC2: gateways, addresses, route tables and routes.
fn exec_routing(cx: Exec<'_>, op: &Op) -> Result<Produced, CloudError> {
    match op {
        Op::CreateInternetGateway { tags } => create_internet_gateway(cx, tags),
        Op::AttachInternetGateway { igw, vpc } => attach_internet_gateway(cx, igw, vpc),
        Op::AllocateAddress { tags } => allocate_address(cx, tags),
        Op::CreateNatGateway {
            subnet,
            allocation,
            tags,
        } => create_nat_gateway(cx, subnet, allocation, tags),
        Op::CreateRouteTable { vpc, tags } => create_route_table(cx, vpc, tags),
        Op::CreateRoute {
            table,
            destination,
            target,
        } => create_route(cx, table, destination, target),
        Op::AssociateRouteTable { table, subnet } => associate_route_table(cx, table, subnet),
        _ => Err(CloudError::misrouted(op)),
    }
}

/// EC2 CreateInternetGateway: created detached; AttachInternetGateway joins it to a VPC.
fn create_internet_gateway(cx: Exec<'_>, tags: &Tags) -> Result<Produced, CloudError> {
    let Exec { w, region, .. } = cx;
    let id = w.ec2_id("igw");
    w.region(region).igws.insert(
        id.clone(),
        InternetGateway {
            vpc: None,
            tags: tags.clone(),
        },
    );
    Ok(produced(&[("id", id)]))
}

/// EC2 AttachInternetGateway: a gateway serves one VPC at a time.
fn attach_internet_gateway(cx: Exec<'_>, igw: &Val, vpc: &Val) -> Result<Produced, CloudError> {
    let Exec {
        w,
        region,
        api,
        outputs,
        ..
    } = cx;
    let (igw, vpc) = (r(igw, outputs, api)?, r(vpc, outputs, api)?);
    let reg = w.region(region);
    if !reg.vpcs.contains_key(&vpc) {
        return Err(err(
            api,
            "InvalidVpcID.NotFound",
            format!("The vpc ID '{vpc}' does not exist"),
        ));
    }
    let g = reg.igws.get_mut(&igw).ok_or_else(|| {
        err(
            api,
            "InvalidInternetGatewayID.NotFound",
            format!("The internetGateway ID '{igw}' does not exist"),
        )
    })?;
    if let Some(existing) = &g.vpc {
        return Err(err(
            api,
            "Resource.AlreadyAssociated",
            format!("resource {igw} is already attached to network {existing}"),
        ));
    }
    g.vpc = Some(vpc.clone());
    Ok(produced(&[("igw", igw), ("vpc", vpc)]))
}

/// EC2 AllocateAddress: an Elastic IP, drawn from the world's seed so runs repeat.
fn allocate_address(cx: Exec<'_>, tags: &Tags) -> Result<Produced, CloudError> {
    let Exec { w, region, .. } = cx;
    let id = w.ec2_id("eipalloc");
    let d = w.draw();
    let ip = format!("52.{}.{}.{}", (d >> 16) & 255, (d >> 8) & 255, d & 255);
    w.region(region).eips.insert(
        id.clone(),
        Address {
            public_ip: ip.clone(),
            nat: None,
            tags: tags.clone(),
        },
    );
    Ok(produced(&[("allocation", id), ("public_ip", ip)]))
}

/// EC2 CreateNatGateway: in a subnet, on an Elastic IP no other NAT gateway
/// holds; it is pending until its creation time has passed.
fn create_nat_gateway(
    cx: Exec<'_>,
    subnet: &Val,
    allocation: &Val,
    tags: &Tags,
) -> Result<Produced, CloudError> {
    let Exec {
        w,
        region,
        api,
        outputs,
        after: speed_after,
        ..
    } = cx;
    let (subnet, allocation) = (r(subnet, outputs, api)?, r(allocation, outputs, api)?);
    let reg = w.region(region);
    let vpc = reg
        .subnets
        .get(&subnet)
        .map(|s| s.vpc.clone())
        .ok_or_else(|| {
            err(
                api,
                "InvalidSubnetID.NotFound",
                format!("The subnet ID '{subnet}' does not exist"),
            )
        })?;
    let eip = reg.eips.get(&allocation).ok_or_else(|| {
        err(
            api,
            "InvalidAllocationID.NotFound",
            format!("The allocation ID '{allocation}' does not exist"),
        )
    })?;
    if eip.nat.is_some() {
        return Err(err(
            api,
            "Resource.AlreadyAssociated",
            format!("Elastic IP address [{allocation}] is already associated"),
        ));
    }
    let id = w.ec2_id("nat");
    let reg = w.region(region);
    if let Some(e) = reg.eips.get_mut(&allocation) {
        e.nat = Some(id.clone());
    }
    reg.nats.insert(
        id.clone(),
        NatGateway {
            vpc,
            subnet,
            allocation,
            life: Lifecycle {
                ready_at: speed_after(durations::NAT_CREATE),
                deleting: None,
            },
            tags: tags.clone(),
        },
    );
    Ok(produced(&[("id", id)]))
}

/// EC2 CreateRouteTable: an empty table in a VPC; routes and associations follow.
fn create_route_table(cx: Exec<'_>, vpc: &Val, tags: &Tags) -> Result<Produced, CloudError> {
    let Exec {
        w,
        region,
        api,
        outputs,
        ..
    } = cx;
    let vpc = r(vpc, outputs, api)?;
    if !w.region(region).vpcs.contains_key(&vpc) {
        return Err(err(
            api,
            "InvalidVpcID.NotFound",
            format!("The vpc ID '{vpc}' does not exist"),
        ));
    }
    let id = w.ec2_id("rtb");
    w.region(region).route_tables.insert(
        id.clone(),
        RouteTable {
            vpc,
            routes: vec![],
            associations: vec![],
            tags: tags.clone(),
        },
    );
    Ok(produced(&[("id", id)]))
}

/// EC2 CreateRoute: one route per destination, to an internet or NAT gateway.
fn create_route(
    cx: Exec<'_>,
    table: &Val,
    destination: &str,
    target: &RouteTarget,
) -> Result<Produced, CloudError> {
    let Exec {
        w,
        region,
        api,
        outputs,
        ..
    } = cx;
    let table = r(table, outputs, api)?;
    let target_id = match target {
        RouteTarget::InternetGateway { id }
        | RouteTarget::NatGateway { id }
        | RouteTarget::EgressOnlyInternetGateway { id } => r(id, outputs, api)?,
    };
    let reg = w.region(region);
    if target_id.starts_with("nat-") && !reg.nats.contains_key(&target_id) {
        return Err(err(
            api,
            "InvalidNatGatewayID.NotFound",
            format!("The natGateway ID '{target_id}' does not exist"),
        ));
    }
    let rt = reg.route_tables.get_mut(&table).ok_or_else(|| {
        err(
            api,
            "InvalidRouteTableID.NotFound",
            format!("The routeTable ID '{table}' does not exist"),
        )
    })?;
    if rt.routes.iter().any(|(d, _)| d == destination) {
        return Err(err(
            api,
            "RouteAlreadyExists",
            format!("The route identified by {destination} already exists."),
        ));
    }
    rt.routes.push((destination.to_string(), target_id.clone()));
    Ok(produced(&[("table", table), ("target", target_id)]))
}

/// EC2 AssociateRouteTable: a subnet follows one route table at a time.
fn associate_route_table(cx: Exec<'_>, table: &Val, subnet: &Val) -> Result<Produced, CloudError> {
    let Exec {
        w,
        region,
        api,
        outputs,
        ..
    } = cx;
    let (table, subnet) = (r(table, outputs, api)?, r(subnet, outputs, api)?);
    if !w.region(region).subnets.contains_key(&subnet) {
        return Err(err(
            api,
            "InvalidSubnetID.NotFound",
            format!("The subnet ID '{subnet}' does not exist"),
        ));
    }
    let assoc = w.ec2_id("rtbassoc");
    let reg = w.region(region);
    if reg
        .route_tables
        .values()
        .any(|t| t.associations.iter().any(|(_, s)| s == &subnet))
    {
        return Err(err(
            api,
            "Resource.AlreadyAssociated",
            format!(
                "the specified association for route table {table} conflicts with an existing association"
            ),
        ));
    }
    let rt = reg.route_tables.get_mut(&table).ok_or_else(|| {
        err(
            api,
            "InvalidRouteTableID.NotFound",
            format!("The routeTable ID '{table}' does not exist"),
        )
    })?;
    rt.associations.push((assoc.clone(), subnet));
    Ok(produced(&[("association", assoc)]))
}

/// IAM: roles, policies and the OIDC provider.
fn exec_iam(cx: Exec<'_>, op: &Op) -> Result<Produced, CloudError> {
    let Exec {
        w, api, outputs, ..
    } = cx;
    let account = w.account.clone();
    match op {
        Op::CreateRole {
            name, trust, tags, ..
        } => {
            if w.iam.roles.contains_key(name) {
                return Err(err(
                    api,
                    "EntityAlreadyExists",
                    format!("Role with name {name} already exists."),
                ));
            }
            let trust = trust
                .document(outputs)
                .map_err(|m| err(api, "InvalidParameterValue", m))?;
            let arn = format!("arn:aws:iam::{account}:role/{name}");
            w.iam.roles.insert(
                name.clone(),
                Role {
                    arn: arn.clone(),
                    trust,
                    attached: vec![],
                    tags: tags.clone(),
                },
            );
            Ok(produced(&[("arn", arn), ("name", name.clone())]))
        }
        Op::AttachRolePolicy { role, policy_arn } => {
            let arn = r(policy_arn, outputs, api)?;
            if !is_aws_managed(&arn) && !w.iam.policies.contains_key(&arn) {
                return Err(err(
                    api,
                    "NoSuchEntity",
                    format!("Policy {arn} does not exist or is not attachable."),
                ));
            }
            let role_rec = w.iam.roles.get_mut(role).ok_or_else(|| {
                err(
                    api,
                    "NoSuchEntity",
                    format!("The role with name {role} cannot be found."),
                )
            })?;
            if !role_rec.attached.contains(&arn) {
                role_rec.attached.push(arn.clone());
            }
            Ok(produced(&[("role", role.clone()), ("policy", arn)]))
        }
        Op::CreatePolicy {
            name,
            document,
            tags,
        } => {
            let arn = format!("arn:aws:iam::{account}:policy/{name}");
            if w.iam.policies.contains_key(&arn) {
                return Err(err(
                    api,
                    "EntityAlreadyExists",
                    format!(
                        "A policy called {name} already exists. Duplicate names are not allowed."
                    ),
                ));
            }
            if serde_json::from_str::<serde_json::Value>(document).is_err() {
                return Err(err(
                    api,
                    "MalformedPolicyDocument",
                    "Syntax errors in policy.",
                ));
            }
            w.iam.policies.insert(
                arn.clone(),
                Policy {
                    name: name.clone(),
                    document: document.clone(),
                    tags: tags.clone(),
                },
            );
            Ok(produced(&[("arn", arn)]))
        }
        Op::CreateOidcProvider {
            issuer,
            client_ids,
            thumbprint,
            tags,
        } => {
            let url = r(issuer, outputs, api)?;
            let host = url.trim_start_matches("https://").to_string();
            let arn = format!("arn:aws:iam::{account}:oidc-provider/{host}");
            if w.iam.oidc.contains_key(&arn) {
                return Err(err(
                    api,
                    "EntityAlreadyExists",
                    format!("Provider with url {url} already exists."),
                ));
            }
            w.iam.oidc.insert(
                arn.clone(),
                OidcProvider {
                    url,
                    client_ids: client_ids.clone(),
                    thumbprints: vec![thumbprint.clone()],
                    tags: tags.clone(),
                },
            );
            Ok(produced(&[("arn", arn)]))
        }
        _ => Err(CloudError::misrouted(op)),
    }
}

/// EKS: the cluster, its add-ons and node groups.
fn exec_eks(cx: Exec<'_>, op: &Op) -> Result<Produced, CloudError> {
    match op {
        Op::CreateCluster { .. } => create_cluster(cx, op),
        Op::CreateAddon {
            cluster,
            name,
            version,
            role_arn,
            tags,
            ..
        } => create_addon(
            cx,
            cluster,
            name,
            version.as_deref(),
            role_arn.as_ref(),
            tags,
        ),
        Op::CreateNodegroup { .. } => create_nodegroup(cx, op),
        _ => Err(CloudError::misrouted(op)),
    }
}

/// EKS's answer to creating what already exists (and is not yet gone).
fn resource_in_use(api: &str, msg: impl Into<String>) -> CloudError {
    CloudError {
        status: Some(409),
        ..err(api, "ResourceInUseException", msg)
    }
}

/// EKS CreateCluster: checks the name, version, role and subnets as EKS does,
/// then the cluster is CREATING until its creation time has passed.
fn create_cluster(cx: Exec<'_>, op: &Op) -> Result<Produced, CloudError> {
    let Op::CreateCluster {
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
    } = op
    else {
        return Err(CloudError::misrouted(op));
    };
    let Exec {
        w,
        region,
        now,
        api,
        outputs,
        after: speed_after,
    } = cx;
    let account = w.account.clone();
    let role_arn = r(role_arn, outputs, api)?;
    // Secrets encryption needs an Enabled KMS key of this region.
    if let Some(key) = &extras.encryption_key {
        let key = r(key, outputs, api)?;
        let state = w
            .region(region)
            .extra
            .keys
            .values()
            .find(|k| k.arn == key)
            .map(|k| k.state.clone());
        match state.as_deref() {
            Some("Enabled") => {}
            Some(s) => {
                return Err(err(
                    api,
                    "InvalidParameterException",
                    format!("KMS key {key} is in state {s}; it must be Enabled"),
                ));
            }
            None => {
                return Err(err(
                    api,
                    "InvalidParameterException",
                    format!("KMS key {key} does not exist or is not accessible"),
                ));
            }
        }
        w.region(region)
            .extra
            .encryption
            .insert(name.clone(), key.clone());
    }
    w.region(region).extra.auth_modes.insert(
        name.clone(),
        extras
            .authentication_mode
            .clone()
            .unwrap_or_else(|| "CONFIG_MAP".into()),
    );
    let subnets: Vec<String> = subnets
        .iter()
        .map(|s| r(s, outputs, api))
        .collect::<Result<_, _>>()?;
    let sgs: Vec<String> = security_groups
        .iter()
        .map(|s| r(s, outputs, api))
        .collect::<Result<_, _>>()?;
    if w.region(region)
        .clusters
        .get(name)
        .is_some_and(|c| c.life.phase(now) != Phase::Gone)
    {
        return Err(resource_in_use(
            api,
            format!("Cluster already exists with name: {name}"),
        ));
    }
    let version = version.clone().unwrap_or_else(|| DEFAULT_VERSION.into());
    if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
        return Err(err(
            api,
            "InvalidParameterException",
            format!("unsupported Kubernetes version {version}"),
        ));
    }
    if !w.iam.roles.values().any(|r| r.arn == role_arn) {
        return Err(err(
            api,
            "InvalidParameterException",
            format!(
                "Role with arn: {role_arn}, could not be assumed because it does not exist or the trusted entity is not correct"
            ),
        ));
    }
    let vpc = cluster_vpc(w.region(region), &subnets, api)?;
    let id_hex = w.hex(32);
    let issuer_hex = w.hex(32);
    let arn = format!("arn:aws:eks:{region}:{account}:cluster/{name}");
    let cluster = Cluster {
        arn: arn.clone(),
        version,
        platform_version: "eks.9".into(),
        role_arn,
        subnets,
        security_groups: sgs,
        vpc,
        public_access: *public_access,
        private_access: *private_access,
        public_access_cidrs: if public_access_cidrs.is_empty() {
            vec!["0.0.0.0/0".into()]
        } else {
            public_access_cidrs.clone()
        },
        logging: logging.clone(),
        endpoint: format!("https://{id_hex}.gr7.{region}.eks.amazonaws.com"),
        certificate: SANDBOX_CERTIFICATE.into(),
        issuer: format!("https://oidc.eks.{region}.amazonaws.com/id/{issuer_hex}"),
        created_at: now,
        life: Lifecycle {
            ready_at: speed_after(durations::CLUSTER_CREATE),
            deleting: None,
        },
        tags: tags.clone(),
    };
    let out = cluster_outputs(name, &cluster);
    w.region(region).clusters.insert(name.clone(), cluster);
    Ok(out)
}

/// The certificate authority data of a sandbox cluster: a placeholder PEM, base64.
const SANDBOX_CERTIFICATE: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCnNhbmRib3gtY2VydGlmaWNhdGUKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";

/// The VPC of a cluster's subnets, which EKS wants spread over at least two zones.
fn cluster_vpc(reg: &Region, subnets: &[String], api: &str) -> Result<String, CloudError> {
    let mut azs: Vec<&str> = Vec::new();
    let mut vpc = String::new();
    for s in subnets {
        let sub = reg.subnets.get(s).ok_or_else(|| {
            err(
                api,
                "InvalidParameterException",
                format!("The subnet ID '{s}' does not exist"),
            )
        })?;
        if !azs.contains(&sub.az.as_str()) {
            azs.push(&sub.az);
        }
        vpc = sub.vpc.clone();
    }
    if azs.len() < 2 {
        return Err(err(
            api,
            "InvalidParameterException",
            "Subnets specified must be in at least two different AZs",
        ));
    }
    Ok(vpc)
}

/// EKS CreateAddon: on an ACTIVE cluster, at the add-on's default version
/// unless one is asked for.
fn create_addon(
    cx: Exec<'_>,
    cluster: &str,
    name: &str,
    version: Option<&str>,
    role_arn: Option<&Val>,
    tags: &Tags,
) -> Result<Produced, CloudError> {
    let Exec {
        w,
        region,
        now,
        api,
        outputs,
        after: speed_after,
    } = cx;
    let role = role_arn.map(|v| r(v, outputs, api)).transpose()?;
    active_cluster(w, region, cluster, now, api)?;
    let key = format!("{cluster}/{name}");
    if w.region(region)
        .addons
        .get(&key)
        .is_some_and(|a| a.life.phase(now) != Phase::Gone)
    {
        return Err(resource_in_use(
            api,
            format!("Addon already exists with name: {name}"),
        ));
    }
    let version = version
        .unwrap_or_else(|| default_addon_version(name))
        .to_string();
    w.region(region).addons.insert(
        key,
        Addon {
            version: version.clone(),
            role_arn: role,
            life: Lifecycle {
                ready_at: speed_after(durations::ADDON_CREATE),
                deleting: None,
            },
            tags: tags.clone(),
        },
    );
    Ok(produced(&[
        ("name", name.to_string()),
        ("version", version),
    ]))
}

/// EKS CreateNodegroup: on an ACTIVE cluster, with min ≤ desired ≤ max and
/// at least one node allowed.
fn create_nodegroup(cx: Exec<'_>, op: &Op) -> Result<Produced, CloudError> {
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
        tags,
        ..
    } = op
    else {
        return Err(CloudError::misrouted(op));
    };
    let Exec {
        w,
        region,
        now,
        api,
        outputs,
        after: speed_after,
    } = cx;
    let account = w.account.clone();
    let role_arn = r(role_arn, outputs, api)?;
    let subnets: Vec<String> = subnets
        .iter()
        .map(|s| r(s, outputs, api))
        .collect::<Result<_, _>>()?;
    active_cluster(w, region, cluster, now, api)?;
    if !(min_size <= desired_size && desired_size <= max_size) || *max_size < 1 {
        return Err(err(
            api,
            "InvalidParameterException",
            format!(
                "Desired capacity:{desired_size} can't be greater than max size:{max_size} or less than min size:{min_size}"
            ),
        ));
    }
    let key = format!("{cluster}/{name}");
    if w.region(region)
        .nodegroups
        .get(&key)
        .is_some_and(|n| n.life.phase(now) != Phase::Gone)
    {
        return Err(resource_in_use(
            api,
            format!("NodeGroup already exists with name {name} and cluster name {cluster}"),
        ));
    }
    let uuid = w.hex(32).to_lowercase();
    let arn = format!(
        "arn:aws:eks:{region}:{account}:nodegroup/{cluster}/{name}/{}",
        &uuid[..8]
    );
    w.region(region).nodegroups.insert(
        key,
        Nodegroup {
            arn: arn.clone(),
            role_arn,
            subnets,
            instance_types: instance_types.clone(),
            min_size: *min_size,
            desired_size: *desired_size,
            max_size: *max_size,
            disk_size: disk_size.unwrap_or(20),
            capacity_type: capacity_type.clone(),
            ami_type: "AL2023_x86_64_STANDARD".into(),
            labels: labels.clone(),
            life: Lifecycle {
                ready_at: speed_after(durations::NODEGROUP_CREATE),
                deleting: None,
            },
            tags: tags.clone(),
        },
    );
    Ok(produced(&[("arn", arn), ("name", name.clone())]))
}

impl SandboxCloud {
    fn exec(&self, call_id: &str, op: &Op, outputs: &Outputs) -> Result<Produced, CloudError> {
        let api = op.api();
        let speed_after = |secs: u64| self.after(secs);
        let _ = call_id; // ids are drawn from the seed; the call id only matters for tags
        self.with(api, true, |w, region, now| {
            let cx = Exec {
                w,
                region,
                now,
                api,
                outputs,
                after: &speed_after,
            };
            match op {
                Op::CreateVpc { .. }
                | Op::ModifyVpcAttribute { .. }
                | Op::CreateSubnet { .. }
                | Op::MapPublicIpOnLaunch { .. }
                | Op::CreateSecurityGroup { .. } => exec_vpc(cx, op),
                Op::CreateInternetGateway { .. }
                | Op::AttachInternetGateway { .. }
                | Op::AllocateAddress { .. }
                | Op::CreateNatGateway { .. }
                | Op::CreateRouteTable { .. }
                | Op::CreateRoute { .. }
                | Op::AssociateRouteTable { .. } => exec_routing(cx, op),
                Op::CreateRole { .. }
                | Op::AttachRolePolicy { .. }
                | Op::CreatePolicy { .. }
                | Op::CreateOidcProvider { .. } => exec_iam(cx, op),
                Op::CreateCluster { .. } | Op::CreateAddon { .. } | Op::CreateNodegroup { .. } => {
                    exec_eks(cx, op)
                }
                Op::WriteKubeconfig { .. }
                | Op::CreateServiceAccount { .. }
                | Op::MapIdentity { .. }
                | Op::Manual { .. } => Err(err(api, "InvalidAction", "not a cloud operation")),
                _ => super::extra::exec(
                    super::extra::Cx {
                        w: cx.w,
                        region: cx.region,
                        now: cx.now,
                        api,
                        outputs,
                        after: &speed_after,
                    },
                    op,
                ),
            }
        })
    }

    fn lookup(
        &self,
        cluster: &str,
        call_id: &str,
        op: &Op,
        outputs: &Outputs,
    ) -> Result<Option<Produced>, CloudError> {
        let api = op.api();
        self.with(api, false, |w, region, now| {
            let ours = |tags: &Tags| {
                has_tag(tags, TAG_CLUSTER, cluster) && has_tag(tags, TAG_STEP, call_id)
            };
            let reg = w.regions.get(region).cloned().unwrap_or_default();
            Ok(match op {
                Op::CreateVpc { .. } | Op::CreateSubnet { .. } | Op::CreateSecurityGroup { .. } => {
                    lookup_in_vpc(&reg, op, ours)
                }
                Op::CreateInternetGateway { .. }
                | Op::AttachInternetGateway { .. }
                | Op::AllocateAddress { .. }
                | Op::CreateNatGateway { .. } => lookup_gateway(&reg, op, ours, outputs),
                Op::CreateRouteTable { .. }
                | Op::CreateRoute { .. }
                | Op::AssociateRouteTable { .. } => lookup_in_route_tables(&reg, op, ours, outputs),
                Op::CreateRole { .. } | Op::CreatePolicy { .. } | Op::CreateOidcProvider { .. } => {
                    lookup_in_iam(&w.iam, op, cluster, outputs)
                }
                Op::CreateCluster { .. } | Op::CreateAddon { .. } | Op::CreateNodegroup { .. } => {
                    lookup_in_eks(&reg, op, cluster, now)
                }
                // Idempotent calls are simply made again.
                Op::ModifyVpcAttribute { .. }
                | Op::MapPublicIpOnLaunch { .. }
                | Op::AttachRolePolicy { .. } => None,
                Op::WriteKubeconfig { .. }
                | Op::CreateServiceAccount { .. }
                | Op::MapIdentity { .. }
                | Op::Manual { .. } => None,
                _ => super::extra::lookup(w, region, op, &ours, outputs, now),
            })
        })
    }

    fn check(&self, wait: &WaitFor) -> Result<Poll, CloudError> {
        let api = wait.api();
        self.with(api, false, |w, region, now| {
            if let Some(p) = super::extra::check(w, region, now, wait) {
                return Ok(p);
            }
            let reg = w.region(region);
            let phase = |life: Option<&Lifecycle>| life.map_or(Phase::Gone, |l| l.phase(now));
            Ok(match wait {
                WaitFor::NatAvailable { id } => match phase(reg.nats.get(id).map(|n| &n.life)) {
                    Phase::Ready => Poll::Done,
                    Phase::Creating => Poll::Pending("pending".into()),
                    _ => Poll::Failed(format!("NAT gateway {id} is deleted")),
                },
                WaitFor::NatDeleted { id } => match phase(reg.nats.get(id).map(|n| &n.life)) {
                    Phase::Gone => Poll::Done,
                    _ => Poll::Pending("deleting".into()),
                },
                WaitFor::ClusterActive { name } => {
                    match phase(reg.clusters.get(name).map(|c| &c.life)) {
                        Phase::Ready => Poll::Done,
                        Phase::Creating => Poll::Pending("CREATING".into()),
                        Phase::Deleting => Poll::Failed("DELETING".into()),
                        Phase::Gone => {
                            return Err(CloudError {
                                status: Some(404),
                                ..err(
                                    api,
                                    "ResourceNotFoundException",
                                    format!("No cluster found for name: {name}."),
                                )
                            });
                        }
                    }
                }
                WaitFor::ClusterGone { name } => {
                    match phase(reg.clusters.get(name).map(|c| &c.life)) {
                        Phase::Gone => Poll::Done,
                        _ => Poll::Pending("DELETING".into()),
                    }
                }
                WaitFor::AddonActive { cluster, name } => match phase(
                    reg.addons
                        .get(&format!("{cluster}/{name}"))
                        .map(|a| &a.life),
                ) {
                    Phase::Ready => Poll::Done,
                    Phase::Creating => Poll::Pending("CREATING".into()),
                    _ => Poll::Failed("DELETING".into()),
                },
                WaitFor::AddonGone { cluster, name } => match phase(
                    reg.addons
                        .get(&format!("{cluster}/{name}"))
                        .map(|a| &a.life),
                ) {
                    Phase::Gone => Poll::Done,
                    _ => Poll::Pending("DELETING".into()),
                },
                WaitFor::NodegroupActive { cluster, name } => match phase(
                    reg.nodegroups
                        .get(&format!("{cluster}/{name}"))
                        .map(|n| &n.life),
                ) {
                    Phase::Ready => Poll::Done,
                    Phase::Creating => Poll::Pending("CREATING".into()),
                    _ => Poll::Failed("DELETING".into()),
                },
                WaitFor::NodegroupGone { cluster, name } => match phase(
                    reg.nodegroups
                        .get(&format!("{cluster}/{name}"))
                        .map(|n| &n.life),
                ) {
                    Phase::Gone => Poll::Done,
                    _ => Poll::Pending("DELETING".into()),
                },
                _ => Poll::Failed(format!("{} is not answered here", wait.api())),
            })
        })
    }

    fn remove(&self, undo: &Undo) -> Result<(), CloudError> {
        let api = undo.api();
        let deleting = |secs: u64| (self.clock.now_ms(), self.after(secs));
        let after = |secs: u64| self.after(secs);
        self.with(api, true, |w, region, now| {
            if let Some(done) = super::extra::remove(w, region, now, &after, undo) {
                return done;
            }
            if let Undo::DeleteRole { name } = undo {
                super::extra::role_conflict(w, name, api)?;
            }
            if let Undo::DeleteSecurityGroup { id } = undo {
                super::extra::group_conflict(w.region(region), id, api)?;
                w.region(region).extra.rules.retain(|r| &r.group != id);
            }
            w.regions.entry(region.to_string()).or_default();
            let reg = w
                .regions
                .get_mut(region)
                .ok_or_else(|| err(api, "InternalError", "region"))?;
            let iam = &mut w.iam;
            match undo {
                Undo::DeleteNodegroup { cluster, name } => {
                    delete_nodegroup(reg, cluster, name, now, api, &deleting)
                }
                Undo::DeleteAddon { cluster, name } => {
                    delete_addon(reg, cluster, name, now, api, &deleting)
                }
                Undo::DeleteCluster { name } => delete_cluster(reg, name, now, api, &deleting),
                Undo::DeleteOidcProvider { arn } => delete_open_id_connect_provider(iam, arn, api),
                Undo::DetachRolePolicy { role, policy_arn } => {
                    detach_role_policy(iam, role, policy_arn, api)
                }
                Undo::DeleteRole { name } => delete_role(iam, name, api),
                Undo::DeletePolicy { arn } => delete_policy(iam, arn, api),
                Undo::DisassociateRouteTable { association } => {
                    disassociate_route_table(reg, association, api)
                }
                Undo::DeleteRouteTable { id } => delete_route_table(reg, id, api),
                Undo::DeleteNatGateway { id } => delete_nat_gateway(reg, id, now, api, &deleting),
                Undo::ReleaseAddress { allocation } => release_address(reg, allocation, now, api),
                Undo::DetachInternetGateway { igw, vpc } => {
                    detach_internet_gateway(reg, igw, vpc, now, api)
                }
                Undo::DeleteInternetGateway { id } => delete_internet_gateway(reg, id, api),
                Undo::DeleteSubnet { id } => delete_subnet(reg, id, now, api),
                Undo::DeleteSecurityGroup { id } => delete_security_group(reg, id, now, api),
                Undo::DeleteVpc { id } => delete_vpc(reg, id, api),
                Undo::RemoveKubeconfig { .. }
                | Undo::DeleteServiceAccount { .. }
                | Undo::UnmapIdentity { .. } => {
                    Err(err(api, "InvalidAction", "not a cloud operation"))
                }
                _ => Err(err(api, "InvalidAction", "handled above")),
            }
        })
    }
}

/// A VPC, subnet or security group made earlier by this step: found by the
/// cluster and step tags the walkthrough puts on everything it creates.
fn lookup_in_vpc(reg: &Region, op: &Op, ours: impl Fn(&Tags) -> bool) -> Option<Produced> {
    match op {
        Op::CreateVpc { .. } => reg
            .vpcs
            .iter()
            .find(|(_, v)| ours(&v.tags))
            .map(|(id, _)| produced(&[("id", id.clone())])),
        Op::CreateSubnet { az, .. } => reg
            .subnets
            .iter()
            .find(|(_, s)| ours(&s.tags))
            .map(|(id, _)| produced(&[("id", id.clone()), ("az", az.clone())])),
        Op::CreateSecurityGroup { .. } => reg
            .security_groups
            .iter()
            .find(|(_, g)| ours(&g.tags))
            .map(|(id, _)| produced(&[("id", id.clone())])),
        _ => None,
    }
}

/// An internet gateway, its attachment, an Elastic IP or a NAT gateway made
/// earlier: by tags, except the attachment, which has none and is found by
/// the gateway's VPC; a deleting NAT gateway is not adopted.
fn lookup_gateway(
    reg: &Region,
    op: &Op,
    ours: impl Fn(&Tags) -> bool,
    outputs: &Outputs,
) -> Option<Produced> {
    match op {
        Op::CreateInternetGateway { .. } => reg
            .igws
            .iter()
            .find(|(_, g)| ours(&g.tags))
            .map(|(id, _)| produced(&[("id", id.clone())])),
        Op::AttachInternetGateway { igw, vpc } => {
            let (Ok(igw), Ok(vpc)) = (igw.resolve(outputs), vpc.resolve(outputs)) else {
                return None;
            };
            reg.igws
                .get(&igw)
                .filter(|g| g.vpc.as_deref() == Some(vpc.as_str()))
                .map(|_| produced(&[("igw", igw), ("vpc", vpc)]))
        }
        Op::AllocateAddress { .. } => {
            reg.eips.iter().find(|(_, e)| ours(&e.tags)).map(|(id, e)| {
                produced(&[
                    ("allocation", id.clone()),
                    ("public_ip", e.public_ip.clone()),
                ])
            })
        }
        Op::CreateNatGateway { .. } => reg
            .nats
            .iter()
            .find(|(_, n)| ours(&n.tags) && n.life.deleting.is_none())
            .map(|(id, _)| produced(&[("id", id.clone())])),
        _ => None,
    }
}

/// A route table made earlier (by tags), or a route or association already in
/// it: those have no tags, so they are found by destination or subnet.
fn lookup_in_route_tables(
    reg: &Region,
    op: &Op,
    ours: impl Fn(&Tags) -> bool,
    outputs: &Outputs,
) -> Option<Produced> {
    match op {
        Op::CreateRouteTable { .. } => reg
            .route_tables
            .iter()
            .find(|(_, t)| ours(&t.tags))
            .map(|(id, _)| produced(&[("id", id.clone())])),
        Op::CreateRoute {
            table, destination, ..
        } => {
            let table = table.resolve(outputs).ok()?;
            reg.route_tables
                .get(&table)
                .and_then(|t| t.routes.iter().find(|(d, _)| d == destination))
                .map(|(_, target)| {
                    produced(&[("table", table.clone()), ("target", target.clone())])
                })
        }
        Op::AssociateRouteTable { table, subnet } => {
            let (Ok(table), Ok(subnet)) = (table.resolve(outputs), subnet.resolve(outputs)) else {
                return None;
            };
            reg.route_tables
                .get(&table)
                .and_then(|t| t.associations.iter().find(|(_, s)| *s == subnet))
                .map(|(a, _)| produced(&[("association", a.clone())]))
        }
        _ => None,
    }
}

/// An IAM role or policy of this cluster (IAM names are account-wide, so the
/// cluster tag alone decides), or the OIDC provider of the cluster's issuer URL.
fn lookup_in_iam(iam: &Iam, op: &Op, cluster: &str, outputs: &Outputs) -> Option<Produced> {
    match op {
        Op::CreateRole { name, .. } => iam
            .roles
            .get(name)
            .filter(|r| has_tag(&r.tags, TAG_CLUSTER, cluster))
            .map(|r| produced(&[("arn", r.arn.clone()), ("name", name.clone())])),
        Op::CreatePolicy { name, .. } => iam
            .policies
            .iter()
            .find(|(_, p)| &p.name == name && has_tag(&p.tags, TAG_CLUSTER, cluster))
            .map(|(arn, _)| produced(&[("arn", arn.clone())])),
        Op::CreateOidcProvider { issuer, .. } => {
            let url = issuer.resolve(outputs).ok()?;
            iam.oidc
                .iter()
                .find(|(_, p)| p.url == url)
                .map(|(arn, _)| produced(&[("arn", arn.clone())]))
        }
        _ => None,
    }
}

/// An EKS cluster (by name and cluster tag), add-on or node group (by
/// cluster and name) that exists and is not gone.
fn lookup_in_eks(reg: &Region, op: &Op, cluster: &str, now: u64) -> Option<Produced> {
    match op {
        Op::CreateCluster { name, .. } => reg
            .clusters
            .get(name)
            .filter(|c| c.life.phase(now) != Phase::Gone && has_tag(&c.tags, TAG_CLUSTER, cluster))
            .map(|c| cluster_outputs(name, c)),
        Op::CreateAddon {
            cluster: cl, name, ..
        } => reg
            .addons
            .get(&format!("{cl}/{name}"))
            .filter(|a| a.life.phase(now) != Phase::Gone)
            .map(|a| produced(&[("name", name.clone()), ("version", a.version.clone())])),
        Op::CreateNodegroup {
            cluster: cl, name, ..
        } => reg
            .nodegroups
            .get(&format!("{cl}/{name}"))
            .filter(|n| n.life.phase(now) != Phase::Gone)
            .map(|n| produced(&[("arn", n.arn.clone()), ("name", name.clone())])),
        _ => None,
    }
}

/// When a deletion started and when it is done: (now, now + its AWS duration).
type Deleting<'a> = &'a dyn Fn(u64) -> (u64, u64);

/// EKS's 404 for a cluster, add-on or node group that does not exist (or is gone).
fn eks_not_found(api: &str, what: &str, name: &str) -> CloudError {
    CloudError {
        status: Some(404),
        ..err(
            api,
            "ResourceNotFoundException",
            format!("No {what} found for name: {name}."),
        )
    }
}

/// EKS DeleteNodegroup: the node group is DELETING until its deletion time
/// has passed; asking again while it deletes changes nothing.
fn delete_nodegroup(
    reg: &mut Region,
    cluster: &str,
    name: &str,
    now: u64,
    api: &str,
    deleting: Deleting<'_>,
) -> Result<(), CloudError> {
    let ng = reg
        .nodegroups
        .get_mut(&format!("{cluster}/{name}"))
        .filter(|n| n.life.phase(now) != Phase::Gone)
        .ok_or_else(|| eks_not_found(api, "node group", name))?;
    if ng.life.deleting.is_none() {
        ng.life.deleting = Some(deleting(durations::NODEGROUP_DELETE));
    }
    Ok(())
}

/// EKS DeleteAddon: the add-on is DELETING until its deletion time has passed.
fn delete_addon(
    reg: &mut Region,
    cluster: &str,
    name: &str,
    now: u64,
    api: &str,
    deleting: Deleting<'_>,
) -> Result<(), CloudError> {
    let a = reg
        .addons
        .get_mut(&format!("{cluster}/{name}"))
        .filter(|a| a.life.phase(now) != Phase::Gone)
        .ok_or_else(|| eks_not_found(api, "addon", name))?;
    if a.life.deleting.is_none() {
        a.life.deleting = Some(deleting(durations::ADDON_DELETE));
    }
    Ok(())
}

/// EKS DeleteCluster: refused while node groups remain; the cluster's add-ons
/// go with it at once.
fn delete_cluster(
    reg: &mut Region,
    name: &str,
    now: u64,
    api: &str,
    deleting: Deleting<'_>,
) -> Result<(), CloudError> {
    if reg
        .nodegroups
        .iter()
        .any(|(k, n)| k.starts_with(&format!("{name}/")) && n.life.phase(now) != Phase::Gone)
    {
        return Err(resource_in_use(api, "Cluster has nodegroups attached"));
    }
    let c = reg
        .clusters
        .get_mut(name)
        .filter(|c| c.life.phase(now) != Phase::Gone)
        .ok_or_else(|| eks_not_found(api, "cluster", name))?;
    if c.life.deleting.is_none() {
        c.life.deleting = Some(deleting(durations::CLUSTER_DELETE));
    }
    // Addons go with the cluster.
    for (k, a) in reg.addons.iter_mut() {
        if k.starts_with(&format!("{name}/")) && a.life.deleting.is_none() {
            a.life.deleting = Some((now, now));
        }
    }
    Ok(())
}

/// IAM DeleteOpenIDConnectProvider.
fn delete_open_id_connect_provider(iam: &mut Iam, arn: &str, api: &str) -> Result<(), CloudError> {
    iam.oidc.remove(arn).ok_or_else(|| {
        err(
            api,
            "NoSuchEntity",
            format!("OpenIDConnect Provider not found for arn {arn}"),
        )
    })?;
    Ok(())
}

/// IAM DetachRolePolicy: detaching a policy that is not attached is an error.
fn detach_role_policy(
    iam: &mut Iam,
    role: &str,
    policy_arn: &str,
    api: &str,
) -> Result<(), CloudError> {
    let r = iam.roles.get_mut(role).ok_or_else(|| {
        err(
            api,
            "NoSuchEntity",
            format!("The role with name {role} cannot be found."),
        )
    })?;
    let before = r.attached.len();
    r.attached.retain(|a| a != policy_arn);
    if r.attached.len() == before {
        return Err(err(
            api,
            "NoSuchEntity",
            format!("Policy {policy_arn} was not found."),
        ));
    }
    Ok(())
}

/// IAM DeleteRole: only once every policy is detached.
fn delete_role(iam: &mut Iam, name: &str, api: &str) -> Result<(), CloudError> {
    let r = iam.roles.get(name).ok_or_else(|| {
        err(
            api,
            "NoSuchEntity",
            format!("The role with name {name} cannot be found."),
        )
    })?;
    if !r.attached.is_empty() {
        return Err(CloudError {
            status: Some(409),
            ..err(
                api,
                "DeleteConflict",
                "Cannot delete entity, must detach all policies first.",
            )
        });
    }
    iam.roles.remove(name);
    Ok(())
}

/// IAM DeletePolicy: only once no role has it attached.
fn delete_policy(iam: &mut Iam, arn: &str, api: &str) -> Result<(), CloudError> {
    if iam
        .roles
        .values()
        .any(|r| r.attached.iter().any(|a| a == arn))
    {
        return Err(CloudError {
            status: Some(409),
            ..err(
                api,
                "DeleteConflict",
                "Cannot delete a policy attached to entities.",
            )
        });
    }
    iam.policies
        .remove(arn)
        .ok_or_else(|| err(api, "NoSuchEntity", format!("Policy {arn} was not found.")))?;
    Ok(())
}

/// EC2 DisassociateRouteTable: by association ID, whichever table holds it.
fn disassociate_route_table(
    reg: &mut Region,
    association: &str,
    api: &str,
) -> Result<(), CloudError> {
    let found = reg
        .route_tables
        .values_mut()
        .find(|t| t.associations.iter().any(|(a, _)| a == association))
        .ok_or_else(|| {
            err(
                api,
                "InvalidAssociationID.NotFound",
                format!("The association ID '{association}' does not exist"),
            )
        })?;
    found.associations.retain(|(a, _)| a != association);
    Ok(())
}

/// EC2 DeleteRouteTable: only once no subnet is associated with it.
fn delete_route_table(reg: &mut Region, id: &str, api: &str) -> Result<(), CloudError> {
    let t = reg.route_tables.get(id).ok_or_else(|| {
        err(
            api,
            "InvalidRouteTableID.NotFound",
            format!("The routeTable ID '{id}' does not exist"),
        )
    })?;
    if !t.associations.is_empty() {
        return Err(err(
            api,
            "DependencyViolation",
            format!("The routeTable '{id}' has dependencies and cannot be deleted."),
        ));
    }
    reg.route_tables.remove(id);
    Ok(())
}

/// EC2 DeleteNatGateway: the gateway is deleting until its deletion time has
/// passed, and keeps its Elastic IP until then.
fn delete_nat_gateway(
    reg: &mut Region,
    id: &str,
    now: u64,
    api: &str,
    deleting: Deleting<'_>,
) -> Result<(), CloudError> {
    let n = reg
        .nats
        .get_mut(id)
        .filter(|n| n.life.phase(now) != Phase::Gone)
        .ok_or_else(|| {
            err(
                api,
                "NatGatewayNotFound",
                format!("NAT gateway {id} was not found"),
            )
        })?;
    if n.life.deleting.is_none() {
        n.life.deleting = Some(deleting(durations::NAT_DELETE));
    }
    Ok(())
}

/// EC2 ReleaseAddress: refused while a NAT gateway that is not gone holds the address.
fn release_address(
    reg: &mut Region,
    allocation: &str,
    now: u64,
    api: &str,
) -> Result<(), CloudError> {
    let e = reg.eips.get(allocation).ok_or_else(|| {
        err(
            api,
            "InvalidAllocationID.NotFound",
            format!("The allocation ID '{allocation}' does not exist"),
        )
    })?;
    if let Some(nat) = &e.nat
        && reg
            .nats
            .get(nat)
            .is_some_and(|n| n.life.phase(now) != Phase::Gone)
    {
        return Err(err(
            api,
            "InvalidIPAddress.InUse",
            format!("Address {} is in use by {nat}.", e.public_ip),
        ));
    }
    reg.eips.remove(allocation);
    Ok(())
}

/// EC2 DetachInternetGateway: refused while a NAT gateway in the VPC still
/// maps a public address through it.
fn detach_internet_gateway(
    reg: &mut Region,
    igw: &str,
    vpc: &str,
    now: u64,
    api: &str,
) -> Result<(), CloudError> {
    let g = reg.igws.get_mut(igw).ok_or_else(|| {
        err(
            api,
            "InvalidInternetGatewayID.NotFound",
            format!("The internetGateway ID '{igw}' does not exist"),
        )
    })?;
    if g.vpc.as_deref() != Some(vpc) {
        return Err(err(
            api,
            "Gateway.NotAttached",
            format!("resource {igw} is not attached to network {vpc}"),
        ));
    }
    if reg.eips.values().any(|e| {
        e.nat.as_ref().is_some_and(|n| {
            reg.nats
                .get(n)
                .is_some_and(|n| n.vpc == vpc && n.life.phase(now) != Phase::Gone)
        })
    }) {
        return Err(err(
            api,
            "DependencyViolation",
            format!(
                "Network {vpc} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway."
            ),
        ));
    }
    if let Some(g) = reg.igws.get_mut(igw) {
        g.vpc = None;
    }
    Ok(())
}

/// EC2 DeleteInternetGateway: only once it is detached.
fn delete_internet_gateway(reg: &mut Region, id: &str, api: &str) -> Result<(), CloudError> {
    let g = reg.igws.get(id).ok_or_else(|| {
        err(
            api,
            "InvalidInternetGatewayID.NotFound",
            format!("The internetGateway ID '{id}' does not exist"),
        )
    })?;
    if g.vpc.is_some() {
        return Err(err(
            api,
            "DependencyViolation",
            format!("The internetGateway '{id}' has dependencies and cannot be deleted."),
        ));
    }
    reg.igws.remove(id);
    Ok(())
}

/// EC2 DeleteSubnet: refused while a NAT gateway, cluster or node group that
/// is not gone uses it.
fn delete_subnet(reg: &mut Region, id: &str, now: u64, api: &str) -> Result<(), CloudError> {
    if !reg.subnets.contains_key(id) {
        return Err(err(
            api,
            "InvalidSubnetID.NotFound",
            format!("The subnet ID '{id}' does not exist"),
        ));
    }
    let live = |life: &Lifecycle| life.phase(now) != Phase::Gone;
    let in_use = reg.nats.values().any(|n| n.subnet == id && live(&n.life))
        || reg
            .clusters
            .values()
            .any(|c| c.subnets.iter().any(|s| s == id) && live(&c.life))
        || reg
            .nodegroups
            .values()
            .any(|n| n.subnets.iter().any(|s| s == id) && live(&n.life));
    if in_use {
        return Err(err(
            api,
            "DependencyViolation",
            format!("The subnet '{id}' has dependencies and cannot be deleted."),
        ));
    }
    reg.subnets.remove(id);
    Ok(())
}

/// EC2 DeleteSecurityGroup: refused while a cluster that is not gone uses it.
fn delete_security_group(
    reg: &mut Region,
    id: &str,
    now: u64,
    api: &str,
) -> Result<(), CloudError> {
    if !reg.security_groups.contains_key(id) {
        return Err(err(
            api,
            "InvalidGroup.NotFound",
            format!("The security group '{id}' does not exist"),
        ));
    }
    if reg
        .clusters
        .values()
        .any(|c| c.security_groups.iter().any(|g| g == id) && c.life.phase(now) != Phase::Gone)
    {
        return Err(err(
            api,
            "DependencyViolation",
            "resource has a dependent object",
        ));
    }
    reg.security_groups.remove(id);
    Ok(())
}

/// EC2 DeleteVpc: only once its subnets, internet gateway, route tables and
/// security groups are gone.
fn delete_vpc(reg: &mut Region, id: &str, api: &str) -> Result<(), CloudError> {
    if !reg.vpcs.contains_key(id) {
        return Err(err(
            api,
            "InvalidVpcID.NotFound",
            format!("The vpc ID '{id}' does not exist"),
        ));
    }
    let deps = reg.subnets.values().any(|s| s.vpc == id)
        || reg.igws.values().any(|g| g.vpc.as_deref() == Some(id))
        || reg.route_tables.values().any(|t| t.vpc == id)
        || reg.security_groups.values().any(|g| g.vpc == id);
    if deps {
        return Err(err(
            api,
            "DependencyViolation",
            format!("The vpc '{id}' has dependencies and cannot be deleted."),
        ));
    }
    reg.vpcs.remove(id);
    Ok(())
}

pub fn default_addon_version(name: &str) -> &'static str {
    match name {
        "vpc-cni" => "v1.19.2-eksbuild.1",
        "kube-proxy" => "v1.31.3-eksbuild.2",
        "coredns" => "v1.11.4-eksbuild.2",
        _ => "v1.0.0-eksbuild.1",
    }
}

pub(super) fn active_cluster(
    w: &mut World,
    region: &str,
    name: &str,
    now: u64,
    api: &str,
) -> Result<(), CloudError> {
    match w
        .region(region)
        .clusters
        .get(name)
        .map(|c| c.life.phase(now))
    {
        Some(Phase::Ready) => Ok(()),
        None | Some(Phase::Gone) => Err(CloudError {
            status: Some(404),
            ..err(
                api,
                "ResourceNotFoundException",
                format!("No cluster found for name: {name}."),
            )
        }),
        Some(_) => Err(err(
            api,
            "InvalidRequestException",
            format!("Cluster '{name}' is not in ACTIVE status"),
        )),
    }
}

fn cluster_outputs(name: &str, c: &Cluster) -> Produced {
    produced(&[
        ("name", name.to_string()),
        ("arn", c.arn.clone()),
        ("endpoint", c.endpoint.clone()),
        ("certificate", c.certificate.clone()),
        ("issuer", c.issuer.clone()),
        ("version", c.version.clone()),
    ])
}

impl Cloud for SandboxCloud {
    async fn identity(&self) -> Result<Identity, CloudError> {
        let account = self
            .world
            .lock()
            .map(|w| w.account.clone())
            .unwrap_or_default();
        Ok(Identity {
            arn: format!("arn:aws:iam::{account}:user/sandbox"),
            account,
            region: self.region.clone(),
            endpoint: "sandbox".into(),
        })
    }

    async fn availability_zones(&self) -> Result<Vec<String>, CloudError> {
        Ok(zones(&self.region))
    }

    async fn find(
        &self,
        cluster: &str,
        call_id: &str,
        op: &Op,
        outputs: &Outputs,
    ) -> Result<Option<Produced>, CloudError> {
        self.lookup(cluster, call_id, op, outputs)
    }

    async fn execute(
        &self,
        call_id: &str,
        op: &Op,
        outputs: &Outputs,
    ) -> Result<Produced, CloudError> {
        self.exec(call_id, op, outputs)
    }

    async fn poll(&self, wait: &WaitFor) -> Result<Poll, CloudError> {
        self.check(wait)
    }

    async fn undo(&self, undo: &Undo) -> Result<(), CloudError> {
        self.remove(undo)
    }
}

#[cfg(test)]
#[path = "extra_tests.rs"]
mod extra_tests;

#[cfg(test)]
mod tests {
    use super::super::{Clock, SandboxCloud};
    use super::*;
    use std::sync::{Arc, Mutex};

    fn cloud() -> (SandboxCloud, Clock) {
        let clock = Clock::manual(1_000_000);
        (
            SandboxCloud::new(
                Arc::new(Mutex::new(World::new(42))),
                "eu-west-1",
                clock.clone(),
                1.0,
                None,
            ),
            clock,
        )
    }

    fn lit(s: &str) -> Val {
        Val::Lit(s.into())
    }

    #[test]
    fn errors_use_aws_codes() {
        let (c, _) = cloud();
        let o = Outputs::new();
        let e = c
            .exec(
                "vpc",
                &Op::CreateVpc {
                    cidr: "10.0.0.0/33".into(),
                    tags: vec![],
                    ipv6: false,
                },
                &o,
            )
            .unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (
                "InvalidParameterValue",
                "Value (10.0.0.0/33) for parameter cidrBlock is invalid. This is not a valid CIDR block."
            )
        );
        let vpc = c
            .exec(
                "vpc",
                &Op::CreateVpc {
                    cidr: "10.0.0.0/16".into(),
                    tags: vec![],
                    ipv6: false,
                },
                &o,
            )
            .unwrap()["id"]
            .clone();
        let e = c
            .exec(
                "s",
                &Op::CreateSubnet {
                    vpc: lit(&vpc),
                    cidr: "10.1.0.0/19".into(),
                    az: "eu-west-1a".into(),
                    tags: vec![],
                    ipv6_block: None,
                },
                &o,
            )
            .unwrap_err();
        assert_eq!(e.code, "InvalidSubnet.Range");
        c.exec(
            "s",
            &Op::CreateSubnet {
                vpc: lit(&vpc),
                cidr: "10.0.0.0/19".into(),
                az: "eu-west-1a".into(),
                tags: vec![],
                ipv6_block: None,
            },
            &o,
        )
        .unwrap();
        let e = c
            .exec(
                "s",
                &Op::CreateSubnet {
                    vpc: lit(&vpc),
                    cidr: "10.0.0.0/20".into(),
                    az: "eu-west-1b".into(),
                    tags: vec![],
                    ipv6_block: None,
                },
                &o,
            )
            .unwrap_err();
        assert_eq!(e.code, "InvalidSubnet.Conflict");
        let e = c
            .exec(
                "s",
                &Op::CreateSubnet {
                    vpc: lit(&vpc),
                    cidr: "10.0.64.0/19".into(),
                    az: "us-east-1a".into(),
                    tags: vec![],
                    ipv6_block: None,
                },
                &o,
            )
            .unwrap_err();
        assert!(
            e.message
                .contains("only be created in the following availability zones: eu-west-1a"),
            "{e}"
        );
        let e = c.remove(&Undo::DeleteVpc { id: vpc.clone() }).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (
                "DependencyViolation",
                format!("The vpc '{vpc}' has dependencies and cannot be deleted.").as_str()
            )
        );
        let e = c
            .exec(
                "r",
                &Op::AttachRolePolicy {
                    role: "nobody".into(),
                    policy_arn: lit("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"),
                },
                &o,
            )
            .unwrap_err();
        assert_eq!(e.code, "NoSuchEntity");
    }

    #[test]
    fn clusters_take_time_and_speed_scales_it() {
        let (mut c, clock) = cloud();
        c.speed = 10.0;
        let o = Outputs::new();
        let vpc = c
            .exec(
                "vpc",
                &Op::CreateVpc {
                    cidr: "10.0.0.0/16".into(),
                    tags: vec![],
                    ipv6: false,
                },
                &o,
            )
            .unwrap()["id"]
            .clone();
        let s1 = c
            .exec(
                "a",
                &Op::CreateSubnet {
                    vpc: lit(&vpc),
                    cidr: "10.0.0.0/19".into(),
                    az: "eu-west-1a".into(),
                    tags: vec![],
                    ipv6_block: None,
                },
                &o,
            )
            .unwrap()["id"]
            .clone();
        let s2 = c
            .exec(
                "b",
                &Op::CreateSubnet {
                    vpc: lit(&vpc),
                    cidr: "10.0.32.0/19".into(),
                    az: "eu-west-1b".into(),
                    tags: vec![],
                    ipv6_block: None,
                },
                &o,
            )
            .unwrap()["id"]
            .clone();
        let role = c
            .exec(
                "role",
                &Op::CreateRole {
                    name: "r".into(),
                    trust: Trust::Service {
                        service: "eks.amazonaws.com".into(),
                    },
                    description: String::new(),
                    tags: vec![],
                    permissions_boundary: None,
                },
                &o,
            )
            .unwrap()["arn"]
            .clone();
        let op = Op::CreateCluster {
            name: "dawn".into(),
            version: Some("1.31".into()),
            role_arn: lit(&role),
            subnets: vec![lit(&s1), lit(&s2)],
            security_groups: vec![],
            public_access: true,
            private_access: false,
            public_access_cidrs: vec![],
            logging: vec![],
            tags: vec![],
            extras: Default::default(),
        };
        c.exec("cluster", &op, &o).unwrap();
        assert_eq!(
            c.exec("cluster", &op, &o).unwrap_err().code,
            "ResourceInUseException"
        );
        let wait = WaitFor::ClusterActive {
            name: "dawn".into(),
        };
        assert_eq!(c.check(&wait).unwrap(), Poll::Pending("CREATING".into()));
        let ng = Op::CreateNodegroup {
            cluster: "dawn".into(),
            name: "ng".into(),
            role_arn: lit(&role),
            subnets: vec![lit(&s1)],
            instance_types: vec!["t3.large".into()],
            min_size: 1,
            desired_size: 1,
            max_size: 1,
            disk_size: None,
            capacity_type: "ON_DEMAND".into(),
            labels: vec![],
            taints: vec![],
            tags: vec![],
            extras: Default::default(),
        };
        assert_eq!(
            c.exec("ng", &ng, &o).unwrap_err().code,
            "InvalidRequestException"
        );
        clock.advance(59_000);
        assert!(matches!(c.check(&wait).unwrap(), Poll::Pending(_)));
        clock.advance(1_000);
        assert_eq!(
            c.check(&wait).unwrap(),
            Poll::Done,
            "600 s at speed 10 is 60 s"
        );
        c.exec("ng", &ng, &o).unwrap();
        assert_eq!(
            c.remove(&Undo::DeleteCluster {
                name: "dawn".into()
            })
            .unwrap_err()
            .code,
            "ResourceInUseException"
        );
    }

    #[test]
    fn adoption_finds_tagged_resources() {
        let (c, _) = cloud();
        let o = Outputs::new();
        let tags = vec![
            (TAG_CLUSTER.to_string(), "dawn".to_string()),
            (TAG_STEP.to_string(), "vpc".to_string()),
        ];
        let op = Op::CreateVpc {
            cidr: "10.0.0.0/16".into(),
            tags,
            ipv6: false,
        };
        assert_eq!(c.lookup("dawn", "vpc", &op, &o).unwrap(), None);
        let id = c.exec("vpc", &op, &o).unwrap()["id"].clone();
        assert_eq!(c.lookup("dawn", "vpc", &op, &o).unwrap().unwrap()["id"], id);
        assert_eq!(c.lookup("other", "vpc", &op, &o).unwrap(), None);
    }

    #[test]
    fn injected_faults_answer_instead() {
        let (c, _) = cloud();
        c.world.lock().unwrap().faults.push(Fault {
            api: "ec2:CreateVpc".into(),
            code: "UnauthorizedOperation".into(),
            message: "You are not authorized to perform this operation.".into(),
            region: None,
            times: None,
        });
        let e = c
            .exec(
                "vpc",
                &Op::CreateVpc {
                    cidr: "10.0.0.0/16".into(),
                    tags: vec![],
                    ipv6: false,
                },
                &Outputs::new(),
            )
            .unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.status),
            ("UnauthorizedOperation", Some(403))
        );
    }

    #[test]
    fn one_process_at_a_time_changes_a_world_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("world.json");
        // What another process saved after this one loaded its copy.
        let mut theirs = World::new(42);
        theirs.account = "999999999999".into();
        std::fs::write(&file, serde_json::to_vec(&theirs).unwrap()).unwrap();
        let c = SandboxCloud::new(
            Arc::new(Mutex::new(World::new(42))),
            "eu-west-1",
            Clock::manual(1_000_000),
            1.0,
            Some(file.clone()),
        );
        let vpc = Op::CreateVpc {
            cidr: "10.0.0.0/16".into(),
            tags: vec![],
            ipv6: false,
        };
        // Another holder (a separate open file, as another process has).
        let other = tierui_core::paths::try_lock(&file.with_extension("lock")).unwrap();
        let e = c.exec("vpc", &vpc, &Outputs::new()).unwrap_err();
        assert_eq!(e.code, "SandboxBusy");
        assert!(
            e.message.contains(&format!("PID {}", std::process::id())),
            "{}",
            e.message
        );
        // Reads still work meanwhile.
        assert!(c.lookup("dawn", "vpc", &vpc, &Outputs::new()).is_ok());
        drop(other);
        c.exec("vpc", &vpc, &Outputs::new()).unwrap();
        // The first change re-read the file: the other process's world is kept.
        let saved: World = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(saved.account, "999999999999");
        assert_eq!(saved.regions["eu-west-1"].vpcs.len(), 1);
    }
}
