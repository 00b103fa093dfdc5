//! Reads the protobuf request bodies that kubectl's typed clients send
//! (`kubectl create namespace|configmap|secret|deployment|service|job`, `kubectl
//! run`, `kubectl expose`): the `k8s\0` envelope around `runtime.Unknown`, and
//! the message fields those commands set, turned into the JSON the rest of the
//! simulator works with. Pod templates are read whole as applications write
//! them (volumes, mounts, env sources, probes, lifecycle, security contexts,
//! tolerations, affinity, spread) since `kubectl create job --from=cronjob/x`
//! sends a CronJob's template this way; rarer fields (ephemeral containers,
//! in-tree cloud volume sources) are skipped, not rejected.
//! Responses stay JSON, which client-go accepts.

use base64::Engine as _;
use serde_json::{Map, Value, json};

const MAGIC: &[u8] = b"k8s\0";
const MAX_DEPTH: usize = 24;

#[derive(Clone, Copy)]
enum F {
    Str,
    /// Non-pointer Go ints: zero means unset.
    Int,
    /// Pointer ints (`replicas`): zero is a value.
    IntP,
    Bool,
    BoolP,
    Msg(&'static str),
    RepMsg(&'static str),
    RepStr,
    MapStr,
    MapBytes,
    MapQty,
    IntOrStr,
    Time,
    /// A `resource.Quantity` message, as its string.
    Qty,
    /// Repeated varints (`supplementalGroups`), packed or not.
    RepInt,
    /// An embedded Go struct (`json:",inline"`): its fields join the parent's.
    Inline(&'static str),
}

type Schema = &'static [(u32, &'static str, F)];

/// Field numbers, JSON names and types of the messages kubectl sends.
fn schema(msg: &str) -> Option<Schema> {
    meta_schema(msg)
        .or_else(|| core_schema(msg))
        .or_else(|| pod_schema(msg))
        .or_else(|| apps_schema(msg))
        .or_else(|| service_schema(msg))
        .or_else(|| batch_schema(msg))
}

/// ObjectMeta and the other meta/v1 messages.
fn meta_schema(msg: &str) -> Option<Schema> {
    use F::*;
    let s: Schema = match msg {
        "ObjectMeta" => &[
            (1, "name", Str),
            (2, "generateName", Str),
            (3, "namespace", Str),
            (5, "uid", Str),
            (6, "resourceVersion", Str),
            (7, "generation", Int),
            (8, "creationTimestamp", Time),
            (11, "labels", MapStr),
            (12, "annotations", MapStr),
            (13, "ownerReferences", RepMsg("OwnerReference")),
            (14, "finalizers", RepStr),
        ],
        "OwnerReference" => &[
            (1, "kind", Str),
            (3, "name", Str),
            (4, "uid", Str),
            (5, "apiVersion", Str),
            (6, "controller", BoolP),
            (7, "blockOwnerDeletion", BoolP),
        ],
        "LabelSelector" => &[
            (1, "matchLabels", MapStr),
            (2, "matchExpressions", RepMsg("LabelSelectorRequirement")),
        ],
        "LabelSelectorRequirement" => {
            &[(1, "key", Str), (2, "operator", Str), (3, "values", RepStr)]
        }
        _ => return None,
    };
    Some(s)
}

/// Namespaces, ConfigMaps and Secrets.
fn core_schema(msg: &str) -> Option<Schema> {
    use F::*;
    let s: Schema = match msg {
        "Namespace" => &[
            (1, "metadata", Msg("ObjectMeta")),
            (2, "spec", Msg("NamespaceSpec")),
        ],
        "NamespaceSpec" => &[(1, "finalizers", RepStr)],
        "ConfigMap" => &[
            (1, "metadata", Msg("ObjectMeta")),
            (2, "data", MapStr),
            (3, "binaryData", MapBytes),
            (4, "immutable", BoolP),
        ],
        "Secret" => &[
            (1, "metadata", Msg("ObjectMeta")),
            (2, "data", MapBytes),
            (3, "type", Str),
            (4, "stringData", MapStr),
            (5, "immutable", BoolP),
        ],
        _ => return None,
    };
    Some(s)
}

/// Pods, their templates and containers.
fn pod_schema(msg: &str) -> Option<Schema> {
    use F::*;
    let s: Schema = match msg {
        "Pod" => &[
            (1, "metadata", Msg("ObjectMeta")),
            (2, "spec", Msg("PodSpec")),
        ],
        "PodTemplateSpec" => &[
            (1, "metadata", Msg("ObjectMeta")),
            (2, "spec", Msg("PodSpec")),
        ],
        "PodSpec" => &[
            (1, "volumes", RepMsg("Volume")),
            (2, "containers", RepMsg("Container")),
            (3, "restartPolicy", Str),
            (4, "terminationGracePeriodSeconds", IntP),
            (5, "activeDeadlineSeconds", IntP),
            (6, "dnsPolicy", Str),
            (7, "nodeSelector", MapStr),
            (8, "serviceAccountName", Str),
            (9, "serviceAccount", Str),
            (10, "nodeName", Str),
            (11, "hostNetwork", Bool),
            (12, "hostPID", Bool),
            (13, "hostIPC", Bool),
            (14, "securityContext", Msg("PodSecurityContext")),
            (15, "imagePullSecrets", RepMsg("LocalObjectReference")),
            (16, "hostname", Str),
            (17, "subdomain", Str),
            (18, "affinity", Msg("Affinity")),
            (19, "schedulerName", Str),
            (20, "initContainers", RepMsg("Container")),
            (21, "automountServiceAccountToken", BoolP),
            (22, "tolerations", RepMsg("Toleration")),
            (23, "hostAliases", RepMsg("HostAlias")),
            (24, "priorityClassName", Str),
            (25, "priority", IntP),
            (26, "dnsConfig", Msg("PodDNSConfig")),
            (27, "shareProcessNamespace", BoolP),
            (28, "readinessGates", RepMsg("PodReadinessGate")),
            (29, "runtimeClassName", Str),
            (30, "enableServiceLinks", BoolP),
            (31, "preemptionPolicy", Str),
            (
                33,
                "topologySpreadConstraints",
                RepMsg("TopologySpreadConstraint"),
            ),
            (35, "setHostnameAsFQDN", BoolP),
            (37, "hostUsers", BoolP),
        ],
        "Container" => &[
            (1, "name", Str),
            (2, "image", Str),
            (3, "command", RepStr),
            (4, "args", RepStr),
            (5, "workingDir", Str),
            (6, "ports", RepMsg("ContainerPort")),
            (7, "env", RepMsg("EnvVar")),
            (8, "resources", Msg("ResourceRequirements")),
            (9, "volumeMounts", RepMsg("VolumeMount")),
            (10, "livenessProbe", Msg("Probe")),
            (11, "readinessProbe", Msg("Probe")),
            (12, "lifecycle", Msg("Lifecycle")),
            (13, "terminationMessagePath", Str),
            (14, "imagePullPolicy", Str),
            (15, "securityContext", Msg("SecurityContext")),
            (16, "stdin", Bool),
            (17, "stdinOnce", Bool),
            (18, "tty", Bool),
            (19, "envFrom", RepMsg("EnvFromSource")),
            (20, "terminationMessagePolicy", Str),
            (22, "startupProbe", Msg("Probe")),
            (24, "restartPolicy", Str),
        ],
        "ContainerPort" => &[
            (1, "name", Str),
            (2, "hostPort", Int),
            (3, "containerPort", Int),
            (4, "protocol", Str),
            (5, "hostIP", Str),
        ],
        "EnvVar" => &[
            (1, "name", Str),
            (2, "value", Str),
            (3, "valueFrom", Msg("EnvVarSource")),
        ],
        "EnvVarSource" => &[
            (1, "fieldRef", Msg("ObjectFieldSelector")),
            (2, "resourceFieldRef", Msg("ResourceFieldSelector")),
            (3, "configMapKeyRef", Msg("KeySelector")),
            (4, "secretKeyRef", Msg("KeySelector")),
        ],
        "ObjectFieldSelector" => &[(1, "apiVersion", Str), (2, "fieldPath", Str)],
        "ResourceFieldSelector" => &[(1, "containerName", Str), (2, "resource", Str)],
        // ConfigMapKeySelector and SecretKeySelector.
        "KeySelector" => &[
            (1, "", Inline("LocalObjectReference")),
            (2, "key", Str),
            (3, "optional", BoolP),
        ],
        "EnvFromSource" => &[
            (1, "prefix", Str),
            (2, "configMapRef", Msg("EnvSource")),
            (3, "secretRef", Msg("EnvSource")),
        ],
        // ConfigMapEnvSource and SecretEnvSource.
        "EnvSource" => &[
            (1, "", Inline("LocalObjectReference")),
            (2, "optional", BoolP),
        ],
        "LocalObjectReference" => &[(1, "name", Str)],
        "ResourceRequirements" => &[(1, "limits", MapQty), (2, "requests", MapQty)],
        "VolumeMount" => &[
            (1, "name", Str),
            (2, "readOnly", Bool),
            (3, "mountPath", Str),
            (4, "subPath", Str),
            (5, "mountPropagation", Str),
            (6, "subPathExpr", Str),
            (7, "recursiveReadOnly", Str),
        ],
        "Probe" => &[
            (1, "", Inline("Handler")),
            (2, "initialDelaySeconds", Int),
            (3, "timeoutSeconds", Int),
            (4, "periodSeconds", Int),
            (5, "successThreshold", Int),
            (6, "failureThreshold", Int),
            (7, "terminationGracePeriodSeconds", IntP),
        ],
        // ProbeHandler and LifecycleHandler.
        "Handler" => &[
            (1, "exec", Msg("ExecAction")),
            (2, "httpGet", Msg("HTTPGetAction")),
            (3, "tcpSocket", Msg("TCPSocketAction")),
            (4, "sleep", Msg("SleepAction")),
        ],
        "Lifecycle" => &[
            (1, "postStart", Msg("Handler")),
            (2, "preStop", Msg("Handler")),
            (3, "stopSignal", Str),
        ],
        "ExecAction" => &[(1, "command", RepStr)],
        "HTTPGetAction" => &[
            (1, "path", Str),
            (2, "port", IntOrStr),
            (3, "host", Str),
            (4, "scheme", Str),
            (5, "httpHeaders", RepMsg("NameValue")),
        ],
        "TCPSocketAction" => &[(1, "port", IntOrStr), (2, "host", Str)],
        "SleepAction" => &[(1, "seconds", Int)],
        // HTTPHeader, PodDNSConfigOption, Sysctl.
        "NameValue" => &[(1, "name", Str), (2, "value", Str)],
        "SecurityContext" => &[
            (1, "capabilities", Msg("Capabilities")),
            (2, "privileged", BoolP),
            (4, "runAsUser", IntP),
            (5, "runAsNonRoot", BoolP),
            (6, "readOnlyRootFilesystem", BoolP),
            (7, "allowPrivilegeEscalation", BoolP),
            (8, "runAsGroup", IntP),
            (9, "procMount", Str),
            (11, "seccompProfile", Msg("SeccompProfile")),
        ],
        "Capabilities" => &[(1, "add", RepStr), (2, "drop", RepStr)],
        "SeccompProfile" => &[(1, "type", Str), (2, "localhostProfile", Str)],
        "PodSecurityContext" => &[
            (2, "runAsUser", IntP),
            (3, "runAsNonRoot", BoolP),
            (4, "supplementalGroups", RepInt),
            (5, "fsGroup", IntP),
            (6, "runAsGroup", IntP),
            (7, "sysctls", RepMsg("NameValue")),
            (9, "fsGroupChangePolicy", Str),
            (10, "seccompProfile", Msg("SeccompProfile")),
        ],
        "Toleration" => &[
            (1, "key", Str),
            (2, "operator", Str),
            (3, "value", Str),
            (4, "effect", Str),
            (5, "tolerationSeconds", IntP),
        ],
        "HostAlias" => &[(1, "ip", Str), (2, "hostnames", RepStr)],
        "PodDNSConfig" => &[
            (1, "nameservers", RepStr),
            (2, "searches", RepStr),
            (3, "options", RepMsg("NameValue")),
        ],
        "PodReadinessGate" => &[(1, "conditionType", Str)],
        "TopologySpreadConstraint" => &[
            (1, "maxSkew", Int),
            (2, "topologyKey", Str),
            (3, "whenUnsatisfiable", Str),
            (4, "labelSelector", Msg("LabelSelector")),
            (5, "minDomains", IntP),
            (6, "nodeAffinityPolicy", Str),
            (7, "nodeTaintsPolicy", Str),
            (8, "matchLabelKeys", RepStr),
        ],
        "Affinity" => &[
            (1, "nodeAffinity", Msg("NodeAffinity")),
            (2, "podAffinity", Msg("PodAffinity")),
            (3, "podAntiAffinity", Msg("PodAffinity")),
        ],
        "NodeAffinity" => &[
            (
                1,
                "requiredDuringSchedulingIgnoredDuringExecution",
                Msg("NodeSelector"),
            ),
            (
                2,
                "preferredDuringSchedulingIgnoredDuringExecution",
                RepMsg("PreferredSchedulingTerm"),
            ),
        ],
        "NodeSelector" => &[(1, "nodeSelectorTerms", RepMsg("NodeSelectorTerm"))],
        "NodeSelectorTerm" => &[
            (1, "matchExpressions", RepMsg("LabelSelectorRequirement")),
            (2, "matchFields", RepMsg("LabelSelectorRequirement")),
        ],
        "PreferredSchedulingTerm" => &[
            (1, "weight", Int),
            (2, "preference", Msg("NodeSelectorTerm")),
        ],
        // PodAffinity and PodAntiAffinity.
        "PodAffinity" => &[
            (
                1,
                "requiredDuringSchedulingIgnoredDuringExecution",
                RepMsg("PodAffinityTerm"),
            ),
            (
                2,
                "preferredDuringSchedulingIgnoredDuringExecution",
                RepMsg("WeightedPodAffinityTerm"),
            ),
        ],
        "PodAffinityTerm" => &[
            (1, "labelSelector", Msg("LabelSelector")),
            (2, "namespaces", RepStr),
            (3, "topologyKey", Str),
            (4, "namespaceSelector", Msg("LabelSelector")),
            (5, "matchLabelKeys", RepStr),
            (6, "mismatchLabelKeys", RepStr),
        ],
        "WeightedPodAffinityTerm" => &[
            (1, "weight", Int),
            (2, "podAffinityTerm", Msg("PodAffinityTerm")),
        ],
        "Volume" => &[(1, "name", Str), (2, "", Inline("VolumeSource"))],
        "VolumeSource" => &[
            (1, "hostPath", Msg("HostPathVolumeSource")),
            (2, "emptyDir", Msg("EmptyDirVolumeSource")),
            (6, "secret", Msg("SecretVolumeSource")),
            (
                10,
                "persistentVolumeClaim",
                Msg("PersistentVolumeClaimVolumeSource"),
            ),
            (16, "downwardAPI", Msg("DownwardAPIVolumeSource")),
            (19, "configMap", Msg("ConfigMapVolumeSource")),
            (26, "projected", Msg("ProjectedVolumeSource")),
            (28, "csi", Msg("CSIVolumeSource")),
        ],
        "HostPathVolumeSource" => &[(1, "path", Str), (2, "type", Str)],
        "EmptyDirVolumeSource" => &[(1, "medium", Str), (2, "sizeLimit", Qty)],
        "SecretVolumeSource" => &[
            (1, "secretName", Str),
            (2, "items", RepMsg("KeyToPath")),
            (3, "defaultMode", IntP),
            (4, "optional", BoolP),
        ],
        "ConfigMapVolumeSource" => &[
            (1, "", Inline("LocalObjectReference")),
            (2, "items", RepMsg("KeyToPath")),
            (3, "defaultMode", IntP),
            (4, "optional", BoolP),
        ],
        "KeyToPath" => &[(1, "key", Str), (2, "path", Str), (3, "mode", IntP)],
        "PersistentVolumeClaimVolumeSource" => &[(1, "claimName", Str), (2, "readOnly", Bool)],
        "DownwardAPIVolumeSource" => &[
            (1, "items", RepMsg("DownwardAPIVolumeFile")),
            (2, "defaultMode", IntP),
        ],
        "DownwardAPIVolumeFile" => &[
            (1, "path", Str),
            (2, "fieldRef", Msg("ObjectFieldSelector")),
            (3, "resourceFieldRef", Msg("ResourceFieldSelector")),
            (4, "mode", IntP),
        ],
        "ProjectedVolumeSource" => &[
            (1, "sources", RepMsg("VolumeProjection")),
            (2, "defaultMode", IntP),
        ],
        "VolumeProjection" => &[
            (1, "secret", Msg("Projection")),
            (2, "downwardAPI", Msg("DownwardAPIVolumeSource")),
            (3, "configMap", Msg("Projection")),
            (
                4,
                "serviceAccountToken",
                Msg("ServiceAccountTokenProjection"),
            ),
        ],
        // ConfigMapProjection and SecretProjection.
        "Projection" => &[
            (1, "", Inline("LocalObjectReference")),
            (2, "items", RepMsg("KeyToPath")),
            (4, "optional", BoolP),
        ],
        "ServiceAccountTokenProjection" => &[
            (1, "audience", Str),
            (2, "expirationSeconds", IntP),
            (3, "path", Str),
        ],
        "CSIVolumeSource" => &[
            (1, "driver", Str),
            (2, "readOnly", BoolP),
            (3, "fsType", Str),
            (4, "volumeAttributes", MapStr),
            (5, "nodePublishSecretRef", Msg("LocalObjectReference")),
        ],
        _ => return None,
    };
    Some(s)
}

/// Deployments and their rollout strategy.
fn apps_schema(msg: &str) -> Option<Schema> {
    use F::*;
    let s: Schema = match msg {
        "Deployment" => &[
            (1, "metadata", Msg("ObjectMeta")),
            (2, "spec", Msg("DeploymentSpec")),
        ],
        "DeploymentSpec" => &[
            (1, "replicas", IntP),
            (2, "selector", Msg("LabelSelector")),
            (3, "template", Msg("PodTemplateSpec")),
            (4, "strategy", Msg("DeploymentStrategy")),
            (5, "minReadySeconds", Int),
            (6, "revisionHistoryLimit", IntP),
            (7, "paused", Bool),
            (9, "progressDeadlineSeconds", IntP),
        ],
        "DeploymentStrategy" => &[
            (1, "type", Str),
            (2, "rollingUpdate", Msg("RollingUpdateDeployment")),
        ],
        "RollingUpdateDeployment" => &[(1, "maxUnavailable", IntOrStr), (2, "maxSurge", IntOrStr)],
        _ => return None,
    };
    Some(s)
}

/// Jobs (`kubectl create job [--from=cronjob/x]`).
fn batch_schema(msg: &str) -> Option<Schema> {
    use F::*;
    let s: Schema = match msg {
        "Job" => &[
            (1, "metadata", Msg("ObjectMeta")),
            (2, "spec", Msg("JobSpec")),
        ],
        "JobSpec" => &[
            (1, "parallelism", IntP),
            (2, "completions", IntP),
            (3, "activeDeadlineSeconds", IntP),
            (4, "selector", Msg("LabelSelector")),
            (5, "manualSelector", BoolP),
            (6, "template", Msg("PodTemplateSpec")),
            (7, "backoffLimit", IntP),
            (8, "ttlSecondsAfterFinished", IntP),
            (9, "completionMode", Str),
            (10, "suspend", BoolP),
            (12, "backoffLimitPerIndex", IntP),
            (13, "maxFailedIndexes", IntP),
            (14, "podReplacementPolicy", Str),
            (15, "managedBy", Str),
        ],
        _ => return None,
    };
    Some(s)
}

/// Services and their ports.
fn service_schema(msg: &str) -> Option<Schema> {
    use F::*;
    let s: Schema = match msg {
        "Service" => &[
            (1, "metadata", Msg("ObjectMeta")),
            (2, "spec", Msg("ServiceSpec")),
        ],
        "ServiceSpec" => &[
            (1, "ports", RepMsg("ServicePort")),
            (2, "selector", MapStr),
            (3, "clusterIP", Str),
            (4, "type", Str),
            (5, "externalIPs", RepStr),
            (7, "sessionAffinity", Str),
            (8, "loadBalancerIP", Str),
            (10, "externalName", Str),
        ],
        "ServicePort" => &[
            (1, "name", Str),
            (2, "protocol", Str),
            (3, "port", Int),
            (4, "targetPort", IntOrStr),
            (5, "nodePort", Int),
        ],
        _ => return None,
    };
    Some(s)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or("truncated varint")?;
            self.pos += 1;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err("varint too long".into())
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|e| *e <= self.buf.len())
            .ok_or("truncated field")?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// (field number, wire type, payload as varint or bytes)
    fn field(&mut self) -> Result<(u32, Payload<'a>), String> {
        let key = self.varint()?;
        let num = u32::try_from(key >> 3).map_err(|_| "field number too large")?;
        let payload = match key & 7 {
            0 => Payload::Varint(self.varint()?),
            1 => {
                self.skip(8)?;
                Payload::Other
            }
            2 => Payload::Bytes(self.bytes()?),
            5 => {
                self.skip(4)?;
                Payload::Other
            }
            w => return Err(format!("unsupported wire type {w}")),
        };
        Ok((num, payload))
    }

