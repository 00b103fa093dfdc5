//! Snapshots of whole screens rendered into ratatui's TestBackend.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::keymap::Keymap;
use crate::app::state::{Session, State};
use crate::app::theme::Theme;
use crate::app::update::{Msg, update};

/// The demo workspace, extracted to a temp dir and loaded.
pub fn demo_state(theme: &str) -> (tempfile::TempDir, State) {
    let dir = tempfile::tempdir().unwrap();
    tierui_core::paths::extract_demo(dir.path()).unwrap();
    let ws = tierui_core::workspace::load(dir.path());
    let session = Session {
        sandbox: true,
        demo: true,
        ..Session::default()
    };
    (
        dir,
        State::new(
            ws,
            session,
            Theme::builtin(theme).unwrap(),
            Keymap::default(),
        ),
    )
}

pub fn render(s: &mut State, w: u16, h: u16) -> Terminal<TestBackend> {
    s.width = w;
    s.height = h;
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| {
        super::draw(f, s);
    })
    .unwrap();
    t
}

pub fn press(s: &mut State, keys: &str) {
    for ch in keys.chars() {
        let code = match ch {
            '\t' => crossterm::event::KeyCode::Tab,
            '\n' => crossterm::event::KeyCode::Enter,
            '\x1b' => crossterm::event::KeyCode::Esc,
            c => crossterm::event::KeyCode::Char(c),
        };
        update(s, Msg::Key(crossterm::event::KeyEvent::from(code)));
    }
}

#[test]
fn main_screen_every_theme_and_size() {
    for theme in crate::app::theme::BUILTIN {
        for (w, h) in [(80, 24), (120, 40)] {
            let (_dir, mut s) = demo_state(theme);
            let t = render(&mut s, w, h);
            insta::assert_debug_snapshot!(format!("main_{theme}_{w}x{h}"), t.backend().buffer());
        }
    }
}

#[test]
fn release_detail_and_help_overlay() {
    let (_dir, mut s) = demo_state("default");
    press(&mut s, "\tj");
    insta::assert_snapshot!(
        "release_production_120x40",
        render(&mut s, 120, 40).backend()
    );
    press(&mut s, "?");
    insta::assert_snapshot!("help_overlay_80x24", render(&mut s, 80, 24).backend());
}

#[test]
fn eksctl_cluster_detail_and_filter() {
    let (_dir, mut s) = demo_state("default");
    press(&mut s, "jj");
    insta::assert_snapshot!("dawn_detail_100x30", render(&mut s, 100, 30).backend());
    press(&mut s, "/dusk");
    insta::assert_snapshot!("filter_dusk_80x24", render(&mut s, 80, 24).backend());
}

#[test]
fn tiny_terminal_does_not_panic() {
    let (_dir, mut s) = demo_state("default");
    for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 10), (300, 100)] {
        render(&mut s, w, h);
        press(&mut s, "?");
        render(&mut s, w, h);
        press(&mut s, "\x1b");
    }
}

#[test]
fn no_color_uses_no_colours() {
    let (_dir, mut s) = demo_state("default");
    s.theme.monochrome = true;
    let t = render(&mut s, 80, 24);
    let buf = t.backend().buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset)
    );
}

#[test]
fn w_on_an_eksctl_cluster_opens_the_walkthrough() {
    let (_dir, mut s) = demo_state("default");
    press(&mut s, "jj");
    let out = crate::app::update::update(
        &mut s,
        crate::app::update::Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('w'),
        )),
    );
    assert_eq!(
        out.effects,
        vec![crate::app::update::Effect::OpenWalk {
            cluster: "dawn".into()
        }]
    );
}

fn walk_view(s: &State) -> crate::app::walkthrough::WalkView {
    let file = s.ws.root.join("provisioning/manual/dawn-cluster.yaml");
    let text = std::fs::read_to_string(file).unwrap();
    let mut d = Vec::new();
    let cfg = tierui_core::workspace::eksctl::parse(
        &tierui_core::workspace::yaml::parse_single(&text).unwrap(),
        &mut d,
    )
    .unwrap();
    let plan = tierui_core::walkthrough::plan::plan(&cfg, &d).unwrap();
    let progress = tierui_core::walkthrough::engine::Progress::new(&plan, "sandbox");
    let mut w = crate::app::walkthrough::WalkView::new(
        plan,
        progress,
        true,
        "state.json".into(),
        1_000_000,
    );
    w.identity = Some("account 123456789012 · eu-west-1 · sandbox".into());
    w
}

/// Marks every call of the given steps done, at fixed times.
fn finish_steps(w: &mut crate::app::walkthrough::WalkView, steps: &str) {
    let calls: Vec<(char, String)> = w
        .plan
        .steps
        .iter()
        .filter(|st| steps.contains(st.id))
        .flat_map(|st| st.calls.iter().map(move |c| (st.id, c.id.clone())))
        .collect();
    let mut t = 1_000_000;
    for (_, id) in calls {
        w.progress.begin(&id, t);
        let mut p = tierui_core::cloud::Produced::new();
        p.insert("id".into(), format!("id-{id}"));
        w.progress.returned(&id, p, false, false, t + 500);
        t += 1000;
    }
}

