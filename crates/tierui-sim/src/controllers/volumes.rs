//! Persistent volumes as EKS provisions them: the PV controller binds a claim
//! to a new volume from its StorageClass (the EBS CSI driver's provisioning),
//! at once for `Immediate` classes and when the first pod using the claim is
//! scheduled for `WaitForFirstConsumer` ones; a claim whose class does not
//! exist stays Pending with the event the controller writes. A volume whose
//! claim is gone is deleted (reclaim policy Delete) or Released (Retain).

use serde_json::{Value, json};

use super::kubelet::claims_of;
use crate::clock::Clock;
use crate::kinds;
use crate::scenario::Scenario;
use crate::state::State;

pub const EBS_CSI: &str = "ebs.csi.aws.com";
const DEFAULT_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

/// EKS's classes: `gp2` (the in-tree name, provisioned through the EBS CSI
/// driver by migration; not the default since EKS 1.30), and `gp3` when the
/// cluster runs the `aws-ebs-csi-driver` add-on. Added when missing, so a
/// restored cluster gets them too.
pub fn storage_classes(st: &mut State, sc: &Scenario) {
    let mut classes = vec![json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "gp2"},
        "provisioner": "kubernetes.io/aws-ebs",
        "parameters": {"fsType": "ext4", "type": "gp2"},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    })];
    if sc.addons.iter().any(|a| a == "aws-ebs-csi-driver") {
        classes.push(json!({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "gp3", "annotations": {DEFAULT_ANNOTATION: "true"}},
            "provisioner": EBS_CSI,
            "parameters": {"type": "gp3", "encrypted": "true"},
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
            "allowVolumeExpansion": true,
        }));
    }
    for c in classes {
        if st
            .store
            .get(kinds::STORAGECLASS, "", s(&c, "/metadata/name"))
            .is_none()
        {
            st.put(kinds::STORAGECLASS, c);
        }
    }
}

pub fn reconcile_all(st: &mut State) {
    protect_claims(st);
    let claims: Vec<(String, String)> = st
        .store
        .range(kinds::PVC, None, None)
        .filter(|e| e.value().pointer("/status/phase").and_then(Value::as_str) != Some("Bound"))
        .map(|e| (e.namespace.clone(), e.name.clone()))
        .collect();
    if !claims.is_empty() {
        // Claim → node of the first scheduled pod using it.
        let mut consumers: std::collections::HashMap<(String, String), String> =
            std::collections::HashMap::new();
        for e in st.store.range(kinds::POD, None, None) {
            let pod = e.value();
            let node = s(&pod, "/spec/nodeName");
            if node.is_empty() {
                continue;
            }
            for c in claims_of(&pod) {
                consumers
                    .entry((e.namespace.clone(), c))
                    .or_insert_with(|| node.to_string());
            }
        }
        for (ns, name) in claims {
            if let Some(pvc) = st.get_value(kinds::PVC, &ns, &name) {
                let node = consumers.get(&(ns.clone(), name.clone())).cloned();
                reconcile_claim(st, pvc, node);
            }
        }
    }
    release_volumes(st);
}

fn reconcile_claim(st: &mut State, mut pvc: Value, node: Option<String>) {
    if pvc.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let class_name = s(&pvc, "/spec/storageClassName").to_string();
    let first = s(&pvc, "/status/phase") != "Pending";
    if first {
        pvc["status"] = json!({"phase": "Pending"});
        st.store.commit(kinds::PVC, pvc.clone());
    }
    if class_name.is_empty() {
        if first {
            st.event(
                kinds::PVC,
                &pvc,
                "Normal",
                "FailedBinding",
                "no persistent volumes available for this claim and no storage class is set",
                "persistentvolume-controller",
            );
        }
        return;
    }
    let Some(class) = st.get_value(kinds::STORAGECLASS, "", &class_name) else {
        if first {
            st.event(
                kinds::PVC,
                &pvc,
                "Warning",
                "ProvisioningFailed",
                &format!("storageclass.storage.k8s.io \"{class_name}\" not found"),
                "persistentvolume-controller",
            );
        }
        return;
    };
    let wait = s(&class, "/volumeBindingMode") == "WaitForFirstConsumer";
    if wait && node.is_none() {
        if first {
            st.event(
                kinds::PVC,
                &pvc,
                "Normal",
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
                "persistentvolume-controller",
            );
        }
        return;
    }
    provision(st, pvc, &class, node.as_deref());
}

