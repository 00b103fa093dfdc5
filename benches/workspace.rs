//! A large foundation workspace (`cargo bench --bench workspace`): 20 eksctl
//! clusters and 300 releases — 100 services × dev, staging and production —
//! half `manager: kubectl` with a folder of manifests (Namespace, ConfigMap,
//! Deployment, Service), half Pulumi YAML programs (`runtime: yaml`, one
//! project per service, a stack per environment). The workspace is generated
//! in a temporary folder by this bench, not committed. The clusters' contexts
//! point at a closed port (nothing answers), so what is measured is tierui's
//! own work on the workspace, not a cluster's:
//! 1. first frame: `tierui --workspace <ws>` in a pty (script(1), as the
//!    startup bench), exiting after its first frame; the `first frame` ms it
//!    logs and the wall time, median and max;
//! 2. `tierui status --json`: wall time, exit code, the releases it lists;
//! 3. the navigator's filter: `/` and a few characters typed 200 ms apart in
//!    a running UI (tmux), each key's `key to frame` ms from its log;
//! 4. desired objects: the in-process cost of loading the workspace, of
//!    rendering every release (the UI does it in the background after a load)
//!    and of asking again (cached per load), when the UI logs its background
//!    render done and every release state known;
//! 5. RSS and idle CPU of the running UI over a window once settled.
//!
//! Environment: WORKSPACE_BENCH_RUNS (5), WORKSPACE_BENCH_SERVICES (100),
//! WORKSPACE_BENCH_CLUSTERS (20), WORKSPACE_BENCH_IDLE_SECS (10),
//! WORKSPACE_BENCH_CONTEXTS (`refused`: a kubeconfig whose contexts point at
//! 127.0.0.1:9; `none`: no kubeconfig at all), WORKSPACE_BENCH_KEEP (a folder
//! to copy the generated workspace and the UI's log into).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{
    InPty, cpu_ticks, env_num, field, manifests, percentile, status_kib, tierui, tierui_env, tmux,
    wait_log,
};

const ENVS: [&str; 3] = ["dev", "staging", "production"];
const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// The budgets the figures are held to.
const FIRST_FRAME_MS: f64 = 150.0;
const STATUS_MS: f64 = 500.0;
const KEY_TO_FRAME_MS: f64 = 16.0;

