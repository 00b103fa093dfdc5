//! `update` for the editing workflow: opening the editor, quick edits, the diff
//! screen, saving with conflicts and drafts. State changes only; I/O is effects.

use std::path::PathBuf;

use crossterm::event::KeyEvent;

use super::diff::{DiffKind, DiffView, EditDiff, Pending};
use super::editor::{EditorKey, EditorView};
use super::keymap::Action;
use super::state::{Choice, Input, Level, Overlay, Screen, Selection, State};
use super::update::{Effect, Outcome};
use crate::app::files::{Draft, Opened, SaveError};
use tierui_core::render::diff::Report;
use tierui_core::workspace::model::ReleaseSource;
use tierui_core::workspace::quick::Field;

fn message(s: &mut State, level: Level, text: impl Into<String>) -> Outcome {
    s.message = Some((level, text.into()));
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

fn with(effects: Vec<Effect>) -> Outcome {
    Outcome {
        effects,
        redraw: true,
    }
}

/// The file `e` opens for the current selection.
pub fn selection_file(s: &State) -> Option<PathBuf> {
    match s.selection? {
        Selection::Cluster(i) => Some(s.ws.clusters.get(i)?.source_file().to_path_buf()),
        Selection::Release(i) => match &s.ws.releases.get(i)?.source {
            ReleaseSource::Pulumi(p) => Some(p.config_file.clone()),
            // A chart: the environment's values file, else Chart.yaml.
            ReleaseSource::Kubectl {
                chart: Some(chart),
                manifest_dir,
                ..
            } => chart
                .values_for(s.ws.releases.get(i)?.environment.as_deref())
                .pop()
                .or_else(|| Some(manifest_dir.join("Chart.yaml"))),
            // The Deployment's file; other files via :edit.
            ReleaseSource::Kubectl {
                objects,
                manifest_dir,
                ..
            } => objects
                .iter()
                .find(|(_, m)| m.kind == "Deployment")
                .or(objects.first())
                .map(|(f, _)| f.clone())
                .or_else(|| Some(manifest_dir.join("deployment.yaml"))),
        },
    }
}

fn selected_release(s: &State) -> Option<usize> {
    match s.selection? {
        Selection::Release(i) => Some(i),
        Selection::Cluster(_) => None,
    }
}

/// Home-screen actions of the editing workflow.
pub fn home_act(s: &mut State, action: Action) -> Outcome {
    match action {
        Action::Edit => match selection_file(s) {
            Some(rel) => with(vec![Effect::OpenEditor { rel }]),
            None => message(
                s,
                Level::Info,
                "select a cluster or a release to edit its source",
            ),
        },
        Action::ExternalEdit => match selection_file(s) {
            Some(rel) => with(vec![Effect::ExternalEdit { rel }]),
            None => Outcome::default(),
        },
        Action::ShowDiff => match selected_release(s) {
            Some(i) => {
                let mut view = DiffView::new(i, s.ws.releases[i].title(), DiffKind::Render);
                view.render = Pending::Loading;
                view.drift = Pending::NotAsked;
                s.push(Screen::Diff(Box::new(view)));
                with(vec![Effect::RenderDiff {
                    release: i,
                    edit: None,
                }])
            }
            None => message(s, Level::Info, "select a release to see its diff"),
        },
        Action::SetTag | Action::SetReplicas | Action::SetHpaMin | Action::SetHpaMax => {
            let field = match action {
                Action::SetTag => Field::ImageTag,
                Action::SetReplicas => Field::Replicas,
                Action::SetHpaMin => Field::HpaMin,
                _ => Field::HpaMax,
            };
            let Some(i) = selected_release(s) else {
                return message(s, Level::Info, "select a release first");
            };
            let r = &s.ws.releases[i];
            if matches!(field, Field::HpaMin | Field::HpaMax) && r.summary.hpa_max.is_none() {
                return message(
                    s,
                    Level::Info,
                    format!("{} has no HorizontalPodAutoscaler", r.title()),
                );
            }
            s.input = Some(Input::Prompt {
                release: i,
                field,
                text: field.current(r),
            });
            Outcome {
                effects: Vec::new(),
                redraw: true,
            }
        }
        _ => Outcome::default(),
    }
}

/// Enter on a quick-edit prompt.
pub fn prompt_done(s: &mut State, release: usize, field: Field, text: &str) -> Outcome {
    let Some(r) = s.ws.releases.get(release) else {
        return Outcome::default();
    };
    match tierui_core::workspace::quick::validate(field, text, r) {
        Ok(value) => with(vec![Effect::QuickEdit {
            release,
            field,
            value,
        }]),
        Err(e) => message(s, Level::Error, e),
    }
}

pub fn editor_opened(s: &mut State, rel: PathBuf, opened: Opened, draft: Option<Draft>) -> Outcome {
    let text = opened.text.clone();
    let view = EditorView::new(rel.clone(), opened.clone(), &text, &s.ws);
    s.push(Screen::Editor(Box::new(view)));
    if let Some(d) = draft.filter(|d| d.text != opened.text) {
        let changed = if d.base_hash == opened.hash {
            ""
        } else {
            " (the file has changed on disk since)"
        };
        s.overlay = Some(Overlay::Choice {
            title: format!("Unsaved edits of {}", rel.display()),
            lines: vec![
                format!("tierui kept unsaved text of this file from an earlier session{changed}."),
                "r restores it into the editor (nothing is saved until Ctrl-s) · d discards it"
                    .into(),
            ],
            options: vec![
                ('r', "restore".into(), Choice::RestoreDraft(Box::new(d))),
                ('d', "discard".into(), Choice::DiscardDraft),
            ],
        });
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

pub fn editor_key(s: &mut State, ev: KeyEvent) -> Outcome {
    let readonly = s.session.readonly;
    let root = s.ws.root.clone();
    let Some(ed) = s.editor_mut() else {
        return Outcome::default();
    };
    match ed.key(ev, 1) {
        EditorKey::Edited => {
            if let Screen::Editor(ed) = &mut s.screen {
                ed.revalidate(&s.ws);
            }
            Outcome {
                effects: Vec::new(),
                redraw: true,
            }
        }
        EditorKey::Save => {
            if readonly {
                return message(s, Level::Error, SaveError::Readonly.to_string());
            }
            let (opened, text) = (ed.opened.clone(), ed.text());
            if text == opened.text {
                return message(s, Level::Info, "nothing to save");
            }
            let errors = ed.errors();
            let out = with(vec![Effect::SaveFile {
                opened,
                text,
                close_editor: false,
            }]);
            if errors > 0 {
                s.message = Some((
                    Level::Warn,
                    format!("saving with {errors} error(s) still in the file"),
                ));
            }
            out
        }
        EditorKey::Close => {
            if ed.dirty() {
                let rel = ed.rel.display().to_string();
                s.overlay = Some(Overlay::Choice {
                    title: format!("{rel} has unsaved changes"),
                    lines: vec!["s saves and closes · d discards the changes and closes · Esc keeps editing".into()],
                    options: vec![('s', "save".into(), Choice::SaveAndClose), ('d', "discard".into(), Choice::DiscardAndClose)],
                });
                Outcome {
                    effects: Vec::new(),
                    redraw: true,
                }
            } else {
                let abs = root.join(&ed.rel);
                s.pop();
                with(vec![Effect::RemoveDraft(abs)])
            }
        }
        EditorKey::Diff => {
            let edit = EditDiff {
                file: ed.rel.clone(),
                before: ed.opened.text.clone(),
                after: ed.text(),
            };
            let release = s.ws.releases.iter().position(|r| {
                r.source_file() == edit.file
                    || r.source_file()
                        .parent()
                        .is_some_and(|p| edit.file.starts_with(p))
                        && matches!(r.source, ReleaseSource::Kubectl { .. })
            });
            let mut view = DiffView::new(
                release.unwrap_or(usize::MAX),
                edit.file.display().to_string(),
                DiffKind::Edit,
            );
            let effects = match release {
                Some(i) => {
                    view.render = Pending::Loading;
                    vec![Effect::RenderDiff {
                        release: i,
                        edit: Some((edit.file.clone(), edit.after.clone())),
                    }]
                }
                None => Vec::new(),
            };
            view.edit = Some(edit);
            s.push(Screen::Diff(Box::new(view)));
            with(effects)
        }
        EditorKey::External => {
            let rel = ed.rel.clone();
            if ed.dirty() {
                return message(
                    s,
                    Level::Warn,
                    "save or undo the changes first: $EDITOR edits the file on disk",
                );
            }
            with(vec![Effect::ExternalEdit { rel }])
        }
        EditorKey::Help => {
            s.overlay = Some(Overlay::Help { scroll: 0 });
            Outcome {
                effects: Vec::new(),
                redraw: true,
            }
        }
        EditorKey::Nothing => Outcome::default(),
    }
}

/// Autosaves the editor's unsaved text as a draft (on ticks).
pub fn tick(s: &mut State, now_ms: u64) -> Outcome {
    let root = s.ws.root.clone();
    let Some(ed) = s.editor_mut() else {
        return Outcome::default();
    };
    if ed.unsaved_since.take().is_none() {
        return Outcome::default();
    }
    let abs = root.join(&ed.rel);
    if !ed.dirty() {
        return Outcome {
            effects: vec![Effect::RemoveDraft(abs)],
            redraw: false,
        };
    }
    let draft = Draft {
        path: abs,
        base_hash: ed.opened.hash,
        text: ed.text(),
        saved_at: now_ms,
    };
    Outcome {
        effects: vec![Effect::SaveDraft(draft)],
        redraw: false,
    }
}

pub fn choice(s: &mut State, c: Choice) -> Outcome {
    let root = s.ws.root.clone();
    match c {
        Choice::SaveAndClose => {
            let Some(ed) = s.editor_mut() else {
                return Outcome::default();
            };
            let (opened, text) = (ed.opened.clone(), ed.text());
            // Closing happens when the save succeeds.
            ed.unsaved_since = None;
            s.message = Some((Level::Info, "saving…".into()));
            with(vec![Effect::SaveFile {
                opened,
                text,
                close_editor: true,
            }])
        }
        Choice::DiscardAndClose => {
            let abs = s.editor_mut().map(|e| root.join(&e.rel));
            s.pop();
            with(abs.into_iter().map(Effect::RemoveDraft).collect())
        }
        Choice::RestoreDraft(d) => {
            if let Screen::Editor(ed) = &mut s.screen {
                ed.replace_text(&d.text, &s.ws);
                ed.unsaved_since = Some(1);
            }
            message(
                s,
                Level::Info,
                "draft restored: Ctrl-s saves it, Ctrl-d shows what it changes",
            )
        }
        Choice::DiscardDraft => {
            let abs = s.editor_mut().map(|e| root.join(&e.rel));
            with(abs.into_iter().map(Effect::RemoveDraft).collect())
        }
        Choice::Reload { disk } => {
            let Screen::Editor(ed) = &mut s.screen else {
                return Outcome::default();
            };
            let path = ed.opened.path.clone();
            match disk {
                Some(text) => {
                    ed.set_opened(Opened {
                        path,
                        hash: crate::app::files::hash(&text),
                        text: text.clone(),
                    });
                    ed.replace_text(&text, &s.ws);
                    message(
                        s,
                        Level::Info,
                        "reloaded from disk; your text is still in the draft until you save or close",
                    )
                }
                None => message(
                    s,
                    Level::Warn,
                    "the file was deleted on disk; Ctrl-s writes it again (overwrite)",
                ),
            }
        }
        Choice::Overwrite => {
            if s.session.readonly {
                return message(s, Level::Error, SaveError::Readonly.to_string());
            }
            let Some(ed) = s.editor_mut() else {
                return Outcome::default();
            };
            with(vec![Effect::OverwriteFile {
                rel: ed.rel.clone(),
                text: ed.text(),
            }])
        }
        Choice::ConflictDiff { disk } => {
            let Some(ed) = s.editor_mut() else {
                return Outcome::default();
            };
            let mut view = DiffView::new(
                usize::MAX,
                format!("{} — disk against your text", ed.rel.display()),
                DiffKind::Edit,
            );
            view.edit = Some(EditDiff {
                file: ed.rel.clone(),
                before: disk.unwrap_or_default(),
                after: ed.text(),
            });
            s.push(Screen::Diff(Box::new(view)));
            Outcome {
                effects: Vec::new(),
                redraw: true,
            }
        }
        Choice::LogContainer(c) => super::update_logs::container_chosen(s, c),
        Choice::Revision(n) => super::update_rollback::revision_chosen(s, n),
        Choice::UndoDeployment(d) => super::update_rollback::deployment_chosen(s, d),
        Choice::PulumiDeployment(n) => super::update_rollback::pulumi_chosen(s, n),
    }
}

/// A save finished (from the editor or a quick edit in the diff screen).
pub fn saved(s: &mut State, result: Result<Opened, SaveError>, close_editor: bool) -> Outcome {
    match result {
        Ok(opened) => {
            let rel = opened
                .path
                .strip_prefix(&s.ws.root)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let abs = opened.path.clone();
            if let Some(ed) = s.editor_mut() {
                ed.set_opened(opened);
                if close_editor {
                    s.pop();
                }
            } else if let Some(d) = s.diff_mut() {
                d.pending_save = None;
            }
            s.message = Some((
                Level::Info,
                format!("saved {rel} (backup in the state dir)"),
            ));
            with(vec![Effect::RemoveDraft(abs), Effect::ReloadWorkspace])
        }
        Err(SaveError::Conflict { path, disk }) => {
            let deleted = disk.is_none();
            s.overlay = Some(Overlay::Choice {
                title: format!("{} changed on disk", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
                lines: vec![
                    if deleted { "The file was deleted since you opened it.".into() } else { "Someone (or something) changed the file since you opened it. Nothing was written.".into() },
                    "r reloads the disk version · o overwrites it with your text · v shows the difference · Esc keeps editing".into(),
                ],
                options: vec![('r', "reload".into(), Choice::Reload { disk: disk.clone() }), ('o', "overwrite".into(), Choice::Overwrite), ('v', "view diff".into(), Choice::ConflictDiff { disk })],
            });
            Outcome {
                effects: Vec::new(),
                redraw: true,
            }
        }
        Err(e) => message(s, Level::Error, e.to_string()),
    }
}

pub fn render_ready(
    s: &mut State,
    release: usize,
    result: Result<(Report, Vec<String>), String>,
) -> Outcome {
    let Some(d) = s.diff_mut().filter(|d| d.release == release) else {
        return Outcome::default();
    };
    match result {
        Ok((r, notes)) => {
            d.render = Pending::Ready(r);
            d.notes = notes;
            d.focus_first_change();
        }
        Err(e) => d.render = Pending::Failed(e),
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

pub fn diff_act(s: &mut State, action: Action) -> Outcome {
    let readonly = s.session.readonly;
    let Some(d) = s.diff_mut() else {
        return Outcome::default();
    };
    match action {
        Action::Up | Action::Down | Action::Top | Action::Bottom => {
            let by: i64 = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::Top => -10_000,
                _ => 10_000,
            };
            let n = d.objects_len();
            if n > 0 {
                d.cursor = (d.cursor as i64 + by).clamp(0, n as i64 - 1) as usize;
                d.scroll = 0;
            }
        }
        Action::PageDown => d.scroll = d.scroll.saturating_add(10),
        Action::PageUp => d.scroll = d.scroll.saturating_sub(10),
        Action::NextChange => d.jump(1),
        Action::PrevChange => d.jump(-1),
        Action::SideBySide => d.side_by_side = !d.side_by_side,
        Action::ShowEdit if d.edit.is_some() => d.kind = DiffKind::Edit,
        Action::ShowEdit => {
            return message(
                s,
                Level::Info,
                "no edit: this diff compares the source with the cluster",
            );
        }
        Action::ShowRender => {
            d.kind = DiffKind::Render;
            d.focus_first_change();
        }
        Action::ShowDrift => {
            d.kind = DiffKind::Drift;
            d.focus_first_change();
            if d.drift == Pending::NotAsked && d.release != usize::MAX {
                d.drift = Pending::Loading;
                return with(vec![Effect::DriftDiff { release: d.release }]);
            }
        }
        Action::Save => {
            let Some((opened, text)) = d.pending_save.clone() else {
                return message(s, Level::Info, "nothing to save here");
            };
            if readonly {
                return message(s, Level::Error, SaveError::Readonly.to_string());
            }
            return with(vec![Effect::SaveFile {
                opened,
                text,
                close_editor: false,
            }]);
        }
        Action::Back | Action::Quit => {
            let unsaved = d.pending_save.is_some();
            s.pop();
            if unsaved {
                return message(s, Level::Info, "quick edit discarded: nothing was written");
            }
        }
        Action::Help => s.overlay = Some(Overlay::Help { scroll: 0 }),
        _ => return Outcome::default(),
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

/// A quick edit's diff is ready: show it, with the save waiting for Ctrl-s.
pub fn diff_ready(s: &mut State, view: DiffView) -> Outcome {
    // Name what the save writes, so a wrong selection shows before it acts.
    let target = view
        .pending_save
        .as_ref()
        .map(|(o, _)| {
            let rel = o.path.strip_prefix(&s.ws.root).unwrap_or(&o.path);
            format!(" to {} ({})", rel.display(), view.title)
        })
        .unwrap_or_default();
    s.push(Screen::Diff(Box::new(view)));
    message(
        s,
        Level::Info,
        format!(
            "Ctrl-s saves this edit{target} · 2 shows the objects it changes · Esc discards it"
        ),
    )
}

pub fn drift_ready(
    s: &mut State,
    release: usize,
    result: Result<Box<tierui_backends::release::Drift>, String>,
) -> Outcome {
    // The home screen's sync takes any fresh drift.
    if let Some(key) = s.ws.releases.get(release).map(super::monitor::key_of) {
        super::monitor::drift_in(s, &key, result.as_deref().map_err(String::as_str), false);
    }
    let Some(d) = s.diff_mut().filter(|d| d.release == release) else {
        return Outcome::default();
    };
    match result {
        Ok(drift) => {
            for (object, e) in &drift.refused {
                d.notes
                    .push(format!("the server refused the dry run of {object}: {e}"));
            }
            d.notes.extend(drift.notes.iter().cloned());
            let drift = *drift;
            d.drift_desired = Some(drift.desired);
            d.drift_prune = drift.prune;
            d.drift = Pending::Ready(drift.report);
            d.focus_first_change();
        }
        Err(e) => d.drift = Pending::Failed(e),
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

/// `a`: apply the release once its drift is known and confirmed.
pub fn ask_apply(s: &mut State, release: usize) -> Outcome {
    if s.session.readonly {
        return message(
            s,
            Level::Error,
            "--readonly: apply writes to the cluster, which read-only mode refuses",
        );
    }
    let Some(r) = s.ws.releases.get(release) else {
        return Outcome::default();
    };
    // Outside the sandbox a Pulumi release is applied by `pulumi up`, after
    // tierui's drift diff (which is the confirmation).
    let pulumi_up = matches!(r.source, ReleaseSource::Pulumi(_)) && !s.session.sandbox;
    let title = r.title();
    let cluster = r.cluster.clone().unwrap_or_default();
    let namespace = r.namespace.clone();
    let sandbox = s.session.sandbox;
    // The drift must be on screen first.
    let Some(d) = s.diff_mut().filter(|d| d.release == release) else {
        let mut view = DiffView::new(release, title, DiffKind::Drift);
        view.drift = Pending::Loading;
        s.push(Screen::Diff(Box::new(view)));
        s.message = Some((
            Level::Info,
            "this is what apply would change; press a again to apply".into(),
        ));
        return with(vec![Effect::DriftDiff { release }]);
    };
    let Pending::Ready(report) = &d.drift else {
        d.kind = DiffKind::Drift;
        if matches!(d.drift, Pending::NotAsked | Pending::Failed(_)) {
            d.drift = Pending::Loading;
            s.message = Some((
                Level::Info,
                "this is what apply would change; press a again to apply".into(),
            ));
            return with(vec![Effect::DriftDiff { release }]);
        }
        return message(s, Level::Info, "waiting for the drift diff");
    };
    if !report.differs() {
        return message(
            s,
            Level::Info,
            format!("{title}: the cluster matches; nothing to apply"),
        );
    }
    let mut lines = vec![format!(
        "{} created, {} changed{} objects on cluster {cluster}, namespace {namespace}{}.",
        report.count("created"),
        report.count("changed"),
        match report.count("deleted") {
            0 => String::new(),
            n => format!(", {n} deleted"),
        },
        if sandbox { " (sandbox)" } else { "" }
    )];
    lines.extend(apply_warnings(report, &d.drift_prune));
    lines.extend([
        if pulumi_up {
            "A Pulumi release: y runs `pulumi up --stack <stack> --yes` in its project (the terminal is handed over).".into()
        } else {
            "Server-side apply, field manager tierui; the live view follows the rollout.".into()
        },
        "y applies · n does nothing".into(),
    ]);
    s.overlay = Some(Overlay::Confirm {
        title: format!("Apply {title}?"),
        lines,
        details: Vec::new(),
        on_yes: if pulumi_up {
            super::state::Confirmed::PulumiUp(release)
        } else {
            super::state::Confirmed::Apply(release)
        },
    });
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

pub fn applied(
    s: &mut State,
    release: usize,
    result: Result<Vec<tierui_backends::kube::apply::Outcome>, String>,
) -> Outcome {
    // Whatever happened, the home screen's sync asks again.
    let resync = super::monitor::resync(s, vec![release]);
    let mut out = applied_outcome(s, release, result);
    out.effects.extend(resync);
    out
}

fn applied_outcome(
    s: &mut State,
    release: usize,
    result: Result<Vec<tierui_backends::kube::apply::Outcome>, String>,
) -> Outcome {
    match result {
        Ok(outcomes) if outcomes.iter().any(|o| o.conflict) => {
            ask_take_ownership(s, release, &outcomes)
        }
        Ok(outcomes) => {
            let failed: Vec<String> = outcomes
                .iter()
                .filter_map(|o| {
                    o.applied
                        .as_ref()
                        .err()
                        .map(|e| format!("{}: {e}", o.object))
                })
                .collect();
            if !failed.is_empty() {
                return message(
                    s,
                    Level::Error,
                    format!("apply failed for {}", failed.join("; ")),
                );
            }
            // The drift is stale now; the live view shows the rollout.
            if matches!(s.screen, Screen::Diff(_)) {
                s.pop();
            }
            let pruned = outcomes.iter().filter(|o| o.pruned).count();
            let n = outcomes.len() - pruned;
            let mut out =
                super::update_live::open_release(s, release, super::live::Tab::Deployments);
            s.message = Some((
                Level::Info,
                if pruned > 0 {
                    format!("applied {n} objects, pruned {pruned}; following the rollout")
                } else {
                    format!("applied {n} objects; following the rollout")
                },
            ));
            out.redraw = true;
            out
        }
        Err(e) => message(s, Level::Error, e),
    }
}

/// The server stopped on fields other managers own: say whose and which, and
/// offer to take them — a second question, as `--force-conflicts` is a second
/// decision in kubectl.
fn ask_take_ownership(
    s: &mut State,
    release: usize,
    outcomes: &[tierui_backends::kube::apply::Outcome],
) -> Outcome {
    let conflicted: Vec<&tierui_backends::kube::apply::Outcome> =
        outcomes.iter().filter(|o| o.conflict).collect();
    let mut lines = vec![format!(
        "The server did not apply {} object{}: other field managers own fields this apply changes.",
        conflicted.len(),
        if conflicted.len() == 1 { "" } else { "s" }
    )];
    for o in &conflicted {
        let e = o.applied.as_ref().err().map_or("", String::as_str);
        lines.push(format!("{}:", o.object));
        for l in tierui_backends::kube::apply::conflict_lines(e) {
            lines.push(format!("  {l}"));
        }
    }
    let applied = outcomes.iter().filter(|o| o.applied.is_ok()).count();
    lines.push(format!(
        "{applied} other object{} applied; nothing was pruned yet.",
        if applied == 1 { " was" } else { "s were" }
    ));
    lines.push("y takes ownership of those fields (kubectl apply --server-side --force-conflicts): the managers above lose them and may write them back.".into());
    lines.push("n leaves them with their managers".into());
    let title =
        s.ws.releases
            .get(release)
            .map(|r| r.title())
            .unwrap_or_default();
    s.overlay = Some(Overlay::Confirm {
        title: format!("Take ownership in {title}?"),
        lines,
        details: Vec::new(),
        on_yes: super::state::Confirmed::TakeOwnership {
            release,
            objects: conflicted.iter().map(|o| o.object.clone()).collect(),
        },
    });
    s.message = Some((
        Level::Warn,
        "apply stopped on fields other managers own".into(),
    ));
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

/// What the apply question must say beyond counts: the objects it deletes
/// (apply-set members gone from the manifests), fields other managers own,
/// and client-side `kubectl apply` objects whose fields move to tierui.
fn apply_warnings(report: &Report, prune: &[serde_json::Value]) -> Vec<String> {
    use tierui_core::render::diff::{Change, ObjectKey};
    let mut lines = Vec::new();
    if !prune.is_empty() {
        let names: Vec<String> = prune
            .iter()
            .map(|o| ObjectKey::of(o, "").display())
            .collect();
        lines.push(format!(
            "Deletes {}: applied by tierui for this release before, gone from its manifests now.",
            names.join(", ")
        ));
    }
    let mut owners: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for o in &report.objects {
        for (m, p) in o.conflicts(tierui_backends::kube::apply::FIELD_MANAGER) {
            owners.entry(m).or_default().push(p);
        }
    }
    if !owners.is_empty() {
        let named: Vec<String> = owners
            .iter()
            .map(|(m, paths)| format!("{m} ({})", paths.join(", ")))
            .collect();
        lines.push(format!(
            "Fields owned by other field managers: {}. The server will stop on them; you are asked before tierui takes them.",
            named.join("; ")
        ));
    }
    let upgraded: Vec<String> = report
        .objects
        .iter()
        .filter(|o| o.upgrades_client_side_apply && o.change != Change::Same)
        .map(|o| o.key.display())
        .collect();
    if !upgraded.is_empty() {
        lines.push(format!(
            "{}: last applied by client-side kubectl apply; its fields move to tierui's field manager first, as kubectl apply --server-side does.",
            upgraded.join(", ")
        ));
    }
    lines
}