#[test]
fn walkthrough_screen_states() {
    let (_dir, mut s) = demo_state("default");
    let w = walk_view(&s);
    s.screen = crate::app::state::Screen::Walk(Box::new(w.clone()));
    insta::assert_snapshot!("walk_ready_120x40", render(&mut s, 120, 40).backend());

    // Running: A and B done, the control plane being created.
    let mut w = w;
    finish_steps(&mut w, "AB");
    w.progress.begin("cluster", 1_100_000);
    w.progress.returned(
        "cluster",
        tierui_core::cloud::Produced::new(),
        false,
        true,
        1_100_500,
    );
    w.waiting
        .insert("cluster".into(), ("CREATING".into(), 480.0, 1_220_000));
    w.now_ms = 1_220_000;
    w.cursor = 2;
    s.screen = crate::app::state::Screen::Walk(Box::new(w.clone()));
    insta::assert_snapshot!("walk_running_120x40", render(&mut s, 120, 40).backend());

    // Failed: a role of the same name already exists.
    let mut failed = walk_view(&s);
    finish_steps(&mut failed, "A");
    failed.progress.begin("role-cluster", 1_200_000);
    failed.progress.failed(
        "role-cluster",
        tierui_core::cloud::CloudError::new(
            "iam:CreateRole",
            "EntityAlreadyExists",
            "Role with name tierui-dawn-cluster already exists.",
        ),
        1_200_300,
    );
    failed.cursor = 1;
    s.screen = crate::app::state::Screen::Walk(Box::new(failed));
    insta::assert_snapshot!("walk_failed_100x30", render(&mut s, 100, 30).backend());

    // Done, with the teardown question open.
    let mut done = walk_view(&s);
    finish_steps(&mut done, "ABCDEFGH");
    s.screen = crate::app::state::Screen::Walk(Box::new(done));
    press(&mut s, "T");
    insta::assert_snapshot!(
        "walk_teardown_confirm_80x24",
        render(&mut s, 80, 24).backend()
    );
}

#[test]
fn teardown_key_asks_first_naming_what_goes_and_the_ids_on_request() {
    let (_dir, mut s) = demo_state("default");
    let w = walk_view(&s);
    s.screen = crate::app::state::Screen::Walk(Box::new(w.clone()));
    // Nothing created: nothing to ask.
    press(&mut s, "T");
    assert!(s.overlay.is_none(), "{:?}", s.overlay);
    assert!(
        s.message
            .as_ref()
            .is_some_and(|(_, m)| m.starts_with("nothing to tear down")),
        "{:?}",
        s.message
    );
    let mut w = w;
    finish_steps(&mut w, "ABC");
    s.screen = crate::app::state::Screen::Walk(Box::new(w));
    press(&mut s, "T");
    let Some(crate::app::state::Overlay::Confirm { lines, details, .. }) = &s.overlay else {
        panic!("{:?} {:?}", s.overlay, s.message)
    };
    let text = lines.join("\n");
    assert!(text.contains("1 EKS cluster"), "{text}");
    assert!(text.contains("1 NAT gateway"), "{text}");
    assert!(text.contains("That stops about $"), "{text}");
    assert!(!details.is_empty());
    insta::assert_snapshot!(
        "walk_teardown_confirm_120x40",
        render(&mut s, 120, 40).backend()
    );
    // i shows the IDs; nothing is deleted until y.
    press(&mut s, "i");
    let Some(crate::app::state::Overlay::Confirm { lines, details, .. }) = &s.overlay else {
        panic!("i closed the question")
    };
    assert!(details.is_empty());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("NAT gateway") && l.contains("id-nat-")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("y deletes")));
    insta::assert_snapshot!(
        "walk_teardown_ids_120x40",
        render(&mut s, 120, 40).backend()
    );
    let out = press_out(&mut s, 'n');
    assert!(s.overlay.is_none());
    assert!(out.effects.is_empty(), "{:?}", out.effects);
}

/// Live state of the demo clusters from a seeded sandbox world, with optional faults.
pub fn sandbox_live(s: &mut State, faults: Vec<tierui_backends::sandbox::world::Fault>) {
    use tierui_backends::sandbox::{Clock, SandboxCloud, seed, world::World};
    let mut world = World::new(tierui_backends::sandbox::clusters::SEED);
    seed::seed(&mut world, &s.ws, 1_700_000_000_000);
    world.faults = faults;
    let world = std::sync::Arc::new(std::sync::Mutex::new(world));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for c in s.ws.clusters.clone() {
        let region = c.region.clone().unwrap();
        let cloud = SandboxCloud::new(
            world.clone(),
            &region,
            Clock::manual(1_700_000_100_000),
            1.0,
            None,
        );
        let live = rt.block_on(tierui_core::cloud::inventory::fetch(
            &cloud,
            &c.name,
            1_700_000_100_000,
        ));
        s.live.insert(
            c.name.clone(),
            crate::app::state::LiveEntry::Ready(Box::new(live)),
        );
    }
}

#[test]
fn cluster_pane_with_and_without_drift() {
    let (_dir, mut s) = demo_state("default");
    sandbox_live(&mut s, vec![]);
    // day matches its source.
    insta::assert_snapshot!(
        "cluster_day_no_drift_120x45",
        render(&mut s, 120, 45).backend()
    );
    // dusk: one node more than its config says.
    press(&mut s, "j");
    insta::assert_snapshot!(
        "cluster_dusk_drift_120x45",
        render(&mut s, 120, 45).backend()
    );
    // dawn does not exist yet.
    press(&mut s, "j");
    insta::assert_snapshot!(
        "cluster_dawn_missing_120x30",
        render(&mut s, 120, 30).backend()
    );
}

