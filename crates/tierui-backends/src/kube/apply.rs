//! Reading live objects and server-side apply (field manager `tierui`), for real or
//! as a server-side dry run, which is what the drift diff compares against.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{Scope as ApiScope, pinned_kind};
use serde_json::Value as Json;
use tierui_core::render::applyset::ApplySet;
use tierui_core::render::holes::{self, DECIDED_AT_APPLY};
use tierui_core::render::normalize::CLUSTER_SCOPED;
use tierui_core::render::ownership;

pub const FIELD_MANAGER: &str = "tierui";

/// What happened to one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `ns/Kind/name`.
    pub object: String,
    /// The live object before (None: it did not exist).
    pub live: Option<Json>,
    /// The object as the server has (or would have) it after the apply.
    pub applied: Result<Json, String>,
    /// Values the render could not know (secrets, known after apply) and what
    /// was sent in their place.
    pub notes: Vec<String>,
    /// The server refused because other field managers own changed fields.
    pub conflict: bool,
    /// The object was deleted (pruned: no longer in the release's manifests).
    pub pruned: bool,
}

/// How to apply.
#[derive(Debug, Clone, Default)]
pub struct Opts {
    /// A server-side dry run: nothing changes.
    pub dry_run: bool,
    /// Take ownership of fields other managers hold (`--force-conflicts`).
    pub force: bool,
    /// Label every object as a member of this apply set.
    pub set: Option<ApplySet>,
}

pub(crate) async fn api_for(
    client: &kube::Client,
    obj: &Json,
    default_ns: &str,
) -> Result<(Api<DynamicObject>, String), String> {
    let api_version = obj["apiVersion"]
        .as_str()
        .ok_or("object without apiVersion")?;
    let kind = obj["kind"].as_str().ok_or("object without kind")?;
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
    let (ar, caps) = pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("{api_version} {kind} is not served by this cluster: {e}"))?;
    let name = obj
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .ok_or("object without metadata.name")?
        .to_string();
    Ok(match caps.scope {
        ApiScope::Namespaced => {
            let ns = obj
                .pointer("/metadata/namespace")
                .and_then(Json::as_str)
                .unwrap_or(default_ns);
            (Api::namespaced_with(client.clone(), ns, &ar), name)
        }
        ApiScope::Cluster => (Api::all_with(client.clone(), &ar), name),
    })
}

/// `ns/Kind/name`, as outcomes name objects.
pub fn describe(obj: &Json, default_ns: &str) -> String {
    let kind = obj["kind"].as_str().unwrap_or("?");
    let name = obj
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("?");
    match obj.pointer("/metadata/namespace").and_then(Json::as_str) {
        Some(ns) => format!("{ns}/{kind}/{name}"),
        None if CLUSTER_SCOPED.contains(&kind) => format!("{kind}/{name}"),
        None => format!("{default_ns}/{kind}/{name}"),
    }
}

/// A 409 of server-side apply: other field managers own fields it changes.
fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409 && s.reason == "Conflict")
}

/// `conflict with "kubectl-edit" using apps/v1: .spec.replicas` — one line per
/// field of a server-side apply conflict message.
pub fn conflict_lines(message: &str) -> Vec<String> {
    let body = message
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("Apply failed with"))
        .map_or(message, |(_, rest)| rest);
    body.lines()
        .map(|l| l.trim().trim_start_matches("- "))
        .map(|l| l.rsplit_once(" (409 ").map_or(l, |(text, _)| text))
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The managers a conflict message names, each once.
pub fn conflict_managers(message: &str) -> Vec<String> {
    let mut out: Vec<String> = message
        .split("conflict with \"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(m, _)| m.to_string()))
        .collect();
    out.sort();
    out.dedup();
    out
}

pub(crate) fn api_error(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({} {})", s.message, s.code, s.reason),
        other => other.to_string(),
    }
}

/// The live object, or None when it does not exist.
pub async fn get(
    client: &kube::Client,
    obj: &Json,
    default_ns: &str,
) -> Result<Option<Json>, String> {
    let (api, name) = api_for(client, obj, default_ns).await?;
    match api.get_opt(&name).await {
        Ok(o) => Ok(o.map(|o| serde_json::to_value(o).unwrap_or(Json::Null))),
        Err(e) => Err(api_error(e)),
    }
}

