//! The terminal runtime: reads input and backend messages, calls `update`, carries
//! out effects and draws — only when something changed, at most ~30 frames/s.

use std::time::{Duration, Instant};

use anyhow::Result;
use crossterm::event::{Event, EventStream};
use futures::StreamExt as _;
use tokio::sync::mpsc;

use crate::app::effects::{Effects, now_ms};
use crate::app::keymap::Keymap;
use crate::app::state::{Session, State};
use crate::app::update::{Msg, update};

use super::terminal::Tui;
use crate::app::theme::{Theme, no_color};
use tierui_core::context::Context;

const FRAME: Duration = Duration::from_millis(33);
/// How often the cluster pane asks AWS again on its own.
const LIVE_EVERY: Duration = Duration::from_secs(300);
/// How often the periodic refresh of release states asks its next few
/// (every release within `monitor::RESYNC_ROUND_SECS`).
const RESYNC_EVERY: Duration = Duration::from_secs(crate::app::monitor::RESYNC_STEP_SECS);
/// How often the workspace's files are looked at for changes made elsewhere.
const SOURCES_EVERY: Duration = Duration::from_secs(1);

pub fn session(ctx: &Context) -> Session {
    Session {
        sandbox: ctx.sandbox,
        readonly: ctx.readonly,
        demo: ctx.demo,
        speed: ctx.options.speed,
        aws_profile: ctx
            .options
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok()),
        aws_region: ctx.options.region.clone(),
        endpoint_url: ctx
            .options
            .endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()),
    }
}

/// Opens the UI on a workspace; returns when the operator quits.
pub fn run(ctx: Context, started: Instant) -> Result<()> {
    // Config errors print as plain errors before the terminal is taken over.
    let theme = Theme::load(ctx.options.theme.as_deref(), &ctx.dirs.config, no_color())?;
    let keymap = Keymap::load(&ctx.dirs.config)?;
    // One thread runs the UI and every network task: results come back as
    // messages anyway, and one allocator arena keeps the live view's memory low
    // (glibc gives each worker thread its own; see the README's benchmarks).
    // File work goes to tokio's blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
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
    // One sandbox world per process, shared by the walkthrough and the cluster pane.
    let sandbox = if ctx.sandbox {
        Some(std::sync::Arc::new(
            tierui_backends::sandbox::clusters::Sandbox::open(&ctx, &state.ws)?,
        ))
    } else {
        None
    };
    let mut effects = Effects::new(ctx.clone(), tx.clone(), sandbox);
    for effect in crate::app::update::start(&mut state).effects {
        effects.run(effect, &state);
    }
    watch_sources(ctx.root.clone(), tx.clone());
    let mut resync = every(RESYNC_EVERY);
    let mut slow = every(LIVE_EVERY);
    let mut ticker = every(Duration::from_secs(1));
    let mut dirty = true;
    let mut last_frame: Option<Instant> = None;
    // Input is answered at once; only backend churn is held to ~30 frames/s.
    let mut key_at: Option<Instant> = None;
    // A live view's watchers started at: logged when its first full table is drawn.
    let mut watching: Option<(u64, Instant)> = None;
    // The same view, until its first rows (the list's first page) are drawn.
    let mut first_rows: Option<(u64, Instant)> = None;
    // A log view's reader started at: logged when its first lines are drawn.
    let mut reading: Option<(u64, Instant)> = None;
    let mut states = StatesKnown::new(&state);
    loop {
        let due = match (key_at, last_frame) {
            (Some(_), _) | (None, None) => Instant::now(),
            (None, Some(t)) => t + FRAME,
        };
        if dirty && Instant::now() >= due {
            let mut drawn = Default::default();
            tui.terminal.draw(|f| drawn = crate::ui::draw(f, &state))?;
            update(&mut state, Msg::Drawn(drawn));
            if last_frame.is_none() {
                tracing::info!(ms = started.elapsed().as_secs_f64() * 1000.0, "first frame");
                if exit_after_first_frame {
                    break;
                }
                // Off the start-up path: the workspace's desired objects, rendered
                // in the background for the drifts, diffs and comparisons to come.
                effects.warm_desired(state.ws.clone());
            }
            if let Some(k) = key_at.take() {
                tracing::debug!(target: "perf", ms = k.elapsed().as_secs_f64() * 1000.0, "key to frame");
            }
            log_first_rows(&mut first_rows, &state);
            log_first_table(&mut watching, &state);
            log_first_lines(&mut reading, &state);
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
                Some(Ok(Event::Key(k))) => {
                key_at.get_or_insert_with(Instant::now);
                Msg::Key(k)
            }
                Some(Ok(Event::Mouse(m))) => Msg::Mouse(m),
                Some(Ok(Event::Resize(w, h))) => Msg::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            Some(m) = rx.recv() => m,
            () = sleep_opt(wait) => continue,
            _ = ticker.tick(), if state.needs_tick() => Msg::Tick(now_ms()),
            _ = slow.tick() => Msg::RefreshLive,
            _ = resync.tick() => Msg::Resync,
            () = signals.recv() => {
                tracing::info!("signal received, quitting");
                break;
            }
        };
        // Ages ("3m ago") count from the wall clock.
        state.now_s = (now_ms() / 1000) as i64;
        let out = update(&mut state, msg);
        dirty |= out.redraw;
        states.check(&state, started);
        if !dirty {
            // A key that changed nothing has no frame to wait for.
            key_at = None;
        }
        for effect in out.effects {
            let Some(effect) = hand_over_terminal(&mut tui, &ctx, &state, &tx, effect) else {
                // The old input stream is dropped so it cannot take keys that
                // were meant for the program that had the terminal.
                events = EventStream::new();
                dirty = true;
                continue;
            };
            if let crate::app::update::Effect::StartWatches { view, .. } = &effect
                && watching.is_none_or(|(v, _)| v != *view)
            {
                watching = Some((*view, Instant::now()));
                first_rows = watching;
            }
            if let crate::app::update::Effect::StartLogs { view, .. } = &effect {
                reading = Some((*view, Instant::now()));
            }
            effects.run(effect, &state);
        }
        if state.quit {
            break;
        }
    }
    drop(tui);
    Ok(())
}

