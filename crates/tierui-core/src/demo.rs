//! The demo workspace, scenarios and themes, embedded at build time (see build.rs):
//! data only; the sandbox turns a scenario into a simulator configuration.

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

/// The names of the bundled simulator scenarios (`fixtures/scenarios/<name>.yaml`).
pub fn scenario_names() -> Vec<String> {
    files_under("fixtures/scenarios/")
        .map(|(p, _)| p.trim_end_matches(".yaml").to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_workspace_is_embedded() {
        assert!(super::file("fixtures/demo/tierui.yaml").is_some());
        assert!(super::files_under("fixtures/demo/k8s/dusk/").count() >= 5);
    }
}
