//! Moving a service between the two approaches, as pure conversions:
//! a kubectl release's objects into a Pulumi YAML app project (the values
//! that differ per environment lifted into config, the cluster read through a
//! StackReference, each object adopted with `import`), and a Pulumi release's
//! live objects into manifests a reviewer wants (only the fields the program
//! declares, with the live values; no status or server bookkeeping; Secret
//! values never written). The proofs — the new form rendered against the old,
//! and the new manifests against the live cluster — are run by the caller.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use crate::render::diff::to_yaml;

/// Writes an object as YAML with `apiVersion`, `kind` and `metadata` first.
pub fn object_yaml(o: &Json) -> String {
    let Some(m) = o.as_object() else {
        return to_yaml(o);
    };
    let mut out = String::new();
    let order = ["apiVersion", "kind", "metadata"];
    let rest = m.keys().filter(|k| !order.contains(&k.as_str()));
    for k in order.iter().map(|k| k.to_string()).chain(rest.cloned()) {
        let Some(v) = m.get(&k) else { continue };
        out.push_str(&field_yaml(&k, v, 0));
    }
    out
}

/// `key: value` at `indent` spaces, nested values below it.
fn field_yaml(key: &str, v: &Json, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let text = to_yaml(&json!({ key: v }));
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

/// Keeps of `live` only what `shape` (the program's object) declares, with the
/// live values: server defaults, status and bookkeeping fall away. Lists of
/// named items are matched by name, others by position.
pub fn shape(live: &Json, shape: &Json) -> Json {
    match (live, shape) {
        (Json::Object(l), Json::Object(s)) => {
            let mut out = Map::new();
            for (k, sv) in s {
                if let Some(lv) = l.get(k) {
                    out.insert(k.clone(), self::shape(lv, sv));
                }
            }
            Json::Object(out)
        }
        (Json::Array(l), Json::Array(s)) => {
            let named = |x: &Json| x.get("name").and_then(Json::as_str).map(String::from);
            Json::Array(
                s.iter()
                    .enumerate()
                    .filter_map(|(i, sv)| {
                        let lv = match named(sv) {
                            Some(n) => l.iter().find(|x| named(x).as_deref() == Some(&n)),
                            None => l.get(i),
                        }?;
                        Some(self::shape(lv, sv))
                    })
                    .collect(),
            )
        }
        (lv, _) => lv.clone(),
    }
}

/// Annotations and labels that tools, not people, write.
fn machine_key(k: &str) -> bool {
    k.starts_with("pulumi.com/")
        || k == "kubectl.kubernetes.io/last-applied-configuration"
        || k == "deployment.kubernetes.io/revision"
        || k == "app.kubernetes.io/managed-by"
        || k.starts_with("applyset.kubernetes.io/")
}

/// A live object as a manifest: the program's shape with the live values,
/// metadata reduced to name, namespace, labels and annotations people write.
pub fn manifest_of_live(live: &Json, desired: &Json) -> Json {
    let mut o = shape(live, desired);
    if let Some(m) = o.get_mut("metadata").and_then(Json::as_object_mut) {
        m.retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations"));
        for k in ["labels", "annotations"] {
            if let Some(Json::Object(x)) = m.get_mut(k) {
                x.retain(|k, _| !machine_key(k));
                if x.is_empty() {
                    m.remove(k);
                }
            }
        }
    }
    if let Some(m) = o.as_object_mut() {
        m.remove("status");
        m.insert("apiVersion".into(), live["apiVersion"].clone());
        m.insert("kind".into(), live["kind"].clone());
    }
    o
}

/// A Secret as a template: its keys with empty values, never its data.
pub fn secret_template(o: &Json) -> Json {
    let mut t = o.clone();
    let mut keys: Vec<String> = ["data", "stringData"]
        .iter()
        .filter_map(|f| o.get(*f).and_then(Json::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    if let Some(m) = t.as_object_mut() {
        m.remove("data");
        let empty: Map<String, Json> = keys.into_iter().map(|k| (k, json!(""))).collect();
        m.insert("stringData".into(), Json::Object(empty));
    }
    t
}

/// The file a kind's manifests go in (`deployment.yaml`, `hpa.yaml`…).
pub fn file_for(kind: &str) -> String {
    match kind {
        "HorizontalPodAutoscaler" => "hpa.yaml".into(),
        "PersistentVolumeClaim" => "pvc.yaml".into(),
        "PodDisruptionBudget" => "pdb.yaml".into(),
        k => format!("{}.yaml", k.to_lowercase()),
    }
}

/// Manifests by file, one file per kind (Namespaces first), each document
/// headed by `header`; Secrets go to `secret.yaml.example` as templates.
pub fn kubectl_files(objects: &[Json], header: &str) -> Vec<(String, String)> {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in objects {
        let kind = o["kind"].as_str().unwrap_or("object");
        let (file, text) = if kind == "Secret" {
            (
                "secret.yaml.example".to_string(),
                format!(
                    "# The Secret's values are not written: keep them in a secret manager (AWS\n# Secrets Manager through External Secrets, or Sealed Secrets) and create the\n# Secret from there. This file is a template of its keys and is not applied.\n{}",
                    object_yaml(&secret_template(o))
                ),
            )
        } else {
            (file_for(kind), object_yaml(o))
        };
        files.entry(file).or_default().push(text);
    }
    let mut out: Vec<(String, String)> = files
        .into_iter()
        .map(|(f, docs)| (f, format!("{header}{}", docs.join("---\n"))))
        .collect();
    out.sort_by_key(|(f, _)| (f != "namespace.yaml", f.clone()));
    out
}

/// A generated Pulumi YAML app project.
#[derive(Debug, Clone, PartialEq)]
pub struct PulumiYaml {
    /// `Pulumi.yaml`.
    pub project: String,
    /// `Pulumi.<stack>.yaml`.
    pub stack_config: String,
    /// The values lifted into config, as (key, value).
    pub lifted: Vec<(String, String)>,
    pub notes: Vec<String>,
}

/// What the generator needs besides the objects.
pub struct PulumiYamlSpec<'a> {
    pub project: &'a str,
    pub stack: &'a str,
    pub namespace: &'a str,
    /// The cluster's infra stack, `organization/<project>/<stack>`.
    pub infra_stack: &'a str,
    /// `backend.url` for the project, when the workspace uses a file backend.
    pub backend_url: Option<&'a str>,
    /// Where the objects came from, for the header.
    pub source: &'a str,
}

/// A Pulumi type token for an apiVersion and kind (`apps/v1` → `apps/v1`,
/// `v1` → `core/v1`).
pub fn type_token(api_version: &str, kind: &str) -> String {
    let gv = if api_version.contains('/') {
        api_version.to_string()
    } else {
        format!("core/{api_version}")
    };
    format!("kubernetes:{gv}:{kind}")
}

/// A Pulumi logical name: letters, digits and `-`.
fn logical(name: &str, kind: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect()
    };
    format!("{}-{}", clean(name), kind.to_lowercase())
}

/// One object as a program resource: its logical name, type, properties
/// (with `${config}` placeholders) and the id `import` adopts.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub name: String,
    pub api_version: String,
    pub kind: String,
    /// Everything but apiVersion, kind and status.
    pub props: Json,
    pub import: String,
}

