//! The step engine: a pure state machine over a [`Plan`]. It says which call runs
//! next, records results, derives step states, and lists the teardown in the
//! order AWS requires. Time comes in as a parameter; no cloud is touched here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::plan::{Call, Plan, Step};
use crate::cloud::{CloudError, Op, Outputs, Produced, Undo, WaitFor};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Pending,
    Running,
    /// The call returned; polling until the resource is ready.
    Waiting,
    Done,
    /// Found from an earlier run (by tag or name) instead of created again.
    Adopted,
    Failed,
    /// The endpoint does not implement this API (e.g. moto's EKS addons).
    NotImplemented,
    /// Shown to the operator to run; tierui does not run it.
    Manual,
}

impl CallStatus {
    /// What the call made may exist in the cloud (a waiting or interrupted call's
    /// resource too): teardown undoes it, a progress holding it is never dropped.
    pub fn may_exist(self) -> bool {
        matches!(
            self,
            CallStatus::Done | CallStatus::Adopted | CallStatus::Waiting | CallStatus::Running
        )
    }

    /// Finished in a way that lets dependants go on.
    pub fn settled(self) -> bool {
        matches!(
            self,
            CallStatus::Done
                | CallStatus::Adopted
                | CallStatus::NotImplemented
                | CallStatus::Manual
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub status: CallStatus,
    /// Unix milliseconds.
    pub started: Option<u64>,
    pub finished: Option<u64>,
    pub error: Option<CloudError>,
    /// The status AWS reported last while waiting, or how the result was verified.
    pub detail: Option<String>,
}

impl Default for CallRecord {
    fn default() -> Self {
        CallRecord {
            status: CallStatus::Pending,
            started: None,
            finished: None,
            error: None,
            detail: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Ready,
    Running,
    Done,
    Adopted,
    Failed,
    Skipped,
}

impl StepStatus {
    pub fn glyph(self) -> &'static str {
        match self {
            StepStatus::Pending => "·",
            StepStatus::Ready => "○",
            StepStatus::Running => "◐",
            StepStatus::Done => "✓",
            StepStatus::Adopted => "≈",
            StepStatus::Failed => "✗",
            StepStatus::Skipped => "–",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Ready => "ready to run",
            StepStatus::Running => "running",
            StepStatus::Done => "done",
            StepStatus::Adopted => "adopted",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UndoStatus {
    Pending,
    Running,
    Waiting,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoRecord {
    pub undo: Undo,
    pub status: UndoStatus,
    pub error: Option<CloudError>,
}

/// Everything the walkthrough has done, saved after every call so a crash never
/// loses a created ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The plan this progress belongs to (see [`Plan::fingerprint`]).
    pub fingerprint: String,
    pub cluster: String,
    /// Where the calls went: "sandbox" or the account/region/endpoint.
    pub target: String,
    pub calls: BTreeMap<String, CallRecord>,
    pub outputs: Outputs,
    /// Undo key (`<call>#<n>`) → record, while a teardown is under way.
    pub teardown: BTreeMap<String, UndoRecord>,
    /// The AWS account the resources are in (from STS GetCallerIdentity); a
    /// progress is never resumed or torn down from another account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// "aws", "sandbox" or the custom endpoint URL the calls went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

impl Progress {
    pub fn new(plan: &Plan, target: &str) -> Progress {
        Progress {
            fingerprint: plan.fingerprint(),
            cluster: plan.cluster.clone(),
            target: target.to_string(),
            calls: plan
                .calls()
                .map(|(_, c)| (c.id.clone(), CallRecord::default()))
                .collect(),
            outputs: Outputs::new(),
            teardown: BTreeMap::new(),
            account: None,
            region: None,
            endpoint: None,
        }
    }

    /// A fresh progress for the same plan, account and place.
    pub fn restart(&self, plan: &Plan) -> Progress {
        Progress {
            account: self.account.clone(),
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            ..Progress::new(plan, &self.target)
        }
    }

    /// Whether anything of this progress may exist in the cloud.
    pub fn holds_resources(&self) -> bool {
        self.calls.values().any(|r| r.status.may_exist())
            || self.teardown.values().any(|u| u.status != UndoStatus::Done)
    }

    /// The account the resources are in: recorded, or for a progress saved before
    /// accounts were recorded, read from the ARNs it holds.
    pub fn account_of(&self) -> Option<String> {
        if let Some(a) = &self.account {
            return Some(a.clone());
        }
        self.outputs
            .values()
            .flat_map(|o| o.values())
            .find_map(|v| arn_account(v))
    }

    pub fn record(&self, call: &str) -> CallRecord {
        self.calls.get(call).cloned().unwrap_or_default()
    }

    pub fn status(&self, call: &str) -> CallStatus {
        self.calls
            .get(call)
            .map_or(CallStatus::Pending, |r| r.status)
    }

    fn entry(&mut self, call: &str) -> &mut CallRecord {
        self.calls.entry(call.to_string()).or_default()
    }

    pub fn begin(&mut self, call: &str, now: u64) {
        let r = self.entry(call);
        r.status = CallStatus::Running;
        r.started = Some(now);
        r.finished = None;
        r.error = None;
        r.detail = None;
    }

    /// The call returned `produced`; `wait` means the resource is not ready yet.
    pub fn returned(
        &mut self,
        call: &str,
        produced: Produced,
        adopted: bool,
        waiting: bool,
        now: u64,
    ) {
        self.outputs.insert(call.to_string(), produced);
        let r = self.entry(call);
        if waiting {
            r.status = CallStatus::Waiting;
        } else {
            r.status = if adopted {
                CallStatus::Adopted
            } else {
                CallStatus::Done
            };
            r.finished = Some(now);
        }
        if adopted {
            r.detail =
                Some("adopted: found from an earlier run by its tierui.io tags or name".into());
        }
    }

    pub fn waiting(&mut self, call: &str, aws_status: &str) {
        self.entry(call).detail = Some(format!("AWS reports {aws_status}"));
    }

    /// The wait ended: the resource reached its target state.
    pub fn ready(&mut self, call: &str, verified: String, now: u64) {
        let r = self.entry(call);
        let adopted = r
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("adopted"));
        r.status = if adopted {
            CallStatus::Adopted
        } else {
            CallStatus::Done
        };
        r.finished = Some(now);
        r.detail = Some(verified);
    }

    pub fn failed(&mut self, call: &str, error: CloudError, now: u64) {
        let r = self.entry(call);
        if error.is_not_implemented() {
            r.status = CallStatus::NotImplemented;
            r.detail = Some(format!(
                "{} is not implemented by this endpoint; going on",
                error.api
            ));
        } else {
            r.status = CallStatus::Failed;
        }
        r.finished = Some(now);
        r.error = Some(error);
    }

    pub fn manual(&mut self, call: &str, now: u64, detail: String) {
        let r = self.entry(call);
        r.status = CallStatus::Manual;
        r.finished = Some(now);
        r.detail = Some(detail);
    }

    /// Failed calls of a step go back to pending (the operator retries).
    pub fn retry(&mut self, plan: &Plan, step: char) {
        if let Some(s) = plan.step(step) {
            for c in &s.calls {
                if let Some(r) = self.calls.get_mut(&c.id)
                    && matches!(
                        r.status,
                        CallStatus::Failed | CallStatus::Running | CallStatus::Waiting
                    )
                {
                    *r = CallRecord::default();
                }
            }
        }
    }

    /// Calls interrupted by a crash or quit are re-run (with adoption) on resume.
    pub fn resume(&mut self) {
        for r in self.calls.values_mut() {
            if r.status == CallStatus::Running {
                *r = CallRecord::default();
            }
        }
        for u in self.teardown.values_mut() {
            if u.status == UndoStatus::Running {
                u.status = UndoStatus::Pending;
            }
        }
    }

    pub fn step_status(&self, plan: &Plan, step: &Step) -> StepStatus {
        if step.skip_reason.is_some() {
            return StepStatus::Skipped;
        }
        let statuses: Vec<CallStatus> = step.calls.iter().map(|c| self.status(&c.id)).collect();
        if statuses.contains(&CallStatus::Failed) {
            return StepStatus::Failed;
        }
        if statuses
            .iter()
            .any(|s| matches!(s, CallStatus::Running | CallStatus::Waiting))
        {
            return StepStatus::Running;
        }
        if statuses.iter().all(|s| s.settled()) {
            return if statuses.iter().all(|s| *s == CallStatus::Adopted) {
                StepStatus::Adopted
            } else {
                StepStatus::Done
            };
        }
        if statuses.iter().any(|s| s.settled()) {
            // Part done (paused or interrupted): can go on.
            return StepStatus::Ready;
        }
        if self.deps_settled(plan, step) {
            StepStatus::Ready
        } else {
            StepStatus::Pending
        }
    }

    fn deps_settled(&self, plan: &Plan, step: &Step) -> bool {
        step.depends_on.iter().all(|d| {
            plan.step(*d).is_some_and(|ds| {
                matches!(
                    self.step_status(plan, ds),
                    StepStatus::Done | StepStatus::Adopted | StepStatus::Skipped
                )
            })
        })
    }

    /// The next call to run for `scope` (`Some(step)` or the whole plan), or why none.
    pub fn next<'p>(&self, plan: &'p Plan, scope: Option<char>) -> Next<'p> {
        for step in plan
            .steps
            .iter()
            .filter(|s| scope.is_none_or(|id| s.id == id))
        {
            match self.step_status(plan, step) {
                StepStatus::Done | StepStatus::Adopted | StepStatus::Skipped => continue,
                StepStatus::Failed => {
                    return Next::Blocked(step.id, format!("step {} failed; retry it", step.id));
                }
                StepStatus::Pending => {
                    let missing: Vec<String> = step
                        .depends_on
                        .iter()
                        .filter(|d| {
                            plan.step(**d).is_some_and(|ds| {
                                !matches!(
                                    self.step_status(plan, ds),
                                    StepStatus::Done | StepStatus::Adopted | StepStatus::Skipped
                                )
                            })
                        })
                        .map(char::to_string)
                        .collect();
                    return Next::Blocked(
                        step.id,
                        format!("step {} needs step {} first", step.id, missing.join(", ")),
                    );
                }
                StepStatus::Ready | StepStatus::Running => {
                    if let Some(c) = step
                        .calls
                        .iter()
                        .find(|c| self.status(&c.id) == CallStatus::Pending)
                    {
                        return Next::Run(step, c);
                    }
                }
            }
        }
        Next::Finished
    }

    pub fn all_settled(&self, plan: &Plan) -> bool {
        plan.steps.iter().all(|s| {
            matches!(
                self.step_status(plan, s),
                StepStatus::Done | StepStatus::Adopted | StepStatus::Skipped
            )
        })
    }

    /// What teardown must undo, in order: reverse plan order over created resources.
    pub fn teardown_plan(&self, plan: &Plan) -> Vec<(String, Undo)> {
        let mut out = Vec::new();
        let calls: Vec<&Call> = plan.calls().map(|(_, c)| c).collect();
        for c in calls.into_iter().rev() {
            let status = self.status(&c.id);
            if !status.may_exist() {
                continue;
            }
            for (i, u) in undo_for(c, &self.outputs).into_iter().enumerate() {
                out.push((format!("{}#{i}", c.id), u));
            }
        }
        out
    }

    /// Starts (or continues) a teardown: fills the undo list once.
    pub fn start_teardown(&mut self, plan: &Plan) {
        for (key, undo) in self.teardown_plan(plan) {
            self.teardown.entry(key).or_insert(UndoRecord {
                undo,
                status: UndoStatus::Pending,
                error: None,
            });
        }
    }

    /// Undo keys in the order they run.
    pub fn teardown_order(&self, plan: &Plan) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        let calls: Vec<&Call> = plan.calls().map(|(_, c)| c).collect();
        for c in calls.into_iter().rev() {
            let mut mine: Vec<&String> = self
                .teardown
                .keys()
                .filter(|k| k.rsplit_once('#').is_some_and(|(id, _)| id == c.id))
                .collect();
            mine.sort();
            keys.extend(mine.into_iter().cloned());
        }
        keys
    }

    /// Another call of the same kind that already holds the ID `produced` names.
    /// The plan makes one resource per call (one NAT gateway and one address per
    /// AZ for HighlyAvailable), so a shared ID means an adoption went wrong.
    pub fn claimed_by(
        &self,
        plan: &Plan,
        call: &Call,
        produced: &Produced,
    ) -> Option<(String, String)> {
        let key = identity_key(&call.op)?;
        let id = produced.get(key)?;
        let kind = std::mem::discriminant(&call.op);
        plan.calls()
            .map(|(_, c)| c)
            .filter(|c| c.id != call.id && std::mem::discriminant(&c.op) == kind)
            .find(|c| self.outputs.get(&c.id).and_then(|o| o.get(key)) == Some(id))
            .map(|c| (c.id.clone(), id.clone()))
    }

    /// After every undo succeeded, the walkthrough starts from scratch.
    pub fn teardown_complete(&self) -> bool {
        !self.teardown.is_empty() && self.teardown.values().all(|u| u.status == UndoStatus::Done)
    }
}

pub enum Next<'p> {
    Run(&'p Step, &'p Call),
    Blocked(char, String),
    Finished,
}

/// The wait that follows a call, from what it produced.
pub fn wait_after(op: &Op, produced: &Produced) -> Option<WaitFor> {
    match op {
        Op::CreateNatGateway { .. } => produced
            .get("id")
            .map(|id| WaitFor::NatAvailable { id: id.clone() }),
        Op::CreateCluster { name, .. } => Some(WaitFor::ClusterActive { name: name.clone() }),
        Op::CreateAddon { cluster, name, .. } => Some(WaitFor::AddonActive {
            cluster: cluster.clone(),
            name: name.clone(),
        }),
        Op::CreateNodegroup { cluster, name, .. } => Some(WaitFor::NodegroupActive {
            cluster: cluster.clone(),
            name: name.clone(),
        }),
        Op::CreateAutoScalingGroup {
            name, desired_size, ..
        } => Some(WaitFor::AsgInService {
            name: name.clone(),
            desired: *desired_size,
        }),
        Op::CreateFargateProfile { cluster, name, .. } => Some(WaitFor::FargateActive {
            cluster: cluster.clone(),
            name: name.clone(),
        }),
        _ => None,
    }
}

pub fn wait_after_undo(undo: &Undo) -> Option<WaitFor> {
    match undo {
        Undo::DeleteNatGateway { id } => Some(WaitFor::NatDeleted { id: id.clone() }),
        Undo::DeleteCluster { name } => Some(WaitFor::ClusterGone { name: name.clone() }),
        Undo::DeleteAddon { cluster, name } => Some(WaitFor::AddonGone {
            cluster: cluster.clone(),
            name: name.clone(),
        }),
        Undo::DeleteNodegroup { cluster, name } => Some(WaitFor::NodegroupGone {
            cluster: cluster.clone(),
            name: name.clone(),
        }),
        Undo::DrainAutoScalingGroup { name } => Some(WaitFor::AsgDrained { name: name.clone() }),
        Undo::DeleteAutoScalingGroup { name } => Some(WaitFor::AsgGone { name: name.clone() }),
        Undo::DeleteFargateProfile { cluster, name } => Some(WaitFor::FargateGone {
            cluster: cluster.clone(),
            name: name.clone(),
        }),
        _ => None,
    }
}

/// The account of an ARN (`arn:aws:iam::123456789012:role/x`), when it names one.
pub fn arn_account(arn: &str) -> Option<String> {
    let mut parts = arn.split(':');
    if parts.next() != Some("arn") {
        return None;
    }
    let account = parts.nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| account.to_string())
}

/// The output that identifies the resource a call creates, for calls whose
/// resources must all be distinct.
fn identity_key(op: &Op) -> Option<&'static str> {
    Some(match op {
        Op::CreateVpc { .. }
        | Op::CreateSubnet { .. }
        | Op::CreateInternetGateway { .. }
        | Op::CreateNatGateway { .. }
        | Op::CreateRouteTable { .. }
        | Op::CreateSecurityGroup { .. }
        | Op::CreateLaunchTemplate { .. }
        | Op::CreateVpcEndpoint { .. }
        | Op::CreateEgressOnlyInternetGateway { .. } => "id",
        Op::AllocateAddress { .. } => "allocation",
        Op::CreateRole { .. } | Op::CreatePolicy { .. } | Op::CreateOidcProvider { .. } => "arn",
        Op::AssociateRouteTable { .. } => "association",
        _ => return None,
    })
}

