//! The home screen with releases in every sync and health state, at the three
//! sizes operators use, and the `:releases` table.

use tierui_backends::kube::rows::{DeploymentRow, HpaRow, MetricRow, PodRow};
use tierui_backends::kube::watch::{Change, Update};
use tierui_backends::release_state::{Changed, LastChange, Sync, Workloads};

use super::tests::{demo_state, press, render, sandbox_live};
use crate::app::monitor::{Tracked, key_of};
use crate::app::state::State;

fn dep(ns: &str, name: &str, image: &str, updated: i32, available: i32) -> DeploymentRow {
    DeploymentRow {
        namespace: ns.into(),
        name: name.into(),
        desired: 3,
        updated,
        ready: available,
        available,
        total: 3,
        image: image.into(),
        conditions: vec![],
        complete: updated == 3 && available == 3,
        generation: 1,
    }
}

fn pod(ns: &str, name: &str, owner: &str, status: &str) -> PodRow {
    PodRow {
        namespace: ns.into(),
        name: name.into(),
        ready: u32::from(status == "Running"),
        containers: 1,
        status: status.into(),
        restarts: 0,
        created: None,
        node: "".into(),
        owner: owner.into(),
        image: "".into(),
    }
}

fn hpa(ns: &str, name: &str, current: i32, desired: i32) -> HpaRow {
    HpaRow {
        namespace: ns.into(),
        name: name.into(),
        target: format!("Deployment/{name}"),
        min: 3,
        max: 10,
        current,
        desired,
        metrics: vec![MetricRow {
            kind: "Resource".into(),
            name: "cpu".into(),
            current: "71%".into(),
            target: "60%".into(),
        }],
        conditions: vec![],
        last_scale: None,
        generation: 1,
    }
}

/// Puts a release in a state: its drift's sync and the rows its namespace has.
fn put(
    s: &mut State,
    service: &str,
    env: Option<&str>,
    sync: Sync,
    rows: (Vec<DeploymentRow>, Vec<PodRow>, Vec<HpaRow>),
) {
    let r =
        s.ws.releases
            .iter()
            .find(|r| r.service == service && r.environment.as_deref() == env)
            .unwrap()
            .clone();
    let t = Tracked {
        sync: Some(sync),
        workloads: Some(Workloads {
            namespace: r.namespace.clone(),
            deployments: vec![service.into()],
            hpas: vec![service.into()],
            objects: Vec::new(),
        }),
        last_change: Some(LastChange {
            at: "2026-12-03T10:00:00Z".into(),
            manager: "tierui".into(),
            operation: "Apply".into(),
        }),
        ..Default::default()
    };
    s.states.insert(key_of(&r), t);
    let key = (r.cluster.clone().unwrap(), String::new());
    let pane = s.monitor.entry(key.clone()).or_insert_with(|| {
        crate::app::live::ClusterPane::new(
            key.0.clone(),
            tierui_backends::kube::watch::Scope {
                namespace: None,
                selector: None,
                resource: None,
            },
        )
    });
    let (d, p, h) = rows;
    for row in d {
        pane.apply(Update::Deployments(Change::Upsert { row }), 0);
    }
    for row in p {
        pane.apply(Update::Pods(Change::Upsert { row }), 0);
    }
    for (at, row) in h.into_iter().enumerate() {
        pane.apply(Update::Hpas(Change::Upsert { row }), at as i64);
    }
    pane.apply(Update::Deployments(Change::Listed), 0);
    pane.apply(Update::Pods(Change::Listed), 0);
    pane.apply(Update::Hpas(Change::Listed), 0);
}

