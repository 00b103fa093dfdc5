//! `:releases`: every release in one table with its sync and health, sortable,
//! like `argocd app list`. Enter goes to the release on the home screen.

use super::keymap::Action;
use super::state::{Pane, Screen, State};
use super::update::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Name,
    Cluster,
    Sync,
    Health,
    /// Newest change first.
    Change,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasesView {
    pub cursor: usize,
    pub sort: SortBy,
    pub descending: bool,
}

/// One row of the table, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub index: usize,
    pub service: String,
    pub env: String,
    pub cluster: String,
    pub manager: String,
    pub tag: String,
    pub sync: String,
    pub health: String,
    pub ready: String,
    pub hpa: String,
    pub change: String,
    /// For sorting: severity of sync and health (worst first), change time.
    sync_rank: u8,
    health_rank: u8,
    change_at: String,
}

fn ago(now_s: i64, at: &str) -> String {
    let Ok(t) = at.parse::<jiff::Timestamp>() else {
        return at.to_string();
    };
    let d = (now_s - t.as_second()).max(0);
    match d {
        0..60 => format!("{d}s ago"),
        60..3600 => format!("{}m ago", d / 60),
        3600..86400 => format!("{}h ago", d / 3600),
        _ => format!("{}d ago", d / 86400),
    }
}

/// `3m ago by tierui` (or `—`).
pub fn change_text(s: &State, c: Option<&tierui_backends::release_state::LastChange>) -> String {
    c.map_or("—".into(), |c| {
        format!("{} by {}", ago(s.now_s, &c.at), c.manager)
    })
}

pub fn rows(s: &State, v: &ReleasesView) -> Vec<Row> {
    use tierui_backends::release_state::{Health, Sync};
    let mut rows: Vec<Row> = s
        .visible_releases()
        .into_iter()
        .map(|i| {
            let r = &s.ws.releases[i];
            let sh = s.shown(i);
            Row {
                index: i,
                service: r.service.clone(),
                env: r.environment.clone().unwrap_or_else(|| "—".into()),
                cluster: r.cluster.clone().unwrap_or_else(|| "—".into()),
                manager: r.manager().into(),
                tag: r.summary.image_tag.clone().unwrap_or_else(|| "—".into()),
                sync: sh.sync.as_ref().map_or("…".into(), |x| match x {
                    Sync::OutOfSync { objects } => format!("OutOfSync ~{}", objects.len()),
                    other => other.word().into(),
                }),
                health: sh.health.as_ref().map_or("…", Health::word).into(),
                ready: sh
                    .live
                    .as_ref()
                    .map_or("—".into(), |l| format!("{}/{}", l.ready, l.desired)),
                hpa: sh
                    .live
                    .as_ref()
                    .and_then(|l| l.hpa.clone())
                    .unwrap_or_else(|| "—".into()),
                change: change_text(s, sh.last_change.as_ref()),
                sync_rank: match sh.sync {
                    Some(Sync::OutOfSync { .. }) => 0,
                    Some(Sync::Missing) => 1,
                    Some(Sync::Unknown { .. }) => 2,
                    None => 3,
                    Some(Sync::InSync) => 4,
                },
                health_rank: match sh.health {
                    Some(Health::Degraded { .. }) => 0,
                    Some(Health::Missing) => 1,
                    Some(Health::Progressing { .. }) => 2,
                    Some(Health::Unknown { .. }) => 3,
                    None => 4,
                    Some(Health::Healthy) => 5,
                },
                change_at: sh.last_change.map(|c| c.at).unwrap_or_default(),
            }
        })
        .collect();
    let name = |r: &Row| (r.service.clone(), r.env.clone(), r.cluster.clone());
    match v.sort {
        SortBy::Name => rows.sort_by_key(name),
        SortBy::Cluster => rows.sort_by_key(|r| (r.cluster.clone(), name(r))),
        SortBy::Sync => rows.sort_by_key(|r| (r.sync_rank, name(r))),
        SortBy::Health => rows.sort_by_key(|r| (r.health_rank, name(r))),
        SortBy::Change => {
            rows.sort_by(|a, b| b.change_at.cmp(&a.change_at).then(name(a).cmp(&name(b))))
        }
    }
    if v.descending {
        rows.reverse();
    }
    rows
}

pub fn open(s: &mut State) -> Outcome {
    if !matches!(s.screen, Screen::Releases(_)) {
        s.push(Screen::Releases(Box::new(ReleasesView {
            cursor: 0,
            sort: SortBy::Name,
            descending: false,
        })));
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}

fn sort(v: &mut ReleasesView, by: SortBy) {
    if v.sort == by {
        v.descending = !v.descending;
    } else {
        v.sort = by;
        v.descending = false;
    }
}

/// Keys of the table: move, sort, Enter to the release, Esc back.
pub fn act(s: &mut State, action: Action) -> Outcome {
    let Screen::Releases(v) = &s.screen else {
        return Outcome::default();
    };
    let len = rows(s, v).len();
    let page = usize::from(s.height.saturating_sub(6)).max(1);
    let Screen::Releases(v) = &mut s.screen else {
        return Outcome::default();
    };
    let step = |c: usize, by: i64| -> usize {
        (c as i64 + by).clamp(0, len.saturating_sub(1) as i64) as usize
    };
    match action {
        Action::Down => v.cursor = step(v.cursor, 1),
        Action::Up => v.cursor = step(v.cursor, -1),
        Action::PageDown => v.cursor = step(v.cursor, page as i64),
        Action::PageUp => v.cursor = step(v.cursor, -(page as i64)),
        Action::Top => v.cursor = 0,
        Action::Bottom => v.cursor = len.saturating_sub(1),
        Action::SortService => sort(v, SortBy::Name),
        Action::SortCluster => sort(v, SortBy::Cluster),
        Action::SortSync => sort(v, SortBy::Sync),
        Action::SortHealth => sort(v, SortBy::Health),
        Action::SortChange => sort(v, SortBy::Change),
        Action::Open => {
            let view = (**v).clone();
            let picked = rows(s, &view).get(view.cursor).map(|r| r.index);
            s.pop();
            if let Some(i) = picked {
                s.focus = Pane::Releases;
                if let Some(pos) = s.visible_releases().iter().position(|x| *x == i) {
                    s.release_cursor = pos;
                }
                s.sync_selection();
            }
        }
        Action::Back | Action::Quit => s.pop(),
        _ => return Outcome::default(),
    }
    if let Screen::Releases(v) = &mut s.screen {
        v.cursor = v.cursor.min(len.saturating_sub(1));
    }
    Outcome {
        effects: Vec::new(),
        redraw: true,
    }
}
