//! `=` on a release: its environment beside another of the same service —
//! config values, then the rendered objects field by field — and `P` to
//! promote a left value (a config value, the image tag, replicas, HPA bounds)
//! into the right environment as an edit with the usual diffs.

use tierui_core::render::compare::{ConfigRow, FieldRow, config_rows, promotable_field};
use tierui_core::workspace::edit::NewValue;

use super::diff::Pending;
use super::keymap::Action;
use super::state::{Level, Screen, State};
use super::update::{Effect, Outcome};

#[derive(Debug, Clone)]
pub struct CompareView {
    /// Release indexes: the selected environment and the one beside it.
    pub left: usize,
    pub right: usize,
    pub config: Vec<ConfigRow>,
    /// The rendered objects' differing fields (rendered off the UI thread).
    pub fields: Pending<Vec<FieldRow>>,
    pub cursor: usize,
}

impl CompareView {
    pub fn rows(&self) -> usize {
        self.config.len()
            + match &self.fields {
                Pending::Ready(f) => f.len(),
                _ => 0,
            }
    }
}

/// The other environments of release `i`'s service, in workspace order.
fn siblings(s: &State, i: usize) -> Vec<usize> {
    let Some(r) = s.ws.releases.get(i) else {
        return Vec::new();
    };
    s.ws.releases
        .iter()
        .enumerate()
        .filter(|(j, x)| *j != i && x.service == r.service)
        .map(|(j, _)| j)
        .collect()
}

fn message(s: &mut State, level: Level, text: impl Into<String>) -> Outcome {
    s.message = Some((level, text.into()));
    Outcome::redraw()
}

fn view(s: &State, left: usize, right: usize) -> CompareView {
    let (l, r) = (&s.ws.releases[left], &s.ws.releases[right]);
    CompareView {
        left,
        right,
        config: config_rows(l, r),
        fields: Pending::Loading,
        cursor: 0,
    }
}

/// `=` at home: the selected release beside its service's next environment.
pub fn open(s: &mut State, selected: Option<usize>) -> Outcome {
    let Some(i) = selected else {
        return message(
            s,
            Level::Info,
            "select a release to compare its environments",
        );
    };
    let Some(&right) = siblings(s, i).first() else {
        let r = &s.ws.releases[i];
        return message(
            s,
            Level::Info,
            format!(
                "{} has one environment: nothing to compare it with",
                r.service
            ),
        );
    };
    let v = view(s, i, right);
    s.push(Screen::Compare(Box::new(v)));
    Outcome::with(Effect::Compare { left: i, right })
}

/// The rendered objects' comparison arrived (for this pair, if still shown).
pub fn compared(
    s: &mut State,
    left: usize,
    right: usize,
    result: Result<Vec<FieldRow>, String>,
) -> Outcome {
    // The comparison may be under another screen (a promotion's diff).
    let screens = std::iter::once(&mut s.screen).chain(s.under.iter_mut());
    for screen in screens {
        if let Screen::Compare(v) = screen
            && v.left == left
            && v.right == right
        {
            v.fields = match result {
                Ok(rows) => Pending::Ready(rows),
                Err(e) => Pending::Failed(e),
            };
            return Outcome::redraw();
        }
    }
    Outcome::default()
}

pub fn act(s: &mut State, action: Action) -> Outcome {
    let Screen::Compare(v) = &s.screen else {
        return Outcome::default();
    };
    let (len, left, right, cursor) = (v.rows(), v.left, v.right, v.cursor);
    let page = usize::from(s.height.saturating_sub(8)).max(1);
    let step = |by: i64| (cursor as i64 + by).clamp(0, len.saturating_sub(1) as i64) as usize;
    let moved = match action {
        Action::Down => Some(step(1)),
        Action::Up => Some(step(-1)),
        Action::PageDown => Some(step(page as i64)),
        Action::PageUp => Some(step(-(page as i64))),
        Action::Top => Some(0),
        Action::Bottom => Some(len.saturating_sub(1)),
        _ => None,
    };
    if let Some(c) = moved {
        if let Screen::Compare(v) = &mut s.screen {
            v.cursor = c;
        }
        return Outcome::redraw();
    }
    match action {
        // Tab: the next other environment on the right.
        Action::NextPane => {
            let others = siblings(s, left);
            let next = others
                .iter()
                .position(|j| *j == right)
                .map_or(others.first(), |p| others.get((p + 1) % others.len()))
                .copied();
            match next {
                Some(r) if r != right => {
                    let v = view(s, left, r);
                    s.screen = Screen::Compare(Box::new(v));
                    Outcome::with(Effect::Compare { left, right: r })
                }
                _ => message(s, Level::Info, "no other environment to compare with"),
            }
        }
        Action::Promote => promote(s),
        Action::Back | Action::Quit => {
            s.pop();
            Outcome::redraw()
        }
        _ => Outcome::default(),
    }
}

