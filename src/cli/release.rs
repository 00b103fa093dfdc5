//! `tierui diff`, `tierui apply` and `tierui watch`: the release workflow for
//! scripts and CI, on the same code as the UI.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::{ApplyArgs, DiffArgs, ReleaseSelector};
use tierui_backends::kube::apply::{Outcome, conflict_lines, conflict_managers};
use tierui_backends::release::ApplyPlan;
use tierui_core::context::Context;
use tierui_core::render::diff::{Change, ObjectKey, unified_text};
use tierui_core::workspace::{Release, Workspace};

/// The one release a selector names, or a clear error listing the choices.
pub fn select<'a>(ws: &'a Workspace, sel: &ReleaseSelector) -> Result<&'a Release> {
    let found = ws.find_releases(&sel.service, sel.env.as_deref(), sel.cluster.as_deref());
    match found.as_slice() {
        [one] => Ok(one),
        [] => {
            let services: std::collections::BTreeSet<&str> =
                ws.releases.iter().map(|r| r.service.as_str()).collect();
            if services.contains(sel.service.as_str()) {
                let envs: Vec<String> = ws
                    .find_releases(&sel.service, None, None)
                    .iter()
                    .map(|r| {
                        format!(
                            "{} (cluster {})",
                            r.environment.as_deref().unwrap_or("—"),
                            r.cluster.as_deref().unwrap_or("—")
                        )
                    })
                    .collect();
                bail!(
                    "{} has no release matching --env/--cluster; it has: {}",
                    sel.service,
                    envs.join(", ")
                )
            }
            bail!(
                "no service named {} (services: {})",
                sel.service,
                services.into_iter().collect::<Vec<_>>().join(", ")
            )
        }
        many => {
            let envs: Vec<String> = many
                .iter()
                .map(|r| r.environment.clone().unwrap_or_else(|| "—".into()))
                .collect();
            bail!(
                "{} has several releases; choose one with --env ({})",
                sel.service,
                envs.join(", ")
            )
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// `tierui diff`: exit 0 without drift, 1 with drift, 2 on error (like `kubectl diff`).
pub fn diff(ctx: &Context, args: &DiffArgs) -> Result<ExitCode> {
    let ws = ctx.load();
    let r = select(&ws, &args.release)?;
    runtime()?.block_on(async {
        let sims = tierui_backends::release::sims(ctx, &ws)?;
        let result = async {
            let client = tierui_backends::release::client_for(ctx, sims.as_deref(), &ws, r).await?;
            tierui_backends::release::drift(&client, &ws, r, tierui_backends::tools::for_sandbox(ctx.sandbox)).await
        }
        .await;
        if let Some(s) = &sims {
            s.shutdown().await;
        }
        let d = result.map_err(|e| anyhow::anyhow!("{}: {e}", r.title()))?;
        if args.json {
            let objects: Vec<serde_json::Value> = d
                .report
                .objects
                .iter()
                .map(|o| {
                    let paths = match &o.change {
                        Change::Changed { paths } => paths.clone(),
                        _ => Vec::new(),
                    };
                    serde_json::json!({"kind": o.key.kind, "namespace": o.key.namespace, "name": o.key.name, "change": o.change.label(), "paths": paths, "owners": o.owners, "upgrades_client_side_apply": o.upgrades_client_side_apply})
                })
                .collect();
            let refused: Vec<serde_json::Value> = d.refused.iter().map(|(o, e)| serde_json::json!({"object": o, "error": e})).collect();
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({"release": r.title(), "cluster": r.cluster, "namespace": r.namespace, "differs": d.report.differs(), "objects": objects, "refused": refused, "notes": d.notes}))?);
        } else {
            print!("{}", unified_text(&d.report, "live", "desired"));
            print_owners(&d.report);
            // What the diff could not show (secrets, auto-names) goes beside it.
            for n in &d.notes {
                eprintln!("note: {n}");
            }
            for (o, e) in &d.refused {
                eprintln!("tierui: the server refused the dry run of {o}: {e}");
            }
        }
        Ok(if !d.refused.is_empty() { ExitCode::from(2) } else if d.report.differs() { ExitCode::from(1) } else { ExitCode::SUCCESS })
    })
}

/// `tierui apply`: the drift diff, a question (unless `--yes`), then server-side apply.
pub fn apply(ctx: &Context, args: &ApplyArgs) -> Result<ExitCode> {
    if ctx.readonly {
        bail!("--readonly: apply writes to the cluster, which read-only mode refuses");
    }
    let ws = ctx.load();
    let r = select(&ws, &args.release)?;
    runtime()?.block_on(async {
        let sims = tierui_backends::release::sims(ctx, &ws)?;
        let result = apply_inner(ctx, &ws, r, args, sims.as_deref()).await;
        if let Some(s) = &sims {
            s.shutdown().await;
        }
        result
    })
}