/// `median X ms, max Y ms` of unsorted samples.
fn median_max(samples: &[f64]) -> (f64, f64) {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    (percentile(&s, 0.5), s.last().copied().unwrap_or(f64::NAN))
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn cluster_name(c: usize) -> String {
    format!("wsb-{c:02}")
}

/// An eksctl ClusterConfig as a team would write one.
fn cluster_config(c: usize) -> String {
    let name = cluster_name(c);
    let region = REGIONS[c % REGIONS.len()];
    format!(
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n\nmetadata:\n  name: {name}\n  region: {region}\n  version: \"1.31\"\n  tags:\n    team: platform\n    tier: foundation\n\n\
         availabilityZones: [\"{region}a\", \"{region}b\"]\n\n\
         vpc:\n  cidr: 10.{c}.0.0/16\n  nat:\n    gateway: Single\n  clusterEndpoints:\n    publicAccess: true\n    privateAccess: true\n\n\
         iam:\n  withOIDC: true\n\n\
         addons:\n  - name: vpc-cni\n  - name: kube-proxy\n    version: latest\n  - name: coredns\n    version: latest\n\n\
         managedNodeGroups:\n  - name: {name}-general\n    instanceType: t3.large\n    minSize: 2\n    desiredCapacity: 3\n    maxSize: 6\n    volumeSize: 50\n    privateNetworking: true\n    labels:\n      role: general\n"
    )
}

/// A Pulumi YAML program in the demo's shape (gitops/pulumi_deploy): config
/// with defaults and a secret, variables, a StackReference to the cluster's
/// infra stack whose kubeconfig output makes the Kubernetes provider (as the
/// two-tier rules want), and the same objects as the kubectl releases plus a
/// Secret. The clusters here are eksctl's, so no infra stack's checkpoint is
/// in the workspace: the render notes those outputs as unknown.
fn pulumi_program(service: &str) -> String {
    let res = |name: &str, type_: &str, body: &str| {
        format!(
            "  {name}:\n    type: {type_}\n    properties:\n{body}    options:\n      provider: ${{cluster}}\n\n"
        )
    };
    let mut s = format!(
        "name: {service}\nruntime: yaml\ndescription: {service} release (Namespace, ConfigMap, Secret, Deployment, Service) on an infra stack's cluster\n\
         backend:\n  url: file://../..\n\n\
         config:\n  image_tag:\n    type: string\n  replicas:\n    type: integer\n    default: 2\n  log_level:\n    type: string\n    default: info\n\
         \x20 namespace:\n    type: string\n    default: {service}\n  infra_stack:\n    type: string\n  api_key:\n    type: string\n    secret: true\n\n\
         variables:\n  appLabels:\n    app: {service}\n  image: ghcr.io/example/{service}:${{image_tag}}\n\n\
         resources:\n  infra:\n    type: pulumi:pulumi:StackReference\n    properties:\n      name: ${{infra_stack}}\n\n\
         \x20 cluster:\n    type: pulumi:providers:kubernetes\n    properties:\n      kubeconfig: ${{infra.outputs[\"kubeconfig\"]}}\n\n"
    );
    s.push_str(&res(
        "ns",
        "kubernetes:core/v1:Namespace",
        "      metadata:\n        name: ${namespace}\n",
    ));
    s.push_str(&res(
        "config",
        "kubernetes:core/v1:ConfigMap",
        &format!(
            "      metadata:\n        name: {service}\n        namespace: ${{namespace}}\n        labels: ${{appLabels}}\n      data:\n        LOG_LEVEL: ${{log_level}}\n        CLUSTER_NAME: ${{infra.outputs[\"cluster_name\"]}}\n"
        ),
    ));
    s.push_str(&res(
        "credentials",
        "kubernetes:core/v1:Secret",
        &format!(
            "      metadata:\n        name: {service}-credentials\n        namespace: ${{namespace}}\n        labels: ${{appLabels}}\n      stringData:\n        API_KEY: ${{api_key}}\n"
        ),
    ));
    s.push_str(&res(
        "deployment",
        "kubernetes:apps/v1:Deployment",
        &format!(
            "      metadata:\n        name: {service}\n        namespace: ${{namespace}}\n        labels: ${{appLabels}}\n      spec:\n        replicas: ${{replicas}}\n\
             \x20       selector:\n          matchLabels: ${{appLabels}}\n        template:\n          metadata:\n            labels: ${{appLabels}}\n\
             \x20         spec:\n            containers:\n              - name: {service}\n                image: ${{image}}\n                ports:\n                  - name: http\n                    containerPort: 8080\n\
             \x20               envFrom:\n                  - configMapRef:\n                      name: {service}\n                  - secretRef:\n                      name: {service}-credentials\n\
             \x20               resources:\n                  requests:\n                    cpu: 100m\n                    memory: 64Mi\n"
        ),
    ));
    s.push_str(&res(
        "service",
        "kubernetes:core/v1:Service",
        &format!(
            "      metadata:\n        name: {service}\n        namespace: ${{namespace}}\n        labels: ${{appLabels}}\n      spec:\n        selector: ${{appLabels}}\n        ports:\n          - name: http\n            port: 80\n            targetPort: http\n"
        ),
    ));
    s.push_str("outputs:\n  image: ${image}\n  namespace: ${namespace}\n");
    s
}

fn stack_config(service: &str, env: &str, ns: &str, cluster: &str, n: usize) -> String {
    let (replicas, level) = match env {
        "production" => (3, "info"),
        "staging" => (2, "info"),
        _ => (1, "debug"),
    };
    format!(
        "config:\n  {service}:image_tag: v1.{}.{n}\n  {service}:replicas: \"{replicas}\"\n  {service}:log_level: {level}\n  {service}:namespace: {ns}\n  {service}:infra_stack: organization/eks-foundation/{cluster}\n\
         \x20 {service}:api_key:\n    secure: AAABAHc2bW9rZS10ZXN0LWRldi1rZXktbm90LXJlYWwtYXQtYWxs\n",
        usize::from(env == "dev")
    )
}

/// Writes the workspace; returns how many releases of each manager it has.
fn workspace(ws: &Path, services: usize, clusters: usize) -> (usize, usize) {
    let write = |rel: &str, text: &str| {
        let path = ws.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, text).expect("write");
    };
    let mut yaml =
        String::from("# Generated by benches/workspace.rs.\nname: bench-foundation\nclusters:\n");
    for c in 0..clusters {
        let name = cluster_name(c);
        write(&format!("clusters/{name}.yaml"), &cluster_config(c));
        yaml.push_str(&format!(
            "  - name: {name}\n    provisioner: eksctl\n    config: clusters/{name}.yaml\n    region: {}\n    context: {name}\n",
            REGIONS[c % REGIONS.len()]
        ));
    }
    yaml.push_str("services:\n");
    let (mut kubectl, mut pulumi) = (0, 0);
    for n in 0..services {
        let service = format!("svc-{n:03}");
        let cluster_of = |e: usize| cluster_name((n * ENVS.len() + e) % clusters);
        if n.is_multiple_of(2) {
            // kubectl: a folder per environment, each its own entry.
            for (e, env) in ENVS.iter().enumerate() {
                let ns = format!("{service}-{env}");
                let folder = format!("k8s/{service}/{env}");
                write(&format!("{folder}/app.yaml"), &manifests(&service, &ns, n));
                yaml.push_str(&format!(
                    "  - name: {service}-{env}\n    manager: kubectl\n    manifests: {folder}\n    cluster: {}\n    namespace: {ns}\n",
                    cluster_of(e)
                ));
                kubectl += 1;
            }
        } else {
            // Pulumi YAML: one project, a stack per environment.
            let project = format!("apps/{service}");
            write(&format!("{project}/Pulumi.yaml"), &pulumi_program(&service));
            yaml.push_str(&format!(
                "  - name: {service}\n    manager: pulumi\n    project: {project}\n    namespace: {service}\n    environments:\n"
            ));
            for (e, env) in ENVS.iter().enumerate() {
                let ns = format!("{service}-{env}");
                let cluster = cluster_of(e);
                write(
                    &format!("{project}/Pulumi.{env}.yaml"),
                    &stack_config(&service, env, &ns, &cluster, n),
                );
                yaml.push_str(&format!(
                    "      - name: {env}\n        stack: {env}\n        cluster: {cluster}\n        namespace: {ns}\n"
                ));
                pulumi += 1;
            }
        }
    }
    write("tierui.yaml", &yaml);
    (kubectl, pulumi)
}

