//! Quick edits of a release: image tag, replicas, HPA bounds. Each finds the one
//! value in the release's source that holds the setting and changes its text only.

use std::path::{Path, PathBuf};

use super::edit::{self, NewValue, Step};
use super::model::{Release, ReleaseSource};
use super::yaml;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    ImageTag,
    Replicas,
    HpaMin,
    HpaMax,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::ImageTag => "image tag",
            Field::Replicas => "replicas",
            Field::HpaMin => "HPA minimum replicas",
            Field::HpaMax => "HPA maximum replicas",
        }
    }

    /// The current value shown in the prompt.
    pub fn current(self, r: &Release) -> String {
        let s = &r.summary;
        match self {
            Field::ImageTag => s.image_tag.clone(),
            Field::Replicas => s.replicas.map(|n| n.to_string()),
            Field::HpaMin => s.hpa_min.map(|n| n.to_string()),
            Field::HpaMax => s.hpa_max.map(|n| n.to_string()),
        }
        .unwrap_or_default()
    }

    /// Pulumi config names that commonly hold this setting.
    fn config_names(self) -> &'static [&'static str] {
        match self {
            Field::ImageTag => &["image_tag", "imageTag", "tag", "image-tag", "version"],
            Field::Replicas => &["replicas", "replicaCount", "replica_count"],
            Field::HpaMin => &["min_replicas", "minReplicas", "hpa_min", "hpaMin"],
            Field::HpaMax => &["max_replicas", "maxReplicas", "hpa_max", "hpaMax"],
        }
    }
}

/// Checks the typed value before any file is touched.
pub fn validate(field: Field, value: &str, r: &Release) -> Result<NewValue, String> {
    let value = value.trim();
    match field {
        Field::ImageTag => {
            let ok = !value.is_empty()
                && value.len() <= 128
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                && !value.starts_with(['.', '-']);
            if ok {
                Ok(NewValue::Str(value.to_string()))
            } else {
                Err(format!(
                    "\"{value}\" is not a valid image tag (letters, digits, '.', '_', '-'; up to 128)"
                ))
            }
        }
        _ => {
            let n: i64 = value.parse().map_err(|_| {
                format!("{} must be a whole number, not \"{value}\"", field.label())
            })?;
            if n < 0 {
                return Err(format!("{} cannot be negative", field.label()));
            }
            let s = &r.summary;
            if field == Field::HpaMin && s.hpa_max.is_some_and(|max| n > max) {
                return Err(format!(
                    "HPA minimum {n} is above its maximum {}",
                    s.hpa_max.unwrap_or_default()
                ));
            }
            if field == Field::HpaMax && (n < 1 || s.hpa_min.is_some_and(|min| n < min)) {
                return Err(format!(
                    "HPA maximum {n} must be at least 1 and at least the minimum {}",
                    s.hpa_min.unwrap_or(1)
                ));
            }
            Ok(NewValue::Int(n))
        }
    }
}

