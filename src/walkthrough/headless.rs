//! `tierui walk <cluster> --plan | --yes | --teardown [--json]`: the walkthrough
//! without the UI, one line (or JSON object) per event.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use tokio::sync::mpsc;

use super::engine::Progress;
use super::plan::{Plan, plan};
use super::runner::{Command, Event, LocalOps, Runner, load_progress, state_file};
use crate::backend::cloud::Cloud;
use crate::cli::WalkArgs;
use crate::context::Context;
use crate::workspace::{eksctl, yaml};

/// The plan for a workspace cluster name or a ClusterConfig file path, with the
/// file it came from.
pub fn plan_for(ctx: &Context, target: &str) -> Result<(Plan, PathBuf)> {
    let as_file = Path::new(target);
    let file = if as_file.is_file() {
        as_file.to_path_buf()
    } else {
        let ws = ctx.load();
        let Some(cluster) = ws.cluster(target) else {
            let names: Vec<&str> = ws.clusters.iter().map(|c| c.name.as_str()).collect();
            bail!(
                "no cluster named {target} in {} (clusters: {})",
                ws.root.display(),
                names.join(", ")
            );
        };
        let Some(eksctl_file) = (match &cluster.source {
            crate::workspace::ClusterSource::Eksctl { config_file, .. } => {
                Some(ws.root.join(config_file))
            }
            crate::workspace::ClusterSource::Pulumi(_) => None,
        }) else {
            bail!(
                "{target} is provisioned by Pulumi; the walkthrough follows eksctl ClusterConfigs (try a cluster with provisioner eksctl)"
            );
        };
        eksctl_file
    };
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let text = yaml::decode(&bytes).map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
    let docs =
        yaml::parse_documents(text).map_err(|e| anyhow::anyhow!("{}:{e}", file.display()))?;
    let Some(doc) = docs.iter().find(|d| !d.root.is_null()) else {
        bail!("{}: empty file", file.display())
    };
    let mut diags = Vec::new();
    let cfg = eksctl::parse(&doc.root, &mut diags);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == crate::workspace::fields::Severity::Error)
        .map(|d| format!("{}:{}:{} {}", file.display(), d.line, d.col, d.message))
        .collect();
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    let Some(cfg) = cfg else {
        bail!("{}: not a ClusterConfig", file.display())
    };
    let p = plan(&cfg, &diags).map_err(|u| anyhow::anyhow!("{}: {u}", file.display()))?;
    Ok((p, file))
}