/// The objects made into resources with the per-environment values lifted
/// into config — the part every runtime's program shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// (config name, value) in declaration order.
    pub lifted: Vec<(String, String)>,
    /// Config names of Secret values (declared secret, never given a value).
    pub secrets: Vec<String>,
    pub resources: Vec<Resource>,
    pub notes: Vec<String>,
}

/// Lifts the first Deployment's image tag and replicas, its HPA's bounds,
/// the namespace and the infra stack into config, and makes each object a
/// resource (Namespaces first) that adopts the live object.
pub fn prepare(spec: &PulumiYamlSpec<'_>, objects: &[Json]) -> Prepared {
    let mut lifted: Vec<(String, String)> = Vec::new();
    let mut notes = Vec::new();
    let mut objs: Vec<Json> = objects.to_vec();
    let ns = spec.namespace;
    if let Some(d) = objs.iter_mut().find(|o| o["kind"] == "Deployment") {
        if let Some(img) = d
            .pointer("/spec/template/spec/containers/0/image")
            .and_then(Json::as_str)
            .map(String::from)
            && let Some((repo, tag)) = img.rsplit_once(':')
            && !repo.is_empty()
            && !tag.contains('/')
        {
            lifted.push(("image_tag".into(), tag.into()));
            d["spec"]["template"]["spec"]["containers"][0]["image"] =
                json!(format!("{repo}:${{image_tag}}"));
        }
        if let Some(n) = d.pointer("/spec/replicas").and_then(Json::as_i64) {
            lifted.push(("replicas".into(), n.to_string()));
            d["spec"]["replicas"] = json!("${replicas}");
        }
    }
    if let Some(h) = objs
        .iter_mut()
        .find(|o| o["kind"] == "HorizontalPodAutoscaler")
    {
        for (field, key) in [
            ("minReplicas", "min_replicas"),
            ("maxReplicas", "max_replicas"),
        ] {
            if let Some(n) = h.pointer(&format!("/spec/{field}")).and_then(Json::as_i64) {
                lifted.push((key.into(), n.to_string()));
                h["spec"][field] = json!(format!("${{{key}}}"));
            }
        }
    }
    lifted.push(("namespace".into(), ns.into()));
    lifted.push(("infra_stack".into(), spec.infra_stack.into()));
    let mut secrets: Vec<String> = Vec::new();
    for o in objs.iter().filter(|o| o["kind"] == "Secret") {
        for f in ["data", "stringData"] {
            if let Some(m) = o.get(f).and_then(Json::as_object) {
                secrets.extend(m.keys().map(|k| secret_key(o, k)));
            }
        }
    }
    secrets.sort();
    secrets.dedup();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    // Namespaces first, as a reader (and kubectl apply) takes them.
    objs.sort_by_key(|o| o["kind"] != "Namespace");
    let mut resources = Vec::new();
    for o in &objs {
        let kind = o["kind"].as_str().unwrap_or("Object");
        let name = o
            .pointer("/metadata/name")
            .and_then(Json::as_str)
            .unwrap_or("unnamed");
        let mut res_name = logical(name, kind);
        let n = seen.entry(res_name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            res_name = format!("{res_name}-{n}");
        }
        let mut props = o.clone();
        // A namespaced object without one goes where kubectl applied it (the
        // release's namespace), not to the provider's default namespace.
        let object_ns = o
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .map(String::from)
            .or_else(|| {
                (!crate::render::normalize::CLUSTER_SCOPED.contains(&kind)).then(|| ns.to_string())
            });
        if let Some(m) = props.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
            m.remove("status");
        }
        if object_ns.as_deref() == Some(ns) {
            props["metadata"]["namespace"] = json!("${namespace}");
        }
        if kind == "Namespace" && name == ns {
            props["metadata"]["name"] = json!("${namespace}");
        }
        if kind == "Secret" {
            let mut data = Map::new();
            for f in ["data", "stringData"] {
                if let Some(m) = o.get(f).and_then(Json::as_object) {
                    for k in m.keys() {
                        data.insert(k.clone(), json!(format!("${{{}}}", secret_key(o, k))));
                    }
                }
            }
            if let Some(m) = props.as_object_mut() {
                m.remove("data");
                m.insert("stringData".into(), Json::Object(data));
            }
            notes.push(format!(
                "Secret/{name}: its values are not copied; set each with `pulumi config set --secret <key>` ({})",
                secrets.join(", ")
            ));
        }
        // metadata first, as people write objects.
        if let Some(m) = props.as_object() {
            let mut ordered = Map::new();
            if let Some(meta) = m.get("metadata") {
                ordered.insert("metadata".into(), meta.clone());
            }
            for (k, v) in m.iter().filter(|(k, _)| *k != "metadata") {
                ordered.insert(k.clone(), v.clone());
            }
            props = Json::Object(ordered);
        }
        resources.push(Resource {
            name: res_name,
            api_version: o["apiVersion"].as_str().unwrap_or("v1").to_string(),
            kind: kind.to_string(),
            props,
            import: match &object_ns {
                Some(x) => format!("{x}/{name}"),
                None => name.to_string(),
            },
        });
    }
    Prepared {
        lifted,
        secrets,
        resources,
        notes,
    }
}

