//! `tierui migrate <service> --to pulumi|kubectl`: a service moved between the
//! two approaches, proven equal before anything is written.
//!
//! To Pulumi: the kubectl release's objects become a Pulumi YAML app project
//! (values that differ per environment in config, the cluster from the infra
//! stack's outputs, each object adopted with `import`); its native render
//! must equal the manifests. To kubectl: the Pulumi release's live objects
//! become manifests (only the fields the program declares, the live values,
//! Secret values never written); their server-side dry run against the live
//! cluster must show no change. Then the steps that hand the objects over.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde_json::Value as Json;

use tierui_core::context::Context;
use tierui_core::migrate;
use tierui_core::render::diff::unified_text;
use tierui_core::workspace::model::{ClusterSource, Release, ReleaseSource, Workspace};

use super::release::ask;
use super::{MigrateArgs, MigrateTarget};

/// A migration worked out and proven, before anything is written.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The release's title.
    pub release: String,
    /// The folder written (relative to the workspace root).
    pub dir: PathBuf,
    /// Files to write, relative to the workspace root.
    pub files: Vec<(PathBuf, String)>,
    /// The proof: the old form against the new, object by object.
    pub report: tierui_core::render::diff::Report,
    /// What was compared with what, for the proof's heading.
    pub proof: String,
    /// Sides of the proof's diff (from, to).
    pub sides: (&'static str, &'static str),
    /// Lifted config values and notes.
    pub lines: Vec<String>,
    /// The steps after writing, in order.
    pub next: Vec<String>,
    /// Pulumi CLI arguments of the hand-over, run in `handover_dir`.
    pub handover: Vec<Vec<String>>,
    pub handover_dir: PathBuf,
    /// Objects whose difference in the proof the user accepted, one by one.
    pub accepted: Vec<String>,
}

/// Plans are told apart by what they write.
impl PartialEq for Plan {
    fn eq(&self, other: &Self) -> bool {
        (&self.release, &self.dir, &self.files) == (&other.release, &other.dir, &other.files)
    }
}

impl Eq for Plan {}

impl Plan {
    /// Whether the proof holds (nothing is written otherwise).
    pub fn proven(&self) -> bool {
        !self.report.differs()
    }

    /// The objects the proof shows differing.
    pub fn differences(&self) -> Vec<String> {
        self.report
            .objects
            .iter()
            .filter(|o| o.change != tierui_core::render::diff::Change::Same)
            .map(|o| o.key.display())
            .collect()
    }

    /// Proven, or every difference accepted.
    pub fn writable(&self) -> bool {
        self.differences().iter().all(|d| self.accepted.contains(d))
    }
}

pub fn run(ctx: &Context, args: &MigrateArgs) -> Result<ExitCode> {
    if ctx.readonly {
        bail!("--readonly: migrate writes files, which read-only mode refuses");
    }
    let ws = ctx.load();
    let r = super::release::select(&ws, &args.release)?;
    let plan = match args.to {
        MigrateTarget::Pulumi => plan_to_pulumi(
            &ws,
            r,
            &Target {
                runtime: args.runtime.as_deref(),
                out: args.out.clone(),
                venv: args.venv.as_deref(),
                node_modules: args.node_modules.as_deref(),
            },
            tools(ctx),
        )
        .map_err(|e| anyhow::anyhow!(e))?,
        MigrateTarget::Kubectl => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let sims = tierui_backends::release::sims(ctx, &ws)?;
                let result = async {
                    let client =
                        tierui_backends::release::client_for(ctx, sims.as_deref(), &ws, r).await?;
                    plan_to_kubectl(&client, &ws, r, args.out.clone(), tools(ctx)).await
                }
                .await;
                if let Some(s) = &sims {
                    s.shutdown().await;
                }
                result.map_err(|e| anyhow::anyhow!("{}: {e}", r.title()))
            })?
        }
    };
    let mut plan = plan;
    println!("proof: {}:", plan.proof);
    if plan.proven() {
        println!("  no differences, object by object (normalised as tierui diff does)");
    } else {
        print!("{}", unified_text(&plan.report, plan.sides.0, plan.sides.1));
        for l in plan.lines.iter().filter(|l| l.starts_with("not rendered")) {
            println!("  {l}");
        }
        // Each difference is the user's to accept (no answer is no).
        for d in plan.differences() {
            if !ask(&format!(
                "accept the difference in {d} (the new form is what the cluster will get)?"
            ))? {
                eprintln!("tierui: the difference in {d} is not accepted: nothing written");
                return Ok(ExitCode::from(1));
            }
            plan.accepted.push(d);
        }
        println!("  every difference accepted: {}", plan.accepted.join(", "));
    }
    for l in &plan.lines {
        println!("  {l}");
    }
    for f in write(&ws.root, &plan).map_err(|e| anyhow::anyhow!(e))? {
        println!("wrote {}", f.display());
    }
    if !plan.handover.is_empty() {
        handover(&ws.root, &plan, args.yes)?;
    }
    println!("\nnext:");
    for (i, n) in plan.next.iter().enumerate() {
        println!("  {}. {n}", i + 1);
    }
    Ok(ExitCode::SUCCESS)
}

