//! `update` for the log view: opening it (a pod or Deployment of a live
//! view, a release from home), its keys, and the reader's events.

use super::keymap::Action;
use super::logs::{DEFAULT_TAIL, LogView, SINCE};
use super::state::{Choice, Input, Level, LogAsk, Overlay, Screen, State};
use super::update::{Effect, Outcome};
use tierui_backends::kube::logs::{LogEvent, LogRequest, Target};

fn message(s: &mut State, level: Level, text: impl Into<String>) -> Outcome {
    s.message = Some((level, text.into()));
    Outcome::redraw()
}

fn request(namespace: String, target: Target) -> LogRequest {
    LogRequest {
        namespace,
        target,
        container: None,
        previous: false,
        follow: true,
        since_seconds: None,
        tail: Some(DEFAULT_TAIL),
    }
}

/// Opens a log view over the current screen and starts its reader.
fn open(s: &mut State, cluster: String, title: String, req: LogRequest) -> Outcome {
    let id = s.next_view_id();
    let view = LogView::new(id, cluster.clone(), title, req.clone());
    s.push(Screen::Logs(Box::new(view)));
    Outcome {
        effects: vec![Effect::StartLogs {
            view: id,
            cluster,
            req,
        }],
        redraw: true,
    }
}

/// `o`/Enter in a live view: the selected pod's logs, or every pod of the
/// selected Deployment.
pub fn open_from_live(s: &mut State) -> Outcome {
    let Screen::Live(v) = &s.screen else {
        return Outcome::default();
    };
    let Some(cluster) = v.panes.first().map(|p| p.cluster.clone()) else {
        return Outcome::default();
    };
    let Some((kind, namespace, name)) = v.selected() else {
        return message(s, Level::Info, "no pod or Deployment selected");
    };
    let (title, target) = match kind.as_str() {
        "Pod" => (format!("pod {namespace}/{name}"), Target::Pod(name)),
        "Deployment" => (
            format!("deployment {namespace}/{name}"),
            Target::Deployment(name),
        ),
        _ => {
            return message(
                s,
                Level::Info,
                "logs: select a pod (tab 1) or a Deployment (tab 2)",
            );
        }
    };
    open(s, cluster, title, request(namespace, target))
}

/// `o` on home: every pod of the selected release, merged.
pub fn open_release(s: &mut State) -> Outcome {
    let Some(r) = s.selected_release() else {
        return message(s, Level::Info, "logs: select a release");
    };
    let Some(cluster) = r.cluster.clone() else {
        let t = format!("{} has no cluster (set it in tierui.yaml)", r.title());
        return message(s, Level::Warn, t);
    };
    let title = format!("release {} on {cluster}", r.title());
    let req = request(
        r.namespace.clone(),
        Target::Selector(r.summary.selector.clone()),
    );
    open(s, cluster, title, req)
}

/// Reads again with changed parameters (previous, container, since, tail).
fn reread(s: &mut State, change: impl FnOnce(&mut LogRequest)) -> Outcome {
    let id = s.next_view_id();
    let Screen::Logs(v) = &mut s.screen else {
        return Outcome::default();
    };
    let old = v.id;
    let mut req = v.req.clone();
    change(&mut req);
    // The previous container has ended: nothing to follow.
    req.follow = !req.previous;
    let cluster = v.cluster.clone();
    **v = v.restarted(id, req.clone());
    Outcome {
        effects: vec![
            Effect::StopWatches { view: old },
            Effect::StartLogs {
                view: id,
                cluster,
                req,
            },
        ],
        redraw: true,
    }
}

