//! `update`: the only place the state changes. It turns a message into state
//! changes plus effects for the runtime to carry out (I/O never happens here).

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use crate::app::layout;
use crate::app::theme::Theme;
use tierui_core::workspace::model::Workspace;

use super::commands::{self, Command};
use super::diff::DiffView;
use super::keymap::{Action, Key};
use super::state::{Confirmed, Input, Level, Overlay, Pane, Screen, State};
use super::update_edit;
use super::walkthrough::WalkView;
use crate::app::files::{Draft, Opened, SaveError};
use std::path::PathBuf;
use tierui_backends::walkthrough::runner::{Command as WalkCommand, Event as WalkEvent};
use tierui_core::render::diff::Report;
use tierui_core::walkthrough::engine::StepStatus;
use tierui_core::workspace::edit::NewValue;
use tierui_core::workspace::quick::Field;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// A setup command finished: its last lines, or why it failed.
    SetupDone {
        release: usize,
        result: Result<String, String>,
    },
    /// `pulumi up` finished (or could not start).
    PulumiUpDone(Result<String, String>),
    /// The infra programs ran: what each cluster stack's program declares, and
    /// the problems of those that failed.
    ClustersDeclared(Box<Workspace>),
    /// A release's program ran under the Pulumi SDK's mocks, or its Helm
    /// chart through `helm template`: its objects and the render's notes.
    /// A migration worked out, with its proof (`M`).
    MigrationPlanned {
        release: usize,
        result: Result<Box<crate::cli::migrate::Plan>, String>,
    },
    /// A migration's files written (their paths), or why not.
    MigrationWritten(Result<Vec<std::path::PathBuf>, String>),
    /// Two environments' rendered objects compared (`=`).
    Compared {
        left: usize,
        right: usize,
        result: Result<Vec<tierui_core::render::compare::FieldRow>, String>,
    },
    ProgramRendered {
        release: usize,
        result: Result<(Vec<serde_json::Value>, Vec<String>), String>,
    },
    /// A frame was drawn: what the drawing learnt that scrolling needs.
    Drawn(crate::app::state::Drawn),
    /// The workspace was read again from disk.
    Reloaded(Box<Workspace>),
    ThemeLoaded(Result<Box<Theme>, String>),
    /// Wall clock, sent about once a second while something on screen counts time.
    Tick(u64),
    WalkOpened(Box<WalkView>),
    WalkFailed(String),
    Walk(Box<WalkEvent>),
    /// A cluster's live state arrived.
    Live(
        String,
        Result<Box<tierui_core::cloud::inventory::ClusterLive>, String>,
    ),
    /// Time to ask AWS again.
    RefreshLive,
    /// A cluster's Helm releases arrived (newest revision of each).
    Helm {
        cluster: String,
        result: Result<Vec<tierui_backends::kube::helm::HelmRelease>, String>,
    },
    EditorOpened {
        rel: PathBuf,
        opened: Opened,
        draft: Option<Draft>,
    },
    /// Opening or editing a file failed before anything changed.
    FileFailed(String),
    Saved {
        result: Result<Opened, SaveError>,
        close_editor: bool,
    },
    RenderReady {
        release: usize,
        result: Result<(Report, Vec<String>), String>,
    },
    DriftReady {
        release: usize,
        result: Result<Box<tierui_backends::release::Drift>, String>,
    },
    /// A release's drift for the home screen's sync (the monitor asked).
    SyncReady {
        key: super::monitor::ReleaseKey,
        result: Result<Box<tierui_backends::release::Drift>, String>,
    },
    /// A monitor watcher's change: rows of a cluster the releases run on.
    MonitorUpdate {
        cluster: String,
        namespace: String,
        update: tierui_backends::kube::watch::Update,
    },
    MonitorFailed {
        cluster: String,
        namespace: String,
        error: String,
    },
    /// Time to ask the next few releases' drift again (the periodic refresh).
    Resync,
    /// A source file of the workspace changed on disk.
    SourcesChanged,
    /// A cluster's kubeconfig context and why it was chosen, or why none.
    Context(String, Result<(String, String), String>),
    /// A watcher's change for a live view.
    LiveUpdate {
        view: u64,
        cluster: String,
        update: tierui_backends::kube::watch::Update,
    },
    /// A live view's cluster could not be reached at all.
    LiveFailed {
        view: u64,
        cluster: String,
        error: String,
    },
    /// A cluster's discovery: the kinds it serves.
    Discovered {
        cluster: String,
        result: Result<Vec<tierui_backends::kube::table::Resource>, String>,
    },
    /// YAML or describe text for a live view's overlay.
    ObjectText {
        view: u64,
        text: Result<String, String>,
    },
    /// Server-side apply finished: each object's outcome.
    Applied {
        release: usize,
        result: Result<Vec<tierui_backends::kube::apply::Outcome>, String>,
    },
    DiffReady(Box<DiffView>),
    /// A log view's reader: sources, lines, notes.
    Logs {
        view: u64,
        event: tierui_backends::kube::logs::LogEvent,
    },
    /// A log view's reader could not start (the API's status).
    LogsFailed {
        view: u64,
        error: String,
    },
    /// A log view was saved (the path), or why not.
    LogsSaved(Result<String, String>),
    /// A Deployment's revisions (for `u`).
    Revisions {
        cluster: String,
        release: Option<usize>,
        result: Result<Box<tierui_backends::kube::rollback::History>, String>,
    },
    /// A Pulumi release's deployment history (newest first).
    PulumiHistory {
        release: usize,
        result: Result<Vec<tierui_core::workspace::pulumi_history::Deployment>, String>,
    },
    /// A rollback was sent (kubectl's words), or why not.
    Undone {
        cluster: String,
        namespace: String,
        deployment: String,
        release: Option<usize>,
        image: Option<String>,
        result: Result<String, String>,
    },
    /// `$EDITOR` returned; the file is read again.
    ExternallyEdited {
        rel: PathBuf,
        result: Result<(), String>,
    },
}

