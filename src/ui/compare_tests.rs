//! `=` and `P` driven through `update`: the demo's day-service dev beside
//! production — config (image tag differs, the secret is not compared), the
//! rendered objects field by field, and promotions as edits with their diffs.

use super::tests::{demo_state, press, render};
use crate::app::effects::{compare_objects, promote_diff};
use crate::app::state::{Screen, Selection, State};
use crate::app::update::{Effect, Msg, update};
use tierui_core::workspace::edit::NewValue;
use tierui_core::workspace::quick::Field;

fn release(s: &State, env: &str) -> usize {
    s.ws.releases
        .iter()
        .position(|r| r.service == "day-service" && r.environment.as_deref() == Some(env))
        .unwrap()
}

fn key(s: &mut State, c: char) -> Vec<Effect> {
    update(
        s,
        Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char(c),
        )),
    )
    .effects
}

fn tools() -> tierui_core::render::desired::Tools {
    tierui_backends::tools::for_sandbox(true)
}

/// The comparison screen with the rendered objects in.
fn compared(s: &mut State) -> (usize, usize) {
    let (dev, prod) = (release(s, "dev"), release(s, "production"));
    s.selection = Some(Selection::Release(dev));
    let effects = key(s, '=');
    assert!(
        matches!(effects.as_slice(), [Effect::Compare { left, right }] if *left == dev && *right == prod),
        "{effects:?}"
    );
    let result = compare_objects(&s.ws, dev, prod, tools());
    update(
        s,
        Msg::Compared {
            left: dev,
            right: prod,
            result,
        },
    );
    (dev, prod)
}

fn cursor_to(s: &mut State, pick: impl Fn(&crate::app::compare::CompareView) -> usize) {
    if let Screen::Compare(v) = &mut s.screen {
        v.cursor = pick(v);
    }
}

#[test]
fn environments_side_by_side_config_then_objects() {
    let (_dir, mut s) = demo_state("default");
    compared(&mut s);
    let Screen::Compare(v) = &s.screen else {
        panic!("the comparison screen")
    };
    let tag = v
        .config
        .iter()
        .find(|c| c.key == "day-service:image_tag")
        .unwrap();
    assert_eq!(
        (tag.left.as_str(), tag.right.as_str()),
        ("v1.3.0-rc.1", "v1.2.3")
    );
    let crate::app::diff::Pending::Ready(fields) = &v.fields else {
        panic!("{:?}", v.fields)
    };
    assert!(
        fields.iter().any(|f| f.object == "Deployment/day-service"
            && f.path == "spec.template.spec.containers[day-service].image"),
        "{fields:?}"
    );
    let screen = render(&mut s, 120, 40);
    let text = format!("{:?}", screen.backend());
    assert!(text.contains("day-service: dev ⇄ production"), "{text}");
    assert!(!text.contains("AAAB"), "no ciphertext on screen");
    insta::assert_snapshot!("compare_environments_120x40", screen.backend());
    press(&mut s, "\x1b");
    assert!(matches!(s.screen, Screen::Home));
}