/// An interval whose first tick is one period away; missed ticks are skipped.
fn every(period: Duration) -> tokio::time::Interval {
    let mut i = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    i
}

/// Logs when a live view's first full table is drawn (its watchers started at `at`).
fn log_first_table(watching: &mut Option<(u64, Instant)>, state: &State) {
    if let Some((view, at)) = *watching
        && let crate::app::state::Screen::Live(v) = &state.screen
        && v.id == view
        && v.panes
            .iter()
            .all(|p| p.listed(tierui_backends::kube::watch::Kind::Pods))
    {
        let rows: usize = v.panes.iter().map(|p| p.pods.len()).sum();
        tracing::info!(target: "perf", ms = at.elapsed().as_secs_f64() * 1000.0, rows, "live view: first full table drawn");
        *watching = None;
    }
}

/// Logs when a live view's first pod rows are drawn (before its list ends).
fn log_first_rows(watching: &mut Option<(u64, Instant)>, state: &State) {
    if let Some((view, at)) = *watching
        && let crate::app::state::Screen::Live(v) = &state.screen
        && v.id == view
        && v.panes.iter().any(|p| !p.pods.is_empty())
    {
        let rows: usize = v.panes.iter().map(|p| p.pods.len()).sum();
        tracing::info!(target: "perf", ms = at.elapsed().as_secs_f64() * 1000.0, rows, "live view: first rows drawn");
        *watching = None;
    }
}

/// Logs when a log view's first lines are drawn (its reader started at `at`).
fn log_first_lines(reading: &mut Option<(u64, Instant)>, state: &State) {
    if let Some((view, at)) = *reading
        && let crate::app::state::Screen::Logs(v) = &state.screen
        && v.id == view
        && !v.lines.is_empty()
    {
        tracing::info!(target: "perf", ms = at.elapsed().as_secs_f64() * 1000.0, lines = v.lines.len(), sources = v.sources.len(), "log view: first lines drawn");
        *reading = None;
    }
}

/// Logs once when every release's sync and health is first known (what the
/// states benchmark reads).
struct StatesKnown {
    done: bool,
    last_check: Instant,
}

impl StatesKnown {
    fn new(state: &State) -> StatesKnown {
        StatesKnown {
            done: state.ws.releases.is_empty(),
            last_check: Instant::now(),
        }
    }

    /// At most every 50 ms: with hundreds of releases it is not free.
    fn check(&mut self, state: &State, started: Instant) {
        if self.done || self.last_check.elapsed() < Duration::from_millis(50) {
            return;
        }
        self.last_check = Instant::now();
        if all_states_known(state) {
            self.done = true;
            tracing::info!(target: "perf", ms = started.elapsed().as_secs_f64() * 1000.0, releases = state.ws.releases.len(), "release states: all known");
        }
    }
}

fn all_states_known(s: &State) -> bool {
    (0..s.ws.releases.len()).all(|i| {
        let sh = s.shown(i);
        sh.sync.is_some() && sh.health.is_some()
    })
}

