//! Defaulting, as the API server does it on every write, so that `get -o yaml`
//! looks familiar and three-way diffs see the same defaulted fields a real
//! cluster would have.

use serde_json::{Map, Value, json};

use super::kinds::{self, KindId};

fn obj(v: &mut Value) -> Option<&mut Map<String, Value>> {
    v.as_object_mut()
}

fn set_default(m: &mut Map<String, Value>, k: &str, v: Value) {
    if !m.contains_key(k) || m.get(k).is_some_and(Value::is_null) {
        m.insert(k.to_string(), v);
    }
}

fn child<'a>(m: &'a mut Map<String, Value>, k: &str) -> Option<&'a mut Map<String, Value>> {
    set_default(m, k, json!({}));
    m.get_mut(k).and_then(Value::as_object_mut)
}

pub fn apply(kind: KindId, o: &mut Value) {
    match kind {
        kinds::POD => {
            if let Some(spec) = obj(o).and_then(|m| child(m, "spec")) {
                pod_spec(spec, true);
            }
        }
        kinds::DEPLOYMENT => {
            let Some(spec) = obj(o).and_then(|m| child(m, "spec")) else {
                return;
            };
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "progressDeadlineSeconds", json!(600));
            if let Some(strategy) = child(spec, "strategy") {
                set_default(strategy, "type", json!("RollingUpdate"));
                if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                    && let Some(ru) = child(strategy, "rollingUpdate")
                {
                    set_default(ru, "maxSurge", json!("25%"));
                    set_default(ru, "maxUnavailable", json!("25%"));
                }
            }
            template(spec);
        }
        kinds::REPLICASET => {
            let Some(spec) = obj(o).and_then(|m| child(m, "spec")) else {
                return;
            };
            set_default(spec, "replicas", json!(1));
            template(spec);
        }
        kinds::SERVICE => {
            let Some(spec) = obj(o).and_then(|m| child(m, "spec")) else {
                return;
            };
            set_default(spec, "type", json!("ClusterIP"));
            set_default(spec, "sessionAffinity", json!("None"));
            if spec.get("type").and_then(Value::as_str) != Some("ExternalName") {
                set_default(spec, "ipFamilies", json!(["IPv4"]));
                set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
                set_default(spec, "internalTrafficPolicy", json!("Cluster"));
            }
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    set_default(p, "protocol", json!("TCP"));
                    if let Some(port) = p.get("port").cloned() {
                        set_default(p, "targetPort", port);
                    }
                }
            }
        }
        kinds::NAMESPACE => {
            let Some(m) = obj(o) else { return };
            let name = m
                .get("metadata")
                .and_then(|x| x.get("name"))
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(labels) = child(m, "metadata").and_then(|meta| child(meta, "labels")) {
                labels.insert("kubernetes.io/metadata.name".into(), name);
            }
            if let Some(spec) = child(m, "spec") {
                set_default(spec, "finalizers", json!(["kubernetes"]));
            }
            if let Some(status) = child(m, "status") {
                set_default(status, "phase", json!("Active"));
            }
        }
        kinds::SECRET => {
            let Some(m) = obj(o) else { return };
            set_default(m, "type", json!("Opaque"));
            if let Some(Value::Object(sd)) = m.remove("stringData") {
                use base64::Engine as _;
                if let Some(data) = child(m, "data") {
                    for (k, v) in sd {
                        let text = v.as_str().unwrap_or_default().to_string();
                        data.insert(
                            k,
                            json!(base64::engine::general_purpose::STANDARD.encode(text)),
                        );
                    }
                }
            }
        }
        kinds::HPA => {
            let Some(spec) = obj(o).and_then(|m| child(m, "spec")) else {
                return;
            };
            set_default(spec, "minReplicas", json!(1));
        }
        kinds::JOB => {
            let Some(spec) = obj(o).and_then(|m| child(m, "spec")) else {
                return;
            };
            job_spec(spec);
        }
        kinds::CRONJOB => {
            let Some(spec) = obj(o).and_then(|m| child(m, "spec")) else {
                return;
            };
            set_default(spec, "concurrencyPolicy", json!("Allow"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "successfulJobsHistoryLimit", json!(3));
            set_default(spec, "failedJobsHistoryLimit", json!(1));
            if let Some(js) = child(spec, "jobTemplate").and_then(|t| child(t, "spec")) {
                template(js);
            }
        }
        kinds::STATEFULSET => {
            let Some(spec) = obj(o).and_then(|m| child(m, "spec")) else {
                return;
            };
            set_default(spec, "replicas", json!(1));
            set_default(spec, "podManagementPolicy", json!("OrderedReady"));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            if let Some(us) = child(spec, "updateStrategy") {
                set_default(us, "type", json!("RollingUpdate"));
                if us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                    && let Some(ru) = child(us, "rollingUpdate")
                {
                    set_default(ru, "partition", json!(0));
                }
            }
            if let Some(claims) = spec
                .get_mut("volumeClaimTemplates")
                .and_then(Value::as_array_mut)
            {
                for c in claims.iter_mut() {
                    if let Some(cs) = obj(c).and_then(|m| child(m, "spec")) {
                        set_default(cs, "volumeMode", json!("Filesystem"));
                    }
                }
            }
            template(spec);
        }
        kinds::DAEMONSET => {
            let Some(spec) = obj(o).and_then(|m| child(m, "spec")) else {
                return;
            };
            set_default(spec, "revisionHistoryLimit", json!(10));
            if let Some(us) = child(spec, "updateStrategy") {
                set_default(us, "type", json!("RollingUpdate"));
                if us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                    && let Some(ru) = child(us, "rollingUpdate")
                {
                    set_default(ru, "maxUnavailable", json!(1));
                    set_default(ru, "maxSurge", json!(0));
                }
            }
            template(spec);
        }
        kinds::PVC => {
            let Some(spec) = obj(o).and_then(|m| child(m, "spec")) else {
                return;
            };
            set_default(spec, "volumeMode", json!("Filesystem"));
        }
        kinds::PV => {
            let Some(spec) = obj(o).and_then(|m| child(m, "spec")) else {
                return;
            };
            set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
            set_default(spec, "volumeMode", json!("Filesystem"));
        }
        kinds::STORAGECLASS => {
            let Some(m) = obj(o) else { return };
            set_default(m, "reclaimPolicy", json!("Delete"));
            set_default(m, "volumeBindingMode", json!("Immediate"));
        }
        kinds::PRIORITYCLASS => {
            let Some(m) = obj(o) else { return };
            set_default(m, "preemptionPolicy", json!("PreemptLowerPriority"));
        }
        _ => {}
    }
}

