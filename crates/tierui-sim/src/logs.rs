//! Container logs, written on demand from the pod's state and the clock —
//! nothing is stored. A container instance (one run between a start and an
//! exit) writes:
//!
//! - start-up lines when it starts: `INFO starting <container> (<image>)`,
//!   `INFO config loaded from /etc/<container>/config.yaml`,
//!   `INFO listening on :8080`;
//! - request lines (`INFO GET /api/orders 200 12ms`, varied by a hash of pod,
//!   container, instance and line number) at a rate that follows the scenario's
//!   load: the pod's share of its Deployment's CPU curve, one line per 10
//!   millicores per simulated second (2,000 lines/s for 20,000m over however
//!   many pods), at least 0.5 lines per simulated second;
//! - when it crashed (a non-zero exit code): three lines just before it ended,
//!   the last always `FATAL <container> exiting with code <N>`;
//! - when it was stopped (exit 0, or its pod is being deleted):
//!   `INFO received SIGTERM, shutting down` and `INFO shutdown complete`.
//!
//! Timestamps are wall-clock (as the API's timestamps are) while load curves
//! run on simulated seconds; the two are mapped through the cluster's clock.
//! The same pod state and time give the same lines, so a reader that asks
//! twice — or follows — sees one consistent log.

use serde_json::Value;

use crate::clock::{fnv, mix};
use crate::scenario::Load;

/// Time slots lines are counted in (wall seconds).
const SLOT: f64 = 0.1;
/// Lines per simulated second without load.
const BASE_RATE: f64 = 0.5;

/// How an instance ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub at: f64,
    pub exit: i64,
}

/// One run of a container.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub pod: String,
    pub container: String,
    pub image: String,
    /// Wall-clock start, Unix seconds.
    pub started: f64,
    pub ended: Option<Ended>,
    /// Which run (the restart count when it started).
    pub run: i64,
    /// When the pod's deletion was asked (SIGTERM), if it was.
    pub sigterm: Option<f64>,
}

/// Lines per wall second at a wall time: the load curve through the clock.
#[derive(Debug, Clone)]
pub struct Rate {
    pub load: Option<(Load, usize)>,
    pub speed: f64,
    /// Simulated and wall "now", to map one onto the other.
    pub sim_now: f64,
    pub wall_now: f64,
}

impl Rate {
    pub fn at(&self, wall: f64) -> f64 {
        let per_sim = match &self.load {
            Some((load, ready)) => {
                let t = (self.sim_now - (self.wall_now - wall) * self.speed).max(0.0);
                (load.cpu_at(t) / (*ready).max(1) as f64 / 10.0).max(BASE_RATE)
            }
            None => BASE_RATE,
        };
        per_sim * self.speed
    }
}

fn ts(value: &Value, path: &str) -> Option<f64> {
    let s = value.pointer(path)?.as_str()?;
    let t: jiff::Timestamp = s.parse().ok()?;
    Some(t.as_nanosecond() as f64 / 1e9)
}

/// Why no instance can be read (the kubelet's words, a 400).
pub type Refusal = String;

/// The instance the kubelet would read for `container` of `pod`
/// (`previous`: the one before the current).
pub fn instance(pod: &Value, container: &str, previous: bool) -> Result<Instance, Refusal> {
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let image = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        })
        .and_then(|c| c.get("image").and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    let status = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|s| {
            s.iter()
                .find(|x| x.get("name").and_then(Value::as_str) == Some(container))
        });
    let restarts = status
        .and_then(|s| s.get("restartCount"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let sigterm = ts(pod, "/metadata/deletionTimestamp").map(|at| {
        let grace = pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_f64)
            .unwrap_or(30.0);
        at - grace
    });
    let terminated = |t: &Value, run: i64| -> Option<Instance> {
        let started = ts(t, "/startedAt")?;
        // Timestamps have whole seconds: an exit is placed at the end of its second.
        let at = ts(t, "/finishedAt")
            .map_or(started, |f| f + 0.9)
            .max(started + 0.5);
        Some(Instance {
            pod: name.to_string(),
            container: container.to_string(),
            image: image.clone(),
            started,
            ended: Some(Ended {
                at,
                exit: t.get("exitCode").and_then(Value::as_i64).unwrap_or(0),
            }),
            run,
            sigterm: None,
        })
    };
    let last = status.and_then(|s| s.pointer("/lastState/terminated"));
    if previous {
        return last
            .and_then(|t| terminated(t, restarts - 1))
            .ok_or_else(|| {
                format!("previous terminated container \"{container}\" in pod \"{name}\" not found")
            });
    }
    let state = status.and_then(|s| s.get("state"));
    if let Some(started) = state.and_then(|s| ts(s, "/running/startedAt")) {
        return Ok(Instance {
            pod: name.to_string(),
            container: container.to_string(),
            image,
            started,
            ended: None,
            run: restarts,
            sigterm,
        });
    }
    if let Some(t) = state.and_then(|s| s.get("terminated"))
        && let Some(i) = terminated(t, restarts)
    {
        return Ok(i);
    }
    // A container waiting to restart: its last run is what there is to read.
    if let Some(i) = last.and_then(|t| terminated(t, restarts - 1)) {
        return Ok(i);
    }
    let reason = state
        .and_then(|s| s.pointer("/waiting/reason"))
        .and_then(Value::as_str)
        .unwrap_or("ContainerCreating");
    Err(format!(
        "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
    ))
}

