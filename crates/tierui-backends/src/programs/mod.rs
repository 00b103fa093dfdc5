//! Pulumi programs run under the Pulumi SDK's own unit-test mocks, in the
//! project's own toolchain: the Python runner with the project's virtualenv,
//! the Node.js runner with its `node_modules` (TypeScript through the ts-node
//! the SDK ships). The runner speaks JSON on stdout; the program's own output
//! goes to the log. Results are cached by the hash of the program's files and
//! the request, so an unchanged stack renders once.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tierui_core::render::program::{ConfigIn, Language, ProgramFailure, ProgramRequest, Ran};

const PYTHON_RUNNER: &str = include_str!("runner.py");
const NODE_RUNNER: &str = include_str!("runner.js");
/// A program that has not finished by then is stopped.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs every Python and TypeScript infra program of the workspace under the
/// mocks and gives each cluster stack what its program declares; a program
/// that fails becomes a problem at its file:line, and the stack keeps what its
/// config says.
pub fn declare_clusters(
    ws: &mut tierui_core::workspace::Workspace,
    tools: tierui_core::render::desired::Tools,
) {
    use tierui_core::workspace::model::ClusterSource;
    let snapshot = ws.clone();
    let mut problems = Vec::new();
    for c in &mut ws.clusters {
        let ClusterSource::Pulumi(ps) = &mut c.source else {
            continue;
        };
        let (Some(project), Some(config)) = (&ps.project, &ps.config) else {
            continue;
        };
        let Some(req) = tierui_core::render::program::request(&snapshot, ps, project, config)
        else {
            continue;
        };
        match tools.renderers.program(&req) {
            Ok(ran) => {
                ps.program_spec = tierui_core::render::program::cluster_spec(
                    &ran.registered,
                    &ps.project_dir.join("__main__.py").display().to_string(),
                )
                .map(|mut s| {
                    s.source = format!("{} (what the program declares)", ps.project_dir.display());
                    Box::new(s)
                });
            }
            Err(f) => problems.push(tierui_core::workspace::model::Problem {
                file: f.at.as_ref().map_or_else(
                    || ps.config_file.clone(),
                    |(file, _)| ps.project_dir.join(file),
                ),
                line: f.at.as_ref().map_or(1, |(_, l)| *l as usize),
                col: 1,
                // A missing toolchain is a setup step, not a broken stack: the
                // pane falls back to the config.
                severity: if f.fix.is_some() {
                    tierui_core::workspace::fields::Severity::Warning
                } else {
                    tierui_core::workspace::fields::Severity::Error
                },
                message: format!(
                    "infra program not run ({}); the cluster pane reads its config",
                    f.line()
                ),
            }),
        }
    }
    ws.problems.extend(problems);
}

/// Renders every Python and TypeScript release under the mocks, and every
/// Helm chart release with `helm template`, and fills its summary (image,
/// replicas, HPA bounds, objects), as the UI does off its thread; a release
/// whose program cannot run becomes a problem (a warning when it only needs
/// its environment set up), a chart without helm keeps the note saying so.
pub fn summarize_releases(
    ws: &mut tierui_core::workspace::Workspace,
    tools: tierui_core::render::desired::Tools,
) {
    use tierui_core::workspace::model::ReleaseSource;
    let snapshot = ws.clone();
    let mut problems = Vec::new();
    for r in &mut ws.releases {
        if r.chart().is_some() {
            match tierui_core::render::desired::render(&snapshot, r, &Default::default(), tools) {
                Ok(d) => {
                    r.summary = tierui_core::workspace::load::summarize(&d.objects);
                    r.summary.render_notes = d.notes;
                }
                Err(e) => problems.extend(tierui_core::render::desired::chart_problem(r, &e)),
            }
            continue;
        }
        let ReleaseSource::Pulumi(ps) = &r.source else {
            continue;
        };
        let runtime = ps.project.as_ref().map(|p| p.runtime.as_str());
        if runtime.and_then(Language::of).is_none() {
            continue;
        }
        match tierui_core::render::desired::render(&snapshot, r, &Default::default(), tools) {
            Ok(d) => {
                let notes = std::mem::take(&mut r.summary.render_notes);
                r.summary = tierui_core::workspace::load::summarize(&d.objects);
                r.summary.render_notes = notes;
            }
            Err(e) => problems.push(tierui_core::render::program::problem(
                &ps.config_file,
                &format!("{}: program not rendered", r.title()),
                &e,
            )),
        }
    }
    ws.problems.extend(problems);
    // Two releases may now be seen to claim one object.
    tierui_core::workspace::tiers::refresh_claims(ws);
}

