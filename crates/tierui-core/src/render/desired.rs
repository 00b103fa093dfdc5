//! The objects a release wants in its cluster, from its source files — optionally
//! with some files replaced by edited text, which is how the render diff shows
//! what an edit would change before it is saved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::program::{self, ProgramFailure, ProgramRequest, Ran};
use crate::workspace::fields::Severity;
use crate::workspace::model::{HelmChart, PulumiStack, ReleaseSource, Workspace};
use crate::workspace::pulumi_yaml;
use crate::workspace::{Release, manifests, pulumi, yaml};

/// The operator's own renderers: the programs that turn a kustomization, a
/// Helm chart or a non-YAML Pulumi program into objects. The core runs no program itself; the
/// backends crate supplies these, and the core reads what they print.
pub trait Renderers: Sync {
    /// What `kubectl kustomize <dir>` prints. `sealed`: nothing of the
    /// operator's kubeconfig may be read.
    fn kustomize(&self, dir: &Path, sealed: bool) -> Result<String, String>;
    /// What `pulumi preview --json` prints for `stack` in `project_dir`, or
    /// `None` when the Pulumi CLI is not installed.
    fn preview(&self, project_dir: &Path, stack: &str) -> Result<Option<Vec<u8>>, String>;
    /// Runs a Python or Node.js program under the Pulumi SDK's mocks and
    /// returns what it registered.
    fn program(&self, req: &ProgramRequest) -> Result<Ran, ProgramFailure>;
    /// `pulumi stack output --json --show-secrets=false` for a stack whose
    /// state is not in a file backend, or `None` without the Pulumi CLI.
    fn stack_outputs(&self, project_dir: &Path, stack: &str) -> Result<Option<Json>, String>;
    /// What `helm template` prints for a chart folder, or `None` when helm is
    /// not installed (then the chart is shown as a chart, with a note).
    fn helm_template(&self, req: &HelmTemplate) -> Result<Option<String>, String> {
        let _ = req;
        Ok(None)
    }
}

/// One `helm template` of a chart folder for a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmTemplate {
    /// The Helm release name (the service's name).
    pub release: String,
    /// The chart folder (absolute).
    pub chart_dir: PathBuf,
    pub namespace: String,
    /// `-f` files in order (absolute): values.yaml, then values-<env>.yaml.
    pub values_files: Vec<PathBuf>,
    /// Nothing of the operator's kubeconfig may be read.
    pub sealed: bool,
}

impl HelmTemplate {
    /// `template <release> <chart> --namespace <ns> [-f <values>]…`: the
    /// arguments after `helm`.
    pub fn args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = vec![
            "template".into(),
            self.release.clone().into(),
            self.chart_dir.clone().into(),
            "--namespace".into(),
            self.namespace.clone().into(),
        ];
        for f in &self.values_files {
            args.push("-f".into());
            args.push(f.clone().into());
        }
        args
    }
}

/// Whether rendering may run the operator's own tools (`pulumi preview`, which
/// uses their Pulumi login and cloud credentials, and `kubectl kustomize`), and
/// who runs them. The sandbox is sealed: it runs neither with anything that
/// reaches beyond it.
#[derive(Clone, Copy)]
pub struct Tools {
    pub sealed: bool,
    pub renderers: &'static dyn Renderers,
}

impl std::fmt::Debug for Tools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tools")
            .field("sealed", &self.sealed)
            .finish()
    }
}

/// No renderers at all: only what the core renders natively (manifests and
/// Pulumi YAML programs).
pub struct NativeOnly;

