//! `update` for rollbacks. A kubectl release: `u` on a Deployment (live
//! view) or on the release (home) lists the Deployment's revisions, shows the
//! chosen one's pod-template diff, asks, and rolls back as `kubectl rollout
//! undo --to-revision=N` does; then the Deployments tab follows the rollout and
//! the image tag can be written into the manifest as a quick edit. A Pulumi
//! release: its file backend's deployment history, one chosen, its config
//! written back to `Pulumi.<stack>.yaml` through the usual diff and save.

use super::keymap::Action;
use super::live::Tab;
use super::state::{Choice, Confirmed, Input, Level, Overlay, Screen, State};
use super::update::{Effect, Outcome};
use tierui_backends::kube::rollback::{History, Revision};
use tierui_core::workspace::ReleaseSource;
use tierui_core::workspace::quick::Field;

/// A rollback being chosen.
#[derive(Debug, Clone)]
pub enum Pending {
    Deployment {
        cluster: String,
        release: Option<usize>,
        history: Box<History>,
    },
    Pulumi {
        release: usize,
        history: Vec<tierui_core::workspace::pulumi_history::Deployment>,
    },
}

fn message(s: &mut State, level: Level, text: impl Into<String>) -> Outcome {
    s.message = Some((level, text.into()));
    Outcome::redraw()
}

const READONLY: &str = "read-only session: rollbacks are off (start tierui without --readonly)";

/// `u` in a live view: the selected Deployment's revisions.
pub fn from_live(s: &mut State) -> Outcome {
    if s.session.readonly {
        return message(s, Level::Error, READONLY);
    }
    let Screen::Live(v) = &s.screen else {
        return Outcome::default();
    };
    let Some(cluster) = v.panes.first().map(|p| p.cluster.clone()) else {
        return Outcome::default();
    };
    let release = v.release;
    match v.selected() {
        Some((kind, namespace, name)) if kind == "Deployment" => {
            Outcome::with(Effect::LoadRevisions {
                cluster,
                namespace,
                deployment: name,
                release,
            })
        }
        _ => message(s, Level::Info, "undo: select a Deployment (tab 2)"),
    }
}

/// `u` on home: a kubectl release's Deployment (asks which when there are
/// several), or a Pulumi release's deployment history.
pub fn from_home(s: &mut State) -> Outcome {
    if s.session.readonly {
        return message(s, Level::Error, READONLY);
    }
    let Some(i) = s.selected_release_index() else {
        return message(s, Level::Info, "undo: select a release");
    };
    let r = &s.ws.releases[i];
    if let ReleaseSource::Pulumi(_) = &r.source {
        return Outcome::with(Effect::LoadPulumiHistory { release: i });
    }
    let Some(cluster) = r.cluster.clone() else {
        let t = format!("{} has no cluster (set it in tierui.yaml)", r.title());
        return message(s, Level::Warn, t);
    };
    let namespace = r.namespace.clone();
    let deployments: Vec<String> = r
        .summary
        .objects
        .iter()
        .filter_map(|o| o.strip_prefix("Deployment/"))
        .map(str::to_string)
        .collect();
    match deployments.as_slice() {
        [] => message(
            s,
            Level::Info,
            format!("undo: {} declares no Deployment", r.title()),
        ),
        [one] => Outcome::with(Effect::LoadRevisions {
            cluster,
            namespace,
            deployment: one.clone(),
            release: Some(i),
        }),
        many => {
            let options: Vec<(char, String, Choice)> = many
                .iter()
                .take(26)
                .enumerate()
                .map(|(n, d)| {
                    (
                        (b'a' + n as u8) as char,
                        d.clone(),
                        Choice::UndoDeployment(d.clone()),
                    )
                })
                .collect();
            let mut lines = options_lines(&options);
            lines.push("Esc: none".into());
            s.overlay = Some(Overlay::Choice {
                title: format!("Roll back which Deployment of {}?", r.title()),
                lines,
                options,
            });
            Outcome::redraw()
        }
    }
}

/// A Deployment chosen on home among several.
pub fn deployment_chosen(s: &mut State, name: String) -> Outcome {
    let Some(i) = s.selected_release_index() else {
        return Outcome::default();
    };
    let r = &s.ws.releases[i];
    let Some(cluster) = r.cluster.clone() else {
        return Outcome::default();
    };
    Outcome::with(Effect::LoadRevisions {
        cluster,
        namespace: r.namespace.clone(),
        deployment: name,
        release: Some(i),
    })
}

/// A choice's options as lines of its box: `a  label`.
pub fn options_lines(options: &[(char, String, Choice)]) -> Vec<String> {
    options
        .iter()
        .map(|(k, l, _)| format!("{k}  {l}"))
        .collect()
}