pub fn act(s: &mut State, action: Action) -> Outcome {
    let height = s.height.saturating_sub(4).max(1) as isize;
    let Screen::Logs(v) = &mut s.screen else {
        return Outcome::default();
    };
    match action {
        Action::Up => v.scroll(-1),
        Action::Down => v.scroll(1),
        Action::PageUp => v.scroll(-height),
        Action::PageDown => v.scroll(height),
        Action::Top => {
            v.pause();
            v.anchor = Some(0);
        }
        Action::Bottom => v.resume(),
        Action::LogPause => v.toggle_pause(),
        Action::LogWrap => v.wrap = !v.wrap,
        Action::LogTimestamps => v.timestamps = !v.timestamps,
        Action::NextMatch | Action::PrevMatch => {
            if v.search.is_empty() {
                return message(s, Level::Info, "search first with /");
            }
            if !v.next_match(action == Action::NextMatch) {
                let t = format!("no line matches \"{}\"", v.search);
                return message(s, Level::Info, t);
            }
        }
        Action::Filter => {
            let text = v.search.clone();
            s.input = Some(Input::Filter { text });
        }
        Action::LogPrevious => {
            let previous = !v.req.previous;
            return reread(s, |r| r.previous = previous);
        }
        Action::LogContainer => return pick_container(s),
        Action::LogSinceAll
        | Action::LogSince1m
        | Action::LogSince5m
        | Action::LogSince15m
        | Action::LogSince30m
        | Action::LogSince1h => {
            let i = [
                Action::LogSinceAll,
                Action::LogSince1m,
                Action::LogSince5m,
                Action::LogSince15m,
                Action::LogSince30m,
                Action::LogSince1h,
            ]
            .iter()
            .position(|a| *a == action)
            .unwrap_or(0);
            let since = SINCE[i].1;
            // A since choice reads the whole window, not the tail of it.
            return reread(s, |r| {
                r.since_seconds = since;
                r.tail = if since.is_some() {
                    None
                } else {
                    Some(DEFAULT_TAIL)
                };
            });
        }
        Action::LogTail => {
            let text = v.req.tail.map(|t| t.to_string()).unwrap_or_default();
            s.input = Some(Input::LogPrompt {
                what: LogAsk::Tail,
                text,
            });
        }
        Action::LogSave => {
            let text = v.default_file_name(s.now_s);
            s.input = Some(Input::LogPrompt {
                what: LogAsk::Save,
                text,
            });
        }
        Action::Back | Action::Quit => {
            if !v.search.is_empty() {
                v.set_search("");
                return Outcome::redraw();
            }
            let id = v.id;
            s.pop();
            return Outcome {
                effects: vec![Effect::StopWatches { view: id }],
                redraw: true,
            };
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

/// `c`: the containers the view has seen, lettered, and "every container".
fn pick_container(s: &mut State) -> Outcome {
    let Screen::Logs(v) = &s.screen else {
        return Outcome::default();
    };
    let mut names: Vec<String> = v.sources.iter().map(|x| x.container.clone()).collect();
    names.sort();
    names.dedup();
    if names.len() <= 1 && v.req.container.is_none() {
        return message(s, Level::Info, "one container: nothing to choose");
    }
    let mut options: Vec<(char, String, Choice)> =
        vec![('a', "every container".into(), Choice::LogContainer(None))];
    for (i, n) in names.iter().enumerate().take(24) {
        let key = (b'b' + i as u8) as char;
        options.push((key, n.clone(), Choice::LogContainer(Some(n.clone()))));
    }
    let mut lines = vec![
        format!(
            "now: {}",
            v.req.container.as_deref().unwrap_or("every container")
        ),
        String::new(),
    ];
    lines.extend(super::update_rollback::options_lines(&options));
    s.overlay = Some(Overlay::Choice {
        title: "Which container?".into(),
        lines,
        options,
    });
    Outcome::redraw()
}

pub fn container_chosen(s: &mut State, container: Option<String>) -> Outcome {
    reread(s, |r| r.container = container)
}

/// The answer to `s` or `T`.
pub fn prompt_done(s: &mut State, what: LogAsk, text: &str) -> Outcome {
    match what {
        LogAsk::Tail => {
            let text = text.trim();
            let tail = if text.is_empty() || text == "all" {
                None
            } else {
                match text.parse::<i64>() {
                    Ok(n) if n > 0 => Some(n),
                    _ => {
                        return message(
                            s,
                            Level::Error,
                            format!("\"{text}\" is not a number of lines (or \"all\")"),
                        );
                    }
                }
            };
            reread(s, |r| {
                r.tail = tail;
                r.since_seconds = None;
            })
        }
        LogAsk::Save => {
            let name = text.trim();
            if name.is_empty() || name.contains('/') || name.contains('\\') {
                return message(
                    s,
                    Level::Error,
                    "save: a file name in the current folder, without /",
                );
            }
            let Screen::Logs(v) = &s.screen else {
                return Outcome::default();
            };
            Outcome {
                effects: vec![Effect::SaveLogs {
                    name: name.to_string(),
                    text: v.text(),
                }],
                redraw: true,
            }
        }
    }
}

/// The reader's event for a view (late events of a closed view are dropped).
pub fn event(s: &mut State, view: u64, ev: LogEvent) -> Outcome {
    match find(s, view) {
        Some(v) => {
            v.apply(ev);
            Outcome::redraw()
        }
        None => Outcome::default(),
    }
}

pub fn failed(s: &mut State, view: u64, error: String) -> Outcome {
    match find(s, view) {
        Some(v) => {
            v.reading = super::logs::Reading::Failed(error);
            Outcome::redraw()
        }
        None => Outcome::default(),
    }
}

pub fn saved(s: &mut State, result: Result<String, String>) -> Outcome {
    match result {
        Ok(path) => message(s, Level::Info, format!("saved {path}")),
        Err(e) => message(s, Level::Error, e),
    }
}

/// The log view with this id, on top or under another screen (help, a
/// question) — never another view's.
fn find(s: &mut State, view: u64) -> Option<&mut LogView> {
    std::iter::once(&mut s.screen)
        .chain(s.under.iter_mut())
        .find_map(|sc| match sc {
            Screen::Logs(v) if v.id == view => Some(&mut **v),
            _ => None,
        })
}