#[test]
fn denied_and_throttled_calls_show_per_field() {
    use tierui_backends::sandbox::world::Fault;
    let (_dir, mut s) = demo_state("default");
    let fault = |api: &str, code: &str, message: &str| Fault {
        api: api.into(),
        code: code.into(),
        message: message.into(),
        region: None,
        times: None,
    };
    sandbox_live(
        &mut s,
        vec![
            fault(
                "eks:DescribeNodegroup",
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: eks:DescribeNodegroup",
            ),
            fault(
                "ec2:DescribeSubnets",
                "RequestLimitExceeded",
                "Request limit exceeded.",
            ),
        ],
    );
    let screen = render(&mut s, 120, 45).backend().to_string();
    assert!(
        screen.contains("node groups: could not read — eks:DescribeNodegroup"),
        "{screen}"
    );
    assert!(screen.contains("AccessDeniedException"), "{screen}");
    assert!(
        screen.contains("subnets: could not read — ec2:DescribeSubnets"),
        "{screen}"
    );
    assert!(
        screen.contains("Drift: none found (not checked: node groups, subnets could not be read)"),
        "{screen}"
    );
    // The rest of the pane still shows.
    assert!(
        screen.contains("EKS      ACTIVE   Kubernetes 1.31"),
        "{screen}"
    );
    assert!(screen.contains("VPC      vpc-"), "{screen}");
    insta::assert_snapshot!("cluster_day_denied_throttled_120x45", screen);
}

fn key(
    s: &mut State,
    code: crossterm::event::KeyCode,
    mods: crossterm::event::KeyModifiers,
) -> crate::app::update::Outcome {
    update(s, Msg::Key(crossterm::event::KeyEvent::new(code, mods)))
}

