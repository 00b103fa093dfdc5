//! The sandbox cloud's state: an account with EC2, IAM and EKS resources, kept per
//! workspace in the state dir. Resource states are derived from timestamps
//! (`ready_at`, `gone_at`), so time passes for a cluster being created even while
//! tierui is not running, and a manual clock makes tests exact.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use tierui_core::cloud::Tags;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct World {
    pub seed: u64,
    /// Draws taken from the seed so far (IDs stay unique and replayable).
    pub draws: u64,
    pub account: String,
    pub regions: BTreeMap<String, Region>,
    pub iam: Iam,
    /// Errors to answer instead of doing the call (`service:Action` → error).
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Instance profiles and inline role policies.
    #[serde(default)]
    pub iam_extra: super::extra::IamExtra,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// `service:Action`, or `service:*` for every call of a service.
    pub api: String,
    pub code: String,
    pub message: String,
    /// Only in this region (None: everywhere).
    pub region: Option<String>,
    /// How many more times to fire (None: always).
    pub times: Option<u32>,
}

/// A resource whose creation and deletion take time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Unix ms when it became (or becomes) ready.
    pub ready_at: u64,
    /// Unix ms when deletion started and when it is gone.
    pub deleting: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Creating,
    Ready,
    Deleting,
    Gone,
}