/// Work for the runtime; results come back as [`Msg`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    ReloadWorkspace,
    LoadTheme(String),
    /// Plan the cluster's walkthrough and start its runner.
    OpenWalk {
        cluster: String,
    },
    Walk(WalkCommand),
    /// Stop the runner (after its current call) and drop it.
    CloseWalk,
    /// Ask AWS (or the sandbox) about these clusters.
    FetchLive(Vec<String>),
    /// List the Helm releases installed in this cluster.
    FetchHelm(String),
    /// Run a Python or TypeScript release's program under the SDK's mocks.
    RenderProgram {
        release: usize,
    },
    /// Run the Python and TypeScript infra programs under the SDK's mocks.
    DeclareClusters,
    /// Run the command that creates a release's Pulumi environment, then render.
    RunSetup {
        release: usize,
        command: String,
    },
    /// Hand the terminal to `pulumi up` for a Pulumi release (the event loop
    /// owns the terminal).
    PulumiUp {
        release: usize,
    },
    OpenEditor {
        rel: PathBuf,
    },
    /// Suspend the UI and run `$EDITOR` on the file.
    ExternalEdit {
        rel: PathBuf,
    },
    SaveFile {
        opened: Opened,
        text: String,
        close_editor: bool,
    },
    OverwriteFile {
        rel: PathBuf,
        text: String,
    },
    SaveDraft(Draft),
    RemoveDraft(PathBuf),
    QuickEdit {
        release: usize,
        field: Field,
        value: NewValue,
    },
    /// Work out a release's migration and its proof (`M`).
    PlanMigration {
        release: usize,
    },
    /// Write a proven migration's files.
    WriteMigration(Box<crate::cli::migrate::Plan>),
    /// Render two environments of a service and compare their objects.
    Compare {
        left: usize,
        right: usize,
    },
    /// A config value written into a release's stack file, as an edit diff.
    PromoteConfig {
        release: usize,
        key: String,
        value: String,
    },
    /// Render the release's objects (with an edited file in place) and diff them.
    RenderDiff {
        release: usize,
        edit: Option<(PathBuf, String)>,
    },
    /// Keep rows of these (cluster, namespace) pairs — namespace "" for all —
    /// for the releases' states (watchers of pairs no longer listed stop).
    Monitor(Vec<(String, String)>),
    /// Drifts of these releases for their sync (bounded per cluster).
    SyncReleases(Vec<usize>),
    /// Desired (server-side dry run) against live.
    DriftDiff {
        release: usize,
    },
    /// Server-side apply of the release (after the operator confirmed the drift).
    ApplyRelease {
        release: usize,
        /// The desired objects of the drift the operator confirmed.
        objects: Vec<serde_json::Value>,
        /// Prunes and ownership, as confirmed.
        plan: tierui_backends::release::ApplyPlan,
    },
    /// Watch `kinds` of each (cluster, scope) for a live view.
    StartWatches {
        view: u64,
        targets: Vec<(String, tierui_backends::kube::watch::Scope)>,
        kinds: Vec<tierui_backends::kube::watch::Kind>,
    },
    StopWatches {
        view: u64,
    },
    /// Read logs for a log view (stopped with `StopWatches { view }`).
    StartLogs {
        view: u64,
        cluster: String,
        req: tierui_backends::kube::logs::LogRequest,
    },
    /// Read a Deployment's revisions (its ReplicaSets).
    LoadRevisions {
        cluster: String,
        namespace: String,
        deployment: String,
        release: Option<usize>,
    },
    /// Roll a Deployment back to a revision (`kubectl rollout undo`).
    Undo {
        cluster: String,
        namespace: String,
        deployment: String,
        revision: i64,
        release: Option<usize>,
        /// The revision's (first) image, for the quick edit offered after.
        image: Option<String>,
    },
    /// Read a Pulumi release's deployment history from its file backend.
    LoadPulumiHistory {
        release: usize,
    },
    /// Write a deployment's config into the stack file as an edit (a diff first).
    RestorePulumiConfig {
        release: usize,
        deployment: Box<tierui_core::workspace::pulumi_history::Deployment>,
    },
    /// Write a log view's lines to a new file in the current folder.
    SaveLogs {
        name: String,
        text: String,
    },
    /// Fetch an object for `y` (YAML) or `d` (describe).
    /// Reads a cluster's discovery (`Msg::Discovered`).
    Discover {
        cluster: String,
    },
    ShowObject {
        view: u64,
        cluster: String,
        /// For kinds other than the live view's own (a `:KIND` view).
        api_version: Option<String>,
        kind: String,
        namespace: String,
        name: String,
        describe: bool,
    },
}

/// The first effects of a session: ask every cluster's live state.
pub fn start(s: &mut State) -> Outcome {
    let mut out = refresh_live(s);
    out.effects.extend(render_programs(s));
    out.effects.extend(super::monitor::start(s));
    out
}

/// Every release whose program must run to be known (Python, TypeScript):
/// marked rendering, one effect each; and the infra programs, once.
fn render_programs(s: &mut State) -> Vec<Effect> {
    s.programs.clear();
    // The bundled demo ships no toolchain: its cluster panes read its config.
    let mut effects = if s.session.demo {
        Vec::new()
    } else {
        vec![Effect::DeclareClusters]
    };
    for (i, r) in s.ws.releases.iter().enumerate() {
        // A Helm chart renders through helm template, off the UI's thread.
        if r.chart().is_some() {
            s.programs.insert(i, super::state::ProgramRender::Rendering);
            effects.push(Effect::RenderProgram { release: i });
            continue;
        }
        let tierui_core::workspace::ReleaseSource::Pulumi(ps) = &r.source else {
            continue;
        };
        let runtime = ps.project.as_ref().map(|p| p.runtime.as_str());
        if runtime
            .and_then(tierui_core::render::program::Language::of)
            .is_some()
        {
            s.programs.insert(i, super::state::ProgramRender::Rendering);
            effects.push(Effect::RenderProgram { release: i });
        }
    }
    effects
}

/// Each cluster stack takes what its program declares (matched by name); the
/// programs' problems join the workspace's.
fn clusters_declared(s: &mut State, declared: Workspace) -> Outcome {
    use tierui_core::workspace::model::ClusterSource;
    for d in declared.clusters {
        let ClusterSource::Pulumi(dp) = d.source else {
            continue;
        };
        if let Some(c) = s.ws.clusters.iter_mut().find(|c| c.name == d.name)
            && let ClusterSource::Pulumi(p) = &mut c.source
        {
            p.program_spec = dp.program_spec;
        }
    }
    for p in declared.problems {
        if !s.ws.problems.contains(&p) {
            s.ws.problems.push(p);
        }
    }
    Outcome::redraw()
}

