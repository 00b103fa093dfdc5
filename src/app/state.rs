//! Everything the UI shows, owned in one place. Only `update` changes it.

use crate::app::theme::Theme;
use tierui_core::workspace::model::{ClusterStack, Release, Workspace};

use super::keymap::{Keymap, Scope};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Clusters,
    Releases,
    Detail,
    Problems,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// A one-line text input at the bottom of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `:` command line; `completion` cycles through candidates on Tab.
    Command {
        text: String,
        completion: super::commands::Completion,
    },
    /// `/` filter, applied live.
    Filter { text: String },
    /// A log view's question: the file to save to, or how many lines.
    LogPrompt { what: LogAsk, text: String },
    /// A quick edit's new value for a release.
    Prompt {
        release: usize,
        field: tierui_core::workspace::quick::Field,
        text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogAsk {
    Save,
    Tail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    /// A yes/no question; `y` sends the effect of `on_yes`. `details` (the IDs a
    /// teardown deletes) are shown on request with `i`.
    Confirm {
        title: String,
        lines: Vec<String>,
        details: Vec<String>,
        on_yes: Confirmed,
    },
    /// A question with lettered answers; Esc answers none.
    Choice {
        title: String,
        lines: Vec<String>,
        options: Vec<(char, String, Choice)>,
    },
}

/// Answers of [`Overlay::Choice`] questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    SaveAndClose,
    DiscardAndClose,
    RestoreDraft(Box<crate::app::files::Draft>),
    DiscardDraft,
    /// Take the disk version (None: the file was deleted).
    Reload {
        disk: Option<String>,
    },
    Overwrite,
    ConflictDiff {
        disk: Option<String>,
    },
    /// The log view reads this container only (None: every container).
    LogContainer(Option<String>),
    /// A Deployment revision to roll back to (shown as a diff first).
    Revision(usize),
    /// A Pulumi deployment (index in the history) whose config to restore.
    PulumiDeployment(usize),
    /// Which Deployment of a release to roll back.
    UndoDeployment(String),
}

/// What a confirmed question does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    Teardown,
    /// The runner asked before a step that changes a live account.
    RunLiveStep(char),
    /// Server-side apply of a release (index) after its drift was shown.
    Apply(usize),
    /// Run `pulumi up` for this release (a Pulumi release outside the sandbox).
    PulumiUp(usize),
    /// Run the command that creates a release's program environment.
    Setup(usize),
    /// Apply these objects again taking ownership of the fields other field
    /// managers hold (the second, explicit question after a conflict).
    TakeOwnership {
        release: usize,
        objects: Vec<String>,
    },
    /// Roll the pending Deployment back to this revision.
    Undo(i64),
    /// Write a proven migration's files.
    WriteMigration(Box<crate::cli::migrate::Plan>),
}

/// The screen on top; Home is always underneath.
#[derive(Debug, Clone)]
pub enum Screen {
    Home,
    Walk(Box<super::walkthrough::WalkView>),
    Editor(Box<super::editor::EditorView>),
    Diff(Box<super::diff::DiffView>),
    Live(Box<super::live::LiveView>),
    /// `:releases`: every release with its sync and health, sortable.
    Releases(Box<super::releases::ReleasesView>),
    /// Logs of a pod, a Deployment's pods or a release's pods.
    Logs(Box<super::logs::LogView>),
    /// `=`: two environments of a service side by side.
    Compare(Box<super::compare::CompareView>),
}

/// What the detail pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    Cluster(usize),
    Release(usize),
}

/// The process-level facts shown in the status bar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub sandbox: bool,
    pub readonly: bool,
    pub demo: bool,
    /// `--profile` / AWS_PROFILE, before per-cluster settings.
    pub aws_profile: Option<String>,
    pub aws_region: Option<String>,
    pub endpoint_url: Option<String>,
    /// `--speed` for the sandbox (1 when not given).
    pub speed: Option<f64>,
}

/// What tierui knows of a cluster's live state in AWS (or the sandbox).
#[derive(Debug, Clone)]
pub enum LiveEntry {
    Loading,
    Ready(Box<tierui_core::cloud::inventory::ClusterLive>),
    /// No connection could be made (credentials, endpoint).
    Failed(String),
}