#[test]
fn quick_edit_tag_shows_the_diff_and_saves_only_that_value() {
    use crate::app::update::Effect;
    use crossterm::event::{KeyCode, KeyModifiers};
    let (_dir, mut s) = demo_state("default");
    press(&mut s, "\tjt");
    assert!(matches!(
        s.input,
        Some(crate::app::state::Input::Prompt { .. })
    ));
    for _ in 0..6 {
        key(&mut s, KeyCode::Backspace, KeyModifiers::NONE);
    }
    press(&mut s, "v1.2.4");
    let out = key(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    let Some(Effect::QuickEdit {
        release,
        field,
        value,
    }) = out.effects.first().cloned()
    else {
        panic!("{:?}", out.effects)
    };
    let r = s.ws.releases[release].clone();
    let view = crate::app::effects::quick_edit_diff(
        &s.ws,
        release,
        &r,
        field,
        &value,
        tierui_backends::tools::SEALED,
    )
    .unwrap();
    update(&mut s, Msg::DiffReady(Box::new(view)));
    // The save names the file it writes and the release.
    let (_, m) = s.message.clone().unwrap();
    assert!(
        m.contains(&format!(
            " to gitops/pulumi_deploy/Pulumi.production.yaml ({}",
            r.title()
        )),
        "{m}"
    );
    insta::assert_snapshot!(
        "quick_edit_diff_edit_100x20",
        render(&mut s, 100, 20).backend()
    );
    press(&mut s, "2");
    insta::assert_snapshot!(
        "quick_edit_diff_render_100x30",
        render(&mut s, 100, 30).backend()
    );
    press(&mut s, "s");
    insta::assert_snapshot!(
        "quick_edit_diff_side_by_side_120x30",
        render(&mut s, 120, 30).backend()
    );
    let out = key(&mut s, KeyCode::Char('s'), KeyModifiers::CONTROL);
    let Some(Effect::SaveFile {
        opened,
        text,
        close_editor,
    }) = out.effects.first().cloned()
    else {
        panic!("{:?}", out.effects)
    };
    let file =
        s.ws.root
            .join("gitops/pulumi_deploy/Pulumi.production.yaml");
    let before = std::fs::read_to_string(&file).unwrap();
    let result = crate::app::files::save(&opened, &text, &s.ws.root.join(".backups"), false);
    update(
        &mut s,
        Msg::Saved {
            result,
            close_editor,
        },
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before.replace("image_tag: v1.2.3", "image_tag: v1.2.4")
    );
    assert!(
        s.message
            .as_ref()
            .unwrap()
            .1
            .starts_with("saved gitops/pulumi_deploy/Pulumi.production.yaml")
    );
}

#[test]
fn editor_conflict_discard_and_drafts() {
    use crate::app::update::Effect;
    use crossterm::event::{KeyCode, KeyModifiers};
    let (_dir, mut s) = demo_state("default");
    press(&mut s, "jj");
    let out = key(&mut s, KeyCode::Char('e'), KeyModifiers::NONE);
    let Some(Effect::OpenEditor { rel }) = out.effects.first().cloned() else {
        panic!("{:?}", out.effects)
    };
    assert_eq!(
        rel,
        std::path::PathBuf::from("provisioning/manual/dawn-cluster.yaml")
    );
    let opened = crate::app::files::open(&s.ws.root.join(&rel)).unwrap();
    update(
        &mut s,
        Msg::EditorOpened {
            rel: rel.clone(),
            opened,
            draft: None,
        },
    );
    press(&mut s, "xx: [");
    insta::assert_snapshot!(
        "editor_with_error_100x30",
        render(&mut s, 100, 30).backend()
    );
    // Unsaved text is autosaved as a draft on the next tick.
    let out = update(&mut s, Msg::Tick(5_000));
    assert!(
        matches!(out.effects.first(), Some(Effect::SaveDraft(d)) if d.text.starts_with("xx: [")),
        "{:?}",
        out.effects
    );
    // Someone changes the file meanwhile: saving is a conflict, never an overwrite.
    std::fs::write(s.ws.root.join(&rel), "changed elsewhere\n").unwrap();
    let out = key(&mut s, KeyCode::Char('s'), KeyModifiers::CONTROL);
    let Some(Effect::SaveFile {
        opened,
        text,
        close_editor,
    }) = out.effects.first().cloned()
    else {
        panic!("{:?}", out.effects)
    };
    let result = crate::app::files::save(&opened, &text, &s.ws.root.join(".backups"), false);
    update(
        &mut s,
        Msg::Saved {
            result,
            close_editor,
        },
    );
    assert!(matches!(
        s.overlay,
        Some(crate::app::state::Overlay::Choice { .. })
    ));
    assert_eq!(
        std::fs::read_to_string(s.ws.root.join(&rel)).unwrap(),
        "changed elsewhere\n"
    );
    key(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    // Closing with unsaved text asks; d discards.
    key(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    assert!(matches!(
        s.overlay,
        Some(crate::app::state::Overlay::Choice { .. })
    ));
    let out = press_out(&mut s, 'd');
    assert!(matches!(s.screen, crate::app::state::Screen::Home));
    assert!(matches!(out.effects.first(), Some(Effect::RemoveDraft(_))));
}

fn press_out(s: &mut State, c: char) -> crate::app::update::Outcome {
    update(
        s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char(c),
        )),
    )
}

#[test]
fn readonly_refuses_saves_with_a_clear_message() {
    use crossterm::event::{KeyCode, KeyModifiers};
    let (_dir, mut s) = demo_state("default");
    s.session.readonly = true;
    let rel = std::path::PathBuf::from("k8s/dusk/hpa.yaml");
    let opened = crate::app::files::open(&s.ws.root.join(&rel)).unwrap();
    update(
        &mut s,
        Msg::EditorOpened {
            rel,
            opened,
            draft: None,
        },
    );
    press(&mut s, "#");
    let out = key(&mut s, KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(out.effects.is_empty());
    assert!(s.message.as_ref().unwrap().1.starts_with("--readonly"));
}

mod live {
    use super::*;
    use crate::app::state::Screen;
    use tierui_backends::kube::rows::*;
    use tierui_backends::kube::watch::{Change, Conn, Kind, Update};

    const NOW: i64 = 1_800_000_000;

    fn view_id(s: &State) -> u64 {
        match &s.screen {
            Screen::Live(v) => v.id,
            _ => panic!("not on a live view"),
        }
    }

    /// Feeds updates to the pane of `cluster` ("" for the first pane).
    fn feed(s: &mut State, cluster: &str, updates: Vec<Update>) {
        let view = view_id(s);
        let cluster = match (&s.screen, cluster) {
            (Screen::Live(v), "") => v.panes[0].cluster.clone(),
            _ => cluster.to_string(),
        };
        let cluster = cluster.as_str();
        for update in updates {
            update_msg(s, view, cluster, update);
        }
    }

    fn update_msg(s: &mut State, view: u64, cluster: &str, update: Update) {
        update_fn(
            s,
            Msg::LiveUpdate {
                view,
                cluster: cluster.into(),
                update,
            },
        );
    }

    fn update_fn(s: &mut State, m: Msg) {
        update(s, m);
    }

    fn tick(s: &mut State, at: i64) {
        update(s, Msg::Tick((at * 1000) as u64));
    }

    pub fn pod(name: &str, status: &str, ready: u32, restarts: u32, age: i64) -> PodRow {
        PodRow {
            namespace: "day-service".into(),
            name: name.into(),
            ready,
            containers: 1,
            status: status.into(),
            restarts,
            created: Some(NOW - age),
            node: format!("ip-10-0-{}-7.ec2.internal", name.len() % 3).into(),
            owner: "day-service-7d9f".into(),
            image: "ghcr.io/acme/day-service:1.4.2".into(),
        }
    }

    fn listed_pods(rows: Vec<PodRow>) -> Vec<Update> {
        let mut out = vec![
            Update::Conn {
                kind: Kind::Pods,
                conn: Conn::Live,
            },
            Update::Pods(Change::Relist),
        ];
        out.extend(
            rows.into_iter()
                .map(|row| Update::Pods(Change::Upsert { row })),
        );
        out.push(Update::Pods(Change::Listed));
        out
    }

    fn hpa(current: i32, desired: i32, load: &str) -> HpaRow {
        HpaRow {
            namespace: "day-service".into(),
            name: "day-service".into(),
            target: "Deployment/day-service".into(),
            min: 2,
            max: 10,
            current,
            desired,
            metrics: vec![
                MetricRow {
                    kind: "Resource".into(),
                    name: "cpu".into(),
                    current: load.into(),
                    target: "60%".into(),
                },
                MetricRow {
                    kind: "Pods".into(),
                    name: "http_requests".into(),
                    current: "112".into(),
                    target: "100".into(),
                },
            ],
            conditions: vec![
                "AbleToScale True: SucceededRescale".into(),
                "ScalingActive True: ValidMetricFound".into(),
            ],
            last_scale: Some(NOW - 95),
            generation: 1,
        }
    }

    fn event(
        name: &str,
        object: &str,
        reason: &str,
        message: &str,
        ago: i64,
        warning: bool,
    ) -> EventRow {
        EventRow {
            namespace: "day-service".into(),
            name: name.into(),
            kind: object.split('/').next().unwrap_or_default().into(),
            object: object.into(),
            reason: reason.into(),
            message: message.into(),
            count: 1,
            last: Some(NOW - ago),
            warning,
        }
    }

    /// The production release's live view with pods, metrics, an HPA that has
    /// scaled from 2 to 4 and events.
    fn busy(s: &mut State) {
        s.now_s = NOW - 600;
        press(s, "\tl");
        assert!(matches!(s.screen, Screen::Live(_)));
        // History: 2 replicas at 30% load, then load rises and the HPA scales.
        for (at, cur, des, load) in [
            (NOW - 600, 2, 2, "30%"),
            (NOW - 300, 2, 2, "55%"),
            (NOW - 200, 2, 4, "95%"),
            (NOW - 95, 4, 4, "70%"),
        ] {
            tick(s, at);
            feed(
                s,
                "",
                vec![Update::Hpas(Change::Upsert {
                    row: hpa(cur, des, load),
                })],
            );
        }
        tick(s, NOW);
        let mut updates = listed_pods(vec![
            pod("day-service-7d9f-abcde", "Running", 1, 0, 3 * 86400),
            pod("day-service-7d9f-fghij", "Running", 1, 0, 3 * 86400),
            pod("day-service-7d9f-klmno", "CrashLoopBackOff", 0, 7, 95),
            pod("day-service-7d9f-pqrst", "ContainerCreating", 0, 0, 4),
        ]);
        updates.extend([
            Update::Hpas(Change::Listed),
            Update::Conn {
                kind: Kind::Metrics,
                conn: Conn::Live,
            },
            Update::Metrics {
                usage: vec![
                    (
                        "day-service".into(),
                        "day-service-7d9f-abcde".into(),
                        Usage {
                            cpu_milli: 212,
                            memory_bytes: 180 * 1024 * 1024,
                        },
                    ),
                    (
                        "day-service".into(),
                        "day-service-7d9f-fghij".into(),
                        Usage {
                            cpu_milli: 48,
                            memory_bytes: 96 * 1024 * 1024,
                        },
                    ),
                ],
                first: true,
                last: true,
            },
            Update::Events(Change::Relist),
            Update::Events(Change::Upsert {
                row: event(
                    "e1",
                    "HorizontalPodAutoscaler/day-service",
                    "SuccessfulRescale",
                    "New size: 4; reason: cpu resource utilization (percentage of request) above target",
                    95,
                    false,
                ),
            }),
            Update::Events(Change::Upsert {
                row: event(
                    "e2",
                    "Pod/day-service-7d9f-klmno",
                    "BackOff",
                    "Back-off restarting failed container app in pod day-service-7d9f-klmno",
                    12,
                    true,
                ),
            }),
            Update::Events(Change::Listed),
            Update::Conn {
                kind: Kind::Events,
                conn: Conn::Live,
            },
            Update::Conn {
                kind: Kind::Hpas,
                conn: Conn::Live,
            },
        ]);
        feed(s, "", updates);
    }

    #[test]
    fn loading_then_pods_with_hpa_chart_and_events() {
        let (_dir, mut s) = demo_state("default");
        s.now_s = NOW;
        press(&mut s, "\tl");
        insta::assert_snapshot!("live_loading_120x40", render(&mut s, 120, 40).backend());
        let (_dir, mut s) = demo_state("default");
        busy(&mut s);
        insta::assert_snapshot!("live_pods_120x40", render(&mut s, 120, 40).backend());
        insta::assert_snapshot!("live_pods_80x24", render(&mut s, 80, 24).backend());
    }

    /// A big list shows its first page at once, with how far it has come.
    #[test]
    fn rows_show_from_the_first_page_with_a_loading_count() {
        let (_dir, mut s) = demo_state("default");
        s.now_s = NOW;
        press(&mut s, "\tl");
        feed(
            &mut s,
            "",
            vec![
                Update::Pods(Change::Relist),
                Update::Pods(Change::Page {
                    rows: vec![
                        pod("day-service-7d9f-abcde", "Running", 1, 0, 60),
                        pod("day-service-7d9f-fghij", "Pending", 0, 0, 5),
                    ],
                    loaded: 35_000,
                    total: Some(150_000),
                }),
            ],
        );
        let text = render(&mut s, 120, 30).backend().to_string();
        assert!(text.contains("Pods (loading 35,000 / ~150,000)"), "{text}");
        assert!(text.contains("day-service-7d9f-fghij"), "{text}");
        feed(&mut s, "", vec![Update::Pods(Change::Listed)]);
        let text = render(&mut s, 120, 30).backend().to_string();
        assert!(text.contains("Pods (2, 1 ready)"), "{text}");
    }

    #[test]
    fn sorting_filtering_and_the_selection_events() {
        let (_dir, mut s) = demo_state("default");
        busy(&mut s);
        // R sorts by restarts (most first): the crash-looping pod comes first and
        // the events tail follows it.
        press(&mut s, "R");
        insta::assert_snapshot!("live_pods_by_restarts", render(&mut s, 120, 40).backend());
        press(&mut s, "/Creat\n");
        insta::assert_snapshot!("live_pods_filtered", render(&mut s, 120, 30).backend());
        // Esc clears the filter first, then leaves the view.
        press(&mut s, "\x1b");
        assert!(matches!(&s.screen, Screen::Live(v) if v.filter.is_empty()));
        press(&mut s, "\x1b");
        assert!(matches!(s.screen, Screen::Home));
    }

    #[test]
    fn deployments_mid_rollout_show_new_and_old_replicasets() {
        let (_dir, mut s) = demo_state("default");
        busy(&mut s);
        press(&mut s, "2");
        let dep = DeploymentRow {
            namespace: "day-service".into(),
            name: "day-service".into(),
            desired: 4,
            updated: 2,
            ready: 4,
            available: 3,
            total: 5,
            image: "ghcr.io/acme/day-service:1.5.0".into(),
            conditions: vec![
                "Available: MinimumReplicasAvailable".into(),
                "Progressing: ReplicaSetUpdated".into(),
            ],
            complete: false,
            generation: 1,
        };
        let rs = |name: &str, rev: &str, desired, ready, tag: &str| ReplicaSetRow {
            namespace: "day-service".into(),
            name: name.into(),
            owner: "day-service".into(),
            revision: rev.into(),
            desired,
            ready,
            image: format!("ghcr.io/acme/day-service:{tag}"),
        };
        feed(
            &mut s,
            "",
            vec![
                Update::Conn {
                    kind: Kind::Deployments,
                    conn: Conn::Live,
                },
                Update::Deployments(Change::Upsert { row: dep }),
                Update::Deployments(Change::Listed),
                Update::ReplicaSets(Change::Upsert {
                    row: rs("day-service-5c8b", "3", 2, 1, "1.5.0"),
                }),
                Update::ReplicaSets(Change::Upsert {
                    row: rs("day-service-7d9f", "2", 3, 3, "1.4.2"),
                }),
                Update::ReplicaSets(Change::Upsert {
                    row: rs("day-service-6a1e", "1", 0, 0, "1.4.1"),
                }),
                Update::ReplicaSets(Change::Listed),
            ],
        );
        insta::assert_snapshot!(
            "live_deployments_rollout",
            render(&mut s, 120, 30).backend()
        );
    }

    #[test]
    fn hpa_and_events_tabs() {
        let (_dir, mut s) = demo_state("default");
        busy(&mut s);
        press(&mut s, "3");
        insta::assert_snapshot!("live_hpa_tab", render(&mut s, 120, 30).backend());
        press(&mut s, "4");
        insta::assert_snapshot!("live_events_tab", render(&mut s, 120, 16).backend());
    }

    #[test]
    fn every_cluster_side_by_side_with_connection_states() {
        let (_dir, mut s) = demo_state("default");
        s.now_s = NOW;
        press(&mut s, "\tL");
        let Screen::Live(v) = &s.screen else {
            panic!("no live view");
        };
        assert_eq!(
            v.panes
                .iter()
                .map(|p| p.cluster.as_str())
                .collect::<Vec<_>>(),
            ["day", "dusk", "dawn"]
        );
        feed(
            &mut s,
            "day",
            listed_pods(vec![
                pod("day-service-7d9f-abcde", "Running", 1, 0, 3600),
                pod("day-service-7d9f-fghij", "Running", 1, 2, 3600),
            ]),
        );
        let mut dusk = pod("day-service-55c4-xyz12", "ImagePullBackOff", 0, 0, 300);
        dusk.image = "ghcr.io/acme/day-service:1.5.0-rc1".into();
        feed(&mut s, "dusk", listed_pods(vec![dusk]));
        feed(
            &mut s,
            "dawn",
            vec![Update::Conn {
                kind: Kind::Pods,
                conn: Conn::Retrying {
                    in_secs: 8,
                    error: "connection refused".into(),
                },
            }],
        );
        insta::assert_snapshot!("live_multi_cluster", render(&mut s, 140, 20).backend());
    }

    #[test]
    fn short_pod_names_keep_the_replicaset_hash() {
        let p = pod("day-service-7d9f-abcde", "Running", 1, 0, 1);
        assert_eq!(crate::ui::live_view::short_pod_name(&p), "7d9f-abcde");
        let mut bare = p.clone();
        bare.owner = "".into();
        assert_eq!(
            crate::ui::live_view::short_pod_name(&bare),
            "day-service-7d9f-abcde"
        );
        assert_eq!(
            crate::ui::live_view::rollout_text(&DeploymentRow {
                namespace: "n".into(),
                name: "d".into(),
                desired: 3,
                updated: 3,
                ready: 3,
                available: 3,
                total: 4,
                image: String::new(),
                conditions: Vec::new(),
                complete: false,
                generation: 1,
            }),
            "rolling out: 1 old replica pending termination"
        );
    }

    #[test]
    fn yaml_overlay_and_stale_messages() {
        let (_dir, mut s) = demo_state("default");
        busy(&mut s);
        let (effects, view) = {
            let view = view_id(&s);
            let out = update(
                &mut s,
                Msg::Key(crossterm::event::KeyEvent::from(
                    crossterm::event::KeyCode::Char('y'),
                )),
            );
            (out.effects, view)
        };
        assert!(
            matches!(&effects[..], [crate::app::update::Effect::ShowObject { kind, name, describe: false, .. }]
                if kind == "Pod" && name == "day-service-7d9f-abcde"),
            "{effects:?}"
        );
        // A message for an older view is ignored.
        update(
            &mut s,
            Msg::ObjectText {
                view: view + 100,
                text: Ok("stale".into()),
            },
        );
        update(
            &mut s,
            Msg::ObjectText {
                view,
                text: Ok(
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: day-service-7d9f-abcde\n".into(),
                ),
            },
        );
        insta::assert_snapshot!("live_yaml_overlay", render(&mut s, 80, 12).backend());
        press(&mut s, "\x1b");
        assert!(matches!(&s.screen, Screen::Live(v) if v.text.is_none()));
    }

    #[test]
    fn tab_switch_restarts_watchers_for_what_is_on_screen() {
        let (_dir, mut s) = demo_state("default");
        busy(&mut s);
        let out = update(
            &mut s,
            Msg::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Char('2'),
            )),
        );
        use crate::app::update::Effect;
        assert!(matches!(&out.effects[0], Effect::StopWatches { .. }));
        assert!(matches!(&out.effects[1], Effect::StartWatches { kinds, .. }
            if kinds == &vec![Kind::Deployments, Kind::ReplicaSets, Kind::Events]));
        // Closing the view stops its watchers.
        let out = update(
            &mut s,
            Msg::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Esc,
            )),
        );
        assert!(matches!(&out.effects[..], [Effect::StopWatches { .. }]));
    }
}