/// A program's (or chart's) objects fill the release's summary; a failure is
/// a problem. A chart's notes say how it rendered, or that helm is missing.
fn program_rendered(
    s: &mut State,
    release: usize,
    result: Result<(Vec<serde_json::Value>, Vec<String>), String>,
) -> Outcome {
    let Some(r) = s.ws.releases.get_mut(release) else {
        return Outcome::default();
    };
    match result {
        Ok((objects, rendered_notes)) => {
            let notes = if r.chart().is_some() {
                rendered_notes
            } else {
                std::mem::take(&mut r.summary.render_notes)
            };
            r.summary = tierui_core::workspace::load::summarize(&objects);
            r.summary.render_notes = notes;
            s.programs
                .insert(release, super::state::ProgramRender::Ready);
            // Its objects may be another release's too.
            tierui_core::workspace::tiers::refresh_claims(&mut s.ws);
        }
        Err(e) => {
            if let tierui_core::workspace::ReleaseSource::Pulumi(ps) = &r.source {
                s.ws.problems.push(tierui_core::render::program::problem(
                    &ps.config_file,
                    "program",
                    &e,
                ));
            }
            if let Some(p) = tierui_core::render::desired::chart_problem(r, &e) {
                s.ws.problems.push(p);
            }
            s.programs
                .insert(release, super::state::ProgramRender::Failed(e));
        }
    }
    Outcome::redraw()
}

fn refresh_live(s: &mut State) -> Outcome {
    let names: Vec<String> = s.ws.clusters.iter().map(|c| c.name.clone()).collect();
    for n in &names {
        // Keep showing the last answer while a new one is on its way.
        s.live
            .entry(n.clone())
            .or_insert(super::state::LiveEntry::Loading);
    }
    let mut effects = super::helm::refresh(s);
    if !names.is_empty() {
        effects.insert(0, Effect::FetchLive(names));
    }
    Outcome {
        redraw: !effects.is_empty(),
        effects,
    }
}

/// What one message did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub effects: Vec<Effect>,
    /// False when nothing visible changed, so no frame is drawn.
    pub redraw: bool,
}

impl Outcome {
    pub(crate) fn redraw() -> Self {
        Outcome {
            effects: Vec::new(),
            redraw: true,
        }
    }
    pub(crate) fn with(effect: Effect) -> Self {
        Outcome {
            effects: vec![effect],
            redraw: true,
        }
    }
}

pub fn update(s: &mut State, msg: Msg) -> Outcome {
    // A drawn frame's outcome is not carried out: it asks for nothing.
    let drawn = matches!(msg, Msg::Drawn(_));
    let mut out = dispatch(s, msg);
    // The live view's panes keep their pods in the order on screen.
    if let Screen::Live(v) = &mut s.screen {
        v.sync_pods();
    }
    // The cluster pane on screen asks for its Helm releases once.
    if !drawn && let Some(effect) = super::helm::wanted(s) {
        out.effects.push(effect);
        out.redraw = true;
    }
    out
}

fn dispatch(s: &mut State, msg: Msg) -> Outcome {
    match msg {
        Msg::Key(k) if k.kind == KeyEventKind::Release => Outcome::default(),
        Msg::Key(k) => key(s, k),
        Msg::Mouse(m) => mouse(s, m),
        Msg::Resize(w, h) => {
            s.width = w;
            s.height = h;
            Outcome::redraw()
        }
        Msg::ProgramRendered { release, result } => program_rendered(s, release, result),
        Msg::ClustersDeclared(declared) => clusters_declared(s, *declared),
        Msg::SetupDone { release, result } => {
            s.message = Some(match result {
                Ok(m) => (Level::Info, m),
                Err(e) => (Level::Error, e),
            });
            Outcome::with(Effect::RenderProgram { release })
        }
        Msg::PulumiUpDone(result) => {
            s.message = Some(match result {
                Ok(m) => (Level::Info, m),
                Err(e) => (Level::Error, e),
            });
            if matches!(s.screen, Screen::Diff(_)) {
                s.pop();
            }
            Outcome::with(Effect::ReloadWorkspace)
        }
        Msg::Drawn(d) => {
            s.detail_lines = d.detail_lines;
            Outcome::default()
        }
        Msg::Reloaded(ws) => reloaded(s, *ws),
        Msg::ThemeLoaded(Ok(theme)) => {
            s.message = Some((Level::Info, format!("theme {}", theme.name)));
            s.theme = *theme;
            Outcome::redraw()
        }
        Msg::ThemeLoaded(Err(e)) => {
            s.message = Some((Level::Error, e));
            Outcome::redraw()
        }
        Msg::Tick(now) => tick(s, now),
        Msg::LiveUpdate {
            view,
            cluster,
            update,
        } => super::update_live::update(s, view, &cluster, update),
        Msg::LiveFailed {
            view,
            cluster,
            error,
        } => super::update_live::failed(s, view, &cluster, error),
        Msg::ObjectText { view, text } => super::update_live::object_text(s, view, text),
        Msg::Discovered { cluster, result } => super::update_live::discovered(s, cluster, result),
        Msg::SyncReady { key, result } => {
            let effects =
                super::monitor::drift_in(s, &key, result.as_deref().map_err(String::as_str), true);
            Outcome {
                effects,
                redraw: true,
            }
        }
        Msg::MonitorUpdate {
            cluster,
            namespace,
            update,
        } => super::monitor::update(s, &cluster, &namespace, update),
        Msg::MonitorFailed {
            cluster,
            namespace,
            error,
        } => super::monitor::failed(s, &cluster, &namespace, error),
        Msg::Resync => super::monitor::resync_next(s),
        Msg::SourcesChanged => Outcome {
            effects: vec![Effect::ReloadWorkspace],
            redraw: false,
        },
        Msg::EditorOpened { rel, opened, draft } => {
            update_edit::editor_opened(s, rel, opened, draft)
        }
        Msg::FileFailed(e) => {
            s.message = Some((Level::Error, e));
            Outcome::redraw()
        }
        Msg::Saved {
            result,
            close_editor,
        } => update_edit::saved(s, result, close_editor),
        Msg::RenderReady { release, result } => update_edit::render_ready(s, release, result),
        Msg::DriftReady { release, result } => update_edit::drift_ready(s, release, result),
        Msg::Applied { release, result } => update_edit::applied(s, release, result),
        Msg::DiffReady(view) => update_edit::diff_ready(s, *view),
        Msg::Compared {
            left,
            right,
            result,
        } => super::compare::compared(s, left, right, result),
        Msg::MigrationPlanned { release, result } => {
            super::compare::migration_planned(s, release, result)
        }
        Msg::MigrationWritten(result) => super::compare::migration_written(s, result),
        Msg::ExternallyEdited { rel, result } => externally_edited(s, &rel, result),
        Msg::Logs { view, event } => super::update_logs::event(s, view, event),
        Msg::LogsFailed { view, error } => super::update_logs::failed(s, view, error),
        Msg::LogsSaved(result) => super::update_logs::saved(s, result),
        Msg::Revisions {
            cluster,
            release,
            result,
        } => super::update_rollback::revisions(s, cluster, release, result),
        Msg::PulumiHistory { release, result } => {
            super::update_rollback::pulumi_history(s, release, result)
        }
        Msg::Undone {
            cluster,
            namespace,
            deployment,
            release,
            image,
            result,
        } => super::update_rollback::undone(
            s,
            &cluster,
            &namespace,
            &deployment,
            release,
            image,
            result,
        ),
        Msg::WalkOpened(view) => {
            s.message = None;
            s.screen = Screen::Walk(view);
            Outcome::redraw()
        }
        Msg::Context(name, chosen) => {
            context_chosen(s, name, chosen);
            Outcome::redraw()
        }
        Msg::Live(name, result) => {
            let entry = match result {
                Ok(live) => super::state::LiveEntry::Ready(live),
                Err(e) => super::state::LiveEntry::Failed(e),
            };
            s.live.insert(name, entry);
            Outcome::redraw()
        }
        Msg::RefreshLive => refresh_live(s),
        Msg::Helm { cluster, result } => super::helm::arrived(s, cluster, result),
        Msg::WalkFailed(e) => {
            s.message = Some((Level::Error, e));
            Outcome::redraw()
        }
        Msg::Walk(event) => walk_event(s, *event),
    }
}

