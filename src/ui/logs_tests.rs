//! The log view and the rollback questions, driven through `update` with
//! the readers' events and rendered into ratatui's TestBackend.

use super::tests::{demo_state, press, render};
use crate::app::state::{Overlay, Screen, State};
use crate::app::update::{Effect, Msg, update};
use serde_json::json;
use tierui_backends::kube::logs::{Line, LogEvent, Target};

const T0: i64 = 1_764_756_000_000_000_000; // 2025-12-03T10:00:00Z

/// Home with the first release selected, then `o`: the view and its effect.
fn open_release_logs(s: &mut State) -> (u64, tierui_backends::kube::logs::LogRequest) {
    press(s, "\t");
    let out = update(
        s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('o'),
        )),
    );
    let Some(Effect::StartLogs { view, req, .. }) = out.effects.first().cloned() else {
        panic!("o on a release starts a reader: {:?}", out.effects);
    };
    (view, req)
}

fn send(s: &mut State, view: u64, ev: LogEvent) {
    update(s, Msg::Logs { view, event: ev });
}

fn line(at_ms: i64, source: u32, text: &str) -> Line {
    Line {
        at: T0 + at_ms * 1_000_000,
        source,
        text: text.into(),
    }
}

fn two_pods(s: &mut State, view: u64) {
    for (id, pod) in [(0, "web-7d9f-abcde"), (1, "web-7d9f-fghij")] {
        send(
            s,
            view,
            LogEvent::Source {
                id,
                pod: pod.into(),
                container: "web".into(),
            },
        );
    }
    send(s, view, LogEvent::Listed);
    send(
        s,
        view,
        LogEvent::Lines(vec![
            line(0, 0, "Starting shop/web:v2"),
            line(5, 1, "Starting shop/web:v2"),
            line(10, 0, "listening on :8080"),
            line(20, 1, "GET /api/orders 200 12ms"),
            line(30, 0, "ERROR connection to db refused"),
        ]),
    );
}

#[test]
fn a_release_opens_merged_and_following() {
    let (_dir, mut s) = demo_state("default");
    let (view, req) = open_release_logs(&mut s);
    assert!(req.follow);
    assert!(matches!(req.target, Target::Selector(Some(_))), "{req:?}");
    two_pods(&mut s, view);
    // A line arriving late from one pod is merged into time order.
    send(
        &mut s,
        view,
        LogEvent::Lines(vec![line(15, 1, "late line")]),
    );
    send(
        &mut s,
        view,
        LogEvent::Note {
            source: 1,
            at: T0 + 40_000_000,
            text: "pod deleted".into(),
        },
    );
    insta::assert_snapshot!(
        "logs_release_merged_100x14",
        render(&mut s, 100, 14).backend()
    );
}

#[test]
fn pause_counts_new_lines_and_search_highlights() {
    let (_dir, mut s) = demo_state("default");
    let (view, _) = open_release_logs(&mut s);
    two_pods(&mut s, view);
    press(&mut s, " ");
    send(
        &mut s,
        view,
        LogEvent::Lines(vec![line(50, 0, "GET /health 200 1ms"), line(60, 1, "x")]),
    );
    press(&mut s, "/error\n");
    let Screen::Logs(v) = &s.screen else {
        panic!("the log view is on top");
    };
    assert_eq!(v.new_lines, 2);
    assert_eq!(v.hits, 1);
    insta::assert_snapshot!(
        "logs_paused_search_100x14",
        render(&mut s, 100, 14).backend()
    );
    // n moves to the match; Esc clears the search, then closes the view.
    press(&mut s, "n");
    press(&mut s, "\x1b");
    assert!(matches!(s.screen, Screen::Logs(_)));
    let out = update(
        &mut s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Esc,
        )),
    );
    assert!(out.effects.contains(&Effect::StopWatches { view }));
    assert!(matches!(s.screen, Screen::Home));
}

