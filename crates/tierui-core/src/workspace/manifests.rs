//! Kubernetes manifests: multi-document YAML files of objects.

use serde::Serialize;
use serde_json::Value as Json;

use super::fields::{Diagnostic, Diags, Severity};
use super::yaml::{self, Node, Pos, Value};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    pub api_version: String,
    pub kind: String,
    /// `None` when the object uses `generateName` and the server picks the name.
    pub name: Option<String>,
    pub namespace: Option<String>,
    #[serde(skip)]
    pub object: Json,
    /// Where the document starts in its file.
    #[serde(skip)]
    pub pos: Pos,
}

impl Manifest {
    /// `Kind/name` as kubectl prints it.
    pub fn display_name(&self) -> String {
        format!(
            "{}/{}",
            self.kind,
            self.name.as_deref().unwrap_or("(generated)")
        )
    }
}

/// Parses every object of a manifest file. Syntax errors stop the file; objects
/// with problems are reported and skipped, the rest are returned.
pub fn parse(src: &str, diags: &mut Diags) -> Vec<Manifest> {
    let docs = match yaml::parse_documents(src) {
        Ok(d) => d,
        Err(e) => {
            diags.push(e.diagnostic());
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for doc in &docs {
        if doc.root.is_null() {
            continue;
        }
        collect(
            &doc.root,
            &format!("document {}", doc.index + 1),
            diags,
            &mut out,
        );
    }
    out
}

fn collect(node: &Node, what: &str, diags: &mut Diags, out: &mut Vec<Manifest>) {
    if node.get("kind").and_then(Node::as_str) == Some("List")
        && let Some(items) = node.get("items").and_then(Node::as_seq)
    {
        for (i, item) in items.iter().enumerate() {
            collect(item, &format!("{what} item {}", i + 1), diags, out);
        }
        return;
    }
    if let Some(m) = object(node, what, diags) {
        out.push(m);
    }
}

fn object(node: &Node, what: &str, diags: &mut Diags) -> Option<Manifest> {
    if node.as_map().is_none() {
        diags.push(Diagnostic::error(
            node.pos(),
            "",
            format!(
                "{what}: expected a Kubernetes object (a mapping), found {}",
                node.type_name()
            ),
        ));
        return None;
    }
    let before = diags.len();
    let api_version = required_str(node, "apiVersion", what, diags);
    let kind = required_str(node, "kind", what, diags);
    let meta = node.get("metadata");
    let mut name = None;
    let mut namespace = None;
    match meta {
        None => diags.push(Diagnostic::error(
            node.pos(),
            "metadata",
            format!("{what}: missing metadata"),
        )),
        Some(m) if m.as_map().is_none() => diags.push(Diagnostic::error(
            m.pos(),
            "metadata",
            format!("metadata must be a mapping, found {}", m.type_name()),
        )),
        Some(m) => {
            name = string_at(m, "name", "metadata.name", diags);
            namespace = string_at(m, "namespace", "metadata.namespace", diags);
            let generate = m.get("generateName").is_some();
            match &name {
                None if !generate => diags.push(Diagnostic::error(
                    m.pos(),
                    "metadata.name",
                    format!("{what}: missing metadata.name"),
                )),
                Some(n) => check_dns_name(
                    n,
                    m.get("name").map_or(m.pos(), Node::pos),
                    "metadata.name",
                    diags,
                ),
                None => {}
            }
            if let Some(ns) = &namespace {
                check_dns_label(
                    ns,
                    m.get("namespace").map_or(m.pos(), Node::pos),
                    "metadata.namespace",
                    diags,
                );
            }
            for key in ["labels", "annotations"] {
                if let Some(l) = m.get(key) {
                    check_string_map(l, &format!("metadata.{key}"), diags);
                }
            }
        }
    }
    if let Some(kind) = &kind {
        check_fields(kind, node, diags);
    }
    if diags[before..]
        .iter()
        .any(|d| d.severity == Severity::Error)
    {
        return None;
    }
    Some(Manifest {
        api_version: api_version?,
        kind: kind?,
        name,
        namespace,
        object: node.to_json(),
        pos: node.pos(),
    })
}

fn required_str(node: &Node, key: &str, what: &str, diags: &mut Diags) -> Option<String> {
    match node.get(key) {
        None => {
            diags.push(Diagnostic::error(
                node.pos(),
                key,
                format!("{what}: missing {key}"),
            ));
            None
        }
        Some(v) => match v.as_str() {
            Some(s) if !s.is_empty() => Some(s.to_string()),
            _ => {
                diags.push(Diagnostic::error(
                    v.pos(),
                    key,
                    format!("{key} must be a non-empty string, found {}", v.type_name()),
                ));
                None
            }
        },
    }
}

fn string_at(node: &Node, key: &str, path: &str, diags: &mut Diags) -> Option<String> {
    let v = node.get(key)?;
    match v.as_str() {
        Some(s) => Some(s.to_string()),
        None if v.is_null() => None,
        None => {
            diags.push(Diagnostic::error(
                v.pos(),
                path,
                format!("{path} must be a string, found {}", v.type_name()),
            ));
            None
        }
    }
}

/// RFC 1123 subdomain, as Kubernetes requires for most object names.
fn check_dns_name(name: &str, pos: Pos, path: &str, diags: &mut Diags) {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        });
    if !ok {
        diags.push(Diagnostic::error(pos, path, format!("{path} \"{name}\" is not a valid name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit")));
    }
}