/// The workspace was read again: drifts computed from the old files are dropped.
fn reloaded(s: &mut State, ws: Workspace) -> Outcome {
    tracing::debug!("workspace reloaded");
    let n = ws.problems.len();
    s.ws = ws;
    // A drift diff computed from the old files no longer says what apply would do.
    s.forget_drifts();
    s.sync_selection();
    let reloaded = format!(
        "workspace reloaded ({n} problem{})",
        if n == 1 { "" } else { "s" }
    );
    // A reload (after a save, or a change on disk) must not hide what was
    // being said — what was saved, or "press a again to apply".
    s.message = Some(match s.message.take() {
        Some((level, m)) if !m.starts_with("workspace reloaded") => {
            let m = m
                .split(" · workspace reloaded")
                .next()
                .unwrap_or_default()
                .to_string();
            (level, format!("{m} · {reloaded}"))
        }
        _ => (Level::Info, reloaded),
    });
    let mut out = Outcome::redraw();
    out.effects = render_programs(s);
    out.effects.extend(super::monitor::start(s));
    // A comparison on screen (or under it) reads the files again.
    out.effects.extend(super::compare::refresh(s));
    out
}

/// The wall clock moved: screens that count time redraw.
fn tick(s: &mut State, now: u64) -> Outcome {
    s.now_s = (now / 1000) as i64;
    match &mut s.screen {
        Screen::Walk(w) => {
            w.now_ms = now;
            Outcome::redraw()
        }
        Screen::Live(v) => {
            v.now_s = s.now_s;
            Outcome::redraw()
        }
        _ => update_edit::tick(s, now),
    }
}

fn externally_edited(s: &mut State, rel: &std::path::Path, result: Result<(), String>) -> Outcome {
    s.message = Some(match result {
        Ok(()) => (
            Level::Info,
            format!("{} edited in $EDITOR; workspace reloaded", rel.display()),
        ),
        Err(e) => (Level::Error, e),
    });
    Outcome::with(Effect::ReloadWorkspace)
}

/// A walkthrough runner event; a step that changes a real account asks first.
fn walk_event(s: &mut State, event: WalkEvent) -> Outcome {
    if let WalkEvent::Confirm { step, title, calls } = &event {
        let target = s
            .walk()
            .and_then(|w| w.identity.clone())
            .unwrap_or_default();
        let cluster = s.walk().map(|w| w.plan.cluster.clone()).unwrap_or_default();
        s.overlay = Some(Overlay::Confirm {
            title: format!("Run step {step}: {title} of {cluster}?"),
            lines: vec![
                format!("{calls} calls will change {target}."),
                "Resources cost money while they run; the footer shows the hourly total.".into(),
                "y runs the step · n pauses".into(),
            ],
            details: Vec::new(),
            on_yes: Confirmed::RunLiveStep(*step),
        });
    }
    let Some(w) = s.walk_mut() else {
        return Outcome::default();
    };
    w.apply(event);
    Outcome::redraw()
}

fn key(s: &mut State, ev: KeyEvent) -> Outcome {
    if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) {
        s.quit = true;
        return Outcome::redraw();
    }
    if s.input.is_some() {
        return input_key(s, ev);
    }
    if let Some(Overlay::Confirm { on_yes, .. }) = &s.overlay {
        return confirm_key(s, on_yes.clone(), ev.code);
    }
    if let Some(Overlay::Choice { options, .. }) = &s.overlay {
        let picked = match ev.code {
            KeyCode::Esc => None,
            KeyCode::Char(c) => match options.iter().find(|(k, _, _)| *k == c) {
                Some((_, _, choice)) => Some(choice.clone()),
                None => return Outcome::default(),
            },
            _ => return Outcome::default(),
        };
        s.overlay = None;
        return match picked {
            Some(c) => update_edit::choice(s, c),
            None => Outcome::redraw(),
        };
    }
    // The editor takes every key except the ones it hands back.
    if matches!(s.screen, Screen::Editor(_)) && s.overlay.is_none() {
        return update_edit::editor_key(s, ev);
    }
    let Some(action) = s.keymap.action(s.scope(), Key::from_event(&ev)) else {
        return Outcome::default();
    };
    // Any key clears a stale message.
    s.message = None;
    if let Some(Overlay::Help { scroll }) = &mut s.overlay {
        match action {
            Action::Down => *scroll = scroll.saturating_add(1),
            Action::Up => *scroll = scroll.saturating_sub(1),
            Action::PageDown => *scroll = scroll.saturating_add(10),
            Action::PageUp => *scroll = scroll.saturating_sub(10),
            Action::Top => *scroll = 0,
            Action::Quit | Action::Back | Action::Help => s.overlay = None,
            _ => {}
        }
        return Outcome::redraw();
    }
    if matches!(s.screen, Screen::Walk(_)) {
        return walk_act(s, action);
    }
    if matches!(s.screen, Screen::Diff(_)) {
        if action == Action::Apply {
            let release = s.diff_mut().map_or(usize::MAX, |d| d.release);
            return update_edit::ask_apply(s, release);
        }
        return update_edit::diff_act(s, action);
    }
    if let Some(out) = super::update_rollback::act(s, action) {
        return out;
    }
    if matches!(s.screen, Screen::Live(_)) {
        return super::update_live::act(s, action);
    }
    if matches!(s.screen, Screen::Logs(_)) {
        return super::update_logs::act(s, action);
    }
    if matches!(s.screen, Screen::Compare(_)) {
        return match action {
            Action::Command | Action::Help => act(s, action),
            _ => super::compare::act(s, action),
        };
    }
    if matches!(s.screen, Screen::Releases(_)) {
        return match action {
            Action::Command | Action::Filter | Action::Help | Action::Refresh => act(s, action),
            _ => super::releases::act(s, action),
        };
    }
    act(s, action)
}

