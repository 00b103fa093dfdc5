//! Steps J (Fargate profiles) and K (access and identities: access entries,
//! aws-auth identity mappings, IRSA service accounts, pod identity associations,
//! OIDC identity providers), and the IAM policy helpers every role uses.

use crate::cloud::{Op, Tags, Trust, Val};
use crate::workspace::eksctl::ClusterConfig;

use super::plan::{Call, Net, Step, call, role_name, tags};

/// The managed policy or inline document behind an eksctl well-known policy
/// (`wellKnownPolicies` of service accounts, addons and pod identities, and
/// `iam.withAddonPolicies` of node groups).
pub enum Known {
    Managed(&'static str),
    Inline(String),
}

pub fn well_known(name: &str) -> Option<Known> {
    let doc = |actions: &[&str]| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}).to_string()
    };
    Some(match name {
        "imageBuilder" => {
            Known::Managed("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser")
        }
        "autoScaler" => Known::Inline(doc(&[
            "autoscaling:DescribeAutoScalingGroups",
            "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DescribeLaunchConfigurations",
            "autoscaling:DescribeScalingActivities",
            "autoscaling:DescribeTags",
            "autoscaling:SetDesiredCapacity",
            "autoscaling:TerminateInstanceInAutoScalingGroup",
            "ec2:DescribeImages",
            "ec2:DescribeInstanceTypes",
            "ec2:DescribeLaunchTemplateVersions",
            "ec2:GetInstanceTypesFromInstanceRequirements",
            "eks:DescribeNodegroup",
        ])),
        "externalDNS" => Known::Inline(doc(&[
            "route53:ChangeResourceRecordSets",
            "route53:ListHostedZones",
            "route53:ListResourceRecordSets",
            "route53:ListTagsForResource",
        ])),
        "certManager" => Known::Inline(doc(&[
            "route53:GetChange",
            "route53:ChangeResourceRecordSets",
            "route53:ListResourceRecordSets",
            "route53:ListHostedZonesByName",
        ])),
        "ebs" | "ebsCSIController" => {
            Known::Managed("arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy")
        }
        "efs" | "efsCSIController" => {
            Known::Managed("arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy")
        }
        "fsx" => Known::Inline(doc(&[
            "fsx:*",
            "iam:CreateServiceLinkedRole",
            "iam:AttachRolePolicy",
            "iam:PutRolePolicy",
            "s3:ListBucket",
        ])),
        "xRay" => Known::Managed("arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"),
        "cloudWatch" => Known::Managed("arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"),
        "appMesh" => Known::Managed("arn:aws:iam::aws:policy/AWSAppMeshFullAccess"),
        "appMeshPreview" => Known::Inline(doc(&["appmesh-preview:*", "servicediscovery:*"])),
        "awsLoadBalancerController" | "albIngress" => {
            Known::Inline(super::plan::alb_policy_document())
        }
        _ => return None,
    })
}

/// The calls that give `role` its permissions: managed ARNs, well-known policies
/// and an inline document. `prefix` keeps call ids unique.
pub fn policy_calls(
    prefix: &str,
    role: &str,
    arns: &[String],
    known: &[String],
    inline: Option<&str>,
) -> Result<Vec<Call>, String> {
    let mut calls = Vec::new();
    let attach = |calls: &mut Vec<Call>, arn: &str| {
        let short = arn.rsplit('/').next().unwrap_or(arn).to_string();
        calls.push(call(
            format!("{prefix}-policy-{short}"),
            format!("attach {short} to {role}"),
            Op::AttachRolePolicy {
                role: role.to_string(),
                policy_arn: Val::Lit(arn.to_string()),
            },
            1,
        ));
    };
    for arn in arns {
        attach(&mut calls, arn);
    }
    for k in known {
        match well_known(k) {
            Some(Known::Managed(arn)) => attach(&mut calls, arn),
            Some(Known::Inline(document)) => calls.push(call(
                format!("{prefix}-inline-{k}"),
                format!("inline policy {k} on {role}"),
                Op::PutRolePolicy {
                    role: role.to_string(),
                    name: format!("tierui-{k}"),
                    document,
                },
                1,
            )),
            None => {
                return Err(format!(
                    "well-known policy {k} is not one eksctl knows (imageBuilder, autoScaler, externalDNS, certManager, ebsCSIController, efsCSIController, awsLoadBalancerController …)"
                ));
            }
        }
    }
    if let Some(doc) = inline {
        calls.push(call(
            format!("{prefix}-inline"),
            format!("inline policy on {role} (the config's attachPolicy)"),
            Op::PutRolePolicy {
                role: role.to_string(),
                name: "tierui-inline".into(),
                document: doc.to_string(),
            },
            1,
        ));
    }
    Ok(calls)
}