/// The EBS CSI driver creates a volume in the node's zone and the PV
/// controller binds it to the claim.
fn provision(st: &mut State, mut pvc: Value, class: &Value, node: Option<&str>) {
    let (ns, name, uid) = (
        s(&pvc, "/metadata/namespace").to_string(),
        s(&pvc, "/metadata/name").to_string(),
        s(&pvc, "/metadata/uid").to_string(),
    );
    let pv_name = format!("pvc-{uid}");
    let size = pvc
        .pointer("/spec/resources/requests/storage")
        .cloned()
        .unwrap_or(json!("1Gi"));
    let modes = pvc
        .pointer("/spec/accessModes")
        .cloned()
        .unwrap_or(json!(["ReadWriteOnce"]));
    let zone = node
        .and_then(|n| st.get_value(kinds::NODE, "", n))
        .map(|n| s(&n, "/metadata/labels/topology.kubernetes.io~1zone").to_string())
        .filter(|z| !z.is_empty())
        .unwrap_or_else(|| "us-east-1a".into());
    let fs_type = class
        .pointer("/parameters/fsType")
        .and_then(Value::as_str)
        .or_else(|| {
            class
                .pointer("/parameters/csi.storage.k8s.io~1fstype")
                .and_then(Value::as_str)
        })
        .unwrap_or("ext4")
        .to_string();
    let provisioner_pod = format!(
        "{EBS_CSI}_ebs-csi-controller-7d8b9c6f5d-{}",
        st.rng.suffix(5)
    );
    st.event(
        kinds::PVC,
        &pvc,
        "Normal",
        "Provisioning",
        &format!("External provisioner is provisioning volume for claim \"{ns}/{name}\""),
        &provisioner_pod,
    );
    let volume_id = format!("vol-{:017x}", st.rng.next_u64() & 0xfffffffffffffff);
    let pv = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": pv_name,
            "annotations": {
                "pv.kubernetes.io/provisioned-by": EBS_CSI,
                "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                "volume.kubernetes.io/provisioner-deletion-secret-namespace": "",
            },
            "finalizers": ["external-provisioner.volume.kubernetes.io/finalizer", "kubernetes.io/pv-protection"],
        },
        "spec": {
            "accessModes": modes,
            "capacity": {"storage": size},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name, "namespace": ns, "uid": uid,
                         "resourceVersion": s(&pvc, "/metadata/resourceVersion")},
            "csi": {"driver": EBS_CSI, "fsType": fs_type, "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": "1733222400000-8081-ebs.csi.aws.com"}, "volumeHandle": volume_id},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}},
            "persistentVolumeReclaimPolicy": class.get("reclaimPolicy").cloned().unwrap_or(json!("Delete")),
            "storageClassName": s(class, "/metadata/name"),
            "volumeMode": pvc.pointer("/spec/volumeMode").cloned().unwrap_or(json!("Filesystem")),
        },
        "status": {"phase": "Bound", "lastPhaseTransitionTime": Clock::timestamp()},
    });
    st.put(kinds::PV, pv);
    pvc["spec"]["volumeName"] = json!(pv_name);
    let meta = pvc["metadata"].as_object_mut();
    if let Some(meta) = meta {
        let ann = meta.entry("annotations").or_insert_with(|| json!({}));
        let provisioner = if s(class, "/provisioner") == "kubernetes.io/aws-ebs" {
            EBS_CSI.to_string()
        } else {
            s(class, "/provisioner").to_string()
        };
        ann["pv.kubernetes.io/bind-completed"] = json!("yes");
        ann["pv.kubernetes.io/bound-by-controller"] = json!("yes");
        ann["volume.beta.kubernetes.io/storage-provisioner"] = json!(provisioner);
        ann["volume.kubernetes.io/storage-provisioner"] = json!(provisioner);
        if let Some(n) = node {
            ann["volume.kubernetes.io/selected-node"] = json!(n);
        }
        let fins = meta.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(f) = fins.as_array_mut()
            && !f.iter().any(|x| x == "kubernetes.io/pvc-protection")
        {
            f.push(json!("kubernetes.io/pvc-protection"));
        }
    }
    pvc["status"] = json!({
        "phase": "Bound",
        "accessModes": pvc.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"])),
        "capacity": {"storage": size},
    });
    st.store.commit(kinds::PVC, pvc.clone());
    st.event(
        kinds::PVC,
        &pvc,
        "Normal",
        "ProvisioningSucceeded",
        &format!("Successfully provisioned volume {pv_name}"),
        &provisioner_pod,
    );
}

/// The PVC protection controller: a claim being deleted keeps its finalizer
/// while a pod that has not finished uses it, then goes.
fn protect_claims(st: &mut State) {
    const FINALIZER: &str = "kubernetes.io/pvc-protection";
    let deleting: Vec<Value> = st
        .store
        .range(kinds::PVC, None, None)
        .map(|e| e.value())
        .filter(|c| c.pointer("/metadata/deletionTimestamp").is_some())
        .collect();
    for mut claim in deleting {
        let (ns, name) = (
            s(&claim, "/metadata/namespace").to_string(),
            s(&claim, "/metadata/name").to_string(),
        );
        let in_use = st.store.range(kinds::POD, Some(&ns), None).any(|e| {
            let pod = e.value();
            !matches!(s(&pod, "/status/phase"), "Succeeded" | "Failed")
                && claims_of(&pod).contains(&name)
        });
        if in_use {
            continue;
        }
        if let Some(f) = claim
            .pointer_mut("/metadata/finalizers")
            .and_then(Value::as_array_mut)
        {
            f.retain(|x| x != FINALIZER);
        }
        let left = claim
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if left {
            st.store.commit(kinds::PVC, claim);
        } else {
            st.store.remove(kinds::PVC, &ns, &name);
        }
    }
}