/// A yes/no question answers only to y, n, Esc and q (and i, which shows the
/// details it holds).
fn confirm_key(s: &mut State, on_yes: Confirmed, code: KeyCode) -> Outcome {
    if let (KeyCode::Char('i'), Some(Overlay::Confirm { lines, details, .. })) =
        (code, &mut s.overlay)
    {
        if details.is_empty() {
            return Outcome::default();
        }
        // After the question, which stays in view however long the list is.
        lines.append(details);
        return Outcome::redraw();
    }
    let yes = match code {
        KeyCode::Char('y' | 'Y') => true,
        KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => false,
        _ => return Outcome::default(),
    };
    s.overlay = None;
    match (on_yes, yes) {
        (Confirmed::Undo(revision), yes) => super::update_rollback::confirmed(s, revision, yes),
        (Confirmed::WriteMigration(plan), true) => Outcome::with(Effect::WriteMigration(plan)),
        (Confirmed::WriteMigration(_), false) => {
            s.message = Some((Level::Info, "nothing written".into()));
            Outcome::redraw()
        }
        (Confirmed::Teardown, true) => {
            if let Some(w) = s.walk_mut() {
                w.busy = true;
            }
            Outcome::with(Effect::Walk(WalkCommand::Teardown))
        }
        (Confirmed::Teardown, false) => Outcome::redraw(),
        (Confirmed::Apply(release), true) => {
            let confirmed = s
                .diff_mut()
                .filter(|d| d.release == release)
                .and_then(|d| Some((d.drift_desired.clone()?, d.drift_prune.clone())));
            let Some((objects, prune)) = confirmed else {
                s.message = Some((
                    Level::Warn,
                    "the drift changed before the answer; press a to see it again".into(),
                ));
                return Outcome::redraw();
            };
            s.message = Some((Level::Info, "applying…".into()));
            let plan = tierui_backends::release::ApplyPlan {
                prune,
                ..Default::default()
            };
            Outcome::with(Effect::ApplyRelease {
                release,
                objects,
                plan,
            })
        }
        (
            Confirmed::TakeOwnership {
                release,
                objects: only,
            },
            true,
        ) => {
            let confirmed = s
                .diff_mut()
                .filter(|d| d.release == release)
                .and_then(|d| Some((d.drift_desired.clone()?, d.drift_prune.clone())));
            let Some((objects, prune)) = confirmed else {
                return Outcome::redraw();
            };
            s.message = Some((Level::Info, "taking ownership and applying…".into()));
            let plan = tierui_backends::release::ApplyPlan {
                force: true,
                prune,
                only,
            };
            Outcome::with(Effect::ApplyRelease {
                release,
                objects,
                plan,
            })
        }
        (Confirmed::TakeOwnership { .. }, false) => {
            s.message = Some((
                Level::Warn,
                "those fields stay with their managers; the other objects were applied".into(),
            ));
            Outcome::redraw()
        }
        (Confirmed::PulumiUp(release), true) => Outcome::with(Effect::PulumiUp { release }),
        (Confirmed::Setup(release), true) => {
            let Some(command) = setup_command(s, release) else {
                return Outcome::redraw();
            };
            s.message = Some((Level::Info, format!("running {command} …")));
            s.programs
                .insert(release, super::state::ProgramRender::Rendering);
            Outcome::with(Effect::RunSetup { release, command })
        }
        (Confirmed::Setup(..), false) => {
            s.message = Some((Level::Info, "nothing run".into()));
            Outcome::redraw()
        }
        (Confirmed::Apply(_) | Confirmed::PulumiUp(_), false) => {
            s.message = Some((Level::Info, "nothing applied".into()));
            Outcome::redraw()
        }
        (Confirmed::RunLiveStep(_), answer) => {
            Outcome::with(Effect::Walk(WalkCommand::Confirm(answer)))
        }
    }
}

fn walk_act(s: &mut State, action: Action) -> Outcome {
    let readonly = s.session.readonly;
    let Some(w) = s.walk_mut() else {
        return Outcome::default();
    };
    let step = w.selected().map(|st| (st.id, w.step_status(st)));
    let refuse = |s: &mut State| {
        s.message = Some((Level::Error, "--readonly: the walkthrough creates and deletes cloud resources; restart without --readonly to run it".into()));
        Outcome::redraw()
    };
    match action {
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => walk_move(w, action),
        Action::NextPane | Action::PrevPane => w.focus_detail = !w.focus_detail,
        Action::Back | Action::Quit => {
            s.screen = Screen::Home;
            return Outcome::with(Effect::CloseWalk);
        }
        Action::RunStep | Action::Open => {
            if readonly {
                return refuse(s);
            }
            return run_selected_step(s, step);
        }
        Action::RunAll => {
            if readonly {
                return refuse(s);
            }
            w.busy = true;
            return Outcome::with(Effect::Walk(WalkCommand::RunAll));
        }
        Action::Pause => return Outcome::with(Effect::Walk(WalkCommand::Pause)),
        Action::Retry => {
            if readonly {
                return refuse(s);
            }
            match step {
                Some((id, StepStatus::Failed)) => {
                    w.busy = true;
                    return Outcome::with(Effect::Walk(WalkCommand::Retry(id)));
                }
                Some((id, _)) => {
                    s.message = Some((
                        Level::Info,
                        format!("step {id} has not failed; Enter runs it"),
                    ))
                }
                None => {}
            }
        }
        Action::Teardown => {
            if readonly {
                return refuse(s);
            }
            return ask_teardown(s);
        }
        Action::Help => s.overlay = Some(Overlay::Help { scroll: 0 }),
        Action::Command => {
            s.input = Some(Input::Command {
                text: String::new(),
                completion: None,
            })
        }
        _ => return Outcome::default(),
    }
    Outcome::redraw()
}

