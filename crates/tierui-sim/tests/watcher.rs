//! kube-rs `runtime::watcher` against the simulator: it must keep going when
//! the server closes the stream, when its resourceVersion has expired (410),
//! and across a restart of the simulator (state restored from its file).

use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use tierui_sim::{SimConfig, SimHandle, start};
use tokio::sync::mpsc;

async fn client(h: &SimHandle) -> kube::Client {
    let kc = kube::config::Kubeconfig::from_yaml(&h.kubeconfig_yaml("sim")).expect("kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}))
        .expect("configmap")
}

#[derive(Debug, PartialEq)]
enum Seen {
    Init,
    InitDone,
    Object(String),
    Deleted(String),
}

fn spawn_watcher(api: Api<ConfigMap>, cfg: watcher::Config) -> mpsc::UnboundedReceiver<Seen> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = watcher(api, cfg).default_backoff().boxed();
        while let Some(ev) = stream.next().await {
            let seen = match ev {
                Ok(watcher::Event::Init) => Seen::Init,
                Ok(watcher::Event::InitDone) => Seen::InitDone,
                Ok(watcher::Event::InitApply(o) | watcher::Event::Apply(o)) => {
                    Seen::Object(o.metadata.name.unwrap_or_default())
                }
                Ok(watcher::Event::Delete(o)) => Seen::Deleted(o.metadata.name.unwrap_or_default()),
                Err(_) => continue,
            };
            if tx.send(seen).is_err() {
                return;
            }
        }
    });
    rx
}

/// Events until `want` arrives (or the timeout fails the test).
async fn until(rx: &mut mpsc::UnboundedReceiver<Seen>, want: Seen) -> Vec<Seen> {
    let mut got = Vec::new();
    // Generous: after a restart kube's default backoff may wait many seconds
    // before it reconnects, more so on a loaded machine.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {want:?}; saw {got:?}"))
            .expect("watcher task ended");
        let done = ev == want;
        got.push(ev);
        if done {
            return got;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_survives_disconnects_410_and_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state/sim.json");
    let config = SimConfig {
        state_file: Some(state.clone()),
        speed: 20.0,
        ..SimConfig::default()
    };
    let h = start(config.clone()).await.expect("start");
    let port = h.addr().port();
    let client = client(&h).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    // No bookmarks: a bookmark could move the watcher past the compaction point
    // and turn the 410 step into a plain resume.
    let mut rx = spawn_watcher(api.clone(), watcher::Config::default().disable_bookmarks());
    until(&mut rx, Seen::InitDone).await;

    api.create(&PostParams::default(), &cm("a"))
        .await
        .expect("create a");
    until(&mut rx, Seen::Object("a".into())).await;

    // 1. The server closes the stream: the watcher resumes from its version, no relist.
    h.drop_watches();
    api.create(&PostParams::default(), &cm("b"))
        .await
        .expect("create b");
    let seen = until(&mut rx, Seen::Object("b".into())).await;
    assert!(
        !seen.contains(&Seen::Init),
        "a plain disconnect must not relist: {seen:?}"
    );

    // 2. Its version expires: the resumed watch gets 410 Gone and the watcher relists.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let s: Secret = serde_json::from_value(
        serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bump"}}),
    )
    .expect("secret");
    secrets
        .create(&PostParams::default(), &s)
        .await
        .expect("bump the resource version");
    h.compact();
    h.drop_watches();
    let seen = until(&mut rx, Seen::InitDone).await;
    assert!(
        seen.contains(&Seen::Init),
        "410 must lead to a relist: {seen:?}"
    );
    assert!(
        seen.contains(&Seen::Object("a".into())) && seen.contains(&Seen::Object("b".into())),
        "{seen:?}"
    );
    api.create(&PostParams::default(), &cm("c"))
        .await
        .expect("create c");
    until(&mut rx, Seen::Object("c".into())).await;

    // 3. The simulator restarts on the same port from its state file.
    h.shutdown().await;
    assert!(state.is_file(), "state file written on shutdown");
    let h2 = start(SimConfig { port, ..config }).await.expect("restart");
    let api2: Api<ConfigMap> = Api::namespaced(client, "default");
    let names: Vec<String> = api2
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    for n in ["a", "b", "c"] {
        assert!(names.contains(&n.to_string()), "restored {n}: {names:?}");
    }
    api2.create(&PostParams::default(), &cm("d"))
        .await
        .expect("create d");
    until(&mut rx, Seen::Object("d".into())).await;
    api2.delete("a", &Default::default())
        .await
        .expect("delete a");
    until(&mut rx, Seen::Deleted("a".into())).await;
    h2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_list_watcher_gets_initial_events_and_bookmark() {
    let h = start(SimConfig::default()).await.expect("start");
    let api: Api<ConfigMap> = Api::namespaced(client(&h).await, "default");
    api.create(&PostParams::default(), &cm("before"))
        .await
        .expect("create");
    let mut rx = spawn_watcher(api.clone(), watcher::Config::default().streaming_lists());
    let seen = until(&mut rx, Seen::InitDone).await;
    assert!(seen.contains(&Seen::Object("before".into())), "{seen:?}");
    api.create(&PostParams::default(), &cm("after"))
        .await
        .expect("create");
    until(&mut rx, Seen::Object("after".into())).await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_selected_watcher_sees_objects_leave_the_selection() {
    let h = start(SimConfig::default()).await.expect("start");
    let api: Api<ConfigMap> = Api::namespaced(client(&h).await, "default");
    let mut rx = spawn_watcher(
        api.clone(),
        watcher::Config::default().labels("tier in (web,api),!legacy"),
    );
    until(&mut rx, Seen::InitDone).await;
    let mut labelled = cm("x");
    labelled.metadata.labels = Some([("tier".to_string(), "web".to_string())].into());
    api.create(&PostParams::default(), &labelled)
        .await
        .expect("create");
    until(&mut rx, Seen::Object("x".into())).await;
    let patch = serde_json::json!({"metadata": {"labels": {"legacy": "yes"}}});
    api.patch(
        "x",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await
    .expect("patch");
    until(&mut rx, Seen::Deleted("x".into())).await;
    h.shutdown().await;
}
