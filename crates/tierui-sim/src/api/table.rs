//! Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`):
//! without it kubectl prints only NAME and AGE for every kind.

use serde_json::{Value, json};

use crate::kinds::{self, KindId};

/// kubectl's `duration.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    if secs < 0 {
        return "<invalid>".into();
    }
    let (m, h) = (secs / 60, secs / 3600);
    if secs < 120 {
        format!("{secs}s")
    } else if m < 10 {
        if secs % 60 == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{}s", secs % 60)
        }
    } else if m < 180 {
        format!("{m}m")
    } else if h < 8 {
        if m % 60 == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{}m", m % 60)
        }
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        if h % 24 == 0 {
            format!("{}d", h / 24)
        } else {
            format!("{}d{}h", h / 24, h % 24)
        }
    } else if h < 24 * 365 * 2 {
        format!("{}d", h / 24)
    } else {
        format!("{}y", h / 24 / 365)
    }
}

pub fn age(ts: Option<&Value>) -> String {
    let Some(t) = ts
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
    else {
        return "<unknown>".into();
    };
    let secs = jiff::Timestamp::now().as_second() - t.as_second();
    human_duration(secs)
}

pub(super) fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

pub(super) fn i(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

type Col = (&'static str, &'static str, u8);

pub fn columns(kind: KindId) -> Vec<Col> {
    let mut cols: Vec<Col> = match kind {
        kinds::POD => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        kinds::DEPLOYMENT => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        kinds::REPLICASET => vec![
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        kinds::HPA => vec![
            ("Name", "string", 0),
            ("Reference", "string", 0),
            ("Targets", "string", 0),
            ("MinPods", "string", 0),
            ("MaxPods", "integer", 0),
            ("Replicas", "integer", 0),
            ("Age", "string", 0),
        ],
        kinds::SERVICE => vec![
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
            ("Selector", "string", 1),
        ],
        kinds::NODE => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        kinds::NAMESPACE => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Age", "string", 0),
        ],
        kinds::CONFIGMAP => vec![
            ("Name", "string", 0),
            ("Data", "integer", 0),
            ("Age", "string", 0),
        ],
        kinds::SECRET => vec![
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Data", "integer", 0),
            ("Age", "string", 0),
        ],
        kinds::INGRESS => vec![
            ("Name", "string", 0),
            ("Class", "string", 0),
            ("Hosts", "string", 0),
            ("Address", "string", 0),
            ("Ports", "string", 0),
            ("Age", "string", 0),
        ],
        kinds::EVENT => vec![
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Message", "string", 0),
        ],
        kinds::ENDPOINTS => vec![
            ("Name", "string", 0),
            ("Endpoints", "string", 0),
            ("Age", "string", 0),
        ],
        kinds::ENDPOINTSLICE => vec![
            ("Name", "string", 0),
            ("AddressType", "string", 0),
            ("Ports", "string", 0),
            ("Endpoints", "string", 0),
            ("Age", "string", 0),
        ],
        kinds::CRD => vec![("Name", "string", 0), ("Created At", "date", 0)],
        k if kinds::is_custom(k) => crate::crd::table_columns(k),
        k => super::table_app::columns(k)
            .unwrap_or_else(|| vec![("Name", "string", 0), ("Age", "string", 0)]),
    };
    if kind == kinds::EVENT {
        cols.push(("Name", "string", 1));
    }
    cols
}

fn column_defs(kind: KindId) -> Value {
    Value::Array(
        columns(kind)
            .into_iter()
            .map(|(name, ty, priority)| {
                let format = if name == "Name" { "name" } else { "" };
                json!({"name": name, "type": ty, "format": format, "description": name, "priority": priority})
            })
            .collect(),
    )
}

fn pod_status(p: &Value) -> String {
    if p.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating".into();
    }
    let statuses = p
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    if let Some(cs) = statuses {
        for c in cs {
            if let Some(r) = c.pointer("/state/waiting/reason").and_then(Value::as_str) {
                return r.into();
            }
            if let Some(r) = c
                .pointer("/state/terminated/reason")
                .and_then(Value::as_str)
            {
                return r.into();
            }
        }
    }
    let phase = s(p, "/status/phase");
    if phase == "Pending" && s(p, "/spec/nodeName").is_empty() {
        return "Pending".into();
    }
    if phase.is_empty() {
        "Pending".into()
    } else {
        phase.into()
    }
}