fn eks_tags(n: &str, id: &str, extra: &[(String, String)]) -> Tags {
    let mut t = vec![
        (crate::cloud::TAG_CLUSTER.to_string(), n.to_string()),
        (crate::cloud::TAG_STEP.to_string(), id.to_string()),
    ];
    t.extend(extra.iter().cloned());
    t
}

pub const FARGATE_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy";

/// Step J: Fargate profiles in the private subnets.
pub fn fargate(cfg: &ClusterConfig, net: &Net) -> Result<Step, String> {
    let n = cfg.name.as_str();
    let mut step = Step {
        id: 'J',
        title: "Fargate profiles".into(),
        why: "A Fargate profile makes pods in its namespaces (and with its labels) run on Fargate: each pod gets its own micro-VM in a private subnet, no node to manage. The pod execution role lets Fargate pull images and write logs for those pods.".into(),
        depends_on: vec!['B', 'C'],
        eksctl: format!("eksctl create fargateprofile --cluster {n} -f <config>"),
        aws_cli: vec![
            format!("aws eks create-fargate-profile --cluster-name {n} --fargate-profile-name <name> --pod-execution-role-arn <role> --subnets <private subnets> --selectors namespace=<ns>"),
            format!("aws eks wait fargate-profile-active --cluster-name {n} --fargate-profile-name <name>"),
        ],
        calls: Vec::new(),
        skip_reason: None,
    };
    if cfg.fargate_profiles.is_empty() {
        step.skip_reason = Some("the config has no fargateProfiles".into());
        return Ok(step);
    }
    let role = match &cfg.iam.fargate_role_arn {
        Some(arn) => Val::Lit(arn.clone()),
        None => Val::of("role-fargate", "arn"),
    };
    for p in &cfg.fargate_profiles {
        let subnets: Vec<Val> = if p.subnets.is_empty() {
            net.private.iter().map(|s| s.val.clone()).collect()
        } else {
            p.subnets
                .iter()
                .map(|s| net.subnet_ref(s))
                .collect::<Result<_, _>>()?
        };
        if subnets.is_empty() {
            return Err(format!(
                "fargateProfiles {} ({}:{}): Fargate runs pods only in private subnets and this VPC has none",
                p.name, p.pos.line, p.pos.col
            ));
        }
        let id = format!("fargate-{}", p.name);
        let namespaces: Vec<&str> = p.selectors.iter().map(|(ns, _)| ns.as_str()).collect();
        step.calls.push(call(
            &id,
            format!(
                "Fargate profile {} for namespaces {} (and wait until ACTIVE)",
                p.name,
                namespaces.join(", ")
            ),
            Op::CreateFargateProfile {
                cluster: n.into(),
                name: p.name.clone(),
                role_arn: role.clone(),
                subnets,
                selectors: p.selectors.clone(),
                tags: eks_tags(n, &id, &p.tags),
            },
            150,
        ));
    }
    Ok(step)
}

