//! Reading live objects and server-side apply (field manager `tierui`), for real or
//! as a server-side dry run, which is what the drift diff compares against.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::{Scope as ApiScope, pinned_kind};
use serde_json::Value as Json;
use tierui_core::render::holes::{self, DECIDED_AT_APPLY};

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
}

async fn api_for(
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

fn describe(obj: &Json, default_ns: &str) -> String {
    let kind = obj["kind"].as_str().unwrap_or("?");
    let name = obj
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("?");
    match obj.pointer("/metadata/namespace").and_then(Json::as_str) {
        Some(ns) => format!("{ns}/{kind}/{name}"),
        None if kind == "Namespace" => format!("{kind}/{name}"),
        None => format!("{default_ns}/{kind}/{name}"),
    }
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
/// state from before. `dry_run` changes nothing on the server. `spec.replicas` of
/// an existing Deployment an HPA scales is applied at its live value: the HPA keeps
/// control (a different value would conflict with, or fight, the autoscaler, and
/// dropping the field would reset it to 1 until the HPA scales back).
pub async fn apply(
    client: &kube::Client,
    objects: &[Json],
    default_ns: &str,
    dry_run: bool,
) -> Vec<Outcome> {
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
            let mut pp = PatchParams::apply(FIELD_MANAGER);
            if dry_run {
                pp = pp.dry_run();
            }
            let applied = api
                .patch(&name, &pp, &Patch::Apply(&body))
                .await
                .map_err(api_error)?;
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
            }),
            Err(e) => out.push(Outcome {
                object,
                live: None,
                applied: Err(e),
                notes: Vec::new(),
            }),
        }
    }
    out
}
