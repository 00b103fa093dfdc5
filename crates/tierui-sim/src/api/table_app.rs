//! Table columns of the kinds an application ships beside its Deployments
//! (volumes, batch, stateful and daemon workloads, policy and RBAC), as the
//! API server prints them for `kubectl get`.

use serde_json::{Value, json};

use super::table::{containers_images, human_duration, i, s, selector_text};
use crate::kinds::{self, KindId};

type Col = (&'static str, &'static str, u8);

fn or_none(x: &str) -> String {
    if x.is_empty() {
        "<none>".into()
    } else {
        x.into()
    }
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `ReadWriteOnce` → `RWO`, as kubectl abbreviates access modes.
fn access_modes(v: Option<&Value>) -> String {
    str_list(v)
        .iter()
        .map(|m| match m.as_str() {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn int_or_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(x)) => x.clone(),
        _ => "N/A".into(),
    }
}

fn seconds(ts: &str) -> Option<i64> {
    ts.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

pub fn columns(kind: KindId) -> Option<Vec<Col>> {
    Some(match kind {
        kinds::PVC => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Volume", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("StorageClass", "string", 0),
            ("VolumeAttributesClass", "string", 0),
            ("Age", "string", 0),
            ("VolumeMode", "string", 1),
        ],
        kinds::PV => vec![
            ("Name", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("Reclaim Policy", "string", 0),
            ("Status", "string", 0),
            ("Claim", "string", 0),
            ("StorageClass", "string", 0),
            ("VolumeAttributesClass", "string", 0),
            ("Reason", "string", 0),
            ("Age", "string", 0),
            ("VolumeMode", "string", 1),
        ],
        kinds::STORAGECLASS => vec![
            ("Name", "string", 0),
            ("Provisioner", "string", 0),
            ("ReclaimPolicy", "string", 0),
            ("VolumeBindingMode", "string", 0),
            ("AllowVolumeExpansion", "string", 0),
            ("Age", "string", 0),
        ],
        kinds::JOB => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        kinds::CRONJOB => vec![
            ("Name", "string", 0),
            ("Schedule", "string", 0),
            ("Timezone", "string", 0),
            ("Suspend", "boolean", 0),
            ("Active", "integer", 0),
            ("Last Schedule", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        kinds::STATEFULSET => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
        ],
        kinds::DAEMONSET => vec![
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        kinds::PDB => vec![
            ("Name", "string", 0),
            ("Min Available", "string", 0),
            ("Max Unavailable", "string", 0),
            ("Allowed Disruptions", "integer", 0),
            ("Age", "string", 0),
        ],
        kinds::NETWORKPOLICY => vec![
            ("Name", "string", 0),
            ("Pod-Selector", "string", 0),
            ("Age", "string", 0),
        ],
        kinds::ROLE | kinds::CLUSTERROLE | kinds::LIMITRANGE => {
            vec![("Name", "string", 0), ("Created At", "date", 0)]
        }
        kinds::ROLEBINDING | kinds::CLUSTERROLEBINDING => vec![
            ("Name", "string", 0),
            ("Role", "string", 0),
            ("Age", "string", 0),
            ("Users", "string", 1),
            ("Groups", "string", 1),
            ("ServiceAccounts", "string", 1),
        ],
        kinds::RESOURCEQUOTA => vec![
            ("Name", "string", 0),
            ("Age", "string", 0),
            ("Request", "string", 0),
            ("Limit", "string", 0),
        ],
        kinds::INGRESSCLASS => vec![
            ("Name", "string", 0),
            ("Controller", "string", 0),
            ("Parameters", "string", 0),
            ("Age", "string", 0),
        ],
        kinds::PRIORITYCLASS => vec![
            ("Name", "string", 0),
            ("Value", "integer", 0),
            ("Global-Default", "boolean", 0),
            ("Age", "string", 0),
            ("PreemptionPolicy", "string", 0),
        ],
        kinds::CONTROLLERREVISION => vec![
            ("Name", "string", 0),
            ("Controller", "string", 0),
            ("Revision", "integer", 0),
            ("Age", "string", 0),
        ],
        _ => return None,
    })
}

pub fn cells(
    kind: KindId,
    o: &Value,
    name: Value,
    age_v: Value,
    cluster_now: i64,
) -> Option<Vec<Value>> {
    Some(match kind {
        kinds::PVC => vec![
            name,
            // kubectl's printer: a claim being deleted is Terminating.
            json!(match o.pointer("/metadata/deletionTimestamp") {
                Some(_) => "Terminating",
                None => s(o, "/status/phase"),
            }),
            json!(s(o, "/spec/volumeName")),
            json!(s(o, "/status/capacity/storage")),
            json!(access_modes(o.pointer("/status/accessModes"))),
            json!(s(o, "/spec/storageClassName")),
            json!(or_none(s(o, "/spec/volumeAttributesClassName"))),
            age_v,
            json!(s(o, "/spec/volumeMode")),
        ],
        kinds::PV => {
            let claim = if s(o, "/spec/claimRef/name").is_empty() {
                String::new()
            } else {
                format!(
                    "{}/{}",
                    s(o, "/spec/claimRef/namespace"),
                    s(o, "/spec/claimRef/name")
                )
            };
            vec![
                name,
                json!(s(o, "/spec/capacity/storage")),
                json!(access_modes(o.pointer("/spec/accessModes"))),
                json!(s(o, "/spec/persistentVolumeReclaimPolicy")),
                json!(s(o, "/status/phase")),
                json!(claim),
                json!(s(o, "/spec/storageClassName")),
                json!(or_none(s(o, "/spec/volumeAttributesClassName"))),
                json!(s(o, "/status/reason")),
                age_v,
                json!(s(o, "/spec/volumeMode")),
            ]
        }
        kinds::STORAGECLASS => {
            let default = o
                .pointer("/metadata/annotations/storageclass.kubernetes.io~1is-default-class")
                .and_then(Value::as_str)
                == Some("true");
            let shown = if default {
                json!(format!("{} (default)", s(o, "/metadata/name")))
            } else {
                name
            };
            vec![
                shown,
                json!(s(o, "/provisioner")),
                json!(s(o, "/reclaimPolicy")),
                json!(s(o, "/volumeBindingMode")),
                json!(
                    o.get("allowVolumeExpansion")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                        .to_string()
                ),
                age_v,
            ]
        }
        kinds::JOB => {
            let (c, im) = containers_images(o.pointer("/spec/template/spec"));
            vec![
                name,
                json!(job_status(o)),
                json!(job_completions(o)),
                json!(job_duration(o, cluster_now)),
                age_v,
                json!(c),
                json!(im),
                json!(selector_text(o.pointer("/spec/selector"))),
            ]
        }
        kinds::CRONJOB => {
            let (c, im) = containers_images(o.pointer("/spec/jobTemplate/spec/template/spec"));
            // Stamped on the cluster's clock, which `--speed` runs ahead.
            let last = match seconds(s(o, "/status/lastScheduleTime")) {
                Some(t) => human_duration(cluster_now - t),
                None => "<none>".into(),
            };
            vec![
                name,
                json!(s(o, "/spec/schedule")),
                json!(or_none(s(o, "/spec/timeZone"))),
                json!(o.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)),
                json!(
                    o.pointer("/status/active")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len)
                ),
                json!(last),
                age_v,
                json!(c),
                json!(im),
                json!(selector_text(o.pointer("/spec/jobTemplate/spec/selector"))),
            ]
        }
        kinds::STATEFULSET => {
            let (c, im) = containers_images(o.pointer("/spec/template/spec"));
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    i(o, "/status/readyReplicas"),
                    o.pointer("/spec/replicas")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                )),
                age_v,
                json!(c),
                json!(im),
            ]
        }
        kinds::DAEMONSET => {
            let (c, im) = containers_images(o.pointer("/spec/template/spec"));
            let sel = o
                .pointer("/spec/template/spec/nodeSelector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            vec![
                name,
                json!(i(o, "/status/desiredNumberScheduled")),
                json!(i(o, "/status/currentNumberScheduled")),
                json!(i(o, "/status/numberReady")),
                json!(i(o, "/status/updatedNumberScheduled")),
                json!(i(o, "/status/numberAvailable")),
                json!(or_none(&sel)),
                age_v,
                json!(c),
                json!(im),
                json!(selector_text(o.pointer("/spec/selector"))),
            ]
        }
        kinds::PDB => vec![
            name,
            json!(int_or_string(o.pointer("/spec/minAvailable"))),
            json!(int_or_string(o.pointer("/spec/maxUnavailable"))),
            json!(i(o, "/status/disruptionsAllowed")),
            age_v,
        ],
        kinds::NETWORKPOLICY => {
            let sel = selector_text(o.pointer("/spec/podSelector"));
            let sel = if sel == "<none>" {
                "<none>".into()
            } else {
                sel
            };
            vec![name, json!(sel), age_v]
        }
        kinds::ROLE | kinds::CLUSTERROLE | kinds::LIMITRANGE => {
            vec![name, json!(s(o, "/metadata/creationTimestamp"))]
        }
        kinds::ROLEBINDING | kinds::CLUSTERROLEBINDING => {
            let subjects = o
                .get("subjects")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let of = |k: &str| -> String {
                subjects
                    .iter()
                    .filter(|x| s(x, "/kind") == k)
                    .map(|x| {
                        if k == "ServiceAccount" {
                            format!("{}/{}", s(x, "/namespace"), s(x, "/name"))
                        } else {
                            s(x, "/name").to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    s(o, "/roleRef/kind"),
                    s(o, "/roleRef/name")
                )),
                age_v,
                json!(of("User")),
                json!(of("Group")),
                json!(of("ServiceAccount")),
            ]
        }
        kinds::RESOURCEQUOTA => {
            let (req, lim) = quota_usage(o);
            vec![name, age_v, json!(req), json!(lim)]
        }
        kinds::INGRESSCLASS => {
            let params = if s(o, "/spec/parameters/name").is_empty() {
                "<none>".to_string()
            } else {
                let group = s(o, "/spec/parameters/apiGroup");
                format!(
                    "{}.{}/{}",
                    s(o, "/spec/parameters/kind"),
                    group,
                    s(o, "/spec/parameters/name")
                )
            };
            vec![name, json!(s(o, "/spec/controller")), json!(params), age_v]
        }
        kinds::PRIORITYCLASS => vec![
            name,
            json!(i(o, "/value")),
            json!(o.get("globalDefault").and_then(Value::as_bool) == Some(true)),
            age_v,
            json!(s(o, "/preemptionPolicy")),
        ],
        kinds::CONTROLLERREVISION => {
            // `statefulset.apps/web`, as kubectl names the controller.
            let controller = o
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .and_then(|refs| {
                    refs.iter()
                        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
                })
                .map(|r| {
                    let group = s(r, "/apiVersion").split_once('/').map_or("", |g| g.0);
                    let kind = s(r, "/kind").to_lowercase();
                    match group {
                        "" => format!("{kind}/{}", s(r, "/name")),
                        g => format!("{kind}.{g}/{}", s(r, "/name")),
                    }
                })
                .unwrap_or_else(|| "<none>".into());
            vec![name, json!(controller), json!(i(o, "/revision")), age_v]
        }
        _ => return None,
    })
}

