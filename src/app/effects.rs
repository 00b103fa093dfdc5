//! Carries out `update`'s effects on tokio tasks; results come back as messages.
//! Nothing here changes the state.

use std::sync::Arc;

use anyhow::Result;
use tierui_core::render::desired::Tools;
use tokio::sync::mpsc;

use super::state::State;
use super::theme::no_color;
use super::update::{Effect, Msg};
use crate::app::theme::Theme;
use tierui_backends::sandbox::clusters::Sandbox;
use tierui_backends::walkthrough::runner::{Command as WalkCommand, LocalOps, Runner};
use tierui_core::cloud::Cloud;
use tierui_core::context::Context;
use tierui_core::walkthrough::plan::Plan;

pub struct Effects {
    ctx: Context,
    tx: mpsc::UnboundedSender<Msg>,
    sandbox: Option<Arc<Sandbox>>,
    /// The sandbox's simulated clusters (started when first needed).
    pub sims: Option<Arc<tierui_backends::sandbox::clusters::SimClusters>>,
    /// Commands to the walkthrough runner while its screen is open.
    walk: Option<mpsc::UnboundedSender<WalkCommand>>,
    /// Watcher tasks per live view.
    watches: std::collections::HashMap<u64, Vec<tokio::task::AbortHandle>>,
    /// The monitor's watchers per cluster of the releases (namespace "": all).
    monitors: std::collections::HashMap<(String, String), tokio::task::AbortHandle>,
    /// Drifts in flight per cluster are bounded by these.
    permits: std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>,
    /// One client per cluster for the background drifts.
    clients: Arc<tierui_backends::release::Clients>,
    /// The workspace the background drifts render, shared rather than copied
    /// per drift (taken again at each start and reload).
    ws: Option<Arc<tierui_core::workspace::Workspace>>,
}

/// Background drifts one cluster answers at once.
const DRIFTS_PER_CLUSTER: usize = 2;

/// Renders what the cache holds and says how long it took.
fn warm(ws: &tierui_core::workspace::Workspace, tools: Tools) {
    let at = std::time::Instant::now();
    let n = tierui_core::render::desired::warm(ws, tools);
    tracing::info!(target: "perf", ms = at.elapsed().as_secs_f64() * 1000.0, releases = n, "desired objects rendered in the background");
}

/// Render a release with and without an edited file and diff the objects.
pub(crate) fn render_diff(
    ws: &tierui_core::workspace::Workspace,
    release: usize,
    edit: Option<(std::path::PathBuf, String)>,
    tools: Tools,
) -> Result<(tierui_core::render::diff::Report, Vec<String>), String> {
    let r = ws.releases.get(release).ok_or("release not found")?;
    let before = tierui_core::render::desired::render(ws, r, &Default::default(), tools)?;
    let after = match edit {
        Some((file, text)) => tierui_core::render::desired::render(
            ws,
            r,
            &std::iter::once((file, text)).collect(),
            tools,
        )?,
        None => before.clone(),
    };
    let mut notes = after.notes.clone();
    if after.how == tierui_core::render::desired::How::ConfigOnly {
        notes.push("objects could not be rendered: the edit diff shows the config change".into());
    }
    Ok((
        tierui_core::render::diff::diff_objects(&before.objects, &after.objects, &r.namespace),
        notes,
    ))
}

/// An edit of `file` (opened as `opened`, to become `new_text`) as a diff
/// screen: the file's change, the objects it changes, the save waiting.
/// `notes` go before the render's own.
fn edit_view(
    ws: &tierui_core::workspace::Workspace,
    release: usize,
    title: String,
    (file, opened, new_text): (std::path::PathBuf, crate::app::files::Opened, String),
    notes: Vec<String>,
    tools: Tools,
) -> Result<super::diff::DiffView, String> {
    let (report, render_notes) =
        render_diff(ws, release, Some((file.clone(), new_text.clone())), tools)?;
    let mut view = super::diff::DiffView::new(release, title, super::diff::DiffKind::Edit);
    view.edit = Some(super::diff::EditDiff {
        file,
        before: opened.text.clone(),
        after: new_text.clone(),
    });
    view.render = super::diff::Pending::Ready(report);
    view.notes = notes;
    view.notes.extend(render_notes);
    view.pending_save = Some((opened, new_text));
    Ok(view)
}

/// A release's title, or "" when it is gone.
fn title_of(ws: &tierui_core::workspace::Workspace, release: usize) -> String {
    ws.releases
        .get(release)
        .map(|r| r.title())
        .unwrap_or_default()
}

/// A quick edit as a diff screen with the save waiting.
pub(crate) fn quick_edit_diff(
    ws: &tierui_core::workspace::Workspace,
    release: usize,
    r: &tierui_core::workspace::Release,
    field: tierui_core::workspace::quick::Field,
    value: &tierui_core::workspace::edit::NewValue,
    tools: Tools,
) -> Result<super::diff::DiffView, String> {
    let root = ws.root.clone();
    let read = move |p: &std::path::Path| {
        std::fs::read_to_string(root.join(p)).map_err(|e| format!("{}: {e}", p.display()))
    };
    let (file, new_text) = tierui_core::workspace::quick::apply(r, field, value, &read)?;
    let opened = crate::app::files::open(&ws.root.join(&file))?;
    let title = format!(
        "{} · {} → {}",
        r.title(),
        field.label(),
        match value {
            tierui_core::workspace::edit::NewValue::Str(s) => s.clone(),
            tierui_core::workspace::edit::NewValue::Int(n) => n.to_string(),
        }
    );
    edit_view(
        ws,
        release,
        title,
        (file, opened, new_text),
        Vec::new(),
        tools,
    )
}

