//! Step I (self-managed node groups: role, instance profile, security group and
//! its rules, key pair, launch template, Auto Scaling group, admission to the
//! cluster) and the launch templates eksctl makes for managed groups with a
//! custom AMI, SSH or bootstrap commands.

use crate::cloud::{Bootstrap, Mix, Op, Peer, TAG_CLUSTER, TAG_STEP, Tags, Trust, Val, Volume};
use crate::workspace::eksctl::{ClusterConfig, NodeGroup};

use super::bootstrap::{self, DEFAULT_VERSION};
use super::identity::policy_calls;
use super::plan::{
    CNI_POLICY, Call, ECR_POLICY, NODE_POLICY, Net, Step, bounded_name, call, role_name, tags,
};

/// The service CIDR eksctl's clusters get unless `serviceIPv4CIDR` says otherwise.
pub const DEFAULT_SERVICE_CIDR: &str = "10.100.0.0/16";

pub fn family(g: &NodeGroup) -> Result<String, String> {
    let f = g
        .ami_family
        .clone()
        .unwrap_or_else(|| "AmazonLinux2023".into());
    if bootstrap::FAMILIES.contains(&f.as_str()) {
        Ok(f)
    } else {
        Err(format!(
            "{} amiFamily {f} ({}:{}): the walkthrough boots {}",
            g.name,
            g.pos.line,
            g.pos.col,
            bootstrap::FAMILIES.join(", ")
        ))
    }
}

/// The instance types of a group: as written, from `instancesDistribution`, or
/// resolved from `instanceSelector` (its rule goes into the notes).
pub fn instance_types(g: &NodeGroup, notes: &mut Vec<String>) -> Result<Vec<String>, String> {
    let mut types = g.instance_types.clone();
    if let Some(d) = &g.distribution {
        for t in &d.instance_types {
            if !types.contains(t) {
                types.push(t.clone());
            }
        }
    }
    if let Some(s) = &g.selector {
        let (picked, rule) = bootstrap::select(
            s.vcpus,
            s.memory.as_deref(),
            s.gpus,
            s.cpu_architecture.as_deref(),
        )
        .map_err(|e| format!("{} ({}:{}): {e}", g.name, g.pos.line, g.pos.col))?;
        notes.push(format!("{}: {rule}: {}", g.name, picked.join(", ")));
        for t in picked {
            if !types.contains(&t) {
                types.push(t);
            }
        }
    }
    if types.is_empty() {
        types.push("m5.large".into());
    }
    Ok(types)
}

fn asg_tags(n: &str, id: &str, g: &NodeGroup) -> Tags {
    let mut t: Tags = vec![
        (TAG_CLUSTER.into(), n.into()),
        (TAG_STEP.into(), id.into()),
        (
            "Name".into(),
            g.instance_name
                .clone()
                .unwrap_or_else(|| format!("{n}-{}-Node", g.name)),
        ),
        (format!("kubernetes.io/cluster/{n}"), "owned".into()),
        ("alpha.eksctl.io/nodegroup-name".into(), g.name.clone()),
    ];
    if g.iam.addon_policies.iter().any(|p| p == "autoScaler") {
        t.push(("k8s.io/cluster-autoscaler/enabled".into(), "true".into()));
        t.push((format!("k8s.io/cluster-autoscaler/{n}"), "owned".into()));
    }
    t.extend(g.tags.iter().cloned());
    t
}

