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

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde_json::Value as Json;

use tierui_core::context::Context;
use tierui_core::migrate;
use tierui_core::render::diff::unified_text;
use tierui_core::workspace::model::{ClusterSource, Release, ReleaseSource, Workspace};

use super::{MigrateArgs, MigrateTarget};

pub fn run(ctx: &Context, args: &MigrateArgs) -> Result<ExitCode> {
    if ctx.readonly {
        bail!("--readonly: migrate writes files, which read-only mode refuses");
    }
    let ws = ctx.load();
    let r = super::release::select(&ws, &args.release)?;
    match args.to {
        MigrateTarget::Pulumi => to_pulumi(ctx, &ws, r, args),
        MigrateTarget::Kubectl => to_kubectl(ctx, &ws, r, args),
    }
}

fn tools(ctx: &Context) -> tierui_core::render::desired::Tools {
    tierui_backends::tools::for_sandbox(ctx.sandbox)
}

/// Refuses an existing, non-empty folder: nothing is overwritten.
fn fresh(root: &Path, rel: &Path) -> Result<()> {
    let abs = root.join(rel);
    if abs.exists()
        && std::fs::read_dir(&abs)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} exists and is not empty: nothing is overwritten (choose another with --out)",
            rel.display()
        );
    }
    Ok(())
}

