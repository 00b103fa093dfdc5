//! `tierui walk <cluster> --plan | --yes | --teardown [--json]`: the walkthrough
//! without the UI, one line (or JSON object) per event.

use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use tokio::sync::mpsc;

use crate::cli::WalkArgs;
use tierui_backends::walkthrough::runner::{Command, Event, LocalOps, Runner};
use tierui_backends::walkthrough::target::plan_for;
use tierui_core::cloud::Cloud;
use tierui_core::context::Context;
use tierui_core::walkthrough::plan::Plan;

pub fn print_plan(p: &Plan, file: &Path, json: bool) -> Result<()> {
    let cost = tierui_core::walkthrough::cost::planned(p);
    if json {
        let mut v = serde_json::to_value(p)?;
        v["file"] = serde_json::json!(file);
        v["hourlyCostWhenRunning"] = serde_json::json!((cost.total * 1000.0).round() / 1000.0);
        v["unpriced"] = serde_json::json!(cost.unknown);
        v["pricesAsOf"] = serde_json::json!(tierui_core::walkthrough::cost::prices().as_of);
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
        "Running everything costs {} (EKS control plane, NAT gateways, public IPs, nodes).",
        cost.describe("hour")
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

/// Exit code of a refusal (nothing was done): the same as a usage error.
const REFUSED: u8 = 2;

/// Runs `tierui walk`.
pub fn run(ctx: &Context, args: &WalkArgs) -> Result<ExitCode> {
    let planned = match plan_for(ctx, &args.cluster) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tierui: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    if args.plan {
        print_plan(&planned.plan, &planned.file, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.readonly {
        bail!(
            "--readonly: the walkthrough creates and deletes cloud resources, which read-only mode refuses"
        );
    }
    let state_dir = ctx.dirs.workspace_state(&ctx.root);
    let _lock = tierui_backends::walkthrough::session::lock(&state_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let ws = ctx.load();
        let dir = state_dir.join("kubeconfig");
        let p = planned.plan.clone();
        if ctx.sandbox {
            let sandbox = tierui_backends::sandbox::clusters::Sandbox::open(ctx, &ws)?;
            let sims = Arc::new(tierui_backends::sandbox::clusters::SimClusters::new(
                &sandbox, ctx.demo,
            ));
            let local = Arc::new(tierui_backends::walkthrough::local::FileLocal {
                dir,
                connect: Some(tierui_backends::walkthrough::local::sandbox_connector(
                    ctx.clone(),
                    sims.clone(),
                )),
            });
            let cloud = Arc::new(sandbox.cloud(&p.region));
            let code = drive(ctx, args, p, cloud, local, sandbox.speed).await;
            // The simulated cluster keeps what the walkthrough created in its state file.
            sims.shutdown().await;
            code
        } else {
            let aws = planned.aws(ctx)?;
            let local =
                Arc::new(tierui_backends::walkthrough::local::FileLocal { dir, connect: None });
            let cloud = tierui_backends::aws::AwsCloud::connect_with(
                &ctx.options,
                &aws.region,
                aws.profile.as_deref(),
            )
            .await?;
            drive(ctx, args, p, Arc::new(cloud), local, 1.0).await
        }
    })
}

/// Whether answers can be asked for on this terminal.
fn can_ask() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdin().is_terminal()
}

/// Reads one answer line from the terminal (empty on end of input).
fn answer() -> String {
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line.trim().to_string()
}

/// Why the walkthrough will not act without `--yes` here, or None when it may ask.
fn refusal(args: &WalkArgs, what: &str, live: bool) -> Option<String> {
    if args.yes || !(live || args.teardown) {
        return None;
    }
    if args.json {
        return Some(format!(
            "--json without --yes: {what}, and JSON output cannot ask first; add --yes to confirm, or run without --json to be asked"
        ));
    }
    if !can_ask() {
        return Some(format!(
            "{what}, and standard input is not a terminal, so tierui cannot ask first; add --yes to confirm"
        ));
    }
    None
}

/// Names what a teardown deletes and asks; true to go ahead.
fn confirm_teardown(
    summary: &tierui_core::walkthrough::summary::TeardownSummary,
    plan: &Plan,
    whom: &str,
    args: &WalkArgs,
    live: bool,
) -> Result<bool, String> {
    let what = format!(
        "teardown of {} deletes {} resources in {whom}: {}; that stops {}",
        plan.cluster,
        summary.total(),
        summary.counts_line(),
        summary.hourly.describe("hour")
    );
    if args.yes {
        return Ok(true);
    }
    if let Some(r) = refusal(args, &what, live) {
        return Err(r);
    }
    eprintln!("Teardown of {} in {whom}", plan.cluster);
    eprintln!(
        "  deletes {} resources: {}",
        summary.total(),
        summary.counts_line()
    );
    eprintln!("  stops {}", summary.hourly.describe("hour"));
    loop {
        eprint!("Delete them? [y/N, i lists the IDs] ");
        match answer().as_str() {
            "y" | "Y" | "yes" => return Ok(true),
            "i" | "I" => {
                for l in summary.id_lines() {
                    eprintln!("  {l}");
                }
            }
            _ => return Ok(false),
        }
    }
}

/// Whether the walk may start: None to go on, or the exit code when it stops
/// here (nothing to tear down, the operator said no, or it cannot ask).
fn go_ahead(
    args: &WalkArgs,
    p: &Plan,
    progress: &tierui_core::walkthrough::engine::Progress,
    whom: &str,
    live: bool,
) -> Option<ExitCode> {
    let refused = |why: String| {
        eprintln!("tierui: refused: {why}");
        Some(ExitCode::from(REFUSED))
    };
    if !args.teardown {
        let what = format!(
            "walk {} creates resources that cost money in {whom} ({} when all runs)",
            p.cluster,
            tierui_core::walkthrough::cost::planned(p).short()
        );
        return refusal(args, &what, live).and_then(refused);
    }
    let summary = tierui_core::walkthrough::summary::TeardownSummary::of(p, progress);
    if summary.is_empty() {
        println!(
            "nothing to tear down: the walkthrough of {} has created nothing in {whom}",
            p.cluster
        );
        return Some(ExitCode::SUCCESS);
    }
    match confirm_teardown(&summary, p, whom, args, live) {
        Ok(true) => None,
        Ok(false) => {
            eprintln!("nothing deleted");
            Some(ExitCode::from(1))
        }
        Err(why) => refused(why),
    }
}

async fn drive<C: Cloud>(
    ctx: &Context,
    args: &WalkArgs,
    p: Plan,
    cloud: Arc<C>,
    local: Arc<dyn LocalOps>,
    speed: f64,
) -> Result<ExitCode> {
    let live = !ctx.sandbox;
    let identity = cloud.identity().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let whom = if live {
        format!(
            "account {} ({}) in {} via {}",
            identity.account, identity.arn, identity.region, identity.endpoint
        )
    } else {
        format!("the sandbox ({})", identity.region)
    };
    let state_dir = ctx.dirs.workspace_state(&ctx.root);
    let opened = tierui_backends::walkthrough::session::open_progress(
        &state_dir,
        &p,
        &identity,
        ctx.sandbox,
    )?;
    for n in &opened.notes {
        eprintln!("note: {n}");
    }
    let (file, progress) = (opened.file, opened.progress);
    if live {
        // Who the calls run as, before any of them changes anything.
        eprintln!(
            "Account {} ({}) in {} via {} — progress in {}",
            identity.account,
            identity.arn,
            identity.region,
            identity.endpoint,
            file.display()
        );
    }
    if let Some(code) = go_ahead(args, &p, &progress, &whom, live) {
        return Ok(code);
    }
    let (etx, mut erx) = mpsc::unbounded_channel();
    let (ctx_tx, crx) = mpsc::unbounded_channel();
    let mut runner = Runner::new(
        cloud,
        local,
        p.clone(),
        progress,
        file.clone(),
        speed,
        live && !args.yes,
        etx,
        crx,
    );
    runner
        .identity()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let json = args.json;
    let teardown = args.teardown;
    let account = identity.account.clone();
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
                    eprint!(
                        "Run step {step} ({title}, {calls} calls) in account {account}? [y/N] "
                    );
                    let yes = matches!(answer().as_str(), "y" | "Y" | "yes");
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
            unpriced,
        } => format!(
            "{} · running resources cost {}",
            if *complete {
                "walkthrough complete"
            } else {
                "walkthrough stopped"
            },
            tierui_core::walkthrough::cost::Hourly {
                total: *hourly_cost,
                unknown: unpriced.clone(),
            }
            .describe("hour")
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

fn ids(p: &tierui_core::cloud::Produced) -> String {
    ["id", "arn", "allocation", "association", "path"]
        .iter()
        .filter_map(|k| p.get(*k))
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}