impl Renderers for NativeOnly {
    fn kustomize(&self, dir: &Path, _sealed: bool) -> Result<String, String> {
        Err(format!(
            "{} has a kustomization.yaml: rendering it needs `kubectl kustomize`, which is not available here",
            dir.display()
        ))
    }
    fn preview(&self, _project_dir: &Path, _stack: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
    fn stack_outputs(&self, _project_dir: &Path, _stack: &str) -> Result<Option<Json>, String> {
        Ok(None)
    }
    fn program(&self, req: &ProgramRequest) -> Result<Ran, ProgramFailure> {
        Err(ProgramFailure {
            message: format!(
                "{}: running Pulumi programs is not available here",
                req.project_dir.display()
            ),
            at: None,
            traceback: String::new(),
            fix: None,
        })
    }
}

impl Tools {
    /// Native rendering only, sealed or not.
    pub const fn native(sealed: bool) -> Tools {
        Tools {
            sealed,
            renderers: &NativeOnly,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Manifests,
    Kustomize,
    PulumiYaml,
    PulumiPreview,
    /// A Python or Node.js program run under the Pulumi SDK's mocks.
    PulumiProgram,
    /// A Helm chart folder through `helm template`.
    Helm,
    /// Neither rendered natively nor by the CLI: only config values are compared.
    ConfigOnly,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub objects: Vec<Json>,
    pub how: How,
    /// What could not be rendered, or how it was rendered.
    pub notes: Vec<String>,
}

/// Text of a workspace file: the edited version when given, else the disk.
fn text(root: &Path, rel: &Path, overrides: &BTreeMap<PathBuf, String>) -> Result<String, String> {
    if let Some(t) = overrides.get(rel) {
        return Ok(t.clone());
    }
    let bytes = std::fs::read(root.join(rel)).map_err(|e| format!("{}: {e}", rel.display()))?;
    yaml::decode(&bytes)
        .map(str::to_string)
        .map_err(|e| format!("{}:{e}", rel.display()))
}

/// Renders a release's desired objects. `Err` names the file and position when a
/// source file cannot be read.
pub fn render(
    ws: &Workspace,
    release: &Release,
    overrides: &BTreeMap<PathBuf, String>,
    tools: Tools,
) -> Result<Desired, String> {
    // Plain manifests and Pulumi YAML depend only on the workspace's files:
    // rendered once per load of them (drifts, diffs and comparisons of 300
    // releases all ask again), never with unsaved edits.
    if overrides.is_empty() && cacheable(release) {
        // What the render is made of: the folder, or the project, stack and
        // config (two releases may share a service name).
        let key = match &release.source {
            ReleaseSource::Kubectl { manifest_dir, .. } => {
                format!("manifests:{}", manifest_dir.display())
            }
            ReleaseSource::Pulumi(ps) => format!(
                "pulumi:{}:{}:{}",
                ps.project_dir.display(),
                ps.stack,
                ps.config_file.display()
            ),
        };
        if let Some(d) = ws.rendered.get(&key) {
            return Ok(d);
        }
        let d = render_uncached(ws, release, overrides, tools)?;
        ws.rendered.put(key, &d);
        return Ok(d);
    }
    render_uncached(ws, release, overrides, tools)
}

/// Renders every release whose render is cached (off the UI's thread, after
/// a load), so drifts, diffs and comparisons find their objects ready.
/// Returns how many rendered.
pub fn warm(ws: &Workspace, tools: Tools) -> usize {
    ws.releases
        .iter()
        .filter(|r| cacheable(r))
        .filter(|r| render(ws, r, &BTreeMap::new(), tools).is_ok())
        .count()
}

/// Whether a release's render depends on nothing but the workspace's files.
fn cacheable(release: &Release) -> bool {
    match &release.source {
        ReleaseSource::Kubectl {
            chart, kustomize, ..
        } => chart.is_none() && !kustomize,
        ReleaseSource::Pulumi(ps) => ps.project.as_ref().is_some_and(|p| p.runtime == "yaml"),
    }
}

fn render_uncached(
    ws: &Workspace,
    release: &Release,
    overrides: &BTreeMap<PathBuf, String>,
    tools: Tools,
) -> Result<Desired, String> {
    match &release.source {
        ReleaseSource::Kubectl {
            manifest_dir,
            chart: Some(chart),
            ..
        } => {
            let mut d = helm_chart(&ws.root, release, manifest_dir, chart, tools)?;
            if overrides.keys().any(|f| f.starts_with(manifest_dir)) {
                d.notes.push(
                    "helm renders the chart's files as saved: an unsaved edit of them is not in this render".into(),
                );
            }
            Ok(d)
        }
        ReleaseSource::Kubectl {
            manifest_dir,
            kustomize: true,
            ..
        } => kustomize(&ws.root, manifest_dir, tools),
        ReleaseSource::Kubectl { manifest_dir, .. } => {
            render_manifests(&ws.root, manifest_dir, overrides)
        }
        ReleaseSource::Pulumi(ps) => render_pulumi(ws, ps, overrides, tools),
    }
}

/// The YAML and JSON files of a manifest folder, relative to the root and
/// sorted; an edited file that does not exist on disk yet still counts.
fn manifest_files(
    root: &Path,
    manifest_dir: &Path,
    overrides: &BTreeMap<PathBuf, String>,
) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(manifest_dir))
        .map_err(|e| format!("{}: {e}", manifest_dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .filter_map(|p| p.strip_prefix(root).ok().map(Path::to_path_buf))
        .collect();
    for o in overrides
        .keys()
        .filter(|k| k.parent() == Some(manifest_dir))
    {
        if !files.contains(o) {
            files.push(o.clone());
        }
    }
    files.sort();
    Ok(files)
}

/// The objects of a folder of plain manifests, file by file; the first error
/// stops it with its file and position.
fn render_manifests(
    root: &Path,
    manifest_dir: &Path,
    overrides: &BTreeMap<PathBuf, String>,
) -> Result<Desired, String> {
    let mut objects = Vec::new();
    for rel in manifest_files(root, manifest_dir, overrides)? {
        let t = text(root, &rel, overrides)?;
        let mut diags = Vec::new();
        let parsed = manifests::parse(&t, &mut diags);
        if let Some(d) = diags.iter().find(|d| d.severity == Severity::Error) {
            return Err(format!(
                "{}:{}:{} {}",
                rel.display(),
                d.line,
                d.col,
                d.message
            ));
        }
        objects.extend(parsed.into_iter().map(|m| m.object));
    }
    Ok(Desired {
        objects,
        how: How::Manifests,
        notes: Vec::new(),
    })
}

/// The project's `Pulumi.yaml` (or `Pulumi.yml`), edited or on disk.
fn pulumi_program_file(
    root: &Path,
    ps: &PulumiStack,
    overrides: &BTreeMap<PathBuf, String>,
) -> PathBuf {
    ["Pulumi.yaml", "Pulumi.yml"]
        .iter()
        .map(|f| ps.project_dir.join(f))
        .find(|f| overrides.contains_key(f) || root.join(f).is_file())
        .unwrap_or_else(|| ps.project_dir.join("Pulumi.yaml"))
}

/// A Pulumi stack: its project and stack config, then a YAML program rendered
/// natively or any other runtime through `pulumi preview` (never in the sandbox).
fn render_pulumi(
    ws: &Workspace,
    ps: &PulumiStack,
    overrides: &BTreeMap<PathBuf, String>,
    tools: Tools,
) -> Result<Desired, String> {
    let program_file = pulumi_program_file(&ws.root, ps, overrides);
    let program = yaml::parse_single(&text(&ws.root, &program_file, overrides)?)
        .map_err(|e| format!("{}:{e}", program_file.display()))?;
    let mut diags = Vec::new();
    let project = pulumi::parse_project(&program, &mut diags)
        .ok_or_else(|| format!("{}: not a Pulumi project", program_file.display()))?;
    let config_node = yaml::parse_single(&text(&ws.root, &ps.config_file, overrides)?)
        .map_err(|e| format!("{}:{e}", ps.config_file.display()))?;
    let config =
        pulumi::parse_stack_config(&config_node, &project.name, &project.config, &mut diags);
    if let Some(d) = diags.iter().find(|d| d.severity == Severity::Error) {
        return Err(format!(
            "{}:{}:{} {}",
            ps.config_file.display(),
            d.line,
            d.col,
            d.message
        ));
    }
    if project.runtime != "yaml"
        && let Some(mut req) = program::request(ws, ps, &project, &config)
    {
        let unread = read_other_backends(ws, &mut req, tools);
        return match tools.renderers.program(&req) {
            Ok(ran) => {
                let (objects, mut notes) = program::objects(&ran.registered);
                notes.extend(unread);
                notes.extend(ran.invoke_note());
                notes.insert(
                    0,
                    format!(
                        "rendered by running the {} program under the Pulumi SDK's mocks (nothing deployed, no secret decrypted)",
                        project.runtime
                    ),
                );
                Ok(Desired {
                    objects,
                    how: How::PulumiProgram,
                    notes,
                })
            }
            Err(mut f) => {
                // The runner names files in the project; the user's are in the workspace.
                f.at = f.at.map(|(file, line)| (ps.project_dir.join(file), line));
                // The first line is the problem; the traceback's end follows it.
                let tail: Vec<&str> = f.traceback.lines().rev().take(12).collect();
                let mut text = f.line();
                if !tail.is_empty() {
                    text.push('\n');
                    text.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
                }
                Err(text)
            }
        };
    }
    if project.runtime != "yaml" {
        if tools.sealed {
            return Ok(Desired {
                objects: Vec::new(),
                how: How::ConfigOnly,
                notes: vec![format!(
                    "runtime {}: rendering it takes `pulumi preview`, which the sandbox never runs (it would use your Pulumi login and cloud credentials); only config values are compared",
                    project.runtime
                )],
            });
        }
        return preview(
            &ws.root.join(&ps.project_dir),
            &ps.stack,
            &project.runtime,
            tools,
        );
    }
    Ok(render_pulumi_yaml(ws, ps, &program, &project, &config))
}

/// Outputs of the workspace's stacks that have no file-backend checkpoint, read
/// with the Pulumi CLI where it may run; a note for each that stays unknown.
fn read_other_backends(ws: &Workspace, req: &mut ProgramRequest, tools: Tools) -> Vec<String> {
    let mut notes = Vec::new();
    for (name, dir, stack) in program::unread_stacks(ws) {
        let outputs = if tools.sealed {
            notes.push(format!("{name}: no file-backend checkpoint, and the sandbox runs no `pulumi stack output`: its outputs are unknown here"));
            None
        } else {
            match tools.renderers.stack_outputs(&dir, &stack) {
                Ok(Some(json)) => {
                    notes.push(format!(
                        "{name}: outputs read with `pulumi stack output --show-secrets=false`"
                    ));
                    Some(program::outputs_from_cli(&json))
                }
                Ok(None) => {
                    notes.push(format!("{name}: no file-backend checkpoint and no pulumi CLI to read its outputs: they are unknown here"));
                    None
                }
                Err(e) => {
                    notes.push(format!("{name}: its outputs could not be read: {e}"));
                    None
                }
            }
        };
        req.stack_references.entry(name).or_insert(outputs);
    }
    notes
}

/// The outputs of the workspace's cluster stacks by qualified name, as their
/// checkpoints record them: what a StackReference reads when rendered here.
pub fn stack_outputs(ws: &Workspace) -> impl Fn(&str) -> Option<Vec<(String, Json)>> + '_ {
    move |name: &str| {
        ws.clusters
            .iter()
            .filter_map(|c| c.pulumi())
            .find(|p| p.qualified_name().as_deref() == Some(name))
            .and_then(|p| p.checkpoint.as_ref())
            .map(|c| c.outputs.clone())
    }
}

/// A Pulumi YAML program rendered natively, with stack references read from
/// the workspace's cluster stacks' checkpoints.
fn render_pulumi_yaml(
    ws: &Workspace,
    ps: &PulumiStack,
    program: &yaml::Node,
    project: &pulumi::Project,
    config: &pulumi::StackConfig,
) -> Desired {
    let lookup = stack_outputs(ws);
    let inputs = pulumi_yaml::Inputs {
        project: &project.name,
        stack: &ps.stack,
        config,
        declared: &project.config,
        stack_outputs: &lookup,
    };
    let out = pulumi_yaml::render(program, &inputs);
    Desired {
        objects: out.objects.into_iter().map(|o| o.object).collect(),
        how: How::PulumiYaml,
        notes: out.notes,
    }
}

/// Whether a kustomization pulls anything from beyond the workspace (remote
/// bases, git or HTTP resources).
fn remote_resources(root: &Path, dir: &Path) -> bool {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(root.join(dir).join(f)).ok())
        .any(|t| t.contains("://") || t.contains("git@") || t.contains("github.com/"))
}

fn kustomize(root: &Path, dir: &Path, tools: Tools) -> Result<Desired, String> {
    if tools.sealed && remote_resources(root, dir) {
        return Err(format!(
            "{} pulls remote resources into its kustomization; the sandbox fetches nothing from beyond the workspace",
            dir.display()
        ));
    }
    let out = tools.renderers.kustomize(&root.join(dir), tools.sealed)?;
    let mut diags = Vec::new();
    let objects = manifests::parse(&out, &mut diags)
        .into_iter()
        .map(|m| m.object)
        .collect();
    Ok(Desired {
        objects,
        how: How::Kustomize,
        notes: vec![format!("rendered with kubectl kustomize {}", dir.display())],
    })
}

/// A chart release that did not render (`helm template` failed) as a problem
/// of its Chart.yaml; `None` for other releases.
pub fn chart_problem(r: &Release, error: &str) -> Option<crate::workspace::Problem> {
    let chart = r.chart()?;
    Some(crate::workspace::Problem::file_level(
        &r.source_file().join(crate::workspace::load::CHART_FILE),
        Severity::Error,
        format!(
            "{}: Helm chart {} not rendered: {error}",
            r.title(),
            chart.label()
        ),
    ))
}

/// A chart folder through `helm template` (release name, namespace, values
/// files); without helm, the chart with a note saying so — never an error.
fn helm_chart(
    root: &Path,
    r: &Release,
    dir: &Path,
    chart: &HelmChart,
    tools: Tools,
) -> Result<Desired, String> {
    let values = chart.values_for(r.environment.as_deref());
    let req = HelmTemplate {
        release: r.service.clone(),
        chart_dir: root.join(dir),
        namespace: r.namespace.clone(),
        values_files: values.iter().map(|f| root.join(f)).collect(),
        sealed: tools.sealed,
    };
    let Some(out) = tools.renderers.helm_template(&req)? else {
        return Ok(Desired {
            objects: Vec::new(),
            how: How::ConfigOnly,
            notes: vec![format!(
                "Helm chart {} — helm is not on PATH; install helm to render it",
                chart.label()
            )],
        });
    };
    let mut diags = Vec::new();
    let objects = manifests::parse(&out, &mut diags)
        .into_iter()
        .map(|m| m.object)
        .collect();
    if let Some(d) = diags.iter().find(|d| d.severity == Severity::Error) {
        return Err(format!(
            "helm template {}: its output {}:{}: {}",
            dir.display(),
            d.line,
            d.col,
            d.message
        ));
    }
    let files: Vec<String> = values
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    Ok(Desired {
        objects,
        how: How::Helm,
        notes: vec![format!(
            "Helm chart {} rendered with helm template (release {}, namespace {}{})",
            chart.label(),
            r.service,
            r.namespace,
            if files.is_empty() {
                String::new()
            } else {
                format!(", values {}", files.join(", "))
            }
        )],
    })
}

/// Non-YAML Pulumi programs: `pulumi preview --json` when the CLI exists.
fn preview(
    project_dir: &Path,
    stack: &str,
    runtime: &str,
    tools: Tools,
) -> Result<Desired, String> {
    let Some(out) = tools.renderers.preview(project_dir, stack)? else {
        return Ok(Desired {
            objects: Vec::new(),
            how: How::ConfigOnly,
            notes: vec![format!(
                "runtime {runtime} needs the pulumi CLI to render (`pulumi preview --json`), and pulumi was not found on PATH: only config values are compared"
            )],
        });
    };
    let json: Json =
        serde_json::from_slice(&out).map_err(|e| format!("pulumi preview --json output: {e}"))?;
    let objects = json["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .filter_map(|s| {
                    let st = s.get("newState")?;
                    let (api, kind) = pulumi_yaml::kubernetes_type(st.get("type")?.as_str()?)?;
                    let mut obj = st.get("inputs")?.clone();
                    obj["apiVersion"] = Json::String(api);
                    obj["kind"] = Json::String(kind);
                    Some(crate::workspace::pulumi::mask_secrets(&obj))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Desired {
        objects,
        how: How::PulumiPreview,
        notes: vec!["rendered with pulumi preview --json".into()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        crate::paths::extract_demo(dir.path()).unwrap();
        let ws = crate::workspace::load(dir.path());
        (dir, ws)
    }

    #[test]
    fn kubectl_release_from_files_and_overrides() {
        let (_d, ws) = demo();
        let r = ws.find_releases("dusk-service", None, None)[0];
        let d = render(&ws, r, &BTreeMap::new(), Tools::native(false)).unwrap();
        assert_eq!(d.how, How::Manifests);
        assert_eq!(d.objects.len(), 6);
        let mut edits = BTreeMap::new();
        let dep = PathBuf::from("k8s/dusk/deployment.yaml");
        let text = std::fs::read_to_string(ws.root.join(&dep))
            .unwrap()
            .replace("v2.4.1", "v2.5.0");
        edits.insert(dep, text);
        let d2 = render(&ws, r, &edits, Tools::native(false)).unwrap();
        let report = super::super::diff::diff_objects(&d.objects, &d2.objects, "dusk-service");
        let changed: Vec<_> = report
            .objects
            .iter()
            .filter(|o| o.change.label() == "changed")
            .map(|o| o.key.display())
            .collect();
        assert_eq!(changed, ["dusk-service/Deployment/dusk-service"]);
    }

    #[test]
    fn pulumi_yaml_release_and_config_edit() {
        let (_d, ws) = demo();
        let r = ws.find_releases("day-service", Some("production"), None)[0];
        let d = render(&ws, r, &BTreeMap::new(), Tools::native(false)).unwrap();
        assert_eq!(d.how, How::PulumiYaml);
        let cfg = PathBuf::from("gitops/pulumi_deploy/Pulumi.production.yaml");
        let mut edits = BTreeMap::new();
        edits.insert(
            cfg.clone(),
            std::fs::read_to_string(ws.root.join(&cfg))
                .unwrap()
                .replace("image_tag: v1.2.3", "image_tag: v1.2.4"),
        );
        let d2 = render(&ws, r, &edits, Tools::native(false)).unwrap();
        let report = super::super::diff::diff_objects(&d.objects, &d2.objects, "day-service");
        let changed: Vec<String> = report
            .objects
            .iter()
            .filter(|o| o.change.label() == "changed")
            .map(|o| format!("{} {:?}", o.key.display(), o.change))
            .collect();
        assert_eq!(
            changed,
            [
                "day-service/Deployment/day-service Changed { paths: [\"spec.template.spec.containers[name=day-service].image\"] }"
            ]
        );
    }

    #[test]
    fn bad_edits_name_the_file_and_position() {
        let (_d, ws) = demo();
        let r = ws.find_releases("dusk-service", None, None)[0];
        let mut edits = BTreeMap::new();
        edits.insert(PathBuf::from("k8s/dusk/hpa.yaml"), "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: x\nspec:\n  minReplicas: [\n".to_string());
        let e = render(&ws, r, &edits, Tools::native(false)).unwrap_err();
        assert!(e.starts_with("k8s/dusk/hpa.yaml:"), "{e}");
    }

    /// A load's renders are cached: asked again (a drift, a diff) the files are
    /// not read again; a new load (the files changed) renders afresh; unsaved
    /// edits never use the cache.
    #[test]
    fn renders_are_cached_per_load_of_the_files() {
        let (_d, ws) = demo();
        let r = ws.find_releases("dusk-service", None, None)[0].clone();
        assert_eq!(
            warm(&ws, Tools::native(false)),
            4,
            "the demo's plain and YAML releases"
        );
        assert_eq!(ws.rendered.len(), 4);
        let dep = ws.root.join("k8s/dusk/deployment.yaml");
        let text = std::fs::read_to_string(&dep).unwrap();
        std::fs::write(&dep, text.replace("v2.4.1", "v2.9.9")).unwrap();
        let image = |d: &Desired| {
            d.objects
                .iter()
                .find(|o| o["kind"] == "Deployment")
                .map(|o| o.pointer("/spec/template/spec/containers/0/image").cloned())
        };
        let cached = render(&ws, &r, &BTreeMap::new(), Tools::native(false)).unwrap();
        assert!(
            image(&cached)
                .unwrap()
                .unwrap()
                .as_str()
                .unwrap()
                .ends_with("v2.4.1")
        );
        let again = crate::workspace::load(&ws.root);
        assert!(again.rendered.is_empty(), "a new load renders afresh");
        let r2 = again.find_releases("dusk-service", None, None)[0].clone();
        let fresh = render(&again, &r2, &BTreeMap::new(), Tools::native(false)).unwrap();
        assert!(
            image(&fresh)
                .unwrap()
                .unwrap()
                .as_str()
                .unwrap()
                .ends_with("v2.9.9")
        );
        // An unsaved edit is rendered, not looked up.
        let mut edits = BTreeMap::new();
        edits.insert(
            PathBuf::from("k8s/dusk/deployment.yaml"),
            text.replace("v2.4.1", "v3.0.0"),
        );
        let edited = render(&again, &r2, &edits, Tools::native(false)).unwrap();
        assert!(
            image(&edited)
                .unwrap()
                .unwrap()
                .as_str()
                .unwrap()
                .ends_with("v3.0.0")
        );
    }
}
