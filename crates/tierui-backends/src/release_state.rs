//! A release's sync and health, as Argo CD's application list shows them.
//!
//! Sync comes from the drift (the desired objects through a server-side dry run
//! against live, normalised): in sync, out of sync (which objects, which paths),
//! missing (none of its objects exists) or unknown (with why). Health comes from
//! the live rows the live view keeps — Deployments, their pods, HPAs: healthy,
//! progressing (a rollout, a scale), degraded (crash loop, image pull, a stuck
//! rollout, an HPA held at its maximum) or missing. Both are pure functions of
//! their inputs; [`probe`] gathers those inputs once, for `tierui status --live`.

use serde::Serialize;
use serde_json::Value as Json;

use crate::kube::rows::{DeploymentRow, HpaRow, PodRow};
use tierui_core::render::diff::{Change, ObjectKey, Report};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Sync {
    InSync,
    OutOfSync {
        objects: Vec<Changed>,
    },
    /// None of the release's objects exists in the cluster.
    Missing,
    Unknown {
        reason: String,
    },
}

/// One object the cluster and the source disagree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    /// `Deployment/day-service`.
    pub object: String,
    /// created (only in the source), changed, deleted, refused (the server
    /// would not take it).
    pub change: String,
    /// Changed paths (`spec.template.spec.containers[name=web].image`), or the
    /// server's message for a refused object.
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    Healthy,
    Progressing { reason: String },
    Degraded { reason: String },
    Missing,
    Unknown { reason: String },
}

impl Sync {
    /// `Synced`, `OutOfSync`, `Missing`, `Unknown` — Argo CD's words.
    pub fn word(&self) -> &'static str {
        match self {
            Sync::InSync => "Synced",
            Sync::OutOfSync { .. } => "OutOfSync",
            Sync::Missing => "Missing",
            Sync::Unknown { .. } => "Unknown",
        }
    }

    /// One or two characters for a table cell: ✓, ~N, ○, ?.
    pub fn glyph(&self) -> String {
        match self {
            Sync::InSync => "✓".into(),
            Sync::OutOfSync { objects } => format!("~{}", objects.len()),
            Sync::Missing => "○".into(),
            Sync::Unknown { .. } => "?".into(),
        }
    }

    /// The word and what it is about: `OutOfSync: Deployment/x ~spec.replicas`.
    pub fn sentence(&self) -> String {
        match self {
            Sync::InSync => "Synced: the cluster matches the source".into(),
            Sync::OutOfSync { objects } => format!(
                "OutOfSync: {}",
                objects
                    .iter()
                    .map(Changed::short)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Sync::Missing => "Missing: none of its objects exists in the cluster".into(),
            Sync::Unknown { reason } => format!("Unknown: {reason}"),
        }
    }

    /// The keyword `/sync:` filters on.
    pub fn key(&self) -> &'static str {
        match self {
            Sync::InSync => "in",
            Sync::OutOfSync { .. } => "out",
            Sync::Missing => "missing",
            Sync::Unknown { .. } => "unknown",
        }
    }
}

impl Changed {
    /// `Deployment/x ~spec.replicas` (`+` created, `-` deleted, `!` refused).
    pub fn short(&self) -> String {
        let mark = match self.change.as_str() {
            "created" => "+",
            "deleted" => "-",
            "refused" => "!",
            _ => "~",
        };
        if self.change == "refused" {
            // The server's reason (a conflict with another field manager…).
            format!("{mark}{} (refused: {})", self.object, self.paths.join("; "))
        } else if self.paths.is_empty() {
            format!("{mark}{}", self.object)
        } else {
            format!("{} {mark}{}", self.object, self.paths.join(" ~"))
        }
    }
}

impl Health {
    pub fn word(&self) -> &'static str {
        match self {
            Health::Healthy => "Healthy",
            Health::Progressing { .. } => "Progressing",
            Health::Degraded { .. } => "Degraded",
            Health::Missing => "Missing",
            Health::Unknown { .. } => "Unknown",
        }
    }

    pub fn glyph(&self) -> &'static str {
        match self {
            Health::Healthy => "♥",
            Health::Progressing { .. } => "◐",
            Health::Degraded { .. } => "✗",
            Health::Missing => "○",
            Health::Unknown { .. } => "?",
        }
    }

    pub fn sentence(&self) -> String {
        match self {
            Health::Progressing { reason }
            | Health::Degraded { reason }
            | Health::Unknown { reason } => format!("{}: {reason}", self.word()),
            Health::Missing => "Missing: no workload of the release runs".into(),
            Health::Healthy => "Healthy".into(),
        }
    }

    /// The keyword `/health:` filters on.
    pub fn key(&self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Progressing { .. } => "progressing",
            Health::Degraded { .. } => "degraded",
            Health::Missing => "missing",
            Health::Unknown { .. } => "unknown",
        }
    }
}

