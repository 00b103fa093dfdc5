//! A release's apply set on the cluster: reading its members (what tierui
//! applied before), recording the parent, and pruning — deleting members that
//! are gone from the manifests, and nothing that is not a member.

use std::collections::BTreeSet;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::Scope as ApiScope;
use serde_json::Value as Json;
use tierui_core::render::applyset::{self, ApplySet};

use super::apply::{FIELD_MANAGER, Outcome, api_error, api_for, describe};

/// Where the parent Secret lives.
fn parent_api(client: &kube::Client, set: &ApplySet) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        &set.namespace,
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
    )
}

/// The parent Secret, when the set was ever applied.
async fn parent(client: &kube::Client, set: &ApplySet) -> Result<Option<Json>, String> {
    let api = parent_api(client, set);
    match api.get_opt(&set.name).await {
        Ok(o) => Ok(o.map(|o| serde_json::to_value(o).unwrap_or(Json::Null))),
        Err(e) => Err(format!(
            "reading apply set {}/Secret/{}: {}",
            set.namespace,
            set.name,
            api_error(e)
        )),
    }
}

/// Every live object the set's parent says it applied (by group-kind and
/// namespace, selected by the member label and checked again here).
pub async fn members(client: &kube::Client, set: &ApplySet) -> Result<Vec<Json>, String> {
    let Some(parent) = parent(client, set).await? else {
        return Ok(Vec::new());
    };
    if parent
        .pointer("/metadata/labels")
        .and_then(|l| l.get(applyset::ID_LABEL))
        .and_then(Json::as_str)
        != Some(set.id().as_str())
    {
        return Err(format!(
            "{}/Secret/{} exists but is not tierui's apply set parent (label {} differs); nothing is pruned",
            set.namespace,
            set.name,
            applyset::ID_LABEL
        ));
    }
    let (gks, namespaces) = applyset::recorded(&parent);
    let lp = ListParams::default().labels(&format!("{}={}", applyset::PART_OF_LABEL, set.id()));
    let mut out = Vec::new();
    for gk in gks {
        let (group, kind) = applyset::split_group_kind(&gk);
        let g = kube::discovery::group(client, &group)
            .await
            .map_err(|e| format!("discovering {gk}: {e}"))?;
        let Some((ar, caps)) = g.recommended_kind(&kind) else {
            // The kind is no longer served: nothing of it can be listed or pruned.
            continue;
        };
        let apis: Vec<Api<DynamicObject>> = match caps.scope {
            ApiScope::Cluster => vec![Api::all_with(client.clone(), &ar)],
            ApiScope::Namespaced => namespaces
                .iter()
                .map(|ns| Api::namespaced_with(client.clone(), ns, &ar))
                .collect(),
        };
        for api in apis {
            let list = api
                .list(&lp)
                .await
                .map_err(|e| format!("listing {gk}: {}", api_error(e)))?;
            for o in list.items {
                let mut v = serde_json::to_value(o).unwrap_or(Json::Null);
                if set.is_member(&v) {
                    v["apiVersion"] = Json::String(ar.api_version.clone());
                    v["kind"] = Json::String(ar.kind.clone());
                    out.push(v);
                }
            }
        }
    }
    Ok(out)
}

/// Records the parent with these group-kinds and namespaces (server-side
/// apply, manager tierui).
pub async fn write_parent(
    client: &kube::Client,
    set: &ApplySet,
    gks: &BTreeSet<String>,
    namespaces: &BTreeSet<String>,
) -> Result<(), String> {
    let body = set.parent(gks, namespaces);
    parent_api(client, set)
        .patch(
            &set.name,
            &PatchParams::apply(FIELD_MANAGER),
            &Patch::Apply(&body),
        )
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "recording apply set {}/Secret/{}: {}",
                set.namespace,
                set.name,
                api_error(e)
            )
        })
}

/// The group-kinds and namespaces the parent records now (none before the
/// first apply).
pub async fn recorded(
    client: &kube::Client,
    set: &ApplySet,
) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    Ok(parent(client, set)
        .await?
        .map(|p| applyset::recorded(&p))
        .unwrap_or_default())
}

/// Deletes these members — each read again first and deleted only while it
/// still carries the set's label, with its uid as a precondition.
pub async fn prune(client: &kube::Client, set: &ApplySet, objects: &[Json]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for obj in objects {
        let object = describe(obj, &set.namespace);
        let result = prune_one(client, set, obj).await;
        out.push(Outcome {
            object,
            live: Some(obj.clone()),
            conflict: false,
            pruned: result.is_ok(),
            applied: result.map(|()| Json::Null),
            notes: Vec::new(),
        });
    }
    out
}

async fn prune_one(client: &kube::Client, set: &ApplySet, obj: &Json) -> Result<(), String> {
    let (api, name) = api_for(client, obj, &set.namespace).await?;
    let name = name.as_str();
    let Some(now) = api.get_opt(name).await.map_err(api_error)? else {
        return Ok(());
    };
    let now = serde_json::to_value(now).unwrap_or(Json::Null);
    if !set.is_member(&now) {
        return Err("no longer labelled as applied by tierui; left in place".into());
    }
    let uid = now
        .pointer("/metadata/uid")
        .and_then(Json::as_str)
        .map(str::to_string);
    let dp = DeleteParams {
        preconditions: uid.map(|uid| kube::api::Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..Default::default()
    };
    api.delete(name, &dp).await.map(|_| ()).map_err(api_error)
}
