//! The cloud as the walkthrough and the cluster pane see it: tierui's own types for
//! AWS operations, results and errors, and the [`Cloud`] trait that the sandbox
//! cloud and the aws-sdk adapter both implement, with the inventory of a running
//! cluster. No SDK type crosses this line.

pub mod inventory;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};

pub type Tags = Vec<(String, String)>;

/// Tag keys that mark what the walkthrough created, so a rerun adopts instead of
/// duplicating and teardown can name everything.
pub const TAG_CLUSTER: &str = "tierui.io/cluster";
pub const TAG_STEP: &str = "tierui.io/step";

/// Whether a resource's own tags say that this walkthrough call created it: the
/// cluster tag and the step tag both present with exactly these values. Adoption
/// relies on this, checked on what a describe call returned, never on the
/// server's filters alone (an endpoint may ignore them).
pub fn tagged_by<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    cluster: &str,
    call_id: &str,
) -> bool {
    let (mut has_cluster, mut has_step) = (false, false);
    for (k, v) in tags {
        match k {
            TAG_CLUSTER if v == cluster => has_cluster = true,
            TAG_CLUSTER => return false,
            TAG_STEP if v == call_id => has_step = true,
            TAG_STEP => return false,
            _ => {}
        }
    }
    has_cluster && has_step
}

/// The one candidate an earlier run of this call created, from what a describe
/// call returned: those whose tags carry this cluster and call. Two or more is an
/// error (adopting either could hand one resource to two calls).
pub fn adopt_one<T>(
    api: &str,
    cluster: &str,
    call_id: &str,
    candidates: impl IntoIterator<Item = (T, Vec<(String, String)>)>,
) -> Result<Option<T>, CloudError> {
    let mut owned: Vec<T> = candidates
        .into_iter()
        .filter(|(_, tags)| {
            tagged_by(
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                cluster,
                call_id,
            )
        })
        .map(|(t, _)| t)
        .collect();
    match owned.len() {
        0 => Ok(None),
        1 => Ok(owned.pop()),
        n => Err(CloudError::new(
            api,
            "AmbiguousAdoption",
            format!(
                "{n} resources carry the tags {TAG_CLUSTER}={cluster} and {TAG_STEP}={call_id}; tierui adopts only when exactly one does — delete the extra ones or untag them"
            ),
        )),
    }
}

/// A parameter that is either known when planning or the output of an earlier call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Val {
    Lit(String),
    Ref { call: String, key: String },
}

impl Val {
    pub fn of(call: &str, key: &str) -> Val {
        Val::Ref {
            call: call.to_string(),
            key: key.to_string(),
        }
    }

    /// The value with references looked up in `outputs` (call id → key → value).
    pub fn resolve(&self, outputs: &Outputs) -> Result<String, String> {
        match self {
            Val::Lit(s) => Ok(s.clone()),
            Val::Ref { call, key } => outputs
                .get(call)
                .and_then(|o| o.get(key))
                .cloned()
                .ok_or_else(|| format!("{key} of {call} is not known yet")),
        }
    }

    /// How the value reads in a plan: literal text, or `<key of call>`.
    pub fn display(&self) -> String {
        match self {
            Val::Lit(s) => s.clone(),
            Val::Ref { call, key } => format!("<{key} of {call}>"),
        }
    }
}

/// Call id → output key → value.
pub type Outputs = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Trust {
    /// An AWS service assumes the role (eks.amazonaws.com, ec2.amazonaws.com).
    Service { service: String },
    /// IRSA: a Kubernetes service account assumes the role through the OIDC provider.
    WebIdentity {
        provider_arn: Val,
        issuer: Val,
        namespace: String,
        service_account: String,
    },
    /// EKS Pod Identity: the pods.eks.amazonaws.com service assumes the role
    /// (with session tags) for the associated service account.
    PodIdentity,
}