/// `Pulumi.<stack>.yaml`: the lifted values (numbers quoted, as the CLI
/// writes them); secrets are left for `pulumi config set --secret`.
fn stack_config(project: &str, lifted: &[(String, String)]) -> String {
    let mut stack = String::from("config:\n");
    for (k, v) in lifted {
        let text = if v.parse::<i64>().is_ok() {
            format!("\"{v}\"")
        } else {
            v.clone()
        };
        stack.push_str(&format!("  {project}:{k}: {text}\n"));
    }
    stack
}

fn is_int_config(key: &str) -> bool {
    matches!(key, "replicas" | "min_replicas" | "max_replicas")
}

/// The kubectl release's objects as a Pulumi YAML project and stack config.
pub fn to_pulumi_yaml(spec: &PulumiYamlSpec<'_>, objects: &[Json]) -> PulumiYaml {
    let p = prepare(spec, objects);
    let mut out = String::new();
    out.push_str(&format!(
        "# Generated by `tierui migrate` from {}: one resource per object, each\n# adopting the live object (`import`) rather than creating it. The values that\n# differ per environment are config (Pulumi.<stack>.yaml); the cluster is read\n# from the infra stack's outputs.\n",
        spec.source
    ));
    out.push_str(&format!("name: {}\nruntime: yaml\n", spec.project));
    out.push_str(&format!(
        "description: {} on its infra stack's cluster (migrated from kubectl YAML)\n",
        spec.project
    ));
    if let Some(url) = spec.backend_url {
        out.push_str(&format!("backend:\n  url: {url}\n"));
    }
    out.push_str("\nconfig:\n");
    for (key, _) in &p.lifted {
        let ty = if is_int_config(key) {
            "integer"
        } else {
            "string"
        };
        out.push_str(&format!("  {key}:\n    type: {ty}\n"));
    }
    for k in &p.secrets {
        out.push_str(&format!("  {k}:\n    type: string\n    secret: true\n"));
    }
    out.push_str(
        "\nresources:\n  infra:\n    type: pulumi:pulumi:StackReference\n    properties:\n      name: ${infra_stack}\n\n  cluster:\n    type: pulumi:providers:kubernetes\n    properties:\n      kubeconfig: ${infra.outputs[\"kubeconfig\"]}\n",
    );
    for r in &p.resources {
        out.push_str(&format!(
            "\n  {}:\n    type: {}\n",
            r.name,
            type_token(&r.api_version, &r.kind)
        ));
        out.push_str("    properties:\n");
        if let Some(m) = r.props.as_object() {
            for (k, v) in m {
                out.push_str(&field_yaml(k, v, 6));
            }
        }
        out.push_str(&format!(
            "    options:\n      provider: ${{cluster}}\n      import: {}\n",
            r.import
        ));
    }
    PulumiYaml {
        project: out,
        stack_config: stack_config(spec.project, &p.lifted),
        lifted: p.lifted,
        notes: p.notes,
    }
}