#[test]
fn previous_reads_again_without_following() {
    let (_dir, mut s) = demo_state("default");
    let (view, _) = open_release_logs(&mut s);
    two_pods(&mut s, view);
    let out = update(
        &mut s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('p'),
        )),
    );
    assert!(out.effects.contains(&Effect::StopWatches { view }));
    let Some(Effect::StartLogs { view: new, req, .. }) = out.effects.get(1).cloned() else {
        panic!("p reads again: {:?}", out.effects);
    };
    assert_ne!(new, view);
    assert!(req.previous && !req.follow);
    // The old reader's late lines are not the new view's.
    send(&mut s, view, LogEvent::Lines(vec![line(99, 0, "stale")]));
    let Screen::Logs(v) = &s.screen else {
        panic!("the log view is on top");
    };
    assert!(v.lines.is_empty());
    // A since choice reads the window, not a tail.
    let out = update(
        &mut s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('2'),
        )),
    );
    let Some(Effect::StartLogs { req, .. }) = out.effects.get(1).cloned() else {
        panic!("2 reads again: {:?}", out.effects);
    };
    assert_eq!((req.since_seconds, req.tail), (Some(300), None));
}

fn rs(rev: i64, image: &str, cause: Option<&str>) -> serde_json::Value {
    let mut ann = json!({"deployment.kubernetes.io/revision": rev.to_string()});
    if let Some(c) = cause {
        ann["kubernetes.io/change-cause"] = json!(c);
    }
    json!({
        "metadata": {"name": format!("web-{rev}"), "annotations": ann,
            "creationTimestamp": "2025-12-03T09:00:00Z",
            "ownerReferences": [{"controller": true, "uid": "u1"}]},
        "spec": {"template": {
            "metadata": {"labels": {"app": "web", "pod-template-hash": format!("h{rev}")}},
            "spec": {"containers": [{"name": "web", "image": image}]}
        }}
    })
}

fn history() -> Box<tierui_backends::kube::rollback::History> {
    let d = json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "u1",
            "annotations": {"deployment.kubernetes.io/revision": "3"}},
        "spec": {"template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "shop/web:v3"}]}
        }}
    });
    let sets = [
        rs(1, "shop/web:v1", Some("first release")),
        rs(2, "shop/web:v2", None),
        rs(3, "shop/web:v3", None),
    ];
    Box::new(tierui_backends::kube::rollback::history_of(&d, &sets))
}

#[test]
fn rollback_lists_revisions_shows_the_diff_and_asks() {
    let (_dir, mut s) = demo_state("default");
    s.now_s = 1_764_756_000;
    update(
        &mut s,
        Msg::Revisions {
            cluster: "dev".into(),
            release: None,
            result: Ok(history()),
        },
    );
    assert!(matches!(s.overlay, Some(Overlay::Choice { .. })));
    insta::assert_snapshot!(
        "rollback_revisions_110x30",
        render(&mut s, 110, 30).backend()
    );
    // c: revision 1 (newest first: a=3, b=2, c=1).
    press(&mut s, "c");
    let Some(Overlay::Confirm { lines, .. }) = &s.overlay else {
        panic!("a revision asks first");
    };
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('-') && l.contains("shop/web:v3"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('+') && l.contains("shop/web:v1"))
    );
    insta::assert_snapshot!("rollback_confirm_110x30", render(&mut s, 110, 30).backend());
    let out = update(
        &mut s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('y'),
        )),
    );
    assert!(
        matches!(
            out.effects.first(),
            Some(Effect::Undo { revision: 1, deployment, namespace, .. })
                if deployment == "web" && namespace == "shop"
        ),
        "{:?}",
        out.effects
    );
}

#[test]
fn rollback_is_refused_read_only() {
    let (_dir, mut s) = demo_state("default");
    s.session.readonly = true;
    press(&mut s, "\t");
    let out = update(
        &mut s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('u'),
        )),
    );
    assert!(out.effects.is_empty());
    let (_, m) = s.message.clone().unwrap();
    assert!(m.contains("read-only"), "{m}");
    // Even a question left open cannot act once the session is read-only.
    s.session.readonly = false;
    update(
        &mut s,
        Msg::Revisions {
            cluster: "dev".into(),
            release: None,
            result: Ok(history()),
        },
    );
    press(&mut s, "c");
    s.session.readonly = true;
    let out = update(
        &mut s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('y'),
        )),
    );
    assert!(out.effects.is_empty());
}

