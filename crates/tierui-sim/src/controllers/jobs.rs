//! The Job controller: pods up to `parallelism` until `completions` succeed,
//! failures counted against `backoffLimit`, `activeDeadlineSeconds`, suspend,
//! the Complete/Failed conditions (with SuccessCriteriaMet/FailureTarget
//! before them, as 1.31+ writes), and `ttlSecondsAfterFinished`. Times are the
//! cluster's own wall clock (`Clock::wall_at`), so `--speed` scales them too.

use serde_json::{Value, json};

use crate::kinds;
use crate::metrics::is_ready;
use crate::state::State;

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

pub fn rfc3339(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

pub fn parse_time(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// The condition of `ty` is True.
pub fn has_condition(o: &Value, ty: &str) -> bool {
    o.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| s(c, "/type") == ty && s(c, "/status") == "True")
        })
}

/// Complete or Failed.
pub fn finished(job: &Value) -> bool {
    has_condition(job, "Complete") || has_condition(job, "Failed")
}

pub fn reconcile_all(st: &mut State, now: i64) {
    let all: Vec<(String, String)> = st
        .store
        .range(kinds::JOB, None, None)
        .map(|e| (e.namespace.clone(), e.name.clone()))
        .collect();
    for (ns, name) in all {
        if let Some(job) = st.get_value(kinds::JOB, &ns, &name) {
            reconcile(st, &ns, job, now);
        }
    }
}

fn condition(ty: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": ty, "status": "True", "reason": reason, "message": message,
           "lastProbeTime": now, "lastTransitionTime": now})
}

