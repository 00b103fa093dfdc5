//! Bounded random mutations of every fixture — the demo workspace's files and
//! eksctl's public example ClusterConfigs (fixtures/eksctl/examples, source in its
//! README) — fed through every parser, the workspace loader, the walkthrough
//! planner, the renderer and the diff: no panic, every error positioned, and each
//! case done in bounded time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tierui_core::workspace::fields::Severity;
use tierui_core::workspace::{eksctl, manifests, pulumi, yaml};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        {
            out.push(p);
        }
    }
}

/// Every input file with its text, demo workspace first.
fn inputs() -> &'static [(PathBuf, String)] {
    static ALL: std::sync::OnceLock<Vec<(PathBuf, String)>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut paths = Vec::new();
        files_under(&root().join("demo"), &mut paths);
        files_under(&root().join("eksctl"), &mut paths);
        paths.sort();
        assert!(paths.len() > 60, "fixtures missing: {}", paths.len());
        paths
            .into_iter()
            .map(|p| {
                let t = std::fs::read_to_string(&p).unwrap();
                (p, t)
            })
            .collect()
    })
}

/// Text a mutation may insert: what changes YAML's structure most.
const SNIPPETS: &[&str] = &[
    "&a ",
    "*a",
    ": ",
    "- ",
    "\n",
    "  ",
    "\t",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "#",
    "---\n",
    "<<: *a\n",
    "!!binary ",
    "!Ref ",
    "|\n",
    ">-\n",
    "? ",
    ",",
    "é",
    "\u{1F600}",
    "\r\n",
    "~",
    "0x1F",
    "1e999",
    "-.inf",
    "null",
    "${",
    "}}",
    "\\",
    "%YAML 1.1\n",
    "\u{0}",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, snippet: usize },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 0..SNIPPETS.len())
            .prop_map(|(at, snippet)| Mutation::Insert { at, snippet }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn boundary(s: &str, at: usize) -> usize {
    let mut i = at % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut s = text.to_string();
    match m {
        Mutation::Delete { at, len } => {
            let a = boundary(&s, *at);
            let b = boundary(&s, a + len.min(&(s.len() - a)));
            s.replace_range(a..b.max(a), "");
        }
        Mutation::Insert { at, snippet } => {
            let a = boundary(&s, *at);
            s.insert_str(a, SNIPPETS[*snippet]);
        }
        Mutation::DuplicateLine { line } => {
            let mut lines: Vec<&str> = s.split('\n').collect();
            let i = line % lines.len();
            lines.insert(i, lines[i]);
            s = lines.join("\n");
        }
        Mutation::SwapLines { a, b } => {
            let mut lines: Vec<&str> = s.split('\n').collect();
            let n = lines.len();
            lines.swap(a % n, b % n);
            s = lines.join("\n");
        }
        Mutation::Truncate { at } => {
            let a = boundary(&s, *at);
            s.truncate(a);
        }
    }
    s
}

fn positioned(what: &str, line: usize, col: usize, message: &str, text: &str) {
    assert!(
        line >= 1 && col >= 1,
        "{what}: an error without a position ({line}:{col}) {message}\n--- input ---\n{text}"
    );
}

/// Every parser over one mutated text.
fn parse_all(name: &Path, text: &str) {
    let docs = match yaml::parse_documents(text) {
        Ok(d) => d,
        Err(e) => {
            positioned("yaml", e.line, e.col, &e.message, text);
            return;
        }
    };
    let mut diags = Vec::new();
    let _ = manifests::parse(text, &mut diags);
    for doc in &docs {
        if let Some(cfg) = eksctl::parse(&doc.root, &mut diags) {
            // The planner on whatever parsed: a plan or a refusal, never a panic.
            let _ = tierui_core::walkthrough::plan::plan(&cfg, &diags);
        }
        let _ = tierui_core::workspace::descriptor::parse(&doc.root, &mut diags);
        if let Some(p) = pulumi::parse_project(&doc.root, &mut diags) {
            let _ = pulumi::parse_stack_config(&doc.root, &p.name, &p.config, &mut diags);
        }
    }
    if name.extension().is_some_and(|x| x == "json") {
        let _ = pulumi::parse_checkpoint(text.as_bytes(), &mut diags);
    }
    for d in diags.iter().filter(|d| d.severity == Severity::Error) {
        positioned(&d.path, d.line, d.col, &d.message, text);
    }
}

/// The object diff and the line diff between the original and the mutation.
fn diff_all(original: &str, mutated: &str) {
    let objects = |t: &str| -> Vec<serde_json::Value> {
        let mut d = Vec::new();
        manifests::parse(t, &mut d)
            .into_iter()
            .map(|m| m.object)
            .collect()
    };
    let report =
        tierui_core::render::diff::diff_objects(&objects(original), &objects(mutated), "default");
    let _ = tierui_core::render::diff::unified_text(&report, "before", "after");
    let _ = tierui_core::render::diff::line_diff(original, mutated, 3);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    /// Up to three mutations of any one input file.
    #[test]
    fn mutated_inputs_parse_or_fail_with_a_position(
        file in any::<prop::sample::Index>(),
        muts in proptest::collection::vec(mutation(), 1..4),
    ) {
        let all = inputs();
        let (path, original) = &all[file.index(all.len())];
        let mut text = original.clone();
        for m in &muts {
            text = apply(&text, m);
        }
        let started = Instant::now();
        parse_all(path, &text);
        diff_all(original, &text);
        prop_assert!(started.elapsed() < Duration::from_secs(3), "{} took {:?}", path.display(), started.elapsed());
    }
}

/// A demo workspace with one of its files mutated: the whole loader and the
/// renderer of every release. Fewer cases, each loads a workspace.
#[test]
fn mutated_workspaces_load_and_render() {
    let demo: Vec<&(PathBuf, String)> = inputs()
        .iter()
        .filter(|(p, _)| p.starts_with(root().join("demo")))
        .collect();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (
        any::<prop::sample::Index>(),
        proptest::collection::vec(mutation(), 1..4),
    );
    runner
        .run(&strategy, |(file, muts)| {
            let (path, original) = demo[file.index(demo.len())];
            let mut text = original.clone();
            for m in &muts {
                text = apply(&text, m);
            }
            let dir = tempfile::tempdir().unwrap();
            tierui_core::paths::extract_demo(dir.path()).unwrap();
            let rel = path.strip_prefix(root().join("demo")).unwrap();
            std::fs::write(dir.path().join(rel), &text).unwrap();
            let started = Instant::now();
            let ws = tierui_core::workspace::load(dir.path());
            for p in ws.problems.iter().filter(|p| p.severity == Severity::Error) {
                if p.file == rel {
                    positioned(
                        &p.file.display().to_string(),
                        p.line,
                        p.col,
                        &p.message,
                        &text,
                    );
                }
            }
            for r in &ws.releases {
                let sealed = tierui_backends::tools::SEALED;
                let _ = tierui_core::render::desired::render(&ws, r, &Default::default(), sealed);
            }
            prop_assert!(started.elapsed() < Duration::from_secs(5));
            Ok(())
        })
        .unwrap();
}

#[test]
fn every_eksctl_example_loads_and_plans_or_is_refused_by_field() {
    let examples: Vec<&(PathBuf, String)> = inputs()
        .iter()
        .filter(|(p, _)| p.starts_with(root().join("eksctl/examples")))
        .collect();
    assert_eq!(examples.len(), 49);
    let mut planned = 0;
    for (path, text) in examples {
        let docs =
            yaml::parse_documents(text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let doc = docs.iter().find(|d| !d.root.is_null()).unwrap();
        let mut diags = Vec::new();
        let cfg = eksctl::parse(&doc.root, &mut diags)
            .unwrap_or_else(|| panic!("{}: not read: {diags:?}", path.display()));
        let errors: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        match tierui_core::walkthrough::plan::plan(&cfg, &diags) {
            Ok(_) => planned += 1,
            Err(u) => assert!(!u.fields.is_empty(), "{}", path.display()),
        }
    }
    assert!(planned >= 6, "{planned} of 49 plan");
}