fn age(now: i64, at: Option<i64>) -> String {
    super::live::age(now, at)
}

fn images(r: &Revision) -> String {
    r.images
        .iter()
        .map(|(_, i)| i.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The revisions arrived: choose one (newest first; the current one marked).
pub fn revisions(
    s: &mut State,
    cluster: String,
    release: Option<usize>,
    result: Result<Box<History>, String>,
) -> Outcome {
    let h = match result {
        Ok(h) => h,
        Err(e) => return message(s, Level::Error, format!("undo: {e}")),
    };
    if h.revisions.len() < 2 {
        let t = format!(
            "undo: deployment {}/{} has no earlier revision to go back to",
            h.namespace, h.deployment
        );
        return message(s, Level::Info, t);
    }
    let now = s.now_s;
    let mut options = Vec::new();
    for (key, (n, r)) in (b'a'..).zip(h.revisions.iter().enumerate().take(26)) {
        let mut label = format!(
            "revision {} · {} · {}",
            r.revision,
            images(r),
            age(now, r.created)
        );
        if let Some(c) = &r.change_cause {
            label.push_str(&format!(" · {c}"));
        }
        if r.current {
            label.push_str(" (running)");
        }
        options.push((key as char, label, Choice::Revision(n)));
    }
    let mut lines = vec![
        "The ReplicaSets' history, as kubectl rollout history shows it; the next question shows the pod template's diff.".to_string(),
        String::new(),
    ];
    lines.extend(options_lines(&options));
    lines.push("Esc: none".into());
    s.overlay = Some(Overlay::Choice {
        title: format!(
            "Roll deployment {}/{} back to which revision?",
            h.namespace, h.deployment
        ),
        lines,
        options,
    });
    s.rollback = Some(Pending::Deployment {
        cluster,
        release,
        history: h,
    });
    Outcome::redraw()
}

/// A revision chosen: its diff against now, and the question.
pub fn revision_chosen(s: &mut State, n: usize) -> Outcome {
    let Some(Pending::Deployment { history: h, .. }) = &s.rollback else {
        return Outcome::default();
    };
    let h = h.clone();
    let Some(to) = h.revisions.get(n) else {
        return Outcome::default();
    };
    if let Some(why) = h.refusal(to) {
        let t = format!("undo: {why}");
        s.rollback = None;
        return message(s, Level::Info, t);
    }
    let diff = h.template_diff(to);
    let shown = 24;
    let mut lines = vec![
        format!(
            "Like kubectl rollout undo deployment/{} --to-revision={}: the pod template of revision {} ({}) replaces the running one; the controller rolls it out as a new revision.",
            h.deployment, to.revision, to.revision, images(to)
        ),
        "The manifests on disk will then differ from the cluster (the drift shows it); you can write the image back into them afterwards.".into(),
        String::new(),
        "Pod template: - now, + after the rollback".into(),
    ];
    lines.extend(diff.iter().take(shown).cloned());
    let details = if diff.len() > shown {
        diff[shown..].to_vec()
    } else {
        Vec::new()
    };
    if !details.is_empty() {
        lines.push(format!("… {} more lines (i shows them)", details.len()));
    }
    s.overlay = Some(Overlay::Confirm {
        title: format!(
            "Roll deployment {}/{} back to revision {}?",
            h.namespace, h.deployment, to.revision
        ),
        lines,
        details,
        on_yes: Confirmed::Undo(to.revision),
    });
    Outcome::redraw()
}

/// The operator said yes (or no).
pub fn confirmed(s: &mut State, revision: i64, yes: bool) -> Outcome {
    let Some(Pending::Deployment {
        cluster,
        release,
        history,
    }) = s.rollback.take()
    else {
        return Outcome::default();
    };
    if !yes {
        return message(s, Level::Info, "rollback cancelled; nothing changed");
    }
    if s.session.readonly {
        return message(s, Level::Error, READONLY);
    }
    let image = history
        .revision(revision)
        .and_then(|r| r.images.first().map(|(_, i)| i.clone()));
    s.message = Some((
        Level::Info,
        format!(
            "rolling deployment {}/{} back to revision {revision}…",
            history.namespace, history.deployment
        ),
    ));
    Outcome::with(Effect::Undo {
        cluster,
        namespace: history.namespace.clone(),
        deployment: history.deployment.clone(),
        revision,
        release,
        image,
    })
}

/// The tag of an image reference (`repo/web:v1` → `v1`; digests are not tags).
fn tag_of(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next()?;
    if image.contains('@') {
        return None;
    }
    last.split_once(':').map(|(_, t)| t)
}

/// The rollback was sent: the Deployments tab follows the rollout, and the
/// rolled-back tag is offered as a quick edit of the manifests.
#[allow(clippy::too_many_arguments)]
pub fn undone(
    s: &mut State,
    cluster: &str,
    namespace: &str,
    deployment: &str,
    release: Option<usize>,
    image: Option<String>,
    result: Result<String, String>,
) -> Outcome {
    let done = match result {
        Ok(d) => d,
        Err(e) => return message(s, Level::Error, format!("undo: {e}")),
    };
    let _ = (cluster, namespace, deployment);
    // Follow the rollout: the live view's Deployments tab (opened from home).
    let mut out = match (&s.screen, release) {
        (Screen::Live(_), _) => super::update_live::set_tab(s, Tab::Deployments),
        (_, Some(i)) => super::update_live::open_release(s, i, Tab::Deployments),
        _ => Outcome::redraw(),
    };
    out.redraw = true;
    let mut text = format!("{done}; following the rollout");
    // The manifests still say the old tag: offer to write the rolled-back one.
    let offer = release.and_then(|i| {
        let r = s.ws.releases.get(i)?;
        let tag = tag_of(image.as_deref()?)?.to_string();
        let now = Field::ImageTag.current(r);
        (now != tag).then_some((i, tag, now))
    });
    match offer {
        Some((i, tag, now)) => {
            text.push_str(&format!(
                " · the manifests still say {now}: Enter writes {tag} into them (diff first), Esc keeps them"
            ));
            s.input = Some(Input::Prompt {
                release: i,
                field: Field::ImageTag,
                text: tag,
            });
        }
        None => text
            .push_str(" · the manifests on disk now differ from the cluster (the drift shows it)"),
    }
    s.message = Some((Level::Info, text));
    out
}

/// A Pulumi release's deployments arrived: choose one whose config to restore.
pub fn pulumi_history(
    s: &mut State,
    release: usize,
    result: Result<Vec<tierui_core::workspace::pulumi_history::Deployment>, String>,
) -> Outcome {
    let title =
        s.ws.releases
            .get(release)
            .map(|r| r.title())
            .unwrap_or_default();
    let history = match result {
        Ok(h) => h,
        Err(e) => return message(s, Level::Error, format!("undo: {e}")),
    };
    let updates: Vec<usize> = history
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == "update")
        .map(|(i, _)| i)
        .collect();
    if updates.is_empty() {
        let t = format!(
            "undo: {title} has no deployment history in its file backend (.pulumi/history/<project>/<stack>/); Pulumi Cloud stacks keep theirs in the service"
        );
        return message(s, Level::Info, t);
    }
    let options: Vec<(char, String, Choice)> = (b'a'..)
        .zip(updates.iter().take(26))
        .map(|(k, i)| {
            (
                k as char,
                tierui_core::workspace::pulumi_history::summary(&history[*i]),
                Choice::PulumiDeployment(*i),
            )
        })
        .collect();
    let mut lines = vec![
        "Each `pulumi up` of the stack, newest first. The chosen one's config is written back into the stack file as an edit: its diff and the render diff first, Ctrl-s saves, then a (apply) deploys it.".to_string(),
        String::new(),
    ];
    lines.extend(options_lines(&options));
    lines.push("Esc: none".into());
    s.overlay = Some(Overlay::Choice {
        title: format!("Roll {title} back to which deployment's config?"),
        lines,
        options,
    });
    s.rollback = Some(Pending::Pulumi { release, history });
    Outcome::redraw()
}

/// A Pulumi deployment chosen: its config restored into the stack file (a
/// diff to look at before saving).
pub fn pulumi_chosen(s: &mut State, n: usize) -> Outcome {
    let Some(Pending::Pulumi { release, history }) = s.rollback.take() else {
        return Outcome::default();
    };
    let Some(d) = history.get(n).cloned() else {
        return Outcome::default();
    };
    if s.session.readonly {
        return message(s, Level::Error, READONLY);
    }
    s.message = Some((
        Level::Info,
        format!("restoring the config of deployment #{}…", d.version),
    ));
    Outcome::with(Effect::RestorePulumiConfig {
        release,
        deployment: Box::new(d),
    })
}

/// Keys that start a rollback.
pub fn act(s: &mut State, action: Action) -> Option<Outcome> {
    match action {
        Action::Undo if matches!(s.screen, Screen::Live(_)) => Some(from_live(s)),
        Action::ReleaseUndo => Some(from_home(s)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_from_image_references() {
        assert_eq!(tag_of("registry:5000/shop/web:v1"), Some("v1"));
        assert_eq!(tag_of("web"), None);
        assert_eq!(tag_of("web@sha256:abc"), None);
        assert_eq!(tag_of("registry:5000/web"), None);
    }
}