impl Trust {
    /// The role's IAM trust policy document (both clouds send the same text);
    /// `Err` names the earlier output it needs that is not known yet.
    pub fn document(&self, outputs: &Outputs) -> Result<String, String> {
        Ok(match self {
            Trust::Service { service } => serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}).to_string(),
            Trust::WebIdentity { provider_arn, issuer, namespace, service_account } => {
                let provider = provider_arn.resolve(outputs)?;
                let host = issuer.resolve(outputs)?.trim_start_matches("https://").to_string();
                serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {format!("{host}:sub"): format!("system:serviceaccount:{namespace}:{service_account}"), format!("{host}:aud"): "sts.amazonaws.com"}}}]}).to_string()
            }
            Trust::PodIdentity => serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}).to_string(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VpcAttribute {
    EnableDnsSupport,
    EnableDnsHostnames,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via")]
pub enum RouteTarget {
    InternetGateway {
        id: Val,
    },
    NatGateway {
        id: Val,
    },
    /// IPv6 egress for private subnets (`::/0`).
    EgressOnlyInternetGateway {
        id: Val,
    },
}

/// Who a security group rule lets in: another group or a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from")]
pub enum Peer {
    Group { id: Val },
    Cidr { cidr: String },
}

/// The bootstrap a launch template's user data runs, rendered by
/// [`crate::walkthrough::bootstrap::user_data`] once the cluster's endpoint and
/// certificate are known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    /// AmazonLinux2023, AmazonLinux2, Bottlerocket, WindowsServer2019FullContainer …
    pub family: String,
    pub cluster: String,
    pub endpoint: Val,
    pub certificate: Val,
    pub service_cidr: String,
    pub labels: Vec<(String, String)>,
    pub taints: Vec<(String, String, String)>,
    pub max_pods: Option<i64>,
    pub pre_bootstrap: Vec<String>,
    /// Replaces the family's bootstrap command (custom AMIs).
    pub override_command: Option<String>,
    /// Bottlerocket settings as JSON (becomes TOML).
    pub bottlerocket: Option<String>,
}

/// The root volume of a launch template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Volume {
    pub size_gib: Option<i64>,
    pub kind: Option<String>,
    pub encrypted: bool,
    pub kms_key: Option<String>,
    /// /dev/xvda (Amazon Linux), /dev/xvdb (Bottlerocket data), /dev/sda1 (Windows).
    pub device: String,
}

/// How an Auto Scaling group mixes on-demand and spot instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mix {
    pub on_demand_base: i64,
    pub on_demand_percentage: i64,
    pub spot_strategy: Option<String>,
    pub spot_pools: Option<i64>,
    pub max_price: Option<String>,
}

