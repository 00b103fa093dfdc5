//! tierui: a terminal workbench for teams that run Amazon EKS in two tiers —
//! infrastructure stacks and per-service application releases.
//!
//! This crate is the application: its state, the messages that change it and the
//! effects they start (`app/`), the drawing of that state (`ui/`, pure: no I/O),
//! the terminal runtime that joins them (`tui/`), and the command line (`cli/`, the only place clap appears). It uses
//! `tierui-core` for the model and `tierui-backends` for everything that reaches
//! a cloud or a cluster; neither knows it exists.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]

pub mod app;
pub mod cli;
pub mod tui;
pub mod ui;

use std::process::ExitCode;

use anyhow::Result;

use app::logging;
use cli::{Cli, Command};
use tierui_core::context::{self, Context};

/// Runs one invocation of the `tierui` binary.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    match cli.command {
        None | Some(Command::Demo) => {
            let ctx = Context::open(
                &cli.global.options(),
                matches!(cli.command, Some(Command::Demo)),
            )?;
            logging::init(&ctx.dirs.state)?;
            tracing::info!(root = %ctx.root.display(), sandbox = ctx.sandbox, "opening workspace");
            tui::run::run(ctx, started)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Status(args)) => {
            let ctx = Context::open(&cli.global.options(), false)?;
            let mut ws = ctx.load();
            // Python and TypeScript infra programs say what they declare (the
            // bundled demo ships no toolchain: its panes read its config).
            if !ctx.demo {
                tierui_backends::programs::declare_clusters(
                    &mut ws,
                    tierui_backends::tools::for_sandbox(ctx.sandbox),
                );
            }
            // Python and TypeScript releases: their objects from the program.
            tierui_backends::programs::summarize_releases(
                &mut ws,
                tierui_backends::tools::for_sandbox(ctx.sandbox),
            );
            let live = if args.live || args.strict {
                Some(cli::status::fetch_live(&ctx, &ws)?)
            } else {
                None
            };
            if args.json {
                let mut v = cli::status::to_json(&ws, &ctx.mode());
                if let Some(live) = &live {
                    cli::status::add_live_json(&mut v, &ws, &live.clusters);
                    cli::status::add_contexts_json(&mut v, live);
                    cli::status::add_releases_json(&mut v, live);
                    cli::status::add_helm_json(&mut v, &live.helm);
                }
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", cli::status::to_text(&ws, &ctx.mode()));
                if let Some(live) = &live {
                    print!("{}", cli::status::live_text(&ws, &live.clusters));
                    print!("{}", cli::status::contexts_text(&ws, live));
                    print!("{}", cli::status::releases_text(&ws, live));
                    print!("{}", cli::status::helm_text(&ws, &live.helm));
                }
            }
            // --strict also fails on a broken two-tier rule.
            let tiers = ws
                .problems
                .iter()
                .any(tierui_core::workspace::tiers::is_rule);
            let attention =
                args.strict && (tiers || live.as_ref().is_some_and(|l| l.needs_attention()));
            Ok(if ws.has_errors() || attention {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Some(Command::Walk(args)) => {
            let ctx = Context::open(&cli.global.options(), false)?;
            logging::init(&ctx.dirs.state)?;
            cli::walk::run(&ctx, &args)
        }
        Some(Command::Sandbox {
            command: cli::SandboxCommand::Reset,
        }) => {
            let ctx = Context::open(&cli.global.options(), false)?;
            for path in tierui_backends::sandbox::clusters::Sandbox::reset(&ctx)? {
                println!("removed {}", path.display());
            }
            println!(
                "the sandbox world of {} starts over on next use",
                ctx.root.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Diff(args)) => {
            let ctx = Context::open(&cli.global.options(), false)?;
            logging::init(&ctx.dirs.state)?;
            match cli::release::diff(&ctx, &args) {
                Ok(code) => Ok(code),
                Err(e) => {
                    eprintln!("tierui: {e:#}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Some(Command::Migrate(args)) => {
            let ctx = Context::open(&cli.global.options(), false)?;
            logging::init(&ctx.dirs.state)?;
            match cli::migrate::run(&ctx, &args) {
                Ok(code) => Ok(code),
                Err(e) => {
                    eprintln!("tierui: {e:#}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Some(Command::Apply(args)) => {
            let ctx = Context::open(&cli.global.options(), false)?;
            logging::init(&ctx.dirs.state)?;
            cli::release::apply(&ctx, &args)
        }
        Some(Command::Watch(args)) => {
            let ctx = Context::open(&cli.global.options(), false)?;
            logging::init(&ctx.dirs.state)?;
            cli::watch::run(&ctx, &args)
        }
        Some(Command::Logs(args)) => {
            let ctx = Context::open(&cli.global.options(), false)?;
            logging::init(&ctx.dirs.state)?;
            cli::logs::run(&ctx, &args)
        }
        Some(Command::Sim(args)) => {
            if let Some(s) = cli.global.speed {
                context::check_speed(s)?;
            }
            tierui_sim::serve(cli::sim_serve(&args, cli.global.speed.unwrap_or(1.0))?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