const PATHS: [&str; 6] = [
    "/api/orders",
    "/api/orders/{id}",
    "/api/cart",
    "/api/products",
    "/healthz",
    "/api/checkout",
];

fn request_line(h: u64) -> String {
    let method = if h.is_multiple_of(5) { "POST" } else { "GET" };
    let path = PATHS[(h >> 8) as usize % PATHS.len()]
        .replace("{id}", &((h >> 16) % 9000 + 1000).to_string());
    let status = match (h >> 24) % 100 {
        0 => 500,
        1..=3 => 404,
        4..=6 => 201,
        _ => 200,
    };
    let ms = (h >> 32) % 180 + 2;
    let level = if status >= 500 { "WARN " } else { "INFO " };
    format!("{level}{method} {path} {status} {ms}ms")
}

/// Lines of an instance written in (from, to] (wall seconds), in order; an
/// instance that ended gives every line after `from`.
/// `emit` gets each line's time and text; returning false stops.
pub fn lines(
    inst: &Instance,
    rate: &Rate,
    from: f64,
    to: f64,
    mut emit: impl FnMut(f64, String) -> bool,
) {
    // An instance that ended is complete: its last lines are written even if
    // its end (placed within the finishing second) is a moment ahead.
    let (end, to) = match &inst.ended {
        Some(e) if e.at - to <= 1.0 => (e.at, e.at),
        Some(e) => (e.at, to),
        None => (to, to),
    };
    let s = inst.started;
    let mut special: Vec<(f64, String)> = vec![
        (
            s,
            format!("INFO starting {} ({})", inst.container, inst.image),
        ),
        (
            s + 0.05,
            format!(
                "INFO config loaded from /etc/{}/config.yaml",
                inst.container
            ),
        ),
        (s + 0.2, "INFO listening on :8080".to_string()),
    ];
    let stop = match &inst.ended {
        Some(e) if e.exit != 0 => {
            special.push((
                e.at - 0.3,
                "ERROR connection to db:5432 refused (attempt 3/3)".into(),
            ));
            special.push((e.at - 0.2, "ERROR giving up: database unreachable".into()));
            special.push((
                e.at - 0.01,
                format!("FATAL {} exiting with code {}", inst.container, e.exit),
            ));
            e.at - 0.3
        }
        Some(e) => {
            special.push((e.at - 0.2, "INFO received SIGTERM, shutting down".into()));
            special.push((e.at - 0.01, "INFO shutdown complete".into()));
            e.at - 0.2
        }
        None => match inst.sigterm {
            Some(t) if t >= s => {
                special.push((t, "INFO received SIGTERM, shutting down".into()));
                t
            }
            _ => f64::INFINITY,
        },
    };
    let seed = fnv(format!("{}/{}/{}", inst.pod, inst.container, inst.run).as_bytes());
    let mut specials = special.into_iter().peekable();
    let mut n: u64 = 0;
    let mut cum = 0.0_f64;
    let mut t = s + 0.5;
    let mut out = |at: f64, text: String| -> bool {
        if at > from && at <= to && at <= end + 1e-9 {
            return emit(at, text);
        }
        true
    };
    while t < end.min(stop) {
        let slot_end = (t + SLOT).min(end.min(stop));
        let before = cum.floor();
        cum += rate.at(t) * (slot_end - t);
        let count = (cum.floor() - before) as u64;
        for k in 0..count {
            let at = t + (slot_end - t) * (k as f64 + 0.5) / count as f64;
            while let Some((st, _)) = specials.peek() {
                if *st > at {
                    break;
                }
                let (st, text) = specials.next().unwrap_or_default();
                if !out(st, text) {
                    return;
                }
            }
            if at > from && !out(at, request_line(mix(seed ^ n))) {
                return;
            }
            n += 1;
        }
        t = slot_end;
    }
    for (st, text) in specials {
        if !out(st, text) {
            return;
        }
    }
}