/// Sync from a drift report and the objects the server refused in the dry run.
pub fn sync_of(report: &Report, refused: &[(String, String)]) -> Sync {
    if report.objects.is_empty() && refused.is_empty() {
        return Sync::Unknown {
            reason: "the release renders no objects".into(),
        };
    }
    // Every object refused: the cluster did not answer for any of them.
    if !refused.is_empty() && refused.len() >= report.objects.len() {
        return Sync::Unknown {
            reason: format!("the cluster refused every object: {}", refused[0].1),
        };
    }
    let all_created = report.objects.iter().all(|o| o.change == Change::Created);
    if all_created && refused.is_empty() {
        return Sync::Missing;
    }
    let refused_keys: Vec<&str> = refused.iter().map(|(o, _)| o.as_str()).collect();
    let mut objects: Vec<Changed> = report
        .objects
        .iter()
        .filter(|o| o.change != Change::Same)
        // A refused object is listed once, as refused.
        .filter(|o| !refused_keys.contains(&o.key.display().as_str()))
        .map(|o| Changed {
            object: format!("{}/{}", o.key.kind, o.key.name),
            change: o.change.label().to_string(),
            paths: match &o.change {
                Change::Changed { paths } => paths.clone(),
                _ => Vec::new(),
            },
        })
        .collect();
    objects.extend(refused.iter().map(|(object, message)| {
        Changed {
            // `ns/Kind/name` → `Kind/name`.
            object: object
                .split_once('/')
                .map_or(object.as_str(), |(_, r)| r)
                .to_string(),
            change: "refused".into(),
            paths: vec![message.clone()],
        }
    }));
    if objects.is_empty() {
        Sync::InSync
    } else {
        Sync::OutOfSync { objects }
    }
}

/// The Deployments and HPAs a release declares (from its drift report's keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Workloads {
    pub namespace: String,
    pub deployments: Vec<String>,
    pub hpas: Vec<String>,
    /// Every object of the release as `Kind/name` (what a change of asks its
    /// drift again).
    pub objects: Vec<String>,
}

impl Workloads {
    pub fn of(keys: &[ObjectKey], namespace: &str) -> Workloads {
        let named = |kind: &str| {
            keys.iter()
                .filter(|k| k.kind == kind)
                .map(|k| k.name.clone())
                .collect::<Vec<_>>()
        };
        let ns = keys
            .iter()
            .find(|k| k.kind == "Deployment")
            .map_or(namespace, |k| k.namespace.as_str());
        Workloads {
            namespace: ns.to_string(),
            deployments: named("Deployment"),
            hpas: named("HorizontalPodAutoscaler"),
            objects: keys
                .iter()
                .map(|k| format!("{}/{}", k.kind, k.name))
                .collect(),
        }
    }

    /// A pod belongs to one of the Deployments when its ReplicaSet is
    /// `<deployment>-<pod-template-hash>` (the hash has no dash).
    pub fn owns_pod(&self, p: &PodRow) -> bool {
        *p.namespace == *self.namespace
            && p.owner
                .rsplit_once('-')
                .is_some_and(|(d, _)| self.deployments.iter().any(|x| x == d))
    }
}

/// What is running, for the release pane's `live` line and the table's columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveSummary {
    /// Ready pods of the release's Deployments / their desired replicas.
    pub ready: i32,
    pub desired: i32,
    /// `4 → 5 (cpu 71%/60%)` of the first HPA, when there is one.
    pub hpa: Option<String>,
    /// `v1.2.4 2/3` while a Deployment rolls out.
    pub rollout: Option<String>,
}

impl LiveSummary {
    /// `3/3 ready · HPA 4 → 5 (cpu 71%/60%) · rollout v1.2.4 2/3`.
    pub fn line(&self) -> String {
        let mut parts = vec![format!("{}/{} ready", self.ready, self.desired)];
        if let Some(h) = &self.hpa {
            parts.push(format!("HPA {h}"));
        }
        if let Some(r) = &self.rollout {
            parts.push(format!("rollout {r}"));
        }
        parts.join(" · ")
    }
}

