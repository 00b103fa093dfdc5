//! HorizontalPodAutoscaler controller with the real algorithm: per-metric
//! desired replicas from the usage/target ratio (10% tolerance, missing and
//! unready pods treated conservatively), the highest across metrics, scale-down
//! stabilization over a window of past recommendations, rate limits from
//! `behavior`, and min/max clamping with the conditions kubectl describes.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::autoscale::{Rules, Sample, Target, desired_for_metric, rate_limit, stabilize};
use crate::clock::Clock;
use crate::cluster::Sim;
use crate::kinds::{self, KindId};
use crate::metrics::{LoadIndex, is_ready, pod_usage};
use crate::ops::WriteOpts;
use crate::quantity;
use crate::selector::LabelSelector;
use crate::state::State;

/// A pod's (millicores, bytes) if it reports metrics, whether it is ready, and the pod.
type PodUsage<'a> = (Option<(f64, f64)>, bool, &'a Value);

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

fn policies(v: Option<&Value>, default: &[(&str, i64, i64)]) -> (Rules, Option<f64>) {
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
    (
        Rules {
            policies: list,
            select,
        },
        window,
    )
}

#[derive(Default)]
pub struct HpaController {
    last_sync: HashMap<String, f64>,
    recommendations: HashMap<String, Vec<(f64, i64)>>,
    /// (time, replica delta) of this HPA's own rescales, for the rate limits.
    scale_events: HashMap<String, Vec<(f64, i64)>>,
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
        let conds = Conditions::of(&hpa);
        let target_kind: Option<KindId> = match s(&hpa, "/spec/scaleTargetRef/kind") {
            "Deployment" => Some(kinds::DEPLOYMENT),
            "ReplicaSet" => Some(kinds::REPLICASET),
            _ => None,
        };
        let target_name = s(&hpa, "/spec/scaleTargetRef/name").to_string();
        let target = target_kind.and_then(|k| st.get_value(k, ns, &target_name).map(|v| (k, v)));
        let Some((tkind, target)) = target else {
            let kind = kinds::get(target_kind.unwrap_or(kinds::DEPLOYMENT)).qualified();
            fail_get_scale(st, &mut hpa, &conds, kind, &target_name);
            self.commit_status(st, hpa);
            return;
        };
        let current = target
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let Some(reading) = read_metrics(sim, st, ns, &hpa, &target, current, t) else {
            let msg = "the HPA was unable to compute the replica count: no metrics returned from resource metrics API";
            hpa["status"]["conditions"] = json!([
                conds.make(
                    "AbleToScale",
                    "True",
                    "SucceededGetScale",
                    "the HPA controller was able to get the target's current scale"
                ),
                conds.make("ScalingActive", "False", "FailedGetResourceMetric", msg),
            ]);
            hpa["status"]["currentReplicas"] = json!(current);
            hpa["status"]["desiredReplicas"] = json!(current);
            self.commit_status(st, hpa);
            return;
        };
        let rec = self.recommend(&hpa, uid, current, reading.desired, t);
        let reason_metric = &reading.reason_metric;
        hpa["status"]["conditions"] = json!([
            rec.able_to_scale(&conds),
            conds.make(
                "ScalingActive",
                "True",
                "ValidMetricFound",
                &format!(
                    "the HPA was able to successfully calculate a replica count from {reason_metric}"
                )
            ),
            rec.scaling_limited(&conds),
        ]);
        hpa["status"]["currentMetrics"] = json!(reading.current_metrics);
        hpa["status"]["currentReplicas"] = json!(current);
        hpa["status"]["desiredReplicas"] = json!(rec.clamped);
        hpa["status"]["observedGeneration"] = hpa
            .pointer("/metadata/generation")
            .cloned()
            .unwrap_or(json!(1));
        if rec.clamped != current {
            let o = WriteOpts {
                manager: "kube-controller-manager".into(),
                ..Default::default()
            };
            let scale = json!({"spec": {"replicas": rec.clamped}});
            if st.scale_update(tkind, ns, &target_name, &scale, &o).is_ok() {
                self.scale_events
                    .entry(uid.to_string())
                    .or_default()
                    .push((t, rec.clamped - current));
                hpa["status"]["lastScaleTime"] = json!(conds.now);
                let why = if rec.clamped > current {
                    format!("{reason_metric} above target")
                } else {
                    "All metrics below target".to_string()
                };
                st.event(
                    kinds::HPA,
                    &hpa,
                    "Normal",
                    "SuccessfulRescale",
                    &format!("New size: {}; reason: {why}", rec.clamped),
                    "horizontal-pod-autoscaler",
                );
            }
        }
        self.commit_status(st, hpa);
    }

    /// Scale-down stabilization, then the `behavior` rate limits, then min/max clamping.
    fn recommend(
        &mut self,
        hpa: &Value,
        uid: &str,
        current: i64,
        raw: i64,
        t: f64,
    ) -> Recommendation {
        let min = hpa
            .pointer("/spec/minReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let max = hpa
            .pointer("/spec/maxReplicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let behavior = hpa.pointer("/spec/behavior");
        let (up_rules, up_win) = policies(
            behavior.and_then(|b| b.get("scaleUp")),
            &[("Pods", 4, 15), ("Percent", 100, 15)],
        );
        let (down_rules, down_win) = policies(
            behavior.and_then(|b| b.get("scaleDown")),
            &[("Percent", 100, 15)],
        );
        let (up_win, down_win) = (up_win.unwrap_or(0.0), down_win.unwrap_or(300.0));
        let history = self.recommendations.entry(uid.to_string()).or_default();
        history.retain(|(at, _)| t - at <= up_win.max(down_win));
        let stabilized = stabilize(current, raw, history, t, up_win, down_win);
        history.push((t, raw));
        let events = self.scale_events.entry(uid.to_string()).or_default();
        events.retain(|(at, _)| t - at <= 1800.0);
        let limited = rate_limit(current, stabilized, events, t, &up_rules, &down_rules);
        Recommendation {
            current,
            raw,
            stabilized,
            limited,
            clamped: limited.clamp(min, max.max(min)),
            min,
            max,
        }
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

/// Builds HPA conditions, keeping `lastTransitionTime` while the status holds.
struct Conditions {
    old: Vec<Value>,
    now: String,
}

impl Conditions {
    fn of(hpa: &Value) -> Self {
        Conditions {
            now: Clock::timestamp(),
            old: hpa
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn make(&self, ty: &str, status: &str, reason: &str, message: &str) -> Value {
        let prev = self.old.iter().find(|c| s(c, "/type") == ty);
        let transition = match prev {
            Some(p) if s(p, "/status") == status => p
                .get("lastTransitionTime")
                .cloned()
                .unwrap_or(json!(self.now)),
            _ => json!(self.now),
        };
        json!({"type": ty, "status": status, "lastTransitionTime": transition, "reason": reason, "message": message})
    }
}

/// FailedGetScale: the scale target does not exist.
fn fail_get_scale(st: &mut State, hpa: &mut Value, conds: &Conditions, kind: String, name: &str) {
    let msg = format!(
        "the HPA controller was unable to get the target's current scale: {kind} \"{name}\" not found"
    );
    hpa["status"]["conditions"] =
        json!([conds.make("AbleToScale", "False", "FailedGetScale", &msg)]);
    st.event(
        kinds::HPA,
        hpa,
        "Warning",
        "FailedGetScale",
        &msg,
        "horizontal-pod-autoscaler",
    );
}

/// The highest desired replica count across metrics, the metric behind it and `currentMetrics`.
struct MetricsReading {
    desired: i64,
    reason_metric: String,
    current_metrics: Vec<Value>,
}

/// Reads every Resource metric of the target's pods; `None` when no metric has data.
fn read_metrics(
    sim: &Sim,
    st: &State,
    ns: &str,
    hpa: &Value,
    target: &Value,
    current: i64,
    t: f64,
) -> Option<MetricsReading> {
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
            p.pointer("/metadata/deletionTimestamp").is_none() && s(p, "/status/phase") != "Failed"
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
        let Some((d, label, current_metric)) = resource_metric(m, &usage, current) else {
            continue;
        };
        current_metrics.push(current_metric);
        if desired.is_none_or(|x| d > x) {
            desired = Some(d);
            reason_metric = label;
        }
    }
    Some(MetricsReading {
        desired: desired?,
        reason_metric,
        current_metrics,
    })
}

/// One Resource metric: (desired replicas, its description, its `currentMetrics` entry).
fn resource_metric(m: &Value, usage: &[PodUsage], current: i64) -> Option<(i64, String, Value)> {
    if s(m, "/type") != "Resource" {
        return None;
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
        return None;
    };
    let (d, value) = desired_for_metric(current, &samples, &tgt)?;
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
    let current_metric = json!({"type": "Resource", "resource": {"name": res, "current": cur}});
    Some((d, label, current_metric))
}

/// Replica counts at each stage of one scaling decision.
struct Recommendation {
    current: i64,
    raw: i64,
    stabilized: i64,
    limited: i64,
    clamped: i64,
    min: i64,
    max: i64,
}

impl Recommendation {
    /// AbleToScale: stabilized, rescaled, or already at the recommended size.
    fn able_to_scale(&self, conds: &Conditions) -> Value {
        if self.stabilized != self.raw && self.raw < self.current {
            conds.make(
                "AbleToScale",
                "True",
                "ScaleDownStabilized",
                "recent recommendations were higher than current one, applying the highest recent recommendation",
            )
        } else if self.clamped != self.current {
            conds.make(
                "AbleToScale",
                "True",
                "SucceededRescale",
                &format!(
                    "the HPA controller was able to update the target scale to {}",
                    self.clamped
                ),
            )
        } else {
            conds.make(
                "AbleToScale",
                "True",
                "ReadyForNewScale",
                "recommended size matches current size",
            )
        }
    }

    /// ScalingLimited: held back by a rate limit or by minReplicas/maxReplicas.
    fn scaling_limited(&self, conds: &Conditions) -> Value {
        let (min, max, limited) = (self.min, self.max, self.limited);
        if limited != self.stabilized && limited.clamp(min, max.max(min)) == limited {
            let (reason, msg) = if self.stabilized > self.current {
                (
                    "ScaleUpLimit",
                    "the desired replica count is increasing faster than the maximum scale rate",
                )
            } else {
                (
                    "ScaleDownLimit",
                    "the desired replica count is decreasing faster than the maximum scale rate",
                )
            };
            conds.make("ScalingLimited", "True", reason, msg)
        } else if limited > max {
            conds.make(
                "ScalingLimited",
                "True",
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
            )
        } else if limited < min {
            conds.make(
                "ScalingLimited",
                "True",
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
            )
        } else {
            conds.make(
                "ScalingLimited",
                "False",
                "DesiredWithinRange",
                "the desired count is within the acceptable range",
            )
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