/// Teardown asks first, naming the account, what goes and what it costs.
fn ask_teardown(s: &mut State) -> Outcome {
    let Some(w) = s.walk() else {
        return Outcome::default();
    };
    let summary = tierui_core::walkthrough::summary::TeardownSummary::of(&w.plan, &w.progress);
    let cluster = w.plan.cluster.clone();
    if summary.is_empty() {
        s.message = Some((
            Level::Info,
            format!("nothing to tear down: the walkthrough of {cluster} has created nothing"),
        ));
        return Outcome::redraw();
    }
    let target = w.identity.clone().unwrap_or_default();
    s.overlay = Some(Overlay::Confirm {
        title: format!("Tear down {cluster}?"),
        lines: vec![
            format!(
                "Deletes {} resources this walkthrough created, in {target}:",
                summary.total()
            ),
            summary.counts_line(),
            format!("That stops {}.", summary.hourly.describe("hour")),
            "Node groups go before the cluster, NAT gateways before their addresses.".into(),
            "y deletes · i lists the IDs · n keeps everything".into(),
        ],
        details: summary.id_lines(),
        on_yes: Confirmed::Teardown,
    });
    Outcome::redraw()
}

/// Moves the step cursor, or scrolls the step's detail when that has focus.
fn walk_move(w: &mut WalkView, action: Action) {
    let by: i64 = match action {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -10,
        Action::PageDown => 10,
        Action::Top => -1000,
        _ => 1000,
    };
    if w.focus_detail {
        w.scroll = (i64::from(w.scroll) + by).clamp(0, 2000) as u16;
    } else {
        w.cursor = moved(w.cursor, by, w.plan.steps.len());
        w.scroll = 0;
    }
}

/// Enter on a step: runs it, or retries it after a failure; a finished step says so.
fn run_selected_step(s: &mut State, step: Option<(char, StepStatus)>) -> Outcome {
    let Some((id, status)) = step else {
        return Outcome::default();
    };
    if matches!(
        status,
        StepStatus::Done | StepStatus::Adopted | StepStatus::Skipped
    ) {
        s.message = Some((Level::Info, format!("step {id} is {}", status.label())));
        return Outcome::redraw();
    }
    if let Some(w) = s.walk_mut() {
        w.busy = true;
    }
    let cmd = if status == StepStatus::Failed {
        WalkCommand::Retry(id)
    } else {
        WalkCommand::RunStep(id)
    };
    Outcome::with(Effect::Walk(cmd))
}

fn act(s: &mut State, action: Action) -> Outcome {
    match action {
        Action::Quit => {
            if !s.filter.is_empty() {
                back(s);
            } else {
                s.quit = true;
            }
        }
        Action::Back => back(s),
        Action::ReleaseLogs => return super::update_logs::open_release(s),
        Action::Help => s.overlay = Some(Overlay::Help { scroll: 0 }),
        Action::Command => {
            s.input = Some(Input::Command {
                text: String::new(),
                completion: None,
            })
        }
        Action::Filter => {
            s.input = Some(Input::Filter {
                text: s.filter.clone(),
            })
        }
        Action::NextPane | Action::PrevPane => cycle_pane(s, action == Action::NextPane),
        Action::Up => step(s, -1),
        Action::Down => step(s, 1),
        Action::PageUp => step(s, -(page(s) as i64)),
        Action::PageDown => step(s, page(s) as i64),
        Action::Top => step(s, i64::MIN / 2),
        Action::Bottom => step(s, i64::MAX / 2),
        Action::Open => match s.focus {
            Pane::Clusters | Pane::Releases => s.focus = Pane::Detail,
            Pane::Problems => {
                if let Some(p) = s.ws.problems.get(s.problem_cursor) {
                    s.message = Some((Level::Info, format!("{}", p)));
                }
            }
            Pane::Detail => {}
        },
        Action::Refresh => {
            let mut out = refresh_live(s);
            out.effects.insert(0, Effect::ReloadWorkspace);
            return out;
        }

        Action::ScrollLeft => hscroll(s, -8),
        Action::ScrollRight => hscroll(s, 8),
        Action::SetHpaMin if s.focus == Pane::Detail => hscroll(s, -8),
        Action::Live if s.focus == Pane::Detail => hscroll(s, 8),
        Action::Walkthrough => return open_walkthrough(s),
        Action::Migrate => {
            let selected = match s.selection {
                Some(super::state::Selection::Release(i)) => Some(i),
                _ => None,
            };
            return super::compare::migrate(s, selected);
        }
        Action::Compare => {
            let selected = match s.selection {
                Some(super::state::Selection::Release(i)) => Some(i),
                _ => None,
            };
            return super::compare::open(s, selected);
        }
        Action::Edit
        | Action::ExternalEdit
        | Action::ShowDiff
        | Action::SetTag
        | Action::SetReplicas
        | Action::SetHpaMin
        | Action::SetHpaMax => {
            return update_edit::home_act(s, action);
        }
        Action::Promote
        | Action::RunStep
        | Action::RunAll
        | Action::Pause
        | Action::Retry
        | Action::Teardown
        | Action::NextChange
        | Action::PrevChange
        | Action::SideBySide
        | Action::ShowEdit
        | Action::ShowRender
        | Action::ShowDrift
        | Action::Save
        | Action::Yaml
        | Action::Describe
        | Action::TabPods
        | Action::TabDeploy
        | Action::TabHpa
        | Action::TabEvents
        | Action::SortName
        | Action::SortReady
        | Action::SortStatus
        | Action::SortRestarts
        | Action::SortAge
        | Action::SortNode
        | Action::SortCpu
        | Action::SortMemory
        | Action::SortService
        | Action::SortCluster
        | Action::SortSync
        | Action::SortHealth
        | Action::SortChange
        | Action::Logs
        | Action::Undo
        | Action::ReleaseUndo
        | Action::LogPause
        | Action::LogWrap
        | Action::LogTimestamps
        | Action::LogPrevious
        | Action::LogContainer
        | Action::LogSave
        | Action::LogTail
        | Action::LogSinceAll
        | Action::LogSince1m
        | Action::LogSince5m
        | Action::LogSince15m
        | Action::LogSince30m
        | Action::LogSince1h
        | Action::NextMatch
        | Action::PrevMatch => {
            return Outcome::default();
        }
        Action::Live => return super::update_live::home_open(s, super::live::Tab::Pods, false),
        Action::LiveAll => return super::update_live::home_open(s, super::live::Tab::Pods, true),
        Action::Apply => match s.selection {
            Some(super::state::Selection::Release(i)) => return update_edit::ask_apply(s, i),
            _ => s.message = Some((Level::Info, "select a release to apply".into())),
        },
        Action::ToggleProblems => toggle_problems(s),
        Action::HelmValues => return super::helm::toggle_values(s),
        Action::SetupProgram => return ask_setup(s),
    }
    Outcome::redraw()
}

