//! Native rendering of Pulumi YAML programs (`runtime: yaml`) into the Kubernetes
//! objects they declare, without the Pulumi CLI.
//!
//! Supported: `config` (declared keys, stack values, defaults, types), `variables`,
//! `${}` interpolation of config, variables, `pulumi.stack/project/organization`,
//! resource properties and StackReference outputs (read from the referenced stack's
//! checkpoint), the `fn::secret`, `fn::join`, `fn::select`, `fn::split`, `fn::toJSON`
//! and `fn::toBase64` builtins, and `kubernetes:<group>/<version>:<Kind>` resources.
//! Anything else is reported as "not rendered natively", never guessed.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value as Json};

use crate::workspace::pulumi::{ConfigDecl, ConfigValue, SECRET, StackConfig};
use crate::workspace::yaml::{Node, Value};

/// One Kubernetes object declared by the program.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedObject {
    /// The resource's logical name in the program.
    pub resource: String,
    pub object: Json,
    /// No `metadata.name`: Pulumi picks `<resource>-<random>` at apply time.
    pub auto_named: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rendered {
    pub objects: Vec<RenderedObject>,
    /// Constructs that were skipped, each naming where and why.
    pub notes: Vec<String>,
}

/// Outputs of another stack by its qualified name (`organization/<project>/<stack>`).
pub type StackOutputs<'a> = &'a dyn Fn(&str) -> Option<Vec<(String, Json)>>;

/// Everything the program can see from outside its own file.
pub struct Inputs<'a> {
    pub project: &'a str,
    pub stack: &'a str,
    pub config: &'a StackConfig,
    pub declared: &'a [ConfigDecl],
    pub stack_outputs: StackOutputs<'a>,
}

struct Scope<'a> {
    inputs: &'a Inputs<'a>,
    program: &'a Node,
    values: BTreeMap<String, Json>,
    /// Names being evaluated, to stop reference cycles.
    in_progress: Vec<String>,
    notes: Vec<String>,
}

pub fn render(program: &Node, inputs: &Inputs<'_>) -> Rendered {
    let mut scope = Scope {
        inputs,
        program,
        values: BTreeMap::new(),
        in_progress: Vec::new(),
        notes: Vec::new(),
    };
    let mut objects = Vec::new();
    let resources = program
        .get("resources")
        .and_then(Node::as_map)
        .unwrap_or_default();
    for (k, res) in resources {
        let Some(name) = k.key_text() else { continue };
        let Some(type_) = res.get("type").and_then(Node::scalar_text) else {
            continue;
        };
        let Some((api_version, kind)) = kubernetes_type(&type_) else {
            // Cloud resources (aws:…), providers and stack references are not objects.
            if type_.starts_with("kubernetes:") {
                scope.notes.push(format!(
                    "resources.{name}: {type_} is not rendered natively (needs the Pulumi CLI)"
                ));
            }
            continue;
        };
        let Some(props) = scope.resolve_resource(&name) else {
            continue;
        };
        let mut object = Map::new();
        object.insert("apiVersion".into(), Json::String(api_version));
        object.insert("kind".into(), Json::String(kind));
        if let Json::Object(p) = props {
            for (k, v) in p {
                object.insert(k, v);
            }
        }
        let auto_named = object
            .get("metadata")
            .and_then(|m| m.get("name"))
            .is_none_or(Json::is_null);
        if auto_named {
            let meta = object
                .entry("metadata")
                .or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(m) = meta {
                // As for programs: the name Pulumi picks at apply is a hole
                // that is never sent nor compared.
                m.insert(
                    "name".into(),
                    Json::String(crate::render::holes::DECIDED_AT_APPLY.into()),
                );
            }
        }
        objects.push(RenderedObject {
            resource: name,
            object: Json::Object(object),
            auto_named,
        });
    }
    Rendered {
        objects,
        notes: scope.notes,
    }
}