/// A Pulumi release's stack and where its files are.
fn pulumi_stack(
    ws: &tierui_core::workspace::Workspace,
    release: usize,
) -> Result<&tierui_core::workspace::model::PulumiStack, String> {
    let r = ws.releases.get(release).ok_or("release not found")?;
    match &r.source {
        tierui_core::workspace::ReleaseSource::Pulumi(ps) => Ok(ps),
        _ => Err(format!("{} is not a Pulumi release", r.title())),
    }
}

/// The deployments of a Pulumi release's stack in its file backend.
fn pulumi_history(
    ws: &tierui_core::workspace::Workspace,
    release: usize,
) -> Result<Vec<tierui_core::workspace::pulumi_history::Deployment>, String> {
    let ps = pulumi_stack(ws, release)?;
    let project = ps.project.as_ref().ok_or_else(|| {
        format!(
            "{}: Pulumi.yaml could not be read",
            ps.project_dir.display()
        )
    })?;
    tierui_core::workspace::pulumi_history::find_history(
        &ws.root.join(&ps.project_dir),
        &ws.root,
        project,
        &ps.stack,
    )
    .map_err(|e| e.to_string())
}

/// Two environments' rendered objects, field by field.
pub(crate) fn compare_objects(
    ws: &tierui_core::workspace::Workspace,
    left: usize,
    right: usize,
    tools: Tools,
) -> Result<Vec<tierui_core::render::compare::FieldRow>, String> {
    let render = |i: usize| {
        let r = ws.releases.get(i).ok_or("release not found")?;
        let d = tierui_core::render::desired::render(ws, r, &Default::default(), tools)
            .map_err(|e| format!("{}: {e}", r.title()))?;
        if d.how == tierui_core::render::desired::How::ConfigOnly {
            return Err(format!(
                "{}: its objects could not be rendered ({})",
                r.title(),
                d.notes.join("; ")
            ));
        }
        Ok::<_, String>(d.objects)
    };
    let (l, r) = (render(left)?, render(right)?);
    Ok(tierui_core::render::compare::field_rows(&l, &r))
}

/// A config value written into a release's stack file, as an edit diff with
/// its render diff (Ctrl-s saves it under the usual conflict rules).
pub(crate) fn promote_diff(
    ws: &tierui_core::workspace::Workspace,
    release: usize,
    key: &str,
    value: &str,
    tools: Tools,
) -> Result<super::diff::DiffView, String> {
    use tierui_core::workspace::edit::{self, Step};
    let ps = pulumi_stack(ws, release)?;
    let file = ps.config_file.clone();
    let opened = crate::app::files::open(&ws.root.join(&file))?;
    let new_text = edit::set_key(
        &opened.text,
        0,
        &[Step::Key("config".into())],
        key,
        &super::compare::config_value(value),
    )
    .map_err(|e| format!("{}: {e}", file.display()))?;
    if new_text == opened.text {
        return Err(format!("{} already has {key}: {value}", file.display()));
    }
    let title = format!("{} · {key} → {value} (promoted)", title_of(ws, release));
    edit_view(
        ws,
        release,
        title,
        (file, opened, new_text),
        Vec::new(),
        tools,
    )
}

/// The stack file with a deployment's config restored, as an edit diff with
/// its render diff (Ctrl-s saves it under the usual conflict rules).
pub(crate) fn restore_diff(
    ws: &tierui_core::workspace::Workspace,
    release: usize,
    d: &tierui_core::workspace::pulumi_history::Deployment,
    tools: Tools,
) -> Result<super::diff::DiffView, String> {
    use tierui_core::workspace::pulumi_history as history;
    let ps = pulumi_stack(ws, release)?;
    let file = ps.config_file.clone();
    let opened = crate::app::files::open(&ws.root.join(&file))?;
    let (new_text, mut notes) =
        history::restore_config(&opened.text, d).map_err(|e| format!("{}: {e}", file.display()))?;
    let changes = history::config_diff(&history::current_config(&opened.text)?, &d.config);
    if changes.is_empty() {
        return Err(format!(
            "{} already has the config of deployment #{}",
            file.display(),
            d.version
        ));
    }
    let mut lines: Vec<String> = vec![format!(
        "config of {}: {}",
        history::summary(d),
        changes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" · ")
    )];
    lines.append(&mut notes);
    let title = format!(
        "{} · config of deployment #{}",
        title_of(ws, release),
        d.version
    );
    edit_view(ws, release, title, (file, opened, new_text), lines, tools)
}

impl Effects {
    fn drafts(&self) -> std::path::PathBuf {
        self.ctx.dirs.workspace_state(&self.ctx.root).join("drafts")
    }