/// What the Job strategy adds on create unless `spec.manualSelector`: a
/// selector on the job's uid and the labels on its pod template that match it.
pub fn job_selector(obj: &mut Value, uid: &str) {
    if obj.pointer("/spec/manualSelector") == Some(&Value::Bool(true)) {
        return;
    }
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    spec.insert(
        "selector".into(),
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    let tpl = spec.entry("template").or_insert_with(|| json!({}));
    if !tpl.get("metadata").is_some_and(Value::is_object) {
        tpl["metadata"] = json!({});
    }
    let meta = &mut tpl["metadata"];
    if !meta.get("labels").is_some_and(Value::is_object) {
        meta["labels"] = json!({});
    }
    if let Some(labels) = meta["labels"].as_object_mut() {
        for (k, v) in [
            ("batch.kubernetes.io/controller-uid", uid),
            ("batch.kubernetes.io/job-name", name.as_str()),
            ("controller-uid", uid),
            ("job-name", name.as_str()),
        ] {
            labels.insert(k.into(), json!(v));
        }
    }
}

fn job_spec(spec: &mut Map<String, Value>) {
    // Both counts default to 1 only when neither is given (a work queue
    // sets parallelism alone and leaves completions unset).
    if !spec.contains_key("completions") && !spec.contains_key("parallelism") {
        spec.insert("completions".into(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    set_default(spec, "backoffLimit", json!(6));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    template(spec);
}

fn template(spec: &mut Map<String, Value>) {
    if let Some(tpl) = spec.get_mut("template").and_then(Value::as_object_mut)
        && let Some(pspec) = child(tpl, "spec")
    {
        pod_spec(pspec, false);
    }
}

fn pod_spec(spec: &mut Map<String, Value>, is_pod: bool) {
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    if is_pod {
        set_default(spec, "serviceAccountName", json!("default"));
        set_default(spec, "serviceAccount", json!("default"));
        set_default(spec, "enableServiceLinks", json!(true));
        set_default(spec, "priority", json!(0));
        set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
        set_default(
            spec,
            "tolerations",
            json!([
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ]),
        );
    }
    for list in ["containers", "initContainers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
            }
        }
    }
}

fn container(c: &mut Map<String, Value>) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
    let last = image.rsplit('/').next().unwrap_or_default();
    let policy = if !last.contains(':') || last.ends_with(":latest") {
        "Always"
    } else {
        "IfNotPresent"
    };
    set_default(c, "imagePullPolicy", json!(policy));
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    set_default(c, "resources", json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(p, "protocol", json!("TCP"));
        }
    }
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            set_default(p, "timeoutSeconds", json!(1));
            set_default(p, "periodSeconds", json!(10));
            set_default(p, "successThreshold", json!(1));
            set_default(p, "failureThreshold", json!(3));
            if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                set_default(h, "scheme", json!("HTTP"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_defaults_do_not_touch_given_values() {
        let mut d = json!({"spec": {"replicas": 3, "strategy": {"rollingUpdate": {"maxSurge": 1}},
            "template": {"spec": {"containers": [{"name": "a", "image": "a:1", "ports": [{"containerPort": 80}]}]}}}});
        apply(kinds::DEPLOYMENT, &mut d);
        assert_eq!(d["spec"]["replicas"], 3);
        assert_eq!(
            d["spec"]["strategy"]["rollingUpdate"],
            json!({"maxSurge": 1, "maxUnavailable": "25%"})
        );
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        let before = d.clone();
        apply(kinds::DEPLOYMENT, &mut d);
        assert_eq!(before, d);
    }

    #[test]
    fn secrets_fold_string_data() {
        let mut s = json!({"stringData": {"a": "hi"}});
        apply(kinds::SECRET, &mut s);
        assert_eq!(s, json!({"type": "Opaque", "data": {"a": "aGk="}}));
    }
}
