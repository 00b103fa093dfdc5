//! The live views' watchers against the simulator: what the view's state holds
//! through a rollout, an HPA scale-up, a dropped stream, an expired
//! resourceVersion (410) and a server that goes away.

use std::sync::Arc;
use std::time::Duration;

use tierui::app::live::ClusterPane;
use tierui_backends::kube::watch::{self, Conn, Kind, Scope, Update};
use tierui_sim::{SimConfig, SimHandle, start};
use tokio::sync::mpsc;

async fn client(h: &SimHandle) -> kube::Client {
    let kc = kube::config::Kubeconfig::from_yaml(&h.kubeconfig_yaml("sim")).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

/// A pane fed by real watchers, as the app feeds it (one message per update).
struct Watched {
    pane: ClusterPane,
    rx: mpsc::UnboundedReceiver<Update>,
    seen: Vec<Update>,
    handles: Vec<tokio::task::AbortHandle>,
    started: std::time::Instant,
}

impl Watched {
    fn new(client: kube::Client, namespace: &str, kinds: &[Kind]) -> Watched {
        let scope = Scope {
            namespace: Some(namespace.into()),
            selector: None,
            resource: None,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let sink: watch::Sink = Arc::new(move |u| {
            let _ = tx.send(u);
        });
        let handles = watch::spawn(client, &scope, kinds, sink);
        Watched {
            pane: ClusterPane::new("sim".into(), scope),
            rx,
            seen: Vec::new(),
            handles,
            started: std::time::Instant::now(),
        }
    }

    /// Applies updates until `done` holds for the pane (or fails after `secs`).
    async fn until(&mut self, what: &str, secs: u64, done: impl Fn(&ClusterPane) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while !done(&self.pane) {
            let u = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out waiting for {what}; connection {}; pods {:?}; deployments {:?}; hpas {:?}",
                        self.pane.connection(),
                        self.pane.pods.values().map(|p| (&p.name, &p.status, &p.image)).collect::<Vec<_>>(),
                        self.pane.deployments.values().collect::<Vec<_>>(),
                        self.pane.hpas.values().collect::<Vec<_>>(),
                    )
                })
                .expect("watchers ended");
            self.seen.push(u.clone());
            self.pane.apply(u, self.started.elapsed().as_secs() as i64);
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

fn scenario(name: &str, speed: f64) -> SimConfig {
    SimConfig {
        speed,
        ..tierui_backends::sandbox::scenario::sim_config(name).expect("a bundled scenario")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_shows_new_and_old_replicasets_then_completes_then_sticks() {
    // 10 simulated seconds per second: the image changes at t=20s and t=120s.
    let h = start(scenario("rollout", 10.0)).await.expect("sim");
    let mut w = Watched::new(
        client(&h).await,
        "dusk-service",
        &[
            Kind::Pods,
            Kind::Deployments,
            Kind::ReplicaSets,
            Kind::Events,
        ],
    );
    w.until("the first lists", 30, |p| {
        p.listed(Kind::Pods) && p.listed(Kind::Deployments) && p.listed(Kind::ReplicaSets)
    })
    .await;
    // Live once every watcher's server has answered (the events' list may
    // come after the others').
    w.until("every watcher live", 30, |p| p.connection() == "live")
        .await;
    w.until("both ReplicaSets holding replicas mid-rollout", 60, |p| {
        let holding: Vec<_> = p
            .replicasets
            .values()
            .filter(|r| r.owner == "dusk-service" && r.desired > 0)
            .collect();
        holding.len() == 2
            && holding.iter().any(|r| r.image.ends_with(":v2.5.0"))
            && holding.iter().any(|r| r.image.ends_with(":v2.4.1"))
    })
    .await;
    w.until("the rollout to v2.5.0 to complete", 60, |p| {
        p.deployments
            .values()
            .any(|d| d.name == "dusk-service" && d.image.ends_with(":v2.5.0") && d.complete)
            && !p.pods.is_empty()
            && p.pods
                .values()
                .all(|pod| pod.image.ends_with(":v2.5.0") && &*pod.status == "Running")
    })
    .await;
    // The old ReplicaSet is kept at zero for rollbacks.
    assert!(
        w.pane
            .replicasets
            .values()
            .any(|r| r.image.ends_with(":v2.4.1") && r.desired == 0)
    );
    // t=120s: a tag the registry does not have.
    w.until("ImagePullBackOff on the v2.6.0 pod", 60, |p| {
        p.pods.values().any(|pod| {
            pod.image.ends_with(":v2.6.0")
                && (&*pod.status == "ImagePullBackOff" || &*pod.status == "ErrImagePull")
        })
    })
    .await;
    let d = w
        .pane
        .deployments
        .values()
        .find(|d| d.name == "dusk-service")
        .expect("deployment");
    assert!(!d.complete, "a stuck rollout is not complete: {d:?}");
    w.until("the pull failure as a Warning event", 30, |p| {
        p.events
            .values()
            .any(|e| e.warning && e.object.starts_with("Pod/"))
    })
    .await;
    drop(w);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scale_up_shows_in_the_hpa_its_history_and_the_pods() {
    let h = start(scenario("scale-up", 10.0)).await.expect("sim");
    let mut w = Watched::new(
        client(&h).await,
        "dusk-service",
        &[Kind::Pods, Kind::Hpas, Kind::Metrics],
    );
    w.until("the HPA with a measured utilisation", 30, |p| {
        p.hpas
            .values()
            .any(|h| h.metrics.iter().any(|m| m.current.ends_with('%')))
    })
    .await;
    let min = w.pane.hpas.values().next().map(|h| h.min).unwrap_or(0);
    w.until("the HPA to scale out and its pods to run", 90, |p| {
        let Some(h) = p.hpas.values().next() else {
            return false;
        };
        let running = p.pods.values().filter(|p| &*p.status == "Running").count() as i32;
        h.current > min && running >= h.current
    })
    .await;
    let key = w.pane.hpas.keys().next().cloned().expect("hpa");
    let hist = &w.pane.history[&key];
    assert!(
        hist.iter().any(|s| s.replicas == min) && hist.iter().any(|s| s.replicas > min),
        "the replica history holds the scale-out: {hist:?}"
    );
    assert!(
        hist.iter().filter_map(|s| s.load).max() > Some(60),
        "load above the 60% target is in the history: {hist:?}"
    );
    w.until("pod metrics", 30, |p| {
        p.metrics_available()
            && p.pods.values().any(|x| {
                p.pods
                    .usage_of(&x.namespace, &x.name)
                    .is_some_and(|u| u.cpu_milli > 0)
            })
    })
    .await;
    drop(w);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_streams_and_expired_versions_reconnect_and_stay_correct() {
    let h = start(scenario("steady", 1.0)).await.expect("sim");
    let c = client(&h).await;
    let mut w = Watched::new(c.clone(), "dusk-service", &[Kind::Pods, Kind::Deployments]);
    w.until("the deployment settled", 60, |p| {
        p.listed(Kind::Pods)
            && p.deployments
                .values()
                .any(|d| d.complete && p.pods.len() == d.desired as usize)
            && p.pods.values().all(|p| &*p.status == "Running")
    })
    .await;
    let before = w.pane.pods.len();
    let pod_relists = |w: &Watched| {
        w.seen
            .iter()
            .filter(|u| matches!(u, Update::Pods(watch::Change::Relist)))
            .count()
    };
    let listed_once = pod_relists(&w);

    // The server closes every watch: the watcher resumes from its resourceVersion.
    h.drop_watches();
    // A bare pod (no controller to fight over replicas, the HPA would).
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(c.clone(), "dusk-service");
    let extra: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "extra", "namespace": "dusk-service"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}
    }))
    .expect("pod");
    pods.create(&kube::api::PostParams::default(), &extra)
        .await
        .expect("create pod");
    w.until("the extra pod after the dropped stream", 60, |p| {
        p.pods.len() == before + 1
    })
    .await;
    assert_eq!(
        pod_relists(&w),
        listed_once,
        "a dropped stream is resumed, not listed again"
    );

    // History compacted past the watcher's version and streams dropped: the
    // watcher gets 410 Gone and relists. (A change of another kind moves the
    // server past the last pod event the watcher saw.)
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(c.clone(), "dusk-service");
    let bump: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bump"}
    }))
    .expect("configmap");
    cms.create(&kube::api::PostParams::default(), &bump)
        .await
        .expect("bump");
    h.compact();
    h.drop_watches();
    pods.delete("extra", &kube::api::DeleteParams::default().grace_period(0))
        .await
        .expect("delete pod");
    let relists_before = w
        .seen
        .iter()
        .filter(|u| matches!(u, Update::Pods(watch::Change::Relist)))
        .count();
    w.until("the pod count back", 60, |p| {
        p.pods.len() == before && !p.pods.values().any(|x| &*x.name == "extra")
    })
    .await;
    let relists = w
        .seen
        .iter()
        .filter(|u| matches!(u, Update::Pods(watch::Change::Relist)))
        .count();
    assert!(
        relists > relists_before,
        "410 after compaction makes the watcher relist"
    );
    w.until("every watcher live again", 30, |p| p.connection() == "live")
        .await;

    // The server goes away: the pane says it is retrying.
    h.shutdown().await;
    w.until("retrying", 60, |p| {
        p.connection().starts_with("retrying in")
    })
    .await;
    assert!(w.seen.iter().any(|u| matches!(
        u,
        Update::Conn {
            conn: Conn::Retrying { .. },
            ..
        }
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_cluster_finishes_what_was_left_undone() {
    // A state file saved just after a ReplicaSet was created, before its pods were.
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("sim.json");
    let rs = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-1", "namespace": "default", "uid": "rs-uid-1",
                     "resourceVersion": "5", "generation": 1,
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}
    });
    std::fs::write(
        &state,
        serde_json::to_vec(&serde_json::json!({"resourceVersion": 5, "objects": [rs]})).unwrap(),
    )
    .unwrap();
    let h = start(SimConfig {
        state_file: Some(state),
        ..SimConfig::default()
    })
    .await
    .expect("sim");
    let mut w = Watched::new(client(&h).await, "default", &[Kind::Pods]);
    w.until("the ReplicaSet's two pods", 30, |p| {
        p.pods.values().filter(|p| &*p.owner == "web-1").count() == 2
    })
    .await;
    drop(w);
    h.shutdown().await;
}