pub(super) fn containers_images(tpl_spec: Option<&Value>) -> (String, String) {
    let cs = tpl_spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    let names: Vec<&str> = cs
        .map(|c| c.iter().map(|x| s(x, "/name")).collect())
        .unwrap_or_default();
    let images: Vec<&str> = cs
        .map(|c| c.iter().map(|x| s(x, "/image")).collect())
        .unwrap_or_default();
    (names.join(","), images.join(","))
}

pub(super) fn selector_text(v: Option<&Value>) -> String {
    v.and_then(|s| crate::selector::LabelSelector::from_json(s).ok())
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "<none>".into())
}

fn hpa_targets(h: &Value) -> String {
    let specs = h
        .pointer("/spec/metrics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let current = h
        .pointer("/status/currentMetrics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut parts = Vec::new();
    for (idx, m) in specs.iter().enumerate() {
        let name = s(m, "/resource/name");
        let cur = current
            .iter()
            .find(|c| s(c, "/resource/name") == name)
            .or_else(|| current.get(idx));
        if let Some(u) = m
            .pointer("/resource/target/averageUtilization")
            .and_then(Value::as_i64)
        {
            let c = cur
                .and_then(|c| c.pointer("/resource/current/averageUtilization"))
                .and_then(Value::as_i64);
            parts.push(format!(
                "{name}: {}/{u}%",
                c.map_or("<unknown>".to_string(), |c| format!("{c}%"))
            ));
        } else if let Some(v) = m
            .pointer("/resource/target/averageValue")
            .and_then(Value::as_str)
        {
            let c = cur
                .and_then(|c| c.pointer("/resource/current/averageValue"))
                .and_then(Value::as_str);
            parts.push(format!("{name}: {}/{v}", c.unwrap_or("<unknown>")));
        }
    }
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(", ")
    }
}

/// One object's cells; `cluster_now` is the cluster's own wall clock (unix
/// seconds), which the Job and CronJob controllers stamp their times with.
pub fn cells(kind: KindId, o: &Value, cluster_now: i64) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let age = json!(age(o.pointer("/metadata/creationTimestamp")));
    match kind {
        kinds::POD => pod_cells(o, name, age),
        kinds::DEPLOYMENT => deployment_cells(o, name, age),
        kinds::REPLICASET => replicaset_cells(o, name, age),
        kinds::HPA => hpa_cells(o, name, age),
        kinds::SERVICE => service_cells(o, name, age),
        kinds::NODE => node_cells(o, name, age),
        kinds::NAMESPACE => vec![name, json!(s(o, "/status/phase")), age],
        kinds::CONFIGMAP => configmap_cells(o, name, age),
        kinds::SECRET => secret_cells(o, name, age),
        kinds::INGRESS => ingress_cells(o, name, age),
        kinds::EVENT => event_cells(o, name),
        kinds::ENDPOINTS => endpoints_cells(o, name, age),
        kinds::ENDPOINTSLICE => endpointslice_cells(o, name, age),
        kinds::CRD => vec![name, json!(s(o, "/metadata/creationTimestamp"))],
        k if kinds::is_custom(k) => crate::crd::cells(k, o),
        k => match super::table_app::cells(k, o, name.clone(), age.clone(), cluster_now) {
            Some(row) => row,
            None => vec![name, age],
        },
    }
}

/// Pod row: READY, STATUS, RESTARTS, AGE, then the wide IP/NODE columns.
fn pod_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let cs = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    let total = o
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = cs.map_or(0, |c| {
        c.iter()
            .filter(|x| x.get("ready") == Some(&json!(true)))
            .count()
    });
    let restarts: i64 = cs.map_or(0, |c| c.iter().map(|x| i(x, "/restartCount")).sum());
    let ip = s(o, "/status/podIP");
    let node = s(o, "/spec/nodeName");
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(pod_status(o)),
        json!(restarts.to_string()),
        age,
        json!(if ip.is_empty() { "<none>" } else { ip }),
        json!(if node.is_empty() { "<none>" } else { node }),
        json!("<none>"),
        json!("<none>"),
    ]
}

