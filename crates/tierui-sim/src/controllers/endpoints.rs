//! Endpoints and EndpointSlice controllers: each Service with a selector gets
//! an Endpoints object and one EndpointSlice listing its pods' IPs (ready and
//! not ready) and target ports, resolving named ports through the pods'
//! container ports. kubectl describe reads the slices; older clients the
//! Endpoints.

use serde_json::{Value, json};

use crate::kinds;
use crate::metrics::is_ready;
use crate::selector::LabelSelector;
use crate::state::State;

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

pub fn reconcile_all(st: &mut State) {
    let services: Vec<Value> = st
        .store
        .range(kinds::SERVICE, None, None)
        .map(|e| e.value())
        .collect();
    for svc in services {
        reconcile(st, &svc);
    }
    // Endpoints have no owner reference: they go when their Service has gone.
    let orphans: Vec<(String, String)> = st
        .store
        .range(kinds::ENDPOINTS, None, None)
        .filter(|e| {
            st.store
                .get(kinds::SERVICE, &e.namespace, &e.name)
                .is_none()
        })
        .map(|e| (e.namespace.clone(), e.name.clone()))
        .collect();
    for (ns, name) in orphans {
        st.store.remove(kinds::ENDPOINTS, &ns, &name);
    }
}

/// The container port a service port targets on one pod.
fn target_port(port: &Value, pod: &Value) -> Option<i64> {
    match port.get("targetPort") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(name)) => pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)?
            .iter()
            .filter_map(|c| c.get("ports").and_then(Value::as_array))
            .flatten()
            .find(|p| s(p, "/name") == name)
            .and_then(|p| p.get("containerPort").and_then(Value::as_i64)),
        _ => port.get("port").and_then(Value::as_i64),
    }
}

fn reconcile(st: &mut State, svc: &Value) {
    let ns = s(svc, "/metadata/namespace").to_string();
    let name = s(svc, "/metadata/name").to_string();
    let Some(sel) = svc
        .pointer("/spec/selector")
        .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
    else {
        return;
    };
    let selector = LabelSelector::from_json(&json!({ "matchLabels": sel })).unwrap_or_default();
    let pods: Vec<Value> = st
        .store
        .range(kinds::POD, Some(&ns), None)
        .filter(|e| selector.matches(&e.labels))
        .map(|e| e.value())
        .filter(|p| {
            !s(p, "/status/podIP").is_empty() && p.pointer("/metadata/deletionTimestamp").is_none()
        })
        .collect();
    let svc_ports = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let address = |p: &Value| {
        json!({
            "ip": s(p, "/status/podIP"),
            "nodeName": s(p, "/spec/nodeName"),
            "targetRef": {"kind": "Pod", "namespace": ns, "name": s(p, "/metadata/name"), "uid": s(p, "/metadata/uid")},
        })
    };
    let ready: Vec<Value> = pods.iter().filter(|p| is_ready(p)).map(address).collect();
    let not_ready: Vec<Value> = pods.iter().filter(|p| !is_ready(p)).map(address).collect();
    let ports: Vec<Value> = svc_ports
        .iter()
        .map(|sp| {
            let port = pods
                .first()
                .and_then(|p| target_port(sp, p))
                .or_else(|| sp.get("port").and_then(Value::as_i64));
            let mut out = json!({"port": port, "protocol": s(sp, "/protocol")});
            if !s(sp, "/name").is_empty() {
                out["name"] = json!(s(sp, "/name"));
            }
            out
        })
        .collect();
    reconcile_slice(st, svc, &pods, &ports);
    let mut subset = serde_json::Map::new();
    if !ready.is_empty() {
        subset.insert("addresses".into(), json!(ready));
    }
    if !not_ready.is_empty() {
        subset.insert("notReadyAddresses".into(), json!(not_ready));
    }
    let subsets = if subset.is_empty() {
        json!([])
    } else {
        subset.insert("ports".into(), json!(ports));
        json!([subset])
    };
    let existing = st.get_value(kinds::ENDPOINTS, &ns, &name);
    if existing
        .as_ref()
        .and_then(|e| e.get("subsets"))
        .unwrap_or(&json!([]))
        == &subsets
        && existing.is_some()
    {
        return;
    }
    let mut ep = existing.unwrap_or_else(|| {
        json!({
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": svc.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
            },
        })
    });
    if subsets.as_array().is_some_and(Vec::is_empty) {
        if let Some(m) = ep.as_object_mut() {
            m.remove("subsets");
        }
    } else {
        ep["subsets"] = subsets;
    }
    st.put(kinds::ENDPOINTS, ep);
}

fn reconcile_slice(st: &mut State, svc: &Value, pods: &[Value], ports: &[Value]) {
    let ns = s(svc, "/metadata/namespace").to_string();
    let svc_name = s(svc, "/metadata/name").to_string();
    let hash = crate::clock::fnv(format!("{ns}/{svc_name}").as_bytes());
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let suffix: String = (0..5)
        .map(|i| char::from(ALPHABET[((hash >> (i * 8)) % ALPHABET.len() as u64) as usize]))
        .collect();
    let name = format!("{svc_name}-{suffix}");
    let endpoints: Vec<Value> = pods
        .iter()
        .map(|p| {
            let ready = is_ready(p);
            json!({
                "addresses": [s(p, "/status/podIP")],
                "conditions": {"ready": ready, "serving": ready, "terminating": false},
                "nodeName": s(p, "/spec/nodeName"),
                "targetRef": {"kind": "Pod", "namespace": ns, "name": s(p, "/metadata/name"), "uid": s(p, "/metadata/uid")},
            })
        })
        .collect();
    let existing = st.get_value(kinds::ENDPOINTSLICE, &ns, &name);
    if let Some(e) = &existing
        && e.get("endpoints").unwrap_or(&json!([])) == &json!(endpoints)
        && e.get("ports").unwrap_or(&json!([])) == &json!(ports)
    {
        return;
    }
    let mut slice = existing.unwrap_or_else(|| {
        json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": name,
                "namespace": ns,
                "generateName": format!("{svc_name}-"),
                "labels": {
                    "kubernetes.io/service-name": svc_name,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
                "ownerReferences": [{
                    "apiVersion": "v1",
                    "kind": "Service",
                    "name": svc_name,
                    "uid": s(svc, "/metadata/uid"),
                    "controller": true,
                    "blockOwnerDeletion": true,
                }],
            },
            "addressType": "IPv4",
        })
    });
    slice["endpoints"] = json!(endpoints);
    slice["ports"] = json!(ports);
    st.put(kinds::ENDPOINTSLICE, slice);
}