async fn apply_inner(
    ctx: &Context,
    ws: &Workspace,
    r: &Release,
    args: &ApplyArgs,
    sims: Option<&tierui_backends::sandbox::clusters::SimClusters>,
) -> Result<ExitCode> {
    let client = tierui_backends::release::client_for(ctx, sims, ws, r)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", r.title()))?;
    let d = tierui_backends::release::drift(
        &client,
        ws,
        r,
        tierui_backends::tools::for_sandbox(ctx.sandbox),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}: {e}", r.title()))?;
    print!("{}", unified_text(&d.report, "live", "desired"));
    print_owners(&d.report);
    if !d.report.differs() && d.refused.is_empty() {
        println!("{}: nothing to apply, the cluster matches", r.title());
        return Ok(ExitCode::SUCCESS);
    }
    let cluster = r.cluster.clone().unwrap_or_default();
    if !args.yes {
        for o in &d.prune {
            eprintln!(
                "prune: {} was applied by tierui for this release and is gone from its manifests: apply deletes it",
                ObjectKey::of(o, &r.namespace).display()
            );
        }
        let question = format!(
            "Apply {} created, {} changed and {} deleted objects of {} to cluster {cluster}, namespace {}{}?",
            d.report.count("created"),
            d.report.count("changed"),
            d.report.count("deleted"),
            r.title(),
            r.namespace,
            if ctx.sandbox { " (sandbox)" } else { "" }
        );
        if !ask(&question)? {
            eprintln!("nothing applied");
            return Ok(ExitCode::from(1));
        }
    }
    // A Pulumi release outside the sandbox is deployed by `pulumi up`; the
    // diff above was the confirmation.
    if matches!(r.source, tierui_core::workspace::ReleaseSource::Pulumi(_)) && !ctx.sandbox {
        return pulumi_up(r, ws, true);
    }
    // Exactly the objects the diff above showed, and the prunes it listed.
    let mut plan = ApplyPlan {
        force: args.force_conflicts,
        prune: d.prune.clone(),
        only: Vec::new(),
    };
    let mut outcomes = tierui_backends::release::apply_objects(&client, &d.desired, r, &plan).await;
    let conflicted: Vec<&Outcome> = outcomes.iter().filter(|o| o.conflict).collect();
    if !conflicted.is_empty() {
        let mut managers = Vec::new();
        for o in &conflicted {
            let e = o.applied.as_ref().err().map_or("", String::as_str);
            eprintln!(
                "tierui: {} stopped: other field managers own fields it changes:",
                o.object
            );
            for l in conflict_lines(e) {
                eprintln!("  {l}");
            }
            managers.extend(conflict_managers(e));
        }
        managers.sort();
        managers.dedup();
        let question = format!(
            "Take ownership of those fields from {} (kubectl apply --server-side --force-conflicts)? They lose them and may write them back.",
            managers.join(", ")
        );
        if args.yes {
            eprintln!(
                "tierui: not taken: rerun with --force-conflicts to take ownership from {}",
                managers.join(", ")
            );
        } else if ask(&question)? {
            plan.force = true;
            plan.only = conflicted.iter().map(|o| o.object.clone()).collect();
            let again =
                tierui_backends::release::apply_objects(&client, &d.desired, r, &plan).await;
            outcomes.retain(|o| !o.conflict);
            outcomes.extend(again);
        }
    }
    Ok(report_outcomes(&outcomes, !plan.prune.is_empty()))
}

/// One line per object, as kubectl prints them; exit 1 when any failed.
fn report_outcomes(outcomes: &[Outcome], pruning: bool) -> ExitCode {
    let mut failed = 0;
    for o in outcomes {
        match &o.applied {
            Ok(_) if o.pruned => println!("{} pruned", o.object),
            Ok(_) => println!("{} serverside-applied", o.object),
            Err(e) => {
                failed += 1;
                eprintln!("tierui: {} not applied: {e}", o.object);
            }
        }
    }
    if failed > 0 && pruning && !outcomes.iter().any(|o| o.pruned) {
        eprintln!("tierui: nothing was pruned: pruning waits until every object applied");
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A y/N question on stderr, answered on stdin (no answer is no).
pub(crate) fn ask(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// Who owns each changed field now (managedFields), beside the diff.
fn print_owners(report: &tierui_core::render::diff::Report) {
    for o in &report.objects {
        for f in &o.owners {
            eprintln!(
                "owner: {} {} ← {}",
                o.key.display(),
                f.path,
                f.managers.join(", ")
            );
        }
        if o.upgrades_client_side_apply && o.change != Change::Same {
            eprintln!(
                "note: {} was last applied by client-side kubectl apply: its fields move to tierui's field manager on apply, as kubectl apply --server-side does",
                o.key.display()
            );
        }
    }
}

fn pulumi_up(r: &Release, ws: &Workspace, yes: bool) -> Result<ExitCode> {
    let tierui_core::workspace::ReleaseSource::Pulumi(ps) = &r.source else {
        bail!("not a Pulumi release")
    };
    let dir = ws.root.join(&ps.project_dir);
    let mut cmd = std::process::Command::new("pulumi");
    cmd.args(["up", "--stack", &ps.stack]).current_dir(&dir);
    if yes {
        cmd.arg("--yes");
    }
    match cmd.status() {
        Ok(s) => Ok(if s.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} is a Pulumi release: applying it runs `pulumi up`, and pulumi was not found on PATH",
            r.title()
        ),
        Err(e) => bail!("pulumi up: {e}"),
    }
}