/// Waiting or terminated reasons that mean a container will not come up by itself.
const BAD_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "OOMKilled",
    "Error",
];

fn tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rsplit_once(':') {
        Some((_, t)) if !t.contains('/') => t,
        _ => image,
    }
}

fn own<'a, R>(
    rows: &'a [&'a R],
    names: &[String],
    ns: &str,
    key: impl Fn(&R) -> (&str, &str),
) -> Vec<&'a R> {
    rows.iter()
        .copied()
        .filter(|r| {
            let (n, name) = key(r);
            n == ns && names.iter().any(|x| x == name)
        })
        .collect()
}

/// Health and the live summary of a release from live rows (any rows may be
/// passed: the release's own are picked by name and owner).
pub fn health_of(
    w: &Workloads,
    deployments: &[&DeploymentRow],
    pods: &[&PodRow],
    hpas: &[&HpaRow],
) -> (Health, LiveSummary) {
    let ns = w.namespace.as_str();
    let deps = own(deployments, &w.deployments, ns, |d| (&d.namespace, &d.name));
    let hpas = own(hpas, &w.hpas, ns, |h| (&h.namespace, &h.name));
    let pods: Vec<&PodRow> = pods.iter().copied().filter(|p| w.owns_pod(p)).collect();
    let mut live = LiveSummary {
        ready: pods
            .iter()
            .filter(|p| p.containers > 0 && p.ready == p.containers && &*p.status == "Running")
            .count() as i32,
        desired: deps.iter().map(|d| d.desired).sum(),
        hpa: hpas.first().map(|h| {
            let targets = h
                .metrics
                .iter()
                .map(|m| format!("{} {}/{}", m.name, m.current, m.target))
                .collect::<Vec<_>>()
                .join(", ");
            if targets.is_empty() {
                format!("{} → {}", h.current, h.desired)
            } else {
                format!("{} → {} ({targets})", h.current, h.desired)
            }
        }),
        rollout: None,
    };
    if w.deployments.is_empty() {
        // Nothing that runs: healthy once it exists (sync says whether it does).
        return (Health::Healthy, live);
    }
    if deps.is_empty() {
        return (Health::Missing, live);
    }
    let rolling: Vec<&&DeploymentRow> = deps.iter().filter(|d| !d.complete).collect();
    if let Some(d) = rolling.first() {
        live.rollout = Some(if d.updated < d.desired {
            format!("{} {}/{} updated", tag(&d.image), d.updated, d.desired)
        } else {
            format!("{} {}/{} available", tag(&d.image), d.available, d.desired)
        });
    }
    (health_from(&deps, &pods, &hpas, &live), live)
}

fn health_from(
    deps: &[&DeploymentRow],
    pods: &[&PodRow],
    hpas: &[&HpaRow],
    live: &LiveSummary,
) -> Health {
    // A container that will not come up by itself.
    if let Some(p) = pods.iter().find(|p| BAD_REASONS.contains(&&*p.status)) {
        let n = pods.iter().filter(|x| x.status == p.status).count();
        return Health::Degraded {
            reason: format!(
                "{} ({n} pod{}, e.g. {})",
                if &*p.status == "Error" {
                    "CrashLoopBackOff"
                } else {
                    &p.status
                },
                if n == 1 { "" } else { "s" },
                p.name
            ),
        };
    }
    for d in deps {
        if d.conditions
            .iter()
            .any(|c| c.ends_with("ProgressDeadlineExceeded"))
        {
            return Health::Degraded {
                reason: format!(
                    "rollout of {} stuck: {} unavailable replica{} (ProgressDeadlineExceeded)",
                    d.name,
                    (d.desired - d.available).max(0),
                    if d.desired - d.available == 1 {
                        ""
                    } else {
                        "s"
                    }
                ),
            };
        }
    }
    if let Some(h) = hpas.iter().find(|h| at_max(h)) {
        return Health::Degraded {
            reason: format!("HPA {} at its maximum of {} and wants more", h.name, h.max),
        };
    }
    if let Some(r) = &live.rollout {
        return Health::Progressing {
            reason: format!("rollout {r}"),
        };
    }
    if let Some(h) = hpas.iter().find(|h| h.desired != h.current) {
        return Health::Progressing {
            reason: format!("scaling {} → {}", h.current, h.desired),
        };
    }
    if live.ready < live.desired {
        return Health::Progressing {
            reason: format!("scaling: {}/{} ready", live.ready, live.desired),
        };
    }
    Health::Healthy
}