/// Server-side applies `objects` in order (Namespaces first), each with its live
/// state from before. A dry run changes nothing on the server. `spec.replicas` of
/// an existing Deployment an HPA scales is applied at its live value: the HPA keeps
/// control (a different value would conflict with, or fight, the autoscaler, and
/// dropping the field would reset it to 1 until the HPA scales back).
pub async fn apply(
    client: &kube::Client,
    objects: &[Json],
    default_ns: &str,
    opts: &Opts,
) -> Vec<Outcome> {
    let dry_run = opts.dry_run;
    let hpa = tierui_core::render::normalize::hpa_targets(objects);
    let mut ordered: Vec<&Json> = objects
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .collect();
    ordered.extend(objects.iter().filter(|o| o["kind"] != "Namespace"));
    let mut out = Vec::new();
    let mut new_namespaces: Vec<String> = Vec::new();
    for obj in ordered {
        let object = describe(obj, default_ns);
        let mut conflict = false;
        let result = async {
            if obj.pointer("/metadata/name").and_then(Json::as_str) == Some(DECIDED_AT_APPLY) {
                return Err(format!(
                    "{object}: its name is decided by Pulumi at apply (auto-naming); it is not sent"
                ));
            }
            let (api, name) = api_for(client, obj, default_ns).await?;
            let live = api
                .get_opt(&name)
                .await
                .map_err(api_error)?
                .map(|o| serde_json::to_value(o).unwrap_or(Json::Null));
            let ns = obj
                .pointer("/metadata/namespace")
                .and_then(Json::as_str)
                .unwrap_or(default_ns)
                .to_string();
            // A dry run cannot create the namespace the next objects need: they are
            // shown as they would be created.
            if dry_run
                && live.is_none()
                && new_namespaces.contains(&ns)
                && obj["kind"] != "Namespace"
            {
                return Ok((live, obj.clone(), Vec::new()));
            }
            let mut body = obj.clone();
            // No placeholder ever reaches the cluster.
            let filled = holes::fill(&mut body, live.as_ref(), &object)?;
            if obj["kind"] == "Deployment"
                && hpa.contains(&(ns.clone(), name.clone()))
                && let Some(current) = live
                    .as_ref()
                    .and_then(|l| l.pointer("/spec/replicas"))
                    .cloned()
                && let Some(spec) = body.get_mut("spec").and_then(Json::as_object_mut)
            {
                spec.insert("replicas".into(), current);
            }
            if let Some(set) = &opts.set {
                set.label(&mut body);
            }
            if !dry_run && let Some(l) = &live {
                upgrade_client_side_apply(&api, &name, l).await?;
            }
            let mut pp = PatchParams::apply(FIELD_MANAGER);
            if dry_run {
                pp = pp.dry_run();
            }
            if opts.force {
                pp = pp.force();
            }
            let applied = api
                .patch(&name, &pp, &Patch::Apply(&body))
                .await
                .map_err(|e| {
                    conflict = is_conflict(&e);
                    api_error(e)
                })?;
            if obj["kind"] == "Namespace" && live.is_none() {
                new_namespaces.push(name.clone());
            }
            Ok::<_, String>((
                live,
                serde_json::to_value(applied).unwrap_or(Json::Null),
                filled.notes,
            ))
        }
        .await;
        match result {
            Ok((live, applied, notes)) => out.push(Outcome {
                object,
                live,
                applied: Ok(applied),
                notes,
                conflict: false,
                pruned: false,
            }),
            Err(e) => out.push(Outcome {
                object,
                live: None,
                conflict,
                applied: Err(e),
                notes: Vec::new(),
                pruned: false,
            }),
        }
    }
    out
}

/// kubectl's upgrade of an object last written by client-side `kubectl apply`:
/// its fields move to tierui's manager and the last-applied annotation goes, in
/// one merge patch guarded by the resourceVersion read (so a write in between
/// makes it fail rather than lose that write).
async fn upgrade_client_side_apply(
    api: &Api<DynamicObject>,
    name: &str,
    live: &Json,
) -> Result<(), String> {
    if !ownership::upgrades_client_side_apply(live) {
        return Ok(());
    }
    let patch = serde_json::json!({
        "metadata": {
            "resourceVersion": live.pointer("/metadata/resourceVersion").cloned().unwrap_or(Json::Null),
            "annotations": {tierui_core::render::normalize::LAST_APPLIED: null},
            "managedFields": ownership::upgraded_managed_fields(live, FIELD_MANAGER),
        }
    });
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    api.patch(name, &pp, &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "moving kubectl's client-side apply fields to tierui: {}",
                api_error(e)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_messages_are_read_per_field() {
        let one = "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas (409 Conflict)";
        assert_eq!(
            conflict_lines(one),
            ["conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"]
        );
        let two = "Apply failed with 2 conflicts: - conflict with \"helm\" using v1: .data.a\n- conflict with \"kubectl-client-side-apply\" using v1: .data.b (409 Conflict)";
        assert_eq!(conflict_lines(two).len(), 2);
        assert_eq!(
            conflict_managers(two),
            ["helm", "kubectl-client-side-apply"]
        );
    }
}