/// The file to change and its new text. `read` gives a workspace file's text.
pub fn apply(
    r: &Release,
    field: Field,
    value: &NewValue,
    read: &dyn Fn(&Path) -> Result<String, String>,
) -> Result<(PathBuf, String), String> {
    if matches!(field, Field::HpaMin | Field::HpaMax) && r.summary.hpa_max.is_none() {
        return Err(format!("{} has no HorizontalPodAutoscaler", r.title()));
    }
    match &r.source {
        ReleaseSource::Kubectl { objects, .. } => {
            let kind = if matches!(field, Field::HpaMin | Field::HpaMax) {
                "HorizontalPodAutoscaler"
            } else {
                "Deployment"
            };
            let (file, _) = objects
                .iter()
                .find(|(_, m)| m.kind == kind)
                .ok_or_else(|| format!("{} has no {kind} manifest", r.title()))?;
            let text = read(file)?;
            let docs =
                yaml::parse_documents(&text).map_err(|e| format!("{}:{e}", file.display()))?;
            let doc = docs
                .iter()
                .position(|d| d.root.get("kind").and_then(yaml::Node::as_str) == Some(kind))
                .ok_or_else(|| format!("{}: no {kind} document", file.display()))?;
            let (path, value) = match field {
                Field::ImageTag => {
                    let image = docs[doc]
                        .root
                        .at_path("spec.template.spec.containers.0.image")
                        .and_then(yaml::Node::as_str)
                        .ok_or_else(|| {
                            format!("{}: the Deployment has no container image", file.display())
                        })?;
                    let NewValue::Str(tag) = value else {
                        return Err("an image tag is text".into());
                    };
                    (
                        "spec.template.spec.containers.0.image",
                        NewValue::Str(edit::with_tag(image, tag)),
                    )
                }
                Field::Replicas => ("spec.replicas", value.clone()),
                Field::HpaMin => ("spec.minReplicas", value.clone()),
                Field::HpaMax => ("spec.maxReplicas", value.clone()),
            };
            let steps = edit::path(path);
            // A missing spec.replicas is added to spec rather than refused.
            let new = match edit::set_scalar(&text, doc, &steps, &value) {
                Err(edit::EditError::NotFound { .. }) if field == Field::Replicas => {
                    edit::set_key(&text, doc, &edit::path("spec"), "replicas", &value)
                }
                other => other,
            }
            .map_err(|e| format!("{}: {e}", file.display()))?;
            Ok((file.clone(), new))
        }
        ReleaseSource::Pulumi(ps) => {
            let project = ps.project.as_ref().ok_or_else(|| {
                format!(
                    "{}: the Pulumi project could not be read",
                    ps.project_dir.display()
                )
            })?;
            let names = field.config_names();
            // Prefer a key the stack sets, else one the project declares.
            let set = ps.config.as_ref().and_then(|c| {
                c.entries
                    .iter()
                    .find(|e| e.namespace == project.name && names.contains(&e.name.as_str()))
                    .map(|e| e.name.clone())
            });
            let declared = project
                .config
                .iter()
                .find(|d| names.contains(&d.name.as_str()))
                .map(|d| d.name.clone());
            let name = set.or(declared).ok_or_else(|| {
                format!(
                    "{} has no config key for the {} (looked for {})",
                    project.name,
                    field.label(),
                    names.join(", ")
                )
            })?;
            // Stack config values are strings.
            let text_value = match value {
                NewValue::Str(s) => NewValue::Str(s.clone()),
                NewValue::Int(n) => NewValue::Str(n.to_string()),
            };
            let text = read(&ps.config_file)?;
            let new = edit::set_key(
                &text,
                0,
                &[Step::Key("config".into())],
                &format!("{}:{name}", project.name),
                &text_value,
            )
            .map_err(|e| format!("{}: {e}", ps.config_file.display()))?;
            Ok((ps.config_file.clone(), new))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> (tempfile::TempDir, super::super::Workspace) {
        let dir = tempfile::tempdir().unwrap();
        crate::paths::extract_demo(dir.path()).unwrap();
        let ws = crate::workspace::load(dir.path());
        (dir, ws)
    }

    #[test]
    fn pulumi_image_tag_changes_one_config_value() {
        let (_d, ws) = demo();
        let r = ws.find_releases("day-service", Some("production"), None)[0];
        let root = ws.root.clone();
        let read = move |p: &Path| std::fs::read_to_string(root.join(p)).map_err(|e| e.to_string());
        let v = validate(Field::ImageTag, "v1.2.4", r).unwrap();
        let (file, new) = apply(r, Field::ImageTag, &v, &read).unwrap();
        assert_eq!(
            file,
            PathBuf::from("gitops/pulumi_deploy/Pulumi.production.yaml")
        );
        let old = std::fs::read_to_string(ws.root.join(&file)).unwrap();
        assert_eq!(
            new,
            old.replace(
                "day-service:image_tag: v1.2.3",
                "day-service:image_tag: v1.2.4"
            )
        );
        // A setting the stack leaves at its default is added.
        let dev = ws.find_releases("day-service", Some("dev"), None)[0];
        let (_, new) = apply(dev, Field::Replicas, &NewValue::Int(2), &read).unwrap();
        assert_eq!(
            new,
            std::fs::read_to_string(ws.root.join("gitops/pulumi_deploy/Pulumi.dev.yaml"))
                .unwrap()
                .replace("day-service:replicas: \"1\"", "day-service:replicas: \"2\"")
        );
    }

    #[test]
    fn kubectl_tag_replicas_and_hpa() {
        let (_d, ws) = demo();
        let r = ws.find_releases("dusk-service", None, None)[0];
        let root = ws.root.clone();
        let read = move |p: &Path| std::fs::read_to_string(root.join(p)).map_err(|e| e.to_string());
        let (file, new) =
            apply(r, Field::ImageTag, &NewValue::Str("v2.5.0".into()), &read).unwrap();
        assert_eq!(file, PathBuf::from("k8s/dusk/deployment.yaml"));
        let old = std::fs::read_to_string(ws.root.join(&file)).unwrap();
        assert_eq!(
            new,
            old.replace("dusk-service:v2.4.1", "dusk-service:v2.5.0")
        );
        let (_, new) = apply(r, Field::Replicas, &NewValue::Int(4), &read).unwrap();
        assert_eq!(new, old.replace("replicas: 3 #", "replicas: 4 #"));
        let (file, new) = apply(r, Field::HpaMax, &NewValue::Int(12), &read).unwrap();
        assert_eq!(file, PathBuf::from("k8s/dusk/hpa.yaml"));
        assert!(new.contains("maxReplicas: 12\n"));
    }

    #[test]
    fn bad_values_are_refused_before_any_file() {
        let (_d, ws) = demo();
        let r = ws.find_releases("dusk-service", None, None)[0];
        assert!(validate(Field::ImageTag, "v 1", r).is_err());
        assert!(
            validate(Field::Replicas, "three", r)
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            validate(Field::HpaMin, "9", r)
                .unwrap_err()
                .contains("above its maximum 8")
        );
        assert!(
            validate(Field::HpaMax, "2", r)
                .unwrap_err()
                .contains("at least the minimum 3")
        );
    }
}
