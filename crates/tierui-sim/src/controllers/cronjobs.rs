//! The CronJob controller on the cluster's own clock: a Job per scheduled
//! time (named `<cronjob>-<minutes since the epoch>` as the real controller
//! names them), `concurrencyPolicy` Allow/Forbid/Replace, `suspend`,
//! `startingDeadlineSeconds`, the active list, lastScheduleTime and
//! lastSuccessfulTime, and the successful/failed history limits.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::jobs::{finished, has_condition, parse_time, rfc3339};
use crate::cron::Schedule;
use crate::kinds;
use crate::state::State;

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

#[derive(Default)]
pub struct CronJobController {
    /// (cronjob uid, scheduled time) already reported as skipped, so a
    /// Forbid or a missed deadline is one event, not one per pass.
    reported: HashSet<(String, i64)>,
}

impl CronJobController {
    pub fn reconcile_all(&mut self, st: &mut State, now: i64) {
        let all: Vec<(String, String)> = st
            .store
            .range(kinds::CRONJOB, None, None)
            .map(|e| (e.namespace.clone(), e.name.clone()))
            .collect();
        for (ns, name) in all {
            if let Some(cj) = st.get_value(kinds::CRONJOB, &ns, &name) {
                self.reconcile(st, &ns, cj, now);
            }
        }
    }

    fn reconcile(&mut self, st: &mut State, ns: &str, cj: Value, now: i64) {
        if cj.pointer("/metadata/deletionTimestamp").is_some() {
            return;
        }
        let uid = s(&cj, "/metadata/uid").to_string();
        let name = s(&cj, "/metadata/name").to_string();
        let mut status = cj.get("status").cloned().unwrap_or_else(|| json!({}));
        let mut events: Vec<(&str, &str, String)> = Vec::new();

        // Jobs this CronJob owns, oldest first.
        let mut jobs: Vec<Value> = st
            .store
            .children_of(&uid)
            .into_iter()
            .filter(|(k, cns, _)| *k == kinds::JOB && cns == ns)
            .filter_map(|(_, _, n)| st.get_value(kinds::JOB, ns, &n))
            .filter(|j| j.pointer("/metadata/deletionTimestamp").is_none())
            .collect();
        jobs.sort_by_key(scheduled_of);

        // The active list: running jobs it owns; finished ones are seen once.
        let was_active: Vec<String> = status
            .get("active")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|r| s(r, "/name").to_string()).collect())
            .unwrap_or_default();
        let mut active = Vec::new();
        for j in &jobs {
            let jname = s(j, "/metadata/name").to_string();
            if finished(j) {
                if was_active.contains(&jname) {
                    let cond = if has_condition(j, "Complete") {
                        "Complete"
                    } else {
                        "Failed"
                    };
                    events.push((
                        "Normal",
                        "SawCompletedJob",
                        format!("Saw completed job: {jname}, condition: {cond}"),
                    ));
                }
                if has_condition(j, "Complete") {
                    let done = s(j, "/status/completionTime");
                    if !done.is_empty() && s(&status, "/lastSuccessfulTime") < done {
                        status["lastSuccessfulTime"] = json!(done);
                    }
                }
            } else {
                active.push(reference(j));
            }
        }

        // History limits.
        let limit = |k: &str, d: i64| {
            cj.pointer(&format!("/spec/{k}"))
                .and_then(Value::as_i64)
                .unwrap_or(d)
                .max(0) as usize
        };
        for (want, keep) in [
            ("Complete", limit("successfulJobsHistoryLimit", 3)),
            ("Failed", limit("failedJobsHistoryLimit", 1)),
        ] {
            let done: Vec<&Value> = jobs.iter().filter(|j| has_condition(j, want)).collect();
            for j in done.iter().take(done.len().saturating_sub(keep)) {
                let jname = s(j, "/metadata/name").to_string();
                st.delete_cascade(kinds::JOB, ns, &jname, false);
                events.push(("Normal", "SuccessfulDelete", format!("Deleted job {jname}")));
            }
        }

        // What to start.
        let suspended = cj.pointer("/spec/suspend") == Some(&Value::Bool(true));
        let schedule = Schedule::parse(s(&cj, "/spec/schedule")).ok();
        if let (false, Some(schedule)) = (suspended, schedule) {
            let since = parse_time(s(&status, "/lastScheduleTime"))
                .or_else(|| parse_time(s(&cj, "/metadata/creationTimestamp")))
                .unwrap_or(now);
            let mut latest = None;
            let mut missed = 0;
            let mut t = since;
            while let Some(next) = schedule.next_after(t) {
                if next > now {
                    break;
                }
                latest = Some(next);
                missed += 1;
                t = next;
                if missed > 100 {
                    // Far behind (a long-stopped cluster): jump to the last minute.
                    latest = schedule
                        .next_after(now - 60)
                        .filter(|n| *n <= now)
                        .or(latest);
                    break;
                }
            }
            if missed > 100 && self.reported.insert((uid.clone(), -1)) {
                events.push(("Warning", "TooManyMissedTimes", format!("too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew")));
            }
            if let Some(at) = latest {
                let deadline = cj
                    .pointer("/spec/startingDeadlineSeconds")
                    .and_then(Value::as_i64);
                let policy = s(&cj, "/spec/concurrencyPolicy");
                let job_name = format!("{name}-{}", at / 60);
                if deadline.is_some_and(|d| now - at > d) {
                    if self.reported.insert((uid.clone(), at)) {
                        events.push((
                            "Warning",
                            "MissSchedule",
                            format!("Missed scheduled time to start a job: {}", rfc3339(at)),
                        ));
                    }
                } else if policy == "Forbid" && !active.is_empty() {
                    if self.reported.insert((uid.clone(), at)) {
                        events.push(("Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid".into()));
                    }
                } else if st.store.get(kinds::JOB, ns, &job_name).is_none() {
                    if policy == "Replace" {
                        for r in std::mem::take(&mut active) {
                            let jname = s(&r, "/name").to_string();
                            st.delete_cascade(kinds::JOB, ns, &jname, false);
                            events.push((
                                "Normal",
                                "SuccessfulDelete",
                                format!("Deleted job {jname}"),
                            ));
                        }
                    }
                    let job = new_job(ns, &cj, &job_name, at);
                    let entry = st.put(kinds::JOB, job);
                    active.push(reference(&entry.value()));
                    status["lastScheduleTime"] = json!(rfc3339(at));
                    events.push((
                        "Normal",
                        "SuccessfulCreate",
                        format!("Created job {job_name}"),
                    ));
                }
            }
        }

        if active.is_empty() {
            if let Some(m) = status.as_object_mut() {
                m.remove("active");
            }
        } else {
            status["active"] = json!(active);
        }
        if cj.get("status") != Some(&status)
            && let Some(mut fresh) = st.get_value(kinds::CRONJOB, ns, &name)
        {
            fresh["status"] = status;
            st.store.commit(kinds::CRONJOB, fresh);
        }
        for (ty, reason, message) in events {
            st.event(
                kinds::CRONJOB,
                &cj,
                ty,
                reason,
                &message,
                "cronjob-controller",
            );
        }
    }
}