pub fn print_plan(p: &Plan, file: &Path, json: bool) -> Result<()> {
    let cost = super::cost::planned(p);
    if json {
        let mut v = serde_json::to_value(p)?;
        v["file"] = serde_json::json!(file);
        v["hourlyCostWhenRunning"] = serde_json::json!((cost * 1000.0).round() / 1000.0);
        println!("{}", serde_json::to_string(&v)?);
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Plan for {} ({}, Kubernetes {}) from {}",
        p.cluster,
        p.region,
        p.version.as_deref().unwrap_or("default"),
        file.display()
    )?;
    writeln!(
        out,
        "VPC {} · zones {}{} · NAT {} · OIDC {}",
        p.vpc_cidr,
        p.azs.join(", "),
        if p.azs_assumed {
            " (assumed: the config names none)"
        } else {
            ""
        },
        p.nat.as_str(),
        if p.with_oidc { "on" } else { "off" }
    )?;
    writeln!(
        out,
        "Running everything costs about ${cost:.2}/hour (EKS control plane, NAT gateways, public IPs, nodes)."
    )?;
    for note in &p.notes {
        writeln!(out, "note: {note}")?;
    }
    for s in &p.steps {
        writeln!(out)?;
        let deps = if s.depends_on.is_empty() {
            "nothing".to_string()
        } else {
            s.depends_on
                .iter()
                .map(char::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(out, "{}. {} — depends on {deps}", s.id, s.title)?;
        if let Some(r) = &s.skip_reason {
            writeln!(out, "   skipped: {r}")?;
        }
        writeln!(out, "   why: {}", s.why)?;
        writeln!(out, "   eksctl: {}", s.eksctl)?;
        for c in &s.aws_cli {
            writeln!(out, "   aws: {c}")?;
        }
        for (i, c) in s.calls.iter().enumerate() {
            writeln!(out, "   {:>2}. {:<34} {}", i + 1, c.op.api(), c.summary)?;
            writeln!(out, "       {}", serde_json::to_string(&c.op)?)?;
        }
    }
    Ok(())
}

/// Runs `tierui walk`.
pub fn run(ctx: &Context, args: &WalkArgs) -> Result<ExitCode> {
    let (p, file) = match plan_for(ctx, &args.cluster) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tierui: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    if args.plan {
        print_plan(&p, &file, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.readonly {
        bail!(
            "--readonly: the walkthrough creates and deletes cloud resources, which read-only mode refuses"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let ws = ctx.load();
        let dir = ctx.dirs.workspace_state(&ctx.root).join("kubeconfig");
        if ctx.sandbox {
            let sandbox = crate::sandbox::Sandbox::open(ctx, &ws)?;
            let sims = Arc::new(crate::sandbox::SimClusters::new(&sandbox, ctx.demo));
            let local = Arc::new(super::local::FileLocal {
                dir,
                connect: Some(super::local::sandbox_connector(ctx.clone(), sims.clone())),
            });
            let cloud = Arc::new(sandbox.cloud(&p.region));
            let code = drive(
                ctx,
                args,
                p,
                cloud,
                local,
                "sandbox".into(),
                sandbox.speed,
                false,
            )
            .await;
            // The simulated cluster keeps what the walkthrough created in its state file.
            sims.shutdown().await;
            code
        } else {
            let local = Arc::new(super::local::FileLocal { dir, connect: None });
            let cloud =
                Arc::new(crate::backend::aws::AwsCloud::connect(&ctx.global, &p.region).await?);
            let target = cloud.target();
            drive(ctx, args, p, cloud, local, target, 1.0, !args.yes).await
        }
    })
}

#[allow(clippy::too_many_arguments)]
async fn drive<C: Cloud>(
    ctx: &Context,
    args: &WalkArgs,
    p: Plan,
    cloud: Arc<C>,
    local: Arc<dyn LocalOps>,
    target: String,
    speed: f64,
    confirm: bool,
) -> Result<ExitCode> {
    let file = state_file(&ctx.dirs.workspace_state(&ctx.root), &p.cluster, &target);
    let progress: Progress = load_progress(&file, &p, &target)?;
    let (etx, mut erx) = mpsc::unbounded_channel();
    let (ctx_tx, crx) = mpsc::unbounded_channel();
    let mut runner = Runner::new(
        cloud,
        local,
        p.clone(),
        progress,
        file.clone(),
        speed,
        confirm,
        etx,
        crx,
    );
    let identity = runner
        .identity()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !ctx.sandbox {
        eprintln!(
            "Account {} ({}) in {} via {} — progress in {}",
            identity.account,
            identity.arn,
            identity.region,
            identity.endpoint,
            file.display()
        );
    }
    let json = args.json;
    let teardown = args.teardown;
    let printer = tokio::spawn(async move {
        let mut ok = false;
        let mut failure: Option<String> = None;
        while let Some(e) = erx.recv().await {
            match &e {
                Event::Finished { complete, .. } | Event::TeardownFinished { complete } => {
                    ok = *complete
                }
                Event::Failed { call, error, .. } => failure = Some(format!("{call}: {error}")),
                Event::UndoFailed { key, error, .. } => failure = Some(format!("{key}: {error}")),
                Event::Confirm { step, title, calls } if !json => {
                    eprint!("Run step {step} ({title}, {calls} calls) against AWS? [y/N] ");
                    let _ = std::io::stderr().flush();
                    let mut line = String::new();
                    let yes = std::io::stdin().lock().read_line(&mut line).is_ok()
                        && matches!(line.trim(), "y" | "Y" | "yes");
                    let _ = ctx_tx.send(Command::Confirm(yes));
                    continue;
                }
                _ => {}
            }
            if json {
                if !matches!(e, Event::Progress { .. })
                    && let Ok(s) = serde_json::to_string(&e)
                {
                    println!("{s}");
                }
            } else if let Some(line) = text_line(&e) {
                println!("{line}");
            }
        }
        (ok, failure)
    });
    if teardown {
        runner.teardown().await
    } else {
        runner.run(None).await
    }
    drop(runner);
    let (ok, failure) = printer.await?;
    if let Some(f) = failure.filter(|_| !ok) {
        eprintln!("tierui: failed at {f}");
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The one-line form of an event (None for events that only matter to the UI).
pub fn text_line(e: &Event) -> Option<String> {
    Some(match e {
        Event::Identity {
            account,
            region,
            endpoint,
            ..
        } => format!("account {account} · region {region} · {endpoint}"),
        Event::Started {
            step,
            call,
            api,
            summary,
        } => format!("[{step}] {call:<32} {api:<34} {summary}"),
        Event::Adopted {
            step,
            call,
            produced,
        } => format!("[{step}] {call:<32} adopted {}", ids(produced)),
        Event::Waiting {
            step,
            call,
            aws_status,
            elapsed_secs,
            eta_secs,
            ..
        } => format!(
            "[{step}] {call:<32} waiting: {aws_status} ({elapsed_secs:.0}s, about {eta_secs:.0}s left)"
        ),
        Event::Done {
            step,
            call,
            produced,
            verified,
            secs,
            ..
        } => format!(
            "[{step}] {call:<32} done {}{} ({secs:.1}s)",
            ids(produced),
            verified
                .as_ref()
                .map(|v| format!(" · {v}"))
                .unwrap_or_default()
        ),
        Event::Failed {
            step,
            call,
            error,
            advice,
        } => format!(
            "[{step}] {call:<32} FAILED {}: {}\n      what it means: {}\n      what to do: {}",
            error.code, error.message, advice.meaning, advice.action
        ),
        Event::NotImplemented {
            step, call, api, ..
        } => format!("[{step}] {call:<32} {api} is not implemented by this endpoint; going on"),
        Event::Manual {
            step,
            call,
            command,
        } => format!("[{step}] {call:<32} manual step, run yourself: {command}"),
        Event::StepFinished { step, status } => format!("[{step}] step {status}"),
        Event::Blocked { step, reason } => format!("[{step}] blocked: {reason}"),
        Event::Confirm { .. } | Event::Progress { .. } => return None,
        Event::Paused => "paused".into(),
        Event::Finished {
            complete,
            hourly_cost,
        } => format!(
            "{} · running resources cost about ${hourly_cost:.2}/hour",
            if *complete {
                "walkthrough complete"
            } else {
                "walkthrough stopped"
            }
        ),
        Event::UndoStarted { key, api } => format!("[teardown] {key:<32} {api}"),
        Event::UndoDone {
            key, already_gone, ..
        } => format!(
            "[teardown] {key:<32} {}",
            if *already_gone {
                "already gone"
            } else {
                "deleted"
            }
        ),
        Event::UndoFailed { key, error, advice } => format!(
            "[teardown] {key:<32} FAILED {}: {}\n      what it means: {}\n      what to do: {}",
            error.code, error.message, advice.meaning, advice.action
        ),
        Event::TeardownFinished { complete } => {
            if *complete {
                "teardown complete: nothing the walkthrough created is left".into()
            } else {
                "teardown stopped".into()
            }
        }
    })
}

fn ids(p: &crate::backend::cloud::Produced) -> String {
    ["id", "arn", "allocation", "association", "path"]
        .iter()
        .filter_map(|k| p.get(*k))
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}