    fn skip(&mut self, n: usize) -> Result<(), String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or("truncated field")?;
        self.pos = end;
        Ok(())
    }
}

enum Payload<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

fn text(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "string field is not UTF-8".to_string())
}

fn map_entry(b: &[u8], value: F, depth: usize) -> Result<(String, Value), String> {
    let mut r = Reader::new(b);
    let (mut k, mut v) = (String::new(), Value::Null);
    while !r.done() {
        match r.field()? {
            (1, Payload::Bytes(x)) => k = text(x)?,
            (2, Payload::Bytes(x)) => {
                v = match value {
                    F::MapBytes => json!(base64::engine::general_purpose::STANDARD.encode(x)),
                    F::MapQty => message_string(x, depth)?,
                    _ => json!(text(x)?),
                }
            }
            _ => {}
        }
    }
    if v.is_null() {
        v = json!("");
    }
    Ok((k, v))
}

/// `resource.Quantity { string = 1 }` as its string.
fn message_string(b: &[u8], _depth: usize) -> Result<Value, String> {
    let mut r = Reader::new(b);
    let mut out = String::new();
    while !r.done() {
        if let (1, Payload::Bytes(x)) = r.field()? {
            out = text(x)?;
        }
    }
    Ok(json!(out))
}

fn int_or_string(b: &[u8]) -> Result<Value, String> {
    let mut r = Reader::new(b);
    let (mut ty, mut int, mut s) = (0u64, 0i64, String::new());
    while !r.done() {
        match r.field()? {
            (1, Payload::Varint(v)) => ty = v,
            (2, Payload::Varint(v)) => int = v as i64 as i32 as i64,
            (3, Payload::Bytes(x)) => s = text(x)?,
            _ => {}
        }
    }
    Ok(if ty == 1 { json!(s) } else { json!(int) })
}