/// The pod execution role step B creates when a config has Fargate profiles.
pub fn fargate_role_calls(cfg: &ClusterConfig) -> Vec<Call> {
    if cfg.fargate_profiles.is_empty() || cfg.iam.fargate_role_arn.is_some() {
        return Vec::new();
    }
    let n = cfg.name.as_str();
    let role = role_name(n, "fargate");
    vec![
        call(
            "role-fargate",
            format!("Fargate pod execution role {role}"),
            Op::CreateRole {
                name: role.clone(),
                trust: Trust::Service {
                    service: "eks-fargate-pods.amazonaws.com".into(),
                },
                description: format!("Fargate pods of {n}"),
                tags: tags(n, "role-fargate", &role, &[]),
                permissions_boundary: cfg.iam.fargate_role_permissions_boundary.clone(),
            },
            2,
        ),
        call(
            "role-fargate-policy",
            "attach AmazonEKSFargatePodExecutionRolePolicy",
            Op::AttachRolePolicy {
                role,
                policy_arn: Val::Lit(FARGATE_POLICY.into()),
            },
            1,
        ),
    ]
}

/// The service account an addon's controller runs as (for its IRSA role).
pub fn addon_service_account(addon: &str) -> &str {
    match addon {
        "vpc-cni" => "aws-node",
        "aws-ebs-csi-driver" => "ebs-csi-controller-sa",
        "aws-efs-csi-driver" => "efs-csi-controller-sa",
        "aws-mountpoint-s3-csi-driver" => "s3-csi-driver-sa",
        "adot" => "opentelemetry-operator",
        "amazon-cloudwatch-observability" => "cloudwatch-agent",
        other => other,
    }
}

fn arn_kind(arn: &str) -> &'static str {
    if arn.contains(":user/") {
        "user"
    } else {
        "role"
    }
}