#[test]
fn apply_sends_exactly_the_objects_of_the_drift_shown_and_a_reload_forgets_it() {
    use crate::app::diff::{DiffKind, DiffView, Pending};
    use crate::app::state::{Confirmed, Overlay, Screen};
    use crate::app::update::Effect;
    let (_dir, mut s) = demo_state("default");
    let desired = vec![
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    ];
    let report = tierui_core::render::diff::diff_objects(&[], &desired, "day-service");
    let mut view = DiffView::new(1, "day-service · production".into(), DiffKind::Drift);
    view.drift = Pending::Ready(report);
    view.drift_desired = Some(desired.clone());
    s.push(Screen::Diff(Box::new(view.clone())));
    press(&mut s, "a");
    assert!(matches!(
        &s.overlay,
        Some(Overlay::Confirm {
            on_yes: Confirmed::Apply(1),
            ..
        })
    ));
    // The question names the release, its cluster and its namespace.
    let Some(Overlay::Confirm { title, lines, .. }) = &s.overlay else {
        unreachable!()
    };
    let r = &s.ws.releases[1];
    assert_eq!(title, &format!("Apply {}?", r.title()));
    assert!(
        lines[0].contains(&format!(
            "on cluster {}, namespace {}",
            r.cluster.clone().unwrap_or_default(),
            r.namespace
        )),
        "{lines:?}"
    );
    let out = press_out(&mut s, 'y');
    assert_eq!(
        out.effects,
        vec![Effect::ApplyRelease {
            release: 1,
            objects: desired.clone(),
            plan: Default::default(),
        }]
    );
    // The files changed (a reload) between the diff and the answer: nothing is
    // applied on the strength of the old diff.
    s.pop();
    s.push(Screen::Diff(Box::new(view)));
    press(&mut s, "a");
    let ws = tierui_core::workspace::load(&s.ws.root);
    update(&mut s, Msg::Reloaded(Box::new(ws)));
    let out = press_out(&mut s, 'y');
    assert!(out.effects.is_empty(), "{:?}", out.effects);
    assert!(
        s.message.as_ref().unwrap().1.contains("drift changed"),
        "{:?}",
        s.message
    );
}