/// A generated Python or TypeScript Pulumi program: its files (by name in the
/// project folder) and stack config.
#[derive(Debug, Clone, PartialEq)]
pub struct PulumiProgram {
    pub files: Vec<(String, String)>,
    pub stack_config: String,
    pub lifted: Vec<(String, String)>,
    pub notes: Vec<String>,
}

/// A placeholder-bearing string as code: `${x}` alone is the variable, text
/// around it an interpolation (`f"…{x}…"` in Python, `` `…${x}…` `` in TypeScript).
fn interpolated(text: &str, python: bool) -> String {
    let whole = text
        .strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .filter(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if let Some(v) = whole {
        return v.to_string();
    }
    if !text.contains("${") {
        return serde_json::to_string(text).unwrap_or_default();
    }
    if python {
        let body = text.replace('{', "{{").replace('}', "}}");
        // `${{x}}` back to `{x}`.
        let mut out = body;
        while let Some(i) = out.find("${{") {
            let Some(j) = out[i..].find("}}") else { break };
            let var = out[i + 3..i + j].to_string();
            out.replace_range(i..i + j + 2, &format!("{{{var}}}"));
        }
        let quoted = serde_json::to_string(&out).unwrap_or_default();
        format!("f{quoted}")
    } else {
        let body = text.replace('\\', "\\\\").replace('`', "\\`");
        format!("`{body}`")
    }
}

/// A value as a Python (or TypeScript) literal, nested at `indent` spaces.
fn literal(v: &Json, indent: usize, python: bool) -> String {
    let pad = " ".repeat(indent + 4);
    let close = " ".repeat(indent);
    match v {
        Json::Null => if python { "None" } else { "null" }.into(),
        Json::Bool(b) => match (python, b) {
            (true, true) => "True".into(),
            (true, false) => "False".into(),
            (false, b) => b.to_string(),
        },
        Json::Number(n) => n.to_string(),
        Json::String(t) => interpolated(t, python),
        Json::Array(items) if items.is_empty() => "[]".into(),
        Json::Array(items) => {
            let body: Vec<String> = items
                .iter()
                .map(|x| format!("{pad}{},", literal(x, indent + 4, python)))
                .collect();
            format!("[\n{}\n{close}]", body.join("\n"))
        }
        Json::Object(m) if m.is_empty() => "{}".into(),
        Json::Object(m) => {
            let body: Vec<String> = m
                .iter()
                .map(|(k, x)| {
                    let key = if !python
                        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !k.starts_with(|c: char| c.is_ascii_digit())
                    {
                        k.clone()
                    } else {
                        serde_json::to_string(k).unwrap_or_default()
                    };
                    format!("{pad}{key}: {},", literal(x, indent + 4, python))
                })
                .collect();
            format!("{{\n{}\n{close}}}", body.join("\n"))
        }
    }
}

/// `stringData` → `string_data`.
fn snake(k: &str) -> String {
    let mut out = String::new();
    for c in k.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The SDK's module of an apiVersion (`apps/v1` → `apps.v1`), or None for a
/// custom resource.
fn sdk_module(api_version: &str) -> Option<String> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let module = match group {
        "" => "core",
        "apps" | "batch" | "policy" | "autoscaling" => group,
        "networking.k8s.io" => "networking",
        "rbac.authorization.k8s.io" => "rbac",
        "storage.k8s.io" => "storage",
        "scheduling.k8s.io" => "scheduling",
        "apiextensions.k8s.io" => "apiextensions",
        _ => return None,
    };
    Some(format!("{module}.{version}"))
}

/// The kubectl release's objects as a Python Pulumi program: the config read
/// at the top, the cluster from the infra stack, one resource per block.
pub fn to_pulumi_python(spec: &PulumiYamlSpec<'_>, objects: &[Json]) -> PulumiProgram {
    let p = prepare(spec, objects);
    let mut py = format!(
        "\"\"\"{}: migrated from kubectl YAML ({}) by `tierui migrate`.\n\nOne resource per object, each adopting the live object (`import_`) rather\nthan creating it. The values that differ per environment are config\n(Pulumi.<stack>.yaml); the cluster is read from the infra stack's outputs.\n\"\"\"\n\nimport pulumi\nimport pulumi_kubernetes as k8s\n\nconfig = pulumi.Config()\n",
        spec.project, spec.source
    );
    for (k, _) in &p.lifted {
        if k == "infra_stack" {
            continue;
        }
        let get = if is_int_config(k) {
            "require_int"
        } else {
            "require"
        };
        py.push_str(&format!("{k} = config.{get}(\"{k}\")\n"));
    }
    for k in &p.secrets {
        py.push_str(&format!("{k} = config.require_secret(\"{k}\")\n"));
    }
    py.push_str(
        "\ninfra = pulumi.StackReference(config.require(\"infra_stack\"))\ncluster = k8s.Provider(\"cluster\", kubeconfig=infra.get_output(\"kubeconfig\"))\n\n\ndef adopt(live_id):\n    \"\"\"On the infra stack's cluster, adopting the live object `live_id`.\"\"\"\n    return pulumi.ResourceOptions(provider=cluster, import_=live_id)\n",
    );
    for r in &p.resources {
        py.push_str("\n\n");
        match sdk_module(&r.api_version) {
            Some(m) => py.push_str(&format!("k8s.{m}.{}(\n    \"{}\",\n", r.kind, r.name)),
            None => py.push_str(&format!(
                "k8s.apiextensions.CustomResource(\n    \"{}\",\n    api_version=\"{}\",\n    kind=\"{}\",\n",
                r.name, r.api_version, r.kind
            )),
        }
        if let Some(m) = r.props.as_object() {
            for (k, v) in m {
                // A custom resource's fields other than metadata go as `spec=`.
                py.push_str(&format!("    {}={},\n", snake(k), literal(v, 4, true)));
            }
        }
        py.push_str(&format!("    opts=adopt(\"{}\"),\n)\n", r.import));
    }
    let mut project = format!(
        "name: {}\nruntime:\n  name: python\n  options:\n    virtualenv: venv\ndescription: {} on its infra stack's cluster (migrated from kubectl YAML)\n",
        spec.project, spec.project
    );
    if let Some(url) = spec.backend_url {
        project.push_str(&format!("backend:\n  url: {url}\n"));
    }
    PulumiProgram {
        files: vec![
            ("Pulumi.yaml".into(), project),
            ("__main__.py".into(), py),
            (
                "requirements.txt".into(),
                "pulumi>=3.0.0,<4.0.0\npulumi-kubernetes>=4.0.0,<5.0.0\n".into(),
            ),
        ],
        stack_config: stack_config(spec.project, &p.lifted),
        lifted: p.lifted,
        notes: p.notes,
    }
}

/// `image_tag` → `imageTag`.
fn camel(k: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in k.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `${image_tag}` placeholders renamed to TypeScript's `${imageTag}`.
fn camel_placeholders(v: &mut Json, names: &[String]) {
    match v {
        Json::String(t) => {
            for n in names {
                let from = format!("${{{n}}}");
                if t.contains(&from) {
                    *t = t.replace(&from, &format!("${{{}}}", camel(n)));
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|x| camel_placeholders(x, names)),
        Json::Object(m) => m.values_mut().for_each(|x| camel_placeholders(x, names)),
        _ => {}
    }
}

/// The kubectl release's objects as a TypeScript Pulumi program.
pub fn to_pulumi_typescript(spec: &PulumiYamlSpec<'_>, objects: &[Json]) -> PulumiProgram {
    let p = prepare(spec, objects);
    let names: Vec<String> = p
        .lifted
        .iter()
        .map(|(k, _)| k.clone())
        .chain(p.secrets.iter().cloned())
        .collect();
    let mut ts = format!(
        "// {}: migrated from kubectl YAML ({}) by `tierui migrate`.\n//\n// One resource per object, each adopting the live object (`import`) rather\n// than creating it. The values that differ per environment are config\n// (Pulumi.<stack>.yaml); the cluster is read from the infra stack's outputs.\nimport * as pulumi from \"@pulumi/pulumi\";\nimport * as k8s from \"@pulumi/kubernetes\";\n\nconst config = new pulumi.Config();\n",
        spec.project, spec.source
    );
    for (k, _) in &p.lifted {
        if k == "infra_stack" {
            continue;
        }
        let get = if is_int_config(k) {
            "requireNumber"
        } else {
            "require"
        };
        ts.push_str(&format!("const {} = config.{get}(\"{k}\");\n", camel(k)));
    }
    for k in &p.secrets {
        ts.push_str(&format!(
            "const {} = config.requireSecret(\"{k}\");\n",
            camel(k)
        ));
    }
    ts.push_str(
        "\nconst infra = new pulumi.StackReference(config.require(\"infra_stack\"));\nconst cluster = new k8s.Provider(\"cluster\", { kubeconfig: infra.getOutput(\"kubeconfig\") });\n\n/** On the infra stack's cluster, adopting the live object `liveId`. */\nconst adopt = (liveId: string): pulumi.CustomResourceOptions => ({ provider: cluster, import: liveId });\n",
    );
    for r in &p.resources {
        let mut props = r.props.clone();
        camel_placeholders(&mut props, &names);
        let ctor = match sdk_module(&r.api_version) {
            Some(m) => format!("k8s.{m}.{}", r.kind),
            None => {
                if let Some(m) = props.as_object_mut() {
                    let mut with = serde_json::Map::new();
                    with.insert("apiVersion".into(), json!(r.api_version));
                    with.insert("kind".into(), json!(r.kind));
                    with.extend(m.clone());
                    *m = with;
                }
                "k8s.apiextensions.CustomResource".to_string()
            }
        };
        ts.push_str(&format!(
            "\nnew {ctor}(\"{}\", {}, adopt(\"{}\"));\n",
            r.name,
            literal(&props, 0, false),
            r.import
        ));
    }
    let mut project = format!(
        "name: {}\nruntime: nodejs\ndescription: {} on its infra stack's cluster (migrated from kubectl YAML)\n",
        spec.project, spec.project
    );
    if let Some(url) = spec.backend_url {
        project.push_str(&format!("backend:\n  url: {url}\n"));
    }
    let package = format!(
        "{{\n  \"name\": \"{}\",\n  \"main\": \"index.ts\",\n  \"devDependencies\": {{\n    \"@types/node\": \"^20\"\n  }},\n  \"dependencies\": {{\n    \"@pulumi/pulumi\": \"^3.0.0\",\n    \"@pulumi/kubernetes\": \"^4.0.0\"\n  }}\n}}\n",
        spec.project
    );
    let tsconfig = "{\n  \"compilerOptions\": {\n    \"strict\": true,\n    \"outDir\": \"bin\",\n    \"target\": \"es2020\",\n    \"module\": \"commonjs\",\n    \"moduleResolution\": \"node\",\n    \"sourceMap\": true,\n    \"skipLibCheck\": true\n  },\n  \"files\": [\"index.ts\"]\n}\n";
    PulumiProgram {
        files: vec![
            ("Pulumi.yaml".into(), project),
            ("index.ts".into(), ts),
            ("package.json".into(), package),
            ("tsconfig.json".into(), tsconfig.into()),
        ],
        stack_config: stack_config(spec.project, &p.lifted),
        lifted: p.lifted,
        notes: p.notes,
    }
}

/// The proof of a generated project: it rendered natively (stack references
/// from `stack_outputs`) against the original objects, normalised.
pub fn prove_pulumi_yaml(
    generated: &PulumiYaml,
    project: &str,
    stack: &str,
    namespace: &str,
    original: &[Json],
    stack_outputs: crate::workspace::pulumi_yaml::StackOutputs<'_>,
) -> Result<(Vec<Json>, crate::render::diff::Report, Vec<String>), String> {
    use crate::workspace::{pulumi, pulumi_yaml, yaml};
    let program = yaml::parse_single(&generated.project)
        .map_err(|e| format!("the generated Pulumi.yaml does not parse: {e}"))?;
    let mut diags = Vec::new();
    let parsed = pulumi::parse_project(&program, &mut diags)
        .ok_or_else(|| format!("the generated Pulumi.yaml is not a project: {diags:?}"))?;
    let stack_node = yaml::parse_single(&generated.stack_config)
        .map_err(|e| format!("the generated stack config does not parse: {e}"))?;
    let config = pulumi::parse_stack_config(&stack_node, project, &parsed.config, &mut diags);
    let inputs = pulumi_yaml::Inputs {
        project,
        stack,
        config: &config,
        declared: &parsed.config,
        stack_outputs,
    };
    let out = pulumi_yaml::render(&program, &inputs);
    let rendered: Vec<Json> = out.objects.into_iter().map(|o| o.object).collect();
    let report = crate::render::diff::diff_objects(original, &rendered, namespace);
    // What could not be rendered shows in the proof as missing, with why.
    Ok((rendered, report, out.notes))
}

/// The config key holding a Secret's value (`<secret>_<key>`, identifier-safe).
fn secret_key(o: &Json, key: &str) -> String {
    let name = o
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("secret");
    format!("{name}_{key}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_object_keeps_only_what_the_program_declares() {
        let desired = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "x:1"}]}}}});
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "web", "uid": "u", "resourceVersion": "9", "generation": 3,
                         "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{}],
                         "labels": {"app": "web", "app.kubernetes.io/managed-by": "pulumi"},
                         "annotations": {"pulumi.com/autonamed": "false", "deployment.kubernetes.io/revision": "4"}},
            "spec": {"replicas": 3, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                     "template": {"spec": {"containers": [{"name": "web", "image": "x:1", "imagePullPolicy": "IfNotPresent",
                                                            "terminationMessagePath": "/dev/termination-log"}],
                                           "dnsPolicy": "ClusterFirst"}}},
            "status": {"replicas": 3}});
        let m = manifest_of_live(&live, &desired);
        assert_eq!(
            m,
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "web", "labels": {"app": "web"}},
                "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": "x:1"}]}}}})
        );
        let text = object_yaml(&m);
        assert!(
            text.starts_with("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"),
            "{text}"
        );
    }

    #[test]
    fn a_live_secret_becomes_a_template() {
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c", "namespace": "n", "uid": "u",
            "managedFields": [{"manager": "tierui"}]}, "type": "Opaque", "data": {"API_KEY": "c2FuZGJveA=="}});
        let files = kubectl_files(&[manifest_of_live(&live, &live)], "");
        assert!(files[0].1.contains("API_KEY"), "{}", files[0].1);
        assert!(!files[0].1.contains("c2FuZGJveA=="));
    }

    #[test]
    fn secrets_become_templates_of_their_keys() {
        let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": {"B": "eA==", "A": "eQ=="}});
        let files = kubectl_files(&[s], "");
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "secret.yaml.example");
        assert!(
            files[0].1.contains("A: ''") || files[0].1.contains("A: \"\""),
            "{}",
            files[0].1
        );
        assert!(!files[0].1.contains("eA=="));
    }

    /// The demo's dusk-service, a kubectl release, as a Pulumi YAML project:
    /// rendered, it is the same objects (round trip).
    #[test]
    fn the_demos_dusk_service_round_trips_through_pulumi_yaml() {
        let ws = crate::workspace::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo"),
        );
        let r = ws
            .releases
            .iter()
            .find(|r| r.service == "dusk-service")
            .unwrap();
        let tools = crate::render::desired::Tools {
            sealed: true,
            renderers: &crate::render::desired::NativeOnly,
        };
        let d = crate::render::desired::render(&ws, r, &Default::default(), tools).unwrap();
        let spec = PulumiYamlSpec {
            project: "dusk-service",
            stack: "production",
            namespace: &r.namespace,
            infra_stack: "organization/eks-foundation/dusk",
            backend_url: None,
            source: "k8s/dusk",
        };
        let generated = to_pulumi_yaml(&spec, &d.objects);
        let lookup = crate::render::desired::stack_outputs(&ws);
        let (rendered, report, _) = prove_pulumi_yaml(
            &generated,
            "dusk-service",
            "production",
            &r.namespace,
            &d.objects,
            &lookup,
        )
        .unwrap();
        assert_eq!(rendered.len(), d.objects.len());
        assert!(
            !report.differs(),
            "{}",
            crate::render::diff::unified_text(&report, "kubectl", "pulumi")
        );
        let tag = generated.lifted.iter().find(|(k, _)| k == "image_tag");
        assert!(tag.is_some(), "{:?}", generated.lifted);
    }

    /// The Kubernetes project's guestbook (fixtures/public-manifests) round
    /// trips too: six objects without namespaces, three Deployments.
    #[test]
    fn a_public_example_round_trips_through_pulumi_yaml() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/public-manifests/guestbook-all-in-one.yaml"),
        )
        .unwrap();
        let mut diags = Vec::new();
        let objects: Vec<Json> = crate::workspace::manifests::parse(&text, &mut diags)
            .into_iter()
            .map(|m| m.object)
            .collect();
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(objects.len(), 6);
        let spec = PulumiYamlSpec {
            project: "guestbook",
            stack: "dev",
            namespace: "guestbook",
            infra_stack: "organization/eks-foundation/dusk",
            backend_url: None,
            source: "guestbook-all-in-one.yaml",
        };
        let generated = to_pulumi_yaml(&spec, &objects);
        let (rendered, report, _) = prove_pulumi_yaml(
            &generated,
            "guestbook",
            "dev",
            "guestbook",
            &objects,
            &|_: &str| Some(vec![("kubeconfig".to_string(), json!("{}"))]),
        )
        .unwrap();
        assert_eq!(rendered.len(), 6);
        assert!(
            !report.differs(),
            "{}",
            crate::render::diff::unified_text(&report, "kubectl", "pulumi")
        );
        // The first Deployment's tag is config; the others keep theirs.
        assert!(
            generated
                .lifted
                .contains(&("image_tag".into(), "e2e".into()))
        );
        assert!(
            generated
                .project
                .contains("image: gcr.io/google-samples/gb-frontend:v4")
        );
        // Namespaced objects without a namespace go to the release's, and are
        // imported from there.
        assert!(
            generated.project.contains("import: guestbook/frontend"),
            "{}",
            generated.project
        );
        assert_eq!(
            generated.project.matches("namespace: ${namespace}").count(),
            6
        );
    }

    #[test]
    fn python_reads_like_a_person_wrote_it() {
        let objs = vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
                   "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "ghcr.io/x/web:v1.4.0", "stdin": false}]}}}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, "stringData": {"password": "x"}}),
        ];
        let spec = PulumiYamlSpec {
            project: "web",
            stack: "production",
            namespace: "shop",
            infra_stack: "organization/eks-foundation/dusk",
            backend_url: None,
            source: "k8s/web",
        };
        let p = to_pulumi_python(&spec, &objs);
        let main = &p.files.iter().find(|(f, _)| f == "__main__.py").unwrap().1;
        for want in [
            "image_tag = config.require(\"image_tag\")",
            "replicas = config.require_int(\"replicas\")",
            "db_password = config.require_secret(\"db_password\")",
            "cluster = k8s.Provider(\"cluster\", kubeconfig=infra.get_output(\"kubeconfig\"))",
            "k8s.core.v1.Namespace(\n    \"shop-namespace\",\n    metadata={\n        \"name\": namespace,\n    },\n    opts=adopt(\"shop\"),\n)",
            "\"image\": f\"ghcr.io/x/web:{image_tag}\",",
            "\"replicas\": replicas,",
            "\"stdin\": False,",
            "string_data={\n        \"password\": db_password,\n    },",
            "opts=adopt(\"shop/web\"),",
        ] {
            assert!(main.contains(want), "{want}\nin\n{main}");
        }
        assert!(!main.contains("\"x\""), "a Secret's value is never written");
    }

    #[test]
    fn kubectl_objects_become_a_pulumi_yaml_project_with_config_and_imports() {
        let objs = vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
                   "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "ghcr.io/x/web:v1.4.0"}]}}}}),
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "shop"},
                   "spec": {"minReplicas": 2, "maxReplicas": 8}}),
        ];
        let spec = PulumiYamlSpec {
            project: "web",
            stack: "production",
            namespace: "shop",
            infra_stack: "organization/eks-foundation/dusk",
            backend_url: Some("file://../.."),
            source: "k8s/web",
        };
        let p = to_pulumi_yaml(&spec, &objs);
        for want in [
            "type: pulumi:pulumi:StackReference",
            "kubeconfig: ${infra.outputs[\"kubeconfig\"]}",
            "type: kubernetes:core/v1:Namespace",
            "name: ${namespace}",
            "image: ghcr.io/x/web:${image_tag}",
            "replicas: ${replicas}",
            "minReplicas: ${min_replicas}",
            "import: shop/web",
            "import: shop\n",
            "provider: ${cluster}",
        ] {
            assert!(p.project.contains(want), "{want} in\n{}", p.project);
        }
        assert!(p.stack_config.contains("web:image_tag: v1.4.0"));
        assert!(p.stack_config.contains("web:replicas: \"2\""));
        assert!(
            p.stack_config
                .contains("web:infra_stack: organization/eks-foundation/dusk")
        );
        // It parses as YAML.
        crate::workspace::yaml::parse_single(&p.project).unwrap();
    }
}
