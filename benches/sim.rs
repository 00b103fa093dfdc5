//! `cargo bench --bench sim`: the simulator's budgets, measured against the
//! release binary as a separate process.
//! - list of all pods with 10,000 pods (budget: < 1 s)
//! - watch fan-out: 500 pod events/s to 3 watchers, each must keep up
//! - resident memory of the simulator process
//!
//! - Kubernetes' own limit (issue: 150,000 pods on 5,000 nodes in 300
//!   namespaces): ready ≤ 3 s, a paged list (limit 500) of all pods ≤ 3 s,
//!   RSS ≤ 1 GB, three watchers without a 410
//!
//! SIM_BENCH_PODS and SIM_BENCH_SECS override the pod count and watch window;
//! SIM_BENCH_NODES and SIM_BENCH_NAMESPACES the nodes and the namespaces the pods
//! are spread over (`SIM_BENCH_PODS=150000 SIM_BENCH_NODES=5000
//! SIM_BENCH_NAMESPACES=300 cargo bench --bench sim`).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn get(port: u16, path: &str) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    Ok(raw)
}

/// A page of a list: how many items, and the continue token.
#[derive(serde::Deserialize)]
struct Page {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default)]
    items: Vec<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize, Default)]
struct PageMeta {
    #[serde(rename = "continue", default)]
    continue_: Option<String>,
}

fn body_of(raw: &[u8]) -> &[u8] {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |p| p + 4);
    &raw[at..]
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn list_rv(port: u16) -> u64 {
    let raw = get(port, "/api/v1/namespaces/default/configmaps").unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(body_of(&raw)).unwrap_or_default();
    v["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let pods: usize = std::env::var("SIM_BENCH_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let secs: u64 = std::env::var("SIM_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let churn = 500;
    let env_or = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let nodes = env_or("SIM_BENCH_NODES", 0);
    let namespaces = env_or("SIM_BENCH_NAMESPACES", 1);
    let spawned = Instant::now();
    let mut args: Vec<String> = [
        "sim",
        "--port",
        "0",
        "--pods",
        &pods.to_string(),
        "--namespaces",
        &namespaces.to_string(),
        "--churn",
        &churn.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if nodes > 0 {
        args.extend(["--nodes".to_string(), nodes.to_string()]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_tierui"))
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tierui sim");
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let port: u16 = first
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("port in first line");
    std::thread::spawn(move || for _ in lines {});
    let t0 = Instant::now();
    while get(port, "/healthz").is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "simulator did not come up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "simulator: {pods} pods in {namespaces} namespace(s) on {} nodes, churn {churn} events/s, pid {pid}, ready {:?} after spawn",
        if nodes > 0 {
            nodes.to_string()
        } else {
            "the scenario's".into()
        },
        spawned.elapsed()
    );
    println!("RSS after start: {:.1} MiB", rss_kib(pid) as f64 / 1024.0);

    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let raw = get(port, "/api/v1/pods").expect("list");
        times.push(t.elapsed());
        bytes = body_of(&raw).len();
        let items = serde_json::from_slice::<serde_json::Value>(body_of(&raw))
            .map(|v| v["items"].as_array().map_or(0, Vec::len))
            .unwrap_or(0);
        assert!(items >= pods, "list returned {items} pods");
    }
    times.sort();
    println!(
        "list all pods: median {:?}, best {:?}, worst {:?} ({:.1} MiB body) — budget 1 s: {}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        bytes as f64 / 1048576.0,
        if times[times.len() / 2] < Duration::from_secs(1) {
            "OK"
        } else {
            "OVER"
        }
    );
    // Paged as clients list a large cluster: limit 500 and the continue token.
    let t = Instant::now();
    let mut http = Duration::ZERO;
    let (mut seen, mut pages, mut cont) = (0usize, 0usize, String::new());
    loop {
        let path = if cont.is_empty() {
            "/api/v1/pods?limit=500".to_string()
        } else {
            format!("/api/v1/pods?limit=500&continue={cont}")
        };
        let h = Instant::now();
        let raw = get(port, &path).expect("page");
        http += h.elapsed();
        // The items are counted, not built (a client keeps what it needs).
        let page: Page = serde_json::from_slice(body_of(&raw)).expect("a page of pods");
        seen += page.items.len();
        pages += 1;
        cont = page.metadata.continue_.unwrap_or_default();
        if cont.is_empty() {
            break;
        }
    }
    let paged = t.elapsed();
    println!(
        "paged list (limit 500): {seen} pods in {pages} pages, {paged:?} ({http:?} of it in HTTP; the client skims each page for its items and continue token) — budget 3 s: {}",
        if paged < Duration::from_secs(3) {
            "OK"
        } else {
            "OVER"
        }
    );
    let t = Instant::now();
    let raw = get(port, "/api/v1/pods?labelSelector=app%20in%20(load-1,load-2),tier=web&fieldSelector=status.phase%3DRunning").expect("list");
    println!(
        "list with label+field selectors: {:?} ({} bytes)",
        t.elapsed(),
        body_of(&raw).len()
    );

    // Watch fan-out: three watchers from the same version, counting events.
    let stop = Arc::new(AtomicBool::new(false));
    let start_rv = list_rv(port);
    let mut handles = Vec::new();
    let counts: Vec<Arc<AtomicU64>> = (0..3).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let errors = Arc::new(AtomicU64::new(0));
    for c in &counts {
        let (c, stop, errors) = (c.clone(), stop.clone(), errors.clone());
        handles.push(std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.set_read_timeout(Some(Duration::from_millis(500))).ok();
            write!(s, "GET /api/v1/pods?watch=1&resourceVersion={start_rv} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("send");
            let mut r = BufReader::new(s);
            let mut line = String::new();
            while !stop.load(Ordering::Relaxed) {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        if line.starts_with("{\"type\":\"ERROR\"") {
                            errors.fetch_add(1, Ordering::Relaxed);
                        } else if line.starts_with("{\"type\":") {
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => continue,
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(secs));
    let end_rv = list_rv(port);
    // Give the watchers a moment to drain what was produced up to end_rv.
    std::thread::sleep(Duration::from_millis(500));
    let received: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    stop.store(true, Ordering::Relaxed);
    let produced = end_rv.saturating_sub(start_rv);
    println!(
        "watch fan-out over {secs}s: {produced} changes produced ({:.0}/s); watchers received {:?} (>= produced means caught up), 410 errors: {}",
        produced as f64 / secs as f64,
        received,
        errors.load(Ordering::Relaxed)
    );
    let ok = received.iter().all(|r| *r >= produced) && errors.load(Ordering::Relaxed) == 0;
    println!(
        "watch fan-out keeps up: {}",
        if ok { "OK" } else { "BEHIND" }
    );
    let peak = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    println!(
        "RSS after list and watch load: {:.1} MiB (peak {:.1} MiB)",
        rss_kib(pid) as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    let _ = child.kill();
    let _ = child.wait();
    for h in handles {
        let _ = h.join();
    }
}