/// Volumes whose claim is gone: deleted with reclaim policy Delete, else Released.
fn release_volumes(st: &mut State) {
    let volumes: Vec<Value> = st
        .store
        .range(kinds::PV, None, None)
        .map(|e| e.value())
        .filter(|v| s(v, "/status/phase") == "Bound")
        .collect();
    for mut pv in volumes {
        let (ns, name, uid) = (
            s(&pv, "/spec/claimRef/namespace"),
            s(&pv, "/spec/claimRef/name"),
            s(&pv, "/spec/claimRef/uid"),
        );
        if name.is_empty() {
            continue;
        }
        let claim_alive = st
            .get_value(kinds::PVC, ns, name)
            .is_some_and(|c| s(&c, "/metadata/uid") == uid);
        if claim_alive {
            continue;
        }
        let pv_name = s(&pv, "/metadata/name").to_string();
        if s(&pv, "/spec/persistentVolumeReclaimPolicy") == "Delete" {
            st.store.remove(kinds::PV, "", &pv_name);
        } else {
            pv["status"] =
                json!({"phase": "Released", "lastPhaseTransitionTime": Clock::timestamp()});
            st.store.commit(kinds::PV, pv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(st: &mut State, name: &str, class: Option<&str>) {
        let mut c = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "app"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}});
        if let Some(class) = class {
            c["spec"]["storageClassName"] = json!(class);
        }
        st.put(kinds::PVC, c);
    }

    fn pod_using(st: &mut State, claim: &str, node: &str) {
        st.put(
            kinds::POD,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("user-{claim}"), "namespace": "app"},
                   "spec": {"nodeName": node, "containers": [{"name": "c", "image": "x"}],
                            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}}),
        );
    }

    fn phase(st: &State, name: &str) -> String {
        st.get_value(kinds::PVC, "app", name)
            .map(|c| s(&c, "/status/phase").to_string())
            .unwrap_or_default()
    }

    fn reasons(st: &State) -> Vec<String> {
        st.store
            .range(kinds::EVENT, None, None)
            .map(|e| s(&e.value(), "/reason").to_string())
            .collect()
    }

    #[test]
    fn a_claim_waits_for_its_first_consumer_then_binds_in_its_zone() {
        let mut st = State::new(1);
        let sc = Scenario {
            addons: vec!["aws-ebs-csi-driver".into()],
            ..Scenario::default()
        };
        storage_classes(&mut st, &sc);
        storage_classes(&mut st, &sc); // idempotent
        assert_eq!(st.store.count(kinds::STORAGECLASS), 2);
        st.put(kinds::NODE, json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "eu-west-1b"}}}));
        claim(&mut st, "data", Some("gp3"));
        reconcile_all(&mut st);
        assert_eq!(phase(&st, "data"), "Pending");
        assert!(reasons(&st).contains(&"WaitForFirstConsumer".to_string()));
        pod_using(&mut st, "data", "n1");
        reconcile_all(&mut st);
        assert_eq!(phase(&st, "data"), "Bound");
        let pvc = st.get_value(kinds::PVC, "app", "data").unwrap();
        let pv_name = s(&pvc, "/spec/volumeName").to_string();
        let pv = st.get_value(kinds::PV, "", &pv_name).unwrap();
        assert_eq!(s(&pv, "/spec/capacity/storage"), "5Gi");
        assert_eq!(s(&pv, "/spec/claimRef/name"), "data");
        assert_eq!(
            s(
                &pv,
                "/spec/nodeAffinity/required/nodeSelectorTerms/0/matchExpressions/0/values/0"
            ),
            "eu-west-1b"
        );
        assert_eq!(s(&pvc, "/status/capacity/storage"), "5Gi");
        // The claim goes: its volume (reclaim policy Delete) goes with it.
        st.store.remove(kinds::PVC, "app", "data");
        reconcile_all(&mut st);
        assert!(st.get_value(kinds::PV, "", &pv_name).is_none());
    }

    #[test]
    fn an_unknown_class_or_no_class_stays_pending_with_the_controllers_event() {
        let mut st = State::new(1);
        storage_classes(&mut st, &Scenario::default());
        claim(&mut st, "fast", Some("io2"));
        claim(&mut st, "none", None);
        reconcile_all(&mut st);
        reconcile_all(&mut st);
        assert_eq!(phase(&st, "fast"), "Pending");
        assert_eq!(phase(&st, "none"), "Pending");
        let msgs: Vec<String> = st
            .store
            .range(kinds::EVENT, None, None)
            .map(|e| s(&e.value(), "/message").to_string())
            .collect();
        assert!(msgs.contains(&"storageclass.storage.k8s.io \"io2\" not found".to_string()));
        assert!(
            msgs.contains(
                &"no persistent volumes available for this claim and no storage class is set"
                    .to_string()
            )
        );
        // Events are written once, not every pass.
        assert_eq!(msgs.len(), 2);
    }
}