fn check_dns_label(name: &str, pos: Pos, path: &str, diags: &mut Diags) {
    if name.contains('.') || name.len() > 63 {
        diags.push(Diagnostic::error(
            pos,
            path,
            format!("{path} \"{name}\" is not a valid label: at most 63 characters, no '.'"),
        ));
    } else {
        check_dns_name(name, pos, path, diags);
    }
}

fn check_string_map(node: &Node, path: &str, diags: &mut Diags) {
    let Some(entries) = node.as_map() else {
        if !node.is_null() {
            diags.push(Diagnostic::error(
                node.pos(),
                path,
                format!(
                    "{path} must be a mapping of strings, found {}",
                    node.type_name()
                ),
            ));
        }
        return;
    };
    for (k, v) in entries {
        if v.as_str().is_none() {
            let key = k.key_text().unwrap_or_default();
            diags.push(Diagnostic::error(
                v.pos(),
                &format!("{path}.{key}"),
                format!(
                    "{path}.{key} must be a string, found {} (quote it)",
                    v.type_name()
                ),
            ));
        }
    }
}

/// Type checks of common fields, the ones people get wrong by hand.
fn check_fields(kind: &str, node: &Node, diags: &mut Diags) {
    let ints: &[&str] = match kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" => &[
            "spec.replicas",
            "spec.minReadySeconds",
            "spec.revisionHistoryLimit",
            "spec.progressDeadlineSeconds",
        ],
        "HorizontalPodAutoscaler" => &["spec.minReplicas", "spec.maxReplicas"],
        _ => &[],
    };
    for path in ints {
        expect_in(node, "", path, diags, is_int, "an integer");
    }
    if kind == "HorizontalPodAutoscaler"
        && let (Some(min), Some(max)) = (
            int_at(node, "spec.minReplicas"),
            int_at(node, "spec.maxReplicas"),
        )
        && min > max
        && let Some(n) = node.at_path("spec.minReplicas")
    {
        diags.push(Diagnostic::error(
            n.pos(),
            "spec.minReplicas",
            format!("spec.minReplicas ({min}) is greater than spec.maxReplicas ({max})"),
        ));
    }
    let pod_spec = match kind {
        "Pod" => Some("spec"),
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
            Some("spec.template.spec")
        }
        _ => None,
    };
    if let Some(spec) = pod_spec {
        for list in ["containers", "initContainers"] {
            let path = format!("{spec}.{list}");
            let Some(containers) = node.at_path(&path) else {
                if list == "containers" && kind != "Pod" && node.at_path("spec.template").is_some()
                {
                    diags.push(Diagnostic::error(
                        node.at_path("spec.template").map_or(node.pos(), Node::pos),
                        &path,
                        format!("missing {path}"),
                    ));
                }
                continue;
            };
            let Some(items) = containers.as_seq() else {
                diags.push(Diagnostic::error(
                    containers.pos(),
                    &path,
                    format!("{path} must be a list, found {}", containers.type_name()),
                ));
                continue;
            };
            for (i, c) in items.iter().enumerate() {
                let cpath = format!("{path}[{i}]");
                for key in ["name", "image"] {
                    match c.get(key) {
                        Some(v) if v.as_str().is_some() => {}
                        Some(v) => diags.push(Diagnostic::error(
                            v.pos(),
                            &format!("{cpath}.{key}"),
                            format!("{cpath}.{key} must be a string, found {}", v.type_name()),
                        )),
                        None => diags.push(Diagnostic::error(
                            c.pos(),
                            &format!("{cpath}.{key}"),
                            format!("missing {cpath}.{key}"),
                        )),
                    }
                }
                for (j, p) in c
                    .get("ports")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    expect_in(
                        p,
                        &format!("{cpath}.ports[{j}]"),
                        "containerPort",
                        diags,
                        is_int,
                        "an integer",
                    );
                }
            }
        }
    }
    if kind == "Service" {
        for (j, p) in node
            .at_path("spec.ports")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            expect_in(
                p,
                &format!("spec.ports[{j}]"),
                "port",
                diags,
                is_int,
                "an integer",
            );
        }
    }
    if kind == "ConfigMap"
        && let Some(data) = node.get("data")
    {
        check_string_map(data, "data", diags);
    }
}