/// Deployment row: READY, UP-TO-DATE, AVAILABLE, AGE, then containers/images/selector.
fn deployment_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let (c, im) = containers_images(o.pointer("/spec/template/spec"));
    vec![
        name,
        json!(format!(
            "{}/{}",
            i(o, "/status/readyReplicas"),
            i(o, "/spec/replicas")
        )),
        json!(i(o, "/status/updatedReplicas")),
        json!(i(o, "/status/availableReplicas")),
        age,
        json!(c),
        json!(im),
        json!(selector_text(o.pointer("/spec/selector"))),
    ]
}

/// ReplicaSet row: DESIRED, CURRENT, READY, AGE, then containers/images/selector.
fn replicaset_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let (c, im) = containers_images(o.pointer("/spec/template/spec"));
    vec![
        name,
        json!(i(o, "/spec/replicas")),
        json!(i(o, "/status/replicas")),
        json!(i(o, "/status/readyReplicas")),
        age,
        json!(c),
        json!(im),
        json!(selector_text(o.pointer("/spec/selector"))),
    ]
}

/// HorizontalPodAutoscaler row: REFERENCE, TARGETS, MINPODS, MAXPODS, REPLICAS, AGE.
fn hpa_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    vec![
        name,
        json!(format!(
            "{}/{}",
            s(o, "/spec/scaleTargetRef/kind"),
            s(o, "/spec/scaleTargetRef/name")
        )),
        json!(hpa_targets(o)),
        json!(
            o.pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .map_or("<unset>".into(), |m| m.to_string())
        ),
        json!(i(o, "/spec/maxReplicas")),
        json!(i(o, "/status/currentReplicas")),
        age,
    ]
}

/// Service row: TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), AGE, SELECTOR.
fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| format!("{}/{}", i(p, "/port"), s(p, "/protocol")))
                .collect()
        })
        .unwrap_or_default();
    let sel = o
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_else(|| "<none>".into());
    vec![
        name,
        json!(s(o, "/spec/type")),
        json!(s(o, "/spec/clusterIP")),
        json!("<none>"),
        json!(if ports.is_empty() {
            "<none>".into()
        } else {
            ports.join(",")
        }),
        age,
        json!(sel),
    ]
}

/// Node row: STATUS (with SchedulingDisabled), ROLES, AGE, VERSION, then addresses and node info.
fn node_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let ready = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|x| s(x, "/type") == "Ready"))
        .map(|c| s(c, "/status") == "True")
        .unwrap_or(false);
    let mut status = if ready {
        "Ready".to_string()
    } else {
        "NotReady".to_string()
    };
    if o.pointer("/spec/unschedulable") == Some(&json!(true)) {
        status.push_str(",SchedulingDisabled");
    }
    let addr = |t: &str| {
        o.pointer("/status/addresses")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|x| s(x, "/type") == t))
            .map(|x| s(x, "/address").to_string())
            .unwrap_or_else(|| "<none>".into())
    };
    vec![
        name,
        json!(status),
        json!("<none>"),
        age,
        json!(s(o, "/status/nodeInfo/kubeletVersion")),
        json!(addr("InternalIP")),
        json!(addr("ExternalIP")),
        json!(s(o, "/status/nodeInfo/osImage")),
        json!(s(o, "/status/nodeInfo/kernelVersion")),
        json!(s(o, "/status/nodeInfo/containerRuntimeVersion")),
    ]
}

/// ConfigMap row: DATA counts both `data` and `binaryData` keys.
fn configmap_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let n = o
        .get("data")
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
        + o.get("binaryData")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len());
    vec![name, json!(n), age]
}

/// Secret row: TYPE, DATA, AGE.
fn secret_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    vec![
        name,
        json!(s(o, "/type")),
        json!(
            o.get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
        ),
        age,
    ]
}

