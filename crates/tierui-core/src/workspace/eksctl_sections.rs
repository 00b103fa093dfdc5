//! The ClusterConfig sections beyond the network and the managed node groups:
//! self-managed node group details (launch template, Auto Scaling, SSH, IAM),
//! Fargate profiles, private clusters, secrets encryption, access entries and
//! identity mappings, pod identity associations, identity providers, the IP
//! family and local zones. Each is read with its position so the walkthrough can
//! act on it or refuse it by name.

use serde::Serialize;

use super::fields::{Diagnostic, Diags, Fields};
use super::yaml::{Node, Pos};

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Ssh {
    /// Open port 22 (Windows: 3389) on the node security group.
    pub allow: bool,
    /// An EC2 key pair that already exists.
    pub key_name: Option<String>,
    /// A public key to import (inline text).
    pub public_key: Option<String>,
    /// A public key file to import, read when the call runs.
    pub public_key_path: Option<String>,
    pub source_security_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Distribution {
    pub instance_types: Vec<String>,
    pub max_price: Option<String>,
    pub on_demand_base: i64,
    pub on_demand_percentage: i64,
    pub spot_pools: Option<i64>,
    pub spot_strategy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    pub vcpus: Option<i64>,
    /// As written ("4", "4GiB", "16Gi").
    pub memory: Option<String>,
    pub gpus: Option<i64>,
    pub cpu_architecture: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NodeIam {
    pub attach_policy_arns: Vec<String>,
    /// `withAddonPolicies` keys set to true.
    pub addon_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    /// An existing role / instance profile to use instead of creating one.
    pub instance_role_arn: Option<String>,
    pub instance_profile_arn: Option<String>,
}

impl NodeIam {
    pub fn is_default(&self) -> bool {
        *self == NodeIam::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FargateProfile {
    pub name: String,
    /// (namespace, labels) per selector.
    pub selectors: Vec<(String, Vec<(String, String)>)>,
    pub subnets: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PrivateCluster {
    pub enabled: bool,
    pub skip_endpoint_creation: bool,
    pub additional_endpoint_services: Vec<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretsEncryption {
    /// A KMS key given by ARN; `None` makes the walkthrough create one.
    pub key_arn: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityMapping {
    pub arn: Option<String>,
    pub account: Option<String>,
    pub username: Option<String>,
    pub groups: Vec<String>,
    pub service_name: Option<String>,
    pub namespace: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    pub policy_arn: String,
    /// "cluster" or "namespace".
    pub scope: String,
    pub namespaces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessEntry {
    pub principal_arn: String,
    /// STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX.
    pub kind: Option<String>,
    pub kubernetes_groups: Vec<String>,
    pub username: Option<String>,
    pub policies: Vec<AccessPolicy>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccessConfig {
    /// API, API_AND_CONFIG_MAP or CONFIG_MAP.
    pub authentication_mode: Option<String>,
    pub bootstrap_admin: Option<bool>,
    pub entries: Vec<AccessEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodIdentity {
    pub namespace: String,
    pub service_account: String,
    pub role_arn: Option<String>,
    pub role_name: Option<String>,
    pub policy_arns: Vec<String>,
    /// An inline permission policy as JSON text.
    pub policy: Option<String>,
    pub well_known_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub create_service_account: bool,
    /// A role in another account the association chains to.
    pub target_role_arn: Option<String>,
    pub disable_session_tags: bool,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProvider {
    pub name: String,
    pub issuer_url: String,
    pub client_id: String,
    pub username_claim: Option<String>,
    pub groups_claim: Option<String>,
    pub pos: Pos,
}

/// Ignores the keys and says nothing: for values read through [`Fields::node`].
fn scalar(f: &mut Fields<'_>, key: &str) -> Option<String> {
    f.node(key).and_then(Node::scalar_text)
}

pub(super) fn parse_ssh(g: &mut Fields<'_>, diags: &mut Diags) -> Option<Ssh> {
    let explicit_allow = g.has("ssh") && g.node("ssh").and_then(|n| n.get("allow")).is_some();
    let mut s = g.map("ssh", diags)?;
    let mut ssh = Ssh {
        allow: s.bool("allow", diags).unwrap_or(false),
        key_name: s.string("publicKeyName", diags),
        public_key: s.string("publicKey", diags),
        public_key_path: s.string("publicKeyPath", diags),
        source_security_groups: s.strings("sourceSecurityGroupIds", diags),
    };
    // SSM access comes with the node role's policies now; eksctl deprecated it.
    s.unsupported(&["enableSsm"], diags);
    s.finish(diags);
    // eksctl: giving a key implies allowing SSH unless `allow: false` says otherwise.
    if !explicit_allow
        && (ssh.key_name.is_some() || ssh.public_key.is_some() || ssh.public_key_path.is_some())
    {
        ssh.allow = true;
    }
    Some(ssh)
}

pub(super) fn parse_distribution(g: &mut Fields<'_>, diags: &mut Diags) -> Option<Distribution> {
    let mut d = g.map("instancesDistribution", diags)?;
    let out = Distribution {
        instance_types: d.strings("instanceTypes", diags),
        max_price: scalar(&mut d, "maxPrice"),
        on_demand_base: d.int("onDemandBaseCapacity", diags).unwrap_or(0),
        on_demand_percentage: d
            .int("onDemandPercentageAboveBaseCapacity", diags)
            .unwrap_or(100),
        spot_pools: d.int("spotInstancePools", diags),
        spot_strategy: d.string("spotAllocationStrategy", diags),
    };
    d.ignore(&["capacityRebalance"]);
    d.finish(diags);
    Some(out)
}

pub(super) fn parse_selector(g: &mut Fields<'_>, diags: &mut Diags) -> Option<Selector> {
    let mut s = g.map("instanceSelector", diags)?;
    let out = Selector {
        vcpus: s.int("vCPUs", diags),
        memory: scalar(&mut s, "memory"),
        gpus: s.int("gpus", diags),
        cpu_architecture: s.string("cpuArchitecture", diags),
    };
    s.unsupported(&["allowedInstanceTypes", "excludedInstanceTypes"], diags);
    s.finish(diags);
    Some(out)
}

pub(super) fn parse_node_iam(g: &mut Fields<'_>, diags: &mut Diags) -> NodeIam {
    let Some(mut i) = g.map("iam", diags) else {
        return NodeIam::default();
    };
    let mut out = NodeIam {
        attach_policy_arns: i.strings("attachPolicyARNs", diags),
        permissions_boundary: i.string("instanceRolePermissionsBoundary", diags),
        instance_role_arn: i.string("instanceRoleARN", diags),
        instance_profile_arn: i.string("instanceProfileARN", diags),
        ..NodeIam::default()
    };
    if let Some(mut wk) = i.map("withAddonPolicies", diags) {
        for (key, _) in wk.keys() {
            if wk.bool(&key, diags) == Some(true) {
                out.addon_policies.push(key);
            }
        }
        wk.finish(diags);
    }
    i.unsupported(
        &["attachPolicy", "instanceRoleName", "instanceRolePath"],
        diags,
    );
    i.finish(diags);
    out
}

pub(super) fn parse_fargate(f: &mut Fields<'_>, diags: &mut Diags) -> Vec<FargateProfile> {
    let mut out = Vec::new();
    for (path, node) in f.seq("fargateProfiles", diags) {
        let Some(mut p) = Fields::of(node, &path, diags) else {
            continue;
        };
        let name = p.required_string("name", diags);
        let mut selectors = Vec::new();
        for (spath, snode) in p.seq("selectors", diags) {
            let Some(mut s) = Fields::of(snode, &spath, diags) else {
                continue;
            };
            if let Some(ns) = s.required_string("namespace", diags) {
                selectors.push((ns, s.string_map("labels", diags)));
            }
            s.finish(diags);
        }
        if selectors.is_empty() {
            diags.push(Diagnostic::error(
                node.pos(),
                &path,
                format!("{path} needs at least one selector (a namespace)"),
            ));
        }
        let subnets = p.strings("subnets", diags);
        let tags = p.string_map("tags", diags);
        p.unsupported(&["podExecutionRoleARN"], diags);
        p.finish(diags);
        if let Some(name) = name {
            out.push(FargateProfile {
                name,
                selectors,
                subnets,
                tags,
                pos: node.pos(),
            });
        }
    }
    out
}

pub(super) fn parse_private_cluster(
    f: &mut Fields<'_>,
    diags: &mut Diags,
) -> Option<PrivateCluster> {
    let mut p = f.map("privateCluster", diags)?;
    let out = PrivateCluster {
        enabled: p.bool("enabled", diags).unwrap_or(false),
        skip_endpoint_creation: p.bool("skipEndpointCreation", diags).unwrap_or(false),
        additional_endpoint_services: p.strings("additionalEndpointServices", diags),
        pos: p.pos(),
    };
    p.finish(diags);
    Some(out)
}

pub(super) fn parse_secrets(f: &mut Fields<'_>, diags: &mut Diags) -> Option<SecretsEncryption> {
    let pos = f.node("secretsEncryption")?.pos();
    let mut s = f.map("secretsEncryption", diags)?;
    let out = SecretsEncryption {
        key_arn: s.string("keyARN", diags),
        pos,
    };
    s.finish(diags);
    Some(out)
}

pub(super) fn parse_identity_mappings(
    f: &mut Fields<'_>,
    diags: &mut Diags,
) -> Vec<IdentityMapping> {
    let mut out = Vec::new();
    for (path, node) in f.seq("iamIdentityMappings", diags) {
        let Some(mut m) = Fields::of(node, &path, diags) else {
            continue;
        };
        let item = IdentityMapping {
            arn: m.string("arn", diags),
            account: m.string("account", diags),
            username: m.string("username", diags),
            groups: m.strings("groups", diags),
            service_name: m.string("serviceName", diags),
            namespace: m.string("namespace", diags),
            pos: node.pos(),
        };
        m.ignore(&["noDuplicateARNs"]);
        m.finish(diags);
        if item.arn.is_none() && item.account.is_none() && item.service_name.is_none() {
            diags.push(Diagnostic::error(
                node.pos(),
                &path,
                format!("{path} needs an arn, an account or a serviceName"),
            ));
            continue;
        }
        out.push(item);
    }
    out
}

pub(super) fn parse_access_config(f: &mut Fields<'_>, diags: &mut Diags) -> AccessConfig {
    let Some(mut a) = f.map("accessConfig", diags) else {
        return AccessConfig::default();
    };
    let mut out = AccessConfig {
        authentication_mode: a.string("authenticationMode", diags),
        bootstrap_admin: a.bool("bootstrapClusterCreatorAdminPermissions", diags),
        entries: Vec::new(),
    };
    if let Some(m) = &out.authentication_mode
        && !["API", "API_AND_CONFIG_MAP", "CONFIG_MAP"].contains(&m.as_str())
    {
        diags.push(Diagnostic::error(
            a.pos(),
            "accessConfig.authenticationMode",
            format!("accessConfig.authenticationMode must be API, API_AND_CONFIG_MAP or CONFIG_MAP, found {m}"),
        ));
    }
    for (path, node) in a.seq("accessEntries", diags) {
        let Some(mut e) = Fields::of(node, &path, diags) else {
            continue;
        };
        let principal = e.required_string("principalARN", diags);
        let kind = e.string("type", diags);
        let kubernetes_groups = e.strings("kubernetesGroups", diags);
        let username = e.string("kubernetesUsername", diags);
        let mut policies = Vec::new();
        for (ppath, pnode) in e.seq("accessPolicies", diags) {
            let Some(mut p) = Fields::of(pnode, &ppath, diags) else {
                continue;
            };
            let arn = p.required_string("policyARN", diags);
            let (mut scope, mut namespaces) = ("cluster".to_string(), Vec::new());
            if let Some(mut s) = p.map("accessScope", diags) {
                if let Some(t) = s.string("type", diags) {
                    scope = t;
                }
                namespaces = s.strings("namespaces", diags);
                s.finish(diags);
            }
            p.finish(diags);
            if let Some(policy_arn) = arn {
                policies.push(AccessPolicy {
                    policy_arn,
                    scope,
                    namespaces,
                });
            }
        }
        e.finish(diags);
        if let Some(principal_arn) = principal {
            out.entries.push(AccessEntry {
                principal_arn,
                kind,
                kubernetes_groups,
                username,
                policies,
                pos: node.pos(),
            });
        }
    }
    a.finish(diags);
    out
}

pub(super) fn parse_pod_identities(i: &mut Fields<'_>, diags: &mut Diags) -> Vec<PodIdentity> {
    let mut out = Vec::new();
    for (path, node) in i.seq("podIdentityAssociations", diags) {
        let Some(mut p) = Fields::of(node, &path, diags) else {
            continue;
        };
        let namespace = p.required_string("namespace", diags);
        let sa = p.required_string("serviceAccountName", diags);
        let policy = p.node("permissionPolicy").map(|n| n.to_json().to_string());
        let mut well_known_policies = Vec::new();
        if let Some(mut wk) = p.map("wellKnownPolicies", diags) {
            for (key, _) in wk.keys() {
                if wk.bool(&key, diags) == Some(true) {
                    well_known_policies.push(key);
                }
            }
            wk.finish(diags);
        }
        let item = (namespace, sa);
        let role_arn = p.string("roleARN", diags);
        let role_name = p.string("roleName", diags);
        let policy_arns = p.strings("permissionPolicyARNs", diags);
        let permissions_boundary = p.string("permissionsBoundaryARN", diags);
        let create_service_account = p.bool("createServiceAccount", diags).unwrap_or(false);
        let target_role_arn = p.string("targetRoleARN", diags);
        let disable_session_tags = p.bool("disableSessionTags", diags).unwrap_or(false);
        p.ignore(&["tags"]);
        p.finish(diags);
        if let (Some(namespace), Some(service_account)) = item {
            out.push(PodIdentity {
                namespace,
                service_account,
                role_arn,
                role_name,
                policy_arns,
                policy,
                well_known_policies,
                permissions_boundary,
                create_service_account,
                target_role_arn,
                disable_session_tags,
                pos: node.pos(),
            });
        }
    }
    out
}

pub(super) fn parse_identity_providers(
    f: &mut Fields<'_>,
    diags: &mut Diags,
) -> Vec<IdentityProvider> {
    let mut out = Vec::new();
    for (path, node) in f.seq("identityProviders", diags) {
        let Some(mut p) = Fields::of(node, &path, diags) else {
            continue;
        };
        let name = p.required_string("name", diags);
        let kind = p.string("type", diags);
        if kind.as_deref().is_some_and(|k| k != "oidc") {
            diags.push(Diagnostic::error(
                node.pos(),
                &path,
                format!("{path}.type must be oidc (the only identity provider type EKS has)"),
            ));
        }
        let issuer = p.required_string("issuerURL", diags);
        let client = p.required_string("clientID", diags);
        let username_claim = p.string("usernameClaim", diags);
        let groups_claim = p.string("groupsClaim", diags);
        p.ignore(&["usernamePrefix", "groupsPrefix", "requiredClaims", "tags"]);
        p.finish(diags);
        if let (Some(name), Some(issuer_url), Some(client_id)) = (name, issuer, client) {
            out.push(IdentityProvider {
                name,
                issuer_url,
                client_id,
                username_claim,
                groups_claim,
                pos: node.pos(),
            });
        }
    }
    out
}
