//! HorizontalPodAutoscaler controller with the real algorithm: per-metric
//! desired replicas from the usage/target ratio (10% tolerance, missing and
//! unready pods treated conservatively), the highest across metrics, scale-down
//! stabilization over a window of past recommendations, rate limits from
//! `behavior`, and min/max clamping with the conditions kubectl describes.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::sim::clock::Clock;
use crate::sim::cluster::Sim;
use crate::sim::kinds::{self, KindId};
use crate::sim::metrics::{LoadIndex, is_ready, pod_usage};
use crate::sim::ops::WriteOpts;
use crate::sim::quantity;
use crate::sim::selector::LabelSelector;
use crate::sim::state::State;

pub const TOLERANCE: f64 = 0.1;

/// A pod's (millicores, bytes) if it reports metrics, whether it is ready, and the pod.
type PodUsage<'a> = (Option<(f64, f64)>, bool, &'a Value);

/// One pod's sample for a metric: usage and request in the metric's unit.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub usage: Option<f64>,
    pub request: f64,
    pub ready: bool,
}

pub enum Target {
    /// Percent of request.
    Utilization(f64),
    /// Average per pod, in base units.
    AverageValue(f64),
}

/// Desired replicas for one metric, as in the HPA's replica calculator.
/// Returns (desired, current utilization % or average value).
pub fn desired_for_metric(current: i64, samples: &[Sample], target: &Target) -> Option<(i64, f64)> {
    let ready: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.ready && s.usage.is_some())
        .collect();
    if ready.is_empty() {
        return None;
    }
    let missing = samples.iter().filter(|s| s.usage.is_none()).count();
    let unready = samples
        .iter()
        .filter(|s| !s.ready && s.usage.is_some())
        .count();
    let ratio_of = |items: &[(f64, f64)]| -> (f64, f64) {
        let usage: f64 = items.iter().map(|x| x.0).sum();
        let req: f64 = items.iter().map(|x| x.1).sum();
        match target {
            Target::Utilization(t) => {
                let util = if req > 0.0 { usage / req * 100.0 } else { 0.0 };
                (util / t, util)
            }
            Target::AverageValue(t) => {
                let avg = usage / items.len().max(1) as f64;
                (avg / t, avg)
            }
        }
    };
    let base: Vec<(f64, f64)> = ready
        .iter()
        .map(|s| (s.usage.unwrap_or(0.0), s.request))
        .collect();
    let (ratio, value) = ratio_of(&base);
    if missing == 0 && unready == 0 {
        if (ratio - 1.0).abs() <= TOLERANCE {
            return Some((current, value));
        }
        return Some(((ratio * base.len() as f64).ceil() as i64, value));
    }
    // Scaling up: pods without metrics and unready pods count as using nothing;
    // scaling down: pods without metrics count as exactly at target.
    let mut adjusted = base.clone();
    let avg_req = base.iter().map(|x| x.1).sum::<f64>() / base.len() as f64;
    if ratio > 1.0 {
        for _ in 0..(missing + unready) {
            adjusted.push((0.0, avg_req));
        }
    } else if ratio < 1.0 {
        let at_target = match target {
            Target::Utilization(t) => avg_req * t / 100.0,
            Target::AverageValue(t) => *t,
        };
        for _ in 0..missing {
            adjusted.push((at_target, avg_req));
        }
    }
    let (new_ratio, _) = ratio_of(&adjusted);
    if (new_ratio - 1.0).abs() <= TOLERANCE
        || (ratio > 1.0 && new_ratio < 1.0)
        || (ratio < 1.0 && new_ratio > 1.0)
    {
        return Some((current, value));
    }
    let desired = (new_ratio * adjusted.len() as f64).ceil() as i64;
    // The new count must not move against the direction of the raw ratio.
    if (new_ratio > 1.0 && desired < current) || (new_ratio < 1.0 && desired > current) {
        return Some((current, value));
    }
    Some((desired, value))
}