/// One AWS (or Kubernetes) operation of the walkthrough, with every parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum Op {
    CreateVpc {
        cidr: String,
        tags: Tags,
        /// Also ask for an Amazon-provided IPv6 /56.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ipv6: bool,
    },
    ModifyVpcAttribute {
        vpc: Val,
        attribute: VpcAttribute,
    },
    CreateSubnet {
        vpc: Val,
        cidr: String,
        az: String,
        tags: Tags,
        /// The n-th /64 of the VPC's IPv6 /56 (IPv6 clusters).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ipv6_block: Option<u8>,
    },
    MapPublicIpOnLaunch {
        subnet: Val,
    },
    CreateInternetGateway {
        tags: Tags,
    },
    AttachInternetGateway {
        igw: Val,
        vpc: Val,
    },
    AllocateAddress {
        tags: Tags,
    },
    CreateNatGateway {
        subnet: Val,
        allocation: Val,
        tags: Tags,
    },
    CreateRouteTable {
        vpc: Val,
        tags: Tags,
    },
    CreateRoute {
        table: Val,
        destination: String,
        target: RouteTarget,
    },
    AssociateRouteTable {
        table: Val,
        subnet: Val,
    },
    CreateSecurityGroup {
        vpc: Val,
        name: String,
        description: String,
        tags: Tags,
    },
    CreateRole {
        name: String,
        trust: Trust,
        description: String,
        tags: Tags,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        permissions_boundary: Option<String>,
    },
    AttachRolePolicy {
        role: String,
        policy_arn: Val,
    },
    CreatePolicy {
        name: String,
        document: String,
        tags: Tags,
    },
    CreateCluster {
        name: String,
        version: Option<String>,
        role_arn: Val,
        subnets: Vec<Val>,
        security_groups: Vec<Val>,
        public_access: bool,
        private_access: bool,
        public_access_cidrs: Vec<String>,
        logging: Vec<String>,
        tags: Tags,
        #[serde(default, skip_serializing_if = "ClusterExtras::is_empty")]
        extras: ClusterExtras,
    },
    CreateOidcProvider {
        issuer: Val,
        client_ids: Vec<String>,
        thumbprint: String,
        tags: Tags,
    },
    CreateAddon {
        cluster: String,
        name: String,
        version: Option<String>,
        role_arn: Option<Val>,
        tags: Tags,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        configuration_values: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolve_conflicts: Option<String>,
    },
    CreateNodegroup {
        cluster: String,
        name: String,
        role_arn: Val,
        subnets: Vec<Val>,
        instance_types: Vec<String>,
        min_size: i64,
        desired_size: i64,
        max_size: i64,
        disk_size: Option<i64>,
        capacity_type: String,
        labels: Vec<(String, String)>,
        taints: Vec<(String, String, String)>,
        tags: Tags,
        #[serde(default, skip_serializing_if = "NodegroupExtras::is_empty")]
        extras: NodegroupExtras,
    },
    /// Writes a kubeconfig entry for the new cluster (tierui's own file, not ~/.kube/config).
    WriteKubeconfig {
        cluster: String,
        region: String,
        endpoint: Val,
        certificate: Val,
    },
    /// A Kubernetes ServiceAccount, annotated with its IRSA role when it has one
    /// (pod identity needs no annotation).
    CreateServiceAccount {
        cluster: String,
        namespace: String,
        name: String,
        role_arn: Option<Val>,
    },
    /// Something tierui shows but does not run (e.g. a Helm install).
    Manual {
        command: String,
        reason: String,
    },
    /// A security group rule (ingress).
    AuthorizeIngress {
        group: Val,
        peer: Peer,
        protocol: String,
        from_port: i32,
        to_port: i32,
        description: String,
    },
    CreateLaunchTemplate {
        name: String,
        /// An AMI id, or `resolve:ssm:<parameter>` for the EKS-optimised image.
        image: String,
        instance_type: Option<String>,
        bootstrap: Bootstrap,
        volume: Volume,
        key_name: Option<Val>,
        security_groups: Vec<Val>,
        instance_profile: Option<Val>,
        /// IMDSv2 only (`disableIMDSv1`).
        imds_v2_only: bool,
        tags: Tags,
    },
    ImportKeyPair {
        name: String,
        public_key: Option<String>,
        /// Read when the call runs (`~` is the home directory).
        public_key_path: Option<String>,
        tags: Tags,
    },
    CreateVpcEndpoint {
        vpc: Val,
        service: String,
        /// Interface or Gateway.
        kind: String,
        subnets: Vec<Val>,
        security_groups: Vec<Val>,
        route_tables: Vec<Val>,
        tags: Tags,
    },
    CreateEgressOnlyInternetGateway {
        vpc: Val,
        tags: Tags,
    },
    /// Finds and checks a subnet the config names (existing VPC); creates nothing.
    FindSubnet {
        vpc: Option<String>,
        id: Option<String>,
        cidr: Option<String>,
        az: Option<String>,
        public: bool,
    },
    /// Adds tags to a resource the walkthrough did not create (with consent;
    /// teardown leaves them).
    TagResource {
        resource: Val,
        tags: Tags,
    },
    CreateInstanceProfile {
        name: String,
        tags: Tags,
    },
    AddRoleToInstanceProfile {
        profile: String,
        role: String,
    },
    PutRolePolicy {
        role: String,
        name: String,
        document: String,
    },
    CreateAutoScalingGroup {
        name: String,
        launch_template: Val,
        subnets: Vec<Val>,
        min_size: i64,
        desired_size: i64,
        max_size: i64,
        /// More than one, or a mix, becomes a MixedInstancesPolicy.
        instance_types: Vec<String>,
        mix: Option<Mix>,
        target_group_arns: Vec<String>,
        load_balancers: Vec<String>,
        tags: Tags,
    },
    CreateKey {
        description: String,
        tags: Tags,
    },
    /// Checks a given KMS key can encrypt (Enabled, symmetric); creates nothing.
    DescribeKey {
        key: String,
    },
    CreateFargateProfile {
        cluster: String,
        name: String,
        role_arn: Val,
        subnets: Vec<Val>,
        selectors: Vec<(String, Vec<(String, String)>)>,
        tags: Tags,
    },
    CreateAccessEntry {
        cluster: String,
        principal_arn: Val,
        kind: Option<String>,
        groups: Vec<String>,
        username: Option<String>,
        tags: Tags,
    },
    AssociateAccessPolicy {
        cluster: String,
        principal_arn: Val,
        policy_arn: String,
        /// cluster or namespace.
        scope: String,
        namespaces: Vec<String>,
    },
    CreatePodIdentityAssociation {
        cluster: String,
        namespace: String,
        service_account: String,
        role_arn: Val,
        target_role_arn: Option<String>,
        disable_session_tags: bool,
        tags: Tags,
    },
    AssociateIdentityProvider {
        cluster: String,
        name: String,
        issuer_url: String,
        client_id: String,
        username_claim: Option<String>,
        groups_claim: Option<String>,
        tags: Tags,
    },
    /// An entry of the `aws-auth` ConfigMap (mapRoles / mapUsers / mapAccounts),
    /// written through the cluster API.
    MapIdentity {
        cluster: String,
        /// role, user or account.
        kind: String,
        arn: Val,
        username: Option<String>,
        groups: Vec<String>,
    },
}