fn tools(ctx: &Context) -> tierui_core::render::desired::Tools {
    tierui_backends::tools::for_sandbox(ctx.sandbox)
}

/// Refuses an existing, non-empty folder: nothing is overwritten.
fn fresh(root: &Path, rel: &Path) -> Result<(), String> {
    let abs = root.join(rel);
    if abs.exists()
        && std::fs::read_dir(&abs)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(format!(
            "{} exists and is not empty: nothing is overwritten (choose another with --out)",
            rel.display()
        ));
    }
    Ok(())
}

/// Writes a proven plan's files (never over an existing file).
pub fn write(root: &Path, plan: &Plan) -> Result<Vec<PathBuf>, String> {
    if !plan.writable() {
        return Err(format!(
            "{}: the proof differs ({}) and not every difference was accepted: nothing written",
            plan.release,
            plan.differences().join(", ")
        ));
    }
    fresh(root, &plan.dir)?;
    let mut out = Vec::new();
    for (path, text) in &plan.files {
        let abs = root.join(path);
        if abs.exists() {
            return Err(format!("{} exists: nothing is overwritten", path.display()));
        }
        if let Some(parent) = abs.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&abs, text).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push(path.clone());
    }
    Ok(out)
}

fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

// ---- kubectl → Pulumi -------------------------------------------------------

/// What a kubectl release becomes: the runtime (yaml, python), the folder,
/// and for Python the virtualenv the proof runs the program with.
#[derive(Debug, Clone, Default)]
pub struct Target<'a> {
    pub runtime: Option<&'a str>,
    pub out: Option<PathBuf>,
    pub venv: Option<&'a Path>,
    /// For TypeScript: node_modules with @pulumi/pulumi and @pulumi/kubernetes.
    pub node_modules: Option<&'a Path>,
}

