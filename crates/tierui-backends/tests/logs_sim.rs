//! The log reader against a simulated cluster over HTTP: many pods merged in
//! time order, tail, since, the previous container of a crash-looping pod,
//! following while pods join, restart and are deleted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use tierui_backends::kube::connect::{Endpoint, client};
use tierui_backends::kube::logs::{self, LogEvent, LogRequest, Target};

const SCENARIO: &str = "
timing:
  crashAfter: [2, 3]
crashLoop:
  - deployment: default/crashy
load:
  - deployment: default/web
    cpu: [[0, 3000]]
";

async fn start() -> (tierui_sim::SimHandle, kube::Client) {
    let sim = tierui_sim::start(tierui_sim::SimConfig {
        speed: 20.0,
        scenario: tierui_sim::scenario::Scenario::parse(SCENARIO).unwrap(),
        ..tierui_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let c = client(&Endpoint::Url(sim.url())).await.unwrap();
    (sim, c)
}

async fn deploy(c: &kube::Client, name: &str, replicas: i32) {
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": format!("shop/{name}:v1")}]}
            }
        }
    }))
    .unwrap();
    Api::<Deployment>::namespaced(c.clone(), "default")
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
}

async fn wait_for<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn running(c: &kube::Client, app: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(c.clone(), "default")
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|ph| ph == "Running")
                && p.metadata.deletion_timestamp.is_none()
        })
        .collect()
}

type Events = Arc<Mutex<Vec<LogEvent>>>;

fn sink() -> (Events, logs::Sink) {
    let events: Events = Arc::default();
    let e = events.clone();
    (events, Arc::new(move |ev| e.lock().unwrap().push(ev)))
}

fn request(target: Target) -> LogRequest {
    LogRequest {
        namespace: "default".into(),
        target,
        container: None,
        previous: false,
        follow: false,
        since_seconds: None,
        tail: None,
    }
}