/// The role a group's nodes run as: the shared node role of step B, a role of
/// its own (when the group has IAM settings), or one the config names.
/// Returns the role's name (None for a given ARN), its ARN and the calls.
pub(crate) fn node_role(
    cfg: &ClusterConfig,
    g: &NodeGroup,
    id: &str,
) -> Result<(Option<String>, Val, Vec<Call>), String> {
    let n = cfg.name.as_str();
    if let Some(arn) = &g.iam.instance_role_arn {
        let name = arn.rsplit('/').next().map(str::to_string);
        return Ok((name, Val::Lit(arn.clone()), Vec::new()));
    }
    // A role can be admitted as EC2_LINUX or as EC2_WINDOWS, not both: Windows
    // nodes get a role of their own (eksctl gives every group one).
    let windows = bootstrap::is_windows(g.ami_family.as_deref().unwrap_or(""));
    if g.iam.is_default() && !windows {
        return Ok((
            Some(role_name(n, "node")),
            Val::of("role-node", "arn"),
            Vec::new(),
        ));
    }
    let role = role_name(n, &format!("ng-{}", g.name));
    let rid = format!("{id}-role");
    let mut calls = vec![call(
        &rid,
        format!("node role {role} for {}", g.name),
        Op::CreateRole {
            name: role.clone(),
            trust: Trust::Service {
                service: "ec2.amazonaws.com".into(),
            },
            description: format!("nodes of {} in {n}", g.name),
            tags: tags(n, &rid, &role, &[]),
            permissions_boundary: g.iam.permissions_boundary.clone(),
        },
        2,
    )];
    let mut arns = vec![NODE_POLICY.to_string(), ECR_POLICY.to_string()];
    if !cfg.iam.with_oidc {
        arns.push(CNI_POLICY.to_string());
    }
    arns.extend(g.iam.attach_policy_arns.iter().cloned());
    calls.extend(policy_calls(id, &role, &arns, &g.iam.addon_policies, None)?);
    Ok((Some(role), Val::of(&rid, "arn"), calls))
}

/// The subnets a group runs in.
pub(crate) fn group_subnets(net: &Net, g: &NodeGroup) -> Result<Vec<Val>, String> {
    if !g.subnets.is_empty() {
        return g.subnets.iter().map(|s| net.subnet_ref(s)).collect();
    }
    if !g.local_zones.is_empty() {
        return g
            .local_zones
            .iter()
            .map(|z| {
                net.local
                    .iter()
                    .find(|s| &s.alias == z && s.private == g.private_networking)
                    .map(|s| s.val.clone())
                    .ok_or_else(|| {
                        format!(
                            "{}: local zone {z} is not in the config's localZones",
                            g.name
                        )
                    })
            })
            .collect();
    }
    let pool = if g.private_networking {
        &net.private
    } else {
        &net.public
    };
    let picked: Vec<Val> = pool
        .iter()
        .filter(|s| {
            g.availability_zones.is_empty()
                || s.az
                    .as_ref()
                    .is_some_and(|az| g.availability_zones.contains(az))
        })
        .map(|s| s.val.clone())
        .collect();
    if picked.is_empty() {
        let kind = if g.private_networking {
            "private"
        } else {
            "public"
        };
        return Err(format!(
            "{} ({}:{}): no {kind} subnet{} for it",
            g.name,
            g.pos.line,
            g.pos.col,
            if g.availability_zones.is_empty() {
                String::new()
            } else {
                format!(" in {}", g.availability_zones.join(", "))
            }
        ));
    }
    Ok(picked)
}

pub struct LaunchTemplateSpec<'a> {
    pub cfg: &'a ClusterConfig,
    pub g: &'a NodeGroup,
    pub id: &'a str,
    pub family: String,
    pub instance_type: Option<String>,
    pub security_groups: Vec<Val>,
    pub instance_profile: Option<Val>,
    pub key_name: Option<Val>,
}

pub fn launch_template(spec: LaunchTemplateSpec<'_>) -> Call {
    let LaunchTemplateSpec {
        cfg,
        g,
        id,
        family,
        instance_type,
        security_groups,
        instance_profile,
        key_name,
    } = spec;
    let n = cfg.name.as_str();
    let version = cfg
        .version
        .clone()
        .unwrap_or_else(|| DEFAULT_VERSION.into());
    let first = instance_type
        .clone()
        .or_else(|| g.instance_types.first().cloned())
        .unwrap_or_else(|| "m5.large".into());
    let image = bootstrap::image(&family, &version, &first, g.ami.as_deref());
    let name = bounded_name(n, &g.name, 128);
    call(
        id,
        format!(
            "launch template {name} ({family}, {})",
            if image.starts_with("ami-") {
                image.clone()
            } else {
                "EKS-optimised image from SSM".into()
            }
        ),
        Op::CreateLaunchTemplate {
            name: name.clone(),
            image,
            instance_type,
            bootstrap: Bootstrap {
                family: family.clone(),
                cluster: n.into(),
                endpoint: Val::of("cluster", "endpoint"),
                certificate: Val::of("cluster", "certificate"),
                service_cidr: cfg
                    .service_ipv4_cidr
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SERVICE_CIDR.into()),
                labels: g.labels.clone(),
                taints: g
                    .taints
                    .iter()
                    .map(|t| (t.key.clone(), t.value.clone(), t.effect.clone()))
                    .collect(),
                max_pods: g.max_pods,
                pre_bootstrap: g.pre_bootstrap.clone(),
                override_command: g.override_bootstrap.clone(),
                bottlerocket: g.bottlerocket.as_ref().map(|v| v.to_string()),
            },
            volume: Volume {
                size_gib: g.volume_size.or(Some(80)),
                kind: g.volume_type.clone().or(Some("gp3".into())),
                encrypted: g.volume_encrypted,
                kms_key: g.volume_kms_key.clone(),
                device: bootstrap::root_device(&family).into(),
            },
            key_name,
            security_groups,
            instance_profile,
            imds_v2_only: g.disable_imdsv1,
            tags: tags(n, id, &name, &[]),
        },
        2,
    )
}