/// A kubectl release as a Pulumi app project (YAML, or a Python program),
/// rendered and compared with the manifests.
pub fn plan_to_pulumi(
    ws: &Workspace,
    r: &Release,
    target: &Target<'_>,
    tools: tierui_core::render::desired::Tools,
) -> Result<Plan, String> {
    let (runtime, out) = (target.runtime, target.out.clone());
    let ReleaseSource::Kubectl {
        manifest_dir,
        chart,
        ..
    } = &r.source
    else {
        return Err(format!("{} is already a Pulumi release", r.title()));
    };
    if chart.is_some() {
        return Err(format!(
            "{} is a Helm chart: migrate it with the Pulumi Helm Release resource instead (not generated here)",
            r.title()
        ));
    }
    let program = match runtime {
        None | Some("yaml") => None,
        Some(r @ ("python" | "typescript")) => Some(r),
        Some(other) => {
            return Err(format!(
                "--runtime {other}: yaml, python and typescript projects are generated"
            ));
        }
    };
    // The app stack reads its cluster from the cluster's infra stack.
    let cluster = r
        .cluster
        .as_deref()
        .and_then(|c| ws.cluster(c))
        .ok_or_else(|| format!("{} has no cluster in tierui.yaml", r.title()))?;
    let ClusterSource::Pulumi(infra) = &cluster.source else {
        return Err(format!(
            "{}'s cluster {} is provisioned by eksctl: an app stack reads its cluster from an infra stack's outputs, so move the cluster to a Pulumi stack first",
            r.title(),
            cluster.name
        ));
    };
    let infra_stack = infra
        .qualified_name()
        .ok_or_else(|| format!("{}: its Pulumi.yaml could not be read", cluster.name))?;
    let d = tierui_core::render::desired::render(ws, r, &Default::default(), tools)
        .map_err(|e| format!("{}: {e}", r.title()))?;
    let stack = r.environment.clone().unwrap_or_else(|| "production".into());
    let dir = out.unwrap_or_else(|| PathBuf::from("gitops").join(&r.service));
    fresh(&ws.root, &dir)?;
    // The same file backend as the infra stack, from the new folder.
    let backend = infra
        .project
        .as_ref()
        .and_then(|p| p.backend_url.as_deref())
        .and_then(|u| u.strip_prefix("file://"))
        .filter(|p| !p.starts_with('/') && !p.starts_with('~'))
        .map(|p| {
            let target = infra.project_dir.join(p);
            let up = "../".repeat(dir.components().count());
            format!("file://{up}{}", normalize(&target).display())
                .trim_end_matches('/')
                .to_string()
        });
    let spec = migrate::PulumiYamlSpec {
        project: &r.service,
        stack: &stack,
        namespace: &r.namespace,
        infra_stack: &infra_stack,
        backend_url: backend.as_deref(),
        source: &manifest_dir.display().to_string(),
    };
    if let Some(language) = program {
        return plan_program(
            ws,
            r,
            &spec,
            &d.objects,
            &dir,
            language,
            target,
            tools,
            manifest_dir,
        );
    }
    let generated = migrate::to_pulumi_yaml(&spec, &d.objects);
    let lookup = tierui_core::render::desired::stack_outputs(ws);
    let (rendered, report, render_notes) = migrate::prove_pulumi_yaml(
        &generated,
        &r.service,
        &stack,
        &r.namespace,
        &d.objects,
        &lookup,
    )?;
    let note = format!(
        "# {} moved to a Pulumi app stack\n\nOn {}, `tierui migrate` wrote the Pulumi YAML project `{}` (stack `{stack}`)\nfrom these manifests; its render equals them object by object, and each\nresource adopts the live object (`import`) instead of creating it.\n\nLast step, once `pulumi up` in `{}` has adopted every object: stop applying\nthis folder — remove it and its entry in tierui.yaml.\n",
        r.service,
        today(),
        dir.display(),
        dir.display()
    );
    let mut lines: Vec<String> = generated
        .lifted
        .iter()
        .map(|(k, v)| format!("config {}:{k} = {v}", r.service))
        .collect();
    lines.extend(generated.notes.iter().map(|n| format!("note: {n}")));
    lines.extend(render_notes.iter().map(|n| format!("not rendered: {n}")));
    Ok(Plan {
        release: r.title(),
        files: vec![
            (dir.join("Pulumi.yaml"), generated.project.clone()),
            (
                dir.join(format!("Pulumi.{stack}.yaml")),
                generated.stack_config.clone(),
            ),
            (manifest_dir.join("MIGRATED.md"), note),
        ],
        proof: format!(
            "the new project renders {} objects; against the {} manifests of {}",
            rendered.len(),
            d.objects.len(),
            manifest_dir.display()
        ),
        sides: ("kubectl", "pulumi"),
        report,
        lines,
        next: vec![
            format!(
                "cd {} && pulumi stack init {stack} (on the same backend) and `pulumi up`: it imports, nothing is recreated",
                dir.display()
            ),
            format!(
                "in tierui.yaml, make {} a Pulumi release (project {}, stack {stack}, cluster {})",
                r.service,
                dir.display(),
                cluster.name
            ),
            format!(
                "stop applying {} (see MIGRATED.md there)",
                manifest_dir.display()
            ),
        ],
        handover: Vec::new(),
        handover_dir: PathBuf::new(),
        accepted: Vec::new(),
        dir,
    })
}