#[test]
fn p_promotes_a_config_value_as_an_edit_with_its_diffs() {
    let (_dir, mut s) = demo_state("default");
    let (_, prod) = compared(&mut s);
    cursor_to(&mut s, |v| {
        v.config
            .iter()
            .position(|c| c.key == "day-service:image_tag")
            .unwrap()
    });
    let effects = key(&mut s, 'P');
    let [
        Effect::PromoteConfig {
            release,
            key: k,
            value,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (*release, k.as_str(), value.as_str()),
        (prod, "day-service:image_tag", "v1.3.0-rc.1")
    );
    let view = promote_diff(&s.ws, *release, k, value, tools()).unwrap();
    let edit = view.edit.as_ref().unwrap();
    assert!(edit.after.contains("day-service:image_tag: v1.3.0-rc.1"));
    assert!(edit.before.contains("day-service:image_tag: v1.2.3"));
    // Only that line changes; the secret's ciphertext stays as it was.
    assert_eq!(
        edit.before.lines().count(),
        edit.after.lines().count(),
        "{}",
        edit.after
    );
    let crate::app::diff::Pending::Ready(report) = &view.render else {
        panic!()
    };
    assert!(
        report.differs(),
        "the render diff shows the Deployment's new image"
    );
    assert!(
        view.pending_save.is_some(),
        "saved with Ctrl-s, as any edit"
    );
    update(&mut s, Msg::DiffReady(Box::new(view)));
    assert!(matches!(s.screen, Screen::Diff(_)));
}

#[test]
fn p_on_a_field_is_a_quick_edit_and_secrets_are_refused() {
    let (_dir, mut s) = demo_state("default");
    let (_, prod) = compared(&mut s);
    cursor_to(&mut s, |v| {
        let crate::app::diff::Pending::Ready(fields) = &v.fields else {
            panic!()
        };
        v.config.len()
            + fields
                .iter()
                .position(|f| f.path.ends_with("].image"))
                .unwrap()
    });
    let effects = key(&mut s, 'P');
    assert!(
        matches!(effects.as_slice(), [Effect::QuickEdit { release, field: Field::ImageTag, value: NewValue::Str(tag) }] if *release == prod && tag == "v1.3.0-rc.1"),
        "{effects:?}"
    );
    cursor_to(&mut s, |v| {
        v.config
            .iter()
            .position(|c| c.key == "day-service:api_key")
            .unwrap()
    });
    assert!(key(&mut s, 'P').is_empty());
    let said = s.message.as_ref().map(|m| m.1.clone()).unwrap_or_default();
    assert!(said.contains("encrypted per stack"), "{said}");
    // Read-only: nothing is written.
    s.session.readonly = true;
    cursor_to(&mut s, |_| 0);
    assert!(key(&mut s, 'P').is_empty());
}

#[test]
fn a_service_with_one_environment_says_so() {
    let (_dir, mut s) = demo_state("default");
    let dusk =
        s.ws.releases
            .iter()
            .position(|r| r.service == "dusk-service")
            .unwrap();
    s.selection = Some(Selection::Release(dusk));
    assert!(key(&mut s, '=').is_empty());
    let said = s.message.as_ref().map(|m| m.1.clone()).unwrap_or_default();
    assert_eq!(
        said,
        "dusk-service has one environment: nothing to compare it with"
    );
}

/// `M` on the demo's dusk-service: the proof as a diff screen, the question
/// listing the files, `y` writes them (nothing existing is overwritten).
#[test]
fn m_shows_the_migration_proof_then_asks_to_write() {
    let (_dir, mut s) = demo_state("default");
    let dusk =
        s.ws.releases
            .iter()
            .position(|r| r.service == "dusk-service")
            .unwrap();
    s.selection = Some(Selection::Release(dusk));
    let effects = key(&mut s, 'M');
    assert!(
        matches!(effects.as_slice(), [Effect::PlanMigration { release }] if *release == dusk),
        "{effects:?}"
    );
    let plan = crate::cli::migrate::plan_to_pulumi(
        &s.ws,
        &s.ws.releases[dusk],
        &Default::default(),
        tools(),
    )
    .unwrap();
    assert!(plan.proven());
    update(
        &mut s,
        Msg::MigrationPlanned {
            release: dusk,
            result: Ok(Box::new(plan)),
        },
    );
    assert!(matches!(s.screen, Screen::Diff(_)));
    let screen = render(&mut s, 120, 40);
    let text = format!("{:?}", screen.backend());
    for want in [
        "Write the migration of dusk-service · production?",
        "gitops/dusk-service/Pulumi.yaml",
        "k8s/dusk/MIGRATED.md",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    let effects = key(&mut s, 'y');
    let [Effect::WriteMigration(plan)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let root = s.ws.root.clone();
    let written = crate::cli::migrate::write(&root, plan).unwrap();
    assert_eq!(written.len(), 3);
    assert!(
        root.join("gitops/dusk-service/Pulumi.production.yaml")
            .is_file()
    );
    // A second write of the same plan refuses: nothing is overwritten.
    assert!(crate::cli::migrate::write(&root, plan).is_err());
    let out = update(&mut s, Msg::MigrationWritten(Ok(written)));
    assert!(matches!(out.effects.as_slice(), [Effect::ReloadWorkspace]));
    // Read-only refuses before any work.
    s.session.readonly = true;
    s.screen = Screen::Home;
    assert!(key(&mut s, 'M').is_empty());
}