/// Stabilization: the lowest recommendation within the scale-up window and the
/// highest within the scale-down window bound the move from `current`.
pub fn stabilize(
    current: i64,
    recommendation: i64,
    history: &[(f64, i64)],
    now: f64,
    up_window: f64,
    down_window: f64,
) -> i64 {
    let mut up = recommendation;
    let mut down = recommendation;
    for (t, r) in history {
        if now - t <= up_window {
            up = up.min(*r);
        }
        if now - t <= down_window {
            down = down.max(*r);
        }
    }
    let mut out = current;
    if out < up {
        out = up;
    }
    if out > down {
        out = down;
    }
    out
}

/// Policies `[(type, value, periodSeconds)]` and selectPolicy; returns the
/// furthest allowed replica count in the scaling direction.
pub fn rate_limit(
    current: i64,
    desired: i64,
    up: &[(String, i64, i64)],
    up_select: &str,
    down: &[(String, i64, i64)],
    down_select: &str,
) -> i64 {
    if desired > current {
        let limits: Vec<i64> = up
            .iter()
            .map(|(ty, v, _)| {
                if ty == "Percent" {
                    (current as f64 * (1.0 + *v as f64 / 100.0)).ceil() as i64
                } else {
                    current + v
                }
            })
            .collect();
        let limit = match up_select {
            "Disabled" => current,
            "Min" => limits.iter().copied().min().unwrap_or(desired),
            _ => limits.iter().copied().max().unwrap_or(desired),
        };
        desired.min(limit.max(current))
    } else if desired < current {
        let limits: Vec<i64> = down
            .iter()
            .map(|(ty, v, _)| {
                if ty == "Percent" {
                    (current as f64 * (1.0 - *v as f64 / 100.0)).ceil() as i64
                } else {
                    current - v
                }
            })
            .collect();
        let limit = match down_select {
            "Disabled" => current,
            "Min" => limits.iter().copied().max().unwrap_or(desired),
            _ => limits.iter().copied().min().unwrap_or(desired),
        };
        desired.max(limit.min(current))
    } else {
        desired
    }
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

fn policies(
    v: Option<&Value>,
    default: &[(&str, i64, i64)],
) -> (Vec<(String, i64, i64)>, String, Option<f64>) {
    let list = v
        .and_then(|b| b.get("policies"))
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        s(p, "/type").to_string(),
                        p.get("value").and_then(Value::as_i64).unwrap_or(0),
                        p.get("periodSeconds").and_then(Value::as_i64).unwrap_or(15),
                    )
                })
                .collect::<Vec<_>>()
        });
    let list = list.unwrap_or_else(|| {
        default
            .iter()
            .map(|(t, v, p)| (t.to_string(), *v, *p))
            .collect()
    });
    let select = v
        .and_then(|b| b.get("selectPolicy"))
        .and_then(Value::as_str)
        .unwrap_or("Max")
        .to_string();
    let window = v
        .and_then(|b| b.get("stabilizationWindowSeconds"))
        .and_then(Value::as_i64)
        .map(|w| w as f64);
    (list, select, window)
}

#[derive(Default)]
pub struct HpaController {
    last_sync: HashMap<String, f64>,
    recommendations: HashMap<String, Vec<(f64, i64)>>,
}

impl HpaController {
    pub fn tick(&mut self, sim: &Sim, st: &mut State, t: f64) {
        let period = sim.scenario.timing.hpa_sync.max(1.0);
        let all: Vec<(String, String, String)> = st
            .store
            .range(kinds::HPA, None, None)
            .map(|e| (e.namespace.clone(), e.name.clone(), e.uid.clone()))
            .collect();
        for (ns, name, uid) in all {
            let due = self
                .last_sync
                .get(&uid)
                .is_none_or(|last| t - last >= period);
            if !due {
                continue;
            }
            self.last_sync.insert(uid.clone(), t);
            if let Some(hpa) = st.get_value(kinds::HPA, &ns, &name) {
                self.sync(sim, st, &ns, hpa, &uid, t);
            }
        }
    }

