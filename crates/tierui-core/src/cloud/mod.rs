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
    InternetGateway { id: Val },
    NatGateway { id: Val },
}

/// One AWS (or Kubernetes) operation of the walkthrough, with every parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum Op {
    CreateVpc {
        cidr: String,
        tags: Tags,
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
    },
    /// Writes a kubeconfig entry for the new cluster (tierui's own file, not ~/.kube/config).
    WriteKubeconfig {
        cluster: String,
        region: String,
        endpoint: Val,
        certificate: Val,
    },
    /// A Kubernetes ServiceAccount annotated with an IRSA role.
    CreateServiceAccount {
        cluster: String,
        namespace: String,
        name: String,
        role_arn: Val,
    },
    /// Something tierui shows but does not run (e.g. a Helm install).
    Manual {
        command: String,
        reason: String,
    },
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
        }
    }

    /// Whether the operation changes anything (live mode asks before these).
    pub fn mutates(&self) -> bool {
        !matches!(self, Op::Manual { .. } | Op::WriteKubeconfig { .. })
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
        }
    }
}

/// What a wait polls for after a call (or an undo) returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitFor {
    NatAvailable { id: String },
    NatDeleted { id: String },
    ClusterActive { name: String },
    ClusterGone { name: String },
    AddonActive { cluster: String, name: String },
    AddonGone { cluster: String, name: String },
    NodegroupActive { cluster: String, name: String },
    NodegroupGone { cluster: String, name: String },
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
        }
    }

    pub fn target(&self) -> &'static str {
        match self {
            WaitFor::NatAvailable { .. } => "available",
            WaitFor::ClusterActive { .. }
            | WaitFor::AddonActive { .. }
            | WaitFor::NodegroupActive { .. } => "ACTIVE",
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