/// Ingress row: CLASS, HOSTS, ADDRESS, PORTS, AGE.
fn ingress_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let hosts: Vec<&str> = o
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .map(|x| s(x, "/host"))
                .filter(|h| !h.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let class = s(o, "/spec/ingressClassName");
    vec![
        name,
        json!(if class.is_empty() { "<none>" } else { class }),
        json!(if hosts.is_empty() {
            "*".into()
        } else {
            hosts.join(",")
        }),
        json!(""),
        json!("80"),
        age,
    ]
}

/// Event row: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE, then the wide NAME.
fn event_cells(o: &Value, name: Value) -> Vec<Value> {
    let last = o
        .get("lastTimestamp")
        .filter(|v| !v.is_null())
        .or_else(|| o.pointer("/metadata/creationTimestamp"));
    let obj = format!(
        "{}/{}",
        s(o, "/involvedObject/kind").to_lowercase(),
        s(o, "/involvedObject/name")
    );
    vec![
        json!(self::age(last)),
        json!(s(o, "/type")),
        json!(s(o, "/reason")),
        json!(obj),
        json!(s(o, "/message")),
        name,
    ]
}

/// Endpoints row: every `ip:port` of the ready addresses, the first three shown.
fn endpoints_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let mut eps = Vec::new();
    for sub in o
        .get("subsets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let ports: Vec<i64> = sub
            .get("ports")
            .and_then(Value::as_array)
            .map(|p| p.iter().map(|x| i(x, "/port")).collect())
            .unwrap_or_default();
        for a in sub
            .get("addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for p in &ports {
                eps.push(format!("{}:{p}", s(a, "/ip")));
            }
        }
    }
    let shown = if eps.is_empty() {
        "<none>".to_string()
    } else if eps.len() > 3 {
        format!("{} + {} more...", eps[..3].join(","), eps.len() - 3)
    } else {
        eps.join(",")
    };
    vec![name, json!(shown), age]
}

/// EndpointSlice row: ADDRESSTYPE, PORTS, ENDPOINTS (first three), AGE.
fn endpointslice_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let ports: Vec<String> = o
        .get("ports")
        .and_then(Value::as_array)
        .map(|p| p.iter().map(|x| i(x, "/port").to_string()).collect())
        .unwrap_or_default();
    let addrs: Vec<String> = o
        .get("endpoints")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter_map(|x| {
                    x.pointer("/addresses/0")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let shown = if addrs.is_empty() {
        "<unset>".to_string()
    } else if addrs.len() > 3 {
        format!("{} + {} more...", addrs[..3].join(","), addrs.len() - 3)
    } else {
        addrs.join(",")
    };
    vec![
        name,
        json!(s(o, "/addressType")),
        json!(if ports.is_empty() {
            "<unset>".into()
        } else {
            ports.join(",")
        }),
        json!(shown),
        age,
    ]
}

fn partial(o: &Value, full: bool) -> Value {
    if full {
        return o.clone();
    }
    let mut meta = o.get("metadata").cloned().unwrap_or_else(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        m.remove("managedFields");
    }
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta})
}

pub fn table(
    kind: KindId,
    objects: &[Value],
    rv: &str,
    cont: Option<&str>,
    full: bool,
    cluster_now: i64,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| json!({"cells": cells(kind, o, cluster_now), "object": partial(o, full)}))
        .collect();
    let mut meta = json!({"resourceVersion": rv});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": column_defs(kind),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(125), "2m5s");
        assert_eq!(human_duration(900), "15m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400), "3d");
    }

    #[test]
    fn pod_row() {
        let p = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}], "nodeName": "n"},
            "status": {"phase": "Pending", "containerStatuses": [{"ready": false, "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let c = cells(kinds::POD, &p, 0);
        assert_eq!(c[1], "0/1");
        assert_eq!(c[2], "CrashLoopBackOff");
        assert_eq!(c[3], "2");
        assert_eq!(c.len(), columns(kinds::POD).len());
    }
}