/// `P`: the selected row's left value into the right environment.
fn promote(s: &mut State) -> Outcome {
    let Screen::Compare(v) = &s.screen else {
        return Outcome::default();
    };
    if s.session.readonly {
        return message(s, Level::Warn, "read-only: nothing is written (--readonly)");
    }
    let (right, cursor) = (v.right, v.cursor);
    let target = s.ws.releases[right].title();
    if let Some(row) = v.config.get(cursor).cloned() {
        if row.left == tierui_core::workspace::pulumi::SECRET {
            return message(
                s,
                Level::Info,
                format!(
                    "{} is a secret, encrypted per stack: set it in {target} with `pulumi config set --secret {}`",
                    row.key, row.key
                ),
            );
        }
        let Some(value) = row.promotable else {
            let why = if row.differs {
                "only plain values are promoted (not structures or defaults)"
            } else {
                "both environments have the same value"
            };
            return message(s, Level::Info, format!("{}: {why}", row.key));
        };
        return Outcome::with(Effect::PromoteConfig {
            release: right,
            key: row.key,
            value,
        });
    }
    let field = match &v.fields {
        Pending::Ready(f) => f.get(cursor - v.config.len()).cloned(),
        _ => None,
    };
    let Some(row) = field else {
        return Outcome::default();
    };
    let Some((field, value)) = promotable_field(&row) else {
        return message(
            s,
            Level::Info,
            format!(
                "{} {}: only image tags, replicas and HPA bounds (and config values) are promoted; edit it in {target}'s source",
                row.object, row.path
            ),
        );
    };
    match tierui_core::workspace::quick::validate(field, &value, &s.ws.releases[right]) {
        Ok(value) => Outcome::with(Effect::QuickEdit {
            release: right,
            field,
            value,
        }),
        Err(e) => message(s, Level::Error, e),
    }
}

/// The value to write for a promoted config value: a whole number as a
/// number, anything else as text (quoted when YAML needs it).
pub fn config_value(text: &str) -> NewValue {
    match text.parse::<i64>() {
        Ok(n) if n.to_string() == text => NewValue::Int(n),
        _ => NewValue::Str(text.to_string()),
    }
}

/// `M` at home: the release's migration to the other approach, worked out
/// with its proof before anything is written.
pub fn migrate(s: &mut State, selected: Option<usize>) -> Outcome {
    let Some(i) = selected else {
        return message(s, Level::Info, "select a release to migrate it");
    };
    if s.session.readonly {
        return message(s, Level::Warn, "read-only: nothing is written (--readonly)");
    }
    let r = &s.ws.releases[i];
    let to = match r.source {
        tierui_core::workspace::ReleaseSource::Kubectl { .. } => "a Pulumi YAML app stack",
        tierui_core::workspace::ReleaseSource::Pulumi(_) => "kubectl YAML (from the live objects)",
    };
    let text = format!("{}: working out its move to {to} and the proof…", r.title());
    s.message = Some((Level::Info, text));
    Outcome::with(Effect::PlanMigration { release: i })
}

/// The plan arrived: the proof as a diff screen, then (when it holds) the
/// question to write.
pub fn migration_planned(
    s: &mut State,
    release: usize,
    result: Result<Box<crate::cli::migrate::Plan>, String>,
) -> Outcome {
    let plan = match result {
        Ok(p) => p,
        Err(e) => return message(s, Level::Error, e),
    };
    let mut view = super::diff::DiffView::new(
        release,
        format!("{} · migration proof: {}", plan.release, plan.proof),
        super::diff::DiffKind::Render,
    );
    view.render = Pending::Ready(plan.report.clone());
    view.notes = plan.lines.clone();
    view.notes.extend(
        plan.handover
            .iter()
            .map(|a| format!("hand-over: pulumi {}", a.join(" "))),
    );
    view.notes.extend(
        plan.next
            .iter()
            .enumerate()
            .map(|(n, x)| format!("next {}: {x}", n + 1)),
    );
    s.push(Screen::Diff(Box::new(view)));
    if !plan.proven() {
        return message(
            s,
            Level::Warn,
            "the proof differs (shown): nothing is written — make the two agree first",
        );
    }
    let mut lines = vec![
        format!("Proof: {} — no differences.", plan.proof),
        "Files (none exists; nothing is overwritten):".to_string(),
    ];
    lines.extend(plan.files.iter().map(|(f, _)| format!("  {}", f.display())));
    s.overlay = Some(super::state::Overlay::Confirm {
        title: format!("Write the migration of {}?", plan.release),
        lines,
        details: Vec::new(),
        on_yes: super::state::Confirmed::WriteMigration(plan),
    });
    Outcome::redraw()
}

pub fn migration_written(
    s: &mut State,
    result: Result<Vec<std::path::PathBuf>, String>,
) -> Outcome {
    match result {
        Ok(files) => {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            s.message = Some((
                Level::Info,
                format!(
                    "wrote {} — the next steps are in the proof's notes",
                    names.join(", ")
                ),
            ));
            Outcome::with(Effect::ReloadWorkspace)
        }
        Err(e) => message(s, Level::Error, e),
    }
}

/// After the workspace was read again (a promotion saved): every comparison
/// in the screen stack recomputes its config and renders its objects again.
pub fn refresh(s: &mut State) -> Vec<Effect> {
    let mut effects = Vec::new();
    let n = s.ws.releases.len();
    let ws = s.ws.clone();
    let screens = std::iter::once(&mut s.screen).chain(s.under.iter_mut());
    for screen in screens {
        if let Screen::Compare(v) = screen
            && v.left < n
            && v.right < n
        {
            v.config = config_rows(&ws.releases[v.left], &ws.releases[v.right]);
            v.fields = Pending::Loading;
            v.cursor = v.cursor.min(v.config.len().saturating_sub(1));
            effects.push(Effect::Compare {
                left: v.left,
                right: v.right,
            });
        }
    }
    effects
}
