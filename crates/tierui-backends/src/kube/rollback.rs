//! Rolling a Deployment back the way `kubectl rollout undo --to-revision=N`
//! does: the revisions are its ReplicaSets (their
//! `deployment.kubernetes.io/revision`), and undo replaces the Deployment's
//! pod template with the chosen ReplicaSet's (without `pod-template-hash`)
//! and its annotations with the ReplicaSet's (change-cause among them), in
//! one JSON patch. The Deployment controller then rolls out as for any
//! template change, under a new revision number.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value as Json, json};

use super::logs::selector_string;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
const HASH_LABEL: &str = "pod-template-hash";

/// Annotations of a ReplicaSet that are the controller's, not the
/// template's: kubectl keeps the Deployment's own values of these.
const SKIPPED: [&str; 5] = [
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "kubectl.kubernetes.io/last-applied-configuration",
];

/// The field manager tierui's rollbacks are recorded under.
pub const FIELD_MANAGER: &str = "tierui-rollback";

/// One revision of a Deployment: a ReplicaSet it owns.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub revision: i64,
    pub replica_set: String,
    /// `container=image` of each container.
    pub images: Vec<(String, String)>,
    /// When the ReplicaSet was created (Unix seconds).
    pub created: Option<i64>,
    pub change_cause: Option<String>,
    /// The revision the Deployment runs now.
    pub current: bool,
    /// Its pod template without the `pod-template-hash` label.
    pub template: Json,
    /// Its annotations (to carry over, as kubectl does).
    annotations: serde_json::Map<String, Json>,
}

/// A Deployment's history, newest revision first.
#[derive(Debug, Clone)]
pub struct History {
    pub namespace: String,
    pub deployment: String,
    pub paused: bool,
    /// The Deployment's pod template now (without the hash label).
    pub template: Json,
    annotations: serde_json::Map<String, Json>,
    pub revisions: Vec<Revision>,
}

fn status(what: &str, e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{what}: {} ({} {})", s.message, s.code, s.reason),
        other => format!("{what}: {other}"),
    }
}

/// A pod template as a plain value, without the controller's hash label.
pub fn template_without_hash(template: &Json) -> Json {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Json::as_object_mut)
    {
        labels.remove(HASH_LABEL);
    }
    t
}

fn images(template: &Json) -> Vec<(String, String)> {
    template
        .pointer("/spec/containers")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |k: &str| c.get(k).and_then(Json::as_str).unwrap_or("").to_string();
            (s("name"), s("image"))
        })
        .collect()
}

fn annotations(obj: &Json) -> serde_json::Map<String, Json> {
    obj.pointer("/metadata/annotations")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Builds the history from the Deployment and the ReplicaSets of its
/// namespace (only those it controls count).
pub fn history_of(deployment: &Json, replica_sets: &[Json]) -> History {
    let uid = deployment.pointer("/metadata/uid").and_then(Json::as_str);
    let current = annotations(deployment)
        .get(REVISION)
        .and_then(Json::as_str)
        .and_then(|r| r.parse::<i64>().ok());
    let template =
        template_without_hash(deployment.pointer("/spec/template").unwrap_or(&Json::Null));
    let mut revisions: Vec<Revision> = replica_sets
        .iter()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Json::as_array)
                .is_some_and(|refs| {
                    refs.iter().any(|r| {
                        r.get("controller").and_then(Json::as_bool) == Some(true)
                            && r.get("uid").and_then(Json::as_str) == uid
                    })
                })
        })
        .filter_map(|rs| {
            let ann = annotations(rs);
            let revision = ann.get(REVISION)?.as_str()?.parse::<i64>().ok()?;
            let template =
                template_without_hash(rs.pointer("/spec/template").unwrap_or(&Json::Null));
            Some(Revision {
                revision,
                replica_set: rs
                    .pointer("/metadata/name")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string(),
                images: images(&template),
                created: rs
                    .pointer("/metadata/creationTimestamp")
                    .and_then(Json::as_str)
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .map(|t| t.as_second()),
                change_cause: ann
                    .get(CHANGE_CAUSE)
                    .and_then(Json::as_str)
                    .map(str::to_string),
                current: Some(revision) == current,
                template,
                annotations: ann,
            })
        })
        .collect();
    revisions.sort_by_key(|r| std::cmp::Reverse(r.revision));
    History {
        namespace: deployment
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string(),
        deployment: deployment
            .pointer("/metadata/name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string(),
        paused: deployment
            .pointer("/spec/paused")
            .and_then(Json::as_bool)
            .unwrap_or(false),
        template,
        annotations: annotations(deployment),
        revisions,
    }
}