/// A Python or TypeScript release's program, run off the UI thread under the
/// Pulumi SDK's mocks.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgramRender {
    Rendering,
    Ready,
    Failed(String),
}

/// What a drawn frame tells the application: the length of what it showed, so
/// scrolling can stop at the end without the application building lines itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drawn {
    pub detail_lines: usize,
}

pub struct State {
    pub screen: Screen,
    /// Screens under the current one (Esc goes back to the last).
    pub under: Vec<Screen>,
    /// Cluster name → live state, refreshed on `r` and every few minutes.
    pub live: std::collections::BTreeMap<String, LiveEntry>,
    /// Cluster name → the kubeconfig context chosen for it and why (outside
    /// the sandbox), or why none could be.
    pub contexts: std::collections::BTreeMap<String, Result<(String, String), String>>,

    pub ws: Workspace,
    pub session: Session,
    pub theme: Theme,
    pub keymap: Keymap,
    pub focus: Pane,
    /// Cursor in the filtered cluster list.
    pub cluster_cursor: usize,
    /// Cursor in the filtered release list.
    pub release_cursor: usize,
    /// The navigator item the detail pane shows (indices into the workspace).
    pub selection: Option<Selection>,
    pub detail_scroll: u16,
    /// Lines the detail pane had when last drawn (scrolling stops at the last).
    pub detail_lines: usize,
    /// Program renders by release index (Python and TypeScript stacks).
    pub programs: std::collections::BTreeMap<usize, ProgramRender>,
    pub problem_cursor: usize,
    pub show_problems: bool,
    pub filter: String,
    pub input: Option<Input>,
    pub overlay: Option<Overlay>,
    pub message: Option<(Level, String)>,
    pub width: u16,
    pub height: u16,
    pub quit: bool,
    /// Wall clock in seconds as of the last tick (ages in the live view).
    pub now_s: i64,
    /// Ids of live views, so messages of a closed view are ignored.
    pub view_seq: u64,
    /// Each release's sync as the background drift last found it.
    pub states: std::collections::BTreeMap<super::monitor::ReleaseKey, super::monitor::Tracked>,
    /// Live rows per cluster of the releases (namespace "": all), kept by watchers.
    pub monitor: std::collections::BTreeMap<(String, String), super::live::ClusterPane>,
    /// Columns the detail pane is scrolled to the right.
    pub detail_hscroll: u16,
    /// Where the periodic refresh of release states goes on.
    pub resync_cursor: usize,
    /// Helm releases per cluster, asked when its pane is shown.
    pub helm: std::collections::BTreeMap<String, super::helm::HelmEntry>,
    /// `v`: the cluster pane shows each Helm release's values.
    pub helm_values: bool,
    /// A rollback being chosen: the history it was chosen from.
    pub rollback: Option<super::update_rollback::Pending>,
    /// Cluster name → the kinds its discovery lists (for `:KIND` and its completion).
    pub kinds: std::collections::BTreeMap<String, Vec<tierui_backends::kube::table::Resource>>,
    /// A `:KIND` waiting for its cluster's discovery: (cluster, word).
    pub pending_kind: Option<(String, String)>,
}

impl State {
    pub fn new(ws: Workspace, session: Session, theme: Theme, keymap: Keymap) -> State {
        let mut s = State {
            screen: Screen::Home,
            under: Vec::new(),
            live: std::collections::BTreeMap::new(),
            contexts: std::collections::BTreeMap::new(),

            ws,
            session,
            theme,
            keymap,
            focus: Pane::Clusters,
            cluster_cursor: 0,
            release_cursor: 0,
            selection: None,
            detail_scroll: 0,
            detail_lines: 0,
            programs: Default::default(),
            problem_cursor: 0,
            show_problems: true,
            filter: String::new(),
            input: None,
            overlay: None,
            message: None,
            width: 80,
            height: 24,
            quit: false,
            now_s: 0,
            view_seq: 0,
            states: Default::default(),
            monitor: Default::default(),
            detail_hscroll: 0,
            resync_cursor: 0,
            helm: Default::default(),
            helm_values: false,
            rollback: None,
            kinds: Default::default(),
            pending_kind: None,
        };
        if s.ws.clusters.is_empty() && !s.ws.releases.is_empty() {
            s.focus = Pane::Releases;
        }
        s.sync_selection();
        if s.ws.clusters.is_empty() && s.ws.releases.is_empty() {
            s.message = Some((Level::Warn, "no clusters or releases found here: add a tierui.yaml (see the README) or open another folder with --workspace".into()));
        }
        s
    }