/// Two contexts on one EKS endpoint: the cluster's choice fails and the
/// failure is listed with the file problems (tierui.yaml settles it); a later
/// good choice takes the problem away.
#[test]
fn an_ambiguous_context_is_a_problem_of_tierui_yaml() {
    let (_dir, mut s) = demo_state("default");
    let before = s.ws.problems.len();
    let e = format!(
        "day: {} point at the EKS endpoint https://x: a, b; choose one with `context:` in tierui.yaml",
        tierui_backends::kube::context::AMBIGUOUS
    );
    update(&mut s, Msg::Context("day".into(), Err(e.clone())));
    assert_eq!(s.ws.problems.len(), before + 1);
    let p = s.ws.problems.last().unwrap();
    assert_eq!(
        (p.file.to_str(), p.message.as_str()),
        (Some("tierui.yaml"), e.as_str())
    );
    // An unreachable cluster is not a problem of the files.
    update(
        &mut s,
        Msg::Context(
            "dusk".into(),
            Err("dusk: no kubeconfig context reaches EKS cluster dusk".into()),
        ),
    );
    assert_eq!(s.ws.problems.len(), before + 1);
    update(
        &mut s,
        Msg::Context("day".into(), Ok(("a".into(), "set in tierui.yaml".into()))),
    );
    assert_eq!(s.ws.problems.len(), before);
}

