//! Scenarios end to end, in process and sped up: rollouts, image pull failures,
//! crash loops, the HPA under load, and determinism for a seed.

use std::time::{Duration, Instant};

use serde_json::Value;
use tierui_sim::{SimConfig, SimHandle, kinds, start};

async fn sim(scenario: &str, speed: f64, seed: u64) -> SimHandle {
    start(SimConfig {
        speed,
        seed,
        ..tierui_backends::sandbox::scenario::sim_config(scenario).expect("a bundled scenario")
    })
    .await
    .expect("start")
}

fn pods(h: &SimHandle, ns: &str) -> Vec<Value> {
    h.sim()
        .lock()
        .store
        .range(kinds::POD, Some(ns), None)
        .map(|e| e.value())
        .collect()
}

fn get(h: &SimHandle, kind: usize, ns: &str, name: &str) -> Value {
    h.sim()
        .lock()
        .get_value(kind, ns, name)
        .unwrap_or(Value::Null)
}

fn events(h: &SimHandle, ns: &str, reason: &str) -> Vec<String> {
    h.sim()
        .lock()
        .store
        .range(kinds::EVENT, Some(ns), None)
        .map(|e| e.value())
        .filter(|e| e["reason"] == reason)
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn eventually(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn waiting_reasons(pods: &[Value]) -> Vec<String> {
    pods.iter()
        .filter_map(|p| {
            p.pointer("/status/containerStatuses/0/state/waiting/reason")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_then_image_pull_backoff() {
    let h = sim("rollout", 40.0, 7).await;
    let image = |h: &SimHandle| {
        get(h, kinds::DEPLOYMENT, "dusk-service", "dusk-service")
            .pointer("/spec/template/spec/containers/0/image")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    eventually("v2.5.0 rolled out", 30, || {
        let d = get(&h, kinds::DEPLOYMENT, "dusk-service", "dusk-service");
        image(&h).ends_with(":v2.5.0")
            && d["status"]["updatedReplicas"] == 3
            && d["status"]["availableReplicas"] == 3
            && d["status"]["replicas"] == 3
            && d.pointer("/status/conditions/1/reason")
                .and_then(Value::as_str)
                == Some("NewReplicaSetAvailable")
    })
    .await;
    let scaled = events(&h, "dusk-service", "ScalingReplicaSet");
    assert!(
        scaled.iter().any(|m| m.contains("Scaled down replica set")),
        "{scaled:?}"
    );
    eventually("v2.6.0 stuck pulling", 30, || {
        waiting_reasons(&pods(&h, "dusk-service"))
            .iter()
            .any(|r| r == "ImagePullBackOff")
    })
    .await;
    // maxUnavailable 0: the three v2.5.0 pods keep serving.
    let ready = pods(&h, "dusk-service")
        .iter()
        .filter(|p| p.pointer("/status/containerStatuses/0/ready") == Some(&Value::Bool(true)))
        .count();
    assert_eq!(ready, 3);
    assert!(!events(&h, "dusk-service", "Failed").is_empty());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_restarts_grow() {
    let h = sim("crash-loop", 40.0, 3).await;
    eventually("two restarts", 30, || {
        pods(&h, "dawn-service").iter().all(|p| {
            p.pointer("/status/containerStatuses/0/restartCount")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                >= 2
        }) && !pods(&h, "dawn-service").is_empty()
    })
    .await;
    eventually("CrashLoopBackOff", 30, || {
        waiting_reasons(&pods(&h, "dawn-service"))
            .iter()
            .any(|r| r == "CrashLoopBackOff")
    })
    .await;
    assert!(
        events(&h, "dawn-service", "BackOff")
            .iter()
            .any(|m| m.contains("Back-off restarting failed container"))
    );
    // dusk-service next to it is fine.
    eventually("dusk ready", 30, || {
        get(&h, kinds::DEPLOYMENT, "dusk-service", "dusk-service")["status"]["readyReplicas"] == 3
    })
    .await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_scales_up_under_load() {
    let h = sim("scale-up", 60.0, 11).await;
    eventually("HPA scaled out", 40, || {
        get(&h, kinds::DEPLOYMENT, "dusk-service", "dusk-service")
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            > 3
    })
    .await;
    let hpa = get(&h, kinds::HPA, "dusk-service", "dusk-service");
    assert!(
        hpa["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"]
            .as_i64()
            .unwrap_or(0)
            > 0,
        "{hpa}"
    );
    let rescales = events(&h, "dusk-service", "SuccessfulRescale");
    assert!(
        rescales.iter().any(|m| m.contains("above target")),
        "{rescales:?}"
    );
    // The deployment's managedFields name the autoscaler as owner of spec.replicas.
    let d = get(&h, kinds::DEPLOYMENT, "dusk-service", "dusk-service");
    assert!(
        d["metadata"]["managedFields"]
            .to_string()
            .contains("kube-controller-manager")
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_names() {
    let names = |h: &SimHandle| -> Vec<String> {
        let mut n: Vec<String> = pods(h, "dusk-service")
            .iter()
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        n.sort();
        n
    };
    let mut runs = Vec::new();
    for seed in [5, 5, 6] {
        let h = sim("steady", 20.0, seed).await;
        eventually("three pods", 20, || names(&h).len() == 3).await;
        runs.push(names(&h));
        h.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    assert_ne!(runs[0], runs[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_pods_and_churn() {
    let h = start(SimConfig {
        pods: 500,
        churn: 200.0,
        ..SimConfig::default()
    })
    .await
    .expect("start");
    assert_eq!(pods(&h, "load").len(), 500);
    let rv = h.sim().lock().store.rv();
    eventually("churn events", 20, || h.sim().lock().store.rv() > rv + 100).await;
    let n = pods(&h, "load").len();
    assert!((490..=510).contains(&n), "{n}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_scales_in_only_after_the_stabilization_window() {
    // Load falls back to 300m at t=360s; the dusk HPA's scale-down window is 300s.
    let h = sim("scale-up", 100.0, 11).await;
    let replicas = |h: &SimHandle| {
        get(h, kinds::DEPLOYMENT, "dusk-service", "dusk-service")
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    eventually("scaled out", 30, || replicas(&h) > 3).await;
    eventually("load back down", 30, || h.sim().clock.now() > 400.0).await;
    let peak = replicas(&h);
    assert!(peak > 3);
    // Inside the window the HPA holds the highest recent recommendation.
    assert!(h.sim().clock.now() < 360.0 + 300.0);
    let hpa = get(&h, kinds::HPA, "dusk-service", "dusk-service");
    let reasons: Vec<&str> = hpa["status"]["conditions"]
        .as_array()
        .map(|c| c.iter().filter_map(|x| x["reason"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        reasons.contains(&"ScaleDownStabilized") || replicas(&h) == peak,
        "{reasons:?}"
    );
    eventually("scaled back in to the minimum", 60, || replicas(&h) == 3).await;
    assert!(
        h.sim().clock.now() >= 360.0 + 300.0 - 15.0,
        "scaled in at t={} before the window ended",
        h.sim().clock.now()
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_spreads_over_namespaces_and_nodes_and_churns_there() {
    let h = start(SimConfig {
        pods: 1_200,
        load_namespaces: 30,
        nodes: Some(500),
        churn: 300.0,
        ..SimConfig::default()
    })
    .await
    .expect("start");
    {
        let sim = h.sim();
        let st = sim.lock();
        let nodes: Vec<String> = st
            .store
            .range(kinds::NODE, None, None)
            .map(|e| e.name.clone())
            .collect();
        assert_eq!(nodes.len(), 500);
        let unique: std::collections::BTreeSet<&String> = nodes.iter().collect();
        assert_eq!(unique.len(), 500, "node names (and addresses) are distinct");
    }
    assert_eq!(pods(&h, "load-000").len(), 40);
    assert_eq!(pods(&h, "load-029").len(), 40);
    assert!(pods(&h, "load").is_empty());
    let rv = h.sim().lock().store.rv();
    eventually("churn events", 20, || h.sim().lock().store.rv() > rv + 200).await;
    let total: usize = (0..30)
        .map(|k| pods(&h, &format!("load-{k:03}")).len())
        .sum();
    assert!((1_180..=1_220).contains(&total), "{total}");
    h.shutdown().await;
}