/// An HPA that cannot scale out although its metrics ask for it.
fn at_max(h: &HpaRow) -> bool {
    h.max > h.min
        && h.current >= h.max
        && h.conditions
            .iter()
            .any(|c| c.starts_with("ScalingLimited") && c.contains("TooManyReplicas"))
}

/// When a release's objects were last changed, and by which field manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastChange {
    /// RFC 3339, as managedFields has it.
    pub at: String,
    pub manager: String,
    /// Apply (server-side) or Update.
    pub operation: String,
}

/// The newest managedFields entry of the live objects that changed their spec
/// (status and scale subresources are the controllers', not a release).
pub fn last_change(live: &[Json]) -> Option<LastChange> {
    live.iter()
        .filter_map(|o| o.pointer("/metadata/managedFields")?.as_array())
        .flatten()
        .filter(|e| {
            e.get("subresource")
                .and_then(Json::as_str)
                .unwrap_or("")
                .is_empty()
        })
        .filter_map(|e| {
            Some(LastChange {
                at: e.get("time")?.as_str()?.to_string(),
                manager: e.get("manager")?.as_str()?.to_string(),
                operation: e
                    .get("operation")
                    .and_then(Json::as_str)
                    .unwrap_or("Update")
                    .to_string(),
            })
        })
        // RFC 3339 times in UTC sort as text.
        .max_by(|a, b| a.at.cmp(&b.at))
}

/// Everything `tierui status --live` says of one release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseState {
    pub sync: Sync,
    pub health: Health,
    pub live: Option<LiveSummary>,
    pub last_change: Option<LastChange>,
}

impl ReleaseState {
    pub fn unknown(reason: &str) -> ReleaseState {
        ReleaseState {
            sync: Sync::Unknown {
                reason: reason.to_string(),
            },
            health: Health::Unknown {
                reason: reason.to_string(),
            },
            live: None,
            last_change: None,
        }
    }

    /// Out of sync or degraded: what `--strict` fails on.
    pub fn needs_attention(&self) -> bool {
        matches!(self.sync, Sync::OutOfSync { .. } | Sync::Missing)
            || matches!(self.health, Health::Degraded { .. } | Health::Missing)
    }
}

/// Gathers a release's state once: its drift, then the live rows of its
/// namespace (Deployments, pods, HPAs), through the same functions the live
/// view projects watch events with.
pub async fn probe(
    client: &kube::Client,
    ws: &tierui_core::workspace::Workspace,
    r: &tierui_core::workspace::Release,
    tools: tierui_core::render::desired::Tools,
) -> ReleaseState {
    let drift = match crate::release::drift(client, ws, r, tools).await {
        Ok(d) => d,
        Err(e) => return ReleaseState::unknown(&format!("render failed: {e}")),
    };
    let sync = sync_of(&drift.report, &drift.refused);
    let keys: Vec<ObjectKey> = drift.report.objects.iter().map(|o| o.key.clone()).collect();
    let w = Workloads::of(&keys, &r.namespace);
    let (health, live) = match rows(client, &w.namespace).await {
        Ok((d, p, h)) => {
            let (health, live) = health_of(
                &w,
                &d.iter().collect::<Vec<_>>(),
                &p.iter().collect::<Vec<_>>(),
                &h.iter().collect::<Vec<_>>(),
            );
            (health, Some(live))
        }
        Err(e) => (Health::Unknown { reason: e }, None),
    };
    let health = match (&sync, health) {
        (Sync::Unknown { reason }, _) => Health::Unknown {
            reason: reason.clone(),
        },
        (_, h) => h,
    };
    ReleaseState {
        sync,
        health,
        live,
        last_change: drift.last_change,
    }
}

type Rows = (Vec<DeploymentRow>, Vec<PodRow>, Vec<HpaRow>);

async fn rows(client: &kube::Client, ns: &str) -> Result<Rows, String> {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams};
    let lp = ListParams::default();
    let err = |what: &str, e: kube::Error| format!("list {what} in {ns}: {e}");
    let d = Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .map_err(|e| err("deployments", e))?;
    let p = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .map_err(|e| err("pods", e))?;
    let h = Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .map_err(|e| err("horizontalpodautoscalers", e))?;
    Ok((
        d.items
            .iter()
            .map(crate::kube::rows::deployment_row)
            .collect(),
        p.items.iter().map(crate::kube::rows::pod_row).collect(),
        h.items.iter().map(crate::kube::rows::hpa_row).collect(),
    ))
}

