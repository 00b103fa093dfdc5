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
        // Five minutes before the view's clock (0): the AGE column counts on
        // from here, whatever age the server printed.
        created: Some(-300),
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

fn owned(s: &mut State, view: u64, kind: &'static str, rows: Vec<TableRow>) {
    let columns = match kind {
        "StatefulSet" => vec![("Name", 0), ("Ready", 0), ("Age", 0), ("Containers", 1)],
        "CronJob" => vec![
            ("Name", 0),
            ("Schedule", 0),
            ("Suspend", 0),
            ("Active", 0),
            ("Last Schedule", 0),
            ("Age", 0),
        ],
        "Job" => vec![
            ("Name", 0),
            ("Status", 0),
            ("Completions", 0),
            ("Duration", 0),
            ("Age", 0),
        ],
        _ => vec![
            ("Name", 0),
            ("Status", 0),
            ("Volume", 0),
            ("Capacity", 0),
            ("Access Modes", 0),
            ("StorageClass", 0),
            ("Age", 0),
        ],
    };
    send(
        s,
        view,
        Update::OwnedColumns {
            kind,
            columns: columns
                .into_iter()
                .map(|(n, p)| Column {
                    name: n.into(),
                    priority: p,
                })
                .collect(),
        },
    );
    send(
        s,
        view,
        Update::Owned {
            kind,
            change: Change::Relist,
        },
    );
    for row in rows {
        send(
            s,
            view,
            Update::Owned {
                kind,
                change: Change::Upsert { row },
            },
        );
    }
    send(
        s,
        view,
        Update::Owned {
            kind,
            change: Change::Listed,
        },
    );
}

fn claim(name: &str, status: &str) -> TableRow {
    row(
        name,
        &format!("u-{name}"),
        None,
        &[name, status, "pvc-0a1b", "2Gi", "RWO", "gp3", "3m"],
    )
}

