//! What the API server rejects: objects that do not decode as their kind (400)
//! and objects that decode but break the kind's rules (422 with field causes).

use k8s_openapi::api::{
    apps, autoscaling, batch, core, discovery, networking, policy, rbac, scheduling, storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use super::kinds::{self, KindId};
use super::selector::LabelSelector;
use super::status::{ApiError, ApiResult, Cause};

/// DNS-1123 subdomain: lowercase alphanumerics, '-' and '.', at most 253.
pub fn is_subdomain(name: &str) -> bool {
    !name.is_empty() && name.len() <= 253 && name.split('.').all(is_label)
}

/// DNS-1123 label: lowercase alphanumerics and '-', at most 63, alphanumeric ends.
pub fn is_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Decodes into the kind's typed struct to catch wrong field types, reporting the
/// way the API server does.
pub fn decode(kind: KindId, obj: &Value) -> ApiResult<()> {
    fn check<T: serde::de::DeserializeOwned>(obj: &Value) -> Result<(), String> {
        T::deserialize(obj).map(|_| ()).map_err(|e| e.to_string())
    }
    let r = match kind {
        kinds::NAMESPACE => check::<core::v1::Namespace>(obj),
        kinds::NODE => check::<core::v1::Node>(obj),
        kinds::POD => check::<core::v1::Pod>(obj),
        kinds::SERVICE => check::<core::v1::Service>(obj),
        kinds::CONFIGMAP => check::<core::v1::ConfigMap>(obj),
        kinds::SECRET => check::<core::v1::Secret>(obj),
        kinds::EVENT => check::<core::v1::Event>(obj),
        kinds::ENDPOINTS => check::<core::v1::Endpoints>(obj),
        kinds::SERVICEACCOUNT => check::<core::v1::ServiceAccount>(obj),
        kinds::DEPLOYMENT => check::<apps::v1::Deployment>(obj),
        kinds::REPLICASET => check::<apps::v1::ReplicaSet>(obj),
        kinds::HPA => check::<autoscaling::v2::HorizontalPodAutoscaler>(obj),
        kinds::INGRESS => check::<networking::v1::Ingress>(obj),
        kinds::ENDPOINTSLICE => check::<discovery::v1::EndpointSlice>(obj),
        kinds::PVC => check::<core::v1::PersistentVolumeClaim>(obj),
        kinds::PV => check::<core::v1::PersistentVolume>(obj),
        kinds::STORAGECLASS => check::<storage::v1::StorageClass>(obj),
        kinds::JOB => check::<batch::v1::Job>(obj),
        kinds::CRONJOB => check::<batch::v1::CronJob>(obj),
        kinds::STATEFULSET => check::<apps::v1::StatefulSet>(obj),
        kinds::DAEMONSET => check::<apps::v1::DaemonSet>(obj),
        kinds::PDB => check::<policy::v1::PodDisruptionBudget>(obj),
        kinds::NETWORKPOLICY => check::<networking::v1::NetworkPolicy>(obj),
        kinds::ROLE => check::<rbac::v1::Role>(obj),
        kinds::ROLEBINDING => check::<rbac::v1::RoleBinding>(obj),
        kinds::CLUSTERROLE => check::<rbac::v1::ClusterRole>(obj),
        kinds::CLUSTERROLEBINDING => check::<rbac::v1::ClusterRoleBinding>(obj),
        kinds::RESOURCEQUOTA => check::<core::v1::ResourceQuota>(obj),
        kinds::LIMITRANGE => check::<core::v1::LimitRange>(obj),
        kinds::INGRESSCLASS => check::<networking::v1::IngressClass>(obj),
        kinds::PRIORITYCLASS => check::<scheduling::v1::PriorityClass>(obj),
        kinds::CRD => check::<CustomResourceDefinition>(obj),
        kinds::CONTROLLERREVISION => check::<apps::v1::ControllerRevision>(obj),
        _ => Ok(()),
    };
    r.map_err(|e| {
        let k = kinds::get(kind);
        ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {e}",
            k.kind, k.version, k.kind
        ))
    })
}

