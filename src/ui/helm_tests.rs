//! The cluster pane's Helm releases: asked once when a cluster is shown, drawn
//! as `helm list -A` shows them, values on `v`, errors in the API's words.

use crossterm::event::{KeyCode, KeyEvent};
use serde_json::json;
use tierui_backends::kube::helm::{HelmRelease, MASKED};

use super::tests::{demo_state, press, render};
use crate::app::helm::HelmEntry;
use crate::app::update::{Effect, Msg, update};

fn release(name: &str, chart: (&str, &str, &str), rev: u64, status: &str) -> HelmRelease {
    HelmRelease {
        name: name.into(),
        namespace: "kube-system".into(),
        chart: chart.0.into(),
        chart_version: chart.1.into(),
        app_version: chart.2.into(),
        revision: rev,
        status: status.into(),
        last_deployed: "2025-06-09T15:06:40.5Z".into(),
        description: "Upgrade complete".into(),
        values: json!({}),
    }
}

fn platform() -> Vec<HelmRelease> {
    let mut alb = release(
        "aws-load-balancer-controller",
        ("aws-load-balancer-controller", "1.8.1", "v2.8.1"),
        2,
        "deployed",
    );
    alb.values = json!({
        "clusterName": "day",
        "serviceAccount": {"create": false, "name": "aws-load-balancer-controller"},
        "webhookToken": MASKED,
    });
    let metrics = release(
        "metrics-server",
        ("metrics-server", "3.12.1", "0.7.1"),
        3,
        "pending-upgrade",
    );
    vec![alb, metrics]
}