/// CreateCluster parameters most configs leave at their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClusterExtras {
    /// Envelope encryption of Secrets with this KMS key.
    pub encryption_key: Option<Val>,
    /// ipv4 or ipv6.
    pub ip_family: Option<String>,
    pub service_ipv4_cidr: Option<String>,
    /// API, API_AND_CONFIG_MAP or CONFIG_MAP.
    pub authentication_mode: Option<String>,
    pub bootstrap_admin: Option<bool>,
    pub zonal_shift: Option<bool>,
    /// STANDARD or EXTENDED.
    pub upgrade_support_type: Option<String>,
    /// standard, tier-xl …
    pub control_plane_tier: Option<String>,
}

impl ClusterExtras {
    pub fn is_empty(&self) -> bool {
        *self == ClusterExtras::default()
    }
}

/// CreateNodegroup parameters most configs leave at their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NodegroupExtras {
    /// (launch template id, version): eksctl's for a custom AMI, or the config's own.
    pub launch_template: Option<(Val, Option<String>)>,
    pub ssh_key: Option<Val>,
    pub ssh_source_security_groups: Vec<String>,
    pub max_unavailable: Option<i64>,
    pub node_repair: bool,
}

impl NodegroupExtras {
    pub fn is_empty(&self) -> bool {
        *self == NodegroupExtras::default()
    }
}

/// Undo operations for teardown, in the order they must run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum Undo {
    DeleteNodegroup {
        cluster: String,
        name: String,
    },
    DeleteAddon {
        cluster: String,
        name: String,
    },
    DeleteCluster {
        name: String,
    },
    DeleteOidcProvider {
        arn: String,
    },
    DetachRolePolicy {
        role: String,
        policy_arn: String,
    },
    DeleteRole {
        name: String,
    },
    DeletePolicy {
        arn: String,
    },
    DisassociateRouteTable {
        association: String,
    },
    DeleteRouteTable {
        id: String,
    },
    DeleteNatGateway {
        id: String,
    },
    ReleaseAddress {
        allocation: String,
    },
    DetachInternetGateway {
        igw: String,
        vpc: String,
    },
    DeleteInternetGateway {
        id: String,
    },
    DeleteSubnet {
        id: String,
    },
    DeleteSecurityGroup {
        id: String,
    },
    DeleteVpc {
        id: String,
    },
    RemoveKubeconfig {
        cluster: String,
    },
    DeleteServiceAccount {
        cluster: String,
        namespace: String,
        name: String,
    },
    RevokeIngress {
        group: String,
        /// A group id (sg-…) or a CIDR block.
        peer: String,
        protocol: String,
        from_port: i32,
        to_port: i32,
    },
    DeleteLaunchTemplate {
        id: String,
    },
    DeleteKeyPair {
        name: String,
    },
    DeleteVpcEndpoint {
        id: String,
    },
    DeleteEgressOnlyInternetGateway {
        id: String,
    },
    RemoveRoleFromInstanceProfile {
        profile: String,
        role: String,
    },
    DeleteInstanceProfile {
        name: String,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    /// Sets min, desired and max to 0 so the group terminates its instances.
    DrainAutoScalingGroup {
        name: String,
    },
    DeleteAutoScalingGroup {
        name: String,
    },
    /// KMS keys are never deleted at once: the key waits 7 days (the minimum)
    /// in PendingDeletion and can be cancelled until then.
    ScheduleKeyDeletion {
        key_id: String,
    },
    DeleteFargateProfile {
        cluster: String,
        name: String,
    },
    DeleteAccessEntry {
        cluster: String,
        principal_arn: String,
    },
    DeletePodIdentityAssociation {
        cluster: String,
        id: String,
    },
    DisassociateIdentityProvider {
        cluster: String,
        name: String,
    },
    UnmapIdentity {
        cluster: String,
        kind: String,
        arn: String,
    },
}