    pub fn scope(&self) -> Scope {
        match self.screen {
            Screen::Home => Scope::Home,
            Screen::Walk(_) => Scope::Walkthrough,
            Screen::Editor(_) => Scope::Editor,
            Screen::Diff(_) => Scope::Diff,
            Screen::Live(_) => Scope::Live,
            Screen::Releases(_) => Scope::Releases,
            Screen::Logs(_) => Scope::Logs,
            Screen::Compare(_) => Scope::Compare,
        }
    }

    pub fn next_view_id(&mut self) -> u64 {
        self.view_seq += 1;
        self.view_seq
    }

    /// Opens a screen over the current one.
    pub fn push(&mut self, screen: Screen) {
        let old = std::mem::replace(&mut self.screen, screen);
        if !matches!(old, Screen::Home) {
            self.under.push(old);
        }
    }

    /// Closes the current screen, showing the one under it.
    pub fn pop(&mut self) {
        self.screen = self.under.pop().unwrap_or(Screen::Home);
    }

    pub fn editor_mut(&mut self) -> Option<&mut super::editor::EditorView> {
        match &mut self.screen {
            Screen::Editor(e) => Some(e),
            _ => None,
        }
    }

    pub fn diff_mut(&mut self) -> Option<&mut super::diff::DiffView> {
        match &mut self.screen {
            Screen::Diff(d) => Some(d),
            _ => None,
        }
    }

    /// Drops drift diffs of every open diff view (the files they came from changed).
    pub fn forget_drifts(&mut self) {
        for screen in std::iter::once(&mut self.screen).chain(self.under.iter_mut()) {
            if let Screen::Diff(d) = screen
                && matches!(d.drift, super::diff::Pending::Ready(_))
            {
                d.drift = super::diff::Pending::NotAsked;
                d.drift_desired = None;
                d.drift_prune.clear();
            }
        }
    }

    pub fn walk(&self) -> Option<&super::walkthrough::WalkView> {
        match &self.screen {
            Screen::Walk(w) => Some(w),
            _ => None,
        }
    }

    pub fn walk_mut(&mut self) -> Option<&mut super::walkthrough::WalkView> {
        match &mut self.screen {
            Screen::Walk(w) => Some(w),
            _ => None,
        }
    }

    pub fn session_speed(&self) -> f64 {
        self.session.speed.filter(|s| *s > 0.0).unwrap_or(1.0)
    }

    /// Something on screen changes with time (elapsed, ETA), so the runtime ticks.
    pub fn needs_tick(&self) -> bool {
        self.walk()
            .is_some_and(super::walkthrough::WalkView::running)
            || matches!(&self.screen, Screen::Editor(e) if e.unsaved_since.is_some())
            || matches!(&self.screen, Screen::Live(_) | Screen::Logs(_))
    }