/// Tab and Shift-Tab cycle the home screen's panes (the problems pane when shown).
fn cycle_pane(s: &mut State, forward: bool) {
    let mut order = vec![Pane::Clusters, Pane::Releases, Pane::Detail];
    if s.problems_visible() {
        order.push(Pane::Problems);
    }
    let i = order.iter().position(|p| *p == s.focus).unwrap_or(0);
    let next = if forward {
        (i + 1) % order.len()
    } else {
        (i + order.len() - 1) % order.len()
    };
    s.focus = order[next];
    s.sync_selection();
}

/// The walkthrough opens for eksctl ClusterConfigs; other provisioners say why not.
fn open_walkthrough(s: &mut State) -> Outcome {
    let Some(c) = s.selected_cluster() else {
        return Outcome::default();
    };
    if c.eksctl_config().is_none() {
        s.message = Some((
            Level::Info,
            format!(
                "{} is provisioned by {}; the walkthrough follows eksctl ClusterConfigs (dawn in the demo)",
                c.name,
                c.provisioner()
            ),
        ));
        return Outcome::redraw();
    }
    let cluster = c.name.clone();
    s.message = Some((Level::Info, format!("planning {cluster}…")));
    Outcome::with(Effect::OpenWalk { cluster })
}

/// `I` on a release whose program has no environment yet: the command that
/// creates it, asked first (it installs packages into the project).
fn ask_setup(s: &mut State) -> Outcome {
    let Some(super::state::Selection::Release(i)) = s.selection else {
        s.message = Some((Level::Info, "select a Python or TypeScript release".into()));
        return Outcome::redraw();
    };
    let Some(command) = setup_command(s, i) else {
        s.message = Some((Level::Info, "nothing to set up for this release".into()));
        return Outcome::redraw();
    };
    if s.session.readonly {
        s.message = Some((
            Level::Error,
            format!("--readonly: `{command}` would write into the project, so it is not run"),
        ));
        return Outcome::redraw();
    }
    s.overlay = Some(Overlay::Confirm {
        title: format!(
            "Create the Pulumi environment of {}?",
            s.ws.releases[i].title()
        ),
        lines: vec![
            format!("Runs: {command}"),
            "It downloads the project's packages (PyPI or npm) into the project folder.".into(),
            "y runs it · n does nothing".into(),
        ],
        details: Vec::new(),
        on_yes: Confirmed::Setup(i),
    });
    Outcome::redraw()
}

/// The command a failed render named as its fix.
fn setup_command(s: &State, release: usize) -> Option<String> {
    match s.programs.get(&release) {
        Some(super::state::ProgramRender::Failed(e)) => {
            tierui_core::render::program::fix_of(e).map(str::to_string)
        }
        _ => None,
    }
}

fn toggle_problems(s: &mut State) {
    s.show_problems = !s.show_problems;
    if !s.problems_visible() && s.focus == Pane::Problems {
        s.focus = Pane::Clusters;
    }
    if s.ws.problems.is_empty() {
        s.message = Some((Level::Info, "no problems in this workspace".into()));
    }
}

fn back(s: &mut State) {
    if !s.filter.is_empty() {
        s.filter.clear();
        s.sync_selection();
    } else if matches!(s.focus, Pane::Detail | Pane::Problems) {
        s.focus = match s.selection {
            Some(super::state::Selection::Release(_)) => Pane::Releases,
            _ => Pane::Clusters,
        };
        s.sync_selection();
    }
}

/// Scrolls the detail pane sideways (its lines are never cut off for good).
fn hscroll(s: &mut State, by: i32) {
    s.detail_hscroll = (i32::from(s.detail_hscroll) + by).clamp(0, 2000) as u16;
}

fn page(s: &State) -> u16 {
    let l = layout::home(Rect::new(0, 0, s.width, s.height), s);
    match s.focus {
        Pane::Clusters => l.clusters.height.saturating_sub(2),
        Pane::Releases => l.releases.height.saturating_sub(3),
        Pane::Detail => l.detail.height.saturating_sub(2),
        Pane::Problems => l.problems.map_or(1, |r| r.height.saturating_sub(2)),
    }
    .max(1)
}

fn moved(cursor: usize, by: i64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (cursor as i64).saturating_add(by).clamp(0, len as i64 - 1) as usize
}

fn step(s: &mut State, by: i64) {
    match s.focus {
        Pane::Clusters => {
            s.cluster_cursor = moved(s.cluster_cursor, by, s.visible_clusters().len())
        }
        Pane::Releases => {
            s.release_cursor = moved(s.release_cursor, by, s.visible_releases().len())
        }
        Pane::Detail => {
            let lines = s.detail_lines as i64;
            s.detail_scroll = (i64::from(s.detail_scroll) + by).clamp(0, (lines - 1).max(0)) as u16;
        }
        Pane::Problems => s.problem_cursor = moved(s.problem_cursor, by, s.ws.problems.len()),
    }
    s.sync_selection();
}

