//! `y` and `d` of the live view: an object's YAML (Secret values masked) and a
//! describe-like summary with its events.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use serde_json::Value as Json;

use super::apply;

pub fn api_version(kind: &str) -> &'static str {
    match kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => "apps/v1",
        "HorizontalPodAutoscaler" => "autoscaling/v2",
        "Ingress" => "networking.k8s.io/v1",
        _ => "v1",
    }
}

/// What `y` and `d` show: a kind (with its apiVersion when it is not one of
/// the live view's own kinds) and the object's namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub api_version: Option<String>,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

async fn fetch(client: &kube::Client, t: &Target) -> Result<Json, String> {
    let Target {
        kind,
        namespace,
        name,
        ..
    } = t;
    let av = t
        .api_version
        .clone()
        .unwrap_or_else(|| api_version(kind).to_string());
    let stub = serde_json::json!({"apiVersion": av, "kind": kind, "metadata": {"name": name, "namespace": namespace}});
    apply::get(client, &stub, namespace)
        .await?
        .ok_or_else(|| format!("{kind} {namespace}/{name} no longer exists"))
}

/// The object as YAML, without managedFields, Secret values masked.
pub async fn yaml(client: &kube::Client, t: &Target) -> Result<String, String> {
    let mut obj = fetch(client, t).await?;
    if let Some(m) = obj.get_mut("metadata").and_then(Json::as_object_mut) {
        m.remove("managedFields");
    }
    tierui_core::render::normalize::mask_secret(&mut obj);
    Ok(tierui_core::render::diff::to_yaml(&obj))
}

fn s(v: Option<&Json>) -> String {
    match v {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => "—".into(),
        Some(other) => other.to_string(),
    }
}

/// A summary in the spirit of `kubectl describe`, with the object's events.
pub async fn describe(client: &kube::Client, t: &Target) -> Result<String, String> {
    let obj = fetch(client, t).await?;
    let (kind, namespace, name) = (t.kind.as_str(), t.namespace.as_str(), t.name.as_str());
    let mut out = Vec::new();
    describe_metadata(&obj, name, namespace, &mut out);
    match kind {
        "Pod" => describe_pod(&obj, &mut out),
        "Deployment" => describe_deployment(&obj, &mut out),
        "HorizontalPodAutoscaler" => describe_hpa(&obj, &mut out),
        _ => {
            // Kinds without a summary of their own are shown whole.
            out.push(String::new());
            out.extend(
                tierui_core::render::diff::to_yaml(&obj)
                    .lines()
                    .map(str::to_string),
            );
        }
    }
    describe_events(client, kind, namespace, name, &mut out).await;
    Ok(out.join("\n"))
}