fn fetches(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::FetchHelm(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn key(s: &mut crate::app::state::State, c: char) -> crate::app::update::Outcome {
    update(s, Msg::Key(KeyEvent::from(KeyCode::Char(c))))
}

#[test]
fn a_shown_cluster_asks_once_and_lists_its_releases_with_values_on_request() {
    let (_dir, mut s) = demo_state("default");
    // The first message with day's pane on screen asks; the next ones do not.
    let out = update(&mut s, Msg::Resize(120, 45));
    assert_eq!(fetches(&out.effects), ["day"]);
    assert_eq!(s.helm.get("day"), Some(&HelmEntry::Loading));
    let out = update(&mut s, Msg::Resize(120, 45));
    assert!(fetches(&out.effects).is_empty());
    let screen = format!("{:?}", render(&mut s, 120, 45).backend());
    assert!(
        screen.contains("Helm releases: asking the cluster…"),
        "{screen}"
    );

    let out = update(
        &mut s,
        Msg::Helm {
            cluster: "day".into(),
            result: Ok(platform()),
        },
    );
    assert!(out.redraw);
    insta::assert_snapshot!("cluster_day_helm_120x45", render(&mut s, 120, 45).backend());

    key(&mut s, 'v');
    assert!(s.helm_values);
    insta::assert_snapshot!(
        "cluster_day_helm_values_120x45",
        render(&mut s, 120, 45).backend()
    );
    key(&mut s, 'v');
    assert!(!s.helm_values);
}

#[test]
fn a_refused_list_says_why_and_refresh_asks_again() {
    let (_dir, mut s) = demo_state("default");
    update(&mut s, Msg::Resize(120, 45));
    let out = key(&mut s, 'j');
    assert_eq!(fetches(&out.effects), ["dusk"]);
    update(
        &mut s,
        Msg::Helm {
            cluster: "dusk".into(),
            result: Err("listing Helm's release Secrets: secrets is forbidden: User \"dev\" cannot list resource \"secrets\" in API group \"\" at the cluster scope (403 Forbidden)".into()),
        },
    );
    let screen = format!("{:?}", render(&mut s, 120, 45).backend());
    assert!(
        screen.contains("Helm releases: could not be listed"),
        "{screen}"
    );
    assert!(screen.contains("secrets is forbidden"), "{screen}");

    // r asks the shown cluster again and forgets the others (asked when shown).
    let out = key(&mut s, 'r');
    assert_eq!(fetches(&out.effects), ["dusk"]);
    assert!(!s.helm.contains_key("day"));
    assert!(
        matches!(s.helm.get("dusk"), Some(HelmEntry::Failed(_))),
        "the last answer stays until the new one"
    );
}

#[test]
fn releases_and_missing_clusters_ask_nothing() {
    let (_dir, mut s) = demo_state("default");
    update(&mut s, Msg::Resize(120, 45));
    // A release's pane has no Helm section: nothing asked, v says what it does.
    press(&mut s, "\t");
    let out = key(&mut s, 'v');
    assert!(fetches(&out.effects).is_empty());
    assert!(!s.helm_values);
    assert!(s.message.as_ref().unwrap().1.contains("select a cluster"));

    // dawn does not exist in the sandbox cloud: not asked, and said so.
    super::tests::sandbox_live(&mut s, vec![]);
    s.focus = crate::app::state::Pane::Clusters;
    s.cluster_cursor = 2;
    s.sync_selection();
    let out = update(&mut s, Msg::Resize(120, 45));
    assert!(fetches(&out.effects).is_empty(), "{:?}", out.effects);
    let screen = format!("{:?}", render(&mut s, 120, 45).backend());
    assert!(
        screen.contains("Helm releases: none — the cluster does not exist"),
        "{screen}"
    );
}

/// A workspace whose one service is a Helm chart folder (fixtures/helm-chart).
fn chart_state() -> (tempfile::TempDir, crate::app::state::State) {
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
    let dir = tempfile::tempdir().unwrap();
    copy(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/helm-chart"),
        dir.path(),
    );
    let ws = tierui_core::workspace::load(dir.path());
    let s = crate::app::state::State::new(
        ws,
        crate::app::state::Session::default(),
        crate::app::theme::Theme::builtin("default").unwrap(),
        crate::app::keymap::Keymap::default(),
    );
    (dir, s)
}

#[test]
fn a_chart_release_renders_at_start_and_without_helm_says_so() {
    let (_dir, mut s) = chart_state();
    assert!(s.ws.problems.is_empty(), "{:?}", s.ws.problems);
    let out = crate::app::update::start(&mut s);
    assert!(
        out.effects.contains(&Effect::RenderProgram { release: 0 }),
        "{:?}",
        out.effects
    );
    let screen = format!("{:?}", render(&mut s, 120, 30).backend());
    assert!(screen.contains("rendering… (helm template)"), "{screen}");
    let note = "Helm chart web 0.3.1 — helm is not on PATH; install helm to render it";
    update(
        &mut s,
        Msg::ProgramRendered {
            release: 0,
            result: Ok((Vec::new(), vec![note.into()])),
        },
    );
    let screen = format!("{:?}", render(&mut s, 120, 30).backend());
    for want in [
        "helm · charts/web · chart web 0.3.1 (app 1.4.0)",
        "Desired objects (0, not rendered)",
        "note: Helm chart web 0.3.1 — helm is not on PATH",
    ] {
        assert!(screen.contains(want), "{want}: {screen}");
    }
    assert!(s.ws.problems.is_empty(), "a note, not a problem");
    // Rendered by helm: its objects fill the release's summary.
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 4, "template": {"spec": {"containers": [{"name": "web", "image": "ghcr.io/example/web:1.4.0"}]}}}});
    update(
        &mut s,
        Msg::ProgramRendered {
            release: 0,
            result: Ok((vec![deployment], vec!["rendered".into()])),
        },
    );
    assert_eq!(s.ws.releases[0].summary.replicas, Some(4));
    let screen = format!("{:?}", render(&mut s, 120, 30).backend());
    assert!(
        screen.contains("Desired objects (1, from helm template)"),
        "{screen}"
    );
}

/// While the cloud is still asked about the cluster, Helm waits: the answer
/// says whether it exists, and the context is chosen with it.
#[test]
fn helm_waits_for_the_clouds_answer() {
    let (_dir, mut s) = demo_state("default");
    s.live
        .insert("day".into(), crate::app::state::LiveEntry::Loading);
    let out = update(&mut s, Msg::Resize(120, 45));
    assert!(fetches(&out.effects).is_empty());
    s.live.remove("day");
    let out = update(&mut s, Msg::Resize(120, 45));
    assert_eq!(fetches(&out.effects), ["day"]);
}
