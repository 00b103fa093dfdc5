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