/// `kubernetes:apps/v1:Deployment` → (`apps/v1`, `Deployment`); `core/v1` → `v1`.
pub fn kubernetes_type(token: &str) -> Option<(String, String)> {
    let rest = token.strip_prefix("kubernetes:")?;
    let (gv, kind) = rest.split_once(':')?;
    let (group, version) = gv.split_once('/')?;
    if group == "yaml"
        || group.starts_with("helm")
        || kind.is_empty()
        || !kind.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return None;
    }
    let api_version = if group == "core" {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some((api_version, kind.to_string()))
}

impl Scope<'_> {
    /// A resource's evaluated properties (cached).
    fn resolve_resource(&mut self, name: &str) -> Option<Json> {
        let key = format!("resource:{name}");
        if let Some(v) = self.values.get(&key) {
            return Some(v.clone());
        }
        let program = self.program;
        let res = program.get("resources")?.get(name)?;
        if self.in_progress.contains(&key) {
            self.notes
                .push(format!("resources.{name}: refers to itself"));
            return None;
        }
        self.in_progress.push(key.clone());
        let type_ = res
            .get("type")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
        let value = if type_ == "pulumi:pulumi:StackReference" {
            self.stack_reference(name, res)
        } else {
            match res.get("properties") {
                Some(p) => self.eval(p, &format!("resources.{name}.properties")),
                None => Some(Json::Object(Map::new())),
            }
        };
        self.in_progress.pop();
        let value = value?;
        self.values.insert(key, value.clone());
        Some(value)
    }

    fn stack_reference(&mut self, name: &str, res: &Node) -> Option<Json> {
        let path = format!("resources.{name}");
        let target = match res.at_path("properties.name") {
            Some(n) => self.eval(n, &format!("{path}.properties.name"))?,
            None => Json::String(name.to_string()),
        };
        let Some(target) = target.as_str() else {
            self.notes
                .push(format!("{path}: StackReference name is not a string"));
            return None;
        };
        let full = qualify_stack(target);
        match (self.inputs.stack_outputs)(&full) {
            Some(outputs) => Some(serde_json::json!({
                "name": full,
                "outputs": Json::Object(outputs.into_iter().collect()),
            })),
            None => {
                self.notes.push(format!("{path}: no checkpoint for stack {full} in this workspace, so its outputs are unknown"));
                None
            }
        }
    }

    fn config(&mut self, name: &str) -> Option<Json> {
        let key = name
            .strip_prefix(&format!("{}:", self.inputs.project))
            .unwrap_or(name);
        let decl = self.inputs.declared.iter().find(|d| d.name == key);
        let full = if key.contains(':') {
            key.to_string()
        } else {
            format!("{}:{key}", self.inputs.project)
        };
        let from_stack = self.inputs.config.get(&full).map(|e| e.value.clone());
        let value = match from_stack {
            Some(ConfigValue::Secret) => return Some(Json::String(SECRET.into())),
            Some(ConfigValue::Structured(j)) => j,
            Some(ConfigValue::Text(t)) => typed(&t, decl.and_then(|d| d.type_.as_deref())),
            None => decl?.default.clone()?,
        };
        if decl.is_some_and(|d| d.secret) {
            return Some(Json::String(SECRET.into()));
        }
        Some(value)
    }

    /// Looks up the head of a `${…}` expression.
    fn lookup(&mut self, head: &str, path: &str) -> Option<Json> {
        match head {
            "pulumi" => {
                return Some(serde_json::json!({
                    "stack": self.inputs.stack,
                    "project": self.inputs.project,
                    "organization": "organization",
                }));
            }
            "config" => {
                let project = self.inputs.project.to_string();
                let keys: Vec<String> = self
                    .inputs
                    .declared
                    .iter()
                    .map(|d| d.name.clone())
                    .collect();
                let mut map = Map::new();
                for k in keys {
                    if let Some(v) = self.config(&k) {
                        map.insert(k, v);
                    }
                }
                for e in &self.inputs.config.entries {
                    if e.namespace == project && !map.contains_key(&e.name) {
                        let v = match &e.value {
                            ConfigValue::Text(t) => Json::String(t.clone()),
                            ConfigValue::Secret => Json::String(SECRET.into()),
                            ConfigValue::Structured(j) => j.clone(),
                        };
                        map.insert(e.name.clone(), v);
                    }
                }
                return Some(Json::Object(map));
            }
            _ => {}
        }
        let program = self.program;
        if let Some(var) = program.get("variables").and_then(|v| v.get(head)) {
            let key = format!("var:{head}");
            if let Some(v) = self.values.get(&key) {
                return Some(v.clone());
            }
            if self.in_progress.contains(&key) {
                self.notes
                    .push(format!("variables.{head}: refers to itself"));
                return None;
            }
            self.in_progress.push(key.clone());
            let v = self.eval(var, &format!("variables.{head}"));
            self.in_progress.pop();
            let v = v?;
            self.values.insert(key, v.clone());
            return Some(v);
        }
        if program.get("resources").and_then(|r| r.get(head)).is_some() {
            return self.resolve_resource(head);
        }
        if let Some(v) = self.config(head) {
            return Some(v);
        }
        self.notes.push(format!(
            "{path}: ${{{head}}} is not a config key, variable or resource"
        ));
        None
    }

    fn eval(&mut self, node: &Node, path: &str) -> Option<Json> {
        match &node.value {
            Value::Str(s) => self.interpolate(s, path),
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(self.eval(item, &format!("{path}[{i}]"))?);
                }
                Some(Json::Array(out))
            }
            Value::Map(entries) => {
                if let [(k, arg)] = entries.as_slice()
                    && let Some(f) = k.as_str().and_then(|k| k.strip_prefix("fn::"))
                {
                    return self.builtin(f, arg, path);
                }
                let mut out = Map::new();
                for (k, v) in entries {
                    let key = k.key_text().unwrap_or_default();
                    out.insert(key.clone(), self.eval(v, &format!("{path}.{key}"))?);
                }
                Some(Json::Object(out))
            }
            _ => Some(node.to_json()),
        }
    }

    fn builtin(&mut self, f: &str, arg: &Node, path: &str) -> Option<Json> {
        let path = format!("{path}.fn::{f}");
        match f {
            "secret" => {
                self.eval(arg, &path)?;
                Some(Json::String(SECRET.into()))
            }
            "toJSON" => Some(Json::String(self.eval(arg, &path)?.to_string())),
            "toBase64" => {
                let v = self.eval(arg, &path)?;
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                Some(Json::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                ))
            }
            "join" => {
                let args = self.eval(arg, &path)?;
                let (sep, items) = two(&args)?;
                let items: Vec<String> = items.as_array()?.iter().map(scalar_string).collect();
                Some(Json::String(items.join(sep.as_str()?)))
            }
            "split" => {
                let args = self.eval(arg, &path)?;
                let (sep, text) = two(&args)?;
                Some(Json::Array(
                    text.as_str()?
                        .split(sep.as_str()?)
                        .map(|s| Json::String(s.into()))
                        .collect(),
                ))
            }
            "select" => {
                let args = self.eval(arg, &path)?;
                let (index, items) = two(&args)?;
                items
                    .as_array()?
                    .get(usize::try_from(index.as_i64()?).ok()?)
                    .cloned()
            }
            _ => {
                self.notes.push(format!(
                    "{path}: fn::{f} is not rendered natively (needs the Pulumi CLI)"
                ));
                None
            }
        }
    }

    /// `${a.b["c"]}` alone keeps the referenced value's type; inside other text it
    /// becomes a string. `$${` is a literal `${`.
    fn interpolate(&mut self, s: &str, path: &str) -> Option<Json> {
        if !s.contains("${") {
            return Some(Json::String(s.to_string()));
        }
        if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
            && !inner.contains("${")
            && !inner.contains('}')
        {
            return self.expression(inner, path);
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            if i > 0 && rest.as_bytes()[i - 1] == b'$' {
                out.push_str(&rest[..i - 1]);
                out.push_str("${");
                rest = &rest[i + 2..];
                continue;
            }
            out.push_str(&rest[..i]);
            let Some(end) = rest[i..].find('}') else {
                self.notes
                    .push(format!("{path}: unterminated ${{ in \"{s}\""));
                return None;
            };
            let v = self.expression(&rest[i + 2..i + end], path)?;
            out.push_str(&scalar_string(&v));
            rest = &rest[i + end + 1..];
        }
        out.push_str(rest);
        Some(Json::String(out))
    }

    fn expression(&mut self, expr: &str, path: &str) -> Option<Json> {
        let Some(parts) = parse_access(expr.trim()) else {
            self.notes
                .push(format!("{path}: cannot read expression ${{{expr}}}"));
            return None;
        };
        let (head, tail) = parts.split_first()?;
        let Access::Key(head) = head else { return None };
        let mut value = self.lookup(head, path)?;
        for part in tail {
            let next = match (part, &value) {
                (Access::Key(k), Json::Object(m)) => m.get(k).cloned(),
                (Access::Index(i), Json::Array(a)) => a.get(*i).cloned(),
                _ => None,
            };
            match next {
                Some(v) => value = v,
                None if value.as_str() == Some(SECRET) => return Some(value),
                None => {
                    self.notes.push(format!("{path}: ${{{expr}}} has no value"));
                    return None;
                }
            }
        }
        Some(value)
    }
}