fn scheduled_of(job: &Value) -> i64 {
    parse_time(s(
        job,
        "/metadata/annotations/batch.kubernetes.io~1cronjob-scheduled-timestamp",
    ))
    .or_else(|| parse_time(s(job, "/metadata/creationTimestamp")))
    .unwrap_or(0)
}

fn reference(job: &Value) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": s(job, "/metadata/name"),
        "namespace": s(job, "/metadata/namespace"),
        "uid": s(job, "/metadata/uid"),
        "resourceVersion": s(job, "/metadata/resourceVersion"),
    })
}

/// The Job for one scheduled time, from the CronJob's template, with the
/// selector and labels the API server's Job strategy would add.
fn new_job(ns: &str, cj: &Value, name: &str, at: i64) -> Value {
    let tpl = cj
        .pointer("/spec/jobTemplate")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut meta = tpl.get("metadata").cloned().unwrap_or_else(|| json!({}));
    if !meta.is_object() {
        meta = json!({});
    }
    meta["name"] = json!(name);
    meta["namespace"] = json!(ns);
    if !meta.get("annotations").is_some_and(Value::is_object) {
        meta["annotations"] = json!({});
    }
    meta["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] = json!(rfc3339(at));
    if !meta.get("labels").is_some_and(Value::is_object) {
        meta["labels"] = json!({});
    }
    meta["ownerReferences"] = json!([{
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": s(cj, "/metadata/name"),
        "uid": s(cj, "/metadata/uid"),
        "controller": true,
        "blockOwnerDeletion": true,
    }]);
    // The uid, selector and labels come with the create (State::put).
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": tpl.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::jobs;

    fn cronjob(st: &mut State, spec: Value, created: i64) {
        let mut cj = json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "report", "namespace": "app", "creationTimestamp": rfc3339(created)},
            "spec": spec});
        cj["spec"]["jobTemplate"] = json!({"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}});
        st.put(kinds::CRONJOB, cj);
    }

    fn job_names(st: &State) -> Vec<String> {
        st.store
            .range(kinds::JOB, Some("app"), None)
            .map(|e| e.name.clone())
            .collect()
    }

    fn complete_all(st: &mut State, now: i64) {
        let all: Vec<Value> = st
            .store
            .range(kinds::JOB, Some("app"), None)
            .map(|e| e.value())
            .collect();
        for mut j in all {
            if !jobs::finished(&j) {
                j["status"] = json!({"completionTime": rfc3339(now),
                    "conditions": [{"type": "Complete", "status": "True"}]});
                st.store.commit(kinds::JOB, j);
            }
        }
    }

    fn cj(st: &State) -> Value {
        st.get_value(kinds::CRONJOB, "app", "report").unwrap()
    }

    // 2026-12-03T10:00:00Z
    const T0: i64 = 1_796_292_000;

    #[test]
    fn a_job_per_scheduled_minute_named_as_the_controller_names_them() {
        let mut st = State::new(1);
        let mut c = CronJobController::default();
        cronjob(
            &mut st,
            json!({"schedule": "*/5 * * * *", "concurrencyPolicy": "Allow"}),
            T0 + 30,
        );
        c.reconcile_all(&mut st, T0 + 200);
        assert!(job_names(&st).is_empty(), "10:05 has not come");
        c.reconcile_all(&mut st, T0 + 300);
        assert_eq!(job_names(&st), [format!("report-{}", (T0 + 300) / 60)]);
        let status = cj(&st);
        assert_eq!(
            s(&status, "/status/lastScheduleTime"),
            "2026-12-03T10:05:00Z"
        );
        assert_eq!(
            status
                .pointer("/status/active")
                .and_then(Value::as_array)
                .map(Vec::len),
            Some(1)
        );
        let job = st
            .store
            .range(kinds::JOB, Some("app"), None)
            .next()
            .unwrap()
            .value();
        assert_eq!(s(&job, "/metadata/ownerReferences/0/kind"), "CronJob");
        assert!(job.pointer("/spec/selector/matchLabels").is_some());
        c.reconcile_all(&mut st, T0 + 310);
        assert_eq!(job_names(&st).len(), 1, "once per time");
        complete_all(&mut st, T0 + 320);
        c.reconcile_all(&mut st, T0 + 330);
        let status = cj(&st);
        assert!(status.pointer("/status/active").is_none());
        assert_eq!(s(&status, "/status/lastSuccessfulTime"), rfc3339(T0 + 320));
    }

    #[test]
    fn forbid_waits_replace_replaces_and_history_is_trimmed() {
        let mut st = State::new(1);
        let mut c = CronJobController::default();
        cronjob(
            &mut st,
            json!({"schedule": "* * * * *", "concurrencyPolicy": "Forbid"}),
            T0,
        );
        c.reconcile_all(&mut st, T0 + 60);
        c.reconcile_all(&mut st, T0 + 120);
        assert_eq!(job_names(&st).len(), 1, "Forbid: the first still runs");
        let mut x = cj(&st);
        x["spec"]["concurrencyPolicy"] = json!("Replace");
        st.store.commit(kinds::CRONJOB, x);
        c.reconcile_all(&mut st, T0 + 121);
        assert_eq!(job_names(&st), [format!("report-{}", (T0 + 120) / 60)]);
        // Four more that complete: three kept.
        for m in 3..7 {
            complete_all(&mut st, T0 + m * 60 - 1);
            c.reconcile_all(&mut st, T0 + m * 60);
        }
        complete_all(&mut st, T0 + 7 * 60);
        c.reconcile_all(&mut st, T0 + 7 * 60 + 1);
        // Three complete kept, and 10:07's just started.
        assert_eq!(job_names(&st).len(), 4);
        let complete = st
            .store
            .range(kinds::JOB, Some("app"), None)
            .filter(|e| jobs::finished(&e.value()))
            .count();
        assert_eq!(complete, 3);
    }

    #[test]
    fn suspended_and_missed_deadlines_start_nothing() {
        let mut st = State::new(1);
        let mut c = CronJobController::default();
        cronjob(
            &mut st,
            json!({"schedule": "0 * * * *", "suspend": true}),
            T0,
        );
        c.reconcile_all(&mut st, T0 + 3600);
        assert!(job_names(&st).is_empty());
        let mut x = cj(&st);
        x["spec"]["suspend"] = json!(false);
        x["spec"]["startingDeadlineSeconds"] = json!(100);
        st.store.commit(kinds::CRONJOB, x);
        c.reconcile_all(&mut st, T0 + 3600 + 200);
        assert!(
            job_names(&st).is_empty(),
            "11:00 was missed by more than 100 s"
        );
        c.reconcile_all(&mut st, T0 + 7200 + 5);
        assert_eq!(job_names(&st).len(), 1);
    }
}