#[cfg(test)]
// Slices of one cloned object read more plainly in these tables than from_ref.
#[allow(clippy::cloned_ref_to_slice_refs)]
mod tests {
    use super::*;
    use tierui_core::render::diff::diff_objects;

    fn dep(
        name: &str,
        desired: i32,
        updated: i32,
        available: i32,
        complete: bool,
    ) -> DeploymentRow {
        DeploymentRow {
            namespace: "ns".into(),
            name: name.into(),
            desired,
            updated,
            ready: available,
            available,
            total: desired,
            image: "repo/app:v2".into(),
            conditions: vec!["Available: MinimumReplicasAvailable".into()],
            complete,
            generation: 1,
        }
    }

    fn pod(name: &str, owner: &str, status: &str, ready: bool) -> PodRow {
        PodRow {
            namespace: "ns".into(),
            name: name.into(),
            ready: u32::from(ready),
            containers: 1,
            status: status.into(),
            restarts: 0,
            created: None,
            node: "".into(),
            owner: owner.into(),
            image: "".into(),
        }
    }

    fn hpa(current: i32, desired: i32, max: i32, limited: bool) -> HpaRow {
        HpaRow {
            namespace: "ns".into(),
            name: "web".into(),
            target: "Deployment/web".into(),
            min: 2,
            max,
            current,
            desired,
            metrics: vec![crate::kube::rows::MetricRow {
                kind: "Resource".into(),
                name: "cpu".into(),
                current: "71%".into(),
                target: "60%".into(),
            }],
            conditions: if limited {
                vec!["ScalingLimited: TooManyReplicas".into()]
            } else {
                vec!["ScalingLimited: DesiredWithinRange".into()]
            },
            last_scale: None,
            generation: 1,
        }
    }

    fn w() -> Workloads {
        Workloads {
            namespace: "ns".into(),
            deployments: vec!["web".into()],
            hpas: vec!["web".into()],
            objects: Vec::new(),
        }
    }

    fn health(d: &[DeploymentRow], p: &[PodRow], h: &[HpaRow]) -> (Health, LiveSummary) {
        health_of(
            &w(),
            &d.iter().collect::<Vec<_>>(),
            &p.iter().collect::<Vec<_>>(),
            &h.iter().collect::<Vec<_>>(),
        )
    }