    fn backups(&self) -> std::path::PathBuf {
        self.ctx
            .dirs
            .workspace_state(&self.ctx.root)
            .join("backups")
    }

    pub fn new(
        ctx: Context,
        tx: mpsc::UnboundedSender<Msg>,
        sandbox: Option<Arc<Sandbox>>,
    ) -> Effects {
        let sims = sandbox.as_ref().map(|s| {
            Arc::new(tierui_backends::sandbox::clusters::SimClusters::new(
                s, ctx.demo,
            ))
        });
        Effects {
            ctx,
            tx,
            sandbox,
            sims,
            walk: None,
            watches: Default::default(),
            monitors: Default::default(),
            permits: Default::default(),
            clients: Default::default(),
            ws: None,
        }
    }

    pub fn run(&mut self, effect: Effect, state: &State) {
        match effect {
            Effect::ReloadWorkspace => self.reload_workspace(),
            Effect::LoadTheme(name) => self.load_theme(name),
            Effect::FetchLive(names) => self.fetch_live(names, state),
            Effect::FetchHelm(cluster) => self.fetch_helm(cluster, state),
            Effect::OpenEditor { rel } => self.open_editor(rel),
            // Handled by the event loop, which owns the terminal.
            Effect::ExternalEdit { .. } | Effect::PulumiUp { .. } => {}
            Effect::SaveFile {
                opened,
                text,
                close_editor,
            } => self.save_file(opened, text, close_editor),
            Effect::OverwriteFile { rel, text } => self.overwrite_file(rel, text),
            Effect::SaveDraft(draft) => self.save_draft(draft),
            Effect::RemoveDraft(path) => self.remove_draft(path),
            Effect::QuickEdit {
                release,
                field,
                value,
            } => self.quick_edit(release, field, value, state),
            Effect::RenderDiff { release, edit } => self.render_diff(release, edit, state),
            Effect::PlanMigration { release } => self.plan_migration(release, state),
            Effect::WriteMigration(plan) => {
                let (root, tx) = (self.ctx.root.clone(), self.tx.clone());
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(Msg::MigrationWritten(crate::cli::migrate::write(
                        &root, &plan,
                    )));
                });
            }
            Effect::Compare { left, right } => {
                let (ws, tx) = (state.ws.clone(), self.tx.clone());
                let tools = tierui_backends::tools::for_sandbox(self.ctx.sandbox);
                tokio::task::spawn_blocking(move || {
                    let result = compare_objects(&ws, left, right, tools);
                    let _ = tx.send(Msg::Compared {
                        left,
                        right,
                        result,
                    });
                });
            }
            Effect::PromoteConfig {
                release,
                key,
                value,
            } => {
                let (ws, tx) = (state.ws.clone(), self.tx.clone());
                let tools = tierui_backends::tools::for_sandbox(self.ctx.sandbox);
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(match promote_diff(&ws, release, &key, &value, tools) {
                        Ok(view) => Msg::DiffReady(Box::new(view)),
                        Err(e) => Msg::FileFailed(e),
                    });
                });
            }
            Effect::LoadPulumiHistory { release } => {
                let (ws, tx) = (state.ws.clone(), self.tx.clone());
                tokio::task::spawn_blocking(move || {
                    let result = pulumi_history(&ws, release);
                    let _ = tx.send(Msg::PulumiHistory { release, result });
                });
            }
            Effect::RestorePulumiConfig {
                release,
                deployment,
            } => {
                let (ws, tx) = (state.ws.clone(), self.tx.clone());
                let tools = tierui_backends::tools::for_sandbox(self.ctx.sandbox);
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(match restore_diff(&ws, release, &deployment, tools) {
                        Ok(view) => Msg::DiffReady(Box::new(view)),
                        Err(e) => Msg::FileFailed(e),
                    });
                });
            }
            Effect::RenderProgram { release } => self.render_program(release, state),
            Effect::RunSetup { release, command } => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let result = std::process::Command::new("sh")
                        .args(["-c", &command])
                        .stdin(std::process::Stdio::null())
                        .output()
                        .map_err(|e| format!("{command}: {e}"))
                        .and_then(|o| {
                            let text = String::from_utf8_lossy(if o.status.success() {
                                &o.stdout
                            } else {
                                &o.stderr
                            })
                            .into_owned();
                            tracing::info!(target: "program", "{command}: {}\n{text}", o.status);
                            let last = text
                                .lines()
                                .rev()
                                .find(|l| !l.trim().is_empty())
                                .unwrap_or("")
                                .to_string();
                            if o.status.success() {
                                Ok(format!("done: {command}"))
                            } else {
                                Err(format!("{command} failed ({}): {last}", o.status))
                            }
                        });
                    let _ = tx.send(Msg::SetupDone { release, result });
                });
            }
            Effect::DeclareClusters => {
                let (mut ws, tx) = (state.ws.clone(), self.tx.clone());
                let tools = tierui_backends::tools::for_sandbox(self.ctx.sandbox);
                tokio::task::spawn_blocking(move || {
                    tierui_backends::programs::declare_clusters(&mut ws, tools);
                    let _ = tx.send(Msg::ClustersDeclared(Box::new(ws)));
                });
            }
            Effect::DriftDiff { release } => self.drift_diff(release, state),
            Effect::Monitor(targets) => self.monitor(targets, state),
            Effect::SyncReleases(releases) => {
                for release in releases {
                    self.sync_release(release, state);
                }
            }
            Effect::StartWatches {
                view,
                targets,
                kinds,
            } => self.start_watches(view, targets, kinds, state),
            Effect::Discover { cluster } => {
                self.on_cluster(&cluster.clone(), state, move |client| async move {
                    let result = tierui_backends::kube::table::resources(&client).await;
                    Msg::Discovered { cluster, result }
                })
            }
            Effect::StopWatches { view } => {
                for h in self.watches.remove(&view).unwrap_or_default() {
                    h.abort();
                }
            }
            Effect::ShowObject {
                view,
                cluster,
                api_version,
                kind,
                namespace,
                name,
                describe,
            } => self.show_object(
                view,
                &cluster,
                ObjectRef {
                    api_version,
                    kind,
                    namespace,
                    name,
                },
                describe,
                state,
            ),
            Effect::ApplyRelease {
                release,
                objects,
                plan,
            } => self.apply_release(release, objects, plan, state),
            Effect::StartLogs { view, cluster, req } => self.start_logs(view, &cluster, req, state),
            Effect::LoadRevisions {
                cluster,
                namespace,
                deployment,
                release,
            } => self.on_cluster(&cluster.clone(), state, move |client| async move {
                let result =
                    tierui_backends::kube::rollback::history(&client, &namespace, &deployment)
                        .await
                        .map(Box::new);
                Msg::Revisions {
                    cluster,
                    release,
                    result,
                }
            }),
            Effect::Undo {
                cluster,
                namespace,
                deployment,
                revision,
                release,
                image,
            } => self.on_cluster(&cluster.clone(), state, move |client| async move {
                let result = tierui_backends::kube::rollback::undo(
                    &client,
                    &namespace,
                    &deployment,
                    revision,
                )
                .await;
                Msg::Undone {
                    cluster,
                    namespace,
                    deployment,
                    release,
                    image,
                    result,
                }
            }),
            Effect::SaveLogs { name, text } => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(Msg::LogsSaved(save_logs(&name, &text)));
                });
            }
            Effect::OpenWalk { cluster } => self.open_walk(cluster),
            Effect::Walk(cmd) => {
                if let Some(w) = &self.walk {
                    let _ = w.send(cmd);
                }
            }
            Effect::CloseWalk => {
                if let Some(w) = self.walk.take() {
                    let _ = w.send(WalkCommand::Quit);
                }
                // What the walkthrough created shows in the cluster pane.
                let _ = self.tx.send(Msg::RefreshLive);
            }
        }
    }

    // Files: reading the workspace, the theme, opening and saving files and drafts.

    fn reload_workspace(&self) {
        let (root, tx) = (self.ctx.root.clone(), self.tx.clone());
        let tools = tierui_backends::tools::for_sandbox(self.ctx.sandbox);
        tokio::task::spawn_blocking(move || {
            let ws = tierui_core::workspace::load(&root);
            let _ = tx.send(Msg::Reloaded(Box::new(ws.clone())));
            warm(&ws, tools);
        });
    }

    /// Renders the workspace's desired objects in the background (see
    /// [`tierui_core::render::desired::warm`]).
    pub fn warm_desired(&self, ws: tierui_core::workspace::Workspace) {
        let tools = tierui_backends::tools::for_sandbox(self.ctx.sandbox);
        tokio::task::spawn_blocking(move || warm(&ws, tools));
    }

    fn load_theme(&self, name: String) {
        let (config, tx) = (self.ctx.dirs.config.clone(), self.tx.clone());
        tokio::task::spawn_blocking(move || {
            let theme = Theme::load(Some(&name), &config, no_color())
                .map(Box::new)
                .map_err(|e| format!("{e:#}"));
            let _ = tx.send(Msg::ThemeLoaded(theme));
        });
    }

    fn open_editor(&self, rel: std::path::PathBuf) {
        let (root, drafts, tx) = (self.ctx.root.clone(), self.drafts(), self.tx.clone());
        tokio::task::spawn_blocking(move || {
            let abs = root.join(&rel);
            let _ = tx.send(match crate::app::files::open(&abs) {
                Ok(opened) => Msg::EditorOpened {
                    draft: crate::app::files::load_draft(&drafts, &abs),
                    rel,
                    opened,
                },
                Err(e) => Msg::FileFailed(e),
            });
        });
    }

    fn save_file(&self, opened: crate::app::files::Opened, text: String, close_editor: bool) {
        let (backups, readonly, tx) = (self.backups(), self.ctx.readonly, self.tx.clone());
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(Msg::Saved {
                result: crate::app::files::save(&opened, &text, &backups, readonly),
                close_editor,
            });
        });
    }

    fn overwrite_file(&self, rel: std::path::PathBuf, text: String) {
        let (abs, backups, readonly) =
            (self.ctx.root.join(&rel), self.backups(), self.ctx.readonly);
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(Msg::Saved {
                result: crate::app::files::overwrite(&abs, &text, &backups, readonly),
                close_editor: false,
            });
        });
    }

    fn save_draft(&self, draft: crate::app::files::Draft) {
        let dir = self.drafts();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = crate::app::files::save_draft(&dir, &draft) {
                tracing::warn!("draft of {} not saved: {e:#}", draft.path.display());
            }
        });
    }

    fn remove_draft(&self, path: std::path::PathBuf) {
        let dir = self.drafts();
        tokio::task::spawn_blocking(move || crate::app::files::remove_draft(&dir, &path));
    }

    // Rendering: what an edit would change, before it is saved.

    fn quick_edit(
        &self,
        release: usize,
        field: tierui_core::workspace::quick::Field,
        value: tierui_core::workspace::edit::NewValue,
        state: &State,
    ) {
        let Some(r) = state.ws.releases.get(release).cloned() else {
            return;
        };
        let (ws, tx) = (state.ws.clone(), self.tx.clone());
        let tools = tierui_backends::tools::for_sandbox(self.ctx.sandbox);
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(
                match quick_edit_diff(&ws, release, &r, field, &value, tools) {
                    Ok(view) => Msg::DiffReady(Box::new(view)),
                    Err(e) => Msg::FileFailed(e),
                },
            );
        });
    }

    fn render_diff(
        &self,
        release: usize,
        edit: Option<(std::path::PathBuf, String)>,
        state: &State,
    ) {
        let (ws, tx) = (state.ws.clone(), self.tx.clone());
        let tools = tierui_backends::tools::for_sandbox(self.ctx.sandbox);
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(Msg::RenderReady {
                release,
                result: render_diff(&ws, release, edit, tools),
            });
        });
    }

    /// Runs a release's program under the Pulumi SDK's mocks, off the UI thread.
    fn render_program(&self, release: usize, state: &State) {
        let Some(r) = state.ws.releases.get(release).cloned() else {
            return;
        };
        let (ws, tx) = (state.ws.clone(), self.tx.clone());
        let tools = tierui_backends::tools::for_sandbox(self.ctx.sandbox);
        tokio::task::spawn_blocking(move || {
            let result = tierui_core::render::desired::render(&ws, &r, &Default::default(), tools)
                .map(|d| (d.objects, d.notes));
            let _ = tx.send(Msg::ProgramRendered { release, result });
        });
    }

    // Clouds and clusters: live state, drift, apply, watches and objects.

    fn fetch_live(&self, names: Vec<String>, state: &State) {
        for name in names {
            let Some(cluster) = state.ws.cluster(&name).cloned() else {
                continue;
            };
            let (ctx, sandbox, tx) = (self.ctx.clone(), self.sandbox.clone(), self.tx.clone());
            tokio::spawn(async move {
                let result =
                    tierui_backends::cluster::fetch_cluster(&ctx, sandbox.as_deref(), &cluster)
                        .await;
                if sandbox.is_none() {
                    // With DescribeCluster's answer just had: not asked twice.
                    let known = result.as_ref().ok().and_then(|l| l.described());
                    let chosen = tierui_backends::release::context_with(&ctx, &cluster, known)
                        .await
                        .map(|ch| (ch.label(), ch.why));
                    let _ = tx.send(Msg::Context(name.clone(), chosen));
                }
                let _ = tx.send(Msg::Live(
                    name,
                    result.map(Box::new).map_err(|e| format!("{e:#}")),
                ));
            });
        }
    }

    /// The Helm releases installed in a cluster, from Helm's own records.
    fn fetch_helm(&self, cluster: String, state: &State) {
        let Some(c) = state.ws.cluster(&cluster).cloned() else {
            return;
        };
        let ws = self
            .ws
            .clone()
            .unwrap_or_else(|| Arc::new(state.ws.clone()));
        let (ctx, sims, clients, tx) = (
            self.ctx.clone(),
            self.sims.clone(),
            self.clients.clone(),
            self.tx.clone(),
        );
        tokio::spawn(async move {
            let result =
                tierui_backends::release::helm_releases(&clients, &ctx, sims.as_deref(), &ws, &c)
                    .await;
            if let Err(e) = &result {
                tracing::info!("helm releases of {cluster}: {e}");
            }
            let _ = tx.send(Msg::Helm { cluster, result });
        });
    }

    /// A release's migration and its proof, off the UI thread: to Pulumi from
    /// the manifests; to kubectl from the live objects (its cluster asked).
    fn plan_migration(&self, release: usize, state: &State) {
        let Some(r) = state.ws.releases.get(release).cloned() else {
            return;
        };
        let (ctx, sims, tx, ws) = (
            self.ctx.clone(),
            self.sims.clone(),
            self.tx.clone(),
            state.ws.clone(),
        );
        let tools = tierui_backends::tools::for_sandbox(ctx.sandbox);
        tokio::spawn(async move {
            let result = match &r.source {
                tierui_core::workspace::ReleaseSource::Kubectl { .. } => {
                    tokio::task::spawn_blocking(move || {
                        crate::cli::migrate::plan_to_pulumi(&ws, &r, &Default::default(), tools)
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|x| x)
                }
                tierui_core::workspace::ReleaseSource::Pulumi(_) => {
                    async {
                        let client =
                            tierui_backends::release::client_for(&ctx, sims.as_deref(), &ws, &r)
                                .await?;
                        crate::cli::migrate::plan_to_kubectl(&client, &ws, &r, None, tools).await
                    }
                    .await
                }
            };
            let _ = tx.send(Msg::MigrationPlanned {
                release,
                result: result.map(Box::new),
            });
        });
    }

    fn drift_diff(&self, release: usize, state: &State) {
        let Some(r) = state.ws.releases.get(release).cloned() else {
            return;
        };
        let (ctx, sims, tx) = (self.ctx.clone(), self.sims.clone(), self.tx.clone());
        tokio::spawn(async move {
            let result = async {
                // What is on disk is what apply sends.
                let root = ctx.root.clone();
                let (ws, r) = tokio::task::spawn_blocking(move || {
                    tierui_backends::release::reread(&root, &r)
                })
                .await
                .map_err(|e| e.to_string())??;
                let client =
                    tierui_backends::release::client_for(&ctx, sims.as_deref(), &ws, &r).await?;
                tierui_backends::release::drift(
                    &client,
                    &ws,
                    &r,
                    tierui_backends::tools::for_sandbox(ctx.sandbox),
                )
                .await
            }
            .await;
            let _ = tx.send(Msg::DriftReady {
                release,
                result: result.map(Box::new),
            });
        });
    }

    /// Starts a watcher (pods, Deployments, HPAs) for each new (cluster,
    /// namespace) of the releases and stops those no longer listed.
    fn monitor(&mut self, targets: Vec<(String, String)>, state: &State) {
        use tierui_backends::kube::watch::{Kind, Scope};
        // The workspace was (re)read: the drifts render this one, with new clients.
        self.ws = Some(Arc::new(state.ws.clone()));
        let clients = self.clients.clone();
        tokio::spawn(async move { clients.clear().await });
        self.monitors.retain(|k, task| {
            let keep = targets.contains(k);
            if !keep {
                task.abort();
            }
            keep
        });
        for (cluster, namespace) in targets {
            if self
                .monitors
                .contains_key(&(cluster.clone(), namespace.clone()))
            {
                continue;
            }
            let Some(c) = state.ws.cluster(&cluster).cloned() else {
                continue;
            };
            let scope = Scope {
                namespace: (!namespace.is_empty()).then(|| namespace.clone()),
                selector: None,
                resource: None,
            };
            let (name, ns) = (cluster.clone(), namespace.clone());
            let (name2, ns2) = (cluster.clone(), namespace.clone());
            let ws = self
                .ws
                .clone()
                .unwrap_or_else(|| Arc::new(state.ws.clone()));
            let task = self.spawn_watch(
                ws,
                c,
                scope,
                vec![Kind::Pods, Kind::Deployments, Kind::Hpas, Kind::Objects],
                move |update| Msg::MonitorUpdate {
                    cluster: name.clone(),
                    namespace: ns.clone(),
                    update,
                },
                move |error| Msg::MonitorFailed {
                    cluster: name2,
                    namespace: ns2,
                    error,
                },
            );
            self.monitors.insert((cluster, namespace), task);
        }
    }

    /// The drift of one release for the home screen's sync, as the diff
    /// computes it; at most [`DRIFTS_PER_CLUSTER`] at once per cluster.
    fn sync_release(&mut self, release: usize, state: &State) {
        let ws = match &self.ws {
            Some(ws) => ws.clone(),
            None => Arc::new(state.ws.clone()),
        };
        let Some(r) = ws.releases.get(release).cloned() else {
            return;
        };
        let key = super::monitor::key_of(&r);
        tracing::debug!(release = %r.title(), "release state: drift asked");
        let permits = self
            .permits
            .entry(r.cluster.clone().unwrap_or_default())
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(DRIFTS_PER_CLUSTER)))
            .clone();
        let (ctx, sims, clients, tx) = (
            self.ctx.clone(),
            self.sims.clone(),
            self.clients.clone(),
            self.tx.clone(),
        );
        tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = async {
                // Rendering may run a program: off the UI's thread.
                let (w, rr, tools) = (
                    ws.clone(),
                    r.clone(),
                    tierui_backends::tools::for_sandbox(ctx.sandbox),
                );
                let (desired, notes) = tokio::task::spawn_blocking(move || {
                    tierui_backends::release::desired_objects(&w, &rr, tools)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("render failed: {e}"))?;
                let client = clients
                    .for_release(&ctx, sims.as_deref(), &ws, &r)
                    .await
                    .map_err(|e| format!("cluster unreachable: {e}"))?;
                Ok::<_, String>(
                    tierui_backends::release::drift_of_desired(
                        &client,
                        desired,
                        notes,
                        &r.namespace,
                        &tierui_backends::release::applyset(&r),
                    )
                    .await,
                )
            }
            .await;
            let _ = tx.send(Msg::SyncReady {
                key,
                result: result.map(Box::new),
            });
        });
    }

    fn start_watches(
        &mut self,
        view: u64,
        targets: Vec<(String, tierui_backends::kube::watch::Scope)>,
        kinds: Vec<tierui_backends::kube::watch::Kind>,
        state: &State,
    ) {
        for (cluster, scope) in targets {
            let Some(c) = state.ws.cluster(&cluster).cloned() else {
                continue;
            };
            let name = cluster.clone();
            let task = self.spawn_watch(
                Arc::new(state.ws.clone()),
                c,
                scope,
                kinds.clone(),
                move |update| Msg::LiveUpdate {
                    view,
                    cluster: name.clone(),
                    update,
                },
                move |error| Msg::LiveFailed {
                    view,
                    cluster,
                    error,
                },
            );
            self.watches.entry(view).or_default().push(task);
        }
    }

    /// Connects to a cluster and runs watchers of `kinds` in `scope`, each
    /// update a message; a cluster that cannot be reached is one message.
    fn spawn_watch(
        &self,
        ws: Arc<tierui_core::workspace::Workspace>,
        c: tierui_core::workspace::ClusterStack,
        scope: tierui_backends::kube::watch::Scope,
        kinds: Vec<tierui_backends::kube::watch::Kind>,
        on_update: impl Fn(tierui_backends::kube::watch::Update) -> Msg + Send + Sync + 'static,
        on_fail: impl FnOnce(String) -> Msg + Send + 'static,
    ) -> tokio::task::AbortHandle {
        let (ctx, sims, tx) = (self.ctx.clone(), self.sims.clone(), self.tx.clone());
        tokio::spawn(async move {
            let client = async {
                let endpoint =
                    tierui_backends::release::endpoint(&ctx, sims.as_deref(), &ws, &c).await?;
                tierui_backends::kube::connect::client(&endpoint).await
            }
            .await;
            let client = match client {
                Ok(c) => c,
                Err(error) => {
                    let _ = tx.send(on_fail(error));
                    return;
                }
            };
            let sink: tierui_backends::kube::watch::Sink = Arc::new(move |update| {
                let _ = tx.send(on_update(update));
            });
            tierui_backends::kube::watch::run(client, scope, kinds, sink).await;
        })
        .abort_handle()
    }

    /// Connects to a cluster and runs `job` with the client, off the UI's
    /// thread; its message (or the connection's failure, as an error
    /// message) comes back.
    fn on_cluster<F, Fut>(&self, cluster: &str, state: &State, job: F)
    where
        F: FnOnce(kube::Client) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Msg> + Send,
    {
        let Some(c) = state.ws.cluster(cluster).cloned() else {
            let _ = self.tx.send(Msg::FileFailed(format!(
                "cluster {cluster} is not in the workspace"
            )));
            return;
        };
        let (ctx, sims, ws, tx) = (
            self.ctx.clone(),
            self.sims.clone(),
            state.ws.clone(),
            self.tx.clone(),
        );
        tokio::spawn(async move {
            let client = async {
                let endpoint =
                    tierui_backends::release::endpoint(&ctx, sims.as_deref(), &ws, &c).await?;
                tierui_backends::kube::connect::client(&endpoint).await
            }
            .await;
            let msg = match client {
                Ok(client) => job(client).await,
                Err(e) => Msg::FileFailed(format!("{}: {e}", c.name)),
            };
            let _ = tx.send(msg);
        });
    }

    /// Reads logs for a log view off the UI's thread; `StopWatches { view }`
    /// aborts the reader (and with it every stream).
    fn start_logs(
        &mut self,
        view: u64,
        cluster: &str,
        req: tierui_backends::kube::logs::LogRequest,
        state: &State,
    ) {
        let Some(c) = state.ws.cluster(cluster).cloned() else {
            let _ = self.tx.send(Msg::LogsFailed {
                view,
                error: format!("cluster {cluster} is not in the workspace"),
            });
            return;
        };
        let (ctx, sims, ws, tx) = (
            self.ctx.clone(),
            self.sims.clone(),
            state.ws.clone(),
            self.tx.clone(),
        );
        let task = tokio::spawn(async move {
            let run = async {
                let endpoint =
                    tierui_backends::release::endpoint(&ctx, sims.as_deref(), &ws, &c).await?;
                let client = tierui_backends::kube::connect::client(&endpoint).await?;
                let events = tx.clone();
                let sink: tierui_backends::kube::logs::Sink = Arc::new(move |event| {
                    let _ = events.send(Msg::Logs { view, event });
                });
                tierui_backends::kube::logs::run(client, req, sink).await
            }
            .await;
            if let Err(error) = run {
                let _ = tx.send(Msg::LogsFailed { view, error });
            }
        })
        .abort_handle();
        self.watches.entry(view).or_default().push(task);
    }

    fn show_object(
        &self,
        view: u64,
        cluster: &str,
        object: ObjectRef,
        describe: bool,
        state: &State,
    ) {
        let Some(c) = state.ws.cluster(cluster).cloned() else {
            return;
        };
        let (ctx, sims, ws, tx) = (
            self.ctx.clone(),
            self.sims.clone(),
            state.ws.clone(),
            self.tx.clone(),
        );
        tokio::spawn(async move {
            let text = async {
                let endpoint =
                    tierui_backends::release::endpoint(&ctx, sims.as_deref(), &ws, &c).await?;
                let client = tierui_backends::kube::connect::client(&endpoint).await?;
                if describe {
                    tierui_backends::kube::describe::describe(&client, &object).await
                } else {
                    tierui_backends::kube::describe::yaml(&client, &object).await
                }
            }
            .await;
            let _ = tx.send(Msg::ObjectText { view, text });
        });
    }

    fn apply_release(
        &self,
        release: usize,
        objects: Vec<serde_json::Value>,
        plan: tierui_backends::release::ApplyPlan,
        state: &State,
    ) {
        let Some(r) = state.ws.releases.get(release).cloned() else {
            return;
        };
        let (ctx, sims, ws, tx) = (
            self.ctx.clone(),
            self.sims.clone(),
            state.ws.clone(),
            self.tx.clone(),
        );
        tokio::spawn(async move {
            let result = async {
                let client =
                    tierui_backends::release::client_for(&ctx, sims.as_deref(), &ws, &r).await?;
                Ok::<_, String>(
                    tierui_backends::release::apply_objects(&client, &objects, &r, &plan).await,
                )
            }
            .await;
            let _ = tx.send(Msg::Applied { release, result });
        });
    }

    // The walkthrough: its runner lives while its screen is open.

    fn open_walk(&mut self, cluster: String) {
        if let Some(old) = self.walk.take() {
            let _ = old.send(WalkCommand::Quit);
        }
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        self.walk = Some(cmd_tx);
        let (ctx, sandbox, sims, tx) = (
            self.ctx.clone(),
            self.sandbox.clone(),
            self.sims.clone(),
            self.tx.clone(),
        );
        tokio::spawn(async move {
            if let Err(e) = open_walk(ctx, sandbox, sims, cluster, cmd_rx, tx.clone()).await {
                let _ = tx.send(Msg::WalkFailed(format!("{e:#}")));
            }
        });
    }
}

