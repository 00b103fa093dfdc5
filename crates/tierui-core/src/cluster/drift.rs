//! Drift between what a cluster's source says and what AWS says, line by line,
//! each with what to do about it. Pure: it compares a [`ClusterSpec`] with a
//! [`ClusterLive`]; parts AWS would not tell are not guessed at.

use serde::Serialize;

use crate::cloud::inventory::{
    ClusterLive, LiveAddon, LiveCluster, LiveNodegroup, LiveSubnet, Part,
};
use crate::workspace::model::{ClusterSource, ClusterStack};
use crate::workspace::spec::{ClusterSpec, NodeGroupSpec};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub field: String,
    /// What the source says.
    pub source: String,
    /// What AWS says.
    pub live: String,
    pub what_to_do: String,
}

fn d(
    field: impl Into<String>,
    source: impl Into<String>,
    live: impl Into<String>,
    what: impl Into<String>,
) -> Drift {
    Drift {
        field: field.into(),
        source: source.into(),
        live: live.into(),
        what_to_do: what.into(),
    }
}

/// How to bring AWS back to the source, per provisioner.
struct Fix<'a> {
    cluster: &'a ClusterStack,
    file: String,
}

impl Fix<'_> {
    fn converge(&self) -> String {
        match &self.cluster.source {
            ClusterSource::Pulumi(p) => format!(
                "`pulumi up -s {}` in {} puts AWS back to the source",
                p.stack,
                p.project_dir.display()
            ),
            ClusterSource::Eksctl { .. } => format!("apply {} again with eksctl", self.file),
        }
    }

    fn or_edit(&self, what: &str) -> String {
        format!(
            "{}; or, if the change was meant, {what} in {}",
            self.converge(),
            self.file
        )
    }
}