/// day-service dev in sync and healthy; production out of sync and rolling
/// out; dusk-service crash-looping; dawn-service missing (dawn does not exist).
pub fn every_state() -> (tempfile::TempDir, State) {
    let (dir, mut s) = demo_state("default");
    sandbox_live(&mut s, vec![]);
    s.now_s = 1_796_292_300; // 2026-12-03T10:05:00Z
    let ok = |ns: &str, n: &str| {
        (
            vec![dep(ns, n, "ghcr.io/example/day-service:v1.3.0-rc.1", 3, 3)],
            (0..3)
                .map(|i| {
                    pod(
                        ns,
                        &format!("{n}-7d9f8-{i}"),
                        &format!("{n}-7d9f8"),
                        "Running",
                    )
                })
                .collect(),
            vec![hpa(ns, n, 3, 3)],
        )
    };
    put(
        &mut s,
        "day-service",
        Some("dev"),
        Sync::InSync,
        ok("day-service-dev", "day-service"),
    );
    put(
        &mut s,
        "day-service",
        Some("production"),
        Sync::OutOfSync {
            objects: vec![Changed {
                object: "Deployment/day-service".into(),
                change: "changed".into(),
                paths: vec!["spec.template.spec.containers[name=day-service].image".into()],
            }],
        },
        (
            vec![dep(
                "day-service",
                "day-service",
                "ghcr.io/example/day-service:v1.2.4",
                2,
                3,
            )],
            ok("day-service", "day-service").1,
            vec![
                hpa("day-service", "day-service", 4, 4),
                hpa("day-service", "day-service", 4, 5),
            ],
        ),
    );
    put(
        &mut s,
        "dusk-service",
        Some("production"),
        Sync::InSync,
        (
            vec![dep(
                "dusk-service",
                "dusk-service",
                "ghcr.io/example/dusk-service:v2.6.0-rc.1",
                3,
                2,
            )],
            vec![
                pod(
                    "dusk-service",
                    "dusk-service-5c8d7-a",
                    "dusk-service-5c8d7",
                    "Running",
                ),
                pod(
                    "dusk-service",
                    "dusk-service-6f64c-b",
                    "dusk-service-6f64c",
                    "CrashLoopBackOff",
                ),
            ],
            vec![hpa("dusk-service", "dusk-service", 3, 3)],
        ),
    );
    (dir, s)
}

#[test]
fn home_screen_shows_every_state_at_three_sizes() {
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        let (_dir, mut s) = every_state();
        // The out-of-sync, rolling-out release selected: its story on top.
        press(&mut s, "\tj");
        insta::assert_snapshot!(
            format!("states_home_{w}x{h}"),
            render(&mut s, w, h).backend()
        );
    }
}

#[test]
fn states_in_words_where_they_are_read() {
    let (_dir, mut s) = every_state();
    let text = |s: &mut State, w, h| format!("{:?}", render(s, w, h).backend());
    press(&mut s, "\tj");
    let screen = text(&mut s, 200, 60);
    assert!(screen.contains("day-service · production · OutOfSync · Progressing"));
    assert!(
        screen.contains(
            "Deployment/day-service ~spec.template.spec.containers[name=day-service].image"
        )
    );
    assert!(screen.contains("3/3 ready · HPA 4 → 5 (cpu 71%/60%)"));
    assert!(screen.contains("rollout v1.2.4 2/3 updated"));
    assert!(screen.contains("5m ago by tierui"));
    press(&mut s, "jj");
    let screen = text(&mut s, 200, 60);
    assert!(screen.contains("Degraded: CrashLoopBackOff (1 pod, e.g. dusk-service-6f64c-b)"));
    press(&mut s, "k");
    // dawn does not exist: its release is missing, not unknown.
    let screen = text(&mut s, 200, 60);
    assert!(screen.contains("dawn-service · Missing · Missing"));
}

#[test]
fn filters_by_state_and_the_releases_table() {
    let (_dir, mut s) = every_state();
    for (filter, want) in [
        ("sync:out", vec!["day-service production"]),
        ("health:degraded", vec!["dusk-service production"]),
        ("health:prog", vec!["day-service production"]),
        ("sync:missing", vec!["dawn-service"]),
        (
            "cluster:dusk",
            vec!["day-service dev", "dusk-service production"],
        ),
        (
            "cluster:dusk sync:in health:healthy",
            vec!["day-service dev"],
        ),
        ("mgr:kubectl dusk", vec!["dusk-service production"]),
    ] {
        s.filter = filter.into();
        let got: Vec<String> = s
            .visible_releases()
            .into_iter()
            .map(|i| {
                let r = &s.ws.releases[i];
                format!("{} {}", r.service, r.environment.as_deref().unwrap_or(""))
                    .trim()
                    .to_string()
            })
            .collect();
        assert_eq!(got, want, "filter {filter}");
    }
    s.filter.clear();
    press(&mut s, ":releases\n");
    insta::assert_snapshot!(
        "states_releases_table_120x20",
        render(&mut s, 120, 20).backend()
    );
    // S sorts by sync (out of sync first), H by health (degraded first).
    press(&mut s, "S");
    let first = |s: &State| match &s.screen {
        crate::app::state::Screen::Releases(v) => {
            let r = &crate::app::releases::rows(s, v)[0];
            format!("{} {}", r.service, r.env)
        }
        _ => String::new(),
    };
    assert_eq!(first(&s), "day-service production");
    press(&mut s, "H");
    assert_eq!(first(&s), "dusk-service production");
    // Enter goes to that release on the home screen.
    press(&mut s, "\n");
    assert!(matches!(s.screen, crate::app::state::Screen::Home));
    assert_eq!(
        s.selected_release().map(|r| r.service.as_str()),
        Some("dusk-service")
    );
}

