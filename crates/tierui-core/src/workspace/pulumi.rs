//! Pulumi files: the project (`Pulumi.yaml`), stack config (`Pulumi.<stack>.yaml`)
//! and the file-backend checkpoint (`.pulumi/stacks/<project>/<stack>.json`).
//!
//! Secrets never leave this module in readable form: `secure:` config values and
//! secret checkpoint outputs become [`ConfigValue::Secret`] / `"[secret]"`, and their
//! ciphertext is not kept.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

use super::fields::{Diagnostic, Diags, Fields, Severity};
use super::yaml::{Node, Pos, Value};

/// What a secret looks like wherever tierui shows one.
pub const SECRET: &str = "[secret]";

/// Pulumi's marker for a secret value in checkpoints and `--show-secrets` output.
const SECRET_SIG_KEY: &str = "4dabf18193072939515e22adb298388d";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub name: String,
    pub runtime: String,
    pub description: Option<String>,
    /// `backend.url` as written.
    pub backend_url: Option<String>,
    /// Config keys the project declares (YAML programs and `config:` schemas).
    pub config: Vec<ConfigDecl>,
    /// For `runtime: yaml`: resource name and type token, in file order.
    pub resources: Vec<ProgramResource>,
    /// `main`: the program's entry (a folder or file) relative to the project.
    pub main: Option<String>,
    /// `runtime.options`: `virtualenv`, `toolchain` (pip, poetry, uv),
    /// `typescript`, `packagemanager`… as written.
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigDecl {
    pub name: String,
    pub type_: Option<String>,
    pub default: Option<Json>,
    pub secret: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgramResource {
    pub name: String,
    pub type_: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackConfig {
    pub entries: Vec<ConfigEntry>,
    /// `secretsprovider` when not the default.
    pub secrets_provider: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigEntry {
    /// Full key as written (`aws:region`, `day-service:image_tag`).
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub value: ConfigValue,
    #[serde(skip)]
    pub pos: Pos,
    /// Where the value's text is (for quick edits of plain values).
    #[serde(skip)]
    pub value_span: Option<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum ConfigValue {
    Text(String),
    Secret,
    /// Lists and maps (`pulumi config set --path`), with nested secrets masked.
    Structured(Json),
}

impl ConfigValue {
    /// How the value is shown: text as is, secrets as `[secret]`, structures as compact JSON.
    pub fn display(&self) -> String {
        match self {
            ConfigValue::Text(s) => s.clone(),
            ConfigValue::Secret => SECRET.to_string(),
            ConfigValue::Structured(j) => j.to_string(),
        }
    }
}

impl StackConfig {
    pub fn get(&self, key: &str) -> Option<&ConfigEntry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Text value of `name` in the project's namespace (or any namespace when the
    /// key is given in full).
    pub fn text(&self, project: &str, name: &str) -> Option<&str> {
        let full = if name.contains(':') {
            name.to_string()
        } else {
            format!("{project}:{name}")
        };
        match &self.get(&full)?.value {
            ConfigValue::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Namespaces that belong to providers rather than the project itself.
const PROVIDER_NAMESPACES: &[&str] = &[
    "aws",
    "awsx",
    "eks",
    "kubernetes",
    "pulumi",
    "random",
    "tls",
    "command",
    "docker",
    "cloudflare",
    "gcp",
    "azure",
    "azure-native",
    "helm",
];

/// The organisation of a stack's fully qualified name, as the Pulumi CLI has
/// it: a DIY backend (`file://`, `s3://`, `gs://`, `azblob://`) always says
/// `organization`; Pulumi Cloud uses the account's organisation, which only
/// tierui.yaml can tell (else `organization`). The project's `backend.url`
/// wins over `PULUMI_BACKEND_URL`.
pub fn organization(
    project_url: Option<&str>,
    env_url: Option<&str>,
    named: Option<&str>,
) -> String {
    const DIY: [&str; 4] = ["file://", "s3://", "gs://", "azblob://"];
    let url = project_url.or(env_url).unwrap_or("https://api.pulumi.com");
    if DIY.iter().any(|p| url.starts_with(p)) {
        return "organization".into();
    }
    named.unwrap_or("organization").to_string()
}

pub fn parse_project(root: &Node, diags: &mut Diags) -> Option<Project> {
    let mut f = Fields::of(root, "", diags)?;
    let name = f.required_string("name", diags);
    let mut options = BTreeMap::new();
    let runtime = match f.node("runtime") {
        Some(n) if n.as_map().is_some() => {
            let mut r = Fields::of(n, "runtime", diags)?;
            let name = r.required_string("name", diags);
            for (k, v) in r.node("options").and_then(Node::as_map).unwrap_or_default() {
                if let (Some(k), Some(v)) = (k.key_text(), v.scalar_text()) {
                    options.insert(k, v);
                }
            }
            r.finish(diags);
            name
        }
        Some(n) => n.scalar_text().or_else(|| {
            diags.push(Diagnostic::error(
                n.pos(),
                "runtime",
                "runtime must be a string or a mapping",
            ));
            None
        }),
        None => {
            diags.push(Diagnostic::error(
                root.pos(),
                "runtime",
                "missing required field runtime",
            ));
            None
        }
    };
    let description = f.string("description", diags);
    let main = f.string("main", diags);
    let backend_url = f.map("backend", diags).and_then(|mut b| {
        let url = b.string("url", diags);
        b.finish(diags);
        url
    });
    let mut config = Vec::new();
    if let Some(c) = f.node("config") {
        match c.as_map() {
            Some(entries) => {
                for (k, v) in entries {
                    let Some(key) = k.key_text() else { continue };
                    config.push(config_decl(&key, v, diags));
                }
            }
            None => diags.push(Diagnostic::error(
                c.pos(),
                "config",
                format!("config must be a mapping, found {}", c.type_name()),
            )),
        }
    }
    let mut resources = Vec::new();
    for (path, (k, v)) in f
        .node("resources")
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                format!("resources.{}", e.0.key_text().unwrap_or_default()),
                e,
            )
        })
    {
        let Some(name) = k.key_text() else { continue };
        match v.get("type").and_then(Node::scalar_text) {
            Some(type_) => resources.push(ProgramResource { name, type_ }),
            None => diags.push(Diagnostic::error(
                v.pos(),
                &path,
                format!("{path} has no type"),
            )),
        }
    }
    f.ignore(&[
        "stackConfigDir",
        "template",
        "plugins",
        "options",
        "packages",
        "variables",
        "outputs",
        "author",
        "website",
        "license",
    ]);
    f.finish(diags);
    Some(Project {
        name: name?,
        runtime: runtime?,
        description,
        backend_url,
        config,
        resources,
        main,
        options,
    })
}

fn config_decl(name: &str, v: &Node, diags: &mut Diags) -> ConfigDecl {
    let path = format!("config.{name}");
    // A declaration is either a schema mapping or a bare default value.
    let is_schema = v.as_map().is_some_and(|m| {
        m.iter().all(|(k, _)| {
            matches!(
                k.as_str(),
                Some("type" | "default" | "secret" | "description" | "value" | "items")
            )
        })
    });
    if !is_schema {
        return ConfigDecl {
            name: name.to_string(),
            type_: None,
            default: (!v.is_null()).then(|| v.to_json()),
            secret: false,
        };
    }
    let mut d = Diags::new();
    let mut f = match Fields::of(v, &path, &mut d) {
        Some(f) => f,
        None => {
            diags.extend(d);
            return ConfigDecl {
                name: name.to_string(),
                type_: None,
                default: None,
                secret: false,
            };
        }
    };
    let type_ = f.string("type", &mut d);
    if let Some(t) = &type_
        && !matches!(
            t.as_str(),
            "string" | "integer" | "boolean" | "array" | "object" | "number"
        )
    {
        let pos = v.get("type").map_or(v.pos(), Node::pos);
        d.push(Diagnostic::error(
            pos,
            &format!("{path}.type"),
            format!("{path}.type {t} is not one of string, integer, boolean, array, object"),
        ));
    }
    let default = f
        .node("default")
        .or_else(|| f.node("value"))
        .map(Node::to_json);
    let secret = f.bool("secret", &mut d).unwrap_or(false);
    f.ignore(&["description", "items"]);
    f.finish(&mut d);
    diags.extend(d);
    ConfigDecl {
        name: name.to_string(),
        type_,
        default,
        secret,
    }
}

/// Parses `Pulumi.<stack>.yaml`. `project` is the project name, used to check
/// namespaces; `declared` are the project's declared keys (checked when non-empty).
pub fn parse_stack_config(
    root: &Node,
    project: &str,
    declared: &[ConfigDecl],
    diags: &mut Diags,
) -> StackConfig {
    let mut out = StackConfig {
        entries: Vec::new(),
        secrets_provider: None,
    };
    let Some(mut f) = Fields::of(root, "", diags) else {
        return out;
    };
    out.secrets_provider = f.string("secretsprovider", diags);
    f.ignore(&["encryptedkey", "encryptionsalt", "environment", "imports"]);
    if let Some(config) = f.node("config") {
        match config.as_map() {
            Some(entries) => {
                for (k, v) in entries {
                    if let Some(entry) = config_entry(k, v, project, declared, diags) {
                        out.entries.push(entry);
                    }
                }
            }
            None => diags.push(Diagnostic::error(
                config.pos(),
                "config",
                format!("config must be a mapping, found {}", config.type_name()),
            )),
        }
    }
    f.finish(diags);
    out
}

fn config_entry(
    k: &Node,
    v: &Node,
    project: &str,
    declared: &[ConfigDecl],
    diags: &mut Diags,
) -> Option<ConfigEntry> {
    let key = k.key_text()?;
    let path = format!("config.{key}");
    // As the Pulumi CLI parses keys (config.ParseKey): `<namespace>:<name>`, or
    // the old `<namespace>:config:<name>`; anything else is not a key.
    let parts: Vec<&str> = key.split(':').collect();
    let parsed = match parts.as_slice() {
        [ns, n] => Some((*ns, *n)),
        [ns, "config", n] => Some((*ns, *n)),
        _ => None,
    };
    let Some((namespace, name)) = parsed.filter(|(ns, n)| !ns.is_empty() && !n.is_empty()) else {
        diags.push(Diagnostic::error(
            k.pos(),
            &path,
            format!("config key \"{key}\" must be of the form <namespace>:<name>"),
        ));
        return None;
    };
    if namespace != project && !PROVIDER_NAMESPACES.contains(&namespace) {
        diags.push(Diagnostic::new(
            Severity::Warning,
            k.pos(),
            &path,
            format!("config key \"{key}\": namespace \"{namespace}\" is neither the project ({project}) nor a known provider"),
        ));
    }
    if namespace == project && !declared.is_empty() && !declared.iter().any(|d| d.name == name) {
        diags.push(Diagnostic::new(
            Severity::Warning,
            k.pos(),
            &path,
            format!("unknown Pulumi key \"{key}\": the project declares no config \"{name}\""),
        ));
    }
    let value = match &v.value {
        Value::Map(_) if is_secure(v) => ConfigValue::Secret,
        Value::Map(_) | Value::Seq(_) => ConfigValue::Structured(mask_secure(v)),
        Value::Null => ConfigValue::Text(String::new()),
        _ => ConfigValue::Text(v.scalar_text().unwrap_or_default()),
    };
    if let Some(decl) = declared
        .iter()
        .find(|d| d.name == name && namespace == project)
        && let (Some(t), ConfigValue::Text(text)) = (&decl.type_, &value)
    {
        let ok = match t.as_str() {
            "integer" => text.parse::<i64>().is_ok(),
            "boolean" => matches!(text.as_str(), "true" | "false"),
            "number" => text.parse::<f64>().is_ok(),
            _ => true,
        };
        if !ok {
            diags.push(Diagnostic::error(
                v.pos(),
                &path,
                format!(
                    "config {key} must be {} (declared in Pulumi.yaml), found \"{text}\"",
                    article(t)
                ),
            ));
        }
    }
    let value_span =
        matches!(value, ConfigValue::Text(_)).then_some((v.span.start.offset, v.span.end.offset));
    Some(ConfigEntry {
        key: key.clone(),
        namespace: namespace.to_string(),
        name: name.to_string(),
        value,
        pos: k.pos(),
        value_span,
    })
}

fn article(t: &str) -> String {
    match t {
        "integer" => "an integer".into(),
        other => format!("a {other}"),
    }
}

fn is_secure(v: &Node) -> bool {
    v.as_map()
        .is_some_and(|m| m.len() == 1 && m[0].0.as_str() == Some("secure"))
}

fn mask_secure(v: &Node) -> Json {
    if is_secure(v) {
        return Json::String(SECRET.into());
    }
    match &v.value {
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.key_text().unwrap_or_default(), mask_secure(v)))
                .collect(),
        ),
        Value::Seq(items) => Json::Array(items.iter().map(mask_secure).collect()),
        _ => v.to_json(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checkpoint {
    /// `organization/<project>/<stack>` as recorded.
    pub stack: String,
    pub time: Option<String>,
    pub pulumi_version: Option<String>,
    /// Stack outputs with secrets replaced by `[secret]`.
    pub outputs: Vec<(String, Json)>,
    pub resources: Vec<StateResource>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateResource {
    pub urn: String,
    pub type_: String,
    /// The last URN segment: the name given in the program.
    pub name: String,
    pub id: Option<String>,
    pub custom: bool,
    pub parent: Option<String>,
    /// Outputs with secrets replaced by `[secret]`.
    #[serde(skip)]
    pub outputs: Json,
}

impl Checkpoint {
    pub fn output(&self, name: &str) -> Option<&Json> {
        self.outputs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Resources of a given type token.
    pub fn of_type<'a>(&'a self, type_: &'a str) -> impl Iterator<Item = &'a StateResource> + 'a {
        self.resources.iter().filter(move |r| r.type_ == type_)
    }
}

/// Parses a checkpoint file's bytes; errors name line:column as serde_json reports them.
pub fn parse_checkpoint(bytes: &[u8], diags: &mut Diags) -> Option<Checkpoint> {
    let json: Json = match serde_json::from_slice(bytes) {
        Ok(j) => j,
        Err(e) => {
            diags.push(Diagnostic::error(
                Pos {
                    line: e.line().max(1),
                    col: e.column().max(1),
                    offset: 0,
                },
                "",
                format!(
                    "invalid checkpoint JSON: {}",
                    strip_position(&e.to_string())
                ),
            ));
            return None;
        }
    };
    let at_top = Pos {
        line: 1,
        col: 1,
        offset: 0,
    };
    // Both the bare deployment ("version" + "checkpoint") and `pulumi stack export` shapes.
    let latest = json
        .pointer("/checkpoint/latest")
        .or_else(|| json.pointer("/deployment"))
        .or_else(|| json.get("latest"));
    let stack = json
        .pointer("/checkpoint/stack")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(latest) = latest else {
        if json.pointer("/checkpoint").is_some() {
            // A stack that was initialised but never deployed.
            return Some(Checkpoint {
                stack,
                time: None,
                pulumi_version: None,
                outputs: Vec::new(),
                resources: Vec::new(),
            });
        }
        diags.push(Diagnostic::error(
            at_top,
            "checkpoint",
            "not a Pulumi checkpoint: no checkpoint.latest",
        ));
        return None;
    };
    if let Some(v) = json.get("version").and_then(Json::as_i64)
        && !(1..=3).contains(&v)
    {
        diags.push(Diagnostic::new(
            Severity::Warning,
            at_top,
            "version",
            format!("checkpoint version {v} is newer than tierui knows (3)"),
        ));
    }
    let mut resources = Vec::new();
    let mut outputs = Vec::new();
    for (i, r) in latest
        .get("resources")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(urn) = r.get("urn").and_then(Json::as_str) else {
            diags.push(Diagnostic::error(
                at_top,
                &format!("resources[{i}]"),
                format!("checkpoint resource {i} has no urn"),
            ));
            continue;
        };
        let type_ = r
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let masked = mask_secrets(r.get("outputs").unwrap_or(&Json::Null));
        if type_ == "pulumi:pulumi:Stack"
            && let Json::Object(map) = &masked
        {
            outputs = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        }
        resources.push(StateResource {
            urn: urn.to_string(),
            name: urn.rsplit("::").next().unwrap_or(urn).to_string(),
            type_,
            id: r
                .get("id")
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            custom: r.get("custom").and_then(Json::as_bool).unwrap_or(false),
            parent: r.get("parent").and_then(Json::as_str).map(str::to_string),
            outputs: masked,
        });
    }
    Some(Checkpoint {
        stack,
        time: latest
            .pointer("/manifest/time")
            .and_then(Json::as_str)
            .map(str::to_string),
        pulumi_version: latest
            .pointer("/manifest/version")
            .and_then(Json::as_str)
            .map(str::to_string),
        outputs,
        resources,
    })
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Replaces Pulumi secret values (`{"4dabf…": "1b47…", "ciphertext"|"plaintext": …}`)
/// with `"[secret]"`, recursively.
pub fn mask_secrets(v: &Json) -> Json {
    match v {
        Json::Object(map) if map.contains_key(SECRET_SIG_KEY) => Json::String(SECRET.into()),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask_secrets(v)))
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.iter().map(mask_secrets).collect()),
        other => other.clone(),
    }
}

/// The folders a file-backend stack's state may be under, in order of
/// preference: the project's `backend.url` (file:// only),
/// `PULUMI_BACKEND_URL`, the workspace root and the project directory.
pub fn state_roots(project_dir: &Path, workspace_root: &Path, project: &Project) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for url in [
        project.backend_url.clone(),
        std::env::var("PULUMI_BACKEND_URL").ok(),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(path) = url.strip_prefix("file://") {
            let p = Path::new(path);
            roots.push(crate::paths::normalize(&if p.is_absolute() {
                p.to_path_buf()
            } else {
                project_dir.join(p)
            }));
        }
    }
    roots.push(workspace_root.to_path_buf());
    roots.push(project_dir.to_path_buf());
    roots
}

/// Where a stack's checkpoint would be (see [`state_roots`]): the first
/// existing file wins; `None` when none exists.
pub fn find_checkpoint(
    project_dir: &Path,
    workspace_root: &Path,
    project: &Project,
    stack: &str,
) -> Option<PathBuf> {
    state_roots(project_dir, workspace_root, project)
        .into_iter()
        .find_map(|root| {
            let stacks = root.join(".pulumi").join("stacks");
            [
                stacks.join(&project.name).join(format!("{stack}.json")),
                stacks.join(format!("{stack}.json")),
            ]
            .into_iter()
            .find(|p| p.is_file())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::yaml::parse_single;

    fn demo(path: &str) -> String {
        String::from_utf8(
            crate::demo::file(&format!("fixtures/demo/{path}"))
                .unwrap()
                .to_vec(),
        )
        .unwrap()
    }

    #[test]
    fn project_and_yaml_program() {
        let mut d = Diags::new();
        let p = parse_project(
            &parse_single(&demo("gitops/pulumi_deploy/Pulumi.yaml")).unwrap(),
            &mut d,
        )
        .unwrap();
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            (p.name.as_str(), p.runtime.as_str()),
            ("day-service", "yaml")
        );
        assert!(p.config.iter().any(|c| c.name == "api_key" && c.secret));
        assert!(
            p.resources
                .iter()
                .any(|r| r.type_ == "kubernetes:apps/v1:Deployment")
        );
        let mut d = Diags::new();
        let infra = parse_project(
            &parse_single(&demo("provisioning/pulumi/Pulumi.yaml")).unwrap(),
            &mut d,
        )
        .unwrap();
        assert_eq!(infra.runtime, "python");
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn stack_config_masks_secrets_and_keeps_structure() {
        let mut d = Diags::new();
        let cfg = parse_stack_config(
            &parse_single(&demo("provisioning/pulumi/Pulumi.day.yaml")).unwrap(),
            "eks-foundation",
            &[],
            &mut d,
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            cfg.text("eks-foundation", "kubernetesVersion"),
            Some("1.31")
        );
        assert_eq!(
            cfg.get("eks-foundation:grafanaAdminPassword")
                .unwrap()
                .value,
            ConfigValue::Secret
        );
        let ng = cfg.get("eks-foundation:nodeGroups").unwrap();
        assert!(matches!(&ng.value, ConfigValue::Structured(j) if j[0]["name"] == "general"));
        let rendered = serde_json::to_string(&cfg).unwrap();
        assert!(!rendered.contains("AAAB"), "ciphertext leaked: {rendered}");
    }

    #[test]
    fn the_organization_follows_the_backend() {
        assert_eq!(
            organization(Some("file://../.."), None, Some("acme")),
            "organization"
        );
        assert_eq!(
            organization(None, Some("s3://bucket"), Some("acme")),
            "organization"
        );
        assert_eq!(organization(None, None, Some("acme")), "acme");
        assert_eq!(
            organization(Some("https://api.pulumi.com"), Some("file://x"), None),
            "organization"
        );
        assert_eq!(
            organization(None, Some("https://api.pulumi.com"), Some("acme")),
            "acme"
        );
    }

    #[test]
    fn keys_parse_as_the_pulumi_cli_parses_them() {
        let src = "config:\n  app:config:old: 1\n  app:new: 2\n  a:b:c: 3\n  :x: 4\n";
        let mut d = Diags::new();
        let cfg = parse_stack_config(&parse_single(src).unwrap(), "app", &[], &mut d);
        let keys: Vec<(&str, &str)> = cfg
            .entries
            .iter()
            .map(|e| (e.namespace.as_str(), e.name.as_str()))
            .collect();
        assert_eq!(keys, [("app", "old"), ("app", "new")]);
        let errors: Vec<_> = d
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.line)
            .collect();
        assert_eq!(errors, [4, 5]);
    }

    #[test]
    fn bad_keys_and_types() {
        let decls = vec![ConfigDecl {
            name: "replicas".into(),
            type_: Some("integer".into()),
            default: None,
            secret: false,
        }];
        let src = "config:\n  region: x\n  app:replicas: three\n  app:typo: 1\n  other:thing: 2\n  app:nested:\n    a:\n      secure: AAAB\n";
        let mut d = Diags::new();
        let cfg = parse_stack_config(&parse_single(src).unwrap(), "app", &decls, &mut d);
        let msgs: Vec<_> = d
            .iter()
            .map(|d| format!("{}:{} {}", d.line, d.col, d.message))
            .collect();
        assert_eq!(
            msgs[0],
            "2:3 config key \"region\" must be of the form <namespace>:<name>"
        );
        assert_eq!(
            msgs[1],
            "3:17 config app:replicas must be an integer (declared in Pulumi.yaml), found \"three\""
        );
        assert_eq!(
            msgs[2],
            "4:3 unknown Pulumi key \"app:typo\": the project declares no config \"typo\""
        );
        assert!(msgs[3].contains("namespace \"other\" is neither the project"));
        assert!(
            matches!(&cfg.get("app:nested").unwrap().value, ConfigValue::Structured(j) if j["a"] == SECRET)
        );
    }

    #[test]
    fn checkpoint_outputs_and_resources() {
        let mut d = Diags::new();
        let c = parse_checkpoint(
            demo(".pulumi/stacks/eks-foundation/day.json").as_bytes(),
            &mut d,
        )
        .unwrap();
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.stack, "organization/eks-foundation/day");
        assert_eq!(c.output("cluster_name"), Some(&Json::String("day".into())));
        assert_eq!(c.output("kubeconfig"), Some(&Json::String(SECRET.into())));
        assert!(c.of_type("aws:eks/nodeGroup:NodeGroup").count() == 2);
    }

    #[test]
    fn checkpoint_errors_have_positions() {
        let mut d = Diags::new();
        assert!(parse_checkpoint(b"{\n  \"version\": 3,\n  oops\n}", &mut d).is_none());
        assert_eq!((d[0].line, d[0].col), (3, 3));
        assert!(
            d[0].message
                .starts_with("invalid checkpoint JSON: key must be a string"),
            "{}",
            d[0].message
        );
        let mut d = Diags::new();
        assert!(parse_checkpoint(b"[]", &mut d).is_none());
        assert!(d[0].message.contains("not a Pulumi checkpoint"));
    }
}