/// The key pair a group's SSH settings name or import.
pub(crate) fn key_pair(n: &str, g: &NodeGroup, id: &str, calls: &mut Vec<Call>) -> Option<Val> {
    let ssh = g.ssh.as_ref()?;
    if let Some(k) = &ssh.key_name {
        return Some(Val::Lit(k.clone()));
    }
    if ssh.public_key.is_none() && ssh.public_key_path.is_none() && !ssh.allow {
        return None;
    }
    let name = bounded_name(n, &g.name, 255);
    let kid = format!("{id}-key");
    let path = if ssh.public_key.is_none() {
        Some(
            ssh.public_key_path
                .clone()
                .unwrap_or_else(|| "~/.ssh/id_rsa.pub".into()),
        )
    } else {
        None
    };
    calls.push(call(
        &kid,
        format!(
            "import SSH public key {name}{}",
            path.as_deref()
                .map(|p| format!(" from {p}"))
                .unwrap_or_default()
        ),
        Op::ImportKeyPair {
            name: name.clone(),
            public_key: ssh.public_key.clone(),
            public_key_path: path,
            tags: tags(n, &kid, &name, &[]),
        },
        1,
    ));
    Some(Val::Lit(name))
}

/// Whether nodes join through access entries (else the aws-auth ConfigMap).
pub fn uses_access_entries(cfg: &ClusterConfig) -> bool {
    cfg.access.authentication_mode.as_deref() != Some("CONFIG_MAP")
}