/// Step K: who can use the cluster and what pods may do in AWS.
pub fn access(
    cfg: &ClusterConfig,
    api_mode: bool,
    notes: &mut Vec<String>,
) -> Result<Step, String> {
    let n = cfg.name.as_str();
    let mut calls: Vec<Call> = Vec::new();
    for e in &cfg.access.entries {
        let short = e.principal_arn.rsplit([':', '/']).next().unwrap_or("entry");
        let id = format!("access-{short}");
        calls.push(call(
            &id,
            format!(
                "access entry for {} ({})",
                e.principal_arn,
                e.kind.as_deref().unwrap_or("STANDARD")
            ),
            Op::CreateAccessEntry {
                cluster: n.into(),
                principal_arn: Val::Lit(e.principal_arn.clone()),
                kind: e.kind.clone(),
                groups: e.kubernetes_groups.clone(),
                username: e.username.clone(),
                tags: eks_tags(n, &id, &[]),
            },
            2,
        ));
        for (i, p) in e.policies.iter().enumerate() {
            let pshort = p.policy_arn.rsplit('/').next().unwrap_or("policy");
            calls.push(call(
                format!("{id}-policy-{i}"),
                format!(
                    "{pshort} for {short} ({} scope{})",
                    p.scope,
                    if p.namespaces.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", p.namespaces.join(", "))
                    }
                ),
                Op::AssociateAccessPolicy {
                    cluster: n.into(),
                    principal_arn: Val::Lit(e.principal_arn.clone()),
                    policy_arn: p.policy_arn.clone(),
                    scope: p.scope.clone(),
                    namespaces: p.namespaces.clone(),
                },
                1,
            ));
        }
    }
    if !cfg.identity_mappings.is_empty() && api_mode {
        notes.push("iamIdentityMappings are written to aws-auth, which authenticationMode API ignores; use accessConfig.accessEntries".into());
    }
    for (i, m) in cfg.identity_mappings.iter().enumerate() {
        let (kind, arn, username, groups) = match (&m.arn, &m.account, m.service_name.as_deref()) {
            (_, _, Some("emr-containers")) => {
                let ns = m.namespace.clone().unwrap_or_else(|| "default".into());
                calls.push(call(
                    format!("identity-{i}-rbac"),
                    format!("RBAC for EMR on EKS in namespace {ns} (you run this)"),
                    Op::Manual {
                        command: format!("eksctl create iamidentitymapping --cluster {n} --service-name emr-containers --namespace {ns}"),
                        reason: "the namespaced Role and RoleBinding EMR needs are Kubernetes RBAC eksctl writes; tierui maps the role and shows the command".into(),
                    },
                    0,
                ));
                (
                    "role".to_string(),
                    "arn:aws:iam::<account>:role/AWSServiceRoleForAmazonEMRContainers".to_string(),
                    Some("emr-containers".to_string()),
                    Vec::new(),
                )
            }
            (_, _, Some(other)) => {
                return Err(format!(
                    "iamIdentityMappings[{i}].serviceName {other} ({}:{}): only emr-containers is a service eksctl maps",
                    m.pos.line, m.pos.col
                ));
            }
            (Some(arn), _, None) => (
                arn_kind(arn).to_string(),
                arn.clone(),
                m.username.clone(),
                m.groups.clone(),
            ),
            (None, Some(acct), None) => ("account".to_string(), acct.clone(), None, Vec::new()),
            (None, None, None) => continue,
        };
        calls.push(call(
            format!("identity-{i}"),
            // `<account>` (the EMR service-linked role) is the cluster's account,
            // filled in when the call runs.
            format!("aws-auth: map {kind} {arn}"),
            Op::MapIdentity {
                cluster: n.into(),
                kind,
                arn: Val::Lit(arn),
                username,
                groups,
            },
            1,
        ));
    }
    for sa in &cfg.iam.service_accounts {
        if !cfg.iam.with_oidc {
            return Err(format!(
                "iam.serviceAccounts {}/{} ({}:{}) needs iam.withOIDC: true (IRSA trusts the cluster's OIDC provider)",
                sa.namespace, sa.name, sa.pos.line, sa.pos.col
            ));
        }
        let id = format!("irsa-{}-{}", sa.namespace, sa.name);
        let role_arn = match &sa.attach_role_arn {
            Some(arn) => Val::Lit(arn.clone()),
            None => {
                let role = sa
                    .role_name
                    .clone()
                    .unwrap_or_else(|| role_name(n, &format!("sa-{}-{}", sa.namespace, sa.name)));
                calls.push(call(
                    format!("{id}-role"),
                    format!("IRSA role {role} for {}/{}", sa.namespace, sa.name),
                    Op::CreateRole {
                        name: role.clone(),
                        trust: Trust::WebIdentity {
                            provider_arn: Val::of("oidc", "arn"),
                            issuer: Val::of("cluster", "issuer"),
                            namespace: sa.namespace.clone(),
                            service_account: sa.name.clone(),
                        },
                        description: format!("{}/{} of {n} (IRSA)", sa.namespace, sa.name),
                        tags: tags(n, &format!("{id}-role"), &role, &[]),
                        permissions_boundary: sa.permissions_boundary.clone(),
                    },
                    2,
                ));
                calls.extend(policy_calls(
                    &id,
                    &role,
                    &sa.attach_policy_arns,
                    &sa.well_known_policies,
                    sa.attach_policy.as_deref(),
                )?);
                Val::of(&format!("{id}-role"), "arn")
            }
        };
        if !sa.role_only {
            calls.push(call(
                format!("{id}-sa"),
                format!("service account {}/{} with the role", sa.namespace, sa.name),
                Op::CreateServiceAccount {
                    cluster: n.into(),
                    namespace: sa.namespace.clone(),
                    name: sa.name.clone(),
                    role_arn: Some(role_arn),
                },
                2,
            ));
        }
    }
    if !cfg.iam.pod_identities.is_empty()
        && !cfg
            .addons
            .iter()
            .any(|a| a.name == "eks-pod-identity-agent")
    {
        notes.push("iam.podIdentityAssociations need the eks-pod-identity-agent addon in addons (eksctl refuses without it); the associations are created but pods get no credentials until the agent runs".into());
    }
    for p in &cfg.iam.pod_identities {
        let id = format!("pod-identity-{}-{}", p.namespace, p.service_account);
        let role_arn = match &p.role_arn {
            Some(arn) => Val::Lit(arn.clone()),
            None => {
                let role = p.role_name.clone().unwrap_or_else(|| {
                    role_name(n, &format!("pi-{}-{}", p.namespace, p.service_account))
                });
                calls.push(call(
                    format!("{id}-role"),
                    format!(
                        "pod identity role {role} for {}/{}",
                        p.namespace, p.service_account
                    ),
                    Op::CreateRole {
                        name: role.clone(),
                        trust: Trust::PodIdentity,
                        description: format!(
                            "{}/{} of {n} (pod identity)",
                            p.namespace, p.service_account
                        ),
                        tags: tags(n, &format!("{id}-role"), &role, &[]),
                        permissions_boundary: p.permissions_boundary.clone(),
                    },
                    2,
                ));
                calls.extend(policy_calls(
                    &id,
                    &role,
                    &p.policy_arns,
                    &p.well_known_policies,
                    p.policy.as_deref(),
                )?);
                Val::of(&format!("{id}-role"), "arn")
            }
        };
        if p.create_service_account {
            calls.push(call(
                format!("{id}-sa"),
                format!("service account {}/{}", p.namespace, p.service_account),
                Op::CreateServiceAccount {
                    cluster: n.into(),
                    namespace: p.namespace.clone(),
                    name: p.service_account.clone(),
                    role_arn: None,
                },
                2,
            ));
        }
        calls.push(call(
            &id,
            format!(
                "pod identity association {}/{}{}",
                p.namespace,
                p.service_account,
                p.target_role_arn
                    .as_deref()
                    .map(|t| format!(" → {t}"))
                    .unwrap_or_default()
            ),
            Op::CreatePodIdentityAssociation {
                cluster: n.into(),
                namespace: p.namespace.clone(),
                service_account: p.service_account.clone(),
                role_arn,
                target_role_arn: p.target_role_arn.clone(),
                disable_session_tags: p.disable_session_tags,
                tags: eks_tags(n, &id, &[]),
            },
            2,
        ));
    }
    for p in &cfg.identity_providers {
        let id = format!("idp-{}", p.name);
        calls.push(call(
            &id,
            format!("OIDC identity provider {} ({})", p.name, p.issuer_url),
            Op::AssociateIdentityProvider {
                cluster: n.into(),
                name: p.name.clone(),
                issuer_url: p.issuer_url.clone(),
                client_id: p.client_id.clone(),
                username_claim: p.username_claim.clone(),
                groups_claim: p.groups_claim.clone(),
                tags: eks_tags(n, &id, &[]),
            },
            30,
        ));
    }
    let skip = calls
        .is_empty()
        .then(|| "no access entries, identity mappings, service accounts, pod identities or identity providers in the config".to_string());
    Ok(Step {
        id: 'K',
        title: "Access and identities".into(),
        why: "Who may use the cluster and what pods may do in AWS. Access entries (the EKS API) and aws-auth mappings (the ConfigMap eksctl wrote before access entries existed) turn IAM principals into Kubernetes users and groups; IRSA roles trust the cluster's OIDC issuer for one service account each; pod identity associations let the EKS Pod Identity agent hand a role to a service account without OIDC; an OIDC identity provider lets people sign in with your own IdP.".into(),
        depends_on: vec!['C', 'D', 'G'],
        eksctl: format!("eksctl create accessentry / iamidentitymapping / iamserviceaccount / podidentityassociation --cluster {n} -f <config>"),
        aws_cli: vec![
            format!("aws eks create-access-entry --cluster-name {n} --principal-arn <arn> [--type STANDARD] [--kubernetes-groups g1]"),
            format!("aws eks associate-access-policy --cluster-name {n} --principal-arn <arn> --policy-arn <policy> --access-scope type=namespace,namespaces=<ns>"),
            "kubectl -n kube-system edit configmap aws-auth   # mapRoles / mapUsers".into(),
            format!("aws eks create-pod-identity-association --cluster-name {n} --namespace <ns> --service-account <sa> --role-arn <role>"),
            format!("aws eks associate-identity-provider-config --cluster-name {n} --oidc identityProviderConfigName=<name>,issuerUrl=<url>,clientId=<id>"),
        ],
        calls,
        skip_reason: skip,
    })
}
