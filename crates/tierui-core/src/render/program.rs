//! Pulumi programs in Python, TypeScript and JavaScript: the request that runs
//! one under the Pulumi SDK's own unit-test mocks (the backends start the
//! runner in the project's toolchain) and the desired objects made from what
//! the program registered. Nothing is deployed and no secret is decrypted: a
//! `secure:` value reaches the program as an opaque placeholder that the SDK
//! marks secret, and every input that carries it shows as `[secret]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::holes::{DECIDED_AT_APPLY, KNOWN_AFTER_APPLY};
use crate::workspace::fields::Severity;
use crate::workspace::model::{Problem, PulumiStack, Workspace};
use crate::workspace::pulumi::{ConfigValue, Project, SECRET, StackConfig};
use crate::workspace::spec::{ClusterSpec, NodeGroupSpec};

/// The language SDK a program runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    Nodejs,
}

impl Language {
    /// The runtimes with a mock SDK; Go, .NET and Java have none here.
    pub fn of(runtime: &str) -> Option<Language> {
        match runtime {
            "python" => Some(Language::Python),
            "nodejs" => Some(Language::Nodejs),
            _ => None,
        }
    }
}

/// A config value as the program gets it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ConfigIn {
    Text(String),
    /// `secure:`: the runner passes a placeholder, marked secret.
    Secret,
}

/// A stack output a StackReference reads (from the referenced stack's checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefOutput {
    pub value: Json,
    pub secret: bool,
}

/// Everything a runner needs to run one stack's program.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgramRequest {
    pub language: Language,
    /// Absolute.
    pub project_dir: PathBuf,
    /// The entry file or folder, absolute.
    pub main: PathBuf,
    pub project: String,
    pub stack: String,
    pub organization: String,
    /// `project:key` → value.
    pub config: BTreeMap<String, ConfigIn>,
    /// `None`: a stack of the workspace whose outputs could not be read; a
    /// program sees them as known only after apply.
    pub stack_references: BTreeMap<String, Option<BTreeMap<String, RefOutput>>>,
    /// `runtime.options` from Pulumi.yaml (virtualenv, toolchain…).
    pub options: BTreeMap<String, String>,
}

/// One resource the program registered.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Registered {
    #[serde(rename = "type")]
    pub type_: String,
    pub name: String,
    #[serde(default)]
    pub parent: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub custom: bool,
    /// With `{"__tierui": "secret" | "unknown" | "resource"}` where the value
    /// cannot be known.
    #[serde(default)]
    pub inputs: Json,
}

/// What a program did under the mocks.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ran {
    pub registered: Vec<Registered>,
    /// Data sources it called (`aws:ec2/getVpc:getVpc`): not queried under the
    /// mocks, so their results are empty here and looked up at apply.
    pub invokes: Vec<String>,
}

impl Ran {
    /// A note naming the data sources, when there were any.
    pub fn invoke_note(&self) -> Option<String> {
        let mut tokens = self.invokes.clone();
        tokens.sort();
        tokens.dedup();
        (!tokens.is_empty()).then(|| {
            format!(
                "data sources looked up at apply (not queried here, their results are empty): {}",
                tokens.join(", ")
            )
        })
    }
}

/// Why a program gave no objects, with where and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramFailure {
    pub message: String,
    /// The innermost frame in the user's own files: (file relative to the
    /// workspace, line).
    pub at: Option<(PathBuf, u32)>,
    pub traceback: String,
    /// The command that fixes it (create the virtualenv, install packages).
    pub fix: Option<String>,
}

/// Where a failure's text names the command that fixes it.
const FIX: &str = " — to fix: ";

impl ProgramFailure {
    /// One line for the problems panel: `file:line: message` and the fix.
    pub fn line(&self) -> String {
        let mut s = match &self.at {
            Some((f, l)) => format!("{}:{l}: {}", f.display(), self.message),
            None => self.message.clone(),
        };
        if let Some(fix) = &self.fix {
            s.push_str(FIX);
            s.push_str(fix);
        }
        s
    }
}

/// The setup command a render's error text names (a missing virtualenv or SDK).
pub fn fix_of(text: &str) -> Option<&str> {
    text.lines().next()?.split_once(FIX).map(|(_, f)| f)
}

