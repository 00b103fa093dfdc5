//! The resource kinds the simulator serves, with what discovery and routing need
//! to know about each.

/// Index into [`KINDS`].
pub type KindId = usize;

#[derive(Debug)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [&'static str],
    /// Derived on every read (metrics) rather than stored; only get and list.
    pub computed: bool,
}

impl Kind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, the way the API server names a resource in messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Deployment.apps`, as in "Deployment.apps \"x\" is invalid".
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// URL prefix of the group version: `/api/v1` or `/apis/apps/v1`.
    pub fn gv_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    pub fn verbs(&self) -> &'static [&'static str] {
        if self.computed {
            &["get", "list"]
        } else {
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        }
    }
}

pub const NAMESPACE: KindId = 0;
pub const NODE: KindId = 1;
pub const POD: KindId = 2;
pub const SERVICE: KindId = 3;
pub const CONFIGMAP: KindId = 4;
pub const SECRET: KindId = 5;
pub const EVENT: KindId = 6;
pub const ENDPOINTS: KindId = 7;
pub const SERVICEACCOUNT: KindId = 8;
pub const DEPLOYMENT: KindId = 9;
pub const REPLICASET: KindId = 10;
pub const HPA: KindId = 11;
pub const INGRESS: KindId = 12;
pub const POD_METRICS: KindId = 13;
pub const NODE_METRICS: KindId = 14;
pub const ENDPOINTSLICE: KindId = 15;
pub const PVC: KindId = 16;
pub const PV: KindId = 17;
pub const STORAGECLASS: KindId = 18;
pub const JOB: KindId = 19;
pub const CRONJOB: KindId = 20;
pub const STATEFULSET: KindId = 21;
pub const DAEMONSET: KindId = 22;
pub const PDB: KindId = 23;
pub const NETWORKPOLICY: KindId = 24;
pub const ROLE: KindId = 25;
pub const ROLEBINDING: KindId = 26;
pub const CLUSTERROLE: KindId = 27;
pub const CLUSTERROLEBINDING: KindId = 28;
pub const RESOURCEQUOTA: KindId = 29;
pub const LIMITRANGE: KindId = 30;
pub const INGRESSCLASS: KindId = 31;
pub const PRIORITYCLASS: KindId = 32;
pub const CRD: KindId = 33;
pub const CONTROLLERREVISION: KindId = 34;

// One row of the table below; positional so the table reads as a table.
#[allow(clippy::too_many_arguments)]
const fn stored(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [&'static str],
) -> Kind {
    Kind {
        group,
        version,
        kind,
        plural,
        singular,
        namespaced,
        short_names,
        categories,
        subresources,
        computed: false,
    }
}

pub static KINDS: &[Kind] = &[
    stored(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        false,
        &["ns"],
        &[],
        &["status", "finalize"],
    ),
    stored(
        "",
        "v1",
        "Node",
        "nodes",
        "node",
        false,
        &["no"],
        &[],
        &["status"],
    ),
    stored(
        "",
        "v1",
        "Pod",
        "pods",
        "pod",
        true,
        &["po"],
        &["all"],
        &["status"],
    ),
    stored(
        "",
        "v1",
        "Service",
        "services",
        "service",
        true,
        &["svc"],
        &["all"],
        &["status"],
    ),
    stored(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        "configmap",
        true,
        &["cm"],
        &[],
        &[],
    ),
    stored("", "v1", "Secret", "secrets", "secret", true, &[], &[], &[]),
    stored(
        "",
        "v1",
        "Event",
        "events",
        "event",
        true,
        &["ev"],
        &[],
        &[],
    ),
    stored(
        "",
        "v1",
        "Endpoints",
        "endpoints",
        "endpoints",
        true,
        &["ep"],
        &[],
        &[],
    ),
    stored(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
        &[],
        &[],
    ),
    stored(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        true,
        &["deploy"],
        &["all"],
        &["scale", "status"],
    ),
    stored(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        true,
        &["rs"],
        &["all"],
        &["scale", "status"],
    ),
    stored(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        true,
        &["hpa"],
        &["all"],
        &["status"],
    ),
    stored(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        "ingress",
        true,
        &["ing"],
        &[],
        &["status"],
    ),
    Kind {
        group: "metrics.k8s.io",
        version: "v1beta1",
        kind: "PodMetrics",
        plural: "pods",
        singular: "",
        namespaced: true,
        short_names: &[],
        categories: &[],
        subresources: &[],
        computed: true,
    },
    Kind {
        group: "metrics.k8s.io",
        version: "v1beta1",
        kind: "NodeMetrics",
        plural: "nodes",
        singular: "",
        namespaced: false,
        short_names: &[],
        categories: &[],
        subresources: &[],
        computed: true,
    },
    stored(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        true,
        &[],
        &[],
        &[],
    ),
    // The kinds an application release ships beside its Deployments.
    stored(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        true,
        &["pvc"],
        &[],
        &["status"],
    ),
    stored(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        "persistentvolume",
        false,
        &["pv"],
        &[],
        &["status"],
    ),
    stored(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        "storageclass",
        false,
        &["sc"],
        &[],
        &[],
    ),
    stored(
        "batch",
        "v1",
        "Job",
        "jobs",
        "job",
        true,
        &[],
        &["all"],
        &["status"],
    ),
    stored(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        "cronjob",
        true,
        &["cj"],
        &["all"],
        &["status"],
    ),
    stored(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        true,
        &["sts"],
        &["all"],
        &["scale", "status"],
    ),
    stored(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        true,
        &["ds"],
        &["all"],
        &["status"],
    ),
    stored(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        true,
        &["pdb"],
        &[],
        &["status"],
    ),
    stored(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        "networkpolicy",
        true,
        &["netpol"],
        &[],
        &[],
    ),
    stored(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        "role",
        true,
        &[],
        &[],
        &[],
    ),
    stored(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        true,
        &[],
        &[],
        &[],
    ),
    stored(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        false,
        &[],
        &[],
        &[],
    ),
    stored(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        false,
        &[],
        &[],
        &[],
    ),
    stored(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        "resourcequota",
        true,
        &["quota"],
        &[],
        &["status"],
    ),
    stored(
        "",
        "v1",
        "LimitRange",
        "limitranges",
        "limitrange",
        true,
        &["limits"],
        &[],
        &[],
    ),
    stored(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        "ingressclass",
        false,
        &[],
        &[],
        &[],
    ),
    stored(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        "priorityclass",
        false,
        &["pc"],
        &[],
        &[],
    ),
    stored(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        false,
        &["crd", "crds"],
        &["api-extensions"],
        &["status"],
    ),
    stored(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        true,
        &[],
        &[],
        &[],
    ),
];

/// Kinds that CustomResourceDefinitions add, after the built-in ones: ids
/// from `KINDS.len()` on. Process-wide (several simulated clusters may share
/// a process), so each cluster's store says which of them it serves.
static CUSTOM: std::sync::RwLock<Vec<&'static Kind>> = std::sync::RwLock::new(Vec::new());

/// A kind a CRD version defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomKind {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub subresources: Vec<String>,
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn leak_all(v: &[String]) -> &'static [&'static str] {
    Box::leak(
        v.iter()
            .map(|s| leak(s))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

fn same(k: &Kind, c: &CustomKind) -> bool {
    k.group == c.group
        && k.version == c.version
        && k.kind == c.kind
        && k.plural == c.plural
        && k.singular == c.singular
        && k.namespaced == c.namespaced
        && k.short_names == c.short_names
        && k.categories == c.categories
        && k.subresources == c.subresources
}

/// The id of a CRD's kind, registered on first sight (by group, version and
/// plural); a changed definition replaces the old one under the same id.
pub fn register(c: &CustomKind) -> KindId {
    let mut custom = CUSTOM.write().unwrap_or_else(|e| e.into_inner());
    let at = custom
        .iter()
        .position(|k| k.group == c.group && k.version == c.version && k.plural == c.plural);
    if let Some(i) = at
        && same(custom[i], c)
    {
        return KINDS.len() + i;
    }
    let kind: &'static Kind = Box::leak(Box::new(Kind {
        group: leak(&c.group),
        version: leak(&c.version),
        kind: leak(&c.kind),
        plural: leak(&c.plural),
        singular: leak(&c.singular),
        namespaced: c.namespaced,
        short_names: leak_all(&c.short_names),
        categories: leak_all(&c.categories),
        subresources: leak_all(&c.subresources),
        computed: false,
    }));
    match at {
        Some(i) => {
            custom[i] = kind;
            KINDS.len() + i
        }
        None => {
            custom.push(kind);
            KINDS.len() + custom.len() - 1
        }
    }
}

/// Whether a CRD defines this kind (rather than the API server).
pub fn is_custom(id: KindId) -> bool {
    id >= KINDS.len()
}

/// Every kind known in this process: built-in, then custom.
pub fn all() -> Vec<(KindId, &'static Kind)> {
    let custom = CUSTOM.read().unwrap_or_else(|e| e.into_inner());
    KINDS
        .iter()
        .chain(custom.iter().copied())
        .enumerate()
        .collect()
}

pub fn get(id: KindId) -> &'static Kind {
    if id < KINDS.len() {
        return &KINDS[id];
    }
    let custom = CUSTOM.read().unwrap_or_else(|e| e.into_inner());
    custom
        .get(id - KINDS.len())
        .copied()
        .unwrap_or(&KINDS[KINDS.len() - 1])
}

/// The kind served at `<group>/<version>/<plural>`.
pub fn by_resource(group: &str, version: &str, plural: &str) -> Option<KindId> {
    all()
        .into_iter()
        .find(|(_, k)| k.group == group && k.version == version && k.plural == plural)
        .map(|(i, _)| i)
}

/// The kind an object names by `apiVersion` and `kind`.
pub fn by_gvk(api_version: &str, kind: &str) -> Option<KindId> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    all()
        .into_iter()
        .find(|(_, k)| k.group == group && k.version == version && k.kind == kind)
        .map(|(i, _)| i)
}

/// Group versions in discovery order, with their kinds.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for k in KINDS {
        if !out.iter().any(|(g, v)| *g == k.group && *v == k.version) {
            out.push((k.group, k.version));
        }
    }
    out
}

/// Kinds of one group version, built-in and custom.
pub fn in_group_version(group: &str, version: &str) -> Vec<(KindId, &'static Kind)> {
    all()
        .into_iter()
        .filter(|(_, k)| k.group == group && k.version == version)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_point_at_their_kinds() {
        assert_eq!(get(POD).kind, "Pod");
        assert_eq!(get(DEPLOYMENT).kind, "Deployment");
        assert_eq!(get(HPA).kind, "HorizontalPodAutoscaler");
        assert_eq!(get(NODE_METRICS).kind, "NodeMetrics");
        assert_eq!(by_gvk("apps/v1", "ReplicaSet"), Some(REPLICASET));
        assert_eq!(by_resource("", "v1", "pods"), Some(POD));
        for (id, kind) in [
            (PVC, "PersistentVolumeClaim"),
            (PV, "PersistentVolume"),
            (STORAGECLASS, "StorageClass"),
            (JOB, "Job"),
            (CRONJOB, "CronJob"),
            (STATEFULSET, "StatefulSet"),
            (DAEMONSET, "DaemonSet"),
            (PDB, "PodDisruptionBudget"),
            (NETWORKPOLICY, "NetworkPolicy"),
            (ROLE, "Role"),
            (ROLEBINDING, "RoleBinding"),
            (CLUSTERROLE, "ClusterRole"),
            (CLUSTERROLEBINDING, "ClusterRoleBinding"),
            (RESOURCEQUOTA, "ResourceQuota"),
            (LIMITRANGE, "LimitRange"),
            (INGRESSCLASS, "IngressClass"),
            (PRIORITYCLASS, "PriorityClass"),
            (CRD, "CustomResourceDefinition"),
            (CONTROLLERREVISION, "ControllerRevision"),
        ] {
            assert_eq!(get(id).kind, kind);
        }
        assert_eq!(
            by_resource("metrics.k8s.io", "v1beta1", "pods"),
            Some(POD_METRICS)
        );
    }
}