#[test]
fn the_detail_pane_scrolls_sideways_to_what_it_cut() {
    let (_dir, mut s) = every_state();
    press(&mut s, "\tj\n");
    let screen = format!("{:?}", render(&mut s, 80, 24).backend());
    assert!(
        !screen.contains("[name=day-service].image"),
        "cut at 80 columns"
    );
    press(&mut s, "llllll");
    let screen = format!("{:?}", render(&mut s, 80, 24).backend());
    assert!(screen.contains("image"), "reached by scrolling: {screen}");
    press(&mut s, "hhhhhh");
    assert_eq!(s.detail_hscroll, 0);
}

#[test]
fn the_periodic_refresh_spreads_its_round_and_spares_watched_releases() {
    use crate::app::monitor::{
        RESYNC_ROUND_SECS, RESYNC_STEP_SECS, WATCHED_EVERY_ROUNDS, resync_next,
    };
    let (_dir, mut s) = every_state();
    let steps = (RESYNC_ROUND_SECS / RESYNC_STEP_SECS) as usize;
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    for _ in 0..WATCHED_EVERY_ROUNDS {
        let mut asked = Vec::new();
        for _ in 0..steps {
            for e in resync_next(&mut s).effects {
                if let crate::app::update::Effect::SyncReleases(v) = e {
                    asked.extend(v.clone());
                    // Its answer came back: the next round may ask it again.
                    for i in v {
                        let key = key_of(&s.ws.releases[i]);
                        let keep = s.states.get(&key).and_then(|t| t.sync.clone());
                        crate::app::monitor::drift_in(&mut s, &key, Err("x"), true);
                        if let Some(t) = s.states.get_mut(&key) {
                            t.sync = keep;
                        }
                    }
                }
            }
        }
        rounds.push(asked);
    }
    // A round asks only releases the watchers do not see: dawn-service (no
    // drift known: its cluster does not exist); the others' kinds are watched.
    assert_eq!(rounds[0], [2]);
    assert_eq!(rounds[1], [2]);
    // The last round of the cycle is the safety net: every release, in order.
    assert_eq!(rounds.last().cloned().unwrap_or_default(), [0, 1, 2, 3]);
}

#[test]
fn a_long_problem_is_cut_with_a_mark_and_shown_whole_when_selected() {
    let (_dir, mut s) = demo_state("default");
    let message = "did not find expected ',' or ']' while parsing a flow sequence started at line 6 column 7 — close the bracket";
    s.ws.problems.push(tierui_core::workspace::model::Problem {
        file: "k8s/dusk/broken.yaml".into(),
        line: 6,
        col: 7,
        severity: tierui_core::workspace::fields::Severity::Error,
        message: message.into(),
    });
    s.focus = crate::app::state::Pane::Problems;
    let screen = format!("{:?}", render(&mut s, 80, 24).backend());
    assert!(
        screen.contains("error k8s/dusk/broken.yaml:6:7 did not find"),
        "{screen}"
    );
    assert!(screen.contains('…'), "the panel marks the cut: {screen}");
    // Every word of the message is on screen (the detail pane wraps it).
    for word in message.split_whitespace() {
        assert!(screen.contains(word), "{word} missing: {screen}");
    }
}