/// A render's error text (its first line `file:line: message`, the traceback
/// below) as a problem: at the user's file and line when it names them, else
/// against the stack's config; a warning when only the environment is missing.
pub fn problem(config_file: &Path, what: &str, text: &str) -> Problem {
    let first = text.lines().next().unwrap_or(text);
    let located = first.split_once(": ").and_then(|(head, msg)| {
        let (file, line) = head.rsplit_once(':')?;
        Some((PathBuf::from(file), line.parse::<usize>().ok()?, msg))
    });
    let (file, line, message) = match located {
        Some((f, l, m)) => (f, l, m),
        None => (config_file.to_path_buf(), 1, first),
    };
    Problem {
        file,
        line,
        col: 1,
        severity: if fix_of(text).is_some() {
            Severity::Warning
        } else {
            Severity::Error
        },
        message: format!("{what}: {message}"),
    }
}

/// The request for `ps`'s program.
pub fn request(
    ws: &Workspace,
    ps: &PulumiStack,
    project: &Project,
    config: &StackConfig,
) -> Option<ProgramRequest> {
    let language = Language::of(&project.runtime)?;
    let project_dir = ws.root.join(&ps.project_dir);
    let main = entry(&project_dir, language, project.main.as_deref());
    let config = config
        .entries
        .iter()
        .map(|e| {
            let v = match &e.value {
                ConfigValue::Text(s) => ConfigIn::Text(s.clone()),
                ConfigValue::Secret => ConfigIn::Secret,
                ConfigValue::Structured(j) => ConfigIn::Text(j.to_string()),
            };
            (format!("{}:{}", e.namespace, e.name), v)
        })
        .collect();
    Some(ProgramRequest {
        language,
        project_dir,
        main,
        project: project.name.clone(),
        stack: ps.stack.clone(),
        organization: ps.organization.clone(),
        config,
        stack_references: stack_references(ws),
        options: project.options.clone(),
    })
}