/// `organization/p/s` stays; `p/s` gains the default organization.
pub fn qualify_stack(name: &str) -> String {
    match name.matches('/').count() {
        1 => format!("organization/{name}"),
        _ => name.to_string(),
    }
}

fn typed(text: &str, type_: Option<&str>) -> Json {
    match type_ {
        Some("integer") => text
            .parse::<i64>()
            .map_or_else(|_| Json::String(text.into()), Json::from),
        Some("number") => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Json::String(text.into()), Json::Number),
        Some("boolean") => match text {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            _ => Json::String(text.into()),
        },
        _ => Json::String(text.into()),
    }
}

fn scalar_string(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn two(v: &Json) -> Option<(&Json, &Json)> {
    match v.as_array()?.as_slice() {
        [a, b] => Some((a, b)),
        _ => None,
    }
}

#[derive(Debug, PartialEq)]
enum Access {
    Key(String),
    Index(usize),
}

/// `a.b["c-d"][0].e` → [a, b, c-d, 0, e].
fn parse_access(expr: &str) -> Option<Vec<Access>> {
    let mut out = Vec::new();
    let mut rest = expr;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                out.push(Access::Key(q.to_string()));
            } else {
                out.push(Access::Index(inner.parse().ok()?));
            }
            rest = &r[end + 1..];
        } else {
            let r = rest.strip_prefix('.').unwrap_or(rest);
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            out.push(Access::Key(r[..end].to_string()));
            rest = &r[end..];
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::fields::Diags;
    use crate::workspace::pulumi::{parse_project, parse_stack_config};
    use crate::workspace::yaml::parse_single;

    fn demo(path: &str) -> String {
        String::from_utf8(
            crate::demo::file(&format!("fixtures/demo/{path}"))
                .unwrap()
                .to_vec(),
        )
        .unwrap()
    }

    fn render_demo(stack: &str, outputs: Option<Vec<(String, Json)>>) -> Rendered {
        let program = parse_single(&demo("gitops/pulumi_deploy/Pulumi.yaml")).unwrap();
        let mut d = Diags::new();
        let project = parse_project(&program, &mut d).unwrap();
        let cfg = parse_stack_config(
            &parse_single(&demo(&format!("gitops/pulumi_deploy/Pulumi.{stack}.yaml"))).unwrap(),
            "day-service",
            &project.config,
            &mut d,
        );
        assert!(d.is_empty(), "{d:?}");
        let lookup = move |name: &str| -> Option<Vec<(String, Json)>> {
            assert_eq!(
                name,
                if stack == "dev" {
                    "organization/eks-foundation/dusk"
                } else {
                    "organization/eks-foundation/day"
                }
            );
            outputs.clone()
        };
        let inputs = Inputs {
            project: "day-service",
            stack,
            config: &cfg,
            declared: &project.config,
            stack_outputs: &lookup,
        };
        render(&program, &inputs)
    }

    #[test]
    fn demo_app_renders_every_object() {
        let out = render_demo(
            "production",
            Some(vec![
                ("cluster_name".into(), Json::String("day".into())),
                ("kubeconfig".into(), Json::String(SECRET.into())),
            ]),
        );
        assert!(out.notes.is_empty(), "{:?}", out.notes);
        let kinds: Vec<_> = out
            .objects
            .iter()
            .map(|o| o.object["kind"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ConfigMap",
                "Secret",
                "Deployment",
                "Service",
                "HorizontalPodAutoscaler",
                "Ingress"
            ]
        );
        let dep = &out.objects[3].object;
        assert_eq!(dep["apiVersion"], "apps/v1");
        assert_eq!(dep["spec"]["replicas"], 3);
        assert_eq!(dep["metadata"]["namespace"], "day-service");
        assert_eq!(
            dep["spec"]["template"]["spec"]["containers"][0]["image"],
            "ghcr.io/example/day-service:v1.2.3"
        );
        assert_eq!(out.objects[1].object["data"]["CLUSTER_NAME"], "day");
        assert_eq!(out.objects[2].object["stringData"]["API_KEY"], SECRET);
        assert_eq!(out.objects[5].object["spec"]["maxReplicas"], 10);
    }

    #[test]
    fn missing_stack_reference_is_a_note_not_a_guess() {
        let out = render_demo("dev", None);
        assert!(
            out.notes
                .iter()
                .any(|n| n.contains("no checkpoint for stack organization/eks-foundation/dusk")),
            "{:?}",
            out.notes
        );
        // Objects that do not depend on the reference still render.
        assert!(out.objects.iter().any(|o| o.object["kind"] == "Deployment"));
        assert!(!out.objects.iter().any(|o| o.object["kind"] == "ConfigMap"));
    }

    #[test]
    fn interpolation_builtins_and_auto_names() {
        let program = parse_single(
            "name: p\nruntime: yaml\nconfig:\n  n: {type: integer, default: 2}\nvariables:\n  base: web\n  parts:\n    fn::split: [\",\", \"a,b\"]\nresources:\n  cm:\n    type: kubernetes:core/v1:ConfigMap\n    properties:\n      data:\n        joined:\n          fn::join: [\"-\", [\"${base}\", \"${pulumi.stack}\"]]\n        second:\n          fn::select: [1, \"${parts}\"]\n        count: \"n=${n}\"\n        literal: \"$${x}\"\n  bucket:\n    type: aws:s3:Bucket\n  inv:\n    type: kubernetes:core/v1:ConfigMap\n    properties:\n      data:\n        x:\n          fn::invoke: {function: f}\n",
        )
        .unwrap();
        let cfg = StackConfig {
            entries: vec![],
            secrets_provider: None,
        };
        let mut d = Diags::new();
        let project = parse_project(&program, &mut d).unwrap();
        let none = |_: &str| None;
        let out = render(
            &program,
            &Inputs {
                project: "p",
                stack: "dev",
                config: &cfg,
                declared: &project.config,
                stack_outputs: &none,
            },
        );
        let cm = &out.objects[0];
        assert!(cm.auto_named);
        assert_eq!(
            cm.object["data"],
            serde_json::json!({"joined": "web-dev", "second": "b", "count": "n=2", "literal": "${x}"})
        );
        assert_eq!(out.objects.len(), 1);
        assert_eq!(
            out.notes,
            vec![
                "resources.inv.properties.data.x.fn::invoke: fn::invoke is not rendered natively (needs the Pulumi CLI)"
            ]
        );
    }

    #[test]
    fn type_tokens() {
        assert_eq!(
            kubernetes_type("kubernetes:core/v1:Service"),
            Some(("v1".into(), "Service".into()))
        );
        assert_eq!(
            kubernetes_type("kubernetes:networking.k8s.io/v1:Ingress"),
            Some(("networking.k8s.io/v1".into(), "Ingress".into()))
        );
        assert_eq!(kubernetes_type("kubernetes:yaml/v2:ConfigGroup"), None);
        assert_eq!(kubernetes_type("aws:s3:Bucket"), None);
    }
}