impl Op {
    /// `service:Action` as AWS names it (what the API call is called).
    pub fn api(&self) -> &'static str {
        match self {
            Op::CreateVpc { .. } => "ec2:CreateVpc",
            Op::ModifyVpcAttribute { .. } => "ec2:ModifyVpcAttribute",
            Op::CreateSubnet { .. } => "ec2:CreateSubnet",
            Op::MapPublicIpOnLaunch { .. } => "ec2:ModifySubnetAttribute",
            Op::CreateInternetGateway { .. } => "ec2:CreateInternetGateway",
            Op::AttachInternetGateway { .. } => "ec2:AttachInternetGateway",
            Op::AllocateAddress { .. } => "ec2:AllocateAddress",
            Op::CreateNatGateway { .. } => "ec2:CreateNatGateway",
            Op::CreateRouteTable { .. } => "ec2:CreateRouteTable",
            Op::CreateRoute { .. } => "ec2:CreateRoute",
            Op::AssociateRouteTable { .. } => "ec2:AssociateRouteTable",
            Op::CreateSecurityGroup { .. } => "ec2:CreateSecurityGroup",
            Op::CreateRole { .. } => "iam:CreateRole",
            Op::AttachRolePolicy { .. } => "iam:AttachRolePolicy",
            Op::CreatePolicy { .. } => "iam:CreatePolicy",
            Op::CreateCluster { .. } => "eks:CreateCluster",
            Op::CreateOidcProvider { .. } => "iam:CreateOpenIDConnectProvider",
            Op::CreateAddon { .. } => "eks:CreateAddon",
            Op::CreateNodegroup { .. } => "eks:CreateNodegroup",
            Op::WriteKubeconfig { .. } => "tierui:WriteKubeconfig",
            Op::CreateServiceAccount { .. } => "kubernetes:CreateServiceAccount",
            Op::Manual { .. } => "manual",
            Op::AuthorizeIngress { .. } => "ec2:AuthorizeSecurityGroupIngress",
            Op::CreateLaunchTemplate { .. } => "ec2:CreateLaunchTemplate",
            Op::ImportKeyPair { .. } => "ec2:ImportKeyPair",
            Op::CreateVpcEndpoint { .. } => "ec2:CreateVpcEndpoint",
            Op::CreateEgressOnlyInternetGateway { .. } => "ec2:CreateEgressOnlyInternetGateway",
            Op::FindSubnet { .. } => "ec2:DescribeSubnets",
            Op::TagResource { .. } => "ec2:CreateTags",
            Op::CreateInstanceProfile { .. } => "iam:CreateInstanceProfile",
            Op::AddRoleToInstanceProfile { .. } => "iam:AddRoleToInstanceProfile",
            Op::PutRolePolicy { .. } => "iam:PutRolePolicy",
            Op::CreateAutoScalingGroup { .. } => "autoscaling:CreateAutoScalingGroup",
            Op::CreateKey { .. } => "kms:CreateKey",
            Op::DescribeKey { .. } => "kms:DescribeKey",
            Op::CreateFargateProfile { .. } => "eks:CreateFargateProfile",
            Op::CreateAccessEntry { .. } => "eks:CreateAccessEntry",
            Op::AssociateAccessPolicy { .. } => "eks:AssociateAccessPolicy",
            Op::CreatePodIdentityAssociation { .. } => "eks:CreatePodIdentityAssociation",
            Op::AssociateIdentityProvider { .. } => "eks:AssociateIdentityProviderConfig",
            Op::MapIdentity { .. } => "kubernetes:UpdateConfigMap(aws-auth)",
        }
    }

    /// Whether the operation changes anything (live mode asks before these).
    pub fn mutates(&self) -> bool {
        !matches!(
            self,
            Op::Manual { .. }
                | Op::WriteKubeconfig { .. }
                | Op::FindSubnet { .. }
                | Op::DescribeKey { .. }
        )
    }
}