/// The ready pods sharing a load, for [`Rate`]: counted by the caller.
pub fn rate(load: Option<(Load, usize)>, speed: f64, sim_now: f64, wall_now: f64) -> Rate {
    Rate {
        load,
        speed,
        sim_now,
        wall_now,
    }
}

/// RFC 3339 with nanoseconds, as the kubelet prefixes lines with `timestamps=true`.
pub fn stamp(at: f64) -> String {
    let ns = (at * 1e9).round() as i128;
    jiff::Timestamp::from_nanosecond(ns)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: Value) -> Value {
        json!({"metadata": {"name": "web-1"},
               "spec": {"containers": [{"name": "web", "image": "shop/web:v1"}]},
               "status": {"containerStatuses": [status]}})
    }

    fn collect(inst: &Instance, rate: &Rate, from: f64, to: f64) -> Vec<(f64, String)> {
        let mut v = Vec::new();
        lines(inst, rate, from, to, |t, s| {
            v.push((t, s));
            true
        });
        v
    }

    fn still(speed: f64) -> Rate {
        rate(None, speed, 0.0, 0.0)
    }

    #[test]
    fn the_kubelets_instance_choice() {
        let crashed = pod(json!({"name": "web", "restartCount": 2,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "startedAt": "2026-12-03T10:00:00Z", "finishedAt": "2026-12-03T10:00:03Z"}}}));
        let i = instance(&crashed, "web", false).unwrap();
        assert_eq!((i.run, i.ended.as_ref().map(|e| e.exit)), (1, Some(1)));
        assert_eq!(instance(&crashed, "web", true).unwrap(), i);
        let running = pod(json!({"name": "web", "restartCount": 0,
            "state": {"running": {"startedAt": "2026-12-03T10:00:00Z"}}}));
        assert!(instance(&running, "web", false).unwrap().ended.is_none());
        assert_eq!(
            instance(&running, "web", true).unwrap_err(),
            "previous terminated container \"web\" in pod \"web-1\" not found"
        );
        let waiting = pod(json!({"name": "web", "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}}}));
        assert_eq!(
            instance(&waiting, "web", false).unwrap_err(),
            "container \"web\" in pod \"web-1\" is waiting to start: ContainerCreating"
        );
    }

    #[test]
    fn a_crash_ends_with_the_fatal_line_and_lines_are_repeatable() {
        let i = Instance {
            pod: "web-1".into(),
            container: "web".into(),
            image: "shop/web:v1".into(),
            started: 1000.0,
            ended: Some(Ended {
                at: 1010.0,
                exit: 1,
            }),
            run: 0,
            sigterm: None,
        };
        let all = collect(&i, &still(1.0), 0.0, 2000.0);
        assert_eq!(all[0].1, "INFO starting web (shop/web:v1)");
        assert_eq!(all.last().unwrap().1, "FATAL web exiting with code 1");
        assert!(all.windows(2).all(|w| w[0].0 <= w[1].0), "in time order");
        // ~0.5 lines/s for ~9 s, plus 3 start-up and 3 crash lines.
        assert!((8..=12).contains(&all.len()), "{}", all.len());
        assert_eq!(collect(&i, &still(1.0), 0.0, 2000.0), all);
        // A window is the same lines, cut.
        let part = collect(&i, &still(1.0), 1003.0, 1006.0);
        assert!(part.iter().all(|(t, _)| *t > 1003.0 && *t <= 1006.0));
        assert!(
            all.iter()
                .filter(|(t, _)| *t > 1003.0 && *t <= 1006.0)
                .eq(part.iter())
        );
    }

    #[test]
    fn the_rate_follows_the_load() {
        let load: Load = serde_json::from_value(json!({
            "deployment": "shop/web", "cpu": [[0, 20000]]
        }))
        .unwrap();
        // 20,000m over 50 ready pods: 40 lines/s each at speed 1.
        let r = rate(Some((load, 50)), 1.0, 100.0, 5000.0);
        assert!((r.at(4990.0) - 40.0).abs() < 1e-9);
        let i = Instance {
            pod: "web-1".into(),
            container: "web".into(),
            image: "i".into(),
            started: 4000.0,
            ended: None,
            run: 0,
            sigterm: None,
        };
        let n = collect(&i, &r, 4900.0, 4910.0).len();
        assert!((395..=405).contains(&n), "{n}");
        // Faster clocks write more per wall second.
        assert!((still(20.0).at(0.0) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn stamps_have_nanoseconds() {
        assert_eq!(stamp(1.5), "1970-01-01T00:00:01.500000000Z");
    }
}
