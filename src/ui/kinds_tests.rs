//! `:KIND` views driven through `update`: the command resolved against the
//! cluster's discovery (asked first when not known), the server's table
//! rendered into ratatui's TestBackend, Enter on an owner showing what it
//! owns and Esc coming back.

use super::tests::{demo_state, press, render};
use crate::app::live::Tab;
use crate::app::state::{Screen, State};
use crate::app::update::{Effect, Msg, update};
use tierui_backends::kube::table::{Column, Resource, TableRow};
use tierui_backends::kube::watch::{Change, Kind, Update};

fn res(group: &str, kind: &str, plural: &str, short: &[&str]) -> Resource {
    Resource {
        group: group.into(),
        version: "v1".into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        namespaced: true,
        short_names: short.iter().map(|s| s.to_string()).collect(),
    }
}

fn kinds() -> Vec<Resource> {
    vec![
        res("", "Pod", "pods", &["po"]),
        res(
            "",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            &["pvc"],
        ),
        res("apps", "StatefulSet", "statefulsets", &["sts"]),
        res("batch", "CronJob", "cronjobs", &["cj"]),
        res("batch", "Job", "jobs", &[]),
    ]
}

fn command(s: &mut State, line: &str) -> Vec<Effect> {
    press(s, ":");
    press(s, line);
    update(
        s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Enter,
        )),
    )
    .effects
}

fn row(name: &str, uid: &str, owner: Option<(&str, &str)>, cells: &[&str]) -> TableRow {
    TableRow {
        namespace: "dusk-service".into(),
        name: name.into(),
        uid: uid.into(),
        owners: owner
            .map(|(o, u)| vec![(o.to_string(), u.to_string())])
            .unwrap_or_default(),
        created: Some(0),
        cells: cells.iter().map(|c| c.to_string()).collect(),
    }
}

fn send(s: &mut State, view: u64, u: Update) {
    update(
        s,
        Msg::LiveUpdate {
            view,
            cluster: "dusk".into(),
            update: u,
        },
    );
}

fn view_id(s: &State) -> u64 {
    match &s.screen {
        Screen::Live(v) => v.id,
        _ => panic!("a live view"),
    }
}

fn columns(names: &[(&str, i64)]) -> Update {
    Update::Columns(
        names
            .iter()
            .map(|(n, p)| Column {
                name: n.to_string(),
                priority: *p,
            })
            .collect(),
    )
}

/// The dusk release selected on home.
fn dusk(s: &mut State) {
    let i =
        s.ws.releases
            .iter()
            .position(|r| r.service == "dusk-service")
            .unwrap();
    s.selection = Some(crate::app::state::Selection::Release(i));
}

#[test]
fn a_kind_asks_discovery_once_then_opens_the_servers_table() {
    let (_dir, mut s) = demo_state("default");
    dusk(&mut s);
    let effects = command(&mut s, "cj");
    assert!(
        matches!(effects.as_slice(), [Effect::Discover { cluster }] if cluster == "dusk"),
        "{effects:?}"
    );
    let out = update(
        &mut s,
        Msg::Discovered {
            cluster: "dusk".into(),
            result: Ok(kinds()),
        },
    );
    let watch = out.effects.iter().find_map(|e| match e {
        Effect::StartWatches { targets, kinds, .. } => Some((targets.clone(), kinds.clone())),
        _ => None,
    });
    let (targets, watched) = watch.expect("watchers start");
    assert_eq!(watched, [Kind::Table, Kind::Events]);
    let scope = &targets[0].1;
    assert_eq!(scope.namespace.as_deref(), Some("dusk-service"));
    assert_eq!(
        scope.resource.as_ref().map(|r| r.kind.as_str()),
        Some("CronJob")
    );
    let view = view_id(&s);
    send(
        &mut s,
        view,
        columns(&[
            ("Name", 0),
            ("Schedule", 0),
            ("Timezone", 0),
            ("Suspend", 0),
            ("Active", 0),
            ("Last Schedule", 0),
            ("Age", 0),
            ("Containers", 1),
        ]),
    );
    send(&mut s, view, Update::Table(Change::Relist));
    send(
        &mut s,
        view,
        Update::Table(Change::Upsert {
            row: row(
                "dusk-report",
                "u-cj",
                None,
                &[
                    "dusk-report",
                    "* * * * *",
                    "<none>",
                    "false",
                    "1",
                    "12s",
                    "5m",
                    "report",
                ],
            ),
        }),
    );
    send(&mut s, view, Update::Table(Change::Listed));
    insta::assert_snapshot!("kind_cronjobs_100x16", render(&mut s, 100, 16).backend());

    // Enter: the CronJob's Jobs; Enter again: the Job's pods; Esc twice back.
    press(&mut s, "\n");
    let Screen::Live(v) = &s.screen else { panic!() };
    assert_eq!(v.resource().map(|r| r.plural.as_str()), Some("jobs"));
    assert_eq!(
        v.owner.as_ref().map(|o| o.1.as_str()),
        Some("CronJob/dusk-report")
    );
    send(
        &mut s,
        view,
        columns(&[
            ("Name", 0),
            ("Status", 0),
            ("Completions", 0),
            ("Duration", 0),
            ("Age", 0),
        ]),
    );
    for (name, uid, owner) in [
        ("dusk-report-29433360", "u-j1", "u-cj"),
        ("by-hand", "u-j2", "someone-else"),
    ] {
        send(
            &mut s,
            view,
            Update::Table(Change::Upsert {
                row: row(
                    name,
                    uid,
                    Some(("CronJob/x", owner)),
                    &[name, "Complete", "1/1", "4s", "1m"],
                ),
            }),
        );
    }
    send(&mut s, view, Update::Table(Change::Listed));
    let screen = render(&mut s, 100, 16);
    let text = format!("{:?}", screen.backend());
    assert!(text.contains("dusk-report-29433360"), "{text}");
    assert!(!text.contains("by-hand"), "only the CronJob's own Jobs");
    assert!(text.contains("owned by CronJob/dusk-report"), "{text}");
    press(&mut s, "\x1b");
    let Screen::Live(v) = &s.screen else { panic!() };
    assert_eq!(v.resource().map(|r| r.plural.as_str()), Some("cronjobs"));
    assert!(v.owner.is_none());
    assert_eq!(v.tab, Tab::Kind);
}

#[test]
fn an_unknown_kind_is_the_servers_words_and_completion_offers_kinds() {
    let (_dir, mut s) = demo_state("default");
    dusk(&mut s);
    s.kinds.insert("dusk".into(), kinds());
    let effects = command(&mut s, "sealedsecrets");
    assert!(effects.is_empty(), "{effects:?}");
    let msg = s.message.as_ref().map(|m| m.1.clone()).unwrap_or_default();
    assert_eq!(
        msg,
        "dusk: the server doesn't have a resource type \"sealedsecrets\" (did you mean statefulsets?)"
    );
    // Tab after `:pv` completes to the claims' plural.
    press(&mut s, ":pv");
    press(&mut s, "\t");
    match &s.input {
        Some(crate::app::state::Input::Command { text, .. }) => assert_eq!(text, "pvc "),
        other => panic!("{other:?}"),
    }
}