/// Step I.
pub fn self_managed(
    cfg: &ClusterConfig,
    net: &Net,
    notes: &mut Vec<String>,
) -> Result<Step, String> {
    let n = cfg.name.as_str();
    let mut calls = Vec::new();
    let mut admitted: Vec<String> = Vec::new();
    for g in &cfg.node_groups {
        let fam = family(g)?;
        let windows = bootstrap::is_windows(&fam);
        let id = format!("ng-{}", g.name);
        let (role, role_arn, role_calls) = node_role(cfg, g, &id)?;
        calls.extend(role_calls);
        let profile = match &g.iam.instance_profile_arn {
            Some(arn) => Val::Lit(arn.clone()),
            None => {
                let pname = bounded_name(n, &format!("ng-{}", g.name), 128);
                let pid = format!("{id}-profile");
                calls.push(call(
                    &pid,
                    format!("instance profile {pname}"),
                    Op::CreateInstanceProfile {
                        name: pname.clone(),
                        tags: tags(n, &pid, &pname, &[]),
                    },
                    2,
                ));
                let Some(role) = role.clone() else {
                    return Err(format!(
                        "{}: iam.instanceRoleARN needs iam.instanceProfileARN too",
                        g.name
                    ));
                };
                calls.push(call(
                    format!("{id}-profile-role"),
                    format!("put {role} into {pname}"),
                    Op::AddRoleToInstanceProfile {
                        profile: pname,
                        role,
                    },
                    10,
                ));
                Val::of(&pid, "arn")
            }
        };
        // The node security group and eksctl's rules between nodes and control plane.
        let sg = format!("{id}-sg");
        let sg_name = format!("{n}-ng-{}", g.name);
        calls.push(call(
            &sg,
            format!("node security group {sg_name}"),
            Op::CreateSecurityGroup {
                vpc: net.vpc.clone(),
                name: sg_name.clone(),
                description: format!(
                    "Communication between the control plane and worker nodes in group {}",
                    g.name
                ),
                tags: tags(
                    n,
                    &sg,
                    &sg_name,
                    &[(&format!("kubernetes.io/cluster/{n}"), "owned")],
                ),
            },
            2,
        ));
        let rule =
            |rid: &str, group: Val, peer: Peer, proto: &str, from: i32, to: i32, what: &str| {
                call(
                    format!("{id}-{rid}"),
                    what.to_string(),
                    Op::AuthorizeIngress {
                        group,
                        peer,
                        protocol: proto.into(),
                        from_port: from,
                        to_port: to,
                        description: what.to_string(),
                    },
                    1,
                )
            };
        let me = Val::of(&sg, "id");
        let cp = Val::of("sg-control-plane", "id");
        calls.push(rule(
            "sg-self",
            me.clone(),
            Peer::Group { id: me.clone() },
            "-1",
            -1,
            -1,
            "nodes ↔ nodes: all traffic",
        ));
        calls.push(rule(
            "sg-from-cp",
            me.clone(),
            Peer::Group { id: cp.clone() },
            "tcp",
            1025,
            65535,
            "control plane → kubelets and pods (1025-65535)",
        ));
        calls.push(rule(
            "sg-from-cp-443",
            me.clone(),
            Peer::Group { id: cp.clone() },
            "tcp",
            443,
            443,
            "control plane → extension API servers on 443",
        ));
        calls.push(rule(
            "sg-to-cp",
            cp,
            Peer::Group { id: me.clone() },
            "tcp",
            443,
            443,
            "nodes → API server (443)",
        ));
        let key = key_pair(n, g, &id, &mut calls);
        if let Some(ssh) = g.ssh.as_ref().filter(|s| s.allow) {
            let port = if windows { 3389 } else { 22 };
            if ssh.source_security_groups.is_empty() {
                calls.push(rule(
                    "sg-ssh",
                    me.clone(),
                    Peer::Cidr {
                        cidr: "0.0.0.0/0".into(),
                    },
                    "tcp",
                    port,
                    port,
                    if windows {
                        "RDP from anywhere (ssh.allow)"
                    } else {
                        "SSH from anywhere (ssh.allow)"
                    },
                ));
            } else {
                for (i, src) in ssh.source_security_groups.iter().enumerate() {
                    calls.push(rule(
                        &format!("sg-ssh-{i}"),
                        me.clone(),
                        Peer::Group {
                            id: Val::Lit(src.clone()),
                        },
                        "tcp",
                        port,
                        port,
                        "SSH from the given security group",
                    ));
                }
            }
        }
        let types = instance_types(g, notes)?;
        let mut sgs = vec![me.clone()];
        sgs.extend(g.security_groups.iter().map(|s| Val::Lit(s.clone())));
        let lt = format!("{id}-lt");
        calls.push(launch_template(LaunchTemplateSpec {
            cfg,
            g,
            id: &lt,
            family: fam.clone(),
            instance_type: (types.len() == 1 && g.distribution.is_none()).then(|| types[0].clone()),
            security_groups: sgs,
            instance_profile: Some(profile),
            key_name: key,
        }));
        let mix = g.distribution.as_ref().map(|d| Mix {
            on_demand_base: d.on_demand_base,
            on_demand_percentage: d.on_demand_percentage,
            spot_strategy: d.spot_strategy.clone(),
            spot_pools: d.spot_pools,
            max_price: d.max_price.clone(),
        });
        let subnets = group_subnets(net, g)?;
        let asg_name = bounded_name(n, &format!("ng-{}", g.name), 255);
        let spot = mix
            .as_ref()
            .map(|m| {
                format!(
                    ", {}% on-demand above {}",
                    m.on_demand_percentage, m.on_demand_base
                )
            })
            .unwrap_or_default();
        calls.push(call(
            &id,
            format!("Auto Scaling group {asg_name} {}×{} ({}..{}){spot} (and wait until the instances are InService)", g.desired_capacity, types.join("/"), g.min_size, g.max_size),
            Op::CreateAutoScalingGroup {
                name: asg_name,
                launch_template: Val::of(&lt, "id"),
                subnets,
                min_size: g.min_size,
                desired_size: g.desired_capacity,
                max_size: g.max_size,
                instance_types: types,
                mix,
                target_group_arns: g.target_group_arns.clone(),
                load_balancers: g.classic_load_balancers.clone(),
                tags: asg_tags(n, &id, g),
            },
            180,
        ));
        // Admission: one entry per role (Linux groups may share the node role).
        let key = format!("{role_arn:?}");
        if admitted.contains(&key) {
            continue;
        }
        admitted.push(key);
        if uses_access_entries(cfg) {
            let aid = format!("{id}-access");
            calls.push(call(
                &aid,
                format!(
                    "access entry ({}) for the node role of {}",
                    if windows { "EC2_WINDOWS" } else { "EC2_LINUX" },
                    g.name
                ),
                Op::CreateAccessEntry {
                    cluster: n.into(),
                    principal_arn: role_arn.clone(),
                    kind: Some(if windows { "EC2_WINDOWS" } else { "EC2_LINUX" }.into()),
                    groups: Vec::new(),
                    username: None,
                    tags: vec![
                        (TAG_CLUSTER.into(), n.into()),
                        (TAG_STEP.into(), aid.clone()),
                    ],
                },
                2,
            ));
        } else {
            let mut groups = vec![
                "system:bootstrappers".to_string(),
                "system:nodes".to_string(),
            ];
            if windows {
                groups.push("eks:kube-proxy-windows".into());
            }
            calls.push(call(
                format!("{id}-aws-auth"),
                format!("aws-auth: let the node role of {} join", g.name),
                Op::MapIdentity {
                    cluster: n.into(),
                    kind: "role".into(),
                    arn: role_arn.clone(),
                    username: Some("system:node:{{EC2PrivateDNSName}}".into()),
                    groups,
                },
                1,
            ));
        }
    }
    let skip = cfg
        .node_groups
        .is_empty()
        .then(|| "the config has no self-managed nodeGroups".to_string());
    Ok(Step {
        id: 'I',
        title: "Self-managed node groups".into(),
        why: "Self-managed nodes are EC2 instances you own: an Auto Scaling group launches them from a launch template (the EKS-optimised image of the AMI family and the user data that joins them to this cluster with their labels and taints), an instance profile gives them the node role, and a security group lets the control plane and the nodes talk. The node role must also be admitted to the cluster — an access entry of type EC2_LINUX/EC2_WINDOWS, or an aws-auth entry when the cluster authenticates through the ConfigMap. Unlike managed groups nobody drains or replaces them for you; teardown scales the group to 0 and waits before deleting it.".into(),
        depends_on: vec!['B', 'C', 'E', 'G'],
        eksctl: format!("eksctl create nodegroup --cluster {n} -f <config>   # stack eksctl-{n}-nodegroup-<name>: NodeInstanceRole, NodeInstanceProfile, SG, NodeGroupLaunchTemplate, NodeGroup (ASG)"),
        aws_cli: vec![
            "aws iam create-instance-profile --instance-profile-name <name> && aws iam add-role-to-instance-profile --instance-profile-name <name> --role-name <node-role>".into(),
            "aws ec2 create-security-group … && aws ec2 authorize-security-group-ingress --group-id <node-sg> --source-group <cp-sg> --protocol tcp --port 1025-65535".into(),
            "aws ec2 create-launch-template --launch-template-name <name> --launch-template-data '{\"ImageId\":\"resolve:ssm:/aws/service/eks/optimized-ami/<v>/amazon-linux-2023/x86_64/standard/recommended/image_id\",\"UserData\":\"<base64>\",…}'".into(),
            "aws autoscaling create-auto-scaling-group --auto-scaling-group-name <name> --launch-template LaunchTemplateId=<lt> --vpc-zone-identifier <subnets> --min-size <min> --max-size <max> --desired-capacity <n>".into(),
            format!("aws eks create-access-entry --cluster-name {n} --principal-arn <node-role-arn> --type EC2_LINUX"),
        ],
        calls,
        skip_reason: skip,
    })
}
