//! What a teardown will delete, said before it starts: counts by kind, the IDs on
//! request, and the hourly cost that stops. Pure: built from the saved progress.

use super::cost::{self, Hourly};
use super::engine::Progress;
use super::plan::Plan;
use crate::cloud::Undo;

#[derive(Debug, Clone, PartialEq)]
pub struct TeardownSummary {
    /// Kind (plural-aware label) → count, in the order teardown meets them.
    pub counts: Vec<(&'static str, usize)>,
    /// (kind, what is deleted: ID, ARN or name), in teardown order.
    pub ids: Vec<(&'static str, String)>,
    /// What the resources cost per hour now, which stops with the teardown.
    pub hourly: Hourly,
}

/// The kind an undo deletes, in the operator's words (singular).
pub fn kind(u: &Undo) -> &'static str {
    match u {
        Undo::DeleteNodegroup { .. } => "node group",
        Undo::DeleteAddon { .. } => "add-on",
        Undo::DeleteCluster { .. } => "EKS cluster",
        Undo::DeleteOidcProvider { .. } => "OIDC provider",
        Undo::DetachRolePolicy { .. } => "role policy attachment",
        Undo::DeleteRole { .. } => "IAM role",
        Undo::DeletePolicy { .. } => "IAM policy",
        Undo::DisassociateRouteTable { .. } => "route table association",
        Undo::DeleteRouteTable { .. } => "route table",
        Undo::DeleteNatGateway { .. } => "NAT gateway",
        Undo::ReleaseAddress { .. } => "Elastic IP",
        Undo::DetachInternetGateway { .. } => "internet gateway attachment",
        Undo::DeleteInternetGateway { .. } => "internet gateway",
        Undo::DeleteSubnet { .. } => "subnet",
        Undo::DeleteSecurityGroup { .. } => "security group",
        Undo::DeleteVpc { .. } => "VPC",
        Undo::RemoveKubeconfig { .. } => "kubeconfig entry",
        Undo::DeleteServiceAccount { .. } => "service account",
        Undo::RevokeIngress { .. } => "security group rule",
        Undo::DeleteLaunchTemplate { .. } => "launch template",
        Undo::DeleteKeyPair { .. } => "key pair",
        Undo::DeleteVpcEndpoint { .. } => "VPC endpoint",
        Undo::DeleteEgressOnlyInternetGateway { .. } => "egress-only internet gateway",
        Undo::RemoveRoleFromInstanceProfile { .. } => "instance profile role",
        Undo::DeleteInstanceProfile { .. } => "instance profile",
        Undo::DeleteRolePolicy { .. } => "inline role policy",
        Undo::DrainAutoScalingGroup { .. } => "Auto Scaling group drain",
        Undo::DeleteAutoScalingGroup { .. } => "Auto Scaling group",
        Undo::ScheduleKeyDeletion { .. } => "KMS key (scheduled for deletion in 7 days)",
        Undo::DeleteFargateProfile { .. } => "Fargate profile",
        Undo::DeleteAccessEntry { .. } => "access entry",
        Undo::DeletePodIdentityAssociation { .. } => "pod identity association",
        Undo::DisassociateIdentityProvider { .. } => "identity provider config",
        Undo::UnmapIdentity { .. } => "aws-auth entry",
    }
}

/// The ID, ARN or name an undo acts on.
pub fn target(u: &Undo) -> String {
    match u {
        Undo::DeleteNodegroup { cluster, name } | Undo::DeleteAddon { cluster, name } => {
            format!("{cluster}/{name}")
        }
        Undo::DeleteCluster { name } | Undo::DeleteRole { name } => name.clone(),
        Undo::DeleteOidcProvider { arn } | Undo::DeletePolicy { arn } => arn.clone(),
        Undo::DetachRolePolicy { role, policy_arn } => format!("{policy_arn} from {role}"),
        Undo::DisassociateRouteTable { association } => association.clone(),
        Undo::ReleaseAddress { allocation } => allocation.clone(),
        Undo::DetachInternetGateway { igw, vpc } => format!("{igw} from {vpc}"),
        Undo::DeleteRouteTable { id }
        | Undo::DeleteNatGateway { id }
        | Undo::DeleteInternetGateway { id }
        | Undo::DeleteSubnet { id }
        | Undo::DeleteSecurityGroup { id }
        | Undo::DeleteVpc { id } => id.clone(),
        Undo::RemoveKubeconfig { cluster } => cluster.clone(),
        Undo::DeleteServiceAccount {
            cluster,
            namespace,
            name,
        } => format!("{namespace}/{name} in {cluster}"),
        Undo::RevokeIngress {
            group,
            peer,
            protocol,
            from_port,
            to_port,
        } => format!("{group} ← {peer} {protocol} {from_port}-{to_port}"),
        Undo::DeleteLaunchTemplate { id }
        | Undo::DeleteVpcEndpoint { id }
        | Undo::DeleteEgressOnlyInternetGateway { id } => id.clone(),
        Undo::DeleteKeyPair { name }
        | Undo::DeleteInstanceProfile { name }
        | Undo::DrainAutoScalingGroup { name }
        | Undo::DeleteAutoScalingGroup { name } => name.clone(),
        Undo::RemoveRoleFromInstanceProfile { profile, role } => format!("{role} from {profile}"),
        Undo::DeleteRolePolicy { role, name } => format!("{name} of {role}"),
        Undo::ScheduleKeyDeletion { key_id } => key_id.clone(),
        Undo::DeleteFargateProfile { cluster, name }
        | Undo::DisassociateIdentityProvider { cluster, name } => format!("{cluster}/{name}"),
        Undo::DeleteAccessEntry {
            cluster,
            principal_arn,
        } => format!("{principal_arn} in {cluster}"),
        Undo::DeletePodIdentityAssociation { cluster, id } => format!("{cluster}/{id}"),
        Undo::UnmapIdentity { cluster, kind, arn } => format!("{kind} {arn} in {cluster}"),
    }
}

fn plural(kind: &str, n: usize) -> String {
    // policy → policies, but gateway → gateways.
    let consonant_y = kind
        .strip_suffix('y')
        .filter(|stem| stem.ends_with(|c: char| !"aeiou".contains(c)));
    match (n, consonant_y) {
        (1, _) => format!("1 {kind}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {kind}s"),
    }
}

impl TeardownSummary {
    pub fn of(plan: &Plan, progress: &Progress) -> TeardownSummary {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        let mut ids = Vec::new();
        // A teardown under way lists what is left; a new one what would be undone.
        let undos: Vec<Undo> = if progress.teardown.is_empty() {
            progress
                .teardown_plan(plan)
                .into_iter()
                .map(|(_, u)| u)
                .collect()
        } else {
            progress
                .teardown_order(plan)
                .iter()
                .filter_map(|k| progress.teardown.get(k))
                .filter(|r| r.status != super::engine::UndoStatus::Done)
                .map(|r| r.undo.clone())
                .collect()
        };
        for u in &undos {
            let k = kind(u);
            match counts.iter_mut().find(|(kk, _)| *kk == k) {
                Some((_, n)) => *n += 1,
                None => counts.push((k, 1)),
            }
            ids.push((k, target(u)));
        }
        TeardownSummary {
            counts,
            ids,
            hourly: cost::hourly(plan, progress),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn total(&self) -> usize {
        self.ids.len()
    }

    /// "1 EKS cluster, 1 node group, 3 NAT gateways, …"
    pub fn counts_line(&self) -> String {
        self.counts
            .iter()
            .map(|(k, n)| plural(k, *n))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One line per deletion: "NAT gateway  nat-0abc…".
    pub fn id_lines(&self) -> Vec<String> {
        let w = self.ids.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        self.ids
            .iter()
            .map(|(k, id)| format!("{k:<w$}  {id}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Produced;
    use crate::walkthrough::engine::{CallStatus, Next};

    fn ha_plan() -> Plan {
        crate::walkthrough::plan::demo_plan_with_nat("HighlyAvailable")
    }

    #[test]
    fn kinds_in_the_plural() {
        assert_eq!(plural("IAM policy", 2), "2 IAM policies");
        assert_eq!(plural("Elastic IP", 3), "3 Elastic IPs");
        assert_eq!(plural("VPC", 1), "1 VPC");
        assert_eq!(plural("NAT gateway", 2), "2 NAT gateways");
    }

    #[test]
    fn counts_by_kind_ids_and_the_cost_that_stops() {
        let plan = ha_plan();
        let mut p = Progress::new(&plan, "moto");
        assert!(TeardownSummary::of(&plan, &p).is_empty());
        let mut n = 0;
        while let Next::Run(_, c) = p.next(&plan, None) {
            let c = c.clone();
            n += 1;
            let mut out = Produced::new();
            for k in ["id", "arn", "allocation", "association"] {
                out.insert(k.into(), format!("{k}-{n}"));
            }
            p.returned(&c.id, out, false, false, n);
        }
        assert!(p.calls.values().all(|r| r.status == CallStatus::Done));
        let s = TeardownSummary::of(&plan, &p);
        let line = s.counts_line();
        assert!(line.contains("2 NAT gateways"), "{line}");
        assert!(line.contains("2 Elastic IPs"), "{line}");
        assert!(line.contains("1 EKS cluster"), "{line}");
        assert!(line.contains("1 node group"), "{line}");
        assert!(line.contains("1 VPC"), "{line}");
        assert_eq!(
            s.total(),
            s.counts.iter().map(|(_, n)| n).sum::<usize>(),
            "every deletion is counted once"
        );
        let ids = s.id_lines();
        assert!(
            ids.iter()
                .any(|l| l.starts_with("NAT gateway") && l.contains("id-")),
            "{ids:?}"
        );
        // Control plane + two NATs + two addresses + nodes, all known prices.
        assert!(s.hourly.total > 0.3, "{:?}", s.hourly);
        assert!(s.hourly.unknown.is_empty(), "{:?}", s.hourly);
    }
}
