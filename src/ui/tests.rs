//! Snapshots of whole screens rendered into ratatui's TestBackend.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::keymap::Keymap;
use crate::app::state::{Session, State};
use crate::app::update::{Msg, update};
use crate::theme::Theme;

/// The demo workspace, extracted to a temp dir and loaded.
pub fn demo_state(theme: &str) -> (tempfile::TempDir, State) {
    let dir = tempfile::tempdir().unwrap();
    crate::paths::extract_demo(dir.path()).unwrap();
    let ws = crate::workspace::load(dir.path());
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
    t.draw(|f| super::draw(f, s)).unwrap();
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
    for theme in crate::theme::BUILTIN {
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

fn walk_view(s: &State) -> crate::app::walk::WalkView {
    let file = s.ws.root.join("provisioning/manual/dawn-cluster.yaml");
    let text = std::fs::read_to_string(file).unwrap();
    let mut d = Vec::new();
    let cfg = crate::workspace::eksctl::parse(
        &crate::workspace::yaml::parse_single(&text).unwrap(),
        &mut d,
    )
    .unwrap();
    let plan = crate::walkthrough::plan::plan(&cfg, &d).unwrap();
    let progress = crate::walkthrough::engine::Progress::new(&plan, "sandbox");
    let mut w =
        crate::app::walk::WalkView::new(plan, progress, true, "state.json".into(), 1_000_000);
    w.identity = Some("account 123456789012 · eu-west-1 · sandbox".into());
    w
}

/// Marks every call of the given steps done, at fixed times.
fn finish_steps(w: &mut crate::app::walk::WalkView, steps: &str) {
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
        let mut p = crate::backend::cloud::Produced::new();
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
        crate::backend::cloud::Produced::new(),
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
        crate::backend::cloud::CloudError::new(
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
fn teardown_key_asks_first() {
    let (_dir, mut s) = demo_state("default");
    let w = walk_view(&s);
    s.screen = crate::app::state::Screen::Walk(Box::new(w));
    press(&mut s, "T");
    assert!(
        matches!(s.overlay, Some(crate::app::state::Overlay::Confirm { .. })),
        "{:?} {:?}",
        s.overlay,
        s.message
    );
}

/// Live state of the demo clusters from a seeded sandbox world, with optional faults.
fn sandbox_live(s: &mut State, faults: Vec<crate::backend::sandbox::world::Fault>) {
    use crate::backend::sandbox::{Clock, SandboxCloud, seed, world::World};
    let mut world = World::new(crate::sandbox::SEED);
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
        let live = rt.block_on(crate::backend::inventory::fetch(
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
    use crate::backend::sandbox::world::Fault;
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
    let view = crate::app::effects::quick_edit_diff(&s.ws, release, &r, field, &value).unwrap();
    update(&mut s, Msg::DiffReady(Box::new(view)));
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
    let result = crate::files::save(&opened, &text, &s.ws.root.join(".backups"), false);
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
    let opened = crate::files::open(&s.ws.root.join(&rel)).unwrap();
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
    let result = crate::files::save(&opened, &text, &s.ws.root.join(".backups"), false);
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
    let opened = crate::files::open(&s.ws.root.join(&rel)).unwrap();
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