fn input_key(s: &mut State, ev: KeyEvent) -> Outcome {
    let Some(input) = s.input.as_mut() else {
        return Outcome::default();
    };
    if let Input::Prompt {
        release,
        field,
        text,
    } = input
    {
        match ev.code {
            KeyCode::Esc => s.input = None,
            KeyCode::Enter => {
                let (release, field, text) = (*release, *field, text.clone());
                s.input = None;
                return update_edit::prompt_done(s, release, field, &text);
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
            _ => return Outcome::default(),
        }
        return Outcome::redraw();
    }
    if let Input::LogPrompt { what, text } = input {
        match ev.code {
            KeyCode::Esc => s.input = None,
            KeyCode::Enter => {
                let (what, text) = (*what, text.clone());
                s.input = None;
                return super::update_logs::prompt_done(s, what, &text);
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
            _ => return Outcome::default(),
        }
        return Outcome::redraw();
    }
    let (text, is_filter) = match input {
        Input::Command { text, .. } => (text, false),
        Input::Filter { text } => (text, true),
        Input::Prompt { .. } | Input::LogPrompt { .. } => return Outcome::default(),
    };
    match ev.code {
        KeyCode::Esc => {
            if is_filter {
                if let Screen::Live(v) = &mut s.screen {
                    v.filter.clear();
                } else if let Screen::Logs(v) = &mut s.screen {
                    v.set_search("");
                } else {
                    s.filter.clear();
                    s.sync_selection();
                }
            }
            s.input = None;
        }
        KeyCode::Enter => {
            let text = text.clone();
            s.input = None;
            if !is_filter {
                return run_command(s, &text);
            }
        }
        KeyCode::Backspace => {
            if text.pop().is_none() && !is_filter {
                s.input = None;
            }
            if let Some(Input::Command { completion, .. }) = s.input.as_mut() {
                *completion = None;
            }
        }
        KeyCode::Tab if !is_filter => {
            let clusters: Vec<String> = s.ws.clusters.iter().map(|c| c.name.clone()).collect();
            let namespaces = super::update_live::namespaces(s);
            let kinds = super::update_live::kind_words(s);
            let values = move |cmd: &str| match cmd {
                "ctx" => clusters.clone(),
                "ns" => namespaces.clone(),
                commands::KINDS => kinds.clone(),
                _ => Vec::new(),
            };
            if let Some(Input::Command { text, completion }) = s.input.as_mut() {
                let (next, state) = commands::complete(text, completion, &values);
                *text = next;
                *completion = state;
            }
        }
        KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
            text.push(c);
            if let Some(Input::Command { completion, .. }) = s.input.as_mut() {
                *completion = None;
            }
        }
        _ => return Outcome::default(),
    }
    if let Some(Input::Filter { text }) = &s.input {
        // The live view filters its own rows; the home screen its navigator.
        if let Screen::Live(v) = &mut s.screen {
            v.filter = text.clone();
            v.cursor = 0;
        } else if let Screen::Logs(v) = &mut s.screen {
            v.set_search(text);
        } else {
            s.filter = text.clone();
            s.sync_selection();
        }
    }
    Outcome::redraw()
}

fn run_command(s: &mut State, text: &str) -> Outcome {
    match commands::parse(text) {
        Ok(Command::Clusters) => {
            s.focus = Pane::Clusters;
            s.sync_selection();
        }
        Ok(Command::Releases) => {
            s.focus = Pane::Releases;
            s.sync_selection();
            return super::releases::open(s);
        }
        Ok(Command::Problems) => {
            s.show_problems = true;
            if s.problems_visible() {
                s.focus = Pane::Problems;
            } else {
                s.message = Some((Level::Info, "no problems in this workspace".into()));
            }
        }
        Ok(Command::Help) => s.overlay = Some(Overlay::Help { scroll: 0 }),
        Ok(Command::Quit) => s.quit = true,
        Ok(Command::Reload) => return Outcome::with(Effect::ReloadWorkspace),
        Ok(Command::Theme(name)) => return Outcome::with(Effect::LoadTheme(name)),
        Ok(Command::Pods) => return super::update_live::set_tab(s, super::live::Tab::Pods),
        Ok(Command::Deploy) => {
            return super::update_live::set_tab(s, super::live::Tab::Deployments);
        }
        Ok(Command::Hpa) => return super::update_live::set_tab(s, super::live::Tab::Hpa),
        Ok(Command::Events) => return super::update_live::set_tab(s, super::live::Tab::Events),
        Ok(Command::Ctx(c)) => {
            return super::update_live::open_cluster(s, &c, super::live::Tab::Pods);
        }
        Ok(Command::Ns(ns)) => return super::update_live::set_namespace(s, &ns),
        Ok(Command::Kind(word)) => return super::update_live::open_kind(s, &word),
        Ok(Command::Nothing) => {}
        Err(e) => s.message = Some((Level::Error, e)),
    }
    Outcome::redraw()
}

fn mouse(s: &mut State, m: MouseEvent) -> Outcome {
    if s.overlay.is_some() || s.input.is_some() {
        return Outcome::default();
    }
    let l = layout::home(Rect::new(0, 0, s.width, s.height), s);
    let at = Position::new(m.column, m.row);
    let pane = [
        (Pane::Clusters, l.clusters),
        (Pane::Releases, l.releases),
        (Pane::Detail, l.detail),
    ]
    .into_iter()
    .chain(l.problems.map(|r| (Pane::Problems, r)))
    .find(|(_, r)| r.contains(at));
    let Some((pane, rect)) = pane else {
        return Outcome::default();
    };
    match m.kind {
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            let by = if m.kind == MouseEventKind::ScrollDown {
                3
            } else {
                -3
            };
            let keep = s.focus;
            s.focus = pane;
            step(s, by);
            if pane == Pane::Detail || pane == Pane::Problems {
                s.focus = keep;
                s.sync_selection();
            }
            Outcome::redraw()
        }
        MouseEventKind::Down(MouseButton::Left) => {
            s.focus = pane;
            // Rows start below the border (and the header row for releases).
            let first = rect.y + if pane == Pane::Releases { 2 } else { 1 };
            if m.row >= first {
                // The row on screen plus how far the list is scrolled, as drawn.
                let row = usize::from(m.row - first);
                match pane {
                    Pane::Clusters => {
                        let at = row + layout::cluster_offset(s, rect);
                        if at < s.visible_clusters().len() {
                            s.cluster_cursor = at;
                        }
                    }
                    Pane::Releases => {
                        let at = row + layout::release_offset(s, rect);
                        if at < s.visible_releases().len() {
                            s.release_cursor = at;
                        }
                    }
                    Pane::Problems => {
                        s.problem_cursor = (row + usize::from(layout::problem_offset(s, rect)))
                            .min(s.ws.problems.len().saturating_sub(1))
                    }
                    _ => {}
                }
            }
            s.sync_selection();
            Outcome::redraw()
        }
        _ => Outcome::default(),
    }
}

/// A cluster's context choice; an ambiguous one is also a problem of
/// tierui.yaml (where `context:` settles it), listed with the file problems.
fn context_chosen(s: &mut State, cluster: String, chosen: Result<(String, String), String>) {
    use tierui_backends::kube::context::AMBIGUOUS;
    let file = std::path::PathBuf::from("tierui.yaml");
    let mine = |p: &tierui_core::workspace::model::Problem| {
        p.message.starts_with(&format!("{cluster}: {AMBIGUOUS}"))
    };
    s.ws.problems.retain(|p| !mine(p));
    if let Err(e) = &chosen
        && e.starts_with(&format!("{cluster}: {AMBIGUOUS}"))
    {
        s.ws.problems.push(tierui_core::workspace::model::Problem {
            file,
            line: 0,
            col: 0,
            severity: tierui_core::workspace::fields::Severity::Error,
            message: e.clone(),
        });
    }
    s.contexts.insert(cluster, chosen);
}
