//! What the created resources cost per hour while they run (on-demand list prices,
//! us-east-1, approximate — shown so nobody forgets a NAT gateway).

use super::engine::{CallStatus, Progress};
use super::plan::Plan;
use crate::backend::cloud::Op;

pub const EKS_CONTROL_PLANE: f64 = 0.10;
pub const NAT_GATEWAY: f64 = 0.045;
pub const PUBLIC_IPV4: f64 = 0.005;

/// On-demand hourly price of common instance types; unknown types count as m5.large.
pub fn instance_price(t: &str) -> f64 {
    match t {
        "t3.medium" => 0.0416,
        "t3.large" => 0.0832,
        "t3.xlarge" => 0.1664,
        "m5.large" | "m6i.large" => 0.096,
        "m5.xlarge" | "m6i.xlarge" => 0.192,
        "m5.2xlarge" | "m6i.2xlarge" => 0.384,
        "c5.large" | "c6i.large" => 0.085,
        "c5.xlarge" | "c6i.xlarge" => 0.17,
        "r5.large" | "r6i.large" => 0.126,
        "m7g.large" => 0.0816,
        _ => 0.096,
    }
}

/// Hourly cost of what exists now according to the progress.
pub fn hourly(plan: &Plan, progress: &Progress) -> f64 {
    let mut total = 0.0;
    for (_, c) in plan.calls() {
        let exists = matches!(
            progress.status(&c.id),
            CallStatus::Done | CallStatus::Adopted | CallStatus::Waiting
        );
        if !exists {
            continue;
        }
        total += match &c.op {
            Op::CreateCluster { .. } => EKS_CONTROL_PLANE,
            Op::CreateNatGateway { .. } => NAT_GATEWAY,
            Op::AllocateAddress { .. } => PUBLIC_IPV4,
            Op::CreateNodegroup {
                instance_types,
                desired_size,
                capacity_type,
                ..
            } => {
                let each = instance_types.first().map_or(0.096, |t| instance_price(t));
                let spot = if capacity_type == "SPOT" { 0.35 } else { 1.0 };
                each * *desired_size as f64 * spot
            }
            _ => 0.0,
        };
    }
    total
}

/// Hourly cost if every step of the plan ran.
pub fn planned(plan: &Plan) -> f64 {
    let mut p = Progress::new(plan, "estimate");
    for r in p.calls.values_mut() {
        r.status = CallStatus::Done;
    }
    hourly(plan, &p)
}