/// How to remove what a call created.
pub fn undo_for(call: &Call, outputs: &Outputs) -> Vec<Undo> {
    let mine = outputs.get(&call.id);
    let get = |k: &str| mine.and_then(|m| m.get(k)).cloned();
    let resolve = |v: &crate::cloud::Val| v.resolve(outputs).ok();
    let one = |u: Option<Undo>| u.into_iter().collect::<Vec<_>>();
    match &call.op {
        Op::CreateVpc { .. } => one(get("id").map(|id| Undo::DeleteVpc { id })),
        Op::CreateSubnet { .. } => one(get("id").map(|id| Undo::DeleteSubnet { id })),
        Op::CreateInternetGateway { .. } => {
            one(get("id").map(|id| Undo::DeleteInternetGateway { id }))
        }
        Op::AttachInternetGateway { igw, vpc } => one(resolve(igw)
            .zip(resolve(vpc))
            .map(|(igw, vpc)| Undo::DetachInternetGateway { igw, vpc })),
        Op::AllocateAddress { .. } => {
            one(get("allocation").map(|allocation| Undo::ReleaseAddress { allocation }))
        }
        Op::CreateNatGateway { .. } => one(get("id").map(|id| Undo::DeleteNatGateway { id })),
        Op::CreateRouteTable { .. } => one(get("id").map(|id| Undo::DeleteRouteTable { id })),
        Op::AssociateRouteTable { .. } => {
            one(get("association").map(|association| Undo::DisassociateRouteTable { association }))
        }
        Op::CreateSecurityGroup { .. } => one(get("id").map(|id| Undo::DeleteSecurityGroup { id })),
        Op::CreateRole { name, .. } => vec![Undo::DeleteRole { name: name.clone() }],
        Op::AttachRolePolicy { role, policy_arn } => {
            one(resolve(policy_arn).map(|p| Undo::DetachRolePolicy {
                role: role.clone(),
                policy_arn: p,
            }))
        }
        Op::CreatePolicy { .. } => one(get("arn").map(|arn| Undo::DeletePolicy { arn })),
        Op::CreateCluster { name, .. } => vec![Undo::DeleteCluster { name: name.clone() }],
        Op::CreateOidcProvider { .. } => {
            one(get("arn").map(|arn| Undo::DeleteOidcProvider { arn }))
        }
        Op::CreateAddon { cluster, name, .. } => vec![Undo::DeleteAddon {
            cluster: cluster.clone(),
            name: name.clone(),
        }],
        Op::CreateNodegroup { cluster, name, .. } => vec![Undo::DeleteNodegroup {
            cluster: cluster.clone(),
            name: name.clone(),
        }],
        Op::WriteKubeconfig { cluster, .. } => vec![Undo::RemoveKubeconfig {
            cluster: cluster.clone(),
        }],
        Op::CreateServiceAccount {
            cluster,
            namespace,
            name,
            ..
        } => vec![Undo::DeleteServiceAccount {
            cluster: cluster.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
        }],
        Op::AuthorizeIngress {
            group,
            peer,
            protocol,
            from_port,
            to_port,
            ..
        } => {
            let peer = match peer {
                crate::cloud::Peer::Group { id } => resolve(id),
                crate::cloud::Peer::Cidr { cidr } => Some(cidr.clone()),
            };
            one(resolve(group)
                .zip(peer)
                .map(|(group, peer)| Undo::RevokeIngress {
                    group,
                    peer,
                    protocol: protocol.clone(),
                    from_port: *from_port,
                    to_port: *to_port,
                }))
        }
        Op::CreateLaunchTemplate { .. } => {
            one(get("id").map(|id| Undo::DeleteLaunchTemplate { id }))
        }
        Op::ImportKeyPair { name, .. } => vec![Undo::DeleteKeyPair { name: name.clone() }],
        Op::CreateVpcEndpoint { .. } => one(get("id").map(|id| Undo::DeleteVpcEndpoint { id })),
        Op::CreateEgressOnlyInternetGateway { .. } => {
            one(get("id").map(|id| Undo::DeleteEgressOnlyInternetGateway { id }))
        }
        Op::CreateInstanceProfile { name, .. } => {
            vec![Undo::DeleteInstanceProfile { name: name.clone() }]
        }
        Op::AddRoleToInstanceProfile { profile, role } => {
            vec![Undo::RemoveRoleFromInstanceProfile {
                profile: profile.clone(),
                role: role.clone(),
            }]
        }
        Op::PutRolePolicy { role, name, .. } => vec![Undo::DeleteRolePolicy {
            role: role.clone(),
            name: name.clone(),
        }],
        Op::CreateAutoScalingGroup { name, .. } => vec![
            Undo::DrainAutoScalingGroup { name: name.clone() },
            Undo::DeleteAutoScalingGroup { name: name.clone() },
        ],
        Op::CreateKey { .. } => one(get("id").map(|key_id| Undo::ScheduleKeyDeletion { key_id })),
        Op::CreateFargateProfile { cluster, name, .. } => vec![Undo::DeleteFargateProfile {
            cluster: cluster.clone(),
            name: name.clone(),
        }],
        Op::CreateAccessEntry {
            cluster,
            principal_arn,
            ..
        } => one(resolve(principal_arn).map(|p| Undo::DeleteAccessEntry {
            cluster: cluster.clone(),
            principal_arn: p,
        })),
        Op::CreatePodIdentityAssociation { cluster, .. } => {
            one(get("id").map(|id| Undo::DeletePodIdentityAssociation {
                cluster: cluster.clone(),
                id,
            }))
        }
        Op::AssociateIdentityProvider { cluster, name, .. } => {
            vec![Undo::DisassociateIdentityProvider {
                cluster: cluster.clone(),
                name: name.clone(),
            }]
        }
        // The entry as written: `<account>` was filled in when the call ran.
        Op::MapIdentity {
            cluster, kind, arn, ..
        } => one(get("arn")
            .or_else(|| resolve(arn))
            .map(|arn| Undo::UnmapIdentity {
                cluster: cluster.clone(),
                kind: kind.clone(),
                arn,
            })),
        // Removed with what they belong to, or never created anything.
        Op::ModifyVpcAttribute { .. }
        | Op::MapPublicIpOnLaunch { .. }
        | Op::CreateRoute { .. }
        | Op::FindSubnet { .. }
        | Op::TagResource { .. }
        | Op::DescribeKey { .. }
        | Op::AssociateAccessPolicy { .. }
        | Op::Manual { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_plan() -> Plan {
        crate::walkthrough::plan::demo_plan_with_nat("Single")
    }

    fn fake_produced(c: &Call) -> Produced {
        let mut p = Produced::new();
        p.insert("id".into(), format!("id-{}", c.id));
        p.insert("arn".into(), format!("arn:{}", c.id));
        p.insert("allocation".into(), format!("eipalloc-{}", c.id));
        p.insert("association".into(), format!("rtbassoc-{}", c.id));
        p.insert("issuer".into(), "https://oidc.example/id/X".into());
        p
    }

    /// Runs the plan against nothing, as a runner would, with every call succeeding.
    fn run_all(plan: &Plan, p: &mut Progress) -> Vec<String> {
        let mut order = Vec::new();
        let mut now = 0;
        loop {
            let (step_id, c) = match p.next(plan, None) {
                Next::Run(s, c) => (s.id, c.clone()),
                Next::Blocked(_, why) => panic!("blocked: {why}"),
                Next::Finished => break,
            };
            let _ = step_id;
            now += 1;
            p.begin(&c.id, now);
            let produced = fake_produced(&c);
            let wait = wait_after(&c.op, &produced).is_some();
            p.returned(&c.id, produced, false, wait, now);
            if wait {
                p.ready(&c.id, "ACTIVE".into(), now);
            }
            order.push(c.id.clone());
        }
        order
    }

    #[test]
    fn runs_every_call_in_dependency_order() {
        let plan = demo_plan();
        let mut p = Progress::new(&plan, "sandbox");
        assert_eq!(
            p.step_status(&plan, plan.step('A').unwrap()),
            StepStatus::Ready
        );
        assert_eq!(
            p.step_status(&plan, plan.step('C').unwrap()),
            StepStatus::Pending
        );
        let order = run_all(&plan, &mut p);
        assert_eq!(order.len(), plan.calls().count());
        assert!(p.all_settled(&plan));
        let pos = |id: &str| order.iter().position(|c| c == id).unwrap();
        assert!(pos("vpc") < pos("cluster") && pos("role-cluster") < pos("cluster"));
        assert!(
            pos("cluster") < pos("oidc")
                && pos("oidc") < pos("addon-vpc-cni")
                && pos("addon-coredns") < pos("nodegroup-dawn-general")
        );
    }

    #[test]
    fn a_step_blocks_until_its_dependencies_are_done() {
        let plan = demo_plan();
        let p = Progress::new(&plan, "sandbox");
        match p.next(&plan, Some('C')) {
            Next::Blocked('C', why) => assert_eq!(why, "step C needs step A, B first"),
            _ => panic!("C must wait for A and B"),
        }
    }

    #[test]
    fn failures_block_and_retry_resets() {
        let plan = demo_plan();
        let mut p = Progress::new(&plan, "sandbox");
        p.begin("vpc", 1);
        p.failed(
            "vpc",
            CloudError::new(
                "ec2:CreateVpc",
                "VpcLimitExceeded",
                "The maximum number of VPCs has been reached.",
            ),
            2,
        );
        assert_eq!(
            p.step_status(&plan, plan.step('A').unwrap()),
            StepStatus::Failed
        );
        assert!(matches!(p.next(&plan, None), Next::Blocked('A', _)));
        p.retry(&plan, 'A');
        assert!(matches!(p.next(&plan, None), Next::Run(_, c) if c.id == "vpc"));
    }

    #[test]
    fn not_implemented_endpoints_do_not_block() {
        let plan = demo_plan();
        let mut p = Progress::new(&plan, "moto");
        p.failed(
            "addon-vpc-cni",
            CloudError::new("eks:CreateAddon", "NotImplemented", "unexpected token '<'"),
            1,
        );
        assert_eq!(p.status("addon-vpc-cni"), CallStatus::NotImplemented);
        assert!(p.status("addon-vpc-cni").settled());
    }

    #[test]
    fn interrupted_calls_rerun_on_resume() {
        let plan = demo_plan();
        let mut p = Progress::new(&plan, "sandbox");
        p.begin("vpc", 1);
        p.resume();
        assert_eq!(p.status("vpc"), CallStatus::Pending);
    }

    #[test]
    fn an_id_already_held_by_another_call_of_its_kind_is_caught() {
        let plan = crate::walkthrough::plan::demo_plan_with_nat("HighlyAvailable");
        let mut p = Progress::new(&plan, "moto");
        let nat_a = plan.call("nat-eu-west-1a").unwrap().clone();
        let nat_b = plan.call("nat-eu-west-1b").unwrap().clone();
        let first = Produced::from([("id".to_string(), "nat-0aaa".to_string())]);
        assert_eq!(p.claimed_by(&plan, &nat_a, &first), None);
        p.returned(&nat_a.id, first.clone(), false, false, 1);
        // What an endpoint that ignores filters hands the second AZ: the first NAT.
        assert_eq!(
            p.claimed_by(&plan, &nat_b, &first),
            Some(("nat-eu-west-1a".to_string(), "nat-0aaa".to_string()))
        );
        let own = Produced::from([("id".to_string(), "nat-0bbb".to_string())]);
        assert_eq!(p.claimed_by(&plan, &nat_b, &own), None);
        // The same call re-adopting its own NAT is fine.
        assert_eq!(p.claimed_by(&plan, &nat_a, &first), None);
        // Addresses are compared by allocation, across AZs.
        let eip_a = plan.call("eip-eu-west-1a").unwrap().clone();
        let eip_b = plan.call("eip-eu-west-1b").unwrap().clone();
        let alloc = Produced::from([("allocation".to_string(), "eipalloc-1".to_string())]);
        p.returned(&eip_a.id, alloc.clone(), false, false, 2);
        assert!(p.claimed_by(&plan, &eip_b, &alloc).is_some());
        // A NAT ID is never compared with a subnet's.
        let subnet = plan
            .calls()
            .map(|(_, c)| c.clone())
            .find(|c| matches!(c.op, Op::CreateSubnet { .. }))
            .unwrap();
        assert_eq!(p.claimed_by(&plan, &subnet, &first), None);
    }

    #[test]
    fn an_aws_auth_entry_is_removed_as_it_was_written() {
        let c = Call {
            id: "identity-0".into(),
            summary: String::new(),
            op: Op::MapIdentity {
                cluster: "c".into(),
                kind: "role".into(),
                arn: crate::cloud::Val::Lit(
                    "arn:aws:iam::<account>:role/AWSServiceRoleForAmazonEMRContainers".into(),
                ),
                username: Some("emr-containers".into()),
                groups: vec![],
            },
            expected_secs: 1,
        };
        let mut outputs = Outputs::new();
        outputs.entry("identity-0".into()).or_default().insert(
            "arn".into(),
            "arn:aws:iam::123456789012:role/AWSServiceRoleForAmazonEMRContainers".into(),
        );
        assert_eq!(
            undo_for(&c, &outputs),
            vec![Undo::UnmapIdentity {
                cluster: "c".into(),
                kind: "role".into(),
                arn: "arn:aws:iam::123456789012:role/AWSServiceRoleForAmazonEMRContainers".into(),
            }]
        );
    }

    #[test]
    fn teardown_runs_in_the_order_aws_needs() {
        let plan = demo_plan();
        let mut p = Progress::new(&plan, "sandbox");
        run_all(&plan, &mut p);
        p.start_teardown(&plan);
        let order: Vec<Undo> = p
            .teardown_order(&plan)
            .iter()
            .map(|k| p.teardown[k].undo.clone())
            .collect();
        let pos = |f: &dyn Fn(&Undo) -> bool| order.iter().position(f).unwrap();
        let ng = pos(&|u| matches!(u, Undo::DeleteNodegroup { .. }));
        let cluster = pos(&|u| matches!(u, Undo::DeleteCluster { .. }));
        let nat = pos(&|u| matches!(u, Undo::DeleteNatGateway { .. }));
        let eip = pos(&|u| matches!(u, Undo::ReleaseAddress { .. }));
        let detach = pos(&|u| matches!(u, Undo::DetachInternetGateway { .. }));
        let igw = pos(&|u| matches!(u, Undo::DeleteInternetGateway { .. }));
        let vpc = pos(&|u| matches!(u, Undo::DeleteVpc { .. }));
        let detach_cni =
            pos(&|u| matches!(u, Undo::DetachRolePolicy { role, .. } if role.ends_with("vpc-cni")));
        let delete_cni =
            pos(&|u| matches!(u, Undo::DeleteRole { name } if name.ends_with("vpc-cni")));
        assert!(
            ng < cluster
                && nat < eip
                && detach < igw
                && igw < vpc
                && cluster < vpc
                && detach_cni < delete_cni,
            "{order:#?}"
        );
        assert_eq!(
            order.last(),
            Some(&Undo::DeleteVpc {
                id: "id-vpc".into()
            })
        );
        assert!(
            !order
                .iter()
                .any(|u| matches!(u, Undo::DeleteSubnet { id } if !id.starts_with("id-subnet")))
        );
        for k in p.teardown.clone().keys() {
            p.teardown.get_mut(k).unwrap().status = UndoStatus::Done;
        }
        assert!(p.teardown_complete());
    }
}