/// The Python or TypeScript program, proven by running it under the Pulumi
/// SDK's mocks (as tierui renders any such release) from a staging folder
/// beside `dir`, which goes again whatever the outcome.
#[allow(clippy::too_many_arguments)]
fn plan_program(
    ws: &Workspace,
    r: &Release,
    spec: &migrate::PulumiYamlSpec<'_>,
    original: &[Json],
    dir: &Path,
    language: &str,
    target: &Target<'_>,
    tools: tierui_core::render::desired::Tools,
    manifest_dir: &Path,
) -> Result<Plan, String> {
    use tierui_core::workspace::{pulumi, yaml};
    let python = language == "python";
    let (toolchain, link) = if python {
        (
            target.venv.ok_or_else(|| {
                "--runtime python: the proof runs the program under the Pulumi SDK's mocks; give --venv PATH, a virtualenv with pulumi and pulumi-kubernetes (python3 -m venv v && v/bin/pip install pulumi pulumi-kubernetes)".to_string()
            })?,
            "venv",
        )
    } else {
        (
            target.node_modules.ok_or_else(|| {
                "--runtime typescript: the proof runs the program under the Pulumi SDK's mocks; give --node-modules PATH, a node_modules with @pulumi/pulumi and @pulumi/kubernetes (npm install @pulumi/pulumi @pulumi/kubernetes)".to_string()
            })?,
            "node_modules",
        )
    };
    let toolchain = toolchain
        .canonicalize()
        .map_err(|e| format!("{}: {e}", toolchain.display()))?;
    let program = if python {
        migrate::to_pulumi_python(spec, original)
    } else {
        migrate::to_pulumi_typescript(spec, original)
    };
    let stack_file = format!("Pulumi.{}.yaml", spec.stack);
    let name = dir
        .file_name()
        .map_or_else(|| "project".into(), |n| n.to_string_lossy().into_owned());
    let staging = dir.with_file_name(format!(".{name}.tierui-proof"));
    let abs = ws.root.join(&staging);
    let _ = std::fs::remove_dir_all(&abs);
    std::fs::create_dir_all(&abs).map_err(|e| format!("{}: {e}", staging.display()))?;
    let proof = (|| -> Result<(Vec<Json>, tierui_core::render::desired::Desired), String> {
        for (f, text) in program.files.iter().chain(std::iter::once(&(
            stack_file.clone(),
            program.stack_config.clone(),
        ))) {
            std::fs::write(abs.join(f), text).map_err(|e| format!("{f}: {e}"))?;
        }
        std::os::unix::fs::symlink(&toolchain, abs.join(link))
            .map_err(|e| format!("linking the toolchain: {e}"))?;
        let mut diags = Vec::new();
        let project_node = yaml::parse_single(&program.files[0].1).map_err(|e| e.to_string())?;
        let project = pulumi::parse_project(&project_node, &mut diags)
            .ok_or("the generated Pulumi.yaml is not a project")?;
        let stack_node = yaml::parse_single(&program.stack_config).map_err(|e| e.to_string())?;
        let config =
            pulumi::parse_stack_config(&stack_node, spec.project, &project.config, &mut diags);
        let organization = ws
            .clusters
            .iter()
            .filter_map(|c| c.pulumi())
            .map(|p| p.organization.clone())
            .next()
            .unwrap_or_else(|| "organization".into());
        let release = Release {
            service: r.service.clone(),
            environment: r.environment.clone(),
            cluster: r.cluster.clone(),
            namespace: r.namespace.clone(),
            source: ReleaseSource::Pulumi(Box::new(tierui_core::workspace::model::PulumiStack {
                organization,
                project_dir: staging.clone(),
                stack: spec.stack.to_string(),
                config_file: staging.join(&stack_file),
                project: Some(project),
                config: Some(config),
                checkpoint_file: None,
                checkpoint: None,
                program_spec: None,
            })),
            summary: Default::default(),
        };
        let d = tierui_core::render::desired::render(ws, &release, &Default::default(), tools)?;
        if d.how == tierui_core::render::desired::How::ConfigOnly {
            return Err(format!(
                "the generated program did not run: {}",
                d.notes.join("; ")
            ));
        }
        Ok((d.objects.clone(), d))
    })();
    let _ = std::fs::remove_dir_all(&abs);
    let (rendered, _) = proof?;
    let report = tierui_core::render::diff::diff_objects(original, &rendered, spec.namespace);
    let note = format!(
        "# {} moved to a Pulumi app stack\n\nOn {}, `tierui migrate` wrote the {language} Pulumi program `{}` (stack `{}`)\nfrom these manifests; run under the Pulumi SDK's mocks it declares the same\nobjects, and each resource adopts the live object (`import_`) instead of\ncreating it.\n\nLast step, once `pulumi up` in `{}` has adopted every object: stop applying\nthis folder — remove it and its entry in tierui.yaml.\n",
        r.service,
        today(),
        dir.display(),
        spec.stack,
        dir.display()
    );
    let mut files: Vec<(PathBuf, String)> = program
        .files
        .iter()
        .map(|(f, t)| (dir.join(f), t.clone()))
        .collect();
    files.push((dir.join(&stack_file), program.stack_config.clone()));
    files.push((manifest_dir.join("MIGRATED.md"), note));
    let mut lines: Vec<String> = program
        .lifted
        .iter()
        .map(|(k, v)| format!("config {}:{k} = {v}", r.service))
        .collect();
    lines.extend(program.notes.iter().map(|n| format!("note: {n}")));
    Ok(Plan {
        release: r.title(),
        files,
        proof: format!(
            "the new {} program, run under the Pulumi SDK's mocks, declares {} objects; against the {} manifests of {}",
            if python { "Python" } else { "TypeScript" },
            rendered.len(),
            original.len(),
            manifest_dir.display()
        ),
        sides: ("kubectl", "pulumi"),
        report,
        lines,
        next: vec![
            if python {
                format!(
                    "cd {} && python3 -m venv venv && venv/bin/pip install -r requirements.txt",
                    dir.display()
                )
            } else {
                format!("cd {} && npm install", dir.display())
            },
            format!(
                "pulumi stack init {} (on the same backend) and `pulumi up`: it imports, nothing is recreated",
                spec.stack
            ),
            format!(
                "in tierui.yaml, make {} a Pulumi release (project {}, stack {})",
                r.service,
                dir.display(),
                spec.stack
            ),
            format!(
                "stop applying {} (see MIGRATED.md there)",
                manifest_dir.display()
            ),
        ],
        handover: Vec::new(),
        handover_dir: PathBuf::new(),
        accepted: Vec::new(),
        dir: dir.to_path_buf(),
    })
}

