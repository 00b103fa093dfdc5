//! The demo workspace, scenarios and themes, embedded at build time (see build.rs).

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Files under `prefix` (e.g. `"fixtures/demo/"`), with the prefix removed.
pub fn files_under(prefix: &str) -> impl Iterator<Item = (&'static str, &'static [u8])> + '_ {
    EMBEDDED
        .iter()
        .filter_map(move |(path, bytes)| path.strip_prefix(prefix).map(|rest| (rest, *bytes)))
}

/// One embedded file by its path relative to the repository root.
pub fn file(path: &str) -> Option<&'static [u8]> {
    EMBEDDED.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

/// A simulator scenario by name (`fixtures/scenarios/<name>.yaml`, embedded) or
/// by path, with the demo manifests it seeds resolved into objects: the data
/// `tierui-sim` starts from.
pub fn scenario(
    name_or_path: &str,
) -> anyhow::Result<(tierui_sim::scenario::Scenario, Vec<serde_json::Value>)> {
    use anyhow::Context as _;
    let embedded = file(&format!("fixtures/scenarios/{name_or_path}.yaml"));
    let text = match embedded {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => std::fs::read_to_string(name_or_path).with_context(|| {
            format!(
                "no scenario {name_or_path:?} (known: {}) and no such file",
                scenario_names().join(", ")
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

/// The names of the bundled scenarios.
pub fn scenario_names() -> Vec<String> {
    files_under("fixtures/scenarios/")
        .map(|(p, _)| p.trim_end_matches(".yaml").to_string())
        .collect()
}

/// The demo's manifests in these folders (`k8s/dusk`), as JSON objects.
fn scenario_manifests(folders: &[String]) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for folder in folders {
        let prefix = format!("fixtures/demo/{}/", folder.trim_end_matches('/'));
        let mut files: Vec<(&str, &[u8])> = files_under(&prefix).collect();
        anyhow::ensure!(!files.is_empty(), "no demo manifests under {folder}");
        files.sort_by_key(|(p, _)| *p);
        for (path, bytes) in files {
            if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
                continue;
            }
            let text = crate::workspace::yaml::decode(bytes).map_err(|e| {
                anyhow::anyhow!("{folder}/{path}: {}:{}: {}", e.line, e.col, e.message)
            })?;
            let docs = crate::workspace::yaml::parse_documents(text).map_err(|e| {
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
        let names = super::scenario_names();
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

    #[test]
    fn demo_workspace_is_embedded() {
        assert!(super::file("fixtures/demo/tierui.yaml").is_some());
        assert!(super::files_under("fixtures/demo/k8s/dusk/").count() >= 5);
    }
}
