//! Rendering a Python Pulumi app stack under the SDK's mocks: the first render
//! in a process (the interpreter starts, the SDK imports, the program runs) and
//! a repeated render of unchanged inputs (the cache). Uses the SDKs the test
//! command installs (`.venv-pulumi`, `.node-pulumi`).
//! Run: `cargo bench --bench programs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

#[path = "../tests/common/pulumi.rs"]
#[allow(dead_code)]
mod pulumi;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join(".venv-pulumi");
    let modules = root.join(".node-pulumi/node_modules");
    assert!(
        venv.exists() && modules.exists(),
        "run ./scripts/test-all once: it installs the Pulumi SDKs"
    );
    let dir = tempfile::tempdir().expect("tmp");
    pulumi::fixture("python-foundation", dir.path());
    std::os::unix::fs::symlink(&venv, dir.path().join("gitops/pulumi_deploy/venv")).expect("link");
    std::os::unix::fs::symlink(
        &modules,
        dir.path().join("gitops/night_service/node_modules"),
    )
    .expect("link");
    let ws = tierui_core::workspace::load(dir.path());
    for (service, env) in [
        ("day-service", "production"),
        ("night-service", "production"),
    ] {
        let r = ws
            .releases
            .iter()
            .find(|r| r.service == service && r.environment.as_deref() == Some(env))
            .expect("release");
        let mut firsts = Vec::new();
        // Each edit of the config is a new render (a different cache key).
        for i in 0..5 {
            let ps = match &r.source {
                tierui_core::workspace::ReleaseSource::Pulumi(ps) => ps,
                _ => unreachable!(),
            };
            let text = std::fs::read_to_string(ws.root.join(&ps.config_file)).expect("config");
            let edited = text.replace("replicas: \"", &format!("replicas: \"{i}"));
            let overrides = BTreeMap::from([(ps.config_file.clone(), edited)]);
            let t = Instant::now();
            let d = tierui_core::render::desired::render(
                &ws,
                r,
                &overrides,
                tierui_backends::tools::LOCAL,
            )
            .expect("render");
            firsts.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(!d.objects.is_empty());
        }
        let mut cached = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            tierui_core::render::desired::render(
                &ws,
                r,
                &BTreeMap::new(),
                tierui_backends::tools::LOCAL,
            )
            .expect("render");
            cached.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        cached.remove(0); // the first one fills the cache
        firsts.sort_by(f64::total_cmp);
        cached.sort_by(f64::total_cmp);
        println!(
            "{service}/{env}: render {:.0} ms median (min {:.0}, max {:.0}) of {}; cached {:.2} ms median (max {:.2}) of {}",
            firsts[firsts.len() / 2],
            firsts[0],
            firsts[firsts.len() - 1],
            firsts.len(),
            cached[cached.len() / 2],
            cached[cached.len() - 1],
            cached.len()
        );
    }
}