/// `a/b/../c` → `a/c` (no filesystem access).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

// ---- Pulumi → kubectl -------------------------------------------------------

/// A Pulumi release's live objects as manifests, dry-run against the cluster.
pub async fn plan_to_kubectl(
    client: &kube::Client,
    ws: &Workspace,
    r: &Release,
    out: Option<PathBuf>,
    tools: tierui_core::render::desired::Tools,
) -> Result<Plan, String> {
    let ReleaseSource::Pulumi(ps) = &r.source else {
        return Err(format!("{} is already a kubectl release", r.title()));
    };
    let (desired, notes) = tierui_backends::release::desired_objects(ws, r, tools)?;
    // An object Pulumi names at apply has no name the manifests could give
    // it: handing the stack over would leave it managed by nobody.
    if let Some(n) = notes.iter().find(|n| n.contains("(auto-naming)")) {
        return Err(format!(
            "{n}: give it a metadata.name in the program (its live name, so nothing is recreated), deploy, and migrate again — nothing written"
        ));
    }
    let dir = out.unwrap_or_else(|| {
        let name = match &r.environment {
            Some(env) => format!("{}-{env}", r.service),
            None => r.service.clone(),
        };
        PathBuf::from("k8s").join(name)
    });
    fresh(&ws.root, &dir)?;
    // Namespaces first, as the apply orders them: outcomes line up.
    let mut ordered: Vec<Json> = desired
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .cloned()
        .collect();
    ordered.extend(desired.iter().filter(|o| o["kind"] != "Namespace").cloned());
    let opts = tierui_backends::kube::apply::Opts {
        dry_run: true,
        force: true,
        set: None,
    };
    let outcomes = tierui_backends::kube::apply::apply(client, &ordered, &r.namespace, &opts).await;
    let mut manifests = Vec::new();
    for (o, d) in outcomes.iter().zip(&ordered) {
        let Some(live) = &o.live else {
            return Err(format!(
                "{} is not on the cluster: deploy the stack (`pulumi up`) before migrating it",
                o.object
            ));
        };
        // A Secret keeps its keys (written as a template, never its values).
        let shape = if d["kind"] == "Secret" { live } else { d };
        manifests.push(migrate::manifest_of_live(live, shape));
    }
    // The proof: the new manifests, dry-run applied, change nothing.
    let plain: Vec<Json> = manifests
        .iter()
        .filter(|m| m["kind"] != "Secret")
        .cloned()
        .collect();
    let drift = tierui_backends::release::drift_of_desired(
        client,
        plain.clone(),
        Vec::new(),
        &r.namespace,
        &tierui_backends::release::applyset(r),
    )
    .await;
    if let Some((o, e)) = drift.refused.first() {
        return Err(format!("the server refused the dry run of {o}: {e}"));
    }
    let header = format!(
        "# Exported from the live objects of {} (Pulumi stack {}) by `tierui migrate` on {}.\n",
        r.title(),
        ps.stack,
        today()
    );
    let files = migrate::kubectl_files(&manifests, &header)
        .into_iter()
        .map(|(f, t)| (dir.join(f), t))
        .collect();
    let mut lines = Vec::new();
    if manifests.iter().any(|m| m["kind"] == "Secret") {
        lines.push("note: Secret values are not written: secret.yaml.example lists their keys; keep the values in a secret manager and create the Secrets from there".to_string());
    }
    let handover = handover_steps(ps);
    Ok(Plan {
        release: r.title(),
        files,
        proof: format!(
            "the {} new manifests, dry-run applied to the live cluster of {}",
            plain.len(),
            r.title()
        ),
        sides: ("live", "manifests"),
        report: drift.report,
        lines,
        next: vec![
            format!(
                "the hand-over above ({} resources leave the stack's state; the cluster is untouched)",
                handover.len() / 2
            ),
            format!(
                "in tierui.yaml, make {} a kubectl release (manifests {}, namespace {}, cluster {})",
                r.title(),
                dir.display(),
                r.namespace,
                r.cluster.as_deref().unwrap_or("?")
            ),
        ],
        handover,
        handover_dir: ps.project_dir.clone(),
        accepted: Vec::new(),
        dir,
    })
}