fn version_order(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn has_tag(tags: &[(String, String)], key: &str) -> bool {
    tags.iter()
        .any(|(k, v)| k == key && (v == "1" || v.is_empty()))
}

pub fn drift(cluster: &ClusterStack, spec: &ClusterSpec, live: &ClusterLive) -> Vec<Drift> {
    let fix = Fix {
        cluster,
        file: spec.source.clone(),
    };
    let c = match &live.cluster {
        Part::Ok(Some(c)) => c,
        Part::Ok(None) => return vec![cluster_missing(cluster, &spec.cluster_name)],
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    out.extend(kubernetes_version_drift(&fix, spec, c));
    out.extend(endpoint_access_drift(&fix, spec, c));
    out.extend(oidc_provider_drift(spec, live));
    if let Part::Ok(groups) = &live.nodegroups {
        out.extend(node_groups_drift(&fix, spec, groups));
    }
    if let Part::Ok(subnets) = &live.subnets {
        out.extend(subnet_tags_drift(subnets));
    }
    out.extend(control_plane_logging_drift(&fix, spec, c));
    if let Part::Ok(addons) = &live.addons
        && matches!(cluster.source, ClusterSource::Eksctl { .. })
    {
        out.extend(missing_addons(spec, addons));
    }
    out
}

/// The cluster is defined but AWS has no cluster of that name: create it.
fn cluster_missing(cluster: &ClusterStack, name: &str) -> Drift {
    let what = match &cluster.source {
        ClusterSource::Eksctl { config_file, .. } => format!(
            "create it: the walkthrough (w) or `eksctl create cluster -f {}`",
            config_file.display()
        ),
        ClusterSource::Pulumi(p) => format!(
            "create it: `pulumi up -s {}` in {}",
            p.stack,
            p.project_dir.display()
        ),
    };
    d(
        "cluster",
        format!("{name} is defined"),
        "does not exist in this account and region",
        what,
    )
}

/// The cluster's Kubernetes version: upgrade one minor version at a time, or
/// fix the source when AWS is ahead (clusters cannot be downgraded).
fn kubernetes_version_drift(fix: &Fix, spec: &ClusterSpec, c: &LiveCluster) -> Option<Drift> {
    let want = spec.kubernetes_version.as_ref()?;
    if *want == c.version {
        return None;
    }
    let name = &spec.cluster_name;
    let what = if version_order(&c.version) < version_order(want) {
        match &fix.cluster.source {
            ClusterSource::Eksctl { .. } => format!(
                "upgrade: `eksctl upgrade cluster --name {name} --version {want} --approve` (one minor version at a time)"
            ),
            ClusterSource::Pulumi(_) => {
                format!("upgrade one minor version at a time: {}", fix.converge())
            }
        }
    } else {
        format!(
            "clusters cannot be downgraded: set the version to {} in {}",
            c.version, spec.source
        )
    };
    Some(d(
        "kubernetes version",
        want.clone(),
        c.version.clone(),
        what,
    ))
}

/// Public and private access to the cluster endpoint.
fn endpoint_access_drift(fix: &Fix, spec: &ClusterSpec, c: &LiveCluster) -> Vec<Drift> {
    let mut out = Vec::new();
    for (field, want, have) in [
        (
            "endpoint public access",
            spec.endpoint_public_access,
            c.endpoint_public,
        ),
        (
            "endpoint private access",
            spec.endpoint_private_access,
            c.endpoint_private,
        ),
    ] {
        if let Some(want) = want
            && want != have
        {
            out.push(d(
                field,
                want.to_string(),
                have.to_string(),
                fix.or_edit("set it"),
            ));
        }
    }
    out
}

/// IRSA is wanted but IAM has no OIDC provider for the cluster's issuer.
fn oidc_provider_drift(spec: &ClusterSpec, live: &ClusterLive) -> Option<Drift> {
    if spec.oidc == Some(true)
        && let Part::Ok(false) = live.oidc_provider
    {
        let name = &spec.cluster_name;
        return Some(d(
            "OIDC provider",
            "wanted (IRSA)",
            "missing: no IAM OIDC provider for the cluster's issuer",
            format!(
                "`eksctl utils associate-iam-oidc-provider --cluster {name} --approve`; until then service accounts cannot assume IAM roles"
            ),
        ));
    }
    None
}

/// Managed node groups: missing ones, their sizes and instance types, then the
/// ones AWS has that the source does not.
fn node_groups_drift(fix: &Fix, spec: &ClusterSpec, groups: &[LiveNodegroup]) -> Vec<Drift> {
    let mut out = Vec::new();
    for want in &spec.node_groups {
        let Some(have) = groups.iter().find(|g| g.name == want.name) else {
            out.push(d(
                format!("node group {}", want.name),
                format!("{}×{}", want.desired_size, want.instance_types.join("/")),
                "missing",
                fix.converge(),
            ));
            continue;
        };
        out.extend(node_group_size_drift(fix, spec, want, have));
        out.extend(node_group_instance_types_drift(want, have));
    }
    out.extend(node_groups_not_in_source(spec, groups));
    out
}

/// A node group's min, desired and max sizes.
fn node_group_size_drift(
    fix: &Fix,
    spec: &ClusterSpec,
    want: &NodeGroupSpec,
    have: &LiveNodegroup,
) -> Vec<Drift> {
    let name = &spec.cluster_name;
    let sizes = [
        ("min", want.min_size, have.min_size),
        ("desired", want.desired_size, have.desired_size),
        ("max", want.max_size, have.max_size),
    ];
    let mut out = Vec::new();
    for (what, w, h) in sizes {
        if w != h {
            let hint = match &fix.cluster.source {
                ClusterSource::Eksctl { .. } if what == "desired" => format!(
                    "`eksctl scale nodegroup --cluster {name} --name {} --nodes {w}`; or set desiredCapacity: {h} in {}",
                    want.name, spec.source
                ),
                _ => fix.or_edit(&format!("set {what} to {h}")),
            };
            out.push(d(
                format!("node group {} {what} size", want.name),
                w.to_string(),
                h.to_string(),
                hint,
            ));
        }
    }
    out
}

/// A node group's instance types, which cannot change in place.
fn node_group_instance_types_drift(want: &NodeGroupSpec, have: &LiveNodegroup) -> Option<Drift> {
    let mut a = want.instance_types.clone();
    let mut b = have.instance_types.clone();
    a.sort();
    b.sort();
    if !a.is_empty() && !b.is_empty() && a != b {
        return Some(d(format!("node group {} instance types", want.name), a.join(", "), b.join(", "), "instance types of a managed node group cannot change in place: create a new node group, move workloads, delete the old one".to_string()));
    }
    None
}

/// Node groups AWS has that the source does not define.
fn node_groups_not_in_source(spec: &ClusterSpec, groups: &[LiveNodegroup]) -> Vec<Drift> {
    let name = &spec.cluster_name;
    groups
        .iter()
        .filter(|g| !spec.node_groups.iter().any(|w| w.name == g.name))
        .map(|have| d(format!("node group {}", have.name), "not in the source", format!("{}×{} {}", have.desired_size, have.instance_types.join("/"), have.status), format!("add it to {} or delete it (`aws eks delete-nodegroup --cluster-name {name} --nodegroup-name {}`)", spec.source, have.name)))
        .collect()
}

/// Subnets without the role tag load balancers look for (`kubernetes.io/role/elb`
/// on public subnets, `kubernetes.io/role/internal-elb` on private ones).
fn subnet_tags_drift(subnets: &[LiveSubnet]) -> Vec<Drift> {
    let mut out = Vec::new();
    for s in subnets {
        let (key, kind) = if s.public {
            ("kubernetes.io/role/elb", "public")
        } else {
            ("kubernetes.io/role/internal-elb", "private")
        };
        if !has_tag(&s.tags, key) {
            out.push(d(
                format!("subnet {} ({kind}, {})", s.id, s.az),
                format!("tag {key}=1"),
                "tag missing",
                format!("load balancers will not find this subnet: `aws ec2 create-tags --resources {} --tags Key={key},Value=1`", s.id),
            ));
        }
    }
    out
}

/// The control plane log types sent to CloudWatch.
fn control_plane_logging_drift(fix: &Fix, spec: &ClusterSpec, c: &LiveCluster) -> Option<Drift> {
    if spec.logging.is_empty() {
        return None;
    }
    let all = [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ];
    let mut want: Vec<String> = if spec.logging.iter().any(|l| l == "*" || l == "all") {
        all.iter().map(|s| s.to_string()).collect()
    } else {
        spec.logging.clone()
    };
    let mut have = c.logging.clone();
    want.sort();
    have.sort();
    if want == have {
        return None;
    }
    Some(d(
        "control plane logging",
        want.join(", "),
        if have.is_empty() {
            "off".into()
        } else {
            have.join(", ")
        },
        fix.or_edit("change cloudWatch.clusterLogging"),
    ))
}

/// Managed addons the source lists that the cluster does not have.
fn missing_addons(spec: &ClusterSpec, addons: &[LiveAddon]) -> Vec<Drift> {
    let name = &spec.cluster_name;
    spec.addons
        .iter()
        .filter(|a| !addons.iter().any(|l| &l.name == *a))
        .map(|a| {
            d(
                format!("addon {a}"),
                "managed addon",
                "missing",
                format!("`eksctl create addon --cluster {name} --name {a}`"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::inventory::{LiveCluster, LiveNodegroup, LiveSubnet};
    use crate::workspace::spec::NodeGroupSpec;

    fn cluster() -> ClusterStack {
        let dir = tempfile::tempdir().unwrap();
        crate::paths::extract_demo(dir.path()).unwrap();
        let ws = crate::workspace::load(dir.path());
        ws.cluster("dusk").unwrap().clone()
    }

    fn live(version: &str, desired: i64, tags: bool) -> ClusterLive {
        ClusterLive {
            fetched_at: 0,
            cluster: Part::Ok(Some(LiveCluster {
                name: "dusk".into(),
                arn: String::new(),
                status: "ACTIVE".into(),
                version: version.into(),
                platform_version: "eks.9".into(),
                endpoint_public: true,
                endpoint_private: false,
                public_access_cidrs: vec![],
                oidc_issuer: Some("https://oidc".into()),
                logging: vec![],
                vpc_id: Some("vpc-1".into()),
                endpoint: None,
                subnet_ids: vec![],
            })),
            nodegroups: Part::Ok(vec![LiveNodegroup {
                name: "general".into(),
                status: "ACTIVE".into(),
                min_size: 2,
                desired_size: desired,
                max_size: 4,
                instance_types: vec!["t3.large".into()],
                ami_type: String::new(),
                capacity_type: "ON_DEMAND".into(),
                health_issues: vec![],
            }]),
            addons: Part::Ok(vec![]),
            vpc_cidr: Part::Ok("10.20.0.0/16".into()),
            subnets: Part::Ok(vec![LiveSubnet {
                id: "subnet-1".into(),
                az: "us-east-2a".into(),
                cidr: String::new(),
                public: true,
                tags: if tags {
                    vec![("kubernetes.io/role/elb".into(), "1".into())]
                } else {
                    vec![]
                },
            }]),
            nat_gateways: Part::Ok(vec![]),
            oidc_provider: Part::Ok(true),
        }
    }

    #[test]
    fn no_drift_when_aws_matches() {
        let c = cluster();
        let spec = c.spec().unwrap();
        assert_eq!(drift(&c, &spec, &live("1.30", 2, true)), vec![]);
    }

    #[test]
    fn each_difference_is_a_line_with_what_to_do() {
        let c = cluster();
        let mut spec = c.spec().unwrap();
        spec.node_groups.push(NodeGroupSpec {
            name: "batch".into(),
            instance_types: vec!["c5.large".into()],
            min_size: 0,
            desired_size: 1,
            max_size: 2,
            capacity_type: "SPOT".into(),
        });
        let mut l = live("1.29", 3, false);
        l.oidc_provider = Part::Ok(false);
        let fields: Vec<String> = drift(&c, &spec, &l)
            .iter()
            .map(|d| format!("{}: {} → {}", d.field, d.source, d.live))
            .collect();
        assert_eq!(
            fields,
            [
                "kubernetes version: 1.30 → 1.29",
                "OIDC provider: wanted (IRSA) → missing: no IAM OIDC provider for the cluster's issuer",
                "node group general desired size: 2 → 3",
                "node group batch: 1×c5.large → missing",
                "subnet subnet-1 (public, us-east-2a): tag kubernetes.io/role/elb=1 → tag missing",
            ]
        );
        let sized = drift(&c, &spec, &l)
            .into_iter()
            .find(|d| d.field.contains("desired"))
            .unwrap();
        assert!(
            sized
                .what_to_do
                .starts_with("`pulumi up -s dusk` in provisioning/pulumi"),
            "{}",
            sized.what_to_do
        );
    }

    #[test]
    fn unreadable_parts_are_not_guessed() {
        let c = cluster();
        let spec = c.spec().unwrap();
        let mut l = live("1.30", 2, true);
        l.nodegroups = Part::Error(crate::cloud::CloudError::new(
            "eks:ListNodegroups",
            "AccessDeniedException",
            "denied",
        ));
        assert_eq!(drift(&c, &spec, &l), vec![]);
        l.cluster = Part::Ok(None);
        assert_eq!(
            drift(&c, &spec, &l)[0].live,
            "does not exist in this account and region"
        );
    }
}