/// Objects of other field managers: the apply question names the prunes and
/// the owners; a conflict the server reports opens a second question naming
/// the managers, and only its "y" sends those objects again with force.
#[test]
fn conflicts_ask_a_second_question_before_taking_ownership() {
    use crate::app::diff::{DiffKind, DiffView, Pending};
    use crate::app::state::{Confirmed, Overlay, Screen};
    use crate::app::update::Effect;
    use tierui_backends::kube::apply::Outcome as Applied;
    let (_dir, mut s) = demo_state("default");
    let live = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "day-service", "managedFields": [
            {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:FLAGS": {}}}}]},
        "data": {"FLAGS": "a"}});
    let desired = vec![serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "day-service"}, "data": {"FLAGS": "b"}})];
    let gone = serde_json::json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "old", "namespace": "day-service"}});
    let report =
        tierui_core::render::diff::diff_objects(&[live, gone.clone()], &desired, "day-service");
    let mut view = DiffView::new(1, "day-service · production".into(), DiffKind::Drift);
    view.drift = Pending::Ready(report);
    view.drift_desired = Some(desired.clone());
    view.drift_prune = vec![gone.clone()];
    s.push(Screen::Diff(Box::new(view)));
    press(&mut s, "a");
    let Some(Overlay::Confirm { lines, .. }) = &s.overlay else {
        panic!("no question")
    };
    let text = lines.join("\n");
    assert!(text.contains("1 deleted"), "{text}");
    assert!(text.contains("Deletes day-service/Service/old"), "{text}");
    assert!(text.contains("kubectl-edit (data.FLAGS)"), "{text}");
    let out = press_out(&mut s, 'y');
    assert_eq!(
        out.effects,
        vec![Effect::ApplyRelease {
            release: 1,
            objects: desired.clone(),
            plan: tierui_backends::release::ApplyPlan {
                force: false,
                prune: vec![gone.clone()],
                only: Vec::new(),
            },
        }]
    );
    // The server stops on kubectl-edit's field.
    let refused = Applied {
        object: "day-service/ConfigMap/x".into(),
        live: None,
        applied: Err("Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.FLAGS (409 Conflict)".into()),
        notes: Vec::new(),
        conflict: true,
        pruned: false,
    };
    update(
        &mut s,
        Msg::Applied {
            release: 1,
            result: Ok(vec![refused]),
        },
    );
    let Some(Overlay::Confirm {
        title,
        lines,
        on_yes,
        ..
    }) = &s.overlay
    else {
        panic!("no second question")
    };
    assert!(title.starts_with("Take ownership"), "{title}");
    let text = lines.join("\n");
    assert!(
        text.contains("conflict with \"kubectl-edit\" using v1: .data.FLAGS"),
        "{text}"
    );
    assert!(text.contains("--force-conflicts"), "{text}");
    assert_eq!(
        on_yes,
        &Confirmed::TakeOwnership {
            release: 1,
            objects: vec!["day-service/ConfigMap/x".into()]
        }
    );
    // "n" leaves the fields; asked again, "y" forces just that object.
    let out = press_out(&mut s, 'n');
    assert!(out.effects.is_empty());
    update(
        &mut s,
        Msg::Applied {
            release: 1,
            result: Ok(vec![Applied {
                object: "day-service/ConfigMap/x".into(),
                live: None,
                applied: Err("Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.FLAGS (409 Conflict)".into()),
                notes: Vec::new(),
                conflict: true,
                pruned: false,
            }]),
        },
    );
    let out = press_out(&mut s, 'y');
    assert_eq!(
        out.effects,
        vec![Effect::ApplyRelease {
            release: 1,
            objects: desired,
            plan: tierui_backends::release::ApplyPlan {
                force: true,
                prune: vec![gone],
                only: vec!["day-service/ConfigMap/x".into()],
            },
        }]
    );
}