fn is_int(v: &Value) -> bool {
    matches!(v, Value::Int(_))
}

/// Checks `node.path` with `ok`; `prefix` is where `node` sits, for the message.
fn expect_in(
    node: &Node,
    prefix: &str,
    path: &str,
    diags: &mut Diags,
    ok: fn(&Value) -> bool,
    want: &str,
) {
    let Some(v) = node.at_path(path) else { return };
    if !ok(&v.value) {
        let full = super::fields::join(prefix, path);
        diags.push(Diagnostic::error(
            v.pos(),
            &full,
            format!("{full} must be {want}, found {}", v.type_name()),
        ));
    }
}

fn int_at(node: &Node, path: &str) -> Option<i64> {
    match node.at_path(path)?.value {
        Value::Int(i) => Some(i),
        _ => None,
    }
}

/// True when a document looks like a Kubernetes object (used by discovery).
pub fn looks_like_object(root: &Node) -> bool {
    let api = root.get("apiVersion").and_then(Node::as_str);
    api.is_some_and(|a| !a.starts_with("eksctl.io/") && !a.starts_with("kustomize.config.k8s.io/"))
        && root.get("kind").and_then(Node::as_str).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(src: &str) -> (usize, Vec<String>) {
        let mut d = Diags::new();
        let n = parse(src, &mut d).len();
        (
            n,
            d.iter()
                .map(|d| format!("{}:{} {}", d.line, d.col, d.message))
                .collect(),
        )
    }

    #[test]
    fn demo_manifests_parse() {
        for (path, bytes) in crate::demo::files_under("fixtures/demo/k8s/") {
            let mut d = Diags::new();
            let m = parse(std::str::from_utf8(bytes).unwrap(), &mut d);
            assert!(d.is_empty(), "{path}: {d:?}");
            assert_eq!(m.len(), 1, "{path}");
        }
    }

    #[test]
    fn multi_document_and_lists() {
        let (n, d) = msgs(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n",
        );
        assert_eq!((n, d.len()), (2, 0));
    }

    #[test]
    fn missing_kind_and_name() {
        let (n, d) = msgs("apiVersion: v1\nmetadata:\n  namespace: x\n");
        assert_eq!(n, 0);
        assert_eq!(
            d,
            vec![
                "1:1 document 1: missing kind",
                "3:3 document 1: missing metadata.name"
            ]
        );
    }

    #[test]
    fn wrong_types_are_positioned() {
        let (n, d) = msgs(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: Web_1}\nspec:\n  replicas: \"3\"\n  template:\n    spec:\n      containers:\n        - name: web\n          image: 7\n",
        );
        assert_eq!(n, 0);
        assert!(
            d[0].starts_with("3:18 metadata.name \"Web_1\" is not a valid name"),
            "{d:?}"
        );
        assert_eq!(
            d[1],
            "5:13 spec.replicas must be an integer, found a string"
        );
        assert_eq!(
            d[2],
            "10:18 spec.template.spec.containers[0].image must be a string, found an integer"
        );
    }

    #[test]
    fn scalar_document_and_syntax_error() {
        let (_, d) = msgs("just text\n");
        assert_eq!(
            d,
            vec!["1:1 document 1: expected a Kubernetes object (a mapping), found a string"]
        );
        let (_, d) = msgs("kind: Service\nspec:\n  ports: [\n");
        assert_eq!(d, vec!["3:10 unclosed bracket '['"]);
    }

    #[test]
    fn label_values_must_be_strings() {
        let (_, d) =
            msgs("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    tier: 1\n");
        assert_eq!(
            d,
            vec!["6:11 metadata.labels.tier must be a string, found an integer (quote it)"]
        );
    }
}