/// Renders a program (from the cache when its files and request are unchanged).
pub fn run(req: &ProgramRequest) -> Result<Ran, ProgramFailure> {
    let key = cache_key(req);
    if let Some(hit) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }
    let _slot = Slot::take();
    // Another render may have filled the cache while this one waited.
    if let Some(hit) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }
    let started = Instant::now();
    let result = run_uncached(req);
    tracing::info!(
        project = %req.project_dir.display(),
        stack = %req.stack,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        ok = result.is_ok(),
        "pulumi program rendered under mocks"
    );
    if let (Ok(r), Ok(mut c)) = (&result, cache().lock()) {
        c.insert(key, r.clone());
    }
    result
}

/// At most one program per core runs at a time: a workspace of many stacks
/// must not start them all at once (the UI asks for every release on start).
struct Slot;

fn slots() -> &'static (Mutex<usize>, std::sync::Condvar) {
    static SLOTS: OnceLock<(Mutex<usize>, std::sync::Condvar)> = OnceLock::new();
    SLOTS.get_or_init(|| (Mutex::new(0), std::sync::Condvar::new()))
}

impl Slot {
    fn take() -> Slot {
        let limit = std::thread::available_parallelism().map_or(2, usize::from);
        let (running, freed) = slots();
        let mut n = running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *n >= limit {
            n = freed
                .wait(n)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *n += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (running, freed) = slots();
        let mut n = running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *n = n.saturating_sub(1);
        freed.notify_one();
    }
}

fn cache() -> &'static Mutex<HashMap<u64, Ran>> {
    static CACHE: OnceLock<Mutex<HashMap<u64, Ran>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The request and every program file (not the virtualenv or node_modules).
fn cache_key(req: &ProgramRequest) -> u64 {
    let mut text = serde_json::to_string(req).unwrap_or_default();
    let mut files = Vec::new();
    program_files(&req.project_dir, 0, &mut files);
    files.sort();
    for f in files {
        if let Ok(b) = std::fs::read(&f) {
            text.push_str(&f.to_string_lossy());
            text.push_str(&format!("{:016x}", tierui_core::paths::fnv1a(&b)));
        }
    }
    tierui_core::paths::fnv1a(text.as_bytes())
}

fn program_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    const SKIP: [&str; 7] = [
        "venv",
        ".venv",
        "node_modules",
        "__pycache__",
        "bin",
        ".git",
        "dist",
    ];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if depth < 4 && !SKIP.contains(&name.as_str()) {
                program_files(&p, depth + 1, out);
            }
        } else if [
            ".py", ".ts", ".js", ".mjs", ".json", ".txt", ".toml", ".yaml",
        ]
        .iter()
        .any(|x| name.ends_with(x))
        {
            out.push(p);
        }
    }
}

fn failure(message: impl Into<String>, fix: Option<String>) -> ProgramFailure {
    ProgramFailure {
        message: message.into(),
        at: None,
        traceback: String::new(),
        fix,
    }
}

/// The command that creates the project's environment.
fn setup_command(req: &ProgramRequest) -> String {
    let dir = req.project_dir.display();
    match req.language {
        Language::Python => {
            let venv = req.options.get("virtualenv").map_or("venv", String::as_str);
            match req.options.get("toolchain").map(String::as_str) {
                Some("uv") => format!("cd {dir} && uv sync"),
                Some("poetry") => format!("cd {dir} && poetry install"),
                _ => format!(
                    "cd {dir} && python3 -m venv {venv} && {venv}/bin/pip install -r requirements.txt"
                ),
            }
        }
        Language::Nodejs => format!("cd {dir} && npm install"),
    }
}

/// The interpreter that runs the runner, from the project's own toolchain.
fn interpreter(req: &ProgramRequest) -> Result<PathBuf, ProgramFailure> {
    let dir = &req.project_dir;
    match req.language {
        Language::Nodejs => {
            if !dir
                .join("node_modules")
                .join("@pulumi")
                .join("pulumi")
                .is_dir()
            {
                return Err(failure(
                    format!(
                        "{}: @pulumi/pulumi is not installed (no node_modules)",
                        dir.display()
                    ),
                    Some(setup_command(req)),
                ));
            }
            Ok(PathBuf::from("node"))
        }
        Language::Python => {
            let venv = match req.options.get("toolchain").map(String::as_str) {
                Some("uv") => Some(
                    req.options
                        .get("virtualenv")
                        .cloned()
                        .unwrap_or_else(|| ".venv".into()),
                ),
                Some("poetry") => poetry_env(dir),
                _ => req.options.get("virtualenv").cloned(),
            };
            let candidates: Vec<PathBuf> = match venv {
                Some(v) => vec![dir.join(v)],
                None => vec![dir.join("venv"), dir.join(".venv")],
            };
            for c in &candidates {
                let python = c.join("bin").join("python");
                if python.exists() {
                    return Ok(python);
                }
            }
            if req.options.contains_key("virtualenv") || req.options.contains_key("toolchain") {
                return Err(failure(
                    format!(
                        "{}: the project's virtualenv {} does not exist",
                        dir.display(),
                        candidates
                            .first()
                            .map(|c| c.display().to_string())
                            .unwrap_or_default()
                    ),
                    Some(setup_command(req)),
                ));
            }
            Ok(PathBuf::from("python3"))
        }
    }
}