fn reconcile(st: &mut State, ns: &str, job: Value, now: i64) {
    if job.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    if finished(&job) {
        expire(st, ns, &job, now);
        return;
    }
    let uid = s(&job, "/metadata/uid").to_string();
    let name = s(&job, "/metadata/name").to_string();
    let spec = job.get("spec").cloned().unwrap_or_else(|| json!({}));
    let int = |k: &str| spec.get(k).and_then(Value::as_i64);
    let parallelism = int("parallelism").unwrap_or(1).max(0);
    let completions = int("completions");
    let backoff_limit = int("backoffLimit").unwrap_or(6);
    let suspended = spec.get("suspend") == Some(&Value::Bool(true));
    let now_text = rfc3339(now);

    let pods: Vec<Value> = st
        .store
        .children_of(&uid)
        .into_iter()
        .filter(|(k, cns, _)| *k == kinds::POD && cns == ns)
        .filter_map(|(_, _, n)| st.get_value(kinds::POD, ns, &n))
        .collect();
    let phase = |p: &Value| s(p, "/status/phase").to_string();
    let active: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            p.pointer("/metadata/deletionTimestamp").is_none()
                && !matches!(phase(p).as_str(), "Succeeded" | "Failed")
        })
        .collect();
    let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    // Failed pods, plus in-place restarts of `OnFailure` pods: both count
    // against the backoff limit.
    let restarts: i64 = pods
        .iter()
        .filter_map(|p| {
            p.pointer("/status/containerStatuses")
                .and_then(Value::as_array)
        })
        .flatten()
        .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
        .sum();
    let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as i64;
    let ready = active.iter().filter(|p| is_ready(p)).count() as i64;

    let mut status = job.get("status").cloned().unwrap_or_else(|| json!({}));
    let mut conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut events: Vec<(&str, &str, String)> = Vec::new();
    let mut delete_active = false;

    if suspended {
        delete_active = true;
        if !has_condition(&job, "Suspended") {
            conditions.retain(|c| s(c, "/type") != "Suspended");
            conditions.push(condition(
                "Suspended",
                "JobSuspended",
                "Job suspended",
                &now_text,
            ));
            events.push(("Normal", "Suspended", "Job suspended".into()));
        }
    } else {
        if has_condition(&job, "Suspended") {
            for c in conditions
                .iter_mut()
                .filter(|c| s(c, "/type") == "Suspended")
            {
                *c = json!({"type": "Suspended", "status": "False", "reason": "JobResumed",
                            "message": "Job resumed", "lastProbeTime": now_text, "lastTransitionTime": now_text});
            }
            events.push(("Normal", "Resumed", "Job resumed".into()));
        }
        if status.get("startTime").is_none() {
            status["startTime"] = json!(now_text);
        }
    }
    let started = parse_time(s(&status, "/startTime"));
    let deadline = int("activeDeadlineSeconds");
    let fail = if failed + restarts > backoff_limit {
        Some((
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ))
    } else if let (Some(d), Some(start), false) = (deadline, started, suspended)
        && now - start >= d
    {
        Some((
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        ))
    } else {
        None
    };
    let done = match completions {
        Some(c) => succeeded >= c,
        None => succeeded >= 1 && active.is_empty(),
    };
    let mut create = 0;
    if let Some((reason, message)) = fail {
        delete_active = true;
        conditions.push(condition("FailureTarget", reason, message, &now_text));
        conditions.push(condition("Failed", reason, message, &now_text));
        events.push(("Warning", reason, message.to_string()));
    } else if done && !suspended {
        conditions.push(condition(
            "SuccessCriteriaMet",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
            &now_text,
        ));
        conditions.push(condition(
            "Complete",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
            &now_text,
        ));
        status["completionTime"] = json!(now_text);
        events.push(("Normal", "Completed", "Job completed".into()));
    } else if !suspended {
        let want = match completions {
            Some(c) => parallelism.min(c - succeeded),
            None if succeeded > 0 => 0,
            None => parallelism,
        };
        create = (want - active.len() as i64).max(0);
    }

    let mut created = Vec::new();
    for _ in 0..create.min(100) {
        let tpl = job
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let pod = super::replicaset::pod_from_template(st, ns, &job, &tpl, None);
        created.push(s(&pod, "/metadata/name").to_string());
        st.put(kinds::POD, pod);
    }
    let mut removed = 0;
    if delete_active {
        for p in &active {
            let pname = s(p, "/metadata/name");
            if st.delete_pod(ns, pname) {
                removed += 1;
                events.push((
                    "Normal",
                    "SuccessfulDelete",
                    format!("Deleted pod: {pname}"),
                ));
            }
        }
    }
    let active_now = if delete_active {
        0
    } else {
        active.len() as i64 + created.len() as i64
    };
    for (k, v) in [
        ("active", active_now),
        ("succeeded", succeeded),
        ("failed", failed),
    ] {
        if v > 0 {
            status[k] = json!(v);
        } else if let Some(m) = status.as_object_mut() {
            m.remove(k);
        }
    }
    status["ready"] = json!(if delete_active { 0 } else { ready });
    status["terminating"] = json!(removed);
    status["uncountedTerminatedPods"] = json!({});
    if conditions.is_empty() {
        if let Some(m) = status.as_object_mut() {
            m.remove("conditions");
        }
    } else {
        status["conditions"] = json!(conditions);
    }
    if job.get("status") != Some(&status)
        && let Some(mut fresh) = st.get_value(kinds::JOB, ns, &name)
    {
        fresh["status"] = status;
        st.store.commit(kinds::JOB, fresh);
    }
    for p in created {
        st.event(
            kinds::JOB,
            &job,
            "Normal",
            "SuccessfulCreate",
            &format!("Created pod: {p}"),
            "job-controller",
        );
    }
    for (ty, reason, message) in events {
        st.event(kinds::JOB, &job, ty, reason, &message, "job-controller");
    }
}