fn write_files(root: &Path, dir: &Path, files: &[(String, String)]) -> Result<()> {
    std::fs::create_dir_all(root.join(dir))
        .with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(root.join(&path), text)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

// ---- kubectl → Pulumi -------------------------------------------------------

fn to_pulumi(ctx: &Context, ws: &Workspace, r: &Release, args: &MigrateArgs) -> Result<ExitCode> {
    let ReleaseSource::Kubectl {
        manifest_dir,
        chart,
        ..
    } = &r.source
    else {
        bail!("{} is already a Pulumi release", r.title());
    };
    if chart.is_some() {
        bail!(
            "{} is a Helm chart: migrate it with the Pulumi Helm Release resource instead (not generated here)",
            r.title()
        );
    }
    if !matches!(args.runtime.as_deref(), None | Some("yaml")) {
        bail!(
            "--runtime {}: only Pulumi YAML projects are generated so far (python and typescript are not yet)",
            args.runtime.as_deref().unwrap_or_default()
        );
    }
    // The app stack reads its cluster from the cluster's infra stack.
    let cluster = r
        .cluster
        .as_deref()
        .and_then(|c| ws.cluster(c))
        .with_context(|| format!("{} has no cluster in tierui.yaml", r.title()))?;
    let ClusterSource::Pulumi(infra) = &cluster.source else {
        bail!(
            "{}'s cluster {} is provisioned by eksctl: an app stack reads its cluster from an infra stack's outputs, so move the cluster to a Pulumi stack first",
            r.title(),
            cluster.name
        );
    };
    let infra_stack = infra
        .qualified_name()
        .with_context(|| format!("{}: its Pulumi.yaml could not be read", cluster.name))?;
    let d = tierui_core::render::desired::render(ws, r, &Default::default(), tools(ctx))
        .map_err(|e| anyhow::anyhow!("{}: {e}", r.title()))?;
    let stack = r.environment.clone().unwrap_or_else(|| "production".into());
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("gitops").join(&r.service));
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
    let generated = migrate::to_pulumi_yaml(&spec, &d.objects);
    let lookup = |name: &str| {
        ws.clusters
            .iter()
            .filter_map(|c| c.pulumi())
            .find(|p| p.qualified_name().as_deref() == Some(name))
            .and_then(|p| p.checkpoint.as_ref())
            .map(|c| c.outputs.clone())
    };
    let (rendered, report) = migrate::prove_pulumi_yaml(
        &generated,
        &r.service,
        &stack,
        &r.namespace,
        &d.objects,
        &lookup,
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    println!(
        "proof: the new project renders {} objects; against the {} manifests of {}:",
        rendered.len(),
        d.objects.len(),
        manifest_dir.display()
    );
    if report.differs() {
        print!("{}", unified_text(&report, "kubectl", "pulumi"));
        eprintln!(
            "tierui: the render differs from the manifests: nothing written (each difference is listed above)"
        );
        return Ok(ExitCode::from(1));
    }
    println!("  no differences, object by object (normalised as tierui diff does)");
    for (k, v) in &generated.lifted {
        println!("  config {}:{k} = {v}", r.service);
    }
    write_files(
        &ws.root,
        &dir,
        &[
            ("Pulumi.yaml".into(), generated.project.clone()),
            (
                format!("Pulumi.{stack}.yaml"),
                generated.stack_config.clone(),
            ),
        ],
    )?;
    let note = format!(
        "# {} moved to a Pulumi app stack\n\nOn {}, `tierui migrate` wrote the Pulumi YAML project `{}` (stack `{stack}`)\nfrom these manifests; its render equals them object by object, and each\nresource adopts the live object (`import`) instead of creating it.\n\nLast step, once `pulumi up` in `{}` has adopted every object: stop applying\nthis folder — remove it and its entry in tierui.yaml.\n",
        r.service,
        today(),
        dir.display(),
        dir.display()
    );
    write_files(&ws.root, manifest_dir, &[("MIGRATED.md".into(), note)])?;
    for n in &generated.notes {
        println!("note: {n}");
    }
    println!(
        "\nnext:\n  1. cd {} && pulumi stack init {stack} (on the same backend) and `pulumi up`: it imports, nothing is recreated\n  2. add the service to tierui.yaml as a Pulumi release (project {}, stack {stack}, cluster {})\n  3. stop applying {} (see MIGRATED.md there)",
        dir.display(),
        dir.display(),
        cluster.name,
        manifest_dir.display()
    );
    Ok(ExitCode::SUCCESS)
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

fn to_kubectl(ctx: &Context, ws: &Workspace, r: &Release, args: &MigrateArgs) -> Result<ExitCode> {
    let ReleaseSource::Pulumi(ps) = &r.source else {
        bail!("{} is already a kubectl release", r.title());
    };
    let (desired, _notes) = tierui_backends::release::desired_objects(ws, r, tools(ctx))
        .map_err(|e| anyhow::anyhow!("{}: {e}", r.title()))?;
    let dir = args.out.clone().unwrap_or_else(|| {
        let name = match &r.environment {
            Some(env) => format!("{}-{env}", r.service),
            None => r.service.clone(),
        };
        PathBuf::from("k8s").join(name)
    });
    fresh(&ws.root, &dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (manifests, report) = runtime.block_on(async {
        let sims = tierui_backends::release::sims(ctx, ws)?;
        let result = async {
            let client =
                tierui_backends::release::client_for(ctx, sims.as_deref(), ws, r).await?;
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
            let outcomes =
                tierui_backends::kube::apply::apply(&client, &ordered, &r.namespace, &opts).await;
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
            let set = tierui_backends::release::applyset(r);
            let drift = tierui_backends::release::drift_of_desired(
                &client,
                plain,
                Vec::new(),
                &r.namespace,
                &set,
            )
            .await;
            if let Some((o, e)) = drift.refused.first() {
                return Err(format!("the server refused the dry run of {o}: {e}"));
            }
            Ok((manifests, drift.report))
        }
        .await;
        if let Some(s) = &sims {
            s.shutdown().await;
        }
        result.map_err(|e| anyhow::anyhow!("{}: {e}", r.title()))
    })?;
    let count = manifests.iter().filter(|m| m["kind"] != "Secret").count();
    println!(
        "proof: the {count} new manifests, dry-run applied to the live cluster of {}:",
        r.title()
    );
    if report.differs() {
        print!("{}", unified_text(&report, "live", "manifests"));
        eprintln!("tierui: the manifests would change the live objects: nothing written");
        return Ok(ExitCode::from(1));
    }
    println!("  no changes (as `tierui diff` of the new folder will show)");
    let header = format!(
        "# Exported from the live objects of {} (Pulumi stack {}) by `tierui migrate` on {}.\n",
        r.title(),
        ps.stack,
        today()
    );
    let files = migrate::kubectl_files(&manifests, &header);
    write_files(&ws.root, &dir, &files)?;
    if manifests.iter().any(|m| m["kind"] == "Secret") {
        println!(
            "note: Secret values are not written: secret.yaml.example lists their keys; keep the values in a secret manager and create the Secrets from there"
        );
    }
    handover(ws, r, ps, &dir, args.yes)
}

/// The Pulumi steps that hand the objects over without deleting them: each
/// Kubernetes resource protected, then removed from the stack's state (which
/// never touches the cluster) — run when the CLI is here and each is confirmed.
fn handover(
    ws: &Workspace,
    r: &Release,
    ps: &tierui_core::workspace::model::PulumiStack,
    dir: &Path,
    yes: bool,
) -> Result<ExitCode> {
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
    let cd = ws.root.join(&ps.project_dir);
    let mut steps: Vec<Vec<String>> = Vec::new();
    for u in &urns {
        steps.push(vec![
            "state".into(),
            "protect".into(),
            u.clone(),
            "--stack".into(),
            ps.stack.clone(),
            "--yes".into(),
        ]);
    }
    for u in &urns {
        steps.push(vec![
            "state".into(),
            "delete".into(),
            u.clone(),
            "--stack".into(),
            ps.stack.clone(),
            "--force".into(),
            "--target-dependents".into(),
            "--yes".into(),
        ]);
    }
    println!(
        "\nhand-over: {} Kubernetes resources leave the stack's state without being deleted\n(protect first, so a `pulumi destroy` meanwhile cannot delete them; `state delete` never\ntouches the cluster), in {}:",
        urns.len(),
        ps.project_dir.display()
    );
    for s in &steps {
        println!("  pulumi {}", shell_words(s));
    }
    let pulumi = which("pulumi");
    match pulumi {
        None => {
            println!("pulumi is not on PATH: run these yourself, in order.");
        }
        Some(bin) => {
            for s in &steps {
                let line = format!("pulumi {}", shell_words(s));
                if !yes && !ask(&format!("run `{line}`?"))? {
                    println!("stopped before `{line}`: the rest is yours to run");
                    break;
                }
                let status = std::process::Command::new(&bin)
                    .args(s)
                    .current_dir(&cd)
                    .status()
                    .with_context(|| format!("running {line}"))?;
                if !status.success() {
                    bail!("`{line}` failed ({status}): stopped; nothing after it ran");
                }
            }
        }
    }
    println!(
        "\nthen: replace {}'s entry in tierui.yaml with a kubectl release (manifests {}, namespace {}, cluster {})",
        r.title(),
        dir.display(),
        r.namespace,
        r.cluster.as_deref().unwrap_or("?")
    );
    Ok(ExitCode::SUCCESS)
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

fn ask(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}
