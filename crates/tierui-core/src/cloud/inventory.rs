//! What AWS says about a cluster: EKS, its node groups and addons, the VPC with
//! subnets and NAT gateways, and the IAM OIDC provider. Read-only. Each part is
//! fetched on its own so one denied or throttled call shows as an error in its
//! place and never blanks the rest.

use std::future::Future;

use serde::Serialize;

use super::CloudError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveCluster {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub version: String,
    pub platform_version: String,
    pub endpoint_public: bool,
    pub endpoint_private: bool,
    pub public_access_cidrs: Vec<String>,
    pub oidc_issuer: Option<String>,
    pub logging: Vec<String>,
    pub vpc_id: Option<String>,
    pub subnet_ids: Vec<String>,
    /// The API server URL (what a kubeconfig's cluster `server` is).
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveNodegroup {
    pub name: String,
    pub status: String,
    pub min_size: i64,
    pub desired_size: i64,
    pub max_size: i64,
    pub instance_types: Vec<String>,
    pub ami_type: String,
    pub capacity_type: String,
    /// "code: message" per health issue.
    pub health_issues: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveAddon {
    pub name: String,
    pub version: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveSubnet {
    pub id: String,
    pub az: String,
    pub cidr: String,
    /// Launches get public IPs (how eksctl and the demo mark public subnets).
    pub public: bool,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveNat {
    pub id: String,
    pub state: String,
    pub subnet: String,
}

/// One part of the live state: its value, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", content = "value", rename_all = "snake_case")]
pub enum Part<T> {
    Ok(T),
    Error(CloudError),
    /// Not asked, because what it depends on is unknown.
    Unknown,
}

impl<T> Part<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Part::Ok(t) => Some(t),
            _ => None,
        }
    }

    pub fn from(r: Result<T, CloudError>) -> Part<T> {
        match r {
            Ok(t) => Part::Ok(t),
            Err(e) => Part::Error(e),
        }
    }
}

/// Everything tierui asks AWS about one cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterLive {
    /// Unix ms when it was fetched.
    pub fetched_at: u64,
    /// `None` inside `Ok` means the cluster does not exist.
    pub cluster: Part<Option<LiveCluster>>,
    pub nodegroups: Part<Vec<LiveNodegroup>>,
    pub addons: Part<Vec<LiveAddon>>,
    pub vpc_cidr: Part<String>,
    pub subnets: Part<Vec<LiveSubnet>>,
    pub nat_gateways: Part<Vec<LiveNat>>,
    /// An IAM OIDC provider exists for the cluster's issuer.
    pub oidc_provider: Part<bool>,
}

impl ClusterLive {
    /// The cloud said the cluster does not exist.
    pub fn absent(&self) -> bool {
        matches!(self.cluster, Part::Ok(None))
    }

    /// What DescribeCluster said of it, when it exists.
    pub fn described(&self) -> Option<&LiveCluster> {
        self.cluster.ok().and_then(Option::as_ref)
    }
}

/// The read calls behind a [`ClusterLive`]; both clouds implement them.
pub trait Inventory: Send + Sync + 'static {
    fn describe_cluster(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<LiveCluster>, CloudError>> + Send;
    fn nodegroups(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<LiveNodegroup>, CloudError>> + Send;
    fn addons(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<LiveAddon>, CloudError>> + Send;
    fn vpc_cidr(&self, vpc: &str) -> impl Future<Output = Result<String, CloudError>> + Send;
    fn subnets(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<LiveSubnet>, CloudError>> + Send;
    fn nat_gateways(
        &self,
        vpc: &str,
    ) -> impl Future<Output = Result<Vec<LiveNat>, CloudError>> + Send;
    fn oidc_provider_exists(
        &self,
        issuer: &str,
    ) -> impl Future<Output = Result<bool, CloudError>> + Send;
}

/// Asks every part independently; EKS first, then what its answer points at.
pub async fn fetch<I: Inventory>(inv: &I, name: &str, now_ms: u64) -> ClusterLive {
    let cluster = Part::from(inv.describe_cluster(name).await);
    let exists = matches!(&cluster, Part::Ok(Some(_)));
    let (nodegroups, addons) = if exists {
        let (n, a) = futures::join!(inv.nodegroups(name), inv.addons(name));
        let addons = match a {
            // Endpoints without the addon API (moto) report it as not implemented.
            Err(e) if e.is_not_implemented() => Part::Error(e),
            other => Part::from(other),
        };
        (Part::from(n), addons)
    } else {
        (Part::Ok(Vec::new()), Part::Ok(Vec::new()))
    };
    let live = cluster.ok().and_then(|c| c.clone());
    let (vpc_cidr, subnets, nat_gateways, oidc_provider) = match &live {
        Some(c) => {
            let vpc = c.vpc_id.clone().unwrap_or_default();
            let (v, s, n) = futures::join!(
                inv.vpc_cidr(&vpc),
                inv.subnets(&c.subnet_ids),
                inv.nat_gateways(&vpc)
            );
            let o = match &c.oidc_issuer {
                Some(issuer) => Part::from(inv.oidc_provider_exists(issuer).await),
                None => Part::Ok(false),
            };
            (Part::from(v), Part::from(s), Part::from(n), o)
        }
        None if exists => (Part::Unknown, Part::Unknown, Part::Unknown, Part::Unknown),
        None => match &cluster {
            Part::Ok(None) => (
                Part::Ok(String::new()),
                Part::Ok(Vec::new()),
                Part::Ok(Vec::new()),
                Part::Ok(false),
            ),
            _ => (Part::Unknown, Part::Unknown, Part::Unknown, Part::Unknown),
        },
    };
    ClusterLive {
        fetched_at: now_ms,
        cluster,
        nodegroups,
        addons,
        vpc_cidr,
        subnets,
        nat_gateways,
        oidc_provider,
    }
}
