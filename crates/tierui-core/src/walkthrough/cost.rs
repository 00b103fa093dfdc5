//! What the created resources cost per hour while they run — shown so nobody
//! forgets a NAT gateway. Prices come from a per-region table of list prices
//! (`prices.toml`, dated), are approximate and say so, and an instance type or
//! region the table has no figure for is reported as "price unknown", never
//! guessed.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::engine::{CallStatus, Progress};
use super::plan::Plan;
use crate::cloud::Op;

#[derive(Debug, Deserialize)]
pub struct PriceTable {
    /// When the figures were taken from AWS's price pages (YYYY-MM).
    pub as_of: String,
    pub eks_control_plane: f64,
    pub public_ipv4: f64,
    pub regions: BTreeMap<String, RegionPrices>,
}

#[derive(Debug, Deserialize)]
pub struct RegionPrices {
    pub nat_gateway: f64,
    #[serde(default)]
    pub on_demand: BTreeMap<String, f64>,
    #[serde(default)]
    pub spot: BTreeMap<String, f64>,
}

/// The shipped table.
pub fn prices() -> &'static PriceTable {
    static TABLE: OnceLock<PriceTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        // Parsed once; a test proves the shipped file parses.
        toml::from_str(include_str!("prices.toml")).unwrap_or_else(|_| PriceTable {
            as_of: "unknown".into(),
            eks_control_plane: 0.10,
            public_ipv4: 0.005,
            regions: BTreeMap::new(),
        })
    })
}

/// An hourly total, with what it could not price.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hourly {
    /// USD per hour of what has a price.
    pub total: f64,
    /// What has no figure in the table: "3 × t4g.nano (spot, eu-north-1)".
    pub unknown: Vec<String>,
}

impl Hourly {
    /// "about $0.43/hour (approximate list prices of 2025-06)" plus what has no price.
    pub fn describe(&self, per: &str) -> String {
        let mut s = format!(
            "about ${:.2}/{per} (approximate list prices of {})",
            self.total,
            prices().as_of
        );
        if !self.unknown.is_empty() {
            s.push_str(&format!(" + price unknown: {}", self.unknown.join(", ")));
        }
        s
    }

    /// "$0.43/h" or "$0.43/h + ?" when part of it has no price.
    pub fn short(&self) -> String {
        let q = if self.unknown.is_empty() { "" } else { " + ?" };
        format!("~${:.2}/h{q}", self.total)
    }

    fn add(&mut self, price: Result<f64, String>) {
        match price {
            Ok(p) => self.total += p,
            Err(what) => self.unknown.push(what),
        }
    }
}

/// The hourly price of one instance of `t` in `region`; spot by type where the
/// table has it.
pub fn instance_price(region: &str, t: &str, spot: bool) -> Option<f64> {
    let r = prices().regions.get(region)?;
    if spot {
        r.spot.get(t).copied()
    } else {
        r.on_demand.get(t).copied()
    }
}

fn nat_price(region: &str) -> Result<f64, String> {
    prices()
        .regions
        .get(region)
        .map(|r| r.nat_gateway)
        .ok_or_else(|| format!("NAT gateway ({region})"))
}

