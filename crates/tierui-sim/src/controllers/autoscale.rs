//! The HPA's arithmetic, free of I/O: replicas for one metric (usage/target
//! ratio with a 10% tolerance; missing and unready pods treated the way the
//! replica calculator does), stabilization windows and behavior rate limits.

/// Ratios within this distance of 1.0 do not cause scaling.
pub const TOLERANCE: f64 = 0.1;

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

/// A direction's `behavior` rules: `(type, value, periodSeconds)` policies
/// and the selectPolicy (`Max`, `Min` or `Disabled`).
#[derive(Debug, Clone)]
pub struct Rules {
    pub policies: Vec<(String, i64, i64)>,
    pub select: String,
}

/// Bounds the move from `current` towards `desired` by the policies, counting
/// what was already scaled within each policy's period (`events` are
/// `(time, replica delta)`), as the HPA's scale-up/scale-down limits do.
pub fn rate_limit(
    current: i64,
    desired: i64,
    events: &[(f64, i64)],
    now: f64,
    up: &Rules,
    down: &Rules,
) -> i64 {
    let changed = |period: i64, up: bool| -> i64 {
        events
            .iter()
            .filter(|(t, d)| now - t < period as f64 && (*d > 0) == up && *d != 0)
            .map(|(_, d)| d.abs())
            .sum()
    };
    if desired > current {
        if up.select == "Disabled" {
            return current;
        }
        let mut limit: Option<i64> = None;
        for (ty, v, period) in &up.policies {
            let start = current - changed(*period, true) + changed(*period, false);
            let proposed = if ty == "Percent" {
                (start as f64 * (1.0 + *v as f64 / 100.0)).ceil() as i64
            } else {
                start + v
            };
            limit = Some(match limit {
                None => proposed,
                Some(l) if up.select == "Min" => l.min(proposed),
                Some(l) => l.max(proposed),
            });
        }
        // Recent growth can put the limit below current: then just hold.
        desired.min(limit.unwrap_or(desired).max(current))
    } else if desired < current {
        if down.select == "Disabled" {
            return current;
        }
        let mut limit: Option<i64> = None;
        for (ty, v, period) in &down.policies {
            let start = current + changed(*period, false) - changed(*period, true);
            let proposed = if ty == "Percent" {
                (start as f64 * (1.0 - *v as f64 / 100.0)) as i64
            } else {
                start - v
            };
            limit = Some(match limit {
                None => proposed,
                Some(l) if down.select == "Min" => l.max(proposed),
                Some(l) => l.min(proposed),
            });
        }
        desired.max(limit.unwrap_or(desired).min(current))
    } else {
        desired
    }
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
        let up = Rules {
            policies: vec![("Pods".into(), 4, 15), ("Percent".into(), 100, 15)],
            select: "Max".into(),
        };
        let down = Rules {
            policies: vec![("Percent".into(), 100, 15)],
            select: "Max".into(),
        };
        assert_eq!(rate_limit(2, 20, &[], 0.0, &up, &down), 6);
        assert_eq!(rate_limit(10, 40, &[], 0.0, &up, &down), 20);
        assert_eq!(rate_limit(10, 1, &[], 0.0, &up, &down), 1);
        let slow = Rules {
            policies: vec![("Pods".into(), 1, 60)],
            select: "Max".into(),
        };
        assert_eq!(rate_limit(10, 1, &[], 0.0, &up, &slow), 9);
    }

    #[test]
    fn limits_count_what_the_period_already_scaled() {
        let up = Rules {
            policies: vec![("Pods".into(), 4, 15), ("Percent".into(), 100, 15)],
            select: "Max".into(),
        };
        let down = Rules {
            policies: vec![("Pods".into(), 1, 60)],
            select: "Max".into(),
        };
        // Went 2 -> 6 ten seconds ago: the period started at 2, so 6 is the limit.
        assert_eq!(rate_limit(6, 20, &[(0.0, 4)], 10.0, &up, &down), 6);
        // Once the period has passed, it may double again.
        assert_eq!(rate_limit(6, 20, &[(0.0, 4)], 16.0, &up, &down), 12);
        // One pod per minute down: a removal 30s ago uses the minute up.
        assert_eq!(rate_limit(9, 1, &[(0.0, -1)], 30.0, &up, &down), 9);
        assert_eq!(rate_limit(9, 1, &[(0.0, -1)], 61.0, &up, &down), 8);
        let disabled = Rules {
            policies: vec![],
            select: "Disabled".into(),
        };
        assert_eq!(rate_limit(9, 1, &[], 0.0, &up, &disabled), 9);
    }
}