/// The STATUS kubectl prints for a Job (1.30+): the terminal condition, else
/// Running or Suspended.
pub fn job_status(o: &Value) -> &'static str {
    let conds = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has = |t: &str| {
        conds
            .iter()
            .any(|c| s(c, "/type") == t && s(c, "/status") == "True")
    };
    if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else if has("Suspended") {
        "Suspended"
    } else {
        "Running"
    }
}

fn job_completions(o: &Value) -> String {
    let done = i(o, "/status/succeeded");
    match o.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(n) => format!("{done}/{n}"),
        None => {
            let p = o
                .pointer("/spec/parallelism")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if p > 1 {
                format!("{done}/1 of {p}")
            } else {
                format!("{done}/1")
            }
        }
    }
}

fn job_duration(o: &Value, cluster_now: i64) -> String {
    let Some(start) = seconds(s(o, "/status/startTime")) else {
        return String::new();
    };
    let end = seconds(s(o, "/status/completionTime")).unwrap_or(cluster_now);
    human_duration(end - start)
}

/// `requests.cpu: 100m/1, limits.memory: 0/2Gi` split into the request and
/// limit columns, names sorted.
fn quota_usage(o: &Value) -> (String, String) {
    let hard = o
        .pointer("/status/hard")
        .or_else(|| o.pointer("/spec/hard"));
    let Some(hard) = hard.and_then(Value::as_object) else {
        return (String::new(), String::new());
    };
    let used = o.pointer("/status/used").and_then(Value::as_object);
    let (mut req, mut lim) = (Vec::new(), Vec::new());
    for (k, v) in hard {
        let u = used
            .and_then(|u| u.get(k))
            .and_then(Value::as_str)
            .unwrap_or("0");
        let cell = format!("{k}: {u}/{}", v.as_str().unwrap_or_default());
        if k.starts_with("limits.") {
            lim.push(cell);
        } else {
            req.push(cell);
        }
    }
    (req.join(", "), lim.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_rows_read_like_kubectl() {
        let o = json!({
            "metadata": {"name": "migrate"},
            "spec": {"completions": 3, "parallelism": 1},
            "status": {"succeeded": 3, "startTime": "2026-12-03T10:00:00Z", "completionTime": "2026-12-03T10:00:42Z",
                       "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]},
        });
        let row = cells(kinds::JOB, &o, json!("migrate"), json!("5m"), 0).unwrap();
        assert_eq!(row[1..4], [json!("Complete"), json!("3/3"), json!("42s")]);
        let running = json!({"spec": {"parallelism": 2}, "status": {}});
        assert_eq!(job_status(&running), "Running");
        assert_eq!(job_completions(&running), "0/1 of 2");
        assert_eq!(columns(kinds::JOB).unwrap().len(), row.len());
    }

    #[test]
    fn schedule_and_duration_are_read_on_the_clusters_clock() {
        // At `--speed 20` the controllers' stamps run ahead of real time: read
        // against the cluster's clock they are 30 s ago, not "<invalid>".
        let cj = json!({"spec": {"schedule": "* * * * *"},
                        "status": {"lastScheduleTime": "2026-12-03T10:00:00Z"}});
        let at = seconds("2026-12-03T10:00:30Z").unwrap();
        let row = cells(kinds::CRONJOB, &cj, json!("report"), json!("1m"), at).unwrap();
        assert_eq!(row[5], json!("30s"));
        let job = json!({"status": {"startTime": "2026-12-03T10:00:00Z"}});
        let row = cells(kinds::JOB, &job, json!("report-1"), json!("1m"), at).unwrap();
        assert_eq!(row[3], json!("30s"));
    }

    #[test]
    fn every_new_kind_has_as_many_cells_as_columns() {
        let o = json!({"metadata": {"name": "x", "creationTimestamp": "2026-12-03T10:00:00Z"}});
        for kind in (kinds::PVC..=kinds::PRIORITYCLASS).chain([kinds::CONTROLLERREVISION]) {
            let cols = columns(kind).unwrap();
            let row = cells(kind, &o, json!("x"), json!("1m"), 0).unwrap();
            assert_eq!(cols.len(), row.len(), "{}", kinds::get(kind).kind);
        }
    }

    #[test]
    fn volumes_and_classes() {
        let pvc = json!({"spec": {"volumeName": "pvc-1", "storageClassName": "gp2", "volumeMode": "Filesystem"},
                         "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"]}});
        let row = cells(kinds::PVC, &pvc, json!("data"), json!("1m"), 0).unwrap();
        assert_eq!(
            row[1..6],
            [
                json!("Bound"),
                json!("pvc-1"),
                json!("10Gi"),
                json!("RWO"),
                json!("gp2")
            ]
        );
        let sc = json!({"metadata": {"name": "gp2", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                        "provisioner": "kubernetes.io/aws-ebs", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"});
        let row = cells(kinds::STORAGECLASS, &sc, json!("gp2"), json!("1m"), 0).unwrap();
        assert_eq!(row[0], json!("gp2 (default)"));
        assert_eq!(row[4], json!("false"));
    }
}