/// Fields the kind does not have, as dotted paths (`spec.replica`): what
/// `fieldValidation=Strict` rejects. Found by a round trip through the typed
/// struct, which drops what it does not know.
pub fn unknown_fields(kind: KindId, obj: &Value) -> Vec<String> {
    fn round<T: serde::de::DeserializeOwned + serde::Serialize>(obj: &Value) -> Option<Value> {
        T::deserialize(obj)
            .ok()
            .and_then(|t| serde_json::to_value(t).ok())
    }
    let typed = match kind {
        kinds::NAMESPACE => round::<core::v1::Namespace>(obj),
        kinds::NODE => round::<core::v1::Node>(obj),
        kinds::POD => round::<core::v1::Pod>(obj),
        kinds::SERVICE => round::<core::v1::Service>(obj),
        kinds::CONFIGMAP => round::<core::v1::ConfigMap>(obj),
        kinds::SECRET => round::<core::v1::Secret>(obj),
        kinds::EVENT => round::<core::v1::Event>(obj),
        kinds::ENDPOINTS => round::<core::v1::Endpoints>(obj),
        kinds::SERVICEACCOUNT => round::<core::v1::ServiceAccount>(obj),
        kinds::DEPLOYMENT => round::<apps::v1::Deployment>(obj),
        kinds::REPLICASET => round::<apps::v1::ReplicaSet>(obj),
        kinds::HPA => round::<autoscaling::v2::HorizontalPodAutoscaler>(obj),
        kinds::INGRESS => round::<networking::v1::Ingress>(obj),
        kinds::ENDPOINTSLICE => round::<discovery::v1::EndpointSlice>(obj),
        kinds::PVC => round::<core::v1::PersistentVolumeClaim>(obj),
        kinds::PV => round::<core::v1::PersistentVolume>(obj),
        kinds::STORAGECLASS => round::<storage::v1::StorageClass>(obj),
        kinds::JOB => round::<batch::v1::Job>(obj),
        kinds::CRONJOB => round::<batch::v1::CronJob>(obj),
        kinds::STATEFULSET => round::<apps::v1::StatefulSet>(obj),
        kinds::DAEMONSET => round::<apps::v1::DaemonSet>(obj),
        kinds::PDB => round::<policy::v1::PodDisruptionBudget>(obj),
        kinds::NETWORKPOLICY => round::<networking::v1::NetworkPolicy>(obj),
        kinds::ROLE => round::<rbac::v1::Role>(obj),
        kinds::ROLEBINDING => round::<rbac::v1::RoleBinding>(obj),
        kinds::CLUSTERROLE => round::<rbac::v1::ClusterRole>(obj),
        kinds::CLUSTERROLEBINDING => round::<rbac::v1::ClusterRoleBinding>(obj),
        kinds::RESOURCEQUOTA => round::<core::v1::ResourceQuota>(obj),
        kinds::LIMITRANGE => round::<core::v1::LimitRange>(obj),
        kinds::INGRESSCLASS => round::<networking::v1::IngressClass>(obj),
        kinds::PRIORITYCLASS => round::<scheduling::v1::PriorityClass>(obj),
        kinds::CRD => round::<CustomResourceDefinition>(obj),
        kinds::CONTROLLERREVISION => round::<apps::v1::ControllerRevision>(obj),
        k if kinds::is_custom(k) => return crate::crd::unknown_fields(k, obj),
        _ => None,
    };
    let mut out = Vec::new();
    if let Some(typed) = typed {
        missing(obj, &typed, "", &mut out);
    }
    out
}