/// Reads a Deployment's revisions from the cluster.
pub async fn history(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<History, String> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let d = deployments
        .get(name)
        .await
        .map_err(|e| status(&format!("reading deployment {namespace}/{name}"), e))?;
    let selector = d
        .spec
        .as_ref()
        .map(|s| selector_string(&s.selector))
        .unwrap_or_default();
    let rs: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
    let list = rs
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| status(&format!("listing replicasets in {namespace}"), e))?;
    let d = serde_json::to_value(&d).map_err(|e| e.to_string())?;
    let sets: Vec<Json> = list
        .items
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    Ok(history_of(&d, &sets))
}

impl History {
    pub fn revision(&self, n: i64) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.revision == n)
    }

    /// The revision before the current one (what `rollout undo` without
    /// `--to-revision` picks).
    pub fn previous(&self) -> Option<&Revision> {
        let current = self.revisions.iter().find(|r| r.current)?.revision;
        self.revisions.iter().find(|r| r.revision < current)
    }

    /// The pod template's change from now to `to`, as `diff -u` lines
    /// (`-` now, `+` after the rollback).
    pub fn template_diff(&self, to: &Revision) -> Vec<String> {
        let before = tierui_core::render::diff::to_yaml(&self.template);
        let after = tierui_core::render::diff::to_yaml(&to.template);
        let mut out = Vec::new();
        for hunk in tierui_core::render::diff::line_diff(&before, &after, 2) {
            if !out.is_empty() {
                out.push("…".to_string());
            }
            for l in hunk {
                let sign = match l.tag {
                    tierui_core::render::diff::LineTag::Same => ' ',
                    tierui_core::render::diff::LineTag::Removed => '-',
                    tierui_core::render::diff::LineTag::Added => '+',
                };
                out.push(format!("{sign} {}", l.text()));
            }
        }
        out
    }

    /// Why undoing to `to` cannot or need not be done (kubectl's words).
    pub fn refusal(&self, to: &Revision) -> Option<String> {
        if self.paused {
            return Some(format!(
                "deployment {} is paused: resume it first (kubectl rollout resume deployment/{})",
                self.deployment, self.deployment
            ));
        }
        if self.template == to.template {
            return Some(format!(
                "skipped rollback (current template already matches revision {})",
                to.revision
            ));
        }
        None
    }

    /// The JSON patch `kubectl rollout undo` sends: the revision's template,
    /// and its annotations (keeping the Deployment's own revision ones).
    pub fn undo_patch(&self, to: &Revision) -> Json {
        let mut ann = serde_json::Map::new();
        for k in SKIPPED {
            if let Some(v) = self.annotations.get(k) {
                ann.insert(k.to_string(), v.clone());
            }
        }
        for (k, v) in &to.annotations {
            if !SKIPPED.contains(&k.as_str()) {
                ann.insert(k.clone(), v.clone());
            }
        }
        json!([
            {"op": "replace", "path": "/spec/template", "value": to.template},
            {"op": "replace", "path": "/metadata/annotations", "value": ann},
        ])
    }
}

