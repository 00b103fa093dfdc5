//! Editing and diff budgets, in process (run with `cargo bench --bench edit`):
//! - the rendered diff of 1,000 objects (normalise, compare, changed paths, YAML
//!   of both sides) and the line diffs of every changed object;
//! - editor keystroke to frame on a 5,000-line file: the key through `update`
//!   (which re-runs the live checks on the whole file) and a full frame drawn.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};

use tierui::app::editor::EditorView;
use tierui::app::keymap::Keymap;
use tierui::app::state::{Screen, Session, State};
use tierui::app::theme::Theme;
use tierui::app::update::{Msg, update};
use tierui_core::render::diff::{diff_objects, line_diff};

mod common;
use common::percentile;

fn report(what: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{what}: median {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} runs)",
        percentile(&ms, 0.5),
        percentile(&ms, 0.95),
        ms.last().copied().unwrap_or(f64::NAN),
        ms.len()
    );
}

/// A Deployment like the demo's, with `i` in its name and `tag` as the image.
fn deployment(i: usize, tag: &str, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("svc-{i:04}"), "namespace": "bench",
                     "labels": {"app": format!("svc-{i:04}"), "team": "platform"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": format!("svc-{i:04}")}},
            "template": {
                "metadata": {"labels": {"app": format!("svc-{i:04}")}},
                "spec": {"containers": [{
                    "name": "app",
                    "image": format!("ghcr.io/example/svc-{i:04}:{tag}"),
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "env": [{"name": "LOG_LEVEL", "value": "info"},
                            {"name": "REGION", "value": "us-west-2"}],
                    "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                                  "limits": {"memory": "512Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}}
                }]}
            }
        }
    })
}

fn diff_bench() {
    // 1,000 objects; every tenth gets a new image tag, every seventh new replicas.
    let before: Vec<Value> = (0..1000).map(|i| deployment(i, "v1.2.3", 3)).collect();
    let after: Vec<Value> = (0..1000)
        .map(|i| {
            deployment(
                i,
                if i % 10 == 0 { "v1.2.4" } else { "v1.2.3" },
                if i % 7 == 0 { 4 } else { 3 },
            )
        })
        .collect();
    let mut report_ms = Vec::new();
    let mut lines_ms = Vec::new();
    let mut changed = 0;
    for _ in 0..15 {
        let t = Instant::now();
        let r = diff_objects(&before, &after, "bench");
        report_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        changed = 0;
        for o in r.objects.iter().filter(|o| o.before != o.after) {
            changed += 1;
            std::hint::black_box(line_diff(&o.before, &o.after, 3));
        }
        lines_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    report("rendered diff of 1,000 objects (report)", report_ms);
    report(
        &format!("line diffs of its {changed} changed objects"),
        lines_ms,
    );
}

fn editor_bench() {
    let dir = tempfile::tempdir().expect("temp dir");
    tierui_core::paths::extract_demo(dir.path()).expect("demo");
    // 5,000 lines of manifests in the demo's dusk-service folder.
    let mut text = String::new();
    let mut i = 0;
    while text.lines().count() < 5000 {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{i}\n  namespace: dusk-service\n  labels:\n    app: dusk-service\ndata:\n  LOG_LEVEL: info\n  FEATURE_{i}: \"on\"\n  TIMEOUT_MS: \"2500\"\n"
        ));
        i += 1;
    }
    let rel = std::path::PathBuf::from("k8s/dusk/big.yaml");
    std::fs::write(dir.path().join(&rel), &text).expect("write");
    let ws = tierui_core::workspace::load(dir.path());
    let opened = tierui::app::files::open(&dir.path().join(&rel)).expect("open");
    let view = EditorView::new(rel, opened, &text, &ws);
    let mut s = State::new(
        ws,
        Session {
            sandbox: true,
            demo: true,
            ..Session::default()
        },
        Theme::builtin("default").expect("theme"),
        Keymap::default(),
    );
    s.width = 120;
    s.height = 40;
    s.push(Screen::Editor(Box::new(view)));
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    term.draw(|f| {
        tierui::ui::draw(f, &s);
    })
    .expect("draw");
    // Move to the middle of the file, then type.
    for _ in 0..2500 {
        update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Down)));
    }
    let mut ms = Vec::new();
    for k in "image: ghcr.io/example/dusk-service:v2.5.0"
        .chars()
        .cycle()
        .take(200)
    {
        let t = Instant::now();
        update(&mut s, Msg::Key(KeyEvent::from(KeyCode::Char(k))));
        term.draw(|f| {
            tierui::ui::draw(f, &s);
        })
        .expect("draw");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    report(
        &format!(
            "editor keystroke to frame, {}-line file (checks included)",
            text.lines().count()
        ),
        ms,
    );
}

fn main() {
    diff_bench();
    editor_bench();
}