/// The object a live view asks to see as YAML or described.
type ObjectRef = tierui_backends::kube::describe::Target;

/// Plans the walkthrough, connects its cloud (the cluster's own profile and
/// region) and serves the runner until the screen closes. The workspace's
/// walkthrough lock is held meanwhile.
async fn open_walk(
    ctx: Context,
    sandbox: Option<Arc<Sandbox>>,
    sims: Option<Arc<tierui_backends::sandbox::clusters::SimClusters>>,
    cluster: String,
    commands: mpsc::UnboundedReceiver<WalkCommand>,
    tx: mpsc::UnboundedSender<Msg>,
) -> Result<()> {
    let planned = tierui_backends::walkthrough::target::plan_for(&ctx, &cluster)?;
    let state_dir = ctx.dirs.workspace_state(&ctx.root);
    let _lock = tierui_backends::walkthrough::session::lock_for_ui(&state_dir).await?;
    // In the sandbox the new cluster's API is its simulated cluster.
    let local = Arc::new(tierui_backends::walkthrough::local::FileLocal {
        dir: state_dir.join("kubeconfig"),
        connect: sims
            .map(|s| tierui_backends::walkthrough::local::sandbox_connector(ctx.clone(), s)),
    });
    match sandbox {
        Some(sb) => {
            let cloud = Arc::new(sb.cloud(&planned.plan.region));
            serve_walk(&ctx, planned.plan, cloud, local, sb.speed, commands, tx).await
        }
        None => {
            let aws = planned.aws(&ctx)?;
            let cloud = tierui_backends::aws::AwsCloud::connect_with(
                &ctx.options,
                &aws.region,
                aws.profile.as_deref(),
            )
            .await?;
            serve_walk(
                &ctx,
                planned.plan,
                Arc::new(cloud),
                local,
                1.0,
                commands,
                tx,
            )
            .await
        }
    }
}

