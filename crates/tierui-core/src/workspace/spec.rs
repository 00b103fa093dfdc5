//! What a cluster's source says it should be, in one shape for both provisioners.
//!
//! For eksctl this is the ClusterConfig. For Pulumi it is the stack config, read
//! through the key names infra programs commonly use, completed from the
//! checkpoint's `aws:eks` resources (what Pulumi last deployed) where config is
//! silent. Each value remembers where it came from, so drift can say which file to
//! change.

use serde::Serialize;
use serde_json::Value as Json;

use super::eksctl::ClusterConfig;
use super::model::{ClusterSource, ClusterStack, PulumiStack};
use super::pulumi::ConfigValue;

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpec {
    pub cluster_name: String,
    pub region: Option<String>,
    pub kubernetes_version: Option<String>,
    pub vpc_cidr: Option<String>,
    pub availability_zones: Vec<String>,
    /// Single, HighlyAvailable or Disable.
    pub nat: Option<String>,
    pub endpoint_public_access: Option<bool>,
    pub endpoint_private_access: Option<bool>,
    pub oidc: Option<bool>,
    pub node_groups: Vec<NodeGroupSpec>,
    pub addons: Vec<String>,
    pub logging: Vec<String>,
    /// Where these values were read from, for "what to do" hints.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroupSpec {
    pub name: String,
    pub instance_types: Vec<String>,
    pub min_size: i64,
    pub desired_size: i64,
    pub max_size: i64,
    pub capacity_type: String,
}

impl ClusterStack {
    pub fn spec(&self) -> Option<ClusterSpec> {
        match &self.source {
            ClusterSource::Eksctl {
                config,
                config_file,
                ..
            } => {
                let mut s = from_eksctl(config.as_deref()?);
                s.source = config_file.display().to_string();
                Some(s)
            }
            ClusterSource::Pulumi(p) => {
                let mut s = match &p.program_spec {
                    Some(s) => (**s).clone(),
                    None => from_pulumi(p, &self.name),
                };
                if s.region.is_none() {
                    s.region = self.region.clone();
                }
                Some(s)
            }
        }
    }
}

pub fn from_eksctl(c: &ClusterConfig) -> ClusterSpec {
    ClusterSpec {
        cluster_name: c.name.clone(),
        region: Some(c.region.clone()),
        kubernetes_version: c.version.clone(),
        vpc_cidr: Some(c.vpc.cidr.clone()),
        availability_zones: c.availability_zones.clone(),
        nat: Some(c.vpc.nat.as_str().to_string()),
        endpoint_public_access: Some(c.vpc.public_access),
        endpoint_private_access: Some(c.vpc.private_access),
        oidc: Some(c.iam.with_oidc),
        node_groups: c
            .managed_node_groups
            .iter()
            .map(|g| NodeGroupSpec {
                name: g.name.clone(),
                instance_types: g.instance_types.clone(),
                min_size: g.min_size,
                desired_size: g.desired_capacity,
                max_size: g.max_size,
                capacity_type: if g.spot {
                    "SPOT".into()
                } else {
                    "ON_DEMAND".into()
                },
            })
            .collect(),
        addons: c.addons.iter().map(|a| a.name.clone()).collect(),
        logging: c.logging.clone(),
        source: String::new(),
    }
}

/// Config keys infra programs use for the same thing, first match wins.
const VERSION_KEYS: &[&str] = &[
    "kubernetesVersion",
    "k8sVersion",
    "clusterVersion",
    "eksVersion",
    "version",
];
const NAME_KEYS: &[&str] = &["clusterName", "eksClusterName", "name"];
const CIDR_KEYS: &[&str] = &["vpcCidr", "vpcCidrBlock", "cidrBlock"];
const AZ_KEYS: &[&str] = &["availabilityZones", "azs"];
const NAT_KEYS: &[&str] = &["natGateways", "natGatewayStrategy", "nat"];
const PUBLIC_KEYS: &[&str] = &["endpointPublicAccess", "publicAccess"];
const PRIVATE_KEYS: &[&str] = &["endpointPrivateAccess", "privateAccess"];
const OIDC_KEYS: &[&str] = &["enableOidc", "createOidcProvider", "withOIDC", "oidc"];
const NODE_GROUP_KEYS: &[&str] = &["nodeGroups", "managedNodeGroups", "nodegroups"];