    fn sync(&mut self, sim: &Sim, st: &mut State, ns: &str, mut hpa: Value, uid: &str, t: f64) {
        let now = Clock::timestamp();
        let target_kind: Option<KindId> = match s(&hpa, "/spec/scaleTargetRef/kind") {
            "Deployment" => Some(kinds::DEPLOYMENT),
            "ReplicaSet" => Some(kinds::REPLICASET),
            _ => None,
        };
        let target_name = s(&hpa, "/spec/scaleTargetRef/name").to_string();
        let target = target_kind.and_then(|k| st.get_value(k, ns, &target_name).map(|v| (k, v)));
        let old_conds = hpa
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let cond = |ty: &str, status: &str, reason: &str, message: &str| -> Value {
            let prev = old_conds.iter().find(|c| s(c, "/type") == ty);
            let transition = match prev {
                Some(p) if s(p, "/status") == status => {
                    p.get("lastTransitionTime").cloned().unwrap_or(json!(now))
                }
                _ => json!(now),
            };
            json!({"type": ty, "status": status, "lastTransitionTime": transition, "reason": reason, "message": message})
        };
        let Some((tkind, target)) = target else {
            let msg = format!(
                "the HPA controller was unable to get the target's current scale: {} \"{target_name}\" not found",
                kinds::get(target_kind.unwrap_or(kinds::DEPLOYMENT)).qualified()
            );
            hpa["status"]["conditions"] =
                json!([cond("AbleToScale", "False", "FailedGetScale", &msg)]);
            st.event(
                kinds::HPA,
                &hpa,
                "Warning",
                "FailedGetScale",
                &msg,
                "horizontal-pod-autoscaler",
            );
            self.commit_status(st, hpa);
            return;
        };
        let current = target
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let min = hpa
            .pointer("/spec/minReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let max = hpa
            .pointer("/spec/maxReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let selector =
            LabelSelector::from_json(target.pointer("/spec/selector").unwrap_or(&Value::Null))
                .unwrap_or_default();
        let idx = LoadIndex::new(sim, st);
        let pods: Vec<Value> = st
            .store
            .range(kinds::POD, Some(ns), None)
            .filter(|e| selector.matches(&e.labels))
            .map(|e| e.value())
            .filter(|p| {
                p.pointer("/metadata/deletionTimestamp").is_none()
                    && s(p, "/status/phase") != "Failed"
            })
            .collect();
        let usage: Vec<PodUsage> = pods
            .iter()
            .map(|p| (pod_usage(sim, &idx, p, t), is_ready(p), p))
            .collect();
        let metrics = hpa.pointer("/spec/metrics").and_then(Value::as_array).cloned().unwrap_or_else(|| {
            vec![json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}})]
        });
        let mut desired: Option<i64> = None;
        let mut reason_metric = String::new();
        let mut current_metrics = Vec::new();
        for m in &metrics {
            if s(m, "/type") != "Resource" {
                continue;
            }
            let res = s(m, "/resource/name");
            let samples: Vec<Sample> = usage
                .iter()
                .map(|(u, ready, p)| Sample {
                    usage: u.map(|(c, mem)| if res == "cpu" { c } else { mem }),
                    request: request(p, res),
                    ready: *ready,
                })
                .collect();
            let (tgt, label) = if let Some(u) = m
                .pointer("/resource/target/averageUtilization")
                .and_then(Value::as_f64)
            {
                (
                    Target::Utilization(u),
                    format!("{res} resource utilization (percentage of request)"),
                )
            } else if let Some(v) = m
                .pointer("/resource/target/averageValue")
                .and_then(Value::as_str)
                .and_then(quantity::parse)
            {
                let v = if res == "cpu" { v * 1000.0 } else { v };
                (Target::AverageValue(v), format!("{res} resource"))
            } else {
                continue;
            };
            let Some((d, value)) = desired_for_metric(current, &samples, &tgt) else {
                continue;
            };
            let avg_usage = {
                let vals: Vec<f64> = samples
                    .iter()
                    .filter(|x| x.ready)
                    .filter_map(|x| x.usage)
                    .collect();
                vals.iter().sum::<f64>() / vals.len().max(1) as f64
            };
            let avg_text = if res == "cpu" {
                format!("{}m", avg_usage.round() as i64)
            } else {
                quantity::bytes_text(avg_usage.round())
            };
            let mut cur = json!({"averageValue": avg_text});
            if matches!(tgt, Target::Utilization(_)) {
                cur["averageUtilization"] = json!(value.round() as i64);
            }
            current_metrics
                .push(json!({"type": "Resource", "resource": {"name": res, "current": cur}}));
            if desired.is_none_or(|x| d > x) {
                desired = Some(d);
                reason_metric = label;
            }
        }
        let Some(raw) = desired else {
            let msg = "the HPA was unable to compute the replica count: no metrics returned from resource metrics API";
            hpa["status"]["conditions"] = json!([
                cond(
                    "AbleToScale",
                    "True",
                    "SucceededGetScale",
                    "the HPA controller was able to get the target's current scale"
                ),
                cond("ScalingActive", "False", "FailedGetResourceMetric", msg),
            ]);
            hpa["status"]["currentReplicas"] = json!(current);
            hpa["status"]["desiredReplicas"] = json!(current);
            self.commit_status(st, hpa);
            return;
        };
        let behavior = hpa.pointer("/spec/behavior");
        let (up_p, up_sel, up_win) = policies(
            behavior.and_then(|b| b.get("scaleUp")),
            &[("Pods", 4, 15), ("Percent", 100, 15)],
        );
        let (down_p, down_sel, down_win) = policies(
            behavior.and_then(|b| b.get("scaleDown")),
            &[("Percent", 100, 15)],
        );
        let (up_win, down_win) = (up_win.unwrap_or(0.0), down_win.unwrap_or(300.0));
        let history = self.recommendations.entry(uid.to_string()).or_default();
        history.retain(|(at, _)| t - at <= up_win.max(down_win));
        let stabilized = stabilize(current, raw, history, t, up_win, down_win);
        history.push((t, raw));
        let limited = rate_limit(current, stabilized, &up_p, &up_sel, &down_p, &down_sel);
        let clamped = limited.clamp(min, max.max(min));
        let able = if stabilized != raw && raw < current {
            cond(
                "AbleToScale",
                "True",
                "ScaleDownStabilized",
                "recent recommendations were higher than current one, applying the highest recent recommendation",
            )
        } else if clamped != current {
            cond(
                "AbleToScale",
                "True",
                "SucceededRescale",
                &format!("the HPA controller was able to update the target scale to {clamped}"),
            )
        } else {
            cond(
                "AbleToScale",
                "True",
                "ReadyForNewScale",
                "recommended size matches current size",
            )
        };
        let limited_cond = if limited > max {
            cond(
                "ScalingLimited",
                "True",
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
            )
        } else if limited < min {
            cond(
                "ScalingLimited",
                "True",
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
            )
        } else {
            cond(
                "ScalingLimited",
                "False",
                "DesiredWithinRange",
                "the desired count is within the acceptable range",
            )
        };
        hpa["status"]["conditions"] = json!([
            able,
            cond(
                "ScalingActive",
                "True",
                "ValidMetricFound",
                &format!(
                    "the HPA was able to successfully calculate a replica count from {reason_metric}"
                )
            ),
            limited_cond,
        ]);
        hpa["status"]["currentMetrics"] = json!(current_metrics);
        hpa["status"]["currentReplicas"] = json!(current);
        hpa["status"]["desiredReplicas"] = json!(clamped);
        hpa["status"]["observedGeneration"] = hpa
            .pointer("/metadata/generation")
            .cloned()
            .unwrap_or(json!(1));
        if clamped != current {
            let why = if clamped > current {
                format!("{reason_metric} above target")
            } else {
                "All metrics below target".to_string()
            };
            let o = WriteOpts {
                manager: "kube-controller-manager".into(),
                ..Default::default()
            };
            let scale = json!({"spec": {"replicas": clamped}});
            if st.scale_update(tkind, ns, &target_name, &scale, &o).is_ok() {
                hpa["status"]["lastScaleTime"] = json!(now);
                st.event(
                    kinds::HPA,
                    &hpa,
                    "Normal",
                    "SuccessfulRescale",
                    &format!("New size: {clamped}; reason: {why}"),
                    "horizontal-pod-autoscaler",
                );
            }
        }
        self.commit_status(st, hpa);
    }

    fn commit_status(&self, st: &mut State, hpa: Value) {
        let ns = s(&hpa, "/metadata/namespace").to_string();
        let name = s(&hpa, "/metadata/name").to_string();
        if let Some(mut fresh) = st.get_value(kinds::HPA, &ns, &name)
            && fresh.get("status") != hpa.get("status")
        {
            fresh["status"] = hpa.get("status").cloned().unwrap_or(Value::Null);
            st.store.commit(kinds::HPA, fresh);
        }
    }
}

