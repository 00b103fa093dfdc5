//! Every public eksctl example ClusterConfig (fixtures/eksctl/examples, copied
//! unchanged from eksctl-io/eksctl at the commit its README names) through the
//! walkthrough planner: the ones it plans, and the ones it refuses — each by the
//! field it cannot model, with that field's line:column and the reason.

use std::path::PathBuf;

use tierui_core::walkthrough::plan::{self, refusal_reason};
use tierui_core::workspace::{eksctl, yaml};

fn examples() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/eksctl/examples");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn plan_of(src: &str) -> Result<plan::Plan, String> {
    let docs = yaml::parse_documents(src).map_err(|e| format!("{e:?}"))?;
    let doc = docs
        .into_iter()
        .map(|d| d.root)
        .find(|d| !d.is_null())
        .ok_or("empty")?;
    let mut diags = Vec::new();
    let cfg = eksctl::parse(&doc, &mut diags).ok_or_else(|| format!("{diags:?}"))?;
    assert!(!eksctl::has_errors(&diags), "{diags:?}");
    plan::plan(&cfg, &diags).map_err(|u| u.to_string())
}

/// The examples still refused, each with the field that stops it.
const REFUSED: &[(&str, &str)] = &[
    ("12-gitops-toolkit.yaml", "gitops (16:1)"),
    ("29-cluster-with-karpenter.yaml", "karpenter (14:1)"),
    ("35-outposts.yaml", "outpost (20:1)"),
    ("36-outposts-vpc.yaml", "outpost (23:1)"),
    ("37-outposts-fully-private.yaml", "outpost (24:1)"),
    ("42-auto-mode.yaml", "autoModeConfig (9:1)"),
    ("43-hybrid-nodes.yaml", "remoteNetworkConfig (9:1)"),
    (
        "47-auto-mode-with-ack-kro-capabilities.yaml",
        "autoModeConfig (9:1)",
    ),
    (
        "48-auto-mode-with-argocd-capabilities.yaml",
        "autoModeConfig (9:1)",
    ),
];

#[test]
fn every_public_example_plans_or_is_refused_by_name() {
    let all = examples();
    assert_eq!(all.len(), 49, "the fixture copy holds eksctl's 49 examples");
    let mut planned = Vec::new();
    let mut refused = Vec::new();
    for (name, src) in &all {
        match plan_of(src) {
            Ok(p) => {
                assert!(
                    p.calls().count() > 10,
                    "{name}: {} calls",
                    p.calls().count()
                );
                planned.push(name.clone());
            }
            Err(e) => refused.push((name.clone(), e)),
        }
    }
    for (name, e) in &refused {
        let expected = REFUSED.iter().find(|(n, _)| n == name);
        let Some((_, field)) = expected else {
            panic!("{name} is refused but should plan: {e}");
        };
        assert!(e.contains(field), "{name}: {e}");
        // Every refusal says why, naming what the walkthrough does not model.
        assert!(e.contains(" — "), "{name} is refused without a reason: {e}");
    }
    assert_eq!(refused.len(), REFUSED.len(), "{refused:#?}");
    assert_eq!(planned.len(), 40, "{planned:?}");
    for (_, field) in REFUSED {
        assert!(refusal_reason(field.split(' ').next().unwrap()).is_some());
    }
}
