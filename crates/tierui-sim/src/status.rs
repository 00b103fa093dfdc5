//! API errors as `Status` objects, with the codes, reasons and message shapes the
//! real API server uses (clients match on `reason`, humans read `message`).

use serde_json::{Value, json};

use super::kinds::{self, KindId};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

/// One `details.causes` entry of a 422 or a server-side apply conflict.
#[derive(Debug, Clone)]
pub struct Cause {
    pub reason: &'static str,
    pub message: String,
    pub field: String,
}

impl Cause {
    pub fn required(field: impl Into<String>) -> Self {
        Cause {
            reason: "FieldValueRequired",
            message: "Required value".into(),
            field: field.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, value: &Value, why: &str) -> Self {
        let shown = match value {
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        Cause {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {shown}: {why}"),
            field: field.into(),
        }
    }

    pub fn unsupported(field: impl Into<String>, value: &str, allowed: &[&str]) -> Self {
        let allowed: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
        Cause {
            reason: "FieldValueNotSupported",
            message: format!(
                "Unsupported value: {value:?}: supported values: {}",
                allowed.join(", ")
            ),
            field: field.into(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, kind: KindId, name: &str) -> Self {
        let k = kinds::get(kind);
        let mut d = json!({ "name": name, "kind": k.plural });
        if !k.group.is_empty() {
            d["group"] = json!(k.group);
        }
        self.details = Some(d);
        self
    }

    /// The eviction API's refusal (429): the pod's disruption budget would be
    /// broken. kubectl drain waits and tries again.
    pub fn disruption_budget(message: String) -> Self {
        let mut e = Self::new(
            429,
            "TooManyRequests",
            "Cannot evict pod as it would violate the pod's disruption budget.",
        );
        e.details = Some(
            serde_json::json!({"causes": [{"reason": "DisruptionBudget", "message": message}]}),
        );
        e
    }

    pub fn not_found(kind: KindId, name: &str) -> Self {
        let k = kinds::get(kind);
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", k.qualified()),
        )
        .with_details(kind, name)
    }

    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn already_exists(kind: KindId, name: &str) -> Self {
        let k = kinds::get(kind);
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", k.qualified()),
        )
        .with_details(kind, name)
    }

    pub fn conflict(kind: KindId, name: &str) -> Self {
        let k = kinds::get(kind);
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                k.qualified()
            ),
        )
        .with_details(kind, name)
    }

    /// Server-side apply found fields owned by other managers.
    pub fn apply_conflict(kind: KindId, name: &str, causes: Vec<Cause>) -> Self {
        let lines: Vec<String> = causes.iter().map(|c| format!("- {}", c.message)).collect();
        let message = if causes.len() == 1 {
            format!("Apply failed with 1 conflict: {}", causes[0].message)
        } else {
            format!(
                "Apply failed with {} conflicts: {}",
                causes.len(),
                lines.join("\n")
            )
        };
        let mut e = Self::new(409, "Conflict", message).with_details(kind, name);
        if let Some(d) = e.details.as_mut() {
            d["causes"] = causes_json(&causes);
        }
        e
    }

    pub fn invalid(kind: KindId, name: &str, causes: Vec<Cause>) -> Self {
        let k = kinds::get(kind);
        let parts: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let joined = if parts.len() == 1 {
            parts.join("")
        } else {
            format!("[{}]", parts.join(", "))
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {joined}", k.qualified_kind()),
        );
        let mut d = json!({ "name": name, "kind": k.kind, "causes": causes_json(&causes) });
        if !k.group.is_empty() {
            d["group"] = json!(k.group);
        }
        e.details = Some(d);
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn shutting_down() -> Self {
        Self::new(503, "ServiceUnavailable", "the simulator is shutting down")
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
        )
    }

    pub fn too_large() -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            "the request body is too large",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

fn causes_json(causes: &[Cause]) -> Value {
    Value::Array(
        causes
            .iter()
            .map(|c| json!({ "reason": c.reason, "message": c.message, "field": c.field }))
            .collect(),
    )
}

/// The success `Status` some deletes return.
pub fn success(kind: KindId, name: &str, uid: &str) -> Value {
    let k = kinds::get(kind);
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": { "name": name, "group": k.group, "kind": k.plural, "uid": uid },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_the_api_server() {
        let e = ApiError::not_found(kinds::DEPLOYMENT, "web");
        assert_eq!(e.message, "deployments.apps \"web\" not found");
        assert_eq!(e.to_status()["details"]["group"], "apps");
        let e = ApiError::invalid(
            kinds::POD,
            "Bad_Name",
            vec![Cause::invalid(
                "metadata.name",
                &json!("Bad_Name"),
                "a lowercase RFC 1123 subdomain",
            )],
        );
        assert_eq!(e.code, 422);
        assert!(e.message.starts_with(
            "Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""
        ));
    }
}