/// A kubeconfig with a context per cluster, every one at a closed port.
fn refused_kubeconfig(path: &Path, clusters: usize) {
    let mut k = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for c in 0..clusters {
        k.push_str(&format!(
            "- name: {}\n  cluster:\n    server: https://127.0.0.1:9\n",
            cluster_name(c)
        ));
    }
    k.push_str("users:\n- name: bench\n  user:\n    token: bench\ncontexts:\n");
    for c in 0..clusters {
        let name = cluster_name(c);
        k.push_str(&format!(
            "- name: {name}\n  context:\n    cluster: {name}\n    user: bench\n"
        ));
    }
    k.push_str(&format!("current-context: {}\n", cluster_name(0)));
    std::fs::write(path, k).expect("kubeconfig");
}

/// Every `what` line's `ms=` in the log so far.
fn log_ms(log: &Path, what: &str) -> Vec<f64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(what))
        .filter_map(|l| field(l, "ms"))
        .collect()
}

/// Every key → frame time tierui has logged so far.
fn key_times(log: &Path) -> Vec<f64> {
    log_ms(log, "key to frame")
}

fn report(what: &str, samples: &[f64]) {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    println!(
        "  {what} ({} keys): median {:.1} ms, p95 {:.1} ms, max {:.1} ms  [{}]",
        s.len(),
        percentile(&s, 0.5),
        percentile(&s, 0.95),
        s.last().copied().unwrap_or(f64::NAN),
        samples
            .iter()
            .map(|v| format!("{v:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

/// How many WARN and ERROR lines the log has, and the commonest of them
/// (digits masked, so the same message about another cluster counts once).
fn log_summary(log: &Path, secs: f64) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    let mut total = 0;
    for l in text
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
    {
        total += 1;
        let at = l.find(" WARN ").or_else(|| l.find(" ERROR ")).unwrap_or(0);
        let masked: String = l[at..]
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .take(150)
            .collect();
        *kinds.entry(masked).or_default() += 1;
    }
    println!(
        "log: {} lines, {total} WARN/ERROR in {secs:.0} s, {} kinds",
        text.lines().count(),
        kinds.len()
    );
    let mut top: Vec<(String, usize)> = kinds.into_iter().collect();
    top.sort_by_key(|b| std::cmp::Reverse(b.1));
    for (k, n) in top.iter().take(4) {
        println!("  {n:>5} ×{k}");
    }
}

fn verdict(value: f64, budget: f64) -> &'static str {
    if value <= budget { "ok" } else { "OVER" }
}

fn main() {
    let runs = env_num("WORKSPACE_BENCH_RUNS", 5.0).max(1.0) as usize;
    let services = env_num("WORKSPACE_BENCH_SERVICES", 100.0) as usize;
    let clusters = env_num("WORKSPACE_BENCH_CLUSTERS", 20.0).max(1.0) as usize;
    let idle = Duration::from_secs_f64(env_num("WORKSPACE_BENCH_IDLE_SECS", 10.0));
    let contexts = std::env::var("WORKSPACE_BENCH_CONTEXTS").unwrap_or_else(|_| "refused".into());

    let dir = tempfile::tempdir().expect("temp dir");
    let ws = dir.path().join("foundation");
    let t = Instant::now();
    let (kubectl, pulumi) = workspace(&ws, services, clusters);
    println!(
        "workspace: {clusters} eksctl clusters, {} releases ({kubectl} kubectl, {pulumi} Pulumi YAML) from {services} services; written in {:.0} ms",
        kubectl + pulumi,
        ms(t)
    );
    let kubeconfig = dir.path().join("kubeconfig");
    match contexts.as_str() {
        "none" => println!("contexts: none (KUBECONFIG names a file that does not exist)"),
        _ => {
            refused_kubeconfig(&kubeconfig, clusters);
            println!("contexts: one per cluster, each at https://127.0.0.1:9 (connection refused)");
        }
    }
    let envs = |state: &str| {
        tierui_env(
            &dir.path().join(state),
            &dir.path().join("config"),
            &kubeconfig.display().to_string(),
            "info,perf=debug",
        )
    };

    // 4a. In-process: loading (which renders every kubectl folder and Pulumi
    // YAML program) and one more render of every release.
    let mut loads = Vec::new();
    let mut model = None;
    for _ in 0..runs {
        let t = Instant::now();
        let w = tierui_core::workspace::load(&ws);
        loads.push(ms(t));
        model = Some(w);
    }
    let model = model.expect("a load");
    let errors: Vec<_> = model
        .problems
        .iter()
        .filter(|p| p.severity == tierui_core::workspace::fields::Severity::Error)
        .collect();
    let objects: usize = model.releases.iter().map(|r| r.summary.objects.len()).sum();
    let (med, max) = median_max(&loads);
    println!(
        "workspace::load in process, {runs} runs: median {med:.1} ms, max {max:.1} ms ({} releases, {objects} desired objects summarized, {} problems, {} errors)",
        model.releases.len(),
        model.problems.len(),
        errors.len()
    );
    for p in model.problems.iter().take(5) {
        println!("  problem: {}:{}: {}", p.file.display(), p.line, p.message);
    }
    // The two-tier rules, which workspace::load runs last (they read the
    // source files again, line by line).
    let mut checks = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let found = tierui_core::workspace::tiers::check(&model);
        checks.push(ms(t));
        std::hint::black_box(found);
    }
    let (med, max) = median_max(&checks);
    println!("  of which tiers::check (the two-tier rules): median {med:.1} ms, max {max:.1} ms");
    let tools = tierui_core::render::desired::Tools::native(true);
    let mut by_how: std::collections::BTreeMap<String, (usize, f64, usize)> = Default::default();
    let t = Instant::now();
    for r in &model.releases {
        let t = Instant::now();
        let d = tierui_core::render::desired::render(&model, r, &Default::default(), tools);
        let took = ms(t);
        let (how, n) = match &d {
            Ok(d) => (format!("{:?}", d.how), d.objects.len()),
            Err(_) => ("failed".to_string(), 0),
        };
        let e = by_how.entry(how).or_default();
        e.0 += 1;
        e.1 += took;
        e.2 += n;
    }
    println!(
        "desired::render of every release, first time after the load (what the background warm-up does): {:.1} ms in all",
        ms(t)
    );
    // Asked again (each drift, diff and comparison asks): the load's cache.
    let t = Instant::now();
    for r in &model.releases {
        std::hint::black_box(
            tierui_core::render::desired::render(&model, r, &Default::default(), tools).ok(),
        );
    }
    println!(
        "desired::render of every release again (drifts, diffs, comparisons): {:.1} ms in all ({} renders cached)",
        ms(t),
        model.rendered.len()
    );
    for (how, (count, total, n)) in &by_how {
        println!(
            "  {how:<12} {count:>4} releases, {n:>5} objects, {total:>7.1} ms ({:.2} ms each)",
            total / *count as f64
        );
    }

    // 1. First frame, in a pty, exiting right after it (one warm-up run first).
    let frames_log = dir.path().join("state-frames").join("tierui.log");
    let script = || {
        let mut c = Command::new("script");
        c.args([
            "-qec",
            &format!(
                "stty cols 160 rows 50; '{}' --workspace '{}'",
                tierui(),
                ws.display()
            ),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in envs("state-frames") {
            c.env(k, v);
        }
        c.env("TIERUI_EXIT_AFTER_FIRST_FRAME", "1");
        c
    };
    let status = script()
        .status()
        .expect("script(1) from util-linux is needed");
    assert!(status.success(), "warm-up run failed: {status}");
    let mut walls = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let status = script().status().expect("run tierui");
        assert!(status.success(), "tierui failed: {status}");
        walls.push(ms(t));
    }
    let frames = log_ms(&frames_log, "first frame");
    let frames = &frames[frames.len().saturating_sub(runs)..];
    let (frame_med, frame_max) = median_max(frames);
    let (wall_med, wall_max) = median_max(&walls);
    println!(
        "first frame, {runs} runs after a warm-up: in-process (start of main → frame drawn) median {frame_med:.1} ms, max {frame_max:.1} ms; wall (spawn → frame → exit) median {wall_med:.1} ms, max {wall_max:.1} ms"
    );
    println!(
        "  each: {}",
        frames
            .iter()
            .map(|v| format!("{v:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );

    // 2. status --json.
    let status_cmd = || {
        let mut c = Command::new(tierui());
        c.arg("--workspace")
            .arg(&ws)
            .args(["status", "--json"])
            .stdin(Stdio::null());
        for (k, v) in envs("state-status") {
            c.env(k, v);
        }
        c
    };
    let _ = status_cmd().output().expect("run tierui status");
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let out = status_cmd().output().expect("run tierui status");
        times.push(ms(t));
        last = Some(out);
    }
    let out = last.expect("a run");
    let (status_med, status_max) = median_max(&times);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json printed no JSON ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let listed = json["releases"].as_array().map_or(0, Vec::len);
    let managers = |m: &str| {
        json["releases"]
            .as_array()
            .map_or(0, |rs| rs.iter().filter(|r| r["manager"] == m).count())
    };
    let with_objects = json["releases"].as_array().map_or(0, |rs| {
        rs.iter()
            .filter(|r| r["objects"].as_array().is_some_and(|o| !o.is_empty()))
            .count()
    });
    println!(
        "status --json, {runs} runs after a warm-up: median {status_med:.1} ms, max {status_max:.1} ms; exit {}, {} bytes, {listed} releases ({} kubectl, {} pulumi; {with_objects} with desired objects), {} clusters, {} problems",
        out.status.code().map_or("signal".into(), |c| c.to_string()),
        out.stdout.len(),
        managers("kubectl"),
        managers("pulumi"),
        json["clusters"].as_array().map_or(0, Vec::len),
        json["problems"].as_array().map_or(0, Vec::len),
    );
    assert!(
        out.status.success(),
        "status --json exited {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        listed >= kubectl + pulumi,
        "status --json lists {listed} releases"
    );

    // 3. The navigator's filter in a running UI.
    let ui_log = dir.path().join("state-ui").join("tierui.log");
    let started = Instant::now();
    let mut pty = InPty::start(
        &format!("'{}' --workspace '{}'", tierui(), ws.display()),
        &envs("state-ui"),
        &dir.path().join("workspace-ui.pid"),
    );
    let pid = pty.pid;
    let first = wait_log(&ui_log, "first frame", Duration::from_secs(60));
    println!(
        "interactive UI (tmux 160x50): first frame {:.1} ms in process, seen in the log after {:.0} ms",
        field(&first, "ms").unwrap_or(f64::NAN),
        ms(started)
    );
    // Let the start's work (contexts, cluster panes, the first drifts) pass.
    std::thread::sleep(Duration::from_secs(3));
    let phase = |pty: &mut InPty, name: &str, keys: &[&str]| {
        let before = key_times(&ui_log).len();
        for k in keys {
            if k.chars().count() == 1 {
                pty.type_text(k);
            } else {
                tmux(&["send-keys", "-t", &pty.session, k]);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_millis(300));
        let got: Vec<f64> = key_times(&ui_log).split_off(before);
        report(name, &got);
        got
    };
    println!("navigator filter, keys 200 ms apart (key to frame from tierui's log):");
    let typing = phase(
        &mut pty,
        "typing /svc-04",
        &["/", "s", "v", "c", "-", "0", "4"],
    );
    let shown = pty
        .screen()
        .lines()
        .filter(|l| l.contains("svc-04"))
        .count();
    println!("  screen lines naming svc-04 with the filter typed: {shown}");
    let clearing = phase(
        &mut pty,
        "erasing it and leaving",
        &["BSpace", "BSpace", "BSpace", "Escape"],
    );

    // 4b. When every release's state is first known (after its drift and
    // watchers answered or failed): the only "done" line the UI logs.
    let states_line = std::fs::read_to_string(&ui_log)
        .unwrap_or_default()
        .lines()
        .find(|l| l.contains("release states: all known"))
        .map(str::to_string);
    let states_ms = match states_line {
        Some(l) => field(&l, "ms"),
        None => {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let text = std::fs::read_to_string(&ui_log).unwrap_or_default();
                if let Some(l) = text
                    .lines()
                    .find(|l| l.contains("release states: all known"))
                {
                    break field(l, "ms");
                }
                if Instant::now() > deadline {
                    break None;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    match states_ms {
        Some(v) => println!(
            "release states: all known {v:.0} ms after start (every release Unknown: no cluster answers)"
        ),
        None => println!(
            "release states: not all known within {:.0} s",
            ms(started) / 1000.0
        ),
    }
    // 4c. The UI renders every release's desired objects in the background
    // after the load (and each reload) and keeps them for its drifts.
    let deadline = Instant::now() + Duration::from_secs(30);
    let warm = loop {
        let text = std::fs::read_to_string(&ui_log).unwrap_or_default();
        if let Some(l) = text
            .lines()
            .find(|l| l.contains("desired objects rendered in the background"))
        {
            break Some((field(l, "ms"), field(l, "releases")));
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    match warm {
        Some((ms_, n)) => println!(
            "desired objects rendered in the background: {} releases in {:.0} ms (off the UI thread, after the first frame; cached for the load)",
            n.unwrap_or(f64::NAN),
            ms_.unwrap_or(f64::NAN)
        ),
        None => println!("desired objects: no background render logged within 30 s"),
    }

    // 5. RSS and idle CPU once settled.
    std::thread::sleep(Duration::from_secs(2));
    let c0 = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(idle);
    let ticks = cpu_ticks(pid) - c0;
    let pct = ticks as f64 / 100.0 / t.elapsed().as_secs_f64() * 100.0;
    println!(
        "idle over {:.0} s: CPU {pct:.2}% of one core ({ticks} ticks); RSS {:.1} MiB, peak {:.1} MiB",
        t.elapsed().as_secs_f64(),
        status_kib(pid, "VmRSS") as f64 / 1024.0,
        status_kib(pid, "VmHWM") as f64 / 1024.0
    );
    log_summary(&ui_log, ms(started) / 1000.0);
    pty.stop();
    if let Ok(keep) = std::env::var("WORKSPACE_BENCH_KEEP") {
        let keep = PathBuf::from(keep);
        let _ = std::fs::create_dir_all(&keep);
        let _ = std::fs::copy(&ui_log, keep.join("tierui-ui.log"));
        let _ = Command::new("cp").arg("-r").arg(&ws).arg(&keep).status();
        println!("kept the workspace and the UI's log in {}", keep.display());
    }

    // Budgets.
    let key_max = typing
        .iter()
        .chain(&clearing)
        .copied()
        .fold(f64::NAN, f64::max);
    println!("budgets:");
    println!(
        "  first frame median {frame_med:.1} ms (max {frame_max:.1}) ≤ {FIRST_FRAME_MS:.0} ms: {}",
        verdict(frame_med, FIRST_FRAME_MS)
    );
    println!(
        "  status --json median {status_med:.1} ms (max {status_max:.1}) ≤ {STATUS_MS:.0} ms: {}",
        verdict(status_med, STATUS_MS)
    );
    println!(
        "  filter key → frame max {key_max:.1} ms ≤ {KEY_TO_FRAME_MS:.0} ms: {}",
        verdict(key_max, KEY_TO_FRAME_MS)
    );
}
