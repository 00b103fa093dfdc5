//! eksctl `ClusterConfig` (apiVersion eksctl.io/v1alpha5).
//!
//! tierui models what the provisioning walkthrough and the cluster pane act on:
//! metadata, availability zones, the VPC (CIDR, NAT, endpoint access, existing
//! subnets), IAM/OIDC and service accounts, addons, managed and self-managed node
//! groups, and control-plane logging. Every other field of eksctl's schema still
//! loads, reported precisely as "not supported yet: <field>"; fields eksctl does not
//! know are reported as unknown, because eksctl itself would reject them.

use serde::Serialize;

use super::fields::{Diagnostic, Diags, Fields, Severity};
use super::yaml::{Node, Pos};

use super::eksctl_sections as sections;
pub use super::eksctl_sections::{
    AccessConfig, AccessEntry, AccessPolicy, Distribution, FargateProfile, IdentityMapping,
    IdentityProvider, NodeIam, PodIdentity, PrivateCluster, SecretsEncryption, Selector, Ssh,
};

pub const API_VERSION: &str = "eksctl.io/v1alpha5";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfig {
    pub name: String,
    pub region: String,
    pub version: Option<String>,
    pub tags: Vec<(String, String)>,
    pub availability_zones: Vec<String>,
    pub vpc: Vpc,
    pub iam: Iam,
    pub addons: Vec<Addon>,
    pub managed_node_groups: Vec<NodeGroup>,
    pub node_groups: Vec<NodeGroup>,
    pub logging: Vec<String>,
    pub log_retention_days: Option<i64>,
    pub fargate_profiles: Vec<FargateProfile>,
    pub private_cluster: Option<PrivateCluster>,
    pub secrets_encryption: Option<SecretsEncryption>,
    pub identity_mappings: Vec<IdentityMapping>,
    pub access: AccessConfig,
    pub identity_providers: Vec<IdentityProvider>,
    /// "IPv4" (eksctl's default) or "IPv6".
    pub ip_family: String,
    pub service_ipv4_cidr: Option<String>,
    /// Local Zones the cluster gets subnets in (for node groups placed there).
    pub local_zones: Vec<String>,
    pub zonal_shift: Option<bool>,
    pub upgrade_support_type: Option<String>,
    pub control_plane_tier: Option<String>,
    /// Where each top-level section starts, for refusals by name.
    pub sections: Vec<(String, Pos)>,
    /// Top-level sections present in the file that tierui does not act on.
    pub unsupported: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum NatMode {
    #[default]
    Single,
    HighlyAvailable,
    Disable,
}

impl NatMode {
    pub fn as_str(self) -> &'static str {
        match self {
            NatMode::Single => "Single",
            NatMode::HighlyAvailable => "HighlyAvailable",
            NatMode::Disable => "Disable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vpc {
    /// Where the `vpc:` section is, when the config has one.
    pub pos: Option<Pos>,
    /// An existing VPC to use instead of creating one.
    pub id: Option<String>,

    /// eksctl's default is 192.168.0.0/16.
    pub cidr: String,
    pub nat: NatMode,
    pub public_access: bool,
    pub private_access: bool,
    pub public_access_cidrs: Vec<String>,
    pub subnets: Vec<ExistingSubnet>,
    pub control_plane_subnet_ids: Vec<String>,
    pub control_plane_security_group_ids: Vec<String>,
    pub control_plane_on_private_subnets: bool,
    pub auto_allocate_ipv6: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExistingSubnet {
    /// The key it is listed under (an AZ name, or an alias node groups refer to).
    pub alias: String,
    pub private: bool,
    pub az: String,
    pub id: Option<String>,
    pub cidr: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Iam {
    pub with_oidc: bool,
    pub service_accounts: Vec<ServiceAccount>,
    pub pod_identities: Vec<PodIdentity>,
    pub service_role_arn: Option<String>,
    pub service_role_permissions_boundary: Option<String>,
    pub fargate_role_arn: Option<String>,
    pub fargate_role_permissions_boundary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    pub name: String,
    pub namespace: String,
    pub attach_policy_arns: Vec<String>,
    pub well_known_policies: Vec<String>,
    /// An inline policy as JSON text.
    pub attach_policy: Option<String>,
    /// An existing role to annotate instead of creating one.
    pub attach_role_arn: Option<String>,
    pub role_name: Option<String>,
    pub role_only: bool,
    pub permissions_boundary: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Addon {
    pub name: String,
    /// `None` means the default version for the cluster; "latest" is kept as written.
    pub version: Option<String>,
    pub attach_policy_arns: Vec<String>,
    pub well_known_policies: Vec<String>,
    pub attach_policy: Option<String>,
    pub service_account_role_arn: Option<String>,
    /// JSON or YAML text, passed to EKS as written.
    pub configuration_values: Option<String>,
    pub resolve_conflicts: Option<String>,
    pub tags: Vec<(String, String)>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroup {
    pub name: String,
    pub managed: bool,
    pub instance_types: Vec<String>,
    pub min_size: i64,
    pub desired_capacity: i64,
    pub max_size: i64,
    pub volume_size: Option<i64>,
    pub private_networking: bool,
    pub spot: bool,
    pub ami_family: Option<String>,
    pub availability_zones: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub taints: Vec<Taint>,
    pub ami: Option<String>,
    pub volume_type: Option<String>,
    pub volume_encrypted: bool,
    pub volume_kms_key: Option<String>,
    pub ssh: Option<Ssh>,
    pub distribution: Option<Distribution>,
    pub selector: Option<Selector>,
    pub pre_bootstrap: Vec<String>,
    pub override_bootstrap: Option<String>,
    pub max_pods: Option<i64>,
    /// Subnet ids or aliases of `vpc.subnets`.
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub iam: NodeIam,
    pub target_group_arns: Vec<String>,
    pub classic_load_balancers: Vec<String>,
    pub disable_imdsv1: bool,
    pub local_zones: Vec<String>,
    /// A managed group's own launch template (id, version).
    pub launch_template: Option<(String, Option<String>)>,
    pub instance_name: Option<String>,
    /// Bottlerocket settings as JSON (written into its TOML user data).
    pub bottlerocket: Option<serde_json::Value>,
    pub update_max_unavailable: Option<i64>,
    pub node_repair: bool,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

/// Top-level ClusterConfig fields eksctl knows that tierui reads but does not model.
const UNSUPPORTED_TOP: &[&str] = &[
    "autoModeConfig",
    "remoteNetworkConfig",
    "addonsConfig",
    "gitops",
    "karpenter",
    "outpost",
    "capabilities",
    "deletionProtection",
];

const UNSUPPORTED_VPC: &[&str] = &[
    "ipv6Cidr",
    "ipv6Pool",
    "securityGroup",
    "sharedNodeSecurityGroup",
    "manageSharedNodeSecurityGroupRules",
    "extraCIDRs",
    "extraIPv6CIDRs",
    "localZoneSubnets",
    "hostnameType",
];

const UNSUPPORTED_IAM: &[&str] = &["vpcResourceControllerPolicy"];

/// Node-group fields read but not acted on: each shows in the plan as a note.
const UNSUPPORTED_NODEGROUP: &[&str] = &[
    "disablePodIMDS",
    "placement",
    "efaEnabled",
    "enableDetailedMonitoring",
    "instancePrefix",
    "volumeIOPS",
    "volumeThroughput",
    "volumeName",
    "additionalVolumes",
    "releaseVersion",
    "asgMetricsCollection",
    "containerRuntime",
    "kubeletExtraConfig",
    "clusterDNS",
    "cpuCredits",
    "enableWarmPool",
    "warmPool",
    "suspendProcesses",
    "propagateASGTags",
    "capacityReservation",
    "outpostARN",
    "maxInstanceLifetime",
    "enableEfa",
    "enableSsm",
];

/// Why EKS would refuse a cluster name (letters, digits, hyphens and
/// underscores, starting with a letter or digit, at most 100 characters), or None.
pub fn invalid_cluster_name(name: &str) -> Option<String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if name.is_empty() {
        return Some("metadata.name is empty".into());
    }
    if let Some(c) = name.chars().find(|c| !ok_char(*c)) {
        return Some(format!(
            "metadata.name {name:?} has {c:?}: EKS cluster names hold only letters, digits, hyphens and underscores"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some(format!(
            "metadata.name {name:?} must start with a letter or digit"
        ));
    }
    if name.len() > 100 {
        return Some(format!(
            "metadata.name is {} characters long; EKS allows at most 100",
            name.len()
        ));
    }
    None
}

/// Parses a ClusterConfig document. `None` only when the document is not a
/// ClusterConfig mapping at all or lacks metadata.name / metadata.region.
pub fn parse(root: &Node, diags: &mut Diags) -> Option<ClusterConfig> {
    let mut f = Fields::of(root, "", diags)?;
    let api = f.required_string("apiVersion", diags);
    if let Some(api) = &api
        && api != API_VERSION
    {
        let pos = root.get("apiVersion").map_or(root.pos(), Node::pos);
        diags.push(Diagnostic::error(
            pos,
            "apiVersion",
            format!("apiVersion {api} is not supported (expected {API_VERSION})"),
        ));
    }
    if let Some(kind) = f.required_string("kind", diags)
        && kind != "ClusterConfig"
    {
        let pos = root.get("kind").map_or(root.pos(), Node::pos);
        diags.push(Diagnostic::error(
            pos,
            "kind",
            format!("kind {kind} is not a ClusterConfig"),
        ));
    }
    let mut meta = f.map("metadata", diags);
    let (name, region, version, tags) = match meta.as_mut() {
        Some(m) => {
            let name = m.required_string("name", diags);
            let region = m.required_string("region", diags);
            let version = m.string("version", diags);
            let tags = m.string_map("tags", diags);
            m.unsupported(&["annotations", "accountID"], diags);
            (name, region, version, tags)
        }
        None => {
            diags.push(Diagnostic::error(
                root.pos(),
                "metadata",
                "missing required field metadata",
            ));
            (None, None, None, Vec::new())
        }
    };
    if let Some(n) = &name
        && let Some(why) = invalid_cluster_name(n)
    {
        let pos = root
            .get("metadata")
            .and_then(|m| m.get("name"))
            .map_or(root.pos(), Node::pos);
        diags.push(Diagnostic::error(pos, "metadata.name", why));
    }
    if let Some(m) = meta {
        m.finish(diags);
    }
    let availability_zones = f.strings("availabilityZones", diags);
    let vpc = parse_vpc(&mut f, diags);
    let iam = parse_iam(&mut f, diags);
    let addons = f
        .seq("addons", diags)
        .into_iter()
        .filter_map(|(path, n)| parse_addon(n, &path, diags))
        .collect();
    let managed_node_groups = f
        .seq("managedNodeGroups", diags)
        .into_iter()
        .filter_map(|(path, n)| parse_node_group(n, &path, true, diags))
        .collect();
    let node_groups = f
        .seq("nodeGroups", diags)
        .into_iter()
        .filter_map(|(path, n)| parse_node_group(n, &path, false, diags))
        .collect();
    let mut logging = Vec::new();
    let mut log_retention_days = None;
    if let Some(mut cw) = f.map("cloudWatch", diags) {
        if let Some(mut cl) = cw.map("clusterLogging", diags) {
            logging = cl.strings("enableTypes", diags);
            log_retention_days = cl.int("logRetentionInDays", diags);
            cl.finish(diags);
        }
        cw.finish(diags);
    }
    let sections = f.keys();
    let fargate_profiles = sections::parse_fargate(&mut f, diags);
    let private_cluster = sections::parse_private_cluster(&mut f, diags);
    let secrets_encryption = sections::parse_secrets(&mut f, diags);
    let identity_mappings = sections::parse_identity_mappings(&mut f, diags);
    let access = sections::parse_access_config(&mut f, diags);
    let identity_providers = sections::parse_identity_providers(&mut f, diags);
    let local_zones = f.strings("localZones", diags);
    let (mut ip_family, mut service_ipv4_cidr) = ("IPv4".to_string(), None);
    if let Some(mut k) = f.map("kubernetesNetworkConfig", diags) {
        if let Some(fam) = k.string("ipFamily", diags) {
            if fam.eq_ignore_ascii_case("ipv6") {
                ip_family = "IPv6".into();
            } else if !fam.eq_ignore_ascii_case("ipv4") {
                diags.push(Diagnostic::error(
                    k.pos(),
                    "kubernetesNetworkConfig.ipFamily",
                    format!("kubernetesNetworkConfig.ipFamily must be IPv4 or IPv6, found {fam}"),
                ));
            }
        }
        service_ipv4_cidr = k.string("serviceIPv4CIDR", diags);
        k.finish(diags);
    }
    let mut zonal_shift = None;
    if let Some(mut z) = f.map("zonalShiftConfig", diags) {
        zonal_shift = z.bool("enabled", diags);
        z.finish(diags);
    }
    let mut upgrade_support_type = None;
    if let Some(mut u) = f.map("upgradePolicy", diags) {
        upgrade_support_type = u.string("supportType", diags);
        u.finish(diags);
    }
    let mut control_plane_tier = None;
    if let Some(mut c) = f.map("controlPlaneScalingConfig", diags) {
        control_plane_tier = c.string("tier", diags);
        c.finish(diags);
    }
    let before = diags.len();
    f.unsupported(UNSUPPORTED_TOP, diags);
    let unsupported = diags[before..].to_vec();
    f.ignore(&["status"]);
    f.finish(diags);
    Some(ClusterConfig {
        name: name?,
        region: region?,
        version,
        tags,
        availability_zones,
        vpc,
        iam,
        addons,
        managed_node_groups,
        node_groups,
        logging,
        log_retention_days,
        fargate_profiles,
        private_cluster,
        secrets_encryption,
        identity_mappings,
        access,
        identity_providers,
        ip_family,
        service_ipv4_cidr,
        local_zones,
        zonal_shift,
        upgrade_support_type,
        control_plane_tier,
        sections,
        unsupported,
    })
}

fn parse_vpc(f: &mut Fields<'_>, diags: &mut Diags) -> Vpc {
    let mut vpc = Vpc {
        pos: None,
        id: None,

        cidr: "192.168.0.0/16".into(),
        nat: NatMode::Single,
        public_access: true,
        private_access: false,
        public_access_cidrs: Vec::new(),
        subnets: Vec::new(),
        control_plane_subnet_ids: Vec::new(),
        control_plane_security_group_ids: Vec::new(),
        control_plane_on_private_subnets: false,
        auto_allocate_ipv6: false,
    };
    let Some(mut v) = f.map("vpc", diags) else {
        return vpc;
    };
    vpc.pos = Some(v.pos());

    vpc.id = v.string("id", diags);
    if let Some(cidr) = v.string("cidr", diags) {
        vpc.cidr = cidr;
    }
    if let Some(mut nat) = v.map("nat", diags) {
        let pos = nat.pos();
        match nat.string("gateway", diags).as_deref() {
            None | Some("Single") => {}
            Some("HighlyAvailable") => vpc.nat = NatMode::HighlyAvailable,
            Some("Disable") => vpc.nat = NatMode::Disable,
            Some(other) => diags.push(Diagnostic::error(
                pos,
                "vpc.nat.gateway",
                format!(
                    "vpc.nat.gateway must be Single, HighlyAvailable or Disable, found {other}"
                ),
            )),
        }
        nat.finish(diags);
    }
    if let Some(mut ep) = v.map("clusterEndpoints", diags) {
        if let Some(b) = ep.bool("publicAccess", diags) {
            vpc.public_access = b;
        }
        if let Some(b) = ep.bool("privateAccess", diags) {
            vpc.private_access = b;
        }
        ep.finish(diags);
    }
    vpc.public_access_cidrs = v.strings("publicAccessCIDRs", diags);
    if let Some(mut subnets) = v.map("subnets", diags) {
        for (kind, private) in [("private", true), ("public", false)] {
            if let Some(mut by_az) = subnets.map(kind, diags) {
                for (az, path, node) in by_az.entries() {
                    let Some(mut s) = Fields::of(node, &path, diags) else {
                        continue;
                    };
                    vpc.subnets.push(ExistingSubnet {
                        alias: az.clone(),
                        private,
                        az: s.string("az", diags).unwrap_or_else(|| az.clone()),
                        id: s.string("id", diags),
                        cidr: s.string("cidr", diags),
                    });
                    s.finish(diags);
                }
            }
        }
        subnets.finish(diags);
    }
    vpc.control_plane_subnet_ids = v.strings("controlPlaneSubnetIDs", diags);
    vpc.control_plane_security_group_ids = v.strings("controlPlaneSecurityGroupIDs", diags);
    vpc.control_plane_on_private_subnets = v
        .bool("controlPlaneOnPrivateSubnets", diags)
        .unwrap_or(false);
    vpc.auto_allocate_ipv6 = v.bool("autoAllocateIPv6", diags).unwrap_or(false);
    v.unsupported(UNSUPPORTED_VPC, diags);
    v.finish(diags);
    vpc
}

fn parse_iam(f: &mut Fields<'_>, diags: &mut Diags) -> Iam {
    let mut iam = Iam::default();
    let Some(mut i) = f.map("iam", diags) else {
        return iam;
    };
    iam.with_oidc = i.bool("withOIDC", diags).unwrap_or(false);
    iam.service_role_arn = i.string("serviceRoleARN", diags);
    iam.service_role_permissions_boundary = i.string("serviceRolePermissionsBoundary", diags);
    iam.fargate_role_arn = i.string("fargatePodExecutionRoleARN", diags);
    iam.fargate_role_permissions_boundary =
        i.string("fargatePodExecutionRolePermissionsBoundary", diags);
    iam.pod_identities = sections::parse_pod_identities(&mut i, diags);
    for (path, node) in i.seq("serviceAccounts", diags) {
        let Some(mut sa) = Fields::of(node, &path, diags) else {
            continue;
        };
        let (mut name, mut namespace) = (None, None);
        if let Some(mut meta) = sa.map("metadata", diags) {
            name = meta.required_string("name", diags);
            namespace = meta.string("namespace", diags);
            meta.unsupported(&["labels", "annotations"], diags);
            meta.finish(diags);
        }
        let attach_policy_arns = sa.strings("attachPolicyARNs", diags);
        let well_known_policies = well_known(&mut sa, diags);
        let attach_policy = sa.node("attachPolicy").map(|n| n.to_json().to_string());
        let attach_role_arn = sa.string("attachRoleARN", diags);
        let role_name = sa.string("roleName", diags);
        let role_only = sa.bool("roleOnly", diags).unwrap_or(false);
        let permissions_boundary = sa.string("permissionsBoundary", diags);
        sa.ignore(&["tags"]);
        sa.finish(diags);
        if let Some(name) = name {
            iam.service_accounts.push(ServiceAccount {
                name,
                namespace: namespace.unwrap_or_else(|| "default".into()),
                attach_policy_arns,
                well_known_policies,
                attach_policy,
                attach_role_arn,
                role_name,
                role_only,
                permissions_boundary,
                pos: node.pos(),
            });
        }
    }
    i.unsupported(UNSUPPORTED_IAM, diags);
    i.finish(diags);
    iam
}

fn well_known(f: &mut Fields<'_>, diags: &mut Diags) -> Vec<String> {
    let Some(mut wk) = f.map("wellKnownPolicies", diags) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, _) in wk.keys() {
        if wk.bool(&key, diags) == Some(true) {
            out.push(key);
        }
    }
    wk.finish(diags);
    out
}

fn parse_addon(node: &Node, path: &str, diags: &mut Diags) -> Option<Addon> {
    let mut a = Fields::of(node, path, diags)?;
    let name = a.required_string("name", diags);
    let version = a.string("version", diags);
    let attach_policy_arns = a.strings("attachPolicyARNs", diags);
    let well_known_policies = well_known(&mut a, diags);
    let attach_policy = a.node("attachPolicy").map(|n| n.to_json().to_string());
    let service_account_role_arn = a.string("serviceAccountRoleARN", diags);
    let configuration_values = a
        .node("configurationValues")
        .map(|n| match n.scalar_text() {
            Some(s) => s,
            None => n.to_json().to_string(),
        });
    let resolve_conflicts = a.string("resolveConflicts", diags);
    let tags = a.string_map("tags", diags);
    a.unsupported(
        &[
            "permissionsBoundary",
            "podIdentityAssociations",
            "useDefaultPodIdentityAssociations",
            "namespaceConfig",
        ],
        diags,
    );
    a.finish(diags);
    Some(Addon {
        name: name?,
        version,
        attach_policy_arns,
        well_known_policies,
        attach_policy,
        service_account_role_arn,
        configuration_values,
        resolve_conflicts,
        tags,
        pos: node.pos(),
    })
}

fn parse_node_group(
    node: &Node,
    path: &str,
    managed: bool,
    diags: &mut Diags,
) -> Option<NodeGroup> {
    let mut g = Fields::of(node, path, diags)?;
    let name = g.required_string("name", diags);
    let mut instance_types = g.strings("instanceTypes", diags);
    if let Some(t) = g.string("instanceType", diags) {
        instance_types.insert(0, t);
    }
    let desired = g.int("desiredCapacity", diags);
    let min = g.int("minSize", diags);
    let max = g.int("maxSize", diags);
    // eksctl's defaults: two nodes, min and max equal to desired unless given.
    let desired_capacity = desired.or(min).unwrap_or(2);
    let min_size = min.unwrap_or(desired_capacity);
    let max_size = max.unwrap_or(desired_capacity.max(min_size));
    if min_size > desired_capacity || desired_capacity > max_size {
        diags.push(Diagnostic::error(
            node.pos(),
            path,
            format!(
                "{path}: sizes must satisfy minSize <= desiredCapacity <= maxSize (got {min_size} <= {desired_capacity} <= {max_size})"
            ),
        ));
    }
    let volume_size = g.int("volumeSize", diags);
    let private_networking = g.bool("privateNetworking", diags).unwrap_or(false);
    let spot = if managed {
        g.bool("spot", diags).unwrap_or(false)
    } else {
        g.unsupported(&["spot"], diags);
        false
    };
    let ami = g.string("ami", diags);
    let volume_type = g.string("volumeType", diags);
    let volume_encrypted = g.bool("volumeEncrypted", diags).unwrap_or(false);
    let volume_kms_key = g.string("volumeKmsKeyID", diags);
    let ssh = sections::parse_ssh(&mut g, diags);
    let distribution = sections::parse_distribution(&mut g, diags);
    let selector = sections::parse_selector(&mut g, diags);
    let pre_bootstrap = g.strings("preBootstrapCommands", diags);
    let override_bootstrap = g.string("overrideBootstrapCommand", diags);
    let max_pods = g.int("maxPodsPerNode", diags);
    let subnets = g.strings("subnets", diags);
    let mut security_groups = Vec::new();
    if let Some(mut sg) = g.map("securityGroups", diags) {
        security_groups = sg.strings("attachIDs", diags);
        sg.unsupported(&["withShared", "withLocal"], diags);
        sg.finish(diags);
    }
    let iam = sections::parse_node_iam(&mut g, diags);
    let target_group_arns = g.strings("targetGroupARNs", diags);
    let classic_load_balancers = g.strings("classicLoadBalancerNames", diags);
    let disable_imdsv1 = g.bool("disableIMDSv1", diags).unwrap_or(false);
    let local_zones = g.strings("localZones", diags);
    let mut launch_template = None;
    if let Some(mut lt) = g.map("launchTemplate", diags) {
        if let Some(id) = lt.required_string("id", diags) {
            launch_template = Some((id, lt.string("version", diags)));
        }
        lt.finish(diags);
    }
    let instance_name = g.string("instanceName", diags);
    let bottlerocket = g.node("bottlerocket").map(Node::to_json);
    let mut update_max_unavailable = None;
    if let Some(mut u) = g.map("updateConfig", diags) {
        update_max_unavailable = u.int("maxUnavailable", diags);
        u.ignore(&["maxUnavailablePercentage"]);
        u.finish(diags);
    }
    let node_repair = g
        .node("nodeRepairConfig")
        .and_then(|n| n.get("enabled"))
        .and_then(Node::scalar_text)
        .is_some_and(|t| t == "true");
    let selector_types = selector.is_some();
    let availability_zones = g.strings("availabilityZones", diags);
    let labels = g.string_map("labels", diags);
    let tags = g.string_map("tags", diags);
    let taints = parse_taints(&mut g, diags);
    let ami_family = g.node("amiFamily").and_then(Node::scalar_text);
    g.ignore(&["amiFamily"]);
    let unsupported_here: Vec<&str> = UNSUPPORTED_NODEGROUP
        .iter()
        .copied()
        .filter(|k| *k != "amiFamily")
        .collect();
    g.unsupported(&unsupported_here, diags);
    g.finish(diags);
    if instance_types.is_empty()
        && !selector_types
        && distribution.is_none()
        && launch_template.is_none()
    {
        instance_types.push("m5.large".into());
    }
    Some(NodeGroup {
        name: name?,
        managed,
        instance_types,
        min_size,
        desired_capacity,
        max_size,
        volume_size,
        private_networking,
        spot,
        ami_family,
        availability_zones,
        labels,
        tags,
        taints,
        ami,
        volume_type,
        volume_encrypted,
        volume_kms_key,
        ssh,
        distribution,
        selector,
        pre_bootstrap,
        override_bootstrap,
        max_pods,
        subnets,
        security_groups,
        iam,
        target_group_arns,
        classic_load_balancers,
        disable_imdsv1,
        local_zones,
        launch_template,
        instance_name,
        bottlerocket,
        update_max_unavailable,
        node_repair,
        pos: node.pos(),
    })
}

fn parse_taints(g: &mut Fields<'_>, diags: &mut Diags) -> Vec<Taint> {
    let path = g.child_path("taints");
    let Some(node) = g.node("taints") else {
        return Vec::new();
    };
    match &node.value {
        super::yaml::Value::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let mut t = Fields::of(item, &format!("{path}[{i}]"), diags)?;
                let key = t.required_string("key", diags)?;
                let value = t.string("value", diags).unwrap_or_default();
                let effect = t.required_string("effect", diags)?;
                t.finish(diags);
                Some(Taint { key, value, effect })
            })
            .collect(),
        // The older map form: `key: value:effect`.
        super::yaml::Value::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| {
                let key = k.key_text()?;
                let text = v.scalar_text().unwrap_or_default();
                let (value, effect) = text.split_once(':').unwrap_or(("", text.as_str()));
                Some(Taint {
                    key,
                    value: value.to_string(),
                    effect: effect.to_string(),
                })
            })
            .collect(),
        _ => {
            diags.push(Diagnostic::error(
                node.pos(),
                &path,
                format!("{path} must be a list, found {}", node.type_name()),
            ));
            Vec::new()
        }
    }
}

/// True when a document looks like an eksctl ClusterConfig (used by discovery).
pub fn is_cluster_config(root: &Node) -> bool {
    root.get("apiVersion")
        .and_then(Node::as_str)
        .is_some_and(|a| a.starts_with("eksctl.io/"))
        && root.get("kind").and_then(Node::as_str) == Some("ClusterConfig")
}

impl ClusterConfig {
    /// Every node group, managed first, as the walkthrough and the pane list them.
    pub fn all_node_groups(&self) -> impl Iterator<Item = &NodeGroup> {
        self.managed_node_groups.iter().chain(&self.node_groups)
    }
}

/// Only diagnostics that make a file unusable.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_eks_would_refuse_are_errors_with_their_position() {
        assert_eq!(invalid_cluster_name("dawn-2_b"), None);
        assert!(invalid_cluster_name("dawné").unwrap().contains("'é'"));
        assert!(invalid_cluster_name("-dawn").is_some());
        assert!(invalid_cluster_name(&"a".repeat(101)).is_some());
        let src = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: café\n  region: eu-west-1\n";
        let mut d = Vec::new();
        let _ = parse(&crate::workspace::yaml::parse_single(src).unwrap(), &mut d);
        let e = d
            .iter()
            .find(|d| d.path == "metadata.name")
            .expect("an error");
        assert_eq!((e.line, e.col), (4, 9), "{e:?}");
    }
    use crate::workspace::yaml::parse_single;

    fn load(src: &str) -> (Option<ClusterConfig>, Diags) {
        let doc = parse_single(src).unwrap();
        let mut d = Diags::new();
        (parse(&doc, &mut d), d)
    }

    #[test]
    fn demo_dawn_config_loads_clean() {
        let src = std::str::from_utf8(
            crate::demo::file("fixtures/demo/provisioning/manual/dawn-cluster.yaml").unwrap(),
        )
        .unwrap();
        let (cfg, d) = load(src);
        assert!(d.is_empty(), "{d:?}");
        let cfg = cfg.unwrap();
        assert_eq!(cfg.name, "dawn");
        assert_eq!(cfg.vpc.nat, NatMode::Single);
        assert!(cfg.iam.with_oidc);
        assert_eq!(cfg.addons.len(), 3);
        let ng = &cfg.managed_node_groups[0];
        assert_eq!((ng.min_size, ng.desired_capacity, ng.max_size), (2, 2, 4));
        assert_eq!(ng.instance_types, vec!["t3.large"]);
    }

    #[test]
    fn defaults_follow_eksctl() {
        let (cfg, d) = load(
            "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: a, region: eu-north-1}\nmanagedNodeGroups:\n  - name: mng1\n",
        );
        assert!(d.is_empty(), "{d:?}");
        let cfg = cfg.unwrap();
        assert_eq!(cfg.vpc.cidr, "192.168.0.0/16");
        let ng = &cfg.managed_node_groups[0];
        assert_eq!(ng.instance_types, vec!["m5.large"]);
        assert_eq!((ng.min_size, ng.desired_capacity, ng.max_size), (2, 2, 2));
    }

    #[test]
    fn unsupported_sections_are_named_with_positions() {
        let (cfg, d) = load(
            "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: a, region: r}\ngitops:\n  - name: fp\n",
        );
        assert!(cfg.is_some());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, Severity::Unsupported);
        assert_eq!(d[0].message, "not supported yet: gitops");
        assert_eq!((d[0].line, d[0].col), (4, 1));
        assert_eq!(cfg.unwrap().unsupported.len(), 1);
    }

    #[test]
    fn wrong_types_and_bad_nat_mode() {
        let (cfg, d) = load(
            "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: a, region: r}\nvpc:\n  nat:\n    gateway: Double\nmanagedNodeGroups:\n  - name: x\n    desiredCapacity: two\n",
        );
        assert!(cfg.is_some());
        let msgs: Vec<_> = d
            .iter()
            .map(|d| format!("{}:{} {}", d.line, d.col, d.message))
            .collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("vpc.nat.gateway must be Single")),
            "{msgs:?}"
        );
        assert!(
            msgs.contains(
                &"9:22 managedNodeGroups[0].desiredCapacity must be an integer, found a string"
                    .to_string()
            ),
            "{msgs:?}"
        );
    }

    #[test]
    fn missing_metadata_is_an_error() {
        let (cfg, d) = load("apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n");
        assert!(cfg.is_none());
        assert_eq!(d[0].message, "missing required field metadata");
    }

    #[test]
    fn unknown_fields_are_warnings() {
        let (_, d) = load(
            "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: a, region: r}\nmanagedNodeGroup: []\n",
        );
        assert_eq!(d[0].severity, Severity::Warning);
        assert_eq!(d[0].message, "unknown field managedNodeGroup");
    }
}