/// Rolls the Deployment back to `revision`, reading its history afresh
/// (the cluster may have moved since it was shown). Returns what happened,
/// in kubectl's words.
pub async fn undo(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    revision: i64,
) -> Result<String, String> {
    let h = history(client, namespace, name).await?;
    let to = h
        .revision(revision)
        .ok_or_else(|| format!("unable to find revision {revision} of deployment {name}"))?;
    if let Some(why) = h.refusal(to) {
        return Err(why);
    }
    let patch: json_patch::Patch =
        serde_json::from_value(h.undo_patch(to)).map_err(|e| e.to_string())?;
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    api.patch(name, &pp, &Patch::<()>::Json(patch))
        .await
        .map_err(|e| status(&format!("patching deployment {namespace}/{name}"), e))?;
    Ok(format!(
        "deployment.apps/{name} rolled back to revision {revision}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(name: &str, rev: &str, image: &str, cause: Option<&str>, uid: &str) -> Json {
        let mut ann = json!({REVISION: rev});
        if let Some(c) = cause {
            ann[CHANGE_CAUSE] = json!(c);
        }
        json!({
            "metadata": {
                "name": name, "annotations": ann,
                "creationTimestamp": "2026-12-01T10:00:00Z",
                "ownerReferences": [{"controller": true, "uid": uid, "kind": "Deployment", "name": "web"}]
            },
            "spec": {"template": {
                "metadata": {"labels": {"app": "web", "pod-template-hash": name}},
                "spec": {"containers": [{"name": "web", "image": image}]}
            }}
        })
    }

    fn deployment(rev: &str, image: &str) -> Json {
        json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1",
                "annotations": {REVISION: rev, "team": "payments"}},
            "spec": {"template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}
            }}
        })
    }

    #[test]
    fn history_lists_owned_replicasets_newest_first() {
        let sets = vec![
            rs("web-1", "1", "web:v1", Some("first"), "u1"),
            rs("web-3", "3", "web:v3", None, "u1"),
            rs("web-2", "2", "web:v2", None, "u1"),
            rs("other-1", "7", "other:v1", None, "u2"),
        ];
        let h = history_of(&deployment("3", "web:v3"), &sets);
        let revs: Vec<i64> = h.revisions.iter().map(|r| r.revision).collect();
        assert_eq!(revs, vec![3, 2, 1]);
        assert!(h.revisions[0].current);
        assert_eq!(h.previous().map(|r| r.revision), Some(2));
        assert_eq!(h.revisions[2].change_cause.as_deref(), Some("first"));
        assert_eq!(
            h.revisions[2].images,
            vec![("web".to_string(), "web:v1".to_string())]
        );
        // The hash label is not part of the comparison.
        assert!(h.refusal(&h.revisions[0]).is_some());
        assert!(h.refusal(&h.revisions[2]).is_none());
    }

    #[test]
    fn the_patch_is_kubectls() {
        let sets = vec![
            rs("web-1", "1", "web:v1", Some("first"), "u1"),
            rs("web-2", "2", "web:v2", None, "u1"),
        ];
        let h = history_of(&deployment("2", "web:v2"), &sets);
        let p = h.undo_patch(h.revision(1).unwrap());
        assert_eq!(p[0]["path"], "/spec/template");
        assert_eq!(p[0]["value"]["spec"]["containers"][0]["image"], "web:v1");
        assert!(
            p[0]["value"]["metadata"]["labels"]
                .get(HASH_LABEL)
                .is_none()
        );
        // The Deployment's revision stays; the RS's change-cause comes along;
        // other Deployment annotations go, as with kubectl.
        assert_eq!(p[1]["value"][REVISION], "2");
        assert_eq!(p[1]["value"][CHANGE_CAUSE], "first");
        assert!(p[1]["value"].get("team").is_none());
        let diff = h.template_diff(h.revision(1).unwrap());
        assert!(
            diff.iter()
                .any(|l| l.starts_with('-') && l.contains("web:v2"))
        );
        assert!(
            diff.iter()
                .any(|l| l.starts_with('+') && l.contains("web:v1"))
        );
    }

    #[test]
    fn a_paused_deployment_is_refused() {
        let mut d = deployment("2", "web:v2");
        d["spec"]["paused"] = json!(true);
        let sets = vec![rs("web-1", "1", "web:v1", None, "u1")];
        let h = history_of(&d, &sets);
        assert!(h.refusal(&h.revisions[0]).unwrap().contains("paused"));
    }
}