fn request(pod: &Value, res: &str) -> f64 {
    let total: f64 = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| {
                    c.pointer(&format!("/resources/requests/{res}"))
                        .and_then(Value::as_str)
                })
                .filter_map(quantity::parse)
                .sum()
        })
        .unwrap_or(0.0);
    if res == "cpu" { total * 1000.0 } else { total }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods(usages: &[f64]) -> Vec<Sample> {
        usages
            .iter()
            .map(|u| Sample {
                usage: Some(*u),
                request: 200.0,
                ready: true,
            })
            .collect()
    }

    #[test]
    fn ratio_with_tolerance() {
        // 3 pods at 90% of 200m against a 60% target: ceil(1.5 * 3) = 5.
        assert_eq!(
            desired_for_metric(3, &pods(&[180.0, 180.0, 180.0]), &Target::Utilization(60.0))
                .unwrap()
                .0,
            5
        );
        // 65% against 60% is inside the 10% tolerance.
        assert_eq!(
            desired_for_metric(3, &pods(&[130.0, 130.0, 130.0]), &Target::Utilization(60.0))
                .unwrap()
                .0,
            3
        );
        // Way below: scale down to ceil(0.25 * 4) = 1.
        assert_eq!(
            desired_for_metric(
                4,
                &pods(&[30.0, 30.0, 30.0, 30.0]),
                &Target::Utilization(60.0)
            )
            .unwrap()
            .0,
            1
        );
        assert_eq!(
            desired_for_metric(2, &pods(&[300.0, 300.0]), &Target::AverageValue(100.0))
                .unwrap()
                .0,
            6
        );
    }

    #[test]
    fn unready_pods_damp_scale_up() {
        let mut s = pods(&[240.0, 240.0]);
        s.push(Sample {
            usage: Some(10.0),
            request: 200.0,
            ready: false,
        });
        // ratio 2.0 on ready pods; with the unready pod at 0 it is (480/600)/0.6 = 1.33 -> 4.
        assert_eq!(
            desired_for_metric(3, &s, &Target::Utilization(60.0))
                .unwrap()
                .0,
            4
        );
        assert!(
            desired_for_metric(
                3,
                &[Sample {
                    usage: None,
                    request: 1.0,
                    ready: false
                }],
                &Target::Utilization(60.0)
            )
            .is_none()
        );
    }

    #[test]
    fn scale_down_waits_for_the_window() {
        let history = vec![(0.0, 6), (100.0, 5)];
        assert_eq!(stabilize(6, 3, &history, 200.0, 0.0, 300.0), 6);
        assert_eq!(stabilize(6, 3, &history, 350.0, 0.0, 300.0), 5);
        assert_eq!(stabilize(6, 3, &[], 350.0, 0.0, 300.0), 3);
        assert_eq!(stabilize(3, 8, &history, 400.0, 0.0, 300.0), 8);
    }

    #[test]
    fn default_scale_up_rate() {
        let up = vec![
            ("Pods".to_string(), 4, 15),
            ("Percent".to_string(), 100, 15),
        ];
        let down = vec![("Percent".to_string(), 100, 15)];
        assert_eq!(rate_limit(2, 20, &up, "Max", &down, "Max"), 6);
        assert_eq!(rate_limit(10, 40, &up, "Max", &down, "Max"), 20);
        assert_eq!(rate_limit(10, 1, &up, "Max", &down, "Max"), 1);
        let slow = vec![("Pods".to_string(), 1, 60)];
        assert_eq!(rate_limit(10, 1, &up, "Max", &slow, "Max"), 9);
    }
}