fn time(b: &[u8]) -> Result<Value, String> {
    let mut r = Reader::new(b);
    let mut secs = 0i64;
    while !r.done() {
        if let (1, Payload::Varint(v)) = r.field()? {
            secs = v as i64;
        }
    }
    if secs == 0 {
        return Ok(Value::Null);
    }
    let t = jiff::Timestamp::from_second(secs).map_err(|e| e.to_string())?;
    Ok(json!(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

fn message(b: &[u8], msg: &str, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("message nested too deeply".into());
    }
    let fields = schema(msg).ok_or_else(|| format!("no protobuf schema for {msg}"))?;
    let mut out = Map::new();
    let mut r = Reader::new(b);
    while !r.done() {
        let (num, payload) = r.field()?;
        let Some((_, name, kind)) = fields.iter().find(|(n, _, _)| *n == num) else {
            continue;
        };
        let name = (*name).to_string();
        match (*kind, payload) {
            (F::Str, Payload::Bytes(x)) => {
                let s = text(x)?;
                if !s.is_empty() {
                    out.insert(name, json!(s));
                }
            }
            (F::Int, Payload::Varint(v)) => {
                if v != 0 {
                    out.insert(name, json!(v as i64));
                }
            }
            (F::IntP, Payload::Varint(v)) => {
                out.insert(name, json!(v as i64));
            }
            (F::Bool, Payload::Varint(v)) => {
                if v != 0 {
                    out.insert(name, json!(true));
                }
            }
            (F::BoolP, Payload::Varint(v)) => {
                out.insert(name, json!(v != 0));
            }
            (F::Msg(m), Payload::Bytes(x)) => {
                out.insert(name, message(x, m, depth + 1)?);
            }
            (F::RepMsg(m), Payload::Bytes(x)) => {
                let item = message(x, m, depth + 1)?;
                push(&mut out, name, item);
            }
            (F::RepStr, Payload::Bytes(x)) => push(&mut out, name, json!(text(x)?)),
            (k @ (F::MapStr | F::MapBytes | F::MapQty), Payload::Bytes(x)) => {
                let (key, v) = map_entry(x, k, depth)?;
                if let Value::Object(m) = out.entry(name).or_insert_with(|| json!({})) {
                    m.insert(key, v);
                }
            }
            (F::IntOrStr, Payload::Bytes(x)) => {
                out.insert(name, int_or_string(x)?);
            }
            (F::Time, Payload::Bytes(x)) => {
                let t = time(x)?;
                if !t.is_null() {
                    out.insert(name, t);
                }
            }
            (F::Qty, Payload::Bytes(x)) => {
                out.insert(name, message_string(x, depth)?);
            }
            (F::RepInt, Payload::Varint(v)) => push(&mut out, name, json!(v as i64)),
            (F::RepInt, Payload::Bytes(x)) => {
                let mut packed = Reader::new(x);
                while !packed.done() {
                    let v = packed.varint()?;
                    push(&mut out, name.clone(), json!(v as i64));
                }
            }
            (F::Inline(m), Payload::Bytes(x)) => {
                if let Value::Object(inner) = message(x, m, depth + 1)? {
                    out.extend(inner);
                }
            }
            _ => return Err(format!("{msg}.{name}: unexpected wire type")),
        }
    }
    Ok(Value::Object(out))
}

fn push(out: &mut Map<String, Value>, name: String, item: Value) {
    if let Value::Array(a) = out.entry(name).or_insert_with(|| json!([])) {
        a.push(item);
    }
}

/// Decodes a `application/vnd.kubernetes.protobuf` body into a JSON object.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or("not a Kubernetes protobuf message (missing k8s\\0 prefix)")?;
    let mut r = Reader::new(rest);
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    while !r.done() {
        match r.field()? {
            (1, Payload::Bytes(tm)) => {
                let mut t = Reader::new(tm);
                while !t.done() {
                    match t.field()? {
                        (1, Payload::Bytes(x)) => api_version = text(x)?,
                        (2, Payload::Bytes(x)) => kind = text(x)?,
                        _ => {}
                    }
                }
            }
            (2, Payload::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    let mut obj = message(raw, &kind, 0).map_err(|e| format!("{kind}: {e}"))?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn bytes_field(num: u32, b: &[u8], out: &mut Vec<u8>) {
        varint(u64::from(num) << 3 | 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let mut tm = Vec::new();
        bytes_field(1, api_version.as_bytes(), &mut tm);
        bytes_field(2, kind.as_bytes(), &mut tm);
        let mut unknown = Vec::new();
        bytes_field(1, &tm, &mut unknown);
        bytes_field(2, raw, &mut unknown);
        let mut out = MAGIC.to_vec();
        out.extend(unknown);
        out
    }

    #[test]
    fn config_map_with_data() {
        let mut meta = Vec::new();
        bytes_field(1, b"cm", &mut meta);
        varint(7 << 3, &mut meta);
        varint(0, &mut meta); // generation 0: unset
        let mut entry = Vec::new();
        bytes_field(1, b"k", &mut entry);
        bytes_field(2, b"v", &mut entry);
        let mut raw = Vec::new();
        bytes_field(1, &meta, &mut raw);
        bytes_field(2, &entry, &mut raw);
        let v = decode(&envelope("v1", "ConfigMap", &raw)).unwrap();
        assert_eq!(
            v,
            json!({"metadata": {"name": "cm"}, "data": {"k": "v"}, "apiVersion": "v1", "kind": "ConfigMap"})
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"nope").is_err());
        assert!(decode(b"k8s\0\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
        let mut deep = Vec::new();
        for _ in 0..100 {
            let mut next = Vec::new();
            bytes_field(1, &deep, &mut next);
            deep = next;
        }
        assert!(decode(&envelope("v1", "Widget", &deep)).is_err());
        assert!(decode(&envelope("v1", "ConfigMap", &[0x0a, 0x05, 0x01])).is_err());
    }
}