/// The program's entry: `main:` if given, else `__main__.py`'s folder for
/// Python and package.json's `main` or `index.ts`/`index.js` for Node.
fn entry(dir: &Path, language: Language, main: Option<&str>) -> PathBuf {
    if let Some(m) = main {
        return dir.join(m);
    }
    match language {
        Language::Python => dir.to_path_buf(),
        Language::Nodejs => {
            let from_package = std::fs::read_to_string(dir.join("package.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<Json>(&t).ok())
                .and_then(|p| p["main"].as_str().map(str::to_string));
            match from_package {
                Some(m) => dir.join(m),
                None if dir.join("index.ts").is_file() => dir.join("index.ts"),
                None => dir.join("index.js"),
            }
        }
    }
}

/// Every Pulumi stack of the workspace that has a checkpoint, by the name a
/// StackReference uses; secret outputs stay masked.
fn stack_references(ws: &Workspace) -> BTreeMap<String, Option<BTreeMap<String, RefOutput>>> {
    ws.clusters
        .iter()
        .filter_map(|c| c.pulumi())
        .filter_map(|p| Some((p.qualified_name()?, p.checkpoint.as_ref()?)))
        .map(|(name, cp)| {
            let outputs = cp
                .outputs
                .iter()
                .map(|(k, v)| {
                    let secret = v.as_str() == Some(SECRET);
                    (
                        k.clone(),
                        RefOutput {
                            value: if secret { Json::Null } else { v.clone() },
                            secret,
                        },
                    )
                })
                .collect();
            (name, Some(outputs))
        })
        .collect()
}

/// Stacks of the workspace a StackReference may name whose outputs are not in
/// a file-backend checkpoint (their state is on Pulumi Cloud or a bucket).
pub fn unread_stacks(ws: &Workspace) -> Vec<(String, PathBuf, String)> {
    ws.clusters
        .iter()
        .filter_map(|c| c.pulumi())
        .filter(|p| p.checkpoint.is_none())
        .filter_map(|p| {
            Some((
                p.qualified_name()?,
                ws.root.join(&p.project_dir),
                p.stack.clone(),
            ))
        })
        .collect()
}

/// `pulumi stack output --json --show-secrets=false` as StackReference outputs.
pub fn outputs_from_cli(json: &Json) -> BTreeMap<String, RefOutput> {
    json.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let secret = v.as_str() == Some(SECRET);
                    (
                        k.clone(),
                        RefOutput {
                            value: if secret { Json::Null } else { v.clone() },
                            secret,
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The Kubernetes objects among the registered resources, in the program's
/// order, and notes on what is not an object (Helm releases, other clouds).
pub fn objects(registered: &[Registered]) -> (Vec<Json>, Vec<String>) {
    let mut objects = Vec::new();
    let mut notes = Vec::new();
    let mut other: BTreeMap<&str, usize> = BTreeMap::new();
    for r in registered {
        let t = r.type_.as_str();
        if t.starts_with("pulumi:") {
            continue;
        }
        if t.starts_with("kubernetes:helm.sh/")
            || t.starts_with("kubernetes:yaml")
            || t.starts_with("kubernetes:kustomize")
        {
            notes.push(format!(
                "{} {}: its objects come from the chart or files at apply and are not compared",
                t, r.name
            ));
            continue;
        }
        let Some(mut obj) = kubernetes_object(r) else {
            *other.entry(t).or_default() += 1;
            continue;
        };
        if obj.pointer("/metadata/name").is_none_or(Json::is_null) {
            if let Some(m) = obj.get_mut("metadata").and_then(Json::as_object_mut) {
                m.insert("name".into(), Json::String(DECIDED_AT_APPLY.into()));
            } else if let Some(o) = obj.as_object_mut() {
                o.insert(
                    "metadata".into(),
                    serde_json::json!({"name": DECIDED_AT_APPLY}),
                );
            }
            notes.push(format!(
                "{} {}: Pulumi names it at apply (auto-naming), so it is shown but not sent",
                kind_of(&obj),
                r.name
            ));
        }
        objects.push(obj);
    }
    if !other.is_empty() {
        let list: Vec<String> = other.iter().map(|(t, n)| format!("{t} ×{n}")).collect();
        notes.push(format!(
            "not Kubernetes objects, not compared: {}",
            list.join(", ")
        ));
    }
    (objects, notes)
}

fn kind_of(obj: &Json) -> String {
    obj["kind"].as_str().unwrap_or("object").to_string()
}

/// A `kubernetes:<group>/<version>:<Kind>` resource's inputs as its manifest.
fn kubernetes_object(r: &Registered) -> Option<Json> {
    let (api, kind) = crate::workspace::pulumi_yaml::kubernetes_type(&r.type_)?;
    let obj = unmark(&r.inputs);
    let mut fields = obj.as_object()?.clone();
    // As a manifest reads: apiVersion, kind, metadata, then the rest.
    let mut out = serde_json::Map::new();
    out.insert(
        "apiVersion".into(),
        fields.remove("apiVersion").unwrap_or(Json::String(api)),
    );
    out.insert(
        "kind".into(),
        fields.remove("kind").unwrap_or(Json::String(kind)),
    );
    if let Some(m) = fields.remove("metadata") {
        out.insert("metadata".into(), m);
    }
    out.extend(fields);
    Some(Json::Object(out))
}

/// The runner's marks as tierui's placeholders.
fn unmark(v: &Json) -> Json {
    match v {
        Json::Object(m) => match m.get("__tierui").and_then(Json::as_str) {
            Some("secret") => Json::String(SECRET.into()),
            Some(_) => Json::String(KNOWN_AFTER_APPLY.into()),
            None => Json::Object(m.iter().map(|(k, x)| (k.clone(), unmark(x))).collect()),
        },
        Json::Array(a) => Json::Array(a.iter().map(unmark).collect()),
        other => other.clone(),
    }
}

/// What an infra program declares about its cluster, from the resources it
/// registered: `eks:index:Cluster` or `aws:eks/cluster:Cluster` (version,
/// endpoint access, OIDC, logging), `aws:eks/nodeGroup:NodeGroup` and
/// `eks:index:ManagedNodeGroup` (instance types, capacity type, scaling), the
/// VPC's CIDR, the subnets' zones and `aws:eks/addon:Addon`s. None when it
/// declares no EKS cluster.
pub fn cluster_spec(registered: &[Registered], source: &str) -> Option<ClusterSpec> {
    let of = |types: &'static [&'static str]| {
        registered
            .iter()
            .filter(move |r| types.contains(&r.type_.as_str()))
    };
    let cluster = of(&["eks:index:Cluster", "aws:eks/cluster:Cluster"]).next()?;
    let i = &cluster.inputs;
    let vpc_config = &i["vpcConfig"];
    let flag = |v: &Json| v.as_bool();
    let text = |v: &Json| v.as_str().map(str::to_string);
    let mut spec = ClusterSpec {
        cluster_name: text(&i["name"]).unwrap_or_else(|| cluster.name.clone()),
        kubernetes_version: text(&i["version"]),
        endpoint_public_access: flag(&i["endpointPublicAccess"])
            .or(flag(&vpc_config["endpointPublicAccess"])),
        endpoint_private_access: flag(&i["endpointPrivateAccess"])
            .or(flag(&vpc_config["endpointPrivateAccess"])),
        oidc: flag(&i["createOidcProvider"]).or_else(|| {
            (cluster.type_ == "aws:eks/cluster:Cluster").then(|| {
                of(&["aws:iam/openIdConnectProvider:OpenIdConnectProvider"])
                    .next()
                    .is_some()
            })
        }),
        logging: i["enabledClusterLogTypes"]
            .as_array()
            .or(i["enabledClusterTypes"].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        vpc_cidr: of(&["aws:ec2/vpc:Vpc"])
            .next()
            .and_then(|v| text(&v.inputs["cidrBlock"])),
        source: format!("{source} (the program's registered resources)"),
        ..Default::default()
    };
    for s in of(&["aws:ec2/subnet:Subnet"]) {
        if let Some(az) = text(&s.inputs["availabilityZone"])
            && !spec.availability_zones.contains(&az)
        {
            spec.availability_zones.push(az);
        }
    }
    for g in of(&["aws:eks/nodeGroup:NodeGroup", "eks:index:ManagedNodeGroup"]) {
        let sc = &g.inputs["scalingConfig"];
        let n = |k: &str| sc[k].as_i64().unwrap_or_default();
        spec.node_groups.push(NodeGroupSpec {
            name: text(&g.inputs["nodeGroupName"]).unwrap_or_else(|| g.name.clone()),
            instance_types: g.inputs["instanceTypes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            min_size: n("minSize"),
            desired_size: n("desiredSize"),
            max_size: n("maxSize"),
            capacity_type: text(&g.inputs["capacityType"]).unwrap_or_else(|| "ON_DEMAND".into()),
        });
    }
    spec.addons = of(&["aws:eks/addon:Addon"])
        .filter_map(|a| text(&a.inputs["addonName"]))
        .collect();
    Some(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reg(type_: &str, name: &str, inputs: Json) -> Registered {
        Registered {
            type_: type_.into(),
            name: name.into(),
            parent: String::new(),
            provider: String::new(),
            custom: true,
            inputs,
        }
    }

    #[test]
    fn kubernetes_resources_become_objects_with_marks_as_placeholders() {
        let (objs, notes) = objects(&[
            reg(
                "pulumi:pulumi:StackReference",
                "infra",
                json!({"name": "organization/infrastructure/day"}),
            ),
            reg(
                "pulumi:providers:kubernetes",
                "cluster",
                json!({"kubeconfig": {"__tierui": "secret"}}),
            ),
            reg(
                "kubernetes:core/v1:Secret",
                "credentials",
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}, "stringData": {"API_KEY": {"__tierui": "secret"}}}),
            ),
            reg(
                "kubernetes:core/v1:ConfigMap",
                "flags",
                json!({"metadata": {"namespace": "x"}, "data": {"HOST": {"__tierui": "unknown"}}}),
            ),
            reg("aws:s3/bucket:Bucket", "b", json!({})),
        ]);
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0]["stringData"]["API_KEY"], SECRET);
        assert_eq!(objs[1]["apiVersion"], "v1");
        assert_eq!(objs[1]["kind"], "ConfigMap");
        assert_eq!(objs[1]["metadata"]["name"], DECIDED_AT_APPLY);
        assert_eq!(objs[1]["data"]["HOST"], KNOWN_AFTER_APPLY);
        assert!(notes.iter().any(|n| n.contains("auto-naming")));
        assert!(notes.iter().any(|n| n.contains("aws:s3/bucket:Bucket ×1")));
    }

    #[test]
    fn a_render_error_becomes_a_problem_where_it_points() {
        let cfg = Path::new("app/Pulumi.prod.yaml");
        let p = problem(
            cfg,
            "program",
            "app/__main__.py:12: KeyError: 'x'\nTraceback …",
        );
        assert_eq!(
            (p.file.as_path(), p.line, p.severity),
            (Path::new("app/__main__.py"), 12, Severity::Error)
        );
        assert_eq!(p.message, "program: KeyError: 'x'");
        let text = "/w/app: the Pulumi SDK is not installed — to fix: cd /w/app && npm install";
        let p = problem(cfg, "program", text);
        assert_eq!(
            (p.file.as_path(), p.line, p.severity),
            (cfg, 1, Severity::Warning)
        );
        assert_eq!(fix_of(text), Some("cd /w/app && npm install"));
        assert_eq!(fix_of("x.py:1: boom\n — to fix: not this"), None);
    }

    #[test]
    fn a_failure_names_the_users_file_and_line() {
        let f = ProgramFailure {
            message: "Missing required configuration variable 'day-service:image_tag'".into(),
            at: Some(("gitops/pulumi_deploy/__main__.py".into(), 12)),
            traceback: String::new(),
            fix: None,
        };
        assert_eq!(
            f.line(),
            "gitops/pulumi_deploy/__main__.py:12: Missing required configuration variable 'day-service:image_tag'"
        );
    }
}
