//! create, update (PUT) and patch, all ending in one path that applies
//! preconditions, status rules, defaults, validation, managedFields and dry run.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::clock::Clock;
use crate::defaults;
use crate::kinds::{self, KindId};
use crate::patch::{apply as ssa, json as jp, strategic};
use crate::state::State;
use crate::status::{ApiError, ApiResult, Cause};
use crate::store::Entry;
use crate::validate;

impl State {
    fn check_identity(&self, kind: KindId, ns: &str, body: &mut Value) -> ApiResult<()> {
        let k = kinds::get(kind);
        let Some(obj) = body.as_object_mut() else {
            return Err(ApiError::bad_request(format!(
                "Object 'Kind' is missing in '{}'",
                truncate(&body.to_string())
            )));
        };
        let given_kind = obj
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let given_av = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if given_kind.is_empty() {
            return Err(ApiError::bad_request(format!(
                "Object 'Kind' is missing in '{}'",
                truncate(&Value::Object(obj.clone()).to_string())
            )));
        }
        if given_av.is_empty() {
            return Err(ApiError::bad_request(format!(
                "Object 'apiVersion' is missing in '{}'",
                truncate(&Value::Object(obj.clone()).to_string())
            )));
        }
        if given_av != k.api_version() {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({given_av}) does not match the expected API version ({})",
                k.api_version()
            )));
        }
        if given_kind != k.kind {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({given_kind}) does not match the expected kind ({})",
                k.kind
            )));
        }
        let meta = obj.entry("metadata").or_insert_with(|| json!({}));
        let Some(meta) = meta.as_object_mut() else {
            return Err(ApiError::bad_request("metadata must be an object"));
        };
        if k.namespaced {
            let given = meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if given.is_empty() {
                meta.insert("namespace".into(), json!(ns));
            } else if given != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            if self.store.get(kinds::NAMESPACE, "", ns).is_none() {
                return Err(ApiError::not_found(kinds::NAMESPACE, ns));
            }
        } else {
            meta.remove("namespace");
        }
        Ok(())
    }

    pub fn api_create(
        &mut self,
        kind: KindId,
        ns: &str,
        mut body: Value,
        o: &WriteOpts,
    ) -> ApiResult<Written> {
        self.check_identity(kind, ns, &mut body)?;
        let meta = meta_mut(&mut body)?;
        if meta
            .get("resourceVersion")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            return Err(ApiError::bad_request(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        if meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
            && let Some(prefix) = meta.get("generateName").and_then(Value::as_str)
        {
            let name = format!("{prefix}{}", self.api_rng.suffix(5));
            meta.insert("name".into(), json!(name));
        }
        let name = meta_str(&body, "name").to_string();
        if self.store.get(kind, ns_of(kind, ns), &name).is_some() {
            // Validate first so an invalid name is reported as such.
            validate::validate(kind, &body)?;
            return Err(ApiError::already_exists(kind, &name));
        }
        if has_status_subresource(kind)
            && !matches!(kind, kinds::NODE | kinds::NAMESPACE)
            && let Some(m) = body.as_object_mut()
        {
            m.remove("status");
        }
        let manager = o.manager.clone();
        self.finish(kind, None, body, o, Some(&manager))
    }

    pub fn api_update(
        &mut self,
        kind: KindId,
        ns: &str,
        name: &str,
        mut body: Value,
        o: &WriteOpts,
    ) -> ApiResult<Written> {
        self.check_identity(kind, ns, &mut body)?;
        let given = meta_str(&body, "name");
        if given != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        let old = self
            .store
            .get(kind, ns_of(kind, ns), name)
            .ok_or_else(|| ApiError::not_found(kind, name))?;
        let rv = meta_str(&body, "resourceVersion");
        if !rv.is_empty() && rv != old.rv.to_string() {
            return Err(ApiError::conflict(kind, name));
        }
        let manager = o.manager.clone();
        self.finish(kind, Some(old), body, o, Some(&manager))
    }

    pub fn api_patch(
        &mut self,
        kind: KindId,
        ns: &str,
        name: &str,
        ptype: PatchType,
        body: &[u8],
        o: &WriteOpts,
    ) -> ApiResult<Written> {
        let old = self.store.get(kind, ns_of(kind, ns), name);
        if ptype == PatchType::Apply {
            return self.server_side_apply(kind, ns, name, old, body, o);
        }
        let old = old.ok_or_else(|| ApiError::not_found(kind, name))?;
        let patch = match ptype {
            PatchType::Json => serde_json::from_slice::<Value>(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?,
            _ => serde_json::from_slice::<Value>(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?,
        };
        let mut obj = old.value();
        match ptype {
            PatchType::Json => jp::json_patch(&mut obj, &patch)
                .map_err(ApiError::internal)
                .map_err(|e| ApiError {
                    code: 422,
                    reason: "Invalid",
                    ..e
                })?,
            PatchType::Merge => {
                if !patch.is_object() {
                    return Err(ApiError::bad_request("a merge patch must be a JSON object"));
                }
                jp::merge_patch(&mut obj, &patch);
            }
            PatchType::Strategic => {
                if !patch.is_object() {
                    return Err(ApiError::bad_request(
                        "a strategic merge patch must be a JSON object",
                    ));
                }
                strategic::apply(&mut obj, &patch).map_err(ApiError::bad_request)?;
            }
            PatchType::Apply => {}
        }
        let rv = meta_str(&obj, "resourceVersion");
        if !rv.is_empty() && rv != old.rv.to_string() {
            return Err(ApiError::conflict(kind, name));
        }
        self.check_identity(kind, ns, &mut obj)?;
        if meta_str(&obj, "name") != name {
            return Err(ApiError::bad_request(
                "the name of the object cannot be changed by a patch",
            ));
        }
        let manager = o.manager.clone();
        self.finish(kind, Some(old), obj, o, Some(&manager))
    }

    fn server_side_apply(
        &mut self,
        kind: KindId,
        ns: &str,
        name: &str,
        old: Option<Arc<Entry>>,
        body: &[u8],
        o: &WriteOpts,
    ) -> ApiResult<Written> {
        if o.manager.is_empty() {
            return Err(ApiError::bad_request(
                "PATCH, application/apply-patch+yaml requires fieldManager to be set",
            ));
        }
        let mut applied = parse_body(body)?;
        self.check_identity(kind, ns, &mut applied)?;
        let given = meta_str(&applied, "name");
        if given != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        let live = old.as_ref().map(|e| e.value());
        if let (Some(live), rv) = (&live, meta_str(&applied, "resourceVersion"))
            && !rv.is_empty()
            && rv != meta_str(live, "resourceVersion")
        {
            return Err(ApiError::conflict(kind, name));
        }
        validate::decode(kind, &applied)?;
        let api_version = kinds::get(kind).api_version();
        let result =
            ssa::server_side_apply(live.as_ref(), &applied, &o.manager, o.force, &api_version)
                .map_err(|conflicts| {
                    let causes = conflicts
                        .iter()
                        .map(|c| Cause {
                            reason: "FieldManagerConflict",
                            message: format!(
                                "conflict with \"{}\" using {api_version}: {}",
                                c.manager,
                                c.field()
                            ),
                            field: c.field(),
                        })
                        .collect();
                    ApiError::apply_conflict(kind, name, causes)
                })?;
        self.finish(kind, old, result, o, None)
    }

    /// The common tail of every write. `manager` is Some for non-apply writes
    /// whose changed fields the manager takes over.
    pub(super) fn finish(
        &mut self,
        kind: KindId,
        old: Option<Arc<Entry>>,
        mut obj: Value,
        o: &WriteOpts,
        manager: Option<&str>,
    ) -> ApiResult<Written> {
        let old_v = old.as_ref().map(|e| e.value());
        let creating = old_v.is_none();
        if let Some(old_v) = &old_v {
            keep_status(kind, old_v, &mut obj, o.subresource.as_deref());
            keep_system_metadata(old_v, &mut obj)?;
            check_immutable_selector(kind, old_v, &obj)?;
        } else {
            let uid = self.api_rng.uuid();
            let meta = meta_mut(&mut obj)?;
            meta.insert("uid".into(), json!(uid));
            meta.insert("creationTimestamp".into(), json!(Clock::timestamp()));
            meta.remove("generation");
            meta.remove("deletionTimestamp");
            self.admit_new(kind, &mut obj);
        }
        validate::decode(kind, &obj)?;
        if o.strict {
            reject_unknown_fields(kind, &obj)?;
        }
        if kinds::is_custom(kind) {
            crate::crd::prune(kind, &mut obj);
            crate::crd::default(kind, &mut obj);
        }
        defaults::apply(kind, &mut obj);
        omit_empty_metadata(&mut obj);
        validate::validate(kind, &obj)?;
        self.allocate_cluster_ip(kind, old_v.as_ref(), &mut obj);
        if kinds_with_generation(kind) {
            bump_generation(old_v.as_ref(), &mut obj);
        }
        if let Some(m) = manager
            && !m.is_empty()
        {
            let av = kinds::get(kind).api_version();
            ssa::record_update(old_v.as_ref(), &mut obj, m, &av, o.subresource.as_deref());
        }
        if let Some(old_v) = &old_v
            && same_object(old_v, &obj)
        {
            return Ok(written(200, old_v));
        }
        let code = if creating { 201 } else { 200 };
        if o.dry_run {
            if creating && let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("resourceVersion");
            }
            return Ok(written(code, &obj));
        }
        // The last finalizer of an object being deleted is gone: so is it.
        if obj.pointer("/metadata/deletionTimestamp").is_some() && !has_finalizers(&obj) {
            let (ns, name) = (
                meta_str(&obj, "namespace").to_string(),
                meta_str(&obj, "name").to_string(),
            );
            let entry = self.store.commit(kind, obj);
            self.delete_cascade(kind, &ns, &name, false);
            return Ok(Written {
                code,
                body: entry.bytes.clone(),
            });
        }
        let entry = self.store.commit(kind, obj);
        if kind == kinds::CRD {
            // Served at once, as the API server establishes a CRD.
            crate::crd::sync(self);
        }
        Ok(Written {
            code,
            body: entry.bytes.clone(),
        })
    }

    /// What the API server adds to an object on create, whoever creates it
    /// (a client, or a controller such as the CronJob or StatefulSet one): the
    /// Job strategy's selector on the Job's uid, and the DefaultStorageClass
    /// admission plugin's class for a claim that names none.
    pub fn admit_new(&self, kind: KindId, obj: &mut Value) {
        // A new pod is Pending with its QoS class, as the pod strategy makes it.
        if kind == kinds::POD && obj.pointer("/status/phase").is_none() {
            let qos = crate::controllers::replicaset::qos_class(obj.get("spec"));
            obj["status"] = json!({"phase": "Pending", "qosClass": qos});
        }
        if kind == kinds::JOB {
            let uid = obj
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            defaults::job_selector(obj, &uid);
        }
        // The StorageObjectInUseProtection admission plugin's finalizers.
        let protection = match kind {
            kinds::PVC => Some("kubernetes.io/pvc-protection"),
            kinds::PV => Some("kubernetes.io/pv-protection"),
            _ => None,
        };
        if let Some(f) = protection
            && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
            && let Some(list) = meta
                .entry("finalizers")
                .or_insert_with(|| json!([]))
                .as_array_mut()
            && !list.iter().any(|x| x == f)
        {
            list.push(json!(f));
        }
        if kind == kinds::PVC
            && obj.pointer("/spec/storageClassName").is_none()
            && let Some(class) = self.default_storage_class()
            && let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
        {
            spec.insert("storageClassName".into(), json!(class));
        }
    }

    /// The StorageClass annotated as the default, if exactly one is.
    pub fn default_storage_class(&self) -> Option<String> {
        let defaults: Vec<String> = self
            .store
            .range(kinds::STORAGECLASS, None, None)
            .filter(|e| {
                e.value()
                    .pointer("/metadata/annotations/storageclass.kubernetes.io~1is-default-class")
                    .and_then(Value::as_str)
                    == Some("true")
            })
            .map(|e| e.name.clone())
            .collect();
        match defaults.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    /// Services other than ExternalName keep their cluster IP, or get a new one.
    fn allocate_cluster_ip(&mut self, kind: KindId, old_v: Option<&Value>, obj: &mut Value) {
        if kind == kinds::SERVICE
            && obj.pointer("/spec/type").and_then(Value::as_str) != Some("ExternalName")
            && obj.pointer("/spec/clusterIP").is_none()
        {
            let ip = old_v
                .and_then(|o| o.pointer("/spec/clusterIP").cloned())
                .unwrap_or_else(|| json!(self.cluster_ip()));
            obj["spec"]["clusterIP"] = ip.clone();
            obj["spec"]["clusterIPs"] = json!([ip]);
            if obj.get("status").is_none() {
                obj["status"] = json!({"loadBalancer": {}});
            }
        }
    }
}

/// Status rules of an update: the status subresource changes only status, the main resource never does.
fn keep_status(kind: KindId, old_v: &Value, obj: &mut Value, subresource: Option<&str>) {
    if subresource == Some("status") {
        // A status write changes status and nothing else.
        let status = obj.get("status").cloned();
        *obj = old_v.clone();
        match status {
            Some(s) => obj["status"] = s,
            None => {
                if let Some(m) = obj.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    } else if has_status_subresource(kind) && kind != kinds::NAMESPACE {
        match old_v.get("status") {
            Some(s) => obj["status"] = s.clone(),
            None => {
                if let Some(m) = obj.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
}

/// The server owns uid, creationTimestamp, deletion fields and generation: an update keeps the stored ones.
/// Whether the object has finalizers left (deletion waits for them).
pub(super) fn has_finalizers(obj: &Value) -> bool {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty())
}

fn keep_system_metadata(old_v: &Value, obj: &mut Value) -> ApiResult<()> {
    let meta = meta_mut(obj)?;
    for k in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        match old_v.get("metadata").and_then(|m| m.get(k)) {
            Some(v) => {
                meta.insert(k.into(), v.clone());
            }
            None => {
                meta.remove(k);
            }
        }
    }
    Ok(())
}

/// A workload's `spec.selector` is immutable.
fn check_immutable_selector(kind: KindId, old_v: &Value, obj: &Value) -> ApiResult<()> {
    if matches!(
        kind,
        kinds::DEPLOYMENT | kinds::REPLICASET | kinds::STATEFULSET | kinds::DAEMONSET | kinds::JOB
    ) && obj.pointer("/spec/selector") != old_v.pointer("/spec/selector")
        && obj.pointer("/spec/selector").is_some()
    {
        let sel = obj
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or(Value::Null);
        return Err(ApiError::invalid(
            kind,
            meta_str(old_v, "name"),
            vec![Cause::invalid("spec.selector", &sel, "field is immutable")],
        ));
    }
    Ok(())
}

/// `fieldValidation=Strict`: unknown fields are a strict decoding error.
fn reject_unknown_fields(kind: KindId, obj: &Value) -> ApiResult<()> {
    let unknown = validate::unknown_fields(kind, obj);
    if unknown.is_empty() {
        return Ok(());
    }
    let k = kinds::get(kind);
    let list: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    Err(ApiError::bad_request(format!(
        "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
        k.kind,
        k.version,
        k.kind,
        list.join(", ")
    )))
}

/// `metadata.generation` goes up by one whenever the spec changes (and is at least 1).
fn bump_generation(old_v: Option<&Value>, obj: &mut Value) {
    let spec_changed = old_v.is_none_or(|o| o.get("spec") != obj.get("spec"));
    let generation = old_v
        .and_then(|o| o.pointer("/metadata/generation"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let generation = if spec_changed {
        generation + 1
    } else {
        generation.max(1)
    };
    obj["metadata"]["generation"] = json!(generation);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut s = State::new(1);
        s.put(
            kinds::NAMESPACE,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
        );
        s
    }

    fn opts() -> WriteOpts {
        WriteOpts {
            manager: "test".into(),
            ..Default::default()
        }
    }

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
    }

    #[test]
    fn create_conflicts_and_dry_run() {
        let mut s = state();
        assert_eq!(
            s.api_create(kinds::CONFIGMAP, "default", cm("a"), &opts())
                .unwrap()
                .code,
            201
        );
        assert_eq!(
            s.api_create(kinds::CONFIGMAP, "default", cm("a"), &opts())
                .err()
                .unwrap()
                .reason,
            "AlreadyExists"
        );
        let dry = WriteOpts {
            dry_run: true,
            ..opts()
        };
        s.api_create(kinds::CONFIGMAP, "default", cm("b"), &dry)
            .unwrap();
        assert!(s.store.get(kinds::CONFIGMAP, "default", "b").is_none());
        assert_eq!(
            s.api_create(kinds::CONFIGMAP, "nope", cm("c"), &opts())
                .err()
                .unwrap()
                .code,
            404
        );
        assert_eq!(
            s.api_create(kinds::CONFIGMAP, "default", cm("Bad_Name"), &opts())
                .err()
                .unwrap()
                .code,
            422
        );
    }

    #[test]
    fn stale_update_is_a_conflict_and_noop_keeps_version() {
        let mut s = state();
        s.api_create(kinds::CONFIGMAP, "default", cm("a"), &opts())
            .unwrap();
        let live = s.store.get(kinds::CONFIGMAP, "default", "a").unwrap();
        let mut stale = live.value();
        stale["metadata"]["resourceVersion"] = json!("1");
        assert_eq!(
            s.api_update(kinds::CONFIGMAP, "default", "a", stale, &opts())
                .err()
                .unwrap()
                .reason,
            "Conflict"
        );
        let same = live.value();
        s.api_update(kinds::CONFIGMAP, "default", "a", same, &opts())
            .unwrap();
        assert_eq!(
            s.store.get(kinds::CONFIGMAP, "default", "a").unwrap().rv,
            live.rv
        );
    }

    #[test]
    fn apply_creates_then_conflicts() {
        let mut s = state();
        let body = serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "1"}})).unwrap();
        let w = s
            .api_patch(
                kinds::CONFIGMAP,
                "default",
                "a",
                PatchType::Apply,
                &body,
                &WriteOpts {
                    manager: "one".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(w.code, 201);
        let body2 = br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "2"}}"#;
        let e = s
            .api_patch(
                kinds::CONFIGMAP,
                "default",
                "a",
                PatchType::Apply,
                body2,
                &WriteOpts {
                    manager: "two".into(),
                    ..Default::default()
                },
            )
            .err()
            .unwrap();
        assert_eq!(e.code, 409);
        assert!(e.message.contains("conflict with \"one\""), "{}", e.message);
        let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: '2'\n";
        s.api_patch(
            kinds::CONFIGMAP,
            "default",
            "a",
            PatchType::Apply,
            yaml,
            &WriteOpts {
                manager: "two".into(),
                force: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            s.get_value(kinds::CONFIGMAP, "default", "a").unwrap()["data"]["k"],
            "2"
        );
    }

    #[test]
    fn malformed_bodies_are_bad_requests() {
        assert_eq!(parse_body(b"{not json").err().unwrap().code, 400);
        assert_eq!(parse_body(b"a: [").err().unwrap().code, 400);
        assert_eq!(parse_body(b"").err().unwrap().code, 400);
        let mut s = state();
        assert_eq!(
            s.api_create(kinds::CONFIGMAP, "default", json!([1]), &opts())
                .err()
                .unwrap()
                .code,
            400
        );
        assert_eq!(
            s.api_create(
                kinds::CONFIGMAP,
                "default",
                json!({"kind": "Pod", "apiVersion": "v1"}),
                &opts()
            )
            .err()
            .unwrap()
            .code,
            400
        );
    }
}