/// `pulumi state protect` each Kubernetes resource of the stack (so a
/// `pulumi destroy` meanwhile cannot delete it), then `pulumi state delete`
/// each (which never touches the cluster).
fn handover_steps(ps: &tierui_core::workspace::model::PulumiStack) -> Vec<Vec<String>> {
    let project = ps
        .project
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let mut urns: Vec<String> = match &ps.checkpoint {
        Some(cp) => cp
            .resources
            .iter()
            .filter(|x| x.type_.starts_with("kubernetes:"))
            .map(|x| x.urn.clone())
            .collect(),
        None => ps
            .project
            .iter()
            .flat_map(|p| p.resources.iter())
            .filter(|x| x.type_.starts_with("kubernetes:"))
            .map(|x| {
                format!(
                    "urn:pulumi:{}::{project}::{}::{}",
                    ps.stack, x.type_, x.name
                )
            })
            .collect(),
    };
    urns.sort();
    let mut steps: Vec<Vec<String>> = Vec::new();
    for u in &urns {
        steps.push(
            ["state", "protect", u, "--stack", &ps.stack, "--yes"]
                .map(String::from)
                .to_vec(),
        );
    }
    for u in &urns {
        steps.push(
            [
                "state",
                "delete",
                u,
                "--stack",
                &ps.stack,
                "--force",
                "--target-dependents",
                "--yes",
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    steps
}

/// The hand-over, printed; run step by step after a y/N each (or all with
/// `--yes`) when `pulumi` is on PATH.
fn handover(root: &Path, plan: &Plan, yes: bool) -> Result<()> {
    println!(
        "\nhand-over: {} Kubernetes resources leave the stack's state without being deleted\n(protect first, so a `pulumi destroy` meanwhile cannot delete them; `state delete` never\ntouches the cluster), in {}:",
        plan.handover.len() / 2,
        plan.handover_dir.display()
    );
    for s in &plan.handover {
        println!("  pulumi {}", shell_words(s));
    }
    let Some(bin) = which("pulumi") else {
        println!("pulumi is not on PATH: run these yourself, in order.");
        return Ok(());
    };
    for s in &plan.handover {
        let line = format!("pulumi {}", shell_words(s));
        if !yes && !ask(&format!("run `{line}`?"))? {
            println!("stopped before `{line}`: the rest is yours to run");
            break;
        }
        let status = std::process::Command::new(&bin)
            .args(s)
            .current_dir(root.join(&plan.handover_dir))
            .status()
            .with_context(|| format!("running {line}"))?;
        if !status.success() {
            bail!("`{line}` failed ({status}): stopped; nothing after it ran");
        }
    }
    Ok(())
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=".contains(c))
            {
                a.clone()
            } else {
                format!("'{a}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(bin))
            .find(|f| f.is_file())
    })
}