impl Undo {
    pub fn api(&self) -> &'static str {
        match self {
            Undo::DeleteNodegroup { .. } => "eks:DeleteNodegroup",
            Undo::DeleteAddon { .. } => "eks:DeleteAddon",
            Undo::DeleteCluster { .. } => "eks:DeleteCluster",
            Undo::DeleteOidcProvider { .. } => "iam:DeleteOpenIDConnectProvider",
            Undo::DetachRolePolicy { .. } => "iam:DetachRolePolicy",
            Undo::DeleteRole { .. } => "iam:DeleteRole",
            Undo::DeletePolicy { .. } => "iam:DeletePolicy",
            Undo::DisassociateRouteTable { .. } => "ec2:DisassociateRouteTable",
            Undo::DeleteRouteTable { .. } => "ec2:DeleteRouteTable",
            Undo::DeleteNatGateway { .. } => "ec2:DeleteNatGateway",
            Undo::ReleaseAddress { .. } => "ec2:ReleaseAddress",
            Undo::DetachInternetGateway { .. } => "ec2:DetachInternetGateway",
            Undo::DeleteInternetGateway { .. } => "ec2:DeleteInternetGateway",
            Undo::DeleteSubnet { .. } => "ec2:DeleteSubnet",
            Undo::DeleteSecurityGroup { .. } => "ec2:DeleteSecurityGroup",
            Undo::DeleteVpc { .. } => "ec2:DeleteVpc",
            Undo::RemoveKubeconfig { .. } => "tierui:RemoveKubeconfig",
            Undo::DeleteServiceAccount { .. } => "kubernetes:DeleteServiceAccount",
            Undo::RevokeIngress { .. } => "ec2:RevokeSecurityGroupIngress",
            Undo::DeleteLaunchTemplate { .. } => "ec2:DeleteLaunchTemplate",
            Undo::DeleteKeyPair { .. } => "ec2:DeleteKeyPair",
            Undo::DeleteVpcEndpoint { .. } => "ec2:DeleteVpcEndpoints",
            Undo::DeleteEgressOnlyInternetGateway { .. } => "ec2:DeleteEgressOnlyInternetGateway",
            Undo::RemoveRoleFromInstanceProfile { .. } => "iam:RemoveRoleFromInstanceProfile",
            Undo::DeleteInstanceProfile { .. } => "iam:DeleteInstanceProfile",
            Undo::DeleteRolePolicy { .. } => "iam:DeleteRolePolicy",
            Undo::DrainAutoScalingGroup { .. } => "autoscaling:UpdateAutoScalingGroup",
            Undo::DeleteAutoScalingGroup { .. } => "autoscaling:DeleteAutoScalingGroup",
            Undo::ScheduleKeyDeletion { .. } => "kms:ScheduleKeyDeletion",
            Undo::DeleteFargateProfile { .. } => "eks:DeleteFargateProfile",
            Undo::DeleteAccessEntry { .. } => "eks:DeleteAccessEntry",
            Undo::DeletePodIdentityAssociation { .. } => "eks:DeletePodIdentityAssociation",
            Undo::DisassociateIdentityProvider { .. } => "eks:DisassociateIdentityProviderConfig",
            Undo::UnmapIdentity { .. } => "kubernetes:UpdateConfigMap(aws-auth)",
        }
    }
}