#[test]
fn a_pulumi_release_goes_back_to_an_earlier_deployments_config() {
    use tierui_core::workspace::pulumi_history;
    let (_dir, mut s) = demo_state("default");
    press(&mut s, "\tj");
    let out = update(
        &mut s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('u'),
        )),
    );
    let Some(Effect::LoadPulumiHistory { release }) = out.effects.first().cloned() else {
        panic!("u on a Pulumi release reads its history: {:?}", out.effects);
    };
    let r = &s.ws.releases[release];
    let tierui_core::workspace::ReleaseSource::Pulumi(ps) = &r.source else {
        panic!("day-service production is a Pulumi release");
    };
    let history = pulumi_history::find_history(
        &s.ws.root.join(&ps.project_dir),
        &s.ws.root,
        ps.project.as_ref().unwrap(),
        &ps.stack,
    )
    .unwrap();
    assert_eq!(history.len(), 2);
    update(
        &mut s,
        Msg::PulumiHistory {
            release,
            result: Ok(history),
        },
    );
    insta::assert_snapshot!("pulumi_history_110x30", render(&mut s, 110, 30).backend());
    // b: deployment #1 (v1.2.2).
    let out = update(
        &mut s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('b'),
        )),
    );
    let Some(Effect::RestorePulumiConfig { deployment, .. }) = out.effects.first().cloned() else {
        panic!("a deployment restores its config: {:?}", out.effects);
    };
    assert_eq!(deployment.version, 1);
    let view = crate::app::effects::restore_diff(
        &s.ws,
        release,
        &deployment,
        tierui_backends::tools::for_sandbox(true),
    )
    .unwrap();
    let edit = view.edit.as_ref().unwrap();
    assert!(
        edit.after.contains("day-service:image_tag: v1.2.2"),
        "{}",
        edit.after
    );
    // Only the tag changes; the secret is kept as it is, and never shown.
    assert_eq!(
        edit.before
            .replace("image_tag: v1.2.3", "image_tag: v1.2.2"),
        edit.after
    );
    assert!(
        view.notes[0].contains("~ day-service:image_tag: v1.2.3 → v1.2.2"),
        "{:?}",
        view.notes
    );
    assert!(view.notes.iter().all(|n| !n.contains("AAABAF")));
    assert!(view.pending_save.is_some(), "Ctrl-s saves it");
    let crate::app::diff::Pending::Ready(report) = &view.render else {
        panic!("the render diff is ready");
    };
    assert!(report.differs(), "the Deployment's image changes");
    update(&mut s, Msg::DiffReady(Box::new(view)));
    assert!(matches!(s.screen, Screen::Diff(_)));
    insta::assert_snapshot!(
        "pulumi_restore_diff_110x30",
        render(&mut s, 110, 30).backend()
    );
}

#[test]
fn after_a_rollback_the_manifests_tag_is_offered_as_a_quick_edit() {
    let (_dir, mut s) = demo_state("default");
    // dusk-service: kubectl manifests at v2.4.1.
    let i =
        s.ws.releases
            .iter()
            .position(|r| r.service == "dusk-service")
            .unwrap();
    update(
        &mut s,
        Msg::Undone {
            cluster: "dusk".into(),
            namespace: "dusk-service".into(),
            deployment: "dusk-service".into(),
            release: Some(i),
            image: Some("ghcr.io/example/dusk-service:v2.3.9".into()),
            result: Ok("deployment.apps/dusk-service rolled back to revision 1".into()),
        },
    );
    // The live view follows the rollout on its Deployments tab…
    assert!(matches!(&s.screen, Screen::Live(v) if v.tab == crate::app::live::Tab::Deployments));
    // …and the tag waits in the quick-edit prompt: Enter shows the diff.
    assert!(
        matches!(&s.input, Some(crate::app::state::Input::Prompt { field, text, .. })
            if *field == tierui_core::workspace::quick::Field::ImageTag && text == "v2.3.9"),
        "{:?}",
        s.input
    );
    let (_, m) = s.message.clone().unwrap();
    assert!(m.contains("the manifests still say v2.4.1"), "{m}");
    // A failure says why, and nothing is offered.
    let (_dir, mut s) = demo_state("default");
    update(
        &mut s,
        Msg::Undone {
            cluster: "dusk".into(),
            namespace: "dusk-service".into(),
            deployment: "dusk-service".into(),
            release: Some(i),
            image: None,
            result: Err("deployment dusk-service is paused: resume it first".into()),
        },
    );
    assert!(s.input.is_none());
    assert!(s.message.unwrap().1.contains("paused"));
}