async fn serve_walk<C: Cloud>(
    ctx: &Context,
    plan: Plan,
    cloud: Arc<C>,
    local: Arc<dyn LocalOps>,
    speed: f64,
    commands: mpsc::UnboundedReceiver<WalkCommand>,
    tx: mpsc::UnboundedSender<Msg>,
) -> Result<()> {
    // Whose account this is decides which progress may be resumed.
    let identity = cloud.identity().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let state_dir = ctx.dirs.workspace_state(&ctx.root);
    let opened = tierui_backends::walkthrough::session::open_progress(
        &state_dir,
        &plan,
        &identity,
        ctx.sandbox,
    )?;
    let (file, progress) = (opened.file, opened.progress);
    let mut view = super::walkthrough::WalkView::new(
        plan.clone(),
        progress.clone(),
        ctx.sandbox,
        file.display().to_string(),
        now_ms(),
    );
    for n in opened.notes {
        view.note(n);
    }
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
    let confirm = !ctx.sandbox;
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

/// Wall-clock milliseconds since the epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Writes a log view's lines to a new file in the current folder; an
/// existing file is never replaced.
fn save_logs(name: &str, text: &str) -> Result<String, String> {
    use std::io::Write as _;
    let path = std::env::current_dir()
        .map_err(|e| format!("save: the current folder: {e}"))?
        .join(name);
    let shown = path.display().to_string();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("save: {shown} exists (choose another name)")
            }
            _ => format!("save: {shown}: {e}"),
        })?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("save: {shown}: {e}"))?;
    Ok(shown)
}