/// What a wait polls for after a call (or an undo) returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitFor {
    NatAvailable {
        id: String,
    },
    NatDeleted {
        id: String,
    },
    ClusterActive {
        name: String,
    },
    ClusterGone {
        name: String,
    },
    AddonActive {
        cluster: String,
        name: String,
    },
    AddonGone {
        cluster: String,
        name: String,
    },
    NodegroupActive {
        cluster: String,
        name: String,
    },
    NodegroupGone {
        cluster: String,
        name: String,
    },
    /// Every desired instance of the group InService.
    AsgInService {
        name: String,
        desired: i64,
    },
    /// No instances left in the group.
    AsgDrained {
        name: String,
    },
    AsgGone {
        name: String,
    },
    FargateActive {
        cluster: String,
        name: String,
    },
    FargateGone {
        cluster: String,
        name: String,
    },
}

impl WaitFor {
    /// The describe call that is polled.
    pub fn api(&self) -> &'static str {
        match self {
            WaitFor::NatAvailable { .. } | WaitFor::NatDeleted { .. } => "ec2:DescribeNatGateways",
            WaitFor::ClusterActive { .. } | WaitFor::ClusterGone { .. } => "eks:DescribeCluster",
            WaitFor::AddonActive { .. } | WaitFor::AddonGone { .. } => "eks:DescribeAddon",
            WaitFor::NodegroupActive { .. } | WaitFor::NodegroupGone { .. } => {
                "eks:DescribeNodegroup"
            }
            WaitFor::AsgInService { .. } | WaitFor::AsgDrained { .. } | WaitFor::AsgGone { .. } => {
                "autoscaling:DescribeAutoScalingGroups"
            }
            WaitFor::FargateActive { .. } | WaitFor::FargateGone { .. } => {
                "eks:DescribeFargateProfile"
            }
        }
    }

    pub fn target(&self) -> &'static str {
        match self {
            WaitFor::NatAvailable { .. } => "available",
            WaitFor::ClusterActive { .. }
            | WaitFor::AddonActive { .. }
            | WaitFor::NodegroupActive { .. }
            | WaitFor::FargateActive { .. } => "ACTIVE",
            WaitFor::AsgInService { .. } => "InService",
            WaitFor::AsgDrained { .. } => "0 instances",
            WaitFor::NatDeleted { .. } => "deleted",
            _ => "gone",
        }
    }
}

/// One poll's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Poll {
    /// Still working; the resource's current status as AWS reports it.
    Pending(String),
    Done,
    /// The resource reached a terminal failure state (CREATE_FAILED, failed …).
    Failed(String),
}

/// An error as AWS reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudError {
    /// `service:Action` of the failing call.
    pub api: String,
    /// AWS's error code (`DependencyViolation`, `AccessDeniedException` …).
    pub code: String,
    pub message: String,
    /// HTTP status when there was a response.
    pub status: Option<u16>,
}

impl CloudError {
    pub fn new(api: &str, code: &str, message: impl Into<String>) -> CloudError {
        CloudError {
            api: api.to_string(),
            code: code.to_string(),
            message: message.into(),
            status: None,
        }
    }

    /// The endpoint does not implement this API (moto answers some EKS calls with
    /// an HTML 404 page); the walkthrough reports it and goes on.
    pub fn is_not_implemented(&self) -> bool {
        self.code == "NotImplemented"
    }

    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code.as_str(),
            "ResourceNotFoundException"
                | "NoSuchEntity"
                | "InvalidVpcID.NotFound"
                | "InvalidSubnetID.NotFound"
                | "InvalidInternetGatewayID.NotFound"
                | "InvalidAllocationID.NotFound"
                | "NatGatewayNotFound"
                | "InvalidRouteTableID.NotFound"
                | "InvalidAssociationID.NotFound"
                | "InvalidGroup.NotFound"
                | "Gateway.NotAttached"
                | "NotFound"
                | "InvalidLaunchTemplateId.NotFound"
                | "InvalidKeyPair.NotFound"
                | "InvalidVpcEndpointId.NotFound"
                | "InvalidGatewayID.NotFound"
                | "InvalidPermission.NotFound"
        )
    }
}

