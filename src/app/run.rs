//! The terminal runtime: reads input and backend messages, calls `update`, carries
//! out effects and draws — only when something changed, at most ~30 frames/s.

use std::time::{Duration, Instant};

use anyhow::Result;
use crossterm::event::{Event, EventStream};
use futures::StreamExt as _;
use tokio::sync::mpsc;

use super::keymap::Keymap;
use super::state::{Session, State};
use super::update::{Effect, Msg, update};
use crate::context::Context;
use crate::terminal::Tui;
use crate::theme::Theme;
use crate::walkthrough::runner::Command as WalkCommand;

const FRAME: Duration = Duration::from_millis(33);

pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

pub fn session(ctx: &Context) -> Session {
    Session {
        sandbox: ctx.sandbox,
        readonly: ctx.readonly,
        demo: ctx.demo,
        speed: ctx.global.speed,
        aws_profile: ctx
            .global
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok()),
        aws_region: ctx.global.region.clone(),
        endpoint_url: ctx
            .global
            .endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()),
    }
}

/// Opens the UI on a workspace; returns when the operator quits.
pub fn run(ctx: Context, started: Instant) -> Result<()> {
    // Config errors print as plain errors before the terminal is taken over.
    let theme = Theme::load(ctx.global.theme.as_deref(), &ctx.dirs.config, no_color())?;
    let keymap = Keymap::load(&ctx.dirs.config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let ws = ctx.load();
        let state = State::new(ws, session(&ctx), theme, keymap);
        event_loop(ctx, state, started).await
    })
}

async fn event_loop(ctx: Context, mut state: State, started: Instant) -> Result<()> {
    let mut tui = Tui::enter()?;
    let size = tui.terminal.size()?;
    state.width = size.width;
    state.height = size.height;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut events = EventStream::new();
    let mut signals = Signals::new()?;
    let exit_after_first_frame = std::env::var_os("TIERUI_EXIT_AFTER_FIRST_FRAME").is_some();
    let mut effects = Effects {
        ctx: ctx.clone(),
        tx: tx.clone(),
        walk: None,
    };
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut last_frame: Option<Instant> = None;
    loop {
        let due = last_frame.map_or(Instant::now(), |t| t + FRAME);
        if dirty && Instant::now() >= due {
            tui.terminal.draw(|f| crate::ui::draw(f, &state))?;
            if last_frame.is_none() {
                tracing::info!(ms = started.elapsed().as_secs_f64() * 1000.0, "first frame");
                if exit_after_first_frame {
                    break;
                }
            }
            last_frame = Some(Instant::now());
            dirty = false;
        }
        let wait = if dirty {
            Some(due.saturating_duration_since(Instant::now()))
        } else {
            None
        };
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => Msg::Key(k),
                Some(Ok(Event::Mouse(m))) => Msg::Mouse(m),
                Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            Some(m) = rx.recv() => m,
            () = sleep_opt(wait) => continue,
            _ = ticker.tick(), if state.needs_tick() => Msg::Tick(now_ms()),
            () = signals.recv() => {
                tracing::info!("signal received, quitting");
                break;
            }
        };
        let out = update(&mut state, msg);
        dirty |= out.redraw;
        for effect in out.effects {
            effects.run(effect);
        }
        if state.quit {
            break;
        }
    }
    drop(tui);
    Ok(())
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Carries out effects on tokio tasks; results come back as messages.
struct Effects {
    ctx: Context,
    tx: mpsc::UnboundedSender<Msg>,
    /// Commands to the walkthrough runner while its screen is open.
    walk: Option<mpsc::UnboundedSender<WalkCommand>>,
}