/// Name, namespace, creation time and labels, as every kind starts.
fn describe_metadata(obj: &Json, name: &str, namespace: &str, out: &mut Vec<String>) {
    out.push(format!("Name:         {name}"));
    out.push(format!("Namespace:    {namespace}"));
    out.push(format!(
        "Created:      {}",
        s(obj.pointer("/metadata/creationTimestamp"))
    ));
    if let Some(labels) = obj.pointer("/metadata/labels").and_then(Json::as_object) {
        out.push(format!(
            "Labels:       {}",
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// A Pod: its node, phase, IP, owner, each container and the conditions.
fn describe_pod(obj: &Json, out: &mut Vec<String>) {
    let p = |path: &str| s(obj.pointer(path));
    out.push(format!("Node:         {}", p("/spec/nodeName")));
    out.push(format!("Status:       {}", p("/status/phase")));
    out.push(format!("IP:           {}", p("/status/podIP")));
    out.push(format!(
        "Controlled By: {}",
        obj.pointer("/metadata/ownerReferences/0")
            .map(|o| format!("{}/{}", s(o.get("kind")), s(o.get("name"))))
            .unwrap_or_else(|| "—".into())
    ));
    out.push("Containers:".into());
    let statuses = obj
        .pointer("/status/containerStatuses")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for c in obj
        .pointer("/spec/containers")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let st = statuses.iter().find(|x| x.get("name") == c.get("name"));
        describe_container(c, st, out);
    }
    conditions(obj, out);
}

/// One container of a Pod: image, state, readiness and restarts (from its
/// status, when the kubelet has reported one), requests and limits.
fn describe_container(c: &Json, st: Option<&Json>, out: &mut Vec<String>) {
    out.push(format!("  {}:", s(c.get("name"))));
    out.push(format!("    Image:     {}", s(c.get("image"))));
    if let Some(st) = st {
        let state = st
            .get("state")
            .and_then(Json::as_object)
            .and_then(|m| m.iter().next())
            .map(|(k, v)| {
                format!(
                    "{k} {}",
                    v.get("reason").map(|r| s(Some(r))).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        out.push(format!("    State:     {}", state.trim()));
        out.push(format!("    Ready:     {}", s(st.get("ready"))));
        out.push(format!("    Restarts:  {}", s(st.get("restartCount"))));
    }
    out.push(format!(
        "    Requests:  {}",
        s(c.pointer("/resources/requests"))
    ));
    out.push(format!(
        "    Limits:    {}",
        s(c.pointer("/resources/limits"))
    ));
}

/// A Deployment: replica counts, rollout strategy, selector, the template's
/// containers and the conditions.
fn describe_deployment(obj: &Json, out: &mut Vec<String>) {
    let p = |path: &str| s(obj.pointer(path));
    out.push(format!(
        "Replicas:     {} desired | {} updated | {} total | {} available | {} unavailable",
        p("/spec/replicas"),
        p("/status/updatedReplicas"),
        p("/status/replicas"),
        p("/status/availableReplicas"),
        p("/status/unavailableReplicas")
    ));
    out.push(format!(
        "Strategy:     {} (maxSurge {}, maxUnavailable {})",
        p("/spec/strategy/type"),
        p("/spec/strategy/rollingUpdate/maxSurge"),
        p("/spec/strategy/rollingUpdate/maxUnavailable")
    ));
    out.push(format!("Selector:     {}", p("/spec/selector/matchLabels")));
    for c in obj
        .pointer("/spec/template/spec/containers")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        out.push(format!(
            "Container:    {} {}",
            s(c.get("name")),
            s(c.get("image"))
        ));
    }
    conditions(obj, out);
}

/// A HorizontalPodAutoscaler: its scale target, replica bounds, last scale,
/// each metric as current / target (read as the HPA rows read them) and the
/// conditions.
fn describe_hpa(obj: &Json, out: &mut Vec<String>) {
    let p = |path: &str| s(obj.pointer(path));
    out.push(format!(
        "Reference:    {}/{}",
        p("/spec/scaleTargetRef/kind"),
        p("/spec/scaleTargetRef/name")
    ));
    out.push(format!(
        "Replicas:     min {} · max {} · current {} · desired {}",
        p("/spec/minReplicas"),
        p("/spec/maxReplicas"),
        p("/status/currentReplicas"),
        p("/status/desiredReplicas")
    ));
    out.push(format!("Last scale:   {}", p("/status/lastScaleTime")));
    let h: Result<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler, _> =
        serde_json::from_value(obj.clone());
    if let Ok(h) = h {
        out.push("Metrics:      (current / target)".into());
        for m in super::rows::hpa_row(&h).metrics {
            out.push(format!(
                "  {} {}: {} / {}",
                m.kind, m.name, m.current, m.target
            ));
        }
    }
    conditions(obj, out);
}

/// The object's events, oldest first; a failure to list them is shown, not
/// returned, so the rest of the summary still appears.
async fn describe_events(
    client: &kube::Client,
    kind: &str,
    namespace: &str,
    name: &str,
    out: &mut Vec<String>,
) {
    out.push("Events:".into());
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let lp = ListParams::default().fields(&format!(
        "involvedObject.name={name},involvedObject.kind={kind}"
    ));
    match events.list(&lp).await {
        Ok(list) if list.items.is_empty() => out.push("  <none>".into()),
        Ok(mut list) => {
            list.items
                .sort_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0));
            for e in list.items {
                let r = super::rows::event_row(&e);
                out.push(format!(
                    "  {:<8} {:<22} x{:<3} {}",
                    if r.warning { "Warning" } else { "Normal" },
                    r.reason,
                    r.count,
                    r.message
                ));
            }
        }
        Err(e) => out.push(format!("  (events could not be read: {e})")),
    }
}

fn conditions(obj: &Json, out: &mut Vec<String>) {
    if let Some(cs) = obj.pointer("/status/conditions").and_then(Json::as_array) {
        out.push("Conditions:".into());
        for c in cs {
            out.push(format!(
                "  {:<16} {:<6} {}",
                s(c.get("type")),
                s(c.get("status")),
                c.get("reason").map(|r| s(Some(r))).unwrap_or_default()
            ));
        }
    }
}
