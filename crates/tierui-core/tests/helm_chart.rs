//! A Helm chart folder (fixtures/helm-chart) is a chart, not broken manifests:
//! discovered and declared as a release, rendered through the renderers'
//! `helm template`, and shown with a note when helm is not there.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value as Json;
use tierui_core::render::desired::{self, HelmTemplate, How, Renderers, Tools};
use tierui_core::render::program::{ProgramFailure, ProgramRequest, Ran};
use tierui_core::workspace::{self, HelmChart, Workspace};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// The fixture workspace in a temporary folder, optionally with a tierui.yaml.
fn fixture(descriptor: Option<&str>) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/helm-chart"),
        dir.path(),
    );
    if let Some(d) = descriptor {
        std::fs::write(dir.path().join("tierui.yaml"), d).unwrap();
    }
    let ws = workspace::load(dir.path());
    (dir, ws)
}

const DESCRIPTOR: &str = "name: charts\nclusters: []\nservices:\n  - name: web\n    manager: kubectl\n    manifests: charts/web\n    namespace: web\n    environments:\n      - name: prod\n        namespace: web-prod\n";

#[test]
fn a_discovered_chart_folder_is_not_reported_as_broken() {
    let (_d, ws) = fixture(None);
    assert!(ws.problems.is_empty(), "{:#?}", ws.problems);
    assert_eq!(
        ws.releases.len(),
        1,
        "the templates are no service of their own"
    );
    let r = &ws.releases[0];
    assert_eq!(r.service, "web", "named after the chart");
    assert_eq!(r.manager(), "helm");
    assert_eq!(
        r.chart(),
        Some(&HelmChart {
            name: "web".into(),
            version: "0.3.1".into(),
            app_version: Some("1.4.0".into()),
            values_files: vec![
                PathBuf::from("charts/web/values-prod.yaml"),
                PathBuf::from("charts/web/values.yaml"),
            ],
        })
    );
}

#[test]
fn a_declared_chart_folder_is_not_reported_as_broken() {
    let (_d, ws) = fixture(Some(DESCRIPTOR));
    assert!(ws.problems.is_empty(), "{:#?}", ws.problems);
    let r = &ws.releases[0];
    assert_eq!(r.title(), "web · prod");
    assert_eq!(r.namespace, "web-prod");
    assert!(r.summary.objects.is_empty(), "Chart.yaml is no object");
    // Editing a template or a values file is not checked as manifests.
    let template = Path::new("charts/web/templates/deployment.yaml");
    let text = std::fs::read_to_string(ws.root.join(template)).unwrap();
    assert!(workspace::check::check(&ws, template, &text).is_empty());
    let values = Path::new("charts/web/values.yaml");
    assert!(workspace::check::check(&ws, values, "replicas: 3\n").is_empty());
    assert_eq!(
        workspace::check::check(&ws, values, "replicas: [3\n").len(),
        1,
        "values files are still YAML"
    );
}

/// A `helm` that prints a fixed render and keeps what it was asked.
struct FakeHelm {
    asked: Mutex<Vec<HelmTemplate>>,
}

const RENDERED: &str = "---\n# Source: web/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n---\n# Source: web/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 4\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/example/web:1.4.0\n";

impl Renderers for FakeHelm {
    fn kustomize(&self, _dir: &Path, _sealed: bool) -> Result<String, String> {
        Err("no kustomize here".into())
    }
    fn preview(&self, _dir: &Path, _stack: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
    fn program(&self, _req: &ProgramRequest) -> Result<Ran, ProgramFailure> {
        Err(ProgramFailure {
            message: "no programs here".into(),
            at: None,
            traceback: String::new(),
            fix: None,
        })
    }
    fn stack_outputs(&self, _dir: &Path, _stack: &str) -> Result<Option<Json>, String> {
        Ok(None)
    }
    fn helm_template(&self, req: &HelmTemplate) -> Result<Option<String>, String> {
        self.asked.lock().unwrap().push(req.clone());
        Ok(Some(RENDERED.into()))
    }
}

static FAKE: FakeHelm = FakeHelm {
    asked: Mutex::new(Vec::new()),
};

#[test]
fn a_chart_renders_through_helm_template_with_its_values_files() {
    let (_d, ws) = fixture(Some(DESCRIPTOR));
    let tools = Tools {
        sealed: true,
        renderers: &FAKE,
    };
    let d = desired::render(&ws, &ws.releases[0], &Default::default(), tools).unwrap();
    assert_eq!(d.how, How::Helm);
    let kinds: Vec<_> = d.objects.iter().map(|o| o["kind"].clone()).collect();
    assert_eq!(kinds, ["Service", "Deployment"]);
    assert_eq!(
        d.notes,
        [
            "Helm chart web 0.3.1 rendered with helm template (release web, namespace web-prod, values values.yaml, values-prod.yaml)"
        ]
    );
    let asked = FAKE.asked.lock().unwrap().pop().unwrap();
    let chart = ws.root.join("charts/web");
    let args: Vec<String> = asked
        .args()
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        args,
        [
            "template".to_string(),
            "web".into(),
            chart.display().to_string(),
            "--namespace".into(),
            "web-prod".into(),
            "-f".into(),
            chart.join("values.yaml").display().to_string(),
            "-f".into(),
            chart.join("values-prod.yaml").display().to_string(),
        ]
    );
    assert!(asked.sealed);
}

#[test]
fn without_helm_the_chart_is_a_chart_with_a_note() {
    let (_d, ws) = fixture(None);
    // Native rendering only: no helm to run.
    let d = desired::render(
        &ws,
        &ws.releases[0],
        &Default::default(),
        Tools::native(false),
    )
    .unwrap();
    assert_eq!(d.how, How::ConfigOnly);
    assert!(d.objects.is_empty());
    assert_eq!(
        d.notes,
        ["Helm chart web 0.3.1 — helm is not on PATH; install helm to render it"]
    );
}
