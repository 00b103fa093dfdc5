//! The `/scale` subresource of deployments and replica sets (`autoscaling/v1` Scale).

use serde_json::{Value, json};

use super::*;
use crate::kinds::KindId;
use crate::selector::LabelSelector;
use crate::state::State;
use crate::status::{ApiError, ApiResult, Cause};

impl State {
    /// `autoscaling/v1` Scale of a deployment or replica set.
    pub fn scale_of(&self, kind: KindId, ns: &str, name: &str) -> ApiResult<Value> {
        let e = self
            .store
            .get(kind, ns, name)
            .ok_or_else(|| ApiError::not_found(kind, name))?;
        let v = e.value();
        let selector = v
            .pointer("/spec/selector")
            .and_then(|s| LabelSelector::from_json(s).ok())
            .map(|s| s.to_string())
            .unwrap_or_default();
        Ok(json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": name,
                "namespace": ns,
                "uid": e.uid,
                "resourceVersion": e.rv.to_string(),
                "creationTimestamp": v.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null),
            },
            "spec": { "replicas": v.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0) },
            "status": {
                "replicas": v.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
                "selector": selector,
            },
        }))
    }

    /// PUT or PATCH of `/scale`: `body` is the new Scale (already patched).
    pub fn scale_update(
        &mut self,
        kind: KindId,
        ns: &str,
        name: &str,
        scale: &Value,
        o: &WriteOpts,
    ) -> ApiResult<Written> {
        let old = self
            .store
            .get(kind, ns, name)
            .ok_or_else(|| ApiError::not_found(kind, name))?;
        let rv = meta_str(scale, "resourceVersion");
        if !rv.is_empty() && rv != old.rv.to_string() {
            return Err(ApiError::conflict(kind, name));
        }
        let Some(replicas) = scale.pointer("/spec/replicas").and_then(Value::as_i64) else {
            return Err(ApiError::bad_request(
                "Scale.spec.replicas must be an integer",
            ));
        };
        if replicas < 0 {
            return Err(ApiError {
                message: format!(
                    "Scale.autoscaling \"{name}\" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"
                ),
                ..ApiError::invalid(
                    kind,
                    name,
                    vec![Cause::invalid(
                        "spec.replicas",
                        &Value::from(replicas),
                        "must be greater than or equal to 0",
                    )],
                )
            });
        }
        let mut obj = old.value();
        obj["spec"]["replicas"] = json!(replicas);
        let opts = WriteOpts {
            subresource: Some("scale".into()),
            ..o.clone()
        };
        let manager = o.manager.clone();
        self.finish(kind, Some(old), obj, &opts, Some(&manager))?;
        let after = self.scale_of(kind, ns, name)?;
        if o.dry_run {
            let mut s = after;
            s["spec"]["replicas"] = json!(replicas);
            return Ok(written(200, &s));
        }
        Ok(written(200, &after))
    }
}