fn poetry_env(dir: &Path) -> Option<String> {
    let out = Command::new("poetry")
        .args(["env", "info", "--path"])
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn placeholder() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "tierui-secret-{:016x}",
        tierui_core::paths::fnv1a(format!("{nanos}-{}", std::process::id()).as_bytes())
    )
}

fn run_uncached(req: &ProgramRequest) -> Result<Ran, ProgramFailure> {
    let exe = interpreter(req)?;
    let secret = placeholder();
    let config: serde_json::Map<String, Json> = req
        .config
        .iter()
        .map(|(k, v)| {
            let v = match v {
                ConfigIn::Text(s) => s.clone(),
                ConfigIn::Secret => secret.clone(),
            };
            (k.clone(), Json::String(v))
        })
        .collect();
    let secret_keys: Vec<&String> = req
        .config
        .iter()
        .filter(|(_, v)| **v == ConfigIn::Secret)
        .map(|(k, _)| k)
        .collect();
    let body = serde_json::json!({
        "project_dir": req.project_dir,
        "main": req.main,
        "project": req.project,
        "stack": req.stack,
        "organization": req.organization,
        "config": config,
        "secret_keys": secret_keys,
        "secret_placeholder": secret,
        "stack_references": req.stack_references,
    });
    let (flag, script) = match req.language {
        Language::Python => ("-c", PYTHON_RUNNER),
        Language::Nodejs => ("-e", NODE_RUNNER),
    };
    let mut cmd = Command::new(&exe);
    cmd.arg(flag)
        .arg(script)
        .current_dir(&req.project_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Under mocks nothing needs a cloud, a cluster or a Pulumi login.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("AWS_") || k.starts_with("PULUMI_") || k == "KUBECONFIG" {
            cmd.env_remove(&k);
        }
    }
    cmd.env("KUBECONFIG", "/dev/null");
    let out = spawn_with_timeout(cmd, body.to_string()).map_err(|e| {
        failure(
            format!("{} {}: {e}", exe.display(), req.project_dir.display()),
            (e.kind() == std::io::ErrorKind::NotFound).then(|| setup_command(req)),
        )
    })?;
    if !out.stderr.is_empty() {
        tracing::debug!(target: "program", project = %req.project_dir.display(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| {
            failure(
                format!(
                    "the {} runner gave no answer ({}): {}",
                    exe.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                ),
                None,
            )
        })?;
    let answer: Json = serde_json::from_str(line)
        .map_err(|e| failure(format!("the runner's answer is not JSON: {e}"), None))?;
    let invokes: Vec<String> = answer["invokes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if let Some(err) = answer.get("error") {
        let mut f = program_failure(req, err);
        if let Some(note) = (Ran {
            registered: Vec::new(),
            invokes,
        })
        .invoke_note()
        {
            f.message.push_str(&format!(" ({note})"));
        }
        return Err(f);
    }
    let registered = serde_json::from_value(answer["resources"].clone())
        .map_err(|e| failure(format!("the runner's resources: {e}"), None))?;
    Ok(Ran {
        registered,
        invokes,
    })
}

/// The runner's error as the failure the user sees.
fn program_failure(req: &ProgramRequest, err: &Json) -> ProgramFailure {
    let message = err["message"]
        .as_str()
        .unwrap_or("the program failed")
        .to_string();
    if err["kind"] == "missing-sdk" {
        return failure(
            format!(
                "{}: the Pulumi SDK is not installed for this project ({message})",
                req.project_dir.display()
            ),
            Some(setup_command(req)),
        );
    }
    let at = err["frames"]
        .as_array()
        .and_then(|f| f.last())
        .and_then(|f| {
            Some((
                PathBuf::from(f["file"].as_str()?),
                u32::try_from(f["line"].as_u64()?).ok()?,
            ))
        });
    ProgramFailure {
        message: match err["type"].as_str() {
            Some(t) if !message.starts_with(t) => format!("{t}: {message}"),
            _ => message,
        },
        at,
        traceback: err["traceback"].as_str().unwrap_or_default().to_string(),
        fix: None,
    }
}

struct Finished {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn spawn_with_timeout(mut cmd: Command, input: String) -> std::io::Result<Finished> {
    let mut child = cmd.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut b);
        }
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut b);
        }
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "the program did not finish within {} s and was stopped",
                    TIMEOUT.as_secs()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(Finished {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}