impl Effects {
    fn run(&mut self, effect: Effect) {
        let tx = self.tx.clone();
        match effect {
            Effect::ReloadWorkspace => {
                let root = self.ctx.root.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(Msg::Reloaded(Box::new(crate::workspace::load(&root))));
                });
            }
            Effect::LoadTheme(name) => {
                let config = self.ctx.dirs.config.clone();
                tokio::task::spawn_blocking(move || {
                    let theme = Theme::load(Some(&name), &config, no_color())
                        .map(Box::new)
                        .map_err(|e| format!("{e:#}"));
                    let _ = tx.send(Msg::ThemeLoaded(theme));
                });
            }
            Effect::OpenWalk { cluster } => {
                if let Some(old) = self.walk.take() {
                    let _ = old.send(WalkCommand::Quit);
                }
                let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
                self.walk = Some(cmd_tx);
                let ctx = self.ctx.clone();
                tokio::spawn(async move {
                    if let Err(e) = open_walk(ctx, cluster, cmd_rx, tx.clone()).await {
                        let _ = tx.send(Msg::WalkFailed(format!("{e:#}")));
                    }
                });
            }
            Effect::Walk(cmd) => {
                if let Some(w) = &self.walk {
                    let _ = w.send(cmd);
                }
            }
            Effect::CloseWalk => {
                if let Some(w) = self.walk.take() {
                    let _ = w.send(WalkCommand::Quit);
                }
            }
        }
    }
}

/// Plans the walkthrough, connects its cloud and serves the runner until the
/// screen closes.
async fn open_walk(
    ctx: Context,
    cluster: String,
    commands: mpsc::UnboundedReceiver<WalkCommand>,
    tx: mpsc::UnboundedSender<Msg>,
) -> Result<()> {
    let (plan, _file) = crate::walkthrough::headless::plan_for(&ctx, &cluster)?;
    let local = std::sync::Arc::new(crate::walkthrough::local::FileLocal {
        dir: ctx.dirs.workspace_state(&ctx.root).join("kubeconfig"),
    });
    if ctx.sandbox {
        let ws = ctx.load();
        let sandbox = crate::sandbox::Sandbox::open(&ctx, &ws)?;
        let cloud = std::sync::Arc::new(sandbox.cloud(&plan.region));
        serve_walk(
            &ctx,
            plan,
            cloud,
            local,
            "sandbox".into(),
            sandbox.speed,
            false,
            commands,
            tx,
        )
        .await
    } else {
        let cloud = std::sync::Arc::new(
            crate::backend::aws::AwsCloud::connect(&ctx.global, &plan.region).await?,
        );
        let target = cloud.target();
        serve_walk(&ctx, plan, cloud, local, target, 1.0, true, commands, tx).await
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve_walk<C: crate::backend::cloud::Cloud>(
    ctx: &Context,
    plan: crate::walkthrough::plan::Plan,
    cloud: std::sync::Arc<C>,
    local: std::sync::Arc<dyn crate::walkthrough::runner::LocalOps>,
    target: String,
    speed: f64,
    confirm: bool,
    commands: mpsc::UnboundedReceiver<WalkCommand>,
    tx: mpsc::UnboundedSender<Msg>,
) -> Result<()> {
    use crate::walkthrough::runner::{Runner, load_progress, state_file};
    let file = state_file(&ctx.dirs.workspace_state(&ctx.root), &plan.cluster, &target);
    let progress = load_progress(&file, &plan, &target)?;
    let view = super::walk::WalkView::new(
        plan.clone(),
        progress.clone(),
        ctx.sandbox,
        file.display().to_string(),
        now_ms(),
    );
    let _ = tx.send(Msg::WalkOpened(Box::new(view)));
    let (etx, mut erx) = mpsc::unbounded_channel();
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(e) = erx.recv().await {
            if forward.send(Msg::Walk(Box::new(e))).is_err() {
                break;
            }
        }
    });
    let runner = Runner::new(
        cloud, local, plan, progress, file, speed, confirm, etx, commands,
    );
    runner
        .identity()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    runner.serve().await;
    Ok(())
}

/// SIGTERM, SIGHUP and SIGINT end the UI cleanly (the terminal is restored on drop).
struct Signals {
    #[cfg(unix)]
    list: Vec<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let list = vec![
                signal(SignalKind::terminate())?,
                signal(SignalKind::hangup())?,
                signal(SignalKind::interrupt())?,
            ];
            Ok(Signals { list })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            let futs = self.list.iter_mut().map(|s| Box::pin(s.recv()));
            futures::future::select_all(futs).await;
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