impl Lifecycle {
    pub fn phase(&self, now: u64) -> Phase {
        match self.deleting {
            Some((_, gone)) if now >= gone => Phase::Gone,
            Some(_) => Phase::Deleting,
            None if now >= self.ready_at => Phase::Ready,
            None => Phase::Creating,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub vpcs: BTreeMap<String, Vpc>,
    pub subnets: BTreeMap<String, Subnet>,
    pub igws: BTreeMap<String, InternetGateway>,
    pub eips: BTreeMap<String, Address>,
    pub nats: BTreeMap<String, NatGateway>,
    pub route_tables: BTreeMap<String, RouteTable>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub clusters: BTreeMap<String, Cluster>,
    /// Keyed `cluster/nodegroup`.
    pub nodegroups: BTreeMap<String, Nodegroup>,
    /// Keyed `cluster/addon`.
    pub addons: BTreeMap<String, Addon>,
    /// Auto Scaling, KMS, launch templates, Fargate, access entries …
    #[serde(default)]
    pub extra: super::extra::RegionExtra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vpc {
    pub cidr: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    pub vpc: String,
    pub cidr: String,
    pub az: String,
    pub map_public_ip: bool,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InternetGateway {
    pub vpc: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub public_ip: String,
    /// The NAT gateway using it.
    pub nat: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatGateway {
    pub vpc: String,
    pub subnet: String,
    pub allocation: String,
    pub life: Lifecycle,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteTable {
    pub vpc: String,
    /// (destination CIDR, target id)
    pub routes: Vec<(String, String)>,
    /// (association id, subnet id)
    pub associations: Vec<(String, String)>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub vpc: String,
    pub name: String,
    pub description: String,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub arn: String,
    pub version: String,
    pub platform_version: String,
    pub role_arn: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub vpc: String,
    pub public_access: bool,
    pub private_access: bool,
    pub public_access_cidrs: Vec<String>,
    pub logging: Vec<String>,
    pub endpoint: String,
    pub certificate: String,
    pub issuer: String,
    pub created_at: u64,
    pub life: Lifecycle,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nodegroup {
    pub arn: String,
    pub role_arn: String,
    pub subnets: Vec<String>,
    pub instance_types: Vec<String>,
    pub min_size: i64,
    pub desired_size: i64,
    pub max_size: i64,
    pub disk_size: i64,
    pub capacity_type: String,
    pub ami_type: String,
    pub labels: Vec<(String, String)>,
    pub life: Lifecycle,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Addon {
    pub version: String,
    pub role_arn: Option<String>,
    pub life: Lifecycle,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Iam {
    pub roles: BTreeMap<String, Role>,
    /// Customer-managed policies by ARN.
    pub policies: BTreeMap<String, Policy>,
    /// OIDC providers by ARN.
    pub oidc: BTreeMap<String, OidcProvider>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub arn: String,
    pub trust: String,
    pub attached: Vec<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    pub document: String,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OidcProvider {
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub tags: Tags,
}

/// Seconds AWS usually takes (at speed 1).
pub mod durations {
    pub const NAT_CREATE: u64 = 90;
    pub const NAT_DELETE: u64 = 60;
    pub const CLUSTER_CREATE: u64 = 600;
    pub const CLUSTER_DELETE: u64 = 300;
    pub const NODEGROUP_CREATE: u64 = 240;
    pub const NODEGROUP_DELETE: u64 = 180;
    pub const ADDON_CREATE: u64 = 45;
    pub const ADDON_DELETE: u64 = 30;
}

pub fn has_tag(tags: &Tags, key: &str, value: &str) -> bool {
    tags.iter().any(|(k, v)| k == key && v == value)
}

impl World {
    pub fn new(seed: u64) -> World {
        World {
            seed,
            draws: 0,
            account: "123456789012".into(),
            ..World::default()
        }
    }

    /// The next pseudo-random number (splitmix64 over seed + draw count).
    pub fn draw(&mut self) -> u64 {
        self.draws += 1;
        let mut z = self
            .seed
            .wrapping_add(self.draws.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An EC2-style id: `vpc-0` followed by 16 hex digits.
    pub fn ec2_id(&mut self, prefix: &str) -> String {
        format!("{prefix}-0{:016x}", self.draw())
    }

    pub fn hex(&mut self, len: usize) -> String {
        let mut s = String::new();
        while s.len() < len {
            s.push_str(&format!("{:016X}", self.draw()));
        }
        s.truncate(len);
        s
    }

    pub fn region(&mut self, name: &str) -> &mut Region {
        self.regions.entry(name.to_string()).or_default()
    }

    /// Takes a matching fault, if one is armed for this call.
    pub fn take_fault(&mut self, api: &str, region: &str) -> Option<Fault> {
        let service = api.split(':').next().unwrap_or("");
        let i = self.faults.iter().position(|f| {
            (f.api == api || f.api == format!("{service}:*"))
                && f.region.as_deref().is_none_or(|r| r == region)
                && f.times != Some(0)
        })?;
        let f = self.faults[i].clone();
        if let Some(t) = self.faults[i].times.as_mut() {
            *t -= 1;
        }
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_per_seed() {
        let mut a = World::new(7);
        let mut b = World::new(7);
        assert_eq!(a.ec2_id("vpc"), b.ec2_id("vpc"));
        assert_ne!(a.ec2_id("vpc"), World::new(8).ec2_id("vpc"));
        assert_eq!(a.ec2_id("subnet").len(), "subnet-0".len() + 16);
    }

    #[test]
    fn lifecycle_phases() {
        let l = Lifecycle {
            ready_at: 10,
            deleting: None,
        };
        assert_eq!(l.phase(5), Phase::Creating);
        assert_eq!(l.phase(10), Phase::Ready);
        let d = Lifecycle {
            ready_at: 10,
            deleting: Some((20, 30)),
        };
        assert_eq!(d.phase(25), Phase::Deleting);
        assert_eq!(d.phase(30), Phase::Gone);
    }

    #[test]
    fn faults_fire_the_given_number_of_times() {
        let mut w = World::new(1);
        w.faults.push(Fault {
            api: "eks:*".into(),
            code: "ThrottlingException".into(),
            message: "Rate exceeded".into(),
            region: None,
            times: Some(1),
        });
        assert!(w.take_fault("eks:DescribeCluster", "eu-west-1").is_some());
        assert!(w.take_fault("eks:DescribeCluster", "eu-west-1").is_none());
        assert!(w.take_fault("ec2:DescribeVpcs", "eu-west-1").is_none());
    }
}