/// Hourly cost of what exists now according to the progress.
pub fn hourly(plan: &Plan, progress: &Progress) -> Hourly {
    let table = prices();
    let mut h = Hourly::default();
    for (_, c) in plan.calls() {
        let exists = matches!(
            progress.status(&c.id),
            CallStatus::Done | CallStatus::Adopted | CallStatus::Waiting
        );
        if !exists {
            continue;
        }
        match &c.op {
            Op::CreateCluster { .. } => h.add(Ok(table.eks_control_plane)),
            Op::CreateNatGateway { .. } => h.add(nat_price(&plan.region)),
            Op::AllocateAddress { .. } => h.add(Ok(table.public_ipv4)),
            Op::CreateNodegroup {
                instance_types,
                desired_size,
                capacity_type,
                ..
            } => {
                let spot = capacity_type == "SPOT";
                let n = (*desired_size).max(0);
                let Some(t) = instance_types.first() else {
                    h.add(Err(format!("{n} nodes of no instance type")));
                    continue;
                };
                h.add(
                    instance_price(&plan.region, t, spot)
                        .map(|p| p * n as f64)
                        .ok_or_else(|| {
                            let how = if spot { "spot" } else { "on-demand" };
                            format!("{n} × {t} ({how}, {})", plan.region)
                        }),
                );
            }
            Op::CreateAutoScalingGroup {
                instance_types,
                desired_size,
                mix,
                ..
            } => {
                let n = (*desired_size).max(0);
                let Some(t) = instance_types.first() else {
                    h.add(Err(format!("{n} nodes of no instance type")));
                    continue;
                };
                // On-demand: the base, then the percentage of the rest; spot the others.
                let on_demand = match mix {
                    None => n,
                    Some(m) => {
                        let base = m.on_demand_base.clamp(0, n);
                        base + ((n - base) * m.on_demand_percentage.clamp(0, 100) + 99) / 100
                    }
                };
                for (count, spot) in [(on_demand, false), (n - on_demand, true)] {
                    if count == 0 {
                        continue;
                    }
                    h.add(
                        instance_price(&plan.region, t, spot)
                            .map(|p| p * count as f64)
                            .ok_or_else(|| {
                                let how = if spot { "spot" } else { "on-demand" };
                                format!("{count} × {t} ({how}, {})", plan.region)
                            }),
                    );
                }
            }
            _ => {}
        }
    }
    h
}

/// Hourly cost if every step of the plan ran.
pub fn planned(plan: &Plan) -> Hourly {
    let mut p = Progress::new(plan, "estimate");
    for r in p.calls.values_mut() {
        r.status = CallStatus::Done;
    }
    hourly(plan, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses_and_is_dated() {
        let t: PriceTable = toml::from_str(include_str!("prices.toml")).unwrap();
        assert_eq!(t.as_of.len(), 7, "YYYY-MM: {}", t.as_of);
        assert!(t.regions.contains_key("eu-west-1") && t.regions.contains_key("us-east-1"));
        for (name, r) in &t.regions {
            assert!(r.nat_gateway > 0.0, "{name}");
            for (ty, p) in r.on_demand.iter().chain(&r.spot) {
                assert!(*p > 0.0 && *p < 50.0, "{name} {ty} {p}");
            }
            // A spot price above on-demand would be a typo.
            for (ty, p) in &r.spot {
                if let Some(od) = r.on_demand.get(ty) {
                    assert!(p < od, "{name} {ty}: spot {p} ≥ on-demand {od}");
                }
            }
        }
    }

    #[test]
    fn prices_differ_by_region_and_unknowns_are_named() {
        assert_eq!(instance_price("us-east-1", "m5.large", false), Some(0.096));
        assert_eq!(instance_price("eu-west-1", "m5.large", false), Some(0.107));
        assert!(instance_price("eu-west-1", "m5.large", true).unwrap() < 0.107);
        assert_eq!(instance_price("eu-west-1", "x9.mega", false), None);
        assert_eq!(instance_price("xx-nowhere-1", "m5.large", false), None);
        assert_eq!(nat_price("eu-west-1"), Ok(0.048));
        assert!(nat_price("xx-nowhere-1").is_err());
        let mut h = Hourly::default();
        h.add(Ok(0.10));
        h.add(Err("2 × x9.mega (on-demand, eu-west-1)".into()));
        let text = h.describe("hour");
        assert!(
            text.starts_with("about $0.10/hour (approximate list prices of 20"),
            "{text}"
        );
        assert!(
            text.ends_with("price unknown: 2 × x9.mega (on-demand, eu-west-1)"),
            "{text}"
        );
        assert_eq!(h.short(), "~$0.10/h + ?");
    }
}