    /// Indices of clusters that pass the filter (its text and `cluster:` term;
    /// a filter on release states hides every cluster).
    pub fn visible_clusters(&self) -> Vec<usize> {
        if self.filter.trim().is_empty() {
            return (0..self.ws.clusters.len()).collect();
        }
        let f = super::monitor::Filter::parse(&self.filter);
        if f.release_only() {
            return Vec::new();
        }
        self.ws
            .clusters
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                f.fields_ok(
                    &c.name,
                    "",
                    "",
                    &[&c.name, c.provisioner(), c.region.as_deref().unwrap_or("")],
                )
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Indices of releases that pass the filter (text, and `sync:`, `health:`,
    /// `cluster:`, `env:`, `mgr:` terms).
    pub fn visible_releases(&self) -> Vec<usize> {
        // Drawn several times a frame: no filter, no work.
        if self.filter.trim().is_empty() {
            return (0..self.ws.releases.len()).collect();
        }
        let f = super::monitor::Filter::parse(&self.filter);
        self.ws
            .releases
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                let env = r.environment.as_deref().unwrap_or("");
                let cluster = r.cluster.as_deref().unwrap_or("");
                if !f.fields_ok(
                    cluster,
                    env,
                    r.manager(),
                    &[
                        &r.service,
                        env,
                        r.manager(),
                        &r.namespace,
                        cluster,
                        r.summary.image_tag.as_deref().unwrap_or(""),
                    ],
                ) {
                    return false;
                }
                if f.sync.is_none() && f.health.is_none() {
                    return true;
                }
                let sh = self.shown(*i);
                f.sync_ok(sh.sync.as_ref()) && f.health_ok(sh.health.as_ref())
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Re-derives the selection from the focused list's cursor, clamping cursors.
    pub fn sync_selection(&mut self) {
        let clusters = self.visible_clusters();
        let releases = self.visible_releases();
        self.cluster_cursor = self.cluster_cursor.min(clusters.len().saturating_sub(1));
        self.release_cursor = self.release_cursor.min(releases.len().saturating_sub(1));
        self.problem_cursor = self
            .problem_cursor
            .min(self.ws.problems.len().saturating_sub(1));
        let from_clusters = clusters
            .get(self.cluster_cursor)
            .map(|i| Selection::Cluster(*i));
        let from_releases = releases
            .get(self.release_cursor)
            .map(|i| Selection::Release(*i));
        let next = match self.focus {
            Pane::Clusters => from_clusters.or(from_releases),
            Pane::Releases => from_releases.or(from_clusters),
            // Detail and problems keep showing the last navigator choice.
            _ => self.selection.filter(|s| match s {
                Selection::Cluster(i) => clusters.contains(i),
                Selection::Release(i) => releases.contains(i),
            }),
        };
        let next = next.or(from_clusters).or(from_releases);
        if next != self.selection {
            self.detail_scroll = 0;
            self.detail_hscroll = 0;
        }
        self.selection = next;
    }

    pub fn selected_cluster(&self) -> Option<&ClusterStack> {
        if let Some(w) = self.walk() {
            return self.ws.cluster(&w.plan.cluster);
        }
        match self.selection? {
            Selection::Cluster(i) => self.ws.clusters.get(i),
            Selection::Release(i) => self
                .ws
                .cluster(self.ws.releases.get(i)?.cluster.as_deref()?),
        }
    }

    pub fn selected_release_index(&self) -> Option<usize> {
        match self.selection? {
            Selection::Release(i) if i < self.ws.releases.len() => Some(i),
            _ => None,
        }
    }

    pub fn selected_release(&self) -> Option<&Release> {
        match self.selection? {
            Selection::Release(i) => self.ws.releases.get(i),
            Selection::Cluster(_) => None,
        }
    }

    pub fn problems_visible(&self) -> bool {
        self.show_problems && !self.ws.problems.is_empty()
    }

    /// Problems that belong to a file of the selection (shown in the detail pane).
    pub fn selection_files(&self) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        match self.selection {
            Some(Selection::Cluster(i)) => {
                if let Some(c) = self.ws.clusters.get(i) {
                    files.push(c.source_file().to_path_buf());
                    if let Some(p) = c.pulumi() {
                        files.push(p.project_dir.join("Pulumi.yaml"));
                        files.extend(p.checkpoint_file.clone());
                    }
                }
            }
            Some(Selection::Release(i)) => {
                if let Some(r) = self.ws.releases.get(i) {
                    match &r.source {
                        tierui_core::workspace::ReleaseSource::Pulumi(p) => {
                            files.push(p.config_file.clone());
                            files.push(p.project_dir.join("Pulumi.yaml"));
                        }
                        tierui_core::workspace::ReleaseSource::Kubectl { manifest_dir, .. } => {
                            files.push(manifest_dir.clone())
                        }
                    }
                }
            }
            None => {}
        }
        files
    }
}