/// `ttlSecondsAfterFinished`: the finished Job and its pods are deleted.
fn expire(st: &mut State, ns: &str, job: &Value, now: i64) {
    let Some(ttl) = job
        .pointer("/spec/ttlSecondsAfterFinished")
        .and_then(Value::as_i64)
    else {
        return;
    };
    let end = job
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .filter(|c| matches!(s(c, "/type"), "Complete" | "Failed"))
                .find_map(|c| parse_time(s(c, "/lastTransitionTime")))
        });
    if end.is_some_and(|e| now - e >= ttl) {
        st.delete_cascade(kinds::JOB, ns, s(job, "/metadata/name"), false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(st: &mut State, name: &str, spec: Value) {
        let mut j = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "app", "uid": format!("uid-{name}")},
            "spec": spec});
        j["spec"]["template"] = json!({"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}});
        crate::defaults::job_selector(&mut j, &format!("uid-{name}"));
        st.put(kinds::JOB, j);
    }

    fn pods(st: &State) -> Vec<Value> {
        st.store
            .range(kinds::POD, Some("app"), None)
            .map(|e| e.value())
            .collect()
    }

    fn end_pods(st: &mut State, phase: &str) {
        for mut p in pods(st) {
            if s(&p, "/status/phase") == "Pending" {
                p["status"]["phase"] = json!(phase);
                st.store.commit(kinds::POD, p);
            }
        }
    }

    fn get(st: &State, name: &str) -> Value {
        st.get_value(kinds::JOB, "app", name).unwrap()
    }

    #[test]
    fn completions_run_parallelism_at_a_time_then_complete() {
        let mut st = State::new(1);
        job(
            &mut st,
            "migrate",
            json!({"completions": 3, "parallelism": 2, "backoffLimit": 6}),
        );
        reconcile_all(&mut st, 1_000);
        assert_eq!(pods(&st).len(), 2);
        let j = get(&st, "migrate");
        assert_eq!(j.pointer("/status/active"), Some(&json!(2)));
        assert_eq!(s(&j, "/status/startTime"), rfc3339(1_000));
        let p = &pods(&st)[0];
        assert_eq!(
            s(p, "/metadata/labels/batch.kubernetes.io~1job-name"),
            "migrate"
        );
        end_pods(&mut st, "Succeeded");
        reconcile_all(&mut st, 1_010);
        assert_eq!(pods(&st).len(), 3, "one more for the last completion");
        end_pods(&mut st, "Succeeded");
        reconcile_all(&mut st, 1_020);
        let j = get(&st, "migrate");
        assert!(has_condition(&j, "Complete") && has_condition(&j, "SuccessCriteriaMet"));
        assert_eq!(j.pointer("/status/succeeded"), Some(&json!(3)));
        assert_eq!(s(&j, "/status/completionTime"), rfc3339(1_020));
        assert_eq!(j.pointer("/status/active"), None);
        reconcile_all(&mut st, 1_030);
        assert_eq!(pods(&st).len(), 3, "a complete job creates nothing more");
    }

    #[test]
    fn failures_beyond_the_backoff_limit_fail_the_job() {
        let mut st = State::new(1);
        job(
            &mut st,
            "flaky",
            json!({"completions": 1, "parallelism": 1, "backoffLimit": 1}),
        );
        reconcile_all(&mut st, 0);
        end_pods(&mut st, "Failed");
        reconcile_all(&mut st, 5);
        assert_eq!(pods(&st).len(), 2, "a replacement after one failure");
        assert!(!finished(&get(&st, "flaky")));
        end_pods(&mut st, "Failed");
        reconcile_all(&mut st, 10);
        let j = get(&st, "flaky");
        assert!(has_condition(&j, "Failed"));
        assert_eq!(
            j.pointer("/status/conditions/1/reason"),
            Some(&json!("BackoffLimitExceeded"))
        );
        assert_eq!(j.pointer("/status/failed"), Some(&json!(2)));
    }

    #[test]
    fn the_active_deadline_and_ttl() {
        let mut st = State::new(1);
        job(
            &mut st,
            "slow",
            json!({"completions": 1, "parallelism": 1, "activeDeadlineSeconds": 30, "ttlSecondsAfterFinished": 60}),
        );
        reconcile_all(&mut st, 100);
        reconcile_all(&mut st, 129);
        assert!(!finished(&get(&st, "slow")));
        reconcile_all(&mut st, 130);
        let j = get(&st, "slow");
        assert!(has_condition(&j, "Failed"));
        assert_eq!(
            j.pointer("/status/conditions/1/reason"),
            Some(&json!("DeadlineExceeded"))
        );
        assert_eq!(j.pointer("/status/active"), None);
        reconcile_all(&mut st, 189);
        assert!(st.get_value(kinds::JOB, "app", "slow").is_some());
        reconcile_all(&mut st, 190);
        assert!(st.get_value(kinds::JOB, "app", "slow").is_none(), "ttl");
    }

    #[test]
    fn a_suspended_job_runs_nothing_until_resumed() {
        let mut st = State::new(1);
        job(
            &mut st,
            "later",
            json!({"completions": 1, "parallelism": 1, "suspend": true}),
        );
        reconcile_all(&mut st, 0);
        assert!(pods(&st).is_empty());
        assert!(has_condition(&get(&st, "later"), "Suspended"));
        let mut j = get(&st, "later");
        j["spec"]["suspend"] = json!(false);
        st.store.commit(kinds::JOB, j);
        reconcile_all(&mut st, 5);
        assert_eq!(pods(&st).len(), 1);
        assert!(!has_condition(&get(&st, "later"), "Suspended"));
    }
}