/// A click on a scrolled list selects the row under the pointer (as drawn), not
/// the row at that position from the top — and `a`/`t` act on that one.
#[test]
fn clicks_map_through_the_scroll_offset() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let (_dir, mut s) = demo_state("default");
    let releases = s.visible_releases().len();
    assert!(releases >= 4);
    // A height at which the release list shows fewer rows than it has.
    let (w, h) = (100, 12);
    s.width = w;
    s.height = h;
    let l = crate::app::layout::home(ratatui::layout::Rect::new(0, 0, w, h), &s);
    let rows = usize::from(l.releases.height.saturating_sub(3));
    assert!(rows >= 1 && rows < releases, "{rows} rows of {releases}");
    s.focus = crate::app::state::Pane::Releases;
    s.release_cursor = releases - 1;
    s.sync_selection();
    let offset = crate::app::layout::release_offset(&s, l.releases);
    assert!(offset > 0);
    let before = render(&mut s, w, h);
    // Click the first row shown.
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: l.releases.x + 3,
        row: l.releases.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    update(&mut s, Msg::Mouse(click));
    assert_eq!(
        s.release_cursor, offset,
        "the click selected a row off screen"
    );
    assert_ne!(s.release_cursor, releases - 1, "the click changed nothing");
    // The row clicked is the row that was drawn there.
    let drawn: String = (0..w)
        .map(|x| {
            before.backend().buffer()[(x, l.releases.y + 2)]
                .symbol()
                .to_string()
        })
        .collect();
    let picked = &s.ws.releases[s.visible_releases()[s.release_cursor]];
    assert!(
        drawn.contains(&picked.service.chars().take(8).collect::<String>()),
        "clicked {drawn:?}, selected {}",
        picked.title()
    );
    insta::assert_snapshot!(
        "click_scrolled_releases_100x12",
        render(&mut s, w, h).backend()
    );
}

/// The question before a live step names the cluster and the account it changes.
#[test]
fn a_live_step_question_names_its_cluster_and_account() {
    let (_dir, mut s) = demo_state("default");
    let mut w = walk_view(&s);
    w.sandbox = false;
    w.identity =
        Some("account 123456789012 (arn:aws:iam::123456789012:user/ops) · eu-west-1 · aws".into());
    s.screen = crate::app::state::Screen::Walk(Box::new(w));
    update(
        &mut s,
        Msg::Walk(Box::new(
            tierui_backends::walkthrough::runner::Event::Confirm {
                step: 'A',
                title: "Network".into(),
                calls: 24,
            },
        )),
    );
    let Some(crate::app::state::Overlay::Confirm { title, lines, .. }) = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert_eq!(title, "Run step A: Network of dawn?");
    assert!(
        lines[0].contains(
            "24 calls will change account 123456789012 (arn:aws:iam::123456789012:user/ops)"
        ),
        "{lines:?}"
    );
}

#[test]
fn a_program_without_its_environment_offers_the_setup_command_and_asks_first() {
    let (_dir, mut s) = demo_state("default");
    press(&mut s, "\tj");
    let Some(crate::app::state::Selection::Release(i)) = s.selection else {
        panic!("a release is selected")
    };
    let fix = "cd /w/gitops/pulumi_deploy && python3 -m venv venv && venv/bin/pip install -r requirements.txt";
    let out = update(
        &mut s,
        Msg::ProgramRendered {
            release: i,
            result: Err(format!(
                "/w/gitops/pulumi_deploy: the Pulumi SDK is not installed for this project (No module named 'pulumi') — to fix: {fix}"
            )),
        },
    );
    assert!(out.redraw);
    assert!(
        s.ws.problems.iter().any(|p| p.message.contains("to fix:")),
        "the failure is a problem"
    );
    let screen = format!("{:?}", render(&mut s, 120, 40).backend());
    assert!(screen.contains("I runs it (asks first)"), "{screen}");
    let out = press_out(&mut s, 'I');
    assert!(out.effects.is_empty(), "nothing runs before the answer");
    let Some(crate::app::state::Overlay::Confirm { lines, .. }) = &s.overlay else {
        panic!("a question")
    };
    assert_eq!(lines[0], format!("Runs: {fix}"));
    let out = press_out(&mut s, 'y');
    assert!(
        matches!(&out.effects[..], [crate::app::update::Effect::RunSetup { command, .. }] if command == fix),
        "{:?}",
        out.effects
    );
}