/// Tells the UI when a source file of the workspace changes outside tierui (an
/// editor, `git pull`), which reloads the workspace and asks every release's
/// drift again. The system says so (inotify, a watch per source folder, new
/// folders added as they appear); where it cannot, the files are looked at once
/// a second.
fn watch_sources(root: std::path::PathBuf, tx: mpsc::UnboundedSender<Msg>) {
    use notify::Watcher as _;
    let (ntx, mut nrx) = mpsc::unbounded_channel::<Vec<std::path::PathBuf>>();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && !matches!(ev.kind, notify::EventKind::Access(_))
        {
            let _ = ntx.send(ev.paths);
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(
                "file notifications unavailable ({e}); looking at the files once a second"
            );
            return poll_sources(root, tx);
        }
    };
    tokio::spawn(async move {
        let r = root.clone();
        let Ok((dirs, _)) =
            tokio::task::spawn_blocking(move || crate::app::files::source_tree(&r)).await
        else {
            return;
        };
        for d in &dirs {
            if let Err(e) = watcher.watch(d, notify::RecursiveMode::NonRecursive) {
                tracing::warn!(
                    "cannot watch {} ({e}); looking at the files once a second",
                    d.display()
                );
                return poll_sources(root, tx);
            }
        }
        while let Some(paths) = nrx.recv().await {
            let mut changed = false;
            for p in paths
                .into_iter()
                .filter(|p| crate::app::files::in_source_tree(&root, p))
            {
                if p.is_dir() {
                    // A new folder: its files count from now on.
                    let _ = watcher.watch(&p, notify::RecursiveMode::NonRecursive);
                    changed = true;
                } else if p
                    .file_name()
                    .is_some_and(|n| crate::app::files::is_source(&n.to_string_lossy()))
                {
                    changed = true;
                }
            }
            if !changed {
                continue;
            }
            // An editor's save is several events: one reload for them.
            tokio::time::sleep(Duration::from_millis(100)).await;
            while nrx.try_recv().is_ok() {}
            if tx.send(Msg::SourcesChanged).is_err() {
                break;
            }
        }
    });
}

/// Looks at the workspace's files once a second (where notifications fail).
fn poll_sources(root: std::path::PathBuf, tx: mpsc::UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut last: Option<u64> = None;
        loop {
            tokio::time::sleep(SOURCES_EVERY).await;
            let r = root.clone();
            let Ok(now) =
                tokio::task::spawn_blocking(move || crate::app::files::fingerprint(&r)).await
            else {
                continue;
            };
            if last.is_some_and(|l| l != now) && tx.send(Msg::SourcesChanged).is_err() {
                break;
            }
            last = Some(now);
        }
    });
}

/// The effects that need the terminal ($EDITOR, `pulumi up`) run here: suspend,
/// run, restore, and their result comes back as a message. Any other effect is
/// handed back.
fn hand_over_terminal(
    tui: &mut Tui,
    ctx: &Context,
    state: &State,
    tx: &mpsc::UnboundedSender<Msg>,
    effect: crate::app::update::Effect,
) -> Option<crate::app::update::Effect> {
    match effect {
        crate::app::update::Effect::ExternalEdit { rel } => {
            let result = external_edit(tui, ctx, &rel);
            let _ = tx.send(Msg::ExternallyEdited { rel, result });
            None
        }
        crate::app::update::Effect::PulumiUp { release } => {
            let result = pulumi_up(tui, state, release);
            let _ = tx.send(Msg::PulumiUpDone(result));
            None
        }
        other => Some(other),
    }
}

fn external_edit(tui: &mut Tui, ctx: &Context, rel: &std::path::Path) -> Result<(), String> {
    if ctx.readonly {
        return Err("--readonly: $EDITOR could write the file, so it is not started".into());
    }
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("vi").to_string();
    let path = ctx.root.join(rel);
    tui.suspend();
    let status = std::process::Command::new(&program)
        .args(parts)
        .arg(&path)
        .status();
    let resumed = tui.resume().map_err(|e| format!("terminal: {e}"));
    let status = status.map_err(|e| format!("could not start $EDITOR ({program}): {e}"))?;
    resumed?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} exited with {status}; the file is as it left it"
        ))
    }
}

/// `pulumi up --stack S --yes` in the release's project with the terminal
/// handed over; tierui's drift diff was the confirmation.
fn pulumi_up(tui: &mut Tui, state: &State, release: usize) -> Result<String, String> {
    let r = state
        .ws
        .releases
        .get(release)
        .ok_or("the release is gone")?;
    let tierui_core::workspace::ReleaseSource::Pulumi(ps) = &r.source else {
        return Err(format!("{} is not a Pulumi release", r.title()));
    };
    let dir = state.ws.root.join(&ps.project_dir);
    tui.suspend();
    let status = std::process::Command::new("pulumi")
        .args(["up", "--stack", &ps.stack, "--yes"])
        .current_dir(&dir)
        .status();
    if status.is_ok() {
        eprintln!("\n[tierui] pulumi up finished; press Enter to return");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
    let resumed = tui.resume().map_err(|e| format!("terminal: {e}"));
    let status = status.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "{}: applying a Pulumi release runs `pulumi up --stack {}` in {}, and pulumi was not found on PATH (install the Pulumi CLI and log in to the stack's backend)",
            r.title(),
            ps.stack,
            dir.display()
        ),
        _ => format!("pulumi up: {e}"),
    })?;
    resumed?;
    if status.success() {
        Ok(format!(
            "{}: pulumi up --stack {} done",
            r.title(),
            ps.stack
        ))
    } else {
        Err(format!(
            "{}: pulumi up --stack {} exited with {status}",
            r.title(),
            ps.stack
        ))
    }
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
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