#[test]
fn the_release_view_lists_its_statefulsets_jobs_cronjobs_and_claims_under_its_pods() {
    let (_dir, mut s) = demo_state("default");
    dusk(&mut s);
    let Some(crate::app::state::Selection::Release(i)) = s.selection else {
        panic!()
    };
    s.ws.releases[i].summary.objects.extend(
        [
            "StatefulSet/db",
            "CronJob/dusk-report",
            "PersistentVolumeClaim/dusk-uploads",
        ]
        .map(String::from),
    );
    let out = update(
        &mut s,
        Msg::Key(crossterm::event::KeyCode::Char('l').into()),
    );
    let watched = out.effects.iter().find_map(|e| match e {
        Effect::StartWatches { kinds, .. } => Some(kinds.clone()),
        _ => None,
    });
    assert_eq!(
        watched.expect("watchers start"),
        [
            Kind::Pods,
            Kind::Metrics,
            Kind::Hpas,
            Kind::Events,
            Kind::Owned
        ]
    );
    let view = view_id(&s);
    owned(
        &mut s,
        view,
        "StatefulSet",
        vec![
            row("db", "u-db", None, &["db", "2/3", "3m", "db"]),
            row("elsewhere", "u-e", None, &["elsewhere", "1/1", "9d", "x"]),
        ],
    );
    owned(
        &mut s,
        view,
        "CronJob",
        vec![row(
            "dusk-report",
            "u-cj",
            None,
            &["dusk-report", "*/5 * * * *", "False", "0", "2m", "3m"],
        )],
    );
    owned(
        &mut s,
        view,
        "Job",
        vec![
            row(
                "dusk-report-29433360",
                "u-j1",
                Some(("CronJob/dusk-report", "u-cj")),
                &["dusk-report-29433360", "Complete", "1/1", "4s", "2m"],
            ),
            row(
                "by-hand",
                "u-j2",
                None,
                &["by-hand", "Failed", "0/1", "9s", "1h"],
            ),
        ],
    );
    owned(
        &mut s,
        view,
        "PersistentVolumeClaim",
        vec![
            claim("dusk-uploads", "Bound"),
            claim("data-db-0", "Bound"),
            claim("data-db-1", "Bound"),
            claim("data-db-2", "Pending"),
            claim("data-dbx-0", "Bound"),
            claim("scratch", "Bound"),
        ],
    );
    let screen = render(&mut s, 110, 40);
    let text = format!("{:?}", screen.backend());
    for want in [
        "Other objects of the release (7)",
        "dusk-report-29433360",
        "data-db-2",
        "dusk-uploads",
        "*/5 * * * *",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    for not in ["elsewhere", "by-hand", "data-dbx-0", "scratch"] {
        assert!(!text.contains(not), "{not} is not the release's: {text}");
    }
    insta::assert_snapshot!("release_other_kinds_110x40", screen.backend());
}

#[test]
fn enter_on_a_statefulset_shows_its_pods_and_its_claims() {
    let (_dir, mut s) = demo_state("default");
    dusk(&mut s);
    s.kinds.insert("dusk".into(), kinds());
    command(&mut s, "sts");
    let view = view_id(&s);
    send(
        &mut s,
        view,
        columns(&[("Name", 0), ("Ready", 0), ("Age", 0)]),
    );
    send(
        &mut s,
        view,
        Update::Table(Change::Upsert {
            row: row("db", "u-db", None, &["db", "2/2", "3m"]),
        }),
    );
    send(&mut s, view, Update::Table(Change::Listed));
    let effects = update(&mut s, Msg::Key(crossterm::event::KeyCode::Enter.into())).effects;
    let watched = effects.iter().find_map(|e| match e {
        Effect::StartWatches { kinds, .. } => Some(kinds.clone()),
        _ => None,
    });
    assert_eq!(
        watched.expect("watchers restart"),
        [Kind::Table, Kind::Events, Kind::Owned]
    );
    send(
        &mut s,
        view,
        columns(&[("Name", 0), ("Ready", 0), ("Status", 0), ("Age", 0)]),
    );
    for n in ["db-0", "db-1"] {
        send(
            &mut s,
            view,
            Update::Table(Change::Upsert {
                row: row(
                    n,
                    &format!("u-{n}"),
                    Some(("StatefulSet/db", "u-db")),
                    &[n, "1/1", "Running", "3m"],
                ),
            }),
        );
    }
    send(&mut s, view, Update::Table(Change::Listed));
    owned(
        &mut s,
        view,
        "PersistentVolumeClaim",
        vec![
            claim("data-db-0", "Bound"),
            claim("data-db-1", "Bound"),
            // Scaled down from three: the claim stays, as on a real cluster.
            claim("data-db-2", "Bound"),
            claim("data-web-0", "Bound"),
        ],
    );
    let screen = render(&mut s, 100, 30);
    let text = format!("{:?}", screen.backend());
    for want in ["db-0", "db-1", "Claims of StatefulSet/db (3)", "data-db-2"] {
        assert!(text.contains(want), "{want} in {text}");
    }
    assert!(!text.contains("data-web-0"), "{text}");
    // Esc: back to the StatefulSets, and the claims' watcher stops.
    let effects = update(&mut s, Msg::Key(crossterm::event::KeyCode::Esc.into())).effects;
    let watched = effects.iter().find_map(|e| match e {
        Effect::StartWatches { kinds, .. } => Some(kinds.clone()),
        _ => None,
    });
    assert_eq!(watched.unwrap(), [Kind::Table, Kind::Events]);
}

#[test]
fn claims_of_a_set_are_named_template_set_ordinal() {
    use crate::app::live::claim_of_set;
    assert!(claim_of_set("data-db-0", "db"));
    assert!(claim_of_set("www-web-12", "web"));
    assert!(claim_of_set("a-b-web-3", "web"));
    assert!(!claim_of_set("db-0", "db"), "no template part");
    assert!(!claim_of_set("data-mydb-0", "db"));
    assert!(!claim_of_set("data-db-x", "db"));
    assert!(!claim_of_set("data-db-", "db"));
}