#[test]
fn a_changed_object_of_a_release_asks_its_drift_again() {
    use tierui_backends::kube::rows::MetaRow;
    let (_dir, mut s) = every_state();
    let dusk =
        s.ws.releases
            .iter()
            .position(|r| r.service == "dusk-service")
            .unwrap();
    if let Some(w) = s
        .states
        .get_mut(&key_of(&s.ws.releases[dusk]))
        .and_then(|t| t.workloads.as_mut())
    {
        w.objects = vec!["ConfigMap/dusk-service".into()];
    }
    let cm = |name: &str, version: &str| Update::Objects {
        kind: "ConfigMap",
        change: Change::Upsert {
            row: MetaRow {
                namespace: "dusk-service".into(),
                name: format!("ConfigMap/{name}"),
                version: version.into(),
            },
        },
    };
    let marker = |kind: &'static str, change| Update::Objects { kind, change };
    let asks = |s: &mut State, u: Update| -> Vec<usize> {
        crate::app::monitor::update(s, "dusk", "", u)
            .effects
            .into_iter()
            .flat_map(|e| match e {
                crate::app::update::Effect::SyncReleases(v) => v,
                _ => Vec::new(),
            })
            .collect()
    };
    // The first list: nothing to ask (the drifts at start cover it).
    assert!(asks(&mut s, marker("ConfigMap", Change::Relist)).is_empty());
    assert!(asks(&mut s, cm("dusk-service", "10")).is_empty());
    assert!(asks(&mut s, marker("ConfigMap", Change::Listed)).is_empty());
    // Another kind's watcher lists after it: the ConfigMap's version stays.
    assert!(asks(&mut s, marker("Secret", Change::Relist)).is_empty());
    assert!(asks(&mut s, marker("Secret", Change::Listed)).is_empty());
    // The same version again (a relist): nothing.
    assert!(asks(&mut s, cm("dusk-service", "10")).is_empty());
    // A new version (kubectl edit): that release, and only it.
    assert_eq!(asks(&mut s, cm("dusk-service", "11")), vec![dusk]);
    // Its answer comes back; then the object is deleted: asked again.
    let key = key_of(&s.ws.releases[dusk]);
    crate::app::monitor::drift_in(&mut s, &key, Err("x"), true);
    let gone = marker(
        "ConfigMap",
        Change::Delete {
            namespace: "dusk-service".into(),
            name: "ConfigMap/dusk-service".into(),
        },
    );
    assert_eq!(asks(&mut s, gone), vec![dusk]);
    crate::app::monitor::drift_in(&mut s, &key, Err("x"), true);
    // Created again by someone else: asked again.
    assert_eq!(asks(&mut s, cm("dusk-service", "12")), vec![dusk]);
    crate::app::monitor::drift_in(&mut s, &key, Err("x"), true);
    // An object no release declares asks nothing.
    assert!(asks(&mut s, cm("unrelated", "1")).is_empty());
    // Another namespace's ConfigMap of the same name is not ours.
    let other = Update::Objects {
        kind: "ConfigMap",
        change: Change::Upsert {
            row: MetaRow {
                namespace: "elsewhere".into(),
                name: "ConfigMap/dusk-service".into(),
                version: "1".into(),
            },
        },
    };
    assert!(asks(&mut s, other).is_empty());
}

/// A foundation that breaks each two-tier rule: the problems panel lists each
/// with its place, and the selected one's reason and fix read whole beside it.
#[test]
fn the_problems_panel_shows_each_broken_two_tier_rule() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/two-tier-broken");
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            if e.path().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&src, dir.path());
    let ws = tierui_core::workspace::load(dir.path());
    let mut s = crate::app::state::State::new(
        ws,
        crate::app::state::Session {
            sandbox: true,
            ..Default::default()
        },
        crate::app::theme::Theme::builtin("default").unwrap(),
        crate::app::keymap::Keymap::default(),
    );
    s.focus = crate::app::state::Pane::Problems;
    let screen = render(&mut s, 120, 40);
    let text = format!("{:?}", screen.backend());
    for want in [
        "Problems (12)",
        "infra/Pulumi.yaml:17:5",
        "k8s/web/debug-pod.yaml:1:1",
        "k8s/api/configmap.yaml:1:1",
        "apps/worker/__main__.py:8:16",
        // The selected one's reason and fix, whole.
        "the Kubernetes provider from the infra stack's kubeconfig output through",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    assert!(!text.contains("hunter2"));
    insta::assert_snapshot!("problems_two_tier_120x40", screen.backend());
}
