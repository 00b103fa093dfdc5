//! Simulator scenarios as the sandbox starts them: a bundled scenario (embedded in
//! the core's demo data) or a scenario file, with the demo manifests it seeds
//! resolved into objects — the data `tierui-sim` starts from.

use tierui_core::demo;
use tierui_core::workspace::yaml;

/// A simulator scenario by name (`fixtures/scenarios/<name>.yaml`, embedded) or
/// by path, with the demo manifests it seeds resolved into objects: the data
/// `tierui-sim` starts from.
pub fn scenario(
    name_or_path: &str,
) -> anyhow::Result<(tierui_sim::scenario::Scenario, Vec<serde_json::Value>)> {
    use anyhow::Context as _;
    let embedded = demo::file(&format!("fixtures/scenarios/{name_or_path}.yaml"));
    let text = match embedded {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => std::fs::read_to_string(name_or_path).with_context(|| {
            format!(
                "no scenario {name_or_path:?} (known: {}) and no such file",
                demo::scenario_names().join(", ")
            )
        })?,
    };
    let s = tierui_sim::scenario::Scenario::parse(&text)
        .with_context(|| format!("scenario {name_or_path}"))?;
    let objects =
        scenario_manifests(&s.manifests).with_context(|| format!("scenario {name_or_path}"))?;
    Ok((s, objects))
}

/// A simulator configuration for a bundled scenario (or a scenario file).
pub fn sim_config(name_or_path: &str) -> anyhow::Result<tierui_sim::SimConfig> {
    let (scenario, objects) = scenario(name_or_path)?;
    Ok(tierui_sim::SimConfig {
        scenario,
        objects,
        ..Default::default()
    })
}

/// The demo's manifests in these folders (`k8s/dusk`), as JSON objects.
fn scenario_manifests(folders: &[String]) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for folder in folders {
        let prefix = format!("fixtures/demo/{}/", folder.trim_end_matches('/'));
        let mut files: Vec<(&str, &[u8])> = demo::files_under(&prefix).collect();
        anyhow::ensure!(!files.is_empty(), "no demo manifests under {folder}");
        files.sort_by_key(|(p, _)| *p);
        for (path, bytes) in files {
            if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
                continue;
            }
            let text = yaml::decode(bytes).map_err(|e| {
                anyhow::anyhow!("{folder}/{path}: {}:{}: {}", e.line, e.col, e.message)
            })?;
            let docs = yaml::parse_documents(text).map_err(|e| {
                anyhow::anyhow!("{folder}/{path}:{}:{}: {}", e.line, e.col, e.message)
            })?;
            out.extend(
                docs.into_iter()
                    .map(|d| d.root.to_json())
                    .filter(serde_json::Value::is_object),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_bundled_scenario_parses_and_seeds() {
        let names = tierui_core::demo::scenario_names();
        for n in ["steady", "rollout", "scale-up", "crash-loop"] {
            assert!(names.iter().any(|x| x == n), "missing scenario {n}");
        }
        for n in names {
            let (s, objects) = super::scenario(&n).unwrap();
            if n.starts_with("sandbox-") {
                // The sandbox applies the workspace's releases itself (as tierui
                // apply would); its scenarios bring nodes and load.
                assert!(
                    s.nodes.count > 0 && !s.load.is_empty(),
                    "{n} has no nodes or load"
                );
            } else {
                assert!(!objects.is_empty(), "{n} seeds nothing");
            }
        }
    }
}