    fn obj(kind: &str, name: &str, image: &str) -> Json {
        serde_json::json!({"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}})
    }

    #[test]
    fn sync_states() {
        let a = obj("Deployment", "web", "repo/app:v1");
        let b = obj("Deployment", "web", "repo/app:v2");
        assert_eq!(
            sync_of(&diff_objects(&[a.clone()], &[a.clone()], "ns"), &[]),
            Sync::InSync
        );
        let out = sync_of(&diff_objects(&[a.clone()], &[b.clone()], "ns"), &[]);
        assert_eq!(out.glyph(), "~1");
        assert_eq!(
            out.sentence(),
            "OutOfSync: Deployment/web ~spec.template.spec.containers[name=web].image"
        );
        assert_eq!(
            sync_of(&diff_objects(&[], &[b.clone()], "ns"), &[]),
            Sync::Missing
        );
        // One object there, one not: out of sync, the missing one created.
        let c = obj("Deployment", "api", "repo/api:v1");
        let s = sync_of(&diff_objects(&[a.clone()], &[a.clone(), c], "ns"), &[]);
        assert_eq!(s.sentence(), "OutOfSync: +Deployment/api");
        // Everything refused: the cluster did not answer.
        let refused = vec![(
            "ns/Deployment/web".to_string(),
            "connection refused".to_string(),
        )];
        let s = sync_of(&diff_objects(&[], &[b.clone()], "ns"), &refused);
        assert_eq!(s.key(), "unknown");
        assert!(s.sentence().contains("connection refused"));
        // One of two refused: out of sync, listed once as refused.
        let c = obj("Deployment", "api", "repo/api:v1");
        let refused = vec![(
            "ns/Deployment/api".to_string(),
            "admission denied".to_string(),
        )];
        let s = sync_of(&diff_objects(&[a.clone()], &[a, c], "ns"), &refused);
        assert_eq!(
            s.sentence(),
            "OutOfSync: !Deployment/api (refused: admission denied)"
        );
        assert_eq!(
            sync_of(&Report::default(), &[]).key(),
            "unknown",
            "a release that renders nothing is not in sync with anything"
        );
    }

    #[test]
    fn healthy_progressing_degraded_missing() {
        let ok = [
            pod("web-abc12-x", "web-abc12", "Running", true),
            pod("web-abc12-y", "web-abc12", "Running", true),
        ];
        let (h, live) = health(&[dep("web", 2, 2, 2, true)], &ok, &[hpa(2, 2, 10, false)]);
        assert_eq!(h, Health::Healthy);
        assert_eq!(live.line(), "2/2 ready · HPA 2 → 2 (cpu 71%/60%)");
        // A rollout in flight.
        let (h, live) = health(&[dep("web", 3, 1, 3, false)], &ok, &[]);
        assert_eq!(
            h,
            Health::Progressing {
                reason: "rollout v2 1/3 updated".into()
            }
        );
        assert_eq!(live.rollout.as_deref(), Some("v2 1/3 updated"));
        // Every pod updated, not all available yet.
        let (_, live) = health(&[dep("web", 3, 3, 1, false)], &ok, &[]);
        assert_eq!(live.rollout.as_deref(), Some("v2 1/3 available"));
        // The HPA wants more pods.
        let (h, _) = health(&[dep("web", 2, 2, 2, true)], &ok, &[hpa(2, 4, 10, false)]);
        assert_eq!(h.sentence(), "Progressing: scaling 2 → 4");
        // Pods starting after a scale-up.
        let one = [
            pod("web-abc12-x", "web-abc12", "Running", true),
            pod("web-abc12-z", "web-abc12", "ContainerCreating", false),
        ];
        let (h, _) = health(&[dep("web", 2, 2, 1, true)], &one, &[]);
        assert_eq!(h.sentence(), "Progressing: scaling: 1/2 ready");
        // A crash loop beats a rollout in flight.
        let bad = [
            pod("web-def34-q", "web-def34", "CrashLoopBackOff", false),
            ok[0].clone(),
        ];
        let (h, _) = health(&[dep("web", 2, 1, 2, false)], &bad, &[]);
        assert_eq!(h.key(), "degraded");
        assert_eq!(
            h.sentence(),
            "Degraded: CrashLoopBackOff (1 pod, e.g. web-def34-q)"
        );
        let pull = [pod("web-def34-q", "web-def34", "ImagePullBackOff", false)];
        assert!(
            health(&[dep("web", 1, 1, 0, false)], &pull, &[])
                .0
                .sentence()
                .contains("ImagePullBackOff")
        );
        // A stuck rollout.
        let mut stuck = dep("web", 3, 1, 2, false);
        stuck
            .conditions
            .push("Progressing: ProgressDeadlineExceeded".into());
        assert!(
            health(&[stuck], &ok, &[])
                .0
                .sentence()
                .contains("1 unavailable replica (ProgressDeadlineExceeded)")
        );
        // An HPA held at its maximum.
        let (h, _) = health(
            &[dep("web", 10, 10, 10, true)],
            &[],
            &[hpa(10, 10, 10, true)],
        );
        assert_eq!(
            h.sentence(),
            "Degraded: HPA web at its maximum of 10 and wants more"
        );
        // No Deployment live.
        assert_eq!(health(&[], &[], &[]).0, Health::Missing);
        // Pods of another Deployment whose name shares a prefix are not ours.
        let other = [pod(
            "web-api-abc12-x",
            "web-api-abc12",
            "CrashLoopBackOff",
            false,
        )];
        assert_eq!(
            health(&[dep("web", 0, 0, 0, true)], &other, &[]).0,
            Health::Healthy
        );
    }

    #[test]
    fn last_change_is_the_newest_spec_write() {
        let live = vec![
            serde_json::json!({"metadata": {"managedFields": [
                {"manager": "tierui", "operation": "Apply", "time": "2026-12-01T10:00:00Z"},
                {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status", "time": "2026-12-03T10:00:00Z"},
            ]}}),
            serde_json::json!({"metadata": {"managedFields": [
                {"manager": "kubectl-edit", "operation": "Update", "time": "2026-12-02T09:00:00Z"},
            ]}}),
        ];
        let c = last_change(&live).unwrap();
        assert_eq!(
            (c.manager.as_str(), c.at.as_str()),
            ("kubectl-edit", "2026-12-02T09:00:00Z")
        );
        assert_eq!(last_change(&[]), None);
    }

    #[test]
    fn attention() {
        let mut s = ReleaseState::unknown("x");
        assert!(!s.needs_attention());
        s.sync = Sync::Missing;
        assert!(s.needs_attention());
        s.sync = Sync::InSync;
        s.health = Health::Degraded { reason: "r".into() };
        assert!(s.needs_attention());
    }
}