fn lines(events: &[LogEvent]) -> Vec<logs::Line> {
    events
        .iter()
        .filter_map(|e| match e {
            LogEvent::Lines(l) => Some(l.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pod_merged_in_time_order_with_tail_and_since() {
    let (sim, c) = start().await;
    deploy(&c, "web", 3).await;
    wait_for("three web pods", || async {
        running(&c, "web").await.len() == 3
    })
    .await;
    // Let the pods write for a while (1 s of wall time is 20 simulated seconds).
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (events, s) = sink();
    logs::run(c.clone(), request(Target::Deployment("web".into())), s)
        .await
        .unwrap();
    let ev = events.lock().unwrap().clone();
    let sources = ev
        .iter()
        .filter(|e| matches!(e, LogEvent::Source { .. }))
        .count();
    assert_eq!(sources, 3);
    assert!(matches!(ev.last(), Some(LogEvent::Done)));
    let all = lines(&ev);
    assert!(
        all.windows(2).all(|w| w[0].at <= w[1].at),
        "merged in time order"
    );
    let per_source = |l: &[logs::Line], s: u32| l.iter().filter(|x| x.source == s).count();
    for s in 0..3 {
        assert!(per_source(&all, s) > 10, "pod {s} wrote lines");
    }
    assert!(
        all.iter()
            .any(|l| l.text == "INFO starting web (shop/web:v1)")
    );

    // tail: the last N of each container.
    let (events, s) = sink();
    let mut r = request(Target::Selector(Some("app=web".into())));
    r.tail = Some(4);
    logs::run(c.clone(), r, s).await.unwrap();
    let tail = lines(&events.lock().unwrap());
    for s in 0..3 {
        assert_eq!(per_source(&tail, s), 4);
    }
    // since: only the recent window, no start-up lines.
    let (events, s) = sink();
    let mut r = request(Target::Deployment("web".into()));
    r.since_seconds = Some(1);
    logs::run(c.clone(), r, s).await.unwrap();
    let recent = lines(&events.lock().unwrap());
    let newest = all.iter().map(|l| l.at).max().unwrap();
    assert!(!recent.is_empty());
    assert!(recent.len() < all.len() + 200);
    assert!(recent.iter().all(|l| !l.text.starts_with("INFO starting")));
    assert!(recent.iter().all(|l| l.at >= newest - 3_000_000_000));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_container_says_why_it_crashed() {
    let (sim, c) = start().await;
    deploy(&c, "crashy", 1).await;
    let pods = Api::<Pod>::namespaced(c.clone(), "default");
    let restarted = || async {
        let l = pods
            .list(&ListParams::default().labels("app=crashy"))
            .await
            .unwrap();
        l.items.into_iter().find(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.first())
                .is_some_and(|c| c.restart_count > 0)
        })
    };
    wait_for("a restart", || async { restarted().await.is_some() }).await;
    let pod = restarted().await.unwrap().metadata.name.unwrap();
    let (events, s) = sink();
    let mut r = request(Target::Pod(pod.clone()));
    r.previous = true;
    logs::run(c.clone(), r, s).await.unwrap();
    let prev = lines(&events.lock().unwrap());
    assert_eq!(
        prev.last().map(|l| l.text.as_str()),
        Some("FATAL crashy exiting with code 1")
    );
    // A pod that never restarted has no previous container: a problem, named.
    deploy(&c, "web", 1).await;
    wait_for("a web pod", || async {
        running(&c, "web").await.len() == 1
    })
    .await;
    let web = running(&c, "web").await[0].metadata.name.clone().unwrap();
    let (events, s) = sink();
    let mut r = request(Target::Pod(web));
    r.previous = true;
    logs::run(c.clone(), r, s).await.unwrap();
    let problems: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            LogEvent::Problem { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("previous terminated container")),
        "{problems:?}"
    );
    // An unknown pod is an error naming it.
    let (_, s) = sink();
    let err = logs::run(c.clone(), request(Target::Pod("nope".into())), s)
        .await
        .unwrap_err();
    assert!(err.contains("pod default/nope not found"), "{err}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_sees_pods_join_restart_and_go() {
    let (sim, c) = start().await;
    deploy(&c, "web", 2).await;
    deploy(&c, "crashy", 1).await;
    wait_for("two web pods", || async {
        running(&c, "web").await.len() == 2
    })
    .await;
    let (events, s) = sink();
    let mut r = request(Target::Selector(Some("app in (web,crashy)".into())));
    r.follow = true;
    r.tail = Some(5);
    let reader = tokio::spawn(logs::run(c.clone(), r, s));
    let count =
        |f: &dyn Fn(&LogEvent) -> bool| events.lock().unwrap().iter().filter(|e| f(e)).count();
    wait_for("listed", || async {
        count(&|e| matches!(e, LogEvent::Listed)) == 1
    })
    .await;
    let seen = lines(&events.lock().unwrap()).len();
    wait_for("lines keep coming", || async {
        lines(&events.lock().unwrap()).len() > seen + 50
    })
    .await;
    // A third web pod joins.
    Api::<Deployment>::namespaced(c.clone(), "default")
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    wait_for("a third web source", || async {
        events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, LogEvent::Source { pod, .. } if pod.starts_with("web-")))
            .count()
            >= 3
    })
    .await;
    // The crashing pod restarts while followed: marked, and its crash is in the lines.
    wait_for("a restart note", || async {
        count(&|e| matches!(e, LogEvent::Note { text, .. } if text.starts_with("container restarted"))) > 0
    })
    .await;
    // The old container's last line can arrive after the note: wait for it too.
    wait_for("the crash line", || async {
        lines(&events.lock().unwrap())
            .iter()
            .any(|l| l.text == "FATAL crashy exiting with code 1")
    })
    .await;
    // A deleted pod is marked gone.
    let victim = running(&c, "web").await[0].metadata.name.clone().unwrap();
    Api::<Pod>::namespaced(c.clone(), "default")
        .delete(&victim, &DeleteParams::default())
        .await
        .unwrap();
    wait_for("a deletion note", || async {
        count(&|e| matches!(e, LogEvent::Note { text, .. } if text == "pod deleted")) > 0
    })
    .await;
    assert!(!reader.is_finished(), "following goes on");
    reader.abort();
    sim.shutdown().await;
}