pub fn from_pulumi(p: &PulumiStack, fallback_name: &str) -> ClusterSpec {
    let mut s = ClusterSpec {
        source: p.config_file.display().to_string(),
        ..Default::default()
    };
    let project = p.project.as_ref().map_or("", |p| p.name.as_str());
    let value = |keys: &[&str]| -> Option<Json> {
        let cfg = p.config.as_ref()?;
        keys.iter().find_map(|k| {
            let e = cfg.get(&format!("{project}:{k}"))?;
            match &e.value {
                ConfigValue::Text(t) => Some(Json::String(t.clone())),
                ConfigValue::Structured(j) => Some(j.clone()),
                ConfigValue::Secret => None,
            }
        })
    };
    let text = |keys: &[&str]| value(keys).and_then(|v| v.as_str().map(str::to_string));
    let flag = |keys: &[&str]| text(keys).and_then(|t| t.parse::<bool>().ok());
    s.cluster_name = text(NAME_KEYS).unwrap_or_else(|| fallback_name.to_string());
    s.region = p
        .config
        .as_ref()
        .and_then(|c| c.text("aws", "aws:region"))
        .map(str::to_string);
    s.kubernetes_version = text(VERSION_KEYS);
    s.vpc_cidr = text(CIDR_KEYS);
    s.availability_zones = value(AZ_KEYS)
        .and_then(|v| {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default();
    s.nat = text(NAT_KEYS);
    s.endpoint_public_access = flag(PUBLIC_KEYS);
    s.endpoint_private_access = flag(PRIVATE_KEYS);
    s.oidc = flag(OIDC_KEYS);
    if let Some(Json::Array(groups)) = value(NODE_GROUP_KEYS) {
        s.node_groups = groups.iter().filter_map(node_group_from_json).collect();
    }
    // What Pulumi last deployed fills what config leaves open.
    if let Some(cp) = &p.checkpoint {
        if let Some(cluster) = cp.of_type("aws:eks/cluster:Cluster").next() {
            let o = &cluster.outputs;
            if s.kubernetes_version.is_none() {
                s.kubernetes_version = o.get("version").and_then(Json::as_str).map(str::to_string);
            }
            if s.endpoint_public_access.is_none() {
                s.endpoint_public_access = o
                    .pointer("/vpcConfig/endpointPublicAccess")
                    .and_then(Json::as_bool);
            }
            if s.endpoint_private_access.is_none() {
                s.endpoint_private_access = o
                    .pointer("/vpcConfig/endpointPrivateAccess")
                    .and_then(Json::as_bool);
            }
            if let Some(n) = o.get("name").and_then(Json::as_str) {
                s.cluster_name = n.to_string();
            }
        }
        if s.node_groups.is_empty() {
            s.node_groups = cp
                .of_type("aws:eks/nodeGroup:NodeGroup")
                .filter_map(|r| {
                    let o = &r.outputs;
                    Some(NodeGroupSpec {
                        name: o.get("nodeGroupName").and_then(Json::as_str)?.to_string(),
                        instance_types: strings(o.get("instanceTypes")),
                        min_size: o.pointer("/scalingConfig/minSize").and_then(Json::as_i64)?,
                        desired_size: o
                            .pointer("/scalingConfig/desiredSize")
                            .and_then(Json::as_i64)?,
                        max_size: o.pointer("/scalingConfig/maxSize").and_then(Json::as_i64)?,
                        capacity_type: o
                            .get("capacityType")
                            .and_then(Json::as_str)
                            .unwrap_or("ON_DEMAND")
                            .to_string(),
                    })
                })
                .collect();
        }
        if s.vpc_cidr.is_none() {
            s.vpc_cidr = cp
                .of_type("aws:ec2/vpc:Vpc")
                .next()
                .and_then(|v| v.outputs.get("cidrBlock")?.as_str().map(str::to_string));
        }
        if s.oidc.is_none()
            && cp
                .of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
                .next()
                .is_some()
        {
            s.oidc = Some(true);
        }
    }
    s
}

fn strings(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn node_group_from_json(g: &Json) -> Option<NodeGroupSpec> {
    let int = |keys: &[&str]| {
        keys.iter().find_map(|k| {
            g.get(*k)
                .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        })
    };
    let name = g
        .get("name")
        .or_else(|| g.get("nodeGroupName"))?
        .as_str()?
        .to_string();
    let mut instance_types = strings(g.get("instanceTypes"));
    if let Some(t) = g.get("instanceType").and_then(Json::as_str) {
        instance_types.insert(0, t.to_string());
    }
    let desired = int(&["desiredSize", "desiredCapacity", "desired"]).unwrap_or(2);
    Some(NodeGroupSpec {
        name,
        instance_types,
        min_size: int(&["minSize", "min"]).unwrap_or(desired),
        desired_size: desired,
        max_size: int(&["maxSize", "max"]).unwrap_or(desired),
        capacity_type: g
            .get("capacityType")
            .and_then(Json::as_str)
            .unwrap_or("ON_DEMAND")
            .to_string(),
    })
}