fn missing(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(am), Value::Object(bm)) => {
            for (k, av) in am {
                if av.is_null() || (path.is_empty() && k == "status") {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match bm.get(k) {
                    None => out.push(p),
                    Some(bv) => missing(av, bv, &p, out),
                }
            }
        }
        (Value::Array(aa), Value::Array(ba)) => {
            for (i, (x, y)) in aa.iter().zip(ba).enumerate() {
                missing(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// Kind rules; `name` is the object's name for the message.
pub fn validate(kind: KindId, obj: &Value) -> ApiResult<()> {
    let name = s(obj, "/metadata/name").unwrap_or_default();
    let mut causes = Vec::new();
    let name_ok = match kind {
        kinds::NAMESPACE | kinds::SERVICE => is_label(name),
        _ => is_subdomain(name),
    };
    if name.is_empty() {
        causes.push(Cause::required("metadata.name"));
    } else if !name_ok {
        let what = if matches!(kind, kinds::NAMESPACE | kinds::SERVICE) {
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        } else {
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        };
        causes.push(Cause::invalid(
            "metadata.name",
            &Value::String(name.into()),
            what,
        ));
    }
    if let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            let val = v.as_str().unwrap_or_default();
            let bad_key = k.is_empty()
                || k.len() > 316
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
            let bad_val = val.len() > 63
                || !val
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if bad_key {
                causes.push(Cause::invalid(
                    "metadata.labels".to_string(),
                    &Value::String(k.clone()),
                    "name part must consist of alphanumeric characters, '-', '_' or '.'",
                ));
            } else if bad_val {
                causes.push(Cause::invalid("metadata.labels".to_string(), v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
            }
        }
    }
    match kind {
        kinds::POD => pod_spec(obj.get("spec"), "spec", &mut causes),
        kinds::DEPLOYMENT | kinds::REPLICASET | kinds::STATEFULSET | kinds::DAEMONSET => {
            workload(kind, obj, &mut causes);
        }
        kinds::JOB => job(obj.get("spec"), "spec", &mut causes),
        kinds::CRONJOB => {
            match s(obj, "/spec/schedule") {
                None | Some("") => causes.push(Cause::required("spec.schedule")),
                Some(text) => {
                    if let Err(e) = crate::cron::Schedule::parse(text) {
                        causes.push(Cause::invalid(
                            "spec.schedule",
                            &Value::String(text.into()),
                            &e,
                        ));
                    }
                }
            }
            if let Some(p) = s(obj, "/spec/concurrencyPolicy") {
                let allowed = ["Allow", "Forbid", "Replace"];
                if !allowed.contains(&p) {
                    causes.push(Cause::unsupported("spec.concurrencyPolicy", p, &allowed));
                }
            }
            job(
                obj.pointer("/spec/jobTemplate/spec"),
                "spec.jobTemplate.spec",
                &mut causes,
            );
        }
        kinds::PVC => {
            let modes = obj.pointer("/spec/accessModes").and_then(Value::as_array);
            if modes.is_none_or(|m| m.is_empty()) {
                causes.push(Cause {
                    reason: "FieldValueRequired",
                    message: "Required value: at least 1 access mode is required".into(),
                    field: "spec.accessModes".into(),
                });
            }
            if obj.pointer("/spec/resources/requests/storage").is_none() {
                causes.push(Cause::required("spec.resources[storage]"));
            }
        }
        kinds::PDB
            if obj.pointer("/spec/minAvailable").is_some()
                && obj.pointer("/spec/maxUnavailable").is_some() =>
        {
            causes.push(Cause::invalid(
                "spec",
                obj.get("spec").unwrap_or(&Value::Null),
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        kinds::ROLEBINDING | kinds::CLUSTERROLEBINDING => {
            if s(obj, "/roleRef/name").unwrap_or_default().is_empty() {
                causes.push(Cause::required("roleRef.name"));
            }
            if let Some(k) = s(obj, "/roleRef/kind") {
                let allowed: &[&str] = if kind == kinds::ROLEBINDING {
                    &["Role", "ClusterRole"]
                } else {
                    &["ClusterRole"]
                };
                if !allowed.contains(&k) {
                    causes.push(Cause::unsupported("roleRef.kind", k, allowed));
                }
            }
        }
        kinds::PRIORITYCLASS if obj.get("value").and_then(Value::as_i64).is_none() => {
            causes.push(Cause::required("value"));
        }
        kinds::CRD => crate::crd::validate_crd(obj, &mut causes),
        k if kinds::is_custom(k) => crate::crd::validate(k, obj, &mut causes),
        kinds::SERVICE => {
            if let Some(ports) = obj.pointer("/spec/ports").and_then(Value::as_array) {
                for (i, p) in ports.iter().enumerate() {
                    let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
                    if !(1..=65535).contains(&port) {
                        causes.push(Cause::invalid(
                            format!("spec.ports[{i}].port"),
                            p.get("port").unwrap_or(&Value::Null),
                            "must be between 1 and 65535, inclusive",
                        ));
                    }
                }
            }
            if let Some(t) = s(obj, "/spec/type") {
                let allowed = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
                if !allowed.contains(&t) {
                    causes.push(Cause::unsupported("spec.type", t, &allowed));
                }
            }
        }
        kinds::HPA => {
            let max = obj.pointer("/spec/maxReplicas").and_then(Value::as_i64);
            let min = obj
                .pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            match max {
                None => causes.push(Cause::required("spec.maxReplicas")),
                Some(m) if m < 1 => causes.push(Cause::invalid(
                    "spec.maxReplicas",
                    &Value::from(m),
                    "must be greater than or equal to 1",
                )),
                Some(m) if min > m => causes.push(Cause::invalid(
                    "spec.maxReplicas",
                    &Value::from(m),
                    "must be greater than or equal to `minReplicas`",
                )),
                _ => {}
            }
            if min < 1 {
                causes.push(Cause::invalid(
                    "spec.minReplicas",
                    &Value::from(min),
                    "must be greater than or equal to 1",
                ));
            }
            if s(obj, "/spec/scaleTargetRef/kind")
                .unwrap_or_default()
                .is_empty()
            {
                causes.push(Cause::required("spec.scaleTargetRef.kind"));
            }
            if s(obj, "/spec/scaleTargetRef/name")
                .unwrap_or_default()
                .is_empty()
            {
                causes.push(Cause::required("spec.scaleTargetRef.name"));
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(kind, name, causes))
    }
}

fn workload(_kind: KindId, obj: &Value, causes: &mut Vec<Cause>) {
    let replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    if replicas < 0 {
        causes.push(Cause::invalid(
            "spec.replicas",
            &Value::from(replicas),
            "must be greater than or equal to 0",
        ));
    }
    match obj.pointer("/spec/selector") {
        None | Some(Value::Null) => causes.push(Cause::required("spec.selector")),
        Some(sel) => match LabelSelector::from_json(sel) {
            Err(e) => causes.push(Cause::invalid("spec.selector", sel, &e)),
            Ok(selector) => {
                if selector.reqs.is_empty() {
                    causes.push(Cause::invalid(
                        "spec.selector",
                        sel,
                        "empty selector is invalid for deployment",
                    ));
                }
                let labels = obj.pointer("/spec/template/metadata/labels");
                if !selector.matches_json(labels) {
                    causes.push(Cause::invalid(
                        "spec.template.metadata.labels",
                        labels.unwrap_or(&Value::Null),
                        "`selector` does not match template `labels`",
                    ));
                }
            }
        },
    }
    if let Some(t) = s(obj, "/spec/strategy/type")
        && !["RollingUpdate", "Recreate"].contains(&t)
    {
        causes.push(Cause::unsupported(
            "spec.strategy.type",
            t,
            &["Recreate", "RollingUpdate"],
        ));
    }
    pod_spec(
        obj.pointer("/spec/template/spec"),
        "spec.template.spec",
        causes,
    );
}

/// A Job's spec (or a CronJob's job template): pods that end, counts that make sense.
fn job(spec: Option<&Value>, at: &str, causes: &mut Vec<Cause>) {
    let tpl = spec.and_then(|s| s.pointer("/template/spec"));
    match tpl
        .and_then(|t| t.get("restartPolicy"))
        .and_then(Value::as_str)
    {
        Some("Never" | "OnFailure") => {}
        Some(p) => causes.push(Cause::unsupported(
            format!("{at}.template.spec.restartPolicy"),
            p,
            &["OnFailure", "Never"],
        )),
        None => causes.push(Cause::required(format!("{at}.template.spec.restartPolicy"))),
    }
    for f in [
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
    ] {
        if let Some(n) = spec.and_then(|s| s.get(f)).and_then(Value::as_i64) {
            let min = if f == "activeDeadlineSeconds" { 1 } else { 0 };
            if n < min {
                causes.push(Cause::invalid(
                    format!("{at}.{f}"),
                    &Value::from(n),
                    &format!("must be greater than or equal to {min}"),
                ));
            }
        }
    }
    pod_spec(tpl, &format!("{at}.template.spec"), causes);
}

fn pod_spec(spec: Option<&Value>, at: &str, causes: &mut Vec<Cause>) {
    let containers = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    let Some(containers) = containers.filter(|c| !c.is_empty()) else {
        causes.push(Cause::required(format!("{at}.containers")));
        return;
    };
    let mut seen = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            causes.push(Cause::required(format!("{at}.containers[{i}].name")));
        } else if !is_label(name) {
            causes.push(Cause::invalid(format!("{at}.containers[{i}].name"), &Value::String(name.into()), "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"));
        } else if seen.contains(&name) {
            causes.push(Cause {
                reason: "FieldValueDuplicate",
                message: format!("Duplicate value: {name:?}"),
                field: format!("{at}.containers[{i}].name"),
            });
        }
        seen.push(name);
        if c.get("image")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .is_empty()
        {
            causes.push(Cause::required(format!("{at}.containers[{i}].image")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        assert!(is_subdomain("web-1.example"));
        assert!(!is_subdomain("Web"));
        assert!(!is_subdomain("a..b"));
        assert!(!is_subdomain("-a"));
        assert!(is_label("web"));
        assert!(!is_label("a.b"));
    }

    #[test]
    fn deployment_rules() {
        let d = json!({"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "other"}}, "spec": {"containers": [{"name": "web"}]}}}});
        let e = validate(kinds::DEPLOYMENT, &d).unwrap_err();
        assert_eq!(e.code, 422);
        let causes = e.details.unwrap()["causes"].as_array().unwrap().clone();
        let fields: Vec<&str> = causes
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "spec.template.metadata.labels",
                "spec.template.spec.containers[0].image"
            ]
        );
    }

    #[test]
    fn unknown_fields_are_found() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "creationTimestamp": null},
            "spec": {"replica": 3, "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i", "imagePolicy": "x"}]}}}});
        assert_eq!(
            unknown_fields(kinds::DEPLOYMENT, &d),
            [
                "spec.replica",
                "spec.template.spec.containers[0].imagePolicy"
            ]
        );
        let ok = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "1"}});
        assert!(unknown_fields(kinds::CONFIGMAP, &ok).is_empty());
    }

    #[test]
    fn wrong_types_are_bad_requests() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": "three"}});
        let e = decode(kinds::DEPLOYMENT, &d).unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e.message.contains("cannot be handled as a Deployment"));
    }
}