impl CloudError {
    /// An operation handed to a function of another service family (a bug in
    /// the dispatch, never an AWS answer).
    pub fn misrouted(op: &Op) -> CloudError {
        CloudError::new(
            op.api(),
            "InvalidAction",
            format!("{} is not handled here", op.api()),
        )
    }
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}: {}", self.api, self.code, self.message)?;
        if let Some(s) = self.status {
            write!(f, " (HTTP {s})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CloudError {}

/// Who the calls run as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub region: String,
    /// Where the calls go: "sandbox", "aws" or an endpoint URL.
    pub endpoint: String,
}

/// What a finished operation produced: `id`, `arn`, `endpoint` … as text.
pub type Produced = BTreeMap<String, String>;

/// The operations the walkthrough needs. `find` looks for a resource a previous run
/// created (by the tierui tags or its fixed name) so a rerun adopts it.
pub trait Cloud: Send + Sync + 'static {
    fn identity(&self) -> impl Future<Output = Result<Identity, CloudError>> + Send;
    /// The availability zones a region offers.
    fn availability_zones(&self) -> impl Future<Output = Result<Vec<String>, CloudError>> + Send;
    fn find(
        &self,
        cluster: &str,
        call_id: &str,
        op: &Op,
        outputs: &Outputs,
    ) -> impl Future<Output = Result<Option<Produced>, CloudError>> + Send;
    fn execute(
        &self,
        call_id: &str,
        op: &Op,
        outputs: &Outputs,
    ) -> impl Future<Output = Result<Produced, CloudError>> + Send;
    fn poll(&self, wait: &WaitFor) -> impl Future<Output = Result<Poll, CloudError>> + Send;
    fn undo(&self, undo: &Undo) -> impl Future<Output = Result<(), CloudError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn adoption_needs_both_tags_with_exactly_these_values() {
        let both = t(&[(TAG_CLUSTER, "dawn"), (TAG_STEP, "nat-eu-west-1a")]);
        fn b(v: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
            v.iter().map(|(k, v)| (k.as_str(), v.as_str()))
        }
        assert!(tagged_by(b(&both), "dawn", "nat-eu-west-1a"));
        // Another AZ's NAT of the same cluster is not this call's.
        assert!(!tagged_by(b(&both), "dawn", "nat-eu-west-1b"));
        // Another cluster's.
        assert!(!tagged_by(b(&both), "dusk", "nat-eu-west-1a"));
        // A prefix or a case variant is not the value.
        assert!(!tagged_by(b(&both), "daw", "nat-eu-west-1a"));
        assert!(!tagged_by(b(&both), "Dawn", "nat-eu-west-1a"));
        // One tag alone proves nothing.
        let cluster_only = t(&[(TAG_CLUSTER, "dawn"), ("Name", "dawn-nat")]);
        assert!(!tagged_by(b(&cluster_only), "dawn", "nat-eu-west-1a"));
        assert!(!tagged_by(b(&[]), "dawn", "nat-eu-west-1a"));
        // A tag key that only looks like ours.
        let lookalike = t(&[("tierui.io/cluster ", "dawn"), (TAG_STEP, "nat-eu-west-1a")]);
        assert!(!tagged_by(b(&lookalike), "dawn", "nat-eu-west-1a"));
    }

    #[test]
    fn adopt_one_picks_the_tagged_candidate_and_refuses_two() {
        // What an endpoint that ignores the tag filter answers: every NAT.
        let all = vec![
            (
                "nat-1",
                t(&[(TAG_CLUSTER, "dawn"), (TAG_STEP, "nat-eu-west-1a")]),
            ),
            (
                "nat-2",
                t(&[(TAG_CLUSTER, "dawn"), (TAG_STEP, "nat-eu-west-1b")]),
            ),
            ("nat-3", t(&[("Name", "someone else's")])),
        ];
        let api = "ec2:CreateNatGateway";
        assert_eq!(
            adopt_one(api, "dawn", "nat-eu-west-1b", all.clone()).unwrap(),
            Some("nat-2")
        );
        assert_eq!(
            adopt_one(api, "dawn", "nat-eu-west-1c", all.clone()).unwrap(),
            None
        );
        let mut twice = all;
        twice.push((
            "nat-4",
            t(&[(TAG_CLUSTER, "dawn"), (TAG_STEP, "nat-eu-west-1a")]),
        ));
        let e = adopt_one(api, "dawn", "nat-eu-west-1a", twice).unwrap_err();
        assert_eq!(e.code, "AmbiguousAdoption");
        assert!(e.message.contains("2 resources"), "{}", e.message);
    }
}
